"""``ganzoo new-plugin NAME``: write a ready-to-install plugin package skeleton.

The skeleton holds a pyproject.toml with the ``ganzoo`` entry point, a module with one critic, and
a test that runs ganzoo's contract checks (``ganzoo.testing``) on it. Its test passes as generated.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import tempfile
from pathlib import Path

from ganzoo.errors import ConfigError

PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "ganzoo-{dist}"
version = "0.1.0"
description = "A ganzoo plugin: {name}"
requires-python = ">=3.11"
dependencies = ["ganzoo"]

[project.entry-points.ganzoo]
{name} = "{module}"

[tool.setuptools]
packages = ["{module}"]
"""

MODULE = '''"""The {name} ganzoo plugin. ganzoo finds this module through the ``ganzoo`` entry point."""

import torch
from pydantic import Field
from torch import nn

import ganzoo


class {cls}(ganzoo.Critic):
    """A small convolutional critic. Rename it, change it, add more components below."""

    name = "{name}"
    description = "a small strided-conv critic from the {name} plugin"
    reference = ""

    class Config(ganzoo.Config):
        width: int = Field(16, ge=1, le=1024, description="channels of the first conv")
        norm: str = ganzoo.ComponentRef("normaliser", "layer", "norm layer after each conv")
        encoder: str = ganzoo.ComponentRef("encoder", "embed_channel", "how labels enter the critic")

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        norm = parts["norm"]
        self.encoder = parts["encoder"](spec.size, spec.size, features=2 * cfg.width)
        c, size, layers = spec.channels + self.encoder.channels, spec.size, []
        for mult in (1, 2):
            out = cfg.width * mult
            size = (size + 1) // 2
            layers += [norm.wrap(nn.Conv2d(c, out, 3, stride=2, padding=1)), norm(out, size, size), nn.LeakyReLU(0.2)]
            c = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1))
        self.head = norm.wrap(nn.Linear(c, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = torch.cat((x, self.encoder(labels)), dim=1)  # (N, C + label channels, H, W)
        f = self.features(h).flatten(1)  # (N, 2 * width)
        return self.head(f).squeeze(1) + self.encoder.projection(f, labels)  # (N,)


@ganzoo.hookimpl
def register_critics(register):
    register({cls})
'''

TEST = '''"""ganzoo's contract checks on this plugin's components (shapes, NaN, double backward,
safetensors round trip, config validation), through the installed entry point."""

import pytest

from ganzoo.testing import check_plugin


@pytest.fixture(autouse=True)
def _autoload(monkeypatch):
    """The plugin is found through its entry point even where GANZOO_DISABLE_PLUGIN_AUTOLOAD is set
    (ganzoo's own test suite sets it)."""
    monkeypatch.delenv("GANZOO_DISABLE_PLUGIN_AUTOLOAD", raising=False)


def test_the_plugin_is_found_through_its_entry_point(ganzoo_host):
    assert "{name}" in {{p.name for p in ganzoo_host.plugins()}}


def test_contracts(ganzoo_host):
    checked = check_plugin(ganzoo_host, "{name}")
    assert any(c.startswith("critic {name}") for c in checked)
'''

README = """# ganzoo-{dist}

A ganzoo plugin that adds the critic `{name}`.

```bash
pip install -e .
ganzoo plugins                      # lists "{name}"
ganzoo run critic={name} train.steps=20
python -m pytest tests              # ganzoo's contract checks on this plugin
```
"""


def names(raw: str) -> dict[str, str]:
    name = raw.strip().lower().replace("-", "_")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ConfigError(
            f"Cannot make a plugin called '{raw}': use letters, digits, '_' or '-', starting with a letter "
            "(for example: ganzoo new-plugin my_critic)."
        )
    return {
        "name": name,
        "dist": name.replace("_", "-"),
        "module": f"ganzoo_{name}",
        "cls": "".join(p.capitalize() for p in name.split("_")) + "Critic",
    }


def files(raw: str, test_template: str = TEST) -> dict[str, str]:
    n = names(raw)
    return {
        "pyproject.toml": PYPROJECT.format(**n),
        "README.md": README.format(**n),
        f"{n['module']}/__init__.py": MODULE.format(**n),
        "tests/test_plugin.py": test_template.format(**n),
        "conftest.py": 'pytest_plugins = ["ganzoo.testing"]  # ganzoo\'s test kit: the ganzoo_host fixture\n',
    }


def write(raw: str, parent: Path, test_template: str = TEST) -> Path:
    """Write the skeleton into ``parent/ganzoo-DIST`` atomically (a temporary folder, then a rename)."""
    n = names(raw)
    target = parent / f"ganzoo-{n['dist']}"
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another name or folder (--dir).")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".ganzoo-{n['dist']}-", dir=parent))
    except OSError as exc:
        raise ConfigError(f"Cannot write in {parent}: {exc.strerror or exc}.") from None
    try:
        for rel, text in files(raw, test_template).items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
