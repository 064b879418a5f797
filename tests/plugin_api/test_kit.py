"""The plugin author's test kit (ganzoo.testing) accepts what is right and still rejects what is wrong.

Each test registers throwaway components on a fresh host, as a third-party author's would be.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

import ganzoo
from ganzoo.registry.host import HOOKS
from ganzoo.testing import check_config, check_constraint, check_critic, check_loss, check_plugin


@pytest.fixture
def register(host):
    """``register(*classes)``: a throwaway plugin on the fresh host, removed after the test."""
    names = []

    def add(*classes):
        hooks = {}
        for cls in classes:
            hook = HOOKS[cls.kind]
            hooks.setdefault(hook, []).append(cls)

        class Plugin:
            pass

        for hook, found in hooks.items():
            setattr(Plugin, hook, staticmethod(ganzoo.hookimpl(lambda register, found=found: [register(c) for c in found])))
            getattr(Plugin, hook).__name__ = hook
        name = f"throwaway-{len(names)}"
        host.register(Plugin(), name=name)
        names.append(name)
        return name

    yield add
    for name in names:
        host.unregister(name)


# -- batch-coupled critics ---------------------------------------------------------------------------


class MinibatchStd(nn.Module):
    """Appends the batch's mean standard deviation as one more channel (Karras et al. 2018)."""

    batch_coupled = True

    def forward(self, x):  # (N, C, H, W) -> (N, C + 1, H, W)
        std = x.std(dim=0, unbiased=False).mean().reshape(1, 1, 1, 1).expand(x.shape[0], 1, *x.shape[2:])
        return torch.cat((x, std), dim=1)


def _std_critic(flag: bool):
    class StdCritic(ganzoo.Critic):
        name = "std_critic"
        description = "a critic with a minibatch standard deviation layer"

        class Config(ganzoo.Config):
            width: int = Field(4, ge=1, description="channels")
            norm: str = ganzoo.ComponentRef("normaliser", "layer", "norm layer")

        def __init__(self, cfg, spec, parts):
            super().__init__(cfg, spec, parts)
            norm = parts["norm"]
            self.std = MinibatchStd() if flag else _Unflagged()
            self.conv = norm.wrap(nn.Conv2d(spec.channels + 1, cfg.width, 3, padding=1))
            self.norm = norm(cfg.width, spec.size, spec.size)
            self.head = norm.wrap(nn.Linear(cfg.width, 1))

        def forward(self, x, labels):
            h = F.leaky_relu(self.norm(self.conv(self.std(x))), 0.2).mean(dim=(2, 3))  # (N, width)
            return self.head(h).squeeze(1)  # (N,)

    return StdCritic


class _Unflagged(MinibatchStd):
    batch_coupled = False  # mixes samples but does not say so


def test_check_critic_accepts_a_flagged_minibatch_std_layer_with_every_per_sample_norm(host, register):
    name = register(_std_critic(flag=True))
    for norm in ("layer", "instance", "none", "spectral"):
        check_critic(host, "std_critic", norm=norm)
    assert any(c.startswith("critic std_critic") for c in check_plugin(host, name))


def test_check_critic_still_rejects_a_critic_that_mixes_samples_without_saying_so(host, register):
    register(_std_critic(flag=False))
    with pytest.raises(AssertionError, match="depends on the rest of the batch, but nothing in the critic says it is batch-coupled"):
        check_critic(host, "std_critic", norm="layer")


class _DeepOnly(ganzoo.Critic):
    """Correct at 8x8; at 16x16 and above it builds one more block, which returns the wrong shape."""

    name = "deep_only"
    description = "a critic whose deeper block is broken"

    class Config(ganzoo.Config):
        width: int = Field(4, ge=1, description="channels")

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        self.conv = nn.Conv2d(spec.channels, cfg.width, 3, padding=1)
        self.extra = nn.Conv2d(cfg.width, cfg.width, 3, padding=1) if spec.size >= 16 else None
        self.head = nn.Linear(cfg.width, 1)

    def forward(self, x, labels):
        h = torch.relu(self.conv(x))
        if self.extra is not None:
            return self.head(torch.relu(self.extra(h)).mean(dim=(2, 3)))  # (N, 1): the bug
        return self.head(h.mean(dim=(2, 3))).squeeze(1)  # (N,)


def test_check_critic_builds_at_a_size_where_every_layer_exists(host, register):
    register(_DeepOnly)
    check_critic(host, "deep_only", size=8)  # 8x8 alone would not see the deeper block
    with pytest.raises(AssertionError, match="32x32.*expected scores of shape"):
        check_critic(host, "deep_only")


