"""``ganzoo compare``: runs side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.cli.console import show_table
from ganzoo.runs.compare import markdown, table_rows


def add(sub: argparse._SubParsersAction) -> None:
    cp = sub.add_parser("compare", help="runs side by side: config differences, quality, steps/s, wall time")
    cp.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    cp.add_argument("--markdown", action="store_true", help="print a Markdown table")
    cp.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    header, rows = table_rows([Path(d) for d in args.run_dirs])
    if args.markdown:
        print(markdown(header, rows))
    else:
        show_table("ganzoo compare", header, rows)
    return 0
