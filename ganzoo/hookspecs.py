"""The hooks a ganzoo plugin can implement: one registry hook per component kind.

Every hook receives ``register``, a callable that takes a component *class* (a subclass of the
matching base in :mod:`ganzoo.components`). Each plugin registers as many classes as it likes;
every plugin is asked, so none of these hooks is ``firstresult``.

The hooks run once, when the component registry is first used (``ganzoo list``, ``ganzoo run``…).
"""

from __future__ import annotations

from typing import Callable

import pluggy

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")

Register = Callable[[type], None]


@hookspec
def register_critics(register: Register) -> None:
    """Register :class:`ganzoo.Critic` subclasses: networks that score (images, labels)."""


@hookspec
def register_generators(register: Register) -> None:
    """Register :class:`ganzoo.Generator` subclasses: networks that map (noise, labels) to images."""


@hookspec
def register_normalisers(register: Register) -> None:
    """Register :class:`ganzoo.Normaliser` subclasses: the norm layer a network inserts (batch, layer…)
    and, through ``wrap``, any reparametrisation of its conv and linear weights (spectral)."""


@hookspec
def register_encoders(register: Register) -> None:
    """Register :class:`ganzoo.Encoder` subclasses: how class labels enter a critic or generator
    (extra channels, a projection term in the critic, or conditional norm layers in the generator)."""


@hookspec
def register_constraints(register: Register) -> None:
    """Register :class:`ganzoo.Constraint` subclasses: Lipschitz constraints (clip, gradient penalty…)."""


@hookspec
def register_losses(register: Register) -> None:
    """Register :class:`ganzoo.Loss` subclasses: the adversarial objective (Wasserstein…)."""


@hookspec
def register_datasets(register: Register) -> None:
    """Register :class:`ganzoo.Dataset` subclasses: sources of labelled images."""
