#!/usr/bin/env bash
# The first minutes on a GPU machine, from the folder launch/gpu-bundle.sh
# made: everything the CPU cannot verify, in at most 8 minutes, each stage
# under its own time cap, every output kept in LOG_DIR.
#
#   gpu-check.sh LOG_DIR
#
#   1. probe      the GPU (name, driver, clocks, memory), where each library
#                 resolves from (the C++ runtime: this machine's where it
#                 serves, else the bundle's); a library not found stops the
#                 check at once
#   2. unit       the GPU unit tests (every op against the CPU), one process
#      nccl       the NCCL communicator's collective tables on CUDA tensors,
#                 one process that starts MPI by itself from the bundle's
#                 Open MPI (openmpi/), with no mpirun; skipped where it
#                 cannot load (Open MPI wants a newer C library than weft)
#      train      weft train on configs/tiny-gpt.ini for 30 steps on cuda and
#                 on the CPU: the validation losses agree to 1e-3
#   3. memcheck   compute-sanitizer memcheck, then racecheck, over the
#      racecheck  attention, layer-norm, cross-entropy and AdamW tests, with a
#                 256 MiB arena (WEFT_GPU_ARENA_MB) so that an overrun leaves
#                 its allocation
#   4. bench      weft bench: GPT-2 124M in bf16 at batch 8 × 1024, with the
#                 time per kernel from compute-stream events (--profile), then
#      bench-256  the same tokens as batch 32 × 256 (less attention)
#   5. pytorch    the PyTorch reference (launch/pytorch_gpt2.py: bf16
#                 autocast, torch.compile, SDPA, fused AdamW) at batch 8 × 1024
#   then a summary table. Exit 0 when the probe passed, some unit test ran on
#   the GPU and no unit test, NCCL test, training run or sanitizer failed; 1
#   otherwise.
#
# The caps add up to 450 s, and every stage also ends by a deadline
# WEFT_CHECK_BUDGET (465) seconds after the start (a stage that would have
# under 10 s is skipped), so the check ends within 8 minutes. PYTHON picks
# the interpreter (python3); CUDA_HOME the toolkit (/usr/local/cuda);
# WEFT_CHECK_SCALE (1) multiplies every cap and the deadline.
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: gpu-check.sh LOG_DIR" >&2
  exit 2
fi
bundle=$(cd "$(dirname "$0")" && pwd)
log_dir=$1
mkdir -p "$log_dir" || exit 2
log_dir=$(cd "$log_dir" && pwd)
python=${PYTHON:-python3}
cuda_home=${CUDA_HOME:-/usr/local/cuda}
scale=${WEFT_CHECK_SCALE:-1}
start=$(date +%s)
deadline=$((start + ${WEFT_CHECK_BUDGET:-465} * scale))

rows=()       # the summary: stage, status, figure, seconds
failed=0
late=0        # 1 when the last stage was skipped for the deadline
row() { rows+=("$(printf '%-10s %-8s %-50s %5s s' "$1" "$2" "$3" "$4")"); }
# The row of the stage just run: its figure, or why it was skipped.
stage_row() {
  local figure=$2
  [ "$late" = 0 ] || figure="no time left before the deadline"
  row "$1" "$status" "$figure" "$seconds"
}
# The count of PASSED, SKIPPED or FAILED tests in a gtest LOG's summary.
gtest_count() {
  case $1 in
    FAILED) sed -n 's/^ *\([0-9]*\) FAILED TEST.*/\1/p' "$2" ;;
    *) sed -n "s/^\[  $1 *\] \([0-9]*\) test.*/\1/p" "$2" ;;
  esac | tail -n 1
}
summary() {
  {
    echo
    echo "gpu-check summary ($(($(date +%s) - start)) s in all; logs in $log_dir)"
    printf '%s\n' "${rows[@]}"
  } | tee "$log_dir/summary.txt"
}

