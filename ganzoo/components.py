"""Base classes for every kind of component a plugin can provide.

A component is a class with a ``name``, a one-line ``description``, an optional paper
``reference`` and a nested pydantic ``Config`` (``extra="forbid"``). The engine validates the
user's options against ``Config`` and passes in the sizes that come from the data
(:class:`DataSpec`), so a user never types channels, resolution or the number of classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

# The data types (ganzoo/imagedata.py) and network helpers that used to live here; ganzoo.X is their public name.
from ganzoo.imagedata import DataSpec, ImageData, ImageSource, to_unit  # noqa: F401
from ganzoo.layers import LabelledSequential, assert_shape, call_with_labels, has_reparametrised_weights, is_batch_coupled  # noqa: F401

KINDS = ("critic", "generator", "normaliser", "encoder", "constraint", "loss", "dataset")


class Config(BaseModel):
    """Base for component options: unknown keys are an error, every field has a description, and a
    float option refuses NaN and infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def ComponentRef(kind: str, default: str, description: str) -> Any:
    """A config field whose value names another component (e.g. ``critic.norm=layer``).

    The engine checks the name against the registry and hands the network a ready factory.
    """
    return Field(default, description=description, json_schema_extra={"ganzoo_kind": kind})


def ref_fields(cls: type, kind: str | None = None) -> dict[str, str]:
    """``{field: kind}`` for the config fields of component class ``cls`` made with
    :func:`ComponentRef` (``{"norm": "normaliser", "encoder": "encoder"}``), only those of ``kind``
    when given. The one place that reads which options name another component."""
    out = {}
    for name, info in getattr(cls, "Config").model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        picked = extra.get("ganzoo_kind")
        if picked is not None and (kind is None or picked == kind):
            out[name] = picked
    return out


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

    ``parts["norm"]`` is a :class:`Normaliser`: ``parts["norm"](channels, height, width)`` returns a
    norm layer and ``parts["norm"].wrap(layer)`` returns a conv or linear layer with the
    normaliser's weight reparametrisation (spectral normalisation), or the layer itself.
    ``parts["encoder"](height, width, features=D)`` returns a label :class:`Encoder`.
    """

    factories: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.factories[key]


class Critic(nn.Module, Component):
    """Scores images given labels: ``forward(x (N, C, H, W), labels (N,)) -> (N,)``.

    A critic that takes an ``encoder=`` works with every encoder allowed in a critic when it
    concatenates ``self.encoder(labels)`` to its input (``channels`` maps, possibly none) and adds
    ``self.encoder.projection(features, labels)`` to its score (zero unless the encoder projects).
    ``feature_maps`` means the same as for :class:`Generator`.
    """

    kind = "critic"
    feature_maps: ClassVar[bool] = True

    def __init__(self, cfg: Config, spec: DataSpec, parts: Parts):
        super().__init__()
        self.cfg, self.spec = cfg, spec


class Generator(nn.Module, Component):
    """Maps noise and labels to images: ``forward(z (N, z_dim), labels (N,)) -> (N, C, H, W)`` in [-1, 1].

    A generator that takes an ``encoder=`` concatenates ``self.encoder(labels)`` to a feature map
    and calls its norm layers through :func:`call_with_labels` (or a :class:`LabelledSequential`),
    so that conditional norm layers (``encoder=cbn``) see the labels.
    ``feature_maps = False`` says its norm layers see 1x1 maps (an MLP), which refuses normalisers
    that need spatial positions (instance norm).
    """

    kind = "generator"
    feature_maps: ClassVar[bool] = True

    def __init__(self, cfg: Config, spec: DataSpec, parts: Parts):
        super().__init__()
        self.cfg, self.spec = cfg, spec

    @property
    def z_dim(self) -> int:
        return int(self.cfg.z_dim)  # type: ignore[attr-defined]


class Normaliser(Component):
    """Builds a norm layer for a feature map of shape (channels, height, width), and may
    reparametrise the weights of conv and linear layers (``wrap``).

    Class flags the compatibility rules (:mod:`ganzoo.compat`) read:

    - ``batch_coupled``: the layer mixes the samples of a batch (BatchNorm), so per-sample
      gradient penalties refuse critics that use it;
    - ``reparametrises_weights``: ``wrap`` rescales each weight (spectral normalisation), so weight
      clipping, which rewrites the raw weights, is refused;
    - ``needs_spatial``: the layer normalises over spatial positions (instance norm), so networks
      whose norm layers see 1x1 maps refuse it.
    """

    kind = "normaliser"
    batch_coupled: ClassVar[bool] = False
    reparametrises_weights: ClassVar[bool] = False
    needs_spatial: ClassVar[bool] = False

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def __call__(self, channels: int, height: int, width: int, affine: bool = True) -> nn.Module:
        """A norm layer for (N, channels, height, width) maps; ``affine=False`` drops its own gain
        and bias (conditional norms supply them from the labels)."""
        raise NotImplementedError

    def wrap(self, layer: nn.Module) -> nn.Module:
        """Every conv and linear layer of a network passes through here; identity by default."""
        return layer


class Encoder(nn.Module, Component):
    """How class labels enter a network. ``mode`` says which way:

    - ``"channel"``: ``forward(labels (N,)) -> (N, channels, H, W)`` extra feature maps;
    - ``"projection"`` (critics): ``projection(features (N, D), labels) -> (N,)`` is added to the
      critic's score, and ``forward`` returns an empty (N, 0, H, W) map;
    - ``"cbn"`` (generators): :meth:`conditional` turns the generator's normaliser into one whose
      layers take their gain and bias from the labels; ``forward`` returns an empty map.

    Every encoder answers all three calls, so a network never branches on ``mode``.
    ``roles`` names the networks it may be used in ("critic", "generator").
    """

    kind = "encoder"
    mode: ClassVar[str] = "channel"
    roles: ClassVar[frozenset[str]] = frozenset({"critic", "generator"})
    channels: int = 0

    def __init__(self, cfg: Config, num_classes: int, height: int, width: int, features: int = 0):
        super().__init__()
        self.cfg, self.num_classes, self.height, self.width, self.features = cfg, num_classes, height, width, features

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.new_zeros((labels.shape[0], 0, self.height, self.width), dtype=torch.float32)  # (N, 0, H, W)

    def projection(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The label's term in a critic's score for its (N, D) feature vector; zero by default."""
        return features.new_zeros(features.shape[0])  # (N,)

    @classmethod
    def conditional(cls, cfg: Config, num_classes: int, normaliser: "Normaliser") -> "Normaliser":
        """The normaliser a generator's norm layers come from; unchanged unless ``mode == "cbn"``."""
        return normaliser


