"""The ``ganzoo`` command line: run, bench, list, plugins, sample.

Every user mistake ends in one readable paragraph on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ganzoo.components import KINDS
from ganzoo.errors import GanzooError, unknown

KIND_ALIASES = {**{k: k for k in KINDS}, **{k + "s": k for k in KINDS}, "data": "dataset", "datasets": "dataset"}


def _host():
    from ganzoo.plugins import default_host

    return default_host()


def cmd_run(args: argparse.Namespace) -> int:
    from ganzoo.config import resolve
    from ganzoo.run import dry_run, start

    host = _host()
    if args.dry_run:
        result = dry_run(resolve(args.overrides, host), host)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            Console().print_json(data=result)
        return 0
    run_dir = start(args.overrides, host)
    Console(stderr=True).print(f"[green]done:[/] {run_dir}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    kind, pattern = None, "*"
    words = [w for w in (args.kind, args.pattern) if w is not None]
    if words and words[0] in KIND_ALIASES:
        kind, words = KIND_ALIASES[words[0]], words[1:]
    elif len(words) == 2:
        raise unknown("component kind", words[0], sorted(KINDS))
    if words:
        pattern = words[0]
    entries = _host().list_components(kind, pattern)
    if args.json:
        print(json.dumps([{"kind": e.kind, "name": e.name, "description": e.description, "reference": e.reference, "provider": e.provider} for e in entries], indent=2))
        return 0
    table = Table(title="ganzoo components")
    for col in ("kind", "name", "description", "reference"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(e.kind, e.name, e.description, e.reference)
    Console().print(table)
    if not entries:
        Console(stderr=True).print(f"no component matches {pattern!r}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    plugins = _host().plugins()
    if args.json:
        print(json.dumps([p.__dict__ for p in plugins], indent=2))
        return 0
    table = Table(title="loaded ganzoo plugins")
    for col in ("plugin", "version", "source"):
        table.add_column(col)
    for p in plugins:
        table.add_row(p.name, p.version, p.source)
    Console().print(table)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from ganzoo.sample import sample

    result = sample(Path(args.run_dir), args.per_class, Path(args.out), _host(), grid=Path(args.grid) if args.grid else None, seed=args.seed)
    Console(stderr=True).print(f"wrote {result['out']} ({'x'.join(map(str, result['images']))} uint8) from {result['checkpoint']}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ganzoo.bench.measure import Settings
    from ganzoo.bench.runner import bench

    _, regressions = bench(
        args.overrides, _host(), matrix=args.matrix, settings=Settings(warmup=args.warmup, rounds=args.rounds),
        vs_reference=args.vs_reference, json_out=Path(args.json) if args.json else None,
        compare_with=Path(args.compare) if args.compare else None, fail_slower=args.fail_slower, peak_size=args.peak_size,
    )
    if regressions:
        err = Console(stderr=True, highlight=False)
        err.print(f"[red]slower than {args.compare}:[/] " + "; ".join(regressions), soft_wrap=True)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganzoo", description="A plugin-based GAN model zoo: mix parts by name and measure what helps.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="train a GAN (key=value overrides on top of a preset)",
                         description="Train a GAN. Examples: ganzoo run train.steps=50; ganzoo run preset=seed data=synthetic; ganzoo run resume=RUN_DIR")
    run.add_argument("overrides", nargs="*", metavar="key=value")
    run.add_argument("--dry-run", action="store_true", help="print the resolved configuration and parameter counts, train nothing")
    run.add_argument("--json", action="store_true", help="with --dry-run: print plain JSON")
    run.set_defaults(func=cmd_run)

    bn = sub.add_parser("bench", help="measure throughput, memory and FLOPs (key=value overrides, --matrix key=a,b)",
                        description="Measure training throughput, critic steps with and without the constraint, generator images/s, "
                        "peak memory, parameters, FLOPs and achieved GFLOP/s. Examples: ganzoo bench --matrix critic.norm=layer,none "
                        "constraint=gp,clip; ganzoo bench --vs-reference (the seed preset, engine against the seed notes' loop).")
    bn.add_argument("overrides", nargs="*", metavar="key=value")
    bn.add_argument("--matrix", nargs="+", action="extend", default=[], metavar="key=a,b", help="measure every combination of these values")
    bn.add_argument("--json", metavar="FILE", help="write the results as JSON")
    bn.add_argument("--compare", metavar="FILE", help="show throughput ratios against a saved --json file")
    bn.add_argument("--fail-slower", type=float, metavar="PCT", help="with --compare: exit 1 if any throughput is more than PCT%% slower")
    bn.add_argument("--vs-reference", action="store_true", help="time the seed preset through the engine and the seed notes' loop, alternating")
    bn.add_argument("--rounds", type=int, default=5, help="timed rounds per measurement (default 5)")
    bn.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    bn.add_argument("--peak-size", type=int, default=1024, metavar="N", help="matrix size of the matmul peak measurement (default 1024)")
    bn.set_defaults(func=cmd_bench)

    ls = sub.add_parser("list", help="list components: ganzoo list [KIND] [PATTERN]")
    ls.add_argument("kind", nargs="?", help=f"one of {', '.join(KINDS)} (or a pattern)")
    ls.add_argument("pattern", nargs="?", help="shell-style pattern, e.g. 'layer*'")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    pl = sub.add_parser("plugins", help="list loaded plugins and their versions")
    pl.add_argument("--json", action="store_true")
    pl.set_defaults(func=cmd_plugins)

    sm = sub.add_parser("sample", help="generate K images per class from a run's latest checkpoint")
    sm.add_argument("run_dir")
    sm.add_argument("--per-class", type=int, default=10, metavar="K")
    sm.add_argument("--out", required=True, metavar="FILE.npz")
    sm.add_argument("--grid", metavar="FILE.png", help="also write a grid: one row per class")
    sm.add_argument("--seed", type=int, default=0)
    sm.set_defaults(func=cmd_sample)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    err = Console(stderr=True, highlight=False)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = lambda msg, cat, *a, **k: err.print(f"[yellow]warning:[/] {msg}")
        try:
            return args.func(args)
        except GanzooError as exc:
            err.print(f"[red]error:[/] {exc}", soft_wrap=True)
            return exc.exit_code
        except KeyboardInterrupt:
            err.print("[yellow]interrupted.[/] A run continues from its last checkpoint with: ganzoo run resume=RUN_DIR")
            return 130


if __name__ == "__main__":
    sys.exit(main())
