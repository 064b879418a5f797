"""The yardstick against known corruptions of real digits: each figure must rank sets whose order is
known, on mnist5k with the real evaluator.

The base set is 1,000 real digits from the evaluator's training split (the references are its
held-out images, so these are real images the references never contain); the corrupted sets come
from ganzoo.evaluation.corruptions: Gaussian noise at three levels, blur at two, 25% and 50% of the
labels shuffled, and half the classes collapsed to one image each. The corruption levels are far
apart (each step at least doubles KID and the FD ratio here), so the order does not hang on the
evaluator's exact weights, which differ between CPUs.
"""

import pytest
import torch

from ganzoo.evaluation import scoring
from ganzoo.evaluation.corruptions import known_sets
from ganzoo.evaluation.evaluator import get_evaluator, split
from ganzoo_plugins.datasets.mnist5k import Mnist5k


@pytest.fixture(scope="module")
def judged(mnist5k_cache):
    """The score of every set, by name."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GANZOO_CACHE", str(mnist5k_cache))
    try:
        data = Mnist5k(Mnist5k.Config()).load()
        evaluator = get_evaluator(data)
        assert evaluator.accuracy >= 0.99
        train, _ = split(data.labels)
        pick = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:1000]]
        sets = known_sets(data.floats(pick), data.labels[pick])  # (1000, 1, 28, 28) in [-1, 1], and the corrupted copies
        to_uint8 = lambda t: ((t + 1) * 127.5).round().to(torch.uint8)  # noqa: E731 (as an npz holds them)
        return {
            name: scoring.score_images(to_uint8(images), labels, data, evaluator, ci=name == "real")
            for name, (images, labels) in sets.items()
        }
    finally:
        mp.undo()


@pytest.mark.parametrize("key", ["kid", "fd_ratio"])
def test_the_distances_rise_with_noise_and_blur(judged, key):
    noise = [judged[n][key] for n in ("real", "noise 0.1", "noise 0.2", "noise 0.4")]
    blur = [judged[n][key] for n in ("real", "blur 1.0", "blur 1.5")]
    assert noise == sorted(noise) and len(set(noise)) == 4, noise
    assert blur == sorted(blur) and len(set(blur)) == 3, blur


def test_class_consistency_falls_as_labels_are_shuffled(judged):
    acc = [judged[n]["class_acc"] for n in ("real", "shuffled 0.25", "shuffled 0.5")]
    assert acc[0] > 0.95 and acc[0] - acc[1] > 0.1 and acc[1] - acc[2] > 0.1, acc  # each step moves a quarter of the labels


def test_collapse_lowers_diversity_recall_and_coverage_but_not_precision(judged):
    real, collapsed = judged["real"], judged["collapsed"]
    for key in ("diversity", "recall", "coverage"):
        assert collapsed[key] < 0.8 * real[key], (key, collapsed[key], real[key])
    assert collapsed["precision"] >= real["precision"] - 0.02  # the collapsed images are real digits


def test_real_images_score_at_the_floor(judged):
    """The floor (held-out B against A) lies inside the real set's 95% bootstrap interval."""
    real = judged["real"]
    lo, hi = real["ci"]["kid"]
    assert lo <= real["kid_floor"] <= hi, (real["kid"], real["ci"]["kid"], real["kid_floor"])
    lo, hi = real["ci"]["fd_ratio"]
    assert lo <= 1.0 <= hi, real["ci"]["fd_ratio"]
    for key in ("precision", "recall", "coverage"):
        assert abs(real[key] - real[f"{key}_floor"]) < 0.05, (key, real[key], real[f"{key}_floor"])
    for name, score in judged.items():  # and no corrupted set scores closer to the data than the real one
        if name != "real" and not name.startswith("shuffled"):
            assert score["kid"] > real["kid"] and score["fd_ratio"] > real["fd_ratio"], name
