"""Quality figures: :data:`QUALITY`, the one table of them, and the per-class figures computed from the
evaluator's predictions and features.

Every place that shows a quality number (``ganzoo eval``, ``ganzoo compare``, ``quality.png``, the
report, ``ganzoo tune``'s objectives, ``ganzoo bench --to-quality``) reads :data:`QUALITY`: adding a
metric is computing it in :func:`ganzoo.evaluation.scoring.score_features` and adding its row here.

Every figure is computed twice: for the generated images, and for real images the evaluator never
trained on, scored the same way against the same reference (its ``floor`` key). The distances are in
:mod:`ganzoo.evaluation.distances`, precision/recall/density/coverage in
:mod:`ganzoo.evaluation.manifold`; here:

- class consistency: the share of images generated for class c that the evaluator assigns to c;
- intra-class diversity: per class, the RMS distance of generated features to their class mean,
  divided by the same spread of real features. Near 1 is healthy; near 0 is mode collapse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Quality:
    """One quality figure as every table and plot shows it."""

    key: str  # its key in a score (eval.json, an "eval" line of metrics.jsonl)
    label: str  # a column or row title
    fmt: str  # how a value is printed
    higher_is_better: bool | None  # None: not a quality target (the evaluator's own accuracy)
    reference: str = ""  # what to read it against, with {placeholders} from the score and the data
    panel: int | None = None  # which panel of quality.png draws it (None: not drawn)
    floor: str | None = None  # the key of the value real held-out images get, scored the same way
    brief: bool = False  # one of the columns of ganzoo compare's table
    aliases: tuple[str, ...] = ()  # other names a user may type for it (ganzoo tune --objective, bench --to-quality)

    def format(self, score: dict[str, Any]) -> str:
        value = score.get(self.key)
        try:
            return "-" if value is None else self.fmt.format(value)
        except (TypeError, ValueError):  # a damaged score file: show that it is not a number
            return "?"

    def reference_text(self, score: dict[str, Any], num_classes: int) -> str:
        """The text to read the value against; empty when the score lacks a field it names (an older
        eval.json, or a figure that was not asked for)."""
        try:
            return self.reference.format(**score, chance=1 / max(1, num_classes))
        except (KeyError, IndexError, TypeError, ValueError):
            return ""


QUALITY: tuple[Quality, ...] = (
    Quality(
        "class_acc",
        "class consistency",
        "{:.3f}",
        True,
        "1/K = {chance:.3f}; real {evaluator_acc:.3f} (lowest class {class_acc_min:.3f})",
        panel=0,
        floor="evaluator_acc",
        brief=True,
        aliases=("class_consistency",),
    ),
    Quality(
        "diversity",
        "intra-class diversity",
        "{:.2f}",
        True,
        "1.0 = real (lowest class {diversity_min:.2f})",
        panel=0,
        brief=True,
        aliases=("intra_class_diversity",),
    ),
    Quality("kid", "KID", "{:.4f}", False, "real {kid_floor:.4f}", floor="kid_floor", brief=True),
    Quality(
        "fd_ratio",
        "FD / floor",
        "{:.2f}",
        False,
        "FD {fd:.2f}, floor {fd_floor:.2f}, n = {n_ref} a side",
        panel=1,
        brief=True,
        aliases=("frechet_ratio",),
    ),
    Quality("precision", "precision", "{:.3f}", True, "real {precision_floor:.3f}", floor="precision_floor"),
    Quality("recall", "recall", "{:.3f}", True, "real {recall_floor:.3f}", floor="recall_floor", brief=True),
    Quality("density", "density", "{:.3f}", True, "real {density_floor:.3f}", floor="density_floor"),
    Quality("coverage", "coverage", "{:.3f}", True, "real {coverage_floor:.3f}", floor="coverage_floor"),
    Quality("cas", "CAS", "{:.3f}", True, "trained on real: {cas_real:.3f}", floor="cas_real", aliases=("classification_accuracy_score",)),
    Quality("evaluator_acc", "evaluator acc", "{:.3f}", None, "on held-out real images"),
)
COLLAPSE = 0.5  # mean diversity below this during training is reported as mode collapse


def quality_key(name: str) -> str | None:
    """The QUALITY key a user's name means (the key itself or one of its aliases), or None."""
    name = name.strip()
    return next((q.key for q in QUALITY if name == q.key or name in q.aliases), None)


def class_consistency(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predictions == labels).float().mean())


def spread(features: torch.Tensor) -> float:
    """RMS distance of (N, D) features to their mean."""
    return float((features - features.mean(0)).pow(2).sum(1).mean().sqrt())


def diversity(real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor, fake_labels: torch.Tensor) -> dict[int, float]:
    """Per class: spread of generated features / spread of real features."""
    out = {}
    for c in sorted(set(fake_labels.tolist()) & set(real_labels.tolist())):
        real_c, fake_c = real[real_labels == c], fake[fake_labels == c]
        if len(real_c) > 1 and len(fake_c) > 1:
            out[c] = spread(fake_c) / max(spread(real_c), 1e-12)
    return out
