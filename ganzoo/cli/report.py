"""``ganzoo report``: one HTML page of runs side by side, written where --out says."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.cli.console import say
from ganzoo.errors import ConfigError
from ganzoo.report import FRAMES_PER_PAGE, FRAMES_PER_RUN, make
from ganzoo.report.page import write


def add(sub: argparse._SubParsersAction) -> None:
    rp = sub.add_parser("report", help="one self-contained HTML page of runs side by side: configs, sample grids, curves, scores")
    rp.add_argument("paths", nargs="+", metavar="RUN_DIR", help="run folders, or sweep folders (each stands for the runs inside it)")
    rp.add_argument(
        "--out", default="report.html", help="the HTML file to write (default report.html); replaces only a report ganzoo wrote"
    )
    rp.add_argument(
        "--frames",
        type=int,
        default=None,
        help=f"sample grids embedded per run, evenly spaced with the last included (0: all; default {FRAMES_PER_RUN}, "
        f"fewer when there are many runs: {FRAMES_PER_PAGE} on the page, at least 3 per run)",
    )
    rp.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    if args.frames is not None and args.frames < 0:
        raise ConfigError(
            f"--frames {args.frames} is negative. Give how many sample grids to embed per run (e.g. --frames 12), or 0 for all of them."
        )
    out = Path(args.out)
    html, runs, notes = make([Path(p) for p in args.paths], frames=args.frames)
    write(out, html)
    for note in notes:
        say(note, "yellow", "warning:")
    size = len(html.encode("utf-8"))
    print(f"wrote {out} ({len(runs)} run{'s' * (len(runs) != 1)}, {size / 1024:.0f} KB); open it in a browser")
    return 0
