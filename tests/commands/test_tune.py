"""``ganzoo tune``: the search space, workers sharing one study, a killed worker, refusals, pruning."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest

optuna = pytest.importorskip("optuna")

from helpers import TINY, start_cli  # noqa: E402
from ganzoo.cli import main  # noqa: E402
from ganzoo.errors import ConfigError  # noqa: E402
from ganzoo.evaluation.scoring import evaluate_run  # noqa: E402
from ganzoo.tuning import results  # noqa: E402
from ganzoo.tuning.space import parse_objectives, parse_space, sample  # noqa: E402
from ganzoo.tuning.study import used  # noqa: E402

FIXED = [*TINY, "train.steps=6", "train.sample_every=0"]
SPACE = [
    "--space",
    "train.lr_d=log:1e-5..1e-3",
    "--space",
    "critic=choice:layernorm_cond,dcgan",
    "--space",
    "critic.stem=choice:true,false",
]
QUICK = ["--objective", "class_consistency:max", "--trial-minutes", "1", "--prune-every", "0", "--eval-n", "12", "--heartbeat", "1"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path_factory.getbasetemp() / "evaluator-cache"))


def _tune(*args: str) -> subprocess.Popen:
    return start_cli(["tune", *args])


# -- the space -------------------------------------------------------------------------------------------


def test_the_space_syntax_and_its_errors():
    space = parse_space(
        ["train.n_critic=int:1..5", "critic.stem=choice:true,false", "critic=choice:dcgan,resnet", "train.betas=choice:[0,0.9],[0.5,0.99]"]
    )
    assert [p.key for p in space][0] == "critic"  # component picks are sampled first
    assert next(p for p in space if p.key == "train.betas").choices == ("[0,0.9]", "[0.5,0.99]")
    for bad, fragment in [
        ("x=log:0..1", "LOW > 0"),
        ("x=int:1.5..3", "whole numbers"),
        ("x=choice:a", "at least two"),
        ("x=lgo:1..2", "Did you mean 'log'"),
        ("x=float:3..1", "LOW < HIGH"),
        ("x", "KEY=KIND:RANGE"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            parse_space([bad])
    assert parse_objectives(["class_consistency:max", "steps_per_s:max"]) == [("class_acc", "maximize"), ("steps_per_s", "maximize")]
    with pytest.raises(ConfigError, match="Did you mean 'diversity'"):
        parse_objectives(["diversty:max"])


def test_an_option_of_one_component_is_sampled_only_when_that_component_is_chosen(host):
    space = parse_space(["critic=choice:dcgan,resnet", "critic.stem=choice:true,false"])
    chose_dcgan = sample(optuna.trial.FixedTrial({"critic": "dcgan", "critic.stem": "false"}), space, FIXED, host)
    chose_resnet = sample(optuna.trial.FixedTrial({"critic": "resnet"}), space, FIXED, host)  # resnet has no stem: not asked
    assert chose_dcgan[-2:] == ["critic=dcgan", "critic.stem=false"] and chose_resnet[-1] == "critic=resnet"
    assert not any(o.startswith("critic.stem") for o in chose_resnet)


def test_a_retried_trial_counts_once():
    class T:
        def __init__(self, number, retry_of=None):
            self.number, self.user_attrs = number, ({"retry_of": retry_of} if retry_of is not None else {})

    assert used([T(0), T(1), T(2, retry_of=0)]) == 2


# -- studies -------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["sqlite", "journal"])
def test_two_workers_share_one_study_and_run_each_trial_once(tmp_path, storage):
    study = tmp_path / "study"
    extra = ["--storage", f"journal:{tmp_path / 'journal.log'}"] if storage == "journal" else []
    args = [*FIXED, *SPACE, *QUICK, "--trials", "4", "--study", str(study), *extra]
    workers = [_tune(*args) for _ in range(2)]
    for w in workers:
        _, err = w.communicate(timeout=600)
        assert w.returncode == 0, err[-3000:]
    plan, rows = results.trials(study)
    assert len(rows) == 4 and all(r["state"] in ("COMPLETE", "FAIL") for r in rows)
    folders = [r["run_dir"] for r in rows if r["state"] == "COMPLETE"]
    assert folders and len(set(folders)) == len(folders)  # no two trials shared a run folder
    logs = " ".join(p.read_text() for p in (study / "logs").glob("*.log"))
    for r in rows:
        if r["state"] == "COMPLETE":  # the trial's value is what `ganzoo eval` says of its run folder
            scores = evaluate_run(
                study / r["run_dir"], __import__("ganzoo.registry.host", fromlist=["x"]).PluginHost(entry_points=[]), n=12
            )
            assert r["values"][0] == pytest.approx(scores["class_acc"], abs=1e-9)
            assert json.loads((study / r["run_dir"] / "eval.json").read_text())["class_acc"] == pytest.approx(r["values"][0], abs=1e-9)
    assert "Traceback" not in logs


@pytest.mark.slow
def test_a_killed_worker_does_not_lose_the_study_and_its_trial_is_retried(tmp_path):
    study = tmp_path / "study"
    long = [*TINY, "train.steps=5000", "train.sample_every=0", "train.checkpoint_every=20"]  # runs until the minute is up
    args = [
        *long,
        "--space",
        "train.lr_d=log:1e-5..1e-3",
        *QUICK[:2],
        "--trial-minutes",
        "0.15",
        "--prune-every",
        "0",
        "--eval-n",
        "12",
        "--heartbeat",
        "1",
        "--trials",
        "2",
        "--study",
        str(study),
    ]
    victim = _tune(*args)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(victim.stderr), daemon=True).start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(
        (p / "metrics.jsonl").is_file() and (p / "metrics.jsonl").read_text().count("\n") >= 2 for p in (study / "trials").glob("trial-*")
    ):
        time.sleep(0.05)
    assert victim.poll() is None, "the worker ended before it could be killed"
    victim.send_signal(signal.SIGKILL)  # mid-trial: its `ganzoo run` child gets SIGTERM and checkpoints
    victim.wait()
    survivor = _tune(*args)
    _, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err[-3000:]
    _, rows = results.trials(study)
    assert not [r for r in rows if r["state"] in ("RUNNING", "WAITING")]  # nothing left hanging
    killed = [r for r in rows if r["state"] == "FAIL" and "heartbeat" in r["error"]]
    assert len(killed) == 1
    retry = [r for r in rows if r["retry_of"] == killed[0]["number"]]
    assert len(retry) == 1 and retry[0]["state"] == "COMPLETE" and retry[0]["run_dir"] == killed[0]["run_dir"]
    assert (
        used(
            [
                type("T", (), {"number": r["number"], "user_attrs": {"retry_of": r["retry_of"]} if r["retry_of"] is not None else {}})()
                for r in rows
            ]
        )
        == 2
    )


@pytest.mark.slow
def test_a_refused_combination_is_a_failed_trial_with_its_reason(tmp_path, capsys, monkeypatch):
    class InTurn(optuna.samplers.RandomSampler):
        """Trial k takes choice k (mod the count): both the refused and the valid value are sampled."""

        def sample_independent(self, study, trial, name, distribution):
            return distribution.choices[trial.number % len(distribution.choices)]

    create = optuna.create_study
    monkeypatch.setattr(optuna, "create_study", lambda **kw: create(**kw, sampler=InTurn()))
    study = tmp_path / "study"
    code = main(
        ["tune", *FIXED, "constraint=gp", "--space", "critic.norm=choice:batch,layer", *QUICK, "--trials", "2", "--study", str(study)]
    )
    assert code == 0
    _, rows = results.trials(study)
    refused = [r for r in rows if r["state"] == "FAIL"]
    assert len(refused) == 1 and "batch-coupled" in refused[0]["error"]
    assert [r["state"] for r in rows if "critic.norm=layer" in " ".join(r["overrides"])] == ["COMPLETE"]


@pytest.mark.slow
def test_pruning_stops_a_trial_with_sigterm_and_saves_its_budget(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(optuna.pruners, "MedianPruner", lambda **kw: optuna.pruners.ThresholdPruner(lower=2.0))  # every value prunes
    study = tmp_path / "study"
    long = [*TINY, "train.steps=100000", "train.sample_every=0"]
    code = main(
        [
            "tune",
            *long,
            "--space",
            "train.lr_d=log:1e-5..1e-3",
            "--objective",
            "class_consistency:max",
            "--trial-minutes",
            "1",
            "--prune-every",
            "5",
            "--eval-n",
            "12",
            "--trials",
            "1",
            "--study",
            str(study),
        ]
    )
    assert code == 0
    _, rows = results.trials(study)
    assert rows[0]["state"] == "PRUNED"
    run = study / rows[0]["run_dir"]
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines() if "loss_d" in line]
    assert 5 <= steps[-1] < 100000 and (run / "checkpoints").is_dir()  # stopped at a step boundary, checkpointed
    assert results.pruning_saving(study)["saved_s"] > 0


@pytest.mark.slow
def test_rerun_continues_and_a_different_search_is_refused(tmp_path, capsys):
    study = tmp_path / "study"
    args = [*FIXED, "--space", "train.lr_d=log:1e-5..1e-3", *QUICK, "--study", str(study)]
    assert main(["tune", *args, "--trials", "1"]) == 0
    assert main(["tune", *args, "--trials", "2"]) == 0  # the same command with more trials continues
    assert len(results.trials(study)[1]) == 2
    capsys.readouterr()
    assert main(["tune", *FIXED, "--space", "train.lr_g=log:1e-5..1e-3", *QUICK, "--trials", "2", "--study", str(study)]) == 2
    assert "was started with another search" in capsys.readouterr().err
    best = results.best_overrides(study)
    assert best[: len(FIXED)] == FIXED and any(o.startswith("train.lr_d=") for o in best)
    assert main(["run", "--dry-run", "--json", f"preset-from={study}", "train.steps=3"]) == 0
    config = json.loads(capsys.readouterr().out)["config"]
    assert config["train"]["steps"] == 3 and config["train"]["lr_d"] == pytest.approx(float(best[-1].split("=")[1]))


def test_without_optuna_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)
    assert main(["tune", *FIXED, "--space", "train.lr_d=log:1e-5..1e-3", *QUICK, "--study", str(tmp_path / "s")]) == 2
    assert "pip install 'ganzoo[tune]'" in capsys.readouterr().err


def test_the_preset_lines_are_typed_toml_that_resolve_to_the_trials_configuration():
    import tomllib

    from ganzoo.registry.config import resolve
    from ganzoo.registry.host import PluginHost

    overrides = ["loss=hinge", "critic.width=32", "train.lr_d=0.000352437", "train.betas=[0.5,0.999]", "train.batch_size=128"]
    parsed = tomllib.loads(results.preset_lines(overrides))["presets"]["tuned"]["set"]
    assert parsed["critic.width"] == 32 and parsed["train.lr_d"] == 0.000352437 and parsed["train.betas"] == [0.5, 0.999]
    assert parsed["loss"] == "hinge" and parsed["train.batch_size"] == 128
    host = PluginHost(entry_points=[])
    from_preset = resolve({k: v for k, v in parsed.items()}, host)
    assert from_preset.to_dict()["train"] == resolve(overrides, host).to_dict()["train"]
    assert from_preset.to_dict()["critic"] == resolve(overrides, host).to_dict()["critic"]
