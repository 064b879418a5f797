#!/usr/bin/env bash
# The prepared GPU bench, one command that prints every GPU figure the README asks for:
#   1. the seed preset through the engine against the seed notes' loop (fp32, alternating rounds);
#   2. the default preset in fp32, bf16 and auto (auto picks bf16 on GPUs that compute it);
#   3. 1 process against every GPU of the machine (torchrun), the same global batch.
# Run it once on a machine with CUDA GPUs, then copy the tables (the card's name is in each caption
# and in the JSON files) into the README. It keeps the rounds small so it finishes in under
# 8 minutes on one GPU; ROUNDS=10 gives steadier medians when there is time.
#   bash benchmarks/gpu.sh [OUT_DIR]
set -euo pipefail
out="${1:-gpu-bench}"
rounds="${ROUNDS:-5}"
mkdir -p "$out"
export GANZOO_DISABLE_PLUGIN_AUTOLOAD=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
gpus=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l)
ganzoo bench --vs-reference train.device=cuda --rounds "$rounds" --warmup 2 --json "$out/vs_reference.json"
ganzoo bench train.device=cuda --matrix train.precision=fp32,bf16,auto --rounds "$rounds" --warmup 2 --json "$out/default_precision.json"
if [ "$gpus" -gt 1 ]; then
    ganzoo bench train.device=cuda train.batch_size=256 --procs "1,$gpus" --rounds "$rounds" --json "$out/procs.json"
else
    echo "one GPU: the 1-vs-N-process figure needs at least two (scripts/gpu_check_ddp.sh checks the torchrun path on one)"
fi
