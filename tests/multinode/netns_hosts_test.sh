#!/usr/bin/env bash
# Two hosts on one machine (launch/netns-cluster.sh: network namespaces on a
# bridge), 2 ranks each, started by mpirun through launch/netns-rsh.sh; the
# ranks talk only over TCP on the hosts' subnet. tp 2 keeps each
# tensor-parallel pair on one host, and data parallelism crosses hosts.
#
#   netns_hosts_test.sh SOURCE_DIR WEFT_BINARY WORK_DIR MODE
#
# MODE two-hosts: the losses are the single-rank run's, to 1e-5.
# MODE lost-host: once the run has a checkpoint, host 2's link goes down.
#   Host 1's ranks stop within parallel.timeout_s (10 s) and a few seconds of
#   report, with one line naming the collective and host 2's ranks, mpirun
#   ends, and the newest complete checkpoint is kept. Then the run resumes on
#   host 1 alone (2 ranks: dp 1 instead of 2) and its losses continue as the
#   single-rank run's would, to 1e-5.
#
# Exits 77 (ctest: skipped) with a "skipped: <reason>" line where network
# namespaces cannot be made (not root, no iproute2, a container without
# CAP_NET_ADMIN) or Open MPI is missing.
set -euo pipefail
source_dir=$1 weft=$2 work=$3 mode=$4

skip() {
  echo "skipped: $*"
  exit 77
}
fail() {
  echo "netns_hosts_test ($mode): $*" >&2
  exit 1
}

((EUID == 0)) || skip "making network namespaces needs root"
command -v ip > /dev/null || skip "iproute2 is not installed (launch/install-deps.sh installs it)"
command -v mpirun > /dev/null || skip "mpirun is not installed (launch/install-deps.sh)"
command -v unshare > /dev/null || skip "unshare (util-linux) is not installed"
# A name and subnet of this run's own: other runs may be up beside it.
prefix=wmn$(($$ % 100000))
subnet=10.77.$(($$ % 200 + 20)).0/24
net=${subnet%.0/24}
ip netns add "$prefix-probe" 2> /dev/null || skip "network namespaces cannot be made here"
ip netns del "$prefix-probe"

cluster=("$source_dir/launch/netns-cluster.sh" --prefix "$prefix" --subnet "$subnet")
trap '"${cluster[@]}" down > /dev/null 2>&1 || true' EXIT
"${cluster[@]}" up 2
rm -rf "$work"
mkdir -p "$work"
cd "$work"
echo "$net.1 slots=2" > host1
cp host1 both-hosts
echo "$net.2 slots=2" >> both-hosts

# mpirun from the launch node, ranks only over TCP on the subnet (no shared
# memory, not even within a host), one OpenMP thread each: 4 ranks share this
# machine's cores. A hang ends at $limit seconds.
limit=120
train_on() {  # hostfile, ranks, weft train args...
  local hosts=$1 ranks=$2
  shift 2
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 \
    timeout $limit ip netns exec "$prefix-launch" mpirun --hostfile "$hosts" -np "$ranks" --map-by slot \
    --bind-to none --allow-run-as-root -x OMP_NUM_THREADS \
    --mca plm_rsh_agent "$source_dir/launch/netns-rsh.sh" --mca oob_tcp_if_include "$subnet" \
    --mca btl tcp,self --mca btl_tcp_if_include "$subnet" \
    "$weft" train "$@" < /dev/null
}

# Steps of a few milliseconds; a constant learning rate, so that a run's
# losses do not depend on its train.steps, and dropout, which must not depend
# on the layout.
common=(--config "$source_dir/configs/tiny-gpt.ini" --optim.schedule constant
        --model.dropout 0.1 --train.eval_every 0 --train.sample_every 0 --log.every 1
        --log.progress plain --train.checkpoint_every 10)
steps=100
OMP_NUM_THREADS=1 "$weft" train "${common[@]}" --train.steps $steps --train.out one > one.log 2>&1 ||
  fail "the single-rank run failed: $(tail -5 one.log)"

# "step loss" per train event; the last one of a step wins (a resumed run
# appends to metrics.jsonl).
losses() {
  grep '"event":"train"' "$1" | sed -E 's/.*"loss":([^,}]*).*"step":([0-9]+).*/\2 \1/'
}
expect_single_rank_losses() {  # metrics.jsonl, first step, last step, what
  awk -v first="$2" -v last="$3" -v what="$4" '
    NR == FNR { reference[$1] = $2; next }
    { got[$1] = $2 }
    END {
      bad = 0
      for (s = first; s <= last; s++) {
        if (!(s in got)) { print what ": no loss for step " s; bad = 1; continue }
        d = got[s] - reference[s]; if (d < 0) d = -d
        r = reference[s] < 0 ? -reference[s] : reference[s]
        if (d > 1e-5 * r) {
          printf "%s, step %d: loss %.9f, single rank %.9f\n", what, s, got[s], reference[s]
          bad = 1
        }
      }
      exit bad
    }' <(losses one/metrics.jsonl) <(losses "$1") >&2 || fail "$4: losses differ from the single-rank run's"
  echo "ok: $4: steps $2-$3 have the single-rank run's losses"
}

