"""The `default` preset learns a conditional model of mnist5k, scored by `ganzoo eval`.

Marked slow. CI runs it reduced: 300 generator steps on one thread, where this test measured
class consistency 0.42, diversity 1.17 and a Fréchet distance 10.9x the floor with the earlier,
hand-found recipe. The thresholds sit under that and far from what a recipe that learns nothing
scores (chance 0.1, and 60-80x the floor in the README's ablation).
``GANZOO_SLOW=full`` runs the README's command, the whole `ganzoo run`, and checks the raised
quality targets: class consistency >= 0.97, diversity >= 0.9, Fréchet distance within 3x the
real-vs-real floor. They were met in bf16, which `train.precision=auto` picks on a CPU with
avx512_bf16 or AMX; in fp32 one seed scored 0.953 and 3.46x (README), so this full check fails on a
CPU without native bf16. It prints the wall time; speed itself is measured by `ganzoo bench`, not
asserted in a test.
"""

import json
import os
import subprocess
import sys
import time

import pytest

FULL = os.environ.get("GANZOO_SLOW") == "full"


@pytest.mark.slow
def test_default_recipe_learns_conditional_digits(tmp_path, mnist5k_cache):
    env = {**os.environ, "GANZOO_CACHE": str(mnist5k_cache)}  # the session's mnist5k evaluator
    if FULL:
        env.pop("OMP_NUM_THREADS", None)  # the README's command runs with torch's own thread count
    run_dir = tmp_path / "run"
    steps = [] if FULL else ["train.steps=300"]
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ganzoo.cli", "run", *steps, f"out={run_dir}", "train.progress=false"],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    wall = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "ganzoo.cli", "eval", str(run_dir), "--json"], capture_output=True, text=True, env=env, timeout=1800
    )
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)
    print("default recipe:", {k: scores[k] for k in ("class_acc", "diversity", "fd_ratio")}, f"run {wall:.0f} s")
    assert scores["evaluator_acc"] > 0.9
    if FULL:
        assert scores["class_acc"] >= 0.97 and scores["diversity"] >= 0.9 and scores["fd_ratio"] <= 3, scores
    else:
        assert scores["class_acc"] >= 0.25 and scores["diversity"] >= 0.5 and scores["fd_ratio"] <= 20, scores
