"""Run configuration: ``key=value`` overrides on top of a preset, validated by pydantic.

Keys:
- ``critic=``, ``generator=``, ``constraint=``, ``loss=``, ``data=`` pick a component by name;
- ``critic.norm=layer`` (any ``KIND.option``) sets an option of the chosen component;
- ``critic.norm.groups=8`` (``KIND.FIELD.option``) sets an option of a component that a network
  option picks (its normaliser or encoder);
- ``train.steps=…`` and the other :class:`TrainConfig` fields set the training loop;
- ``seed=``, ``out=`` (the run directory), ``preset=`` (from ``registry.toml``), ``resume=RUN_DIR``;
- ``resume.allow=[a,b]`` (or one key) names the keys a resumed run may change (the resume policy: :mod:`ganzoo.registry.resume`).

:func:`resolve` does three jobs, each its own function: :func:`merge_preset` (the preset, then the
user's values), :func:`ganzoo.registry.keys.route` (each key to its place, by the ``ROUTES`` table)
and the validation of the values (pydantic for options, :func:`_scalars` for seed, out and resume).

The text of ``key=value`` and of lists (``train.betas=[0.5,0.999]``) is read by
:mod:`ganzoo.registry.overrides`; this module validates the values.
It is longer than 300 lines as ruff formats it: the three jobs of resolve and the stored form share one set of types.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from ganzoo.components import Config, ref_fields
from ganzoo.errors import ConfigError, did_you_mean, unknown
from ganzoo.registry import compat
from ganzoo.registry.catalogue import DEFAULT_PRESET, base_preset, preset_values
from ganzoo.registry.host import PluginHost
from ganzoo.registry.keys import SCALARS, SLOTS, route  # noqa: F401 (SCALARS and SLOTS: the keys a run has)
from ganzoo.registry.overrides import parse_overrides, parse_value  # noqa: F401 (the override syntax)


class TrainConfig(Config):
    steps: int = Field(1000, ge=1, description="generator steps to train for")
    max_minutes: float | None = Field(
        None,
        gt=0,
        description="also stop once training has taken this many minutes (across resumes); the last step's samples, scores and "
        "checkpoint are written as usual",
    )
    batch_size: int = Field(64, ge=1, description="real images per critic step")
    n_critic: int = Field(5, ge=1, description="critic steps per generator step")
    lr_g: float = Field(1e-4, gt=0, lt=1, description="generator Adam learning rate")
    lr_d: float = Field(1e-4, gt=0, lt=1, description="critic Adam learning rate")
    betas: tuple[float, float] = Field((0.0, 0.9), description="Adam betas, each in [0, 1)")
    sample_every: int = Field(100, ge=0, description="write a sample grid every K generator steps (0: only at the end)")
    checkpoint_every: int = Field(500, ge=0, description="checkpoint every K generator steps (0: only at the end)")
    eval_every: int = Field(0, ge=0, description="score quality every K generator steps (0: never during training)")
    eval_n: int = Field(500, ge=10, description="generated images per evaluation during training")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="where to train; auto picks cuda when present")
    progress: bool = Field(True, description="show a progress bar")
    sync_bn: bool = Field(
        False, description="under torchrun, BatchNorm statistics over the global batch (SyncBatchNorm, CUDA only); no effect in one process"
    )
    ema: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="decay of an exponential moving average of the generator weights used for samples (0: off; e.g. 0.999)",
    )
    max_retries: int = Field(
        3,
        ge=0,
        le=1000,
        description="times a generator step with a NaN/Inf loss, penalty or gradient is undone and retried on fresh batches before "
        "the run stops",
    )
    diag_every: int = Field(
        1,
        ge=0,
        description="log the evidence ganzoo doctor reads (critic scores, gradient norms per block, penalty share, ...) into "
        "metrics.jsonl every K generator steps (0: never); it changes no weights",
    )
    holdout_every: int = Field(
        0,
        ge=0,
        description="hold 5% of the real images (at most 128) out of training and, every K generator steps, log the critic's mean "
        "score on them, on as many training images and on generated ones (real_score_heldout, real_score_train, fake_score_probe): "
        "ganzoo doctor reads a growing gap as the critic overfitting; 0: off, every image is trained on",
    )
    tensorboard: bool = Field(
        False,
        description="also write TensorBoard event files into the run folder (needs the tensorboard extra: pip install "
        "'ganzoo[tensorboard]')",
    )
    # Speed settings (ganzoo/speed.py, ganzoo/precision.py); `ganzoo bench` measures each of them.
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto",
        description="fp32, or mixed precision under autocast (bf16; fp16 with a gradient scaler, GPU only); auto: bf16 where the "
        "hardware computes it natively (CUDA with bf16, CPUs with avx512_bf16 or AMX), else fp32",
    )
    subpixel: bool = Field(
        True,
        description="compute the generator's 'nearest x2 upsampling, then 3x3 conv' layers as four 2x2 convs on the small map (same "
        "function, 4/9 of the multiply-adds; ganzoo/layers.py)",
    )
    channels_last: bool = Field(True, description="run the generator in channels-last memory format (weights and activations)")
    fused: bool = Field(True, description="one critic pass over real and fake images together, when the critic has no batch-coupled layers")
    compile: bool = Field(False, description="torch.compile the critic and generator (refused when the constraint needs double backward)")

    @field_validator("betas")
    @classmethod
    def _betas_in_range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= b < 1.0 for b in v):
            raise ValueError("each beta must be in [0, 1), e.g. train.betas=[0.5,0.999]")
        return v


@dataclass
class RunConfig:
    """The resolved configuration of a run: chosen component names, their validated options, training."""

    components: dict[str, tuple[str, Config]]  # slot -> (name, validated Config)
    train: TrainConfig
    subparts: dict[str, dict[str, Config]] = field(default_factory=dict)  # slot -> ref field -> its component's Config
    seed: int = 0
    out: str | None = None
    preset: str = DEFAULT_PRESET
    resume: str | None = None
    dropped: dict[str, Any] = field(default_factory=dict)  # preset options dropped because the user picked another component
    recipe: str | None = None  # why ganzoo chose the preset, when it picked a recipe for the named components

    def name(self, slot: str) -> str:
        return self.components[slot][0]

    def options(self, slot: str) -> Config:
        return self.components[slot][1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; also the form :func:`from_dict` reads back."""
        out: dict[str, Any] = {}
        for slot, (name, cfg) in self.components.items():
            out[slot] = {"name": name, **cfg.model_dump(mode="json")}
            for fname, sub in self.subparts.get(slot, {}).items():
                out[slot].update({f"{fname}.{k}": v for k, v in sub.model_dump(mode="json").items()})
        out["train"] = self.train.model_dump(mode="json")
        out.update(seed=self.seed, out=self.out, preset=self.preset)
        return out


