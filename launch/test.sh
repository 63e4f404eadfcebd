#!/usr/bin/env bash
# Installs what is missing, builds Release and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./launch/install-deps.sh
./launch/build.sh
# Open MPI refuses root and more ranks than cores unless told; CI is both.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
cd "${WEFT_BUILD_DIR:-build}"
# Serial by default: each test already uses every core through OpenMP, and
# two suites sharing the cores would spin against each other.
ctest --output-on-failure --timeout 1200 -j "${WEFT_TEST_JOBS:-1}"
