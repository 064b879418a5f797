"""The training loop: ``n_critic`` critic updates, then one generator update, until ``train.steps``.

:class:`Trainer` builds what a run trains from its configuration (data, networks, optimisers, the
parts below) and :meth:`Trainer.fit` loops. Each generator step: the guard snapshots the last good
state, :class:`~ganzoo.training.steps.Steps` runs the two phases, the ranks agree whether the step
was finite (else it is undone and retried), and the recorder, when there is one, writes what the
step leaves behind. The loop writes no file itself: :class:`ganzoo.runs.recorder.RunRecorder` does,
and only on rank 0 under torchrun (it also runs the doctor's online checks on what it writes).
Progress and notes go to a :class:`~ganzoo.training.progress.Reporter`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

import torch

from ganzoo.components import ImageData
from ganzoo.registry.build import Models, build_models, count_params, load_data
from ganzoo.registry.config import RunConfig
from ganzoo.registry.host import PluginHost
from ganzoo.errors import Interrupted
from ganzoo import faults, misconfig, ranks
from ganzoo.training import diagnostics, distributed, holdout, signals, speed
from ganzoo.training.batches import Batches, pick_device
from ganzoo.training.ema import EMA
from ganzoo.training.guard import NonFiniteError, NonFiniteGuard
from ganzoo.training.precision import Precision
from ganzoo.training.progress import PlainReporter, Reporter
from ganzoo.training.steps import Steps, Update


class Recorder(Protocol):
    """What the loop hands each finished step to (implemented by :class:`ganzoo.runs.recorder.RunRecorder`)."""

    run_dir: Path

    def after_step(self, trainer: "Trainer", record: dict[str, Any], last: bool) -> None: ...

    def save_checkpoint(self, trainer: "Trainer") -> Path:
        """The checkpoint of the trainer's current step (written now unless it already exists)."""


