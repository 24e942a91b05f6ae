#!/usr/bin/env bash
# Trains the release weights on one GPU (general with the ablation's rows at once, then faces) and times
# the network there.
# Run from the repository root through the device tool; results go to $OUT as one .tar per run.
#   DATA_TAR: packed data (tools/pack_data.py, then tar); LITE0: the ImageNet Lite0 checkpoint;
#   MINUTES: training time per run.
set -u
OUT=${OUT:-/tmp/gpu-out}; DATA_TAR=${DATA_TAR:-.gpu/data.tar.gz}; MINUTES=${MINUTES:-6}
WORK=/tmp/colorplug-gpu; mkdir -p "$OUT" "$WORK/shim" "$WORK/runs"
ln -sfn "$PWD/cli" "$WORK/shim/colorplug_cli"; ln -sfn "$PWD/weights" "$WORK/shim/colorplug_weights"
export PYTHONPATH="$PWD:$WORK/shim" PYTHONUNBUFFERED=1 COLORPLUG_HOME="$WORK/home"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/gpu.log"; }
log "$(nvidia-smi -L 2>&1 | head -1); $(python3 -c 'import torch, PIL; from PIL import features; print("torch", torch.__version__, "pillow", PIL.__version__, "webp", features.check("webp"))')"
tar -xf "$DATA_TAR" -C "$WORK" && log "data: $(ls "$WORK/data" | tr '\n' ' ')"
D=$WORK/data

log "network throughput (issue 5)"
python3 benchmarks/network_throughput.py --device cuda --seconds 1.5 2>&1 | tee -a "$OUT/gpu.log"

log "DDP smoke run: torchrun, nccl, world size 1 (issue 7)"
timeout 120 torchrun --standalone --nproc_per_node 1 -m colorplug_cli.main train "$D/fruits" --out "$WORK/runs/ddp" \
  --name ddp --width 0.25 --image-size 64 --batch-size 64 --epochs 2 --limit 2048 --workers 4 -q 2>&1 | tail -5 | tee -a "$OUT/gpu.log"
cat "$WORK/runs/ddp/log.csv" >> "$OUT/gpu.log" 2>/dev/null
python3 -c "import json; e=json.load(open('$WORK/runs/ddp/manifest_entry.json')); print('ddp hardware:', e['hardware'], 'ranks', e['recipe']['ranks'])" 2>&1 | tee -a "$OUT/gpu.log"

# The default network's recipe (README, "Training your own"): the ImageNet Lite0 checkpoint travels beside the
# data (checked by sha256 before use).
export COLORPLUG_LITE0_WEIGHTS=${LITE0:-.gpu/efficientnet-lite0-57934424.pth}
common=(--arch lite0-unet --image-size 160 --batch-size 64 --schedule cosine --ema 0.999
        --epochs 1000 --time-limit "$MINUTES" --workers 3 -q)
blend=(--loss blend --rebalance 0.5 --l1-weight 10)
train() {  # name data-folder license extra-options...
  local name=$1 data=$2 license=$3; shift 3
  OMP_NUM_THREADS=3 python3 -m colorplug_cli.main train "$data" --out "$WORK/runs/$name" --name "$name" \
    --data-license "$license" "${common[@]}" "$@" > "$WORK/runs/$name.out" 2>&1
  log "$name finished rc=$? $(tail -c 300 "$WORK/runs/$name.out" | tr '\r' '\n' | tail -1)"
  tar -cf "$OUT/$name.tar" -C "$WORK/runs" "$name/$name.pt" "$name/manifest_entry.json" "$name/log.csv" "$name.out"
}
research="research use only (ImageNet / Kaggle research terms / CamVid research use); encoder from Google's EfficientNet-Lite0 ImageNet checkpoint (Apache-2.0)"
log "training general and the ablation's rows in parallel, $MINUTES min each, then faces from general"
train general "$D/general" "$research" "${blend[@]}" --hints &
train abl-l1 "$D/general" "$research" --loss l1 &
train abl-ce "$D/general" "$research" --loss ce --rebalance 0.5 &
train abl-scratch "$D/general" "$research" "${blend[@]}" --encoder-init random &
( while sleep 30; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> "$OUT/gpu.log"; done ) &
watcher=$!
wait %1 %2 %3 %4
train faces "$D/faces" "UTKFace: non-commercial research only; encoder as general's" "${blend[@]}" --hints \
  --init-from "$WORK/runs/general/general.pt"
kill $watcher 2>/dev/null
log "done"; ls -la "$OUT"
