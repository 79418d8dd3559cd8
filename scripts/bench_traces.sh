#!/usr/bin/env bash
# Benchmark: the embedded span store through the release portal (tests/benches/traces.rs):
# OTLP/HTTP protobuf ingest in spans/s (and per core), trace by id, a search by service +
# attribute + duration and the service map over 24 h, end to end over HTTP.
#   scripts/bench_traces.sh                    (1 M spans; BENCH_SPANS=10000000 for 10 M)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p server
KEIKO_BIN=$PWD/target/release/keiko-portal scripts/isolated.sh cargo bench -p e2e --bench traces
