#!/usr/bin/env bash
# 1-GPU check of the data-parallel code path (issue 7): the same tiny run under
# `torchrun --standalone --nproc_per_node=1` (nccl process group, LOCAL_RANK device, hand-averaged
# gradients) and as a plain single process; the final weights must agree within float tolerance.
# Usage: scripts/gpu_check_ddp.sh [OUT_DIR]   (needs a CUDA GPU; about a minute)
set -euo pipefail
OUT="${1:-${OUT:-/tmp/ganzoo-gpu-check}}"
mkdir -p "$OUT"
PY="${PYTHON:-python}"
export GANZOO_DISABLE_PLUGIN_AUTOLOAD=1 GANZOO_DIST_TIMEOUT=120
DEVICE="${DEVICE:-cuda}" STEPS="${STEPS:-20}"   # DEVICE=cpu STEPS=2: a dry run of this script without a GPU
ARGS=(data=synthetic data.n=512 data.size=28 data.num_classes=10 generator.norm=layer
      train.device=$DEVICE train.steps=$STEPS train.batch_size=64 train.progress=false train.sample_every=0)
"$PY" -c "import sys, torch; ok = torch.cuda.is_available(); assert ok or sys.argv[1] == 'cpu', 'no CUDA GPU'; print(torch.__version__, torch.cuda.get_device_name(0) if ok else 'cpu')" "$DEVICE" | tee "$OUT/device.txt"
rm -rf "$OUT/single" "$OUT/torchrun"
"$PY" -m ganzoo.cli run "${ARGS[@]}" out="$OUT/single" 2> "$OUT/single.log" || { tail -40 "$OUT/single.log"; exit 1; }
"$PY" -m torch.distributed.run --standalone --nproc_per_node=1 -m ganzoo.cli run "${ARGS[@]}" out="$OUT/torchrun" \
    2> "$OUT/torchrun.log" || { tail -40 "$OUT/torchrun.log"; exit 1; }
"$PY" - "$OUT" "$STEPS" <<'PYEOF' | tee "$OUT/result.txt"
import json, sys
from pathlib import Path
import torch
from ganzoo.storage import checkpoint
out = Path(sys.argv[1])
a, sa, _ = checkpoint.load(checkpoint.list_checkpoints(out / "single" / "checkpoints")[-1])
b, sb, _ = checkpoint.load(checkpoint.list_checkpoints(out / "torchrun" / "checkpoints")[-1])
steps = int(sys.argv[2])
assert sa["step"] == sb["step"] == steps and sb["world_size"] == 1, (sa["step"], sb["step"], sb.get("world_size"))
worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())
rate = lambda run: [json.loads(l) for l in (out / run / "metrics.jsonl").read_text().splitlines()][-1]["time"]
print(f"max |single - torchrun| weight difference after {steps} steps: {worst:.3e}")
print(f"training seconds: single {rate('single'):.2f}, torchrun(1 process) {rate('torchrun'):.2f}")
assert worst < 1e-3, "the torchrun code path diverged from the single-process run"
print("OK")
PYEOF
