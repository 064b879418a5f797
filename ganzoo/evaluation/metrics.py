"""Quality metrics in the evaluator's feature space, and :data:`QUALITY`, the one table of them.

Every place that shows a quality number (``ganzoo eval``, ``ganzoo compare``, ``quality.png``)
reads :data:`QUALITY`: adding a metric is computing it in :func:`ganzoo.evaluation.scoring.score`
and adding its row here.

- Fréchet distance (Heusel et al. 2017, arXiv 1706.08500) and KID (Bińkowski et al. 2018,
  arXiv 1801.01401), both computed by torchmetrics with the evaluator as a custom feature extractor;
- class consistency: the share of samples generated for class c that the evaluator assigns to c;
- intra-class diversity: per class, the RMS distance of generated features to their class mean,
  divided by the same spread of real features. Near 1 is healthy; near 0 is mode collapse.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ganzoo.evaluation.evaluator import Evaluator


@dataclass(frozen=True)
class Quality:
    """One quality figure as every table and plot shows it."""

    key: str  # its key in a score (eval.json, an "eval" line of metrics.jsonl)
    label: str  # a column or row title
    fmt: str  # how a value is printed
    higher_is_better: bool | None  # None: not a quality target (the evaluator's own accuracy)
    reference: str = ""  # what to read it against, with {placeholders} from the score and the data
    panel: int | None = None  # which panel of quality.png draws it (None: not drawn)

    def format(self, score: dict[str, Any]) -> str:
        value = score.get(self.key)
        try:
            return "-" if value is None else self.fmt.format(value)
        except (TypeError, ValueError):  # a damaged score file: show that it is not a number
            return "?"

    def reference_text(self, score: dict[str, Any], num_classes: int) -> str:
        return self.reference.format(**score, chance=1 / max(1, num_classes))


QUALITY: tuple[Quality, ...] = (
    Quality("class_acc", "class consistency", "{:.3f}", True, "1/K = {chance:.3f}", panel=0),
    Quality("diversity", "intra-class diversity", "{:.2f}", True, "1.0 = real (lowest class {diversity_min:.2f})", panel=0),
    Quality("fd_ratio", "FD / floor", "{:.1f}", False, "Fréchet distance {fd:.3f}, floor {fd_floor:.3f}", panel=1),
    Quality("kid", "KID", "{:.4f}", False, "floor {kid_floor:.5f}"),
    Quality("evaluator_acc", "evaluator acc", "{:.3f}", None, "on held-out real images"),
)
COLLAPSE = 0.5  # mean diversity below this during training is reported as mode collapse


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
