"""Contract checks for ganzoo components: ganzoo's own tests use them, and so can plugin authors.

Each ``check_*`` function builds a component by name from a :class:`~ganzoo.plugins.PluginHost`
at a tiny size, exercises the contract every component of its kind must keep, and raises
``AssertionError`` with a message naming the component when it does not::

    from ganzoo.plugins import PluginHost
    from ganzoo.testing import check_critic

    def test_my_critic():
        check_critic(PluginHost(), "mine", norm="layer", encoder="embed_channel")

:func:`network_cases` lists the (network, normaliser, encoder) combinations that the rules in
:mod:`ganzoo.compat` allow, so a test can be parametrised over everything registered. The fixture
``ganzoo_host`` (a fresh host with the built-ins and installed plugins) is available to a test
suite that loads this module as a pytest plugin (``pytest_plugins = ["ganzoo.testing"]``).

The checks need only torch and ganzoo; pytest is imported only for the fixtures.
"""

from __future__ import annotations

import copy
import itertools
import tempfile
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from ganzoo import compat
from ganzoo.build import network
from ganzoo.components import DataSpec, Encoder, Normaliser, call_with_labels, has_reparametrised_weights
from ganzoo.penalties import input_gradient_norms
from ganzoo.plugin_checks import check_config, check_dataset, check_plugin
from ganzoo.plugins import PluginHost

# Small values for common size options; a Config's own bounds (ge, multiple_of) win.
TINY = {"width": 2, "base": 2, "z_dim": 4, "depth": 1}

__all__ = [
    "TINY",
    "TinyCritic",
    "check_config",
    "check_constraint",
    "check_critic",
    "check_dataset",
    "check_encoder",
    "check_generator",
    "check_loss",
    "check_normaliser",
    "check_plugin",
    "network_cases",
    "safetensors_round_trip",
    "tiny_options",
]


def tiny_options(cls: type, **overrides: Any) -> dict[str, Any]:
    """Options that make a network tiny: ``TINY`` values raised to each field's lower bound and
    rounded up to its ``multiple_of``; ``overrides`` are applied last."""
    out: dict[str, Any] = {}
    for name, info in cls.Config.model_fields.items():
        if name not in TINY:
            continue
        value = TINY[name]
        for m in info.metadata:
            if getattr(m, "ge", None) is not None:
                value = max(value, m.ge)
            if getattr(m, "gt", None) is not None:
                value = max(value, m.gt + 1)
            if getattr(m, "multiple_of", None):
                value = -(-value // m.multiple_of) * m.multiple_of
        out[name] = value
    return {**out, **overrides}


def network_cases(host: PluginHost, kind: str) -> list[tuple[str, str, str]]:
    """Every (network, normaliser, encoder) of ``kind`` ("critic" or "generator") that the rules
    allow together. A network without a ``norm``/``encoder`` choice gets ``""`` in that place."""
    cases = []
    for name, entry in sorted(host.components(kind).items()):
        norm_fields = compat.ref_fields(entry.cls, "normaliser")
        enc_fields = compat.ref_fields(entry.cls, "encoder")
        norms = sorted(host.components("normaliser")) if norm_fields else [""]
        encs = sorted(host.components("encoder")) if enc_fields else [""]
        for norm, enc in itertools.product(norms, encs):
            picks: dict[str, type] = {kind: entry.cls}
            picks.update({f"{kind}.{f}": host.get("normaliser", norm) for f in norm_fields})
            picks.update({f"{kind}.{f}": host.get("encoder", enc) for f in enc_fields})
            if not compat.problems(picks, host):
                cases.append((name, norm, enc))
    return cases


def _build(host: PluginHost, kind: str, name: str, spec: DataSpec, norm: str | None, encoder: str | None, options: dict | None, seed: int) -> nn.Module:
    cls = host.get(kind, name)
    opts = tiny_options(cls, **(options or {}))
    for field in compat.ref_fields(cls, "normaliser"):
        if norm:
            opts[field] = norm
    for field in compat.ref_fields(cls, "encoder"):
        if encoder:
            opts[field] = encoder
    torch.manual_seed(seed)
    return network(host, kind, name, cls.Config(**opts), spec)


def _picked(host: PluginHost, module: nn.Module, kind: str) -> list[type]:
    """The classes of the ``kind`` components a built network's config picks."""
    return [host.get(kind, getattr(module.cfg, f)) for f in compat.ref_fields(type(module), kind)]


def safetensors_round_trip(module: nn.Module, fresh: nn.Module, *inputs: torch.Tensor) -> None:
    """Save ``module``'s state to a safetensors file, load it into ``fresh`` (same architecture,
    other weights) and check that both give the same outputs in eval mode."""
    from safetensors.torch import load_file, save_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "weights.safetensors"
        save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(path))
        missing, unexpected = fresh.load_state_dict(load_file(str(path)), strict=True)
    assert not missing and not unexpected
    module.eval(), fresh.eval()
    with torch.no_grad():
        a, b = module(*inputs), fresh(*inputs)
    assert torch.equal(a, b), f"{type(module).__name__}: outputs differ after a safetensors save/load round trip"


