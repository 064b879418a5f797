"""The README's main job: ``ganzoo run`` on the embedded mnist5k, then ``ganzoo sample``.

Marked slow. CI runs it reduced (2 steps); ``GANZOO_SLOW=full`` runs the acceptance size (50 steps).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

FULL = os.environ.get("GANZOO_SLOW") == "full"
STEPS = 50 if FULL else 2


@pytest.mark.slow
def test_ganzoo_run_on_mnist5k_then_sample(tmp_path):
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "ganzoo.cli", "run", f"train.steps={STEPS}", f"out={run_dir}", "train.progress=false"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["data"]["name"] == "mnist5k" and config["data"]["num_classes"] == 10
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == STEPS
    assert (run_dir / "loss.png").is_file() and list((run_dir / "samples").glob("step-*.png"))
    assert list((run_dir / "checkpoints").glob("step-*/weights.safetensors"))

    out = tmp_path / "samples.npz"
    proc = subprocess.run(
        [sys.executable, "-m", "ganzoo.cli", "sample", str(run_dir), "--per-class", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data = np.load(out)
    assert data["images"].shape == (30, 1, 28, 28) and data["images"].dtype == np.uint8
    assert sorted(set(data["labels"].tolist())) == list(range(10))
