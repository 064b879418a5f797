"""``ganzoo sweep``: every combination of the listed values, one after another, then the comparison."""

from __future__ import annotations

import argparse

from ganzoo.cli.console import RichReporter, say, show_table
from ganzoo.evaluation.scoring import evaluate_run
from ganzoo.registry.host import default_host
from ganzoo.runs.compare import markdown, table_rows
from ganzoo.runs.launch import start
from ganzoo.runs.sweep import sweep
from ganzoo.storage.folder import write_eval


def add(sub: argparse._SubParsersAction) -> None:
    sw = sub.add_parser("sweep", help="run every combination (key=a,b ...) with the same budget and seed, then compare")
    sw.add_argument("items", nargs="+", metavar="key=a,b")
    sw.add_argument("--n", type=int, default=None, help="images per evaluation (default: as many as the held-out real images, up to 2,000)")
    sw.add_argument("--no-eval", action="store_true", help="skip the evaluation of each run")
    sw.add_argument("--markdown", action="store_true")
    sw.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    host = default_host()
    root, finished, refused = sweep(
        args.items,
        host,
        train=lambda overrides: start(overrides, host, RichReporter()),
        evaluate=None if args.no_eval else (lambda run_dir: write_eval(run_dir, evaluate_run(run_dir, host, n=args.n))),
        log=say,
    )
    if finished:
        header, rows = table_rows(finished)
        if args.markdown:
            print(markdown(header, rows))
        else:
            show_table(f"sweep {root}", header, rows)
    for name, reason in refused.items():
        say(f"{name}: {reason}", "yellow", "refused")
    return 0
