#!/usr/bin/env bash
# Benchmark (issue #15): 10,000 alerting rules at a 15 s interval on the embedded store against
# Prometheus 2.42 (Debian's, installed by scripts/setup.sh) with the same rules and the same
# remote-written data in one run: evaluations missed, evaluation lag p50/p99, CPU used
# (tests/benches/rules_vs_prometheus.rs). Prints the machine, the commit and the load average
# (other builds may share the cores) first, the figures last (docs/BENCHMARKS.md).
#   scripts/bench_rules.sh
#   BENCH_RULES=2000 BENCH_MEASURE_SECS=120 scripts/bench_rules.sh
#   BENCH_BUILD=0 scripts/bench_rules.sh        (the release binary as it is)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v prometheus >/dev/null || scripts/setup.sh test
[ "${BENCH_BUILD:-1}" = 0 ] || cargo build --release -p server
dirty=$(git status --porcelain -- server tests/benches scripts | grep -q . && echo " (with uncommitted changes)" || true)
echo "keiko-portal $(git rev-parse --short HEAD)$dirty; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
dpkg-query -W -f='${Package} ${Version}\n' prometheus
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
LOAD=$(mktemp)
(while sleep 10; do cut -d' ' -f1 /proc/loadavg; done) >"$LOAD" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true; rm -f "$LOAD"' EXIT
KEIKO_BIN="$PWD/target/release/keiko-portal" cargo bench -p e2e --bench rules_vs_prometheus
kill "$sampler" 2>/dev/null || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
sort -n "$LOAD" | awk '{ v[NR] = $1 } END { if (NR) printf "load during the run (1-min average every 10 s, %d samples): min %s, median %s, max %s\n", NR, v[1], v[int((NR + 1) / 2)], v[NR] }'
