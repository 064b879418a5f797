"""`ganzoo doctor` names a run that its time limit stopped far short of its planned steps, from its
speed alone (issue 29): run folders written by hand, no training.

The reported case: ``ganzoo run critic=layernorm_cond generator=resnet constraint=gp`` stopped by its
9-minute cap after 141 of 2,400 steps (0.26 steps/s), where the doctor named only "the penalty
dominates". The step lines below have a penalty share of 0.7, so that finding is still there, and
"out of time" must come before it.
"""

from __future__ import annotations

import json
import math

import pytest

from ganzoo.cli import main
from ganzoo.diagnosis.doctor import examine
from ganzoo.diagnosis.findings import FINDINGS
from ganzoo.registry.config import flatten, resolve
from ganzoo.registry.host import PluginHost
from ganzoo.storage.folder import write_config

CASE = ["critic=layernorm_cond", "generator=resnet", "constraint=gp", "train.steps=2400", "train.max_minutes=9"]
PARAMS = {"critic": 45_000, "generator": 1_900_000}


def write_run(run_dir, overrides, steps, seconds_per_step, evals=()):
    """A run folder as `ganzoo run` leaves it: config.json and metrics.jsonl (step lines with the
    doctor's evidence and their training time), and optional quality-score lines."""
    cfg = resolve(overrides, PluginHost(entry_points=[]))
    run_dir.mkdir(parents=True)
    write_config(run_dir, {"config": cfg.to_dict(), "data": {"channels": 1, "size": 28, "num_classes": 10}, "params": PARAMS})
    lines = []
    for s in range(1, steps + 1):
        lines.append(
            {
                "step": s,
                "loss_d": -1.0,
                "wasserstein": 1.0 + 0.01 * s,
                "penalty": 2.5,
                "loss_g": 0.5,
                "real_score": 1.0,
                "fake_score": 0.0,
                "real_score_sd": 0.5,
                "fake_score_sd": 0.5,
                "penalty_share": 0.7,
                "grad_critic": 1.0,
                "grad_generator": 0.5,
                "g_update": 1e-3,
                "time": round(s * seconds_per_step, 3),
            }
        )
    lines += [{"step": s, "eval": e} for s, e in evals]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return run_dir


def test_the_reported_case_is_named_out_of_time_first_from_speed_alone(tmp_path, capsys):
    run = write_run(tmp_path / "run", CASE, steps=141, seconds_per_step=9 * 60 / 141)  # 141 steps fill the 9 minutes
    report = examine(run)
    keys = [f.key for f in report.findings]
    assert keys[0] == "out_of_time" and "penalty_dominates" in keys, keys
    f = report.main
    n = f.numbers
    assert n["steps"] == 141 and n["steps_planned"] == 2400 and n["max_minutes"] == 9.0
    assert n["done_share"] == pytest.approx(141 / 2400) and n["steps_per_second"] == pytest.approx(141 / 540, rel=1e-3)
    assert n["minutes_needed"] == pytest.approx(2400 / (141 / 540) / 60, rel=1e-3)  # about 153 minutes
    assert "141 of its 2400 planned generator steps (6%)" in f.evidence and "0.261 steps/s" in f.evidence and "153 min" in f.evidence
    assert next(c for c in FINDINGS if c.key == "out_of_time").render(n) == f.evidence
    # the advice makes steps cheaper (17x short: more minutes alone is not a fix) and is a valid change of this run
    assert "train.n_critic=" in f.change and "constraint.interval=4" in f.change and "generator.base=" in f.change, f.change
    assert "train.max_minutes=154" in f.cause
    stored = flatten(json.loads((run / "config.json").read_text())["config"])
    resolve({**stored, **dict(c.split("=") for c in f.change.split())}, PluginHost(entry_points=[]), use_preset=False)
    # --json carries the same numbers
    assert main(["doctor", str(run), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["findings"][0]
    assert shown["key"] == "out_of_time" and shown["numbers"]["steps_planned"] == 2400
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in shown["numbers"].values())


def test_a_small_shortfall_asks_for_the_minutes_the_plan_needs(tmp_path):
    run = write_run(tmp_path / "run", CASE, steps=1200, seconds_per_step=9 * 60 / 1200)  # half the plan: 2x short
    f = examine(run).main
    assert f.key == "out_of_time" and f.numbers["minutes_needed"] == pytest.approx(18, rel=1e-3)
    assert f.change == f"train.max_minutes={math.ceil(f.numbers['minutes_needed'])}"


@pytest.mark.parametrize(
    "why,overrides,steps,seconds",
    [
        ("finished its steps", [*CASE[:3], "train.steps=141", "train.max_minutes=9"], 141, 1.0),
        ("no time limit", ["preset=wgan-gp-paper", "train.steps=2400"], 141, 3.83),  # this preset sets no train.max_minutes
        ("stopped early, not by the cap (a crash)", CASE, 141, 1.0),  # 141 s of 540: the cap did not stop it
        ("reached most of its plan", CASE, 1500, 9 * 60 / 1500),
    ],
)
def test_out_of_time_is_not_named_when_the_cap_did_not_cut_the_plan_short(tmp_path, why, overrides, steps, seconds):
    run = write_run(tmp_path / "run", overrides, steps=steps, seconds_per_step=seconds)
    assert "out_of_time" not in [f.key for f in examine(run).findings], why
