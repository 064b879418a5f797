"""A light DCGAN-style generator: a linear map from noise to a (base, s, s) map, then blocks that
double the size (nearest upsampling + 3x3 conv, or a 4x4 transposed conv), each followed by the
norm layer and ReLU, then a 3x3 conv and tanh.

The start size s is the image size halved while it stays even and at least 4 (28 -> 7, 32 -> 4,
48 -> 6, 8 -> 4), so any size works (an odd one starts at full size, with no upsampling); channels
halve at each upsampling. Label channels from the encoder join the first feature
map (``labels_join=map``), or, built at 1x1, the noise vector before the linear map
(``labels_join=noise``, as in the conditional GAN of Mirza & Osindero 2014).
"""

from typing import Literal

import torch
from pydantic import Field
from torch import nn

import ganzoo


def start_size(size: int) -> int:
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
    return size


class UpBlock(nn.Module):
    takes_labels = True  # its norm layer may be conditional (encoder=cbn)

    def __init__(self, c_in, c_out, size, norm, mode):
        super().__init__()
        if mode == "transposed":
            self.up = norm.wrap(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
            self.upconv = None
        else:
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), norm.wrap(nn.Conv2d(c_in, c_out, 3, padding=1)))
            self.upconv = ganzoo.UpsampleConv(self.up[1])  # the same maths; computes self.up without the upsampled map
        self.norm = norm(c_out, size, size)

    def forward(self, x, labels):
        h = self.up(x) if self.upconv is None else self.upconv(x)[0]  # (N, c_out, 2H, 2W)
        return torch.relu(ganzoo.call_with_labels(self.norm, h, labels))


class DcganGenerator(ganzoo.Generator):
    name = "dcgan"
    description = "light DCGAN generator: linear -> (upsample + conv or transposed conv, norm, ReLU) blocks -> conv -> tanh"
    reference = "Radford et al. 2016, arXiv 1511.06434"

    class Config(ganzoo.Config):
        z_dim: int = Field(128, ge=1, description="noise dimension")
        base: int = Field(128, ge=1, le=4096, description="channels of the first map; halved at each upsampling (at least 1)")
        upsample: Literal["nearest", "transposed"] = Field(
            "nearest", description="nearest upsampling + 3x3 conv, or a 4x4 stride-2 transposed conv"
        )
        norm: str = ganzoo.ComponentRef("normaliser", "batch", "norm layer after the projection and each upsampling")
        encoder: str = ganzoo.ComponentRef("encoder", "embed_channel", "how labels enter the generator")
        labels_join: Literal["map", "noise"] = Field(
            "map",
            description="channel encoders: label channels join the first feature map, or (as 1x1 maps) the noise vector before the "
            "linear map",
        )

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        norm = parts["norm"]
        self.start = s = start_size(spec.size)
        on_noise = cfg.labels_join == "noise"
        self.encoder = parts["encoder"](1, 1) if on_noise else parts["encoder"](s, s)
        self.project = norm.wrap(nn.Linear(cfg.z_dim + (self.encoder.channels if on_noise else 0), cfg.base * s * s))
        self.norm0 = norm(cfg.base, s, s)
        blocks: list[nn.Module] = []
        c_in, size = cfg.base + (0 if on_noise else self.encoder.channels), s
        while size < spec.size:
            c_out, size = max(1, c_in // 2 if blocks else cfg.base // 2), size * 2
            blocks.append(UpBlock(c_in, c_out, size, norm, cfg.upsample))
            c_in = c_out
        blocks += [norm.wrap(nn.Conv2d(c_in, spec.channels, 3, padding=1)), nn.Tanh()]
        self.blocks = ganzoo.LabelledSequential(*blocks)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n, s = z.shape[0], self.start
        if self.cfg.labels_join == "noise":
            z = torch.cat((z, self.encoder(labels).flatten(1)), dim=1)  # (N, z_dim + label channels)
        h = self.project(z).view(n, self.cfg.base, s, s)  # (N, base, s, s)
        h = torch.relu(ganzoo.call_with_labels(self.norm0, h, labels))
        if self.cfg.labels_join == "map":
            h = torch.cat((h, self.encoder(labels)), dim=1)  # (N, base + label channels, s, s)
        return self.blocks(h, labels)  # (N, C, S, S)


@ganzoo.hookimpl
def register_generators(register):
    register(DcganGenerator)