# Runs stage NAME under a cap of SECONDS (times the scale) or until the
# deadline, output to LOG_DIR/NAME.log; sets $status (passed, failed,
# timeout, skipped) and $seconds.
run_stage() {
  local name=$1 cap=$2
  shift 2
  local begin=$(date +%s)
  late=0
  local limit=$((cap * scale)) left=$((deadline - begin))
  ((limit <= left)) || limit=$left
  if ((limit < 10)); then
    echo "== $name skipped: ${left} s left before the deadline" | tee "$log_dir/$name.log"
    status=skipped seconds=0 late=1
    return
  fi
  echo "== $name (at most $limit s): $*" | tee "$log_dir/$name.log"
  timeout --kill-after=5 "$limit" "$@" >> "$log_dir/$name.log" 2>&1
  local rc=$?
  seconds=$(($(date +%s) - begin))
  case $rc in
    0) status=passed ;;
    77) status=skipped ;;  # a test binary's "no GPU"
    124|137) status=timeout ;;
    *) status=failed ;;
  esac
  echo "   $status ($rc) in ${seconds} s" | tee -a "$log_dir/$name.log"
}

# --- 1. probe ------------------------------------------------------------
probe=$log_dir/probe.log
: > "$probe"
if ! gpus=$(nvidia-smi -L 2>> "$probe") || ! grep -q '^GPU ' <<<"$gpus"; then
  echo "gpu-check: no GPU is visible (nvidia-smi -L lists none)" | tee -a "$probe"
  row probe failed "no GPU visible" 0
  summary
  exit 1
fi
{
  echo "$gpus"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem \
             --format=csv
  "$cuda_home/bin/nvcc" --version 2>&1 | tail -n 2
} >> "$probe" 2>&1
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)

# Where the libraries the bundle leaves out live: the toolkit, and the
# nvidia-* packages beside PyTorch (NCCL, cuDNN).
lib_path=$bundle/lib
for dir in "$cuda_home/lib64" "$cuda_home/lib" "$cuda_home/targets/x86_64-linux/lib"; do
  [ -d "$dir" ] && lib_path=$lib_path:$dir
done
site=$("$python" -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0]))' \
       2>/dev/null || true)
if [ -n "$site" ]; then
  for dir in "$site"/nvidia/*/lib "$site"/nvidia/*/lib64; do
    [ -d "$dir" ] && lib_path=$lib_path:$dir
  done
fi
# Every binary but the NCCL tests must load; those, linked with Open MPI,
# which asks for a newer C library, are skipped where they cannot.
required=()
for binary in "$bundle"/bin/*; do
  [ "$(basename "$binary")" = test_nccl ] || required+=("$binary")
done
# The C++ and OpenMP runtimes: this machine's own where the loader finds
# in them every version the binaries ask for, else the bundle's (lib/runtime),
# which were built against the C library of the machine that made the bundle.
runtime_misses=$(LD_LIBRARY_PATH=$lib_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
  ldd "${required[@]}" 2>&1 | sort -u |
  grep -E 'lib(stdc\+\+|gcc_s|gomp)[^ ]* => not found|(GLIBCXX|CXXABI|GCC|GOMP|OMP)_[0-9.]*. not found')
if [ -z "$runtime_misses" ]; then
  echo "C++ and OpenMP runtimes: this machine's" >> "$probe"
elif [ -d "$bundle/lib/runtime" ]; then
  lib_path=$lib_path:$bundle/lib/runtime
  echo "C++ and OpenMP runtimes: the bundle's; this machine's lack:" >> "$probe"
  echo "$runtime_misses" >> "$probe"
fi
export LD_LIBRARY_PATH=$lib_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" >> "$probe"
linked=$(ldd "${required[@]}" 2>&1)
echo "$linked" >> "$probe"
not_found=$(grep 'not found' <<<"$linked" | sort -u)
if [ -n "$not_found" ]; then
  echo "gpu-check: libraries not found:" >&2
  echo "$not_found" >&2
  # Library names, and the versions a library found lacks.
  missing=$(sed -n -e 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' \
                   -e "s/.*version .\([^']*\)' not found.*/\1/p" <<<"$not_found" |
            sort -u | tr '\n' ' ')
  row probe failed "not found: ${missing% } (probe.log)" 0
  summary
  exit 1
