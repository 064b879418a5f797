"""Promise 8 (RELIABILITY.md): a long run does not leak memory.

A real ``ganzoo run`` process trains a small configuration while this test reads its resident set
size (``VmRSS`` in ``/proc/PID/status``) against its progress in ``metrics.jsonl``. The median RSS over
the last steps may be at most 10% above the median just after warm-up. Sample grids, loss plots and
checkpoints are written every few steps, so their code paths are soaked too.

Marked slow. CI runs 20 steps (warm-up 6); ``GANZOO_SLOW=full`` runs the promised 2,000 (warm-up 200).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

FULL = os.environ.get("GANZOO_SLOW") == "full"
STEPS, WARMUP, EVERY = (2000, 200, 100) if FULL else (20, 6, 5)  # warm-up includes the first plot and checkpoint
WINDOW = max(5, WARMUP // 4)  # steps whose RSS samples form each median
CONFIG = [
    "preset=wgan-gp-paper",
    "data=synthetic",
    "data.n=256",
    "data.size=16",
    "data.num_classes=4",
    "critic.width=4",
    "generator.base=32",
    "generator.z_dim=16",
    "train.batch_size=16",
    "train.n_critic=2",
    "train.progress=false",
    f"train.steps={STEPS}",
    f"train.sample_every={EVERY}",
    f"train.checkpoint_every={EVERY}",
]


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc (Linux)")
def test_resident_memory_stays_flat_after_warm_up(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("GANZOO_FAULT", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganzoo.cli", "run", *CONFIG, f"out={run_dir}"], env=env, stderr=subprocess.PIPE, text=True
    )
    metrics = run_dir / "metrics.jsonl"
    samples: list[tuple[int, int]] = []  # (completed steps, RSS in KiB)
    started = time.monotonic()
    while proc.poll() is None:
        rss = _rss_kib(proc.pid)
        steps = metrics.read_text().count("\n") if metrics.exists() else 0
        if rss is not None:
            samples.append((steps, rss))
        time.sleep(0.02)
    err = proc.stderr.read()
    assert proc.returncode == 0, err[-3000:]
    assert metrics.read_text().count("\n") == STEPS

    early = [r for s, r in samples if WARMUP <= s < WARMUP + WINDOW]
    late = [r for s, r in samples if STEPS - WINDOW <= s < STEPS]
    assert early and late, f"too few RSS samples ({len(samples)})"
    base, end = statistics.median(early), statistics.median(late)
    peak = max(r for s, r in samples if s >= WARMUP)
    growth = end / base - 1
    print(
        f"\nsoak: {STEPS} steps in {time.monotonic() - started:.0f} s; RSS after warm-up {base / 1024:.1f} MiB, "
        f"at the end {end / 1024:.1f} MiB ({growth:+.1%}), peak {peak / 1024:.1f} MiB"
    )
    assert growth < 0.10
