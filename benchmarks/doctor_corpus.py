"""The doctor's corpus: short runs with a fault injected on purpose (or none), and how often
``ganzoo doctor`` names it.

    python benchmarks/doctor_corpus.py [--out benchmarks/doctor_corpus] [--slice N] [--jobs J] [--no-eval] [--list]
    python benchmarks/doctor_corpus.py --advice [--seeds 1]   # then: does the doctor's first change help?

Each run is a recipe (:data:`RECIPES`: the default conditional DCGAN and the seed-repaired WGAN-GP on
``mnist5k``, and two small synthetic ones) with a fault (:data:`FAULTS`: config overrides,
``GANZOO_FAULT`` or ``GANZOO_CORPUS_FAULT``) or none (label ``healthy``), for a few seeds. Each is
trained in a scratch folder, scored by ``ganzoo eval --json`` and read by ``ganzoo doctor --json``;
only small files are kept under ``--out/runs/RUN_ID/`` (``label.json``, ``doctor.json``,
``eval.json``, ``summary.json``: the last step line's numbers and the run's speed; ``metrics.jsonl.gz``,
the run's step lines, so thresholds can be refitted without retraining), never
checkpoints or images. A run whose ``summary.json`` exists is skipped, so the script resumes.

Scoring (``score.md``, ``score.json``): for each fault, the share of its runs whose first finding is
one the fault should produce (its ``expect`` keys: "named first"), and whose findings include one
("named"); on healthy runs, the share with any finding other than ``healthy`` (false alarms); and
the confusion table, label x first finding. Runs are split in two halves by a hash of their id
(:func:`half`): thresholds (``ganzoo/diagnosis/thresholds.py``) may be tuned by looking at the
``fit`` half only, and the ``report`` half is the honest score; both are printed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from statistics import median
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "doctor_corpus"
QUIET = ["train.progress=false", "train.checkpoint_every=0", "train.precision=fp32"]

# Healthy recipes: (name, overrides, seeds). Short, and each learns something in its steps.
SYNTH = [
    "preset=default",
    "data=synthetic",
    "data.n=400",
    "data.size=16",
    "data.num_classes=3",
    "critic.width=16",
    "generator.base=32",
    "generator.z_dim=16",
    "train.batch_size=32",
    "loss=nonsaturating",
    "train.lr_g=2e-4",
    "train.lr_d=2e-4",
    "train.ema=0",
    "train.sample_every=50",
]
RECIPES = {
    "mnist-dcgan": ["preset=default", "train.steps=200", "train.sample_every=50", "train.holdout_every=25"],
    "mnist-gp": ["preset=seed-repaired", "train.steps=60", "train.sample_every=20", "train.holdout_every=10"],
    "synth-dcgan": [*SYNTH, "train.steps=300", "train.holdout_every=25"],
    "synth-gp": [*SYNTH, "train.steps=150", "loss=wasserstein", "constraint=gp", "critic.norm=layer", "train.n_critic=2"],
}
SEEDS = {"mnist-dcgan": 12, "mnist-gp": 6, "synth-dcgan": 20, "synth-gp": 16}  # healthy runs per recipe


@dataclass(frozen=True)
class Fault:
    """A fault: the overrides (or environment) that make it, the recipes it applies to, and the
    findings that name it (the first one listed is the one meant)."""

    expect: tuple[str, ...]
    overrides: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    recipes: tuple[str, ...] = tuple(RECIPES)
    seeds: int = 2
    scale: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per recipe, overrides that depend on it


def _lr(recipe: str, which: str, factor: float) -> str:
    base = {"mnist-dcgan": {"g": 9.6e-4, "d": 3.5e-4}, "mnist-gp": {"g": 2e-4, "d": 2e-4}}.get(recipe, {"g": 2e-4, "d": 2e-4})[which]
    return f"train.lr_{which}={min(base * factor, 0.5):.3g}"


def _lrs(which: str, factor: float) -> dict[str, tuple[str, ...]]:
    return {r: (_lr(r, which, factor),) for r in RECIPES}


FAULTS = {
    "clip_no_signal": Fault(("no_signal",), ("constraint=clip", "loss=wasserstein")),
    "lr_d_high": Fault(("critic_overpowers", "numerical", "no_signal"), scale=_lrs("d", 100)),
    "lr_d_low": Fault(("generator_overpowers", "too_slow"), scale=_lrs("d", 0.01)),
    "lr_g_high": Fault(("mode_collapse", "numerical", "generator_overpowers"), scale=_lrs("g", 50)),
    "lr_g_low": Fault(("too_slow", "critic_overpowers"), scale=_lrs("g", 0.01)),
    "n_critic_high": Fault(("critic_overpowers", "out_of_time"), ("train.n_critic=20",)),
    "n_critic_low": Fault(("generator_overpowers",), ("train.n_critic=1",), recipes=("mnist-gp", "synth-gp")),
    # penalty_dominates reads 20 steps after a 50-step warm-up: the 60-step mnist-gp recipe is too short for it (the slice named
    # generator_overpowers there), so this fault runs 120 steps
    "penalty_heavy": Fault(
        ("penalty_dominates",), ("constraint.weight=1000",), recipes=("mnist-gp", "synth-gp"), scale={"mnist-gp": ("train.steps=120",)}
    ),
    "no_labels_critic": Fault(("conditioning_ignored",), ("critic.encoder=none",)),
    "no_labels_generator": Fault(("conditioning_ignored",), ("generator.encoder=none",)),
    "critic_small": Fault(("generator_overpowers",), ("critic.width=1",)),
    "critic_large": Fault(("critic_overpowers",), ("critic.width=128",), recipes=("mnist-dcgan", "synth-dcgan")),
    "saturated_generator": Fault(("critic_overpowers", "too_slow"), env=(("GANZOO_CORPUS_FAULT", "saturated_generator:30"),)),
    "few_modes": Fault(("mode_collapse",), ("generator.z_dim=1",)),
    "nan_loss": Fault(("numerical",), env=(("GANZOO_FAULT", "nan:loss_d:5:2"),)),
    "raw_pixels": Fault(("critic_overpowers", "numerical"), env=(("GANZOO_CORPUS_FAULT", "raw_pixels"),)),
    "dead_critic": Fault(("no_signal",), env=(("GANZOO_CORPUS_FAULT", "dead_critic"),)),
    "overfit": Fault(("critic_overfits",), ("data.limit=500", "train.steps=800", "train.holdout_every=25"), recipes=("mnist-dcgan",)),
}


@dataclass(frozen=True)
class Run:
    id: str
    label: str
    recipe: str
    seed: int
    overrides: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    expect: tuple[str, ...]


def merge(*parts: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Overrides in order, a later ``key=`` replacing an earlier one (the command line refuses a key given twice)."""
    out: dict[str, str] = {}
    for part in parts:
        for item in part:
            out.pop(item.partition("=")[0], None)
            out[item.partition("=")[0]] = item
    return tuple(out.values())


