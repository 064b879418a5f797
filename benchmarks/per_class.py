"""Class consistency class by class, at a size that resolves small classes: ``--n`` generated images of
every class (not the held-out class frequencies ``ganzoo eval`` draws, which give a class of 85
images about 17), each named by the dataset's judge; beside it, the judge's accuracy on the class's
held-out real images.

    python benchmarks/per_class.py runs/emoji [--n 500] [--seed 0]

The 95% interval of a share p over n images is about +-1.96 sqrt(p (1 - p) / n): +-0.04 at n = 500.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> int:
    from ganzoo.evaluation.evaluator import get_evaluator, split
    from ganzoo.evaluation.generate import generate, load_generator, noise
    from ganzoo.registry.build import load_data
    from ganzoo.registry.config import from_stored
    from ganzoo.registry.host import default_host
    from ganzoo.storage.folder import read_config

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path)
    p.add_argument("--n", type=int, default=500, help="generated images per class")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    host = default_host()
    cfg = from_stored(read_config(a.run).get("config"), host, where=str(a.run / "config.json"))
    data = load_data(cfg, host)
    judge = get_evaluator(data)
    generator, spec, _ = load_generator(a.run, host)
    _, held = split(data.labels)
    real_pred = judge.predict(data.floats(held))  # (H,)
    rows = []
    for c, name in enumerate(data.classes):
        labels = torch.full((a.n,), c, dtype=torch.int64)
        images = generate(generator, noise(a.n, generator.z_dim, a.seed + 1000 * c), labels)  # (n, C, H, W)
        share = float((judge.predict(images) == c).float().mean())
        mask = data.labels[held] == c
        real = float((real_pred[mask] == c).float().mean()) if mask.any() else float("nan")
        rows.append(
            {
                "class": name,
                "images": int((data.labels == c).sum()),
                "generated": share,
                "interval": 1.96 * math.sqrt(share * (1 - share) / a.n),
                "real_held_out": real,
                "real_n": int(mask.sum()),
            }
        )
    print(json.dumps({"run": str(a.run), "n": a.n, "classes": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
