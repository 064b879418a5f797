"""Gradient penalty maths against hand-computed values, and the refusal of batch-coupled critics."""

import pytest
import torch

import ganzoo
from ganzoo.registry import compat
from ganzoo.registry.build import build_models
from ganzoo.registry.config import resolve
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


@pytest.mark.parametrize("constraint", ["gp", "lp", "r1", "dragan"])
def test_per_sample_penalties_refuse_a_batchnorm_critic_before_anything_is_built(host, constraint):
    with pytest.raises(ConfigError, match="batch-coupled") as err:
        resolve(["data=synthetic", "critic.norm=batch", f"constraint={constraint}"], host)
    assert "critic.norm=group, instance, layer, none or spectral" in str(err.value)
    assert "constraint=clip or none" in str(err.value)


def test_a_critic_that_hard_codes_batchnorm_is_refused_when_built(host):
    class HardCoded(QuadraticCritic):
        def __init__(self):
            super().__init__()
            self.bn = torch.nn.BatchNorm2d(1)

    with pytest.raises(ConfigError, match="batch-coupled"):
        compat.check_built(HardCoded(), _gp())
    compat.check_built(QuadraticCritic(), _gp())  # no BatchNorm: accepted


def test_clip_accepts_a_batchnorm_critic_and_clamps_weights(host):
    cfg = resolve(
        ["data=synthetic", "data.size=8", "critic.width=2", "critic.norm=batch", "constraint=clip", "constraint.limit=0.05"], host
    )
    models = build_models(cfg, ganzoo.DataSpec(1, 8, 10), host)
    with torch.no_grad():
        for p in models.critic.parameters():
            p.fill_(1.0)
    models.constraint.after_critic_step(models.critic)
    assert all(p.abs().max() <= 0.05 for p in models.critic.parameters())


# -- lp, r1, dragan and lazy regularisation -------------------------------------------------------


def _make(name, **options):
    from ganzoo.registry.host import PluginHost

    cls = PluginHost(entry_points=[], env={}).get("constraint", name)
    return cls(cls.Config(**options))


class Recorder(QuadraticCritic):
    """The quadratic critic, remembering every (input, labels) it was called with."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x, labels):
        self.calls.append((x.detach().clone(), labels.clone()))
        return super().forward(x, labels)


def _labels(n):
    return torch.arange(n) % 3


def test_lp_only_penalises_norms_above_one():
    # real == fake, so the interpolates are the real images and the gradient norms are ||x_i||.
    real = torch.zeros(4, 1, 2, 2)
    real[:, 0, 0, 0] = torch.tensor([0.5, 1.0, 2.0, 3.0])  # norms 0.5, 1, 2, 3
    got = _make("lp", weight=2.0).penalty(QuadraticCritic(), real, real.clone(), _labels(4), step=0)
    assert torch.allclose(got, torch.tensor(2.0 * (0 + 0 + 1 + 4) / 4))
    gp = _make("gp", weight=2.0).penalty(QuadraticCritic(), real, real.clone(), _labels(4), step=0)
    assert torch.allclose(gp, torch.tensor(2.0 * (0.25 + 0 + 1 + 4) / 4))  # two-sided: 0.5 counts too
    below = real.clone()
    below[:, 0, 0, 0] = torch.tensor([0.1, 0.5, 0.9, 1.0])
    assert _make("lp").penalty(QuadraticCritic(), below, below.clone(), _labels(4), step=0) == 0


def test_r1_uses_real_images_only_with_their_labels():
    torch.manual_seed(0)
    real = torch.randn(3, 1, 2, 2)
    fake = torch.full_like(real, float("nan"))  # any use of the fakes would poison the result
    critic = Recorder()
    got = _make("r1", gamma=4.0).penalty(critic, real, fake, _labels(3), step=0)
    expected = 4.0 / 2 * real.flatten(1).pow(2).sum(1).mean()  # grad f = x, so ||grad||^2 = ||x||^2
    assert torch.allclose(got, expected)
    assert len(critic.calls) == 1 and torch.equal(critic.calls[0][0], real) and torch.equal(critic.calls[0][1], _labels(3))


def test_interpolates_lie_between_each_real_image_and_its_own_fake_and_keep_its_label():
    torch.manual_seed(0)
    real, fake = torch.randn(5, 1, 3, 3), torch.randn(5, 1, 3, 3)
    labels = torch.tensor([2, 0, 1, 1, 0])
    for name in ("gp", "lp"):
        critic = Recorder()
        _make(name).penalty(critic, real, fake, labels, step=0)
        ((x, seen),) = critic.calls
        assert torch.equal(seen, labels)
        alpha = ((x - fake) / (real - fake)).flatten(1)  # (N, pixels): one mixing weight per sample
        assert torch.allclose(alpha, alpha[:, :1].expand_as(alpha), atol=1e-4)
        assert ((alpha >= 0) & (alpha <= 1)).all() and alpha[:, 0].unique().numel() == 5


def test_dragan_perturbs_real_images_within_half_a_batch_std_and_keeps_their_labels():
    torch.manual_seed(0)
    real = torch.randn(6, 1, 4, 4)
    fake = torch.full_like(real, float("nan"))
    labels = _labels(6)
    critic = Recorder()
    pen = _make("dragan", weight=1.0).penalty(critic, real, fake, labels, step=0)
    ((x, seen),) = critic.calls
    assert torch.equal(seen, labels)
    shift = x - real  # a_i * 0.5 * std(real) * u, with a_i and u in [0, 1)
    assert (shift >= 0).all() and (shift <= 0.5 * real.std() + 1e-6).all() and shift.abs().sum() > 0
    assert torch.allclose(pen, ((x.flatten(1).norm(dim=1) - 1) ** 2).mean())


@pytest.mark.parametrize("name,options", [("gp", {}), ("lp", {}), ("dragan", {}), ("r1", {"gamma": 3.0})])
def test_lazy_regularisation_skips_other_steps_and_scales_by_the_interval(name, options):
    real = torch.randn(3, 1, 2, 2) * 2  # norms above 1, so the one-sided LP is active too
    every = _make(name, **options)
    lazy = _make(name, **options, interval=4)
    torch.manual_seed(1)
    base = every.penalty(QuadraticCritic(), real, real.clone(), _labels(3), step=5)
    assert base > 0
    for step in (1, 2, 3, 5, 6, 7):
        assert lazy.penalty(QuadraticCritic(), real, real.clone(), _labels(3), step=step) is None
    for step in (0, 4, 8):
        torch.manual_seed(1)
        assert torch.allclose(lazy.penalty(QuadraticCritic(), real, real.clone(), _labels(3), step=step), 4 * base)
