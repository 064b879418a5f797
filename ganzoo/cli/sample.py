"""``ganzoo sample``: K images per class from a run's newest checkpoint, as .npz (and a grid PNG)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.cli.console import say
from ganzoo.registry.host import default_host
from ganzoo.runs.sample import sample


def add(sub: argparse._SubParsersAction) -> None:
    sm = sub.add_parser("sample", help="generate K images per class from a run's latest checkpoint")
    sm.add_argument("run_dir")
    sm.add_argument("--per-class", type=int, default=10, metavar="K")
    sm.add_argument("--out", required=True, metavar="FILE.npz")
    sm.add_argument("--grid", metavar="FILE.png", help="also write a grid: one row per class")
    sm.add_argument("--seed", type=int, default=0)
    sm.set_defaults(func=cmd_sample)


def cmd_sample(args: argparse.Namespace) -> int:
    result = sample(
        Path(args.run_dir), args.per_class, Path(args.out), default_host(), grid=Path(args.grid) if args.grid else None, seed=args.seed
    )
    say(f"wrote {result['out']} ({'x'.join(map(str, result['images']))} uint8) from {result['checkpoint']}")
    return 0
