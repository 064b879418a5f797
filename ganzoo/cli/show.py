"""``ganzoo show KIND NAME``: a component's description, flags and every option (type, default,
allowed values, description), with the options of the parts it picks."""

from __future__ import annotations

import argparse
import json

from ganzoo.cli.console import out, show_table
from ganzoo.cli.listing import KIND_ALIASES
from ganzoo.components import KINDS
from ganzoo.errors import unknown
from ganzoo.registry.describe import describe
from ganzoo.registry.host import default_host


def add(sub: argparse._SubParsersAction) -> None:
    sh = sub.add_parser(
        "show",
        help="one component's options: type, default, allowed values, description",
        description="Examples: ganzoo show critic dcgan; ganzoo show dataset synthetic; ganzoo show normaliser group --json",
    )
    sh.add_argument("kind", help=f"one of {', '.join(KINDS)}")
    sh.add_argument("name", help="the component's name, as `ganzoo list` shows it")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def cmd_show(args: argparse.Namespace) -> int:
    if args.kind not in KIND_ALIASES:
        raise unknown("component kind", args.kind, sorted(KINDS))
    info = describe(default_host(), KIND_ALIASES[args.kind], args.name)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    console = out()
    console.print(f"{info['kind']} {info['name']}: {info['description']}", markup=False, soft_wrap=True)
    console.print(
        f"  provided by: {info['provider']}" + (f"; reference: {info['reference']}" if info["reference"] else ""),
        markup=False,
        soft_wrap=True,
    )
    if info["flags"]:
        console.print("  flags: " + ", ".join(f"{k}={v}" for k, v in info["flags"].items()), markup=False, soft_wrap=True)
    columns = ("option", "type", "default", "allowed", "description")
    tables = [(f"options of {info['kind']} {info['name']}", info["options"], "  no options")]
    for key, sub in info["sub_options"].items():
        tables.append(
            (
                f"{key}.OPTION when {key}={sub['default']} (the default; for another, see its own `ganzoo show`)",
                sub["options"],
                f"  {key}={sub['default']} takes no options of its own",
            )
        )
    for title, opts, empty in tables:
        if opts:
            show_table(
                title,
                columns,
                [
                    (o["key"], o["type"], "(required)" if o["required"] else _text(o["default"]), o["allowed"], o["description"])
                    for o in opts
                ],
            )
        else:
            console.print(empty, markup=False)
    return 0
