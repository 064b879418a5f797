"""Turns a resolved :class:`RunConfig` and the data's sizes into ready components."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from ganzoo.components import Constraint, Critic, DataSpec, Generator, ImageData, Loss, Parts
from ganzoo.config import RunConfig
from ganzoo.errors import ConfigError
from ganzoo.plugins import PluginHost


@dataclass
class Models:
    critic: Critic
    generator: Generator
    constraint: Constraint
    loss: Loss


def load_data(cfg: RunConfig, host: PluginHost) -> ImageData:
    name, options = cfg.components["data"]
    data = host.get("dataset", name)(options).load()
    n = data.images.shape[0]
    if data.images.dim() != 4 or data.images.shape[2] != data.images.shape[3] or data.labels.shape != (n,) or n == 0:
        raise ConfigError(f"data={name} returned images {tuple(data.images.shape)} and labels {tuple(data.labels.shape)}; expected (N, C, S, S) and (N,) with N > 0.")
    return data


def network(host: PluginHost, kind: str, name: str, options, spec: DataSpec) -> torch.nn.Module:
    """Build a critic or generator, handing it factories for the norm and encoder its config names."""
    cls = host.get(kind, name)
    factories = {}
    for field_name, info in cls.Config.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        ref_kind = extra.get("ganzoo_kind")
        if ref_kind == "normaliser":
            norm_cls = host.get("normaliser", getattr(options, field_name))
            factories[field_name] = norm_cls(norm_cls.Config())
        elif ref_kind == "encoder":
            enc_cls = host.get("encoder", getattr(options, field_name))
            factories[field_name] = partial(enc_cls, enc_cls.Config(), spec.num_classes)
    return cls(options, spec, Parts(factories))


def build_models(cfg: RunConfig, spec: DataSpec, host: PluginHost) -> Models:
    critic = network(host, "critic", *cfg.components["critic"], spec)
    generator = network(host, "generator", *cfg.components["generator"], spec)
    c_name, c_opts = cfg.components["constraint"]
    constraint = host.get("constraint", c_name)(c_opts)
    constraint.check(critic)
    l_name, l_opts = cfg.components["loss"]
    return Models(critic, generator, constraint, host.get("loss", l_name)(l_opts))


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
