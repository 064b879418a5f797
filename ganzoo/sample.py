"""``ganzoo sample``: images from a run's latest checkpoint, K per class, as an npz (and a grid PNG)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ganzoo import checkpoint, rundir
from ganzoo.build import network
from ganzoo.components import DataSpec, Generator
from ganzoo.config import resolve
from ganzoo.errors import ConfigError
from ganzoo.plugins import PluginHost
from ganzoo.run import flatten


def load_generator(run_dir: Path, host: PluginHost) -> tuple[Generator, DataSpec, Path]:
    """Rebuild the generator from the names in the checkpoint header and load its weights
    (the moving-average weights when the run kept them, ``train.ema > 0``)."""
    path, (tensors, _state, header), _skipped = checkpoint.latest(run_dir / "checkpoints")
    cfg = resolve(flatten(header["config"]), host, use_preset=False)
    spec = DataSpec(**header["data"])
    generator = network(host, "generator", *cfg.components["generator"], spec, cfg.subparts.get("generator"))
    prefix = "generator_ema/" if any(k.startswith("generator_ema/") for k in tensors) else "generator/"
    generator.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    return generator.eval(), spec, path


@torch.no_grad()
def sample(run_dir: Path, per_class: int, out: Path, host: PluginHost, grid: Path | None = None, seed: int = 0, batch: int = 256) -> dict:
    if per_class < 1:
        raise ConfigError(f"--per-class must be at least 1, got {per_class}.")
    if out.suffix != ".npz":
        raise ConfigError(f"--out must name an .npz file, got {out}.")
    rundir.read_config(run_dir)
    generator, spec, ckpt = load_generator(run_dir, host)
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(spec.num_classes).repeat_interleave(per_class)  # (N,) class-major
    z = torch.randn(labels.numel(), generator.z_dim, generator=g)
    images = torch.cat([generator(z[i : i + batch], labels[i : i + batch]) for i in range(0, labels.numel(), batch)])  # (N, C, H, W)
    as_uint8 = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.npz")
    np.savez_compressed(tmp, images=as_uint8, labels=labels.numpy().astype(np.int64))
    os.replace(tmp, out)
    if grid is not None:
        rundir.save_grid(images, per_class, grid)
    return {"checkpoint": str(ckpt), "images": list(as_uint8.shape), "out": str(out), "grid": str(grid) if grid else None}
