"""Sets of known order built from real images, for checking that a yardstick ranks them correctly
(``tests/test_yardstick.py`` in CI, ``benchmarks/yardstick.py`` for the README's table).

From one real set: Gaussian noise at three levels, blur at two, 25% and 50% of the labels shuffled,
and half the classes collapsed to one image each (the first image of each of the lower half of the
classes stands in for all of that class's images). Images are float (N, C, H, W) in [-1, 1].
"""

from __future__ import annotations

import torch
import torchvision.transforms.functional as TF

NOISE = (0.1, 0.2, 0.4)  # standard deviations, in units of the [-1, 1] pixel range
BLUR = (1.0, 1.5)  # Gaussian blur sigmas in pixels (5x5 kernel)
SHUFFLED = (0.25, 0.5)  # shares of the labels permuted among themselves


def known_sets(images: torch.Tensor, labels: torch.Tensor, seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{"real": ..., "noise 0.1": ..., "blur 1.0": ..., "shuffled 0.25": ..., "collapsed": ...}``,
    each (images, labels)."""
    gen = torch.Generator().manual_seed(seed)
    sets = {"real": (images, labels)}
    for sigma in NOISE:
        sets[f"noise {sigma}"] = ((images + sigma * torch.randn(images.shape, generator=gen)).clamp(-1, 1), labels)
    for sigma in BLUR:
        sets[f"blur {sigma}"] = (TF.gaussian_blur(images, [5, 5], [sigma, sigma]), labels)
    for share in SHUFFLED:
        shuffled = labels.clone()
        idx = torch.randperm(len(labels), generator=gen)[: int(len(labels) * share)]
        shuffled[idx] = shuffled[idx[torch.randperm(len(idx), generator=gen)]]
        sets[f"shuffled {share}"] = (images, shuffled)
    collapsed = images.clone()
    classes = torch.unique(labels).tolist()
    for c in classes[: len(classes) // 2]:
        collapsed[labels == c] = images[(labels == c).nonzero()[0, 0]]
    sets["collapsed"] = (collapsed, labels)
    return sets
