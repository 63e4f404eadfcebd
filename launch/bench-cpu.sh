#!/usr/bin/env bash
# The CPU figures of one machine, interleaved in one run so that they share
# its state (clocks, other load): the 6x384 GPT (gpt-shakespeare-char,
# context 256) at batch 8 and 64, each round
#   1. weft bf16 (oneDNN matmul; MFU against a bf16 GEMM timed in the run),
#   2. PyTorch bf16 autocast, eager, the same model (launch/pytorch_gpt2.py;
#      skipped, and said, without torch),
#   3. weft fp32 (MFU against an f32 GEMM timed in the run),
#   4. PyTorch fp32, eager (f32 GEMMs kept in f32),
# then a transformer-base translation step (batch 8 x 64) in bf16 and fp32,
# and a summary of the ratios. Threads: OMP_NUM_THREADS (default: every core).
#
#   launch/bench-cpu.sh [--rounds N] [--steps N]
#
# WEFT_BUILD_DIR (default build) holds weft; PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=2
steps=5
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-cpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
weft=${WEFT_BUILD_DIR:-build}/weft
if [[ ! -x "$weft" ]]; then
  echo "bench-cpu.sh: $weft is missing; build first (./launch/build.sh)" >&2
  exit 2
fi
python=${PYTHON:-python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
shape=(--layers 6 --d-model 384 --heads 6 --vocab 65 --seq 256 --dropout 0.2)

declare -A sum count
# Records a tokens/s figure under a name, for the summary's means.
record() {
  sum[$1]=$(echo "${sum[$1]:-0} + $2" | bc -l)
  count[$1]=$(( ${count[$1]:-0} + 1 ))
}
weft_run() {  # name, bench options...
  local name=$1 line out
  shift
  out=$("$weft" bench --device cpu --steps "$steps" "$@")
  grep -E '^(peak|training):' <<<"$out"
  line=$(grep '^training:' <<<"$out")
  record "$name" "$(sed -E 's/.*: ([0-9.]+) tokens\/s.*/\1/' <<<"$line")"
}
torch_run() {  # name, script options...
  local name=$1 line
  shift
  line=$("$python" launch/pytorch_gpt2.py --device cpu --steps "$steps" --warmup 1 "${shape[@]}" "$@" \
         2>/dev/null | tail -1)
  echo "$line"
  if [[ "$line" == *tokens_per_s=* ]]; then
    record "$name" "$(sed -E 's/.*tokens_per_s=([0-9.]+).*/\1/' <<<"$line")"
  fi
}

for batch in 8 64; do
  for ((r = 1; r <= rounds; ++r)); do
    echo "== batch $batch, round $r ($OMP_NUM_THREADS threads)"
    weft_run "weft bf16 b$batch" --precision bf16 --batch "$batch"
    torch_run "pytorch bf16 b$batch" --precision bf16 --batch "$batch"
    weft_run "weft fp32 b$batch" --precision fp32 --batch "$batch"
    torch_run "pytorch fp32 b$batch" --precision fp32 --batch "$batch"
  done
done
echo "== translation step: transformer-base, batch 8 x 64"
weft_run "weft bf16 translation" --model transformer-base --precision bf16 --batch 8 --seq 64
weft_run "weft fp32 translation" --model transformer-base --precision fp32 --batch 8 --seq 64

mean() { echo "scale=0; ${sum[$1]} / ${count[$1]}" | bc -l; }
echo "== summary: mean tokens/s"
for key in "${!sum[@]}"; do echo "$key: $(mean "$key")"; done | sort
for batch in 8 64; do
  b="weft bf16 b$batch"
  if [[ -n "${sum["pytorch bf16 b$batch"]:-}" ]]; then
    echo "batch $batch: weft bf16 / PyTorch bf16 autocast = $(echo "scale=2; $(mean "$b") / $(mean "pytorch bf16 b$batch")" | bc -l)"
  fi
  echo "batch $batch: weft bf16 / weft fp32 = $(echo "scale=2; $(mean "$b") / $(mean "weft fp32 b$batch")" | bc -l)"
done
echo "translation: weft bf16 / weft fp32 = $(echo "scale=2; $(mean "weft bf16 translation") / $(mean "weft fp32 translation")" | bc -l)"
