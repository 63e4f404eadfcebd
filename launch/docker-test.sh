#!/usr/bin/env bash
# Usage: launch/docker-test.sh [--no-build]
#
# Builds weft:cpu (launch/docker-build.sh; --no-build takes the image as it
# is) and checks it:
#   1. one container: `weft train` on the built-in corpus (numbers to English
#      words) for 300 steps, then `weft translate` of three numbers it never
#      saw: one line each, every line lowercase words.
#   2. two containers as two hosts of one mpirun, 2 ranks each (tp 2 within a
#      host, dp 2 across), on a Docker bridge network of their own, ranks
#      talking over TCP alone: 12 steps whose losses are a single rank's, to
#      1e-5, as tests/multinode checks network namespaces. mpirun runs here,
#      outside the containers, starting its daemons in them through
#      launch/docker-rsh.sh; the run directory is one folder of this machine
#      mounted in both, as a shared file system would be.
# Containers, the network and the folder are removed on any exit. Exits 2
# where it cannot run (not root, no docker or dockerd, no mpirun here), 1 on
# a failed check.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD

die() {
  echo "docker-test.sh: $*" >&2
  exit 2
}
fail() {
  echo "docker-test.sh: FAILED: $*" >&2
  exit 1
}

build=true
case ${1:-} in
  "") ;;
  --no-build) build=false ;;
  -h | --help) sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option '$1' (--no-build | --help)" ;;
esac
(($# <= 1)) || die "one option at most, got '$*'"
((EUID == 0)) || die "needs root, as the Docker daemon does (run it with sudo)"
# This machine's mpirun starts the ranks: it must be the image's Open MPI,
# Debian's, as launch/install-deps.sh installs it.
command -v mpirun > /dev/null || die "no mpirun here: launch/install-deps.sh installs Open MPI"

if $build; then
  ./launch/docker-build.sh cpu
else
  ./launch/docker-daemon.sh
fi
docker image inspect weft:cpu > /dev/null 2>&1 || die "no image weft:cpu: run without --no-build"

# Names of this run's own: other runs may be up beside it.
tag=weft-dt$$
work=$(mktemp -d /tmp/weft-docker-test.XXXXXX)
cleanup() {
  docker rm -f "$tag-1" "$tag-2" > /dev/null 2>&1 || true
  docker network rm "$tag" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. Train and translate in one container.
start=$SECONDS
docker run --rm -v "$work:/runs" weft:cpu sh -c '
  weft train --train.steps 300 --train.eval_every 0 --train.sample_every 0 \
    --train.checkpoint_every 300 --log.progress plain --train.out /runs/numbers > /runs/train.log 2>&1 &&
  printf "%s\n" 47 3018 560912 | weft translate --checkpoint /runs/numbers --beam 2 --max-extra 100 \
    > /runs/translated.txt 2> /runs/translate.log' ||
  fail "train or translate in a container failed: $(tail -5 "$work"/train.log "$work"/translate.log 2> /dev/null)"
[[ $(wc -l < "$work/translated.txt") == 3 ]] || fail "translate gave not 3 lines: $(cat "$work/translated.txt")"
# 300 steps write most numbers right and misspell some ("eighten"): the
# check is that the model writes words, one line per number.
grep -qvxE '[a-z]+([ -][a-z]+)*' "$work/translated.txt" &&
  fail "translate gave lines other than lowercase words: $(paste -d'|' - - - < "$work/translated.txt")"
echo "ok: train (300 steps) and translate in a container, $((SECONDS - start)) s:" \
  "47, 3018, 560912 -> $(paste -d'|' - - - < "$work/translated.txt")"

# 2. Two containers as two hosts of one mpirun.
start=$SECONDS
docker network create "$tag" > /dev/null
# Each daemon checks that mpirun's rsh agent exists at its path, and dies
# where it does not: the agent is mounted there, though only mpirun runs it.
agent=$source_dir/launch/docker-rsh.sh
for i in 1 2; do
  docker run -d --name "$tag-$i" --hostname "$tag-$i" --network "$tag" --shm-size 256m \
    -v "$work:/runs" -v "$agent:$agent:ro" weft:cpu sleep infinity > /dev/null
done
address() { docker inspect -f "{{(index .NetworkSettings.Networks \"$tag\").IPAddress}}" "$1"; }
subnet=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' "$tag")
printf '%s slots=2\n' "$(address "$tag-1")" "$(address "$tag-2")" > "$work/hosts"

# Steps of a few milliseconds, a constant learning rate and dropout, as
# tests/multinode runs them; one OpenMP thread a rank, 4 ranks on this
# machine's cores. The single rank runs in the same image.
common=(--config /opt/weft/configs/tiny-gpt.ini --optim.schedule constant --model.dropout 0.1
        --train.eval_every 0 --train.sample_every 0 --log.every 1 --log.progress plain
        --train.checkpoint_every 0 --train.steps 12)
docker exec -e OMP_NUM_THREADS=1 "$tag-1" weft train "${common[@]}" --train.out /runs/one \
  > "$work/one.log" 2>&1 || fail "the single-rank run failed: $(tail -5 "$work/one.log")"
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 \
  timeout 180 mpirun --hostfile "$work/hosts" -np 4 --map-by slot --bind-to none --allow-run-as-root \
  -x OMP_NUM_THREADS --mca plm_rsh_agent "$agent" \
  --mca plm_rsh_no_tree_spawn 1 --mca oob_tcp_if_include "$subnet" \
  --mca btl tcp,self --mca btl_tcp_if_include "$subnet" \
  weft train "${common[@]}" --parallel.tp 2 --train.out /runs/two-hosts < /dev/null \
  > "$work/two-hosts.log" 2>&1 || fail "2 containers x 2 ranks failed: $(tail -20 "$work/two-hosts.log")"
grep -q "layout: 4 ranks = dp 2 x tp 2" "$work/two-hosts.log" || fail "no dp 2 x tp 2 layout line"

losses() { grep '"event":"train"' "$1" | sed -E 's/.*"loss":([^,}]*).*"step":([0-9]+).*/\2 \1/'; }
awk 'NR == FNR { reference[$1] = $2; next }
  { d = $2 - reference[$1]; if (d < 0) d = -d; r = reference[$1] < 0 ? -reference[$1] : reference[$1]
    if (!($1 in reference) || d > 1e-5 * r) { printf "step %d: loss %.9f, single rank %s\n", $1, $2, reference[$1]; bad = 1 }
    n++ }
  END { exit bad || n != 12 }' <(losses "$work/one/metrics.jsonl") <(losses "$work/two-hosts/metrics.jsonl") >&2 ||
  fail "the two containers' losses are not the single rank's (12 steps expected)"
echo "ok: 2 containers x 2 ranks (dp 2 x tp 2) over bridge $subnet, $((SECONDS - start)) s:" \
  "steps 1-12 have the single rank's losses"
