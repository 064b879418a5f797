"""The critic's scores on real and fake images: one pass over both when the critic allows it.

A critic without batch-coupled layers (:func:`ganzoo.is_batch_coupled`) scores each image on its
own, so scoring ``cat(real, fake)`` in one pass gives the same scores as two passes, with one
forward and one backward over a batch of 2N instead of two of N. A batch-coupled critic (BatchNorm)
would see different batch statistics, so it always gets two passes.

The penalty's interpolated points keep their own pass: their input gradient is taken with a graph,
and over a fused batch that first backward pass (and the double backward after it) would run over
all 3N images instead of N. ``ganzoo bench`` measured it slower on a CPU (see the README).
"""

from __future__ import annotations

import torch

from ganzoo.components import Critic, is_batch_coupled


def can_fuse(critic: Critic) -> bool:
    """True when one pass over real and fake images together gives the same scores as two passes."""
    return not is_batch_coupled(critic)


def critic_scores(critic: Critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor, fused: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores (N,) of ``real`` and of ``fake`` (both (N, C, H, W), same ``labels``)."""
    if not fused:
        return critic(real, labels), critic(fake, labels)
    n = real.shape[0]
    scores = critic(torch.cat((real, fake)), torch.cat((labels, labels)))  # (2N,)
    return scores[:n], scores[n:]
