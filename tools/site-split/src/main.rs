//! `site-split IN.wasm PKG_DIR`: splits the wasm that `cargo build -p frontend` linked (with
//! `--emit-relocs`) at the `#[lazy]` / `#[lazy_route]` split points into
//!
//! - `PKG_DIR/keiko_split.wasm` — the main module, still to be run through wasm-bindgen;
//! - `PKG_DIR/split_*.wasm`, `chunk_*.wasm` — one module per split point and the code they
//!   share, fetched by the browser when a page first needs them;
//! - `PKG_DIR/__wasm_split.______________________.js` — the loader the main module imports;
//! - `PKG_DIR/__wasm_split_manifest.json` — which modules each split point needs, read by
//!   Leptos's `HydrationScripts` so a server-rendered page preloads its own modules.
//!
//! The file names are the ones Leptos expects (the same cargo-leptos writes).

use std::path::PathBuf;

use anyhow::{bail, Context};

mod slim;

/// The loader's name, as Leptos's `HydrationScripts` looks it up when files are not hashed.
const LINK_NAME: &str = "__wasm_split.______________________.js";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg_dir] = args.as_slice() else {
        bail!("usage: site-split IN.wasm PKG_DIR");
    };
    let pkg_dir = PathBuf::from(pkg_dir);
    let output_name = std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "keiko".into());
    let input_wasm = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    std::fs::create_dir_all(&pkg_dir).with_context(|| format!("creating {}", pkg_dir.display()))?;

    let main_out = pkg_dir.join(format!("{output_name}_split.wasm"));
    let main_module = format!("/pkg/{output_name}.js");
    let link_name = format!("./{LINK_NAME}");
    let split = wasm_split_cli_support::transform({
        let mut opts = wasm_split_cli_support::Options::new(&input_wasm);
        opts.output_dir = &pkg_dir;
        opts.main_out_path = &main_out;
        opts.main_module = &main_module;
        opts.link_name = &link_name;
        opts
    })
    .map_err(|e| anyhow::anyhow!("splitting {input}: {e}"))?;

    // Every split module gets the input's whole type section and its custom sections
    // (names, target features): in a few hundred small modules that was over half of their
    // compressed size. wasm-opt would drop both, but its start-up costs about a second a
    // module, so `slim` does it here and wasm-opt runs on the large modules only.
    for entry in std::fs::read_dir(&pkg_dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path != main_out && name.ends_with(".wasm") {
            let wasm = std::fs::read(&path)?;
            let slimmed = slim::slim(&wasm).with_context(|| format!("slimming {name}"))?;
            std::fs::write(&path, slimmed)?;
        }
    }

    let manifest = serde_json::to_string_pretty(&split.prefetch_map)?;
    std::fs::write(pkg_dir.join("__wasm_split_manifest.json"), manifest)?;
    println!(
        "site-split: {} split modules, main module {}",
        split.split_modules.len(),
        main_out.display()
    );
    Ok(())
}
