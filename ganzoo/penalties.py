"""Shared maths for gradient penalties, for built-in and third-party constraints alike.

:class:`Penalty` is the base of every penalty constraint: it runs the penalty on every
``interval``-th critic step, scaled by ``interval`` (lazy regularisation, StyleGAN2), so the
penalty's average over steps is the same as applying it every step.

Penalties that take the critic's gradient with respect to its input should use
:func:`input_gradients` (or :func:`input_gradient_norms`): under ``train.precision=fp16`` the engine
sets a loss scale with :func:`scaled_input_gradients`, and these helpers then take the gradient of
the scaled scores and unscale it before the penalty is formed, as the PyTorch AMP documentation
prescribes for gradient penalties. In fp32 nothing changes.

Under data-parallel training each rank holds a shard of the global batch. Random tensors are drawn
at the global batch's size on every rank (the RNGs are identically seeded) and each rank keeps its
slice (:func:`shard_rand`), so a multi-process penalty sees exactly the single-process numbers.
A statistic over the whole batch (DRAGAN's standard deviation) is reduced over ranks (:func:`batch_std`).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import ClassVar, Iterator

import torch
from pydantic import Field

from ganzoo.components import Config, Constraint
from ganzoo import ranks

_SCALE: ContextVar[torch.Tensor | float | None] = ContextVar("ganzoo_input_gradient_scale", default=None)


def shard_rand(shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) noise of ``shape`` for this rank's shard: drawn for the global batch
    (``shape[0]`` times the number of ranks) and sliced, so every rank draws the same numbers."""
    return ranks.shard_draw(torch.rand, shape, device=like.device, dtype=like.dtype)  # (N, ...)


def batch_std(x: torch.Tensor) -> torch.Tensor:
    """``x.std()`` over the global batch (all ranks' shards together), without a graph."""
    if ranks.world() == 1:
        return x.detach().std()
    x = x.detach()
    stats = torch.stack([x.sum(), (x * x).sum(), torch.tensor(float(x.numel()), device=x.device, dtype=x.dtype)])
    total, sq, n = ranks.all_mean(stats) * ranks.world()
    return ((sq - total * total / n) / (n - 1)).clamp_min(0).sqrt()


def interpolate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Random points on the segments real_i -> fake_i, one mixing weight per sample, any shape (N, ...)."""
    alpha = shard_rand((real.shape[0],) + (1,) * (real.dim() - 1), real)
    return alpha * real.detach() + (1.0 - alpha) * fake.detach()  # (N, C, H, W)


@contextmanager
def scaled_input_gradients(scale: torch.Tensor | float | None) -> Iterator[None]:
    """While active, :func:`input_gradients` differentiates ``scale * scores`` and divides the result by ``scale``."""
    token = _SCALE.set(scale)
    try:
        yield
    finally:
        _SCALE.reset(token)


def input_gradients(critic, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """d critic(x_i) / d x_i for each sample, shaped like ``x``, with a graph so a penalty on it can be trained.

    Only the input is differentiated (not the critic's weights). The backward pass runs outside
    autocast, as AMP prescribes; the critic's forward pass runs under whatever autocast is active.
    """
    x = x.detach().requires_grad_(True)
    scores = critic(x, labels)  # (N,)
    scale = _SCALE.get()
    # Scaled: differentiate scale * mean (each score's gradient is scale / N, which stays inside
    # fp16's range where scale * sum would not), then undo both factors.
    out = scores.sum() if scale is None else scores.float().mean() * scale
    if torch.is_autocast_enabled(x.device.type):
        with torch.autocast(x.device.type, enabled=False):
            (grad,) = torch.autograd.grad(out, x, create_graph=True)
    else:
        (grad,) = torch.autograd.grad(out, x, create_graph=True)
    return grad if scale is None else grad * (scores.shape[0] / scale)  # (N, C, H, W)


def input_gradient_norms(critic, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-sample L2 norms of d critic(x_i) / d x_i, with a graph so the norms can be trained on."""
    grad = input_gradients(critic, x, labels)
    return grad.flatten(1).float().norm(2, dim=1)  # (N,)


def lazy_scale(step: int, interval: int) -> int:
    """Lazy regularisation: the penalty runs on every ``interval``-th critic step, scaled by ``interval``."""
    return interval if step % interval == 0 else 0


class PenaltyConfig(Config):
    weight: float = Field(10.0, ge=0, description="penalty weight (lambda)")
    interval: int = Field(1, ge=1, description="apply every k critic steps, scaled by k (lazy regularisation)")


class Penalty(Constraint):
    """A gradient penalty added to the critic loss. Subclasses implement :meth:`term`, the unscaled
    penalty of one batch; this class applies lazy regularisation (``cfg.interval``)."""

    per_sample: ClassVar[bool] = True
    double_backward: ClassVar[bool] = True  # the penalty differentiates the critic's input gradient
    Config = PenaltyConfig

    def term(self, critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def penalty(self, critic, real, fake, labels, step):
        scale = lazy_scale(step, self.cfg.interval)
        if scale == 0:
            return None
        return scale * self.term(critic, real, fake, labels)
