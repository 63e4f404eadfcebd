#!/usr/bin/env bash
# Installs what is missing, builds Release and runs every test suite, then
# the checking stage (launch/sanitize.sh): the unit suites again under
# AddressSanitizer and UndefinedBehaviorSanitizer, and bounded fuzzing.
# WEFT_FAST=1 skips the checking stage (for local runs; CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
./launch/install-deps.sh
./launch/build.sh
# Open MPI refuses root and more ranks than cores unless told; CI is both.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Serial by default: each test already uses every core through OpenMP, and
# two suites sharing the cores would spin against each other.
(cd "${WEFT_BUILD_DIR:-build}" && ctest --output-on-failure --timeout 1200 -j "${WEFT_TEST_JOBS:-1}")
if [ "${WEFT_FAST:-0}" != 1 ]; then
  ./launch/sanitize.sh
fi
