#!/usr/bin/env bash
# Usage: launch/docker-build.sh [cpu | cuda | base]
#
# Builds weft's Docker images on a machine that reaches Debian's package
# mirror but no image registry. The base image a Dockerfile names in its FROM
# line (debian:bookworm-slim) is made here: debootstrap of that release from
# the mirror apt is configured with, imported under that tag. Each step is
# skipped where its result exists; the weft image itself is rebuilt from
# Docker's cache, which makes an unchanged tree cost seconds.
#
#   cpu    (default) the base image, then docker/cpu.Dockerfile as weft:cpu
#   cuda   the base image, then weft-cuda-base:<version>: it plus this
#          machine's CUDA toolkit (/usr/local/cuda, with cuDNN and NCCL in it),
#          in place of NVIDIA's image, which only a registry serves; then
#          docker/cuda.Dockerfile FROM it as weft:cuda
#   base   only the base image
#
# Needs root, the docker client and a daemon (started here as
# `dockerd --storage-driver=vfs` when none answers and dockerd is installed:
# apt-get install docker.io), and debootstrap while the base image is
# missing. WEFT_DEBIAN_MIRROR overrides the mirror read from /etc/apt.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "docker-build.sh: $*" >&2
  exit 2
}
usage() { sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

target=cpu
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  "" | cpu | cuda | base) target=${1:-cpu} ;;
  *) die "unknown image '$1': cpu | cuda | base (--help)" ;;
esac
(($# <= 1)) || die "one image at most, got '$*' (--help)"

toolkit=""
if [[ $target == cuda ]]; then
  # NVIDIA's image (docker/cuda.Dockerfile's default FROM) is Ubuntu's, with
  # a toolkit of NVIDIA's packages: neither a registry nor Debian's mirror
  # serves it here, so the toolkit comes from this machine instead.
  [[ -x /usr/local/cuda/bin/nvcc ]] ||
    die "no CUDA toolkit at /usr/local/cuda to copy in, and NVIDIA's image" \
      "($(sed -n 's/^ARG CUDA_IMAGE=//p' docker/cuda.Dockerfile)) only a registry serves"
  toolkit=$(readlink -f /usr/local/cuda)
  version=$(/usr/local/cuda/bin/nvcc --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
  [[ -n $version ]] || die "cannot read the CUDA version from /usr/local/cuda/bin/nvcc --version"
fi

((EUID == 0)) || die "needs root: debootstrap and the Docker daemon both do (run it with sudo)"
command -v docker > /dev/null || die "no docker client: apt-get install docker.io"
./launch/docker-daemon.sh

# FROM debian:bookworm-slim -> release bookworm: minbase is what -slim holds.
base=$(awk '$1 == "FROM" { print $2; exit }' docker/cpu.Dockerfile)
[[ $base =~ ^debian:([a-z]+)(-slim)?$ ]] ||
  die "docker/cpu.Dockerfile starts FROM '$base'; only debian:<release>[-slim] can be made here"
release=${BASH_REMATCH[1]}

mirror() {
  if [[ -n ${WEFT_DEBIAN_MIRROR:-} ]]; then
    echo "$WEFT_DEBIAN_MIRROR"
    return
  fi
  # deb822 (URIs: ...) or one-line (deb URL suite ...) sources; not -security.
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
    2> /dev/null | awk '
      $1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }
      $1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' |
    grep -E '/debian/?$' | head -1 || true
}

if docker image inspect "$base" > /dev/null 2>&1; then
  echo "docker-build.sh: base image $base exists"
else
  command -v debootstrap > /dev/null || die "base image $base is missing and debootstrap is not installed: apt-get install debootstrap"
  url=$(mirror)
  [[ -n $url ]] || die "no Debian mirror in /etc/apt/sources.list*: set WEFT_DEBIAN_MIRROR"
  rootfs=$(mktemp -d /var/tmp/weft-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "docker-build.sh: debootstrap $release from $url (a few minutes)"
  nice debootstrap --variant=minbase "$release" "$rootfs" "$url" > "$rootfs.log" 2>&1 ||
    die "debootstrap failed; its log: $rootfs.log"
  rm -f "$rootfs.log"
  # What a registry's image leaves out: package lists and caches. The
  # folders stay, owned as apt made them: its _apt user writes into them.
  find "$rootfs"/var/lib/apt/lists "$rootfs"/var/cache/apt -type f -delete
  tar -C "$rootfs" --numeric-owner -c . |
    docker import --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" > /dev/null
  rm -rf "$rootfs"
  trap - EXIT
  echo "docker-build.sh: imported $base"
fi

case $target in
  base) ;;
  cpu)
    echo "docker-build.sh: docker build -f docker/cpu.Dockerfile -t weft:cpu ."
    nice docker build -f docker/cpu.Dockerfile -t weft:cpu .
    echo "docker-build.sh: built weft:cpu"
    ;;
  cuda)
    cuda_base=weft-cuda-base:$version
    if docker image inspect "$cuda_base" > /dev/null 2>&1; then
      echo "docker-build.sh: $cuda_base exists"
    else
      echo "docker-build.sh: $cuda_base: $base with $toolkit ($(du -sh "$toolkit" | cut -f1))"
      # Two steps: with the vfs driver every step copies the whole image.
      nice docker build -t "$cuda_base" -f - "$toolkit" <<EOF
FROM $base
COPY . /usr/local/cuda
ENV PATH=/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LD_LIBRARY_PATH=/usr/local/cuda/lib64
EOF
    fi
    echo "docker-build.sh: docker build -f docker/cuda.Dockerfile --build-arg CUDA_IMAGE=$cuda_base -t weft:cuda ."
    nice docker build -f docker/cuda.Dockerfile --build-arg CUDA_IMAGE="$cuda_base" -t weft:cuda .
    echo "docker-build.sh: built weft:cuda"
    ;;
esac
