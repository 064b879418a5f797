"""Gradient penalty maths against hand-computed values, and the refusal of batch-coupled critics."""

import pytest
import torch

import ganzoo
from ganzoo.build import build_models
from ganzoo.config import resolve
from ganzoo.errors import ConfigError


class QuadraticCritic(ganzoo.Critic):
    """f(x) = 0.5 * ||x||^2 per sample, so grad_x f = x and each sample's norm is ||x_i||."""

    name = "quadratic"

    def __init__(self):
        torch.nn.Module.__init__(self)

    def forward(self, x, labels):
        return 0.5 * x.flatten(1).pow(2).sum(1)


def _gp(weight=10.0, interval=1):
    from ganzoo_plugins.constraints.gp import GradientPenalty

    return GradientPenalty(GradientPenalty.Config(weight=weight, interval=interval))


@pytest.mark.parametrize("channels", [1, 3])
def test_gp_is_per_sample_and_matches_hand_computation(channels):
    torch.manual_seed(0)
    real = torch.randn(5, channels, 4, 4)
    # real == fake, so every interpolate equals real whatever the random mixing weight is.
    norms = real.flatten(1).norm(dim=1)
    expected = 10.0 * ((norms - 1) ** 2).mean()
    got = _gp().penalty(QuadraticCritic(), real, real.clone(), torch.zeros(5, dtype=torch.long), step=0)
    assert torch.allclose(got, expected, rtol=1e-5)
    # The mean of per-sample terms differs from the penalty on the batch's summed gradient.
    assert not torch.allclose(got, 10.0 * (real.flatten().norm() - 1) ** 2)


def test_gp_on_a_linear_critic_is_weight_times_norm_minus_one_squared():
    w = torch.tensor([3.0, 4.0])  # ||w|| = 5 everywhere

    class Linear(QuadraticCritic):
        def forward(self, x, labels):
            return x.flatten(1) @ w

    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    got = _gp(weight=2.0).penalty(Linear(), real, fake, torch.zeros(4, dtype=torch.long), step=0)
    assert torch.allclose(got, torch.tensor(2.0 * 16.0))


def test_gp_penalty_has_a_graph_to_the_critic_weights(host):
    cfg = resolve(["data=synthetic", "data.size=8", "critic.width=2"], host)
    critic = build_models(cfg, ganzoo.DataSpec(1, 8, 10), host).critic
    x = torch.randn(3, 1, 8, 8)
    pen = _gp().penalty(critic, x, torch.randn_like(x), torch.tensor([0, 1, 2]), step=0)
    pen.backward()  # double backward through the critic
    weights = [p for p in critic.parameters() if p.dim() in (2, 4)]  # conv and linear weights (some biases cannot affect d f / d x)
    assert weights and all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)


def test_lazy_interval_skips_and_scales():
    real = torch.randn(2, 1, 2, 2)
    every = _gp(interval=1).penalty(QuadraticCritic(), real, real, torch.zeros(2, dtype=torch.long), step=3)
    lazy = _gp(interval=4)
    assert lazy.penalty(QuadraticCritic(), real, real, torch.zeros(2, dtype=torch.long), step=3) is None
    on = lazy.penalty(QuadraticCritic(), real, real, torch.zeros(2, dtype=torch.long), step=4)
    assert torch.allclose(on, 4 * every)


def test_gp_refuses_a_batchnorm_critic(host):
    cfg = resolve(["data=synthetic", "critic.norm=batch", "constraint=gp"], host)
    with pytest.raises(ConfigError, match="batch-coupled") as err:
        build_models(cfg, ganzoo.DataSpec(1, 28, 10), host)
    assert "critic.norm=layer" in str(err.value)


def test_clip_accepts_a_batchnorm_critic_and_clamps_weights(host):
    cfg = resolve(["data=synthetic", "data.size=8", "critic.width=2", "critic.norm=batch", "constraint=clip", "constraint.limit=0.05"], host)
    models = build_models(cfg, ganzoo.DataSpec(1, 8, 10), host)
    with torch.no_grad():
        for p in models.critic.parameters():
            p.fill_(1.0)
    models.constraint.after_critic_step(models.critic)
    assert all(p.abs().max() <= 0.05 for p in models.critic.parameters())
