"""Classification accuracy score (CAS; Ravuri and Vinyals 2019, arXiv 1905.10887): train a classifier on
generated images, labelled with the classes they were generated for, and test it on the held-out real
images. The evaluator's own held-out accuracy, trained the same way on real images, is its ceiling
(``cas_real``). It costs one more classifier training (about as long as the evaluator's).
"""

from __future__ import annotations

from typing import Any

import torch

from ganzoo.components import Generator, ImageData
from ganzoo.evaluation.evaluator import Evaluator, split, train_classifier
from ganzoo.evaluation.generate import generate, noise
from ganzoo.imagedata import to_unit

MAX_IMAGES = 10_000  # generated for a run's CAS: as many as the evaluator's training images, up to this


def cas_of_images(images: torch.Tensor, labels: torch.Tensor, data: ImageData, evaluator: Evaluator) -> dict[str, Any]:
    """CAS of a labelled image set (uint8 or float (N, C, H, W))."""
    _model, accuracy = train_classifier(data, images=to_unit(images), labels=labels.long())  # the evaluator's own seed and recipe
    return {"cas": accuracy, "cas_real": evaluator.accuracy, "cas_images": len(labels)}


def cas_of_generator(generator: Generator, data: ImageData, evaluator: Evaluator, seed: int = 0) -> dict[str, Any]:
    """CAS of a generator, trained on as many generated images as the evaluator had real ones, with the
    same class mix."""
    train_idx, _ = split(data.labels)
    gen = torch.Generator().manual_seed(seed + 2)
    labels = data.labels[train_idx[torch.randperm(len(train_idx), generator=gen)[:MAX_IMAGES]]]
    images = generate(generator, noise(len(labels), generator.z_dim, seed + 2), labels, batch=250)  # (N, C, H, W) in [-1, 1]
    return cas_of_images(images, labels, data, evaluator)
