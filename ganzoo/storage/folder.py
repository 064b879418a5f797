"""The run folder, laid out so it explains itself:

    RUN_DIR/
      config.json          resolved configuration, data sizes, parameter counts, plugin versions
      metrics.jsonl        one JSON line per generator step (and one per evaluation)
      samples/step-N.png   sample grids: one row per class, one fixed noise vector per column
      loss.png             loss curves (quality.png with train.eval_every)
      checkpoints/step-N/  weights.safetensors + state.json (the newest two; ganzoo.storage.checkpoint)

This module creates and reopens it, locks it while a process trains it, and reads and writes
``config.json`` and ``metrics.jsonl``. The PNGs come from :mod:`ganzoo.storage.plots`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from ganzoo.errors import ConfigError
from ganzoo.storage.atomic import write_json, write_text


def default_name(critic: str, generator: str, constraint: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{critic}-{generator}-{constraint}"


def prepare(path: Path, *, fresh: bool) -> Path:
    """Create (or reopen) a run directory and prove it is writable, before any training starts."""
    if fresh and (path / "config.json").exists():
        raise ConfigError(f"out={path} already holds a run. Continue it with resume={path}, or choose another out=.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
        raise ConfigError(f"Cannot write the run directory {path}: {getattr(exc, 'strerror', None) or exc}. Choose a writable out=DIR.") from None
    if not fresh:
        _remove_stale_temporaries(path)
    return path


def _remove_stale_temporaries(path: Path) -> None:
    """Hidden temporary files that a killed process left behind (``.config.json.tmp-PID``, ``.step-N.tmp.png``…)."""
    for folder in (path, path / "samples"):
        for f in folder.glob(".*") if folder.is_dir() else ():
            if f.is_file() and (".tmp" in f.name or f.name.startswith(".write-test-")):
                f.unlink(missing_ok=True)


@contextlib.contextmanager
def lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``RUN_DIR/.lock`` while training, so two processes never write one run.

    The kernel drops the lock when its process dies, even by SIGKILL, so a crash never leaves a run locked.
    """
    if fcntl is None:  # no flock on this platform: run unguarded
        yield
        return
    with open(path / ".lock", "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise ConfigError(f"{path} is being trained by {holder} right now. Wait for it to finish or stop it; two processes must never write one run directory.") from None
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def write_config(path: Path, record: dict[str, Any]) -> None:
    write_json(path / "config.json", record)


def read_config(run_dir: Path) -> dict[str, Any]:
    f = run_dir / "config.json"
    if not f.is_file():
        raise ConfigError(f"{run_dir} is not a ganzoo run directory: {f} is missing.")
    try:
        return json.loads(f.read_text())
    except ValueError as exc:
        raise ConfigError(f"{f} is not valid JSON ({exc}).") from None


class MetricsLog:
    """Appends one JSON line per step; on resume, drops lines past the checkpoint's step."""

    def __init__(self, path: Path, resume_step: int | None = None):
        self.path = path
        if resume_step is not None and path.exists():
            kept = [line for line in path.read_text().splitlines() if _step_of(line) is not None and _step_of(line) <= resume_step]
            write_text(path, "".join(line + "\n" for line in kept))
        self._f = open(path, "a")

    def write(self, record: dict[str, Any]) -> None:
        self._f.write(json.dumps(record) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _step_of(line: str) -> int | None:
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


EVAL = "eval.json"


def write_eval(run_dir: Path, result: dict[str, Any]) -> None:
    """Save ``ganzoo eval``'s scores as ``RUN_DIR/eval.json``."""
    write_json(run_dir / EVAL, result)
