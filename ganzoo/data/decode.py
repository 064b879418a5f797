"""Reading one image file: its header (size and mode, nothing decoded), and its pixels at the set's
size and channels, in the form the set is held in.

- 8-bit images are converted as ``torchvision`` loads them (``convert("RGB")``, ``Resize`` of the
  shorter side, ``CenterCrop``, ``Grayscale`` for 1 channel) and held as uint8, so
  ``x / 255 * 2 - 1`` (:func:`ganzoo.imagedata.to_unit`) is bit for bit the old float tensor;
- 16-bit grayscale images (PIL modes ``I;16``, ``I;16B``, ``I``) are scaled by 1/65535 and 32-bit
  float ones (``F``) read as values in [0, 1]; a set with any of them is held as float32 in
  [-1, 1] (uint8 would round 65,536 levels to 256);
- an image larger than ``limit`` pixels (default: PIL's decompression-bomb limit) is an error naming
  the file and its claimed size, found from the header before anything is decoded;
- a file is opened without blocking and must be a regular file, so a FIFO swapped in after the
  walk cannot hang the load; an unreadable image is an error naming the file.

A :class:`Decoder` holds only settings, so it is pickled into worker processes as it is.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ganzoo.data.walk import one_line, plural
from ganzoo.errors import DataError

HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
GRAY_MODES = frozenset({"1", "L", "LA", "La", *HIGH_DEPTH_MODES})
VERSION = 1  # bump when decoding changes: cached sets decoded by an older version are then rebuilt


@contextmanager
def no_pil_limit() -> Iterator[None]:
    """PIL's own size check off (the decoder checks ``limit`` itself, from the header), restored after."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def default_limit() -> int | None:
    from PIL import Image

    return Image.MAX_IMAGE_PIXELS


def _reason(exc: BaseException, f) -> str:
    """PIL's message without its name for the open file (``<_io.BufferedReader name=3>``): the error names the path."""
    text = one_line(exc).replace(f" {f!r}", "").replace(repr(f), "the file")
    return text + " (not an image format PIL can read)" if text == "cannot identify image file" else text


