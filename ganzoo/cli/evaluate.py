"""``ganzoo eval``: the quality of a run's newest checkpoint (saved as ``eval.json`` in the run folder),
or of an npz image set against a dataset (printed only)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganzoo.cli.console import say, show_table
from ganzoo.errors import ConfigError
from ganzoo.evaluation.metrics import QUALITY
from ganzoo.evaluation.scoring import evaluate_file, evaluate_run
from ganzoo.registry.host import default_host
from ganzoo.storage.folder import write_eval


def add(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser(
        "eval",
        help="score a run's latest checkpoint, or an npz of images against a dataset: KID, FD, class "
        "consistency, diversity, precision/recall, each beside what held-out real images score",
    )
    ev.add_argument("target", metavar="RUN_DIR|FILE.npz", help="a run folder, or an npz with 'images' (uint8 N x C x H x W) and 'labels'")
    ev.add_argument("overrides", nargs="*", metavar="data=NAME", help="for an npz: the dataset to score against, and its options")
    ev.add_argument(
        "--n", type=int, default=None, help="generated images to score (default: as many as the held-out real images, up to 2,000)"
    )
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument(
        "--ci",
        action="store_true",
        help="95%% bootstrap intervals on every figure (200 resamples of the generated and the reference images; "
        "about a minute on mnist5k)",
    )
    ev.add_argument(
        "--cas",
        action="store_true",
        help="also the classification accuracy score: a classifier trained on generated images, "
        "tested on held-out real ones (about a minute more on mnist5k)",
    )
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    if args.n is not None and args.n < 4:
        raise ConfigError(f"--n must be at least 4 (two images a side), got {args.n}.")
    if not 0 <= args.seed < 2**63:
        raise ConfigError(f"--seed must be in [0, 2**63), got {args.seed}.")
    target = Path(args.target)
    host = default_host()
    options = dict(n=args.n, seed=args.seed, ci=args.ci, cas=args.cas)
    if target.is_dir():
        if args.overrides:
            raise ConfigError(
                f"{target} is a run folder, which is scored against its own dataset; drop {' '.join(args.overrides)} "
                "(data=NAME is for an npz file of images)."
            )
        result = evaluate_run(target, host, **options)
    else:
        if target.suffix.lower() != ".npz" and not target.exists():
            raise ConfigError(
                f"{target} is neither a run folder nor an npz file. ganzoo eval scores a run folder, or an npz with "
                "'images' and 'labels' against a dataset: ganzoo eval samples.npz data=mnist5k."
            )
        result = evaluate_file(target, args.overrides, host, **options)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show_result(result)
    if target.is_dir():
        write_eval(target, result)  # after printing: a folder that cannot be written loses no scores
    return 0


def show_result(result: dict) -> None:
    k = int(result.get("num_classes") or 1)
    ci = result.get("ci") or {}
    rows = []
    for q in QUALITY:
        if result.get(q.key) is None:
            continue
        interval = ci.get(q.key)
        value = q.format(result) + (f" [{q.fmt.format(interval[0])}, {q.fmt.format(interval[1])}]" if interval else "")
        rows.append((q.label, value, q.reference_text(result, k)))
    where = f"{result['source']}" + (f" ({result['checkpoint']})" if result.get("checkpoint") else "")
    show_table(
        f"quality of {where}: {result['n']} images, {result['n_ref']} reference images a side",
        ("metric", "value" + (" [95% CI]" if ci else ""), "reference"),
        rows,
        justify=("left", "right", "right"),
    )
    if result.get("ci_resamples"):
        say(
            f"intervals: the value +- 1.96 standard deviations over {result['ci_resamples']} bootstrap resamples of the generated "
            "and the reference images."
        )
