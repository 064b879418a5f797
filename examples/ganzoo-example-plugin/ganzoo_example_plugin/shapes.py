"""Procedurally drawn shapes: class 0 discs, 1 squares, 2 crosses, at random positions and sizes."""

import torch
from pydantic import Field

import ganzoo

CLASSES = ("disc", "square", "cross")


class Shapes(ganzoo.Dataset):
    name = "shapes"
    description = "white discs, squares and crosses on black, random size and position (example plugin)"
    reference = "ganzoo example plugin"

    class Config(ganzoo.Config):
        n: int = Field(600, ge=3, le=100_000, description="number of images")
        size: int = Field(16, ge=8, le=256, description="image height and width")
        seed: int = Field(0, ge=0, description="seed of the drawing")

    def load(self):
        c = self.cfg
        g = torch.Generator().manual_seed(c.seed)
        labels = torch.arange(c.n) % len(CLASSES)
        ys, xs = torch.meshgrid(torch.arange(c.size), torch.arange(c.size), indexing="ij")  # (S, S) each
        radius = c.size * (0.15 + 0.2 * torch.rand(c.n, generator=g))  # (N,)
        cy = c.size * (0.3 + 0.4 * torch.rand(c.n, generator=g))
        cx = c.size * (0.3 + 0.4 * torch.rand(c.n, generator=g))
        dy = (ys[None] - cy[:, None, None]).abs()  # (N, S, S)
        dx = (xs[None] - cx[:, None, None]).abs()
        r = radius[:, None, None]
        disc = dy**2 + dx**2 <= r**2
        square = (dy <= r) & (dx <= r)
        cross = ((dy <= r / 3) & (dx <= r)) | ((dx <= r / 3) & (dy <= r))
        shapes = torch.stack((disc, square, cross), dim=1)  # (N, 3, S, S)
        mask = shapes[torch.arange(c.n), labels]  # (N, S, S)
        images = mask.float().unsqueeze(1) * 2 - 1  # (N, 1, S, S) in [-1, 1]
        return ganzoo.ImageData(images, labels, CLASSES)
