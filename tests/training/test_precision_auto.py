"""``train.precision=auto`` and ``ganzoo bench --to-quality``."""

from __future__ import annotations

import json

import pytest
import torch

from helpers import TINY, override
from ganzoo.cli import main
from ganzoo.training import precision
from ganzoo.training.precision import Precision


def test_auto_picks_bf16_only_where_the_hardware_computes_it(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "native_bf16", lambda device: "this CPU has avx512_bf16")
    p = Precision("auto", cpu)
    assert p.mode == "bf16" and p.dtype == torch.bfloat16 and "avx512_bf16" in p.reason and p.requested == "auto"
    monkeypatch.setattr(precision, "native_bf16", lambda device: None)
    p = Precision("auto", cpu)
    assert p.mode == "fp32" and p.dtype is None and "no native bf16" in p.reason
    assert Precision("fp32", cpu).reason == ""  # an explicit choice is not second-guessed


def test_the_cpu_flag_check_agrees_with_proc_cpuinfo():
    flags = precision._cpu_flags()
    found = precision.native_bf16(torch.device("cpu"))
    if not flags:
        pytest.skip("no /proc/cpuinfo here")
    assert (found is not None) == bool({"avx512_bf16", "amx_bf16"} & flags)


def test_under_bf16_the_penalty_runs_in_fp32(host):
    """The penalty's input-gradient norms are computed outside autocast: the same as in fp32."""
    from ganzoo.registry.config import resolve
    from ganzoo.training.loop import Trainer

    trainer = Trainer(resolve([*TINY, "train.precision=bf16"], host), host)
    steps = trainer.steps
    real, labels = steps.batches.next()
    fake = steps.fake_batch(labels)
    constraint = steps.constraint
    with steps.precision.autocast():
        with steps.precision.penalty_scale("critic"):
            torch.manual_seed(0)
            in_bf16_run = constraint.penalty(steps.critic, real, fake, labels, 0)
    torch.manual_seed(0)
    plain = constraint.penalty(steps.critic, real, fake, labels, 0)
    assert in_bf16_run.dtype == torch.float32 and torch.allclose(in_bf16_run, plain, rtol=1e-5, atol=1e-6)


def test_bench_to_quality_reports_when_a_figure_is_first_reached(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ttq.json"
    # 4 steps, scored at 2 and 4 (the figure is reached at the first score; training for the whole budget adds nothing)
    assert (
        main(
            [
                "bench",
                *TINY,
                "train.steps=4",
                "--to-quality",
                "diversity=0",
                "--eval-every",
                "2",
                "--budget-minutes",
                "1",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    row = json.loads(out.read_text())["results"][0]
    assert row["reached"] and row["step"] == 2 and row["seconds"] > 0 and row["curve"][0][0] == 2
    assert "reached diversity 0" in capsys.readouterr().out
    assert main(["bench", *TINY, "--to-quality", "class_accc=0.9"]) == 2
    assert "--to-quality takes METRIC=VALUE" in capsys.readouterr().err


def test_a_run_with_auto_says_what_it_picked_and_why(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda device: None)
    assert (
        main(["run", *override(TINY, "train.precision=auto"), "train.steps=1", f"out={tmp_path / 'run'}"]) == 0
    )  # it says so at the start
    err = capsys.readouterr().err
    assert "train.precision=auto: fp32, because this cpu has no native bf16" in err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["train"]["precision"] == "auto"
