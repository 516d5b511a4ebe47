//! One compilation unit of DWARF → CU-local BTF types, function and variable candidates.
//!
//! Type DIEs get local ids in DIE order (pass 1), then each is translated (pass 2), so references
//! (including cycles through pointers) are plain id lookups. Local ids start at 1; 0 is `void`.
//! Names are indices into the CU's own string list; the type graph (`graph.rs`) interns them
//! globally.
//!
//! Cost (a vmlinux has 19 M DIEs in 2,573 units, 16 M of them types and their members): pass 1
//! reads each DIE once with gimli's raw reader into a node table (offset, tag, first child, next
//! sibling), parsing the attributes of the DIEs pass 2 will read while their bytes are in cache
//! and skipping function bodies; pass 2 then finds children and references by index, never
//! re-parsing. Only the attributes the walk asks for are kept, with a presence mask so that most
//! lookups (of attributes a DIE does not have) cost no scan. Names in `.debug_str` are kept as
//! their offsets, unread (the graph reads each distinct one once for the whole input); other
//! names are borrowed from the sections and interned per unit by content. The walk's buffers are
//! reused from one unit to the next.
//!
//! By what they read: `index` (pass 1: the node table, attributes, names, references), `types`
//! (type DIEs → BTF types), `functions` (subprograms, parameters and their locations at entry;
//! `classify` gives a parameter type's ABI class, which [`crate::abi`] checks), `variables`.

use crate::elf::Reader;
use crate::error::{EncodeError, Result};
use crate::features::Features;
use crate::fx::HashMap;
use btf::types::*;
use gimli::DwTag;
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

mod classify;
mod functions;
mod index;
mod types;
mod variables;

pub(crate) use index::{section_str, Die};
use index::{Node, Slot, UnitDies};

/// `DW_TAG_LLVM_annotation` (clang's carrier of `btf_decl_tag` and `btf_type_tag`).
pub(crate) const DW_TAG_LLVM_ANNOTATION: DwTag = DwTag(0x6000);

/// [`CuOut::str_offsets`] of a name that was not read from `.debug_str`.
pub(crate) const NO_STR_OFFSET: u32 = u32::MAX;

/// Placeholder index type of arrays (see `Walker::array_index_type`).
pub(crate) const ARRAY_INDEX: TypeId = TypeId(u32::MAX);

/// Deepest chain of aliases / origins / typedefs followed before giving up.
const MAX_DEPTH: usize = 64;

/// The result of walking one CU.
#[derive(Debug, Default)]
pub(crate) struct CuOut {
    /// `.debug_info` offset of the unit.
    pub offset: u64,
    /// `DW_AT_name` of the unit.
    pub name: String,
    /// Names; index 0 is `""`. A name with a `.debug_str` offset (see
    /// [`CuOut::str_offsets`]) has its text there, not here.
    pub strings: Names,
    /// Per name: its `.debug_str` offset when it is a string of that section, else
    /// [`NO_STR_OFFSET`]. The linker merges identical strings, so the graph interns most names
    /// by this number, reading each string's bytes once for the whole input instead of once
    /// per unit.
    pub str_offsets: Vec<u32>,
    /// Types, flat; local id `i + 1` is the `i`-th. Names index [`CuOut::strings`].
    pub types: crate::dedup::UnitTypes,
    /// Per type: emitted only when an emitted FUNC refers to it (function prototypes).
    pub weak: Vec<bool>,
    /// Out-of-line functions (with code).
    pub funcs: Vec<FuncCand>,
    /// Functions with a body that only exist inlined.
    pub inline_only: usize,
    /// The CU's `int` (signed, 4 bytes), if it has one: the array index type.
    pub int_type: Option<TypeId>,
    /// Variables with a static address.
    pub vars: Vec<VarCand>,
    /// Excluded by `--lang_exclude`.
    pub excluded: bool,
    /// Problems worked around (with `encode_force`).
    pub warnings: Vec<String>,
    /// Placeholder types for references into other units: (local id, `.debug_info` offset).
    pub foreign: Vec<(TypeId, u64)>,
    /// Every type DIE of this unit: (`.debug_info` offset, local id), when asked for (only
    /// references from other units need them).
    pub type_dies: Vec<(u64, TypeId)>,
    /// Out-of-line functions whose abstract origin is in another unit (not encoded).
    pub foreign_origin: usize,
}

/// A unit's names in one buffer: one allocation per unit instead of one per name (a kernel's
/// units hold millions of names, and the walk's allocations are freed on another thread).
#[derive(Debug, Default)]
pub(crate) struct Names {
    text: String,
    /// Where each name ends in `text`.
    ends: Vec<u32>,
}

