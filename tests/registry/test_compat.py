"""Combinations that cannot work are refused before training, with the reason, and listed."""

import json

import pytest
import torch

from ganzoo.registry import compat
from ganzoo.registry.build import build_models
from ganzoo.cli import main
from ganzoo.components import DataSpec
from ganzoo.registry.config import resolve
from ganzoo.errors import ConfigError

SYNTH = ["preset=wgan-gp-paper", "data=synthetic", "data.size=8"]


@pytest.mark.parametrize(
    "overrides,fragments",
    [
        (
            ["critic.norm=spectral", "constraint=clip"],
            ["constraint=clip rewrites the critic's raw weights", "critic.norm=spectral", "constraint=none"],
        ),
        (
            ["critic.encoder=cbn"],
            [
                "encoder 'cbn' cannot be used in a critic",
                "works in: generator",
                "Encoders valid in a critic: embed_channel, none, onehot_channel, projection",
            ],
        ),
        (
            ["generator.encoder=projection"],
            [
                "encoder 'projection' cannot be used in a generator",
                "works in: critic",
                "Encoders valid in a generator: cbn, embed_channel, none, onehot_channel",
            ],
        ),
        (
            ["generator=mlp", "generator.norm=instance"],
            ["generator=mlp applies its norm layers to 1x1", "generator.norm=batch, group, layer, none or spectral"],
        ),
        (["critic.norm=batch", "constraint=r1"], ["batch-coupled", "constraint=clip or none"]),
    ],
)
def test_refused_before_anything_is_built_with_the_reason(host, overrides, fragments):
    with pytest.raises(ConfigError) as err:
        resolve([*SYNTH, *overrides], host)
    for fragment in fragments:
        assert fragment in str(err.value)
    assert "ganzoo list --combinations" in str(err.value)


def test_every_reason_is_given_at_once(host):
    with pytest.raises(ConfigError) as err:
        resolve([*SYNTH, "critic.norm=batch", "constraint=gp", "critic.encoder=cbn"], host)
    assert "batch-coupled" in str(err.value) and "encoder 'cbn'" in str(err.value)


@pytest.mark.parametrize(
    "overrides",
    [
        ["critic.norm=spectral", "constraint=none"],
        ["critic.norm=spectral", "constraint=gp"],
        ["critic.norm=batch", "constraint=clip"],
        ["critic.norm=batch", "constraint=none"],
        ["critic.encoder=projection", "generator.encoder=cbn"],
        ["generator=mlp", "generator.norm=layer"],
        ["generator.norm=spectral", "constraint=clip"],  # spectral in the generator does not touch the clip
    ],
)
def test_allowed_combinations_resolve(host, overrides):
    resolve([*SYNTH, *overrides], host)


def test_the_cli_refuses_with_exit_2_and_writes_nothing(tmp_path, capsys):
    assert main(["run", *SYNTH, "critic.norm=spectral", "constraint=clip", f"out={tmp_path / 'r'}"]) == 2
    assert "spectral" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_critic_that_hard_codes_spectral_norm_is_refused_by_clip_when_built(host):
    from torch.nn.utils.parametrizations import spectral_norm

    cfg = resolve([*SYNTH, "critic.width=2", "constraint=clip"], host)
    models = build_models(cfg, DataSpec(1, 8, 10), host)
    models.critic.head = spectral_norm(models.critic.head)
    with pytest.raises(ConfigError, match="reparametrises its weights"):
        compat.check_built(models.critic, models.constraint)


