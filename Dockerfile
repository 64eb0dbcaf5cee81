# syntax=docker/dockerfile:1
# The `pulse` binary (subcommands: ingest, processor, graphql, migrate, tenant) and the web console.
# Used by docker-compose.yml; the native set-up (`make up`) does not need it.

# ---- web console (React + Vite) -> static files served by `pulse graphql`
FROM node:22-bookworm-slim AS console
WORKDIR /src/console
COPY console/package*.json ./
RUN --mount=type=cache,target=/root/.npm \
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
COPY console/ ./
RUN npm run build

# ---- Rust build
FROM rust:1.95-bookworm AS builder
# librdkafka is compiled by rdkafka-sys: it needs a C tool chain (in the image), zlib and pkg-config.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake pkg-config zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin pulse \
    && install -m 0755 target/release/pulse /usr/local/bin/pulse

# ---- runtime
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin pulse
# Same layout as the repository, so paths relative to the working directory (console/dist,
# migrations/) resolve as they do in a checkout.
WORKDIR /app
COPY --from=builder /usr/local/bin/pulse /usr/local/bin/pulse
COPY --from=builder /src/migrations ./migrations
COPY --from=console /src/console/dist ./console/dist
USER pulse
ENV PULSE_INGEST_ADDR=0.0.0.0:8080 \
    PULSE_GRAPHQL_ADDR=0.0.0.0:8081 \
    PULSE_PROCESSOR_ADDR=0.0.0.0:8082
EXPOSE 8080 8081 8082
ENTRYPOINT ["pulse"]
CMD ["--help"]
