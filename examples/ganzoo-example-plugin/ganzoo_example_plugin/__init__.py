"""The example plugin: every hook implementation lives here; ganzoo finds this module through the
``ganzoo`` entry point declared in pyproject.toml."""

import ganzoo

from ganzoo_example_plugin.critic import MLPCritic
from ganzoo_example_plugin.penalty import ZeroCentredGP
from ganzoo_example_plugin.shapes import Shapes


@ganzoo.hookimpl
def register_critics(register):
    register(MLPCritic)


@ganzoo.hookimpl
def register_constraints(register):
    register(ZeroCentredGP)


@ganzoo.hookimpl
def register_datasets(register):
    register(Shapes)
