"""The catalogue of built-ins: ``registry.toml`` lists the built-in plugin modules and the presets.

A preset may be a *recipe* for a combination of components: its ``for`` table names them
(``for = { critic = "layernorm_cond", generator = "resnet", constraint = "gp" }``), and a run that
names those components without a ``preset=`` starts from it instead of ``default``
(:func:`base_preset`), so the design card's command gets settings made for its parts. A preset with
a ``when`` table is a recipe for data of a shape (``when = { channels = [3, 4], min_size = 48 }``):
a run that names no preset and no recipe's components starts from it once its data is loaded and
fits (:func:`data_recipe`; ``ganzoo.runs.launch.resolve_for_data``).

The file's source is ``registry.toml`` at the top of the repository. An installed wheel carries a
copy inside the ``ganzoo_plugins`` package (``setup.py`` puts it there when the wheel is built);
an editable install reads the source file beside ``plugins/``.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from ganzoo.errors import PluginError, unknown

FILE = "registry.toml"


def catalogue_path() -> Path:
    """The catalogue file: the copy inside the installed ``ganzoo_plugins`` package, else the source
    file at the top of the source tree (one level above ``plugins/``)."""
    import ganzoo_plugins

    package = Path(ganzoo_plugins.__file__).resolve().parent
    shipped = package / FILE
    return shipped if shipped.is_file() else package.parent / FILE


@lru_cache(maxsize=1)
def load_catalogue() -> dict[str, Any]:
    """The parsed ``registry.toml``: ``plugins`` (module -> {kind: [names]}) and ``presets``."""
    path = catalogue_path()
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise PluginError(
            f"The built-in catalogue {FILE} is missing from this ganzoo installation (looked for {path}). "
            "Reinstall ganzoo: pip install ganzoo, or pip install -e . in its source tree."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise PluginError(f"The built-in catalogue {path} is not valid TOML ({exc}). Reinstall ganzoo.") from None


def builtin_modules() -> list[str]:
    """The built-in plugin modules, in catalogue order."""
    return list(load_catalogue().get("plugins", {}))


def presets() -> dict[str, dict[str, Any]]:
    """Every preset: name -> {description, source, set}."""
    return dict(load_catalogue().get("presets", {}))


def preset_values(name: str) -> dict[str, Any]:
    """The ``key = value`` settings of one preset, or a did-you-mean error listing the presets."""
    found = presets()
    if name not in found:
        raise unknown("preset", name, found)
    return dict(found[name].get("set", {}))


DEFAULT_PRESET = "default"


def base_preset(user: dict[str, Any]) -> tuple[str, str | None]:
    """The preset a run starts from, and why when ganzoo chose it: the one named by ``preset=``; else the
    recipe whose ``for`` components the user named, all of them (the one naming most, when several do);
    else ``default``."""
    if "preset" in user:
        return str(user["preset"]), None
    fitting = [
        (len(p["for"]), name)
        for name, p in presets().items()
        if isinstance(p.get("for"), dict) and p["for"] and all(str(user.get(k)) == str(v) for k, v in p["for"].items())
    ]
    if not fitting:
        return DEFAULT_PRESET, None
    _, name = max(fitting)
    named = " ".join(f"{k}={v}" for k, v in presets()[name]["for"].items())
    return name, f"recipe: preset '{name}', the settings made for {named} (preset=default to start from the default instead)"


WHEN_KEYS = ("channels", "min_size", "max_size")


def _fits(when: dict[str, Any], channels: int, size: int) -> bool:
    allowed = when.get("channels")
    return (
        (allowed is None or channels in (allowed if isinstance(allowed, list) else [allowed]))
        and size >= int(when.get("min_size", 0))
        and size <= int(when.get("max_size", size))
    )


def _said(key: str, value: Any) -> str:
    if key == "channels":
        return " or ".join(str(v) for v in (value if isinstance(value, list) else [value])) + " channels"
    return f"{'at least' if key == 'min_size' else 'at most'} {value} px"


def data_recipe(channels: int, size: int) -> tuple[str, str] | None:
    """(preset, why) for data of ``channels`` x ``size`` x ``size``: the preset whose ``when`` table it
    fits (the one with most conditions, then by name, when several do), or None."""
    fitting = [
        (len(p["when"]), name)
        for name, p in presets().items()
        if isinstance(p.get("when"), dict) and p["when"] and _fits(p["when"], channels, size)
    ]
    if not fitting:
        return None
    _, name = max(fitting)
    when = presets()[name]["when"]
    said = ", ".join(_said(k, when[k]) for k in WHEN_KEYS if k in when)
    return name, (
        f"recipe: preset '{name}', the settings made for data like this: {channels}x{size}x{size}, and it is for {said}; "
        "preset=default to start from the default instead"
    )
