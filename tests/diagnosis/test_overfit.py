"""Critic overfitting (issue 29): ``data.limit`` trains on part of a dataset, ``train.holdout_every``
holds real images out of training and logs the critic's scores on them; ``ganzoo doctor`` names a
growing gap between training and held-out scores. Small synthetic runs, and hand-written step lines.
"""

from __future__ import annotations

import json

import pytest
import torch
from helpers import TINY, final_state, override

from ganzoo.diagnosis.doctor import diagnose
from ganzoo.diagnosis.evidence import RunEvidence
from ganzoo.diagnosis.findings import FINDINGS, critic_overfits
from ganzoo.registry.config import resolve
from ganzoo.runs.launch import start
from ganzoo.storage.folder import read_metrics
from ganzoo.training.holdout import split
from ganzoo.training.loop import Trainer

BASE = override(TINY, "data.n=400", "train.steps=6", "train.sample_every=0", "train.checkpoint_every=0")


def _rows(x: torch.Tensor) -> set[bytes]:
    return {bytes(r.numpy().tobytes()) for r in x}


def test_the_held_out_images_are_never_in_the_training_set(host):
    trainer = Trainer(resolve([*BASE, "train.holdout_every=2", "data.limit=100"], host), host)
    held = trainer.probe.held[0]
    assert held.shape[0] == 20 and len(trainer.data) == 100  # 5% of 400
    assert trainer.split == {"images": 400, "train_images": 100, "heldout_images": 20, "limit": 100}
    assert not _rows(held) & _rows(trainer.data.floats())  # the synthetic images are all distinct (noise)
    assert _rows(trainer.steps.batches.images) == _rows(trainer.data.floats())  # training draws its batches from these only
    # the fixed training images the probe scores are training images
    assert _rows(trainer.probe.train[0]) <= _rows(trainer.data.floats())


def test_without_the_options_the_data_is_untouched_and_small_sets_hold_nothing_out(host):
    data = Trainer(resolve(BASE, host), host).data
    assert split(data, None, False)[0] is data
    sub, held, record, notes = split(data, None, True)  # 5% of 400 = 20: held out
    assert held is not None and len(held) + len(sub) == 400
    small = data.replace(images=data.pixels[:200], labels=data.labels[:200])  # 5% = 10 < 16
    sub, held, record, notes = split(small, None, True)
    assert held is None and len(sub) == 200 and record["heldout_images"] == 0 and "no images are held out" in notes[0]


def test_the_probe_changes_no_number_of_the_training(tmp_path, host):
    lines = {}
    for every in (2, 3):
        run = start(
            [*BASE, "critic=dcgan", "critic.norm=batch", "constraint=none", f"train.holdout_every={every}", f"out={tmp_path / str(every)}"],
            host,
        )
        lines[every] = [r for r in read_metrics(run / "metrics.jsonl") if "loss_d" in r]
    core = ("loss_d", "wasserstein", "loss_g", "real_score", "grad_critic")
    assert [[r[k] for k in core] for r in lines[2]] == [[r[k] for k in core] for r in lines[3]]
    assert [r["step"] for r in lines[2] if "real_score_heldout" in r] == [2, 4, 6]
    assert [r["step"] for r in lines[3] if "real_score_heldout" in r] == [3, 6]
    assert json.loads((tmp_path / "2" / "config.json").read_text())["split"]["heldout_images"] == 20
    # every weight and buffer (the BatchNorm statistics the probe's forward passes would move) ends the same
    (a, _, _), (b, _, _) = final_state(tmp_path / "2"), final_state(tmp_path / "3")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a) and any("running_mean" in k for k in a)


def _probes(gaps, spread=2.0):
    """Step lines every 10 steps with probe scores whose normalised gap is each of ``gaps``."""
    return [
        {
            "step": 10 * (i + 1),
            "loss_d": 0.5,
            "wasserstein": 1.0,
            "real_score_train": 1.0,
            "real_score_heldout": 1.0 - g * spread,
            "fake_score_probe": 1.0 - spread,
        }
        for i, g in enumerate(gaps)
    ]


@pytest.mark.parametrize("spread", [0.02, 2.0, 200.0])
def test_a_growing_gap_is_named_with_its_numbers_whatever_the_scale(spread):
    gaps = [0.0, 0.05, 0.1, 0.2, 0.4, 0.5, 0.6, 0.6, 0.7]
    ev = RunEvidence({"critic.width": 32, "data": "mnist5k"}, _probes(gaps, spread), split={"train_images": 500, "heldout_images": 250})
    seen = critic_overfits(ev)
    assert (
        seen is not None and seen.numbers["gap_late"] == pytest.approx(0.6) and seen.numbers["gap_early"] == pytest.approx(0.05)
    )  # median of the first 3 probes
    assert seen.since == 50 and seen.numbers["heldout_images"] == 250
    (f,) = [f for f in diagnose(ev) if f.key == "critic_overfits"]
    assert f.evidence == next(c for c in FINDINGS if c.key == "critic_overfits").render(f.numbers)
    assert "250 held-out real images" in f.evidence and "0.6 of the distance" in f.evidence
    assert f.change == "critic.width=16" and "data.flip" not in f.change  # no mirrored digits


@pytest.mark.parametrize("gaps", [[0.05] * 9, [0.6] * 9, [0.0, 0.1, 0.2, 0.25, 0.25, 0.2]])
def test_a_steady_or_small_gap_is_not_named(gaps):
    """A critic that generalises (small gap), one whose gap did not grow, and one under the threshold."""
    assert critic_overfits(RunEvidence({}, _probes(gaps))) is None


def test_flip_is_advised_where_the_dataset_has_it_and_mirror_images_are_real():
    ev = RunEvidence({"critic.width": 32, "data": "imagefolder", "data.flip": False}, _probes([0.0, 0.1, 0.2, 0.5, 0.6, 0.7, 0.7]))
    (f,) = [f for f in diagnose(ev) if f.key == "critic_overfits"]
    assert f.change == "data.flip=true"
