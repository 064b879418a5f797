"""What ``ganzoo bench`` measures for one configuration, through the engine's own trainer.

The same functions back the ``benchmarks/`` pytest-benchmark suites (:class:`Setup`), so both time
exactly what ``ganzoo run`` executes.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ganzoo.bench.flops import count_flops
from ganzoo.bench.timing import PeakMemory, Stats, alternate
from ganzoo.registry.config import RunConfig
from ganzoo.registry.host import PluginHost
from ganzoo.training.loop import Trainer


@dataclass(frozen=True)
class Settings:
    warmup: int = 1
    rounds: int = 5


class Setup:
    """A trainer (no run directory) and a fixed batch of real and generated images."""

    def __init__(self, cfg: RunConfig, host: PluginHost):
        self.cfg = cfg
        self.trainer = t = Trainer(cfg, host)
        t.critic.train()
        t.generator.train()
        self.steps = t.steps
        self.device = t.device
        self.batch = t.steps.batches.batch_size
        self.real, self.labels = t.steps.batches.next()  # (B, C, H, W), (B,)
        self.fake = t.steps.fake_batch(self.labels)  # (B, C, H, W)

    # -- the timed calls ------------------------------------------------------------------
    def generator_step(self) -> None:
        """One training step as ``ganzoo run`` does it: ``n_critic`` critic steps, then one generator step."""
        _, batch = self.steps.critic_phase()
        self.steps.generator_phase(batch, self.trainer.step)

    def critic_step(self, constrain: bool = True) -> None:
        """One critic update on the fixed batch, with or without the Lipschitz constraint."""
        self.steps.critic_step(self.real, self.fake, self.labels, constrain=constrain)

    def generator_forward(self) -> None:
        """The critic phase's generator call: a batch of images without a graph."""
        self.steps.fake_batch(self.labels)

    def critic_forward(self) -> None:
        with torch.no_grad(), self.trainer.precision.autocast():
            self.trainer.critic(self.real, self.labels)

    def device_batch(self) -> None:
        self.steps.batches.next()

    def dataloader_batch(self) -> Callable[[], None]:
        """The alternative to the device tensor: a shuffling DataLoader, each batch copied to the device."""
        data = self.trainer.data
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(data.images, data.labels), batch_size=self.batch, shuffle=True, drop_last=True
        )
        state = {"it": iter(loader)}

        def next_batch() -> None:
            try:
                images, labels = next(state["it"])
            except StopIteration:
                state["it"] = iter(loader)
                images, labels = next(state["it"])
            images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)

        return next_batch

    def close(self) -> None:
        del self.trainer, self.steps, self.real, self.fake, self.labels
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def _rate(stats: Stats, items: float) -> dict[str, Any]:
    return {**stats.to_dict(), "per_s": items / stats.median}


def measure(cfg: RunConfig, host: PluginHost, settings: Settings, peak_gflops: float) -> dict[str, Any]:
    """Every number of one bench row. ``peak_gflops``: the matmul peak measured in the same run."""
    setup = Setup(cfg, host)
    try:
        return _measure(setup, settings, peak_gflops)
    finally:
        setup.close()


def _measure(s: Setup, settings: Settings, peak_gflops: float) -> dict[str, Any]:
    t, dev, b = s.trainer, s.device, s.batch
    n_critic = s.cfg.train.n_critic
    w, r = settings.warmup, settings.rounds
    flops = {
        "generator_forward_per_image": count_flops(s.generator_forward) / b,
        "critic_forward_per_image": count_flops(s.critic_forward) / b,
        "train_step": count_flops(s.generator_step),  # also warms up
    }
    memory = PeakMemory(dev)
    memory.reset()
    train = alternate({"train": s.generator_step}, dev, w, r)["train"]
    peak = memory.peak_bytes()
    critic = alternate({"with": s.critic_step, "without": lambda: s.critic_step(constrain=False)}, dev, w, r)
    gen = alternate({"gen": s.generator_forward}, dev, w, r)["gen"]
    data = alternate({"tensor": s.device_batch, "dataloader": s.dataloader_batch()}, dev, w, max(r, 5))
    achieved = flops["train_step"] / train.median / 1e9
    return {
        "batch": b,
        "n_critic": n_critic,
        "fused_critic_pass": t.steps.fused,
        "metrics": {
            "train_images_per_s": _rate(train, b * n_critic),
            "generator_steps_per_s": _rate(train, 1),
            "critic_step": _rate(critic["with"], 1),
            "critic_step_unconstrained": _rate(critic["without"], 1),
            "generator_forward_images_per_s": _rate(gen, b),
            "data_tensor_batches_per_s": _rate(data["tensor"], 1),
            "data_dataloader_batches_per_s": _rate(data["dataloader"], 1),
        },
        "constraint_cost": critic["with"].median / critic["without"].median,
        "peak_memory_mb": peak / 2**20,
        "memory_kind": memory.kind + ("" if memory.reset_ok else ", since process start"),
        "params": t.params(),
        "flops": flops,
        "achieved_gflops": achieved,
        "peak_fraction": achieved / peak_gflops if peak_gflops > 0 else None,
    }
