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
from typing import Any, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from ganzoo.errors import ConfigError, StorageError, os_reason
from ganzoo.storage.atomic import pid_alive, target_of, write_json, write_text


def default_name(critic: str, generator: str, constraint: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{critic}-{generator}-{constraint}"


# The files and folders a run folder holds; the recognised temporaries are named after these.
OUTPUTS = ("config.json", "metrics.jsonl", "loss.png", "quality.png", "eval.json")
FOLDERS = ("samples", "checkpoints", "tensorboard")  # tensorboard: ganzoo.runs.tensorboard.FOLDER
SECTIONS = ("critic", "generator", "constraint", "loss", "data", "train")  # of config.json's "config"


def check_new(path: Path, allow: tuple[str, ...] = ()) -> None:
    """A new run writes only into a folder that does not exist or is empty (but for ``allow``):
    anything else is refused, saying what is there and how to go on."""
    if "\0" in str(path):
        raise ConfigError(f"out={str(path)!r} is not a usable folder name: it contains a NUL byte. Choose another out=DIR.")
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise ConfigError(f"out={path} is a file, not a folder. Choose another out=DIR for the new run.")
        try:
            entries = sorted(p.name for p in path.iterdir() if p.name not in allow)
        except OSError as exc:
            raise StorageError(f"Cannot read the folder {path}: {os_reason(exc)}. Choose another out=DIR.") from None
        if entries:
            raise ConfigError(_not_empty(path, entries))


def prepare_new(path: Path) -> Path:
    """Create the folder of a new run (:func:`check_new` first) and prove it writable, before any
    training starts. A lock file an earlier attempt left is ganzoo's own, so it does not count."""
    check_new(path, allow=(".lock",))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
        raise StorageError(f"Cannot create the run folder {path}: {os_reason(exc)}. Choose a writable out=DIR.") from None
    check_writable(path)
    return path


def _not_empty(path: Path, entries: list[str]) -> str:
    shown = ", ".join(entries[:6]) + (f" and {len(entries) - 6} more" if len(entries) > 6 else "")
    resume = ""
    try:
        read_config(path)
        resume = f" It holds a ganzoo run: continue it with resume={path} (resume.allow=KEYS to change settings)."
    except ConfigError:
        pass
    return (
        f"out={path} already exists and is not empty ({len(entries)} entries: {shown}). A new run writes only into a "
        f"folder that does not exist or is empty, so that nothing of yours is overwritten.{resume} Or choose another out=DIR."
    )


def check_writable(path: Path) -> None:
    """Prove ``path`` is a writable folder by writing and removing a small file; a clean error otherwise."""
    probe = path / f".write-test-{os.getpid()}"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise StorageError(
            f"Cannot write the run folder {path}: {os_reason(exc)}. Nothing was changed; make it writable or choose another folder."
        ) from None


def check_layout(run_dir: Path) -> None:
    """Refuse to resume a run folder whose layout ganzoo does not recognise, before anything is written."""
    for name in FOLDERS:
        f = run_dir / name
        if (f.exists() or f.is_symlink()) and not f.is_dir():
            raise ConfigError(
                f"Cannot resume {run_dir}: {f} should be a folder of the run but is a file. Nothing was changed. Move it away, then "
                "resume again."
            )
    for name in OUTPUTS:
        f = run_dir / name
        if (f.exists() or f.is_symlink()) and not f.is_file():
            raise ConfigError(
                f"Cannot resume {run_dir}: {f} should be a file of the run but is not a regular file. Nothing was changed. Move it "
                "away, then resume again."
            )


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files that a killed ganzoo process left behind in a run folder: only files
    named exactly as :func:`ganzoo.storage.atomic.temporary` names them, for a file a run writes, by a
    process that no longer exists. Returns what was removed."""
    removed = []
    for folder in (path, path / "samples"):
        if not folder.is_dir():
            continue
        for f in folder.glob(".*"):
            found = target_of(f)
            ours = found is not None and (
                found[0] in OUTPUTS or (folder.name == "samples" and found[0].startswith("step-") and found[0].endswith(".png"))
            )
            probe = f.name.startswith(".write-test-") and f.name[12:].isdigit()
            pid = found[1] if found else (int(f.name[12:]) if probe else None)
            if (ours or probe) and f.is_file() and not f.is_symlink() and pid != os.getpid() and not pid_alive(pid):
                f.unlink(missing_ok=True)
                removed.append(f)
    return removed


class Busy(ConfigError):
    """Another process holds the folder's lock; ``holder`` says which."""

    def __init__(self, message: str, holder: str):
        super().__init__(message)
        self.holder = holder


@contextlib.contextmanager
def lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``RUN_DIR/.lock`` while training, so two processes never write one run.

    The kernel drops the lock when its process dies, even by SIGKILL, so a crash never leaves a run locked.
    """
    if fcntl is None:  # no flock on this platform: run unguarded
        yield
        return
    try:
        f = open(path / ".lock", "a+")
    except OSError as exc:
        raise StorageError(f"Cannot lock the run folder {path}: {os_reason(exc)}. Nothing was changed; make the folder writable.") from None
    with f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise Busy(
                f"{path} is being trained by {holder} right now. Wait for it to finish or stop it; two processes must never write "
                "one run folder.",
                holder,
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def is_locked(path: Path) -> bool:
    """True while a process holds ``RUN_DIR/.lock`` (trains the run)."""
    if fcntl is None or not (path / ".lock").is_file():
        return False
    try:
        with open(path / ".lock", "r") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def write_config(path: Path, record: dict[str, Any]) -> None:
    write_json(path / "config.json", record)


def read_config(run_dir: Path) -> dict[str, Any]:
    """The record in ``RUN_DIR/config.json``, checked to be a ganzoo run's: a JSON object whose
    ``config`` has a section for each component and for training, and whose ``data`` has the sizes."""
    f = run_dir / "config.json"
    if not f.is_file():
        raise ConfigError(f"{run_dir} is not a ganzoo run folder: {f} is missing. Give the folder of a run (out= of ganzoo run).")
    try:
        record = json.loads(f.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {f}: {os_reason(exc)}.") from None
    except ValueError as exc:
        raise ConfigError(
            f"{f} is not valid JSON ({exc}), so {run_dir} is not a ganzoo run folder (or its config.json is damaged)."
        ) from None
    config = record.get("config") if isinstance(record, dict) else None
    data = record.get("data") if isinstance(record, dict) else None
    if not isinstance(config, dict) or not all(isinstance(config.get(k), dict) for k in SECTIONS) or not isinstance(data, dict):
        raise ConfigError(
            f"{f} is valid JSON but not a ganzoo run record: ganzoo writes an object with a 'config' section "
            f"(holding {', '.join(SECTIONS)}) and a 'data' section. {run_dir} looks like another tool's folder; "
            "give the folder of a ganzoo run."
        )
    return record


class MetricsLog:
    """Appends one JSON line per step; on resume, drops lines past the checkpoint's step."""

    def __init__(self, path: Path, resume_step: int | None = None):
        self.path = path
        if resume_step is not None and path.exists():
            kept = [line for line in path.read_text(errors="replace").splitlines() if (_step_of(line) or resume_step + 1) <= resume_step]
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
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def read_metrics(path: Path, bad: list[int] | None = None) -> list[dict[str, Any]]:
    """The lines of ``metrics.jsonl`` that are JSON objects with a step. A line cut short (a process
    killed mid-write) or any other damaged line is left out, never an error; ``bad`` (when given)
    collects the numbers (from 1) of the lines left out."""
    if not path.is_file():
        return []
    out = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("step"), int) and not isinstance(record["step"], bool):
            out.append(record)
        elif bad is not None and line.strip():
            bad.append(number)
    return out


EVAL = "eval.json"


def write_eval(run_dir: Path, result: dict[str, Any]) -> None:
    """Save ``ganzoo eval``'s scores as ``RUN_DIR/eval.json``."""
    try:
        write_json(run_dir / EVAL, result)
    except OSError as exc:
        raise StorageError(
            f"The scores could not be saved to {run_dir / EVAL}: {os_reason(exc)}. They are printed above; nothing in {run_dir} was "
            "changed."
        ) from None


def read_eval(run_dir: Path) -> dict[str, Any] | None:
    """``eval.json``'s scores, or None when there is none or it is damaged (not a JSON object)."""
    try:
        record = json.loads((run_dir / EVAL).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
