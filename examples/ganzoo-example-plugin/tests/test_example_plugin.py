"""ganzoo's contract checks on the example plugin, as its author would run them."""

import os

import pytest

from ganzoo.testing import check_plugin


@pytest.fixture(autouse=True)
def _autoload(monkeypatch):
    monkeypatch.delenv("GANZOO_DISABLE_PLUGIN_AUTOLOAD", raising=False)


def test_found_through_the_entry_point(ganzoo_host):
    assert "example" in {p.name for p in ganzoo_host.plugins()}


def test_contracts(ganzoo_host):
    checked = check_plugin(ganzoo_host, "example")
    assert {"constraint zero_gp", "dataset shapes"} <= set(checked)
    assert any(c.startswith("critic mlp_critic") for c in checked)
