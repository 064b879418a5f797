"""Weight clipping: every critic weight is clamped to [-c, c] after each critic step."""

import torch
from pydantic import Field

import ganzoo


class WeightClip(ganzoo.Constraint):
    name = "clip"
    description = "clamp every critic weight to [-c, c] after each critic step (original WGAN)"
    reference = "Arjovsky et al. 2017, arXiv 1701.07875"
    acts_on_weights = True  # refuses spectral normalisation, which rescales the weights it clips

    class Config(ganzoo.Config):
        limit: float = Field(0.01, gt=0, description="clip value c")

    @torch.no_grad()
    def after_critic_step(self, critic):
        for p in critic.parameters():
            p.clamp_(-self.cfg.limit, self.cfg.limit)


@ganzoo.hookimpl
def register_constraints(register):
    register(WeightClip)