impl Names {
    /// Names holding only `""` (index 0).
    fn new() -> Names {
        Names {
            text: String::new(),
            ends: vec![0],
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
    }

    /// Name `i` (`""` out of range).
    pub(crate) fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends.get(i - 1).copied().unwrap_or(0) };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// An out-of-line instance of a function.
#[derive(Debug, Clone)]
pub(crate) struct FuncCand {
    /// `DW_AT_name` (through abstract origin / specification).
    pub name: String,
    /// `DW_AT_linkage_name` (C++ mangled name, asm labels), which the symbol then carries.
    pub linkage_name: Option<String>,
    /// `DW_AT_external`.
    pub external: bool,
    /// Entry address (synthetic for relocatable inputs).
    pub entry: u64,
    /// `.debug_info` offset of the concrete DIE.
    pub die: u64,
    /// Local id of its source prototype (a weak FUNC_PROTO).
    pub proto: TypeId,
    /// `DW_CC_nocall`.
    pub nocall: bool,
    /// Whether every parameter is where the ABI puts it at entry; the reason when not.
    pub abi: std::result::Result<(), (crate::report::DropKind, String)>,
    /// The signature its parameter locations show (for clones), or why none could be derived.
    pub true_proto: Option<std::result::Result<TypeId, String>>,
    /// `true_proto` returning `void`: what a clone whose symbol does not show that the return
    /// value was kept gets (funcs.rs `clone_keeps_return`).
    pub true_proto_void: Option<TypeId>,
    /// `btf_decl_tag`s: (tag, component index; -1 for the function).
    pub decl_tags: Vec<(String, i32)>,
}

/// A variable at a fixed address.
#[derive(Debug, Clone)]
pub(crate) struct VarCand {
    pub name: String,
    pub ty: TypeId,
    pub external: bool,
    pub addr: u64,
    pub size: u64,
    pub decl_tags: Vec<String>,
}

/// CPU time of the walk's phases summed over units and threads, in ns (for `BTFENC_TIMING`):
/// pass 1 (DIE tree, type ids), types, functions and variables, exported type DIEs.
pub(crate) static PHASE_NS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

pub(crate) struct Walker<'a, 'u> {
    dwarf: &'a gimli::Dwarf<Reader<'a>>,
    unit: &'u gimli::Unit<Reader<'a>>,
    feats: &'u Features,
    x86_64: bool,
    flatten_arrays: bool,
    /// The unit may carry `DW_TAG_LLVM_annotation`s (its producer is clang, or unknown).
    annotated: bool,
    /// Every DIE of the unit, in offset order.
    nodes: Vec<Node>,
    /// Unit offset → node index + 1 (0: no DIE starts there). Dense: one lookup per reference
    /// instead of a search, for 4 bytes per byte of the unit, freed with the walker.
    by_off: Vec<u32>,
    /// Per node: what pass 1 decided.
    slots: Vec<Slot>,
    /// Parsed attributes of the nodes asked for (and of DIEs outside the node table).
    attrs: RefCell<index::Attrs<'a>>,
    /// Section bytes that strings are borrowed from (`.debug_info`, `.debug_str`,
    /// `.debug_line_str`), so that names need no allocation until they are kept.
    str_sections: [&'a [u8]; 3],
    /// `.debug_str` ends with a NUL: every offset inside it starts a terminated string, which
    /// the graph can read later (then names read from there are kept as offsets).
    str_terminated: bool,
    foreign_ids: HashMap<u64, TypeId>,
    str_index: HashMap<Cow<'a, str>, u32>,
    str_at: HashMap<usize, u32>,
    lists: Lists,
    out: CuOut,
}

/// Member and parameter lists, reused from one type to the next: a type is stored flat as soon
/// as it is built ([`crate::dedup::UnitTypes`]), so its list is free again.
#[derive(Default)]
pub(crate) struct Lists {
    members: Vec<Member>,
    params: Vec<Param>,
}

/// Per-thread buffers of the walk, kept from one unit to the next: a kernel's units need
/// tens of MB of them, and allocating (and page-faulting) them anew for each of 2,500 units costs
/// more than filling them.
#[derive(Default)]
pub(crate) struct Scratch<'a> {
    nodes: Vec<Node>,
    by_off: Vec<u32>,
    slots: Vec<Slot>,
    attrs: index::Attrs<'a>,
    str_index: HashMap<Cow<'a, str>, u32>,
    str_at: HashMap<usize, u32>,
    lists: Lists,
}

/// Walks one unit.
#[allow(clippy::too_many_arguments)]
pub(crate) fn walk_unit<'a>(
    dwarf: &'a gimli::Dwarf<Reader<'a>>,
    str_sections: [&'a [u8]; 3],
    scratch: &mut Scratch<'a>,
    header: gimli::UnitHeader<Reader<'a>>,
    feats: &Features,
    lang_exclude: &[gimli::DwLang],
    x86_64: bool,
    flatten_arrays: bool,
    type_dies: bool,
) -> Result<CuOut> {
    let uoff = header
        .offset()
        .as_debug_info_offset()
        .map_or(0, |o| o.0 as u64);
    let unit = dwarf
        .unit(header)
        .map_err(|e| EncodeError::dwarf(uoff, e))?;
    let unit_len = unit.header.length_including_self();
    if scratch.by_off.len() < unit_len {
        scratch.by_off.resize(unit_len, 0);
    }
    let mut w = Walker {
        dwarf,
        unit: &unit,
        feats,
        x86_64,
        flatten_arrays,
        annotated: true,
        nodes: std::mem::take(&mut scratch.nodes),
        by_off: std::mem::take(&mut scratch.by_off),
        slots: std::mem::take(&mut scratch.slots),
        attrs: RefCell::new(std::mem::take(&mut scratch.attrs)),
        str_sections,
        str_terminated: str_sections[1].last() == Some(&0),
        foreign_ids: HashMap::default(),
        str_index: std::mem::take(&mut scratch.str_index),
        str_at: std::mem::take(&mut scratch.str_at),
        lists: std::mem::take(&mut scratch.lists),
        out: CuOut {
            offset: uoff,
            strings: Names::new(),
            str_offsets: vec![NO_STR_OFFSET],
            ..CuOut::default()
        },
    };
    let r = w.run(lang_exclude, type_dies);
    // Hand the buffers back, emptied (`by_off` is all zeros again).
    for n in &w.nodes {
        if let Some(slot) = w.by_off.get_mut(n.off.0) {
            *slot = 0;
        }
    }
    w.nodes.clear();
    w.slots.clear();
    w.attrs.get_mut().clear();
    w.str_index.clear();
    w.str_at.clear();
    scratch.nodes = std::mem::take(&mut w.nodes);
    scratch.by_off = std::mem::take(&mut w.by_off);
    scratch.slots = std::mem::take(&mut w.slots);
    scratch.attrs = std::mem::take(w.attrs.get_mut());
    scratch.str_index = std::mem::take(&mut w.str_index);
    scratch.str_at = std::mem::take(&mut w.str_at);
    scratch.lists = std::mem::take(&mut w.lists);
    r?;
    // The CU outputs of a whole kernel are held together until the merge: no slack.
    let o = &mut w.out;
    o.strings.text.shrink_to_fit();
    o.strings.ends.shrink_to_fit();
    o.str_offsets.shrink_to_fit();
    o.types.shrink_to_fit();
    o.weak.shrink_to_fit();
    o.funcs.shrink_to_fit();
    o.vars.shrink_to_fit();
    o.foreign.shrink_to_fit();
    o.type_dies.shrink_to_fit();
    Ok(w.out)
}

impl<'a, 'u> Walker<'a, 'u> {
    /// Pass 1 (the index), then pass 2: types, functions, variables, the exported type DIEs.
    fn run(&mut self, lang_exclude: &[gimli::DwLang], type_dies: bool) -> Result<()> {
        let mut clock = std::time::Instant::now();
        let mut lap = |phase: usize| {
            let now = std::time::Instant::now();
            PHASE_NS[phase].fetch_add((now - clock).as_nanos() as u64, Relaxed);
            clock = now;
        };
        let Some(UnitDies {
            types,
            subprograms,
            variables,
        }) = self.index_unit(lang_exclude)?
        else {
            return Ok(());
        };
        lap(0);
        // Pass 2.
        if type_dies {
            let n = self.slots.iter().filter(|s| !matches!(s, Slot::None)).count();
            self.out.type_dies.reserve_exact(n);
        }
        for (off, id) in types {
            let ty = self.build_type(off)?;
            self.set(id, ty);
        }
        lap(1);
        for off in subprograms {
            self.function(off)?;
        }
        for off in variables {
            self.variable(off)?;
        }
        lap(2);
        if type_dies {
            self.export_type_dies();
        }
        lap(3);
        Ok(())
    }
}
