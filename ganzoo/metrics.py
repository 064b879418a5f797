"""Quality metrics in the evaluator's feature space.

- Fréchet distance (Heusel et al. 2017, arXiv 1706.08500) and KID (Bińkowski et al. 2018,
  arXiv 1801.01401), both computed by torchmetrics with the evaluator as a custom feature extractor;
- class consistency: the share of samples generated for class c that the evaluator assigns to c;
- intra-class diversity: per class, the RMS distance of generated features to their class mean,
  divided by the same spread of real features. Near 1 is healthy; near 0 is mode collapse.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ganzoo.evaluator import Evaluator


class _FeatureExtractor(nn.Module):
    """Adapts the evaluator to torchmetrics: float images in [0, 1] -> (N, 128) features."""

    def __init__(self, evaluator: Evaluator):
        super().__init__()
        self.model = evaluator.model
        self.num_features = evaluator.model.num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.features(x.float() * 2 - 1)  # (N, 128)


def frechet_and_kid(evaluator: Evaluator, real: torch.Tensor, fake: torch.Tensor, kid_subsets: int = 20) -> tuple[float, float]:
    """Fréchet distance and KID between two image sets in [-1, 1] (N, C, H, W)."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    extractor = _FeatureExtractor(evaluator).eval()
    size = tuple(real.shape[1:])
    fid = FrechetInceptionDistance(feature=extractor, normalize=True, input_img_size=size)  # sums kept in float64
    subset = min(1000, len(real), len(fake))
    with warnings.catch_warnings():  # "KID keeps all features in memory": intended, at these sizes
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(feature=extractor, normalize=True, subsets=kid_subsets, subset_size=subset)
    with torch.no_grad():
        for metric in (fid, kid):
            for images, is_real in ((real, True), (fake, False)):
                for i in range(0, len(images), 500):
                    metric.update((images[i : i + 500] * 0.5 + 0.5).clamp(0, 1), real=is_real)
        fd = float(fid.compute())
        kid_mean, _ = kid.compute()
    return fd, float(kid_mean)


def class_consistency(evaluator: Evaluator, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((evaluator.predict(images) == labels).float().mean())


def spread(features: torch.Tensor) -> float:
    """RMS distance of (N, D) features to their mean."""
    return float((features - features.mean(0)).pow(2).sum(1).mean().sqrt())


def diversity(evaluator: Evaluator, real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor, fake_labels: torch.Tensor) -> dict[int, float]:
    """Per class: spread of generated features / spread of real features."""
    fr, ff = evaluator.features(real), evaluator.features(fake)
    out = {}
    for c in sorted(set(fake_labels.tolist()) & set(real_labels.tolist())):
        real_c, fake_c = fr[real_labels == c], ff[fake_labels == c]
        if len(real_c) > 1 and len(fake_c) > 1:
            out[c] = spread(fake_c) / max(spread(real_c), 1e-12)
    return out
