#!/usr/bin/env bash
# Builds, on this machine, what a lent GPU machine runs: weft, its GPU unit
# tests and the NCCL collective tests with the CUDA backend for sm_80 and
# sm_90 and portable CPU code (the GPU machine's CPU is another model), then
# gathers them into one folder with launch/gpu-check.sh, the PyTorch
# reference, every shared library the binaries need that the GPU machine
# does not provide, and Open MPI's components, help texts and settings
# (openmpi/), which gpu-check.sh points Open MPI at: the NCCL tests run as
# one process that starts MPI by itself (a singleton), with no mpirun.
#
# weft and the unit tests are built without MPI, the NCCL tests apart (in
# BUILD_DIR-mpi): Open MPI's libraries ask for a newer C library than weft
# does, and a GPU machine with an older one should lose only the NCCL tests.
#
#   launch/gpu-bundle.sh [BUNDLE_DIR]     (default build-gpu/bundle)
#
# Left out, found there at run time by gpu-check.sh: the C library, the CUDA
# runtime, cuBLAS/cuBLASLt and NVRTC (the machine's CUDA toolkit), NCCL and
# cuDNN 9 (its PyTorch packages; cuDNN serves bf16 attention when this
# machine has cuDNN and install-deps.sh's cudnn-frontend headers). oneDNN is
# not built in (WEFT_WITH_ONEDNN=OFF): its 40 MB would not fit, and GPU runs
# need no CPU bf16 GEMM (the CPU widens bf16 products to f32 there). Nor is
# OpenBLAS (35 MB): the bundle links the reference BLAS statically
# (WEFT_REFERENCE_BLAS), since its CPU computes only the GPU tests' references.
# The folder must stay under 60 MiB; the script says its size and refuses a
# larger one. WEFT_GPU_BUILD_DIR (build-gpu) and WEFT_JOBS choose the builds.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${WEFT_GPU_BUILD_DIR:-build-gpu}
bundle=${1:-$build_dir/bundle}
jobs=${WEFT_JOBS:-$(nproc)}
limit_mib=60

if [ ! -x /usr/local/cuda/bin/nvcc ] && ! command -v nvcc > /dev/null; then
  echo "gpu-bundle.sh: no CUDA toolkit here (nvcc not found): the bundle needs the CUDA backend" >&2
  exit 2
fi

# configure BUILD_DIR MPI(ON|OFF)
configure() {
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release -DWEFT_NATIVE=OFF -DWEFT_CUDA=ON \
    "-DCMAKE_CUDA_ARCHITECTURES=80;90" -DWEFT_WITH_ONEDNN=OFF -DWEFT_REFERENCE_BLAS=ON \
    "-DCMAKE_DISABLE_FIND_PACKAGE_MPI=$([ "$2" = ON ] && echo OFF || echo ON)"
  if ! grep -q 'src/backend/cuda/' "$1/compile_commands.json"; then
    echo "gpu-bundle.sh: $1 has no CUDA backend (cmake printed 'weft: CUDA backend OFF')" >&2
    exit 2
  fi
}
configure "$build_dir" OFF
configure "$build_dir-mpi" ON
if ! grep -q 'src/comm/nccl_communicator.cc' "$build_dir-mpi/compile_commands.json" ||
   ! command -v ompi_info > /dev/null; then
  echo "gpu-bundle.sh: $build_dir-mpi has no NCCL communicator or Open MPI is missing" \
       "(launch/install-deps.sh installs Open MPI; NCCL comes with the CUDA toolkit)" >&2
  exit 2
fi
cmake --build "$build_dir" -j "$jobs" --target weft test_backend_cuda
cmake --build "$build_dir-mpi" -j "$jobs" --target test_nccl

rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib/runtime"
for binary in "$build_dir/weft" "$build_dir/tests/test_backend_cuda" \
              "$build_dir-mpi/tests/test_nccl"; do
  cp "$binary" "$bundle/bin/"
  strip --strip-unneeded "$bundle/bin/$(basename "$binary")"
done
cp launch/gpu-check.sh launch/pytorch_gpt2.py configs/tiny-gpt.ini "$bundle/"

# A library the GPU machine has: the C runtime and the loader, the CUDA
# toolkit's libraries (NVRTC among them), the driver, NCCL and cuDNN.
provided_there() {
  case "$1" in
    linux-vdso.so*|ld-linux*|libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*) return 0 ;;
    libcuda.so*|libcudart.so*|libcublas.so*|libcublasLt.so*|libnvrtc.so*) return 0 ;;
    libnccl.so*|libcudnn*) return 0 ;;
  esac
  return 1
}

