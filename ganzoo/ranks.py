"""Which process this is, and the maths every rank does the same way: the ground floor of data-parallel training.

Under ``torchrun`` (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` set) each rank runs
the single-process step on its shard of the global batch. Every random tensor is drawn at the
global batch's size on every rank, from identically seeded generators, and each rank keeps its
slice (:func:`shard`, :func:`shard_draw`); a statistic over the whole batch is reduced over ranks
(:func:`all_mean`, :func:`all_any`). Without those variables everything here is the identity for
one process. Only rank 0 writes files (:func:`is_writer`).

This module imports only torch and :mod:`ganzoo.errors`, so penalties, the trainer and storage can
all use it. Joining and leaving the process group, gradient averaging and broadcasts are
:mod:`ganzoo.training.distributed`'s.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from ganzoo.errors import ConfigError

ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
# What each of torchrun's whole-number variables means, and its smallest valid value.
MEANING = {
    "RANK": ("the rank of this process, from 0 to WORLD_SIZE - 1", 0),
    "WORLD_SIZE": ("the number of processes, at least 1", 1),
    "LOCAL_RANK": ("the rank of this process on its machine, from 0", 0),
    "MASTER_PORT": ("the port of rank 0, from 1 to 65535", 1),
}


def env_int(name: str, default: str | None = None) -> int:
    """One of torchrun's whole-number variables, checked: a ConfigError naming it and its value otherwise."""
    raw = os.environ.get(name, default)
    meaning, low = MEANING[name]
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = None
    if value is None or value < low or (name == "MASTER_PORT" and value > 65535):
        raise ConfigError(
            f"{name}={raw!r} is not usable: {name} is {meaning}, a whole number. It is set by torchrun (or the launcher "
            "that started this process); start ganzoo with torchrun, or unset RANK, WORLD_SIZE, MASTER_ADDR and "
            "MASTER_PORT to run one process."
        )
    return value


def launched() -> bool:
    """True when this process was started by torchrun (or any launcher that sets the env:// variables)."""
    return all(k in os.environ for k in ENV)


def active() -> bool:
    """True once this process has joined a process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank: from the process group, or from torchrun's environment before it is joined."""
    if active():
        return dist.get_rank()
    return env_int("RANK") if launched() else 0


def world() -> int:
    """The number of processes: from the process group once joined, else 1 (nothing is shared yet)."""
    return dist.get_world_size() if active() else 1


def is_writer() -> bool:
    """Only rank 0 writes the run directory, progress, samples, evaluations and checkpoints."""
    return rank() == 0


def shard(x: torch.Tensor) -> torch.Tensor:
    """This rank's equal slice (along dim 0) of a tensor drawn at the global batch's size."""
    w = world()
    if w == 1:
        return x
    n = x.shape[0]
    if n % w:
        raise ConfigError(f"A global batch of {n} cannot be split evenly over {w} ranks; choose train.batch_size divisible by {w}.")
    b = n // w
    return x[rank() * b : (rank() + 1) * b]


def shard_draw(fn, shape: tuple[int, ...], **kwargs) -> torch.Tensor:
    """``fn`` (torch.rand, torch.randn) drawn for the global batch, ``shape[0]`` times the number of
    ranks, and sliced to this rank's shard: every rank draws the same numbers, as one process would."""
    return shard(fn((shape[0] * world(), *shape[1:]), **kwargs))  # (shape[0], ...)


def all_mean(x: torch.Tensor) -> torch.Tensor:
    """The mean of ``x`` over ranks (a no-op for one process). ``x`` is not modified."""
    if world() == 1:
        return x
    y = x.detach().clone()
    dist.all_reduce(y)
    return y / world()


def all_mean_dict(stats: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Scalar statistics averaged over ranks in one all-reduce (per-rank means -> global-batch means)."""
    if world() == 1:
        return stats
    keys = list(stats)
    mean = all_mean(torch.stack([stats[k].detach().float() for k in keys]))  # (K,)
    return dict(zip(keys, mean))


def all_any(flag: torch.Tensor) -> torch.Tensor:
    """A bool scalar that is true on every rank when it is true on any; unchanged without torchrun."""
    if not active():
        return flag
    x = flag.to(torch.int32)
    dist.all_reduce(x, op=dist.ReduceOp.MAX)
    return x.bool()
