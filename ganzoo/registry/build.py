"""Turns a resolved :class:`RunConfig` and the data's sizes into ready components."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from ganzoo.components import Constraint, Critic, DataSpec, Generator, ImageData, Loss, Normaliser, Parts, ref_fields
from ganzoo.data import progress
from ganzoo.errors import ConfigError, GanzooError, PluginError
from ganzoo.registry.compat import check_built
from ganzoo.registry.config import RunConfig
from ganzoo.registry.host import PluginHost


@dataclass
class Models:
    critic: Critic
    generator: Generator
    constraint: Constraint
    loss: Loss


def load_data(cfg: RunConfig, host: PluginHost) -> ImageData:
    """The dataset a run trains on, its shapes checked. Loading reports progress (``train.progress``;
    :mod:`ganzoo.data.progress`). A dataset whose options include ``flip`` and ``balance``
    (``ganzoo.SamplingConfig``) is sampled as they say."""
    name, options = cfg.components["data"]
    with host.blamed(f"loading the data (data={name})"), progress.reporting(progress.current() if cfg.train.progress else progress.quiet):
        data = host.get("dataset", name)(options).load()
    if not isinstance(data, ImageData):
        raise ConfigError(f"data={name} returned {type(data).__name__} from load(); a dataset returns ganzoo.ImageData.")
    shape, n = data.shape, len(data.labels)
    if len(shape) != 4 or shape[2] != shape[3] or shape[0] != n or data.labels.dim() != 1 or n == 0:
        raise ConfigError(
            f"data={name} returned images {tuple(shape)} and labels {tuple(data.labels.shape)}; expected (N, C, S, S) and (N,) with N > 0."
        )
    if data.dtype not in (torch.uint8, torch.float32):
        raise ConfigError(f"data={name} returned {data.dtype} images; expected uint8 (0..255) or float32 (in [-1, 1]).")
    sampling = {k: bool(getattr(options, k)) for k in ("flip", "balance") if hasattr(options, k)}
    return data.replace(**sampling) if sampling else data


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
    for field_name, ref_kind in ref_fields(cls).items():
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
    critic = _guarded(
        host, "critic", cfg, spec, lambda: network(host, "critic", *cfg.components["critic"], spec, cfg.subparts.get("critic"))
    )
    generator = _guarded(
        host, "generator", cfg, spec, lambda: network(host, "generator", *cfg.components["generator"], spec, cfg.subparts.get("generator"))
    )
    c_name, c_opts = cfg.components["constraint"]
    constraint = _guarded(host, "constraint", cfg, spec, lambda: host.get("constraint", c_name)(c_opts))
    norm_coupled = any(
        getattr(host.get("normaliser", getattr(cfg.options("critic"), f)), "batch_coupled", False)
        for f in ref_fields(type(critic), "normaliser")
    )
    check_built(critic, constraint, norm_coupled)  # the general rules, whatever the constraint's own check does
    constraint.check(critic)
    l_name, l_opts = cfg.components["loss"]
    models = Models(critic, generator, constraint, _guarded(host, "loss", cfg, spec, lambda: host.get("loss", l_name)(l_opts)))
    probe(models, spec, cfg, host)
    with host.blamed(f"trying the loss '{l_name}' on two scores before training"):
        _probe_loss(models.loss)
    return models


def _probe_loss(loss: Loss) -> None:
    """The loss on two made-up scores, so that a loss that raises fails before any training."""
    real, fake = torch.tensor([0.5, 1.0]), torch.tensor([-0.5, 0.0])
    loss.critic_loss(real, fake)
    loss.generator_loss(fake, real) if loss.pairs_real_and_fake else loss.generator_loss(fake)


@torch.no_grad()
def probe(models: Models, spec: DataSpec, cfg: RunConfig, host: PluginHost) -> None:
    """Run the generator and critic once on two samples, so that sizes a network cannot handle are a
    clean error before any training or file writing. Eval mode and a forked RNG: nothing changes."""
    critic, generator = models.critic, models.generator
    modes = critic.training, generator.training
    critic.eval(), generator.eval()
    try:
        with torch.random.fork_rng(devices=[]):
            labels = torch.arange(2) % spec.num_classes  # (2,)
            fake = _guarded(host, "generator", cfg, spec, lambda: generator(torch.randn(2, generator.z_dim), labels))  # z: (2, z_dim)
            _expect(host, "generator", cfg, spec, fake, (2, spec.channels, spec.size, spec.size))
            scores = _guarded(host, "critic", cfg, spec, lambda: critic(fake, labels))
            _expect(host, "critic", cfg, spec, scores, (2,))
    finally:
        critic.train(modes[0])
        generator.train(modes[1])


def _describe(host: PluginHost, slot: str, cfg: RunConfig, spec: DataSpec) -> str:
    name, options = cfg.components[slot]
    kind = "dataset" if slot == "data" else slot
    refs = ", ".join(f"{slot}.{k}={v}" for k, v in options.model_dump().items() if isinstance(v, str))
    entry = host.components(kind)[name]
    info = {p.name: p for p in host.plugins()}.get(entry.provider)
    dist = f", distribution '{info.distribution}'" if info is not None and info.distribution else ""
    return (
        f"The {slot} '{name}' ({refs + ', ' if refs else ''}from plugin '{entry.provider}'{dist}) "
        f"on {spec.channels}x{spec.size}x{spec.size} images with {spec.num_classes} classes"
    )


def _guarded(host: PluginHost, slot: str, cfg: RunConfig, spec: DataSpec, make):
    """Call ``make``; an exception from a component becomes one paragraph naming it and its plugin:
    the part whose code raised (a normaliser or encoder a network uses, say), else the slot's own."""
    try:
        return make()
    except GanzooError:
        raise
    except Exception as exc:
        entry = host.culprit(exc)
        name = cfg.components[slot][0]
        message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        if entry is not None and (entry.kind, entry.name) != ("dataset" if slot == "data" else slot, name):
            raise PluginError(
                f"{host.who(entry)[0].upper()}{host.who(entry)[1:]} raised {message} while ganzoo built "
                f"{_describe(host, slot, cfg, spec)[0].lower()}{_describe(host, slot, cfg, spec)[1:]}. The plugin '{entry.provider}' has a "
                f"bug or cannot handle these sizes: choose another {entry.kind}, or report it to the plugin's authors."
            ) from exc
        raise PluginError(
            f"{_describe(host, slot, cfg, spec)} failed: {message}. Choose other sizes "
            f"(data.size, data.channels) or another {slot}; if the sizes are sensible, the plugin has a bug."
        ) from exc


def _expect(host: PluginHost, slot: str, cfg: RunConfig, spec: DataSpec, out, shape: tuple[int, ...]) -> None:
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise PluginError(f"{_describe(host, slot, cfg, spec)} returned {got}, expected shape {shape}. The plugin has a bug.")


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
