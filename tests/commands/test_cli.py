"""The command line: exit codes, one-paragraph errors, no tracebacks."""

import json
import subprocess
import sys

import pytest

from ganzoo.cli import main


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["run", "critic=layrnorm_cond"], "Did you mean 'layernorm_cond'"),
        (["run", "--dry-run", "train.n_critic=0"], "train.n_critic"),
        (["run", "nonsense"], "key=value"),
        (["list", "critc", "x*"], "Unknown component kind"),
        (["sample", "/nonexistent/run", "--out", "x.npz"], "not a ganzoo run folder"),
    ],
)
def test_bad_input_exits_2_with_one_paragraph(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert err.strip().startswith("error:")


def test_real_entry_point_prints_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "ganzoo.cli", "run", "critic.norm=bach"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Did you mean 'batch'" in proc.stderr and "Traceback" not in proc.stderr


def test_list_shows_descriptions_and_filters(capsys):
    assert main(["list", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    kinds = {e["kind"] for e in entries}
    assert kinds == {"critic", "generator", "normaliser", "encoder", "constraint", "loss", "dataset"}
    assert all(e["description"] and e["reference"] for e in entries)
    names = {(e["kind"], e["name"]) for e in entries}
    zoo = {
        "critic": "layernorm_cond dcgan resnet",
        "generator": "resnet dcgan mlp",
        "normaliser": "batch layer instance group spectral none",
        "encoder": "embed_channel onehot_channel projection cbn none",
        "constraint": "clip gp lp r1 dragan none",
        "loss": "wasserstein hinge nonsaturating",
    }
    assert {(k, n) for k, ns in zoo.items() for n in ns.split()} <= names
    assert main(["list", "normalisers", "l*", "--json"]) == 0
    assert [e["name"] for e in json.loads(capsys.readouterr().out)] == ["layer"]
    assert main(["list", "*clip*", "--json"]) == 0
    assert [e["name"] for e in json.loads(capsys.readouterr().out)] == ["clip"]


def test_plugins_lists_versions(capsys):
    assert main(["plugins", "--json"]) == 0
    plugins = json.loads(capsys.readouterr().out)
    assert any(p["name"] == "ganzoo_plugins.constraints.gp" and p["version"] and p["source"] == "builtin" for p in plugins)


def test_dry_run_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--dry-run", "--json", "data=synthetic", f"out={tmp_path / 'r'}"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["critic"] > 0
    assert list(tmp_path.iterdir()) == []
