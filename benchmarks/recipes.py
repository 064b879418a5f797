"""The recipes against their quality targets, in fp32 and bf16 on several seeds, with the time to quality.

    python benchmarks/recipes.py                      # the design card's command and `ganzoo run`, 3 seeds x 2 precisions
    python benchmarks/recipes.py --recipes headline --seeds 0 --precisions fp32 --out /tmp/recipes

Each run is a plain `ganzoo run` of the recipe (a separate process, all cores) with quality scored
every --eval-every generator steps (500 images; the evaluations are included in its training clock),
then `ganzoo eval RUN --ci` (all held-out images, 95% bootstrap intervals). It prints a Markdown table
with each run's figures, its steps, training and wall time, when class consistency first reached 0.9
and 0.95, and whether the targets hold (class consistency >= 0.95, diversity >= 0.9, FD <= 3x the
floor; README, "The seed's model, repaired"); then draws class consistency against training minutes
for every run (--plot). Finished runs in --out are scored again, not retrained. Not a test: it
takes about an hour and a half on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

RECIPES = {
    "headline": ["critic=layernorm_cond", "generator=resnet", "constraint=gp"],  # the design card's command
    "default": [],  # `ganzoo run` with no arguments
}
TARGETS = {"class_acc": 0.95, "diversity": 0.9}
FD_TARGET = 3.0


def ganzoo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo.cli", *args], capture_output=True, text=True)


def first_reached(records: list[dict], level: float) -> tuple[int, float] | None:
    """(step, training seconds) of the first evaluation whose class consistency reached ``level``."""
    times = {r["step"]: r["time"] for r in records if "time" in r}
    return next(((r["step"], times.get(r["step"], 0.0)) for r in records if isinstance(r.get("eval"), dict) and r["eval"]["class_acc"] >= level), None)


def run_one(out: Path, recipe: str, precision: str, seed: int, eval_every: int) -> dict:
    run = out / f"{recipe}-{precision}-s{seed}"
    wall = None
    if not (run / "eval.json").is_file() or not list((run / "checkpoints").glob("step-*")):
        started = time.perf_counter()
        done = ganzoo("run", *RECIPES[recipe], f"seed={seed}", f"train.precision={precision}", f"train.eval_every={eval_every}",
                      "train.progress=false", f"out={run}")
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{run}: ganzoo run failed:\n{done.stderr[-3000:]}")
        (run / "wall_seconds.txt").write_text(f"{wall:.1f}\n")
    elif (run / "wall_seconds.txt").is_file():
        wall = float((run / "wall_seconds.txt").read_text())
    scored = ganzoo("eval", str(run), "--ci", "--json")
    if scored.returncode != 0:
        raise SystemExit(f"{run}: ganzoo eval failed:\n{scored.stderr[-3000:]}")
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [r for r in records if "loss_d" in r]
    return {"run": run, "recipe": recipe, "precision": precision, "seed": seed, "score": json.loads(scored.stdout), "records": records,
            "steps": steps[-1]["step"], "seconds": steps[-1]["time"], "wall": wall,
            "at_0.9": first_reached(records, 0.9), "at_0.95": first_reached(records, 0.95)}


def row(r: dict) -> str:
    s, ci = r["score"], r["score"].get("ci", {})
    fig = lambda k, f: f.format(s[k]) + (f" [{f.format(ci[k][0])}, {f.format(ci[k][1])}]" if ci.get(k) else "")  # noqa: E731
    when = lambda hit: "-" if hit is None else f"step {hit[0]:,}, {hit[1] / 60:.1f} min"  # noqa: E731
    ok = all(s[k] >= v for k, v in TARGETS.items()) and s["fd_ratio"] <= FD_TARGET
    wall = "-" if r["wall"] is None else f"{r['wall'] / 60:.1f} min"
    return (f"| {r['recipe']} | {r['precision']} | {r['seed']} | {fig('class_acc', '{:.3f}')} | {fig('diversity', '{:.2f}')} | "
            f"{fig('fd_ratio', '{:.2f}')} | {fig('kid', '{:.3f}')} | {fig('precision', '{:.3f}')} | {fig('recall', '{:.3f}')} | "
            f"{r['steps']:,} | {r['seconds'] / 60:.1f} min | {wall} | "
            f"{when(r['at_0.9'])} | {when(r['at_0.95'])} | {'yes' if ok else '**no**'} |")


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    colours = {"headline": "tab:blue", "default": "tab:orange"}
    for r in results:
        times = {x["step"]: x["time"] for x in r["records"] if "time" in x}
        curve = [(times.get(x["step"], 0.0) / 60, x["eval"]["class_acc"]) for x in r["records"] if isinstance(x.get("eval"), dict)]
        ax.plot(*zip(*curve), color=colours.get(r["recipe"], "grey"), linestyle="-" if r["precision"] == "bf16" else "--", alpha=0.8,
                label=f"{r['recipe']} {r['precision']}" if r["seed"] == results[0]["seed"] else None)
    for level in (0.9, 0.95):
        ax.axhline(level, color="black", linewidth=0.5, linestyle=":")
    ax.set_xlabel("training minutes (2-core CPU, evaluations included)")
    ax.set_ylabel("class consistency (500 samples)")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("time to quality: the design card's command (headline) and ganzoo run (default)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default="headline,default")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--out", default="recipes")
    parser.add_argument("--plot", default=None, help="write the time-to-quality plot to this PNG")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for recipe in args.recipes.split(","):
        for precision in args.precisions.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                results.append(run_one(out, recipe, precision, seed, args.eval_every))
                print(row(results[-1]), flush=True)
    print("\n| recipe | precision | seed | class consistency | diversity | FD / floor | KID | precision | recall | steps | training | wall "
          "| class consistency 0.9 | 0.95 | targets met |")
    print("|---" * 15 + "|")
    print("\n".join(row(r) for r in results))
    if args.plot:
        plot(results, Path(args.plot))


if __name__ == "__main__":
    main()
