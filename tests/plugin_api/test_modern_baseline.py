"""The modern baseline (issue 20): the relativistic pairing loss, least squares, R2 and R1 + R2, the
networks' zero-initialised residual branches, and the `r3gan-small` preset.

Maths against hand-computed values on small tensors; the pairing of real and fake scores through
``n_critic``, the fused critic pass and (in tests/training/test_distributed.py) data-parallel sharding.
"""

import math

import pytest
import torch

import ganzoo
from helpers import TINY
from ganzoo.errors import ConfigError
from ganzoo.registry.config import resolve
from ganzoo.testing import check_constraint, check_critic, check_generator
from ganzoo.testing.parts import TinyCritic
from ganzoo.training.loop import Trainer


def _make(host, kind, name, **options):
    cls = host.get(kind, name)
    return cls(cls.Config(**options))


def softplus(t):
    return math.log(1.0 + math.exp(t))


# -- rpgan -----------------------------------------------------------------------------------------


def test_rpgan_matches_hand_computed_values_and_depends_on_the_pairing(host):
    loss = _make(host, "loss", "rpgan")
    assert loss.pairs_real_and_fake
    real = torch.tensor([1.0, 0.0, -1.0], requires_grad=True)
    fake = torch.tensor([0.0, 2.0, -1.0], requires_grad=True)
    d = loss.critic_loss(real, fake)
    # softplus(fake_i - real_i) for the pairs (1, 0), (0, 2), (-1, -1)
    assert d.item() == pytest.approx((softplus(-1.0) + softplus(2.0) + softplus(0.0)) / 3, rel=1e-6)
    g_real, g_fake = torch.autograd.grad(d, (real, fake))
    sig = [1 / (1 + math.exp(-t)) for t in (-1.0, 2.0, 0.0)]  # d softplus(t)/dt = sigmoid(t)
    assert torch.allclose(g_real, torch.tensor([-s / 3 for s in sig]), rtol=1e-6)
    assert torch.allclose(g_fake, torch.tensor([s / 3 for s in sig]), rtol=1e-6)
    g = loss.generator_loss(fake, real.detach())  # softplus(real_i - fake_i)
    assert g.item() == pytest.approx((softplus(1.0) + softplus(-2.0) + softplus(0.0)) / 3, rel=1e-6)
    # Paired, not pooled: another pairing of the same scores gives another loss
    # (a pooled loss, mean(real) - mean(fake) or per-set means, would not change).
    swapped = loss.critic_loss(real.detach(), fake.detach()[[1, 0, 2]])
    assert swapped.item() == pytest.approx((softplus(1.0) + softplus(0.0) + softplus(0.0)) / 3, rel=1e-6)
    assert abs(swapped.item() - d.item()) > 0.1


def test_rpgan_refuses_unpaired_scores(host):
    loss = _make(host, "loss", "rpgan")
    with pytest.raises(ValueError, match="paired one to one"):
        loss.critic_loss(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ganzoo.GanzooError, match="no real scores"):
        loss.generator_loss(torch.zeros(3))


# -- lsgan -----------------------------------------------------------------------------------------


def test_lsgan_matches_hand_computed_values_with_default_and_chosen_targets(host):
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])
    plain = _make(host, "loss", "lsgan")  # a = 0, b = c = 1
    # 1/2 mean((real - 1)^2) + 1/2 mean(fake^2) = 1/2 * (0 + 4)/2 + 1/2 * (0 + 4)/2
    assert plain.critic_loss(real, fake).item() == pytest.approx(2.0)
    assert plain.generator_loss(fake).item() == pytest.approx(0.5 * (1 + 9) / 2)
    chi2 = _make(host, "loss", "lsgan", fake_target=-1.0, real_target=1.0, generator_target=0.0)
    # 1/2 * (0 + 4)/2 + 1/2 * (1 + 1)/2, and the generator 1/2 * (0 + 4)/2
    assert chi2.critic_loss(real, fake).item() == pytest.approx(1.5)
    assert chi2.generator_loss(fake).item() == pytest.approx(1.0)
    assert (plain.decision_threshold, chi2.decision_threshold) == (0.5, 0.0)  # midway between the critic's targets


