"""The relativistic pairing loss (RpGAN): the critic judges each real image against the fake image it
is paired with, not against a fixed target.

    critic:    mean_i softplus(-(f(real_i) - f(fake_i)))
    generator: mean_i softplus(-(f(fake_i) - f(real_i)))

How the pairs are formed (``pairs_real_and_fake``, see ``ganzoo.Loss``): fake_i is generated for
real_i's label, so a pair shares its label.
- ``train.n_critic=k``: each critic step pairs its own real batch with the fakes drawn for it; the
  generator step pairs its fakes with the last critic step's real batch, scored by the critic as it
  is after that step (without a gradient: only the generator is trained there).
- ``train.fused=true``: one critic pass over [real; fake] is split back into the two halves, so
  real_i and fake_i stay index-paired; the losses equal the unfused pass's.
- data-parallel: each rank holds a contiguous slice of the global batch, real and fake alike, so
  every pair lies on one rank; the mean over a rank's pairs, averaged over ranks, is the global mean.
"""

import torch.nn.functional as F

import ganzoo


class RelativisticPairing(ganzoo.Loss):
    name = "rpgan"
    description = "relativistic pairing: critic softplus(fake_i - real_i), generator softplus(real_i - fake_i), over paired samples"
    reference = "Jolicoeur-Martineau 2019, arXiv 1807.00734; Huang et al. 2024 (R3GAN), arXiv 2501.05441"
    pairs_real_and_fake = True

    def critic_loss(self, real_scores, fake_scores):
        ganzoo.assert_shape(real_scores, tuple(fake_scores.shape), "rpgan: real scores, paired one to one with the fake scores")
        return F.softplus(fake_scores - real_scores).mean()  # -log sigmoid(real_i - fake_i)

    def generator_loss(self, fake_scores, real_scores=None):
        if real_scores is None:
            raise ganzoo.GanzooError("loss 'rpgan' pairs each fake score with a real one, but generator_loss got no real scores.")
        ganzoo.assert_shape(real_scores, tuple(fake_scores.shape), "rpgan: real scores, paired one to one with the fake scores")
        return F.softplus(real_scores - fake_scores).mean()  # -log sigmoid(fake_i - real_i)


@ganzoo.hookimpl
def register_losses(register):
    register(RelativisticPairing)
