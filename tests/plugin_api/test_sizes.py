"""Every built-in critic and generator at the image sizes people train on (16, 28, 32, 48, 64, 128)
and with 1, 3 and 4 channels: each network derives its down/up-sampling stages and its first or last
map size from the image size by its own arithmetic, so none of these may crash or return another
shape. Sizes a network cannot take are refused with a one-paragraph ConfigError naming the size.

The networks are built from the registry, as the contract tests are (a newly registered network is
checked here without a new test), at their defaults and with the options of each preset that uses
them, at tiny widths. Each preset also trains one step at 48, 64 and 128, and its parameter counts at
28x28x1 and 32x32x3 are pinned to the values from before this module existed.
"""

import io
import json
from contextlib import redirect_stdout

import pytest
import torch

import ganzoo
from ganzoo.cli import main
from ganzoo.components import DataSpec
from ganzoo.registry.catalogue import presets
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost
from ganzoo.testing.networks import _build
from ganzoo.training.loop import Trainer

HOST = PluginHost(entry_points=[], env={})  # built-ins only, for parametrising at collection time
SIZES = (16, 28, 32, 48, 64, 128)
CHANNELS = (1, 3, 4)
NUM_CLASSES = 3

pytestmark = [
    pytest.mark.filterwarnings("ignore:group norm:UserWarning"),  # tiny widths make group norm fall back
    pytest.mark.usefixtures("one_thread"),  # conftest.py: one intra-op thread for this module
]


def _small(options: dict) -> dict:
    """A preset's network options at test widths: tiny channels, but what the layout needs
    (layout=seed halves ``base`` five times, so it must stay a multiple of 32)."""
    out = dict(options)
    if "width" in out:
        out["width"] = min(int(out["width"]), 4)
    if "base" in out:
        out["base"] = 32 if out.get("layout") == "seed" else min(int(out["base"]), 8)
    if "z_dim" in out:
        out["z_dim"] = min(int(out["z_dim"]), 8)
    return out


def _preset_options(kind: str, values: dict) -> dict:
    """A preset's options of its ``kind`` network (its own keys only: ``critic.norm.affine`` belongs to
    the normaliser), at test widths."""
    prefix = f"{kind}."
    return _small({k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix) and "." not in k[len(prefix) :]})


def _variants(kind: str) -> list[tuple[str, str, dict]]:
    """(network, label, options): each registered network at its defaults, and with the options of
    every preset that picks it (the network's own keys only: ``critic.norm.affine`` belongs to the
    normaliser). Duplicates, such as two presets with the same network options, are dropped."""
    out, seen = [], set()
    for name in sorted(HOST.components(kind)):
        out.append((name, "defaults", {}))
        seen.add((name, "{}"))
    for preset, entry in sorted(presets().items()):
        values = entry.get("set", {})
        name = values.get(kind)
        if name not in HOST.components(kind):
            continue
        options = _preset_options(kind, values)
        key = (name, json.dumps(options, sort_keys=True))
        if key not in seen:
            seen.add(key)
            out.append((name, f"preset={preset}", options))
    return out


CRITICS = _variants("critic")
GENERATORS = _variants("generator")


def _cases(variants):
    return [
        pytest.param(name, options, size, c, id=f"{name}-{label}-{c}x{size}x{size}")
        for name, label, options in variants
        for size in SIZES
        for c in CHANNELS
    ]


def test_every_network_and_every_preset_network_is_checked():
    assert {name for name, _, _ in CRITICS} == set(HOST.components("critic"))
    assert {name for name, _, _ in GENERATORS} == set(HOST.components("generator"))
    checked = {(name, json.dumps(options, sort_keys=True)) for name, _, options in CRITICS + GENERATORS}
    for preset, entry in presets().items():  # two presets with the same network options share one case
        for kind in ("critic", "generator"):
            values = entry.get("set", {})
            assert (values[kind], json.dumps(_preset_options(kind, values), sort_keys=True)) in checked, (preset, kind)


@pytest.mark.parametrize("name,options,size,channels", _cases(CRITICS))
def test_critic_scores_images_of_every_size(name, options, size, channels):
    spec = DataSpec(channels, size, NUM_CLASSES)
    critic = _build(HOST, "critic", name, spec, None, None, options, seed=0).train()
    x = torch.randn(2, channels, size, size)  # (N, C, S, S)
    labels = torch.arange(2) % NUM_CLASSES
    out = critic(x, labels)
    assert out.shape == (2,), f"critic '{name}' at {channels}x{size}x{size}: scores of shape {tuple(out.shape)}, expected (2,)"
    assert torch.isfinite(out).all()
    out.sum().backward()
    for n, p in critic.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), f"no finite gradient for '{n}'"
    with torch.no_grad():
        single = critic.eval()(x[:1], labels[:1])
    assert single.shape == (1,) and torch.isfinite(single).all()


@pytest.mark.parametrize("name,options,size,channels", _cases(GENERATORS))
def test_generator_makes_images_of_every_size(name, options, size, channels):
    spec = DataSpec(channels, size, NUM_CLASSES)
    gen = _build(HOST, "generator", name, spec, None, None, options, seed=0).train()
    labels = torch.arange(2) % NUM_CLASSES
    out = gen(torch.randn(2, gen.z_dim), labels)  # (N, C, S, S)
    assert out.shape == (2, channels, size, size), f"generator '{name}': images of shape {tuple(out.shape)}"
    assert torch.isfinite(out).all() and out.abs().max() <= 1
    out.square().mean().backward()
    for n, p in gen.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), f"no finite gradient for '{n}'"
    with torch.no_grad():
        single = gen.eval()(torch.randn(1, gen.z_dim), labels[:1])
    assert single.shape == (1, channels, size, size) and torch.isfinite(single).all()


