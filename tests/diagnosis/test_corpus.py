"""A slice of the doctor's corpus (``benchmarks/doctor_corpus.py``) end to end, through the script's own
functions: four faults of its table, injected as the corpus injects them (overrides, GANZOO_FAULT,
GANZOO_CORPUS_FAULT) into tiny synthetic runs, trained, diagnosed and scored; the doctor must name
each one first. So the doctor cannot stop naming them silently.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from helpers import ROOT, TINY

spec = importlib.util.spec_from_file_location("doctor_corpus", ROOT / "benchmarks" / "doctor_corpus.py")
corpus = importlib.util.module_from_spec(spec)
sys.modules["doctor_corpus"] = corpus  # dataclasses look their module up there
spec.loader.exec_module(corpus)

TINY_RUN = [*TINY, "train.sample_every=0", "train.checkpoint_every=0"]
SLICE = {"clip_no_signal": 40, "dead_critic": 40, "nan_loss": 10, "penalty_heavy": 120}  # label: steps


def _run(label: str, steps: int):
    f = corpus.FAULTS[label]
    over = corpus.merge(TINY_RUN, f.overrides, [f"train.steps={steps}"])
    return corpus.Run(f"{label}-tiny", label, "tiny", 0, over, f.env, f.expect)


@pytest.mark.slow
def test_a_slice_of_the_corpus_is_named_by_the_doctor(tmp_path):
    runs = [_run(label, steps) for label, steps in SLICE.items()]
    results = [corpus.run_one(r, tmp_path / "out", tmp_path / "work", evaluate=False, timeout=300) for r in runs]
    for run, x in zip(runs, results):
        assert x["train_rc"] == 0, x.get("train_error")
        assert x["findings"] and x["findings"][0] in run.expect, (run.label, x["findings"])
        kept = sorted(p.name for p in (tmp_path / "out" / "runs" / run.id).iterdir())
        assert kept == ["doctor.json", "label.json", "metrics.jsonl.gz", "summary.json"]  # small files only: no checkpoint, no image
        import gzip

        lines = gzip.decompress((tmp_path / "out" / "runs" / run.id / "metrics.jsonl.gz").read_bytes()).decode().splitlines()
        assert sum("loss_d" in json.loads(line) for line in lines) == x["steps"]  # every step line kept
        assert not (tmp_path / "work" / run.id).exists()
    scores = corpus.score(results, runs)["all"]
    assert all(row["named_first"] == row["runs"] == 1 for row in scores["labels"].values())
    assert scores["confusion"]["nan_loss"] == {"numerical": 1}
    # resumable: a run already done is read back, not trained again
    again = corpus.run_one(runs[0], tmp_path / "out", tmp_path / "work", evaluate=False)
    assert again == json.loads((tmp_path / "out" / "runs" / runs[0].id / "summary.json").read_text()) == results[0]


def test_the_plan_covers_every_fault_and_splits_in_halves():
    runs = corpus.plan()
    labels = {r.label for r in runs}
    assert labels == {"healthy", *corpus.FAULTS} and len(runs) >= 100
    assert 0.25 <= sum(r.label == "healthy" for r in runs) / len(runs) <= 0.35
    assert len({r.id for r in runs}) == len(runs)
    halves = [corpus.half(r.id) for r in runs]
    assert 0.35 <= halves.count("fit") / len(halves) <= 0.65
    for r in runs:  # no key given twice (the command line would refuse the run)
        keys = [o.partition("=")[0] for o in r.overrides]
        assert len(keys) == len(set(keys)), r.id
    assert [r.label for r in corpus.pick(runs, 1)].count("healthy") == 1


def test_advice_reruns_a_run_with_the_doctors_first_change_and_scores_it_by_kid(tmp_path):
    out = tmp_path / "out"
    runs = [
        corpus.Run(f"r{i}", "lr_d_high", "tiny", seed, ("train.lr_d=0.5", "train.steps=9"), (), ("critic_overpowers",))
        for i, seed in enumerate((0, 0, 1))
    ]
    changes = {
        "r0": ("critic_overpowers", "train.lr_d=0.005 train.n_critic=2"),
        "r1": ("healthy", ""),
        "r2": ("critic_overpowers", "train.lr_d=0.01"),
    }
    for run_id, (key, change) in changes.items():
        (out / "runs" / run_id).mkdir(parents=True)
        (out / "runs" / run_id / "doctor.json").write_text(json.dumps({"findings": [{"key": key, "change": change}]}))
    advised = corpus.advice_runs(runs, out, seeds=1)
    assert [r.id for r in advised] == ["r0"]  # r1 is healthy, r2's seed is not asked for
    (out / "runs" / "r0" / "doctor.json").write_text(json.dumps({"findings": [{"key": "out_of_time", "change": "train.steps=90"}]}))
    assert corpus.advice_runs(runs, out, seeds=1) == []  # more budget cannot be tried at the same budget
    (out / "runs" / "r0" / "doctor.json").write_text(
        json.dumps({"findings": [{"key": "x", "change": "train.lr_d=0.005 train.n_critic=2"}]})
    )
    assert sorted(advised[0].overrides) == ["train.lr_d=0.005", "train.n_critic=2", "train.steps=9"]  # the change replaces; same budget
    for where, kid, acc in (("runs", 2.0, 0.5), ("advice/runs", 1.5, 0.6)):
        (out / where / "r0").mkdir(parents=True, exist_ok=True)
        (out / where / "r0" / "eval.json").write_text(json.dumps({"kid": kid, "class_acc": acc}))
    scored = corpus.advice_score(advised, out)
    assert (scored["scored"], scored["helped"]) == (1, 1) and scored["median_kid_change"] == pytest.approx(-0.5)
    (out / "advice/runs/r0/eval.json").write_text(json.dumps({"kid": 2.5, "class_acc": 0.7}))
    assert corpus.advice_score(advised, out)["helped"] == 0  # a higher KID did not help, whatever class consistency did
    assert "0/1" in corpus.advice_markdown(corpus.advice_score(advised, out))
