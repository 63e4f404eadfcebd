#!/usr/bin/env bash
# launch/gpu-check.sh's own logic, on a machine without a GPU: a bundle made
# of this build's binaries and a fake nvidia-smi. Every stage must run, keep
# its log, land in the summary with what it found, and the check must fail:
# no test ran on a GPU. A library not found stops it after the probe, so does
# no GPU listed; a C++ runtime older than the binaries want gives way to the
# bundle's; NCCL tests that cannot load cost only their row; the deadline
# cuts a hanging stage and skips the rest; and
# with stand-ins for a working GPU (tests, bench and PyTorch printing their
# usual lines) it passes and its rows carry their figures.
#
#   check_gpu_check.sh SOURCE_DIR WEFT_BINARY GPU_TEST_BINARY WORK_DIR
set -euo pipefail
source_dir=$1 weft=$2 gpu_tests=$3 work=$4
rm -rf "$work"
mkdir -p "$work/bundle/bin" "$work/bundle/lib" "$work/fake-bin"
cp "$source_dir/launch/gpu-check.sh" "$source_dir/launch/pytorch_gpt2.py" \
  "$source_dir/configs/tiny-gpt.ini" "$work/bundle/"
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
expect_row nccl skipped "no bin/test_nccl" listed
expect_row train failed "val loss cuda \\?" listed
expect_row memcheck skipped "compute-sanitizer is not installed" listed
expect_row racecheck skipped "compute-sanitizer is not installed" listed
expect_row bench failed "8x1024" listed
expect_row bench-256 failed "32x256" listed
expect_row pytorch skipped "no torch" listed

# A library the bundle lacks and the machine does not provide: the probe
# names it and nothing else runs.
mkdir -p "$work/lost"
echo 'int lost_symbol(void) { return 7; }' > "$work/lost/lost.c"
echo 'int lost_symbol(void); int main(void) { return lost_symbol(); }' > "$work/lost/main.c"
cc -shared -fPIC -o "$work/lost/libweftlost.so" "$work/lost/lost.c"
cc -o "$work/lost/needs-lost" "$work/lost/main.c" -L"$work/lost" -lweftlost
rm -rf "$work/unlinked"
cp -r "$work/bundle" "$work/unlinked"
cp "$work/lost/needs-lost" "$work/unlinked/bin/"
set +e
PATH="$work/fake-bin:$PATH" CUDA_HOME="$work/no-toolkit" PYTHON=false \
  "$work/unlinked/gpu-check.sh" "$work/missing" > "$work/missing.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "exit code $rc with a library missing, expected 1"
expect_row probe failed "not found: libweftlost.so \\(probe.log\\)" missing
grep -q "libweftlost.so => not found" "$work/missing.out" || fail "the missing library is not named"
[ ! -e "$work/missing/unit.log" ] || fail "the unit tests ran with a library missing"

# Out of time: the unit tests hang, the deadline cuts them off and every
# later stage is skipped.
rm -rf "$work/slow"
cp -r "$work/bundle" "$work/slow"
printf '#!/bin/sh\nsleep 60\n' > "$work/slow/bin/test_backend_cuda"
set +e
PATH="$work/fake-bin:$PATH" CUDA_HOME="$work/no-toolkit" PYTHON=false WEFT_CHECK_BUDGET=11 \
  "$work/slow/gpu-check.sh" "$work/late" > "$work/late.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "exit code $rc out of time, expected 1"
expect_row unit timeout "" late
expect_row bench skipped "no time left" late
expect_row bench-256 skipped "no time left" late

# A GPU that works: the figures come from the tests' and the bench's own
# lines, and the check passes.
rm -rf "$work/working"
cp -r "$work/bundle" "$work/working"
printf '#!/bin/sh\necho "[  PASSED  ] 12 tests."\necho "[  SKIPPED ] 1 test, listed below:"\n' \
  > "$work/working/bin/test_backend_cuda"
cat > "$work/working/bin/weft" <<'FAKE'
#!/bin/sh
case $1 in
  train) echo "step 30: val loss 2.9165, perplexity 18.48" ;;
  *) echo "training: cuda, bf16, batch 8: 123456 tokens/s, 90.1 TFLOP/s achieved (0.9 MFLOP/token), MFU 41.2%, peak device memory 20.50 GiB (0.50 GiB in use before the model was built)" ;;
