# Classify's container image: the `classify` binary and the built web client.
# Build: docker build -t classify .    Run: docker compose up -d (see docker-compose.yml)

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
# The client toolchain at the versions the lockfile and Trunk.toml pin (slow once, then cached).
RUN rustup target add wasm32-unknown-unknown \
 && cargo install --locked trunk@0.21.14 \
 && cargo install wasm-bindgen-cli --version 0.2.130
WORKDIR /src
COPY . .
RUN cargo xtask client \
 && cargo build --release --locked -p server --bin classify

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/classify --create-home classify
COPY --from=build /src/target/release/classify /usr/local/bin/classify
COPY --from=build /src/client/dist /usr/share/classify/dist
ENV CLASSIFY_CLIENT_DIR=/usr/share/classify/dist \
    CLASSIFY_DATA_DIR=/var/lib/classify \
    CLASSIFY_ADDR=0.0.0.0:8080
USER classify
EXPOSE 8080
ENTRYPOINT ["classify"]
CMD ["serve"]
