"""The WGAN training loop: ``n_critic`` critic steps, then one generator step.

The loss and the constraint are objects that know their phase: in the critic phase the loss gives
the critic objective and the constraint adds its penalty (``penalty``) or acts after the optimiser
step (``after_critic_step``); in the generator phase only the loss is used.

Under torchrun every rank runs this same loop on its shard of the global batch; the lines marked
``[distributed]`` average gradients, slice random draws and keep file writing on rank 0
(:mod:`ganzoo.distributed`). Without torchrun they change nothing.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

import ganzoo
from ganzoo import checkpoint, distributed, faults, fused, rundir, speed
from ganzoo.build import Models, build_models, count_params, load_data
from ganzoo.components import ImageData
from ganzoo.config import RunConfig
from ganzoo.ema import EMA
from ganzoo.guard import NonFiniteError, NonFiniteGuard
from ganzoo.plugins import PluginHost
from ganzoo.precision import Precision

GRID_COLUMNS = 8
GRID_MAX_ROWS = 20


class Batches:
    """Shuffled minibatches from a dataset held as one tensor on the device (no DataLoader)."""

    def __init__(self, data: ImageData, batch_size: int, device: torch.device, seed: int):
        n = data.images.shape[0]
        self.images = data.images.to(device)
        self.labels = data.labels.to(device)
        self.batch_size = min(batch_size, n)
        self.rng = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(n, generator=self.rng)
        self.pos = 0

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pos + self.batch_size > self.perm.numel():  # drop the ragged tail, start a new epoch
            self.perm = torch.randperm(self.perm.numel(), generator=self.rng)
            self.pos = 0
        idx = self.perm[self.pos : self.pos + self.batch_size].to(self.images.device)
        idx = distributed.shard(idx)  # [distributed] this rank's slice of the global batch
        self.pos += self.batch_size
        return self.images[idx], self.labels[idx]  # (B / ranks, C, H, W), (B / ranks,)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ganzoo.ConfigError("train.device=cuda, but no CUDA GPU is available here. Use train.device=cpu or auto.")
    return torch.device(name)


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.numpy().tobytes()).decode()


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


class Trainer:
    def __init__(self, cfg: RunConfig, host: PluginHost, run_dir: Path, console: Console | None = None):
        self.cfg, self.host, self.run_dir = cfg, host, run_dir
        self.device = distributed.init(pick_device(cfg.train.device))  # [distributed] no-op without torchrun
        self.console = console or Console(stderr=True, quiet=not distributed.is_writer())
        torch.manual_seed(cfg.seed)
        self.data = load_data(cfg, host)
        self.spec = self.data.spec
        self.models: Models = build_models(cfg, self.spec, host)
        t = cfg.train
        self.precision = Precision(t.precision, self.device)
        self.critic = self.models.critic.to(self.device)
        self.generator = self.models.generator.to(self.device)
        if t.sync_bn:  # [distributed]
            self.critic, self.generator = (distributed.sync_batchnorm(m, self.device) for m in (self.critic, self.generator))
            self.models.critic, self.models.generator = self.critic, self.generator
        speed.prepare(self.models, t)  # channels-last, torch.compile
        self.fused = t.fused and fused.can_fuse(self.critic)
        self.critic_params = list(self.critic.parameters())
        self.generator_params = list(self.generator.parameters())
        self.opt_d = torch.optim.Adam(self.critic_params, lr=t.lr_d, betas=t.betas)
        self.opt_g = torch.optim.Adam(self.generator_params, lr=t.lr_g, betas=t.betas)
        self.batches = Batches(self.data, t.batch_size, self.device, cfg.seed)
        self.ema = EMA(self.generator, t.ema) if t.ema > 0 else None  # sampled from when enabled
        # Reliability (issue 4): keeps NaN/Inf out of the weights; GANZOO_FAULT is for tests only.
        self.guard = NonFiniteGuard([self.critic, self.generator, *([self.ema.module] if self.ema is not None else [])], [self.opt_d, self.opt_g], self.device, faults.active())
        distributed.check_batch(self.batches.batch_size)  # [distributed]
        self.writer = distributed.is_writer()  # [distributed] rank 0 alone writes files
        rows = min(self.spec.num_classes, GRID_MAX_ROWS)
        g = torch.Generator().manual_seed(cfg.seed + 1)
        self.fixed_z = torch.randn(GRID_COLUMNS, self.generator.z_dim, generator=g).repeat(rows, 1)  # (rows*cols, z)
        self.fixed_labels = torch.arange(rows).repeat_interleave(GRID_COLUMNS)  # row r is class r
        self.step = 0  # completed generator steps
        self.critic_steps = 0
        self.elapsed = 0.0

    # -- one generator step ----------------------------------------------------------------
    def critic_phase(self) -> dict[str, torch.Tensor]:
        sums = {k: torch.zeros((), device=self.device) for k in ("loss_d", "wasserstein", "penalty")}
        for _ in range(self.cfg.train.n_critic):
            real, labels = self.batches.next()
            for k, v in self.critic_step(real, self.fake_batch(labels), labels).items():
                sums[k] += v
        self._labels = labels
        return {k: v / self.cfg.train.n_critic for k, v in sums.items()}

    def fake_batch(self, labels: torch.Tensor) -> torch.Tensor:
        """Generated images for ``labels``, without a graph: the critic phase does not train the generator."""
        z = distributed.shard_draw(torch.randn, (labels.shape[0], self.generator.z_dim), device=self.device)  # [distributed]
        with torch.no_grad(), self.precision.autocast():
            return self.generator(z, labels).float().contiguous()  # (B, C, H, W), the critic's memory format

    def critic_step(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor, constrain: bool = True) -> dict[str, torch.Tensor]:
        """One critic update. ``constrain=False`` skips the Lipschitz constraint (``ganzoo bench`` prices it so)."""
        constraint = self.models.constraint
        with self.precision.autocast():
            real_s, fake_s = fused.critic_scores(self.critic, real, fake, labels, self.fused)  # (B,), (B,)
            loss = self.models.loss.critic_loss(real_s.float(), fake_s.float())
            with self.precision.penalty_scale("critic"):
                penalty = constraint.penalty(self.critic, real, fake, labels, self.critic_steps) if constrain else None
            loss = self.guard.screen("loss_d", self.critic_steps + 1, loss)  # reliability: NaN check
            penalty = None if penalty is None else self.guard.screen("penalty", self.critic_steps + 1, penalty)
            total = loss if penalty is None else loss + penalty
        self.opt_d.zero_grad(set_to_none=True)
        self.precision.backward_step(
            "critic", total, self.opt_d, self.critic_params,
            before_step=lambda: distributed.average_gradients(self.critic),  # [distributed]
            check_grads=lambda: self.guard.screen_grads("critic_grad", self.critic_steps + 1, self.critic_params),  # reliability
        )
        if constrain:
            constraint.after_critic_step(self.critic)
        self.critic_steps += 1
        self.guard.end_update("critic_step", self.critic_steps)  # reliability
        zero = torch.zeros((), device=self.device)
        return {"loss_d": total.detach(), "wasserstein": (real_s.float().mean() - fake_s.float().mean()).detach(),
                "penalty": zero if penalty is None else penalty.detach()}

    def generator_phase(self) -> torch.Tensor:
        labels = self._labels
        z = distributed.shard_draw(torch.randn, (labels.shape[0], self.generator.z_dim), device=self.device)  # [distributed]
        with self.precision.autocast():
            loss = self.models.loss.generator_loss(self.critic(self.generator(z, labels), labels).float())
        loss = self.guard.screen("loss_g", self.step + 1, loss)  # reliability: NaN check
        self.opt_g.zero_grad(set_to_none=True)
        self.precision.backward_step(  # no gradients for the critic
            "generator", loss, self.opt_g, self.generator_params,
            before_step=lambda: distributed.average_gradients(self.generator),  # [distributed]
            check_grads=lambda: self.guard.screen_grads("generator_grad", self.step + 1, self.generator_params),  # reliability
        )
        if self.ema is not None:
            self.ema.update(self.generator, self.step)
        self.guard.end_update("generator_step", self.step + 1)  # reliability
        return loss.detach()

    # -- outputs ---------------------------------------------------------------------------
    @torch.no_grad()
    def sample_grid(self) -> Path:
        generator = self.ema.module if self.ema is not None else self.generator
        was_training = generator.training
        generator.eval()
        images = generator(self.fixed_z.to(self.device), self.fixed_labels.to(self.device))
        generator.train(was_training)
        path = self.run_dir / "samples" / f"step-{self.step:08d}.png"
        rundir.save_grid(images, GRID_COLUMNS, path)
        return path

    def header(self) -> dict[str, Any]:
        return {
            "config": self.cfg.to_dict(),
            "plugins": self.host.versions(),
            "data": {"channels": self.spec.channels, "size": self.spec.size, "num_classes": self.spec.num_classes},
            "ganzoo": ganzoo.__version__,
        }

    def save_checkpoint(self) -> Path:
        tensors: dict[str, torch.Tensor] = {}
        for prefix, module in self._modules():
            tensors.update({f"{prefix}/{k}": v for k, v in module.state_dict().items()})
        groups = {}
        for prefix, opt in (("opt_d", self.opt_d), ("opt_g", self.opt_g)):
            sd = opt.state_dict()
            for idx, st in sd["state"].items():
                tensors.update({f"{prefix}/{idx}/{k}": v for k, v in st.items()})
            groups[prefix] = sd["param_groups"]
        tensors["data/perm"] = self.batches.perm
        rng = {"torch": _b64(torch.get_rng_state()), "data": _b64(self.batches.rng.get_state())}
        if self.device.type == "cuda":
            rng["cuda"] = _b64(torch.cuda.get_rng_state(self.device))
        state = {"world_size": distributed.world(), "critic_steps": self.critic_steps, "data_pos": self.batches.pos, "elapsed": self.total_time(), "optimizers": groups, "rng": rng,
                 "scalers": self.precision.state_dict()}
        return checkpoint.save(self.run_dir / "checkpoints", self.step, tensors, state, self.header())

    def _modules(self) -> list[tuple[str, torch.nn.Module]]:
        """Checkpoint key prefixes and the modules they hold (``generator_ema`` when EMA is on)."""
        out = [("critic", self.critic), ("generator", self.generator)]
        return out + ([("generator_ema", self.ema.module)] if self.ema is not None else [])

    def load_state(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        for prefix, module in self._modules():
            module.load_state_dict({k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + "/")})
        for prefix, opt in (("opt_d", self.opt_d), ("opt_g", self.opt_g)):
            per_param: dict[int, dict[str, torch.Tensor]] = {}
            for k, v in tensors.items():
                if k.startswith(prefix + "/"):
                    _, idx, key = k.split("/", 2)
                    per_param.setdefault(int(idx), {})[key] = v
            opt.load_state_dict({"state": per_param, "param_groups": state["optimizers"][prefix]})
        self.batches.perm = tensors["data/perm"].clone()
        self.batches.pos = int(state["data_pos"])
        self.batches.rng.set_state(_unb64(state["rng"]["data"]))
        torch.set_rng_state(_unb64(state["rng"]["torch"]))
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(_unb64(state["rng"]["cuda"]), self.device)
        self.step, self.critic_steps = int(state["step"]), int(state["critic_steps"])
        self.precision.load_state_dict(state.get("scalers", {}))
        self.elapsed = float(state.get("elapsed", 0.0))

    # -- reliability (issue 4): undo a step whose loss, penalty or gradient went non-finite -----
    def undo_step(self) -> None:
        """Restore the state before the failed step; retry on fresh batches, or stop and say what failed."""
        self.guard.rollback()
        culprits = " and ".join(self.guard.culprits())
        t, failures = self.cfg.train, self.guard.failures
        if failures <= t.max_retries:
            self.console.print(f"[yellow]step {self.step + 1}:[/] {culprits} went non-finite; undid the step, retrying on fresh batches ({failures} of {t.max_retries} retries)", soft_wrap=True)
            return
        saved = ""
        if self.step > 0 and self.run_dir is not None:
            have = [p.name for p in checkpoint.list_checkpoints(self.run_dir / "checkpoints")]
            path = self.run_dir / "checkpoints" / f"{checkpoint.PREFIX}{self.step:08d}"
            if path.name not in have:
                path = self.save_checkpoint()
            saved = f", saved in {path}"
        raise NonFiniteError(
            f"Training stopped at generator step {self.step + 1}: {culprits} went non-finite (NaN or Inf) in "
            f"{failures} attempts in a row (train.max_retries={t.max_retries}). No non-finite value reached the weights "
            f"or a checkpoint: they hold step {self.step}{saved}. Try lower learning rates (train.lr_d, train.lr_g) or "
            f"check the data and the chosen parts, then continue with resume={self.run_dir} resume.allow=KEYS."
        )

    # -- the loop --------------------------------------------------------------------------
    def fit(self) -> None:
        t = self.cfg.train
        log = rundir.MetricsLog(self.run_dir / "metrics.jsonl", resume_step=self.step) if self.writer else None  # [distributed]
        progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} steps/s"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"), console=self.console, disable=not (t.progress and self.writer), transient=False,
        )
        self.critic.train()
        self.generator.train()
        for _, module in self._modules():  # [distributed] every rank starts from rank 0's weights
            distributed.broadcast_module(module)
        started, start_step = time.perf_counter(), self.step
        self._clock = (started, self.elapsed)
        try:
            with progress:
                task = progress.add_task("train", total=t.steps, completed=self.step, rate="-", losses="")
                while self.step < t.steps:
                    if self.step == start_step and t.max_minutes is not None and self.elapsed >= 60.0 * t.max_minutes:
                        break  # resumed after its time was used up (the same on every rank: it comes from the checkpoint)
                    critic_steps_before = self.critic_steps
                    self.guard.begin()  # reliability: snapshot the last good state
                    stats = self.critic_phase()
                    stats["loss_g"] = self.generator_phase()
                    self.guard.bad = distributed.all_any(self.guard.bad)  # [distributed] undo together
                    if not self.guard.step_ok():  # reliability: a NaN/Inf step is undone, retried or fatal
                        self.critic_steps = critic_steps_before
                        self.undo_step()
                        continue
                    self.step += 1
                    distributed.maybe_fault(self.step)  # [distributed] test hook, inert unless GANZOO_FAULT_* is set
                    stats = distributed.all_mean_dict(stats)  # [distributed] global-batch means
                    last = self.step == t.steps or self.out_of_time()
                    if not self.writer:  # [distributed] only rank 0 logs, samples, evaluates and checkpoints
                        if last:
                            break
                        continue
                    now = time.perf_counter()
                    record = {"step": self.step, **{k: float(v) for k, v in stats.items()}, "time": round(self.total_time(), 3)}
                    log.write(record)
                    self.guard.kill_point("logged", self.step)  # reliability: test-only fault point
                    rate = (self.step - start_step) / max(now - started, 1e-9)
                    progress.update(task, completed=self.step, rate=f"{rate:.2f}", losses=f"W {record['wasserstein']:+.3f}  G {record['loss_g']:+.3f}")
                    if last or (t.sample_every and self.step % t.sample_every == 0):
                        self.sample_grid()
                        rundir.plot_losses(rundir.read_metrics(log.path), self.run_dir / "loss.png")
                    if t.eval_every and (last or self.step % t.eval_every == 0):
                        self.evaluate(log)
                    if last or (t.checkpoint_every and self.step % t.checkpoint_every == 0):
                        self.save_checkpoint()
                    if last:
                        break
        finally:
            if log is not None:
                log.close()
        if self.step < t.steps and self.writer:
            self.console.print(f"stopped at step {self.step} of {t.steps}: train.max_minutes={t.max_minutes:g} of training time reached", soft_wrap=True)

    def out_of_time(self) -> bool:
        """``train.max_minutes``: true once the training time (across resumes) reaches it, on every rank together."""
        limit = self.cfg.train.max_minutes
        if limit is None:
            return False
        return bool(distributed.all_any(torch.tensor(self.total_time() >= 60.0 * limit, device=self.device)))

    def evaluate(self, log: rundir.MetricsLog) -> dict[str, Any]:
        """Score quality now; append it to metrics.jsonl and redraw quality.png."""
        from ganzoo.evaluate import COLLAPSE, TrainingEval

        if not hasattr(self, "_eval"):
            self._eval = TrainingEval(self.data, self.cfg.train.eval_n, self.cfg.seed)
        result = self._eval(self.ema.module if self.ema is not None else self.generator)  # the EMA generator when on
        log.write({"step": self.step, "eval": result})
        rundir.plot_quality(rundir.read_metrics(log.path), self.run_dir / "quality.png")
        if result["diversity"] < COLLAPSE:
            self.console.print(
                f"[yellow]warning:[/] intra-class diversity collapsed to {result['diversity']:.2f} of the real data's "
                f"at step {self.step} (mode collapse); class consistency {result['class_acc']:.2f}."
            )
        return result

    def total_time(self) -> float:
        """Training seconds so far, across resumes."""
        clock = getattr(self, "_clock", None)
        return self.elapsed if clock is None else clock[1] + time.perf_counter() - clock[0]

    def params(self) -> dict[str, int]:
        return {"critic": count_params(self.critic), "generator": count_params(self.generator)}
