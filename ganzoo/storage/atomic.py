"""Writing a file so that it is never seen half-written: into a temporary file beside it, flushed to
disk, then renamed over it. A crash at any moment leaves the old file or the new one, never a mix,
and a failed write removes its temporary file. Every file ganzoo writes goes through here."""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

# ``.NAME.tmp-PID.SUFFIX``: what :func:`temporary` makes; group 1 + group 3 is the target's name.
TEMPORARY = re.compile(r"^\.(.+)\.tmp-(\d+)(\.[A-Za-z0-9]+)?$")


def temporary(path: Path) -> Path:
    """The hidden temporary name for ``path`` in the same folder, keeping its suffix (``.png``,
    ``.npz``, ``.json``) because some writers pick the format from it."""
    path = Path(path)
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def target_of(path: Path) -> tuple[str, int] | None:
    """(the file a temporary was meant to become, the writing process's PID), or None when ``path``
    is not named like one of :func:`temporary`'s files."""
    m = TEMPORARY.match(Path(path).name)
    return (m.group(1) + (m.group(3) or ""), int(m.group(2))) if m else None


def pid_alive(pid: int) -> bool:
    """True when a process with this PID exists on this machine (ours included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, OSError):
        return False
    return True


def fsync(path: Path) -> None:
    """Flush a file or a folder to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """``with replacing(p) as tmp: write tmp``: on success ``tmp`` is flushed and renamed to ``p``;
    on any error it is removed and ``p`` is left as it was."""
    path = Path(path)
    tmp = temporary(path)
    try:
        yield tmp
        fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def write_text(path: Path, text: str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2))
