"""Every failure ``ganzoo doctor`` can name, in one table: :data:`FINDINGS`.

A finding is one :class:`Check`: a ``detect`` function that reads a run's
:class:`~ganzoo.diagnosis.evidence.RunEvidence` and returns what it saw (the steps and numbers) or
None, and an ``advise`` function (:mod:`ganzoo.diagnosis.advice`) that names the likely cause in
this configuration and a change to try as ``key=value``. Adding a finding is adding an entry.
The table's order is the order of importance: the first finding is a run's main one. ``online``
checks also run during training (:mod:`ganzoo.diagnosis.monitor`); ``hides`` lists findings that
are only echoes of this one (a critic without signal also leaves the run "too slow").

The thresholds are below; the README (`ganzoo doctor`) says how they were chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist, pstdev
from typing import Any, Callable

from ganzoo.diagnosis import advice
from ganzoo.diagnosis.evidence import RunEvidence, Seen, fmt, last_part, median, onset, rolling_medians
from ganzoo.diagnosis.grids import spreads
from ganzoo.evaluation.metrics import COLLAPSE

SIGNAL_FLOOR = 1e-5  # score spread and |W| at or below this: the critic tells no image from another
PENALTY_SHARE = 0.5  # the penalty outweighs the adversarial loss (this share of the critic's loss or more) after WARMUP steps
WARMUP = 50  # a gradient penalty starts at about its weight (the input gradient starts near 0): not counted
RIGHT = 0.99  # the critic is right about this share of the images or more ...
SATURATED = 20.0  # ... and its own gradient fell this many times since the start
VANISHED = 0.1  # ... or the generator's gradient fell to this share of its peak
EXPLODING = 100.0  # a gradient norm this many times its early level
OSCILLATING = 0.3  # spread of W over its mean, over the last third (medians of 5 steps)
COLLAPSED_GRID = 1 / 3  # the grid's columns vary this share of their most, or less
SAME_ROWS = 0.05  # the grid's rows vary this share of its columns, or less
CHANCE_LEVEL = 1.2  # class consistency at or below this many times chance (1/K) is chance level
POOR_FD = 30.0  # Fréchet distance this many times the real-vs-real floor, or more: poor quality


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    detect: Callable[[RunEvidence], Seen | None]
    advise: Callable[[RunEvidence, Seen], tuple[str, str]]  # (likely cause, change as key=value ...)
    online: bool = False
    hides: tuple[str, ...] = ()


# -- the training dynamics (step lines) -----------------------------------------------------------
def numerical(ev: RunEvidence) -> Seen | None:
    """NaN/Inf retries (the ``retries`` field) and gradient norms that explode."""
    parts, numbers, starts = [], {}, []
    retried = [(r["step"], r["retries"]) for r in ev.steps if isinstance(r.get("retries"), int) and r["retries"] > 0]
    if retried:
        total = sum(n for _, n in retried)
        where = ", ".join(str(s) for s, _ in retried[:8]) + (", ..." if len(retried) > 8 else "")
        parts.append(f"{total} NaN/Inf retr{'y' if total == 1 else 'ies'} on {len(retried)} of {len(ev.steps)} steps "
                     f"({len(retried) / max(len(ev.steps), 1):.1%}), at step{'s' if len(retried) > 1 else ''} {where}")
        numbers.update(retries=total, retried_steps=[s for s, _ in retried])
        starts.append(retried[0][0])
    for key, who in (("grad_critic", "critic"), ("grad_generator", "generator")):
        steps, values = ev.series(key)
        early = median(values[:5])
        for i in range(9, len(values)):
            now = median(values[i - 4:i + 1])
            if early > 0 and now >= EXPLODING * early:
                peak = max(values[i:])
                parts.append(f"the {who}'s gradient norm grew from {fmt(early)} (median of the first 5 diagnosed steps) to "
                             f"{fmt(now)} by step {steps[i]} and {fmt(peak)} at most ({peak / early:.0f}x)")
                numbers[f"{key}_growth"] = peak / early
                starts.append(steps[i])
                break
    return Seen(min(starts), "; ".join(parts) + ".", numbers, "retries" if retried else "exploding") if parts else None


def no_signal(ev: RunEvidence) -> Seen | None:
    recs = ev.records("real_score_sd", "fake_score_sd", "wasserstein")
    since = onset(recs, lambda r: max(r["real_score_sd"], r["fake_score_sd"], abs(r["wasserstein"])) <= SIGNAL_FLOOR)
    if since is None:
        return None
    tail = [r for r in recs if r["step"] >= since]
    spread = max(max(r["real_score_sd"], r["fake_score_sd"]) for r in tail)
    w = max(abs(r["wasserstein"]) for r in tail)
    text = (f"from step {since} to {ev.last_step} ({len(tail)} diagnosed steps) the critic's scores varied by at most "
            f"{fmt(spread)} within a batch, and real and generated images scored the same "
            f"({fmt(median([r['real_score'] for r in tail]))} vs {fmt(median([r['fake_score'] for r in tail]))}; |W| at most {fmt(w)})")
    grads = [r["grad_generator"] for r in tail if "grad_generator" in r]
    if grads:
        text += f"; the generator's gradient norm was {fmt(median(grads))} (median)"
    clipped = [r["clipped_share"] for r in tail if "clipped_share" in r]
    if clipped:
        text += f"; {median(clipped):.0%} of the critic's weights sat at the clip limit"
    return Seen(since, text + ".", {"score_spread": spread, "abs_w": w, "since": since})


def penalty_dominates(ev: RunEvidence) -> Seen | None:
    recs = [r for r in ev.records("penalty_share") if r["step"] > WARMUP]
    since = onset(recs, lambda r: r["penalty_share"] >= PENALTY_SHARE, share=0.8, least=20)
    if since is None:
        return None
    tail = [r for r in recs if r["step"] >= since]
    share = median([r["penalty_share"] for r in tail])
    return Seen(since, f"from step {since} on the penalty was {share:.0%} of the critic's loss (median of {len(tail)} diagnosed steps "
                       f"after the first {WARMUP}, a penalty's warm-up: "
                       f"penalty {fmt(median([r['penalty'] for r in tail if 'penalty' in r] or [math.nan]))}, W {fmt(median([r['wasserstein'] for r in tail]))}).",
                {"penalty_share": share, "since": since})


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
    reading = (f"called at least {RIGHT:.0%} of real and generated images right on {sum(map(_right, tail)) / len(tail):.0%} of the "
               f"diagnosed steps (median {median([r['critic_acc'] for r in tail]):.1%})" if "critic_acc" in tail[-1]
               else f"scored real images above generated ones by W = {fmt(median([r['wasserstein'] for r in tail]))}, "
                    f"{fmt(median([r['wasserstein'] / max(math.hypot(r['real_score_sd'], r['fake_score_sd']), 1e-30) for r in tail]))} times their spread")
    text = f"from step {since} to {ev.last_step} the critic {reading}; "
    text += (f"its own gradient norm fell {drop:.0f}x (from {fmt(median(gc[:5]))} to {fmt(median(last_part(gc)))}): it has nothing left to learn "
             "from the generated images" if drop >= SATURATED else "")
    text += ("; " if drop >= SATURATED and fade <= VANISHED else "") + (
        f"the generator's gradient norm fell to {fade:.0%} of its peak" if fade <= VANISHED else "")
    return Seen(since, text + ".", {"critic_grad_drop": drop, "generator_grad_vs_peak": fade, "since": since})


def generator_overpowers(ev: RunEvidence) -> Seen | None:
    recs = ev.records("wasserstein")
    wrong = lambda r: r["wasserstein"] < 0 and r.get("critic_acc", 0.0) < 0.5  # noqa: E731
    since = onset(recs, wrong, share=0.8, least=10)
    early, late = median([r["wasserstein"] for r in recs[:5]]), median([r["wasserstein"] for r in last_part(recs)])
    if since is not None and late < 2 * min(early, 0.0):  # and it got worse: not a critic that never learned (tiny learning rates)
        tail = [r for r in recs if r["step"] >= since]
        acc = [r["critic_acc"] for r in tail if "critic_acc" in r]
        return Seen(since, f"from step {since} to {ev.last_step} the critic scored generated images above real ones on "
                           f"{sum(wrong(r) for r in tail) / len(tail):.0%} of the steps (W {fmt(median([r['wasserstein'] for r in tail]))}, median"
                           + (f"; it called {median(acc):.0%} of the images right" if acc else "") + ").",
                    {"w": median([r["wasserstein"] for r in tail]), "since": since}, "overpowers")
    steps, w = ev.series("wasserstein")
    windows_all = rolling_medians(w)
    windows = last_part(windows_all, least=4)
    if len(w) < 20 or len(windows) < 4:
        return None
    start = steps[(len(windows_all) - len(windows)) * 5]  # the first step of the last third
    fd = ev.quality("fd_ratio")
    before = [(s, v) for s, v in fd if s <= start] or fd[:1]
    mean = sum(windows) / len(windows)
    if not before or before[-1][0] == fd[-1][0] or pstdev(windows) < OSCILLATING * abs(mean) or fd[-1][1] < 0.9 * before[-1][1]:
        return None  # steady, or still improving: not "without progress"
    return Seen(start, f"from step {start} to {ev.last_step} W swung between {fmt(min(windows))} and {fmt(max(windows))} (medians of 5 steps; "
                       f"their spread is {pstdev(windows) / max(abs(mean), 1e-30):.0%} of their mean) while the Fréchet distance went from "
                       f"{fmt(before[-1][1])}x the floor at step {before[-1][0]} to {fmt(fd[-1][1])}x at step {fd[-1][0]}.",
                {"w_spread": pstdev(windows), "since": start}, "oscillate")


# -- quality (evaluations and sample grids) --------------------------------------------------------
def _grid_spreads(ev: RunEvidence) -> list[tuple[int, tuple[float, float]]]:
    size, k = int(ev.data.get("size") or 0), ev.num_classes
    return [(s, found) for s, p in ev.grids if (found := spreads(p, size, k)) is not None]


def mode_collapse(ev: RunEvidence) -> Seen | None:
    parts, starts = [], []
    div = ev.quality("diversity")
    if div:
        peak_at, peak = max(div[:-1] or div, key=lambda e: e[1])
        at, last = div[-1]
        if last < COLLAPSE or (len(div) > 1 and last <= 0.5 * peak):
            parts.append(f"intra-class diversity {fmt(last)} at step {at}" + (f", down from {fmt(peak)} at step {peak_at}" if len(div) > 1 and peak > last else "")
                         + f" (1 is the real data's; below {COLLAPSE} is collapse)")
            starts.append(next(s for s, v in div if s > peak_at and v <= max(last, 0.5 * peak)) if len(div) > 1 and peak > last else at)
    grids = _grid_spreads(ev)
    if len(grids) > 1:
        best_at, (best, _) = max(grids[:-1], key=lambda g: g[1][0])
        at, (last_cols, _) = grids[-1]
        if last_cols <= COLLAPSED_GRID * best:
            parts.append(f"the images within a row of the sample grid (one per noise vector) differ by {fmt(last_cols)} (mean pixel standard deviation) "
                         f"at step {at}, against {fmt(best)} at step {best_at}: the generator ignores more and more of its noise")
            starts.append(next(s for s, (c, _) in grids if s > best_at and c <= COLLAPSED_GRID * best))
    return Seen(min(starts), "; ".join(parts) + ".", {"diversity": div[-1][1] if div else None}) if parts else None


def conditioning_ignored(ev: RunEvidence) -> Seen | None:
    k = ev.num_classes
    if k < 2:
        return None
    parts, starts = [], []
    scores = [(s, e) for s, e in ev.evals if all(isinstance(e.get(q), (int, float)) for q in ("class_acc", "diversity", "fd_ratio"))]
    if scores:
        at, e = scores[-1]
        if e["class_acc"] <= CHANCE_LEVEL / k and e["diversity"] >= 0.8 and e["fd_ratio"] < POOR_FD:
            parts.append(f"class consistency {e['class_acc']:.3f} at step {at}, chance being {1 / k:.3f}, while diversity is {fmt(e['diversity'])} "
                         f"and the Fréchet distance {fmt(e['fd_ratio'])}x the floor: the images are varied and plausible, but not of the class asked for")
            starts.append(at)
    grids = _grid_spreads(ev)
    if grids and k > 1:
        at, (cols, rows) = grids[-1]
        if cols >= 0.01 and rows <= SAME_ROWS * cols:
            parts.append(f"in the sample grid of step {at} the rows (one per class, same noise) differ by {fmt(rows)} (mean pixel standard deviation) "
                         f"against {fmt(cols)} within a row: the label barely changes the image")
            starts.append(at)
    return Seen(min(starts), "; ".join(parts) + ".", {"class_acc": scores[-1][1]["class_acc"] if scores else None}) if parts else None


def too_slow(ev: RunEvidence) -> Seen | None:
    fd, acc = ev.quality("fd_ratio"), ev.quality("class_acc")
    k = ev.num_classes
    conditional = "none" not in (ev.value("critic.encoder"), ev.value("generator.encoder"))  # else class consistency says nothing of speed
    poor_acc = bool(acc) and k > 1 and conditional and acc[-1][1] < 2 / k
    if not (poor_acc or (fd and fd[-1][1] >= POOR_FD)):
        return None
    steps, w = ev.series("wasserstein")
    seconds = ev.seconds_per_step()
    text = f"the run got {ev.last_step} generator steps" + (f" at {fmt(seconds)} s each ({fmt(seconds * ev.last_step / 60)} min)" if seconds else "")
    if len(w) >= 6:
        third = last_part(list(zip(steps, w)))
        a, b = median([v for _, v in third[: len(third) // 2]]), median([v for _, v in third[len(third) // 2:]])
        text += f"; over the last third (steps {third[0][0]}-{third[-1][0]}) W went from {fmt(a)} to {fmt(b)}" + (" (flat)" if abs(b - a) <= 0.2 * max(abs(a), abs(b), 1e-12) else "")
    text += "; at the end " + ", ".join(
        ([f"the Fréchet distance is {fmt(fd[-1][1])}x the floor" + (f" ({fmt(fd[0][1])}x at step {fd[0][0]})" if len(fd) > 1 else "")] if fd else [])
        + ([f"class consistency {acc[-1][1]:.3f} (chance {1 / k:.3f})"] if acc and k > 1 else []))
    return Seen(None, text + ".", {"steps": ev.last_step, "seconds_per_step": seconds, "fd_ratio": fd[-1][1] if fd else None})


def healthy(ev: RunEvidence) -> Seen | None:
    from ganzoo.evaluation.metrics import QUALITY

    trends = []
    for q in QUALITY:
        points = ev.quality(q.key)
        if q.higher_is_better is not None and points:
            a, b = points[0][1], points[-1][1]
            word = "" if len(points) < 2 else (" (better)" if (b > a) == q.higher_is_better and b != a else " (worse)" if b != a else " (flat)")
            trends.append(f"{q.label} {fmt(b)}" + (f" at step {points[-1][0]}, from {fmt(a)} at step {points[0][0]}{word}" if len(points) > 1 else f" at step {points[-1][0]}"))
    _, w = ev.series("wasserstein")
    text = f"{ev.last_step} generator steps; W {fmt(w[-1])} at the end" if w else f"{ev.last_step} generator steps"
    text += ("; " + "; ".join(trends)) if trends else "; no quality scores (ganzoo eval RUN, or train.eval_every=K, adds them)"
    return Seen(None, text + ".", {"steps": ev.last_step})


FINDINGS: tuple[Check, ...] = (
    Check("numerical", "numerical trouble", numerical, advice.numerical, online=True),
    Check("no_signal", "the critic gives no signal", no_signal, advice.no_signal, online=True,
          hides=("penalty_dominates", "critic_overpowers", "generator_overpowers", "mode_collapse", "conditioning_ignored", "too_slow")),
    Check("penalty_dominates", "the penalty dominates the critic's loss", penalty_dominates, advice.penalty_dominates, online=True,
          hides=("generator_overpowers", "too_slow")),
    Check("critic_overpowers", "the critic overpowers the generator", critic_overpowers, advice.critic_overpowers, online=True,
          hides=("conditioning_ignored", "too_slow")),
    Check("generator_overpowers", "the generator overpowers the critic", generator_overpowers, advice.generator_overpowers, online=True,
          hides=("conditioning_ignored", "too_slow")),
    Check("mode_collapse", "mode collapse", mode_collapse, advice.mode_collapse, online=True, hides=("too_slow",)),
    Check("too_slow", "too slow to learn in this budget", too_slow, advice.too_slow),
    Check("conditioning_ignored", "conditioning ignored", conditioning_ignored, advice.conditioning_ignored),
    Check("healthy", "healthy", healthy, advice.healthy),  # named only when nothing else is
)
KEYS = tuple(c.key for c in FINDINGS)
FORM_TITLES = {"oscillate": "the critic and the generator oscillate without progress"}  # a form of a finding with its own title
