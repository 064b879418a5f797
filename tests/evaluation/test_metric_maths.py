"""The quality maths on cases worked out by hand: Fréchet distance, KID, precision/recall/density/
coverage, and the intervals."""

import math

import pytest
import torch

from ganzoo.evaluation.distances import frechet, kid
from ganzoo.evaluation.intervals import bootstrap_interval, mean_interval, probability_of_improvement
from ganzoo.evaluation.manifold import prdc


def _cloud(n=400, d=6, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_frechet_of_shifted_and_scaled_copies():
    a = _cloud()
    shift = torch.arange(6, dtype=torch.float64)
    assert frechet(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet(a, a + shift) == pytest.approx(float(shift.pow(2).sum()), rel=1e-9)  # the means alone differ
    centred = a - a.mean(0)
    trace = float(torch.cov(centred.T).trace())
    # S_b = 4 S_a: tr S_a + 4 tr S_a - 2 tr (4 S_a^2)^(1/2) = (1 + 4 - 4) tr S_a
    assert frechet(centred, 2 * centred) == pytest.approx(trace, rel=1e-7)


def test_kid_by_hand():
    a = torch.tensor([[0.0], [1.0], [2.0]])
    b = torch.tensor([[1.0], [3.0]])
    k = lambda x, y: (x * y + 1) ** 3  # noqa: E731 (D = 1)
    within_a = sum(k(x, y) for i, x in enumerate([0.0, 1, 2]) for j, y in enumerate([0.0, 1, 2]) if i != j) / 6
    within_b = 2 * k(1.0, 3.0) / 2
    cross = sum(k(x, y) for x in [0.0, 1, 2] for y in [1.0, 3]) / 6
    assert kid(a, b) == pytest.approx(within_a + within_b - 2 * cross)
    # a resampled set: pairs of copies of one sample count as the diagonal does (left out)
    dup = torch.tensor([[0.0], [0.0], [1.0]])
    assert kid(dup, b, ids_a=torch.tensor([5, 5, 7])) == pytest.approx(
        k(0.0, 1.0) + within_b - 2 * sum(k(x, y) for x in [0.0, 0, 1] for y in [1.0, 3]) / 6
    )


def test_kid_is_unbiased_on_two_samples_of_one_distribution():
    values = torch.tensor([kid(_cloud(60, seed=2 * i), _cloud(60, seed=2 * i + 1)) for i in range(200)])
    assert abs(values.mean()) < 3 * values.std() / math.sqrt(len(values))  # zero within three standard errors
    assert kid(_cloud(200, seed=1), _cloud(200, seed=2) + 1.0) > 10 * values.std()


def test_prdc_by_hand():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])  # k = 1: every real ball has radius 1
    fake = torch.tensor([[0.5], [10.0], [11.0]])  # fake radii: 9.5, 1, 1
    r = prdc(real, fake, k=1)
    assert r["precision"] == pytest.approx(1 / 3)  # only 0.5 lies in a real ball
    assert r["recall"] == pytest.approx(1.0)  # every real point is within 9.5 of the fake at 0.5
    assert r["density"] == pytest.approx(2 / 3)  # 0.5 lies in the balls of 0 and 1: 2 / (k * 3 fakes)
    assert r["coverage"] == pytest.approx(0.5)  # the balls of 0 and 1 hold a fake; those of 2 and 3 do not
    same = prdc(real, real.clone(), k=1)  # each point lies in its own ball and its neighbours': 2, 3, 3, 2 balls
    assert same == {"precision": 1.0, "recall": 1.0, "density": 2.5, "coverage": 1.0}


def test_prdc_ignores_copies_of_a_sample_as_neighbours():
    real = torch.tensor([[0.0], [0.0], [4.0], [5.0]])
    ids = torch.tensor([0, 0, 1, 2])  # the two zeros are one sample drawn twice: its nearest other sample is 4 away
    r = prdc(real, torch.tensor([[3.0]]), k=1, ids_real=ids)  # radii: 4, 4, 1, 1
    assert r["precision"] == 1.0 and r["coverage"] == 0.75 and r["density"] == 3.0  # inside the zeros' balls and 4's, not 5's
    r_plain = prdc(real, torch.tensor([[2.0]]), k=1)
    r_ids = prdc(real, torch.tensor([[2.0]]), k=1, ids_real=ids)
    assert r_plain["precision"] == 0.0 and r_ids["precision"] == 1.0


