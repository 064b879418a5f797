"""Contract checks for the parts a network or a run uses: normalisers, encoders, constraints, losses."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ganzoo.components import Normaliser
from ganzoo.layers import call_with_labels, has_reparametrised_weights
from ganzoo.registry.host import PluginHost


def check_normaliser(host: PluginHost, name: str, *, options: dict | None = None) -> None:
    """A normaliser keeps shapes, honours ``affine=False``, tells the truth about its flags
    (``batch_coupled``, ``reparametrises_weights``) and works on 1x1 maps unless ``needs_spatial``."""
    cls = host.get("normaliser", name)
    norm: Normaliser = cls(cls.Config(**(options or {})))
    torch.manual_seed(0)
    x = torch.randn(4, 6, 4, 4)  # (N, C, H, W)
    layer = norm(6, 4, 4).train()
    assert layer(x).shape == x.shape, f"normaliser '{name}': changes the shape of its input"
    plain = norm(6, 4, 4, affine=False)
    assert not list(plain.parameters()), f"normaliser '{name}': affine=False must give a layer without parameters"
    coupled = not torch.allclose(copy.deepcopy(layer)(x)[:1], copy.deepcopy(layer)(x[:1]), atol=1e-5)
    assert coupled == cls.batch_coupled, (
        f"normaliser '{name}': batch_coupled={cls.batch_coupled}, but its layer {'mixes' if coupled else 'does not mix'} the "
        "samples of a batch"
    )
    conv = norm.wrap(nn.Conv2d(6, 5, 3, padding=1))
    assert conv(x).shape == (4, 5, 4, 4), f"normaliser '{name}': wrap() changed what the conv layer computes"
    assert has_reparametrised_weights(conv) == cls.reparametrises_weights, (
        f"normaliser '{name}': reparametrises_weights={cls.reparametrises_weights} does not match wrap()"
    )
    if not cls.needs_spatial:
        flat = norm(6, 1, 1).train()(torch.randn(4, 6, 1, 1))
        assert torch.isfinite(flat).all() and flat.abs().sum() > 0, f"normaliser '{name}': degenerate on 1x1 maps; set needs_spatial = True"


def check_encoder(host: PluginHost, name: str, *, num_classes: int = 3, height: int = 4, width: int = 4, features: int = 5) -> None:
    """An encoder gives (N, channels, H, W) maps and (N,) projection terms in every role it claims;
    a ``cbn`` encoder turns a normaliser's layers into ones that take labels."""
    cls = host.get("encoder", name)
    assert cls.mode in ("channel", "projection", "cbn"), f"encoder '{name}': unknown mode {cls.mode!r}"
    assert cls.roles and cls.roles <= {"critic", "generator"}, f"encoder '{name}': roles must name critic and/or generator"
    torch.manual_seed(0)
    enc = cls(cls.Config(), num_classes, height, width, features=features)
    labels = torch.tensor([0, 1, num_classes - 1])
    maps = enc(labels)
    assert maps.shape == (3, enc.channels, height, width), (
        f"encoder '{name}': expected maps of shape {(3, enc.channels, height, width)}, got {tuple(maps.shape)}"
    )
    term = enc.projection(torch.randn(3, features), labels)
    assert term.shape == (3,) and torch.isfinite(term).all(), f"encoder '{name}': projection must give finite (N,) terms"
    base = host.get("normaliser", "layer")
    cond = cls.conditional(cls.Config(), num_classes, base(base.Config()))
    layer = cond(4, height, width)
    y = call_with_labels(layer, torch.randn(3, 4, height, width), labels)
    assert y.shape == (3, 4, height, width), f"encoder '{name}': its conditional norm layer changes shapes"
    if cls.mode == "cbn":
        assert getattr(layer, "takes_labels", False), f"encoder '{name}': mode 'cbn' but its norm layers do not take labels"


