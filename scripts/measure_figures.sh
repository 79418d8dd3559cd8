#!/usr/bin/env bash
# Re-measures the build, bundle and CI figures of docs/BENCHMARKS.md on this machine.
#
#   scripts/measure_figures.sh           bundle sizes (raw and gzip -9) after `make site`: the
#                                        files every page loads, and each page's first load
#   scripts/measure_figures.sh --builds  also clean builds in a fresh target directory:
#                                        make site, cargo build -p server, the test binaries,
#                                        make build (release); about 15 minutes on 2 cores
#   scripts/measure_figures.sh --ci      also the whole CI run (.ci/run) on a fresh clone of
#                                        HEAD, as CI runs it
set -euo pipefail
cd "$(dirname "$0")/.."

seconds() { local start=$1; echo $(( $(date +%s) - start )); }

make site >/dev/null
# A page's first load: the main module, its JS and CSS, the split loader, and the modules the
# manifest lists for the page's lazy route (each file compressed on its own, as served).
python3 - <<'PY'
import gzip, json, os
pkg = "target/site/pkg"
gz = lambda f: len(gzip.compress(open(os.path.join(pkg, f), "rb").read(), 9))
raw = lambda f: os.path.getsize(os.path.join(pkg, f))
base = ["keiko.wasm", "keiko.js", "keiko.css", "__wasm_split.______________________.js"]
print("bundle (target/site/pkg): every page")
for f in base:
    print(f"  {f:40s} {raw(f):9d} B raw {gz(f):9d} B gzip")
base_gz = sum(gz(f) for f in base)
manifest = json.load(open(os.path.join(pkg, "__wasm_split_manifest.json")))
print("first load per lazily loaded module (every page's files + its own modules), gzip:")
for split, modules in sorted(manifest.items()):
    own = sum(gz(m + ".wasm") for m in modules)
    name = split.removeprefix("__lazy_").rsplit("_", 1)[0]
    print(f"  {name:40s} {len(modules):4d} modules {own:8d} B  total {base_gz + own:8d} B")
PY

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