# -- losses ---------------------------------------------------------------------------------------------


def _loss(name, critic, generator, pairs=False):
    def critic_loss(self, real, fake):
        return critic(real, fake)

    def generator_loss(self, fake, real=None):
        return generator(fake, real)

    return type(
        name,
        (ganzoo.Loss,),
        {
            "name": name,
            "description": f"test loss {name}",
            "pairs_real_and_fake": pairs,
            "critic_loss": critic_loss,
            "generator_loss": generator_loss,
        },
    )


LEAST_SQUARES = _loss("ls_test", lambda r, f: ((r - 1) ** 2).mean() + (f**2).mean(), lambda f, r: ((f - 1) ** 2).mean())
RELATIVISTIC = _loss("rp_test", lambda r, f: F.softplus(-(r - f)).mean(), lambda f, r: F.softplus(-(f - r)).mean(), pairs=True)
WRONG_SIGN = _loss("wrong_sign_test", lambda r, f: r.mean() - f.mean(), lambda f, r: -f.mean())
WRONG_GENERATOR = _loss("wrong_generator_test", lambda r, f: f.mean() - r.mean(), lambda f, r: f.mean())
CONSTANT = _loss("constant_test", lambda r, f: (r * 0).sum() + 1.0, lambda f, r: (f * 0).sum())
FALSE_PAIRS = _loss(
    "false_pairs_test", lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(), lambda f, r: F.softplus(-f).mean(), pairs=True
)


@pytest.mark.parametrize("cls", [LEAST_SQUARES, RELATIVISTIC], ids=["least-squares", "relativistic"])
def test_check_loss_accepts_standard_losses(host, register, cls):
    register(cls)
    check_loss(host, cls.name)


@pytest.mark.parametrize("name", ["wasserstein", "hinge", "nonsaturating"])
def test_check_loss_accepts_the_built_in_losses(host, name):
    check_loss(host, name)


@pytest.mark.parametrize(
    "cls,fragment",
    [
        (WRONG_SIGN, "the critic loss must fall"),
        (WRONG_GENERATOR, "the generator loss must fall"),
        (CONSTANT, "the critic loss must fall"),
        (FALSE_PAIRS, "does not depend on the pairing"),
    ],
    ids=["critic sign flipped", "generator sign flipped", "ignores its inputs", "claims a pairing it does not make"],
)
def test_check_loss_rejects_wrong_losses(host, register, cls, fragment):
    register(cls)
    with pytest.raises(AssertionError, match=fragment):
        check_loss(host, cls.name)


# -- constraints and configs ---------------------------------------------------------------------------------


def test_check_constraint_with_an_interval_option(host):
    check_constraint(host, "gp", options={"interval": 2})
    check_constraint(host, "r1", options={"interval": 4, "gamma": 1.0})


def test_check_constraint_still_rejects_a_wrong_interval_scaling(host, register):
    class Unscaled(ganzoo.Penalty):
        name = "unscaled_test"
        description = "skips steps but forgets to scale"

        def penalty(self, critic, real, fake, labels, step):
            return None if step % self.cfg.interval else self.term(critic, real, fake, labels)

        def term(self, critic, real, fake, labels):
            return self.cfg.weight * ganzoo.input_gradient_norms(critic, real, labels).square().mean()

    register(Unscaled)
    with pytest.raises(AssertionError, match="must scale the penalty by 3"):
        check_constraint(host, "unscaled_test", options={"interval": 2})


def test_check_config_takes_the_component_class_and_says_so_when_given_its_config():
    class Mine(ganzoo.Critic):
        name = "mine"
        description = "a critic"

        class Config(ganzoo.Config):
            width: int = Field(4, ge=1, description="channels")

    check_config(Mine)
    with pytest.raises(TypeError, match=r"takes the component class .* not the Config model .*check_config\(MyComponent\)"):
        check_config(Mine.Config)


def test_the_new_plugin_skeleton_ends_its_files_with_a_newline_and_finds_itself_with_autoload_off(tmp_path):
    from ganzoo.testing.scaffold import files

    made = files("probe")
    assert all(text.endswith("\n") for text in made.values())
    test = made["tests/test_plugin.py"]
    assert "def _autoload(monkeypatch)" in test and 'monkeypatch.delenv("GANZOO_DISABLE_PLUGIN_AUTOLOAD"' in test
