"""ganzoo: a plugin-based GAN model zoo.

This module exports exactly what plugins may use: the hook marker, the component base classes,
the config base, the data types and the user-facing errors.
"""

__version__ = "0.1.0"

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
    assert_shape,
    is_batch_coupled,
)
from ganzoo.errors import ConfigError, DataError, GanzooError
from ganzoo.hookspecs import hookimpl
from ganzoo.penalties import input_gradient_norms, input_gradients, interpolate, lazy_scale

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
    "Loss",
    "Normaliser",
    "Parts",
    "__version__",
    "assert_shape",
    "hookimpl",
    "input_gradient_norms",
    "input_gradients",
    "interpolate",
    "is_batch_coupled",
    "lazy_scale",
]
