"""Third-party plugins: the example package (installed by the README's install command), the
public API it may use, the new-plugin skeleton, and the tutorial's hook reference."""

import ast
import importlib.metadata as md
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ganzoo
from ganzoo.cli import main

ROOT = Path(__file__).resolve().parents[2]  # the repository
EXAMPLE = ROOT / "examples" / "ganzoo-example-plugin"


def _autoload_env():
    env = dict(os.environ)
    env.pop("GANZOO_DISABLE_PLUGIN_AUTOLOAD", None)
    return env


def test_example_package_is_installed_as_an_entry_point():
    eps = {ep.name: ep for ep in md.entry_points(group="ganzoo")}
    assert "example" in eps, "install it: python -m pip install -e examples/ganzoo-example-plugin (the README's install command does)"
    assert eps["example"].value == "ganzoo_example_plugin"


def test_example_imports_only_the_public_api():
    exported = set(ganzoo.__all__)
    files, checked = sorted((EXAMPLE / "ganzoo_example_plugin").rglob("*.py")), 0
    assert files, f"no example plugin under {EXAMPLE}: the checks below would pass on nothing"
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.ImportFrom, ast.Import)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                checked += any(n.split(".")[0] == "ganzoo" for n in names)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ganzoo":
                assert node.module == "ganzoo", f"{path.name} imports from {node.module}; plugins may use only `ganzoo`'s exports"
                assert {a.name for a in node.names} <= exported, f"{path.name}: {[a.name for a in node.names]}"
            if isinstance(node, ast.Import):
                assert all(a.name == "ganzoo" or not a.name.startswith("ganzoo.") for a in node.names), path.name
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ganzoo":
                assert node.attr in exported, f"{path.name} uses ganzoo.{node.attr}, which ganzoo does not export"
    assert checked, "the example imports nothing of ganzoo: this test checked no import"


@pytest.mark.slow  # a pytest process of its own
def test_example_trains_by_name_and_passes_the_test_kit(tmp_path):
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "ganzoo.cli",
        "run",
        "critic=mlp_critic",
        "critic.hidden=16",
        "constraint=zero_gp",
        "data=shapes",
        "data.n=60",
        "data.size=8",
        "generator.base=32",
        "generator.z_dim=8",
        "train.steps=2",
        "train.batch_size=8",
        "train.n_critic=2",
        "train.progress=false",
        f"out={run}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_autoload_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (run / "checkpoints").is_dir() and "mlp_critic" in (run / "config.json").read_text()
    kit = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
        capture_output=True,
        text=True,
        env=_autoload_env(),
        cwd=EXAMPLE,
        timeout=300,
    )
    assert kit.returncode == 0, kit.stdout + kit.stderr


def test_a_plugin_that_raises_on_import_is_named_and_ganzoo_still_works(tmp_path):
    (tmp_path / "broken_plugin_mod.py").write_text("raise ImportError('this plugin is broken on purpose')\n")
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ganzoo]\nbroken = broken_plugin_mod\n")
    env = {**_autoload_env(), "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "ganzoo.cli", "list", "critic", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0
    assert "broken" in proc.stderr and "broken-plugin" in proc.stderr and "broken on purpose" in proc.stderr
    assert "layernorm_cond" in proc.stdout


@pytest.mark.slow  # pip install and a pytest process
def test_new_plugin_skeleton_installs_and_its_test_passes(tmp_path, capsys):
    assert main(["new-plugin", "my_critic", "--dir", str(tmp_path)]) == 0
    pkg = tmp_path / "ganzoo-my-critic"
    assert (pkg / "pyproject.toml").is_file() and (pkg / "ganzoo_my_critic" / "__init__.py").is_file()
    prefix = tmp_path / "prefix"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--prefix", str(prefix), str(pkg)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    site = next(prefix.rglob("site-packages"))
    env = {**_autoload_env(), "PYTHONPATH": str(site)}
    listed = subprocess.run([sys.executable, "-m", "ganzoo.cli", "plugins", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert '"my_critic"' in listed.stdout, listed.stderr
    test = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pkg)],
        capture_output=True,
        text=True,
        env=env,
        cwd=pkg,
        timeout=600,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "2 passed" in test.stdout


@pytest.mark.parametrize("bad", ["1abc", "class", "my critic"])
def test_new_plugin_refuses_bad_names(bad, tmp_path, capsys):
    assert main(["new-plugin", bad, "--dir", str(tmp_path)]) == 2
    assert "Cannot make a plugin" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_every_hook_signature_is_in_the_tutorial():
    from ganzoo import hookspecs
    from ganzoo.registry.host import HOOKS

    doc = (ROOT / "docs" / "plugins.md").read_text()
    specs = {name for name in vars(hookspecs) if name.startswith("register_")}
    assert specs and set(HOOKS.values()) == specs  # every hook of hookspecs is checked, not only those the host lists
    for hook in HOOKS.values():
        params = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
        assert f"def {hook}({params})" in doc, f"docs/plugins.md lacks the signature of {hook}"
