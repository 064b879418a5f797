"""``ganzoo run``: resolve the configuration, prepare the run directory, train, or resume a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from ganzoo import checkpoint, distributed, rundir
from ganzoo.build import build_models, count_params, load_data
from ganzoo.config import RunConfig, parse_overrides, resolve
from ganzoo.errors import ConfigError
from ganzoo.plugins import PluginHost

# Keys that may differ when a run is resumed: they change how long or how visibly it runs, not its maths.
RESUME_MAY_CHANGE = {"train.steps", "train.progress", "train.sample_every", "train.checkpoint_every", "train.device"}


def flatten(config: dict[str, Any]) -> dict[str, Any]:
    """``{"critic": {"name": "x", "norm": "layer"}}`` -> ``{"critic": "x", "critic.norm": "layer"}``."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[key if sub == "name" else f"{key}.{sub}"] = v
        elif value is not None:
            flat[key] = value
    return flat


def dry_run(cfg: RunConfig, host: PluginHost) -> dict[str, Any]:
    """What ``--dry-run`` prints: the resolved config, data sizes and parameter counts."""
    spec = load_data(cfg, host).spec
    models = build_models(cfg, spec, host)
    return {
        "config": cfg.to_dict(),
        "data": {"channels": spec.channels, "size": spec.size, "num_classes": spec.num_classes},
        "params": {"critic": count_params(models.critic), "generator": count_params(models.generator)},
        "plugins": host.versions(),
    }


def start(overrides: list[str], host: PluginHost, console: Console | None = None) -> Path:
    """Train a new run, or continue one when ``resume=RUN_DIR`` is given. Returns the run directory."""
    from ganzoo.train import Trainer

    user = parse_overrides(overrides)
    if "resume" in user:
        return resume(Path(str(user.pop("resume"))), user, host, console)
    cfg = resolve(user, host)
    run_dir = Path(cfg.out) if cfg.out else Path("runs") / rundir.default_name(cfg.name("critic"), cfg.name("generator"), cfg.name("constraint"))
    cfg.out = str(run_dir)
    trainer = Trainer(cfg, host, run_dir, console)  # loads data and builds models: fails before any file is written
    if distributed.is_writer():  # under torchrun only rank 0 writes; the others only train
        rundir.prepare(run_dir, fresh=True)
        rundir.write_config(run_dir, {**trainer.header(), "params": trainer.params()})
    trainer.fit()
    return run_dir


def resume(run_dir: Path, changes: dict[str, Any], host: PluginHost, console: Console | None = None) -> Path:
    from ganzoo.train import Trainer

    stored = rundir.read_config(run_dir)["config"]
    changes.pop("out", None)
    cfg = resolve({**flatten(stored), **changes, "out": str(run_dir)}, host, use_preset=False)
    diff = _diff(flatten(stored), flatten(cfg.to_dict()))
    refused = sorted(k for k in diff if k not in RESUME_MAY_CHANGE)
    if refused:
        lines = "; ".join(f"{k}: {diff[k][0]!r} -> {diff[k][1]!r}" for k in refused)
        raise ConfigError(
            f"Cannot resume {run_dir} with a different configuration ({lines}). Only these may change on "
            f"resume: {', '.join(sorted(RESUME_MAY_CHANGE))}. Start a new run with out=NEW_DIR instead."
        )
    trainer = Trainer(cfg, host, run_dir, console)
    path, (tensors, state, header), skipped = checkpoint.latest(run_dir / "checkpoints")
    ckpt_diff = {k: v for k, v in _diff(flatten(header["config"]), flatten(cfg.to_dict())).items() if k not in RESUME_MAY_CHANGE}
    if ckpt_diff:
        raise ConfigError(f"Checkpoint {path} was written by another configuration ({', '.join(sorted(ckpt_diff))} differ) than {run_dir}/config.json.")
    for note in skipped:
        trainer.console.print(f"[yellow]skipped a damaged checkpoint:[/] {note}")
    trainer.load_state(tensors, state)
    trainer.console.print(f"resuming {run_dir} from {path.name} (step {trainer.step} of {cfg.train.steps})")
    if distributed.is_writer():
        rundir.prepare(run_dir, fresh=False)
        rundir.write_config(run_dir, {**trainer.header(), "params": trainer.params()})
    trainer.fit()
    return run_dir


def _diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Keys whose values differ (the run directory itself, ``out``, is not compared)."""
    keys = (set(a) | set(b)) - {"out"}
    return {k: (a.get(k), b.get(k)) for k in keys if _norm(a.get(k)) != _norm(b.get(k))}


def _norm(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v