def test_the_engine_applies_the_built_critic_rules_even_when_a_constraint_overrides_check(host):
    """A third-party constraint whose ``check`` skips ``super()`` must not drop the refusal of a
    critic that hard-codes BatchNorm under a per-sample penalty: the engine runs that rule itself."""
    import ganzoo

    class HardCodedBatchNorm(ganzoo.Critic):
        name = "hard_bn_test_critic"
        description = "a critic with BatchNorm written into it"

        class Config(ganzoo.Config):
            pass

        def __init__(self, cfg, spec, parts):
            super().__init__(cfg, spec, parts)
            self.body = torch.nn.Sequential(torch.nn.Conv2d(spec.channels, 2, 3, padding=1), torch.nn.BatchNorm2d(2))

        def forward(self, x, labels):
            return self.body(x).mean(dim=(1, 2, 3))  # (N,)

    class PenaltyWithOwnCheck(ganzoo.Penalty):
        name = "own_check_test_penalty"
        description = "a per-sample penalty whose check() does its own thing and skips super()"

        def check(self, critic):
            self.checked = True

        def term(self, critic, real, fake, labels):
            return ganzoo.input_gradient_norms(critic, real, labels).square().mean()

    class Plugin:
        @ganzoo.hookimpl
        def register_critics(self, register):
            register(HardCodedBatchNorm)

        @ganzoo.hookimpl
        def register_constraints(self, register):
            register(PenaltyWithOwnCheck)

    host.register(Plugin(), name="throwaway-own-check")
    try:
        cfg = resolve([*SYNTH, "critic=hard_bn_test_critic", "constraint=own_check_test_penalty"], host)
        with pytest.raises(ConfigError, match="batch-coupled"):
            build_models(cfg, DataSpec(1, 8, 10), host)
    finally:
        host.unregister("throwaway-own-check")


def test_list_combinations_shows_every_component_and_each_refusal(capsys, host):
    assert main(["list", "--combinations", "--json"]) == 0
    tables = {m["title"]: m["allowed"] for m in json.loads(capsys.readouterr().out)}
    norm_constraint = tables["critic.norm (rows) x constraint (columns)"]
    assert set(norm_constraint) == set(host.components("normaliser"))
    assert set(norm_constraint["layer"]) == set(host.components("constraint"))
    assert norm_constraint["batch"]["clip"] is True and norm_constraint["layer"]["gp"] is True
    assert "batch-coupled" in norm_constraint["batch"]["gp"]
    assert "rewrites the critic's raw weights" in norm_constraint["spectral"]["clip"]
    critics = tables["critic (rows) x constraint (columns)"]
    assert set(critics) == {f"critic={n}" for n in host.components("critic")} and critics["critic=dcgan"]["gp"] is True
    encoders = tables["network (rows) x critic/generator.encoder (columns)"]
    assert encoders["critic=dcgan"]["projection"] is True and "cannot be used in a generator" in encoders["generator=dcgan"]["projection"]
    assert encoders["generator=mlp"]["cbn"] is True and "cannot be used in a critic" in encoders["critic=resnet"]["cbn"]
    assert "1x1" in tables["network (rows) x critic/generator.norm (columns)"]["generator=mlp"]["instance"]
    assert main(["list", "--combinations"]) == 0
    out = capsys.readouterr().out
    assert "no (1)" in out and "(1) " in out


def test_list_combinations_fits_80_columns_with_whole_names(capsys, monkeypatch, host):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["list", "--combinations"]) == 0
    out = capsys.readouterr().out
    table_lines = [line for line in out.splitlines() if line[:1] in "┃│┏┡└"]
    assert table_lines and max(len(line) for line in table_lines) <= 80
    assert "…" not in out
    for name in [*host.components("critic"), *host.components("generator"), *host.components("constraint"), *host.components("normaliser")]:
        assert name in out, name


