"""Least-squares GAN (Mao et al. 2017): the critic regresses real scores onto ``real_target`` (b) and
fake scores onto ``fake_target`` (a); the generator pulls its fake scores onto ``generator_target`` (c).

    critic:    1/2 mean (f(real) - b)^2 + 1/2 mean (f(fake) - a)^2
    generator: 1/2 mean (f(fake) - c)^2

The defaults a=0, b=c=1 are the 0-1 coding the paper uses in its experiments; a=-1, b=1, c=0
satisfies its conditions b - c = 1, b - a = 2, under which the objective minimises the Pearson
chi-squared divergence. Higher scores mean "more real", as for every ganzoo loss, so b must lie
above a, and c above a (the generator pulls its fakes away from the fake target).
"""

from pydantic import Field, model_validator

import ganzoo


class LeastSquares(ganzoo.Loss):
    name = "lsgan"
    description = "least squares: critic 1/2 (real - b)^2 + 1/2 (fake - a)^2, generator 1/2 (fake - c)^2; targets a, b, c are options"
    reference = "Mao et al. 2017, arXiv 1611.04076"

    class Config(ganzoo.Config):
        fake_target: float = Field(0.0, description="a: the score the critic gives generated images")
        real_target: float = Field(1.0, description="b: the score the critic gives real images; above fake_target")
        generator_target: float = Field(1.0, description="c: the score the generator wants for its images; above fake_target")

        @model_validator(mode="after")
        def _ordered(self):
            if not (self.real_target > self.fake_target and self.generator_target > self.fake_target):
                raise ValueError(
                    f"loss.real_target ({self.real_target:g}) and loss.generator_target ({self.generator_target:g}) must both lie "
                    f"above loss.fake_target ({self.fake_target:g}): higher scores mean 'more real'. The paper's two choices "
                    "are fake_target=0, real_target=1, generator_target=1 (the default) and fake_target=-1, real_target=1, "
                    "generator_target=0"
                )
            return self

    def __init__(self, cfg):
        super().__init__(cfg)
        # a classifier reading for `ganzoo doctor`: a score nearer b than a (above the midpoint) says "real"
        self.decision_threshold = (cfg.fake_target + cfg.real_target) / 2

    def critic_loss(self, real_scores, fake_scores):
        a, b = self.cfg.fake_target, self.cfg.real_target
        return 0.5 * (real_scores - b).pow(2).mean() + 0.5 * (fake_scores - a).pow(2).mean()

    def generator_loss(self, fake_scores, real_scores=None):
        return 0.5 * (fake_scores - self.cfg.generator_target).pow(2).mean()


@ganzoo.hookimpl
def register_losses(register):
    register(LeastSquares)