# The C++ and OpenMP runtimes wait apart, in lib/runtime: this machine's are
# built against its C library, which may be newer than the GPU machine's, so
# gpu-check.sh takes them only where the GPU machine's own lack a version the
# binaries ask for.
missing=()
while read -r name arrow path _; do
  [ "$arrow" = "=>" ] || continue
  provided_there "$name" && continue
  if [ "$path" = "not" ]; then
    missing+=("$name")
    continue
  fi
  case $name in
    libstdc++.so*|libgcc_s.so*|libgomp.so*) cp -L "$path" "$bundle/lib/runtime/$name" ;;
    *) cp -L "$path" "$bundle/lib/$name" ;;
  esac
done < <(ldd "$bundle"/bin/* | sort -u)
if [ ${#missing[@]} -gt 0 ]; then
  echo "gpu-bundle.sh: these libraries are not found here: ${missing[*]}" >&2
  exit 2
fi

# Open MPI's components (plugins it opens at start), help texts and settings.
# A component that needs a library neither bundled nor on every machine
# (InfiniBand verbs, UCX, PSM, libfabric, an external PMIx, OpenSHMEM) is
# left out: the singleton runs on shared memory. Open MPI's own libraries
# that the components kept link (libmca_common_*) are bundled.
ompi_path() { ompi_info --path "$1" --parsable | sed "s/^path:$1://"; }
mkdir -p "$bundle/openmpi/lib" "$bundle/openmpi/share" "$bundle/openmpi/etc"
cp -r "$(ompi_path pkglibdir)" "$bundle/openmpi/lib/components"
cp -r "$(ompi_path pkgdatadir)"/. "$bundle/openmpi/share/"
cp -r "$(ompi_path sysconfdir)"/. "$bundle/openmpi/etc/"
rm -f "$bundle"/openmpi/lib/components/*.la
dropped=()
declare -A common=()  # libmca_common_* the kept components need: name -> path
for component in "$bundle"/openmpi/lib/components/*.so; do
  needs=()
  while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    if provided_there "$name" || [ -e "$bundle/lib/$name" ] || [ -e "$bundle/lib/runtime/$name" ]; then
      continue
    fi
    if [[ $name == libmca_common_* && $path == /* ]]; then
      needs+=("$name=$path")
      continue
    fi
    dropped+=("$(basename "$component" .so) ($name)")
    rm -f "$component"
    continue 2
  done < <(ldd "$component")
  for need in "${needs[@]}"; do common[${need%%=*}]=${need#*=}; done
done
for name in "${!common[@]}"; do cp -L "${common[$name]}" "$bundle/lib/$name"; done
echo "gpu-bundle.sh: Open MPI components left out: ${dropped[*]:-none}"

size_mib=$(( $(du -sb "$bundle" | cut -f1) / 1048576 ))
echo "gpu-bundle.sh: $bundle holds $(ls "$bundle/bin" | wc -l) binaries and" \
     "$(ls "$bundle"/lib/*.so* "$bundle"/lib/runtime/*.so* | wc -l) libraries, ${size_mib} MiB:"
ls -la "$bundle/bin" "$bundle/lib" "$bundle/lib/runtime" | sed 's/^/  /'

# The newest C library version the files FILES... ask for.
glibc_needed() {
  objdump -T "$@" 2> /dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1 | sed 's/GLIBC_//'
}
# The newest C library version BINARIES... and the bundled libraries they load ask for.
glibc_of() {
  glibc_needed "$@" $(LD_LIBRARY_PATH=$bundle/lib ldd "$@" | awk '{print $3}' |
                      grep "^$bundle/lib/[^/]*$" | sort -u)
}
glibc=$(glibc_of "$bundle/bin/weft" "$bundle/bin/test_backend_cuda")
glibc_nccl=$(glibc_of "$bundle/bin/test_nccl")
glibc_runtime=$(glibc_needed "$bundle"/lib/runtime/*.so*)
echo "gpu-bundle.sh: the GPU machine needs the C library $glibc or later for weft and the" \
     "unit tests, $glibc_nccl for the NCCL tests, $glibc_runtime if its C++ runtime is" \
     "older than this one's"
if [ "$size_mib" -ge "$limit_mib" ]; then
  echo "gpu-bundle.sh: $size_mib MiB is over the ${limit_mib} MiB a device call carries" >&2
  exit 2
fi
echo "gpu-bundle.sh: on the GPU machine: $bundle/gpu-check.sh LOG_DIR"
