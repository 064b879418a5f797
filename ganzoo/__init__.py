"""ganzoo: a plugin-based GAN model zoo.

This module exports exactly what plugins may use: the hook marker, the component base classes,
the config base, the data types, the helpers a penalty or network needs (also under data-parallel
training) and the user-facing errors. Built-in plugins use nothing else (a test checks it).

The engine around it, in the order a newcomer reads it:

- ``hookspecs``, ``components``, ``penalties``, ``layers``, ``errors``: what plugins see;
- ``registry/``: the plugin host, the catalogue, the run configuration, the rules, building parts;
- ``training/``: the loop and the parts it calls;
- ``storage/``: checkpoints and the run folder on disk;
- ``evaluation/``: quality metrics and the offline evaluator;
- ``runs/``: starting, resuming, sampling, sweeping and comparing runs;
- ``testing/``: the contract kit for plugin authors; ``bench/``: throughput; ``cli/``: the command line.
"""

from ganzoo.version import __version__
from ganzoo import _moved  # old import paths (ganzoo.plugins, ganzoo.train, ...) keep working

from ganzoo.components import (
    ComponentRef,
    Config,
    Constraint,
    Critic,
    DataSpec,
    Dataset,
    Encoder,
    Generator,
    ImageData,
    Loss,
    Normaliser,
    Parts,
)
from ganzoo.errors import ConfigError, DataError, GanzooError
from ganzoo.hookspecs import hookimpl
from ganzoo.layers import LabelledSequential, UpsampleConv, assert_shape, call_with_labels, has_reparametrised_weights, is_batch_coupled
from ganzoo.penalties import (
    Penalty,
    PenaltyConfig,
    batch_std,
    input_gradient_norms,
    input_gradients,
    interpolate,
    lazy_scale,
    shard_rand,
)

_moved.install()

__all__ = [
    "ComponentRef",
    "Config",
    "ConfigError",
    "Constraint",
    "Critic",
    "DataError",
    "DataSpec",
    "Dataset",
    "Encoder",
    "GanzooError",
    "Generator",
    "ImageData",
    "LabelledSequential",
    "Loss",
    "Normaliser",
    "Parts",
    "Penalty",
    "PenaltyConfig",
    "UpsampleConv",
    "__version__",
    "assert_shape",
    "batch_std",
    "call_with_labels",
    "has_reparametrised_weights",
    "hookimpl",
    "input_gradient_norms",
    "input_gradients",
    "interpolate",
    "is_batch_coupled",
    "lazy_scale",
    "shard_rand",
]
