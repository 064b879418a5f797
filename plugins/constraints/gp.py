"""Gradient penalty: (||grad_x f(x_hat)|| - 1)^2 at random points between real and fake samples.

Labels at interpolated points: each interpolate x_hat = a*real_i + (1-a)*fake_i takes label y_i,
the label of its real image. The engine generates fake_i for that same y_i, so both end points of
the segment share the label and so does every point on it.
"""

from pydantic import Field

import ganzoo
from ganzoo.penalties import input_gradient_norms, interpolate, lazy_scale


class GradientPenalty(ganzoo.Constraint):
    name = "gp"
    description = "two-sided gradient penalty on real/fake interpolates (WGAN-GP)"
    reference = "Gulrajani et al. 2017, arXiv 1704.00028"
    per_sample = True
    double_backward = True

    class Config(ganzoo.Config):
        weight: float = Field(10.0, ge=0, description="penalty weight (lambda)")
        interval: int = Field(1, ge=1, description="apply every k critic steps, scaled by k (lazy regularisation)")

    def penalty(self, critic, real, fake, labels, step):
        scale = lazy_scale(step, self.cfg.interval)
        if scale == 0:
            return None
        norms = input_gradient_norms(critic, interpolate(real, fake), labels)  # (N,)
        return self.cfg.weight * scale * ((norms - 1.0) ** 2).mean()


@ganzoo.hookimpl
def register_constraints(register):
    register(GradientPenalty)
