"""The findings ``ganzoo doctor`` reads from a run's results: its quality scores (``train.eval_every``
lines and ``eval.json``) and its sample grids. Each returns what it saw as numbers (a
:class:`~ganzoo.diagnosis.evidence.Seen`) or None; :data:`ganzoo.diagnosis.findings.FINDINGS` is the
table that orders them with the findings read from the training dynamics."""

from __future__ import annotations

from typing import Any

from ganzoo.diagnosis.evidence import CLASS_ACC, DIVERSITY, FD_RATIO, RunEvidence, Seen, last_part, median
from ganzoo.diagnosis.grids import spreads
from ganzoo.diagnosis.thresholds import AT_CAP, CHANCE_LEVEL, COLLAPSED_GRID, POOR_FD, SAME_ROWS, SHORT_OF_PLAN
from ganzoo.evaluation.metrics import COLLAPSE, QUALITY


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


def out_of_time(ev: RunEvidence) -> Seen | None:
    """The run was stopped by ``train.max_minutes`` after at most SHORT_OF_PLAN of ``train.steps``: from
    its speed alone (no quality score needed): the steps done and planned, the steps per second, and
    the minutes the plan needed at that speed against the cap."""
    cap, planned = ev.value("train.max_minutes"), ev.value("train.steps")
    if not isinstance(cap, (int, float)) or not isinstance(planned, int) or not ev.steps:
        return None
    done = ev.last_step
    timed = [t for r in ev.steps if isinstance(t := r.get("time"), (int, float))]
    used = timed[-1] if timed else None
    seconds = ev.seconds_per_step()
    if done >= planned or done > SHORT_OF_PLAN * planned or used is None or used < AT_CAP * 60 * cap or not seconds:
        return None
    needed = planned * seconds / 60
    return Seen(
        None,
        {
            "steps": done,
            "steps_planned": planned,
            "done_share": done / planned,
            "steps_per_second": 1 / seconds,
            "seconds_per_step": seconds,
            "minutes_used": used / 60,
            "max_minutes": float(cap),
            "minutes_needed": needed,
            "budget_short_by": needed / cap,
        },
    )


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
