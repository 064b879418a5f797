"""``ganzoo run``: resolve the configuration, prepare the run folder and train; or resume a run.

Orchestration only: the configuration and its resume policy are the registry's
(:mod:`ganzoo.registry.config`, :mod:`ganzoo.registry.resume`), the training the trainer's. The
trainer is built first (data loaded, models built and probed), so a configuration that cannot work
fails before any file is written. Under torchrun every rank trains and only rank 0 touches
the run folder: it prepares and locks it, and its :class:`~ganzoo.runs.recorder.RunRecorder` writes
what each step leaves behind.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

from ganzoo.errors import CheckpointError
from ganzoo.components import ImageData
from ganzoo.registry.build import build_models, count_params, load_data
from ganzoo.registry.catalogue import data_recipe
from ganzoo.registry.config import RunConfig, flatten, resolve
from ganzoo.registry.overrides import parse_overrides
from ganzoo.registry.resume import ALLOW_KEY, check_checkpoint, resume_config
from ganzoo.registry.host import PluginHost
from ganzoo.runs.recorder import RunRecorder
from ganzoo.storage import checkpoint, folder
from ganzoo import ranks
from ganzoo.training import state
from ganzoo.training.loop import Trainer
from ganzoo.training.progress import Reporter


def resolve_for_data(user: dict[str, Any], host: PluginHost) -> tuple[RunConfig, ImageData | None]:
    """The configuration of a new run, and its data when loading it was needed to choose.

    With no ``preset=`` and no recipe for the named components, the data is loaded, and a preset whose
    ``when`` table fits its shape (a colour recipe for 48 px and up, say) replaces ``default``; the
    loaded data comes back when the chosen preset leaves the data's options as they were."""
    cfg = resolve(user, host)
    if "preset" in user or cfg.recipe:
        return cfg, None
    data = load_data(cfg, host)
    picked = data_recipe(data.spec.channels, data.spec.size)
    if picked is None:
        return cfg, data
    chosen = resolve({**user, "preset": picked[0]}, host)
    chosen.recipe = picked[1]
    return chosen, (data if chosen.components["data"] == cfg.components["data"] else None)


def dry_run(cfg: RunConfig, host: PluginHost, data: ImageData | None = None) -> dict[str, Any]:
    """What ``--dry-run`` prints: the resolved config, data sizes and parameter counts."""
    spec = (data or load_data(cfg, host)).spec
    models = build_models(cfg, spec, host)
    out = {
        "config": cfg.to_dict(),
        "data": {"channels": spec.channels, "size": spec.size, "num_classes": spec.num_classes},
        "params": {"critic": count_params(models.critic), "generator": count_params(models.generator)},
        "plugins": host.versions(),
    }
    if cfg.recipe:
        out["recipe"] = cfg.recipe
    if cfg.dropped:  # switching critic= (say) drops the preset's options for the critic it replaced
        out["dropped_from_preset"] = {
            "note": f"these options of preset '{cfg.preset}' were for components you replaced, so they do not apply",
            "options": cfg.dropped,
        }
    return out


def start(overrides: list[str], host: PluginHost, reporter: Reporter | None = None) -> Path:
    """Train a new run, or continue one when ``resume=RUN_DIR`` is given. Returns the run folder."""
    user = parse_overrides(overrides)
    if "resume" in user:
        allow = user.pop(ALLOW_KEY, None)
        return resume(Path(str(user.pop("resume"))).expanduser(), user, host, reporter, allow=allow)
    cfg, data = resolve_for_data(user, host)  # refuses resume.allow= without resume=, as --dry-run does
    run_dir = (
        Path(cfg.out) if cfg.out else Path("runs") / folder.default_name(cfg.name("critic"), cfg.name("generator"), cfg.name("constraint"))
    )
    cfg.out = str(run_dir)
    writer = ranks.is_writer()
    if writer:
        folder.check_new(run_dir, allow=(".lock",))  # a folder with more than our lock is refused before anything is built
    trainer = Trainer(cfg, host, reporter, data)  # loads data and builds models: fails before any file is written
    if cfg.recipe:
        trainer.note(cfg.recipe)
    if writer:
        folder.prepare_new(run_dir)
    with _writing(run_dir):
        if writer:
            folder.check_new(run_dir, allow=(".lock",))  # still empty now that we hold the lock
        _train(trainer, run_dir)
    return run_dir


