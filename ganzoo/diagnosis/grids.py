"""How alike the images of a sample grid are, along its columns and along its rows.

A grid (:meth:`ganzoo.runs.recorder.RunRecorder.sample_grid`) has one row per class and one fixed
noise vector per column. Within a row the images differ only by the noise: when the generator
ignores its noise (mode collapse) they become alike. Within a column they differ only by the
label: when the generator ignores the labels, the rows become alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganzoo.storage.plots import written_by_ganzoo

COLUMNS = 8  # ganzoo.runs.recorder.GRID_COLUMNS
MAX_ROWS = 20  # ganzoo.runs.recorder.GRID_MAX_ROWS
PADDING = 2  # the padding ganzoo.storage.plots.save_grid draws between images


def spreads(path: Path, size: int, num_classes: int) -> tuple[float, float] | None:
    """(across columns, across rows): the mean per-pixel standard deviation, in [0, 1] grey levels, of
    the images of a row (the noise varies) and of a column (the label varies). None when the file
    is not a ganzoo grid of this shape."""
    from PIL import Image, UnidentifiedImageError

    rows = min(num_classes, MAX_ROWS)
    if size < 1 or rows < 1 or not written_by_ganzoo(path):
        return None
    try:
        with Image.open(path) as img:
            pixels = np.asarray(img.convert("L"), dtype=np.float64) / 255.0  # (H', W')
    except (OSError, UnidentifiedImageError):
        return None
    step = size + PADDING
    if pixels.shape[0] < PADDING + rows * step or pixels.shape[1] < PADDING + COLUMNS * step:
        return None
    cells = np.stack(
        [
            [pixels[PADDING + r * step : PADDING + r * step + size, PADDING + c * step : PADDING + c * step + size] for c in range(COLUMNS)]
            for r in range(rows)
        ]
    )  # (rows, COLUMNS, size, size)
    across_columns = float(cells.std(axis=1).mean())
    across_rows = float(cells.std(axis=0).mean()) if rows > 1 else float("nan")
    return across_columns, across_rows