fi
row probe passed "${gpu_name:-?}" 0
cat "$probe"

# --- 2. unit tests -------------------------------------------------------
run_stage unit 100 "$bundle/bin/test_backend_cuda"
passed=$(gtest_count PASSED "$log_dir/unit.log")
skipped=$(gtest_count SKIPPED "$log_dir/unit.log")
failures=$(gtest_count FAILED "$log_dir/unit.log")
# gtest counts a skipped test apart from the passed ones.
ran_on_gpu=$(( ${passed:-0} + ${failures:-0} ))
figure="${passed:-0} passed, ${failures:-0} failed, ${skipped:-0} skipped"
if [ "$status" = passed ] && [ "$ran_on_gpu" -le 0 ]; then
  status=failed
  figure="$figure: none ran on a GPU"
fi
[ "$status" = passed ] || failed=1
stage_row unit "$figure"

# --- NCCL -----------------------------------------------------------------
# Open MPI finds its components, help texts and settings in the bundle, and
# starts as a singleton without the daemon mpirun would provide.
nccl_missing=$( [ -x "$bundle/bin/test_nccl" ] && ldd "$bundle/bin/test_nccl" 2>&1 | grep 'not found')
if [ ! -x "$bundle/bin/test_nccl" ]; then
  row nccl skipped "no bin/test_nccl in the bundle" 0
elif [ -n "$nccl_missing" ]; then
  echo "$nccl_missing" | sort -u > "$log_dir/nccl.log"
  row nccl skipped "test_nccl cannot load here (nccl.log)" 0
else
  OPAL_PREFIX=$bundle/openmpi OPAL_LIBDIR=$bundle/lib \
    OPAL_PKGLIBDIR=$bundle/openmpi/lib/components OPAL_PKGDATADIR=$bundle/openmpi/share \
    OPAL_SYSCONFDIR=$bundle/openmpi/etc OMPI_MCA_ess_singleton_isolated=1 \
    run_stage nccl 40 "$bundle/bin/test_nccl"
  [ "$status" != skipped ] || [ "$late" = 1 ] || nccl_skip="no GPU, says test_nccl"
  nccl_passed=$(gtest_count PASSED "$log_dir/nccl.log")
  nccl_failed=$(gtest_count FAILED "$log_dir/nccl.log")
  [ "$status" = passed ] || [ "$status" = skipped ] || failed=1
  stage_row nccl "${nccl_skip:-world of 1: ${nccl_passed:-0} passed, ${nccl_failed:-0} failed}"
fi

# --- a short training run, on the GPU and on the CPU ----------------------
# weft train end to end (data, steps, evaluation, checkpoint, the closing
# sample through the key/value cache) on configs/tiny-gpt.ini, f32, on cuda
# and then on the CPU: the two validation losses after 30 steps agree to 1e-3.
if [ ! -f "$bundle/tiny-gpt.ini" ]; then
  row train skipped "no tiny-gpt.ini in the bundle" 0
