"""Distances between two sets of features, computed in float64 from (N, D) tensors.

- :func:`frechet`: the Fréchet distance between Gaussians fitted to the two sets (Heusel et al. 2017,
  arXiv 1706.08500). Biased: at a finite n it is too large by an amount that grows with the sets'
  spread and shrinks with n, so two sets compare fairly only at the same n against the same reference.
  (Extrapolating it to n = infinity, FD-infinity of Chong and Forsyth 2020, arXiv 1911.07023, assumes
  the bias falls as 1/n; at the n of a few hundred that a 128-d feature space gets here it falls
  faster, and the extrapolation gave negative distances for real images, so ganzoo does not offer it.)
- :func:`kid`: kernel inception distance, the unbiased estimate of the squared MMD with the cubic
  polynomial kernel k(x, y) = (x.y / D + 1)^3 (Bińkowski et al. 2018, arXiv 1801.01401). Its
  expected value does not depend on n; on two samples of one distribution it is 0 on average and may
  come out slightly negative.
"""

from __future__ import annotations

import torch


def _moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.double()
    mu = x.mean(0)
    centred = x - mu
    return mu, centred.T @ centred / max(len(x) - 1, 1)  # (D,), (D, D)


def frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)) of two (N, D) feature sets."""
    mu_a, cov_a = _moments(a)
    mu_b, cov_b = _moments(b)
    # tr((S_a S_b)^1/2) is the sum of the square roots of the eigenvalues of S_a S_b, which are real and
    # non-negative (S_a S_b is similar to S_a^1/2 S_b S_a^1/2); rounding can leave tiny negative or
    # imaginary parts, which are dropped.
    eig = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0)
    value = (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * eig.sqrt().sum()
    return float(value.clamp(min=0))


def kid(a: torch.Tensor, b: torch.Tensor, ids_a: torch.Tensor | None = None, ids_b: torch.Tensor | None = None) -> float:
    """Unbiased squared MMD between two (N, D) feature sets with the cubic polynomial kernel.

    ``ids_a``/``ids_b`` name each row's original sample when a set was resampled with replacement
    (a bootstrap): pairs of copies of one sample are then left out of the within-set sums, as the
    diagonal is."""
    a, b = a.double(), b.double()
    d = a.shape[1]
    kernel = lambda x, y: (x @ y.T / d + 1) ** 3  # noqa: E731

    def within(x: torch.Tensor, ids: torch.Tensor | None) -> torch.Tensor:
        ids = torch.arange(len(x)) if ids is None else ids
        keep = ids[:, None] != ids[None, :]  # (N, N): distinct samples only
        return kernel(x, x)[keep].sum() / keep.sum().clamp(min=1)

    return float(within(a, ids_a) + within(b, ids_b) - 2 * kernel(a, b).mean())
