#!/usr/bin/env bash
# The Docker scripts' cheap half (label docker), seconds and no daemon: every
# bad input is refused with one line and exit 2, the Dockerfiles install
# weft's dependencies with the script a developer runs, and the base image
# the build makes is the one the CPU Dockerfile names. Building and running the images takes 15 minutes and more
# on 2 cores, beyond CI's budget: launch/docker-test.sh does that (README,
# "Docker").
#
#   check_docker_scripts.sh SOURCE_DIR
set -euo pipefail
source_dir=$1
launch=$source_dir/launch
failures=0

fail() {
  echo "FAILED: $*"
  failures=$((failures + 1))
}
# script args... : exit 2 and exactly one line, naming the script.
expect_refusal() {
  local out rc=0
  out=$("$@" 2>&1 < /dev/null) || rc=$?
  local name
  name=$(basename "$1")
  if [[ $rc != 2 || $(grep -c . <<< "$out") != 1 || $out != "$name: "* ]]; then
    fail "$name ${*:2}: expected one '$name: ...' line and exit 2, got exit $rc: $out"
  else
    echo "ok: $name ${*:2} -> $out"
  fi
}

expect_refusal "$launch/docker-build.sh" bogus
expect_refusal "$launch/docker-build.sh" cpu cuda
expect_refusal "$launch/docker-test.sh" --bogus
expect_refusal "$launch/docker-test.sh" --no-build extra
expect_refusal "$launch/docker-daemon.sh" extra
expect_refusal "$launch/docker-rsh.sh" only-a-host


for f in cpu cuda; do
  grep -q '^RUN ./launch/install-deps.sh' "$source_dir/docker/$f.Dockerfile" &&
    grep -q '^COPY launch/install-deps.sh' "$source_dir/docker/$f.Dockerfile" ||
    fail "docker/$f.Dockerfile does not install weft's dependencies with launch/install-deps.sh"
done
from=$(awk '$1 == "FROM" { print $2; exit }' "$source_dir/docker/cpu.Dockerfile")
[[ $from =~ ^debian:[a-z]+(-slim)?$ ]] ||
  fail "docker/cpu.Dockerfile starts FROM '$from': docker-build.sh makes only debian:<release>[-slim]"

((failures == 0)) || exit 1
echo "ok: the Docker scripts refuse bad input; the images are built by launch/docker-test.sh"
