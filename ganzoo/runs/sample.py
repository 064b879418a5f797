"""``ganzoo sample``: images from a run's newest checkpoint, K per class, as an npz (and a grid PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganzoo.errors import ConfigError
from ganzoo.evaluation.generate import generate, load_generator, noise
from ganzoo.registry.host import PluginHost
from ganzoo.storage import folder, plots
from ganzoo.storage.atomic import replacing


def sample(run_dir: Path, per_class: int, out: Path, host: PluginHost, grid: Path | None = None, seed: int = 0) -> dict:
    if per_class < 1:
        raise ConfigError(f"--per-class must be at least 1, got {per_class}.")
    if out.suffix != ".npz":
        raise ConfigError(f"--out must name an .npz file, got {out}.")
    folder.read_config(run_dir)
    generator, spec, ckpt = load_generator(run_dir, host)
    labels = torch.arange(spec.num_classes).repeat_interleave(per_class)  # (N,) class-major
    images = generate(generator, noise(labels.numel(), generator.z_dim, seed), labels)  # (N, C, H, W)
    as_uint8 = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as tmp:
        np.savez_compressed(tmp, images=as_uint8, labels=labels.numpy().astype(np.int64))
    if grid is not None:
        plots.save_grid(images, per_class, grid)
    return {"checkpoint": str(ckpt), "images": list(as_uint8.shape), "out": str(out), "grid": str(grid) if grid else None}
