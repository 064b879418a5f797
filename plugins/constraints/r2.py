"""R2 regularisation: gamma/2 * ||grad_x f(x)||^2 on generated images only (Mescheder et al. 2018).

Labels: fake_i was generated for label y_i, so the critic scores it with y_i (the labels rule in
README, "Labels at interpolated points"). The penalty differentiates the critic's input only: the
fakes are detached, so no gradient of the penalty reaches the generator. Real images do not enter.
"""

from pydantic import Field

import ganzoo


class R2(ganzoo.Penalty):
    name = "r2"
    description = "gamma/2 * squared input-gradient norm of the critic on generated images only"
    reference = "Mescheder et al. 2018, arXiv 1801.04406; Huang et al. 2024 (R3GAN), arXiv 2501.05441"

    class Config(ganzoo.Config):
        gamma: float = Field(10.0, ge=0, description="R2 weight gamma; the penalty is gamma/2 * mean ||grad f(fake)||^2")
        interval: int = Field(1, ge=1, description="apply every k critic steps, scaled by k (lazy regularisation)")

    def term(self, critic, real, fake, labels):
        sq_norms = ganzoo.input_gradients(critic, fake, labels).flatten(1).pow(2).sum(1)  # (N,)
        return 0.5 * self.cfg.gamma * sq_norms.mean()


@ganzoo.hookimpl
def register_constraints(register):
    register(R2)
