//! Packs the split modules into fewer, larger ones.
//!
//! `wasm_split_cli_support` writes one module per set of pages that share a function: ~800
//! modules, most under 500 bytes, and a page fetches hundreds of them (`/d/{uid}` 364). Each
//! file costs its own gzip stream, wasm header and imports, and compresses without the
//! context of its neighbours; modules under 4 KiB also skip wasm-opt. Here modules are
//! merged when that is cheaper over all pages: a merged module is fetched by every page that
//! needs any of its parts, so a page may fetch a few bytes it does not run, and saves a file
//! for every pair of parts it needs both of.
//!
//! Every split module only imports `__wasm_split`'s memory, function table and stack
//! pointer, has no exports and no start function, and places its functions in the shared
//! table with active element segments (calls between modules go through the table). So a
//! merged module is the modules' sections concatenated with their functions renumbered, and
//! loading it early, or for a page that does not call it, writes the same table slots and
//! the same data bytes as loading its parts would.

use std::collections::{BTreeMap, BinaryHeap, HashMap};

use anyhow::{bail, Context};
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, DataCountSection, DataSection, ElementSection, EntityType, FunctionSection,
    GlobalType, ImportSection, MemoryType, Module, TableType, TypeSection, ValType,
};

/// A module that may be merged: its file stem, the pages (split points) that fetch it, its
/// size in bytes.
pub struct Part {
    pub stem: String,
    pub pages: u64,
    pub size: u64,
}

/// What a file costs a page beyond its bytes, in uncompressed bytes: its gzip stream, wasm
/// header and import section, and the context its bytes compress without. The dashboard
/// page's 364 modules were 300 KB gzip one by one and 211 KB as one file (~680 bytes of
/// input a file); 1,500 fetched the fewest bytes over all pages of the values tried
/// (300, 680, 1,500, 3,000).
const FILE_COST: u64 = 1500;

/// Groups `parts` so that the bytes all pages fetch, with `FILE_COST` per file, are few:
/// greedily merges the pair of groups that saves most until no merge saves anything.
/// Returns groups of part indices.
pub fn group(parts: &[Part]) -> Vec<Vec<usize>> {
    let w = |pages: u64| u64::from(pages.count_ones());
    // Saving of merging groups a and b: a file less for pages needing both, the other
    // group's bytes more for pages needing only one.
    let gain = |a: (u64, u64), b: (u64, u64)| -> i64 {
        let both = w(a.0 & b.0) * FILE_COST;
        let extra = a.1 * w(b.0 & !a.0) + b.1 * w(a.0 & !b.0);
        both as i64 - extra as i64
    };
    let mut groups: Vec<Option<(u64, u64, Vec<usize>)>> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| Some((p.pages, p.size, vec![i])))
        .collect();
    let mut heap = BinaryHeap::new();
    for a in 0..groups.len() {
        for b in a + 1..groups.len() {
            let (ga, gb) = (groups[a].as_ref().unwrap(), groups[b].as_ref().unwrap());
            let g = gain((ga.0, ga.1), (gb.0, gb.1));
            if g > 0 {
                heap.push((g, a, b));
            }
        }
    }
    while let Some((_, a, b)) = heap.pop() {
        // Stale entries name a group merged away since.
        let (Some(_), Some(_)) = (&groups[a], &groups[b]) else {
            continue;
        };
        let (pb, sb, mut mb) = groups[b].take().unwrap();
        let (pa, sa, ma) = groups[a].take().unwrap();
        mb.extend(ma);
        let merged = (pa | pb, sa + sb, mb);
        // The merged group takes a new slot so that entries naming `a` are stale.
        let new = groups.len();
        for (other, g) in groups.iter().enumerate() {
            if let Some(g) = g {
                let gain = gain((merged.0, merged.1), (g.0, g.1));
                if gain > 0 {
                    heap.push((gain, other, new));
                }
            }
        }
        groups.push(Some(merged));
    }
    groups.into_iter().flatten().map(|g| g.2).collect()
}

