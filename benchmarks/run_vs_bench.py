"""Does the run loop add anything? ``ganzoo run``'s generator steps/s against ``ganzoo bench``'s
for the same configuration, alternating in one process.

    python benchmarks/run_vs_bench.py [--rounds 3] [--steps-default 200] [--steps-penalty 20]

Each round times, for each configuration:
- bench: ``--steps`` generator steps through :class:`ganzoo.bench.measure.Setup` (what
  ``ganzoo bench`` times: the critic and generator phases, nothing else);
- run: a ``ganzoo run`` of the same configuration and ``train.steps`` in a temporary folder, with
  everything a run does (NaN guard snapshot, the doctor's evidence, the metrics line read back and
  written, sample grids every 100 steps, the progress bar off); its steps/s is ``train.steps``
  over the training time recorded in its last ``metrics.jsonl`` line.

It prints each round's ratio run / bench and their median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from ganzoo.bench.measure import Setup
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost
from ganzoo.runs.launch import start
from ganzoo.storage.folder import read_metrics
from ganzoo.training.progress import PlainReporter

CONFIGS = {
    "default": [],
    "penalty (seed parts, gp, generator.base=64)": ["preset=wgan-gp-paper", "generator.base=64"],
}


def bench_rate(overrides: list[str], host: PluginHost, steps: int) -> float:
    setup = Setup(resolve([*overrides, "train.progress=false"], host), host)
    setup.generator_step()  # warm-up, as ganzoo bench
    t0 = time.perf_counter()
    for _ in range(steps):
        setup.generator_step()
    return steps / (time.perf_counter() - t0)


def run_rate(overrides: list[str], host: PluginHost, steps: int) -> float:
    with tempfile.TemporaryDirectory(prefix="ganzoo-rvb-") as tmp:
        run = Path(tmp) / "run"
        start([*overrides, f"train.steps={steps + 1}", "train.progress=false", "train.checkpoint_every=0", f"out={run}"], host, PlainReporter(quiet=True))
        lines = [r for r in read_metrics(run / "metrics.jsonl") if "time" in r and "loss_d" in r]
    # steps 2.. (step 1 is the warm-up, as in bench): their count over the time they took
    return (lines[-1]["step"] - lines[0]["step"]) / (lines[-1]["time"] - lines[0]["time"])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps-default", type=int, default=200)
    ap.add_argument("--steps-penalty", type=int, default=20)
    args = ap.parse_args(argv)
    host = PluginHost(entry_points=[])
    print(f"{torch.get_num_threads()} threads, {args.rounds} rounds, bench and run alternating")
    for (name, overrides), steps in zip(CONFIGS.items(), (args.steps_default, args.steps_penalty)):
        ratios, runs, benches = [], [], []
        for r in range(args.rounds):
            b = bench_rate(overrides, host, steps)
            u = run_rate(overrides, host, steps)
            benches.append(b), runs.append(u), ratios.append(u / b)
            print(f"  {name} round {r + 1}: bench {b:.3f} steps/s, run {u:.3f} steps/s, run/bench {u / b:.3f}", flush=True)
        print(f"{name}: bench {statistics.median(benches):.3f}, run {statistics.median(runs):.3f} steps/s (medians); "
              f"run/bench per round {', '.join(f'{x:.3f}' for x in ratios)}, median {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