def _perturbed(module: nn.Module, seed: int = 1) -> nn.Module:
    """A copy with noise on every parameter, so label embeddings that start neutral (cbn) matter."""
    out = copy.deepcopy(module)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in out.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=g))
    return out.eval()


def _check_conditioning(what: str, module: nn.Module, first: torch.Tensor, labels: torch.Tensor, num_classes: int) -> None:
    """Outputs depend on the labels iff an encoder conditions. Tiny networks can have every ReLU
    dead for one draw of weights, so dependence is looked for under a few perturbations."""
    encoders = [m for m in module.modules() if isinstance(m, Encoder)]
    if num_classes < 2 or not encoders:
        return
    conditions = any(e.mode != "channel" or e.channels > 0 for e in encoders)
    other = (labels + 1) % num_classes
    differs = []
    for seed in range(1, 6):
        probe = _perturbed(module, seed)
        with torch.no_grad():
            differs.append(not torch.equal(probe(first, labels), probe(first, other)))
        if conditions and differs[-1]:
            return
    if conditions:
        raise AssertionError(f"{what}: the output does not depend on the labels")
    assert not any(differs), f"{what}: an unconditional encoder, yet the output depends on the labels"


def check_critic(
    host: PluginHost, name: str, *, norm: str | None = None, encoder: str | None = None,
    options: dict | None = None, channels: Iterable[int] = (1, 3), size: int = 8, num_classes: int = 3, batch: int = 4,
) -> None:
    """The critic contract, for each channel count:

    - ``(N, C, S, S), (N,) -> (N,)`` finite scores, also at batch size 1;
    - without a batch-coupled layer, each score depends only on its own sample, and the
      gradient-penalty double backward reaches every weight with finite values (with one, a
      plain backward does);
    - the scores depend on the labels exactly when the encoder conditions;
    - a safetensors save/load round trip gives the same scores.
    """
    for c in channels:
        spec = DataSpec(c, size, num_classes)
        what = f"critic '{name}' (norm={norm}, encoder={encoder}, {c}x{size}x{size})"
        critic = _build(host, "critic", name, spec, norm, encoder, options, seed=0).train()
        x = torch.randn(batch, c, size, size)
        labels = torch.arange(batch) % num_classes
        out = critic(x, labels)
        assert out.shape == (batch,), f"{what}: expected scores of shape ({batch},), got {tuple(out.shape)}"
        assert torch.isfinite(out).all(), f"{what}: non-finite scores"
        coupled = any(n.batch_coupled for n in _picked(host, critic, "normaliser"))
        one = copy.deepcopy(critic).eval() if coupled else copy.deepcopy(critic)
        single = one(x[:1], labels[:1])
        assert single.shape == (1,) and torch.isfinite(single).all(), f"{what}: fails at batch size 1"
        if not coupled:
            whole = copy.deepcopy(critic)(x, labels)[:1]
            assert torch.allclose(single, whole, atol=1e-5, rtol=1e-4), f"{what}: a sample's score depends on the rest of the batch, but no batch-coupled normaliser was chosen"
            critic.zero_grad(set_to_none=True)
            norms = input_gradient_norms(critic, x, labels)
            ((norms - 1.0) ** 2).mean().backward()
            weights = [(n, p) for n, p in critic.named_parameters() if p.dim() >= 2]
            for n, p in weights:
                assert p.grad is not None, f"{what}: the gradient penalty does not reach weight '{n}' (double backward)"
                assert torch.isfinite(p.grad).all(), f"{what}: non-finite penalty gradient in '{n}'"
            assert any(p.grad.abs().sum() > 0 for _, p in weights), f"{what}: the gradient penalty has zero gradient"
        else:  # no per-sample penalty is allowed with it: a plain backward must reach every weight
            critic.zero_grad(set_to_none=True)
            critic(x, labels).mean().backward()
            for n, p in critic.named_parameters():
                if p.dim() >= 2:
                    assert p.grad is not None and torch.isfinite(p.grad).all(), f"{what}: no finite gradient for weight '{n}'"
        _check_conditioning(what, critic, x, labels, num_classes)
        fresh = _build(host, "critic", name, spec, norm, encoder, options, seed=1)
        safetensors_round_trip(critic, fresh, x, labels)


