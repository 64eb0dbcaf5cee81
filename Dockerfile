# syntax=docker/dockerfile:1
# The `pulse` binary (subcommands: ingest, processor, graphql, migrate, tenant, schema, dlq).
# Used by docker-compose.yml; the native set-up (`make up`) does not need it.

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

# ---- web console (static files that `pulse graphql` serves from PULSE_CONSOLE_DIR)
FROM node:22-bookworm-slim AS console
# the lockfile is written by npm 11 (Vite 8's native bindings install cleanly with it)
RUN npm install -g npm@11 --no-audit --no-fund
WORKDIR /src/console
COPY console/package.json console/package-lock.json ./
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
COPY graphql/schema.graphql /src/graphql/schema.graphql
COPY console/ ./
# the same steps as `scripts/console.sh build`: types from the SDL (fails on drift), typecheck, bundle
RUN npx graphql-codegen --config codegen.ts --check && npx tsc -p . && npx vite build

# ---- runtime
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin pulse
# Same layout as the repository (migrations are also embedded in the binary).
WORKDIR /app
COPY --from=builder /usr/local/bin/pulse /usr/local/bin/pulse
COPY --from=builder /src/migrations ./migrations
COPY --from=console /src/console/dist ./console/dist
USER pulse
ENV PULSE_CONSOLE_DIR=/app/console/dist \
    PULSE_INGEST_ADDR=0.0.0.0:8080 \
    PULSE_GRAPHQL_ADDR=0.0.0.0:8081 \
    PULSE_PROCESSOR_ADDR=0.0.0.0:8082
EXPOSE 8080 8081 8082
ENTRYPOINT ["pulse"]
CMD ["--help"]
