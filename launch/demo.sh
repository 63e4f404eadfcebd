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
echo "demo: translating numbers the model never saw in training"
printf '%s\n' 7 42 1984 31337 250000 908070 | tee /tmp/weft-demo-input.txt \
  | ./build/weft translate --checkpoint "$run" --beam 4 --max-extra 100 | paste /tmp/weft-demo-input.txt - \
  | sed 's/\t/  ->  /'
echo
./build/weft eval --checkpoint "$run" --beam 1 --max-extra 100
