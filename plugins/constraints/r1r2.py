"""R1 + R2: gamma/2 * (mean ||grad_x f(real)||^2 + mean ||grad_x f(fake)||^2), the zero-centred
penalties on real and on generated images with one gamma (R3GAN's regulariser, which makes the
relativistic pairing loss converge locally; Huang et al. 2024, section 2).

Labels: real_i and fake_i both take y_i (fake_i was generated for it; README, "Labels at
interpolated points"). One critic pass scores real and fake images together (N real, then N fake),
which is exact because a penalised critic is per-sample (ganzoo refuses a batch-coupled one). The
inputs are detached, so no gradient of the penalty reaches the generator.
"""

import torch
from pydantic import Field

import ganzoo


class R1R2(ganzoo.Penalty):
    name = "r1r2"
    description = "gamma/2 * (squared input-gradient norm on real images + the same on generated images), one gamma"
    reference = "Huang et al. 2024 (R3GAN), arXiv 2501.05441; Mescheder et al. 2018, arXiv 1801.04406"

    class Config(ganzoo.Config):
        gamma: float = Field(10.0, ge=0, description="weight gamma of both penalties; the penalty is gamma/2 * (R1 + R2)")
        interval: int = Field(1, ge=1, description="apply every k critic steps, scaled by k (lazy regularisation)")

    def term(self, critic, real, fake, labels):
        n = real.shape[0]
        both = torch.cat((real.detach(), fake.detach()))  # (2N, C, H, W): reals, then their fakes
        sq_norms = ganzoo.input_gradients(critic, both, torch.cat((labels, labels))).flatten(1).pow(2).sum(1)  # (2N,)
        return 0.5 * self.cfg.gamma * (sq_norms[:n].mean() + sq_norms[n:].mean())


@ganzoo.hookimpl
def register_constraints(register):
    register(R1R2)
