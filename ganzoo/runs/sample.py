"""``ganzoo sample``: images from a run's newest checkpoint, K per class, as an npz (and a grid PNG).

Both output paths are checked before anything is generated: the right suffix, a folder that can
be written, and no existing file that ganzoo did not write (an npz or PNG from ``ganzoo sample``
carries a mark that says so and may be replaced; anything else is refused).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from ganzoo.errors import ConfigError, StorageError, os_reason
from ganzoo.evaluation.generate import generate, load_generator, noise
from ganzoo.registry.host import PluginHost
from ganzoo.storage import folder, plots
from ganzoo.storage.atomic import replacing, temporary
from ganzoo.version import __version__

MARK = "ganzoo"  # the npz entry that says ganzoo wrote the file
MAX_IMAGES = 1_000_000  # per call: more would only exhaust memory


def check_output(path: Path, suffix: str, option: str) -> None:
    """Refuse an output path that cannot or must not be written, before any work is done."""
    if path.suffix.lower() != suffix:
        raise ConfigError(f"{option} must name a {suffix} file, got {path}.")
    if path.is_dir():
        raise ConfigError(f"{option} {path} is an existing folder. Name a {suffix} file instead, e.g. {path / ('samples' + suffix)}.")
    if path.exists() or path.is_symlink():
        if not _written_by_ganzoo(path, suffix):
            raise ConfigError(
                f"{option} {path} already exists and was not written by ganzoo sample, so ganzoo will not overwrite it. Choose "
                "another path, or move the file away yourself."
            )
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"{option} {path}: {parent} is a file, not a folder. Choose another path.")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = temporary(path)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StorageError(f"Cannot write {option} {path}: {os_reason(exc)}. Nothing was written; choose a writable folder.") from None


def _written_by_ganzoo(path: Path, suffix: str) -> bool:
    if not path.is_file() or path.is_symlink():
        return False
    try:
        if suffix == ".npz":
            with zipfile.ZipFile(path) as z:
                return f"{MARK}.npy" in z.namelist()
        return plots.written_by_ganzoo(path)
    except (OSError, zipfile.BadZipFile):
        return False


def sample(run_dir: Path, per_class: int, out: Path, host: PluginHost, grid: Path | None = None, seed: int = 0) -> dict:
    if per_class < 1:
        raise ConfigError(f"--per-class must be at least 1, got {per_class}.")
    if not 0 <= seed < 2**63:
        raise ConfigError(f"--seed must be in [0, 2**63), got {seed}.")
    record = folder.read_config(run_dir)
    classes = int(record["data"].get("num_classes", 1)) if isinstance(record["data"].get("num_classes"), int) else 1
    if per_class * classes > MAX_IMAGES:
        raise ConfigError(
            f"--per-class {per_class} asks for {per_class * classes:,} images ({classes} classes); at most {MAX_IMAGES:,} are "
            "generated per call. Ask for fewer, or call it several times with different --seed."
        )
    check_output(out, ".npz", "--out")
    if grid is not None:
        check_output(grid, ".png", "--grid")
        if grid.resolve() == out.resolve():
            raise ConfigError("--out and --grid name the same file.")
    generator, spec, ckpt = load_generator(run_dir, host)
    labels = torch.arange(spec.num_classes).repeat_interleave(per_class)  # (N,) class-major
    images = generate(generator, noise(labels.numel(), generator.z_dim, seed), labels)  # (N, C, H, W)
    as_uint8 = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    with replacing(out) as tmp:
        np.savez_compressed(tmp, images=as_uint8, labels=labels.numpy().astype(np.int64), **{MARK: np.array(__version__)})
    if grid is not None:
        plots.save_grid(images, per_class, grid)
    return {"checkpoint": str(ckpt), "images": list(as_uint8.shape), "out": str(out), "grid": str(grid) if grid else None}
