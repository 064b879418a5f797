"""The seed generator: a linear map from noise to a (base, S/4, S/4) map, seven residual blocks.

Quirks kept on purpose so the maths matches the seed notes: the label channel takes one of the
``base`` channels (255 noise + 1 label at base 256), the second norm comes after the residual add,
and two blocks end in dropout. At 28x28x1, 20 classes, z_dim 256 and base 256 it has exactly the
seed's 6,557,661 parameters.

``zero_init=true`` starts the last conv of every block's residual branch (``conv2``) at zero, so each
block starts as its shortcut followed by its second norm and activation (R3GAN, Fixup: Huang et al.
2024, Zhang et al. 2019); ``norm=none`` removes the norm layers. The blocks stay the seed's.
"""

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

import ganzoo

# (out-channel divisor of `base`, upsample x2 first, dropout at the end)
LAYOUT = ((1, True, False), (1, False, True), (2, True, False), (4, False, False),
          (8, False, True), (16, False, False), (32, False, False))


class ResBlock(nn.Module):
    takes_labels = True  # its norm layers may be conditional (encoder=cbn)

    def __init__(self, c_in, c_out, size, norm, upsample, dropout):
        super().__init__()
        self.upsample = upsample
        self.conv1 = norm.wrap(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False))
        self.norm1 = norm(c_out, size, size)
        self.conv2 = norm.wrap(nn.Conv2d(c_out, c_out, 3, padding=1, bias=False))
        self.norm2 = norm(c_out, size, size)
        self.shortcut = norm.wrap(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)) if c_in != c_out else nn.Identity()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        # conv1 (and a shortcut conv) read the upsampled map: one UpsampleConv computes both
        self.conv_shortcut = c_in != c_out
        self.up = ganzoo.UpsampleConv(*((self.conv1, self.shortcut) if self.conv_shortcut else (self.conv1,))) if upsample else None

    def zero_residual(self):
        """Start the residual branch's output at zero (conv2 has no bias)."""
        nn.init.zeros_(self.conv2.weight)

    def forward(self, x, labels):
        if self.up is None:
            h, skip = self.conv1(x), self.shortcut(x)
        elif self.conv_shortcut:
            h, skip = self.up(x)  # each (N, c_out, 2H, 2W)
        else:
            (h,) = self.up(x)  # (N, c_out, 2H, 2W)
            skip = F.interpolate(x, scale_factor=2, mode="nearest")  # identity shortcut of the upsampled map
        out = F.leaky_relu(ganzoo.call_with_labels(self.norm1, h, labels))
        out = self.conv2(out) + skip
        return self.dropout(F.leaky_relu(ganzoo.call_with_labels(self.norm2, out, labels)))


class ResNetGenerator(ganzoo.Generator):
    name = "resnet"
    description = "the seed generator: linear -> 7 residual blocks (2 upsampling) -> conv -> tanh"
    reference = "ganzoo seed notes; He et al. 2016 (residual blocks)"

    class Config(ganzoo.Config):
        z_dim: int = Field(256, ge=1, description="noise dimension")
        base: int = Field(256, ge=32, le=2048, multiple_of=32, description="channels of the first block; later blocks halve down to base/32")
        dropout: float = Field(0.25, ge=0, lt=1, description="dropout at the end of blocks 2 and 5 (seed: 0.25)")
        norm: str = ganzoo.ComponentRef("normaliser", "batch", "norm layer in each block")
        encoder: str = ganzoo.ComponentRef("encoder", "embed_channel", "how labels enter the generator")
        zero_init: bool = Field(False, description="start the last conv of each residual branch at zero, so every block starts as its shortcut (R3GAN, Fixup)")
        init: Literal["torch", "he"] = Field("torch", description="initial weights: torch's layer defaults, or 'he' (variance-preserving for the leaky ReLUs, zero biases), which a generator without norm layers needs to pass a signal through its blocks")

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        if spec.size % 4:
            raise ganzoo.ConfigError(f"generator 'resnet' upsamples twice, so the image size must be a multiple of 4; the data has {spec.size}.")
        self.start = spec.size // 4
        norm = parts["norm"]
        if cfg.zero_init and norm.reparametrises_weights:
            raise ganzoo.ConfigError(
                f"generator.zero_init=true starts layers at zero weights, but generator.norm={cfg.norm} rescales every weight "
                "(spectral normalisation divides by the largest singular value, which is 0 there). "
                "Use generator.zero_init=false, or a generator.norm that leaves the weights alone, such as none or layer."
            )
        self.encoder = parts["encoder"](self.start, self.start)
        self.noise_channels = cfg.base - self.encoder.channels
        if self.noise_channels < 1:
            raise ganzoo.ConfigError(
                f"generator 'resnet': the encoder adds {self.encoder.channels} label channels, which leaves no room "
                f"in generator.base={cfg.base} channels for the noise. Raise generator.base above {self.encoder.channels}."
            )
        self.project = norm.wrap(nn.Linear(cfg.z_dim, self.noise_channels * self.start**2))
        blocks: list[nn.Module] = [norm(cfg.base, self.start, self.start)]
        c_in, size = cfg.base, self.start
        for div, up, drop in LAYOUT:
            size = size * 2 if up else size
            blocks.append(ResBlock(c_in, cfg.base // div, size, norm, up, cfg.dropout if drop else 0.0))
            c_in = cfg.base // div
        blocks += [norm(c_in, size, size), norm.wrap(nn.Conv2d(c_in, spec.channels, 3, padding=1)), nn.Tanh()]
        self.blocks = ganzoo.LabelledSequential(*blocks)
        if cfg.init == "he":
            self.he_init()
        if cfg.zero_init:
            for block in blocks:
                if isinstance(block, ResBlock):
                    block.zero_residual()

    def he_init(self):
        """Kaiming-normal weights for the leaky ReLUs (slope 0.01) and zero biases: each layer keeps its
        input's scale, so a generator without norm layers does not shrink its signal block by block
        (torch's defaults divide the variance by about 6 per conv and activation here)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and not ganzoo.has_reparametrised_weights(m):
                nn.init.kaiming_normal_(m.weight, a=0.01, nonlinearity="leaky_relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n, s = z.shape[0], self.start
        h = self.project(z).view(n, self.noise_channels, s, s)  # (N, base - label channels, S/4, S/4)
        h = torch.cat((self.encoder(labels), h), dim=1)  # (N, base, S/4, S/4)
        return self.blocks(h, labels)  # (N, C, S, S)


@ganzoo.hookimpl
def register_generators(register):
    register(ResNetGenerator)
