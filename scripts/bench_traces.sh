#!/usr/bin/env bash
# Benchmark (issue #17): the embedded span store through the release portal
# (tests/benches/traces.rs): OTLP/HTTP protobuf ingest in spans/s (wall, and per CPU-second
# of the portal process), trace by id, a search by service + attribute + duration and the
# service map over 24 h, end to end over HTTP; then the peer on the same spans in the same run: Debian's ClickHouse 18.16 (a
# throwaway server on loopback, scripts/clickhouse_peer.sh, over HTTP) in SigNoz-like tables
# (scripts/bench_traces_peers.py): trace by id, the same search and the service map.
# Prints the machine, the commit and the load first (docs/BENCHMARKS.md).
#   scripts/bench_traces.sh                      1 M spans under /tmp/keiko-bench-traces
#   BENCH_SPANS=10000000 scripts/bench_traces.sh  10 M spans
#   BENCH_PEER=0 scripts/bench_traces.sh          the portal only
#   CARGO_TARGET_DIR=DIR scripts/bench_traces.sh  build (and take the portal) from DIR
#   KEIKO_BIN=FILE scripts/bench_traces.sh        a portal built before (e.g. from a clean
#                                                 checkout of one commit); no server build
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${BENCH_DIR:-/tmp/keiko-bench-traces}"
PY="${BENCH_PYTHON:-python3}"
PEER="${BENCH_PEER:-1}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
. scripts/clickhouse_peer.sh
if [ "$PEER" = 1 ]; then
  clickhouse_installed || scripts/setup.sh bench
fi
rm -rf "$DIR" && mkdir -p "$DIR"
if [ -n "${KEIKO_BIN:-}" ]; then
  cp "$KEIKO_BIN" "$DIR/keiko-portal"
  built="portal binary $KEIKO_BIN (built before), bench client at $(git rev-parse --short HEAD)"
else
  CARGO_TARGET_DIR="$TARGET" cargo build --release -p server
  # A copy: another build into a shared target directory must not swap the binary under the run.
  cp "$TARGET/release/keiko-portal" "$DIR/keiko-portal"
  dirty=$(git status --porcelain -- logstore ingest server tests/benches scripts | grep -q . && echo " (with uncommitted changes)" || true)
  built="keiko-portal $(git rev-parse --short HEAD)$dirty"
fi
CARGO_TARGET_DIR="$TARGET" cargo bench -p e2e --bench traces --no-run
echo "$built; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; $(rustc --version)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
# The 1-min load average every 10 s while the bench runs (other builds share the cores).
(while sleep 10; do cut -d' ' -f1 /proc/loadavg; done) >"$DIR/load.txt" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true; clickhouse_stop' EXIT
dump=()
[ "$PEER" = 1 ] && dump=(env "BENCH_SPANS_DUMP=$DIR/dump")
KEIKO_BIN="$DIR/keiko-portal" CARGO_TARGET_DIR="$TARGET" "${dump[@]}" scripts/isolated.sh cargo bench -p e2e --bench traces
echo "load after the portal: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$PEER" = 1 ]; then
  # Started once the portal has stopped, so neither runs beside the other's idle server.
  clickhouse_start "$DIR/clickhouse" "$DIR/dump"
  "$PY" scripts/bench_traces_peers.py "$DIR/dump/spans.ndjson" "$DIR/dump/ids.txt" "$DIR" "$DIR/results.jsonl"
  clickhouse_stop
  echo "load after the peer: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
kill "$sampler" 2>/dev/null || true
sort -n "$DIR/load.txt" | awk '{ v[NR] = $1 } END { if (NR) printf "load during the run (1-min average every 10 s, %d samples): min %s, median %s, max %s\n", NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
