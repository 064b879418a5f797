"""``ganzoo compare``: runs side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.cli.console import show_table
from ganzoo.runs.compare import by_configuration, improvement_rows, markdown, seed_rows, summarise, table_rows


def add(sub: argparse._SubParsersAction) -> None:
    cp = sub.add_parser(
        "compare",
        help="runs side by side: config differences, quality, steps/s, wall time; over several seeds of a "
        "configuration, its mean +- 95% interval and the probability that it beats another",
    )
    cp.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    cp.add_argument("--markdown", action="store_true", help="print a Markdown table")
    cp.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    dirs = [Path(d) for d in args.run_dirs]
    runs = [summarise(d) for d in dirs] if dirs else []
    tables = [("ganzoo compare", *table_rows(dirs, runs))]
    groups = by_configuration(runs)
    if len(groups) < len(dirs):  # some configuration ran with several seeds
        tables.append(("by configuration: mean ± 95% interval over the seeds (Student t)", *seed_rows(groups)))
        if len(groups) > 1:
            tables.append(
                (
                    "probability that a run of A scores better than a run of B (all pairs of their runs; ties count half)",
                    *improvement_rows(groups),
                )
            )
    for title, header, rows in tables:
        if args.markdown:
            print(f"\n{title}\n\n{markdown(header, rows)}" if title != "ganzoo compare" else markdown(header, rows))
        else:
            show_table(title, header, rows)
    return 0
