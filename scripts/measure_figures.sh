#!/usr/bin/env bash
# Re-measures the build, bundle and CI figures of docs/BENCHMARKS.md on this machine.
#
#   scripts/measure_figures.sh           bundle sizes (JS + WASM + CSS, raw and gzip -9) of
#                                        target/site/pkg after `make site`
#   scripts/measure_figures.sh --builds  also clean builds in a fresh target directory:
#                                        make site, cargo build -p server, the test binaries,
#                                        make build (release); about 15 minutes on 2 cores
#   scripts/measure_figures.sh --ci      also the whole CI run (.ci/run) on a fresh clone of
#                                        HEAD, as CI runs it
set -euo pipefail
cd "$(dirname "$0")/.."

seconds() { local start=$1; echo $(( $(date +%s) - start )); }

make site >/dev/null
echo "bundle (target/site/pkg):"
total_raw=0; total_gz=0
for f in keiko.wasm keiko.js keiko.css; do
  raw=$(stat -c %s "target/site/pkg/$f")
  gz=$(gzip -9 -c "target/site/pkg/$f" | wc -c)
  printf '  %-11s %9d B raw %9d B gzip\n' "$f" "$raw" "$gz"
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz))
done
printf '  %-11s %9d B raw %9d B gzip\n' total "$total_raw" "$total_gz"

if [[ " $* " == *" --builds "* ]]; then
  target=$(mktemp -d)
  trap 'rm -rf "$target"' EXIT
  export CARGO_TARGET_DIR="$target" CARGO_INCREMENTAL=0
  echo "clean builds in $target:"
  t=$(date +%s); cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release -q
  echo "  browser bundle (wasm-release)   $(seconds "$t") s"
  t=$(date +%s); cargo build -p server -q
  echo "  server, debug                   $(seconds "$t") s"
  t=$(date +%s); cargo test --workspace --exclude frontend --no-run -q 2>/dev/null
  echo "  test binaries after that        $(seconds "$t") s"
  t=$(date +%s); cargo build -p server --release -q
  echo "  server, release                 $(seconds "$t") s"
fi

if [[ " $* " == *" --ci "* ]]; then
  clone=$(mktemp -d)
  git clone -q . "$clone"
  t=$(date +%s)
  (cd "$clone" && bash .ci/run >"$clone.log" 2>&1) || { echo "CI run failed: $clone.log"; exit 1; }
  echo "CI (.ci/run on a fresh clone of HEAD): $(seconds "$t") s (log $clone.log)"
fi