class Trainer:
    def __init__(self, cfg: RunConfig, host: PluginHost, reporter: Reporter | None = None, data: ImageData | None = None):
        """``data``: the run's data when the caller has already loaded it (with this ``cfg``)."""
        self.cfg, self.host = cfg, host
        self.device = distributed.init(pick_device(cfg.train.device))  # no-op without torchrun
        self.reporter = reporter or PlainReporter()
        torch.manual_seed(cfg.seed)
        self.data = data if data is not None else load_data(cfg, host)
        self.spec = self.data.spec
        for line in self.data.notes:
            self.note(f"data={cfg.name('data')}: {line}")
        corpus_fault = misconfig.active()  # GANZOO_CORPUS_FAULT: the doctor's corpus only
        if corpus_fault is not None:
            self.note(misconfig.describe(corpus_fault) or "", "warning")
        self.data = misconfig.apply_to_data(self.data, corpus_fault)
        t = cfg.train
        self.data, held, self.split, notes = holdout.split(self.data, getattr(cfg.options("data"), "limit", None), t.holdout_every > 0)
        for line in notes:
            self.note(line)
        self.models: Models = build_models(cfg, self.spec, host)
        precision = Precision(t.precision, self.device)
        if precision.reason:
            self.note(precision.reason)  # train.precision=auto: what it picked, and why
        self.critic = self.models.critic.to(self.device)
        self.generator = self.models.generator.to(self.device)
        misconfig.apply_to_models(self.critic, self.generator, corpus_fault)
        if t.sync_bn:
            self.critic, self.generator = (distributed.sync_batchnorm(m, self.device) for m in (self.critic, self.generator))
            self.models.critic, self.models.generator = self.critic, self.generator
        speed.prepare(self.models, t)  # sub-pixel, channels-last, torch.compile
        opt_d = speed.adam(self.critic.parameters(), lr=t.lr_d, betas=t.betas)  # fused kernel where torch has one
        opt_g = speed.adam(self.generator.parameters(), lr=t.lr_g, betas=t.betas)
        self.ema = EMA(self.generator, t.ema) if t.ema > 0 else None  # sampled from when enabled
        nets = [self.critic, self.generator, *([self.ema.module] if self.ema is not None else [])]
        guard = NonFiniteGuard(nets, [opt_d, opt_g], self.device, faults.active())  # GANZOO_FAULT: tests only
        batches = Batches(self.data, t.batch_size, self.device, cfg.seed)
        distributed.check_batch(batches.batch_size)
        self.steps = Steps(
            critic=self.critic,
            generator=self.generator,
            loss=self.models.loss,
            constraint=self.models.constraint,
            critic_update=Update("critic", self.critic, opt_d),
            generator_update=Update("generator", self.generator, opt_g),
            batches=batches,
            precision=precision,
            guard=guard,
            n_critic=t.n_critic,
            fused=t.fused and speed.can_fuse(self.critic),
            ema=self.ema,
            evidence=diagnostics.Evidence(self.critic, self.generator, self.models.loss, self.models.constraint, t.diag_every, self.device)
            if t.diag_every
            else None,
        )
        self.probe = holdout.Probe(self.critic, self.generator, held, self.data, t.holdout_every, self.device) if held else None
        self.retries = 0  # attempts at the current step undone for a NaN/Inf (recorded on its line)
        self.step = 0  # completed generator steps
        self.elapsed = 0.0  # training seconds before this process (from a checkpoint)
        self._clock: tuple[float, float] | None = None

    @property
    def guard(self) -> NonFiniteGuard:
        return self.steps.guard

    @property
    def precision(self) -> Precision:
        return self.steps.precision

    # -- the loop ----------------------------------------------------------------------------------
    def fit(self, recorder: Recorder | None = None) -> None:
        """Train to ``train.steps`` (or ``train.max_minutes``). ``recorder`` receives each finished step."""
        t = self.cfg.train
        self.critic.train()
        self.generator.train()
        for module in (self.critic, self.generator, *([self.ema.module] if self.ema is not None else [])):
            distributed.broadcast_module(module)  # every rank starts from rank 0's weights
        started, start_step = time.perf_counter(), self.step
        self._clock = (started, self.elapsed)
        bar = t.progress and ranks.is_writer()  # train.progress; only rank 0 reports
        if bar:
            self.reporter.start(t.steps, self.step)
        try:
            with signals.training():
                self._loop(recorder, started, start_step, bar)
        finally:
            if bar:
                self.reporter.close()
        if self.step < t.steps:
            self.note(f"stopped at step {self.step} of {t.steps}: train.max_minutes={t.max_minutes:g} of training time reached")

    def _loop(self, recorder: Recorder | None, started: float, start_step: int, bar: bool) -> None:
        t = self.cfg.train
        while self.step < t.steps:
            if self.step == start_step and self.time_is_up(local=True):
                break  # resumed after its time was used up (the same on every rank: it comes from the checkpoint)
            stats = self.one_step(recorder)
            if stats is None:
                self.retries += 1
                continue  # undone, to be retried
            last = self.step == t.steps or self.time_is_up()
            record = self.record(stats)
            self.retries = 0
            if recorder is not None:
                recorder.after_step(self, record, last)
            if bar:
                self.reporter.step(self.step, (self.step - start_step) / max(time.perf_counter() - started, 1e-9), record)
            if last:
                break
            self.stop_if_asked(recorder)

    def stop_if_asked(self, recorder: Recorder | None) -> None:
        """At a step boundary: when Ctrl-C or SIGTERM asked to stop (on any rank), checkpoint this step
        and stop with a message that says how to resume."""
        asked = signals.requested()
        if ranks.world() > 1:  # every rank takes part, so all stop at the same step
            anyone = bool(ranks.all_any(torch.tensor(asked is not None, device=self.device)))
            asked = asked or ("SIGTERM" if anyone else None)
        if asked is None:
            return
        saved = f" and saved it ({recorder.save_checkpoint(self)})" if recorder is not None else ""
        where = recorder.run_dir if recorder is not None else "RUN_DIR"
        err = Interrupted(
            f"Stopped by {asked} after generator step {self.step} of {self.cfg.train.steps}{saved}. Continue the run with: ganzoo "
            f"run resume={where}"
        )
        err.exit_code = signals.EXIT_CODES.get(asked, 130)
        raise err

    def note(self, text: str, level: str = "info") -> None:
        """A line for a person, through the reporter; under torchrun from rank 0 only."""
        if ranks.is_writer():
            self.reporter.note(text, level)

    def one_step(self, recorder: Recorder | None) -> dict[str, torch.Tensor] | None:
        """One generator step and its mean statistics over the global batch; None when it went
        non-finite and was undone (to be retried); NonFiniteError when the retries ran out."""
        critic_steps_before = self.steps.critic_steps
        self.guard.begin()  # snapshot the last good state
        stats, batch = self.steps.critic_phase()
        stats["loss_g"] = self.steps.generator_phase(batch, self.step)
        self.guard.bad = ranks.all_any(self.guard.bad)  # ranks undo a bad step together
        if not self.guard.step_ok():
            self.steps.critic_steps = critic_steps_before
            self.undo_step(recorder)
            return None
        self.step += 1
        if self.steps.evidence is not None:
            stats.update(self.steps.evidence.figures())  # empty unless train.diag_every picked this step
        if self.probe is not None and self.probe.due(self.step):
            stats.update(self.probe.figures())  # held-out, training and generated images' mean scores
        return ranks.all_mean_dict(stats)  # global-batch means

    def record(self, stats: dict[str, torch.Tensor]) -> dict[str, Any]:
        """The step's line in ``metrics.jsonl``: its statistics (read from the device in one transfer),
        and ``retries`` when attempts at it were undone for a NaN/Inf."""
        keys = list(stats)
        values = torch.stack([stats[k].detach().float().reshape(()) for k in keys]).tolist() if keys else []  # (K,) -> K floats
        line = {"step": self.step, **diagnostics.finish(dict(zip(keys, values))), "time": round(self.total_time(), 3)}
        return {**line, "retries": self.retries} if self.retries else line

    def undo_step(self, recorder: Recorder | None) -> None:
        """Restore the state before the failed step; retry on fresh batches, or stop and say what failed."""
        self.guard.rollback()
        culprits = " and ".join(self.guard.culprits())
        t, failures = self.cfg.train, self.guard.failures
        if failures <= t.max_retries:
            self.note(
                f"step {self.step + 1}: {culprits} went non-finite; undid the step, retrying on fresh batches ({failures} of "
                f"{t.max_retries} retries)",
                "warning",
            )
            return
        saved = ""
        if self.step > 0 and recorder is not None:
            saved = f", saved in {recorder.save_checkpoint(self)}"
        where = recorder.run_dir if recorder is not None else "RUN_DIR"
        raise NonFiniteError(
            f"Training stopped at generator step {self.step + 1}: {culprits} went non-finite (NaN or Inf) in "
            f"{failures} attempts in a row (train.max_retries={t.max_retries}). No non-finite value reached the weights "
            f"or a checkpoint: they hold step {self.step}{saved}. Try lower learning rates (train.lr_d, train.lr_g) or "
            f"check the data and the chosen parts, then continue with resume={where} resume.allow=KEYS."
        )

    # -- time --------------------------------------------------------------------------------------
    def time_is_up(self, local: bool = False) -> bool:
        """``train.max_minutes``: true once the training time (across resumes) reaches it; on every rank
        together (``local=True``: this rank's own clock, for a value every rank already shares)."""
        limit = self.cfg.train.max_minutes
        if limit is None:
            return False
        up = (self.elapsed if local else self.total_time()) >= 60.0 * limit
        return up if local else bool(ranks.all_any(torch.tensor(up, device=self.device)))

    def total_time(self) -> float:
        """Training seconds so far, across resumes."""
        return self.elapsed if self._clock is None else self._clock[1] + time.perf_counter() - self._clock[0]

    def params(self) -> dict[str, int]:
        return {"critic": count_params(self.critic), "generator": count_params(self.generator)}
