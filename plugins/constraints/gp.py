"""Gradient penalty: (||grad_x f(x_hat)|| - target)^2 at random points between real and fake samples.

``target=1`` is WGAN-GP's two-sided penalty (the seed's); ``target=0`` pulls the gradient towards
zero at the interpolates, the zero-centred penalty of Thanh-Tung et al. 2019, which keeps the critic
from growing steep where real and fake meet.

Labels at interpolated points: each interpolate x_hat = a*real_i + (1-a)*fake_i takes label y_i,
the label of its real image. The engine generates fake_i for that same y_i, so both end points of
the segment share the label and so does every point on it. Every built-in penalty follows this
rule: a point derived from real image i (an interpolate, a perturbation, the image itself) is
scored with y_i.
"""

from pydantic import Field

import ganzoo


class GradientPenalty(ganzoo.Penalty):
    name = "gp"
    description = "gradient penalty on real/fake interpolates: (||grad|| - target)^2 (WGAN-GP at target 1)"
    reference = "Gulrajani et al. 2017, arXiv 1704.00028; Thanh-Tung et al. 2019, arXiv 1902.03984 (target 0)"

    class Config(ganzoo.PenaltyConfig):
        target: float = Field(1.0, ge=0, description="the gradient norm the penalty pulls towards: 1 (WGAN-GP, seed) or 0 (zero-centred)")

    def term(self, critic, real, fake, labels):
        x_hat = ganzoo.interpolate(real, fake)
        if self.cfg.target == 0:  # ||g||^2 itself: no square root, whose gradient is undefined at g = 0
            return self.cfg.weight * ganzoo.input_gradients(critic, x_hat, labels).flatten(1).float().pow(2).sum(1).mean()
        norms = ganzoo.input_gradient_norms(critic, x_hat, labels)  # (N,)
        return self.cfg.weight * ((norms - self.cfg.target) ** 2).mean()


@ganzoo.hookimpl
def register_constraints(register):
    register(GradientPenalty)
