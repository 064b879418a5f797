"""Writing a file so that it is never seen half-written: into a temporary file beside it, flushed to
disk, then renamed over it. A crash at any moment leaves the old file or the new one, never a mix,
and a failed write removes its temporary file. Every file ganzoo writes goes through here."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


def temporary(path: Path) -> Path:
    """The hidden temporary name for ``path`` in the same folder, keeping its suffix (``.png``,
    ``.npz``, ``.json``) because some writers pick the format from it."""
    path = Path(path)
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


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
