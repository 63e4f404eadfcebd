#!/usr/bin/env bash
# Usage: launch/netns-cluster.sh [--prefix P] [--subnet A.B.C.0/24] COMMAND
#
# Several hosts on one machine: each host is a network namespace with its own
# loopback and one link (eth0) to a bridge in this namespace, so processes in
# different hosts reach each other only over TCP across the bridge, as on a
# cluster. The file system stays shared: binaries and run directories are at
# the same paths on every host. Needs root and iproute2.
#
#   up N          create hosts P-1 .. P-N at A.B.C.1 .. A.B.C.N, and P-launch
#                 at A.B.C.254, the node to start mpirun on
#   down          remove every host of prefix P and the bridge (idempotent;
#                 processes still inside a host are killed)
#   status        one line per host: namespace, address, link state
#   hostfile S    an Open MPI hostfile: each host's address with S slots
#   cut I         take host I's link down, as if its cable were pulled
#
#   --prefix P        namespace name prefix (default weftns; at most 9
#                     characters, as interface names take it too)
#   --subnet NET/24   the hosts' private subnet (default 10.77.0.0/24)
#   -h, --help        this text
#
# Start mpirun in P-launch (`ip netns exec P-launch mpirun ...`) with
# launch/netns-rsh.sh as its rsh agent (README: "Across machines"). There
# TCP gives up on an unanswered peer after about 6 s (net.ipv4.tcp_retries2
# = 4; Linux's default waits some 15 minutes): once the ranks have stopped
# after losing a host, mpirun still waits for that host's daemon to
# acknowledge the end of the job, and this bounds the wait. The hosts keep
# Linux's default, so that weft's own timeout, not TCP, notices a lost host.
# Example:
#   launch/netns-cluster.sh up 2
#   launch/netns-cluster.sh hostfile 2 > /tmp/hosts
#   ip netns exec weftns-launch mpirun --hostfile /tmp/hosts \
#     --mca plm_rsh_agent launch/netns-rsh.sh ...
#   launch/netns-cluster.sh down
set -Eeuo pipefail

usage() { sed -n '2,/^set -Eeuo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() {
  echo "netns-cluster.sh: $*" >&2
  exit 2
}