/// The modules in `wasms` as one module.
pub fn merge(wasms: &[Vec<u8>]) -> anyhow::Result<Vec<u8>> {
    let mut types = TypeSection::new();
    let mut type_ids = HashMap::<(Vec<ValType>, Vec<ValType>), u32>::new();
    let mut imports = ImportSection::new();
    let mut import_ids = BTreeMap::<String, u32>::new(); // global imports by name
    let mut memory: Option<MemoryType> = None;
    let mut table: Option<TableType> = None;
    let mut functions = FunctionSection::new();
    let mut elements = ElementSection::new();
    let mut code = CodeSection::new();
    let mut data = DataSection::new();
    let mut global_imports: Vec<(String, GlobalType)> = Vec::new();
    let mut any_data_count = false;

    let mut next_func = 0u32;
    let mut next_data = 0u32;
    for (n, wasm) in wasms.iter().enumerate() {
        let mut map = Renumber {
            func_base: next_func,
            data_base: next_data,
            ..Renumber::default()
        };
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            use wasmparser::Payload::*;
            match payload.with_context(|| format!("module {n}"))? {
                Version { .. } | End(_) | CustomSection(_) | CodeSectionStart { .. } => {}
                TypeSection(reader) => {
                    for group in reader {
                        for ty in group?.into_types() {
                            let wasmparser::CompositeInnerType::Func(f) = &ty.composite_type.inner
                            else {
                                bail!("module {n}: a type that is not a function type");
                            };
                            let key = (
                                f.params()
                                    .iter()
                                    .map(|&t| map.val_type(t))
                                    .collect::<Result<Vec<_>, _>>()?,
                                f.results()
                                    .iter()
                                    .map(|&t| map.val_type(t))
                                    .collect::<Result<Vec<_>, _>>()?,
                            );
                            let next = type_ids.len() as u32;
                            let id = *type_ids.entry(key.clone()).or_insert_with(|| {
                                types.ty().function(key.0, key.1);
                                next
                            });
                            map.types.push(id);
                        }
                    }
                }
                ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import?;
                        if import.module != "__wasm_split" {
                            bail!("module {n}: imports {}.{}", import.module, import.name);
                        }
                        match import.ty {
                            wasmparser::TypeRef::Memory(m) => {
                                let m = map.memory_type(m)?;
                                if memory.is_some_and(|old| old != m) {
                                    bail!("module {n}: another memory type");
                                }
                                memory = Some(m);
                            }
                            wasmparser::TypeRef::Table(t) => {
                                let t = map.table_type(t)?;
                                if table.is_some_and(|old| old != t) {
                                    bail!("module {n}: another table type");
                                }
                                table = Some(t);
                            }
                            wasmparser::TypeRef::Global(g) => {
                                let g = map.global_type(g)?;
                                let next = global_imports.len() as u32;
                                let id = *import_ids.entry(import.name.to_string()).or_insert_with(
                                    || {
                                        global_imports.push((import.name.to_string(), g));
                                        next
                                    },
                                );
                                if global_imports[id as usize].1 != g {
                                    bail!("module {n}: global {} of another type", import.name);
                                }
                                map.globals.push(id);
                            }
                            _ => bail!("module {n}: imports {} as a function or tag", import.name),
                        }
                    }
                }
                FunctionSection(reader) => {
                    for ty in reader {
                        functions.function(map.type_index(ty?)?);
                        next_func += 1;
                    }
                }
                ElementSection(reader) => map.parse_element_section(&mut elements, reader)?,
                DataCountSection { .. } => any_data_count = true,
                // The tool writes an export section even when there is nothing to export.
                ExportSection(reader) => {
                    if let Some(export) = reader.into_iter().next() {
                        bail!("module {n}: exports {}", export?.name);
                    }
                }
                CodeSectionEntry(body) => map.parse_function_body(&mut code, body)?,
                DataSection(reader) => {
                    for datum in reader {
                        map.parse_data(&mut data, datum?)?;
                        next_data += 1;
                    }
                }
                other => bail!("module {n}: unexpected section {other:?}"),
            }
        }
    }
    // The import section last, once the names are known: memory, table, then globals in
    // the order their indices were handed out.
    imports.import(
        "__wasm_split",
        "memory",
        EntityType::Memory(memory.context("no memory")?),
    );
    if let Some(table) = table {
        imports.import(
            "__wasm_split",
            "__indirect_function_table",
            EntityType::Table(table),
        );
    }
    for (name, ty) in &global_imports {
        imports.import("__wasm_split", name, EntityType::Global(*ty));
    }
    let mut module = Module::new();
    module.section(&types).section(&imports).section(&functions);
    if !elements.is_empty() {
        module.section(&elements);
    }
    if any_data_count {
        module.section(&DataCountSection { count: next_data });
    }
    module.section(&code).section(&data);
    let merged = module.finish();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&merged)
        .context("the merged module does not validate")?;
    Ok(merged)
}

/// One input module's indices in the merged module.
#[derive(Default)]
struct Renumber {
    types: Vec<u32>,
    globals: Vec<u32>,
    func_base: u32,
    data_base: u32,
}

