"""Gradient penalty: (||grad_x f(x_hat)|| - 1)^2 at random points between real and fake samples.

Labels at interpolated points: each interpolate x_hat = a*real_i + (1-a)*fake_i takes label y_i,
the label of its real image. The engine generates fake_i for that same y_i, so both end points of
the segment share the label and so does every point on it. Every built-in penalty follows this
rule: a point derived from real image i (an interpolate, a perturbation, the image itself) is
scored with y_i.
"""

import ganzoo


class GradientPenalty(ganzoo.Penalty):
    name = "gp"
    description = "two-sided gradient penalty on real/fake interpolates (WGAN-GP)"
    reference = "Gulrajani et al. 2017, arXiv 1704.00028"

    def term(self, critic, real, fake, labels):
        norms = ganzoo.input_gradient_norms(critic, ganzoo.interpolate(real, fake), labels)  # (N,)
        return self.cfg.weight * ((norms - 1.0) ** 2).mean()


@ganzoo.hookimpl
def register_constraints(register):
    register(GradientPenalty)
