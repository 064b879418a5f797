"""Turns a resolved :class:`RunConfig` and the data's sizes into ready components."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from ganzoo.components import Constraint, Critic, DataSpec, Generator, ImageData, Loss, Normaliser, Parts
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


def network(host: PluginHost, kind: str, name: str, options, spec: DataSpec, subparts: dict | None = None) -> torch.nn.Module:
    """Build a critic or generator, handing it the normaliser and encoder factories its config names.

    ``subparts`` maps a field (``norm``) to the validated Config of the component it picks; a field
    missing from it gets that component's defaults. An encoder in ``cbn`` mode makes every
    normaliser of the network conditional (:meth:`ganzoo.Encoder.conditional`).
    """
    cls = host.get(kind, name)
    subparts = subparts or {}
    factories: dict = {}
    encoders = []
    for field_name, info in cls.Config.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        ref_kind = extra.get("ganzoo_kind")
        if ref_kind not in ("normaliser", "encoder"):
            continue
        sub_cls = host.get(ref_kind, getattr(options, field_name))
        sub_cfg = subparts.get(field_name) or sub_cls.Config()
        if ref_kind == "normaliser":
            factories[field_name] = sub_cls(sub_cfg)
        else:
            factories[field_name] = partial(sub_cls, sub_cfg, spec.num_classes)
            encoders.append((sub_cls, sub_cfg))
    for enc_cls, enc_cfg in encoders:
        for field_name, factory in list(factories.items()):
            if isinstance(factory, Normaliser):
                factories[field_name] = enc_cls.conditional(enc_cfg, spec.num_classes, factory)
    return cls(options, spec, Parts(factories))


def build_models(cfg: RunConfig, spec: DataSpec, host: PluginHost) -> Models:
    critic = network(host, "critic", *cfg.components["critic"], spec, cfg.subparts.get("critic"))
    generator = network(host, "generator", *cfg.components["generator"], spec, cfg.subparts.get("generator"))
    c_name, c_opts = cfg.components["constraint"]
    constraint = host.get("constraint", c_name)(c_opts)
    constraint.check(critic)
    l_name, l_opts = cfg.components["loss"]
    return Models(critic, generator, constraint, host.get("loss", l_name)(l_opts))


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
