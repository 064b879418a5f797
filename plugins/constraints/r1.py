"""R1 regularisation: gamma/2 * ||grad_x f(x)||^2 on real images only, with their own labels
(Mescheder et al. 2018). Generated images do not enter the penalty."""

from pydantic import Field

import ganzoo


class R1(ganzoo.Penalty):
    name = "r1"
    description = "gamma/2 * squared input-gradient norm of the critic on real images only"
    reference = "Mescheder et al. 2018, arXiv 1801.04406"

    class Config(ganzoo.Config):
        gamma: float = Field(10.0, ge=0, description="R1 weight gamma; the penalty is gamma/2 * mean ||grad f(real)||^2")
        interval: int = Field(1, ge=1, description="apply every k critic steps, scaled by k (lazy regularisation)")

    def term(self, critic, real, fake, labels):
        sq_norms = ganzoo.input_gradients(critic, real, labels).flatten(1).pow(2).sum(1)  # (N,)
        return 0.5 * self.cfg.gamma * sq_norms.mean()


@ganzoo.hookimpl
def register_constraints(register):
    register(R1)
