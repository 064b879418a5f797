"""Contract tests generated from the registry: a newly registered component is checked without a
new test. The checks themselves live in :mod:`ganzoo.testing`, which plugin authors can use too.

Every critic and generator is checked with every normaliser and encoder the rules in
:mod:`ganzoo.compat` allow with it (the full product: 72 critic and 68 generator combinations
today, each at 8x8 with 1 and 3 channels and at batch size 1).
"""

import pytest
import torch

from ganzoo.components import KINDS
from ganzoo.plugins import PluginHost, load_catalogue
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

pytestmark = pytest.mark.filterwarnings("ignore:group norm:UserWarning")  # tiny widths make group norm fall back


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from a second intra-op thread, and on a busy 2-core machine its
    spin-waiting made these checks 10-20x slower (measured: 13 s vs 0.65 s for one case)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
