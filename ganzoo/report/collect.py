"""What a report shows of each run, read from its folder: the stored configuration, the metrics
lines, the final scores and where they come from, and a few sample grids re-encoded as data: URIs.

:func:`find_runs` turns the folders a user named into run folders: a run folder is one with a
ganzoo ``config.json`` (:func:`ganzoo.storage.folder.read_config`), and a sweep folder stands for
the run folders directly inside it. Nothing here writes a file.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError
from ganzoo.registry.names import natural_key
from ganzoo.runs.compare import summarise
from ganzoo.storage.folder import is_locked, read_config, read_eval, read_metrics

GRID = re.compile(r"^step-(\d+)\.png$")
MAX_GRID_PIXELS = 4096 * 4096  # a sample grid larger than this is not embedded (and not decoded)
GREY_LEVEL = [min(15, (v + 8) // 17) for v in range(256)]  # 0..255 -> the nearest of 16 levels


@dataclass
class RunView:
    """One run as the report shows it."""

    path: Path
    name: str  # unique within the page
    summary: dict[str, Any]  # ganzoo.runs.compare.summarise: flattened config, steps, wall_s, steps_per_s
    num_classes: int
    total_steps: int | None
    losses: list[dict[str, Any]]  # metrics lines of generator steps
    evals: list[tuple[int, dict[str, Any]]]  # (step, score) of the evaluations during training
    final: dict[str, Any] | None  # eval.json, else the last evaluation during training
    final_source: str
    frames: list[tuple[int, str]] = field(default_factory=list)  # (step, data: URI of samples/step-N.png)
    training: bool = False  # a process holds the run's lock right now
    findings: list[tuple[str, str]] = field(default_factory=list)  # ganzoo doctor's (title, text)


def find_runs(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """(run folders, notes on folders skipped inside sweeps), in the order given (a sweep's runs in
    natural order); the same folder named twice counts once. A path that is neither a run folder
    nor a folder holding run folders is a ConfigError that says which."""
    if not paths:
        raise ConfigError("ganzoo report needs at least one RUN_DIR (a run folder, or a sweep folder holding run folders).")
    runs: list[Path] = []
    notes: list[str] = []
    for path in paths:
        if not path.is_dir():
            what = "does not exist" if not (path.exists() or path.is_symlink()) else "is not a folder"
            raise ConfigError(
                f"{path} {what}. ganzoo report takes run folders (out= of ganzoo run) or sweep folders (out= of ganzoo sweep)."
            )
        if (path / "config.json").exists():
            read_config(path)  # a ganzoo run's record, or a clean error
            found = [path]
        else:
            found = []
            for child in sorted(
                (c for c in path.iterdir() if c.is_dir() and (c / "config.json").exists()), key=lambda c: natural_key(c.name)
            ):
                try:
                    read_config(child)
                    found.append(child)
                except ConfigError as exc:
                    notes.append(f"skipped {child}: {exc}")
            if not found:
                raise ConfigError(
                    f"{path} is neither a ganzoo run folder (it has no config.json) nor a sweep folder (no folder inside it holds "
                    "a ganzoo run). Give the folder of a run (out= of ganzoo run) or of a sweep (out= of ganzoo sweep)."
                )
        for run in found:
            if run.resolve() not in {r.resolve() for r in runs}:
                runs.append(run)
    return runs, notes


def collect(run_dir: Path, frames: int, notes: list[str]) -> RunView:
    """Read one run folder; ``frames`` caps the embedded sample grids (0: all); problems go to ``notes``."""
    record = read_config(run_dir)
    lines = read_metrics(run_dir / "metrics.jsonl")
    losses = [r for r in lines if isinstance(r.get("loss_d"), (int, float))]
    evals = [(r["step"], r["eval"]) for r in lines if isinstance(r.get("eval"), dict)]
    stored = read_eval(run_dir)
    if stored is not None:
        final, source = stored, f"eval.json ({_describe_eval(stored)})"
    elif evals:
        final, source = evals[-1][1], f"last evaluation during training, step {evals[-1][0]} ({_describe_eval(evals[-1][1])})"
    else:
        final, source = None, "not evaluated (ganzoo eval RUN_DIR, or train.eval_every=K)"
    steps = record["config"]["train"].get("steps")
    return RunView(
        path=run_dir,
        name=run_dir.name,
        summary=summarise(run_dir),
        num_classes=_int(record["data"].get("num_classes"), 1),
        total_steps=steps if isinstance(steps, int) else None,
        losses=losses,
        evals=evals,
        final=final,
        final_source=source,
        frames=grid_frames(run_dir, frames, notes),
        training=is_locked(run_dir),
    )


def unique_names(runs: list[RunView]) -> None:
    """Give runs that share a folder name their parent's name too (``a/run`` and ``b/run``)."""
    for run in runs:
        if sum(r.path.name == run.path.name for r in runs) > 1:
            run.name = f"{run.path.parent.name}/{run.path.name}"


def pick(items: list[Any], count: int) -> list[Any]:
    """``count`` items spread evenly, first and last included (all when ``count`` is 0 or enough)."""
    if count <= 0 or len(items) <= count:
        return list(items)
    if count == 1:
        return [items[-1]]
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def grid_frames(run_dir: Path, count: int, notes: list[str]) -> list[tuple[int, str]]:
    """Up to ``count`` of ``samples/step-N.png`` as (step, data URI), re-encoded small (8-bit grey when
    the grid is grey). A file that is not a readable PNG of a sensible size is left out, with a note."""
    folder = run_dir / "samples"
    found = (
        sorted((int(m.group(1)), f) for f in folder.glob("step-*.png") if (m := GRID.match(f.name)) and f.is_file())
        if folder.is_dir()
        else []
    )
    out = []
    for step, f in pick(found, count):
        uri = _png_uri(f)
        if uri is None:
            notes.append(f"left out {f}: not a readable PNG image of at most {MAX_GRID_PIXELS:,} pixels")
        else:
            out.append((step, uri))
    return out


def _png_uri(path: Path) -> str | None:
    """The grid as a small PNG data: URI: 16 grey levels (4 bits a pixel) when it is grey, else a
    64-colour palette. Half a grey level at most is lost, and a third to a half of the bytes saved."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.format != "PNG" or img.width * img.height > MAX_GRID_PIXELS:
                return None
            img = img.convert("RGB")
            r, g, b = img.split()
            buf = io.BytesIO()
            if r.tobytes() == g.tobytes() == b.tobytes():  # a grey grid stored as RGB
                small = r.point(GREY_LEVEL).convert("P")  # palette index = grey level 0..15
                small.putpalette([i * 17 for i in range(16) for _ in range(3)])
                small.save(buf, format="PNG", optimize=True, bits=4)
            else:
                img.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(buf, format="PNG", optimize=True)
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _describe_eval(score: dict[str, Any]) -> str:
    parts = [
        f"checkpoint {score['checkpoint']}" if isinstance(score.get("checkpoint"), str) else "",
        f"{score['n']} images" if isinstance(score.get("n"), int) else "",
    ]
    return ", ".join(p for p in parts if p) or "scores"


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