def resolve(overrides: list[str] | dict[str, Any], host: PluginHost, use_preset: bool = True, check_compat: bool = True) -> RunConfig:
    """Apply the preset, then the user's overrides, and validate everything.

    ``use_preset=False`` (used on resume) takes every value from ``overrides`` alone.
    """
    user = parse_overrides(overrides) if isinstance(overrides, list) else dict(overrides)
    preset, recipe, merged, dropped = merge_preset(user, use_preset)
    keys = route(merged)
    components: dict[str, tuple[str, Config]] = {}
    subparts: dict[str, dict[str, Config]] = {}
    for slot, kind in SLOTS.items():
        name = keys.picks.get(slot)
        if name is None:
            raise ConfigError(f"No {slot} chosen: preset '{preset}' sets none. Add {slot}=NAME.")
        cls = host.get(kind, name)
        components[slot] = (name, _validate_options(cls, slot, name, keys.options[slot], host))
        subparts[slot] = _validate_subparts(cls, slot, name, components[slot][1], keys.nested[slot], host)
    train = _validate_model(TrainConfig, "train", keys.options["train"])
    seed, out, resume = _scalars(keys.scalars)
    cfg = RunConfig(components, train, subparts=subparts, seed=seed, out=out, preset=preset, resume=resume, dropped=dropped, recipe=recipe)
    if check_compat:
        check_combination(cfg, host)  # combinations that cannot work are refused here, before anything is built
    return cfg


def merge_preset(user: dict[str, Any], use_preset: bool = True) -> tuple[str, str | None, dict[str, Any], dict[str, Any]]:
    """(preset, why it was picked, the preset's values with the user's on top, the preset's options dropped).

    When the user picks a different component than the preset, the preset's options for the old
    component no longer apply; the same for a sub-component (a new critic.norm drops critic.norm.*).
    ``use_preset=False``: no preset, the user's values alone.
    """
    user = dict(user)
    preset, recipe = base_preset(user) if use_preset else (str(user.get("preset", DEFAULT_PRESET)), None)
    user.pop("preset", None)
    base = preset_values(preset) if use_preset else {}
    dropped: dict[str, Any] = {}
    for key in [k for k in user if k in SLOTS or (k.count(".") == 1 and k.partition(".")[0] in SLOTS)]:
        if str(user[key]) != str(base.get(key)):
            dropped.update({k: v for k, v in base.items() if k.startswith(key + ".") and k not in user})
            base = {k: v for k, v in base.items() if not k.startswith(key + ".")}
    return preset, recipe, {**base, **user}, dropped


def _scalars(scalars: dict[str, Any]) -> tuple[int, str | None, str | None]:
    """``seed``, ``out`` and ``resume``, checked (``~`` expanded in the paths)."""
    seed = scalars.get("seed", 0)
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise ConfigError(f"seed must be an integer, got {seed!r}.") from None
    if not 0 <= seed < 2**63:
        raise ConfigError(f"seed must be in [0, 2**63), got {seed}.")
    out, resume = scalars.get("out"), scalars.get("resume")
    for key, val in (("out", out), ("resume", resume)):
        if val is not None and (not isinstance(val, str) or not val.strip()):
            raise ConfigError(f"{key}= needs a directory path, got {val!r}.")
    out, resume = (os.path.expanduser(v) if isinstance(v, str) else v for v in (out, resume))  # out=~/runs/x
    return seed, out, resume


