"""A residual critic: pre-activation blocks (norm, ReLU, 3x3 conv, twice) with 2x2 average-pool
downsampling, a 1x1-conv shortcut, then ReLU, a global sum over positions and a linear head
(the ResNet critics of Gulrajani et al. 2017 and Miyato et al. 2018).

The first block starts from the raw image, without a norm or activation before its first conv.
Blocks downsample while the map is at least 8 wide (28 -> 14 -> 7, 32 -> 16 -> 8 -> 4, 48 -> 24 -> 12 -> 6),
then one more block keeps the size. All blocks have ``width`` channels.

``zero_init=true`` starts the last conv of every residual branch at zero (weights and bias), so each
block starts as its shortcut alone, as R3GAN's and Fixup's residual networks do (Huang et al. 2024;
Zhang et al. 2019). With ``norm=none`` that is R3GAN's normalisation-free critic, in this project's
plain residual blocks rather than the paper's grouped-conv, inverted-bottleneck ones.
"""

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

import ganzoo


class DownBlock(nn.Module):
    def __init__(self, c_in, c_out, size, norm, downsample, preactivate):
        super().__init__()
        self.preactivate, self.downsample = preactivate, downsample
        self.norm1 = norm(c_in, size, size) if preactivate else nn.Identity()
        self.conv1 = norm.wrap(nn.Conv2d(c_in, c_out, 3, padding=1))
        self.norm2 = norm(c_out, size, size)
        self.conv2 = norm.wrap(nn.Conv2d(c_out, c_out, 3, padding=1))
        self.shortcut = norm.wrap(nn.Conv2d(c_in, c_out, 1)) if (c_in != c_out or downsample) else nn.Identity()

    def zero_residual(self):
        """Start the residual branch's output at zero: the block is its shortcut until trained."""
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x):
        h = F.relu(self.norm1(x)) if self.preactivate else x
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        skip = self.shortcut(x)
        if self.downsample:
            h, skip = F.avg_pool2d(h, 2), F.avg_pool2d(skip, 2)  # (N, C, H/2, W/2)
        return h + skip


class ResNetCritic(ganzoo.Critic):
    name = "resnet"
    description = "residual critic: pre-activation blocks with average-pool downsampling, global sum, linear head"
    reference = "Gulrajani et al. 2017, arXiv 1704.00028; Miyato et al. 2018, arXiv 1802.05957"

    class Config(ganzoo.Config):
        width: int = Field(64, ge=1, le=1024, description="channels of every residual block")
        norm: str = ganzoo.ComponentRef("normaliser", "layer", "norm layer before each conv of a block")
        encoder: str = ganzoo.ComponentRef("encoder", "embed_channel", "how labels enter the critic")
        zero_init: bool = Field(
            False, description="start the last conv of each residual branch at zero, so every block starts as its shortcut (R3GAN, Fixup)"
        )

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        norm, size = parts["norm"], spec.size
        if cfg.zero_init and norm.reparametrises_weights:
            raise ganzoo.ConfigError(
                f"critic.zero_init=true starts layers at zero weights, but critic.norm={cfg.norm} rescales every weight "
                "(spectral normalisation divides by the largest singular value, which is 0 there). "
                "Use critic.zero_init=false, or a critic.norm that leaves the weights alone, such as none or layer."
            )
        self.encoder = parts["encoder"](size, size, features=cfg.width)
        c_in = spec.channels + self.encoder.channels
        blocks: list[nn.Module] = []
        while size >= 8:
            blocks.append(DownBlock(c_in, cfg.width, size, norm, downsample=True, preactivate=bool(blocks)))
            c_in, size = cfg.width, size // 2
        blocks.append(DownBlock(c_in, cfg.width, size, norm, downsample=False, preactivate=bool(blocks)))
        self.blocks = nn.Sequential(*blocks)
        if cfg.zero_init:
            for block in blocks:
                block.zero_residual()
        self.head = norm.wrap(nn.Linear(cfg.width, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat((x, self.encoder(labels)), dim=1)  # (N, C + label channels, H, W)
        h = F.relu(self.blocks(h)).sum(dim=(2, 3))  # (N, width): global sum over positions
        return self.head(h).squeeze(1) + self.encoder.projection(h, labels)  # (N,)


@ganzoo.hookimpl
def register_critics(register):
    register(ResNetCritic)
