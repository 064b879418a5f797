"""One-hot label channels: one constant (H, W) map per class, 1 for the sample's class and 0 elsewhere."""

import torch
import torch.nn.functional as F

import ganzoo


class OneHotChannel(ganzoo.Encoder):
    name = "onehot_channel"
    description = "label -> one constant image channel per class (1 for its class, 0 for the others); no weights"
    reference = "Mirza & Osindero 2014, arXiv 1411.1784"

    def __init__(self, cfg, num_classes, height, width, features=0):
        super().__init__(cfg, num_classes, height, width, features)
        self.channels = num_classes

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(labels, self.num_classes).float()  # (N, K)
        return onehot[:, :, None, None].expand(-1, -1, self.height, self.width)  # (N, K, H, W)


@ganzoo.hookimpl
def register_encoders(register):
    register(OneHotChannel)
