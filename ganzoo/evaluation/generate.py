"""Images from a generator, in eval mode and without gradients, and a run's generator rebuilt from
its newest checkpoint. Sample grids, ``ganzoo sample`` and the quality scores all generate here."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ganzoo.components import DataSpec, Generator
from ganzoo.errors import CheckpointError
from ganzoo.registry.build import network
from ganzoo.registry.config import from_stored
from ganzoo.registry.host import PluginHost
from ganzoo.storage import checkpoint


@torch.no_grad()
def generate(generator: Generator, z: torch.Tensor, labels: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """``generator(z, labels)`` in eval mode, ``batch`` images at a time, as float32 on the CPU
    (N, C, H, W) in [-1, 1]. The generator's train/eval mode is restored afterwards."""
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        parts = [
            generator(z[i : i + batch].to(device), labels[i : i + batch].to(device)).float().cpu() for i in range(0, len(labels), batch)
        ]
    finally:
        generator.train(was_training)
    return torch.cat(parts)  # (N, C, H, W)


def noise(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """(n, z_dim) standard normal noise from its own generator: the same for the same seed, and the
    global RNG is not touched."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))


def load_generator(run_dir: Path, host: PluginHost) -> tuple[Generator, DataSpec, Path]:
    """Rebuild a run's generator from the names in its newest valid checkpoint's header and load its
    weights (the moving-average weights when the run kept them, ``train.ema > 0``). A newer damaged
    checkpoint is named in a warning."""
    path, (tensors, _state, header), skipped = checkpoint.latest(run_dir / "checkpoints")
    for note in skipped:  # a newer checkpoint is damaged: say which, and which one is used instead
        warnings.warn(f"skipped a damaged checkpoint: {note} Using {path.name} instead.", stacklevel=2)
    cfg = from_stored(header["config"], host, where=f"The header of {path / checkpoint.WEIGHTS}")
    spec = DataSpec(**header["data"])
    generator = network(host, "generator", *cfg.components["generator"], spec, cfg.subparts.get("generator"))
    prefix = "generator_ema/" if any(k.startswith("generator_ema/") for k in tensors) else "generator/"
    try:
        generator.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:300]
        raise CheckpointError(
            f"The generator in {path / checkpoint.WEIGHTS} does not fit the generator its header names ({first}). "
            "Was the plugin that provides it changed since the run?"
        ) from None
    return generator.eval(), spec, path
