"""No normalisation: an identity layer."""

from torch import nn

import ganzoo


class NoNormaliser(ganzoo.Normaliser):
    name = "none"
    description = "no normalisation (identity)"
    reference = "baseline (no paper)"

    def __call__(self, channels: int, height: int, width: int, affine: bool = True) -> nn.Module:
        return nn.Identity()


@ganzoo.hookimpl
def register_normalisers(register):
    register(NoNormaliser)
