"""A multilayer perceptron generator: (noise, label features) -> ``depth`` hidden layers of
``width`` units (linear, norm, ReLU) -> linear -> tanh -> image.

The encoder is built for a 1x1 map, so its channels become extra input features. The norm layers
see each hidden vector as a (width, 1, 1) map; normalisers that need spatial positions (instance
norm) are refused (``feature_maps = False``).
"""

import torch
from pydantic import Field
from torch import nn

import ganzoo


class MlpGenerator(ganzoo.Generator):
    name = "mlp"
    description = "MLP generator: depth x (linear, norm, ReLU) hidden layers -> linear -> tanh"
    reference = "Goodfellow et al. 2014, arXiv 1406.2661"
    feature_maps = False

    class Config(ganzoo.Config):
        z_dim: int = Field(64, ge=1, description="noise dimension")
        width: int = Field(512, ge=1, le=16384, description="units per hidden layer")
        depth: int = Field(3, ge=1, le=16, description="number of hidden layers")
        norm: str = ganzoo.ComponentRef("normaliser", "batch", "norm layer after each hidden linear layer")
        encoder: str = ganzoo.ComponentRef("encoder", "onehot_channel", "how labels enter the generator (as input features)")

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        norm = parts["norm"]
        self.encoder = parts["encoder"](1, 1)
        d_in = cfg.z_dim + self.encoder.channels
        self.linears = nn.ModuleList()
        self.norms = nn.ModuleList()
        for _ in range(cfg.depth):
            self.linears.append(norm.wrap(nn.Linear(d_in, cfg.width)))
            self.norms.append(norm(cfg.width, 1, 1))
            d_in = cfg.width
        self.out = norm.wrap(nn.Linear(d_in, spec.channels * spec.size**2))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n = z.shape[0]
        h = torch.cat((z, self.encoder(labels).flatten(1)), dim=1)  # (N, z_dim + label features)
        for linear, norm in zip(self.linears, self.norms):
            h = linear(h)[:, :, None, None]  # (N, width, 1, 1) for the norm layer
            h = torch.relu(ganzoo.call_with_labels(norm, h, labels)).flatten(1)  # (N, width)
        x = torch.tanh(self.out(h))  # (N, C * S * S)
        return x.view(n, self.spec.channels, self.spec.size, self.spec.size)  # (N, C, S, S)


@ganzoo.hookimpl
def register_generators(register):
    register(MlpGenerator)
