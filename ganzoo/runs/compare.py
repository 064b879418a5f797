"""``ganzoo compare``: runs side by side — configuration differences, quality, speed, wall time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganzoo.diagnosis.doctor import main_finding
from ganzoo.errors import ConfigError
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
    return {"run": run_dir.name, "config": flatten(record["config"]), "steps": steps, "wall_s": wall, "steps_per_s": steps / wall if wall else 0.0, "quality": quality,
            "finding": main_finding(run_dir)}  # ganzoo doctor's main finding


def differing(configs: list[dict[str, Any]]) -> list[str]:
    """The flattened config keys whose values are not the same in every run (``out`` left out), sorted."""
    keys = sorted({k for c in configs for k in c} - {"out"})
    return [k for k in keys if len({json.dumps(c.get(k)) for c in configs}) > 1]


def table_rows(run_dirs: list[Path]) -> tuple[list[str], list[list[str]]]:
    if not run_dirs:
        raise ConfigError("ganzoo compare needs at least one RUN_DIR.")
    runs = [summarise(Path(d)) for d in run_dirs]
    differ = differing([r["config"] for r in runs])
    header = ["run", *differ, "steps", "steps/s", "wall", *(q.label for q in QUALITY), "main finding"]
    rows = []
    for r in runs:
        q = r["quality"] or {}
        cells = [r["run"], *(str(r["config"].get(k)) for k in differ), str(r["steps"]), f"{r['steps_per_s']:.2f}", f"{r['wall_s'] / 60:.1f} min"]
        cells += [quality.format(q) for quality in QUALITY]
        cells.append(r["finding"])
        rows.append(cells)
    return header, rows


def markdown(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)