esac
FAKE
cat > "$work/working/bin/test_nccl" <<'FAKE'
#!/bin/sh
echo "components from $OPAL_PKGLIBDIR, singleton isolated: $OMPI_MCA_ess_singleton_isolated"
echo "[  PASSED  ] 9 tests."
FAKE
cat > "$work/working/python" <<'FAKE'
#!/bin/sh
[ "$1" = -c ] && exit 0
echo "pytorch: tokens_per_s=100000 peak_mem_gib=30.25 batch=8 seq=1024"
FAKE
chmod +x "$work/working/bin/"* "$work/working/python"
PATH="$work/fake-bin:$PATH" CUDA_HOME="$work/no-toolkit" PYTHON="$work/working/python" \
  "$work/working/gpu-check.sh" "$work/works" > "$work/works.out" 2>&1 ||
  fail "a working GPU failed the check: $(cat "$work/works.out")"
expect_row unit passed "12 passed, 0 failed, 1 skipped" works
expect_row bench passed "8x1024: 123456 tok/s, MFU 41.2%, peak 20.50 GiB" works
expect_row pytorch passed "8x1024: 100000 tok/s, peak 30.25 GiB" works
expect_row nccl passed "world of 1: 9 passed, 0 failed" works
expect_row train passed "30 steps: val loss cuda 2.9165, cpu 2.9165" works
grep -q "components from $work/working/openmpi/lib/components, singleton isolated: 1" \
  "$work/works/nccl.log" || fail "the NCCL tests did not get the bundle's Open MPI"

# NCCL tests that cannot load (Open MPI wants a newer C library) cost only
# their own row.
rm -rf "$work/nccl-lost"
cp -r "$work/working" "$work/nccl-lost"
cp "$work/lost/needs-lost" "$work/nccl-lost/bin/test_nccl"
PATH="$work/fake-bin:$PATH" CUDA_HOME="$work/no-toolkit" PYTHON="$work/nccl-lost/python" \
  "$work/nccl-lost/gpu-check.sh" "$work/nccl-lost-log" > "$work/nccl-lost.out" 2>&1 ||
  fail "NCCL tests that cannot load failed the check: $(cat "$work/nccl-lost.out")"
expect_row probe passed "Fake H100" nccl-lost-log
expect_row nccl skipped "test_nccl cannot load here" nccl-lost-log
grep -q "libweftlost.so => not found" "$work/nccl-lost-log/nccl.log" ||
  fail "nccl.log does not name the library test_nccl lacks"

# The machine's C++ runtime lacks a version a binary asks for: the probe
# takes the bundle's (lib/runtime) and finds everything.
mkdir -p "$work/newer/bin" "$work/newer/lib/runtime"
cp "$source_dir/launch/gpu-check.sh" "$work/newer/"
echo 'GLIBCXX_99.0 { global: weft_newer_runtime; local: *; };' > "$work/lost/newer.map"
echo 'int weft_newer_runtime(void) { return 0; }' > "$work/lost/newer.c"
cc -shared -fPIC -Wl,--version-script="$work/lost/newer.map" -Wl,-soname,libstdc++.so.6 \
  -o "$work/newer/lib/runtime/libstdc++.so.6" "$work/lost/newer.c"
echo 'int weft_newer_runtime(void); int main(void) { return weft_newer_runtime(); }' \
  > "$work/lost/newer-main.c"
cc -o "$work/newer/bin/needs-newer-runtime" "$work/lost/newer-main.c" \
  "$work/newer/lib/runtime/libstdc++.so.6"
set +e
PATH="$work/fake-bin:$PATH" CUDA_HOME="$work/no-toolkit" PYTHON=false WEFT_CHECK_BUDGET=20 \
  "$work/newer/gpu-check.sh" "$work/newer-log" > "$work/newer.out" 2>&1
set -e
expect_row probe passed "Fake H100" newer-log
grep -q "C++ and OpenMP runtimes: the bundle's" "$work/newer-log/probe.log" ||
  fail "the bundle's runtime was not taken: $(cat "$work/newer-log/probe.log")"
grep -q "GLIBCXX_99.0" "$work/newer-log/probe.log" || fail "the missing version is not named"
grep -q "C++ and OpenMP runtimes: this machine's" "$work/listed/probe.log" ||
  fail "this machine's runtime serves this build's binaries, yet was not taken"

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
