#!/usr/bin/env bash
# Usage: launch/netns-rsh.sh [ssh options] HOST COMMAND...
#
# An rsh agent for Open MPI (`--mca plm_rsh_agent launch/netns-rsh.sh`) over
# the hosts of launch/netns-cluster.sh: where ssh would log into HOST, this
# runs COMMAND inside HOST's network namespace. HOST is a namespace's name or
# the address of its eth0, as a hostfile lists them. Like ssh, it hands the
# words of COMMAND to a shell as one line (Open MPI quotes them for that).
#
# Each host also gets a hostname of its own (its namespace's name, in a UTS
# namespace): Open MPI tells hosts apart by name, and with the machine's one
# name it would take every rank for a neighbour and pass bytes through
# shared memory instead of the network.
set -euo pipefail

source "$(dirname "$0")/rsh-agent-args.sh"

namespace=""
for ns in $(ip netns list 2> /dev/null | awk '{print $1}'); do
  if [[ $ns == "$host" ]] ||
    ip -n "$ns" -4 -o addr show 2> /dev/null | awk '{print $4}' | grep -qx "$host/[0-9]*"; then
    namespace=$ns
    break
  fi
done
[[ -n $namespace ]] ||
  die "no network namespace is host '$host' (launch/netns-cluster.sh status lists them)"

exec ip netns exec "$namespace" unshare --uts sh -c 'hostname "$1" && exec sh -c "$2"' \
  netns-rsh "$namespace" "$*"
