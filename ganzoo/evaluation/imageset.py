"""Reading an image set to score from an npz file: ``images`` uint8 (N, C, H, W) and ``labels`` (N,)
integers, the format ``ganzoo sample`` writes, checked against the dataset it is scored against.

Every problem is one paragraph that names the file, what it holds and what the dataset has. The file
is only read (without unpickling anything), never changed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from ganzoo.components import DataSpec
from ganzoo.errors import DataError, os_reason

FORMAT = (
    "an npz file with 'images' (uint8, N x C x H x W, values 0..255) and 'labels' (N integers, one class index per image), "
    "as ganzoo sample writes it"
)


def read_npz(path: Path, spec: DataSpec, data_name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, C, H, W), labels int64 (N,)) of an npz file that fits ``spec``."""
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise DataError(f"{path} {what}. ganzoo eval scores a run folder or {FORMAT}.")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            missing = [k for k in ("images", "labels") if k not in names]
            if missing:
                raise DataError(
                    f"{path} has no {' or '.join(repr(m) for m in missing)} entry (it holds: {', '.join(names) or 'nothing'}). "
                    f"ganzoo eval reads {FORMAT}."
                )
            images, labels = z["images"], z["labels"]
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(
            f"{path} could not be read as an npz file ({os_reason(exc) if isinstance(exc, OSError) else exc}). ganzoo eval reads {FORMAT}."
        ) from None
    return check(images, labels, spec, data_name, str(path))


def check(images: np.ndarray, labels: np.ndarray, spec: DataSpec, data_name: str, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The arrays as tensors, or one paragraph saying how they do not fit the dataset."""
    want = f"data={data_name} has {spec.channels}x{spec.size}x{spec.size} images in {spec.num_classes} classes"
    if images.dtype != np.uint8:
        hint = (
            " Float images in [0, 1] become uint8 as (x * 255).round(); in [-1, 1], as ((x + 1) * 127.5).round()."
            if images.dtype.kind == "f"
            else ""
        )
        raise DataError(f"The images in {where} are {images.dtype}, but ganzoo eval reads uint8 pixels (0..255).{hint}")
    if images.ndim != 4:
        raise DataError(f"The images in {where} have shape {images.shape}: {images.ndim} dimensions where N x C x H x W has 4; {want}.")
    n, c, h, w = images.shape
    if (c, h, w) != (spec.channels, spec.size, spec.size):
        hint = ""
        if images.shape[3] == spec.channels and images.shape[1:3] == (spec.size, spec.size):
            hint = " They look like N x H x W x C: move the channels first, e.g. images.transpose(0, 3, 1, 2)."
        raise DataError(
            f"The images in {where} are {c}x{h}x{w} ({n} of them), but {want}.{hint} Score them against a dataset of their own shape."
        )
    if labels.ndim != 1 or len(labels) != n:
        raise DataError(f"{where} has {n} images but its labels have shape {labels.shape}; there must be one class index per image.")
    if labels.dtype.kind not in "iu":
        raise DataError(f"The labels in {where} are {labels.dtype}; they must be integer class indices 0..{spec.num_classes - 1}.")
    if n < 4:
        raise DataError(f"{where} holds {n} image(s); scoring needs at least 4.")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= spec.num_classes:
        raise DataError(
            f"The labels in {where} run from {low} to {high} ({len(np.unique(labels))} classes), but {want} (labels "
            f"0..{spec.num_classes - 1})."
        )
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels.astype(np.int64))
