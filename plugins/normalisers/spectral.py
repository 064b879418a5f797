"""Spectral normalisation: each conv and linear weight is divided by its largest singular value,
estimated by power iteration (Miyato et al. 2018). It acts on weights, not on feature maps, so its
norm layer is the identity and ``wrap`` does the work (torch's ``parametrizations.spectral_norm``).
"""

from pydantic import Field
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

import ganzoo


class SpectralNormaliser(ganzoo.Normaliser):
    name = "spectral"
    description = "spectral normalisation of every conv/linear weight (largest singular value 1); no norm layer"
    reference = "Miyato et al. 2018, arXiv 1802.05957"
    reparametrises_weights = True

    class Config(ganzoo.Config):
        power_iterations: int = Field(1, ge=1, le=100, description="power-iteration steps per forward pass (the paper uses 1)")

    def __call__(self, channels: int, height: int, width: int, affine: bool = True) -> nn.Module:
        return nn.Identity()

    def wrap(self, layer: nn.Module) -> nn.Module:
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            return spectral_norm(layer, n_power_iterations=self.cfg.power_iterations)
        return layer


@ganzoo.hookimpl
def register_normalisers(register):
    register(SpectralNormaliser)
