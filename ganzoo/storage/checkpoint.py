"""Checkpoints: one folder per step holding ``weights.safetensors`` and ``state.json``. Never pickle.

A checkpoint is written into a hidden temporary folder and renamed into place when complete, so a
crash mid-write leaves the previous checkpoint untouched. The newest ``keep`` checkpoints are kept.
The safetensors header carries the resolved config and plugin versions, so a checkpoint can be
rebuilt from component names alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from ganzoo.errors import CheckpointError, StorageError, os_reason
from ganzoo.storage.atomic import fsync, pid_alive, target_of, write_json
from ganzoo import faults

PREFIX = "step-"
WEIGHTS = "weights.safetensors"
STATE = "state.json"


def save(
    ckpt_root: Path,
    step: int,
    tensors: dict[str, torch.Tensor],
    state: dict[str, Any],
    header: dict[str, Any],
    keep: int = 2,
    note: Callable[[str], None] = lambda text: None,
) -> Path:
    """Write checkpoint ``step`` atomically, then prune to the newest ``keep``.

    Order: weights and state go into ``.tmp-step-N-PID/`` and are fsynced; the folder is renamed to
    ``step-N/``; only then are older checkpoints pruned. A process killed at any point leaves every
    previously completed checkpoint intact; the leftovers are hidden folders that :func:`list_checkpoints`
    ignores and a later :func:`save` removes. A write that fails (disk full, read-only) removes its
    temporary folder and raises :class:`StorageError`; the checkpoints already there are untouched.
    ``note`` receives a line when something ganzoo cannot prove it wrote had to be moved aside.
    """
    final = ckpt_root / f"{PREFIX}{step:08d}"
    tmp = ckpt_root / f".tmp-{PREFIX}{step:08d}-{os.getpid()}"
    try:
        ckpt_root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():  # our own earlier attempt in this process
            shutil.rmtree(tmp)
        tmp.mkdir()
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
        save_file(tensors, str(tmp / WEIGHTS), metadata={"ganzoo": json.dumps(header)})
        faults.strike_point("checkpoint_write", step)
        state = {"step": step, **state, "weights_sha256": _sha256_file(tmp / WEIGHTS)}
        write_json(tmp / STATE, {**state, "state_sha256": _sha256_json(state)})
        for f in (tmp / WEIGHTS, tmp / STATE):
            fsync(f)
    except (OSError, SafetensorError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        have = [p.name for p in list_checkpoints(ckpt_root)]
        intact = f" The checkpoints already there ({', '.join(have)}) are intact." if have else ""
        raise StorageError(
            f"Could not write checkpoint {final.name} into {ckpt_root}: {os_reason(exc)}.{intact} Free some space "
            f"(or make the folder writable), then continue the run with resume={ckpt_root.parent}."
        ) from None
    if final.exists() or final.is_symlink():  # re-saving the same step (after a resume): swap, never a moment with neither
        if is_ours(final):
            old = ckpt_root / f".old-{PREFIX}{step:08d}-{os.getpid()}"
            os.rename(final, old)
            faults.strike_point("checkpoint_swap", step)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            aside = _aside(final)
            os.rename(final, aside)
            faults.strike_point("checkpoint_swap", step)
            os.rename(tmp, final)
            note(f"moved {final} aside to {aside.name}: it is damaged or not ganzoo's, and ganzoo deletes only what it can prove it wrote")
    else:
        os.rename(tmp, final)
    fsync(ckpt_root)
    faults.strike_point("checkpoint_prune", step)
    prune(ckpt_root, keep, newest=step)
    return final


def _aside(path: Path) -> Path:
    """A free name ``damaged-step-N[-k]`` beside ``path``."""
    for k in range(1000):
        candidate = path.with_name(f"damaged-{path.name}" + (f"-{k}" if k else ""))
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
    raise StorageError(f"Too many damaged copies of {path.name} in {path.parent}; remove some of them.")


def is_ours(path: Path) -> bool:
    """True when ``path`` is a checkpoint folder ganzoo wrote, intact: exactly the weights and state
    files, both regular files, the state's own checksum and the weights' checksum matching."""
    try:
        if path.is_symlink() or not path.is_dir() or sorted(p.name for p in path.iterdir()) != sorted((STATE, WEIGHTS)):
            return False
        if any(f.is_symlink() or not f.is_file() for f in (path / WEIGHTS, path / STATE)):
            return False
        state = json.loads((path / STATE).read_text())
        recorded = state.pop("state_sha256")
        return recorded == _sha256_json(state) and state.get("weights_sha256") == _sha256_file(path / WEIGHTS)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


_LEFTOVER = re.compile(rf"^\.(tmp|old)-{PREFIX}\d{{8}}-(\d+)$")


def _is_leftover(path: Path) -> bool:
    """A hidden folder an interrupted :func:`save` of another, finished process left: its name, and
    nothing in it but what save writes there."""
    m = _LEFTOVER.match(path.name)
    if not m or path.is_symlink() or not path.is_dir():
        return False
    pid = int(m.group(2))
    if pid == os.getpid() or pid_alive(pid):
        return False
    for f in path.iterdir():
        written = f.name in (WEIGHTS, STATE) or (target_of(f) or ("",))[0] == STATE
        if not written or f.is_symlink() or not f.is_file():
            return False
    return True


def prune(ckpt_root: Path, keep: int, newest: int | None = None) -> None:
    """Keep the newest ``keep`` checkpoints; remove leftovers of interrupted writes.

    Only what ganzoo can prove it wrote is removed (:func:`is_ours`, :func:`_is_leftover`); anything
    else in the folder (a damaged checkpoint, a folder made by hand) stays and does not count.
    ``newest`` is the step just saved: intact checkpoints past it are left over from a timeline
    that a resume abandoned, so they are removed rather than counted.
    """
    for stale in [*ckpt_root.glob(".tmp-*"), *ckpt_root.glob(".old-*")]:
        if _is_leftover(stale):
            shutil.rmtree(stale, ignore_errors=True)
    found = [p for p in list_checkpoints(ckpt_root) if is_ours(p)]
    if newest is not None:
        for abandoned in [p for p in found if _step(p) > newest]:
            shutil.rmtree(abandoned, ignore_errors=True)
        found = [p for p in found if _step(p) <= newest]
    for old in found[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _step(path: Path) -> int:
    return int(path.name[len(PREFIX) :])


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _sha256_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def list_checkpoints(ckpt_root: Path) -> list[Path]:
    """Completed checkpoint folders, oldest first (temporary folders are ignored)."""
    if not ckpt_root.is_dir():
        return []
    found = [p for p in ckpt_root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and p.name[len(PREFIX) :].isdigit()]
    return sorted(found, key=_step)


def load(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """(tensors, state, header) of one checkpoint folder, or a CheckpointError naming the bad file.

    Checks, in order: both files exist; ``state.json`` is JSON whose own checksum matches; the
    weights file has the SHA-256 that ``state.json`` recorded (catches truncation and flipped bits,
    which safetensors alone does not); the safetensors header carries ganzoo's metadata.
    Only safetensors and JSON are read: nothing is ever unpickled.
    """
    weights, state_file = path / WEIGHTS, path / STATE
    for f in (weights, state_file):
        if not f.is_file():
            raise CheckpointError(f"Checkpoint {path} is incomplete: {f.name} is missing.")
    try:
        state = json.loads(state_file.read_text())
        recorded = state.pop("state_sha256")
        if recorded != _sha256_json(state):
            raise ValueError("its checksum does not match its content")
        int(state["step"])
        expected_sha = str(state["weights_sha256"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"Cannot read checkpoint state {state_file}: the file is damaged ({type(exc).__name__}: {exc}).") from None
    try:
        actual_sha = _sha256_file(weights)
        if actual_sha != expected_sha:
            raise ValueError(
                f"SHA-256 {actual_sha[:12]}… differs from {expected_sha[:12]}… recorded in {STATE}; the file is truncated or corrupted"
            )
        with safe_open(str(weights), framework="pt") as f:
            header = json.loads((f.metadata() or {})["ganzoo"])
        _check_header(header)
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(
            f"Cannot read checkpoint weights {weights}: the file is damaged or not a ganzoo checkpoint ({type(exc).__name__}: {exc})."
        ) from None
    return tensors, state, header


def _check_header(header: Any) -> None:
    """The ganzoo metadata must hold the resolved config and the data sizes."""
    if not isinstance(header, dict) or not isinstance(header.get("config"), dict):
        raise ValueError("its ganzoo metadata has no 'config' section")
    data = header.get("data")
    if not isinstance(data, dict) or set(data) != {"channels", "size", "num_classes"} or not all(isinstance(v, int) for v in data.values()):
        raise ValueError(f"its ganzoo metadata has no valid 'data' section (channels, size, num_classes), got {data!r}")


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