def plan() -> list[Run]:
    """Every run of the corpus, in a fixed order: the healthy ones, then each fault."""
    runs = [
        Run(f"healthy-{r}-s{s}", "healthy", r, s, merge(RECIPES[r], QUIET, [f"seed={s}"]), (), ("healthy",))
        for r in RECIPES
        for s in range(SEEDS[r])
    ]
    for label, f in FAULTS.items():
        for r in f.recipes:
            for s in range(f.seeds):
                over = merge(RECIPES[r], QUIET, f.overrides, f.scale.get(r, ()), [f"seed={s}"])
                runs.append(Run(f"{label}-{r}-s{s}", label, r, s, over, f.env, f.expect))
    return runs


def half(run_id: str) -> str:
    """``fit`` or ``report``, by the first byte of the run id's SHA-256 (fixed, about half each)."""
    return "fit" if hashlib.sha256(run_id.encode()).digest()[0] % 2 == 0 else "report"


def pick(runs: list[Run], per_label: int | None) -> list[Run]:
    """The first ``per_label`` runs of each label (all when None)."""
    if per_label is None:
        return runs
    seen: dict[str, int] = {}
    out = []
    for r in runs:
        seen[r.label] = seen.get(r.label, 0) + 1
        if seen[r.label] <= per_label:
            out.append(r)
    return out