impl Reencode for Renumber {
    type Error = std::convert::Infallible;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(self.types[ty as usize])
    }
    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(self.func_base + func)
    }
    fn global_index(&mut self, global: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(self.globals[global as usize])
    }
    fn data_index(&mut self, data: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(self.data_base + data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{ConstExpr, Elements, Function, Instruction, RefType};

    fn part(pages: u64, size: u64) -> Part {
        Part {
            stem: String::new(),
            pages,
            size,
        }
    }

    #[test]
    fn small_parts_of_the_same_pages_merge_and_a_large_one_stays_alone() {
        // Pages 0 and 1 share two small parts; page 2 has a large part of its own.
        let parts = [part(0b011, 100), part(0b011, 200), part(0b100, 50_000)];
        let mut groups = group(&parts);
        groups.iter_mut().for_each(|g| g.sort());
        groups.sort();
        assert_eq!(groups, vec![vec![0, 1], vec![2]]);
    }

    #[test]
    fn a_large_part_is_not_merged_into_pages_that_do_not_need_it_but_a_small_one_is() {
        // Page 0 needs part 0 only; merging part 1 into it would cost page 0 50 KB it does
        // not run. Part 2 (page 1 only, small) rides along with part 1, which page 1 needs.
        let parts = [part(0b11, 100), part(0b10, 50_000), part(0b10, 10)];
        let mut groups = group(&parts);
        groups.iter_mut().for_each(|g| g.sort());
        groups.sort();
        assert_eq!(groups, vec![vec![0], vec![1, 2]]);
    }

    /// A split module as the tool writes them: the shared imports, `n` functions that call
    /// the next one, placed in the table at `slot`, and data at `address`.
    fn split_module(n: u32, slot: i32, address: i32, byte: u8) -> Vec<u8> {
        let mut types = TypeSection::new();
        types.ty().function([ValType::I32], []);
        let mut imports = ImportSection::new();
        imports.import(
            "__wasm_split",
            "memory",
            EntityType::Memory(MemoryType {
                minimum: 1,
                maximum: None,
                memory64: false,
                shared: false,
                page_size_log2: None,
            }),
        );
        imports.import(
            "__wasm_split",
            "__indirect_function_table",
            EntityType::Table(TableType {
                element_type: RefType::FUNCREF,
                minimum: 16,
                maximum: None,
                table64: false,
                shared: false,
            }),
        );
        imports.import(
            "__wasm_split",
            "__wasm_split_shared0",
            EntityType::Global(GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            }),
        );
        let mut functions = FunctionSection::new();
        let mut code = CodeSection::new();
        for f in 0..n {
            functions.function(0);
            let mut body = Function::new([]);
            body.instruction(&Instruction::GlobalGet(0));
            if f + 1 < n {
                body.instruction(&Instruction::Call(f + 1));
            } else {
                body.instruction(&Instruction::Drop);
            }
            body.instruction(&Instruction::End);
            code.function(&body);
        }
        let mut elements = ElementSection::new();
        let funcs: Vec<u32> = (0..n).collect();
        elements.active(
            None,
            &ConstExpr::i32_const(slot),
            Elements::Functions(funcs.into()),
        );
        let mut data = DataSection::new();
        data.active(0, &ConstExpr::i32_const(address), [byte; 4]);
        let mut module = Module::new();
        module
            .section(&types)
            .section(&imports)
            .section(&functions)
            .section(&elements)
            .section(&code)
            .section(&data);
        module.finish()
    }

    #[test]
    fn merged_modules_keep_their_calls_table_slots_and_data() {
        let merged = merge(&[split_module(2, 3, 100, 7), split_module(3, 9, 200, 8)]).unwrap();
        let (mut calls, mut slots, mut data, mut imports) = (vec![], vec![], vec![], 0);
        for payload in wasmparser::Parser::new(0).parse_all(&merged) {
            match payload.unwrap() {
                wasmparser::Payload::ImportSection(r) => imports = r.into_imports().count(),
                wasmparser::Payload::CodeSectionEntry(body) => {
                    for op in body.get_operators_reader().unwrap() {
                        if let wasmparser::Operator::Call { function_index } = op.unwrap() {
                            calls.push(function_index);
                        }
                    }
                }
                wasmparser::Payload::ElementSection(r) => {
                    for e in r {
                        let e = e.unwrap();
                        let wasmparser::ElementItems::Functions(f) = e.items else {
                            panic!()
                        };
                        slots.push(f.into_iter().map(|f| f.unwrap()).collect::<Vec<_>>());
                    }
                }
                wasmparser::Payload::DataSection(r) => {
                    for d in r {
                        data.push(d.unwrap().data.to_vec());
                    }
                }
                _ => {}
            }
        }
        // One set of imports; the second module's functions renumbered after the first's.
        assert_eq!(imports, 3);
        assert_eq!(calls, vec![1, 3, 4]);
        assert_eq!(slots, vec![vec![0, 1], vec![2, 3, 4]]);
        assert_eq!(data, vec![vec![7; 4], vec![8; 4]]);
    }
}
