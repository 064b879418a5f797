#!/usr/bin/env bash
# The prepared GPU bench: run once on a machine with a CUDA GPU, then copy the numbers (and the
# card's name, printed in each table's caption and stored in the JSON) into the README.
#   bash benchmarks/gpu.sh OUT_DIR
set -euo pipefail
out="${1:-gpu-bench}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
# Seed preset images/s and the engine/reference ratio (fp32, alternating in one process).
ganzoo bench --vs-reference train.device=cuda --rounds 10 --warmup 2 --json "$out/vs_reference.json"
# The seed preset at each precision, and the engine's features one at a time.
ganzoo bench preset=seed train.device=cuda --matrix train.precision=fp32,bf16,fp16 --rounds 10 --warmup 2 --json "$out/precision.json"
ganzoo bench preset=seed train.device=cuda --matrix train.fused=true,false train.channels_last=true,false --rounds 10 --warmup 2 --json "$out/features.json"
# torch.compile, with a constraint that needs no double backward.
ganzoo bench preset=seed constraint=clip train.device=cuda --matrix train.compile=false,true --rounds 10 --warmup 3 --json "$out/compile.json"
