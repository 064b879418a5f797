"""Packaging steps that pyproject.toml cannot state: find the packages, and ship the catalogue.

- ``ganzoo`` and its subpackages are found by ``find_packages``; the built-in plugins in ``plugins/``
  install under the namespaced import name ``ganzoo_plugins`` (``plugins`` is a name other projects use).
- ``registry.toml`` stays at the top of the repository, its one source. Building copies it into the
  ``ganzoo_plugins`` package, where an installed ganzoo finds it (``ganzoo.registry.catalogue``);
  an editable install reads the source file itself.
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
CATALOGUE = "registry.toml"


class BuildWithCatalogue(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:
            target = Path(self.build_lib) / "ganzoo_plugins" / CATALOGUE
            target.parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(ROOT / CATALOGUE), str(target))

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if not self.editable_mode:
            outputs.append(str(Path(self.build_lib) / "ganzoo_plugins" / CATALOGUE))
        return outputs


setup(
    packages=[
        *find_packages(include=["ganzoo", "ganzoo.*"]),
        "ganzoo_plugins",
        *(f"ganzoo_plugins.{name}" for name in find_packages("plugins")),
    ],
    package_dir={"ganzoo_plugins": "plugins"},
    cmdclass={"build_py": BuildWithCatalogue},
)
