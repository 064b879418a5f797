"""Shuffled minibatches from a dataset held as one tensor on the device (no DataLoader), and the device."""

from __future__ import annotations

import torch

from ganzoo.components import ImageData
from ganzoo.errors import ConfigError
from ganzoo.training import distributed


def pick_device(name: str) -> torch.device:
    """``train.device``: auto (CUDA when present), cpu or cuda."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda, but no CUDA GPU is available here. Use train.device=cpu or auto.")
    return torch.device(name)


class Batches:
    """Each epoch a new permutation of the dataset; the ragged tail of an epoch is dropped.

    Under torchrun each rank takes its slice of every global batch (:func:`distributed.shard`).
    ``perm``, ``pos`` and the generator ``rng`` are the whole state a checkpoint keeps.
    """

    def __init__(self, data: ImageData, batch_size: int, device: torch.device, seed: int):
        n = data.images.shape[0]
        self.images = data.images.to(device)
        self.labels = data.labels.to(device)
        self.batch_size = min(batch_size, n)
        self.rng = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(n, generator=self.rng)
        self.pos = 0

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pos + self.batch_size > self.perm.numel():  # drop the ragged tail, start a new epoch
            self.perm = torch.randperm(self.perm.numel(), generator=self.rng)
            self.pos = 0
        idx = self.perm[self.pos : self.pos + self.batch_size].to(self.images.device)
        idx = distributed.shard(idx)  # this rank's slice of the global batch
        self.pos += self.batch_size
        return self.images[idx], self.labels[idx]  # (B / ranks, C, H, W), (B / ranks,)
