#!/usr/bin/env bash
# Usage: launch/docker-rsh.sh [ssh options] HOST COMMAND...
#
# An rsh agent for Open MPI (`--mca plm_rsh_agent launch/docker-rsh.sh`) over
# running Docker containers: where ssh would log into HOST, this runs COMMAND
# in the container whose name, hostname or address on one of its networks is
# HOST (`docker exec`). mpirun runs on this machine, outside the containers,
# and its daemons inside them reach it and each other over their bridge
# network; the images need no ssh. Like ssh, it hands the words of COMMAND to
# a shell as one line (Open MPI quotes them for that). Give mpirun
# `--mca plm_rsh_no_tree_spawn 1`: a daemon inside a container has no docker
# client to start the next one with.
set -euo pipefail

source "$(dirname "$0")/rsh-agent-args.sh"
command -v docker > /dev/null || die "no docker client: apt-get install docker.io"

container=""
for name in $(docker ps --format '{{.Names}}'); do
  if docker inspect -f '{{.Name}} {{.Config.Hostname}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' \
    "$name" | tr ' ' '\n' | sed 's|^/||' | grep -qxF "$host"; then
    container=$name
    break
  fi
done
[[ -n $container ]] || die "no running container is host '$host' (docker ps lists them)"

exec docker exec -i "$container" sh -c "$*"
