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
        assert kept == ["doctor.json", "label.json", "summary.json"]  # small files only: no checkpoint, no image
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