@dataclass(frozen=True)
class Decoder:
    """Reads images at ``size`` x ``size`` with ``channels``; ``deep``: as float32 in [-1, 1], else
    uint8. ``limit``: the most pixels an image may claim. ``who`` starts every error ("data=imagefolder").
    Call it inside :func:`no_pil_limit` (worker processes: :func:`ganzoo.data.parallel` does)."""

    size: int
    channels: int
    deep: bool
    limit: int | None
    who: str = "data=imagefolder"

    def header(self, path: str) -> tuple[int, int, str]:
        """(width, height, PIL mode) from the file's header; nothing is decoded."""
        with self._open(path) as f:
            try:
                from PIL import Image

                with Image.open(f) as im:
                    w, h, mode = im.size[0], im.size[1], im.mode
            except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, EOFError, struct.error, …
                raise DataError(f"{self.who}: cannot read the image {path}: {_reason(exc, f)}. Remove or replace the file.") from None
        if self.limit is not None and w * h > self.limit:
            raise self.too_large(path, w, h)
        return w, h, mode

    def __call__(self, path: str) -> np.ndarray:
        """The image as (channels, size, size): uint8, or float32 in [-1, 1] when ``deep``."""
        return self.read(path)[0]

    def read(self, path: str) -> tuple[np.ndarray, tuple[int, int, str]]:
        """The image as :meth:`__call__` gives it, and (width, height, PIL mode) from its header. Plain
        numpy: torch's multi-threaded copies of small arrays stall when the cores are busy decoding."""
        from PIL import Image

        with self._open(path) as f:
            try:
                with Image.open(f) as im:
                    w, h, mode = im.size[0], im.size[1], im.mode
                    if self.limit is not None and w * h > self.limit:  # before anything is decoded
                        raise self.too_large(path, w, h)
                    return self._pixels(im), (w, h, mode)
            except DataError:
                raise
            except Exception as exc:
                raise DataError(f"{self.who}: cannot read the image {path}: {_reason(exc, f)}. Remove or replace the file.") from None

    def _open(self, path: str):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise DataError(
                f"{self.who}: cannot read the image {path}: {one_line(exc.strerror or exc)}. Make it readable, or remove or replace "
                "the file."
            ) from None
        f = os.fdopen(fd, "rb")
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced by a FIFO or device since the walk
            f.close()
            raise DataError(f"{self.who}: the image {path} is no longer a regular file. Remove it, or replace it with an image file.")
        return f

    def _pixels(self, im) -> np.ndarray:
        import torchvision.transforms.functional as TF

        s, one, two = self.size, np.float32(1), np.float32(2)
        if im.mode in HIGH_DEPTH_MODES:
            scale = 1.0 if im.mode == "F" else 65535.0
            gray = im.convert("F").point(lambda v: v * (1.0 / scale))  # 32-bit float, resized and cropped in PIL
            if gray.size != (s, s):
                gray = TF.center_crop(TF.resize(gray, s), s)
            unit = np.clip(np.array(gray, dtype=np.float32), 0, 1)  # (S, S) in [0, 1]
            flat = unit * two - one if self.deep else np.round(unit * np.float32(255)).astype(np.uint8)
            return np.ascontiguousarray(np.broadcast_to(flat, (self.channels, s, s)))  # (C, S, S)
        im = im.convert("RGB")  # as torchvision's default loader
        if im.size != (s, s):  # Resize(s) then CenterCrop(s), as torchvision does them on PIL images
            im = TF.center_crop(TF.resize(im, s), s)
        if self.channels == 1:
            im = im.convert("L")  # torchvision's Grayscale(1)
        chw = np.ascontiguousarray(np.asarray(im, dtype=np.uint8).reshape(s, s, -1).transpose(2, 0, 1))  # (S, S, C) -> (C, S, S)
        return chw.astype(np.float32) / np.float32(127.5) - one if self.deep else chw  # to_unit's arithmetic

    def too_large(self, path: str, w: int, h: int) -> DataError:
        return DataError(
            f"{self.who}: the image {path} claims to be {w}x{h} pixels ({w * h:,} pixels), more than the {self.limit or 0:,} pixels "
            "data.max_pixels allows (by default PIL's limit against decompression bombs: a small file that "
            "claims a huge size to exhaust memory). If you trust the file and mean to use an image this large, set "
            f"data.max_pixels={w * h} "
            "or higher; otherwise remove or replace the file."
        )


def choose_shape(
    sizes: list[tuple[int, int]], modes: list[str], size: int | None, channels: int | None
) -> tuple[int, int, bool, list[str]]:
    """(size, channels, deep, notes) for images of these (width, height) and PIL modes.

    Unset options come from the images: their own size when they agree (the shorter side when they
    are not square), else the most common shorter side (the smaller on a tie); 1 channel when every
    image is grayscale, else 3. ``deep``: some image has more than 8 bits per value."""
    why = []
    if size is None:
        kinds = Counter(sizes)
        shorter = Counter(min(w, h) for w, h in sizes)
        size = min(shorter, key=lambda s: (-shorter[s], s))
        if len(kinds) == 1:
            ((w, h),) = kinds
            why.append(f"every image is {w}x{h}" + ("" if w == h else ", centre-cropped to its shorter side"))
        else:
            listed = ", ".join(f"{w}x{h} ({n})" for (w, h), n in kinds.most_common(3)) + (", …" if len(kinds) > 3 else "")
            why.append(f"{len(kinds)} sizes ({listed}): the most common shorter side, the others resized and centre-cropped")
    if channels is None:
        colour = sum(m not in GRAY_MODES for m in modes)
        channels = 3 if colour else 1
        why.append(
            "every image is grayscale"
            if not colour
            else "in colour"
            if colour == len(modes)
            else f"{colour} of {len(modes)} images in colour, the grayscale ones repeated in each channel"
        )
    notes = [f"shape {channels}x{size}x{size} from the images: {'; '.join(why)} (set data.size or data.channels to choose)"] if why else []
    deep = sum(m in HIGH_DEPTH_MODES for m in modes)
    if deep:
        notes.append(
            f"{plural(deep, 'image')} with 16-bit or float pixels: the set is held as float32 (4 bytes a value, not 1) to keep "
            "their precision"
        )
    return size, channels, bool(deep), notes
