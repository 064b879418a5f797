"""InstanceNorm: normalises each channel of each sample over its spatial positions (Ulyanov et al. 2016)."""

from torch import nn

import ganzoo


class InstanceNormaliser(ganzoo.Normaliser):
    name = "instance"
    description = "InstanceNorm2d: per-sample, per-channel statistics over H x W, with a per-channel affine map"
    reference = "Ulyanov et al. 2016, arXiv 1607.08022"
    needs_spatial = True  # a 1x1 map has one position: the layer would output zeros

    def __call__(self, channels: int, height: int, width: int, affine: bool = True) -> nn.Module:
        return nn.InstanceNorm2d(channels, affine=affine)


@ganzoo.hookimpl
def register_normalisers(register):
    register(InstanceNormaliser)
