#!/usr/bin/env bash
# Translation training throughput of one machine, weft against PyTorch,
# interleaved in one run so that both share its state (clocks, other load):
# configs/multi30k.ini's Transformer (3 + 3 post-norm layers, 384 wide, shared
# vocabulary, token budgets of data.max_tokens) on a dataset `weft prepare`
# made. Each round, for each precision asked:
#   1. `weft train --config configs/multi30k.ini` for warm-up + timed steps
#      (no evaluation, samples or intermediate checkpoints; stopped once its
#      last step is logged, so its closing checkpoint and held-out
#      translation report cost no time); tokens/s over the timed steps from
#      its metrics.jsonl: their counted target tokens over their step_s;
#   2. launch/pytorch_translation.py: the same model, on the same batches in
#      the same order (weft's token-budget plan for train.seed 1337), steps
#      timed as weft's (skipped, and said, without torch).
# Both skip the first --warmup-steps steps (allocation, first-touch) and time
# the --steps after them: the same batches on both sides. tokens/s counts
# targets that carry loss (sentence tokens + EOS), as weft's tok/s does. Then
# a summary: the mean tokens/s of each and the ratio weft / PyTorch.
# Threads: OMP_NUM_THREADS (default: every core), passed to both.
#
#   launch/bench-translation.sh DATA_DIR [--rounds N] [--steps N]
#       [--warmup-steps N] [--precision fp32|bf16|both] [--max-tokens N]
#
# e.g. launch/bench-translation.sh runs/multi30k/data --rounds 3 --steps 30
# (fp32 is the default; bf16 is weft's bf16 training against PyTorch's CPU
# bf16 autocast.) WEFT_BUILD_DIR (default build) holds weft; PYTHON picks the
# interpreter with torch.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
data=""
rounds=2
steps=20
warmup=3
precision=fp32
max_tokens=4096
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --warmup-steps) warmup="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    --max-tokens) max_tokens="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "bench-translation.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) data="$1"; shift ;;
  esac
done
case "$precision" in
  fp32|bf16) precisions=("$precision") ;;
  both) precisions=(fp32 bf16) ;;
  *) echo "bench-translation.sh: --precision is fp32, bf16 or both, got $precision" >&2; exit 2 ;;
esac
if [[ -z "$data" || ! -f "$data/meta.json" ]]; then
  echo "bench-translation.sh: give a dataset directory made by \`weft prepare\`" >&2
  usage >&2
  exit 2
fi
weft=${WEFT_BUILD_DIR:-build}/weft
if [[ ! -x "$weft" ]]; then
  echo "bench-translation.sh: $weft is missing; build first (./launch/build.sh)" >&2
  exit 2
fi
python=${PYTHON:-python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
total=$((warmup + steps))
lr_warmup=$((total < 1000 ? total : 1000))  # the cosine schedule needs warmup <= steps
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A sum count
# Records a tokens/s figure under a name, for the summary's means.
record() {
  sum[$1]=$(echo "${sum[$1]:-0} + $2" | bc -l)
  count[$1]=$(( ${count[$1]:-0} + 1 ))
}

weft_run() {  # precision
  local out="$work/weft-$1-$RANDOM" pid line
  "$weft" train --config configs/multi30k.ini --data.dataset "$data" \
    --data.max_tokens "$max_tokens" --train.epochs 0 --train.steps "$total" \
    --train.precision "$1" --optim.warmup "$lr_warmup" --train.eval_every 0 \
    --train.checkpoint_every 0 --train.sample_every 0 --log.every 1 --log.progress plain \
    --train.out "$out" >"$work/weft.log" 2>&1 &
  pid=$!
  # The last step's line is written before the closing checkpoint and report.
  while kill -0 "$pid" 2>/dev/null; do
    if grep -qE "\"event\":\"train\".*\"step\":$total," "$out/metrics.jsonl" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  wait "$pid" 2>/dev/null || true
  if ! grep -qE "\"event\":\"train\".*\"step\":$total," "$out/metrics.jsonl" 2>/dev/null; then
    echo "bench-translation.sh: weft train stopped before step $total:" >&2
    tail -5 "$work/weft.log" >&2
    exit 1
  fi
  # Σ tokens / Σ step_s over the timed steps (tokens = tokens_per_s · step_s).
  line=$(awk -v skip="$warmup" -v max_tokens="$max_tokens" -v p="$1" '
    function field(name,   at) {
      if (!match($0, "\"" name "\":[-+0-9.eE]+")) return 0
      at = RSTART + length(name) + 3
      return substr($0, at, RSTART + RLENGTH - at) + 0
    }
    /"event":"train"/ && field("step") > skip {
      seconds += field("step_s"); tokens += field("tokens_per_s") * field("step_s"); n++
    }
    END {
      printf "weft: tokens_per_s=%.0f steps=%d tokens=%.0f seconds=%.3f max_tokens=%d precision=%s\n",
             tokens / seconds, n, tokens, seconds, max_tokens, p
    }' "$out/metrics.jsonl")
  echo "$line"
  record "weft $1" "$(sed -E 's/.*tokens_per_s=([0-9.]+).*/\1/' <<<"$line")"
  rm -rf "$out"
}

torch_run() {  # precision
  local line
  line=$("$python" launch/pytorch_translation.py --data "$data" --max-tokens "$max_tokens" \
         --steps "$steps" --warmup-steps "$warmup" --threads "$OMP_NUM_THREADS" --precision "$1" \
         2>"$work/torch.log" | tail -1) || true
  if [[ "$line" == *tokens_per_s=* ]]; then
    echo "$line"
    record "pytorch $1" "$(sed -E 's/.*tokens_per_s=([0-9.]+).*/\1/' <<<"$line")"
  else
    echo "${line:-pytorch: failed: $(tail -1 "$work/torch.log")}"
  fi
}

for ((r = 1; r <= rounds; ++r)); do
  echo "== round $r: $steps timed steps after $warmup, max_tokens $max_tokens," \
       "$OMP_NUM_THREADS threads"
  for p in "${precisions[@]}"; do
    weft_run "$p"
    torch_run "$p"
  done
done

mean() { echo "scale=0; ${sum[$1]} / ${count[$1]}" | bc -l; }
echo "== summary: mean tokens/s over $rounds rounds"
for key in "${!sum[@]}"; do echo "$key: $(mean "$key")"; done | sort
for p in "${precisions[@]}"; do
  if [[ -n "${sum["pytorch $p"]:-}" ]]; then
    echo "$p: weft / PyTorch = $(echo "scale=2; $(mean "weft $p") / $(mean "pytorch $p")" | bc -l)"
  fi
done