def check_generator(
    host: PluginHost, name: str, *, norm: str | None = None, encoder: str | None = None,
    options: dict | None = None, channels: Iterable[int] = (1, 3), size: int = 8, num_classes: int = 3, batch: int = 4,
) -> None:
    """The generator contract, for each channel count:

    - ``(N, z_dim), (N,) -> (N, C, S, S)`` images in [-1, 1], also at batch size 1 (in eval mode;
      in train mode too without a batch-coupled normaliser);
    - a backward pass reaches every parameter;
    - the images depend on the labels exactly when the encoder conditions;
    - a safetensors save/load round trip gives the same images.
    """
    for c in channels:
        spec = DataSpec(c, size, num_classes)
        what = f"generator '{name}' (norm={norm}, encoder={encoder}, {c}x{size}x{size})"
        gen = _build(host, "generator", name, spec, norm, encoder, options, seed=0).train()
        z = torch.randn(batch, gen.z_dim)
        labels = torch.arange(batch) % num_classes
        out = gen(z, labels)
        assert out.shape == (batch, c, size, size), f"{what}: expected images of shape {(batch, c, size, size)}, got {tuple(out.shape)}"
        assert torch.isfinite(out).all() and out.min() >= -1 and out.max() <= 1, f"{what}: images must be finite and in [-1, 1]"
        out.square().mean().backward()
        for n, p in gen.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), f"{what}: no finite gradient for parameter '{n}'"
        coupled = any(n.batch_coupled for n in _picked(host, gen, "normaliser"))
        for mode in ("eval",) if coupled else ("eval", "train"):
            one = copy.deepcopy(gen).train(mode == "train")
            single = one(z[:1], labels[:1])
            assert single.shape == (1, c, size, size) and torch.isfinite(single).all(), f"{what}: fails at batch size 1 ({mode} mode)"
        _check_conditioning(what, gen, z, labels, num_classes)
        fresh = _build(host, "generator", name, spec, norm, encoder, options, seed=1)
        safetensors_round_trip(gen, fresh, z, labels)


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
    assert coupled == cls.batch_coupled, f"normaliser '{name}': batch_coupled={cls.batch_coupled}, but its layer {'mixes' if coupled else 'does not mix'} the samples of a batch"
    conv = norm.wrap(nn.Conv2d(6, 5, 3, padding=1))
    assert conv(x).shape == (4, 5, 4, 4), f"normaliser '{name}': wrap() changed what the conv layer computes"
    assert has_reparametrised_weights(conv) == cls.reparametrises_weights, f"normaliser '{name}': reparametrises_weights={cls.reparametrises_weights} does not match wrap()"
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
    assert maps.shape == (3, enc.channels, height, width), f"encoder '{name}': expected maps of shape {(3, enc.channels, height, width)}, got {tuple(maps.shape)}"
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
        assert critic.conv.weight.grad is not None and critic.conv.weight.grad.abs().sum() > 0, f"constraint '{name}': the penalty does not reach the critic's weights"
    constraint.after_critic_step(critic)
    if "interval" in cls.Config.model_fields and pen is not None:
        lazy = cls(cls.Config(**{**(options or {}), "interval": 3}))
        assert lazy.penalty(critic, real, fake, labels, 1) is None, f"constraint '{name}': interval=3 must skip step 1"
        torch.manual_seed(1)
        scaled = lazy.penalty(critic, real, fake, labels, 3)
        torch.manual_seed(1)
        every = constraint.penalty(critic, real, fake, labels, 3)
        assert torch.allclose(scaled, 3 * every, rtol=1e-5), f"constraint '{name}': interval=3 must scale the penalty by 3"


def check_loss(host: PluginHost, name: str, *, options: dict | None = None) -> None:
    """Critic and generator losses are finite scalars; raising a real score never raises the
    critic loss, raising a fake score never lowers it, and raising a fake score never raises the
    generator loss."""
    cls = host.get("loss", name)
    loss = cls(cls.Config(**(options or {})))
    real = torch.linspace(-2, 2, 5, requires_grad=True)
    fake = torch.linspace(-2, 2, 5, requires_grad=True)
    d = loss.critic_loss(real, fake)
    assert d.dim() == 0 and torch.isfinite(d), f"loss '{name}': critic_loss must be a finite scalar"
    g_real, g_fake = torch.autograd.grad(d, (real, fake))
    assert (g_real <= 0).all() and (g_fake >= 0).all() and (g_real.abs().sum() + g_fake.abs().sum()) > 0, f"loss '{name}': the critic loss must fall as real scores rise and fake scores fall"
    g = loss.generator_loss(fake)
    assert g.dim() == 0 and torch.isfinite(g), f"loss '{name}': generator_loss must be a finite scalar"
    (g_gen,) = torch.autograd.grad(g, fake)
    assert (g_gen <= 0).all() and g_gen.abs().sum() > 0, f"loss '{name}': the generator loss must fall as fake scores rise"


try:  # fixtures for test suites that load this module as a pytest plugin
    import pytest
except ImportError:  # pragma: no cover - pytest is a test-time dependency
    pytest = None

if pytest is not None:

    @pytest.fixture
    def ganzoo_host() -> PluginHost:
        """A fresh plugin host: the built-ins plus installed plugins (honours GANZOO_DISABLE_PLUGIN_AUTOLOAD)."""
        return PluginHost()
