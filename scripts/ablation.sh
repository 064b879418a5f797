#!/usr/bin/env bash
# The seed notes' four ideas, one at a time, at a fixed CPU budget on mnist5k (the README's
# "Which of the seed's ideas help" table).
#
# Every run gets MINUTES minutes of training on ONE CPU thread (train.max_minutes), then is scored
# by `ganzoo eval` (1,000 samples). JOBS runs go at a time; with JOBS no larger than the core count
# each run has a core to itself, so the budget is the same for all of them.
#
#   scripts/ablation.sh                 # 5 minutes per run, 2 at a time: about 45 minutes on 2 cores
#   MINUTES=1 OUT=/tmp/abl scripts/ablation.sh
#   ROWS="default r3gan-small" scripts/ablation.sh   # only the named rows (the comparison shows those)
#
# The baseline is the seed preset at generator.base=64 (1.0M generator parameters instead of 6.6M,
# so that it takes more than a handful of steps in the budget); each other row changes one thing.
set -euo pipefail
MINUTES=${MINUTES:-5}
JOBS=${JOBS:-2}
OUT=${OUT:-ablation}
ROWS=${ROWS:-}
export OMP_NUM_THREADS=1

common="train.steps=1000000 train.max_minutes=$MINUTES train.eval_every=1000000 train.sample_every=0 train.checkpoint_every=0 train.progress=false"
seed_small="preset=seed generator.base=64"
# the seed's generator design as the resnet generator had it by default when these rows were first measured
seed_generator="generator.layout=seed generator.block=seed generator.labels_join=map generator.dropout=0.25 generator.z_dim=256 generator.encoder=embed_channel"
# A BatchNorm critic cannot take the gradient penalty (ganzoo refuses it: each score would depend on
# the rest of the batch), so LayerNorm vs BatchNorm is compared under weight clipping: rows
# "clip" and "clip-batchnorm" differ in the critic's norm only.
# The second group starts from the default recipe (which learns within the budget) and brings in
# one of the seed's ideas at a time.
# The rows after them bring in R3GAN's loss and penalty (loss=rpgan constraint=r1r2, each at its
# defaults): into the seed's parts, into the default recipe (whose BatchNorm critic cannot take a
# per-sample penalty, so with R3GAN's normalisation-free critic, and with LayerNorm as in
# "default-layernorm-gp"), and the whole r3gan-small preset.
names=(seed-small clip clip-batchnorm no-conditioning dcgan-generator critic-width-32 seed-full default
       default-layernorm default-layernorm-gp default-no-conditioning default-resnet-generator
       seed-rpgan-r1r2 default-rpgan-r1r2 default-layernorm-rpgan-r1r2 r3gan-small)
overrides=(
  "$seed_small"
  "$seed_small constraint=clip"
  "$seed_small constraint=clip critic.norm=batch"
  "$seed_small critic.encoder=none generator.encoder=none"
  "$seed_small generator=dcgan"
  "$seed_small critic.width=32"
  "preset=seed"
  ""
  "critic.norm=layer"
  "critic.norm=layer constraint=gp"
  "critic.encoder=none generator.encoder=none"
  "generator=resnet generator.base=64 $seed_generator"
  "$seed_small loss=rpgan constraint=r1r2"
  "critic.norm=none loss=rpgan constraint=r1r2"
  "critic.norm=layer loss=rpgan constraint=r1r2"
  "preset=r3gan-small"
)

for row in $ROWS; do  # a misspelt row name stops the script before anything runs
  if [[ " ${names[*]} " != *" $row "* ]]; then echo "ROWS: no row named '$row'; the rows are: ${names[*]}" >&2; exit 2; fi
done

mkdir -p "$OUT"
run_one() {
  local name=$1 args=$2
  if [[ -f "$OUT/$name/eval.json" ]]; then echo "$name: done already"; return; fi
  rm -rf "${OUT:?}/$name"
  # shellcheck disable=SC2086  # the overrides are meant to split into words
  ganzoo run out="$OUT/$name" $args $common > "$OUT/$name.log" 2>&1
  ganzoo eval "$OUT/$name" --n 1000 >> "$OUT/$name.log" 2>&1
  echo "$name: $(tail -n 1 "$OUT/$name.log")"
}

chosen=()
for i in "${!names[@]}"; do
  if [[ -n "$ROWS" && " $ROWS " != *" ${names[$i]} "* ]]; then continue; fi
  chosen+=("${names[$i]}")
  run_one "${names[$i]}" "${overrides[$i]}" &
  while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n; done
done
wait
ganzoo compare --markdown "${chosen[@]/#/$OUT/}"