prefix=weftns
subnet=10.77.0.0/24
while (($# > 0)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --prefix)
      (($# >= 2)) || die "--prefix needs a name"
      prefix=$2
      shift 2
      ;;
    --subnet)
      (($# >= 2)) || die "--subnet needs a network such as 10.77.0.0/24"
      subnet=$2
      shift 2
      ;;
    -*) die "unknown option '$1' (--help lists them)" ;;
    *) break ;;
  esac
done
(($# >= 1)) || die "no command: up N | down | status | hostfile SLOTS | cut I (--help)"
command=$1
shift

# Interface names hold at most 15 bytes: "<prefix>-v<host>" with up to 4 digits.
[[ $prefix =~ ^[a-z][a-z0-9]{0,8}$ ]] ||
  die "the prefix must be 1-9 lowercase letters or digits, starting with a letter, got '$prefix'"
[[ $subnet =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.0/24$ ]] &&
  ((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 255)) ||
  die "the subnet must be a /24 such as 10.77.0.0/24, got '$subnet'"
net=${subnet%.0/24}
bridge=$prefix-br
launcher=$prefix-launch

count_arg() {  # name, value, most
  [[ $2 =~ ^[1-9][0-9]*$ ]] && (($2 <= $3)) || die "$1 must be a number from 1 to $3, got '$2'"
}
case $command in
  up) (($# == 1)) || die "usage: up N (the number of hosts)"; count_arg "the number of hosts" "$1" 253 ;;
  hostfile) (($# == 1)) || die "usage: hostfile SLOTS"; count_arg "the slots per host" "$1" 1024 ;;
  cut) (($# == 1)) || die "usage: cut I (a host number)"; count_arg "the host number" "$1" 253 ;;
  down | status) (($# == 0)) || die "$command takes no arguments, got '$*'" ;;
  *) die "unknown command '$command': up N | down | status | hostfile SLOTS | cut I" ;;
esac

command -v ip > /dev/null || die "needs iproute2 ('ip' not found): apt-get install iproute2"
((EUID == 0)) || die "needs root to make network namespaces and links (run it with sudo)"

# This prefix's hosts, in host-number order.
hosts() {
  ip netns list 2> /dev/null | awk '{print $1}' | grep -E "^$prefix-[0-9]+$" | sort -t- -k2 -n || true
}

down() {
  local ns pids link
  for ns in $(hosts) $(ip netns list 2> /dev/null | awk '{print $1}' | grep -x "$launcher"); do
    # A host's processes would keep its namespace alive behind the name.
    pids=$(ip netns pids "$ns" 2> /dev/null || true)
    [[ -z $pids ]] || kill -9 $pids 2> /dev/null || true
    ip netns del "$ns" 2> /dev/null || true
  done
  ip netns del "$launcher" 2> /dev/null || true
  # A namespace goes, and its links with it, once its last process has; the
  # bridge's ends of the links are deleted here not to wait for that.
  for link in $(ip -o link show 2> /dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
    grep -E "^$prefix-v([0-9]+|l)$" || true); do
    ip link del "$link" 2> /dev/null || true
  done
  ip link del "$bridge" 2> /dev/null || true
  while command -v iptables > /dev/null &&
    iptables -D FORWARD -i "$bridge" -o "$bridge" -j ACCEPT 2> /dev/null; do :; done
}

attach() {  # namespace, its link's name on the bridge, address
  ip netns add "$1"
  ip link add "$2" type veth peer name eth0 netns "$1"
  ip link set "$2" master "$bridge" up
  ip -n "$1" addr add "$3/24" dev eth0
  ip -n "$1" link set lo up
  ip -n "$1" link set eth0 up
}

# Whether bridged IPv4 frames go through iptables here (br_netfilter loaded
# with bridge-nf-call-iptables on) and iptables can open the bridge.
bridge_firewalled() {
  [[ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2> /dev/null) == 1 ]] &&
    command -v iptables > /dev/null
}

up() {
  local n=$1 i ns
  [[ -z $(hosts) ]] && ! ip netns list 2> /dev/null | awk '{print $1}' | grep -qx "$launcher" ||
    die "hosts of prefix '$prefix' exist already: 'down' first (status lists them)"
  # A subnet some other interface routes would send the hosts' traffic astray.
  if ip -4 route show "$subnet" 2> /dev/null | grep -qv "dev $bridge "; then
    die "$subnet is routed here already ($(ip -4 route show "$subnet" | head -1)): pick another --subnet"
  fi
  trap 'down; die "up failed (the line above says why); removed what it had made"' ERR
  ip link add "$bridge" type bridge
  # Bridged frames must not pass through the host firewall (Docker's FORWARD DROP).
  [[ ! -e /sys/class/net/$bridge/bridge/nf_call_iptables ]] ||
    echo 0 > "/sys/class/net/$bridge/bridge/nf_call_iptables"
  # The per-bridge switch cannot turn off the machine-wide one
  # (net.bridge.bridge-nf-call-iptables, which Docker sets): then let the
  # bridge's own traffic through ahead of every other FORWARD rule.
  if bridge_firewalled; then iptables -I FORWARD 1 -i "$bridge" -o "$bridge" -j ACCEPT; fi
  ip link set "$bridge" up
  for ((i = 1; i <= n; i++)); do
    attach "$prefix-$i" "$prefix-v$i" "$net.$i"
  done
  attach "$launcher" "$prefix-vl" "$net.254"
  ip netns exec "$launcher" sysctl -q -w net.ipv4.tcp_retries2=4
  trap - ERR
  echo "netns-cluster.sh: hosts $prefix-1..$prefix-$n at $net.1..$net.$n," \
    "$launcher at $net.254 (start mpirun there), bridge $bridge"
}

status() {
  local ns address state any=false
  for ns in $(hosts) $(ip netns list 2> /dev/null | awk '{print $1}' | grep -x "$launcher"); do
    any=true
    address=$(ip -n "$ns" -4 -o addr show dev eth0 2> /dev/null | awk '{print $4}')
    state=$(ip -n "$ns" -o link show dev eth0 2> /dev/null | grep -o 'state [A-Z]*' || echo "no link")
    echo "$ns ${address:-no address} ${state#state }"
  done
  $any || echo "netns-cluster.sh: no hosts of prefix '$prefix'"
}

case $command in
  up) up "$1" ;;
  down) down ;;
  status) status ;;
  hostfile)
    [[ -n $(hosts) ]] || die "no hosts of prefix '$prefix': 'up N' first"
    for ns in $(hosts); do echo "$net.${ns##*-} slots=$1"; done
    ;;
  cut)
    ip netns list | awk '{print $1}' | grep -qx "$prefix-$1" || die "no host $prefix-$1 (status lists them)"
    ip -n "$prefix-$1" link set eth0 down
    ;;
esac
