"""A two-layer perceptron critic. Labels enter as extra image channels from the chosen encoder."""

import torch
from pydantic import Field
from torch import nn

import ganzoo


class MLPCritic(ganzoo.Critic):
    name = "mlp_critic"
    description = "two-layer perceptron critic on the flattened image plus label channels (example plugin)"
    reference = "ganzoo example plugin"

    class Config(ganzoo.Config):
        hidden: int = Field(256, ge=1, le=8192, description="hidden units")
        encoder: str = ganzoo.ComponentRef("encoder", "embed_channel", "how labels enter the critic")

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        # features= tells a projection encoder the width of the vector it is projected onto.
        self.encoder = parts["encoder"](spec.size, spec.size, features=cfg.hidden)
        inputs = (spec.channels + self.encoder.channels) * spec.size**2
        self.body = nn.Sequential(nn.Linear(inputs, cfg.hidden), nn.LeakyReLU(0.2))
        self.head = nn.Linear(cfg.hidden, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat((x, self.encoder(labels)), dim=1)  # (N, C + label channels, H, W)
        f = self.body(h.flatten(1))  # (N, hidden)
        # A channel encoder's projection term is 0; a projection encoder adds <embed(y), f>.
        return self.head(f).squeeze(1) + self.encoder.projection(f, labels)  # (N,)
