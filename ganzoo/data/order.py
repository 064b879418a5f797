"""Which images training visits, in which order: one epoch at a time, drawn from a seeded generator,
so that (this epoch's order, the position in it, the generator's state) is the whole state a
checkpoint needs to continue exactly.

- An epoch is a permutation of the N images (``torch.randperm``), or with ``balance`` N draws with
  replacement in which every class is equally likely (each image weighs 1 / its class's count).
- Batches are consecutive slices of it; the ragged tail is dropped and a new epoch drawn.
- With ``flip`` the images at odd positions of the epoch are mirrored left to right. An image lands
  at a uniformly random position each epoch, so it is mirrored in half of the epochs, at random,
  and this needs no random numbers (and no state) of its own.

:class:`Plan` replays the same rules ahead of the consumer, for the DataLoader of a streamed set.
"""

from __future__ import annotations

from typing import Callable, Iterator

import torch


class Order:
    """Draws epochs for images with these ``labels`` (N,)."""

    def __init__(self, labels: torch.Tensor, balance: bool = False):
        self.n = int(labels.shape[0])
        self.weights = None
        if balance:
            counts = torch.bincount(labels.cpu()).double()  # (K,)
            self.weights = 1.0 / counts[labels.cpu()]  # (N,): every class weighs the same in total

    def draw(self, rng: torch.Generator) -> torch.Tensor:
        """The next epoch: (N,) image indices."""
        if self.weights is None:
            return torch.randperm(self.n, generator=rng)
        return torch.multinomial(self.weights, self.n, replacement=True, generator=rng)


def flips(pos: int, k: int) -> torch.Tensor:
    """(k,) bool: which of the batch at epoch position ``pos`` are mirrored (the odd positions)."""
    return torch.arange(pos, pos + k) % 2 == 1


def advance(order: Order, perm: torch.Tensor, pos: int, rng: torch.Generator, batch: int) -> tuple[torch.Tensor, int]:
    """(epoch, position) of the next batch: a new epoch when fewer than ``batch`` images are left."""
    if pos + batch > perm.numel():
        return order.draw(rng), 0
    return perm, pos


class Plan:
    """The index batches a consumer at (``perm``, ``pos``, generator state ``rng_state``) will take,
    forever, each passed through ``shard`` (this rank's slice); used as a DataLoader sampler, so the
    workers read ahead exactly what training asks for next."""

    def __init__(
        self, order: Order, perm: torch.Tensor, pos: int, rng_state: torch.Tensor, batch: int, shard: Callable[[torch.Tensor], torch.Tensor]
    ):
        self.order, self.perm, self.pos, self.batch, self.shard = order, perm.clone(), pos, batch, shard
        self.rng = torch.Generator()
        self.rng.set_state(rng_state.clone())

    def __iter__(self) -> Iterator[torch.Tensor]:
        while True:
            self.perm, self.pos = advance(self.order, self.perm, self.pos, self.rng, self.batch)
            yield self.shard(self.perm[self.pos : self.pos + self.batch])
            self.pos += self.batch
