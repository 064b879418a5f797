"""Shuffled minibatches for training, the same interface however the data is held; and the device.

:meth:`Batches.next` returns ``(images, labels)`` on the device, images float32 in [-1, 1]:

- **in memory** (uint8, or float32): the set is placed once; each batch is indexed there and
  converted to float there (:func:`ganzoo.components.to_unit`), so a uint8 set costs a quarter of
  the memory and components see the same floats. On the CPU "there" is the one memory; on CUDA the
  set goes to the GPU when it takes at most half its free memory (then a batch moves nothing), else
  it stays on the host and each batch is gathered there and copied.
- **streamed** (an :class:`ganzoo.ImageSource`): a torch DataLoader reads ahead exactly the
  batches training will ask for next (:class:`ganzoo.data.order.Plan`), in the source's ``workers``
  processes (unset: the CPU cores, at most 8; pinned memory on CUDA); nothing else is held. On the
  2-core development CPU streaming kept 0.91x the in-memory throughput with a small model and
  0.99x with the default one (``benchmarks/data_scale.py``; README, "Your own images").

Either way each epoch comes from :mod:`ganzoo.data.order` (a permutation; class-balanced with
``data.balance``; mirrored at odd positions with ``data.flip``), the ragged tail of an epoch is
dropped, and under torchrun each rank takes, and when streamed reads, only its slice of every
global batch (:func:`ganzoo.ranks.shard`). ``perm``, ``pos`` and the generator ``rng`` are the whole
state a checkpoint keeps (:meth:`Batches.load_state` puts it back), so a resumed run, streamed or
not, takes the same batches as an unbroken one.
"""

from __future__ import annotations

from typing import Iterator

import torch

from ganzoo.imagedata import ImageData, ImageSource, to_unit
from ganzoo.data.order import Order, Plan, advance, flips
from ganzoo.data.parallel import Guarded, cpu_workers, drain, worker_init
from ganzoo.errors import ConfigError
from ganzoo import ranks


def pick_device(name: str) -> torch.device:
    """``train.device``: auto (CUDA when present), cpu or cuda."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda, but no CUDA GPU is available here. Use train.device=cpu or auto.")
    return torch.device(name)


def place(pixels: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Where an in-memory set is kept: the device, unless it would take over half a GPU's free memory."""
    if device.type != "cuda":
        return pixels.to(device)  # the CPU: no copy
    free, _ = torch.cuda.mem_get_info(device)
    return pixels.to(device) if pixels.numel() * pixels.element_size() <= free // 2 else pixels


class _ReadBatch:
    """In a worker: ``indices -> (indices, source[indices])``, so the consumer can check it got what it asked for."""

    def __init__(self, source: ImageSource):
        self.source = source

    def __call__(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return indices, self.source[indices]


class Batches:
    """Each epoch a new order of the dataset; the ragged tail of an epoch is dropped.

    ``images`` is the in-memory set on the device, or an empty (0, C, H, W) tensor there when the
    images are read from elsewhere (streamed, or kept on the host); ``device`` is the device.
    """

    def __init__(self, data: ImageData, batch_size: int, device: torch.device, seed: int):
        n = len(data)
        self.device = device
        self.batch_size = min(batch_size, n)
        self.labels = data.labels.to(device)
        self.order = Order(data.labels, data.balance)
        self.flip = data.flip
        self.rng = torch.Generator().manual_seed(seed)
        self.perm = self.order.draw(self.rng)
        self.pos = 0
        self.source: ImageSource | None = data.pixels if data.streamed else None
        self.host: torch.Tensor | None = None  # an in-memory set kept on the host while training on a GPU
        empty = torch.empty((0, *data.shape[1:]), dtype=data.dtype, device=device)  # (0, C, H, W)
        if self.source is not None:
            self.images = empty
        else:
            placed = place(data.pixels, device)
            self.images, self.host = (placed, None) if placed.device == device else (empty, placed)
        self._reader: Iterator[tuple[torch.Tensor, torch.Tensor]] | None = None

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.source is not None and self._reader is None:
            self._reader = self._read_ahead()  # starts from the state as it is now, before this batch
        self.perm, self.pos = advance(self.order, self.perm, self.pos, self.rng, self.batch_size)
        idx = ranks.shard(self.perm[self.pos : self.pos + self.batch_size])  # this rank's slice of the global batch
        flip = ranks.shard(flips(self.pos, self.batch_size)) if self.flip else None
        self.pos += self.batch_size
        if self._reader is not None:
            got, x = next(self._reader)  # (B / ranks,), (B / ranks, C, H, W) as held
            if not torch.equal(got, idx):
                raise RuntimeError(
                    f"the streamed batch holds images {got.tolist()[:4]}…, not the {idx.tolist()[:4]}… asked for (a ganzoo bug)"
                )
        elif self.host is not None:
            x = self.host.index_select(0, idx)
        else:
            x = self.images.index_select(0, idx.to(self.images.device))  # (B / ranks, C, H, W); for uint8 ~7x faster than images[idx] here
        x = to_unit(x.to(self.device, non_blocking=True))  # (B / ranks, C, H, W) float32 in [-1, 1]
        if flip is not None:
            x = torch.where(flip.to(self.device)[:, None, None, None], x.flip(3), x)  # mirrored along the width
        return x, self.labels[idx.to(self.device)]  # (B / ranks, C, H, W), (B / ranks,)

    def load_state(self, perm: torch.Tensor, pos: int, rng_state: torch.Tensor) -> None:
        """Continue from a checkpoint's data state (a streamed set restarts its read-ahead there)."""
        if perm.numel() != self.order.n:
            raise ValueError(f"it shuffles {perm.numel()} images but the data has {self.order.n}")
        self.perm, self.pos = perm.clone(), int(pos)
        self.rng.set_state(rng_state)
        self.close()

    def close(self) -> None:
        """Stop a streamed set's worker processes (they start again on the next batch)."""
        if self._reader is not None:
            self._reader.close()  # type: ignore[attr-defined]
            self._reader = None

    def _read_ahead(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(indices, images) of the batches from the current state on, read by the source's workers."""
        assert self.source is not None
        workers = self.source.workers if self.source.workers is not None else cpu_workers()
        plan = Plan(self.order, self.perm, self.pos, self.rng.get_state(), self.batch_size, ranks.shard)  # now, not when first read
        loader = torch.utils.data.DataLoader(
            Guarded(_ReadBatch(self.source)),
            sampler=plan,
            batch_size=None,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            worker_init_fn=worker_init if workers else None,
            prefetch_factor=4 if workers else None,
            generator=torch.Generator().manual_seed(0),  # its worker seeds: never drawn from the training's global RNG
        )
        return drain(loader)
