#!/usr/bin/env bash
# From a fresh clone: install what is missing, build, train the built-in
# default (an encoder-decoder learning to write numbers in English words),
# then show its translations and the exact-match accuracy on held-out numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
./launch/install-deps.sh
./launch/build.sh -DWEFT_BUILD_TESTS=OFF

run=runs/demo
if [ -d "$run/checkpoints" ]; then
  echo "demo: $run already holds a trained model; remove it to train again"
else
  ./build/weft train --train.out "$run"
fi

echo
echo "demo: a few translations (beam search, 4 beams)"
numbers=$(mktemp)
trap 'rm -f "$numbers"' EXIT
printf '%s\n' 7 42 1984 31337 250000 908070 > "$numbers"
./build/weft translate --checkpoint "$run" --beam 4 --max-extra 100 --input "$numbers" \
  | paste "$numbers" - | sed 's/\t/  ->  /'
echo
echo "demo: accuracy on 500 held-out numbers, none of which occurs in training"
./build/weft eval --checkpoint "$run" --beam 1 --max-extra 100
