"""Loading a folder of images (or a list of image files) as :class:`ganzoo.ImageData`: what
``data=imagefolder`` does, for any dataset plugin to reuse (``ganzoo.load_image_folder``,
``ganzoo.load_image_files``, options from ``ganzoo.FolderConfig``).

1. Walk the folder (:mod:`ganzoo.data.walk`): classes, files, what was skipped.
2. Look up the decoded cache (:mod:`ganzoo.data.cache`), keyed by the file list and the settings;
   a valid entry gives the shape, and the pixels when it holds them.
3. Otherwise guess the shape from 32 headers and decode every image at it, in parallel, with
   progress, straight into one uint8 tensor (float32 for 16-bit images), reading every header on
   the way; unset ``size`` and ``channels`` come from all of them
   (:func:`ganzoo.data.decode.choose_shape`), and in the rare case they choose another shape than
   the guess, the images are decoded again. Cache the result.
4. When the decoded set would not fit ``max_memory``, read the headers alone and stream it instead:
   a :class:`~ganzoo.data.stream.FileImages` source decodes each batch.
It is longer than 300 lines as ruff formats it: the steps share one private read plan.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field, field_validator, model_validator

from ganzoo.components import Config
from ganzoo.imagedata import ImageData
from ganzoo.data import cache
from ganzoo.data.alpha import check_alpha, check_resize
from ganzoo.data.decode import VERSION, Decoder, choose_shape, default_limit, no_pil_limit
from ganzoo.data.parallel import chunks, cpu_workers
from ganzoo.data.progress import current
from ganzoo.data.stream import FileImages
from ganzoo.data.walk import Listing, count_note, one_line, scan
from ganzoo.errors import DataError

SMALL = 512  # sets with fewer images are decoded in the main process unless data.workers is set
SAMPLE = 32  # headers read to guess the shape before the one pass that decodes and reads every header
CACHE_AFTER = 1.0  # seconds: with data.cache unset, smaller sets are cached when they took this long to read
UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(text: str) -> int:
    """``"8GB"`` -> 8e9, ``"1.5GiB"``, ``"500MB"``, ``"123"`` (bytes); ValueError with the valid forms."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).lower() not in UNITS:
        raise ValueError(f"'{text}' is not an amount of memory; write it as 8GB, 500MB, 1.5GiB or a number of bytes")
    return int(float(m.group(1)) * UNITS[m.group(2).lower()])


