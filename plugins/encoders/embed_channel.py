"""The seed's label encoder: Embedding -> Linear -> one extra (H, W) image channel."""

import torch
from pydantic import Field
from torch import nn

import ganzoo


class EmbedChannel(ganzoo.Encoder):
    name = "embed_channel"
    description = "label -> Embedding -> Linear -> one extra image channel (the seed's encoder)"
    reference = "ganzoo seed notes; conditioning as in Mirza & Osindero 2014, arXiv 1411.1784"
    channels = 1

    class Config(ganzoo.Config):
        embed_dim: int | None = Field(None, ge=1, description="embedding width; default: the number of classes")

    def __init__(self, cfg, num_classes, height, width, features=0):
        super().__init__(cfg, num_classes, height, width, features)
        dim = cfg.embed_dim or num_classes
        self.embed = nn.Embedding(num_classes, dim)
        self.proj = nn.Linear(dim, height * width)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        out = self.proj(self.embed(labels))  # (N, H*W)
        return out.view(labels.shape[0], 1, self.height, self.width)  # (N, 1, H, W)


@ganzoo.hookimpl
def register_encoders(register):
    register(EmbedChannel)
