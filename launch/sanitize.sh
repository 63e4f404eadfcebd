#!/usr/bin/env bash
# The checking stage of ./launch/test.sh: builds weft and its unit suites once
# more with clang, AddressSanitizer and UndefinedBehaviorSanitizer (portable
# code, no CUDA), runs the suites, then runs each libFuzzer target of
# tests/fuzz for WEFT_FUZZ_SECONDS (default 20) from its seed corpus. Any
# sanitizer report, failed test or fuzz finding fails the stage.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${WEFT_SANITIZE_BUILD_DIR:-build-sanitize}
seconds=${WEFT_FUZZ_SECONDS:-20}
jobs=${WEFT_JOBS:-$(nproc)}

cmake -S . -B "$build_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DWEFT_SANITIZE=ON -DWEFT_FUZZ=ON -DWEFT_CUDA=OFF -DWEFT_NATIVE=OFF
cmake --build "$build_dir" -j "$jobs"

export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/leak_suppressions.txt:print_suppressions=0"
export ASAN_OPTIONS="abort_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

# The unit suites; the end-to-end quality run (label quality) already ran in
# the Release build, and a GPU is never present here. Processes started by
# mpirun run without the leak check: Open MPI's plugins keep allocations to
# the end, from libraries unloaded before the report could name them. The
# same code runs leak-checked as simulated ranks. The two-host runs (label
# multinode) run in the Release build only: they start the same code over
# TCP, which the mpi label here already covers, asking ranks included.
mpi_tests="Mpirun"
(cd "$build_dir" && ctest --output-on-failure --timeout 1200 -LE "quality|gpu|mpi|multinode" -E "$mpi_tests")
(cd "$build_dir" && ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
   ctest --output-on-failure --timeout 1200 -L mpi)
(cd "$build_dir" && ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
   ctest --output-on-failure --timeout 1200 -LE "quality|gpu|mpi|multinode" -R "$mpi_tests")

# Fuzzing: new inputs go to a scratch corpus in the build folder; the
# committed seeds are only read.
summary=()
for fuzzer in "$build_dir"/tests/fuzz/fuzz_*; do
  name=$(basename "$fuzzer")
  name=${name#fuzz_}
  corpus="$build_dir/fuzz-corpus/$name"
  log="$build_dir/fuzz-corpus/$name.log"
  mkdir -p "$corpus"
  echo "fuzz: $name for ${seconds} s"
  # An input that takes over 10 s counts as a hang, hence a finding.
  if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=1024 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$build_dir/fuzz-corpus/$name-" \
       "$corpus" "tests/fuzz/corpus/$name" > "$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $name FOUND A FAILURE; the input is under $build_dir/fuzz-corpus/$name-*" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  summary+=("$(printf '%-14s %10s executions in %s s' "$name" "$runs" "$seconds")")
done
echo "fuzz: no findings"
printf '  %s\n' "${summary[@]}"
