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
    LabelledSequential,
    Loss,
    Normaliser,
    Parts,
    assert_shape,
    call_with_labels,
    has_reparametrised_weights,
    is_batch_coupled,
)
from ganzoo.errors import ConfigError, DataError, GanzooError
from ganzoo.hookspecs import hookimpl
from ganzoo.layers import UpsampleConv
from ganzoo.penalties import Penalty, PenaltyConfig, input_gradient_norms, input_gradients, interpolate, lazy_scale

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
    "call_with_labels",
    "has_reparametrised_weights",
    "hookimpl",
    "input_gradient_norms",
    "input_gradients",
    "interpolate",
    "is_batch_coupled",
    "lazy_scale",
]
