#!/usr/bin/env bash
# Runs launch/docker-test.sh (building weft:cpu, training and translating in
# a container, two containers as two hosts of one mpirun) where asked to with
# WEFT_DOCKER_TEST=1 and a Docker daemon answers or can be started. From a
# bare machine it builds the base image and weft in 15 minutes and more on
# 2 cores, beyond CI's budget, so otherwise it exits 77 (ctest: skipped) with
# a "skipped: <reason>" line.
#
#   docker_images_test.sh SOURCE_DIR
set -euo pipefail
source_dir=$1

skip() {
  echo "skipped: $*"
  exit 77
}
[[ ${WEFT_DOCKER_TEST:-0} == 1 ]] ||
  skip "building the images takes 15 minutes and more; WEFT_DOCKER_TEST=1 runs it (README, \"Docker\")"
((EUID == 0)) || skip "the Docker daemon needs root"
command -v mpirun > /dev/null || skip "no mpirun here (launch/install-deps.sh installs Open MPI)"
reason=$("$source_dir/launch/docker-daemon.sh" 2>&1) || skip "no Docker daemon: $reason"
exec "$source_dir/launch/docker-test.sh"
