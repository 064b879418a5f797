"""The Wasserstein objective: the critic estimates E[f(real)] - E[f(fake)]."""

import ganzoo


class Wasserstein(ganzoo.Loss):
    name = "wasserstein"
    description = "Wasserstein-1 estimate: critic maximises mean(real) - mean(fake)"
    reference = "Arjovsky et al. 2017, arXiv 1701.07875"

    def critic_loss(self, real_scores, fake_scores):
        return fake_scores.mean() - real_scores.mean()

    def generator_loss(self, fake_scores):
        return -fake_scores.mean()


@ganzoo.hookimpl
def register_losses(register):
    register(Wasserstein)
