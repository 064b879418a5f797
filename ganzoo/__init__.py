"""ganzoo: a plugin-based GAN model zoo.

This module exports exactly what plugins may use: the hook marker, the component base classes,
the config base, the data types, the helpers a penalty or network needs (also under data-parallel
training) and the user-facing errors. Built-in plugins use nothing else (a test checks it).

The engine around it, in the order a newcomer reads it:

- ``hookspecs``, ``components``, ``penalties``, ``layers``, ``errors``: what plugins see; ``ranks``
  (which process this is, the rank maths) and ``faults`` (test-only fault injection): the ground
  floor every layer may use;
- ``registry/``: the plugin host, the catalogue, the run configuration, the rules, building parts;
- ``training/``: the loop and the parts it calls;
- ``storage/``: checkpoints and the run folder on disk;
- ``evaluation/``: quality metrics and the offline evaluator;
- ``runs/``: starting, resuming, sampling, sweeping and comparing runs;
- ``testing/``: the contract kit for plugin authors; ``bench/``: throughput; ``cli/``: the command line.
"""

from __future__ import annotations

import importlib
from typing import Any

from ganzoo import _moved
from ganzoo.version import __version__ as __version__  # exported (in __all__, built below)

_moved.install()  # old import paths (ganzoo.plugins, ganzoo.train, ...) keep working

# The public API, loaded on first use: `import ganzoo` stays cheap (no torch), so the command line
# starts, and answers Ctrl-C, before anything heavy is imported. `ganzoo.Critic` and
# `from ganzoo import Critic` work as usual.
_EXPORTS = {
    "ganzoo.components": (
        "ComponentRef",
        "Config",
        "Constraint",
        "Critic",
        "DataSpec",
        "Dataset",
        "Encoder",
        "Generator",
        "ImageData",
        "ImageSource",
        "Loss",
        "Normaliser",
        "Parts",
    ),
    "ganzoo.data.folder": ("FolderConfig", "SamplingConfig", "load_image_files", "load_image_folder"),
    "ganzoo.errors": ("ConfigError", "DataError", "GanzooError"),
    "ganzoo.hookspecs": ("hookimpl",),
    "ganzoo.layers": (
        "LabelledSequential",
        "UpsampleConv",
        "assert_shape",
        "call_with_labels",
        "has_reparametrised_weights",
        "is_batch_coupled",
    ),
    "ganzoo.penalties": (
        "Penalty",
        "PenaltyConfig",
        "batch_std",
        "input_gradient_norms",
        "input_gradients",
        "interpolate",
        "lazy_scale",
        "shard_rand",
    ),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_HOME, "__version__"])


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
