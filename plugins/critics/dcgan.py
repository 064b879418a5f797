"""A plain DCGAN-style critic: a 3x3 stem, then strided 4x4 convs that halve the map while it is
at least 8 pixels wide, each followed by the norm layer and LeakyReLU(0.2), then a linear head on
the flattened map.

Sizes: 28 -> 14 -> 7, 32 -> 16 -> 8 -> 4, 8 -> 4. The channel count doubles at each stride,
starting from ``width``. Labels enter as extra input channels and/or a projection term.
"""

import torch
from pydantic import Field
from torch import nn

import ganzoo


def downsample_sizes(size: int) -> list[int]:
    """Map sizes after each stride-2 conv: halve while the map is at least 8 wide."""
    sizes = []
    while size >= 8:
        size = (size + 2 - 4) // 2 + 1  # k=4, s=2, p=1
        sizes.append(size)
    return sizes


class DcganCritic(ganzoo.Critic):
    name = "dcgan"
    description = "plain strided-conv critic (DCGAN discriminator without the sigmoid), norm after each strided conv"
    reference = "Radford et al. 2016, arXiv 1511.06434"

    class Config(ganzoo.Config):
        width: int = Field(64, ge=1, le=1024, description="channels of the stem; doubled at each strided conv")
        norm: str = ganzoo.ComponentRef("normaliser", "layer", "norm layer after each strided conv")
        encoder: str = ganzoo.ComponentRef("encoder", "embed_channel", "how labels enter the critic")

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        norm, size = parts["norm"], spec.size
        sizes = downsample_sizes(size) or [size]  # a map under 8 wide gets one stride-1 conv instead
        stride = bool(downsample_sizes(size))
        c_last = cfg.width * 2 ** len(sizes)
        features = c_last * sizes[-1] ** 2
        self.encoder = parts["encoder"](size, size, features=features)
        c_in = spec.channels + self.encoder.channels
        layers: list[nn.Module] = [norm.wrap(nn.Conv2d(c_in, cfg.width, 3, padding=1)), nn.LeakyReLU(0.2)]
        c = cfg.width
        for s in sizes:
            conv = nn.Conv2d(c, 2 * c, 4, stride=2, padding=1) if stride else nn.Conv2d(c, 2 * c, 3, padding=1)
            layers += [norm.wrap(conv), norm(2 * c, s, s), nn.LeakyReLU(0.2)]
            c *= 2
        self.features = nn.Sequential(*layers)
        self.head = norm.wrap(nn.Linear(features, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat((x, self.encoder(labels)), dim=1)  # (N, C + label channels, H, W)
        h = self.features(h).flatten(1)  # (N, c_last * s * s)
        return self.head(h).squeeze(1) + self.encoder.projection(h, labels)  # (N,)


@ganzoo.hookimpl
def register_critics(register):
    register(DcganCritic)
