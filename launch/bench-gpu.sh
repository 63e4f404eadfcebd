#!/usr/bin/env bash
# The single-GPU figures of one machine, measured in one go:
#   1. GPT-2 124M (gpt2-124m, context 1024), bf16: the largest micro-batch
#      whose training step fits, then tokens/s, achieved TFLOP/s and MFU
#      against the peak of a large bf16 GEMM measured in the same run, and
#      the step's peak device memory;
#   2. the same model and batch in PyTorch (bf16 autocast, torch.compile,
#      scaled_dot_product_attention, fused AdamW): tokens/s and
#      torch.cuda.max_memory_allocated (skipped, and said, without torch);
#   3. a transformer-base translation training step (6+6 layers, d 512).
# then a summary with the weft/PyTorch ratios of tokens/s and memory.
#
#   launch/bench-gpu.sh [--steps N] [--warmup N] [--skip-build]
#
# Logs go under ${OUT:-bench-gpu-out}/. Extra build options: WEFT_BUILD_DIR
# (default build), WEFT_JOBS; PYTHON picks the interpreter (python3).
set -euo pipefail
cd "$(dirname "$0")/.."

steps=20
warmup=3
build=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --skip-build) build=0; shift ;;
    -h|--help) sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-gpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if ! gpus=$(nvidia-smi -L 2>/dev/null) || ! grep -q '^GPU ' <<<"$gpus"; then
  echo "bench-gpu.sh: no GPU is visible (nvidia-smi -L lists none); this benchmark needs one." >&2
  echo "bench-gpu.sh: on the CPU, run ./build/weft bench (see README, 'Measuring speed')" >&2
  exit 1
fi
echo "$gpus"

build_dir=${WEFT_BUILD_DIR:-build}
if [[ $build -eq 1 ]]; then ./launch/build.sh -DWEFT_CUDA=ON; fi
if ! grep -q 'src/backend/cuda/' "$build_dir/compile_commands.json" 2>/dev/null; then
  echo "bench-gpu.sh: $build_dir has no CUDA backend: was the CUDA toolkit found? (cmake prints 'weft: CUDA backend ON|OFF')" >&2
  exit 1
fi
weft="$build_dir/weft"
python=${PYTHON:-python3}
out=${OUT:-bench-gpu-out}
mkdir -p "$out"

# Runs a command with its output shown and kept in $out/<name>.log.
logged() {
  local name="$1"; shift
  echo
  echo "== $name: $*"
  if ! "$@" 2>&1 | tee "$out/$name.log"; then  # pipefail: the command's own status
    echo "bench-gpu.sh: $name failed; see $out/$name.log" >&2
    exit 1
  fi
}
# Field of weft bench's headline ("training: cuda, bf16, batch 32: ... tokens/s, ...").
headline() { grep "^training:" "$out/$1.log" | sed -n "s/$2/\\1/p" || true; }
tokens_per_s='.*: \([0-9]*\) tokens\/s.*'
torch_field() { grep '^pytorch: ' "$out/$1.log" | tail -1 | sed -n "s/.*$2=\([0-9.]*\).*/\\1/p" || true; }

weft_bench_gpt2() {  # name, batch options
  local name="$1"; shift
  logged "$name" "$weft" bench --model gpt2-124m --seq 1024 --device cuda --precision bf16 "$@" \
    --steps "$steps" --warmup "$warmup"
}
weft_bench_gpt2 weft-gpt2 --max-batch
batch=$(headline weft-gpt2 '^training: .*, batch \([0-9]*\):.*')
[[ -n $batch ]] || { echo "bench-gpu.sh: no headline in $out/weft-gpt2.log" >&2; exit 1; }
peak=$(sed -n 's/^peak: //p' "$out/weft-gpt2.log")

# PyTorch at weft's batch; where that does not fit PyTorch's memory, at the
# largest halving that does, with weft rerun at the same batch to compare.
torch_batch=$batch
torch_note=""
if command -v "$python" > /dev/null; then
  while :; do
    logged pytorch-gpt2 "$python" launch/pytorch_gpt2.py --batch "$torch_batch" --seq 1024 \
      --steps "$steps" --warmup "$warmup"
    grep -q '^pytorch: out_of_memory' "$out/pytorch-gpt2.log" && [[ $torch_batch -gt 1 ]] || break
    torch_note="${torch_note}pytorch batch $torch_batch: out of memory; "
    torch_batch=$((torch_batch / 2))
  done
  torch_line=$(grep "^pytorch: " "$out/pytorch-gpt2.log" | tail -1 || true)
else
  torch_line="pytorch: $python not found"
fi
torch_tok=$(torch_field pytorch-gpt2 tokens_per_s)
torch_mem=$(torch_field pytorch-gpt2 peak_mem_gib)
compare=weft-gpt2
if [[ -n $torch_tok && $torch_batch -ne $batch ]]; then
  compare=weft-gpt2-batch-$torch_batch
  weft_bench_gpt2 "$compare" --batch "$torch_batch"
fi

# Translation batches are short: 200 pairs of 128 source and 128 target
# tokens, about the 25,000 tokens a side of the 2017 paper's batches.
logged weft-transformer-base "$weft" bench --model transformer-base --device cuda \
  --precision bf16 --batch 200 --seq 128 --steps "$steps" --warmup "$warmup"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row() { printf '%-40s %12s %8s %10s\n' "$@"; }
memory() { headline "$1" '.*peak device memory \([0-9.]*\) GiB.*'; }
mfu() { headline "$1" '.*MFU \([0-9.]*%\).*'; }
{
  echo
  echo "== summary: $(head -1 <<<"$gpus")"
  echo "peak: $peak"
  row "" "tokens/s" "MFU" "peak GiB"
  row "weft gpt2-124m bf16, $batch x 1024 (max)" "$(headline weft-gpt2 "$tokens_per_s")" \
    "$(mfu weft-gpt2)" "$(memory weft-gpt2)"
  if [[ $compare != weft-gpt2 ]]; then
    row "weft gpt2-124m bf16, $torch_batch x 1024" "$(headline "$compare" "$tokens_per_s")" \
      "$(mfu "$compare")" "$(memory "$compare")"
  fi
  if [[ -n $torch_tok ]]; then
    row "pytorch gpt2-124m, $torch_batch x 1024" "$torch_tok" "" "$torch_mem"
    [[ -z $torch_note ]] || echo "(${torch_note%; })"
    echo "weft / pytorch at batch $torch_batch: tokens/s" \
      "$(ratio "$(headline "$compare" "$tokens_per_s")" "$torch_tok"), peak memory" \
      "$(ratio "$(memory "$compare")" "$torch_mem") (weft's arena peak / torch.cuda.max_memory_allocated)"
  else
    echo "pytorch: no figure (${torch_line:-no output}), so no ratio"
  fi
  row "weft transformer-base bf16, 200 x 128" "$(headline weft-transformer-base "$tokens_per_s")" \
    "$(mfu weft-transformer-base)" "$(memory weft-transformer-base)"
  echo "logs: $out/"
} | tee "$out/summary.txt"
