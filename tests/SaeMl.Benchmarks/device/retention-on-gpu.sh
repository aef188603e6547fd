#!/bin/bash
# Real-text faithfulness and training speed on a GPU, in one call of at most DEADLINE seconds (docs/gpu.md):
#   1. speed: SaeMl's training step against the same method written plainly in PyTorch (reference_sae.py), same GPU;
#   2. retention: SAEs trained on the real-text set at several settings at once (three processes share the GPU),
#      each first for 2 epochs to time an epoch, then for as many epochs as the time left allows (or, with EPOCHS set,
#      once for that many epochs); the GPU's memory in use is logged every 15 s.
# Usage: retention-on-gpu.sh APP_FOLDER DATA_FOLDER
#   APP_FOLDER   a trimmed SaeMl.Benchmarks publish made with TorchBackend=external (docs/gpu.md)
#   DATA_FOLDER  stores unpacked by pack_stores.py: corpus/, queries/, train-queries/, train-neighbors.ids.npy, test.tsv
# Everything is logged to $OUT/log.txt; the n = 4,096 models are saved to $OUT/models (the larger ones to /tmp).
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
START=$(date +%s)
DEADLINE=${DEADLINE:-540}
DEVICE=${DEVICE:-cuda}
SPEED=${SPEED---latents 16384,65536 --k 64 --steps 5}     # the speed phase's shapes (d = 768, B = 512, M = 16 by default); empty: no speed phase
EPOCHS=${EPOCHS:-}                                           # set: each setting trains this many epochs once, with no timing run
SETTINGS=${SETTINGS:-n=4096,k=32 n=4096,k=128 n=16384,k=32}
HERE=$(cd "$(dirname "$0")" && pwd)
APPDIR=$1
DATA=$2
elapsed() { echo $(( $(date +%s) - START )); }
sec() { echo; echo "===== [t+$(elapsed)s] $*"; }
if [ ! -e "$APPDIR/SaeMl.Benchmarks" ] || [ ! -e "$DATA/train-neighbors.ids.npy" ]; then
  echo "error: expected the publish in '$APPDIR' and the unpacked stores in '$DATA' (usage at the top of $0)"
  exit 2
fi
. "$HERE/torch-env.sh"
export TMPDIR=/tmp
BENCH=$APPDIR/SaeMl.Benchmarks
chmod +x "$BENCH"

if [ -n "$SPEED" ]; then
  sec "speed: SaeMl on $DEVICE"
  timeout -k 5 120 "$BENCH" sae-train $SPEED --device "$DEVICE"
  sec "speed: the same method in plain PyTorch on $DEVICE"
  timeout -k 5 120 env PYTHONUNBUFFERED=1 "$PY" "$HERE/reference_sae.py" $SPEED --device "$DEVICE"
fi

# retention NAME SAVE SETTING: one trained setting on the real-text set; the epoch lines go to stderr and /tmp/NAME.err
retention() {
  "$BENCH" retention --train-queries "$DATA/train-queries" --corpus "$DATA/corpus" --neighbors "$DATA/train-neighbors.ids.npy" \
    --queries "$DATA/queries" --qrels "$DATA/test.tsv" --save "$2" --run "$3" 2> >(tee -a "/tmp/$1.err" >&2)
}

# chain SETTING: 2 epochs, then as many as fit before the deadline (with a margin for the evaluation)
chain() {
  local setting="$1,device=$DEVICE" name=${1//[=,]/-} save=$OUT/models
  case "$1" in n=4096,*) ;; *) save=/tmp/models ;; esac     # n = 16,384 models are too large to come back
  if [ -n "$EPOCHS" ]; then retention "$name" "$save" "$setting,epochs=$EPOCHS"; return; fi
  retention "$name" "$save" "$setting,epochs=2"
  local first=$(grep -o 'epoch 2/2, [0-9]* s' "/tmp/$name.err" | tail -1 | grep -o '[0-9][0-9]*' | tail -1)
  local left=$(( DEADLINE - $(elapsed) - 75 ))
  if [ -z "$first" ] || [ "$left" -lt 30 ]; then echo "$name: no time left for a longer run"; return; fi
  local epochs=$(( left * 2 * 80 / (100 * (first > 0 ? first : 1)) ))
  epochs=$(( epochs > 400 ? 400 : epochs ))
  if [ "$epochs" -lt 4 ]; then echo "$name: only $epochs epochs would fit"; return; fi
  echo "$name: 2 epochs took ${first} s; $epochs epochs fit in the ${left} s left"
  timeout -k 5 $(( left + 45 )) bash -c "$(declare -f retention); BENCH='$BENCH' DATA='$DATA'; retention '$name' '$save' '$setting,epochs=$epochs'"
}

sec "retention on the real-text set: $SETTINGS, concurrently on $DEVICE"
(while sleep 15; do echo "[t+$(elapsed)s] GPU memory in use: $(nvidia-smi --query-gpu=memory.used --format=csv,noheader 2>/dev/null)"; done) &
monitor=$!
chains=""
for setting in $SETTINGS; do chain "$setting" & chains="$chains $!"; done
wait $chains
kill $monitor 2>/dev/null
sec "done"
ls -la "$OUT" "$OUT/models" 2>/dev/null
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv 2>/dev/null
