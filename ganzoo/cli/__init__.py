"""The ``ganzoo`` command line: one module per command, each adding its parser (``add``) and its
function. This package is the only place that knows argv and rich (:mod:`ganzoo.cli.console`).

Every user mistake ends in one readable paragraph on stderr and a non-zero exit, never a traceback:
2 for a mistake in what was asked, 3 for training stopped by NaN/Inf, 4 when the file system refused
a write or a peer or server could not be reached, 1 when every trial of a study failed, 130/143 when
Ctrl-C/SIGTERM stopped it. Importing this package is cheap: the commands, and
torch with them, are imported inside :func:`main`, after the signal handlers are in place, so a
Ctrl-C while ganzoo starts up is a clean stop too.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = ("run", "bench", "listing", "show", "sample", "evaluate", "compare", "doctor", "sweep", "tune", "report", "new_plugin")


def parser():
    import argparse

    p = argparse.ArgumentParser(prog="ganzoo", description="A plugin-based GAN model zoo: mix parts by name and measure what helps.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"ganzoo.cli.{name}").add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from ganzoo.training import signals

    signals.install()
    try:
        return _main(argv)
    except KeyboardInterrupt as exc:
        name = exc.args[0] if exc.args and exc.args[0] in signals.EXIT_CODES else "SIGINT"
        print(
            f"interrupted ({name}). A run continues from its last checkpoint with: ganzoo run resume=RUN_DIR", file=sys.stderr, flush=True
        )
        return signals.EXIT_CODES[name]


def _main(argv: list[str] | None) -> int:
    import warnings

    from ganzoo.cli.console import say
    from ganzoo.errors import GanzooError, os_reason
    from ganzoo.libwarnings import Shown

    args = parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = Shown(lambda text: say(text, "yellow", "warning:"), say)  # PIL, torch: ganzoo's notes or nothing
        try:
            return args.func(args)
        except GanzooError as exc:
            say(str(exc), "red", "error:")
            return exc.exit_code
        except OSError as exc:  # the file system said no where no command expected it: still one paragraph
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            say(
                f"A file could not be read or written{where}: {os_reason(exc)}. Files ganzoo had written before are intact "
                "(every write goes through a temporary file and a rename). Fix the cause (free space, permissions, the path), "
                "then run the command again; a run continues with resume=RUN_DIR.",
                "red",
                "error:",
            )
            return 4
