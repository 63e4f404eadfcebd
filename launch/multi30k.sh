#!/usr/bin/env bash
# Multi30k English -> German from scratch, the whole recipe:
#   1. prepare: a joint SentencePiece vocabulary of 8000 over both sides of
#      DATA_DIR/train.{en,de}, held-out DATA_DIR/val.{en,de}, into RUN_DIR/data
#      (kept when it is there already);
#   2. train configs/multi30k.ini into RUN_DIR (checkpoints, metrics.jsonl);
#   3. average the last 5 checkpoints into RUN_DIR/averaged;
#   4. translate DATA_DIR/test_2016_flickr.en with beam 5 into
#      RUN_DIR/test_2016_flickr.hyp.de and print its BLEU and chrF2 against
#      DATA_DIR/test_2016_flickr.de, as sacreBLEU computes them.
#
#   launch/multi30k.sh DATA_DIR RUN_DIR [weft train options...]
#
# Options after RUN_DIR go to `weft train` (e.g. --train.epochs 10, or
# --train.resume to continue a stopped run). WEFT_BUILD_DIR (default build)
# holds weft; threads: OMP_NUM_THREADS (default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 2 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  [[ $# -ge 2 ]] && exit 0 || exit 2
fi
data=$1
run=$2
shift 2
weft=${WEFT_BUILD_DIR:-build}/weft
if [[ ! -x "$weft" ]]; then
  echo "multi30k.sh: $weft is missing; build first (./launch/build.sh)" >&2
  exit 2
fi
for f in train.en train.de val.en val.de test_2016_flickr.en test_2016_flickr.de; do
  if [[ ! -f "$data/$f" ]]; then
    echo "multi30k.sh: $data/$f is missing; DATA_DIR must hold Multi30k's train, val and test_2016_flickr files" >&2
    exit 2
  fi
done
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
mkdir -p "$run"

if [[ ! -f "$run/data/meta.json" ]]; then
  echo "== prepare: $run/data"
  "$weft" prepare --source "$data/train.en" --target "$data/train.de" \
    --val-source "$data/val.en" --val-target "$data/val.de" \
    --tokenizer sentencepiece --vocab-size 8000 --out "$run/data" > "$run/prepare.log"
fi

echo "== train: $run (log: $run/train.log)"
"$weft" train --config configs/multi30k.ini --data.dataset "$run/data" --train.out "$run" "$@" \
  2>&1 | tee "$run/train.log"

echo "== average the last 5 checkpoints: $run/averaged"
rm -rf "$run/averaged"
"$weft" average --checkpoint "$run" --last 5 --out "$run/averaged"

echo "== test_2016_flickr, beam 5: $run/test_2016_flickr.hyp.de"
"$weft" eval --checkpoint "$run/averaged" --source "$data/test_2016_flickr.en" \
  --reference "$data/test_2016_flickr.de" --beam 5 --output "$run/test_2016_flickr.hyp.de" \
  | tee "$run/test_2016_flickr.score"
