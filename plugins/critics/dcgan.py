"""A plain DCGAN-style critic: a 3x3 stem (optional), then strided 4x4 convs that halve the map
while it is at least 8 pixels wide, each followed by the norm layer (except on the input layer)
and LeakyReLU(0.2), then a linear head on the flattened map.

Sizes: 28 -> 14 -> 7, 32 -> 16 -> 8 -> 4, 48 -> 24 -> 12 -> 6, 8 -> 4; a map under 8 wide gets one
stride-1 conv instead, so any size works. The channel count doubles at each stride,
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
        width: int = Field(
            64, ge=1, le=1024, description="channels of the stem (or, without one, of the first strided conv); doubled at each further conv"
        )
        stem: bool = Field(
            True,
            description="start with a 3x3 conv at full size; without it the first strided conv reads the image and, as the DCGAN "
            "paper's input layer, has no norm",
        )
        norm: str = ganzoo.ComponentRef("normaliser", "layer", "norm layer after each strided conv")
        encoder: str = ganzoo.ComponentRef("encoder", "embed_channel", "how labels enter the critic")

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        norm, size = parts["norm"], spec.size
        sizes = downsample_sizes(size) or [size]  # a map under 8 wide gets one stride-1 conv instead
        stride = bool(downsample_sizes(size))
        c_last = cfg.width * 2 ** (len(sizes) - (0 if cfg.stem else 1))
        features = c_last * sizes[-1] ** 2
        self.encoder = parts["encoder"](size, size, features=features)
        c_in = spec.channels + self.encoder.channels
        layers: list[nn.Module] = []
        if cfg.stem:
            layers += [norm.wrap(nn.Conv2d(c_in, cfg.width, 3, padding=1)), nn.LeakyReLU(0.2)]
            c_in = cfg.width
        c_out = 2 * cfg.width if cfg.stem else cfg.width
        for i, s in enumerate(sizes):
            conv = nn.Conv2d(c_in, c_out, 4, stride=2, padding=1) if stride else nn.Conv2d(c_in, c_out, 3, padding=1)
            input_layer = i == 0 and not cfg.stem
            layers += [norm.wrap(conv), *([] if input_layer else [norm(c_out, s, s)]), nn.LeakyReLU(0.2)]
            c_in, c_out = c_out, 2 * c_out
        self.features = nn.Sequential(*layers)
        self.head = norm.wrap(nn.Linear(features, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat((x, self.encoder(labels)), dim=1)  # (N, C + label channels, H, W)
        h = self.features(h).flatten(1)  # (N, c_last * s * s)
        return self.head(h).squeeze(1) + self.encoder.projection(h, labels)  # (N,)


@ganzoo.hookimpl
def register_critics(register):
    register(DcganCritic)
