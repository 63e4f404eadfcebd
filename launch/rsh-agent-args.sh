# Sourced by the rsh agents for Open MPI (netns-rsh.sh, docker-rsh.sh): the
# arguments mpirun passes them as it would pass them to ssh. Skips ssh's
# options, sets $host and leaves COMMAND's words in "$@"; die() refuses with
# the agent's name and exit code 2.

agent=$(basename "$0")
die() {
  echo "$agent: $*" >&2
  exit 2
}

# Open MPI may pass ssh options (-x, -l user, -p port) before the host.
while (($# > 0)) && [[ $1 == -* ]]; do
  case $1 in
    -l | -p | -o | -i) shift 2 ;;
    *) shift ;;
  esac
done
(($# >= 2)) || die "usage: $agent HOST COMMAND... (Open MPI's plm_rsh_agent)"
host=$1
shift
