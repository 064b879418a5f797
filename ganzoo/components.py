"""Base classes for every kind of component a plugin can provide.

A component is a class with a ``name``, a one-line ``description``, an optional paper
``reference`` and a nested pydantic ``Config`` (``extra="forbid"``). The engine validates the
user's options against ``Config`` and passes in the sizes that come from the data
(:class:`DataSpec`), so a user never types channels, resolution or the number of classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

KINDS = ("critic", "generator", "normaliser", "encoder", "constraint", "loss", "dataset")


class Config(BaseModel):
    """Base for component options: unknown keys are an error, every field has a description."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def ComponentRef(kind: str, default: str, description: str) -> Any:
    """A config field whose value names another component (e.g. ``critic.norm=layer``).

    The engine checks the name against the registry and hands the network a ready factory.
    """
    return Field(default, description=description, json_schema_extra={"ganzoo_kind": kind})


@dataclass(frozen=True)
class DataSpec:
    """Sizes that come from the data and are injected into every network."""

    channels: int
    size: int  # images are square: (channels, size, size)
    num_classes: int


@dataclass(frozen=True)
class ImageData:
    """A whole dataset held as tensors: ``images`` (N, C, H, W) float in [-1, 1], ``labels`` (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]

    @property
    def spec(self) -> DataSpec:
        return DataSpec(channels=self.images.shape[1], size=self.images.shape[2], num_classes=len(self.classes))


class Component:
    """Mixin carrying the metadata shared by every component kind."""

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    Config: ClassVar[type[Config]] = Config


@dataclass(frozen=True)
class Parts:
    """Factories for the sub-components a network's config names (``norm=``, ``encoder=``).

    ``parts["norm"](channels, height, width)`` returns a norm layer and
    ``parts["encoder"](height, width)`` a label encoder module.
    """

    factories: dict[str, Callable[..., nn.Module]]

    def __getitem__(self, key: str) -> Callable[..., nn.Module]:
        return self.factories[key]


class Critic(nn.Module, Component):
    """Scores images given labels: ``forward(x (N, C, H, W), labels (N,)) -> (N,)``."""

    kind = "critic"

    def __init__(self, cfg: Config, spec: DataSpec, parts: Parts):
        super().__init__()
        self.cfg, self.spec = cfg, spec


class Generator(nn.Module, Component):
    """Maps noise and labels to images: ``forward(z (N, z_dim), labels (N,)) -> (N, C, H, W)`` in [-1, 1]."""

    kind = "generator"

    def __init__(self, cfg: Config, spec: DataSpec, parts: Parts):
        super().__init__()
        self.cfg, self.spec = cfg, spec

    @property
    def z_dim(self) -> int:
        return int(self.cfg.z_dim)  # type: ignore[attr-defined]


class Normaliser(Component):
    """Builds a norm layer for a feature map of shape (channels, height, width).

    Set ``batch_coupled = True`` when the layer mixes samples of a batch (BatchNorm): per-sample
    gradient penalties refuse critics that contain such layers.
    """

    kind = "normaliser"
    batch_coupled: ClassVar[bool] = False

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def __call__(self, channels: int, height: int, width: int) -> nn.Module:
        raise NotImplementedError


class Encoder(nn.Module, Component):
    """Turns labels into ``channels`` extra feature maps: ``forward(labels (N,)) -> (N, channels, H, W)``.

    ``roles`` names the networks it may be used in ("critic", "generator").
    """

    kind = "encoder"
    roles: ClassVar[frozenset[str]] = frozenset({"critic", "generator"})
    channels: int = 0

    def __init__(self, cfg: Config, num_classes: int, height: int, width: int):
        super().__init__()
        self.cfg, self.num_classes, self.height, self.width = cfg, num_classes, height, width


class Constraint(Component):
    """A Lipschitz constraint on the critic, acting in the critic phase of training.

    ``penalty`` is added to the critic loss (return ``None`` for no penalty this step);
    ``after_critic_step`` runs after the critic's optimiser step (weight clipping).
    """

    kind = "constraint"
    per_sample: ClassVar[bool] = False  # True: refuses critics with batch-coupled layers
    double_backward: ClassVar[bool] = False  # True: the penalty differentiates a gradient (torch.compile is refused)

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def check(self, critic: Critic) -> None:
        """Raise :class:`ganzoo.errors.ConfigError` when this critic cannot be used with the constraint."""
        from ganzoo.errors import ConfigError

        if self.per_sample and is_batch_coupled(critic):
            raise ConfigError(
                f"Constraint '{self.name}' penalises each sample's gradient on its own, but critic "
                f"'{critic.name}' contains a batch-coupled layer (BatchNorm), so each score depends on "
                "the other samples in the batch and the penalty is not what it claims to be. Use a "
                "per-sample norm (critic.norm=layer, for example) or constraint=clip."
            )

    def penalty(
        self, critic: Critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor, step: int
    ) -> torch.Tensor | None:
        return None

    def after_critic_step(self, critic: Critic) -> None:
        return None


class Loss(Component):
    """The adversarial objective, given critic scores (N,) on real and generated images."""

    kind = "loss"

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def critic_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Dataset(Component):
    """A source of labelled images, loaded whole into memory as :class:`ImageData`."""

    kind = "dataset"

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def load(self) -> ImageData:
        raise NotImplementedError


BASES: dict[str, type[Component]] = {
    "critic": Critic,
    "generator": Generator,
    "normaliser": Normaliser,
    "encoder": Encoder,
    "constraint": Constraint,
    "loss": Loss,
    "dataset": Dataset,
}


def is_batch_coupled(module: nn.Module) -> bool:
    """True when any layer mixes the samples of a batch (BatchNorm, or a layer flagged ``batch_coupled``)."""
    return any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "batch_coupled", False)
        for m in module.modules()
    )


def assert_shape(t: torch.Tensor, shape: tuple[int | None, ...], what: str) -> None:
    """Check a tensor's shape at a component boundary (``None`` matches any size)."""
    ok = t.dim() == len(shape) and all(s is None or s == d for s, d in zip(shape, t.shape))
    if not ok:
        raise ValueError(f"{what}: expected shape {shape}, got {tuple(t.shape)}")