class Constraint(Component):
    """A Lipschitz constraint on the critic, acting in the critic phase of training.

    ``penalty`` is added to the critic loss (return ``None`` for no penalty this step);
    ``after_critic_step`` runs after the critic's optimiser step (weight clipping).
    """

    kind = "constraint"
    per_sample: ClassVar[bool] = False  # True: refuses critics with batch-coupled layers
    acts_on_weights: ClassVar[bool] = False  # True: rewrites weights, refuses reparametrised ones (spectral)
    double_backward: ClassVar[bool] = False  # True: the penalty differentiates a gradient (torch.compile is refused)

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def check(self, critic: Critic) -> None:
        """Raise :class:`ganzoo.ConfigError` when this critic cannot be used with this constraint, for
        reasons of the constraint's own. Nothing by default.

        The engine applies the general rules itself, before this is called, whatever a subclass does
        here: a per-sample constraint refuses a critic with a batch-coupled layer, and one that acts on
        weights refuses reparametrised weights (:func:`ganzoo.registry.compat.check_built`).
        """
        return None

    def penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor, step: int) -> torch.Tensor | None:
        return None

    def after_critic_step(self, critic: Critic) -> None:
        return None


class Loss(Component):
    """The adversarial objective, given critic scores (N,) on real and generated images.

    ``real_scores[i]`` and ``fake_scores[i]`` always belong together: the fake image ``i`` was
    generated for the label of real image ``i``. A loss that compares them pair by pair
    (relativistic losses) sets ``pairs_real_and_fake = True``; the engine then also passes the
    critic's scores on that real batch to :meth:`generator_loss`, as ``real_scores`` (without a
    gradient: the generator phase trains the generator only).

    ``decision_threshold`` says whether the critic's scores read as a classifier's: a loss that
    trains real scores above a threshold and generated ones below it (non-saturating: logits, 0;
    hinge: the same sign rule) sets it, and ``ganzoo doctor`` then logs how often the critic is
    right (a real score above it, a generated one below). ``None`` (the default, e.g. Wasserstein):
    the scores have no such reading.
    """

    kind = "loss"
    pairs_real_and_fake: ClassVar[bool] = False
    decision_threshold: ClassVar[float | None] = None

    def __init__(self, cfg: Config):
        self.cfg = cfg

    def critic_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's loss; ``real_scores`` is given only when ``pairs_real_and_fake`` is set."""
        raise NotImplementedError


class Dataset(Component):
    """A source of labelled images: :meth:`load` returns :class:`ImageData`, held in memory as float32
    or uint8 (a quarter of the memory), or streamed from disk through an :class:`ImageSource`.

    A Config that subclasses ``ganzoo.SamplingConfig`` gets ``flip`` and ``balance``, which the engine
    applies; ``ganzoo.FolderConfig`` and ``ganzoo.load_image_folder`` read a folder of images (shape
    from the images, parallel decoding, the decoded cache, streaming) as ``data=imagefolder`` does.
    """

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
