"""The PNGs of a run folder: sample grids, loss curves and quality curves, each written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from ganzoo.storage.atomic import replacing

LOSS_KEYS = ("loss_d", "wasserstein", "penalty", "loss_g")


SOFTWARE = "ganzoo"  # the PNG "Software" text that marks a file ganzoo wrote


CHECKER = (0.75, 1.0)  # the grey and white squares behind RGBA samples


def checkerboard(height: int, width: int) -> torch.Tensor:
    """(1, 1, H, W) grey and white squares, about an eighth of the image wide (at least 2 pixels)."""
    tile = max(2, min(height, width) // 8)
    ys, xs = torch.arange(height) // tile, torch.arange(width) // tile
    odd = (ys[:, None] + xs[None, :]) % 2  # (H, W)
    return torch.where(odd.bool(), CHECKER[0], CHECKER[1]).reshape(1, 1, height, width)


def save_grid(images: torch.Tensor, columns: int, path: Path) -> None:
    """Save (N, C, H, W) images in [-1, 1] as a PNG grid with ``columns`` per row, marked as ganzoo's.
    RGBA images (C = 4) give an RGBA PNG: each image composited onto a grey and white checkerboard,
    so what is transparent shows, opaque, with transparent padding between them (the raw alpha is in
    the npz of ``ganzoo sample``)."""
    from PIL import Image, PngImagePlugin
    from torchvision.utils import make_grid

    x = images.float().cpu() * 0.5 + 0.5  # (N, C, H, W) in [0, 1]
    if x.shape[1] == 4:
        a = x[:, 3:].clamp(0, 1)  # (N, 1, H, W)
        x = x[:, :3] * a + checkerboard(x.shape[2], x.shape[3]) * (1 - a)  # (N, 3, H, W), opaque
        cover = make_grid(torch.ones_like(a), nrow=columns, padding=2, pad_value=0.0)[:1]  # (1, H', W'): 0 on the padding
        grid = torch.cat([make_grid(x, nrow=columns, padding=2, pad_value=1.0), cover])  # (4, H', W')
    else:
        grid = make_grid(x, nrow=columns, padding=2, pad_value=1.0)  # (3, H', W') in [0, 1]
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()  # (H', W', 3 or 4)
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", SOFTWARE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        Image.fromarray(pixels, "RGBA" if pixels.shape[2] == 4 else "RGB").save(tmp, format="PNG", pnginfo=info)


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
