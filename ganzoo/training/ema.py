"""An exponential moving average (EMA) of the generator's weights, used for samples when
``train.ema > 0`` (as in Karras et al. 2018 and later GANs).

After each generator step: ``ema = d * ema + (1 - d) * weights`` with the warm-up
``d = min(train.ema, (1 + t) / (10 + t))`` at generator step t (the ``num_updates`` rule of
TensorFlow's ``ExponentialMovingAverage``), so early averages are not dominated by the random
initial weights. Buffers (BatchNorm running statistics, spectral-norm vectors) are copied, not
averaged. The copy lives in eval mode and never receives gradients.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, module: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    def decay_at(self, step: int) -> float:
        """The decay used for the update after generator step ``step`` (0-based)."""
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, module: nn.Module, step: int) -> None:
        d = self.decay_at(step)
        for avg, p in zip(self.module.parameters(), module.parameters()):
            avg.lerp_(p.detach(), 1.0 - d)
        for avg, b in zip(self.module.buffers(), module.buffers()):
            avg.copy_(b)