def test_intervals():
    assert mean_interval([1.0]) == (1.0, None)
    m, half = mean_interval([1.0, 2.0, 3.0])
    assert m == 2.0 and half == pytest.approx(4.303 * 1.0 / math.sqrt(3))  # Student t, 2 degrees of freedom
    assert probability_of_improvement([3, 4], [1, 3], higher_is_better=True) == pytest.approx((1 + 0.5 + 1 + 1) / 4)
    assert probability_of_improvement([3, 4], [1, 3], higher_is_better=False) == pytest.approx(0.5 / 4)
    lo, hi = bootstrap_interval(0.5, [0.4, 0.6])
    assert (lo, hi) == pytest.approx((0.5 - 1.96 * math.sqrt(0.02), 0.5 + 1.96 * math.sqrt(0.02)))
    assert bootstrap_interval(0.9, [0.7, 1.1], bounds=(0, 1))[1] == 1.0
    assert bootstrap_interval(0.5, [float("nan"), 0.5]) is None


def test_class_consistency_by_class_names_the_worst_class_and_skips_absent_ones():
    from ganzoo.evaluation.reference import Side
    from ganzoo.evaluation.scoring import by_class

    def s(labels, predictions):
        labels, predictions = torch.tensor(labels), torch.tensor(predictions)
        return Side(labels, torch.zeros(len(labels), 4), predictions, torch.arange(len(labels)))

    real = (s([0, 1, 2], [0, 1, 1]), s([0, 1, 2], [0, 1, 2]))
    fake = (s([0, 0, 1, 1], [0, 0, 1, 0]), s([0, 0, 1, 1], [0, 1, 1, 1]))
    out = by_class(real, fake)
    assert out["class_acc_by_class"] == [0.75, 0.75, None]  # no generated image of class 2
    assert out["class_acc_by_class_real"] == [1.0, 1.0, 0.5]
    assert out["class_acc_min"] == 0.75
    fake = (s([0, 1], [0, 0]), s([0, 1], [0, 0]))
    assert by_class(real, fake)["class_acc_min"] == 0.0


def test_the_judge_weights_classes_only_when_they_are_imbalanced():
    from ganzoo.evaluation.evaluator import class_weights

    assert class_weights(torch.tensor([0, 1, 2] * 500), 3) is None  # mnist5k's 500 a class: trained as before
    assert class_weights(torch.tensor([0] * 140 + [1] * 100), 2) is None  # under 1.5x
    w = class_weights(torch.tensor([0] * 300 + [1] * 100 + [3] * 50), 4)  # class 2 absent
    assert w[2] == 0 and float(w.sum()) == pytest.approx(3.0) and float(w[3] / w[0]) == pytest.approx(6.0)  # mean 1 over present classes


def test_the_judges_warp_fills_with_the_datas_own_background():
    from ganzoo.evaluation.evaluator import augment, background

    white = torch.ones(8, 3, 16, 16)
    white[:, :, 6:10, 6:10] = -1  # a dark mark on white icons
    fill = background(white)
    assert fill.shape == (1, 3, 1, 1) and fill.flatten().tolist() == [1.0, 1.0, 1.0]
    warped = augment(white, torch.Generator().manual_seed(0), fill)
    assert float(warped[:, :, 0, 0].min()) > 0.99  # corners stay white: shifted in from outside, not black
    black = -torch.ones(8, 1, 16, 16)
    assert torch.equal(augment(black, torch.Generator().manual_seed(0), background(black)), black)
    old = augment(white, torch.Generator().manual_seed(0))  # the default fill is -1, as on digits
    assert float(old[:, :, 0, 0].min()) < 0  # what the fill fixes: black corners on a white set
