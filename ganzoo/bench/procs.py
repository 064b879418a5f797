"""1- vs N-process training throughput under torchrun, for ``ganzoo bench --procs`` (informational on a small CPU).

Each measurement launches ``torchrun --standalone --nproc_per_node=N -m ganzoo.cli run ...`` on a
temporary run directory and reads the rank-0 ``time`` column of ``metrics.jsonl``, skipping the
first ``warmup`` steps, so process start-up and the first-step setup are not counted. The global
batch (``train.batch_size``) stays the same for every N: more processes share the same work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ganzoo.errors import GanzooError
from ganzoo.registry.overrides import merged


def throughput(nprocs: int, overrides: list[str], steps: int = 12, warmup: int = 2, timeout: float = 600) -> dict:
    """Generator steps/s and real images/s of one ``ganzoo run`` on ``nprocs`` processes."""
    if steps <= warmup:
        raise GanzooError(f"steps ({steps}) must exceed warmup ({warmup}).")
    with tempfile.TemporaryDirectory(prefix="ganzoo-distbench-") as tmp:
        out = Path(tmp) / "run"
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nprocs}",
            "-m",
            "ganzoo.cli",
            "run",
            *merged(
                overrides,
                [f"train.steps={steps}", "train.progress=false", "train.sample_every=0", "train.checkpoint_every=0", f"out={out}"],
            ),
        ]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
        )
        if proc.returncode != 0:
            raise GanzooError(f"The {nprocs}-process benchmark run failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        config = json.loads((out / "config.json").read_text())["config"]["train"]
    timed = [r for r in records if "time" in r]
    seconds = timed[-1]["time"] - timed[warmup - 1]["time"]
    rate = (len(timed) - warmup) / seconds
    return {
        "procs": nprocs,
        "steps_per_s": rate,
        "images_per_s": rate * config["batch_size"] * config["n_critic"],
        "global_batch": config["batch_size"],
    }


def compare(overrides: list[str], procs: tuple[int, ...] = (1, 2), steps: int = 12, warmup: int = 2) -> list[dict]:
    """:func:`throughput` for each process count, with ``speedup`` relative to the first."""
    rows = [throughput(n, overrides, steps, warmup) for n in procs]
    for row in rows:
        row["speedup"] = row["steps_per_s"] / rows[0]["steps_per_s"]
    return rows


if __name__ == "__main__":  # python -m ganzoo.bench.procs [key=value ...]
    for row in compare(sys.argv[1:]):
        print(
            f"{row['procs']} process(es): {row['steps_per_s']:.2f} steps/s, {row['images_per_s']:.0f} real images/s, x{row['speedup']:.2f}"
        )
