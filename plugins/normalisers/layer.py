"""LayerNorm over (C, H, W) of each sample, with a per-element affine map (as in the seed critic)."""

from torch import nn

import ganzoo


class LayerNormaliser(ganzoo.Normaliser):
    name = "layer"
    description = "LayerNorm over each sample's whole (C, H, W) feature map, elementwise affine"
    reference = "Ba et al. 2016, arXiv 1607.06450"

    def __call__(self, channels: int, height: int, width: int, affine: bool = True) -> nn.Module:
        return nn.LayerNorm([channels, height, width], elementwise_affine=affine)


@ganzoo.hookimpl
def register_normalisers(register):
    register(LayerNormaliser)
