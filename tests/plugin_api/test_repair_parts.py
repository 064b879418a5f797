"""The parts the seed's model was repaired with: the recipe a run picks for its named components, the
ResNet generator's layouts, blocks and label join, the LayerNorm critic's options, LayerNorm's
per-channel affine map, and the zero-centred gradient penalty."""

import pytest
import torch

import ganzoo
from ganzoo.registry import catalogue
from ganzoo.registry.build import build_models
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost

TOY = ["data=synthetic", "data.n=16", "data.size=8", "data.num_classes=3", "train.progress=false"]


@pytest.fixture
def recipes(monkeypatch):
    """A catalogue with a default and two recipes, one more specific than the other."""
    found = {
        "default": {
            "set": {"critic": "dcgan", "generator": "dcgan", "constraint": "none", "loss": "hinge", "data": "synthetic", "train.lr_d": 1e-3}
        },
        "a": {
            "for": {"critic": "layernorm_cond"},
            "set": {
                "critic": "layernorm_cond",
                "generator": "dcgan",
                "constraint": "none",
                "loss": "hinge",
                "data": "synthetic",
                "train.lr_d": 2e-3,
            },
        },
        "ab": {
            "for": {"critic": "layernorm_cond", "constraint": "gp"},
            "set": {
                "critic": "layernorm_cond",
                "generator": "dcgan",
                "constraint": "gp",
                "loss": "wasserstein",
                "data": "synthetic",
                "train.lr_d": 3e-3,
            },
        },
    }
    monkeypatch.setattr(catalogue, "presets", lambda: found)
    return found


def test_a_run_that_names_a_recipes_components_starts_from_it(recipes):
    host = PluginHost(entry_points=[])
    assert resolve(["critic=dcgan"], host).train.lr_d == 1e-3  # no recipe names dcgan: the default
    one = resolve(["critic=layernorm_cond"], host)
    assert one.preset == "a" and one.train.lr_d == 2e-3 and "preset 'a'" in one.recipe and "critic=layernorm_cond" in one.recipe
    both = resolve(["critic=layernorm_cond", "constraint=gp"], host)
    assert both.preset == "ab" and both.train.lr_d == 3e-3 and both.name("loss") == "wasserstein"  # the recipe naming most wins
    mine = resolve(["critic=layernorm_cond", "constraint=gp", "train.lr_d=5e-3"], host)
    assert mine.preset == "ab" and mine.train.lr_d == 5e-3  # the user's own values still win
    named = resolve(["preset=default", "critic=layernorm_cond", "constraint=gp"], host)
    assert named.preset == "default" and named.recipe is None and named.train.lr_d == 1e-3  # preset= is obeyed


def test_a_run_whose_data_fits_a_when_table_starts_from_that_recipe(recipes, tmp_path):
    from ganzoo.runs.launch import resolve_for_data, start

    recipes["big"] = {
        "when": {"channels": [3, 4], "min_size": 16},
        "set": {**recipes["default"]["set"], "train.lr_d": 7e-3, "train.steps": 1, "train.sample_every": 0},
    }
    host = PluginHost(entry_points=[])
    toy = ["data.n=16", "data.num_classes=3", "train.progress=false"]
    picked, data = resolve_for_data(resolve_user([*toy, "data.size=16", "data.channels=3"]), host)
    assert picked.preset == "big" and picked.train.lr_d == 7e-3 and "preset 'big'" in picked.recipe and "3x16x16" in picked.recipe
    assert data is not None and data.spec.size == 16  # loaded once, handed on to the trainer
    for other in (["data.size=8", "data.channels=3"], ["data.size=16", "data.channels=1"]):  # too small; grey
        cfg, _ = resolve_for_data(resolve_user([*toy, *other]), host)
        assert cfg.preset == "default" and cfg.recipe is None and cfg.train.lr_d == 1e-3
    cfg, data = resolve_for_data(resolve_user([*toy, "data.size=16", "data.channels=3", "preset=default"]), host)
    assert cfg.preset == "default" and data is None  # preset= is obeyed, and nothing is loaded to choose
    cfg, _ = resolve_for_data(resolve_user([*toy, "data.size=16", "data.channels=3", "critic=layernorm_cond"]), host)
    assert cfg.preset == "a"  # a recipe for the named components comes first
    run = start([*toy, "data.size=16", "data.channels=3", f"out={tmp_path / 'r'}"], host)
    import json

    stored = json.loads((run / "config.json").read_text())["config"]
    assert stored["preset"] == "big" and stored["train"]["lr_d"] == 7e-3


def resolve_user(overrides):
    from ganzoo.registry.overrides import parse_overrides

    return parse_overrides(["data=synthetic", *overrides])


