#!/usr/bin/env bash
# Runs its arguments as a command when nvidia-smi lists a GPU; otherwise says
# so and exits 77, which ctest (SKIP_RETURN_CODE 77) reports as skipped.
# An argument @TMPDIR@ becomes a fresh temporary directory, removed when the
# command ends, so that a run that writes checkpoints starts clean each time.
set -uo pipefail

if ! gpus=$(nvidia-smi -L 2>/dev/null) || ! grep -q '^GPU ' <<<"$gpus"; then
  echo "no GPU: skipped (nvidia-smi -L lists none)"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-gpu-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
args=()
for arg in "$@"; do
  if [[ $arg == "@TMPDIR@" ]]; then args+=("$tmp/out"); else args+=("$arg"); fi
done
"${args[@]}"