# Sizes between and below the usual ones: each network either works or refuses the size in words.
ODD_SIZES = (4, 5, 7, 8, 9, 12, 20, 30, 36, 40, 96)


@pytest.mark.parametrize("kind,name", [(k, n) for k in ("critic", "generator") for n in sorted(HOST.components(k))])
def test_other_sizes_work_or_are_refused_with_a_clear_error(kind, name):
    worked = []
    for size in ODD_SIZES:
        spec = DataSpec(1, size, NUM_CLASSES)
        labels = torch.arange(2) % NUM_CLASSES
        try:
            net = _build(HOST, kind, name, spec, None, None, {}, seed=0)
        except ganzoo.ConfigError as exc:
            message = str(exc)
            assert str(size) in message and "\n" not in message, message
            continue
        if kind == "critic":
            assert net(torch.randn(2, 1, size, size), labels).shape == (2,)
        else:
            assert net(torch.randn(2, net.z_dim), labels).shape == (2, 1, size, size)
        worked.append(size)
    assert 8 in worked and 12 in worked and 96 in worked, worked  # every built-in takes multiples of 4 from 8 on


def test_sizes_below_what_layernorm_cond_pools_to_are_refused():
    with pytest.raises(ganzoo.ConfigError, match=r"critic 'layernorm_cond' .* at least 8 .* 7x7"):
        _build(HOST, "critic", "layernorm_cond", DataSpec(1, 7, NUM_CLASSES), None, None, {}, seed=0)


def test_resnet_generator_names_the_sizes_it_takes():
    with pytest.raises(ganzoo.ConfigError, match=r"multiple of 4; the data is 30x30 \(the nearest sizes it takes are 28 and 32\)"):
        _build(HOST, "generator", "resnet", DataSpec(1, 30, NUM_CLASSES), None, None, {}, seed=0)
    with pytest.raises(ganzoo.ConfigError, match=r"the data is 3x3 \(the nearest sizes it takes are 4\)"):
        _build(HOST, "generator", "resnet", DataSpec(1, 3, NUM_CLASSES), None, None, {}, seed=0)


# -- each preset trains at other sizes --------------------------------------------------------------

SMALL = {
    "default": ["critic.width=4", "generator.base=8", "generator.z_dim=8"],
    "seed-repaired": ["critic.width=2", "generator.base=8", "generator.z_dim=8"],
    "r3gan-small": ["critic.width=4", "generator.base=32", "generator.z_dim=8"],  # layout=seed: base a multiple of 32
    "seed": ["critic.width=2", "generator.base=32", "generator.z_dim=8"],
}


@pytest.mark.parametrize("size,channels", [(48, 1), (64, 3), (128, 4)])
@pytest.mark.parametrize("preset", sorted(SMALL))
def test_each_preset_trains_a_step_at_other_sizes(preset, size, channels, tmp_path):
    cfg = resolve(
        [
            f"preset={preset}",
            "data=synthetic",
            f"data.size={size}",
            f"data.channels={channels}",
            "data.n=8",
            f"data.num_classes={NUM_CLASSES}",
            "train.batch_size=2",
            "train.steps=1",
            "train.progress=false",
            "train.precision=fp32",
            *SMALL[preset],
            f"out={tmp_path}",
        ],
        HOST,
    )
    trainer = Trainer(cfg, HOST)
    stats = trainer.one_step(None)
    assert stats and all(torch.isfinite(torch.as_tensor(v)).all() for v in stats.values()), stats
    with torch.no_grad():
        images = trainer.generator(torch.randn(2, trainer.generator.z_dim), torch.arange(2) % NUM_CLASSES)
    assert images.shape == (2, channels, size, size)


# -- the sizes people trained at before keep their networks exactly --------------------------------

# `ganzoo run --dry-run --json preset=P data=synthetic data.size=S data.channels=C data.num_classes=10`,
# recorded before the networks' size arithmetic was touched.
PARAMS = {
    ("default", 28, 1): (41_761, 276_577),
    ("default", 32, 3): (173_153, 120_323),
    ("seed", 28, 1): (344_877, 6_556_871),
    ("seed", 32, 3): (374_541, 7_540_207),
    ("seed-repaired", 28, 1): (250_321, 632_673),
    ("seed-repaired", 32, 3): (250_465, 766_691),
    ("r3gan-small", 28, 1): (48_033, 380_845),
    ("r3gan-small", 32, 3): (68_225, 433_533),
    ("wgan-gp-paper", 28, 1): (344_877, 6_556_871),
    ("wgan-gp-paper", 32, 3): (374_541, 7_540_207),
    ("colour", 28, 1): (41_761, 1_597_825),
    ("colour", 32, 3): (173_153, 997_379),
}


def test_presets_keep_their_parameter_counts_at_28_and_32():
    assert {p for p, _, _ in PARAMS} == set(presets())  # a new preset gets its counts pinned here
    for (preset, size, channels), (critic, generator) in PARAMS.items():
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(
                [
                    "run",
                    "--dry-run",
                    "--json",
                    f"preset={preset}",
                    "data=synthetic",
                    f"data.size={size}",
                    f"data.channels={channels}",
                    "data.num_classes=10",
                ]
            )
        assert code == 0
        assert json.loads(out.getvalue())["params"] == {"critic": critic, "generator": generator}, (preset, size, channels)