def _ganzoo(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo.cli", *args], env=env, capture_output=True, text=True, timeout=timeout)


def _summary(run_dir: Path, seconds: float) -> dict:
    lines = (
        [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x.strip()]
        if (run_dir / "metrics.jsonl").exists()
        else []
    )
    steps = [r for r in lines if "loss_d" in r]
    last = steps[-1] if steps else {}
    keep = ("step", "time", "loss_d", "loss_g", "wasserstein", "real_score", "fake_score", "penalty_share", "grad_critic", "grad_generator")
    return {"wall_seconds": round(seconds, 2), "steps": len(steps), "last": {k: last[k] for k in keep if k in last}}


def run_one(run: Run, out: Path, work: Path, evaluate: bool = True, timeout: float = 1800) -> dict:
    """Train one run in ``work``, score it, diagnose it; keep the small files in ``out/runs/ID``."""
    keep = out / "runs" / run.id
    if (keep / "summary.json").exists():
        return json.loads((keep / "summary.json").read_text())
    keep.mkdir(parents=True, exist_ok=True)
    (keep / "label.json").write_text(json.dumps({**asdict(run), "half": half(run.id)}, indent=1))
    run_dir = work / run.id
    shutil.rmtree(run_dir, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("GANZOO_FAULT", "GANZOO_CORPUS_FAULT")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", GANZOO_DISABLE_PLUGIN_AUTOLOAD="1", **dict(run.env))
    started = time.perf_counter()
    trained = _ganzoo(["run", *run.overrides, f"out={run_dir}"], env, timeout)
    seconds = time.perf_counter() - started
    result = {"id": run.id, "label": run.label, "train_rc": trained.returncode, **_summary(run_dir, seconds)}
    if trained.returncode != 0:
        result["train_error"] = trained.stderr.strip()[-2000:]
    clean = {k: v for k, v in env.items() if k not in ("GANZOO_FAULT", "GANZOO_CORPUS_FAULT")}
    if evaluate and (run_dir / "checkpoints").exists():
        scored = _ganzoo(["eval", str(run_dir), "--json"], clean, timeout)
        if scored.returncode == 0:
            (keep / "eval.json").write_text(scored.stdout)
        else:
            result["eval_error"] = scored.stderr.strip()[-1000:]
    if (run_dir / "config.json").exists():
        doctor = _ganzoo(["doctor", str(run_dir), "--json"], clean, timeout)
        if doctor.returncode == 0:
            (keep / "doctor.json").write_text(doctor.stdout)
            result["findings"] = [f["key"] for f in json.loads(doctor.stdout)["findings"]]
        else:
            result["doctor_error"] = doctor.stderr.strip()[-1000:]
    if (run_dir / "metrics.jsonl").exists():  # kept compressed, so the thresholds can be refitted without retraining
        (keep / "metrics.jsonl.gz").write_bytes(gzip.compress((run_dir / "metrics.jsonl").read_bytes(), mtime=0))
    result["seconds_total"] = round(time.perf_counter() - started, 2)
    (keep / "summary.json").write_text(json.dumps(result, indent=1))
    shutil.rmtree(run_dir, ignore_errors=True)  # checkpoints and images are not kept
    return result


def score(results: list[dict], runs: list[Run]) -> dict:
    """Recall per fault (named first, named), false alarms on healthy runs, the confusion table; per half and overall."""
    by_id = {r.id: r for r in runs}
    out = {}
    for part in ("fit", "report", "all"):
        rows = [x for x in results if x.get("findings") is not None and (part == "all" or half(x["id"]) == part)]
        labels: dict[str, dict] = {}
        confusion: dict[str, dict[str, int]] = {}
        for x in rows:
            run, found = by_id[x["id"]], x["findings"]
            first = found[0] if found else "-"
            row = labels.setdefault(run.label, {"runs": 0, "named_first": 0, "named": 0})
            row["runs"] += 1
            if run.label == "healthy":
                row["false_alarm"] = row.get("false_alarm", 0) + int(any(k != "healthy" for k in found))
                row["named_first"] += int(first == "healthy")
                row["named"] += int("healthy" in found)
            else:
                row["named_first"] += int(first in run.expect)
                row["named"] += int(any(k in run.expect for k in found))
            confusion.setdefault(run.label, {}).setdefault(first, 0)
            confusion[run.label][first] += 1
        out[part] = {"labels": labels, "confusion": confusion, "runs": len(rows)}
    return out


def markdown(scores: dict) -> str:
    text = []
    for part in ("report", "fit", "all"):
        s = scores[part]
        text += [f"## {part} half ({s['runs']} runs)" if part != "all" else f"## all runs ({s['runs']})", ""]
        text += ["| label | runs | named first | named | false alarms |", "|---|---|---|---|---|"]
        for label, row in sorted(s["labels"].items()):
            n = row["runs"]
            fa = f"{row['false_alarm']}/{n}" if "false_alarm" in row else ""
            text.append(f"| {label} | {n} | {row['named_first']}/{n} | {row['named']}/{n} | {fa} |")
        keys = sorted({k for c in s["confusion"].values() for k in c})
        text += ["", "confusion (label x first finding):", "", "| label | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for label, c in sorted(s["confusion"].items()):
            text.append(f"| {label} | " + " | ".join(str(c.get(k, "")) for k in keys) + " |")
        text.append("")
    return "\n".join(text)


BUDGET = ("train.steps", "train.max_minutes")  # a change to these asks for more budget: it cannot be tried at the same budget


def first_change(run: Run, out: Path) -> str | None:
    """The doctor's first change for a finished run (``key=value key=value``), or None when its first
    finding is ``healthy`` or has no change to try."""
    path = out / "runs" / run.id / "doctor.json"
    if not path.exists():
        return None
    findings = json.loads(path.read_text())["findings"]
    if not findings or findings[0]["key"] == "healthy" or not findings[0].get("change"):
        return None
    return findings[0]["change"]


def asks_for_budget(change: str) -> bool:
    return any(item.partition("=")[0] in BUDGET for item in change.split())


def advised(run: Run, out: Path) -> tuple[str, ...] | None:
    """The run's overrides with the doctor's first change applied, or None when there is none or it
    asks for more steps or minutes (counted apart: the issue's test is a change at the same budget)."""
    change = first_change(run, out)
    if change is None or asks_for_budget(change):
        return None
    return merge(run.overrides, change.split())


def advice_runs(runs: list[Run], out: Path, seeds: int) -> list[Run]:
    """For each corpus run of seed < ``seeds`` with a finding, the same run with its first change applied
    (the same budget, seed and injected fault): a run of its own, kept under ``out/advice/``."""
    found = []
    for r in runs:
        over = advised(r, out) if r.seed < seeds else None
        if over is not None:
            found.append(Run(r.id, r.label, r.recipe, r.seed, over, r.env, r.expect))
    return found


KID = "kid"  # the yardstick's headline distance: a change helped when it lowered it


def advice_score(runs: list[Run], out: Path, budget_advice: list[dict] | None = None) -> dict:
    """Per advised run: the first finding, the change, KID and class consistency before and after;
    the share whose KID fell, and the median changes. ``budget_advice``: the runs whose first change
    asked for more steps or minutes, listed, not rerun."""
    budget_advice = budget_advice or []
    rows = []
    for r in runs:
        before, after = out / "runs" / r.id / "eval.json", out / "advice" / "runs" / r.id / "eval.json"
        first = json.loads((out / "runs" / r.id / "doctor.json").read_text())["findings"][0]
        row = {"id": r.id, "label": r.label, "finding": first["key"], "change": first["change"]}
        if before.exists() and after.exists():
            b, a = json.loads(before.read_text()), json.loads(after.read_text())
            row.update(kid_before=b[KID], kid_after=a[KID], class_acc_before=b["class_acc"], class_acc_after=a["class_acc"])
            row["helped"] = a[KID] < b[KID]
        rows.append(row)
    scored = [x for x in rows if "helped" in x]
    return {
        "runs": rows,
        "budget_advice": budget_advice,
        "scored": len(scored),
        "helped": sum(x["helped"] for x in scored),
        "median_kid_change": median(x["kid_after"] - x["kid_before"] for x in scored) if scored else None,
        "median_class_acc_change": median(x["class_acc_after"] - x["class_acc_before"] for x in scored) if scored else None,
    }


def advice_markdown(s: dict) -> str:
    n = s["scored"]
    text = [f"advised changes that lowered KID: {s['helped']}/{n}" + (f" ({s['helped'] / n:.0%})" if n else ""), ""]
    if s.get("budget_advice"):
        text += [f"not rerun: {len(s['budget_advice'])} runs whose first change asks for more steps or minutes", ""]
    if n:
        text += [f"median change: KID {s['median_kid_change']:+.3f}, class consistency {s['median_class_acc_change']:+.3f}", ""]
    text += ["| run | first finding | change | KID before -> after | class consistency before -> after |", "|---|---|---|---|---|"]
    for x in s["runs"]:
        kid = f"{x['kid_before']:.3f} -> {x['kid_after']:.3f}" if "helped" in x else "not scored"
        acc = f"{x['class_acc_before']:.3f} -> {x['class_acc_after']:.3f}" if "helped" in x else ""
        text.append(f"| {x['id']} | {x['finding']} | `{x['change']}` | {kid} | {acc} |")
    return "\n".join(text) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=OUT, help="where the small outputs and the score tables go")
    p.add_argument("--work", type=Path, default=None, help="scratch folder for the runs (deleted run by run); default: a temporary one")
    p.add_argument("--slice", type=int, default=None, metavar="N", help="only the first N runs of each label")
    p.add_argument("--only", default=None, help="only the labels in this comma-separated list")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (each on one thread)")
    p.add_argument("--no-eval", action="store_true", help="skip ganzoo eval (the quality-based findings then cannot be named)")
    p.add_argument("--list", action="store_true", help="print the runs and exit")
    p.add_argument("--advice", action="store_true", help="rerun the finished runs with the doctor's first change and score that")
    p.add_argument("--seeds", type=int, default=1, help="with --advice: only runs of seeds below this")
    args = p.parse_args(argv)
    runs = pick(plan(), args.slice)
    if args.only:
        runs = [r for r in runs if r.label in args.only.split(",")]
    if args.advice:
        runs = advice_runs(runs, args.out, args.seeds)
    if args.list:
        for r in runs:
            print(r.id, " ".join(f"{k}={v}" for k, v in r.env), " ".join(r.overrides))
        print(f"{len(runs)} runs")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="doctor-corpus-"))
    work.mkdir(parents=True, exist_ok=True)

    target = args.out / "advice" if args.advice else args.out

    def one(r: Run) -> dict:
        x = run_one(r, target, work, evaluate=not args.no_eval)
        print(f"{r.id}: {x.get('findings')} ({x.get('seconds_total')} s)", flush=True)
        return x

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = list(pool.map(one, runs))
    if args.advice:
        budget = [
            {"id": r.id, "label": r.label, "change": c}
            for r in pick(plan(), args.slice)
            if r.seed < args.seeds and (c := first_change(r, args.out)) is not None and asks_for_budget(c)
        ]
        scored = advice_score(runs, args.out, budget)
        (target / "advice.json").write_text(json.dumps(scored, indent=1))
        (target / "advice.md").write_text(advice_markdown(scored))
        print(advice_markdown(scored))
        return 0
    scores = score(results, runs)
    (args.out / "score.json").write_text(json.dumps(scores, indent=1))
    (args.out / "score.md").write_text(markdown(scores))
    print(markdown(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
