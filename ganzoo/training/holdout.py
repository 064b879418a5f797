"""Training on part of a dataset (``data.limit``), and real images the critic never trains on
(``train.holdout_every``), whose scores show when the critic starts to memorise its training images.

:func:`split` draws one fixed shuffle of the dataset (seed 0, the same for every run seed, so runs
of several seeds train on the same images): the first ``k`` images are held out when
``train.holdout_every`` is on (``k`` = 5% of the dataset, at most 128; none, with a note, when that
is under :data:`MIN_HELD_OUT`), and the training set is the rest, or its first ``data.limit`` images.
With neither option the data is returned untouched, so a run without them trains exactly as before.

:class:`Probe` scores, every ``train.holdout_every`` generator steps, the held-out images, as many
fixed training images, and as many images from a fixed noise, with the critic as it is (the three
in one batch, so that BatchNorm's batch statistics treat them alike), and adds
their mean scores to the step's line: ``real_score_train``, ``real_score_heldout``,
``fake_score_probe``. A critic that generalises scores held-out digits like training ones; one that
memorises its training set scores held-out ones lower, towards the generated ones (Karras et al.
2020, "Training Generative Adversarial Networks with Limited Data", the validation heuristic r_v).
The probe changes no number of the training: it runs without gradients, puts back every buffer
(BatchNorm statistics) and the random state (dropout) it touches.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.imagedata import ImageData

SHARE, MOST, MIN_HELD_OUT = 0.05, 128, 16  # held out: 5% of the dataset, at most 128, and none below 16
SPLIT_SEED = 0


def split(data: ImageData, limit: int | None, holdout: bool) -> tuple[ImageData, ImageData | None, dict[str, Any], list[str]]:
    """(training data, held-out data or None, the split's record for config.json, notes for the user)."""
    n = len(data.labels)
    if limit is None and not holdout:
        return data, None, {}, []
    if data.streamed:
        raise ConfigError(
            "data.limit and train.holdout_every pick images from a dataset held in memory; this one is streamed from disk. "
            "Point data= at a smaller folder instead, or turn them off."
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    k = min(MOST, int(SHARE * n)) if holdout else 0
    notes = []
    if holdout and k < MIN_HELD_OUT:
        notes.append(
            f"train.holdout_every: the dataset has {n} images, 5% of which is under {MIN_HELD_OUT}: no images are held out, "
            "so the critic's overfitting is not measured"
        )
        k = 0
    rest = order[k:]
    if limit is not None:
        rest = rest[:limit]
    train_idx, held_idx = rest.sort().values, order[:k].sort().values
    subset = data.replace(images=data.pixels.index_select(0, train_idx), labels=data.labels.index_select(0, train_idx))
    held = data.replace(images=data.pixels.index_select(0, held_idx), labels=data.labels.index_select(0, held_idx)) if k else None
    if limit is not None:
        notes.append(f"data.limit={limit}: training on {len(train_idx)} of the {n} images" + (f" ({k} held out)" if k else ""))
    elif k:
        notes.append(f"train.holdout_every: {k} of the {n} images are held out of training, to measure the critic's overfitting")
    record = {"images": n, "train_images": len(train_idx), "heldout_images": k, "limit": limit}
    return subset, held, record, notes


class Probe:
    """The critic's mean score on the held-out images, on as many training images and on as many
    generated ones, every ``every`` generator steps (as 0-d tensors, read back with the step's line)."""

    def __init__(self, critic: nn.Module, generator: nn.Module, held: ImageData, train: ImageData, every: int, device: torch.device):
        self.critic, self.generator, self.every, self.device = critic, generator, every, device
        k = len(held.labels)
        g = torch.Generator().manual_seed(SPLIT_SEED + 1)
        pick = torch.randperm(len(train.labels), generator=g)[:k]
        self.held = (held.floats(torch.arange(k)).to(device), held.labels.to(device))  # (k, C, H, W), (k,)
        self.train = (train.floats(pick).to(device), train.labels.index_select(0, pick).to(device))
        self.z = torch.randn(k, generator.z_dim, generator=g).to(device)  # (k, z_dim): fixed noise
        self.fake_labels = self.held[1]

    def due(self, step: int) -> bool:
        """True after generator step ``step`` when the probe scores it."""
        return self.every > 0 and step % self.every == 0

    @torch.no_grad()
    def figures(self) -> dict[str, torch.Tensor]:
        nets = (self.critic, self.generator)
        buffers = [b.clone() for net in nets for b in net.buffers()]
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            fake = self.generator(self.z, self.fake_labels).float().contiguous()  # (k, C, H, W)
            # one batch, so that a critic with batch statistics (BatchNorm) normalises the three sets alike
            x, y = torch.cat((self.train[0], self.held[0], fake)), torch.cat((self.train[1], self.held[1], self.fake_labels))
            scores = self.critic(x, y).float().view(3, -1).mean(1)  # (3,)
            out = {"real_score_train": scores[0], "real_score_heldout": scores[1], "fake_score_probe": scores[2]}
        for saved, live in zip(buffers, (b for net in nets for b in net.buffers())):
            live.copy_(saved)
        return out
