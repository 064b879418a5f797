"""The reference sets: the evaluator's held-out images, cut into two random halves A and B.

Generated images are scored against both halves (one half of them against A, the other against B)
and real images get their floor as B scored against A: the same sizes and the same reference on
both sides, and none of these images was ever seen by the evaluator in training.
Their features and predictions are computed once per evaluator and kept with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganzoo.components import ImageData
from ganzoo.errors import DataError
from ganzoo.evaluation.evaluator import Evaluator, split


@dataclass(frozen=True)
class Side:
    """One set of scored images: labels (N,), features (N, 128), predictions (N,), and ``ids`` (N,)
    naming each row's original image (they repeat only in a bootstrap resample)."""

    labels: torch.Tensor
    features: torch.Tensor
    predictions: torch.Tensor
    ids: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows: torch.Tensor) -> "Side":
        return Side(self.labels[rows], self.features[rows], self.predictions[rows], self.ids[rows])

    def of_class(self, c: int) -> "Side":
        return self.take((self.labels == c).nonzero().flatten())


def side(evaluator: Evaluator, images: torch.Tensor, labels: torch.Tensor) -> Side:
    """Score float images (N, C, H, W) in [-1, 1] with the evaluator."""
    features, predictions = evaluator.features_and_predictions(images)
    return Side(labels.long(), features, predictions, torch.arange(len(labels)))


def reference(data: ImageData, evaluator: Evaluator) -> tuple[Side, Side]:
    """The held-out images as two random halves (A, B).

    The halves are random, not split class by class: every score treats its sets as independent draws,
    and a split that gives each half exactly its share of every class makes same-class pairs rarer
    within a half than across halves, which biases KID below zero (by about 0.2 on mnist5k, as much
    as its spread)."""
    if "reference" not in evaluator.cache:
        _, held = split(data.labels)
        held = held[torch.randperm(len(held), generator=torch.Generator().manual_seed(1))]
        a, b = held[: (len(held) + 1) // 2], held[(len(held) + 1) // 2 :]
        if min(len(a), len(b)) < 2:
            raise DataError(
                f"This dataset has too few images to score against: the evaluator holds out a fifth of each class as the "
                f"reference ({len(held)} of {len(data.labels)} images here), and it needs at least 4. Use a dataset with more images."
            )
        evaluator.cache["reference"] = (side(evaluator, data.floats(a), data.labels[a]), side(evaluator, data.floats(b), data.labels[b]))
    return evaluator.cache["reference"]


def subsample(ref: tuple[Side, Side], per_side: int, gen: torch.Generator) -> tuple[Side, Side]:
    """Both halves cut to ``per_side`` images each, drawn at random (all of them when they have no more)."""
    return tuple(s if len(s) <= per_side else s.take(torch.randperm(len(s), generator=gen)[:per_side].sort().values) for s in ref)  # type: ignore[return-value]


def held_out_size(data: ImageData) -> int:
    """How many held-out images the two halves hold together."""
    return len(split(data.labels)[1])
