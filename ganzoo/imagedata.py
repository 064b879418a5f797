"""The data a dataset hands the engine: :class:`ImageData` (labelled images, held as float32, as
uint8 at a quarter of the memory, or streamed from disk through an :class:`ImageSource`), the sizes
that come from it (:class:`DataSpec`), and :func:`to_unit`, the one conversion of stored pixels to
the float images in [-1, 1] every component sees. Re-exported by :mod:`ganzoo.components` and
``ganzoo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ganzoo.errors import DataError


@dataclass(frozen=True)
class DataSpec:
    """Sizes that come from the data and are injected into every network."""

    channels: int
    size: int  # images are square: (channels, size, size)
    num_classes: int


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Images as float32 in [-1, 1]: uint8 values v become v / 127.5 - 1, bit for bit what
    ``torchvision``'s ``ToTensor`` followed by ``* 2 - 1`` gives (doubling is exact in floating point,
    so v / 127.5 is (v / 255) * 2 rounded the same way); float images are returned as they are."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(127.5).sub_(1)
    return x


class ImageSource:
    """Images read on demand, for a set too big to hold in memory (the ``images`` of a streamed
    :class:`ImageData`).

    ``shape`` is (N, C, H, W); ``dtype`` uint8 (0..255) or float32 (in [-1, 1]); ``key`` names the
    content (equal keys, equal images: the evaluator's cache is keyed by it); ``workers`` is how many
    DataLoader worker processes read it during training (0: the training process itself; None: the
    engine's default, the CPU cores up to 8).
    ``source[indices]`` returns those images, (k, C, H, W) of ``dtype``, in the order asked. The
    source is pickled into the worker processes, so it holds settings and paths, not open files.
    """

    shape: tuple[int, int, int, int] = (0, 0, 0, 0)
    dtype: torch.dtype = torch.uint8
    key: str = ""
    workers: int | None = None

    def __getitem__(self, indices: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.shape[0]


class ImageData:
    """A labelled image set: ``labels`` (N,) int64 indexing ``classes``, and the images (N, C, H, W)
    held in one of three ways (``pixels``):

    - float32 in [-1, 1], 4 bytes a value;
    - uint8, 0..255: a quarter of the memory; the engine converts each batch on the device
      (:func:`to_unit`), so components see the same float images either way;
    - an :class:`ImageSource` (``streamed``): read batch by batch during training, for sets bigger
      than memory.

    ``images`` is the whole set as float32 in [-1, 1] (converted on each access for uint8; refused for
    a streamed set); :meth:`floats` converts only the images asked for, on every path. ``notes`` are
    lines for the user about how the data was read (images per class, files skipped and why), shown
    when a run starts. ``key`` optionally names the content (a loader that knows it, e.g. from the
    file list); ``flip`` and ``balance`` say how training samples it (the options ``data.flip`` and
    ``data.balance``, applied by the engine when the dataset's Config has them).
    """

    __slots__ = ("pixels", "labels", "classes", "notes", "key", "flip", "balance")

    def __init__(
        self,
        images: torch.Tensor | ImageSource,
        labels: torch.Tensor,
        classes: tuple[str, ...],
        notes: tuple[str, ...] = (),
        *,
        key: str | None = None,
        flip: bool = False,
        balance: bool = False,
    ):
        for name, value in (
            ("pixels", images),
            ("labels", labels),
            ("classes", tuple(classes)),
            ("notes", tuple(notes)),
            ("key", key),
            ("flip", bool(flip)),
            ("balance", bool(balance)),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ImageData is immutable; use replace(...)")

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy through __init__ (attributes cannot be set)
        return (_rebuild, (self.pixels, self.labels, self.classes, self.notes, self.key, self.flip, self.balance))

    def replace(self, **changes: Any) -> "ImageData":
        """A copy with some of ``images``, ``labels``, ``classes``, ``notes``, ``key``, ``flip``, ``balance`` changed."""
        now = {
            "images": self.pixels,
            "labels": self.labels,
            "classes": self.classes,
            "notes": self.notes,
            "key": self.key,
            "flip": self.flip,
            "balance": self.balance,
        }
        unknown = set(changes) - set(now)
        if unknown:
            raise TypeError(f"ImageData has no field {', '.join(sorted(unknown))}")
        now.update(changes)
        images, labels, classes, notes = now.pop("images"), now.pop("labels"), now.pop("classes"), now.pop("notes")
        return ImageData(images, labels, classes, notes, **now)

    @property
    def streamed(self) -> bool:
        return isinstance(self.pixels, ImageSource)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return tuple(self.pixels.shape)  # type: ignore[return-value]

    @property
    def dtype(self) -> torch.dtype:
        return self.pixels.dtype

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def images(self) -> torch.Tensor:
        """All images as float32 (N, C, H, W) in [-1, 1]; for uint8 a new tensor of 4x their memory."""
        if self.streamed:
            raise DataError(
                f"This dataset is streamed from disk ({len(self)} images, too many to hold in memory), so it has no "
                "images tensor; read the images you need with ImageData.floats(indices)."
            )
        return to_unit(self.pixels)

    def floats(self, indices: torch.Tensor | None = None) -> torch.Tensor:
        """The images at ``indices`` (all when None), float32 (k, C, H, W) in [-1, 1], on the CPU."""
        if indices is None:
            indices = torch.arange(len(self))
        return to_unit(self.pixels[torch.as_tensor(indices, dtype=torch.int64)])

    @property
    def spec(self) -> DataSpec:
        shape = self.shape
        return DataSpec(channels=shape[1], size=shape[2], num_classes=len(self.classes))

    def __repr__(self) -> str:
        how = "streamed" if self.streamed else str(self.dtype).replace("torch.", "")
        return f"ImageData({len(self)} images {'x'.join(map(str, self.shape[1:]))} {how}, {len(self.classes)} classes)"


def _rebuild(
    images: Any, labels: torch.Tensor, classes: tuple[str, ...], notes: tuple[str, ...], key: str | None, flip: bool, balance: bool
) -> ImageData:
    return ImageData(images, labels, classes, notes, key=key, flip=flip, balance=balance)
