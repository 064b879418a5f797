"""The decoded cache: a folder's images, decoded once, in one file under ``$GANZOO_CACHE/images``
(default ``~/.cache/ganzoo/images``), so the next run on the same folder starts in seconds.

An entry is keyed by the file list (path, label, size, modification time and inode of every image),
the class names and the decoding settings (size, channels, pixel limit, decoder version), so a
changed, added or removed file makes a new key. It holds a JSON header (the shape, dtype, the notes
on how the shape was chosen, and a CRC-32 of the pixels), itself under a CRC-32, and the pixels, raw. CRC-32 runs at several
GB/s, so checking every byte on every read costs a fraction of a second; it guards against
damage, not tampering. A damaged entry (bad magic, header, length or checksum) is rebuilt, never
trusted. An entry without pixels records only the shape, for a set streamed from disk.

Entries are written through :func:`ganzoo.storage.atomic.replacing`. Writing one removes the
older entries for the same folder and settings, and temporaries of writers that died, but only
files that start as ganzoo's cache files do; anything else is left alone. A cache folder that
cannot be written costs a note, nothing else.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import struct
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import os_reason
from ganzoo.storage.atomic import pid_alive, replacing, target_of

MAGIC = b"GANZOO-DECODED1\n"  # 16 bytes
RESERVED = 1 << 16  # bytes before the pixels, for the header (written last)
CHUNK = 16 << 20  # bytes checksummed at a time
DTYPES = {"uint8": torch.uint8, "float32": torch.float32}


class Damaged(Exception):
    """An entry that cannot be trusted; the message says why."""


def folder() -> Path:
    return Path(os.environ.get("GANZOO_CACHE", Path.home() / ".cache" / "ganzoo")) / "images"


def keys(
    root: str,
    classes: tuple[str, ...],
    paths: tuple[str, ...],
    labels: tuple[int, ...],
    stats: tuple[tuple[int, int, int], ...],
    settings: dict[str, Any],
) -> tuple[str, str]:
    """(slot, key): ``slot`` names the folder and settings (one entry is kept per slot), ``key`` also
    the file list, so any change to a file gives a new key."""
    slot = hashlib.sha256(json.dumps([os.path.realpath(root), settings], sort_keys=True).encode()).hexdigest()[:16]
    h = hashlib.sha256(f"{slot}\0{json.dumps(list(classes))}\0".encode())
    for path, label, (size, mtime, inode) in zip(paths, labels, stats):
        h.update(f"{path}\0{label}\0{size}\0{mtime}\0{inode}\n".encode("utf-8", "surrogateescape"))
    return slot, h.hexdigest()[:24]


def entry(slot: str, key: str) -> Path:
    return folder() / f"{slot}-{key}.gzimg"


def read_meta(path: Path, key: str) -> dict[str, Any] | None:
    """The entry's header, or None when there is no entry. Raises :class:`Damaged`."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC) + 12)
            if head[: len(MAGIC)] != MAGIC or len(head) < len(MAGIC) + 12:
                raise Damaged("it does not start as a ganzoo cache file")
            length, crc = struct.unpack("<QI", head[len(MAGIC) :])
            if length > 1 << 26:
                raise Damaged("its header claims an impossible length")
            text = f.read(length)
            if zlib.crc32(text) != crc:
                raise Damaged("its header fails its checksum")
            meta = json.loads(text.decode())
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise Damaged(f"its header cannot be read ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("key") != key or meta.get("dtype") not in DTYPES:
        raise Damaged("its header does not describe this folder")
    if size != meta.get("offset", -1) + meta.get("nbytes", -1):
        raise Damaged(f"it holds {size:,} bytes where its header says {meta.get('offset', 0) + meta.get('nbytes', 0):,}")
    return meta


def read_pixels(path: Path, meta: dict[str, Any]) -> torch.Tensor:
    """The entry's images, (N, C, H, W), mapped from the file copy-on-write (no copy is made; pages
    come from the page cache) after every byte passed the checksum; :class:`Damaged` when the
    checksum or the length does not match. Entries are only ever replaced by renaming, never
    rewritten in place, so the mapping stays what was checked."""
    dtype = DTYPES[meta["dtype"]]
    count = math.prod(meta["shape"])
    if count * dtype.itemsize != meta["nbytes"]:
        raise Damaged("its header's shape and byte count disagree")
    try:
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    except (OSError, ValueError) as exc:
        raise Damaged(f"it cannot be read ({os_reason(exc)})") from None
    if len(mapped) != meta["offset"] + meta["nbytes"]:
        raise Damaged(f"it holds {len(mapped):,} bytes where its header says {meta['offset'] + meta['nbytes']:,}")
    view = memoryview(mapped)[meta["offset"] :]
    crc = 0
    for pos in range(0, len(view), CHUNK):
        crc = zlib.crc32(view[pos : pos + CHUNK], crc)
    view.release()
    if crc != meta["crc32"]:
        raise Damaged("its pixels fail their checksum")
    return torch.frombuffer(mapped, dtype=dtype, count=count, offset=meta["offset"]).view(meta["shape"])  # keeps the mapping alive


def write(path: Path, meta: dict[str, Any], pixels: torch.Tensor | None) -> str | None:
    """Write an entry (``pixels`` None: the header alone). Returns a note when it could not be
    written; the run goes on either way."""
    with Writer(path) as w:
        if pixels is not None:
            w.add(memoryview(pixels.contiguous().view(-1).view(torch.uint8).numpy()))  # the tensor's bytes
        w.finish(meta)
    return w.note


class Writer:
    """An entry written while its pixels are produced: :meth:`add` each block in order (to a
    temporary file, after room for the header, under a running CRC), then :meth:`finish` writes the
    header and puts the file in place (:func:`ganzoo.storage.atomic.replacing`). Leaving the ``with``
    block without ``finish`` (an error, or pixels decoded at a shape that was then changed) removes
    the temporary. A failure ends in ``note`` (what to tell the user); the writer then does nothing."""

    def __init__(self, path: Path):
        self.path, self.note, self.crc, self.nbytes = path, None, 0, 0
        self._stack = ExitStack()
        self._file: Any = None

    def __enter__(self) -> "Writer":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and not is_ours(self.path):
                self.note = f"did not save the decoded images: {self.path} exists and is not a ganzoo cache file, so it was left alone"
                return self
            _tidy(self.path)
            tmp = self._stack.enter_context(replacing(self.path))
            self._file = self._stack.enter_context(open(tmp, "wb"))
            self._file.seek(RESERVED)
        except OSError as exc:
            self._fail(exc)
        return self

    def add(self, block: memoryview) -> None:
        if self._file is None:
            return
        try:
            self._file.write(block)
        except OSError as exc:
            self._fail(exc)
            return
        self.crc, self.nbytes = zlib.crc32(block, self.crc), self.nbytes + len(block)

    def finish(self, meta: dict[str, Any]) -> None:
        if self._file is None:
            return
        text = json.dumps({**meta, "nbytes": self.nbytes, "crc32": self.crc, "offset": RESERVED}).encode()
        head = MAGIC + struct.pack("<QI", len(text), zlib.crc32(text)) + text
        try:
            if len(head) > RESERVED:
                raise OSError(f"a header of {len(head):,} bytes")
            self._file.seek(0)
            self._file.write(head)
            self._file = None
            self._stack.close()  # flushed, then renamed into place
        except OSError as exc:
            self._fail(exc)

    def __exit__(self, *exc: Any) -> None:
        if self._file is not None:  # not finished: the temporary goes
            self._abandon()

    def _fail(self, exc: OSError) -> None:
        self.note = (
            f"could not save the decoded images in {self.path.parent} ({os_reason(exc)}): this run goes on, and the next one "
            "decodes them again. Set GANZOO_CACHE to a writable folder to keep them"
        )
        self._abandon()

    def _abandon(self) -> None:
        self._file = None
        gone = RuntimeError("abandoned")
        self._stack.__exit__(RuntimeError, gone, None)  # replacing() removes its temporary and re-raises nothing here


def is_ours(path: Path) -> bool:
    """True when the file starts as a ganzoo cache file (or is too short to say otherwise)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC))
    except OSError:
        return False
    return MAGIC.startswith(head)


def _tidy(path: Path) -> None:
    """Remove the older entries of ``path``'s slot, and temporaries of dead writers, that are ours."""
    slot = path.name.split("-", 1)[0]
    for other in path.parent.iterdir():
        made = target_of(other)
        stale = made is not None and made[0].startswith(slot + "-") and not pid_alive(made[1])
        older = other.name.startswith(slot + "-") and other.suffix == ".gzimg" and other != path
        if (stale or older) and is_ours(other):
            try:
                other.unlink()
            except OSError:
                pass
