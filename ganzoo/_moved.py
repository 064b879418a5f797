"""Import paths that moved when the engine was grouped into subpackages keep working.

``import ganzoo.plugins`` (and every other old path below) gives the module at its new place, the
same module object, with a :class:`DeprecationWarning` that says where it went. Nothing else uses
this table: new code imports the new paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "ganzoo.plugins": "ganzoo.registry.host",
    "ganzoo.config": "ganzoo.registry.config",
    "ganzoo.compat": "ganzoo.registry.compat",
    "ganzoo.build": "ganzoo.registry.build",
    "ganzoo.train": "ganzoo.training.loop",
    "ganzoo.ema": "ganzoo.training.ema",
    "ganzoo.guard": "ganzoo.training.guard",
    "ganzoo.precision": "ganzoo.training.precision",
    "ganzoo.distributed": "ganzoo.training.distributed",
    "ganzoo.training.faults": "ganzoo.faults",
    "ganzoo.speed": "ganzoo.training.speed",
    "ganzoo.fused": "ganzoo.training.speed",
    "ganzoo.checkpoint": "ganzoo.storage.checkpoint",
    "ganzoo.rundir": "ganzoo.storage.folder",
    "ganzoo.evaluator": "ganzoo.evaluation.evaluator",
    "ganzoo.metrics": "ganzoo.evaluation.metrics",
    "ganzoo.evaluate": "ganzoo.evaluation.scoring",
    "ganzoo.run": "ganzoo.runs.launch",
    "ganzoo.sample": "ganzoo.runs.sample",
    "ganzoo.sweep": "ganzoo.runs.sweep",
    "ganzoo.compare": "ganzoo.runs.compare",
    "ganzoo.plugin_checks": "ganzoo.testing.plugin",
    "ganzoo.scaffold": "ganzoo.testing.scaffold",
    "ganzoo.distbench": "ganzoo.bench.procs",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old name and loads it as the module at its new place."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there.", DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module):
        """Nothing to run: the module was imported at its new place."""


_FINDER = _Alias()


def install() -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