class TinyCritic(nn.Module):
    """A small per-sample conv critic for checking constraints; its input-gradient norms are
    well above 1, so one-sided penalties are active."""

    name = "tiny"
    kind = "critic"

    def __init__(self, channels: int = 1, num_classes: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(channels, 4, 3, padding=1)
        self.embed = nn.Embedding(num_classes, 4)
        self.head = nn.Linear(4, 1)

    def forward(self, x, labels):
        h = torch.tanh(self.conv(x)).sum(dim=(2, 3)) + self.embed(labels)  # (N, 4)
        return 10.0 * self.head(h).squeeze(1)  # (N,)


def check_constraint(host: PluginHost, name: str, *, options: dict | None = None) -> None:
    """A constraint's penalty is ``None`` or a finite scalar whose gradient reaches the critic's
    weights; ``after_critic_step`` runs; with an ``interval`` option the penalty is skipped
    between intervals and scaled by the interval when applied."""
    cls = host.get("constraint", name)
    constraint = cls(cls.Config(**(options or {})))
    torch.manual_seed(0)
    critic = TinyCritic()
    real, fake = torch.rand(4, 1, 6, 6) * 2 - 1, torch.rand(4, 1, 6, 6) * 2 - 1
    labels = torch.tensor([0, 1, 2, 0])
    constraint.check(critic)
    torch.manual_seed(1)
    pen = constraint.penalty(critic, real, fake, labels, 0)
    if pen is not None:
        assert pen.dim() == 0 and torch.isfinite(pen), f"constraint '{name}': the penalty must be a finite scalar"
        pen.backward()
        assert critic.conv.weight.grad is not None and critic.conv.weight.grad.abs().sum() > 0, (
            f"constraint '{name}': the penalty does not reach the critic's weights"
        )
    constraint.after_critic_step(critic)
    if "interval" in cls.Config.model_fields and pen is not None:  # against interval=1, whatever `options` set
        lazy = cls(cls.Config(**{**(options or {}), "interval": 3}))
        assert lazy.penalty(critic, real, fake, labels, 1) is None, f"constraint '{name}': interval=3 must skip step 1"
        torch.manual_seed(1)
        scaled = lazy.penalty(critic, real, fake, labels, 3)
        torch.manual_seed(1)
        every = cls(cls.Config(**{**(options or {}), "interval": 1})).penalty(critic, real, fake, labels, 3)
        assert scaled is not None and every is not None, f"constraint '{name}': a penalty due at this step returned None"
        assert torch.allclose(scaled, 3 * every, rtol=1e-5), f"constraint '{name}': interval=3 must scale the penalty by 3"


def _generator_loss(loss, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """The generator loss as the engine calls it (real scores only for a pairing loss)."""
    return loss.generator_loss(fake, real.detach()) if loss.pairs_real_and_fake else loss.generator_loss(fake)


def check_loss(host: PluginHost, name: str, *, options: dict | None = None) -> None:
    """The loss contract, which Wasserstein, hinge, non-saturating, least-squares and relativistic
    losses all keep:

    - both losses are finite scalars with a gradient;
    - a critic that cannot tell real from fake (equal scores, at several score levels) is pushed to
      tell them apart: moving real scores up and fake scores down lowers the critic loss;
    - against a critic that tells them apart (real scores above fake ones), raising the fake scores
      lowers the generator loss;
    - a loss that says it pairs real and fake scores (``pairs_real_and_fake``) depends on which real
      score is paired with which fake one; the engine passes it the real scores in the generator phase.

    A loss with a sign the wrong way round, or one that ignores its inputs, fails.
    """
    cls = host.get("loss", name)
    loss = cls(cls.Config(**(options or {})))
    n = 6
    for level in (-2.0, -0.5, 0.0, 0.5, 2.0):  # equal scores: the critic cannot tell real from fake
        real = torch.full((n,), level, requires_grad=True)
        fake = torch.full((n,), level, requires_grad=True)
        d = loss.critic_loss(real, fake)
        assert d.dim() == 0 and torch.isfinite(d), f"loss '{name}': critic_loss must be a finite scalar"
        g_real, g_fake = (torch.zeros(n) if g is None else g for g in torch.autograd.grad(d, (real, fake), allow_unused=True))
        apart = float(g_real.sum() - g_fake.sum())  # d/dt critic_loss(real + t, fake - t) at t = 0
        assert apart < 0, (
            f"loss '{name}': at equal real and fake scores ({level:g}) the critic loss must fall when real "
            f"scores rise and fake scores fall (its directional derivative is {apart:.3g})"
        )
    real = torch.linspace(0.5, 1.5, n)  # a critic that tells them apart: real above fake
    for fake_level in (-1.5, -0.5):  # fakes below the reals (a least-squares generator target may sit at 0)
        fake = (torch.linspace(-0.5, 0.5, n) + fake_level).requires_grad_(True)
        g = _generator_loss(loss, fake, real)
        assert g.dim() == 0 and torch.isfinite(g), f"loss '{name}': generator_loss must be a finite scalar"
        (g_fake,) = torch.autograd.grad(g, fake, allow_unused=True)
        assert g_fake is not None and float(g_fake.sum()) < 0, (
            f"loss '{name}': with real scores above fake ones, the generator loss must fall as fake scores rise"
        )
    if loss.pairs_real_and_fake:
        real, fake = torch.linspace(-1, 1, n), torch.tensor([0.0, 3.0, -1.0, 2.0, 0.5, -2.0])
        flipped = loss.critic_loss(real, fake.flip(0))
        assert not torch.isclose(loss.critic_loss(real, fake), flipped), (
            f"loss '{name}': pairs_real_and_fake is set, but the critic loss does not depend on the pairing"
        )
