"""``ganzoo bench --to-quality METRIC=VALUE``: the training time a configuration needs to first reach
a quality figure, the number users care about (a faster step that learns less per step can lose).

Each configuration trains as ``ganzoo run`` does, in a temporary run folder, scored every
``--eval-every`` generator steps (``train.eval_every``) until the figure is reached or the budget
(``--budget-minutes``, as ``train.max_minutes``) runs out. The time reported is the run's training
clock at the first evaluation that reached it, evaluations included (they cost every configuration
the same), and the generator step it came at.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError
from ganzoo.evaluation.metrics import QUALITY, quality_key
from ganzoo.registry.host import PluginHost
from ganzoo.runs.launch import start
from ganzoo.storage.folder import read_metrics
from ganzoo.training.progress import PlainReporter

HIGHER = {q.key: q.higher_is_better for q in QUALITY if q.higher_is_better is not None}


def parse_target(text: str) -> tuple[str, float]:
    """``class_acc=0.9`` -> ("class_acc", 0.9); the figure must be one QUALITY marks better up or down."""
    key, sep, value = text.partition("=")
    key = quality_key(key) or key.strip()
    try:
        target = float(value)
    except ValueError:
        target = float("nan")
    if not sep or key not in HIGHER or target != target:
        raise ConfigError(
            f"--to-quality takes METRIC=VALUE with METRIC one of {', '.join(sorted(HIGHER))} (or an alias such as "
            f"class_consistency), e.g. --to-quality class_acc=0.9; got {text!r}."
        )
    return key, target


def time_to_quality(
    overrides: list[str], host: PluginHost, key: str, target: float, eval_every: int, budget_minutes: float, eval_n: int = 500
) -> dict[str, Any]:
    """Train one configuration until ``key`` first reaches ``target``; when, in seconds and steps."""
    with tempfile.TemporaryDirectory(prefix="ganzoo-ttq-") as tmp:
        run = Path(tmp) / "run"
        start(
            [
                *overrides,
                f"train.eval_every={eval_every}",
                f"train.eval_n={eval_n}",
                f"train.max_minutes={budget_minutes:g}",
                "train.progress=false",
                "train.sample_every=0",
                "train.checkpoint_every=0",
                f"out={run}",
            ],
            host,
            PlainReporter(quiet=True),
        )
        return reached(read_metrics(run / "metrics.jsonl"), key, target)


def reached(records: list[dict[str, Any]], key: str, target: float) -> dict[str, Any]:
    """When a run's ``train.eval_every`` scores (its ``metrics.jsonl`` lines) first reached ``target``."""
    higher = HIGHER[key]
    times = {r["step"]: r["time"] for r in records if "time" in r}
    curve = [(r["step"], float(r["eval"][key])) for r in records if isinstance(r.get("eval"), dict) and key in r["eval"]]
    hit = next(((step, value) for step, value in curve if (value >= target if higher else value <= target)), None)
    last = max(times) if times else 0
    return {
        "metric": key,
        "target": target,
        "reached": hit is not None,
        "step": hit[0] if hit else None,
        "seconds": times.get(hit[0]) if hit else None,
        "value": hit[1] if hit else (curve[-1][1] if curve else None),
        "steps_trained": last,
        "seconds_trained": times.get(last, 0.0),
        "curve": curve,
    }
