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

# cudnn-frontend's headers (header-only C++, PyPI's nvidia-cudnn-frontend
# wheel) into third_party/cudnn-frontend/include, where CMake looks for them
# to build the cuDNN attention path (WEFT_CUDNN). A matching version already
# there means no network access. Only the headers are kept; cuDNN itself is
# the CUDA installation's (build) and PyTorch's nvidia-cudnn package's or the
# toolkit's (run). Without pip or unzip, or offline, it says so and the build
# goes without cuDNN. WEFT_CUDNN_FRONTEND_VERSION (1.32.0) picks the release.
install_cudnn_frontend() {
  version=${WEFT_CUDNN_FRONTEND_VERSION:-1.32.0}
  dest=third_party/cudnn-frontend
  stamp=$dest/VERSION

  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -f "$dest/include/cudnn_frontend.h" ]; then
    echo "install-deps: cudnn-frontend $version present in $dest"
    return 0
  fi
  pip_cmd=()
  if command -v pip3 > /dev/null; then pip_cmd=(pip3); elif command -v pip > /dev/null; then pip_cmd=(pip)
  elif command -v python3 > /dev/null && python3 -m pip --version > /dev/null 2>&1; then
    pip_cmd=(python3 -m pip)
  fi
  if [ ${#pip_cmd[@]} -eq 0 ] || ! command -v unzip > /dev/null; then
    echo "install-deps: no pip or unzip here: building without cuDNN attention" >&2
    return 0
  fi

  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  if ! "${pip_cmd[@]}" download --quiet --no-deps --only-binary=:all: --dest "$tmp" "nvidia-cudnn-frontend==$version"; then
    echo "install-deps: pip could not fetch nvidia-cudnn-frontend==$version:" \
         "building without cuDNN attention" >&2
    return 0
  fi
  wheel=$(ls "$tmp"/nvidia_cudnn_frontend-*.whl | head -n 1)
  unzip -q "$wheel" 'include/*' -d "$tmp/wheel"
  rm -rf "$dest"
  mkdir -p "$dest"
  mv "$tmp/wheel/include" "$dest/include"
  echo "$version" > "$stamp"
  echo "install-deps: cudnn-frontend $version headers in $dest/include"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

(cd "$(dirname "$0")/.." && install_cudnn_frontend)
