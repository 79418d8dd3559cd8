#!/usr/bin/env bash
# Benchmark: the portal's embedded metrics store against Prometheus 2.42 and VictoriaMetrics
# 1.79 (both from Debian, installed by scripts/setup.sh) on the same generated samples in one
# run: remote-write ingest samples/s, bytes per sample on disk, memory per active series, and
# query_range latency over 24 h (tests/benches/store_vs_peers.rs). Prints the machine first.
#   scripts/bench_store.sh                      1k and 10k series, 24 h at 30 s
#   BENCH_SERIES=1000 BENCH_RUNS=5 scripts/bench_store.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v prometheus >/dev/null && command -v victoria-metrics >/dev/null || scripts/setup.sh test
cargo build --release -p server
echo "keiko-portal $(git rev-parse --short HEAD); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
dpkg-query -W -f='${Package} ${Version}\n' prometheus victoria-metrics
KEIKO_BIN="$PWD/target/release/keiko-portal" cargo bench -p e2e --bench store_vs_peers
