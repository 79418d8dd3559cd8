//! `site-split IN.wasm PKG_DIR`: splits the wasm that `cargo build -p frontend` linked (with
//! `--emit-relocs`) at the `#[lazy]` / `#[lazy_route]` split points into
//!
//! - `PKG_DIR/keiko_split.wasm` — the main module, still to be run through wasm-bindgen;
//! - `PKG_DIR/part_*.wasm` — the code of the split points (one per page and per `#[lazy]`
//!   function) and the code they share, fetched by the browser when a page first needs it:
//!   the tool's ~800 modules (one per set of split points sharing a function) packed into
//!   ~260 (`pack`);
//! - `PKG_DIR/__wasm_split.______________________.js` — the loader the main module imports
//!   (the tool's runtime, with loaders for the packed modules);
//! - `PKG_DIR/__wasm_split_manifest.json` — which modules each split point needs, read by
//!   Leptos's `HydrationScripts` so a server-rendered page preloads its own modules.
//!
//! The file names are the ones Leptos expects (the same cargo-leptos writes).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{bail, Context};

mod pack;
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
        // SITE_SPLIT_NO_SLIM=1 keeps them, with each module's function names (to weigh code).
        if path != main_out
            && name.ends_with(".wasm")
            && std::env::var_os("SITE_SPLIT_NO_SLIM").is_none()
        {
            let wasm = std::fs::read(&path)?;
            let slimmed = slim::slim(&wasm).with_context(|| format!("slimming {name}"))?;
            std::fs::write(&path, slimmed)?;
        }
    }

    // SITE_SPLIT_NO_PACK=1 keeps the tool's modules (to measure what packing saves).
    let manifest = if std::env::var_os("SITE_SPLIT_NO_PACK").is_some() {
        split.prefetch_map.into_iter().collect()
    } else {
        pack_modules(&pkg_dir, split.prefetch_map)?
    };
    let manifest = serde_json::to_string_pretty(&manifest)?;
    std::fs::write(pkg_dir.join("__wasm_split_manifest.json"), manifest)?;
    println!(
        "site-split: {} split modules, main module {}",
        split.split_modules.len(),
        main_out.display()
    );
    Ok(())
}

/// Merges the split modules (`pack::group`), writes them as `part_N.wasm` in place of the
/// tool's modules, rewrites the loader to fetch them, and returns the manifest: each split
/// point's modules.
fn pack_modules(
    pkg_dir: &std::path::Path,
    prefetch: HashMap<String, Vec<String>>,
) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let splits: Vec<&String> = prefetch
        .keys()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if splits.len() > 64 {
        bail!("{} split points: packing handles 64", splits.len());
    }
    let mut pages = BTreeMap::<&str, u64>::new();
    for (bit, split) in splits.iter().enumerate() {
        for stem in &prefetch[*split] {
            *pages.entry(stem.as_str()).or_default() |= 1 << bit;
        }
    }
    let parts: Vec<pack::Part> = pages
        .iter()
        .map(|(stem, &pages)| {
            let size = std::fs::metadata(pkg_dir.join(format!("{stem}.wasm")))?.len();
            Ok(pack::Part {
                stem: stem.to_string(),
                pages,
                size,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut groups = pack::group(&parts);
    groups.sort_by_key(|g| g.iter().map(|&i| &parts[i].stem).min().cloned());

    let mut manifest = BTreeMap::<String, Vec<String>>::new();
    let mut loaders = String::new();
    for (n, members) in groups.iter().enumerate() {
        let wasms = members
            .iter()
            .map(|&i| std::fs::read(pkg_dir.join(format!("{}.wasm", parts[i].stem))))
            .collect::<Result<Vec<_>, _>>()?;
        let merged = if wasms.len() == 1 {
            wasms.into_iter().next().unwrap()
        } else {
            pack::merge(&wasms).with_context(|| format!("merging into part_{n}"))?
        };
        std::fs::write(pkg_dir.join(format!("part_{n}.wasm")), merged)?;
        let pages = members.iter().fold(0, |acc, &i| acc | parts[i].pages);
        for (bit, split) in splits.iter().enumerate() {
            if pages & (1 << bit) != 0 {
                manifest
                    .entry(split.to_string())
                    .or_default()
                    .push(format!("part_{n}"));
            }
        }
        loaders.push_str(&format!(
            "const p{n} = makeLoad(fetcher(\"./part_{n}.wasm\"), []);\n"
        ));
    }
    for part in &parts {
        std::fs::remove_file(pkg_dir.join(format!("{}.wasm", part.stem)))?;
    }
    for split in &splits {
        let deps = manifest.entry(split.to_string()).or_default();
        let deps = deps
            .iter()
            .map(|d| d.replace("part_", "p"))
            .collect::<Vec<_>>()
            .join(",");
        loaders.push_str(&format!(
            "export const __wasm_split_load_{split} = wrapAsyncCb(makeLoad(() => async () => ({{}}), [{deps}]));\n"
        ));
    }
    // The tool's loader: its runtime up to the first module's loader, then ours.
    let js_path = pkg_dir.join(LINK_NAME);
    let js = std::fs::read_to_string(&js_path)?;
    let runtime_end = js
        .find("\n/* ")
        .or_else(|| js.find("\nexport const "))
        .context("no loader in the split tool's script")?;
    let fetcher = "function fetcher(file) {\n    return () => {\n        const src = fetch(new URL(file, import.meta.url));\n        src.catch(() => {});\n        return async (imports) => (WebAssembly.instantiateStreaming(src, imports));\n    };\n}\n";
    std::fs::write(
        &js_path,
        format!("{}\n{fetcher}{loaders}", &js[..runtime_end]),
    )?;
    Ok(manifest)
}
