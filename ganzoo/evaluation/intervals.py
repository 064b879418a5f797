"""Uncertainty of quality figures: bootstrap intervals for one evaluation, t-intervals over seeds, and
the probability that one configuration beats another.

- :func:`bootstrap_interval`: point estimate +- 1.96 bootstrap standard deviations (the normal
  bootstrap interval, Efron and Tibshirani 1993, ch. 13); ``ganzoo eval --ci`` resamples the
  generated and the reference sets. Not the percentile interval: resampling with replacement leaves
  about 63% distinct images, which shifts nearest-neighbour figures (precision, recall, coverage)
  and the Fréchet distance as a whole, so their percentiles can miss the estimate itself; their
  spread is still a fair estimate of its uncertainty.
- :func:`mean_interval`: mean and 95% Student-t half-width over runs (seeds) of one configuration.
- :func:`probability_of_improvement`: P(X > Y) for a run X of one configuration and a run Y of
  another, counting ties as half: the "probability of improvement" of Agarwal et al. 2021
  (arXiv 2108.13264), the Mann-Whitney U statistic over the number of pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom (standard tables); 1.96 above.
T95 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def bootstrap_interval(point: float, draws: Sequence[float], bounds: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """point +- 1.96 x the standard deviation of the bootstrap values (NaNs dropped; None when fewer
    than two are left), clipped to ``bounds`` (e.g. (0, 1) for a share)."""
    finite = [v for v in draws if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(finite) < 2 or not math.isfinite(point):
        return None
    m = sum(finite) / len(finite)
    half = 1.96 * math.sqrt(sum((v - m) ** 2 for v in finite) / (len(finite) - 1))
    lo, hi = point - half, point + half
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return lo, hi


def mean_interval(values: Sequence[float]) -> tuple[float, float | None]:
    """(mean, 95% half-width) of per-run values; the half-width is None for a single run."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    t = T95[n - 2] if n - 1 <= len(T95) else 1.96
    return mean, t * sd / math.sqrt(n)


def probability_of_improvement(a: Sequence[float], b: Sequence[float], higher_is_better: bool) -> float:
    """P(a run of A scores better than a run of B), over all pairs of their runs, ties counting half."""
    sign = 1 if higher_is_better else -1
    wins = sum(1.0 if sign * (x - y) > 0 else 0.5 if x == y else 0.0 for x in a for y in b)
    return wins / (len(a) * len(b))
