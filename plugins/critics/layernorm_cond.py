"""The seed critic: seven 3x3 convs with a norm layer each, three average pools, a linear head.

Sizes: each pool halves the map, rounding down (28 -> 14 -> 7 -> 3, 32 -> 16 -> 8 -> 4, 48 -> 24 ->
12 -> 6), and a global average pool ends it, so any image at least 2**3 = 8 pixels wide works; smaller
ones are refused. Layer norms with per-position gains (``norm.affine=elementwise``) grow with the map.

The labels enter through the encoder: as extra image channels (the seed's ``embed_channel``) or as a
projection term on the pooled features (``projection``, the default). At 28x28x1, 20 classes, width
8, layer norm, the ``embed_channel`` encoder, a norm after the first conv and LeakyReLU slope 0.01
(``preset=seed`` spells these out) it has exactly the seed's 353,017 parameters.

Defaults that differ from the seed (README, "The design card's command"): labels by projection, no
norm layer on the input conv (as DCGAN's critic) and LeakyReLU slope 0.2 (as DCGAN and WGAN-GP).
"""

import torch
from pydantic import Field
from torch import nn

import ganzoo

# (out-channel multiple of `width`, pool after this conv)
LAYOUT = ((1, False), (2, True), (2, False), (4, True), (8, False), (16, False), (16, True))


class LayerNormCondCritic(ganzoo.Critic):
    name = "layernorm_cond"
    description = "the seed critic: 7 convs + norm + LeakyReLU, avg-pools, labels through its encoder"
    reference = "ganzoo seed notes; Gulrajani et al. 2017 (no BatchNorm in a GP critic)"

    class Config(ganzoo.Config):
        width: int = Field(8, ge=1, le=512, description="channels of the first conv; later ones are 2x-16x")
        norm: str = ganzoo.ComponentRef("normaliser", "layer", "norm layer after each conv")
        encoder: str = ganzoo.ComponentRef(
            "encoder", "projection", "how labels enter the critic (seed: embed_channel, an extra image channel)"
        )
        stem_norm: bool = Field(
            False, description="a norm layer after the first conv too (seed: true); false leaves the input layer without one, as DCGAN's"
        )
        slope: float = Field(
            0.2, gt=0, lt=1, description="negative slope of the LeakyReLUs (seed: torch's default 0.01; DCGAN and WGAN-GP use 0.2)"
        )

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        size, norm = spec.size, parts["norm"]
        pools = sum(pool for _, pool in LAYOUT)
        if size < 2**pools:  # each pool halves the map (rounding down); the last must still have a pixel
            raise ganzoo.ConfigError(
                f"critic 'layernorm_cond' average-pools the map {pools} times, halving it each time, so the images must be at "
                f"least {2**pools} pixels wide; the data is {size}x{size}. Use larger images, or critic=dcgan or critic=resnet, "
                "which take smaller ones."
            )
        features = cfg.width * LAYOUT[-1][0]
        self.encoder = parts["encoder"](size, size, features=features)
        layers: list[nn.Module] = []
        c_in = spec.channels + self.encoder.channels
        for i, (mult, pool) in enumerate(LAYOUT):
            c_out = cfg.width * mult
            normed = [norm(c_out, size, size)] if i > 0 or cfg.stem_norm else []
            layers += [norm.wrap(nn.Conv2d(c_in, c_out, 3, padding=1)), *normed, nn.LeakyReLU(cfg.slope)]
            if pool:
                layers.append(nn.AvgPool2d(kernel_size=4, stride=2, padding=1))
                size = (size - 2) // 2 + 1  # (size + 2 * 1 - 4) // 2 + 1: the map halves, rounding down
            c_in = c_out
        layers.append(nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*layers)
        self.head = norm.wrap(nn.Linear(c_in, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat((x, self.encoder(labels)), dim=1)  # (N, C + label channels, H, W)
        h = self.features(h).flatten(1)  # (N, 16 * width)
        return self.head(h).squeeze(1) + self.encoder.projection(h, labels)  # (N,)


@ganzoo.hookimpl
def register_critics(register):
    register(LayerNormCondCritic)
