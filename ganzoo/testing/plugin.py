"""Contract checks for a whole plugin, its datasets and its configs.

``check_plugin(host, "my-plugin")`` runs every applicable check on every component that one
plugin registers: critics and generators over each normaliser/encoder pairing the rules allow,
and the normaliser, encoder, constraint, loss, dataset and config checks.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import BaseModel, ValidationError

from ganzoo.registry.host import PluginHost
from ganzoo.testing.networks import check_critic, check_generator, network_cases, tiny_options
from ganzoo.testing.parts import check_constraint, check_encoder, check_loss, check_normaliser

PART_CHECKS = {"normaliser": check_normaliser, "encoder": check_encoder, "constraint": check_constraint, "loss": check_loss}


def check_config(cls: type) -> None:
    """A component's ``Config``: a pydantic model that forbids unknown keys, documents every field,
    and builds from its defaults (fields without a default are allowed when documented).

    ``cls`` is the component class (``check_config(MyCritic)``), not its ``Config``."""
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        raise TypeError(
            f"check_config takes the component class (the one with name, description and a nested Config), "
            f"not the Config model {cls.__qualname__} itself: call check_config(MyComponent)."
        )
    what = f"{getattr(cls, 'kind', 'component')} '{getattr(cls, 'name', cls.__name__)}'"
    config = getattr(cls, "Config", None)
    assert isinstance(config, type) and issubclass(config, BaseModel), f"{what}: Config must be a pydantic model (subclass ganzoo.Config)"
    assert config.model_config.get("extra") == "forbid", f"{what}: Config must forbid unknown keys (extra='forbid')"
    for field, info in config.model_fields.items():
        assert info.description, f"{what}: option '{field}' has no description (Field(..., description=...))"
    assert getattr(cls, "description", ""), f"{what}: no one-line description for `ganzoo list`"
    required = [f for f, info in config.model_fields.items() if info.is_required()]
    if not required:
        config()
    try:
        config(**{"no_such_option_xyz": 1})
    except ValidationError:
        pass
    else:  # pragma: no cover - only reached by a broken Config
        raise AssertionError(f"{what}: an unknown option was accepted")


def check_dataset(host: PluginHost, name: str, *, options: dict[str, Any] | None = None) -> None:
    """A dataset loads as (N, C, S, S) float images in [-1, 1] with (N,) int64 labels that index
    its class names; the engine's sizes come from it."""
    cls = host.get("dataset", name)
    check_config(cls)
    data = cls(cls.Config(**(options or {}))).load()
    what = f"dataset '{name}'"
    images, labels = data.images, data.labels
    assert images.dim() == 4 and images.shape[2] == images.shape[3], f"{what}: images must be (N, C, S, S), got {tuple(images.shape)}"
    assert images.shape[0] > 0 and images.dtype == torch.float32, f"{what}: images must be a non-empty float32 tensor"
    assert torch.isfinite(images).all() and images.min() >= -1 and images.max() <= 1, f"{what}: images must be finite and in [-1, 1]"
    assert labels.shape == (images.shape[0],) and labels.dtype == torch.int64, f"{what}: labels must be int64 of shape (N,)"
    assert labels.min() >= 0 and labels.max() < len(data.classes), f"{what}: labels must index its {len(data.classes)} class names"


def check_plugin(host: PluginHost, plugin: str) -> list[str]:
    """Run every applicable contract check on the components ``plugin`` registers; returns what was checked."""
    entries = [e for e in host.list_components() if e.provider == plugin]
    assert entries, f"plugin '{plugin}' registers no components (loaded plugins: {', '.join(p.name for p in host.plugins())})"
    checked = []
    for e in entries:
        check_config(e.cls)
        if e.kind in ("critic", "generator"):
            check = check_critic if e.kind == "critic" else check_generator
            cases = [c for c in network_cases(host, e.kind) if c[0] == e.name]
            for _, norm, encoder in cases:
                check(host, e.name, norm=norm or None, encoder=encoder or None, options=tiny_options(e.cls))
                checked.append(f"{e.kind} {e.name} norm={norm or '-'} encoder={encoder or '-'}")
            continue
        if e.kind == "dataset":
            check_dataset(host, e.name)
        else:
            PART_CHECKS[e.kind](host, e.name)
        checked.append(f"{e.kind} {e.name}")
    return checked
