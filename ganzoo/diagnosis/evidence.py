"""What ``ganzoo doctor`` reads of a run, in one object: :class:`RunEvidence`.

From a run folder (:meth:`RunEvidence.read`): ``config.json`` (the configuration, data sizes and
parameter counts), the step lines of ``metrics.jsonl`` (losses, W and, on the steps
``train.diag_every`` picks, the evidence of :mod:`ganzoo.training.diagnostics`), the quality scores
(the ``eval`` lines of ``metrics.jsonl`` and ``eval.json``) and the sample grids. During training
(:meth:`RunEvidence.live`) the configuration, the step lines and the quality scores so far.

The helpers below read a series the way every finding does: :func:`onset` (since which step a
condition holds), :func:`last_part` (the last third of a run) and :func:`median`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median as _median
from typing import Any, Callable, Sequence

from ganzoo.evaluation.metrics import QUALITY
from ganzoo.registry.config import flatten
from ganzoo.storage.folder import read_config, read_eval, read_metrics

STEP_NAME = re.compile(r"step-(\d+)")
# The quality figures the findings read, as rows of QUALITY (the one table of metric names): their
# keys and labels come from there, and a figure QUALITY no longer has fails here, at import.
CLASS_ACC, DIVERSITY, FD_RATIO = ({q.key: q for q in QUALITY}[key] for key in ("class_acc", "diversity", "fd_ratio"))


@dataclass
class RunEvidence:
    config: dict[str, Any]  # flattened: {"critic": "dcgan", "critic.norm": "batch", "train.lr_d": 2e-4, ...}
    steps: list[dict[str, Any]]  # the step lines of metrics.jsonl, in order
    data: dict[str, Any] = field(default_factory=dict)  # channels, size, num_classes
    params: dict[str, int] = field(default_factory=dict)  # critic, generator
    evals: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (step, scores), oldest first
    grids: list[tuple[int, Path]] = field(default_factory=list)  # (step, samples/step-N.png), oldest first
    run: str = ""
    bad_lines: list[int] = field(default_factory=list)  # lines of metrics.jsonl that are not step records (damaged, cut short)
    split: dict[str, Any] = field(default_factory=dict)  # data.limit / train.holdout_every: images, train_images, heldout_images

    @classmethod
    def read(cls, run_dir: Path) -> "RunEvidence":
        """Everything the doctor reads of ``run_dir``; a clean error when it is not a ganzoo run."""
        record = read_config(run_dir)
        bad: list[int] = []
        lines = read_metrics(run_dir / "metrics.jsonl", bad)
        steps = [r for r in lines if _number(r.get("loss_d")) is not None]
        evals = [(r["step"], r["eval"]) for r in lines if isinstance(r.get("eval"), dict)]
        final = read_eval(run_dir)
        if final is not None:  # `ganzoo eval` scores more images: it replaces a training score of the same step
            found = STEP_NAME.search(str(final.get("checkpoint", "")))
            at = int(found.group(1)) if found else (steps[-1]["step"] if steps else 0)
            evals = sorted([e for e in evals if e[0] != at] + [(at, final)], key=lambda e: e[0])
        grids = sorted((int(m.group(1)), p) for p in (run_dir / "samples").glob("step-*.png") if (m := STEP_NAME.fullmatch(p.stem)))
        params = record.get("params") if isinstance(record.get("params"), dict) else {}
        split = record.get("split") if isinstance(record.get("split"), dict) else {}
        return cls(flatten(record["config"]), steps, dict(record["data"]), params, evals, grids, run_dir.name, bad, split)

    @classmethod
    def live(cls, config: dict[str, Any], steps: list[dict[str, Any]], evals: list[tuple[int, dict[str, Any]]] = ()) -> "RunEvidence":
        """The evidence of a run still training: its stored-form configuration, its step lines and quality scores so far."""
        return cls(flatten(config), steps, evals=list(evals))

    # -- reading it --------------------------------------------------------------------------------
    def series(self, key: str) -> tuple[list[int], list[float]]:
        """(steps, values) of ``key`` over the step lines that have it as a finite number."""
        pairs = [(r["step"], v) for r in self.steps if (v := _number(r.get(key))) is not None]
        return [s for s, _ in pairs], [v for _, v in pairs]

    def records(self, *keys: str) -> list[dict[str, Any]]:
        """The step lines that carry every one of ``keys`` as a finite number."""
        return [r for r in self.steps if all(_number(r.get(k)) is not None for k in keys)]

    def has(self, key: str) -> bool:
        return any(_number(r.get(key)) is not None for r in self.steps)

    def value(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    @property
    def last_step(self) -> int:
        return self.steps[-1]["step"] if self.steps else 0

    @property
    def num_classes(self) -> int:
        return int(self.data.get("num_classes") or 0)

    def seconds_per_step(self) -> float | None:
        """Training seconds per generator step, from the ``time`` of the first and last step lines."""
        timed = [(r["step"], t) for r in self.steps if (t := _number(r.get("time"))) is not None]
        if len(timed) < 2 or timed[-1][0] == timed[0][0]:
            return timed[0][1] / max(timed[0][0], 1) if timed else None
        return (timed[-1][1] - timed[0][1]) / (timed[-1][0] - timed[0][0])

    def quality(self, key: str) -> list[tuple[int, float]]:
        """(step, value) of one quality figure (a key of :data:`ganzoo.evaluation.metrics.QUALITY`)."""
        return [(s, v) for s, e in self.evals if (v := _number(e.get(key))) is not None]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def median(values: Sequence[float]) -> float:
    return float(_median(values)) if values else float("nan")


def last_part(items: Sequence[Any], share: float = 1 / 3, least: int = 3) -> list[Any]:
    """The last ``share`` of ``items`` (at least ``least`` of them, when there are that many)."""
    n = len(items)
    return list(items[n - min(n, max(least, math.ceil(n * share))) :])


def onset(records: Sequence[dict[str, Any]], holds: Callable[[dict[str, Any]], bool], share: float = 0.9, least: int = 5) -> int | None:
    """The step since which ``holds`` is true of at least ``share`` of the records up to the end (and
    of the last third), for at least ``least`` records and a tenth of the run; None when it is not."""
    flags = [bool(holds(r)) for r in records]
    n = len(flags)
    if n < least or sum(flags[n - len(last_part(flags)) :]) < share * len(last_part(flags)):
        return None
    need = max(least, math.ceil(0.1 * n))
    suffix = 0
    best = None
    for i in range(n - 1, -1, -1):
        suffix += flags[i]
        if flags[i] and suffix >= need and suffix >= share * (n - i):
            best = i
    return records[best]["step"] if best is not None else None


def rolling_medians(values: Sequence[float], window: int = 5) -> list[float]:
    """Medians of consecutive windows of ``window`` values (one per window, none overlapping)."""
    return [median(values[i : i + window]) for i in range(0, len(values) - window + 1, window)] or ([median(values)] if values else [])


def fmt(x: float) -> str:
    """A number as a finding shows it: three significant digits."""
    return f"{x:.3g}"


@dataclass(frozen=True)
class Seen:
    """What a check saw: since which step (None: no single onset), the evidence as named numbers
    (steps, levels, ratios: what ``--json`` carries and :mod:`ganzoo.diagnosis.prose` says in words),
    and which form of the failure it was."""

    since: int | None
    numbers: dict[str, Any] = field(default_factory=dict)
    form: str = ""
