"""Checkpoints: one folder per step holding ``weights.safetensors`` and ``state.json``. Never pickle.

A checkpoint is written into a hidden temporary folder and renamed into place when complete, so a
crash mid-write leaves the previous checkpoint untouched. The newest ``keep`` checkpoints are kept.
The safetensors header carries the resolved config and plugin versions, so a checkpoint can be
rebuilt from component names alone.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from ganzoo.errors import CheckpointError

PREFIX = "step-"
WEIGHTS = "weights.safetensors"
STATE = "state.json"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(ckpt_root: Path, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any], header: dict[str, Any], keep: int = 2) -> Path:
    """Write checkpoint ``step`` atomically, then prune to the newest ``keep``."""
    ckpt_root.mkdir(parents=True, exist_ok=True)
    final = ckpt_root / f"{PREFIX}{step:08d}"
    tmp = ckpt_root / f".tmp-{PREFIX}{step:08d}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    save_file(tensors, str(tmp / WEIGHTS), metadata={"ganzoo": json.dumps(header)})
    write_json_atomic(tmp / STATE, {"step": step, **state})
    for f in (tmp / WEIGHTS, tmp / STATE):
        _fsync(f)
    if final.exists():  # re-saving the same step (after a resume): swap, never a moment with neither
        old = ckpt_root / f".old-{PREFIX}{step:08d}-{os.getpid()}"
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)
    _fsync(ckpt_root)
    prune(ckpt_root, keep)
    return final


def prune(ckpt_root: Path, keep: int) -> None:
    """Keep the newest ``keep`` checkpoints; remove leftovers of interrupted writes."""
    for stale in ckpt_root.glob(".tmp-*"):
        if not stale.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)
    for old in list_checkpoints(ckpt_root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def list_checkpoints(ckpt_root: Path) -> list[Path]:
    """Completed checkpoint folders, oldest first (temporary folders are ignored)."""
    if not ckpt_root.is_dir():
        return []
    found = [p for p in ckpt_root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and p.name[len(PREFIX):].isdigit()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX):]))


def load(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """(tensors, state, header) of one checkpoint folder, or a CheckpointError naming the bad file."""
    weights, state_file = path / WEIGHTS, path / STATE
    for f in (weights, state_file):
        if not f.is_file():
            raise CheckpointError(f"Checkpoint {path} is incomplete: {f.name} is missing.")
    try:
        with safe_open(str(weights), framework="pt") as f:
            header = json.loads((f.metadata() or {})["ganzoo"])
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"Cannot read checkpoint weights {weights}: the file is damaged or not a ganzoo checkpoint ({type(exc).__name__}: {exc}).") from None
    try:
        state = json.loads(state_file.read_text())
        int(state["step"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"Cannot read checkpoint state {state_file}: {type(exc).__name__}: {exc}.") from None
    return tensors, state, header


def latest(ckpt_root: Path) -> tuple[Path, tuple[dict, dict, dict], list[str]]:
    """The newest checkpoint that loads, plus a note for each newer one that was skipped."""
    skipped: list[str] = []
    for path in reversed(list_checkpoints(ckpt_root)):
        try:
            return path, load(path), skipped
        except CheckpointError as exc:
            skipped.append(str(exc))
    detail = (" Skipped: " + " ".join(skipped)) if skipped else ""
    raise CheckpointError(f"No usable checkpoint in {ckpt_root}.{detail}")
