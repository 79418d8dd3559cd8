#!/usr/bin/env bash
# Weighs the islands cut of the dashboard page (tools/islands-probe) the way `make site`
# builds the real bundle: wasm-bindgen, wasm-opt -Oz, the same stylesheet; gzip -9 per file.
# Compare with `scripts/measure_figures.sh`, which weighs the lazy-route split per page.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/islands-probe}
OUT=$CARGO_TARGET_DIR/islands-pkg
WASM_OPT=.tools/node_modules/.bin/wasm-opt

# The app's lazy pages export their split points, and exports keep code alive; so the probe
# is split like the real bundle (site-split) and only its main module is weighed: the code
# the islands reach. The pages' own modules would never be fetched on this page.
(cd tools/islands-probe && cargo build --lib --target wasm32-unknown-unknown --release)
cargo build -p site-split --release --quiet
rm -rf "$OUT" && mkdir -p "$OUT/split"
"$CARGO_TARGET_DIR/release/site-split" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/islands_probe.wasm" "$OUT/split" >/dev/null
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-name keiko --out-dir "$OUT" "$OUT/split/keiko_split.wasm"
cp "$OUT/split/__wasm_split.______________________.js" "$OUT/"
rm -rf "$OUT/split"
"$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$OUT/keiko_bg.wasm" -o "$OUT/keiko_bg.wasm"
cp style/main.css "$OUT/keiko.css"
python3 - "$OUT" <<'PY'
import gzip, os, sys
out = sys.argv[1]
total = 0
print("islands cut of /d/{uid} (tools/islands-probe): every file of the first load")
for f in ["keiko_bg.wasm", "keiko.js", "keiko.css", "__wasm_split.______________________.js"]:
    data = open(os.path.join(out, f), "rb").read()
    gz = len(gzip.compress(data, 9))
    total += gz
    print(f"  {f:20s} {len(data):9d} B raw {gz:9d} B gzip")
print(f"  total {total} B gzip")
PY
