#!/usr/bin/env bash
# The data- and tensor-parallel figures of one machine, measured in one go:
# tokens/s of dp=2 and of tp=2 against one rank, the share of step time spent
# waiting on communication, and step time with the DP all-reduce overlapped
# with backward against after it. Each layout runs twice: as simulated ranks
# (threads of one process) and as MPI processes.
#
#   launch/bench-parallel.sh [--data DIR] [--steps N] [--batch B]
#
# DIR is a prepared language-model dataset whose vocabulary divides by 2
# (default: data/shakespeare-byte, prepared from tiny Shakespeare with the
# byte tokenizer when ../shared/data/tinyshakespeare.txt or $WEFT_CORPUS
# exists). Figures are medians over the steps after the first two.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
weft="${WEFT_BIN:-$root/build/weft}"
data="data/shakespeare-byte"
steps=12
batch=16
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench-parallel: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x "$weft" ]] || { echo "bench-parallel: $weft is not built; run launch/build.sh" >&2; exit 2; }
if [[ ! -d "$data" ]]; then
  corpus="${WEFT_CORPUS:-$root/../shared/data/tinyshakespeare.txt}"
  [[ -f "$corpus" ]] || { echo "bench-parallel: no dataset $data and no corpus $corpus" >&2; exit 2; }
  "$weft" prepare --input "$corpus" --tokenizer byte --out "$data" > /dev/null
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

model="--model.preset gpt-shakespeare-char --model.dropout 0 --data.dataset $data
  --data.batch_size $batch --data.seq_len 256 --train.steps $steps --train.eval_every 0
  --train.sample_every 0 --train.checkpoint_every 0 --log.every 1 --log.progress none
  --optim.warmup 2"

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# field of every train event after step 2 of a metrics file
field() { grep '"event":"train"' "$1" | tail -n +3 | grep -o "\"$2\":[-0-9.e+]*" | cut -d: -f2; }

run() {  # name, launcher (sim|mpi), ranks, extra options
  local name="$1" launcher="$2" ranks="$3"; shift 3
  local out="$work/$name"
  if [[ "$launcher" == mpi ]]; then
    mpirun -np "$ranks" --oversubscribe --bind-to none "$weft" train $model --train.out "$out" "$@" \
      > "$work/$name.log" 2>&1
  else
    "$weft" train $model --train.out "$out" --parallel.simulate_ranks "$ranks" "$@" \
      > "$work/$name.log" 2>&1
  fi || { echo "bench-parallel: $name failed:" >&2; tail -5 "$work/$name.log" >&2; exit 1; }
  local tok step wait
  tok=$(field "$out/metrics.jsonl" tokens_per_s | median)
  step=$(field "$out/metrics.jsonl" step_s | median)
  wait=$(field "$out/metrics.jsonl" comm_wait_s | median)
  printf '%-22s %10.0f tok/s   step %7.3f s   waiting on communication %5.1f%%\n' \
    "$name" "$tok" "$step" "$(awk -v w="$wait" -v s="$step" 'BEGIN {print 100 * w / s}')"
}

echo "weft bench-parallel: gpt-shakespeare-char, batch $batch x 256 tokens, $steps steps, $(nproc) cores"
run one-rank sim 1
for launcher in sim mpi; do
  run "dp2-$launcher" "$launcher" 2
  run "dp2-$launcher-no-overlap" "$launcher" 2 --parallel.overlap false
  run "tp2-$launcher" "$launcher" 2 --parallel.tp 2
done
