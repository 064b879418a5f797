"""The ``ganzoo`` command line: one module per command, each adding its parser (``add``) and its
function. This package is the only place that knows argv and rich (:mod:`ganzoo.cli.console`).

Every user mistake ends in one readable paragraph on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import warnings

from ganzoo.cli import bench, compare, evaluate, listing, new_plugin, run, sample, sweep
from ganzoo.cli.console import say
from ganzoo.errors import GanzooError

COMMANDS = (run, bench, listing, sample, evaluate, compare, sweep, new_plugin)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganzoo", description="A plugin-based GAN model zoo: mix parts by name and measure what helps.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = lambda msg, cat, *a, **k: say(str(msg), "yellow", "warning:")
        try:
            return args.func(args)
        except GanzooError as exc:
            say(str(exc), "red", "error:")
            return exc.exit_code
        except KeyboardInterrupt:
            say("A run continues from its last checkpoint with: ganzoo run resume=RUN_DIR", "yellow", "interrupted.")
            return 130
