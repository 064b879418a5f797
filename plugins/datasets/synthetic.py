"""Synthetic labelled images for tests and benchmarks: one random pattern per class plus noise."""

import torch
from pydantic import Field

import ganzoo


class Synthetic(ganzoo.Dataset):
    name = "synthetic"
    description = "random tensors: one fixed pattern per class plus noise, any size (tests, benchmarks)"
    reference = "ganzoo test data (no paper)"

    class Config(ganzoo.SamplingConfig):  # also data.flip, data.balance, data.limit
        num_classes: int = Field(10, ge=1, le=10000, description="number of classes")
        size: int = Field(28, ge=4, le=1024, description="image height and width")
        channels: int = Field(1, ge=1, le=4, description="image channels")
        n: int = Field(512, ge=1, le=1_000_000, description="number of images")
        seed: int = Field(0, ge=0, description="seed of the generated data (independent of the run seed)")

    def load(self):
        c = self.cfg
        g = torch.Generator().manual_seed(c.seed)
        patterns = torch.rand(c.num_classes, c.channels, c.size, c.size, generator=g) * 2 - 1
        labels = torch.arange(c.n) % c.num_classes
        noise = 0.1 * torch.randn(c.n, c.channels, c.size, c.size, generator=g)
        images = (patterns[labels] + noise).clamp(-1, 1)  # (N, C, H, W)
        return ganzoo.ImageData(images, labels, tuple(f"class{i}" for i in range(c.num_classes)))


@ganzoo.hookimpl
def register_datasets(register):
    register(Synthetic)
