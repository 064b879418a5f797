"""Contract tests generated from the registry: a newly registered component is checked without a
new test. The checks themselves live in :mod:`ganzoo.testing`, which plugin authors can use too.

Every critic and generator is checked with every normaliser and encoder the rules in
:mod:`ganzoo.compat` allow with it (the full product: 72 critic and 68 generator combinations
today, each at 8x8 with 1 and 3 channels and at batch size 1).
"""

import pytest
import torch

from ganzoo.components import KINDS
from ganzoo.registry.catalogue import load_catalogue
from ganzoo.registry.host import PluginHost
from ganzoo.testing import (
    check_constraint,
    check_critic,
    check_encoder,
    check_generator,
    check_loss,
    check_normaliser,
    network_cases,
)

HOST = PluginHost(entry_points=[], env={})  # built-ins only, for parametrising at collection time
CRITICS = network_cases(HOST, "critic")
GENERATORS = network_cases(HOST, "generator")

pytestmark = [
    pytest.mark.filterwarnings("ignore:group norm:UserWarning"),  # tiny widths make group norm fall back
    pytest.mark.usefixtures("one_thread"),  # conftest.py: one intra-op thread for this module
]


def _id(case):
    return "-".join(case)


@pytest.mark.parametrize("case", CRITICS, ids=_id)
def test_critic_contract(case):
    name, norm, encoder = case
    check_critic(HOST, name, norm=norm, encoder=encoder)


@pytest.mark.parametrize("case", GENERATORS, ids=_id)
def test_generator_contract(case):
    name, norm, encoder = case
    check_generator(HOST, name, norm=norm, encoder=encoder)


@pytest.mark.parametrize("kind,cases", [("critic", CRITICS), ("generator", GENERATORS)])
def test_no_component_is_skipped(kind, cases):
    """Each network, and each normaliser and encoder its role allows, appears in some case."""
    assert {c[0] for c in cases} == set(HOST.components(kind))
    assert {c[1] for c in cases} == set(HOST.components("normaliser"))
    assert {c[2] for c in cases} == {n for n, e in HOST.components("encoder").items() if kind in e.cls.roles}


@pytest.mark.parametrize("kind,name", [(k, n) for k in ("critic", "generator") for n in sorted(HOST.components(k))])
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_networks_work_at_28x28x1_and_32x32x3(kind, name, channels, size):
    check = check_critic if kind == "critic" else check_generator
    check(HOST, name, channels=(channels,), size=size, num_classes=10, batch=2)


@pytest.mark.parametrize("name", sorted(HOST.components("normaliser")))
def test_normaliser_contract(name):
    check_normaliser(HOST, name)


@pytest.mark.parametrize("name", sorted(HOST.components("encoder")))
def test_encoder_contract(name):
    check_encoder(HOST, name)


@pytest.mark.parametrize("name", sorted(HOST.components("constraint")))
def test_constraint_contract(name):
    check_constraint(HOST, name)


@pytest.mark.parametrize("name", sorted(HOST.components("loss")))
def test_loss_contract(name):
    check_loss(HOST, name)


def test_every_builtin_has_a_description_and_a_reference():
    builtin = set(load_catalogue()["plugins"])
    assert {entry.provider for kind in KINDS for entry in HOST.components(kind).values()} == builtin  # every built-in is checked
    for kind in KINDS:
        for name, entry in HOST.components(kind).items():
            assert entry.provider in builtin
            assert entry.description and entry.reference, f"{kind} '{name}' needs a description and a reference"


def test_the_kit_works_through_its_pytest_fixture(ganzoo_host):
    """ganzoo.testing loaded as a pytest plugin (tests/conftest.py) gives a ready host."""
    assert "gp" in ganzoo_host.components("constraint")
    check_constraint(ganzoo_host, "gp", options={"weight": 1.0})


def test_a_broken_critic_fails_the_contract_with_a_clear_message():
    import ganzoo

    class Coupled(ganzoo.Critic):
        """Claims nothing about batches, but centres each score on the batch mean."""

        name = "coupled_test_critic"

        def __init__(self, cfg, spec, parts):
            super().__init__(cfg, spec, parts)
            self.lin = torch.nn.Linear(spec.channels * spec.size**2, 1)

        def forward(self, x, labels):
            s = self.lin(x.flatten(1)).squeeze(1)
            return s - s.mean()

    class Plugin:
        @ganzoo.hookimpl
        def register_critics(self, register):
            register(Coupled)

    host = PluginHost(entry_points=[], env={})
    host.register(Plugin(), name="coupled-plugin")
    with pytest.raises(AssertionError, match="depends on the rest of the batch"):
        check_critic(host, "coupled_test_critic")


@pytest.mark.parametrize("encoder", ["onehot_channel", "embed_channel", "projection", "none"])
@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_dcgan_critic_without_stem(norm, encoder):
    check_critic(HOST, "dcgan", norm=norm, encoder=encoder, options={"stem": False}, size=28, num_classes=10, channels=(1,))


@pytest.mark.parametrize("encoder", ["onehot_channel", "embed_channel", "cbn", "none"])
def test_dcgan_generator_with_labels_joining_the_noise(encoder):
    check_generator(
        HOST, "dcgan", encoder=encoder, options={"labels_join": "noise", "upsample": "transposed"}, size=28, num_classes=10, channels=(1,)
    )


def test_dcgan_critic_without_stem_has_no_norm_on_its_input_layer():
    from ganzoo.components import DataSpec
    from ganzoo.testing.networks import _build

    critic = _build(HOST, "critic", "dcgan", DataSpec(1, 28, 10), "batch", "none", {"stem": False, "width": 8}, seed=0)
    layers = list(critic.features)
    assert isinstance(layers[0], torch.nn.Conv2d) and layers[0].stride == (2, 2) and layers[0].in_channels == 1
    assert isinstance(layers[1], torch.nn.LeakyReLU)  # no norm between the input conv and its activation
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in critic.modules()) == 1  # the second strided conv's
    assert layers[0].out_channels == 8 and critic.head.in_features == 16 * 7 * 7
