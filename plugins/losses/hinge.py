"""The hinge loss: the critic is trained to score real images above +1 and generated ones below -1."""

import torch

import ganzoo


class Hinge(ganzoo.Loss):
    name = "hinge"
    description = "hinge: critic minimises mean(relu(1 - real)) + mean(relu(1 + fake)); generator maximises mean(fake)"
    reference = "Lim & Ye 2017, arXiv 1705.02894; Miyato et al. 2018, arXiv 1802.05957"
    decision_threshold = 0.0  # the critic is right when a real score is > 0 and a generated one < 0

    def critic_loss(self, real_scores, fake_scores):
        return torch.relu(1.0 - real_scores).mean() + torch.relu(1.0 + fake_scores).mean()

    def generator_loss(self, fake_scores):
        return -fake_scores.mean()


@ganzoo.hookimpl
def register_losses(register):
    register(Hinge)