def picks(cfg: RunConfig, host: PluginHost) -> dict[str, type]:
    """The classes a resolved configuration chose, keyed as :func:`ganzoo.registry.compat.problems`
    expects: ``{"critic": cls, "critic.norm": cls, ..., "constraint": cls, ...}``."""
    out: dict[str, type] = {}
    for slot, kind in SLOTS.items():
        name, options = cfg.components[slot]
        cls = host.get(kind, name)
        out[slot] = cls
        for fname, sub_kind in ref_fields(cls).items():
            out[f"{slot}.{fname}"] = host.get(sub_kind, getattr(options, fname))
    return out


def check_combination(cfg: RunConfig, host: PluginHost) -> None:
    """Refuse a configuration that breaks a rule of :mod:`ganzoo.registry.compat`, with every reason."""
    found = compat.problems(picks(cfg, host), host)
    if found:
        raise ConfigError(" ".join(p.reason for p in found) + " (ganzoo list --combinations shows what is allowed.)")


def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """The stored form (:meth:`RunConfig.to_dict`, as in ``config.json``) as overrides:
    ``{"critic": {"name": "x", "norm": "layer"}}`` -> ``{"critic": "x", "critic.norm": "layer"}``."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[key if sub == "name" else f"{key}.{sub}"] = v
        elif value is not None:
            flat[key] = value
    return flat


def from_stored(config: Any, host: PluginHost, where: str = "the stored configuration") -> RunConfig:
    """Rebuild the :class:`RunConfig` a run was started with from its stored form (``config.json``'s
    ``config``, or a checkpoint header's), without a preset: every value comes from the record.

    ``where`` names the record in the error raised when it is not a ganzoo configuration."""
    if not isinstance(config, dict) or not all(isinstance(config.get(slot), dict) for slot in SLOTS):
        raise ConfigError(
            f"{where} is not a ganzoo run configuration: it needs a section for each of "
            f"{', '.join(SLOTS)} (with the component's name) and train. Was it written by another tool?"
        )
    return resolve(flatten(config), host, use_preset=False)


def _validate_options(cls: type, slot: str, name: str, opts: dict[str, Any], host: PluginHost) -> Config:
    cfg = _validate_model(cls.Config, slot, opts, owner=f"{slot} '{name}'")
    for fname, ref_kind in ref_fields(cls).items():
        value = getattr(cfg, fname)
        entries = host.components(ref_kind)
        if value not in entries:
            raise unknown(ref_kind, value, entries, where=f"{slot}.{fname}")
    return cfg


def _validate_subparts(
    cls: type, slot: str, name: str, cfg: Config, nested: dict[str, dict[str, Any]], host: PluginHost
) -> dict[str, Config]:
    """Validate ``slot.FIELD.option`` values against the Config of the component FIELD picks."""
    refs = ref_fields(cls)
    for fname in nested:
        if fname not in refs:
            first = next(iter(nested[fname]))
            valid = ", ".join(f"{slot}.{f}.OPTION" for f in refs) or "(none: this component picks no sub-components)"
            raise ConfigError(
                f"Unknown key '{slot}.{fname}.{first}': only options that pick a component take options of "
                f"their own, and {slot} '{name}' has no such option '{fname}'.{did_you_mean(fname, refs)} Valid: {valid}."
            )
    out: dict[str, Config] = {}
    for fname, ref_kind in refs.items():
        sub_name = getattr(cfg, fname)
        sub_cls = host.get(ref_kind, sub_name)
        out[fname] = _validate_model(sub_cls.Config, f"{slot}.{fname}", nested.get(fname, {}), owner=f"{ref_kind} '{sub_name}'")
    return out


def _validate_model(model: type[Config], prefix: str, opts: dict[str, Any], owner: str | None = None) -> Any:
    try:
        return model(**opts)
    except ValidationError as exc:
        fields = list(model.model_fields)
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            key = f"{prefix}.{loc}" if loc else prefix
            if err["type"] == "extra_forbidden":
                hint = did_you_mean(str(err["loc"][0]), fields)
                valid = ", ".join(f"{prefix}.{f}" for f in fields) or "(none)"
                problems.append(f"Unknown option '{key}' for {owner or prefix}.{hint} Valid options: {valid}.")
            elif not err["loc"]:  # a check of several options together (a model validator)
                problems.append(f"Bad options for {owner or prefix}: {err['msg'].removeprefix('Value error, ')}.")
            else:
                top = str(err["loc"][0]) if err["loc"] else ""
                desc = model.model_fields[top].description if top in model.model_fields else None
                got = err.get("input")
                msg = err["msg"].removeprefix("Value error, ")  # a field validator's own sentence
                if err["type"] == "finite_number":  # NaN or inf: say so, instead of a range message
                    msg = f"{got!r} is not a number that can be used here (NaN and infinity are not allowed); give a finite number"
                problems.append(f"Bad value for '{key}' ({got!r}): {msg}." + (f" ({key}: {desc}.)" if desc else ""))
        raise ConfigError(" ".join(problems)) from None
