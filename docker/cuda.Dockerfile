# CUDA image: the same install script a developer runs, on NVIDIA's CUDA
# development image (nvcc, cuBLASLt, NCCL), then a Release build with the CUDA
# backend for Ampere and Hopper.
#   docker build -f docker/cuda.Dockerfile -t weft:cuda .
#   docker run --rm --gpus all weft:cuda weft bench --model gpt2-124m --device cuda --precision bf16 --max-batch
#   docker run --rm --gpus all weft:cuda ./launch/bench-gpu.sh --skip-build
# The host's driver must support the image's CUDA version (12.8: driver 570 or
# newer); pick another with --build-arg CUDA_IMAGE=nvidia/cuda:13.0.0-devel-ubuntu24.04.
# --build-arg TORCH=1 adds PyTorch, for bench-gpu.sh's PyTorch comparison.
# Where no registry is reachable, launch/docker-build.sh cuda builds it FROM
# Debian with this machine's /usr/local/cuda copied in (README, "Docker").
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-devel-ubuntu24.04
FROM ${CUDA_IMAGE}
ARG TORCH=0
ARG CUDA_ARCHITECTURES="80;90"
WORKDIR /opt/weft
COPY launch/install-deps.sh launch/install-deps.sh
RUN ./launch/install-deps.sh \
 && if [ "$TORCH" = 1 ]; then \
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip \
      && pip3 install --no-cache-dir --break-system-packages torch; \
    fi \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN ./launch/build.sh -DWEFT_BUILD_TESTS=OFF -DWEFT_NATIVE=OFF -DWEFT_CUDA=ON \
      -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES}" \
 && grep -q 'src/backend/cuda/' build/compile_commands.json \
 && ln -s /opt/weft/build/weft /usr/local/bin/weft
ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
CMD ["weft", "--help"]