def resume(run_dir: Path, changes: dict[str, Any], host: PluginHost, reporter: Reporter | None = None, allow: Any = None) -> Path:
    """Continue ``run_dir`` from its newest valid checkpoint (from step 0 when it has none yet)."""
    stored = flatten(folder.read_config(run_dir)["config"])  # a ganzoo run's record, or a clean error
    writer = ranks.is_writer()
    if writer:
        folder.check_layout(run_dir)
        folder.check_writable(run_dir)
    cfg, allowed = resume_config(run_dir, stored, changes, allow, host)  # the resume policy: what may change
    trainer = Trainer(cfg, host, reporter)
    with _writing(run_dir):
        ckpt_root = run_dir / "checkpoints"
        if checkpoint.list_checkpoints(ckpt_root):
            path, (tensors, values, header), skipped = checkpoint.latest(ckpt_root)
            for note in skipped:
                trainer.note(f"skipped a damaged checkpoint: {note}", "warning")
            _load_into(trainer, run_dir, path, tensors, values, header, allowed)
            trainer.note(f"resuming {run_dir} from {path.name} (step {trainer.step} of {cfg.train.steps})")
        else:  # killed before its first checkpoint: the start is deterministic, so begin again
            trainer.note(f"resuming {run_dir}: no checkpoint yet, starting again from step 0")
        if writer:
            folder.remove_stale_temporaries(run_dir)
        _train(trainer, run_dir)
    return run_dir


@contextlib.contextmanager
def _writing(run_dir: Path) -> Iterator[None]:
    """Rank 0 holds the run folder's lock while it trains; the other ranks write nothing."""
    with folder.lock(run_dir) if ranks.is_writer() else contextlib.nullcontext():
        yield


def _train(trainer: Trainer, run_dir: Path) -> None:
    """Record the run's configuration, then train with a recorder on rank 0."""
    doing = lambda: f"training (generator step {trainer.step + 1} of {trainer.cfg.train.steps})"  # noqa: E731
    if not ranks.is_writer():
        with trainer.host.blamed(doing):
            trainer.fit()
        return
    split = {"split": trainer.split} if trainer.split else {}  # data.limit, train.holdout_every: the images trained on and held out
    folder.write_config(run_dir, {**state.header(trainer), "params": trainer.params(), **split})
    recorder = RunRecorder(run_dir, trainer)
    try:
        with trainer.host.blamed(doing):
            trainer.fit(recorder)
    finally:
        recorder.close()


def _load_into(trainer: Trainer, run_dir: Path, path: Path, tensors: dict, values: dict, header: dict, allowed: set[str]) -> None:
    """Load a checkpoint into a trainer, or raise a CheckpointError that names the file."""
    weights = path / checkpoint.WEIGHTS
    check_checkpoint(weights, run_dir / "config.json", header["config"], trainer.cfg, allowed)
    try:
        state.restore(trainer, tensors, values)
    except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as exc:
        raise CheckpointError(f"Checkpoint {weights} does not fit this run ({type(exc).__name__}: {exc}).") from None
    # The configuration wins over the hyperparameters stored with the optimiser state (resume.allow).
    t = trainer.cfg.train
    for update, lr in ((trainer.steps.critic_update, t.lr_d), (trainer.steps.generator_update, t.lr_g)):
        for group in update.optimizer.param_groups:
            group["lr"], group["betas"] = lr, tuple(t.betas)