def human(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux; else the machine's total)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 10**9


class SamplingConfig(Config):
    """How training samples a dataset: ``flip`` and ``balance``. A dataset whose Config subclasses this
    gets both, applied by the engine (:class:`ganzoo.training.batches.Batches`)."""

    flip: bool = Field(
        False,
        description="mirror images left to right in half of the epochs, each image at random. Off by default: a "
        "mirrored digit or letter is not the same character (a flipped 2, 3 or 7 is no digit at all), so the generator "
        "would learn images that do not exist; turn it on for faces, scenes and objects, whose mirror image is just as real",
    )
    balance: bool = Field(
        False,
        description="class-balanced sampling: each epoch draws N images with replacement, every class equally "
        "likely, for folders with far more images in some classes (the images per class are listed when a run starts)",
    )
    limit: int | None = Field(
        None,
        ge=1,
        description="train on this many images of the set only (the first of one fixed shuffle, the same for every run seed; "
        "evaluation still uses the whole set): a small-data run, where a critic can memorise its training images",
    )


class FolderConfig(SamplingConfig):
    """The options of a folder of images (``data=imagefolder``), for :func:`load_image_folder`."""

    size: int | None = Field(
        None,
        ge=4,
        le=1024,
        description="images are resized and squared (data.resize) to size x size; default: "
        "the images' own size when they agree, else their most common shorter side (longer with data.resize=pad; a note says which)",
    )
    channels: int | None = Field(
        None,
        description="1 for grayscale, 3 for RGB, 4 for RGBA (only with data.alpha=keep); default: 4 with data.alpha=keep, "
        "else 1 when every image is grayscale, else 3",
    )
    alpha: str = Field(
        "white",
        description="what to do with transparency (alpha channels, transparent palette entries and colours): a colour to "
        "composite onto (white, black, #rrggbb or a colour name); drop, to discard the alpha (fully transparent pixels "
        "black); keep, to hold it as a 4th channel so the set and the generator's images are RGBA",
    )
    resize: str = Field(
        "crop",
        description="how images that are not size x size are squared: crop resizes the shorter side and centre-crops; pad "
        "resizes the longer side and pads with the data.alpha colour (transparent with keep)",
    )
    max_pixels: int | None = Field(
        None,
        ge=1,
        description="the largest image, in pixels, that will be decoded; default PIL's limit of about "
        "89 million; set higher to allow bigger images",
    )
    max_memory: str | None = Field(
        None,
        description="the most memory the decoded images may take, e.g. 8GB or 500MB; a bigger set is "
        "streamed from disk, batch by batch; default: half the memory available when the run starts",
    )
    workers: int | None = Field(
        None,
        ge=0,
        le=256,
        description="processes that decode images when loading, and during training for a streamed "
        "set; 0 decodes in the main process. Default: the CPU cores, at most 8 (when loading a set of under 512 images: none)",
    )
    cache: bool | None = Field(
        None,
        description="keep the decoded images under $GANZOO_CACHE (default ~/.cache/ganzoo) so the next run "
        "starts in seconds: true; false neither reads nor writes it; unset reads it and keeps sets that took a "
        "second or more to read",
    )

    @field_validator("channels")
    @classmethod
    def _one_three_or_four(cls, v: int | None) -> int | None:
        if v not in (None, 1, 3, 4):
            raise ValueError("channels must be 1 (grayscale), 3 (RGB) or 4 (RGBA, with data.alpha=keep)")
        return v

    @field_validator("alpha")
    @classmethod
    def _an_alpha(cls, v: str) -> str:
        return check_alpha(v)

    @field_validator("resize")
    @classmethod
    def _a_resize(cls, v: str) -> str:
        return check_resize(v)

    @model_validator(mode="after")
    def _rgba_with_keep(self) -> "FolderConfig":
        if self.alpha == "keep" and self.channels not in (None, 4):
            raise ValueError(
                f"data.alpha=keep holds the alpha channel as a fourth channel, so the images have 4 channels, not "
                f"data.channels={self.channels}. Leave data.channels unset (or 4), or choose another data.alpha (white, a colour "
                "or drop) for 1 or 3 channels"
            )
        if self.channels == 4 and self.alpha != "keep":
            raise ValueError(
                f"data.channels=4 means RGBA images, which needs data.alpha=keep (data.alpha={self.alpha} makes images without "
                "alpha). Set data.alpha=keep, or data.channels=3 or 1"
            )
        return self

    @field_validator("max_memory")
    @classmethod
    def _an_amount(cls, v: str | None) -> str | None:
        if v is not None:
            parse_bytes(v)
        return v


def load_image_folder(root: str, cfg: FolderConfig, who: str = "data=imagefolder") -> ImageData:
    """The images under ``root``, one subfolder per class (:func:`ganzoo.data.walk.scan`)."""
    return load_listing(scan(root, who), cfg, who)


def load_image_files(
    paths: list[str], labels: list[int], classes: tuple[str, ...], cfg: FolderConfig, who: str, notes: tuple[str, ...] = ()
) -> ImageData:
    """Image files with labels from elsewhere (a CSV, say): the same shape choice, decoding, cache and
    streaming as a folder. Missing files are an error naming the first. ``notes`` default to the
    images per class."""
    notes = notes or (count_note(classes, [list(labels).count(i) for i in range(len(classes))]),)
    stats = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError as exc:
            raise DataError(
                f"{who}: cannot read the image {p}: {one_line(exc.strerror or exc)}. Make it readable, or remove it from the list."
            ) from None
        stats.append((st.st_size, st.st_mtime_ns, st.st_ino))
    root = os.path.commonpath([os.path.abspath(p) for p in paths]) if paths else "."
    return load_listing(Listing(root, tuple(classes), tuple(paths), tuple(labels), tuple(stats), tuple(notes)), cfg, who)


def load_listing(listing: Listing, cfg: FolderConfig, who: str) -> ImageData:
    """The images of a :class:`~ganzoo.data.walk.Listing`: from the cache, decoded, or streamed."""
    progress = current()
    limit = cfg.max_pixels if cfg.max_pixels is not None else default_limit()
    settings = {
        "size": cfg.size,
        "channels": cfg.channels,
        "max_pixels": limit,
        "decoder": VERSION,
        "alpha": cfg.alpha,
        "resize": cfg.resize,
    }
    slot, key = cache.keys(listing.root, listing.classes, listing.paths, listing.labels, listing.stats, settings)
    path = cache.entry(slot, key)
    n, notes = len(listing.paths), list(listing.notes)
    workers = cfg.workers if cfg.workers is not None else cpu_workers()
    load_workers = workers if cfg.workers is not None or n >= SMALL else 0
    labels = torch.tensor(listing.labels, dtype=torch.int64)
    budget = parse_bytes(cfg.max_memory) if cfg.max_memory is not None else available_memory() // 2
    as_we_go = path if cfg.cache or (cfg.cache is None and n >= SMALL) else None  # the entry is written while decoding
    meta = _cached_meta(path, key, notes) if cfg.cache is not False else None
    pixels, saved, started = None, False, time.perf_counter()
    if meta is None:
        meta, pixels, saved = _first_read(listing.paths, cfg, limit, who, load_workers, budget, progress, as_we_go, notes, key)
    notes[len(listing.notes) : len(listing.notes)] = meta["notes"]  # how the shape was chosen, before what happened to the cache
    decoder = Decoder(meta["shape"][2], meta["shape"][1], meta["dtype"] == "float32", limit, who, cfg.alpha, cfg.resize)
    slow = cfg.cache is None and time.perf_counter() - started >= CACHE_AFTER
    if _nbytes(meta) > budget:
        why = f"data.max_memory={cfg.max_memory}" if cfg.max_memory is not None else f"half the {human(2 * budget)} of memory available"
        notes.append(
            f"streaming from disk: the decoded images would take {human(_nbytes(meta))}, more than {why}; "
            "each batch is decoded when training asks for it"
        )
        if (cfg.cache or slow) and "pixels_cached" not in meta:
            _note(notes, cache.write(path, meta, None))
        return ImageData(FileImages(listing.paths, decoder, key, workers), labels, listing.classes, tuple(notes), key=key)
    if pixels is None and meta.get("pixels_cached"):
        try:
            pixels = cache.read_pixels(path, meta)
            notes.append(f"read the decoded images from the cache in {time.perf_counter() - started:.1f} s ({path})")
            return ImageData(pixels, labels, listing.classes, tuple(notes), key=key)
        except cache.Damaged as exc:
            notes.append(f"the decoded cache {path} was damaged ({exc}): decoded the images again")
            pixels = None
    if pixels is None:
        pixels, _, saved = _decoded(listing.paths, decoder, load_workers, progress, as_we_go, lambda *_: (meta, True), notes)
    if not saved and (cfg.cache or time.perf_counter() - started >= CACHE_AFTER and cfg.cache is None):
        _note(notes, cache.write(path, {**meta, "pixels_cached": True}, pixels))
    return ImageData(pixels, labels, listing.classes, tuple(notes), key=key)


def _note(notes: list[str], text: str | None) -> None:
    if text:
        notes.append(text)


def _cached_meta(path, key: str, notes: list[str]) -> dict[str, Any] | None:
    try:
        return cache.read_meta(path, key)
    except cache.Damaged as exc:
        notes.append(f"the decoded cache {path} was damaged ({exc}): read the images again")
        return None


def _meta(n: int, size: int, channels: int, deep: bool, notes: list[str]) -> dict[str, Any]:
    return {"version": VERSION, "shape": [n, channels, size, size], "dtype": "float32" if deep else "uint8", "notes": notes}


def _shape(sizes: list[tuple[int, int]], modes: list[str], cfg: FolderConfig) -> tuple[int, int, bool, list[str]]:
    return choose_shape(sizes, modes, cfg.size, cfg.channels, cfg.alpha, cfg.resize)


def _nbytes(meta: dict[str, Any]) -> int:
    n, c, s, _ = meta["shape"]
    return n * c * s * s * (4 if meta["dtype"] == "float32" else 1)


def _first_read(
    paths: tuple[str, ...],
    cfg: FolderConfig,
    limit: int | None,
    who: str,
    workers: int,
    budget: int,
    progress,
    entry: Path | None,
    notes: list[str],
    key: str,
) -> tuple[dict[str, Any], torch.Tensor | None, bool]:
    """(meta, pixels when they fit ``budget``, whether ``entry`` was written), in one pass where it
    can: every image is decoded at the shape a sample of headers suggests while all the headers are
    collected, and decoded again only when they choose another shape (a size, colour or 16-bit image
    the sample missed). A set too big for memory gets a pass over the headers alone."""
    with no_pil_limit():
        probe = Decoder(0, 0, False, limit, who)
        sample = [probe.header(p) for p in paths[:: max(1, len(paths) // SAMPLE)]]
    guess = _meta(len(paths), *_shape([(w, h) for w, h, _ in sample], [m for _, _, m in sample], cfg))
    if _nbytes(guess) > budget:
        return {**_census(paths, cfg, limit, who, workers, progress), "key": key}, None, False

    def decide(sizes: list[tuple[int, int]], modes: list[str]) -> tuple[dict[str, Any], bool]:
        meta = {**_meta(len(paths), *_shape(sizes, modes, cfg)), "key": key}
        return meta, (meta["shape"], meta["dtype"]) == (guess["shape"], guess["dtype"])

    decoder = Decoder(guess["shape"][2], guess["shape"][1], guess["dtype"] == "float32", limit, who, cfg.alpha, cfg.resize)
    pixels, meta, saved = _decoded(paths, decoder, workers, progress, entry, decide, notes)
    return meta, pixels, saved


def _decoded(
    paths: tuple[str, ...], decoder: Decoder, workers: int, progress, entry: Path | None, decide, notes: list[str]
) -> tuple[torch.Tensor | None, dict[str, Any], bool]:
    """Decode every image, writing the cache ``entry`` on the way when given. ``decide(sizes, modes)``
    gives the set's meta and whether these pixels have its shape; only then are they (and the entry) kept."""
    with cache.Writer(entry) if entry is not None else nullcontext() as writer:
        pixels, sizes, modes = _decode_all(paths, decoder, workers, progress, writer)
        meta, right = decide(sizes, modes)
        if right and writer is not None:
            writer.finish({**meta, "pixels_cached": True})
            _note(notes, writer.note)
    return (pixels if right else None), meta, right and writer is not None and writer.note is None


class _Headers:
    def __init__(self, decoder: Decoder, paths: tuple[str, ...]):
        self.decoder, self.paths = decoder, paths

    def __call__(self, start: int, stop: int) -> tuple[torch.Tensor, list[str]]:
        found = [self.decoder.header(p) for p in self.paths[start:stop]]
        return torch.tensor([(w, h) for w, h, _ in found], dtype=torch.int64).reshape(-1, 2), [m for _, _, m in found]


class _Pixels:
    """A slice of the images, decoded, with their headers: ((k, C, S, S), (k, 2) widths and heights, k modes)."""

    def __init__(self, decoder: Decoder, paths: tuple[str, ...]):
        self.decoder, self.paths = decoder, paths

    def __call__(self, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        d, s = self.decoder, self.decoder.size
        out = np.empty((stop - start, d.channels, s, s), dtype=np.float32 if d.deep else np.uint8)  # filled in numpy (Decoder.read)
        heads = []
        for j, path in enumerate(self.paths[start:stop]):
            out[j], head = d.read(path)
            heads.append(head)
        return (
            torch.from_numpy(out),
            torch.tensor([(w, h) for w, h, _ in heads], dtype=torch.int64).reshape(-1, 2),
            [m for _, _, m in heads],
        )


def _census(paths: tuple[str, ...], cfg: FolderConfig, limit: int | None, who: str, workers: int, progress) -> dict[str, Any]:
    """Every image's header -> the shape (and the notes on how it was chosen), refusing images over the limit."""
    sizes: list[tuple[int, int]] = []
    modes: list[str] = []
    with no_pil_limit():
        for _, (wh, m) in chunks(
            _Headers(Decoder(0, 0, False, limit, who), paths),
            len(paths),
            workers=workers,
            chunk=256,
            what="reading image headers",
            progress=progress,
        ):
            sizes += [tuple(x) for x in wh.tolist()]
            modes += m
    return _meta(len(paths), *_shape(sizes, modes, cfg))


def _decode_all(
    paths: tuple[str, ...], decoder: Decoder, workers: int, progress, writer: cache.Writer | None = None
) -> tuple[torch.Tensor, list[tuple[int, int]], list[str]]:
    """Every image decoded into one (N, C, S, S) tensor, with the (width, height) and mode of each;
    each block also goes to ``writer`` as it arrives (the main process waits on the workers anyway)."""
    n, s = len(paths), decoder.size
    out = torch.empty((n, decoder.channels, s, s), dtype=torch.float32 if decoder.deep else torch.uint8)  # (N, C, S, S)
    rows = out.numpy()  # copied into by numpy, single-threaded (torch's threads would wait on the busy workers)
    sizes: list[tuple[int, int]] = []
    modes: list[str] = []
    with no_pil_limit():
        for start, (block, wh, m) in chunks(_Pixels(decoder, paths), n, workers=workers, what="decoding images", progress=progress):
            rows[start : start + block.shape[0]] = block.numpy()
            if writer is not None:
                writer.add(memoryview(rows[start : start + block.shape[0]]).cast("B"))
            sizes += [tuple(x) for x in wh.tolist()]
            modes += m
    return out, sizes, modes
