# The portal's commands. `make run` and `make test` set up what is missing themselves.
#
#   make run    build (release) and serve on http://127.0.0.1:3000, data under ./data
#   make test   every test: unit, integration, real Prometheus, headless Chromium
#   make build  target/release/keiko-portal and the site assets under target/site
#   make site   only the browser bundle (WASM + JS + CSS) under target/site/pkg
#   make lint   cargo fmt --check and clippy (host crates and the wasm crate)
#   make bench  benchmarks against Prometheus and in headless Chromium (docs/BENCHMARKS.md);
#               build and CI figures: scripts/measure_figures.sh --builds --ci

SHELL := /bin/bash
# Must match LEPTOS_OUTPUT_NAME in .cargo/config.toml.
SITE_NAME := keiko
SITE_DIR := target/site
PKG_DIR := $(SITE_DIR)/pkg

.PHONY: run build site test lint setup setup-test bench clean-site

setup:
	@scripts/setup.sh build

setup-test:
	@scripts/setup.sh test

site: setup
	@scripts/build_site.sh

build: site
	cargo build -p server --release

run: build
	target/release/keiko-portal serve

test: setup-test site
	cargo build -p server
	cargo test --workspace --exclude frontend --no-run
	# The tests run with loopback only: nothing they start can reach another host.
	scripts/isolated.sh cargo test --workspace --exclude frontend --offline --no-fail-fast -- --test-threads=2

# Benchmarks (figures in docs/BENCHMARKS.md): chart rendering, the release portal against
# Prometheus on the same data, the embedded store against Prometheus and VictoriaMetrics,
# the log store against ClickHouse and SQLite FTS5 (10 M lines; BENCH_LINES for fewer).
bench: setup-test build
	cargo bench -p server --bench chart_render
	KEIKO_BIN=$(CURDIR)/target/release/keiko-portal cargo bench -p e2e --bench portal_vs_prometheus
	KEIKO_BIN=$(CURDIR)/target/release/keiko-portal cargo bench -p e2e --bench dashboard_page
	scripts/bench_auth.sh
	scripts/bench_store.sh
	scripts/bench_logs.sh
	scripts/bench_traces.sh
	scripts/bench_rules.sh
	scripts/measure_figures.sh

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
