//! A split module without what the browser never reads: the function types no function,
//! import, call or block of the module uses, and every custom section.

use std::collections::BTreeMap;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{Module, TypeSection};

/// `wasm` re-encoded with only the types it uses (renumbered in their order) and no custom
/// section.
pub fn slim(wasm: &[u8]) -> anyhow::Result<Vec<u8>> {
    // First pass: every type index the module refers to, as the re-encoder asks for them.
    let mut seen = Types::default();
    seen.encode(wasm)?;
    let mut renumbered = Types {
        new_index: seen
            .new_index
            .keys()
            .enumerate()
            .map(|(new, &old)| (old, new as u32))
            .collect(),
        renumber: true,
    };
    renumbered.encode(wasm)
}

/// With `renumber` false, records each type index asked for; with it true, maps each to
/// its new index and writes only the recorded types.
#[derive(Default)]
struct Types {
    new_index: BTreeMap<u32, u32>,
    renumber: bool,
}

impl Types {
    fn encode(&mut self, wasm: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut module = Module::new();
        self.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(module.finish())
    }
}

impl Reencode for Types {
    type Error = std::convert::Infallible;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<Self::Error>> {
        if self.renumber {
            Ok(self.new_index.get(&ty).copied().unwrap_or(ty))
        } else {
            self.new_index.insert(ty, ty);
            Ok(ty)
        }
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // The split modules hold function types only, one per (implicit) group.
        for (index, group) in section.into_iter().enumerate() {
            let group = group?;
            if !self.renumber || self.new_index.contains_key(&(index as u32)) {
                self.parse_recursive_type_group(types.ty(), group)?;
            }
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        _module: &mut Module,
        _section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        Ok(())
    }
}
