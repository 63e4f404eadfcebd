#!/usr/bin/env bash
# Usage: launch/local-gpus.sh [--dry-run] [--] <weft train args...>
#
# One rank per GPU of this machine: counts the GPUs (the entries of
# CUDA_VISIBLE_DEVICES when it is set, else the lines of `nvidia-smi -L`)
# and runs launch/mpirun.sh -n <that many> with the same weft train args.
# Refuses when there is no GPU; use launch/mpirun.sh -n N or
# `weft train --parallel.simulate_ranks N` to run ranks on the CPU.
#
#   --dry-run    print the mpirun command instead of running it
#   -h, --help   this text
#
# Example, tensor-parallel over 2 GPUs of each replica:
#   launch/local-gpus.sh --config configs/gpt2-124m.ini --parallel.tp 2
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pass=()
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  --dry-run) pass+=(--dry-run); shift ;;
esac
[[ ${1:-} == -- ]] && shift

# CUDA_VISIBLE_DEVICES="" (or -1) hides every GPU from CUDA.
if [[ -n ${CUDA_VISIBLE_DEVICES+set} ]]; then
  source="CUDA_VISIBLE_DEVICES='$CUDA_VISIBLE_DEVICES'"
  gpus=0
  if [[ -n $CUDA_VISIBLE_DEVICES && $CUDA_VISIBLE_DEVICES != -1* ]]; then
    IFS=, read -r -a ids <<< "$CUDA_VISIBLE_DEVICES"
    gpus=${#ids[@]}
  fi
elif command -v nvidia-smi > /dev/null; then
  source="nvidia-smi -L"
  gpus=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU ' || true)
else
  source="no nvidia-smi, no CUDA_VISIBLE_DEVICES"
  gpus=0
fi

if ((gpus == 0)); then
  echo "local-gpus.sh: no GPU on this machine ($source); run ranks on the CPU with" \
    "launch/mpirun.sh -n N or weft train --parallel.simulate_ranks N" >&2
  exit 2
fi
echo "local-gpus.sh: $gpus GPU(s) ($source): $gpus ranks" >&2
exec "$here/mpirun.sh" -n "$gpus" "${pass[@]}" -- "$@"
