"""The non-saturating GAN loss: the critic's scores are logits of "real"; the generator maximises
log D(G(z)) instead of minimising log(1 - D(G(z))), which keeps its gradients alive early on."""

import torch.nn.functional as F

import ganzoo


class NonSaturating(ganzoo.Loss):
    name = "nonsaturating"
    description = "logistic GAN loss, non-saturating for the generator: softplus(-real) + softplus(fake); G: softplus(-fake)"
    reference = "Goodfellow et al. 2014, arXiv 1406.2661"
    decision_threshold = 0.0  # the critic is right when a real score is > 0 and a generated one < 0

    def critic_loss(self, real_scores, fake_scores):
        return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()  # -log sigmoid(r) - log(1 - sigmoid(f))

    def generator_loss(self, fake_scores):
        return F.softplus(-fake_scores).mean()  # -log sigmoid(f)


@ganzoo.hookimpl
def register_losses(register):
    register(NonSaturating)
