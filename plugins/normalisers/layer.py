"""LayerNorm over (C, H, W) of each sample, with a gain and bias per element (as in the seed critic:
C*H*W of each) or per channel (C of each; the statistics are the same, it is GroupNorm with one group)."""

from typing import Literal

from pydantic import Field
from torch import nn

import ganzoo


class LayerNormaliser(ganzoo.Normaliser):
    name = "layer"
    description = "LayerNorm over each sample's whole (C, H, W) feature map, with an elementwise or per-channel affine map"
    reference = "Ba et al. 2016, arXiv 1607.06450"

    class Config(ganzoo.Config):
        affine: Literal["elementwise", "channel"] = Field(
            "elementwise", description="a gain and bias for every element of the (C, H, W) map (seed), or one per channel"
        )

    def __call__(self, channels: int, height: int, width: int, affine: bool = True) -> nn.Module:
        if self.cfg.affine == "channel":
            return nn.GroupNorm(1, channels, affine=affine)  # statistics over (C, H, W), a gain and bias per channel
        return nn.LayerNorm([channels, height, width], elementwise_affine=affine)


@ganzoo.hookimpl
def register_normalisers(register):
    register(LayerNormaliser)