if [[ $mode == two-hosts ]]; then
  train_on both-hosts 4 "${common[@]}" --parallel.tp 2 --train.steps 12 --train.out two-hosts \
    > two-hosts.log 2>&1 || fail "2 hosts x 2 ranks failed: $(tail -20 two-hosts.log)"
  grep -q "layout: 4 ranks = dp 2 x tp 2" two-hosts.log || fail "no dp 2 x tp 2 layout line"
  expect_single_rank_losses two-hosts/metrics.jsonl 1 12 "2 hosts x 2 ranks, tp 2"
  exit 0
fi
[[ $mode == lost-host ]] || fail "unknown mode '$mode': two-hosts | lost-host"

# The run would go on far past the cut; the resumed one stops at $steps.
timeout_s=10
(
  set +e
  train_on both-hosts 4 "${common[@]}" --parallel.tp 2 --train.steps 100000 \
    --parallel.timeout_s $timeout_s --train.out lost > lost.log 2>&1
  echo $? > lost.rc
) &
launched=$SECONDS
until compgen -G "lost/checkpoints/step-*/manifest.json" > /dev/null; do
  ((SECONDS - launched < 60)) || fail "no checkpoint after 60 s: $(tail -20 lost.log)"
  [[ ! -e lost.rc ]] || fail "the run ended before its first checkpoint: $(tail -20 lost.log)"
  sleep 0.01
done
"${cluster[@]}" cut 2
cut=$(date +%s.%N)

# Host 1's ranks must stop: the timeout, then a few seconds to read who
# answers and to abort. mpirun follows once TCP gives up on host 2's daemon.
weft_on_host1() {
  local pid
  for pid in $(ip netns pids "$prefix-1"); do
    [[ $(cat "/proc/$pid/comm" 2> /dev/null) == weft ]] && return 0
  done
  return 1
}
while weft_on_host1; do
  awk -v c="$cut" -v now="$(date +%s.%N)" -v most=$((timeout_s + 10)) 'BEGIN { exit now - c > most }' ||
    fail "host 1's ranks still run $((timeout_s + 10)) s after host 2 was cut off: $(tail -20 lost.log)"
  sleep 0.1
done
stopped=$(awk -v c="$cut" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - c }')
echo "ok: host 1's ranks stopped ${stopped} s after host 2 was cut off (parallel.timeout_s $timeout_s)"
wait
[[ $(cat lost.rc) != 124 ]] || fail "mpirun still ran $limit s after its start: $(tail -20 lost.log)"
[[ $(cat lost.rc) != 0 ]] || fail "the run ended normally without host 2"

# One report: the collective, and host 2's ranks (world 2 and 3) as the ones
# that did not answer; any other timeout line defers to it.
reports=$(grep -E "^weft: [a-z_]+ #[0-9]+ on mpi .* timed out after $timeout_s s: .* did not answer" \
  lost.log || true)
[[ $(grep -c . <<< "$reports") == 1 && -n $reports ]] ||
  fail "expected one timeout report, got: $(grep 'timed out' lost.log)"
grep -qE "(rank\(s\) [0-9]+ \(world [23]\)|rank\(s\) [23](, [23])?) did not answer, and every other rank arrived" \
  <<< "$reports" || fail "the report does not name host 2's ranks alone: $reports"
echo "ok: one report: ${reports#weft: }"

newest=$(ls -d lost/checkpoints/step-*/ | sort | tail -1)
complete=$(for d in lost/checkpoints/step-*/; do [[ -e $d/manifest.json ]] && echo "$d"; done |
  sort | tail -1)
[[ -n $complete ]] || fail "no complete checkpoint left in lost/checkpoints"
kept=$((10#${complete//[^0-9]/}))
((kept < steps)) || fail "the cut came only after step $kept; the test needs one before step $steps"
echo "ok: checkpoint of step $kept kept (newest directory: $newest)"
expect_single_rank_losses lost/metrics.jsonl 1 "$kept" "4 ranks on 2 hosts, before the cut"

train_on host1 2 "${common[@]}" --parallel.tp 2 --train.steps $steps --train.resume \
  --train.out lost > resumed.log 2>&1 || fail "the resume on host 1 failed: $(tail -20 resumed.log)"
grep -q "layout: 2 ranks = dp 1 x tp 2" resumed.log || fail "no dp 1 x tp 2 layout line"
grep -q "resumed from .*step-0*$kept (step $kept)" resumed.log ||
  fail "did not resume from step $kept: $(grep -i resum resumed.log)"
expect_single_rank_losses lost/metrics.jsonl $((kept + 1)) $steps "resumed on host 1 alone (dp 1)"
