# CPU image: the same install script a developer runs, then a Release build.
#   docker build -f docker/cpu.Dockerfile -t weft:cpu .
#   docker run --rm weft:cpu weft bench --model tiny-gpt
# Where no registry serves debian:bookworm-slim, launch/docker-build.sh makes
# it with debootstrap first; launch/docker-test.sh checks the image.
FROM debian:bookworm-slim
WORKDIR /opt/weft
COPY launch/install-deps.sh launch/install-deps.sh
RUN ./launch/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN ./launch/build.sh -DWEFT_BUILD_TESTS=OFF -DWEFT_NATIVE=OFF \
 && ln -s /opt/weft/build/weft /usr/local/bin/weft
ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
CMD ["weft", "--help"]
