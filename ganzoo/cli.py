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
    from ganzoo import distributed

    finished = False
    try:
        run_dir = start(args.overrides, host)
        finished = True
        if distributed.is_writer():
            Console(stderr=True).print(f"[green]done:[/] {run_dir}")
    finally:
        distributed.close(finished)
    return 0


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


def list_combinations(as_json: bool) -> int:
    """Print the allowed-combination matrices of :mod:`ganzoo.compat`, with each refusal's reason."""
    from ganzoo.compat import matrices

    found = matrices(_host())
    if as_json:
        print(json.dumps([m.to_json() for m in found], indent=2))
        return 0
    console = Console()
    for m in found:
        reasons: dict[str, int] = {}
        for reason in m.refused.values():
            reasons.setdefault(reason, len(reasons) + 1)
        table = Table(title=m.title, caption="yes: allowed; no (n): refused, see reason n; -: the network has no such option")
        table.add_column("")
        for col in m.cols:
            table.add_column(col, justify="center")
        for r in m.rows:
            cells = []
            for c in m.cols:
                if (r, c) in m.absent:
                    cells.append("-")
                elif (r, c) in m.refused:
                    cells.append(f"[red]no ({reasons[m.refused[(r, c)]]})[/]")
                else:
                    cells.append("[green]yes[/]")
            table.add_row(r, *cells)
        console.print(table)
        for reason, n in reasons.items():
            console.print(f"  ({n}) {reason}", soft_wrap=True, highlight=False)
        console.print()
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


def cmd_eval(args: argparse.Namespace) -> int:
    from ganzoo.evaluate import evaluate_run

    if args.n < 2:
        raise GanzooError(f"--n must be at least 2, got {args.n}.")
    result = evaluate_run(Path(args.run_dir), _host(), n=args.n, seed=args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    table = Table(title=f"quality of {args.run_dir} ({result['checkpoint']}, n={result['n']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("reference", justify="right")
    table.add_row("class consistency", f"{result['class_acc']:.3f}", f"1/K = {1 / max(1, _num_classes(args.run_dir)):.3f}")
    table.add_row("intra-class diversity (mean / min)", f"{result['diversity']:.2f} / {result['diversity_min']:.2f}", "1.0 = real")
    table.add_row("Fréchet distance", f"{result['fd']:.3f}", f"floor {result['fd_floor']:.3f} (x{result['fd_ratio']:.1f})")
    table.add_row("KID", f"{result['kid']:.5f}", f"floor {result['kid_floor']:.5f}")
    table.add_row("evaluator held-out accuracy", f"{result['evaluator_acc']:.3f}", "")
    Console().print(table)
    return 0


def _num_classes(run_dir: str) -> int:
    from ganzoo.rundir import read_config

    return int(read_config(Path(run_dir)).get("data", {}).get("num_classes", 1))


def cmd_compare(args: argparse.Namespace) -> int:
    from ganzoo.compare import markdown, table_rows

    header, rows = table_rows([Path(d) for d in args.run_dirs])
    if args.markdown:
        print(markdown(header, rows))
        return 0
    table = Table(title="ganzoo compare")
    for col in header:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from ganzoo.compare import markdown, table_rows
    from ganzoo.evaluate import evaluate_run
    from ganzoo.run import start
    from ganzoo.sweep import sweep

    host = _host()
    err = Console(stderr=True)
    root, finished, refused = sweep(
        args.items, host,
        train=lambda overrides: start(overrides, host),
        evaluate=None if args.no_eval else (lambda run_dir: evaluate_run(run_dir, host, n=args.n)),
        log=err.print,
    )
    if finished:
        header, rows = table_rows(finished)
        if args.markdown:
            print(markdown(header, rows))
        else:
            table = Table(title=f"sweep {root}")
            for col in header:
                table.add_column(col, overflow="fold")
            for row in rows:
                table.add_row(*row)
            Console().print(table)
    for name, reason in refused.items():
        err.print(f"[yellow]refused[/] {name}: {reason}")
    return 0


def cmd_new_plugin(args: argparse.Namespace) -> int:
    from ganzoo.scaffold import write

    target = write(args.name, Path(args.dir))
    Console(stderr=True).print(f"wrote {target}\nnext: pip install -e {target} && ganzoo plugins && python -m pytest {target}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ganzoo.bench.measure import Settings
    from ganzoo.bench.runner import bench

    if args.procs:
        return _bench_procs(args)
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


def _bench_procs(args: argparse.Namespace) -> int:
    """``ganzoo bench --procs 1,2``: data-parallel throughput under torchrun, one row per process count."""
    from ganzoo.config import resolve
    from ganzoo.distbench import compare

    try:
        procs = tuple(int(p) for p in args.procs.split(","))
    except ValueError:
        raise GanzooError(f"--procs takes process counts such as 1,2; got {args.procs!r}.") from None
    if not procs or min(procs) < 1:
        raise GanzooError(f"--procs takes process counts of at least 1, such as 1,2; got {args.procs!r}.")
    resolve(args.overrides, _host())  # bad overrides fail here, before any process starts
    rows = compare(list(args.overrides), procs=procs, steps=max(3, args.rounds + 2), warmup=2)
    table = Table(title="data-parallel throughput (torchrun; the global batch is the same for every row)")
    for col in ("processes", "generator steps/s", "real images/s", "speed-up"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["procs"]), f"{r['steps_per_s']:.3f}", f"{r['images_per_s']:.0f}", f"x{r['speedup']:.2f}")
    Console().print(table)
    if args.json:
        from ganzoo.checkpoint import write_json_atomic

        write_json_atomic(Path(args.json), {"mode": "procs", "overrides": list(args.overrides), "results": rows})
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
    bn.add_argument("--procs", metavar="N,M", help="instead: data-parallel throughput under torchrun for each process count, e.g. 1,2")
    bn.set_defaults(func=cmd_bench)

    ls = sub.add_parser("list", help="list components: ganzoo list [KIND] [PATTERN]")
    ls.add_argument("kind", nargs="?", help=f"one of {', '.join(KINDS)} (or a pattern)")
    ls.add_argument("pattern", nargs="?", help="shell-style pattern, e.g. 'layer*'")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--combinations", action="store_true", help="show which components may be used together, and why not where refused")
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

    ev = sub.add_parser("eval", help="score a run's latest checkpoint: Fréchet distance, KID, class consistency, diversity")
    ev.add_argument("run_dir")
    ev.add_argument("--n", type=int, default=1000, help="generated (and real) images to score")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_eval)

    cp = sub.add_parser("compare", help="runs side by side: config differences, quality, steps/s, wall time")
    cp.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    cp.add_argument("--markdown", action="store_true", help="print a Markdown table")
    cp.set_defaults(func=cmd_compare)

    sw = sub.add_parser("sweep", help="run every combination (key=a,b ...) with the same budget and seed, then compare")
    sw.add_argument("items", nargs="+", metavar="key=a,b")
    sw.add_argument("--n", type=int, default=1000, help="images per evaluation")
    sw.add_argument("--no-eval", action="store_true", help="skip the evaluation of each run")
    sw.add_argument("--markdown", action="store_true")
    sw.set_defaults(func=cmd_sweep)

    np_ = sub.add_parser("new-plugin", help="write a ready-to-install plugin package skeleton")
    np_.add_argument("name", help="the plugin's name, e.g. my_critic")
    np_.add_argument("--dir", default=".", help="parent folder for the new package (default: here)")
    np_.set_defaults(func=cmd_new_plugin)
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
