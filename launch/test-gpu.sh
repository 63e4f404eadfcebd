#!/usr/bin/env bash
# The GPU test suite in one command, for a machine with an NVIDIA GPU: builds
# with the CUDA backend, then runs every test labelled gpu (every op against
# the CPU in f64, training runs against the CPU, NCCL and `weft train` under
# mpirun). Refuses to start where no GPU is visible: there every GPU test
# would only report itself skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! gpus=$(nvidia-smi -L 2>/dev/null) || ! grep -q '^GPU ' <<<"$gpus"; then
  echo "test-gpu.sh: no GPU is visible (nvidia-smi -L lists none); run ./launch/test.sh for the CPU suites" >&2
  exit 1
fi
echo "$gpus"

./launch/build.sh -DWEFT_CUDA=ON "$@"
build_dir=${WEFT_BUILD_DIR:-build}
# Without the CUDA backend every GPU test would skip and the run look green.
if ! grep -q 'src/backend/cuda/' "$build_dir/compile_commands.json"; then
  echo "test-gpu.sh: $build_dir has no CUDA backend: was the CUDA toolkit found? (cmake prints 'weft: CUDA backend ON|OFF')" >&2
  exit 1
fi
# Open MPI refuses root and more ranks than cores unless told.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
cd "$build_dir"
# Serial: the tests share the one GPU.
ctest -L gpu --output-on-failure --timeout 1200
