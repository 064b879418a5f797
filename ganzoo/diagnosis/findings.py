"""Every failure ``ganzoo doctor`` can name, in one table: :data:`FINDINGS`.

A finding is one :class:`Check`: a ``detect`` function that reads a run's
:class:`~ganzoo.diagnosis.evidence.RunEvidence` and returns what it saw as numbers (a
:class:`~ganzoo.diagnosis.evidence.Seen`: since which step, and the evidence as a dict of named
numbers) or None; a ``render`` function (:mod:`ganzoo.diagnosis.prose`) that says the same numbers
as a sentence; and an ``advise`` function (:mod:`ganzoo.diagnosis.advice`) that names the likely
cause in this configuration and a change to try as ``key=value``. Detectors compute; they write no
prose, so ``ganzoo doctor --json`` carries the numbers a program can use beside the sentence.
Adding a finding is adding an entry.

The table's order is the order of importance: the first finding is a run's main one. ``online``
checks also run during training (:mod:`ganzoo.diagnosis.monitor`); ``hides`` lists findings that
are only echoes of this one (a critic without signal also leaves the run "too slow"). The
thresholds are in :mod:`ganzoo.diagnosis.thresholds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist, pstdev
from typing import Any, Callable

from ganzoo.diagnosis import advice, prose
from ganzoo.diagnosis.evidence import CLASS_ACC, DIVERSITY, FD_RATIO, RunEvidence, Seen, last_part, median, onset, rolling_medians
from ganzoo.diagnosis.grids import spreads
from ganzoo.diagnosis.thresholds import (
    CHANCE_LEVEL,
    COLLAPSED_GRID,
    EXPLODING,
    OSCILLATING,
    PENALTY_SHARE,
    POOR_FD,
    RIGHT,
    SAME_ROWS,
    SATURATED,
    SIGNAL_FLOOR,
    VANISHED,
    WARMUP,
)
from ganzoo.evaluation.metrics import COLLAPSE, QUALITY


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    detect: Callable[[RunEvidence], Seen | None]
    render: Callable[[dict[str, Any]], str]  # the evidence's numbers as a sentence
    advise: Callable[[RunEvidence, Seen], tuple[str, str]]  # (likely cause, change as key=value ...)
    online: bool = False
    hides: tuple[str, ...] = ()


# -- the training dynamics (step lines) -----------------------------------------------------------
def numerical(ev: RunEvidence) -> Seen | None:
    """NaN/Inf retries (the ``retries`` field) and gradient norms that explode."""
    numbers: dict[str, Any] = {}
    starts = []
    retried = [(r["step"], r["retries"]) for r in ev.steps if isinstance(r.get("retries"), int) and r["retries"] > 0]
    if retried:
        numbers.update(retries=sum(n for _, n in retried), retried_steps=[s for s, _ in retried], steps=len(ev.steps))
        starts.append(retried[0][0])
    for key in ("grad_critic", "grad_generator"):
        steps, values = ev.series(key)
        early = median(values[:5])
        for i in range(9, len(values)):
            now = median(values[i - 4 : i + 1])
            if early > 0 and now >= EXPLODING * early:
                peak = max(values[i:])
                numbers.update(
                    {
                        f"{key}_early": early,
                        f"{key}_now": now,
                        f"{key}_at_step": steps[i],
                        f"{key}_peak": peak,
                        f"{key}_growth": peak / early,
                    }
                )
                starts.append(steps[i])
                break
    return Seen(min(starts), numbers, "retries" if retried else "exploding") if starts else None


def no_signal(ev: RunEvidence) -> Seen | None:
    recs = ev.records("real_score_sd", "fake_score_sd", "wasserstein")
    since = onset(recs, lambda r: max(r["real_score_sd"], r["fake_score_sd"], abs(r["wasserstein"])) <= SIGNAL_FLOOR)
    if since is None:
        return None
    tail = [r for r in recs if r["step"] >= since]
    numbers = {
        "since": since,
        "last_step": ev.last_step,
        "diagnosed_steps": len(tail),
        "score_spread": max(max(r["real_score_sd"], r["fake_score_sd"]) for r in tail),
        "abs_w": max(abs(r["wasserstein"]) for r in tail),
        "real_score": median([r["real_score"] for r in tail]),
        "fake_score": median([r["fake_score"] for r in tail]),
    }
    grads = [r["grad_generator"] for r in tail if "grad_generator" in r]
    if grads:
        numbers["grad_generator"] = median(grads)
    clipped = [r["clipped_share"] for r in tail if "clipped_share" in r]
    if clipped:
        numbers["clipped_share"] = median(clipped)
    return Seen(since, numbers)


def penalty_dominates(ev: RunEvidence) -> Seen | None:
    recs = [r for r in ev.records("penalty_share") if r["step"] > WARMUP]
    since = onset(recs, lambda r: r["penalty_share"] >= PENALTY_SHARE, share=0.8, least=20)
    if since is None:
        return None
    tail = [r for r in recs if r["step"] >= since]
    return Seen(
        since,
        {
            "since": since,
            "penalty_share": median([r["penalty_share"] for r in tail]),
            "diagnosed_steps": len(tail),
            "penalty": median([r["penalty"] for r in tail if "penalty" in r] or [math.nan]),
            "w": median([r["wasserstein"] for r in tail]),
        },
    )


def _right(r: dict[str, Any]) -> bool:
    """The critic tells every real image from every generated one: by its classifier reading when the
    loss has one, else by how far apart the two score distributions are (normal approximation)."""
    if "critic_acc" in r:
        return r["critic_acc"] >= RIGHT
    spread = math.hypot(r["real_score_sd"], r["fake_score_sd"])
    return r["wasserstein"] > 0 and (spread == 0 or NormalDist().cdf(r["wasserstein"] / spread) >= RIGHT)


def critic_overpowers(ev: RunEvidence) -> Seen | None:
    recs = ev.records("real_score_sd", "fake_score_sd", "wasserstein")
    since = onset(recs, _right, share=0.8, least=10)
    _, gc = ev.series("grad_critic")
    _, gg = ev.series("grad_generator")
    if since is None or len(gc) < 10 or len(gg) < 10:
        return None
    drop = median(gc[:5]) / max(median(last_part(gc)), 1e-30)
    fade = median(last_part(gg)) / max(max(rolling_medians(gg)), 1e-30)
    if drop < SATURATED and fade > VANISHED:
        return None
    tail = [r for r in recs if r["step"] >= since]
    numbers: dict[str, Any] = {"since": since, "last_step": ev.last_step, "right_share": sum(map(_right, tail)) / len(tail)}
    if "critic_acc" in tail[-1]:
        numbers["critic_acc"] = median([r["critic_acc"] for r in tail])
    else:
        numbers["w"] = median([r["wasserstein"] for r in tail])
        numbers["w_over_spread"] = median([r["wasserstein"] / max(math.hypot(r["real_score_sd"], r["fake_score_sd"]), 1e-30) for r in tail])
    numbers.update(
        critic_grad_drop=drop, critic_grad_early=median(gc[:5]), critic_grad_late=median(last_part(gc)), generator_grad_vs_peak=fade
    )
    return Seen(since, numbers)


def generator_overpowers(ev: RunEvidence) -> Seen | None:
    recs = ev.records("wasserstein")
    wrong = lambda r: r["wasserstein"] < 0 and r.get("critic_acc", 0.0) < 0.5  # noqa: E731
    since = onset(recs, wrong, share=0.8, least=10)
    early, late = median([r["wasserstein"] for r in recs[:5]]), median([r["wasserstein"] for r in last_part(recs)])
    if since is not None and late < 2 * min(early, 0.0):  # and it got worse: not a critic that never learned (tiny learning rates)
        tail = [r for r in recs if r["step"] >= since]
        acc = [r["critic_acc"] for r in tail if "critic_acc" in r]
        numbers = {
            "since": since,
            "last_step": ev.last_step,
            "wrong_share": sum(wrong(r) for r in tail) / len(tail),
            "w": median([r["wasserstein"] for r in tail]),
        }
        if acc:
            numbers["critic_acc"] = median(acc)
        return Seen(since, numbers, "overpowers")
    steps, w = ev.series("wasserstein")
    windows_all = rolling_medians(w)
    windows = last_part(windows_all, least=4)
    if len(w) < 20 or len(windows) < 4:
        return None
    start = steps[(len(windows_all) - len(windows)) * 5]  # the first step of the last third
    fd = ev.quality(FD_RATIO.key)
    before = [(s, v) for s, v in fd if s <= start] or fd[:1]
    mean = sum(windows) / len(windows)
    if not before or before[-1][0] == fd[-1][0] or pstdev(windows) < OSCILLATING * abs(mean) or fd[-1][1] < 0.9 * before[-1][1]:
        return None  # steady, or still improving: not "without progress"
    return Seen(
        start,
        {
            "since": start,
            "last_step": ev.last_step,
            "w_low": min(windows),
            "w_high": max(windows),
            "w_spread": pstdev(windows),
            "w_spread_share": pstdev(windows) / max(abs(mean), 1e-30),
            f"{FD_RATIO.key}_before": before[-1][1],
            f"{FD_RATIO.key}_before_step": before[-1][0],
            FD_RATIO.key: fd[-1][1],
            f"{FD_RATIO.key}_step": fd[-1][0],
        },
        "oscillate",
    )


# -- quality (evaluations and sample grids) --------------------------------------------------------
def _grid_spreads(ev: RunEvidence) -> list[tuple[int, tuple[float, float]]]:
    size, k = int(ev.data.get("size") or 0), ev.num_classes
    return [(s, found) for s, p in ev.grids if (found := spreads(p, size, k)) is not None]


def mode_collapse(ev: RunEvidence) -> Seen | None:
    numbers: dict[str, Any] = {}
    starts = []
    div = ev.quality(DIVERSITY.key)
    if div:
        peak_at, peak = max(div[:-1] or div, key=lambda e: e[1])
        at, last = div[-1]
        if last < COLLAPSE or (len(div) > 1 and last <= 0.5 * peak):
            numbers.update({DIVERSITY.key: last, f"{DIVERSITY.key}_step": at, "collapse_below": COLLAPSE})
            if len(div) > 1 and peak > last:
                numbers.update({f"{DIVERSITY.key}_peak": peak, f"{DIVERSITY.key}_peak_step": peak_at})
                starts.append(next(s for s, v in div if s > peak_at and v <= max(last, 0.5 * peak)))
            else:
                starts.append(at)
    grids = _grid_spreads(ev)
    if len(grids) > 1:
        best_at, (best, _) = max(grids[:-1], key=lambda g: g[1][0])
        at, (last_cols, _) = grids[-1]
        if last_cols <= COLLAPSED_GRID * best:
            numbers.update(grid_columns=last_cols, grid_step=at, grid_columns_best=best, grid_best_step=best_at)
            starts.append(next(s for s, (c, _) in grids if s > best_at and c <= COLLAPSED_GRID * best))
    return Seen(min(starts), numbers) if starts else None


def conditioning_ignored(ev: RunEvidence) -> Seen | None:
    k = ev.num_classes
    if k < 2:
        return None
    numbers: dict[str, Any] = {}
    starts = []
    acc, div, fd = CLASS_ACC.key, DIVERSITY.key, FD_RATIO.key
    scores = [(s, e) for s, e in ev.evals if all(isinstance(e.get(q), (int, float)) for q in (acc, div, fd))]
    if scores:
        at, e = scores[-1]
        if e[acc] <= CHANCE_LEVEL / k and e[div] >= 0.8 and e[fd] < POOR_FD:
            numbers.update({acc: e[acc], "chance": 1 / k, div: e[div], fd: e[fd], "eval_step": at})
            starts.append(at)
    grids = _grid_spreads(ev)
    if grids and k > 1:
        at, (cols, rows) = grids[-1]
        if cols >= 0.01 and rows <= SAME_ROWS * cols:
            numbers.update(grid_rows=rows, grid_columns=cols, grid_step=at)
            starts.append(at)
    return Seen(min(starts), numbers) if starts else None


def too_slow(ev: RunEvidence) -> Seen | None:
    fd, acc = ev.quality(FD_RATIO.key), ev.quality(CLASS_ACC.key)
    k = ev.num_classes
    conditional = "none" not in (ev.value("critic.encoder"), ev.value("generator.encoder"))  # else class consistency says nothing of speed
    poor_acc = bool(acc) and k > 1 and conditional and acc[-1][1] < 2 / k
    if not (poor_acc or (fd and fd[-1][1] >= POOR_FD)):
        return None
    steps, w = ev.series("wasserstein")
    seconds = ev.seconds_per_step()
    numbers: dict[str, Any] = {"steps": ev.last_step, "seconds_per_step": seconds}
    if len(w) >= 6:
        third = last_part(list(zip(steps, w)))
        numbers.update(
            w_from=median([v for _, v in third[: len(third) // 2]]),
            w_to=median([v for _, v in third[len(third) // 2 :]]),
            last_third_from_step=third[0][0],
            last_third_to_step=third[-1][0],
        )
    if fd:
        numbers.update(
            {
                FD_RATIO.key: fd[-1][1],
                **({f"{FD_RATIO.key}_first": fd[0][1], f"{FD_RATIO.key}_first_step": fd[0][0]} if len(fd) > 1 else {}),
            }
        )
    if acc and k > 1:
        numbers.update({CLASS_ACC.key: acc[-1][1], "chance": 1 / k})
    return Seen(None, numbers)


def healthy(ev: RunEvidence) -> Seen | None:
    """The run's length, W at the end, and where each quality figure went (``KEY``, ``KEY_step``;
    ``KEY_from``, ``KEY_from_step`` when it was scored more than once)."""
    numbers: dict[str, Any] = {"steps": ev.last_step}
    _, w = ev.series("wasserstein")
    if w:
        numbers["w"] = w[-1]
    for q in QUALITY:
        points = ev.quality(q.key)
        if q.higher_is_better is not None and points:
            numbers.update({q.key: points[-1][1], f"{q.key}_step": points[-1][0]})
            if len(points) > 1:
                numbers.update({f"{q.key}_from": points[0][1], f"{q.key}_from_step": points[0][0]})
    return Seen(None, numbers)


FINDINGS: tuple[Check, ...] = (
    Check("numerical", "numerical trouble", numerical, prose.numerical, advice.numerical, online=True),
    Check(
        "no_signal",
        "the critic gives no signal",
        no_signal,
        prose.no_signal,
        advice.no_signal,
        online=True,
        hides=("penalty_dominates", "critic_overpowers", "generator_overpowers", "mode_collapse", "conditioning_ignored", "too_slow"),
    ),
    Check(
        "penalty_dominates",
        "the penalty dominates the critic's loss",
        penalty_dominates,
        prose.penalty_dominates,
        advice.penalty_dominates,
        online=True,
        hides=("generator_overpowers", "too_slow"),
    ),
    Check(
        "critic_overpowers",
        "the critic overpowers the generator",
        critic_overpowers,
        prose.critic_overpowers,
        advice.critic_overpowers,
        online=True,
        hides=("conditioning_ignored", "too_slow"),
    ),
    Check(
        "generator_overpowers",
        "the generator overpowers the critic",
        generator_overpowers,
        prose.generator_overpowers,
        advice.generator_overpowers,
        online=True,
        hides=("conditioning_ignored", "too_slow"),
    ),
    Check("mode_collapse", "mode collapse", mode_collapse, prose.mode_collapse, advice.mode_collapse, online=True, hides=("too_slow",)),
    Check("too_slow", "too slow to learn in this budget", too_slow, prose.too_slow, advice.too_slow),
    Check("conditioning_ignored", "conditioning ignored", conditioning_ignored, prose.conditioning_ignored, advice.conditioning_ignored),
    Check("healthy", "healthy", healthy, prose.healthy, advice.healthy),  # named only when nothing else is
)
KEYS = tuple(c.key for c in FINDINGS)
FORM_TITLES = {"oscillate": "the critic and the generator oscillate without progress"}  # a form of a finding with its own title
