"""The PNGs of a run folder: sample grids, loss curves and quality curves, each written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from ganzoo.storage.atomic import replacing

LOSS_KEYS = ("loss_d", "wasserstein", "penalty", "loss_g")


SOFTWARE = "ganzoo"  # the PNG "Software" text that marks a file ganzoo wrote


def save_grid(images: torch.Tensor, columns: int, path: Path) -> None:
    """Save (N, C, H, W) images in [-1, 1] as a PNG grid with ``columns`` per row, marked as ganzoo's."""
    from PIL import Image, PngImagePlugin
    from torchvision.utils import make_grid

    grid = make_grid(images.float().cpu() * 0.5 + 0.5, nrow=columns, padding=2, pad_value=1.0)  # (3, H', W') in [0, 1]
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()  # (H', W', 3)
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", SOFTWARE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        Image.fromarray(pixels).save(tmp, format="PNG", pnginfo=info)


def written_by_ganzoo(path: Path) -> bool:
    """True for a PNG whose "Software" text says ganzoo wrote it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.format == "PNG" and img.info.get("Software") == SOFTWARE
    except (OSError, UnidentifiedImageError):
        return False


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with replacing(path) as tmp:
        fig.savefig(tmp, format="png")


def plot_losses(records: Iterable[dict[str, Any]], path: Path) -> None:
    """The loss curves of ``metrics.jsonl`` as a PNG."""
    records = [r for r in records if "loss_d" in r]
    if not records:
        return
    plt = _pyplot()
    steps = [r["step"] for r in records]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for key in LOSS_KEYS:
        ax.plot(steps, [r[key] for r in records], label=key, linewidth=1)
    ax.set_xlabel("generator step")
    ax.set_ylabel("value")
    ax.set_title("ganzoo training losses")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    try:
        _save(fig, path)
    finally:
        plt.close(fig)


def plot_quality(
    records: Iterable[dict[str, Any]], path: Path, panels: Sequence[Sequence[tuple[str, str]]], log_panels: Sequence[int] = ()
) -> None:
    """Quality curves from the ``eval`` lines of ``metrics.jsonl``: ``panels`` is a list of panels, each
    a list of (key, label) curves; panels whose index is in ``log_panels`` use a log scale."""
    evals = [(r["step"], r["eval"]) for r in records if "eval" in r]
    if not evals:
        return
    plt = _pyplot()
    steps = [s for s, _ in evals]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), dpi=100, squeeze=False)
    for i, (ax, curves) in enumerate(zip(axes[0], panels)):
        for key, label in curves:
            ax.plot(steps, [e.get(key, float("nan")) for _, e in evals], marker="o", label=label)
        if i in log_panels:
            ax.set_yscale("log")
        ax.set_xlabel("generator step")
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle("ganzoo quality (offline evaluator)")
    fig.tight_layout()
    try:
        _save(fig, path)
    finally:
        plt.close(fig)