@pytest.mark.parametrize("targets", [["loss.real_target=0"], ["loss.fake_target=1"], ["loss.generator_target=-0.5"]])
def test_lsgan_refuses_targets_that_do_not_order_real_above_fake(host, targets):
    with pytest.raises(ConfigError, match="must both lie above loss.fake_target") as err:
        resolve(["data=synthetic", "loss=lsgan", *targets], host)
    assert "fake_target=-1, real_target=1, generator_target=0" in str(err.value)


# -- r2 and r1r2 ------------------------------------------------------------------------------------


class LabelledLinear(ganzoo.Critic):
    """f(x, y) = <w_y, x> + 1/2 ||x||^2, so grad_x f = w_y + x: the label's weight shows in the gradient."""

    name = "labelled_linear"
    W = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])  # one row per class

    def __init__(self):
        torch.nn.Module.__init__(self)
        self.calls = []

    def forward(self, x, labels):
        self.calls.append((x.detach().clone(), labels.clone()))
        flat = x.flatten(1)  # (N, 2)
        return (flat * self.W[labels]).sum(1) + 0.5 * flat.pow(2).sum(1)  # (N,)


def test_r2_matches_a_hand_computed_value_on_fakes_only_with_their_labels(host):
    fake = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).view(2, 1, 1, 2)  # (N, C, H, W)
    real = torch.full_like(fake, float("nan"))  # any use of the real images would poison the result
    labels = torch.tensor([0, 2])
    critic = LabelledLinear()
    got = _make(host, "constraint", "r2", gamma=4.0).penalty(critic, real, fake, labels, step=0)
    # grad = w_y + x: (1, 0) + (1, 0) = (2, 0) -> 4; (3, 4) + 0 -> 25. gamma/2 * mean = 2 * 14.5
    assert got.item() == pytest.approx(29.0)
    ((x, seen),) = critic.calls
    assert torch.equal(x, fake) and torch.equal(seen, labels)


def test_r1r2_is_gamma_half_of_r1_plus_r2_by_hand(host):
    real = torch.tensor([[0.0, 1.0], [1.0, 1.0]]).view(2, 1, 1, 2)
    fake = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).view(2, 1, 1, 2)
    labels = torch.tensor([0, 2])
    critic = LabelledLinear()
    got = _make(host, "constraint", "r1r2", gamma=4.0).penalty(critic, real, fake, labels, step=0)
    # R1: (1, 0) + (0, 1) = (1, 1) -> 2; (3, 4) + (1, 1) = (4, 5) -> 41; mean 21.5
    # R2: (2, 0) -> 4; (3, 4) -> 25; mean 14.5.  gamma/2 * (21.5 + 14.5) = 72
    assert got.item() == pytest.approx(72.0)
    ((x, seen),) = critic.calls  # one pass: the reals, then their fakes, each with its own label y_i
    assert torch.equal(x, torch.cat((real, fake))) and torch.equal(seen, torch.cat((labels, labels)))
    r1 = _make(host, "constraint", "r1", gamma=4.0).penalty(LabelledLinear(), real, fake, labels, step=0)
    r2 = _make(host, "constraint", "r2", gamma=4.0).penalty(LabelledLinear(), real, fake, labels, step=0)
    assert torch.allclose(got, r1 + r2)


@pytest.mark.parametrize("name", ["r2", "r1r2"])
def test_penalties_on_fakes_send_no_gradient_to_the_generator(host, name):
    torch.manual_seed(0)
    generator = torch.nn.Linear(3, 4)
    critic = TinyCritic(channels=1)
    fake = generator(torch.randn(5, 3)).view(5, 1, 2, 2)  # (N, C, H, W), with a graph to the generator
    real = torch.randn(5, 1, 2, 2)
    pen = _make(host, "constraint", name).penalty(critic, real, fake, torch.arange(5) % 3, step=0)
    pen.backward()
    assert all(p.grad is None for p in generator.parameters())
    assert critic.conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["r2", "r1r2"])