@pytest.mark.parametrize("size", [8, 16, 28, 32])
@pytest.mark.parametrize("layout,block", [("resnet", "preact"), ("seed", "seed"), ("resnet", "seed"), ("seed", "preact")])
@pytest.mark.parametrize("join", ["noise", "map"])
def test_the_resnet_generator_builds_every_layout_block_and_join(size, layout, block, join, one_thread):
    host = PluginHost(entry_points=[])
    cfg = resolve(
        [
            *TOY,
            f"data.size={size}",
            "generator=resnet",
            "generator.base=32",
            "generator.z_dim=8",
            f"generator.layout={layout}",
            f"generator.block={block}",
            f"generator.labels_join={join}",
            "generator.encoder=onehot_channel",
        ],
        host,
    )
    models = build_models(cfg, ganzoo.DataSpec(1, size, 3), host)
    out = models.generator(torch.randn(4, 8), torch.tensor([0, 1, 2, 0]))
    assert out.shape == (4, 1, size, size) and out.abs().max() <= 1
    blocks = [m for m in models.generator.blocks if type(m).__name__.endswith("Block")]
    assert len(blocks) == (7 if layout == "seed" else 4) and all(
        type(b).__name__ == ("SeedBlock" if block == "seed" else "PreActBlock") for b in blocks
    )
    first = models.generator.project.in_features
    assert first == (8 + 3 if join == "noise" else 8)  # one-hot labels on the noise, or as channels of the first map


@pytest.mark.parametrize(
    "options,message",
    [
        (["generator.layout=seed", "generator.base=48"], "multiple of 32"),
        (["generator.dropout=0.25"], "layout=resnet has no dropout"),
    ],
)
def test_the_resnet_generator_refuses_options_its_layout_cannot_take(options, message):
    with pytest.raises(ganzoo.ConfigError, match=message):
        resolve([*TOY, "generator=resnet", *options], PluginHost(entry_points=[]))


def test_the_critics_stem_norm_and_slope():
    host = PluginHost(entry_points=[])
    plain = resolve([*TOY, "critic=layernorm_cond", "critic.stem_norm=false", "critic.slope=0.2", "critic.norm.affine=channel"], host)
    critic = build_models(plain, ganzoo.DataSpec(1, 8, 3), host).critic
    norms = [m for m in critic.features if isinstance(m, (torch.nn.GroupNorm, torch.nn.LayerNorm))]
    assert len(norms) == 6 and all(isinstance(m, torch.nn.GroupNorm) and m.num_groups == 1 for m in norms)  # no norm on the first conv
    assert {m.negative_slope for m in critic.features if isinstance(m, torch.nn.LeakyReLU)} == {0.2}
    seedlike = build_models(
        resolve([*TOY, "critic=layernorm_cond", "critic.stem_norm=true", "critic.norm.affine=elementwise"], host),
        ganzoo.DataSpec(1, 8, 3),
        host,
    ).critic
    assert sum(isinstance(m, torch.nn.LayerNorm) for m in seedlike.features) == 7


def test_layer_norm_per_channel_has_layer_norm_statistics():
    from ganzoo_plugins.normalisers.layer import LayerNormaliser

    x = torch.randn(3, 4, 5, 5) * 3 + 1
    per_channel = LayerNormaliser(LayerNormaliser.Config(affine="channel"))(4, 5, 5)
    elementwise = LayerNormaliser(LayerNormaliser.Config())(4, 5, 5)
    assert torch.allclose(per_channel(x), elementwise(x), atol=1e-5)  # same statistics; both affine maps start at identity
    assert sum(p.numel() for p in per_channel.parameters()) == 2 * 4 and sum(p.numel() for p in elementwise.parameters()) == 2 * 4 * 25


def test_the_zero_centred_gradient_penalty_by_hand():
    from ganzoo_plugins.constraints.gp import GradientPenalty

    class Linear(ganzoo.Critic):  # f(x) = w . x: the input gradient is w at every point
        name = "linear"

        def __init__(self):
            torch.nn.Module.__init__(self)
            self.w = torch.nn.Parameter(torch.full((1, 2, 2), 0.5))

        def forward(self, x, labels):
            return (x * self.w).flatten(1).sum(1)

    real, fake, labels = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2), torch.zeros(4, dtype=torch.long)
    zero = GradientPenalty(GradientPenalty.Config(weight=10.0, target=0.0)).penalty(Linear(), real, fake, labels, step=0)
    one = GradientPenalty(GradientPenalty.Config(weight=10.0)).penalty(Linear(), real, fake, labels, step=0)
    assert zero.item() == pytest.approx(10 * 1.0)  # ||w||^2 = 4 * 0.25
    assert one.item() == pytest.approx(0.0, abs=1e-6)  # ||w|| = 1: WGAN-GP's target exactly
    zero.backward()  # no square root at zero gradient: finite


def test_the_design_card_command_picks_the_repaired_recipe():
    """The first command a user types gets the settings made for the seed's parts; preset=seed stays the seed."""
    host = PluginHost(entry_points=[])
    card = resolve(["critic=layernorm_cond", "generator=resnet", "constraint=gp"], host)
    assert card.preset == "seed-repaired" and "seed-repaired" in card.recipe
    assert card.train.n_critic == 2 and card.components["critic"][1].encoder == "projection"
    seed = resolve(["preset=seed"], host)
    assert seed.recipe is None and seed.train.n_critic == 4 and seed.components["critic"][1].encoder == "embed_channel"
    assert resolve(["critic=layernorm_cond", "generator=dcgan", "constraint=gp"], host).preset == "default"  # not all three named
