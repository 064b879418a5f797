"""``ganzoo new-plugin NAME``: a ready-to-install plugin package skeleton whose test passes as written."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.cli.console import say
from ganzoo.testing.scaffold import write


def add(sub: argparse._SubParsersAction) -> None:
    np_ = sub.add_parser("new-plugin", help="write a ready-to-install plugin package skeleton")
    np_.add_argument("name", help="the plugin's name, e.g. my_critic")
    np_.add_argument("--dir", default=".", help="parent folder for the new package (default: here)")
    np_.set_defaults(func=cmd_new_plugin)


def cmd_new_plugin(args: argparse.Namespace) -> int:
    target = write(args.name, Path(args.dir))
    say(f"wrote {target}\nnext: pip install -e {target} && ganzoo plugins && python -m pytest {target}")
    return 0
