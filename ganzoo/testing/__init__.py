"""Contract checks for ganzoo components: ganzoo's own tests use them, and so can plugin authors.

Each ``check_*`` function builds a component by name from a :class:`PluginHost` at a tiny size,
exercises the contract every component of its kind must keep, and raises ``AssertionError`` with
a message naming the component when it does not::

    from ganzoo.testing import PluginHost, check_critic

    def test_my_critic():
        check_critic(PluginHost(), "mine", norm="layer", encoder="embed_channel")

The checks live in :mod:`~ganzoo.testing.networks` (critics, generators),
:mod:`~ganzoo.testing.parts` (normalisers, encoders, constraints, losses) and
:mod:`~ganzoo.testing.plugin` (a whole plugin, datasets, configs); ``ganzoo new-plugin`` writes a
package that uses them (:mod:`~ganzoo.testing.scaffold`).

:func:`network_cases` lists the (network, normaliser, encoder) combinations that the rules in
:mod:`ganzoo.registry.compat` allow, so a test can be parametrised over everything registered. The fixture
``ganzoo_host`` (a fresh host with the built-ins and installed plugins) is available to a test
suite that loads this module as a pytest plugin (``pytest_plugins = ["ganzoo.testing"]``).

The checks need only torch and ganzoo; pytest is imported only for the fixtures.
"""

from ganzoo.registry.host import PluginHost
from ganzoo.testing.networks import TINY, check_critic, check_generator, network_cases, safetensors_round_trip, tiny_options
from ganzoo.testing.parts import TinyCritic, check_constraint, check_encoder, check_loss, check_normaliser
from ganzoo.testing.plugin import check_config, check_dataset, check_plugin

__all__ = [
    "PluginHost",
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


try:  # fixtures for test suites that load this module as a pytest plugin
    import pytest
except ImportError:  # pragma: no cover - pytest is a test-time dependency
    pytest = None

if pytest is not None:

    @pytest.fixture
    def ganzoo_host() -> PluginHost:
        """A fresh plugin host: the built-ins plus installed plugins (honours GANZOO_DISABLE_PLUGIN_AUTOLOAD)."""
        return PluginHost()