def test_new_penalties_keep_the_constraint_contract_and_refuse_batchnorm(host, name):
    check_constraint(host, name, options={"gamma": 2.0})  # includes interval=3 skipping and scaling
    lazy = _make(host, "constraint", name, interval=2)
    real, fake = torch.randn(2, 1, 1, 2), torch.randn(2, 1, 1, 2)
    assert lazy.penalty(LabelledLinear(), real, fake, torch.tensor([0, 1]), step=1) is None
    every = _make(host, "constraint", name).penalty(LabelledLinear(), real, fake, torch.tensor([0, 1]), step=0)
    assert torch.allclose(lazy.penalty(LabelledLinear(), real, fake, torch.tensor([0, 1]), step=2), 2 * every)
    with pytest.raises(ConfigError, match="batch-coupled"):
        resolve(["data=synthetic", "critic.norm=batch", f"constraint={name}"], host)


# -- networks: no normalisation and zero-initialised residual branches -----------------------------


def _build(host, overrides):
    from ganzoo.registry.build import build_models

    torch.manual_seed(0)
    return build_models(resolve(["data=synthetic", "data.size=28", *overrides], host), ganzoo.DataSpec(1, 28, 10), host)


def test_zero_init_makes_every_residual_block_start_as_its_shortcut(host):
    models = _build(
        host,
        [
            "critic=resnet",
            "critic.width=8",
            "critic.norm=none",
            "critic.zero_init=true",
            "generator=resnet",
            "generator.base=32",
            "generator.layout=seed",
            "generator.block=seed",
            "generator.norm=none",
            "generator.zero_init=true",
            "generator.dropout=0",
        ],
    )
    critic, generator = models.critic, models.generator
    last = [b.conv2 for b in critic.blocks] + [m.conv2 for m in generator.blocks if hasattr(m, "conv2")]
    assert len(last) == 3 + 7 and all(c.weight.abs().sum() == 0 for c in last)
    assert all(c.bias.abs().sum() == 0 for c in last if c.bias is not None)
    x, z, labels = torch.randn(4, 1, 28, 28), torch.randn(4, generator.z_dim), torch.arange(4)
    scores, images = critic(x, labels), generator(z, labels)
    with torch.no_grad():  # the first conv of every branch does not matter yet
        for m in list(critic.blocks) + [m for m in generator.blocks if hasattr(m, "conv2")]:
            m.conv1.weight.add_(torch.randn_like(m.conv1.weight))
    assert torch.allclose(critic(x, labels), scores) and torch.allclose(generator(z, labels), images)
    plain = _build(
        host, ["critic=resnet", "critic.width=8", "critic.norm=none", "generator=resnet", "generator.base=32", "generator.norm=none"]
    )
    assert all(b.conv2.weight.abs().sum() > 0 for b in plain.critic.blocks)  # off by default


def test_he_init_lets_a_generator_without_norm_layers_pass_its_signal(host):
    """Without norm layers, torch's default init shrinks the seed generator's signal block by block
    (measured: per-pixel spread 0.001 at 28x28); ``generator.init=he`` keeps it (0.3)."""
    spreads = {}
    for init in ("torch", "he"):
        gen = _build(
            host,
            [
                "generator=resnet",
                "generator.base=64",
                "generator.layout=seed",
                "generator.block=seed",
                "generator.z_dim=16",
                "generator.dropout=0",
                "generator.norm=none",
                "generator.zero_init=true",
                f"generator.init={init}",
            ],
        ).generator
        images = gen(torch.randn(32, 16), torch.arange(32) % 10)  # (32, 1, 28, 28)
        spreads[init] = images.std(0).mean().item()  # how much the images differ between noise vectors
    assert spreads["torch"] < 0.01 and spreads["he"] > 0.1, spreads


@pytest.mark.parametrize("net", ["critic", "generator"])
def test_zero_init_is_refused_with_spectral_normalisation(host, net):
    with pytest.raises(ConfigError, match=f"{net}.zero_init=true .* {net}.norm=spectral"):
        _build(host, [f"{net}=resnet", f"{net}.norm=spectral", f"{net}.zero_init=true", "constraint=none"])


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_zero_initialised_networks_keep_the_network_contracts(host, norm, one_thread):
    check_critic(host, "resnet", norm=norm, encoder="projection", options={"width": 4, "zero_init": True})
    check_generator(host, "resnet", norm=norm, encoder="onehot_channel", options={"base": 32, "z_dim": 8, "zero_init": True, "init": "he"})


# -- the pairing in the engine ---------------------------------------------------------------------

