//! Variable selection: which variables get a VAR (per-CPU ones with `var`, every global with
//! `global_var`), in which section, at which offset.

use crate::dwarf::CuOut;
use crate::elf::ElfInfo;
use crate::features::Features;
use crate::fx::HashMap;
use crate::graph::Graph;
use btf::types::VarLinkage;

/// A VAR to write, and where it goes.
pub(crate) struct EmitVar {
    pub(crate) name: String,
    pub(crate) linkage: VarLinkage,
    /// Node of its type.
    pub(crate) ty: u32,
    /// Offset in its section.
    pub(crate) offset: u64,
    pub(crate) size: u64,
    pub(crate) tags: Vec<String>,
    pub(crate) section: String,
}

/// The VARs to write, in CU order then DIE order: variables at an address of a section the
/// features select, with an ELF object symbol of their name there, each (name, address) once.
pub(crate) fn select(cus: &[CuOut], elf: &ElfInfo, g: &Graph, feats: &Features) -> Vec<EmitVar> {
    let mut vars: Vec<EmitVar> = Vec::new();
    if feats.var || feats.global_var {
        let mut seen = crate::fx::HashSet::default();
        let obj_at: HashMap<u64, Vec<&crate::elf::Symbol>> =
            elf.objects.iter().fold(HashMap::default(), |mut m, s| {
                m.entry(s.addr).or_default().push(s);
                m
            });
        for (ci, cu) in cus.iter().enumerate() {
            for v in &cu.vars {
                let Some(sec) = elf.section_of(v.addr) else {
                    continue;
                };
                let percpu = sec.name == ".data..percpu";
                if !(percpu && feats.var || feats.global_var) {
                    continue;
                }
                let Some(sym) = obj_at
                    .get(&v.addr)
                    .and_then(|l| l.iter().find(|s| s.name == v.name))
                else {
                    continue;
                };
                if !seen.insert((v.name.clone(), v.addr)) {
                    continue;
                }
                let size = if sym.size != 0 { sym.size } else { v.size };
                let linkage = if v.external {
                    VarLinkage::GLOBAL
                } else {
                    VarLinkage::STATIC
                };
                vars.push(EmitVar {
                    name: v.name.clone(),
                    linkage,
                    ty: g.node(ci, v.ty),
                    offset: v.addr - sec.addr,
                    size,
                    tags: v.decl_tags.clone(),
                    section: sec.name.clone(),
                });
            }
        }
    }
    vars
}
