#!/usr/bin/env bash
# Usage: launch/mpirun.sh [-n NP] [--hostfile FILE] [--dry-run] [--] <weft train args...>
#
# Starts NP ranks of `weft train` with Open MPI, one process per rank:
#   mpirun -np NP [--hostfile FILE] --bind-to none --map-by slot WEFT train ARGS...
# world = NP = dp x tp; pass --parallel.tp T among the train args (default 1).
# Neighbouring ranks form a TP group, and --map-by slot fills each host's
# slots in order, so a TP group stays on one host when tp divides its slots.
#
#   -n, --np NP       ranks (default 2)
#   --hostfile FILE   hosts and slots, as mpirun reads them; without it every
#                     rank runs on this machine. The weft binary, the config
#                     and the data must be at the same paths on every host.
#   --dry-run         print the mpirun command instead of running it
#   -h, --help        this text (`build/weft train --help` lists the train options)
#
# Added for you, and why:
#   --bind-to none      each rank runs OpenMP threads; binding a rank to one
#                       core would serialise them.
#   --allow-run-as-root when run as root (containers, CI): Open MPI refuses
#                       root otherwise.
#   --oversubscribe     when NP exceeds this machine's cores and there is no
#                       hostfile: Open MPI refuses more ranks than slots.
#   OMP_NUM_THREADS     when unset and there is no hostfile: this machine's
#                       cores / NP (at least 1), exported to every rank, so
#                       the ranks do not each start a thread per core.
#
# Environment: WEFT_BIN (default: build/weft under the repository root),
# MPIRUN (default: mpirun). Example:
#   launch/mpirun.sh -n 4 -- --config configs/tiny-gpt.ini --parallel.tp 2
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() {
  echo "mpirun.sh: $*" >&2
  exit 2
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
np=2
hostfile=""
dry_run=false
while (($# > 0)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    -n | -np | --np)
      (($# >= 2)) || die "$1 needs a number of ranks"
      np=$2
      shift 2
      ;;
    --hostfile)
      (($# >= 2)) || die "--hostfile needs a file"
      hostfile=$2
      shift 2
      ;;
    --dry-run) dry_run=true; shift ;;
    --) shift; break ;;
    *) break ;;  # the first argument that is not ours starts weft train's
  esac
done

[[ $np =~ ^[1-9][0-9]*$ ]] || die "the number of ranks must be a positive integer, got '$np'"
[[ -z $hostfile || -r $hostfile ]] || die "hostfile '$hostfile' cannot be read"
weft=${WEFT_BIN:-$repo/build/weft}
[[ -x $weft ]] || die "no weft binary at $weft: build it (launch/build.sh) or set WEFT_BIN"
mpirun=${MPIRUN:-mpirun}
command -v "$mpirun" > /dev/null ||
  die "'$mpirun' not found: install Open MPI (launch/install-deps.sh) or set MPIRUN"

cores=$(nproc 2> /dev/null || getconf _NPROCESSORS_ONLN)
env_shown=""
cmd=("$mpirun" -np "$np")
[[ -n $hostfile ]] && cmd+=(--hostfile "$hostfile")
cmd+=(--bind-to none --map-by slot)
((EUID == 0)) && cmd+=(--allow-run-as-root)
if [[ -z $hostfile ]]; then
  ((np > cores)) && cmd+=(--oversubscribe)
  if [[ -z ${OMP_NUM_THREADS:-} ]]; then
    export OMP_NUM_THREADS=$((cores / np > 0 ? cores / np : 1))
    cmd+=(-x OMP_NUM_THREADS)
    env_shown="OMP_NUM_THREADS=$OMP_NUM_THREADS "
  fi
fi
cmd+=("$weft" train "$@")

if $dry_run; then
  printf '%s' "$env_shown"
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
exec "${cmd[@]}"
