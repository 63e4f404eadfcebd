#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages weft builds against. Idempotent: a
# package already present is skipped, so a machine that has everything makes
# no network access at all.
set -euo pipefail

packages=(
  build-essential
  cmake
  pkg-config
  libopenblas-openmp-dev         # CPU GEMM, sharing OpenMP's thread pool with our kernels
  libdnnl-dev                    # oneDNN: CPU bf16 GEMMs (AVX-512 BF16, AMX)
  ocl-icd-opencl-dev             # oneDNN's CMake config requires OpenCL; libdnnl-dev only recommends it
  libboost-program-options-dev
  libgtest-dev
  libgmock-dev                   # GoogleTest's matchers, which libgtest-dev leaves out
  libsentencepiece-dev
  nlohmann-json3-dev
  libopenmpi-dev
  openmpi-bin
  iproute2                       # network namespaces as hosts (launch/netns-cluster.sh, label multinode)
  clang                          # the checking build: sanitizers and libFuzzer (launch/sanitize.sh)
  libclang-rt-dev
  libomp-dev                     # clang's OpenMP runtime
)
# Not chromium: the one test that needs a browser (report.browser_screenshot)
# skips visibly without it, and it is hundreds of MB (README, "Run reports").

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
