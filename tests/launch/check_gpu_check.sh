#!/usr/bin/env bash
# launch/gpu-check.sh's own logic, on a machine without a GPU: a bundle made
# of this build's binaries and a fake nvidia-smi. Every stage must run, keep
# its log, land in the summary with what it found, and the check must fail:
# no test ran on a GPU. Without any GPU listed it must stop after the probe.
#
#   check_gpu_check.sh SOURCE_DIR WEFT_BINARY GPU_TEST_BINARY WORK_DIR
set -euo pipefail
source_dir=$1 weft=$2 gpu_tests=$3 work=$4
rm -rf "$work"
mkdir -p "$work/bundle/bin" "$work/bundle/lib" "$work/fake-bin"
cp "$source_dir/launch/gpu-check.sh" "$source_dir/launch/pytorch_gpt2.py" "$work/bundle/"
cp "$weft" "$gpu_tests" "$work/bundle/bin/"

fail() { echo "check_gpu_check: $*" >&2; exit 1; }
expect_row() {  # stage, status, text in the figure
  grep -E "^$1 +$2 .*$3" "$work/$4/summary.txt" > /dev/null ||
    fail "no '$1 $2 ... $3' row in $4/summary.txt:$(cat "$work/$4/summary.txt")"
}

# A GPU listed, nothing behind it.
cat > "$work/fake-bin/nvidia-smi" <<'FAKE'
#!/bin/sh
case "$*" in
  -L) echo "GPU 0: Fake H100 (UUID: GPU-00000000)" ;;
  *noheader*) echo "Fake H100" ;;
  *) echo "name, driver_version"; echo "Fake H100, 0.0" ;;
esac
FAKE
chmod +x "$work/fake-bin/nvidia-smi"
set +e
PATH="$work/fake-bin:$PATH" CUDA_HOME="$work/no-toolkit" PYTHON=false \
  "$work/bundle/gpu-check.sh" "$work/listed" > "$work/listed.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "exit code $rc with no usable GPU, expected 1: $(cat "$work/listed.out")"
for stage in probe unit bench bench-256; do
  [ -s "$work/listed/$stage.log" ] || fail "no $stage.log"
done
expect_row probe passed "Fake H100" listed
expect_row unit failed "none ran on a GPU" listed
expect_row memcheck skipped "compute-sanitizer is not installed" listed
expect_row racecheck skipped "compute-sanitizer is not installed" listed
expect_row bench failed "8x1024" listed
expect_row bench-256 failed "32x256" listed
expect_row pytorch skipped "no torch" listed

# No GPU listed at all: the probe says so and nothing else runs.
printf '#!/bin/sh\nexit 9\n' > "$work/fake-bin/nvidia-smi"
set +e
PATH="$work/fake-bin:$PATH" "$work/bundle/gpu-check.sh" "$work/none" > "$work/none.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "exit code $rc without a GPU, expected 1"
expect_row probe failed "no GPU visible" none
[ ! -e "$work/none/unit.log" ] || fail "the unit tests ran without a GPU"
echo "check_gpu_check: gpu-check.sh ran every stage, logged and summarised each, and failed as it must"
