"""Data-parallel training on torch.distributed, without DistributedDataParallel.

DDP does not support ``torch.autograd.grad``, which every gradient penalty needs (pytorch#47562).
ganzoo therefore follows StyleGAN3: each rank runs the single-process step on its shard of the
global batch, calls ``backward`` as usual, and then :func:`average_gradients` all-reduces the
gradients of the network about to be stepped (one flattened buffer) and divides by the number of
ranks. Every loss and penalty in the zoo is a mean over samples and every rank holds an equal
shard, so the averaged gradient is the single-process gradient over the global batch; weight
clipping then acts identically on identical parameters.

Every random tensor the engine draws (batch order, noise z, penalty mixing weights and
perturbations) is drawn at the global batch's size on every rank, from identically seeded
generators, and each rank keeps its slice (:func:`ganzoo.ranks.shard`; the rank maths lives in
:mod:`ganzoo.ranks`, the ground floor). A 2-process run therefore equals a 1-process run over the
same global batch within float tolerance.

The environment decides: under ``torchrun`` (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT`` set) :func:`init` joins the process group, ``nccl`` on CUDA and
``gloo`` on CPU; without those variables everything here is a no-op for one process. Only rank 0
writes files (:func:`ganzoo.ranks.is_writer`); there is no barrier for it, because rank 0 cannot pass a step's
all-reduce before the other ranks reach it.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist

from ganzoo.errors import ConfigError, Unreachable
from ganzoo import faults, ranks

TIMEOUT_ENV = "GANZOO_DIST_TIMEOUT"  # seconds a collective may wait for a missing rank (default 600)


def init(device: torch.device) -> torch.device:
    """Join the process group when launched by torchrun; return this rank's device.

    ``device`` is the one ``train.device`` picked. On CUDA each rank takes the GPU ``LOCAL_RANK``
    and the backend is nccl; on CPU it is gloo. Collectives time out after ``GANZOO_DIST_TIMEOUT``
    seconds (default 600), so a lost rank ends the run instead of hanging it.
    """
    use_cuda = device.type == "cuda"
    faults.active()  # a malformed test hook (GANZOO_FAULT) is refused before anything runs
    if not ranks.launched():
        return device
    me, size, local = ranks.env_int("RANK"), ranks.env_int("WORLD_SIZE"), ranks.env_int("LOCAL_RANK", "0")
    port = ranks.env_int("MASTER_PORT")
    if me >= size:
        raise ConfigError(
            f"RANK={me} with WORLD_SIZE={size}: the ranks of {size} processes are 0 to {size - 1}. Start ganzoo with torchrun, "
            "which sets both."
        )
    if use_cuda:
        if local >= torch.cuda.device_count():
            raise ConfigError(
                f"LOCAL_RANK={local}, but this node has {torch.cuda.device_count()} GPU(s). Start at most that many "
                "processes per node (torchrun --nproc_per_node=N)."
            )
        torch.cuda.set_device(local)
    if not ranks.active():
        raw = os.environ.get(TIMEOUT_ENV, "600")
        try:
            seconds = float(raw)
        except ValueError:
            seconds = float("nan")
        if not 0 < seconds < float("inf"):
            raise ConfigError(
                f"{TIMEOUT_ENV}={raw!r}: give the seconds a collective may wait for a missing rank, a positive number such as 600."
            )
        timeout = timedelta(seconds=seconds)
        try:
            dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timeout)
        except (RuntimeError, ValueError, OSError) as exc:  # torch's DistStoreError is a RuntimeError
            at = f"{os.environ.get('MASTER_ADDR')}:{port}"
            why = " ".join(str(exc).split())[:300]
            if "timed out" in why.lower() or "timeout" in why.lower():
                raise Unreachable(
                    f"Rank {me} of {size} waited {seconds:g} s ({TIMEOUT_ENV}) for the other ranks to join at {at}, and not all "
                    f"came ({why}). Start every rank (torchrun --nproc_per_node, and --nnodes on each machine) with the same "
                    f"MASTER_ADDR and MASTER_PORT, reachable from every machine; or give them longer with {TIMEOUT_ENV}=SECONDS."
                ) from None
            raise Unreachable(
                f"Rank {me} of {size} could not join the other ranks at {at} ({why}). Check MASTER_ADDR and MASTER_PORT "
                "(the same on every rank, reachable from this machine, the port free on rank 0's machine)."
            ) from None
    return torch.device("cuda", local) if use_cuda else torch.device("cpu")


def close(finished: bool = False) -> None:
    """Leave the process group. ``finished=True`` (every rank ended its run normally) first waits
    for all ranks, so that no rank tears down its connections while rank 0 still writes its last
    checkpoint: gloo could then abort the early rank at exit ("terminate called without an active
    exception", SIGABRT). After a failure there is no barrier: the other ranks may never arrive."""
    if not ranks.active():
        return
    if finished:
        dist.barrier()
    dist.destroy_process_group()


def check_batch(batch_size: int) -> None:
    """Refuse a global batch that the ranks cannot share equally, before anything is written."""
    if batch_size % ranks.world():
        raise ConfigError(
            f"train.batch_size={batch_size} (the global batch) cannot be split evenly over {ranks.world()} ranks. "
            f"Choose a multiple of {ranks.world()}, e.g. train.batch_size={batch_size - batch_size % ranks.world() or ranks.world()}."
        )


def average_gradients(module: torch.nn.Module) -> None:
    """Replace each parameter gradient by its mean over ranks: one all-reduce of one flat buffer.

    Parameters without a gradient are skipped; which parameters have one depends only on the
    graph, which is the same on every rank.
    """
    if ranks.world() == 1:
        return
    params = [p for p in module.parameters() if p.grad is not None]
    if not params:
        return
    flat = torch.cat([p.grad.flatten() for p in params])  # (sum of numels,)
    dist.all_reduce(flat)
    flat /= ranks.world()
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


@torch.no_grad()
def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if ranks.world() == 1:
        return
    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, src=0)


def sync_batchnorm(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``train.sync_bn=true``: BatchNorm statistics over the global batch (CUDA only, as torch's SyncBatchNorm)."""
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())
    if ranks.world() == 1 or not has_bn:
        return module
    if device.type != "cuda":
        raise ConfigError(
            "train.sync_bn=true needs CUDA: torch's SyncBatchNorm runs on GPUs only. On CPU use "
            "train.sync_bn=false (each rank normalises over its own shard) or a per-sample norm such as "
            "generator.norm=layer, instance or group."
        )
    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