def test_a_critic_that_couples_the_batch_by_design_is_refused_with_per_sample_penalties(host, capsys):
    """A critic class with ``batch_coupled = True`` (a minibatch-stddev layer) is refused with every
    per-sample penalty whatever its norm, the reason names the critic and not a norm, and the
    critic x constraint table shows it."""
    import ganzoo

    class MinibatchStd(torch.nn.Module):
        batch_coupled = True

        def forward(self, x):  # (N, C, H, W) -> (N, C + 1, H, W)
            std = x.std(dim=0).mean().expand(x.shape[0], 1, *x.shape[2:])
            return torch.cat((x, std), dim=1)

    class StdCritic(ganzoo.Critic):
        name = "std_test_critic"
        description = "a critic with a minibatch standard deviation layer"
        batch_coupled = True

        class Config(ganzoo.Config):
            norm: str = ganzoo.ComponentRef("normaliser", "layer", "norm layer")

        def __init__(self, cfg, spec, parts):
            super().__init__(cfg, spec, parts)
            self.std = MinibatchStd()
            self.conv = torch.nn.Conv2d(spec.channels + 1, 2, 3, padding=1)

        def forward(self, x, labels):
            return self.conv(self.std(x)).mean(dim=(1, 2, 3))  # (N,)

    class Plugin:
        @ganzoo.hookimpl
        def register_critics(self, register):
            register(StdCritic)

    host.register(Plugin(), name="throwaway-std")
    try:
        with pytest.raises(ConfigError) as err:
            resolve([*SYNTH, "critic=std_test_critic", "critic.norm=layer", "constraint=gp"], host)
        message = str(err.value)
        assert "critic=std_test_critic couples the samples of a batch" in message and "No normaliser can change that" in message
        assert "critic.norm=layer" not in message and "BatchNorm" not in message
        resolve([*SYNTH, "critic=std_test_critic", "constraint=clip"], host)  # not a per-sample penalty: allowed
        rows = {m.title: m for m in compat.matrices(host)}["critic (rows) x constraint (columns)"]
        assert ("critic=std_test_critic", "gp") in rows.refused and ("critic=std_test_critic", "clip") not in rows.refused
    finally:
        host.unregister("throwaway-std")


def test_the_built_critic_check_names_the_coupling_layer(host):
    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = torch.nn.Sequential(torch.nn.Identity(), torch.nn.BatchNorm1d(1))

    critic = Hidden()
    critic.name = "hidden"
    with pytest.raises(ConfigError) as err:
        compat.check_built(critic, host.get("constraint", "gp")(host.get("constraint", "gp").Config()))
    assert "pool.1 (BatchNorm1d)" in str(err.value) and "no normaliser can change that" in str(err.value)


def test_rules_read_class_flags_so_third_party_components_are_covered(host):
    class Coupled(host.get("normaliser", "layer")):
        name = "coupled"
        batch_coupled = True

    problems = compat.problems({"critic.norm": Coupled, "constraint": host.get("constraint", "lp")}, host)
    assert len(problems) == 1 and problems[0].keys == ("critic.norm", "constraint")
    assert compat.problems({"critic.norm": Coupled, "constraint": host.get("constraint", "clip")}, host) == []


def test_cbn_makes_only_the_generators_norm_layers_conditional(host):
    from ganzoo_plugins.encoders.cbn import ConditionalNorm

    cfg = resolve([*SYNTH, "critic.width=2", "generator=dcgan", "generator.base=4", "generator.encoder=cbn"], host)
    models = build_models(cfg, DataSpec(1, 8, 3), host)
    conditional = [m for m in models.generator.modules() if isinstance(m, ConditionalNorm)]
    assert len(conditional) == 2  # after the projection and after the one upsampling block (8 = 4 * 2)
    assert all(isinstance(m.inner, torch.nn.BatchNorm2d) and not m.inner.affine for m in conditional)
    assert not any(isinstance(m, ConditionalNorm) for m in models.critic.modules())
    z, labels = torch.randn(4, 128), torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        conditional[0].gain.weight[1].fill_(3.0)  # class 1's gain on the first norm layer
        models.generator.eval()
        a = models.generator(z, labels)
        b = models.generator(z, torch.tensor([0, 2, 2, 0]))
    assert torch.equal(a[[0, 2, 3]], b[[0, 2, 3]]) and not torch.equal(a[1], b[1])
