"""``ganzoo eval``: the quality of a run's newest checkpoint, saved as ``eval.json`` in the run folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganzoo.cli.console import show_table
from ganzoo.errors import GanzooError
from ganzoo.evaluation.metrics import QUALITY
from ganzoo.evaluation.scoring import evaluate_run
from ganzoo.registry.host import default_host
from ganzoo.storage.folder import read_config, write_eval


def add(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help="score a run's latest checkpoint: Fréchet distance, KID, class consistency, diversity")
    ev.add_argument("run_dir")
    ev.add_argument("--n", type=int, default=1000, help="generated (and real) images to score")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    if args.n < 2:
        raise GanzooError(f"--n must be at least 2, got {args.n}.")
    if not 0 <= args.seed < 2**63:
        raise GanzooError(f"--seed must be in [0, 2**63), got {args.seed}.")
    run_dir = Path(args.run_dir)
    result = evaluate_run(run_dir, default_host(), n=args.n, seed=args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        classes = int(read_config(run_dir).get("data", {}).get("num_classes", 1))
        rows = [(q.label, q.format(result), q.reference_text(result, classes)) for q in QUALITY]
        show_table(f"quality of {run_dir} ({result['checkpoint']}, n={result['n']})", ("metric", "value", "reference"), rows, justify=("left", "right", "right"))
    write_eval(run_dir, result)  # after printing: a folder that cannot be written loses no scores
    return 0
