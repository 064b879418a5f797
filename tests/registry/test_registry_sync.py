"""registry.toml is the one catalogue of built-ins: it must match what the modules register."""

import importlib

import pytest

from ganzoo.components import KINDS
from ganzoo.registry.config import resolve
from ganzoo.registry.catalogue import load_catalogue
from ganzoo.registry.host import PluginHost


def test_catalogue_lists_exactly_what_each_module_registers():
    catalogue = load_catalogue()["plugins"]
    # every kind is catalogued (an empty or partial catalogue would pass the loop below unchecked)
    assert {k for declared in catalogue.values() for k in declared} == set(KINDS)
    for module_name, declared in catalogue.items():
        host = PluginHost(builtins=False, entry_points=[])
        host.register(importlib.import_module(module_name), name=module_name)
        registered = {k: sorted(host.components(k)) for k in KINDS if host.components(k)}
        assert registered == {k: sorted(v) for k, v in declared.items()}, module_name


def test_every_builtin_module_in_the_plugins_folder_is_catalogued():
    from pathlib import Path

    import ganzoo_plugins

    root = Path(ganzoo_plugins.__file__).parent
    on_disk = {
        "ganzoo_plugins." + ".".join(p.relative_to(root).with_suffix("").parts) for p in root.rglob("*.py") if p.name != "__init__.py"
    }
    assert on_disk == set(load_catalogue()["plugins"])


@pytest.mark.parametrize("preset", sorted(load_catalogue()["presets"]))
def test_every_preset_resolves_and_records_its_source(preset, host):
    entry = load_catalogue()["presets"][preset]
    assert entry.get("description") and entry.get("source")
    when = entry.get("when", {})  # a recipe for data of a shape names no dataset: give it one of that shape
    data = [] if not when else ["data=synthetic", f"data.size={when.get('min_size', 28)}", f"data.channels={when.get('channels', [3])[0]}"]
    cfg = resolve([f"preset={preset}", *data], host)
    assert cfg.preset == preset


def test_wgan_gp_paper_preset_has_algorithm_1_defaults(host):
    cfg = resolve(["preset=wgan-gp-paper"], host)
    assert (cfg.train.lr_d, cfg.train.lr_g, cfg.train.betas, cfg.train.n_critic) == (1e-4, 1e-4, (0.0, 0.9), 5)
    assert cfg.name("constraint") == "gp" and cfg.options("constraint").weight == 10.0


@pytest.mark.parametrize("preset", sorted(p for p, e in load_catalogue()["presets"].items() if "when" in e))
def test_a_data_recipes_when_table_uses_only_known_conditions_and_is_picked_for_fitting_data(preset):
    from ganzoo.registry.catalogue import WHEN_KEYS, data_recipe

    when = load_catalogue()["presets"][preset]["when"]
    assert when and set(when) <= set(WHEN_KEYS), when  # a misspelled condition would silently never apply
    channels = when.get("channels", [3])
    size = int(when.get("min_size", 28))
    picked = data_recipe(channels[0] if isinstance(channels, list) else channels, size)
    assert picked is not None and picked[0] == preset
    assert data_recipe(1, 28) is None  # the embedded digits keep the default preset
