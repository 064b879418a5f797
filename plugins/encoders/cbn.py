"""Conditional BatchNorm (de Vries et al. 2017; the generator of Miyato & Koyama 2018): every
norm layer of the generator normalises without its own affine map and takes a per-channel gain and
bias from the label instead, ``gamma_y * norm(x) + beta_y``. Generator only.

The layer's normalisation is the generator's ``norm=`` choice built with ``affine=False``: with
``generator.norm=batch`` (the default of every built-in generator) this is conditional BatchNorm;
with another norm it is the same label-conditioned affine map on that norm. Gains start at 1 and
biases at 0, so a fresh layer equals its unconditional norm and learns how labels move it.
"""

import torch
from torch import nn

import ganzoo


class ConditionalNorm(nn.Module):
    """``gamma[y] * inner(x) + beta[y]`` per channel; ``forward(x (N, C, H, W), labels (N,))``."""

    takes_labels = True

    def __init__(self, inner: nn.Module, channels: int, num_classes: int):
        super().__init__()
        self.inner = inner
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.inner(x)  # (N, C, H, W)
        return self.gain(labels)[:, :, None, None] * h + self.bias(labels)[:, :, None, None]


class ConditionalNormaliser(ganzoo.Normaliser):
    """Wraps a generator's normaliser so its layers become :class:`ConditionalNorm`."""

    name = "conditional"

    def __init__(self, inner: ganzoo.Normaliser, num_classes: int):
        super().__init__(inner.cfg)
        self.inner, self.num_classes = inner, num_classes
        self.batch_coupled = inner.batch_coupled

    def __call__(self, channels: int, height: int, width: int, affine: bool = True) -> nn.Module:
        return ConditionalNorm(self.inner(channels, height, width, affine=False), channels, self.num_classes)

    def wrap(self, layer: nn.Module) -> nn.Module:
        return self.inner.wrap(layer)


class ConditionalBatchNorm(ganzoo.Encoder):
    name = "cbn"
    description = "generator only: conditional BatchNorm, each norm layer takes its gain and bias from the label"
    reference = "de Vries et al. 2017, arXiv 1707.00683; Miyato & Koyama 2018, arXiv 1802.05637"
    mode = "cbn"
    roles = frozenset({"generator"})
    channels = 0

    @classmethod
    def conditional(cls, cfg, num_classes, normaliser):
        return ConditionalNormaliser(normaliser, num_classes)


@ganzoo.hookimpl
def register_encoders(register):
    register(ConditionalBatchNorm)
