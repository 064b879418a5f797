"""The seed's ResNet generator, repaired: a linear map from noise to a (base, S/4, S/4) map, residual
blocks with two x2 upsamplings, then a norm, an activation, a 3x3 conv and tanh.

Defaults (the repair, README "The seed's model, repaired"): four pre-activation blocks
(norm, ReLU, conv, twice) of base, base, base/2 and base/2 channels; the labels joined to the noise
before the linear map; base 64; no dropout.

``layout=seed block=seed labels_join=map dropout=0.25`` (with base 256, z_dim 256, the
``embed_channel`` encoder) is the seed notes' generator exactly, quirks kept so the maths matches:
seven blocks whose channels halve down to base/32 at full resolution; each block conv, norm,
LeakyReLU, conv, then the residual add and a second norm and LeakyReLU after it; dropout at the end of
blocks 2 and 5; the label channel taking one of the ``base`` channels of the first map (255 noise +
1 label). At 28x28x1, 20 classes it has exactly the seed's 6,557,661 parameters.

Sizes: the first map is the image size over 2**(upsamplings), S/4 in both layouts (28 -> 7, 32 -> 8,
48 -> 12, 128 -> 32), so any multiple of 4 works and other sizes are refused.

``zero_init=true`` starts the last conv of every residual branch (``conv2``) at zero, so each block
starts as its shortcut (R3GAN, Fixup: Huang et al. 2024, Zhang et al. 2019); ``norm=none`` removes
the norm layers.
"""

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

import ganzoo

# (out-channel divisor of `base`, upsample x2 first, dropout at the end)
LAYOUTS = {
    "seed": (
        (1, True, False),
        (1, False, True),
        (2, True, False),
        (4, False, False),
        (8, False, True),
        (16, False, False),
        (32, False, False),
    ),
    "resnet": ((1, True, False), (1, False, False), (2, True, False), (2, False, False)),
}


class SeedBlock(nn.Module):
    """conv, norm, LeakyReLU, conv, + shortcut, norm, LeakyReLU (dropout): the seed's block."""

    takes_labels = True  # its norm layers may be conditional (encoder=cbn)

    def __init__(self, c_in, c_out, size, norm, upsample, dropout):
        super().__init__()
        self.conv1 = norm.wrap(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False))
        self.norm1 = norm(c_out, size, size)
        self.conv2 = norm.wrap(nn.Conv2d(c_out, c_out, 3, padding=1, bias=False))
        self.norm2 = norm(c_out, size, size)
        self.shortcut = norm.wrap(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)) if c_in != c_out else nn.Identity()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        # conv1 (and a shortcut conv) read the upsampled map: one UpsampleConv computes both
        self.conv_shortcut = c_in != c_out
        self.up = ganzoo.UpsampleConv(*((self.conv1, self.shortcut) if self.conv_shortcut else (self.conv1,))) if upsample else None

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


class PreActBlock(nn.Module):
    """norm, ReLU, (upsample), conv, norm, ReLU, conv, + shortcut: the pre-activation block of the
    ResNet generators of WGAN-GP, SNGAN and BigGAN (He et al. 2016b; Gulrajani et al. 2017)."""

    takes_labels = True

    def __init__(self, c_in, c_out, size, norm, upsample, dropout):
        super().__init__()
        in_size = size // 2 if upsample else size
        self.norm1 = norm(c_in, in_size, in_size)
        self.conv1 = norm.wrap(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False))
        self.norm2 = norm(c_out, size, size)
        self.conv2 = norm.wrap(nn.Conv2d(c_out, c_out, 3, padding=1, bias=False))
        self.shortcut = (
            norm.wrap(nn.Conv2d(c_in, c_out, 1, bias=False)) if c_in != c_out else nn.Identity()
        )  # 1x1: it commutes with upsampling
        self.upsample = upsample
        self.up = ganzoo.UpsampleConv(self.conv1) if upsample else None

    def forward(self, x, labels):
        h = F.relu(ganzoo.call_with_labels(self.norm1, x, labels))
        h = self.up(h)[0] if self.up is not None else self.conv1(h)  # (N, c_out, H', W')
        h = self.conv2(F.relu(ganzoo.call_with_labels(self.norm2, h, labels)))
        skip = self.shortcut(x)  # (N, c_out, H, W) before upsampling: a 1x1 conv and nearest upsampling commute
        return h + (F.interpolate(skip, scale_factor=2, mode="nearest") if self.upsample else skip)


class Tail(nn.Module):
    """norm, ReLU: what a pre-activation stack needs before its output conv."""

    takes_labels = True

    def __init__(self, channels, size, norm):
        super().__init__()
        self.norm = norm(channels, size, size)

    def forward(self, x, labels):
        return F.relu(ganzoo.call_with_labels(self.norm, x, labels))


