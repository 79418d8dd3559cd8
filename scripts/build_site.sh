#!/usr/bin/env bash
# Builds the browser bundle into target/site/pkg (run by `make site`):
#   1. the wasm, linked with --emit-relocs (.cargo/config.toml) so it can be split;
#   2. site-split: a main module plus one module per page (`#[lazy_route]`) and the chunks
#      they share, packed into fewer modules where that saves bytes over all pages
#      (tools/site-split/src/pack.rs), with the manifest Leptos reads to preload a page's
#      own modules;
#   3. wasm-bindgen on the main module (keeping the exports the split modules import);
#   4. wasm-opt -Os --low-memory-unused on every module of 4 KiB or more, two at a time
#      (smaller after gzip than -Oz; Rust's stack sits at the bottom of memory and never
#      reaches its first KiB, so offsets may be folded into loads and stores);
#   5. the JavaScript (wasm-bindgen's glue, the split loader) and the stylesheet, minified by
#      esbuild (names inside functions and whitespace; object keys, which the wasm imports
#      name, stay): about 4 KB gzip off every page.
# A page's first load is the main module, its own module and the chunks the manifest lists.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=keiko # LEPTOS_OUTPUT_NAME in .cargo/config.toml
TARGET_DIR=${CARGO_TARGET_DIR:-target}
PKG=${SITE_PKG:-target/site/pkg} # SITE_PKG: build elsewhere (measuring while tests use target/site)
WASM=$TARGET_DIR/wasm32-unknown-unknown/wasm-release/frontend.wasm
WASM_OPT=.tools/node_modules/.bin/wasm-opt
ESBUILD=.tools/node_modules/.bin/esbuild

# One build at a time: two runs would split the same wasm into the same `$PKG.new`.
mkdir -p "$TARGET_DIR"
exec 9>"$TARGET_DIR/.build_site.lock"
flock 9

cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
cargo build -p site-split --release --quiet

rm -rf "$PKG.new" && mkdir -p "$PKG.new"
"$TARGET_DIR/release/site-split" "$WASM" "$PKG.new"
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-name "$NAME" --out-dir "$PKG.new" "$PKG.new/${NAME}_split.wasm"
rm "$PKG.new/${NAME}_split.wasm"
mv "$PKG.new/${NAME}_bg.wasm" "$PKG.new/$NAME.wasm"

# SITE_NO_OPT=1 skips this step while iterating (a larger bundle, same behaviour).
# The split tool writes a name subsection wasm-opt does not know; it drops it (and says so).
# Modules under 4 KiB (53 of the 180 after packing) are left as they are:
# wasm-opt's start-up (about a second each) costs more than the few bytes it would save.
[ -n "${SITE_NO_OPT:-}" ] || find "$PKG.new" -name '*.wasm' -size +4k -print0 | xargs -0 -P 2 -I{} sh -c \
  "$WASM_OPT -Os --low-memory-unused --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
     --enable-mutable-globals --enable-reference-types --enable-multivalue '{}' -o '{}.opt' \
     2>/dev/null && mv '{}.opt' '{}'"
for js in "$PKG.new"/*.js; do
  "$ESBUILD" --minify --log-level=error --allow-overwrite "$js" --outfile="$js"
done
"$ESBUILD" --minify --log-level=error style/main.css --outfile="$PKG.new/$NAME.css"

rm -rf "$PKG" && mv "$PKG.new" "$PKG"
echo "site: $(ls "$PKG" | wc -l) files, $(du -sh "$PKG" | cut -f1) under $PKG"
