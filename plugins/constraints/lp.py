"""Lipschitz penalty: the one-sided max(0, ||grad_x f(x_hat)|| - 1)^2 at real/fake interpolates.

Only gradient norms above 1 are penalised, so the critic may be flatter than 1-Lipschitz
(Petzka et al. 2018). Labels at interpolates: the real image's label, as for ``gp``.
"""

import torch

import ganzoo


class LipschitzPenalty(ganzoo.Penalty):
    name = "lp"
    description = "one-sided gradient penalty: only norms above 1 at real/fake interpolates (WGAN-LP)"
    reference = "Petzka et al. 2018, arXiv 1709.08894"

    def term(self, critic, real, fake, labels):
        norms = ganzoo.input_gradient_norms(critic, ganzoo.interpolate(real, fake), labels)  # (N,)
        return self.cfg.weight * (torch.relu(norms - 1.0) ** 2).mean()


@ganzoo.hookimpl
def register_constraints(register):
    register(LipschitzPenalty)
