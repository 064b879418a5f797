"""``ganzoo tune``: search for a recipe with Optuna, on one machine or many."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from ganzoo.cli.console import out, say, show_table
from ganzoo.errors import ConfigError
from ganzoo.registry.host import default_host


def add(sub: argparse._SubParsersAction) -> None:
    tu = sub.add_parser(
        "tune",
        help="search for a recipe with Optuna: --space KEY=KIND:RANGE --objective NAME:max --study DIR",
        description="Search configurations with Optuna. Each trial is an ordinary run folder under DIR/trials. "
        "Example: ganzoo tune train.steps=1000 --space 'train.lr_d=log:1e-5..1e-3' --space 'critic.norm=choice:batch,layer' "
        "--objective class_consistency:max --trial-minutes 3 --trials 20 --study tune/lr. Rerun the same command to continue.",
    )
    tu.add_argument("fixed", nargs="*", metavar="key=value", help="overrides every trial shares")
    tu.add_argument(
        "--space", action="append", default=[], metavar="KEY=KIND:RANGE", help="log:LO..HI, float:LO..HI, int:LO..HI or choice:a,b,c"
    )
    tu.add_argument(
        "--objective",
        action="append",
        default=[],
        metavar="NAME:max|min",
        help="a figure of ganzoo eval (class_consistency, diversity, fd_ratio, kid...) or steps_per_s; two give a Pareto front",
    )
    tu.add_argument("--trial-minutes", type=float, default=3.0, help="training time per trial (train.max_minutes)")
    tu.add_argument("--trials", type=int, default=20, help="how many trials the study runs in all")
    tu.add_argument("--study", required=True, metavar="DIR", help="the study folder")
    tu.add_argument(
        "--storage",
        default="",
        metavar="URL",
        help="an Optuna storage shared by workers on several machines: a PostgreSQL/MySQL URL or journal:PATH on a shared "
        "filesystem (default: DIR/study.db)",
    )
    tu.add_argument("--workers", type=int, default=1, help="local worker processes")
    tu.add_argument(
        "--prune-every",
        type=int,
        default=200,
        metavar="K",
        help="score each trial every K generator steps, so Optuna can stop hopeless ones (0: no pruning)",
    )
    tu.add_argument(
        "--eval-n",
        type=int,
        default=None,
        help="images each trial's final ganzoo eval scores (default: as many as the held-out real images, up to 2,000)",
    )
    tu.add_argument(
        "--launcher",
        default="",
        metavar="CMD",
        help="run each trial under this command, e.g. 'torchrun --nproc_per_node=4' (it is given -m ganzoo.cli run ...)",
    )
    tu.add_argument(
        "--heartbeat",
        type=float,
        default=20.0,
        metavar="S",
        help="seconds between a worker's heartbeats; a trial silent for 3x this is retried",
    )
    tu.add_argument("--show", action="store_true", help="print the study's trials and best configurations, run nothing")
    tu.set_defaults(func=cmd_tune)


def cmd_tune(args: argparse.Namespace) -> int:
    from ganzoo.registry.overrides import refuse_repeats
    from ganzoo.tuning.storage import DB, check_study_db, open_storage, optuna_module
    from ganzoo.tuning.study import Plan, claim_folder, plan_of, prepare, work

    study_dir = Path(args.study).expanduser()
    if args.show:
        return show(study_dir)
    refuse_repeats(args.fixed)
    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}.")
    try:
        launcher = shlex.split(args.launcher)  # torchrun and friends take "-m ganzoo.cli run ..." themselves
    except ValueError as exc:
        raise ConfigError(
            f"--launcher {args.launcher!r} cannot be read as a command ({exc}); e.g. --launcher 'torchrun --nproc_per_node=4'."
        ) from None
    host = default_host()
    given = Plan(
        fixed=list(args.fixed),
        space=list(args.space),
        objectives=list(args.objective),
        trials=args.trials,
        trial_minutes=args.trial_minutes,
        prune_every=args.prune_every,
        eval_n=args.eval_n,
        storage=args.storage,
        heartbeat_s=args.heartbeat,
        launcher=launcher,
    )
    # Everything is checked before the first file is written: the folder, the plan, the storage.
    claim_folder(study_dir)
    plan = plan_of(study_dir, given)
    plan.check(host)
    optuna_module()
    if plan.storage:
        tried = open_storage(plan.storage, study_dir)  # a bad URL fails here, before study.json records it
        if getattr(tried, "engine", None) is not None:
            tried.engine.dispose()
    else:
        check_study_db(study_dir / DB)
    prepare(study_dir, plan)
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    others = []
    if args.workers > 1:  # the extra workers run this same command with one worker each
        argv = [a for a in sys.argv[1:] if not a.startswith("--workers")]
        argv = [a for i, a in enumerate(argv) if not (i > 0 and argv[i - 1] == "--workers")]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        others = [subprocess.Popen([sys.executable, "-m", "ganzoo.cli", *argv, "--workers", "1"], env=env) for _ in range(args.workers - 1)]
    try:
        work(study_dir, plan, host, threads, log=lambda line: say(line))
    finally:
        for proc in others:
            if proc.poll() is None and sys.exc_info()[0] is not None:
                proc.send_signal(signal.SIGTERM)
        for proc in others:
            proc.wait()
    show(study_dir)
    from ganzoo.tuning.results import trials
    from ganzoo.tuning.study import all_failed

    failed = all_failed(study_dir, [r["state"] for r in trials(study_dir)[1]])
    if failed is not None:
        raise failed
    return 0


def show(study_dir: Path) -> int:
    """Print the study's trials and what it found; reads only."""
    from ganzoo.tuning import results

    plan, rows = results.trials(study_dir)
    names = [name for name in plan.objectives]
    show_table(
        f"study {study_dir}: {len(rows)} trials",
        ("trial", "state", *names, "sampled", "run folder"),
        [
            (
                str(r["number"]),
                r["state"],
                *([f"{v:.4g}" for v in r["values"]] if r["values"] else ["-"] * len(names)),
                _sampled(r),
                r["run_dir"],
            )
            for r in rows
        ],
    )
    _, front = results.best(study_dir)
    if front:
        title = "best trial" if len(names) == 1 else "Pareto front (best first by the first objective)"
        show_table(
            title,
            ("trial", *names, "overrides"),
            [(str(r["number"]), *(f"{v:.4g}" for v in r["values"]), " ".join(r["overrides"])) for r in front],
        )
        saving = results.pruning_saving(study_dir)
        console = out()
        console.print(
            f"training time spent: {saving['spent_s'] / 60:.1f} min; pruning stopped trials early, saving {saving['saved_s'] / 60:.1f} min",
            markup=False,
        )
        console.print(f"run the best one:  ganzoo run preset-from={study_dir}", markup=False)
        console.print("or paste this preset into registry.toml:\n" + results.preset_lines(results.best_overrides(study_dir)), markup=False)
    return 0


def _sampled(row: dict) -> str:
    """A trial's sampled overrides, and for a failed one why it failed."""
    text = " ".join(row["overrides"])
    if row["state"] == "FAIL" and row["error"]:
        text = (text + " | " if text else "") + row["error"][:160]
    return text
