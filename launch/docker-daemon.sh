#!/usr/bin/env bash
# Usage: launch/docker-daemon.sh
#
# Makes sure a Docker daemon answers: exits 0 at once where one does, else
# starts `dockerd --storage-driver=vfs` in the background (vfs works on any
# file system, overlay-in-a-container included) and waits up to 60 s for it.
# Exits 2 with one line saying why where no daemon can be had: not root, no
# dockerd (apt-get install docker.io), or one that does not start (its log is
# named). The daemon is left running for later builds.
set -euo pipefail

die() {
  echo "docker-daemon.sh: $*" >&2
  exit 2
}

(($# == 0)) || die "takes no arguments, got '$*'"
command -v docker > /dev/null || die "no docker client: apt-get install docker.io"
docker info > /dev/null 2>&1 && exit 0
((EUID == 0)) || die "no Docker daemon answers, and starting one needs root"
command -v dockerd > /dev/null || die "no Docker daemon answers and dockerd is not installed: apt-get install docker.io"

log=/var/log/weft-dockerd.log
echo "docker-daemon.sh: starting dockerd --storage-driver=vfs (log: $log)"
setsid dockerd --storage-driver=vfs > "$log" 2>&1 < /dev/null &
for ((i = 0; i < 600; i++)); do
  docker info > /dev/null 2>&1 && exit 0
  kill -0 $! 2> /dev/null || die "dockerd ended at start: $(tail -3 "$log" | tr '\n' ' ')"
  sleep 0.1
done
die "dockerd did not answer within 60 s: $(tail -3 "$log" | tr '\n' ' ')"
