"""The WGAN training loop: ``n_critic`` critic steps, then one generator step.

The loss and the constraint are objects that know their phase: in the critic phase the loss gives
the critic objective and the constraint adds its penalty (``penalty``) or acts after the optimiser
step (``after_critic_step``); in the generator phase only the loss is used.
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
from ganzoo import checkpoint, fused, rundir, speed
from ganzoo.build import Models, build_models, count_params, load_data
from ganzoo.components import ImageData
from ganzoo.config import RunConfig
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
        self.pos += self.batch_size
        return self.images[idx], self.labels[idx]  # (B, C, H, W), (B,)


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
        self.console = console or Console(stderr=True)
        self.device = pick_device(cfg.train.device)
        torch.manual_seed(cfg.seed)
        self.data = load_data(cfg, host)
        self.spec = self.data.spec
        self.models: Models = build_models(cfg, self.spec, host)
        t = cfg.train
        self.precision = Precision(t.precision, self.device)
        self.critic = self.models.critic.to(self.device)
        self.generator = self.models.generator.to(self.device)
        speed.prepare(self.models, t)  # channels-last, torch.compile
        self.fused = t.fused and fused.can_fuse(self.critic)
        self.critic_params = list(self.critic.parameters())
        self.generator_params = list(self.generator.parameters())
        self.opt_d = torch.optim.Adam(self.critic_params, lr=t.lr_d, betas=t.betas)
        self.opt_g = torch.optim.Adam(self.generator_params, lr=t.lr_g, betas=t.betas)
        self.batches = Batches(self.data, t.batch_size, self.device, cfg.seed)
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
        z = torch.randn(labels.shape[0], self.generator.z_dim, device=self.device)
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
            total = loss if penalty is None else loss + penalty
        self.opt_d.zero_grad(set_to_none=True)
        self.precision.backward_step("critic", total, self.opt_d, self.critic_params)
        if constrain:
            constraint.after_critic_step(self.critic)
        self.critic_steps += 1
        zero = torch.zeros((), device=self.device)
        return {"loss_d": total.detach(), "wasserstein": (real_s.float().mean() - fake_s.float().mean()).detach(),
                "penalty": zero if penalty is None else penalty.detach()}

    def generator_phase(self) -> torch.Tensor:
        labels = self._labels
        z = torch.randn(labels.shape[0], self.generator.z_dim, device=self.device)
        with self.precision.autocast():
            loss = self.models.loss.generator_loss(self.critic(self.generator(z, labels), labels).float())
        self.opt_g.zero_grad(set_to_none=True)
        self.precision.backward_step("generator", loss, self.opt_g, self.generator_params)  # no gradients for the critic
        return loss.detach()

    # -- outputs ---------------------------------------------------------------------------
    @torch.no_grad()
    def sample_grid(self) -> Path:
        was_training = self.generator.training
        self.generator.eval()
        images = self.generator(self.fixed_z.to(self.device), self.fixed_labels.to(self.device))
        self.generator.train(was_training)
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
        for prefix, module in (("critic", self.critic), ("generator", self.generator)):
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
        state = {"critic_steps": self.critic_steps, "data_pos": self.batches.pos, "elapsed": self.total_time(), "optimizers": groups, "rng": rng,
                 "scalers": self.precision.state_dict()}
        return checkpoint.save(self.run_dir / "checkpoints", self.step, tensors, state, self.header())

    def load_state(self, tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
        for prefix, module in (("critic", self.critic), ("generator", self.generator)):
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

    # -- the loop --------------------------------------------------------------------------
    def fit(self) -> None:
        t = self.cfg.train
        log = rundir.MetricsLog(self.run_dir / "metrics.jsonl", resume_step=self.step)
        progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} steps/s"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"), console=self.console, disable=not t.progress, transient=False,
        )
        self.critic.train()
        self.generator.train()
        started, start_step = time.perf_counter(), self.step
        self._clock = (started, self.elapsed)
        try:
            with progress:
                task = progress.add_task("train", total=t.steps, completed=self.step, rate="-", losses="")
                while self.step < t.steps:
                    stats = self.critic_phase()
                    stats["loss_g"] = self.generator_phase()
                    self.step += 1
                    now = time.perf_counter()
                    record = {"step": self.step, **{k: float(v) for k, v in stats.items()}, "time": round(self.total_time(), 3)}
                    log.write(record)
                    rate = (self.step - start_step) / max(now - started, 1e-9)
                    progress.update(task, completed=self.step, rate=f"{rate:.2f}", losses=f"W {record['wasserstein']:+.3f}  G {record['loss_g']:+.3f}")
                    last = self.step == t.steps
                    if last or (t.sample_every and self.step % t.sample_every == 0):
                        self.sample_grid()
                        rundir.plot_losses(rundir.read_metrics(log.path), self.run_dir / "loss.png")
                    if last or (t.checkpoint_every and self.step % t.checkpoint_every == 0):
                        self.save_checkpoint()
        finally:
            log.close()

    def total_time(self) -> float:
        """Training seconds so far, across resumes."""
        clock = getattr(self, "_clock", None)
        return self.elapsed if clock is None else clock[1] + time.perf_counter() - clock[0]

    def params(self) -> dict[str, int]:
        return {"critic": count_params(self.critic), "generator": count_params(self.generator)}
