# Pulse: `make up` brings the whole platform up on a bare Debian machine; `make test` runs every
# test against the real servers. See README.md.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
# the release binary wherever cargo builds it (CI shares one target directory between clones)
PULSE = $(CARGO_TARGET_DIR_OR_TARGET)/release/pulse
export DATABASE_URL ?= postgres://pulse:pulse@127.0.0.1:5432/pulse
export REDIS_URL ?= redis://127.0.0.1:6379
export KAFKA_BROKERS ?= 127.0.0.1:9092
export OTEL_EXPORTER_OTLP_ENDPOINT ?= http://127.0.0.1:4318

# CI builds every fresh clone from scratch; sharing one target directory between clones keeps the
# dependencies compiled (cargo locks it, and each checkout's own crates get their own fingerprints).
ifeq ($(CI),true)
export CARGO_TARGET_DIR ?= $(HOME)/.cache/pulse/ci-target
endif

# where cargo puts binaries (CI shares one target directory between clones)
CARGO_TARGET_DIR_OR_TARGET = $(or $(CARGO_TARGET_DIR),target)

# load test knobs (see README)
DURATION ?= 30
RATE ?= 2000
TENANTS ?= 10
DUP_PCT ?= 5
BAD_PCT ?= 5

.PHONY: up down status logs test infra build release migrate services loadtest bench fmt clippy toolchain chaos deny

## up: install what is missing, start PostgreSQL, Redis, Kafka, Jaeger and the Pulse services
up: infra release console migrate services
	@PULSE_BIN="$(abspath $(CARGO_TARGET_DIR_OR_TARGET)/release/pulse)" scripts/print-urls.sh

## down: stop the Pulse services and the infrastructure (data is kept in .run/)
down:
	@scripts/services.sh stop
	@scripts/infra.sh down

## status: every component and its health
status:
	@scripts/infra.sh status
	@scripts/services.sh status

## logs: follow every log
logs:
	@tail -n 50 -F .run/logs/*.log

infra: toolchain
	@scripts/infra.sh up

toolchain:
	@scripts/toolchain.sh

release:
	@echo "==> building pulse (release)"
	@$(CARGO) build --release --locked --bin pulse

build:
	@$(CARGO) build --workspace --all-targets --locked

migrate:
	@echo "==> applying migrations"
	@$(PULSE) migrate

services:
	@scripts/services.sh start

.PHONY: console console-test
## console: build the web console into console/dist (npm ci + codegen + vite; skipped when up to date)
console:
	@scripts/console.sh build

## console-test: the console's codegen drift check, typecheck, Vitest, size budget and Playwright
## end-to-end tests (Debian's chromium) against the services, which it starts when they are not running
## (with the binary cargo built, which CI keeps in its shared CARGO_TARGET_DIR)
console-test: infra release console
	@echo "==> applying migrations"
	@$(CARGO_TARGET_DIR_OR_TARGET)/release/pulse migrate
	@PULSE_BIN="$(abspath $(CARGO_TARGET_DIR_OR_TARGET)/release/pulse)" scripts/services.sh start
	@scripts/console.sh test

## loadtest: a bounded goose run against the stack of `make up`, with reconciliation
loadtest:
	@$(CARGO) build --release --locked -p pulse-loadtest
	@$(CARGO_TARGET_DIR_OR_TARGET)/release/pulse-loadtest --rate $(RATE) --duration $(DURATION) --tenants $(TENANTS) \
		--dup-pct $(DUP_PCT) --bad-pct $(BAD_PCT)

## bench: the benchmark suite, `pulse-bench run` (about 15 minutes plus pulse-graphql-bench); rewrites
## BENCHMARKS.md and bench-results.json. The seed Go ingest runs side by side when Go is installed (skipped otherwise).
## BENCH_RUNS, BENCH_SECONDS, BENCH_DRAIN_EVENTS, BENCH_E2E_SECONDS override the defaults (3, 10, 500000, 20)
bench: infra
	@echo "==> building pulse and the benchmark tools (release)"
	@$(CARGO) build --release --locked -p pulse -p pulse-loadtest
	@scripts/test-cleanup.sh
	@$(CARGO_TARGET_DIR_OR_TARGET)/release/pulse-bench run

## chaos: each fault in turn under load on a private stack in .run/chaos (its own Redis, PostgreSQL,
## Kafka and pulse processes; the shared servers are never touched), then 3x capacity for 60 s;
## prints a verdict table (about 15 minutes). CHAOS_ARGS passes options: --faults redis-kill,... --hold 10
chaos: infra
	@echo "==> building pulse and pulse-chaos (release)"
	@$(CARGO) build --release --locked -p pulse -p pulse-loadtest --bin pulse --bin pulse-chaos
	@$(CARGO_TARGET_DIR_OR_TARGET)/release/pulse-chaos --bin $(CARGO_TARGET_DIR_OR_TARGET)/release/pulse \
		--overload --report .run/chaos-report.txt $(CHAOS_ARGS)

## deny: cargo deny check bans licenses sources, offline once every crate is fetched (installs cargo-deny the first time)
deny:
	@command -v cargo-deny >/dev/null || { echo "==> installing cargo-deny"; $(CARGO) install --locked cargo-deny; }
	@echo "==> cargo fetch (cargo deny reads every platform's crates, and runs offline)"
	@$(CARGO) fetch --locked
	@echo "==> cargo deny check bans licenses sources (offline)"
	@$(CARGO) deny --offline --locked check bans licenses sources

fmt:
	@$(CARGO) fmt --all -- --check

clippy:
	@$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

## test: bring up the infrastructure, check formatting and lints, run every test
test: infra
	@echo "==> cargo fmt --check"
	@$(CARGO) fmt --all -- --check
	@echo "==> cargo clippy -D warnings"
	@$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	@$(MAKE) --no-print-directory deny
	@echo "==> cargo test"
	@scripts/test-cleanup.sh
	@$(CARGO) test --workspace --locked -- --test-threads=4
	@$(MAKE) --no-print-directory console-test