class ResNetGenerator(ganzoo.Generator):
    name = "resnet"
    description = (
        "ResNet generator: linear -> residual blocks (2 upsampling) -> norm, ReLU, conv -> tanh; layout=seed block=seed is the seed's"
    )
    reference = "ganzoo seed notes; He et al. 2016 (residual blocks); Gulrajani et al. 2017 and Miyato & Koyama 2018 (generator layout)"

    class Config(ganzoo.Config):
        z_dim: int = Field(128, ge=1, description="noise dimension (seed: 256)")
        base: int = Field(
            64,
            ge=4,
            le=2048,
            description="channels of the first block; layout=resnet halves them once, layout=seed halves them down to base/32 (seed: 256)",
        )
        layout: Literal["resnet", "seed"] = Field(
            "resnet",
            description="resnet: 4 blocks of base, base, base/2, base/2 channels; seed: 7 blocks halving down to base/32, 5 of them "
            "at full resolution",
        )
        block: Literal["preact", "seed"] = Field(
            "preact",
            description="preact: norm, ReLU, conv twice, then the residual add; seed: conv, norm, LeakyReLU, conv, add, then a "
            "second norm and LeakyReLU",
        )
        dropout: float = Field(0.0, ge=0, lt=1, description="dropout at the end of blocks 2 and 5 of layout=seed (seed: 0.25)")
        labels_join: Literal["noise", "map"] = Field(
            "noise",
            description="channel encoders: the label channels join the noise before the linear map (built at 1x1), or take channels "
            "of the first feature map (seed: map)",
        )
        norm: str = ganzoo.ComponentRef("normaliser", "batch", "norm layer in each block")
        encoder: str = ganzoo.ComponentRef("encoder", "onehot_channel", "how labels enter the generator (seed: embed_channel)")
        zero_init: bool = Field(
            False, description="start the last conv of each residual branch at zero, so every block starts as its shortcut (R3GAN, Fixup)"
        )
        init: Literal["torch", "he"] = Field(
            "torch",
            description="initial weights: torch's layer defaults, or 'he' (variance-preserving for the leaky ReLUs, zero biases), "
            "which a generator without norm layers needs to pass a signal through its blocks",
        )

        @model_validator(mode="after")
        def _fits_the_layout(self):
            if self.layout == "seed" and self.base % 32:
                raise ValueError(
                    f"layout=seed halves the channels down to base/32, so generator.base must be a multiple of 32; got {self.base}"
                )
            if self.dropout > 0 and self.layout != "seed":
                raise ValueError(
                    "generator.dropout applies to blocks 2 and 5 of layout=seed; layout=resnet has no dropout (set "
                    "generator.dropout=0, or generator.layout=seed)"
                )
            return self

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        ups = sum(up for _, up, _ in LAYOUTS[cfg.layout])  # x2 upsamplings: 2 in both layouts
        scale = 2**ups
        if spec.size % scale:
            nearest = " and ".join(str(m) for m in (spec.size // scale * scale, (spec.size // scale + 1) * scale) if m > 0)
            raise ganzoo.ConfigError(
                f"generator 'resnet' (layout={cfg.layout}) upsamples its first map {ups} times by 2, so the image size must be a "
                f"multiple of {scale}; the data is {spec.size}x{spec.size} (the nearest sizes it takes are {nearest}). Resize the "
                "images, or use generator=dcgan or generator=mlp, which take any size."
            )
        self.start = spec.size // scale  # 28 -> 7, 32 -> 8, 48 -> 12, 128 -> 32
        norm = parts["norm"]
        if cfg.zero_init and norm.reparametrises_weights:
            raise ganzoo.ConfigError(
                f"generator.zero_init=true starts layers at zero weights, but generator.norm={cfg.norm} rescales every weight "
                "(spectral normalisation divides by the largest singular value, which is 0 there). "
                "Use generator.zero_init=false, or a generator.norm that leaves the weights alone, such as none or layer."
            )
        on_noise = cfg.labels_join == "noise"
        self.encoder = parts["encoder"](1, 1) if on_noise else parts["encoder"](self.start, self.start)
        self.noise_channels = cfg.base - (0 if on_noise else self.encoder.channels)
        if self.noise_channels < 1:
            raise ganzoo.ConfigError(
                f"generator 'resnet': the encoder adds {self.encoder.channels} label channels, which leaves no room "
                f"in generator.base={cfg.base} channels for the noise. Raise generator.base above {self.encoder.channels}, or join "
                "the labels to the noise (generator.labels_join=noise)."
            )
        z_in = cfg.z_dim + (self.encoder.channels if on_noise else 0)
        self.project = norm.wrap(nn.Linear(z_in, self.noise_channels * self.start**2))
        seed_block = cfg.block == "seed"
        blocks: list[nn.Module] = [norm(cfg.base, self.start, self.start)] if seed_block else []
        c_in, size = cfg.base, self.start
        for div, up, drop in LAYOUTS[cfg.layout]:
            size = size * 2 if up else size
            c_out = max(1, cfg.base // div)
            blocks.append((SeedBlock if seed_block else PreActBlock)(c_in, c_out, size, norm, up, cfg.dropout if drop else 0.0))
            c_in = c_out
        # the seed ends with a norm and the output conv (its last block already ended in an activation)
        blocks += [
            norm(c_in, size, size) if seed_block else Tail(c_in, size, norm),
            norm.wrap(nn.Conv2d(c_in, spec.channels, 3, padding=1)),
            nn.Tanh(),
        ]
        self.blocks = ganzoo.LabelledSequential(*blocks)
        if cfg.init == "he":
            self.he_init()
        if cfg.zero_init:
            for block in blocks:
                if isinstance(block, (SeedBlock, PreActBlock)):
                    nn.init.zeros_(block.conv2.weight)

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
        if self.cfg.labels_join == "noise":
            z = torch.cat((z, self.encoder(labels).flatten(1)), dim=1)  # (N, z_dim + label channels)
        h = self.project(z).view(n, self.noise_channels, s, s)  # (N, base [- label channels], s, s), s = S / 4
        if self.cfg.labels_join == "map":
            h = torch.cat((self.encoder(labels), h), dim=1)  # (N, base, s, s)
        return self.blocks(h, labels)  # (N, C, S, S)


@ganzoo.hookimpl
def register_generators(register):
    register(ResNetGenerator)
