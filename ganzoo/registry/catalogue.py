"""The catalogue of built-ins: ``registry.toml`` lists the built-in plugin modules and the presets.

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
