"""Reading one image file: its header (size and mode, nothing decoded), and its pixels at the set's
size and channels, in the form the set is held in.

- 8-bit images are converted as ``torchvision`` loads them (``convert("RGB")``, ``Resize`` of the
  shorter side, ``CenterCrop``, ``Grayscale`` for 1 channel) and held as uint8, so
  ``x / 255 * 2 - 1`` (:func:`ganzoo.imagedata.to_unit`) is bit for bit the old float tensor;
  images with transparency are first flattened as ``data.alpha`` says, and ``data.resize=pad``
  pads instead of cropping (:mod:`ganzoo.data.alpha`);
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

from ganzoo.data import alpha as transparency
from ganzoo.data.walk import one_line, plural
from ganzoo.errors import DataError

HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
GRAY_MODES = frozenset({"1", "L", "LA", "La", *HIGH_DEPTH_MODES})
# bump when decoding changes: cached sets decoded by an older version are then rebuilt
VERSION = 2  # 2: transparency handled as data.alpha says (white by default), no longer dropped


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
    ``alpha`` and ``resize``: the options data.alpha and data.resize (4 channels with ``keep``).
    Call it inside :func:`no_pil_limit` (worker processes: :func:`ganzoo.data.parallel` does)."""

    size: int
    channels: int
    deep: bool
    limit: int | None
    who: str = "data=imagefolder"
    alpha: str = "white"
    resize: str = "crop"

    def header(self, path: str) -> tuple[int, int, str]:
        """(width, height, PIL mode) from the file's header, the mode marked when the file names a
        transparent colour (:func:`ganzoo.data.alpha.mode_of`); nothing is decoded."""
        with self._open(path) as f:
            try:
                from PIL import Image

                with Image.open(f) as im:
                    w, h, mode = im.size[0], im.size[1], transparency.mode_of(im)
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
                    w, h, mode = im.size[0], im.size[1], transparency.mode_of(im)
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
        s, one = self.size, np.float32(1)
        if im.mode in HIGH_DEPTH_MODES:
            return self._deep(im)
        im = transparency.flatten(im, self.alpha)  # RGB as torchvision's default loader; RGBA for data.alpha=keep
        im = transparency.fit(im, s, self.resize, transparency.fill(self.alpha, im.mode))
        if self.channels == 1:
            im = im.convert("L")  # torchvision's Grayscale(1)
        chw = np.ascontiguousarray(np.asarray(im, dtype=np.uint8).reshape(s, s, -1).transpose(2, 0, 1))  # (S, S, C) -> (C, S, S)
        return chw.astype(np.float32) / np.float32(127.5) - one if self.deep else chw  # to_unit's arithmetic

    def _deep(self, im) -> np.ndarray:
        """A 16-bit or float grey image: (C, S, S) float32 in [-1, 1], or uint8; with 4 channels the
        grey repeated in RGB and an opaque alpha (transparent where ``pad`` padded)."""
        s, one, two = self.size, np.float32(1), np.float32(2)
        scale = 1.0 if im.mode == "F" else 65535.0
        gray = im.convert("F").point(lambda v: v * (1.0 / scale))  # 32-bit float, resized and cropped in PIL
        gray = transparency.fit(gray, s, self.resize, transparency.fill(self.alpha, "F"))
        unit = np.clip(np.array(gray, dtype=np.float32), 0, 1)  # (S, S) in [0, 1]
        planes = [unit] * min(self.channels, 3)
        if self.channels == 4:
            from PIL import Image

            cover = transparency.fit(Image.new("F", im.size, 1.0), s, self.resize, 0.0)  # 1 on the image, 0 on padding
            planes.append(np.clip(np.array(cover, dtype=np.float32), 0, 1))
        unit = np.stack(planes)  # (C, S, S)
        return np.ascontiguousarray(unit * two - one if self.deep else np.round(unit * np.float32(255)).astype(np.uint8))

    def too_large(self, path: str, w: int, h: int) -> DataError:
        return DataError(
            f"{self.who}: the image {path} claims to be {w}x{h} pixels ({w * h:,} pixels), more than the {self.limit or 0:,} pixels "
            "data.max_pixels allows (by default PIL's limit against decompression bombs: a small file that "
            "claims a huge size to exhaust memory). If you trust the file and mean to use an image this large, set "
            f"data.max_pixels={w * h} "
            "or higher; otherwise remove or replace the file."
        )


