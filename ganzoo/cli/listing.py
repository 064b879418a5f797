"""``ganzoo list`` (components, or ``--combinations``) and ``ganzoo plugins``."""

from __future__ import annotations

import argparse
import json

from ganzoo.cli.console import err, out, show_table
from ganzoo.components import KINDS
from ganzoo.errors import unknown
from ganzoo.registry.compat import matrices
from ganzoo.registry.host import default_host

KIND_ALIASES = {**{k: k for k in KINDS}, **{k + "s": k for k in KINDS}, "data": "dataset", "datasets": "dataset"}


def add(sub: argparse._SubParsersAction) -> None:
    ls = sub.add_parser("list", help="list components: ganzoo list [KIND] [PATTERN]")
    ls.add_argument("kind", nargs="?", help=f"one of {', '.join(KINDS)} (or a pattern)")
    ls.add_argument("pattern", nargs="?", help="shell-style pattern, e.g. 'layer*'")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--combinations", action="store_true", help="show which components may be used together, and why not where refused")
    ls.set_defaults(func=cmd_list)

    pl = sub.add_parser("plugins", help="list loaded plugins and their versions")
    pl.add_argument("--json", action="store_true")
    pl.set_defaults(func=cmd_plugins)


def cmd_list(args: argparse.Namespace) -> int:
    if args.combinations:
        return list_combinations(args.json)
    kind, pattern = None, "*"
    words = [w for w in (args.kind, args.pattern) if w is not None]
    if words and words[0] in KIND_ALIASES:
        kind, words = KIND_ALIASES[words[0]], words[1:]
    elif len(words) == 2:
        raise unknown("component kind", words[0], sorted(KINDS))
    if words:
        pattern = words[0]
    entries = default_host().list_components(kind, pattern)
    if args.json:
        print(
            json.dumps(
                [
                    {"kind": e.kind, "name": e.name, "description": e.description, "reference": e.reference, "provider": e.provider}
                    for e in entries
                ],
                indent=2,
            )
        )
        return 0
    show_table(
        "ganzoo components (ganzoo show KIND NAME for a component's options)",
        ("kind", "name", "description", "reference", "provider"),
        [(e.kind, e.name, e.description, e.reference, e.provider.removeprefix("ganzoo_plugins.")) for e in entries],
    )
    if not entries:
        err().print(f"no component matches {pattern!r}", markup=False)
    return 0


def list_combinations(as_json: bool) -> int:
    """Print the allowed-combination matrices of :mod:`ganzoo.registry.compat`, with each refusal's reason."""
    found = matrices(default_host())
    if as_json:
        print(json.dumps([m.to_json() for m in found], indent=2))
        return 0
    console = out()
    for m in found:
        reasons: dict[str, int] = {}
        for reason in m.refused.values():
            reasons.setdefault(reason, len(reasons) + 1)
        rows = []
        for r in m.rows:
            cells = ["-" if (r, c) in m.absent else f"no ({reasons[m.refused[(r, c)]]})" if (r, c) in m.refused else "yes" for c in m.cols]
            rows.append([r, *cells])
        show_table(
            m.title,
            ["", *m.cols],
            rows,
            caption="yes: allowed; no (n): refused, see reason n; -: the network has no such option",
            justify=["left", *["center"] * len(m.cols)],
        )
        for reason, n in reasons.items():
            console.print(f"  ({n}) {reason}", soft_wrap=True, markup=False)
        console.print()
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    plugins = default_host().plugins()
    if args.json:
        print(json.dumps([p.__dict__ for p in plugins], indent=2))
        return 0
    show_table(
        "loaded ganzoo plugins",
        ("plugin", "version", "source", "distribution", "status"),
        [
            (p.name, p.version, p.source, p.distribution, f"failed: {p.error} Its components were skipped." if p.error else "loaded")
            for p in plugins
        ],
    )
    return 0
