"""``ganzoo compare``: runs side by side — configuration differences, quality, speed, wall time — and,
when several runs share a configuration but for the seed, each configuration's mean and 95% interval
over its seeds and the probability that one configuration beats another."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganzoo.diagnosis.doctor import main_finding
from ganzoo.errors import ConfigError
from ganzoo.evaluation.intervals import mean_interval, probability_of_improvement
from ganzoo.evaluation.metrics import QUALITY
from ganzoo.registry.config import flatten
from ganzoo.storage.folder import read_config, read_eval, read_metrics


def summarise(run_dir: Path) -> dict[str, Any]:
    record = read_config(run_dir)
    lines = read_metrics(run_dir / "metrics.jsonl")
    losses = [r for r in lines if isinstance(r.get("loss_d"), (int, float)) and isinstance(r.get("time"), (int, float))]
    evals = [r["eval"] for r in lines if isinstance(r.get("eval"), dict)]
    quality = read_eval(run_dir) or (evals[-1] if evals else None)  # a damaged eval.json counts as none
    steps = losses[-1]["step"] if losses else 0
    wall = losses[-1]["time"] if losses else 0.0
    return {
        "run": run_dir.name,
        "config": flatten(record["config"]),
        "steps": steps,
        "wall_s": wall,
        "steps_per_s": steps / wall if wall else 0.0,
        "quality": quality,
        "finding": main_finding(run_dir),
    }  # ganzoo doctor's main finding


BRIEF = [q for q in QUALITY if q.brief]  # the figures the tables show (ganzoo eval and the report show them all)
SEEDLESS = {"out", "seed"}


def differing(configs: list[dict[str, Any]]) -> list[str]:
    """The flattened config keys whose values are not the same in every run (``out`` left out), sorted."""
    keys = sorted({k for c in configs for k in c} - {"out"})
    return [k for k in keys if len({json.dumps(c.get(k)) for c in configs}) > 1]


def table_rows(run_dirs: list[Path], runs: list[dict[str, Any]] | None = None) -> tuple[list[str], list[list[str]]]:
    """The per-run table; ``runs`` are the runs' summaries when the caller has them already."""
    if not run_dirs:
        raise ConfigError("ganzoo compare needs at least one RUN_DIR.")
    runs = runs if runs is not None else [summarise(Path(d)) for d in run_dirs]
    differ = differing([r["config"] for r in runs])
    header = ["run", *differ, "steps", "steps/s", "wall", *(q.label for q in BRIEF), "main finding"]
    rows = []
    for r in runs:
        q = r["quality"] or {}
        cells = [
            r["run"],
            *(str(r["config"].get(k)) for k in differ),
            str(r["steps"]),
            f"{r['steps_per_s']:.2f}",
            f"{r['wall_s'] / 60:.1f} min",
        ]
        cells += [quality.format(q) for quality in BRIEF]
        cells.append(r["finding"])
        rows.append(cells)
    return header, rows


def markdown(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def by_configuration(runs: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Run summaries grouped by their configuration without ``seed`` and ``out``, each group named by
    the keys in which the groups differ (in the order the runs were given)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(json.dumps({k: v for k, v in r["config"].items() if k not in SEEDLESS}, sort_keys=True, default=str), []).append(
            r
        )
    configs = [json.loads(k) for k in groups]
    keys = differing(configs)
    named = []
    for config, members in zip(configs, groups.values()):
        named.append((" ".join(f"{k}={config.get(k)}" for k in keys) or "(all the same)", members))
    return named


def seed_rows(groups: list[tuple[str, list[dict[str, Any]]]]) -> tuple[list[str], list[list[str]]]:
    """One row per configuration: its seeds and each figure's mean +- 95% Student-t half-width over them."""
    header = ["configuration", "seeds", *(q.label for q in BRIEF)]
    rows = []
    for name, members in groups:
        cells = [name, ",".join(str(m["config"].get("seed", 0)) for m in members)]
        for q in BRIEF:
            values = _values(members, q.key)
            if not values:
                cells.append("-")
                continue
            avg, half = mean_interval(values)
            cells.append(q.fmt.format(avg) + ("" if half is None else f" ± {q.fmt.format(half)}"))
        rows.append(cells)
    return header, rows


def improvement_rows(groups: list[tuple[str, list[dict[str, Any]]]]) -> tuple[list[str], list[list[str]]]:
    """For each pair of configurations (A, B): P(a run of A scores better than a run of B) per figure."""
    header = ["A", "B", *(f"P(A better) {q.label}" for q in BRIEF)]
    rows = []
    for i, (name_a, a) in enumerate(groups):
        for name_b, b in groups[i + 1 :]:
            cells = [name_a, name_b]
            for q in BRIEF:
                va, vb = _values(a, q.key), _values(b, q.key)
                cells.append(f"{probability_of_improvement(va, vb, bool(q.higher_is_better)):.2f}" if va and vb else "-")
            rows.append(cells)
    return header, rows


def _values(members: list[dict[str, Any]], key: str) -> list[float]:
    return [float(m["quality"][key]) for m in members if isinstance((m["quality"] or {}).get(key), (int, float))]
