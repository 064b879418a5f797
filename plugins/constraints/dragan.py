"""DRAGAN: the gradient penalty (||grad|| - 1)^2 at points near the real data (Kodali et al. 2017).

Each real image x_i is perturbed to x_i + noise * std(x) * u_i, with std(x) the standard
deviation of the whole real batch (over all ranks) and u_i uniform in [0, 1) per pixel, as in the authors' code;
the penalty is taken at a random point x_i + a_i (perturbed_i - x_i) on that segment, a_i uniform
per sample. Generated images do not enter the penalty; each point keeps the label y_i of its
real image.
"""

import torch
from pydantic import Field

import ganzoo


def perturb(real: torch.Tensor, noise: float) -> torch.Tensor:
    """Random points between each real image and a uniformly perturbed copy of it."""
    real = real.detach()
    perturbed = real + noise * ganzoo.batch_std(real) * ganzoo.shard_rand(real.shape, real)  # (N, C, H, W)
    alpha = ganzoo.shard_rand((real.shape[0],) + (1,) * (real.dim() - 1), real)
    return real + alpha * (perturbed - real)


class Dragan(ganzoo.Penalty):
    name = "dragan"
    description = "gradient penalty at random perturbations of the real images (DRAGAN)"
    reference = "Kodali et al. 2017, arXiv 1705.07215"

    class Config(ganzoo.PenaltyConfig):
        noise: float = Field(0.5, gt=0, description="perturbation scale, in units of the real batch's standard deviation")

    def term(self, critic, real, fake, labels):
        norms = ganzoo.input_gradient_norms(critic, perturb(real, self.cfg.noise), labels)  # (N,)
        return self.cfg.weight * ((norms - 1.0) ** 2).mean()


@ganzoo.hookimpl
def register_constraints(register):
    register(Dragan)
