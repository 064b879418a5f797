"""A grid of real images laid out as ``ganzoo sample --grid`` lays out generated ones (one row per class,
``--per-class`` images each, drawn at random with ``--seed``), to put beside samples.

    python scripts/real_grid.py data=imagefolder data.root=data/emoji64 --per-class 8 --out docs/emoji-real.png

The data is read as a run reads it (``data.alpha``, ``data.resize`` and the other options apply).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> int:
    from ganzoo.imagedata import to_unit
    from ganzoo.registry.build import load_data
    from ganzoo.registry.config import resolve
    from ganzoo.registry.host import default_host
    from ganzoo.storage.plots import save_grid

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("overrides", nargs="+", help="data=NAME and data.OPTION=VALUE")
    p.add_argument("--per-class", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="the PNG to write (must not exist)")
    a = p.parse_args(argv)
    if a.out.exists():
        raise SystemExit(f"error: {a.out} exists; give a new file name.")
    host = default_host()
    data = load_data(resolve([*a.overrides, "train.progress=false"], host, check_compat=False), host)
    rows, gen = [], torch.Generator().manual_seed(a.seed)
    for c in range(data.spec.num_classes):
        index = (data.labels == c).nonzero().flatten()  # (n_c,)
        index = index[torch.randperm(len(index), generator=gen)[: a.per_class]]  # (k,)
        images = to_unit(data.images[index]) if data.images.dtype == torch.uint8 else data.images[index]  # (k, C, H, W) in [-1, 1]
        pad = torch.ones((a.per_class - len(index), *images.shape[1:]))  # a class with fewer images: white cells
        rows.append(torch.cat((images, pad)))
    save_grid(torch.cat(rows), a.per_class, a.out)
    print(f"{a.out}: {data.spec.num_classes} classes x {a.per_class} real images ({', '.join(data.classes)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