PAIRED = [*TINY, "loss=rpgan", "constraint=r1r2", "generator.dropout=0", "train.channels_last=false"]


def _record_generator_phase(trainer):
    """Wrap the batches, the generator and the loss so that one step shows what was paired with what."""
    seen = {"batches": [], "gen_labels": [], "calls": []}
    batches, loss, generator = trainer.steps.batches, trainer.steps.loss, trainer.generator
    next_batch, gen_loss, gen_forward = batches.next, loss.generator_loss, generator.forward

    def recording_next():
        seen["batches"].append(tuple(t.clone() for t in next_batch()))
        return seen["batches"][-1]

    def recording_forward(z, labels):
        seen["gen_labels"].append(labels.clone())
        return gen_forward(z, labels)

    def recording_loss(fake_scores, real_scores=None):
        seen["calls"].append((fake_scores.detach().clone(), None if real_scores is None else real_scores.clone()))
        return gen_loss(fake_scores, real_scores)

    batches.next, loss.generator_loss, generator.forward = recording_next, recording_loss, recording_forward
    return seen


def test_with_several_critic_steps_the_generator_is_paired_with_the_last_critic_batch(host, tmp_path):
    trainer = Trainer(resolve([*PAIRED, "train.n_critic=3", f"out={tmp_path}"], host), host)
    seen = _record_generator_phase(trainer)
    trainer.one_step(None)
    assert len(seen["batches"]) == 3 and len(seen["calls"]) == 1
    real, labels = seen["batches"][-1]
    assert not torch.equal(labels, seen["batches"][0][1])  # the batches differ, so "the last" is a real choice
    fake_scores, real_scores = seen["calls"][0]
    assert real_scores is not None and real_scores.shape == fake_scores.shape == (8,)
    # fake i was made for real i's label (the last of the 4 generator calls: 3 critic batches, then the generator phase)
    assert torch.equal(seen["gen_labels"][-1], labels)
    # the real scores are the critic's, as it is after its third update, on that last batch
    with torch.no_grad():
        again = trainer.critic(real, labels)
    assert torch.allclose(real_scores, again, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(real_scores, trainer.critic(seen["batches"][0][0], seen["batches"][0][1]).detach())
    unpaired = Trainer(resolve([*TINY, "loss=lsgan", f"out={tmp_path / 'lsgan'}"], host), host)
    seen = _record_generator_phase(unpaired)
    unpaired.one_step(None)
    assert seen["calls"][0][1] is None  # a loss that does not pair gets no real scores


def test_the_fused_critic_pass_gives_the_same_paired_losses(host, tmp_path):
    runs = {}
    for fused in ("true", "false"):
        trainer = Trainer(resolve([*PAIRED, f"train.fused={fused}", f"out={tmp_path / fused}"], host), host)
        assert trainer.steps.fused == (fused == "true")
        runs[fused] = [{k: float(v) for k, v in trainer.one_step(None).items()} for _ in range(3)]
    for a, b in zip(runs["true"], runs["false"]):
        for k in ("loss_d", "penalty", "loss_g", "wasserstein"):
            assert a[k] == pytest.approx(b[k], rel=1e-4, abs=1e-6), (k, a, b)
    assert all(s["penalty"] > 0 for s in runs["true"])


def test_the_r3gan_small_preset_trains_a_few_steps_without_nan(host, tmp_path):
    cfg = resolve(
        [
            "preset=r3gan-small",
            "data=synthetic",
            "data.size=28",
            "train.steps=4",
            "train.progress=false",
            "train.batch_size=8",
            f"out={tmp_path}",
        ],
        host,
    )
    assert (cfg.name("loss"), cfg.name("constraint"), cfg.train.betas) == ("rpgan", "r1r2", (0.0, 0.99))
    assert cfg.options("critic").norm == "none" and cfg.options("critic").zero_init
    assert cfg.options("generator").norm == "none" and cfg.options("generator").zero_init and cfg.options("generator").init == "he"
    trainer = Trainer(cfg, host)
    for _ in range(4):
        stats = trainer.one_step(None)
        assert stats is not None and all(torch.isfinite(v) for v in stats.values())
    # the zero-initialised branches have left zero: training reaches them
    assert all(b.conv2.weight.abs().sum() > 0 for b in trainer.critic.blocks)
