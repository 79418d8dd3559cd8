#!/usr/bin/env bash
# Benchmark (issue #16): the embedded log store (`logstore`, driven through the crate by its
# spike example — the same append path the server's ingest calls, without HTTP) against
# Debian's ClickHouse 18.16 (a throwaway server on loopback, scripts/clickhouse_peer.sh; a
# MergeTree table, over HTTP) and SQLite FTS5, on the same seed-shaped lines in one run: ingest lines/s per core, bytes on disk per line, and p50/p99
# of `level:ERROR AND "timeout"` and `correlation_id:<id>` over the whole set (~24 h).
# Prints the machine, the commit and the load first, one table last (docs/BENCHMARKS.md).
#   scripts/bench_logs.sh                       10 M lines under /tmp/keiko-bench-logs
#   BENCH_LINES=1000000 BENCH_DIR=/tmp/b scripts/bench_logs.sh
#   CARGO_TARGET_DIR=/work/target-logstore scripts/bench_logs.sh   (an isolated build)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES="${BENCH_LINES:-10000000}"
DIR="${BENCH_DIR:-/tmp/keiko-bench-logs}"
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
PY="${BENCH_PYTHON:-python3}"
. scripts/clickhouse_peer.sh
clickhouse_installed || scripts/setup.sh bench
rm -rf "$DIR" && mkdir -p "$DIR"
CARGO_TARGET_DIR="$TARGET" cargo build --release -p logstore --example spike
SPIKE="$TARGET/release/examples/spike"
dirty=$(git status --porcelain -- logstore scripts | grep -q . && echo " (logstore/ or scripts/ with uncommitted changes)" || true)
echo "keiko-portal $(git rev-parse --short HEAD)$dirty; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; $(rustc --version)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
# The 1-min load average every 10 s while the bench runs (other builds share the cores).
(while sleep 10; do cut -d' ' -f1 /proc/loadavg; done) >"$DIR/load.txt" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true; clickhouse_stop' EXIT
# The lines once, as flat JSON for the peers, with the correlation ids every engine looks up.
"$SPIKE" --engine dump --lines "$LINES" --dir "$DIR"
"$SPIKE" --engine own --lines "$LINES" --dir "$DIR" --results "$DIR/results.jsonl"
echo "load after own store: $(cut -d' ' -f1-3 /proc/loadavg)"
# Started only now, so the own store's run has the cores without an idle server beside it.
clickhouse_start "$DIR/clickhouse" "$DIR/dump"
"$PY" scripts/bench_logs_peers.py "$DIR/dump/lines.ndjson" "$DIR/dump/ids.txt" "$DIR" "$DIR/results.jsonl"
echo "load after peers: $(cut -d' ' -f1-3 /proc/loadavg)"
clickhouse_stop
kill "$sampler" 2>/dev/null || true
sort -n "$DIR/load.txt" | awk '{ v[NR] = $1 } END { if (NR) printf "load during the run (1-min average every 10 s, %d samples): min %s, median %s, max %s\n", NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
"$PY" - "$DIR/results.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ms = lambda v: f"{v[0]:.1f} / {v[1]:.1f}" if v else "—"
print()
print("| engine | ingest lines/s per core | bytes/line on disk | `level:ERROR AND \"timeout\"` newest 100, p50 / p99 ms | same, count, p50 / p99 ms (matches) | `correlation_id:<id>`, p50 / p99 ms (lines) |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['engine']} | {r['ingest_lines_per_s'] / r['ingest_threads']:,.0f} | {r['bytes_per_line']:.1f} | {ms(r['term_newest100_ms'])} | {ms(r['term_count_ms'])} ({r['term_count']:,}) | {ms(r['id_ms'])} ({r['id_lines']:.1f}) |")
for r in rows:
    if "like_count_ms" in r:
        print(f"({r['engine']}: the count with `lower(message) LIKE '%timeout%'` instead: {ms(r['like_count_ms'])} ms, {r['like_count']:,} matches)")
own = rows[0]
print()
print(f"goals (own store): ingest >= 100k lines/s per core: {'met' if own['ingest_lines_per_s'] >= 100_000 else 'NOT met'}; "
      f"term + field p50 <= 50 ms: {'met' if own['term_newest100_ms'][0] <= 50 else 'NOT met'} (count: {'met' if own['term_count_ms'][0] <= 50 else 'NOT met'}); "
      f"<= 30 bytes/line: {'met' if own['bytes_per_line'] <= 30 else 'NOT met'}")
PYEOF