def choose_shape(
    sizes: list[tuple[int, int]],
    modes: list[str],
    size: int | None,
    channels: int | None,
    alpha: str = "white",
    resize: str = "crop",
) -> tuple[int, int, bool, list[str]]:
    """(size, channels, deep, notes) for images of these (width, height) and header modes
    (:meth:`Decoder.header`), read with data.alpha ``alpha`` and data.resize ``resize``.

    Unset options come from the images: their own size when they agree (the shorter side when they
    are not square, the longer with ``pad``), else the most common such side (the smaller on a tie);
    4 channels (RGBA) with ``alpha="keep"``, else 1 when every image is grayscale, else 3. ``deep``:
    some image has more than 8 bits per value. The notes say what was chosen, how images of other
    sizes are squared, and what was done with transparency (nothing when no image has any)."""
    why = []
    pad = resize == "pad"
    side = max if pad else min
    fill = "transparency" if alpha == "keep" else "black" if alpha == "drop" else alpha
    policy = (
        f"longer side resized, padded to square with {fill} (data.resize=pad)"
        if pad
        else "shorter side resized, centre-cropped (data.resize=crop; data.resize=pad keeps whole images)"
    )
    kinds = Counter(sizes)
    if size is None:
        sides = Counter(side(w, h) for w, h in sizes)
        size = min(sides, key=lambda s: (-sides[s], s))
        if len(kinds) == 1:
            ((w, h),) = kinds
            if w != h:
                why.append(
                    f"every image is {w}x{h}, padded to its longer side with {fill} (data.resize=pad)"
                    if pad
                    else f"every image is {w}x{h}, centre-cropped to its shorter side (data.resize=crop; pad keeps whole images)"
                )
            else:
                why.append(f"every image is {w}x{h}")
        else:
            listed = ", ".join(f"{w}x{h} ({n})" for (w, h), n in kinds.most_common(3)) + (", …" if len(kinds) > 3 else "")
            why.append(f"{len(kinds)} sizes ({listed}): the most common {'longer' if pad else 'shorter'} side, the others {policy}")
    if channels is None:
        colour = sum(transparency.base_mode(m) not in GRAY_MODES for m in modes)
        channels = 4 if alpha == "keep" else 3 if colour else 1
        why.append(
            "RGBA, with the alpha channel (data.alpha=keep)"
            if alpha == "keep"
            else "every image is grayscale"
            if not colour
            else "in colour"
            if colour == len(modes)
            else f"{colour} of {len(modes)} images in colour, the grayscale ones repeated in each channel"
        )
    notes = [f"shape {channels}x{size}x{size} from the images: {'; '.join(why)} (set data.size or data.channels to choose)"] if why else []
    odd = sum(n for (w, h), n in kinds.items() if (w, h) != (size, size))
    if not any("data.resize" in w for w in why) and odd and (len(kinds) > 1 or any(w != h for w, h in kinds)):
        notes.append(f"{odd:,} of {len(sizes):,} images are not {size}x{size}: {policy}")
    clear = sum(transparency.has_transparency(m) for m in modes)
    if clear:
        notes.append(
            f"{clear:,} of {len(modes):,} {'image' if len(modes) == 1 else 'images'} {'has' if clear == 1 else 'have'} "
            f"transparency; {transparency.described(alpha)}"
        )
    deep = sum(transparency.base_mode(m) in HIGH_DEPTH_MODES for m in modes)
    if deep:
        notes.append(
            f"{plural(deep, 'image')} with 16-bit or float pixels: the set is held as float32 (4 bytes a value, not 1) to keep "
            "their precision"
        )
    return size, channels, bool(deep), notes
