"""What a resumed run may change: the configuration's resume policy, and the differences between two
stored configurations (``config.json``'s, a checkpoint header's, the one asked for now).

``ganzoo run resume=RUN_DIR`` takes every value from the run's stored configuration; the user's
overrides may change only :data:`RESUME_MAY_CHANGE` (how long, how visibly or how fast it runs, not
its maths), unless ``resume.allow=[KEY,KEY]`` names further keys on purpose. :func:`resume_config`
applies the policy once, for the run folder's record, and :func:`check_checkpoint` for the
checkpoint it loads. ``ganzoo sweep`` and ``ganzoo tune`` compare run folders with the same
:func:`diff_configs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganzoo.errors import CheckpointError, ConfigError, did_you_mean
from ganzoo.registry.config import RunConfig, flatten, resolve
from ganzoo.registry.host import PluginHost
from ganzoo.registry.overrides import as_override

# Keys that may differ when a run is resumed: they change how long, how visibly or how fast it runs,
# not its maths (the speed settings change float rounding at most, as a different device does).
RESUME_MAY_CHANGE = {
    "train.steps",
    "train.max_minutes",
    "train.progress",
    "train.sample_every",
    "train.checkpoint_every",
    "train.device",
    "train.tensorboard",
    "train.diag_every",
    "train.channels_last",
    "train.subpixel",
    "train.fused",
    "train.compile",
}
# ``resume.allow=[train.lr_d,train.steps]`` (or one key) names further keys the user means to change on resume.
ALLOW_KEY = "resume.allow"


def resume_config(
    run_dir: Path, stored: dict[str, Any], changes: dict[str, Any], allow: Any, host: PluginHost
) -> tuple[RunConfig, set[str]]:
    """The configuration ``run_dir`` continues with: its ``stored`` (flattened) configuration with the
    user's ``changes``, validated; and the keys that may differ from what was stored. A change the
    policy does not allow is refused with the differences and the ``resume.allow=`` that accepts them."""
    allowed = RESUME_MAY_CHANGE | parse_allow(allow, stored)
    changes = {k: v for k, v in changes.items() if k != "out"}
    cfg = resolve({**stored, **changes, "out": str(run_dir)}, host, use_preset=False)
    # A key missing from the stored config is newer than the run: its default applies unless the user sets it.
    refused = {k: v for k, v in diff_configs(stored, flatten(cfg.to_dict())).items() if k not in allowed and (k in stored or k in changes)}
    if refused:
        raise ConfigError(
            f"Cannot resume {run_dir} with a different configuration: {describe_diff(refused)}. Without notice only "
            f"{', '.join(sorted(RESUME_MAY_CHANGE))} may change. To change the others on purpose, add "
            f"{as_override(ALLOW_KEY, sorted(refused))}; or start a new run with out=NEW_DIR."
        )
    return cfg, allowed


def check_checkpoint(weights: Path, config_file: Path, written: dict[str, Any], cfg: RunConfig, allowed: set[str]) -> None:
    """Refuse a checkpoint whose header's configuration (``written``, the stored form) differs from
    the run's in a key the resume does not allow (it was written by another configuration)."""
    written = flatten(written)
    foreign = {k: v for k, v in diff_configs(written, flatten(cfg.to_dict())).items() if k not in allowed and k in written}
    if foreign:
        raise CheckpointError(
            f"Checkpoint {weights} was written by another configuration than {config_file}: "
            f"{describe_diff(foreign)}. Move it out of the run directory, or add {as_override(ALLOW_KEY, sorted(foreign))} "
            "if the change is intended."
        )


def parse_allow(value: Any, stored: dict[str, Any]) -> set[str]:
    """The keys named by ``resume.allow=[a,b]`` (or one key), each checked against the run's configuration."""
    if value is None:
        return set()
    keys = [str(k).strip() for k in (value if isinstance(value, list) else [value])]
    valid = sorted(k for k in stored if k != "out")
    for key in keys:
        if key not in valid:
            raise ConfigError(
                f"{ALLOW_KEY} names '{key}', which is not a key of this run's configuration.{did_you_mean(key, valid)} "
                f"Valid keys: {', '.join(valid)}."
            )
    return set(keys)


def describe_diff(diff: dict[str, tuple[Any, Any]]) -> str:
    return "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in sorted(diff.items()))


def diff_configs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Keys whose values differ (the run directory itself, ``out``, is not compared)."""
    keys = (set(a) | set(b)) - {"out"}
    return {k: (a.get(k), b.get(k)) for k in keys if _norm(a.get(k)) != _norm(b.get(k))}


def _norm(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v
