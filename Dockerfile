# syntax=docker/dockerfile:1
# Classify's container image: the `classify` binary and the built web client, one image for
# every role (`serve`, `worker`, `migrate`).
#
#   docker build -t classify:dev .
#   docker compose up -d            (see docker-compose.yml and the README, "Deploying")
#
# Stages: `chef` has the toolchain and the client tools (slow once, then cached); `planner`
# reduces the workspace to a dependency recipe; `build` compiles the dependencies from the
# recipe (cached until Cargo.lock or a Cargo.toml changes), then the workspace; `runtime` is
# Debian slim with the binary, the client and nothing else of the build. `fake-google` is an
# optional stage for the offline demo.
# Linted offline in CI by deploy/validate.sh (hadolint); the image build itself is not run there.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS chef
# Node.js and npm only to install wasm-opt (npm binaryen, tools/binaryen) for the client build.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The toolchain, its components and the wasm target, as rust-toolchain.toml names them.
COPY rust-toolchain.toml ./
RUN rustup toolchain install \
 && rustup target add wasm32-unknown-unknown
# The versions xtask and Trunk.toml pin (xtask/src/main.rs checks them again at build time).
RUN cargo install --locked cargo-chef@0.1.78 \
 && cargo install --locked trunk@0.21.14 \
 && cargo install wasm-bindgen-cli@0.2.130
COPY tools/binaryen/package.json tools/binaryen/package-lock.json tools/binaryen/
RUN npm ci --prefix tools/binaryen --no-audit --no-fund

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: the server natively, the client for wasm32.
RUN cargo chef cook --release --locked --recipe-path recipe.json -p server \
 && cargo chef cook --release --locked --recipe-path recipe.json -p client --target wasm32-unknown-unknown
COPY . .
RUN cargo xtask client \
 && cargo build --release --locked -p server --bin classify \
 && install -D -m 0755 target/release/classify /out/classify

# The fake Google (fake-google/) for an offline demo: only built when asked for by target
# (`docker compose -f docker-compose.yml -f docker-compose.fake-google.yml up`), never part of
# the runtime image.
FROM build AS fake-google-build
RUN cargo build --release --locked -p fake-google --bin fake-google \
 && install -D -m 0755 target/release/fake-google /out/fake-google

FROM debian:bookworm-slim AS fake-google
LABEL org.opencontainers.image.title="classify-fake-google" \
      org.opencontainers.image.description="A fake of Google's OAuth, Photos Picker and Library APIs for Classify demos and tests; never for real users" \
      org.opencontainers.image.licenses="MIT"
COPY --from=fake-google-build /out/fake-google /usr/local/bin/fake-google
USER 10001:10001
EXPOSE 9876
ENTRYPOINT ["fake-google"]
CMD ["--addr", "0.0.0.0:9876"]

# The image every role runs (the default target: last in the file).
FROM debian:bookworm-slim AS runtime
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="classify" \
      org.opencontainers.image.description="Finds the photos spoiled by camera shake or missed focus: web app, REST API and queue workers" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# CA certificates for TLS to managed PostgreSQL/Redis; one non-root user with a fixed uid that
# the Kubernetes securityContext and volume fsGroup name (10001).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 classify \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/classify --no-create-home --shell /usr/sbin/nologin classify \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/classify /var/lib/classify/blobs
COPY --from=build /out/classify /usr/local/bin/classify
COPY --from=build /src/client/dist /usr/share/classify/dist
# Nothing is written outside /var/lib/classify (a volume in compose and Kubernetes), so the
# root filesystem can be mounted read-only. The image's default command is `serve`; its
# address must be reachable from outside the container.
ENV CLASSIFY_CLIENT_DIR=/usr/share/classify/dist \
    CLASSIFY_DATA_DIR=/var/lib/classify \
    CLASSIFY_ADDR=0.0.0.0:8080
USER 10001:10001
EXPOSE 8080
# The binary checks itself (`classify health`: GET /health on CLASSIFY_ADDR), so the image
# needs no curl or shell. Meaningful for `serve` only (compose disables it for workers;
# Kubernetes uses its own probes).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["classify", "health"]
ENTRYPOINT ["classify"]
CMD ["serve"]
