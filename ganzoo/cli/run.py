"""``ganzoo run``: train, resume, or print the resolved configuration (``--dry-run``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganzoo.cli.console import RichReporter, out, say
from ganzoo.registry.overrides import parse_overrides, refuse_repeats
from ganzoo.registry.host import default_host
from ganzoo.runs.launch import dry_run, resolve_for_data, start
from ganzoo import ranks
from ganzoo.training import distributed


def add(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser(
        "run",
        help="train a GAN (key=value overrides on top of a preset)",
        description="Train a GAN. Examples: ganzoo run train.steps=50; ganzoo run preset=seed data=synthetic; ganzoo run resume=RUN_DIR",
    )
    run.add_argument("overrides", nargs="*", metavar="key=value")
    run.add_argument("--dry-run", action="store_true", help="print the resolved configuration and parameter counts, train nothing")
    run.add_argument("--json", action="store_true", help="with --dry-run: print plain JSON")
    run.set_defaults(func=cmd_run)


def expand_preset_from(overrides: list[str]) -> list[str]:
    """``preset-from=DIR`` (a ``ganzoo tune`` study): the best trial's overrides, under the user's own."""
    found = [o for o in overrides if o.split("=", 1)[0].strip() == "preset-from"]
    if not found:
        return list(overrides)
    from ganzoo.tuning.results import best_overrides

    study = Path(found[-1].split("=", 1)[1]).expanduser()
    return [*best_overrides(study), *(o for o in overrides if o not in found)]


def cmd_run(args: argparse.Namespace) -> int:
    host = default_host()
    refuse_repeats(args.overrides)  # the user's own; preset-from= then puts a study's best trial under them
    args.overrides = expand_preset_from(args.overrides)
    if args.dry_run:
        cfg, data = resolve_for_data(parse_overrides(args.overrides), host)
        result = dry_run(cfg, host, data)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            out().print_json(data=result)
        return 0
    finished = False
    try:
        run_dir = start(args.overrides, host, RichReporter())
        finished = True
        if ranks.is_writer():
            say(str(run_dir), "green", "done:")
    finally:
        distributed.close(finished)
    return 0
