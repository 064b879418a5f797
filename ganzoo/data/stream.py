"""The streaming path's source: images decoded from their files when a batch asks for them, in the
DataLoader's worker processes (:class:`ganzoo.training.batches.Batches` drives them), for a set whose
decoded form would not fit the memory budget (``data.max_memory``).

The files were walked and their headers read when the set was loaded, so a symlink loop, a FIFO, a
second path to a file or an image that claims too many pixels was dealt with before training; the
decoder still opens each file without blocking and checks it is a regular file and within the
pixel limit, in case it changed since.
"""

from __future__ import annotations

import numpy as np
import torch

from ganzoo.imagedata import ImageSource
from ganzoo.data.decode import Decoder, no_pil_limit


class FileImages(ImageSource):
    """``paths[i]`` decoded by ``decoder`` on demand: (k, C, S, S) uint8, or float32 for a deep set."""

    def __init__(self, paths: tuple[str, ...], decoder: Decoder, key: str, workers: int | None):
        self.paths, self.decoder, self.key, self.workers = tuple(paths), decoder, key, workers
        self.shape = (len(self.paths), decoder.channels, decoder.size, decoder.size)
        self.dtype = torch.float32 if decoder.deep else torch.uint8

    def __getitem__(self, indices: torch.Tensor) -> torch.Tensor:
        idx = torch.as_tensor(indices, dtype=torch.int64).reshape(-1).tolist()  # (k,)
        s = self.decoder.size
        out = np.empty((len(idx), self.decoder.channels, s, s), dtype=np.float32 if self.decoder.deep else np.uint8)  # (k, C, S, S)
        with no_pil_limit():
            for j, i in enumerate(idx):
                out[j] = self.decoder(self.paths[i])
        return torch.from_numpy(out)
