"""What a run leaves behind while it trains, step by step: the ``metrics.jsonl`` line, sample grids
and the loss plot every ``train.sample_every`` steps, quality scores every ``train.eval_every`` steps,
and a checkpoint every ``train.checkpoint_every`` steps and at the end; with ``train.tensorboard``
the same in TensorBoard event files (:mod:`ganzoo.runs.tensorboard`). The training loop hands
each finished step to :meth:`RunRecorder.after_step`; only rank 0 has a recorder under torchrun.

Every line written to ``metrics.jsonl`` (steps and quality scores) also goes to the doctor's
:class:`~ganzoo.diagnosis.monitor.Monitor`, which warns once, through the trainer's notes, when a
finding first shows (mode collapse included, from the scores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import StorageError, os_reason
from ganzoo.evaluation.generate import generate
from ganzoo.diagnosis.monitor import Monitor
from ganzoo.evaluation.metrics import QUALITY
from ganzoo.evaluation.scoring import TrainingEval
from ganzoo.runs.tensorboard import TensorBoardLog
from ganzoo.storage import checkpoint, folder, plots
from ganzoo.training import state
from ganzoo.training.loop import Trainer

GRID_COLUMNS = 8
GRID_MAX_ROWS = 20
QUALITY_PANELS = [[(q.key, q.label) for q in QUALITY if q.panel == i] for i in (0, 1)]


class RunRecorder:
    def __init__(self, run_dir: Path, trainer: Trainer):
        self.run_dir = run_dir
        cfg = trainer.cfg
        # train.tensorboard: fails here, before any step, when the tensorboard package is missing
        self.tb = TensorBoardLog(run_dir, trainer.step + 1, trainer.elapsed, cfg.to_dict()) if cfg.train.tensorboard else None
        rows = min(trainer.spec.num_classes, GRID_MAX_ROWS)
        g = torch.Generator().manual_seed(cfg.seed + 1)
        self.fixed_z = torch.randn(GRID_COLUMNS, trainer.generator.z_dim, generator=g).repeat(rows, 1)  # (rows*cols, z)
        self.fixed_labels = torch.arange(rows).repeat_interleave(GRID_COLUMNS)  # row r is class r
        self.log = folder.MetricsLog(run_dir / "metrics.jsonl", resume_step=trainer.step)
        self._eval: TrainingEval | None = None
        self.monitor = Monitor(cfg.to_dict())  # the doctor's online checks, on the lines written here
        self._warnings: list[str] = []

    def close(self) -> None:
        self.log.close()
        if self.tb is not None:
            self.tb.close()

    # -- each step -------------------------------------------------------------------------------
    def after_step(self, trainer: Trainer, record: dict[str, Any], last: bool) -> None:
        try:
            self._after_step(trainer, record, last)
        except OSError as exc:  # disk full, read-only...: stop with what is intact and how to go on
            have = [p.name for p in checkpoint.list_checkpoints(self.run_dir / "checkpoints")]
            raise StorageError(
                f"Could not write {getattr(exc, 'filename', None) or 'a file'} of the run {self.run_dir} after step "
                f"{trainer.step}: {os_reason(exc)}. Training stopped; every file written before is intact"
                + (f", and the run continues from {have[-1]}" if have else "")
                + f". Fix the cause, then continue with resume={self.run_dir}."
            ) from None

    def _after_step(self, trainer: Trainer, record: dict[str, Any], last: bool) -> None:
        t = trainer.cfg.train
        step = trainer.step
        self.log.write(record)
        self._warnings += self.monitor.see(record)
        if self.tb is not None:
            self.tb.step(record)
        trainer.guard.fault_point("logged", step)  # reliability tests: a kill after the metrics line
        if last or (t.sample_every and step % t.sample_every == 0):
            grid = self.sample_grid(trainer)
            if self.tb is not None:
                self.tb.image(step, grid)
                self.tb.flush()
        if t.eval_every and (last or step % t.eval_every == 0):
            self.evaluate(trainer)
        if last or (t.checkpoint_every and step % t.checkpoint_every == 0):
            self.write_checkpoint(trainer)
            # loss.png re-reads and redraws the whole log: at checkpoints, not at every sample grid
            # (drawing it every 100 steps cost 2.5% of the default run's training time)
            plots.plot_losses(folder.read_metrics(self.log.path), self.run_dir / "loss.png")
        for text in self._warnings:
            trainer.note(f"{text}: see ganzoo doctor {self.run_dir}", "warning")
        self._warnings = []

    def sample_grid(self, trainer: Trainer) -> Path:
        """``samples/step-N.png``: one row per class, one fixed noise vector per column (the EMA generator when on)."""
        generator = trainer.ema.module if trainer.ema is not None else trainer.generator
        images = generate(generator, self.fixed_z, self.fixed_labels)
        path = self.run_dir / "samples" / f"step-{trainer.step:08d}.png"
        plots.save_grid(images, GRID_COLUMNS, path)
        return path

    def evaluate(self, trainer: Trainer) -> dict[str, Any]:
        """Score quality now; append it to metrics.jsonl and redraw quality.png."""
        if self._eval is None:
            self._eval = TrainingEval(trainer.data, trainer.cfg.train.eval_n, trainer.cfg.seed)
        result = self._eval(trainer.ema.module if trainer.ema is not None else trainer.generator)  # the EMA generator when on
        line = {"step": trainer.step, "eval": result}
        self.log.write(line)
        self._warnings += self.monitor.see(line)
        if self.tb is not None:
            self.tb.quality(trainer.step, result)
        plots.plot_quality(folder.read_metrics(self.log.path), self.run_dir / "quality.png", QUALITY_PANELS, log_panels=(1,))
        return result

    def write_checkpoint(self, trainer: Trainer) -> Path:
        """Checkpoint the trainer's current step (replacing one of the same step)."""
        if self.tb is not None:
            self.tb.flush()  # every event a resume from this checkpoint keeps is on disk first
        tensors, values = state.capture(trainer)
        values.pop("step")
        return checkpoint.save(
            self.run_dir / "checkpoints",
            trainer.step,
            tensors,
            values,
            state.header(trainer),
            note=lambda text: trainer.note(text, "warning"),
        )

    def save_checkpoint(self, trainer: Trainer) -> Path:
        """The checkpoint of the trainer's current step: the one on disk, or written now."""
        root = self.run_dir / "checkpoints"
        path = root / f"{checkpoint.PREFIX}{trainer.step:08d}"
        return path if path in checkpoint.list_checkpoints(root) else self.write_checkpoint(trainer)
