"""Shared maths for gradient penalties, for built-in and third-party constraints alike."""

from __future__ import annotations

import torch


def interpolate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Random points on the segments real_i -> fake_i, one mixing weight per sample, any shape (N, ...)."""
    alpha = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    return alpha * real.detach() + (1.0 - alpha) * fake.detach()  # (N, C, H, W)


def input_gradient_norms(critic, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-sample L2 norms of d critic(x_i) / d x_i, with a graph so the norms can be trained on."""
    x = x.detach().requires_grad_(True)
    scores = critic(x, labels)  # (N,)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)  # (N,)


def lazy_scale(step: int, interval: int) -> int:
    """Lazy regularisation: the penalty runs on every ``interval``-th critic step, scaled by ``interval``."""
    return interval if step % interval == 0 else 0
