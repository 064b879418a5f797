"""``ganzoo bench``: throughput, memory and FLOPs; the engine against the seed notes' loop; 1 vs N processes."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganzoo.bench import report
from ganzoo.bench.measure import Settings
from ganzoo.bench.procs import compare as compare_procs
from ganzoo.bench.runner import Output, throughput, to_quality, vs_reference
from ganzoo.cli.console import say, show_table
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.registry.config import resolve
from ganzoo.registry.host import default_host


def add(sub: argparse._SubParsersAction) -> None:
    bn = sub.add_parser(
        "bench",
        help="measure throughput, memory and FLOPs (key=value overrides, --matrix key=a,b)",
        description="Measure training throughput, critic steps with and without the constraint, generator images/s, "
        "peak memory, parameters, FLOPs and achieved GFLOP/s. Examples: ganzoo bench --matrix critic.norm=layer,none "
        "constraint=gp,clip; ganzoo bench --vs-reference (the seed preset, engine against the seed notes' loop).",
    )
    bn.add_argument("overrides", nargs="*", metavar="key=value")
    bn.add_argument("--matrix", nargs="+", action="extend", default=[], metavar="key=a,b", help="measure every combination of these values")
    bn.add_argument("--json", metavar="FILE", help="write the results as JSON")
    bn.add_argument("--compare", metavar="FILE", help="show throughput ratios against a saved --json file")
    bn.add_argument("--fail-slower", type=float, metavar="PCT", help="with --compare: exit 1 if any throughput is more than PCT%% slower")
    bn.add_argument(
        "--vs-reference", action="store_true", help="time the seed preset through the engine and the seed notes' loop, alternating"
    )
    bn.add_argument("--rounds", type=int, default=5, help="timed rounds per measurement (default 5)")
    bn.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    bn.add_argument("--peak-size", type=int, default=1024, metavar="N", help="matrix size of the matmul peak measurement (default 1024)")
    bn.add_argument("--procs", metavar="N,M", help="instead: data-parallel throughput under torchrun for each process count, e.g. 1,2")
    bn.add_argument(
        "--to-quality",
        metavar="METRIC=VALUE",
        help="instead: the training time each configuration needs to first reach a quality figure, e.g. class_acc=0.9",
    )
    bn.add_argument(
        "--eval-every", type=int, default=100, metavar="K", help="with --to-quality: score every K generator steps (default 100)"
    )
    bn.add_argument(
        "--budget-minutes",
        type=float,
        default=10.0,
        metavar="M",
        help="with --to-quality: stop each configuration after M minutes of training (default 10)",
    )
    bn.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from ganzoo.registry.overrides import refuse_repeats

    refuse_repeats(args.overrides)
    if args.procs:
        return _bench_procs(args)
    if args.to_quality and args.vs_reference:
        raise ConfigError(
            "--to-quality trains each configuration and --vs-reference times the seed notes' loop: give one of them (or neither, "
            "for throughput)."
        )
    host, settings = default_host(), Settings(warmup=args.warmup, rounds=args.rounds)
    common = dict(
        matrix=args.matrix,
        settings=settings,
        log=lambda line: say(line),
        output=Output(Path(args.json) if args.json else None, Path(args.compare) if args.compare else None, args.fail_slower),
    )
    if args.to_quality:
        data, comparison = to_quality(
            args.overrides, host, args.to_quality, eval_every=args.eval_every, budget_minutes=args.budget_minutes, **common
        )
    elif args.vs_reference:
        data, comparison = vs_reference(args.overrides, host, **common)
    else:
        data, comparison = throughput(args.overrides, host, peak_size=args.peak_size, **common)
    grid = report.table(data, comparison)
    show_table(grid.title, grid.columns, grid.rows, caption=grid.caption)
    for r in data["results"]:
        if r["status"] != "ok":
            say(f"{r['label']}: {r['error']}", "yellow", "refused")
    if args.json:
        say(f"wrote {args.json}")
    regressions = comparison["regressions"] if comparison else []
    if regressions:
        say("; ".join(regressions), "red", f"slower than {args.compare}:")
        return 1
    return 0


def _bench_procs(args: argparse.Namespace) -> int:
    """``ganzoo bench --procs 1,2``: data-parallel throughput under torchrun, one row per process count."""
    try:
        procs = tuple(int(p) for p in args.procs.split(","))
    except ValueError:
        raise GanzooError(f"--procs takes process counts such as 1,2; got {args.procs!r}.") from None
    if not procs or min(procs) < 1:
        raise GanzooError(f"--procs takes process counts of at least 1, such as 1,2; got {args.procs!r}.")
    resolve(args.overrides, default_host())  # bad overrides fail here, before any process starts
    if args.json:
        report.check_output(Path(args.json))
    rows = compare_procs(list(args.overrides), procs=procs, steps=max(3, args.rounds + 2), warmup=2)
    show_table(
        "data-parallel throughput (torchrun; the global batch is the same for every row)",
        ("processes", "generator steps/s", "real images/s", "speed-up"),
        [(str(r["procs"]), f"{r['steps_per_s']:.3f}", f"{r['images_per_s']:.0f}", f"x{r['speedup']:.2f}") for r in rows],
        justify=("right",) * 4,
    )
    if args.json:
        report.write(Path(args.json), {"mode": "procs", "overrides": list(args.overrides), "results": rows})
    return 0
