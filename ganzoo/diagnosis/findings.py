"""Every failure ``ganzoo doctor`` can name, in one table: :data:`FINDINGS`.
It is longer than 300 lines as ruff formats it: the table and its detectors belong together.

A finding is one :class:`Check`: a ``detect`` function that reads a run's
:class:`~ganzoo.diagnosis.evidence.RunEvidence` and returns what it saw as numbers (a
:class:`~ganzoo.diagnosis.evidence.Seen`: since which step, and the evidence as a dict of named
numbers) or None; a ``render`` function (:mod:`ganzoo.diagnosis.prose`) that says the same numbers
as a sentence; and an ``advise`` function (:mod:`ganzoo.diagnosis.advice`) that names the likely
cause in this configuration and a change to try as ``key=value``. Detectors compute; they write no
prose, so ``ganzoo doctor --json`` carries the numbers a program can use beside the sentence.
Adding a finding is adding an entry.

The detectors of the training dynamics (step lines) are below; those of the results (quality
scores, sample grids) are in :mod:`ganzoo.diagnosis.outcomes`.

The table's order is the order of importance: the first finding is a run's main one. ``online``
checks also run during training (:mod:`ganzoo.diagnosis.monitor`); ``hides`` lists findings that
are only echoes of this one (a critic without signal also leaves the run "too slow"). A run that its
time limit stopped far short of its planned steps (``out_of_time``) is named from its speed alone,
after the failures no budget cures (NaN/Inf, no signal) and before the dynamics, which a run cut at
a few percent of its plan leaves unfinished. The
thresholds are in :mod:`ganzoo.diagnosis.thresholds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist, pstdev
from typing import Any, Callable

from ganzoo.diagnosis import advice, prose
from ganzoo.diagnosis.outcomes import conditioning_ignored, healthy, mode_collapse, out_of_time, too_slow
from ganzoo.diagnosis.evidence import FD_RATIO, RunEvidence, Seen, last_part, median, onset, rolling_medians
from ganzoo.diagnosis.thresholds import (
    EXPLODING,
    OSCILLATING,
    OVERFIT,
    OVERFIT_GROWTH,
    PENALTY_SHARE,
    RIGHT,
    SATURATED,
    SIGNAL_FLOOR,
    VANISHED,
    WARMUP,
)


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


def overfit_gap(r: dict[str, Any]) -> float:
    """How far the critic scores held-out real images below its training images, as a share of how far
    it scores generated images below them: 0 when it generalises, 1 when held-out digits look as fake
    to it as generated ones (Karras et al. 2020's r_v); scale-free."""
    spread = abs(r["real_score_train"] - r["fake_score_probe"])
    return (r["real_score_train"] - r["real_score_heldout"]) / max(spread, 1e-12)


def critic_overfits(ev: RunEvidence) -> Seen | None:
    recs = ev.records("real_score_train", "real_score_heldout", "fake_score_probe")
    if len(recs) < 6:
        return None
    first, last = recs[:3], last_part(recs)  # the first probes: before a critic can have memorised anything
    early, late = median([overfit_gap(r) for r in first]), median([overfit_gap(r) for r in last])
    since = onset(recs, lambda r: overfit_gap(r) >= OVERFIT, share=0.7, least=3)
    if late < OVERFIT or late - early < OVERFIT_GROWTH or since is None:
        return None
    numbers = {
        "since": since,
        "last_step": ev.last_step,
        "probes": len(recs),
        "gap_early": early,
        "gap_late": late,
        "early_to_step": first[-1]["step"],
        "late_from_step": last[0]["step"],
        "real_score_train": median([r["real_score_train"] for r in last]),
        "real_score_heldout": median([r["real_score_heldout"] for r in last]),
        "fake_score_probe": median([r["fake_score_probe"] for r in last]),
    }
    numbers.update({k: ev.split[k] for k in ("train_images", "heldout_images") if isinstance(ev.split.get(k), int)})
    return Seen(since, numbers)


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
        "out_of_time",
        "too slow: stopped at its time limit far short of its planned steps",
        out_of_time,
        prose.out_of_time,
        advice.out_of_time,
        hides=("too_slow",),  # the quality-based "too slow" says the same, with less
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
    Check(
        "critic_overfits",
        "the critic overfits its training images",
        critic_overfits,
        prose.critic_overfits,
        advice.critic_overfits,
        online=True,
    ),
    Check("mode_collapse", "mode collapse", mode_collapse, prose.mode_collapse, advice.mode_collapse, online=True, hides=("too_slow",)),
    Check("too_slow", "too slow to learn in this budget", too_slow, prose.too_slow, advice.too_slow),
    Check("conditioning_ignored", "conditioning ignored", conditioning_ignored, prose.conditioning_ignored, advice.conditioning_ignored),
    Check("healthy", "healthy", healthy, prose.healthy, advice.healthy),  # named only when nothing else is
)
KEYS = tuple(c.key for c in FINDINGS)
FORM_TITLES = {"oscillate": "the critic and the generator oscillate without progress"}  # a form of a finding with its own title
