"""No conditioning: the network ignores the labels (an unconditional GAN)."""

import torch

import ganzoo


class NoEncoder(ganzoo.Encoder):
    name = "none"
    description = "ignore the labels: an unconditional network"
    channels = 0

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.new_zeros((labels.shape[0], 0, self.height, self.width), dtype=torch.float32)  # (N, 0, H, W)


@ganzoo.hookimpl
def register_encoders(register):
    register(NoEncoder)
