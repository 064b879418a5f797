"""Precision, recall, density and coverage of a generated set against a real one, in a feature space.

Each real sample gets a ball whose radius is the distance to its k-th nearest real neighbour (and
each generated sample one from its k-th nearest generated neighbour):

- **precision**: the share of generated samples inside at least one real ball (are they realistic?);
- **recall**: the share of real samples inside at least one generated ball (is all of the data covered?)
  (Kynkäänniemi et al. 2019, arXiv 1904.06991);
- **density**: how many real balls hold each generated sample, over k, averaged (1 for a set like the
  real one; above 1 when samples crowd into dense real regions);
- **coverage**: the share of real samples whose own ball holds at least one generated sample; less
  fooled by outliers than recall (Naeem et al. 2020, arXiv 2002.09797).

k = 5, as Naeem et al. recommend. ``ids`` name each row's original sample when a set was resampled
with replacement (a bootstrap): copies of one sample are not each other's neighbours.
"""

from __future__ import annotations

import torch

K = 5


def _radii(x: torch.Tensor, ids: torch.Tensor, k: int) -> torch.Tensor:
    """(N,) distance of each row to its k-th nearest row of another sample (inf when there are fewer)."""
    dist = torch.cdist(x, x)  # (N, N)
    dist[ids[:, None] == ids[None, :]] = float("inf")
    k = min(k, len(x) - 1)
    if k < 1:
        return torch.full((len(x),), float("inf"), dtype=x.dtype)
    return dist.kthvalue(k, dim=1).values


def prdc(
    real: torch.Tensor, fake: torch.Tensor, k: int = K, ids_real: torch.Tensor | None = None, ids_fake: torch.Tensor | None = None
) -> dict[str, float]:
    """Precision, recall, density and coverage of (M, D) ``fake`` against (N, D) ``real`` features."""
    real, fake = real.double(), fake.double()
    ids_real = torch.arange(len(real)) if ids_real is None else ids_real
    ids_fake = torch.arange(len(fake)) if ids_fake is None else ids_fake
    r_real, r_fake = _radii(real, ids_real, k), _radii(fake, ids_fake, k)
    cross = torch.cdist(real, fake)  # (N, M): real i to fake j
    inside_real = cross <= r_real[:, None]  # fake j in the ball of real i
    return {
        "precision": float(inside_real.any(0).double().mean()),
        "recall": float((cross <= r_fake[None, :]).any(1).double().mean()),
        "density": float(inside_real.sum(0).double().mean() / max(1, min(k, len(real) - 1))),
        "coverage": float((cross.min(1).values <= r_real).double().mean()),
    }