else
  run_stage train 30 bash -c 'for device in cuda cpu; do
      echo "== weft train on $device"
      rm -rf "$2/train-$device"
      "$0" train --config "$1" --train.device "$device" --train.steps 30 \
        --train.eval_every 30 --train.checkpoint_every 30 --train.out "$2/train-$device" || exit
    done' "$bundle/bin/weft" "$bundle/tiny-gpt.ini" "$log_dir"
  val_loss() {  # the validation loss of the run on DEVICE in train.log
    awk -v device="$1" '/^== weft train on / { on = ($NF == device) }
      on && /^step [0-9]+: val loss / { sub(",", "", $5); print $5; exit }' "$log_dir/train.log"
  }
  cuda_loss=$(val_loss cuda) cpu_loss=$(val_loss cpu)
  figure="30 steps: val loss cuda ${cuda_loss:-?}, cpu ${cpu_loss:-?}"
  if [ "$status" = passed ]; then
    if [ -z "$cuda_loss" ] || [ -z "$cpu_loss" ] ||
       ! awk -v a="$cuda_loss" -v b="$cpu_loss" 'BEGIN { d = a - b; exit !((d < 0 ? -d : d) <= 1e-3 * b) }'; then
      status=failed
      figure="$figure: not within 1e-3"
    fi
  fi
  [ "$status" = passed ] || [ "$status" = skipped ] || failed=1
  stage_row train "$figure"
fi

# --- 3. compute-sanitizer -----------------------------------------------
sanitized='*AttentionGpu*:*FlashAttentionGpu*:*LayerNormGpu*:*CrossEntropyGpu*:*AdamWGpu*'
sanitizer=$(command -v compute-sanitizer || echo "$cuda_home/bin/compute-sanitizer")
for tool in memcheck racecheck; do
  if [ ! -x "$sanitizer" ]; then
    row "$tool" skipped "compute-sanitizer is not installed" 0
    continue
  fi
  WEFT_GPU_ARENA_MB=256 run_stage "$tool" 50 "$sanitizer" --tool "$tool" --error-exitcode 3 \
    "$bundle/bin/test_backend_cuda" "--gtest_filter=$sanitized"
  errors=$(sed -n 's/^========= ERROR SUMMARY: \([0-9]*\) error.*/\1/p' "$log_dir/$tool.log" | tail -n 1)
  [ "$status" = passed ] || failed=1
  stage_row "$tool" "${errors:-?} errors"
done

# --- 4. weft bench -------------------------------------------------------
# tokens/s, MFU and peak memory from the bench's last lines.
bench_figure() {
  local line
  line=$(grep '^training:' "$1" | tail -n 1)
  local tokens
  tokens=$(sed -n 's/.*: \([0-9.]*\) tokens\/s.*/\1/p' <<<"$line")
  local mfu=$(sed -n 's/.*MFU \([0-9.]*%\).*/\1/p' <<<"$line")
  local memory=$(sed -n 's/.*peak device memory \([0-9.]* GiB\).*/\1/p' <<<"$line")
  echo "${tokens:-?} tok/s, MFU ${mfu:-?}, peak ${memory:-?}"
}
run_stage bench 60 "$bundle/bin/weft" bench --model gpt2-124m --device cuda --precision bf16 \
  --batch 8 --seq 1024 --steps 10 --warmup 2 --profile
stage_row bench "8x1024: $(bench_figure "$log_dir/bench.log")"
run_stage bench-256 35 "$bundle/bin/weft" bench --model gpt2-124m --device cuda --precision bf16 \
  --batch 32 --seq 256 --steps 10 --warmup 2
stage_row bench-256 "32x256: $(bench_figure "$log_dir/bench-256.log")"

# --- 5. PyTorch reference -----------------------------------------------
if ! "$python" -c 'import torch' > /dev/null 2>&1; then
  row pytorch skipped "no torch for $python" 0
else
  run_stage pytorch 85 "$python" "$bundle/pytorch_gpt2.py" --batch 8 --seq 1024 --steps 10 \
    --warmup 3
  tokens=$(sed -n 's/^pytorch: tokens_per_s=\([0-9]*\).*/\1/p' "$log_dir/pytorch.log" | tail -n 1)
  memory=$(sed -n 's/^pytorch: .*peak_mem_gib=\([0-9.]*\).*/\1/p' "$log_dir/pytorch.log" | tail -n 1)
  stage_row pytorch "8x1024: ${tokens:-?} tok/s, peak ${memory:-?} GiB"
fi

summary
exit $failed
