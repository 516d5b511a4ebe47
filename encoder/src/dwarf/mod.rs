//! One compilation unit of DWARF → CU-local BTF types, function and variable candidates.
//!
//! Type DIEs get local ids in DIE order (pass 1), then each is translated (pass 2), so references
//! (including cycles through pointers) are plain id lookups. Local ids start at 1; 0 is `void`.
//! Names are indices into the CU's own string list; [`crate::merge`] interns them globally.
//!
//! Cost (a vmlinux has 19 M DIEs in 2,573 units, 16 M of them types and their members): pass 1
//! reads each DIE once with gimli's raw reader into a node table (offset, tag, first child, next
//! sibling), parsing the attributes of the DIEs pass 2 will read while their bytes are in cache
//! and skipping function bodies; pass 2 then finds children and references by index, never
//! re-parsing. Only the attributes the walk asks for are kept, with a presence mask so that most
//! lookups (of attributes a DIE does not have) cost no scan. Names are borrowed from the sections
//! and interned per unit (by `.debug_str` offset first, then by content); only the unit's own
//! string list allocates. The walk's buffers are reused from one unit to the next.

use crate::abi::{self, ArgClass, Loc};
use crate::elf::Reader;
use crate::error::{EncodeError, Result};
use crate::features::Features;
use crate::fx::HashMap;
use btf::types::*;
use gimli::{constants::*, AttributeValue, DwTag, UnitOffset};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

mod classify;

/// `DW_TAG_LLVM_annotation` (clang's carrier of `btf_decl_tag` and `btf_type_tag`).
pub(crate) const DW_TAG_LLVM_ANNOTATION: DwTag = DwTag(0x6000);

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
    /// Names; index 0 is `""`.
    pub strings: Vec<String>,
    /// Types; local id `i + 1` is `types[i]`. Names index [`CuOut::strings`].
    pub types: Vec<Type>,
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
    /// Every type DIE of this unit: (`.debug_info` offset, local id).
    pub type_dies: Vec<(u64, TypeId)>,
    /// Out-of-line functions whose abstract origin is in another unit (not encoded).
    pub foreign_origin: usize,
}

/// Where a reference points.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// This unit.
    Local(UnitOffset),
    /// Another unit, by `.debug_info` offset.
    Foreign(u64),
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

/// What pass 1 decided for a DIE.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// Not a type.
    None,
    /// Becomes the type with this local id.
    Type(TypeId),
    /// Stands for whatever its `DW_AT_type` is (`_Atomic`, `DW_TAG_unspecified_type`).
    Alias,
}

/// The attributes the walk ever asks for (see `Walker::attr`), each with a bit of a DIE's
/// presence mask (most lookups are of attributes a DIE does not have, such as `DW_AT_bit_size` of
/// a member: the mask answers those without a scan). Only these are kept when a DIE is
/// parsed. Member DIEs, most of a kernel unit, carry as many source-position attributes
/// (`DW_AT_decl_file`, `_line`, `_column`) as useful ones; not storing those halves the work.
fn attr_bit(at: DwAt) -> u32 {
    match at {
        DW_AT_name => 1 << 0,
        DW_AT_type => 1 << 1,
        DW_AT_byte_size => 1 << 2,
        DW_AT_bit_size => 1 << 3,
        DW_AT_bit_offset => 1 << 4,
        DW_AT_data_bit_offset => 1 << 5,
        DW_AT_data_member_location => 1 << 6,
        DW_AT_encoding => 1 << 7,
        DW_AT_external => 1 << 8,
        DW_AT_declaration => 1 << 9,
        DW_AT_const_value => 1 << 10,
        DW_AT_count => 1 << 11,
        DW_AT_lower_bound => 1 << 12,
        DW_AT_upper_bound => 1 << 13,
        DW_AT_abstract_origin => 1 << 14,
        DW_AT_specification => 1 << 15,
        DW_AT_linkage_name => 1 << 16,
        DW_AT_MIPS_linkage_name => 1 << 17,
        DW_AT_calling_convention => 1 << 18,
        DW_AT_location => 1 << 19,
        DW_AT_entry_pc => 1 << 20,
        DW_AT_low_pc => 1 << 21,
        DW_AT_ranges => 1 << 22,
        DW_AT_inline => 1 << 23,
        DW_AT_language => 1 << 24,
        DW_AT_producer => 1 << 25,
        DW_AT_alignment => 1 << 26,
        _ => 0,
    }
}

/// DIEs whose attributes pass 1 parses (besides parameters and global variables).
fn eager(tag: DwTag) -> bool {
    matches!(
        tag,
        DW_TAG_compile_unit
            | DW_TAG_partial_unit
            | DW_TAG_base_type
            | DW_TAG_pointer_type
            | DW_TAG_reference_type
            | DW_TAG_rvalue_reference_type
            | DW_TAG_const_type
            | DW_TAG_volatile_type
            | DW_TAG_restrict_type
            | DW_TAG_atomic_type
            | DW_TAG_unspecified_type
            | DW_TAG_typedef
            | DW_TAG_structure_type
            | DW_TAG_class_type
            | DW_TAG_union_type
            | DW_TAG_enumeration_type
            | DW_TAG_array_type
            | DW_TAG_subroutine_type
            | DW_TAG_member
            | DW_TAG_inheritance
            | DW_TAG_enumerator
            | DW_TAG_subrange_type
            | DW_TAG_subprogram
    )
}

/// CPU time of the walk's phases summed over units and threads, in ns (for `BTFENC_TIMING`):
/// pass 1 (DIE tree, type ids), types, functions and variables, exported type DIEs.
pub(crate) static PHASE_NS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// Reads a DIE's attributes after its abbreviation code, keeping the wanted ones in `attrs`:
/// (start, count, presence mask).
fn read_wanted<'a>(
    raw: &mut gimli::EntriesRaw<'_, '_, Reader<'a>>,
    abbrev: &gimli::Abbreviation,
    attrs: &mut Vec<gimli::Attribute<Reader<'a>>>,
) -> gimli::Result<(u32, u32, u32)> {
    let start = attrs.len();
    let mut mask = 0;
    for spec in abbrev.attributes() {
        let bit = attr_bit(spec.name());
        if bit != 0 {
            attrs.push(raw.read_attribute(*spec)?);
            mask |= bit;
        } else {
            raw.skip_attributes(std::slice::from_ref(spec))?;
        }
    }
    match (u32::try_from(start), u32::try_from(attrs.len() - start)) {
        (Ok(s), Ok(n)) => Ok((s, n, mask)),
        _ => Err(gimli::Error::OffsetOutOfBounds),
    }
}

/// `String::from_utf8_lossy`, with the validation of the (nearly always) valid case done by
/// `str::from_utf8`, which is much faster on short ASCII names.
fn utf8_lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Not yet parsed (in [`Node::attrs`]).
const UNPARSED: u32 = u32::MAX;

/// One DIE of the unit as pass 1 saw it: the tree is kept as indices so that children and
/// references cost no re-parse, and attributes are parsed once, when first asked for.
#[derive(Debug)]
struct Node {
    off: UnitOffset,
    tag: DwTag,
    /// Has at least one child (the next node, then).
    kids: bool,
    /// Index of its next sibling; 0 when it is the last (node 0 is the root, never a sibling).
    next: u32,
    /// Its attributes in [`Walker::attrs`]: (start, count, presence mask), start [`UNPARSED`]
    /// until parsed.
    attrs: Cell<(u32, u32, u32)>,
}

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
    attrs: RefCell<Vec<gimli::Attribute<Reader<'a>>>>,
    /// Section bytes that strings are borrowed from (`.debug_info`, `.debug_str`,
    /// `.debug_line_str`), so that names need no allocation until they are kept.
    str_sections: [&'a [u8]; 3],
    foreign_ids: HashMap<u64, TypeId>,
    str_index: HashMap<Cow<'a, str>, u32>,
    str_at: HashMap<usize, u32>,
    out: CuOut,
}

/// A DIE whose attributes are parsed (they live in the walker; gimli would re-parse them on
/// every `attr_value` call).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Die<'a> {
    off: UnitOffset,
    tag: DwTag,
    start: u32,
    len: u32,
    /// Which wanted attributes it has (see [`attr_bit`]).
    mask: u32,
    _reader: PhantomData<Reader<'a>>,
}

impl<'a> Die<'a> {
    pub(crate) fn offset(&self) -> UnitOffset {
        self.off
    }
    pub(crate) fn tag(&self) -> DwTag {
        self.tag
    }
}

/// Children of a DIE, walked by index (no borrow of the walker between steps, so the loop body
/// may call `&mut self` methods).
enum Kids {
    /// Next child in the node table.
    Node(u32),
    /// Children of a DIE that is not in the node table (a reference into the middle of a DIE of
    /// malformed input), read by gimli.
    List(std::vec::IntoIter<(UnitOffset, DwTag)>),
    Done,
}

impl Kids {
    fn next(&mut self, w: &Walker<'_, '_>) -> Option<(UnitOffset, DwTag)> {
        match self {
            Kids::Node(i) => {
                let n = &w.nodes[*i as usize];
                *self = if n.next == 0 {
                    Kids::Done
                } else {
                    Kids::Node(n.next)
                };
                Some((n.off, n.tag))
            }
            Kids::List(it) => it.next(),
            Kids::Done => None,
        }
    }
}

/// Per-thread buffers of the walk, kept from one unit to the next: a kernel's units need
/// tens of MB of them, and allocating (and page-faulting) them anew for each of 2,500 units costs
/// more than filling them.
#[derive(Default)]
pub(crate) struct Scratch<'a> {
    nodes: Vec<Node>,
    by_off: Vec<u32>,
    slots: Vec<Slot>,
    attrs: Vec<gimli::Attribute<Reader<'a>>>,
    str_index: HashMap<Cow<'a, str>, u32>,
    str_at: HashMap<usize, u32>,
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
        foreign_ids: HashMap::default(),
        str_index: std::mem::take(&mut scratch.str_index),
        str_at: std::mem::take(&mut scratch.str_at),
        out: CuOut {
            offset: uoff,
            strings: vec![String::new()],
            ..CuOut::default()
        },
    };
    let r = w.run(lang_exclude);
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
    r?;
    // The CU outputs of a whole kernel are held together until the merge: no slack.
    let o = &mut w.out;
    o.strings.shrink_to_fit();
    o.types.shrink_to_fit();
    o.weak.shrink_to_fit();
    o.funcs.shrink_to_fit();
    o.vars.shrink_to_fit();
    o.foreign.shrink_to_fit();
    o.type_dies.shrink_to_fit();
    Ok(w.out)
}

impl<'a, 'u> Walker<'a, 'u> {
    fn die_off(&self, off: UnitOffset) -> u64 {
        off.to_debug_info_offset(&self.unit.header)
            .map_or(off.0 as u64, |o| o.0 as u64)
    }

    fn err(&self, off: UnitOffset) -> impl Fn(gimli::Error) -> EncodeError + use<> {
        let at = self.die_off(off);
        move |e| EncodeError::dwarf(at, e)
    }

    /// The node of the DIE at `off`, if a DIE starts there.
    fn node(&self, off: UnitOffset) -> Option<usize> {
        match self.by_off.get(off.0) {
            Some(&i) if i != 0 => Some(i as usize - 1),
            _ => None,
        }
    }

    /// Parses the attributes of the DIE at `off` into the arena: tag, (start, count, mask).
    fn parse_attrs(&self, off: UnitOffset) -> Result<(DwTag, (u32, u32, u32))> {
        let err = self.err(off);
        let mut raw = self.unit.entries_raw(Some(off)).map_err(&err)?;
        let Some(abbrev) = raw.read_abbreviation().map_err(&err)? else {
            // A null entry where a DIE was expected.
            return Err(err(gimli::Error::NoEntryAtGivenOffset));
        };
        let span = read_wanted(&mut raw, abbrev, &mut self.attrs.borrow_mut()).map_err(&err)?;
        Ok((abbrev.tag(), span))
    }

    fn entry(&self, off: UnitOffset) -> Result<Die<'a>> {
        let (tag, (start, len, mask)) = match self.node(off) {
            Some(i) => {
                let n = &self.nodes[i];
                let mut span = n.attrs.get();
                if span.0 == UNPARSED {
                    (_, span) = self.parse_attrs(off)?;
                    n.attrs.set(span);
                }
                (n.tag, span)
            }
            // Not a DIE start of this unit (malformed references): parse whatever is there, as
            // gimli would.
            None => self.parse_attrs(off)?,
        };
        Ok(Die {
            off,
            tag,
            start,
            len,
            mask,
            _reader: PhantomData,
        })
    }

    /// The string at `r`, borrowed from the section when it lies in one of ours.
    fn str_of(&self, r: Reader<'a>) -> std::result::Result<Cow<'a, str>, gimli::Error> {
        let p = gimli::Reader::offset_id(&r).0 as usize;
        let n = gimli::Reader::len(&r);
        for s in self.str_sections {
            let b = s.as_ptr() as usize;
            if p >= b && p - b <= s.len() && n <= s.len() - (p - b) {
                return Ok(utf8_lossy(&s[p - b..p - b + n]));
            }
        }
        Ok(Cow::Owned(gimli::Reader::to_string_lossy(&r)?.into_owned()))
    }

    fn intern(&mut self, s: &str) -> StrRef {
        if s.is_empty() {
            return StrRef::EMPTY;
        }
        if let Some(&i) = self.str_index.get(s) {
            return StrRef(i);
        }
        let i = self.out.strings.len() as u32;
        self.out.strings.push(s.to_string());
        self.str_index.insert(Cow::Owned(s.to_string()), i);
        StrRef(i)
    }

    /// [`Walker::intern`] for a string of the input: no allocation when it is known already or
    /// borrowed from a section.
    fn intern_in(&mut self, s: Cow<'a, str>) -> StrRef {
        if s.is_empty() {
            return StrRef::EMPTY;
        }
        // One hash per name: a borrowed key costs nothing to build.
        match self.str_index.entry(s) {
            std::collections::hash_map::Entry::Occupied(o) => StrRef(*o.get()),
            std::collections::hash_map::Entry::Vacant(v) => {
                let i = self.out.strings.len() as u32;
                self.out.strings.push(v.key().to_string());
                v.insert(i);
                StrRef(i)
            }
        }
    }

    /// The interned `DW_AT_name` of a DIE. Names in `.debug_str` are first looked up by offset
    /// (the linker merges identical strings, so the same name has the same offset): a name seen
    /// before in the unit costs neither reading its bytes nor hashing them.
    fn name_ref(&mut self, e: &Die<'a>) -> Result<StrRef> {
        if let Some(AttributeValue::DebugStrRef(o)) = self.attr(e, DW_AT_name)? {
            if let Some(&i) = self.str_at.get(&o.0) {
                return Ok(StrRef(i));
            }
            let s = self.name(e)?;
            let r = self.intern_in(s);
            self.str_at.insert(o.0, r.0);
            return Ok(r);
        }
        let s = self.name(e)?;
        Ok(self.intern_in(s))
    }

    fn push(&mut self, ty: Type, weak: bool) -> TypeId {
        self.out.types.push(ty);
        self.out.weak.push(weak);
        TypeId(self.out.types.len() as u32)
    }

    fn set(&mut self, id: TypeId, ty: Type) {
        self.out.types[id.0 as usize - 1] = ty;
    }

    fn attr(&self, e: &Die<'a>, at: DwAt) -> Result<Option<AttributeValue<Reader<'a>>>> {
        if e.mask & attr_bit(at) == 0 {
            // Not present, or not a wanted attribute (then not kept either).
            return Ok(None);
        }
        let attrs = self.attrs.borrow();
        let list = attrs
            .get(e.start as usize..e.start as usize + e.len as usize)
            .unwrap_or_default();
        Ok(list.iter().find(|a| a.name() == at).map(|a| a.value()))
    }

    /// A string attribute, borrowed from the input when possible.
    fn str_attr(&self, e: &Die<'a>, at: DwAt) -> Result<Option<Cow<'a, str>>> {
        match self.attr(e, at)? {
            // The common form, read straight from `.debug_str` (what gimli would do, minus its
            // reader machinery).
            Some(AttributeValue::DebugStrRef(o)) if self.str_sections[1].len() > o.0 => {
                let rest = &self.str_sections[1][o.0..];
                match rest.iter().position(|&b| b == 0) {
                    Some(n) => Ok(Some(utf8_lossy(&rest[..n]))),
                    None => Err(self.err(e.offset())(gimli::Error::UnexpectedEof(
                        gimli::ReaderOffsetId(rest.as_ptr() as u64),
                    ))),
                }
            }
            Some(v) => {
                let r = self
                    .dwarf
                    .attr_string(self.unit, v)
                    .map_err(self.err(e.offset()))?;
                Ok(Some(self.str_of(r).map_err(self.err(e.offset()))?))
            }
            None => Ok(None),
        }
    }

    fn string(&self, e: &Die<'a>, at: DwAt) -> Result<Option<String>> {
        Ok(self.str_attr(e, at)?.map(Cow::into_owned))
    }

    fn name(&self, e: &Die<'a>) -> Result<Cow<'a, str>> {
        Ok(self.str_attr(e, DW_AT_name)?.unwrap_or_default())
    }

    fn udata(&self, e: &Die<'a>, at: DwAt) -> Result<Option<u64>> {
        Ok(self.attr(e, at)?.and_then(|v| v.udata_value()))
    }

    /// A constant attribute read as signed: `DW_FORM_sdata` directly, fixed-size forms as the
    /// two's complement they hold (`DW_AT_bit_offset` is negative in some packed structs).
    fn sdata(&self, e: &Die<'a>, at: DwAt) -> Result<Option<i64>> {
        Ok(match self.attr(e, at)? {
            Some(AttributeValue::Sdata(v)) => Some(v),
            Some(AttributeValue::Data1(v)) => Some(i64::from(v as i8)),
            Some(AttributeValue::Data2(v)) => Some(i64::from(v as i16)),
            Some(AttributeValue::Data4(v)) => Some(i64::from(v as i32)),
            Some(AttributeValue::Data8(v)) => Some(v as i64),
            Some(v) => v.udata_value().map(|u| u as i64),
            None => None,
        })
    }

    fn flag(&self, e: &Die<'a>, at: DwAt) -> Result<bool> {
        Ok(matches!(
            self.attr(e, at)?,
            Some(AttributeValue::Flag(true))
        ))
    }

    /// A reference attribute as an offset in this unit.
    /// A reference attribute as an offset in this unit; `None` when absent or when it points
    /// into another unit (callers that only walk this unit treat that as unknown).
    fn ref_attr(&self, e: &Die<'a>, at: DwAt) -> Result<Option<UnitOffset>> {
        Ok(match self.ref_target(e, at)? {
            Some(Target::Local(u)) => Some(u),
            _ => None,
        })
    }

    /// A reference attribute, in this unit or (`DW_FORM_ref_addr`, LTO and Rust) another one.
    fn ref_target(&self, e: &Die<'a>, at: DwAt) -> Result<Option<Target>> {
        match self.attr(e, at)? {
            None => Ok(None),
            Some(AttributeValue::UnitRef(o)) => Ok(Some(Target::Local(o))),
            Some(AttributeValue::DebugInfoRef(o)) => {
                Ok(Some(match o.to_unit_offset(&self.unit.header) {
                    Some(u) => Target::Local(u),
                    None => Target::Foreign(o.0 as u64),
                }))
            }
            Some(_) => Err(EncodeError::Unsupported {
                die: self.die_off(e.offset()),
                tag: e.tag(),
                detail: Some(format!("{at} is not a reference")),
            }),
        }
    }

    /// The placeholder type standing for a type DIE of another unit (resolved by `merge`).
    fn foreign(&mut self, off: u64) -> TypeId {
        if let Some(&id) = self.foreign_ids.get(&off) {
            return id;
        }
        let id = self.push(
            Type {
                name: StrRef::EMPTY,
                data: TypeData::Void,
            },
            true,
        );
        self.foreign_ids.insert(off, id);
        self.out.foreign.push((id, off));
        id
    }

    /// The children of the DIE at `off`.
    fn kids_of(&self, off: UnitOffset) -> Result<Kids> {
        if let Some(i) = self.node(off) {
            return Ok(if self.nodes[i].kids {
                Kids::Node(i as u32 + 1)
            } else {
                Kids::Done
            });
        }
        let mut tree = self.unit.entries_tree(Some(off)).map_err(self.err(off))?;
        let root = tree.root().map_err(self.err(off))?;
        let mut kids = root.children();
        let mut v = Vec::new();
        while let Some(child) = kids.next().map_err(self.err(off))? {
            v.push((child.entry().offset(), child.entry().tag()));
        }
        Ok(Kids::List(v.into_iter()))
    }

    fn children(&self, off: UnitOffset) -> Result<Vec<(UnitOffset, DwTag)>> {
        let mut it = self.kids_of(off)?;
        let mut v = Vec::new();
        while let Some(k) = it.next(self) {
            v.push(k);
        }
        Ok(v)
    }

    /// How many children of these tags a DIE has (to size vectors kept in the output exactly).
    fn count_kids(&self, off: UnitOffset, tags: &[DwTag]) -> usize {
        let Ok(mut it) = self.kids_of(off) else {
            return 0;
        };
        let mut n = 0;
        while let Some((_, t)) = it.next(self) {
            n += usize::from(tags.contains(&t));
        }
        n
    }

    /// `btf_decl_tag` / `btf_type_tag` annotations under a DIE, in order.
    fn annotations(&self, off: UnitOffset, kind: &str) -> Result<Vec<String>> {
        let mut v = Vec::new();
        if !self.annotated {
            return Ok(v);
        }
        let mut it = self.kids_of(off)?;
        while let Some((c, tag)) = it.next(self) {
            if tag != DW_TAG_LLVM_ANNOTATION {
                continue;
            }
            let e = self.entry(c)?;
            if self.name(&e)? == kind {
                if let Some(val) = self.string(&e, DW_AT_const_value)? {
                    v.push(val);
                }
            }
        }
        Ok(v)
    }

    fn run(&mut self, lang_exclude: &[gimli::DwLang]) -> Result<()> {
        let mut clock = std::time::Instant::now();
        let mut lap = |phase: usize| {
            let now = std::time::Instant::now();
            PHASE_NS[phase].fetch_add((now - clock).as_nanos() as u64, Relaxed);
            clock = now;
        };
        // Pass 1: the node table (attributes skipped, not parsed); every type DIE gets its id;
        // functions and variables are noted.
        let mut types = Vec::new();
        let mut subprograms = Vec::new();
        let mut variables = Vec::new();
        {
            let unit = self.unit;
            let uoff = self.out.offset;
            let uerr = move |err| EncodeError::dwarf(uoff, err);
            let mut raw = unit.entries_raw(None).map_err(uerr)?;
            // Depth as gimli's `next_dfs` counts it (the root at 0; surplus null entries make it
            // negative).
            let mut depth = 0isize;
            // Open parents: (node, its last child so far).
            let mut open: Vec<(u32, u32)> = Vec::new();
            // Depth of the enclosing namespace chain (variables are global at depth 1 or in
            // namespaces).
            let mut ns_depth: Vec<isize> = Vec::new();
            while !raw.is_empty() {
                let off = raw.next_offset();
                let Some(abbrev) = raw.read_abbreviation().map_err(uerr)? else {
                    depth -= 1;
                    open.pop();
                    continue;
                };
                let tag = abbrev.tag();
                let idx = u32::try_from(self.nodes.len())
                    .map_err(|_| uerr(gimli::Error::OffsetOutOfBounds))?;
                while ns_depth.last().is_some_and(|&d| d >= depth) {
                    ns_depth.pop();
                }
                let global = depth == 1 || ns_depth.last() == Some(&(depth - 1));
                // The attributes of the DIEs pass 2 reads are parsed now, while their bytes are
                // in cache (most of a kernel unit: types and their members); those of function
                // bodies are skipped, and parsed only if ever asked for.
                let parent = open.last().map(|&(p, _)| self.nodes[p as usize].tag);
                let parse_now = match tag {
                    DW_TAG_formal_parameter | DW_TAG_unspecified_parameters => {
                        matches!(parent, Some(DW_TAG_subprogram | DW_TAG_subroutine_type))
                    }
                    DW_TAG_variable => global,
                    DW_TAG_LLVM_ANNOTATION => self.annotated,
                    _ => eager(tag),
                };
                let attrs = if parse_now {
                    read_wanted(&mut raw, abbrev, self.attrs.get_mut()).map_err(uerr)?
                } else {
                    raw.skip_attributes(abbrev.attributes()).map_err(uerr)?;
                    (UNPARSED, 0, 0)
                };
                if let Some((parent, last)) = open.last_mut() {
                    if *last == u32::MAX {
                        self.nodes[*parent as usize].kids = true;
                    } else {
                        self.nodes[*last as usize].next = idx;
                    }
                    *last = idx;
                }
                if let Some(slot) = self.by_off.get_mut(off.0) {
                    *slot = idx + 1;
                }
                self.nodes.push(Node {
                    off,
                    tag,
                    kids: false,
                    next: 0,
                    attrs: Cell::new(attrs),
                });
                self.slots.push(Slot::None);
                let die = Die {
                    off,
                    tag,
                    start: attrs.0,
                    len: attrs.1,
                    mask: attrs.2,
                    _reader: PhantomData,
                };
                match tag {
                    DW_TAG_compile_unit | DW_TAG_partial_unit => {
                        let e = &die;
                        if let Some(AttributeValue::Language(l)) = self.attr(e, DW_AT_language)? {
                            if lang_exclude.contains(&l) {
                                self.out.excluded = true;
                                return Ok(());
                            }
                        }
                        self.out.name = self.name(e)?.into_owned();
                        // Only clang writes DW_TAG_LLVM_annotation: elsewhere, do not look.
                        self.annotated = self
                            .str_attr(e, DW_AT_producer)?
                            .is_none_or(|p| p.contains("clang"));
                    }
                    DW_TAG_namespace => ns_depth.push(depth),
                    DW_TAG_base_type
                    | DW_TAG_pointer_type
                    | DW_TAG_reference_type
                    | DW_TAG_rvalue_reference_type
                    | DW_TAG_const_type
                    | DW_TAG_volatile_type
                    | DW_TAG_restrict_type
                    | DW_TAG_typedef
                    | DW_TAG_structure_type
                    | DW_TAG_class_type
                    | DW_TAG_union_type
                    | DW_TAG_enumeration_type
                    | DW_TAG_array_type
                    | DW_TAG_subroutine_type => {
                        if tag == DW_TAG_base_type && self.out.int_type.is_none() {
                            let e = &die;
                            let sized4 = self.udata(e, DW_AT_byte_size)? == Some(4);
                            let signed = matches!(
                                self.attr(e, DW_AT_encoding)?,
                                Some(AttributeValue::Encoding(DW_ATE_signed))
                            );
                            if sized4 && signed && self.name(e)? == "int" {
                                self.out.int_type = Some(TypeId(self.out.types.len() as u32 + 1));
                            }
                        }
                        let id = self.push(
                            Type {
                                name: StrRef::EMPTY,
                                data: TypeData::Void,
                            },
                            false,
                        );
                        self.slots[idx as usize] = Slot::Type(id);
                        types.push((off, id));
                    }
                    DW_TAG_atomic_type | DW_TAG_unspecified_type => {
                        self.slots[idx as usize] = Slot::Alias;
                    }
                    DW_TAG_subprogram => subprograms.push(off),
                    DW_TAG_variable if global => variables.push(off),
                    _ => {}
                }
                if abbrev.has_children() {
                    depth += 1;
                    open.push((idx, u32::MAX));
                }
            }
        }
        lap(0);
        // Pass 2.
        let type_dies = self
            .slots
            .iter()
            .filter(|s| !matches!(s, Slot::None))
            .count();
        self.out.type_dies.reserve_exact(type_dies);
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
        // What other units may refer to: every type DIE (aliases resolved), in offset order.
        for i in 0..self.nodes.len() {
            let o = self.nodes[i].off;
            let id = match self.slots[i] {
                Slot::None => continue,
                Slot::Type(id) => id,
                Slot::Alias => match self.resolve(o, o, 0) {
                    Ok(id) => id,
                    Err(_) => continue,
                },
            };
            let off = self.die_off(o);
            self.out.type_dies.push((off, id));
        }
        lap(3);
        Ok(())
    }

    /// The local id of the type a DIE's `DW_AT_type` names (void when absent).
    fn type_of(&mut self, e: &Die<'a>) -> Result<TypeId> {
        match self.ref_target(e, DW_AT_type)? {
            None => Ok(TypeId::VOID),
            Some(Target::Local(t)) => self.resolve(e.offset(), t, 0),
            Some(Target::Foreign(off)) => Ok(self.foreign(off)),
        }
    }

    fn resolve(&mut self, from: UnitOffset, target: UnitOffset, depth: usize) -> Result<TypeId> {
        if depth > MAX_DEPTH {
            return Err(EncodeError::TooDeep {
                die: self.die_off(from),
            });
        }
        match self.slot(target) {
            Some(Slot::Type(id)) => Ok(id),
            Some(Slot::Alias) => {
                let e = self.entry(target)?;
                match self.ref_target(&e, DW_AT_type)? {
                    None => Ok(TypeId::VOID),
                    Some(Target::Local(t)) => self.resolve(target, t, depth + 1),
                    Some(Target::Foreign(off)) => Ok(self.foreign(off)),
                }
            }
            Some(Slot::None) | None => {
                let tag = match self.unit.entry(target) {
                    Ok(e) => e.tag(),
                    Err(_) => {
                        return Err(EncodeError::BadReference {
                            die: self.die_off(from),
                            target: self.die_off(target),
                        })
                    }
                };
                let err = EncodeError::Unsupported {
                    die: self.die_off(target),
                    tag,
                    detail: Some(format!("referenced from DIE {:#x}", self.die_off(from))),
                };
                if self.feats.encode_force {
                    self.out.warnings.push(format!("{err}: encoded as void"));
                    Ok(TypeId::VOID)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// The index type of arrays. pahole uses one for the whole encode: the first CU's `int`, else
    /// an `__ARRAY_SIZE_TYPE__` it adds. Which that is can only be known once all CUs are walked,
    /// so arrays get the placeholder [`ARRAY_INDEX`], replaced by [`crate::merge`].
    fn array_index_type(&mut self) -> TypeId {
        ARRAY_INDEX
    }

    fn unsupported(&self, e: &Die<'a>, detail: impl Into<String>) -> EncodeError {
        EncodeError::Unsupported {
            die: self.die_off(e.offset()),
            tag: e.tag(),
            detail: Some(detail.into()),
        }
    }

    fn decl_tag(&mut self, tag: &str, ty: TypeId, component_idx: i32) {
        let name = self.intern(tag);
        self.push(
            Type {
                name,
                data: TypeData::DeclTag(DeclTag {
                    ty,
                    component_idx,
                    attribute: false,
                }),
            },
            false,
        );
    }

    fn build_type(&mut self, off: UnitOffset) -> Result<Type> {
        let e = self.entry(off)?;
        let name = self.name_ref(&e)?;
        let data = match e.tag() {
            DW_TAG_base_type => {
                let size = match self.udata(&e, DW_AT_byte_size)? {
                    Some(s) => s,
                    None => self.udata(&e, DW_AT_bit_size)?.unwrap_or(0).div_ceil(8),
                };
                let enc = match self.attr(&e, DW_AT_encoding)? {
                    Some(AttributeValue::Encoding(enc)) => enc,
                    _ => DW_ATE_signed,
                };
                if enc == DW_ATE_float && self.feats.float && matches!(size, 2 | 4 | 8 | 12 | 16) {
                    return Ok(Type {
                        name,
                        data: TypeData::Float(Float { size: size as u32 }),
                    });
                }
                let encoding = match enc {
                    DW_ATE_boolean => IntEncoding::BOOL,
                    DW_ATE_signed | DW_ATE_signed_char | DW_ATE_signed_fixed => IntEncoding::SIGNED,
                    _ => IntEncoding::NONE,
                };
                // Integers BTF cannot express (clang's DW_OP_convert helpers such as
                // `DW_ATE_unsigned_24`, `_BitInt(N)` over 128 bits): pahole writes a 4-byte
                // `__SANITIZED_FAKE_INT__`, so a member of that type has the wrong size and every
                // later member of its struct the wrong offset. We keep the true size and layout:
                // an array of `size` unsigned bytes (the name cannot be kept: `_BitInt(256)` is not
                // a valid BTF name).
                if size == 0 || !size.is_power_of_two() || size > 16 {
                    let byte_name = self.intern("unsigned char");
                    let byte = self.push(
                        Type {
                            name: byte_name,
                            data: TypeData::Int(Int { size: 1, encoding: IntEncoding::NONE, bit_offset: 0, bits: 8 }),
                        },
                        false,
                    );
                    let index = self.array_index_type();
                    return Ok(Type {
                        name: StrRef::EMPTY,
                        data: TypeData::Array(Array { elem: byte, index, len: size as u32 }),
                    });
                }
                let size = size as u32;
                return Ok(Type {
                    name,
                    data: TypeData::Int(Int {
                        size,
                        encoding,
                        bit_offset: 0,
                        bits: (size * 8) as u8,
                    }),
                });
            }
            DW_TAG_pointer_type | DW_TAG_reference_type | DW_TAG_rvalue_reference_type => {
                let mut target = self.type_of(&e)?;
                if self.feats.type_tag {
                    // `T __tag(outer) __tag(inner) *`: the DWARF lists outer, inner; the chain
                    // is PTR -> inner -> outer -> T, as clang -target bpf and pahole >= 1.30
                    // write it (pahole's btf_type_tag_order test). So the first tag wraps T.
                    let tags = self.annotations(off, "btf_type_tag")?;
                    for t in tags.iter() {
                        let n = self.intern(t);
                        target = self.push(
                            Type {
                                name: n,
                                data: TypeData::TypeTag(TypeTag {
                                    ty: target,
                                    attribute: false,
                                }),
                            },
                            false,
                        );
                    }
                }
                return Ok(Type {
                    name: StrRef::EMPTY,
                    data: TypeData::Ptr(target),
                });
            }
            DW_TAG_const_type => TypeData::Const(self.type_of(&e)?),
            DW_TAG_volatile_type => TypeData::Volatile(self.type_of(&e)?),
            DW_TAG_restrict_type => TypeData::Restrict(self.type_of(&e)?),
            DW_TAG_typedef => {
                let t = self.type_of(&e)?;
                let id = self.own_id(off);
                if self.feats.decl_tag {
                    for tag in self.annotations(off, "btf_decl_tag")? {
                        self.decl_tag(&tag, id, -1);
                    }
                }
                TypeData::Typedef(t)
            }
            DW_TAG_structure_type | DW_TAG_class_type | DW_TAG_union_type => {
                let union = e.tag() == DW_TAG_union_type;
                if self.flag(&e, DW_AT_declaration)? {
                    TypeData::Fwd(Fwd { union })
                } else {
                    let c = self.composite(&e)?;
                    if union {
                        TypeData::Union(c)
                    } else {
                        TypeData::Struct(c)
                    }
                }
            }
            DW_TAG_enumeration_type => self.enumeration(&e)?,
            DW_TAG_array_type => self.array(&e)?,
            DW_TAG_subroutine_type => {
                let ret = self.type_of(&e)?;
                let mut params = Vec::with_capacity(self.count_kids(
                    off,
                    &[DW_TAG_formal_parameter, DW_TAG_unspecified_parameters],
                ));
                let mut kit = self.kids_of(off)?;
                while let Some((c, tag)) = kit.next(self) {
                    match tag {
                        DW_TAG_formal_parameter => {
                            let pe = self.entry(c)?;
                            let name = self.name_ref(&pe)?;
                            let ty = self.type_of(&pe)?;
                            params.push(Param { name, ty });
                        }
                        DW_TAG_unspecified_parameters => params.push(Param {
                            name: StrRef::EMPTY,
                            ty: TypeId::VOID,
                        }),
                        _ => {}
                    }
                }
                // Prototypes have no name in BTF.
                return Ok(Type {
                    name: StrRef::EMPTY,
                    data: TypeData::FuncProto(FuncProto { ret, params }),
                });
            }
            tag => {
                return Err(EncodeError::Unsupported {
                    die: self.die_off(off),
                    tag,
                    detail: None,
                })
            }
        };
        Ok(Type { name, data })
    }

    fn own_id(&self, off: UnitOffset) -> TypeId {
        match self.slot(off) {
            Some(Slot::Type(id)) => id,
            _ => TypeId::VOID,
        }
    }

    fn slot(&self, off: UnitOffset) -> Option<Slot> {
        self.node(off).map(|i| self.slots[i])
    }

    fn member_location(&self, e: &Die<'a>) -> Result<u64> {
        match self.attr(e, DW_AT_data_member_location)? {
            None => Ok(0),
            Some(AttributeValue::Exprloc(expr)) => {
                // DWARF 2 style: DW_OP_plus_uconst N (or DW_OP_constu N).
                let mut r = expr.0;
                let op = gimli::Operation::parse(&mut r, self.unit.encoding())
                    .map_err(self.err(e.offset()))?;
                match op {
                    gimli::Operation::PlusConstant { value } => Ok(value),
                    gimli::Operation::UnsignedConstant { value } => Ok(value),
                    _ => Err(self.unsupported(e, "member location expression")),
                }
            }
            Some(v) => v
                .udata_value()
                .ok_or_else(|| self.unsupported(e, "member location form")),
        }
    }

    fn composite(&mut self, e: &Die<'a>) -> Result<Composite> {
        let size = self.udata(e, DW_AT_byte_size)?.unwrap_or(0);
        let size = u32::try_from(size).map_err(|_| self.unsupported(e, format!("size {size}")))?;
        let id = self.own_id(e.offset());
        let mut members =
            Vec::with_capacity(self.count_kids(e.offset(), &[DW_TAG_member, DW_TAG_inheritance]));
        let mut any_bitfield = false;
        let mut tags = Vec::new();
        let mut kit = self.kids_of(e.offset())?;
        while let Some((c, tag)) = kit.next(self) {
            if tag != DW_TAG_member && tag != DW_TAG_inheritance {
                continue;
            }
            let m = self.entry(c)?;
            if self.flag(&m, DW_AT_external)? || self.flag(&m, DW_AT_declaration)? {
                continue; // C++ static data member
            }
            let name = self.name_ref(&m)?;
            let ty = self.type_of(&m)?;
            let loc = self.member_location(&m)?;
            let bit_size = self.udata(&m, DW_AT_bit_size)?;
            let bit_offset = if let Some(dbo) = self.udata(&m, DW_AT_data_bit_offset)? {
                dbo
            } else if let (Some(bs), Some(bo)) = (bit_size, self.sdata(&m, DW_AT_bit_offset)?) {
                // DWARF 2-4: offset of the field's MSB from the MSB of its storage unit.
                let storage = match self.udata(&m, DW_AT_byte_size)? {
                    Some(s) => s,
                    None => self.type_size_die(&m, 0)?.unwrap_or(0),
                };
                // Signed: in packed structs a field can start before its storage unit's MSB
                // ends, and gcc writes a negative offset (e.g. 0xffff_ffff_ffff_fffa for -6).
                let bits = (loc as i64)
                    .saturating_mul(8)
                    .saturating_add((storage as i64).saturating_mul(8))
                    .saturating_sub(bo.saturating_add(bs as i64));
                u64::try_from(bits)
                    .map_err(|_| self.unsupported(&m, format!("bit offset {bits}")))?
            } else {
                loc.saturating_mul(8)
            };
            if let Some(bs) = bit_size {
                any_bitfield = true;
                if bs > 255 {
                    return Err(self.unsupported(&m, format!("bitfield of {bs} bits")));
                }
            }
            if self.feats.decl_tag {
                for t in self.annotations(c, "btf_decl_tag")? {
                    tags.push((t, members.len() as i32));
                }
            }
            members.push(Member {
                name,
                ty,
                bit_offset: u32::try_from(bit_offset)
                    .map_err(|_| self.unsupported(&m, "member offset"))?,
                bitfield_size: bit_size.unwrap_or(0) as u8,
            });
        }
        if any_bitfield && members.iter().any(|m| m.bit_offset >= 1 << 24) {
            return Err(self.unsupported(e, "bitfield struct larger than 2 MiB"));
        }
        if self.feats.decl_tag {
            for t in self.annotations(e.offset(), "btf_decl_tag")? {
                self.decl_tag(&t, id, -1);
            }
            for (t, i) in tags {
                self.decl_tag(&t, id, i);
            }
        }
        Ok(Composite {
            size,
            bitfield_encoding: any_bitfield,
            members,
        })
    }

    /// Whether a DIE's type (through typedefs and qualifiers) is a signed base type; `None` when
    /// it has no base type.
    fn type_signed(&self, e: &Die<'a>, depth: usize) -> Result<Option<bool>> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let Some(t) = self.ref_attr(e, DW_AT_type)? else {
            return Ok(None);
        };
        let te = self.entry(t)?;
        if te.tag() == DW_TAG_base_type {
            return Ok(Some(matches!(
                self.attr(&te, DW_AT_encoding)?,
                Some(AttributeValue::Encoding(DW_ATE_signed | DW_ATE_signed_char))
            )));
        }
        self.type_signed(&te, depth + 1)
    }

    /// Byte size of a DIE's `DW_AT_type`, through typedefs and qualifiers.
    fn type_size_die(&self, e: &Die<'a>, depth: usize) -> Result<Option<u64>> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let Some(t) = self.ref_attr(e, DW_AT_type)? else {
            return Ok(None);
        };
        let te = self.entry(t)?;
        if let Some(s) = self.udata(&te, DW_AT_byte_size)? {
            return Ok(Some(s));
        }
        match te.tag() {
            DW_TAG_typedef | DW_TAG_const_type | DW_TAG_volatile_type | DW_TAG_restrict_type
            | DW_TAG_atomic_type => self.type_size_die(&te, depth + 1),
            DW_TAG_pointer_type | DW_TAG_reference_type | DW_TAG_rvalue_reference_type => {
                Ok(Some(u64::from(self.unit.encoding().address_size)))
            }
            DW_TAG_array_type => {
                let Some(elem) = self.type_size_die(&te, depth + 1)? else {
                    return Ok(None);
                };
                let mut n = 1u64;
                let mut kit = self.kids_of(t)?;
                while let Some((c, tag)) = kit.next(self) {
                    if tag == DW_TAG_subrange_type {
                        n = n.saturating_mul(self.subrange_len(&self.entry(c)?)?);
                    }
                }
                Ok(Some(elem.saturating_mul(n)))
            }
            _ => Ok(None),
        }
    }

    fn enumeration(&mut self, e: &Die<'a>) -> Result<TypeData> {
        let size = self.udata(e, DW_AT_byte_size)?.unwrap_or(4);
        let size = u32::try_from(size).map_err(|_| self.unsupported(e, "enum size"))?;
        // Signedness of the underlying type: gcc puts DW_AT_encoding on the enum itself, both
        // compilers give its DW_AT_type.
        let base_signed = match self.attr(e, DW_AT_encoding)? {
            Some(AttributeValue::Encoding(enc)) => {
                Some(matches!(enc, DW_ATE_signed | DW_ATE_signed_char))
            }
            _ => self.type_signed(e, 0)?,
        };
        let mut values = Vec::new();
        if !self.flag(e, DW_AT_declaration)? {
            let mut kit = self.kids_of(e.offset())?;
            while let Some((c, tag)) = kit.next(self) {
                if tag != DW_TAG_enumerator {
                    continue;
                }
                let ce = self.entry(c)?;
                let n = self.name_ref(&ce)?;
                // Data forms carry no sign: zero-extend, except a value that fills a signed
                // type. A negative sdata value of an unsigned type wraps into its range.
                let fill = |n: u32| base_signed == Some(true) && n == size;
                let bits = 8 * size.min(8);
                let v: i128 = match self.attr(&ce, DW_AT_const_value)? {
                    Some(AttributeValue::Sdata(v)) if v < 0 && base_signed == Some(false) => {
                        i128::from(v) + (1i128 << bits)
                    }
                    Some(AttributeValue::Sdata(v)) => i128::from(v),
                    Some(AttributeValue::Udata(v)) => i128::from(v),
                    Some(AttributeValue::Data1(v)) if fill(1) => i128::from(v as i8),
                    Some(AttributeValue::Data1(v)) => i128::from(v),
                    Some(AttributeValue::Data2(v)) if fill(2) => i128::from(v as i16),
                    Some(AttributeValue::Data2(v)) => i128::from(v),
                    Some(AttributeValue::Data4(v)) if fill(4) => i128::from(v as i32),
                    Some(AttributeValue::Data4(v)) => i128::from(v),
                    Some(AttributeValue::Data8(v)) if fill(8) => i128::from(v as i64),
                    Some(AttributeValue::Data8(v)) => i128::from(v),
                    _ => return Err(self.unsupported(&ce, "enumerator value")),
                };
                values.push((n, v));
            }
        }
        let signed = values.iter().any(|&(_, v)| v < 0);
        Ok(if size > 4 && self.feats.enum64 {
            TypeData::Enum64(Enum64 {
                size,
                signed,
                values: values
                    .into_iter()
                    .map(|(name, v)| Enum64Value {
                        name,
                        value: v as i64 as u64,
                    })
                    .collect(),
            })
        } else {
            TypeData::Enum(Enum {
                size,
                signed,
                values: values
                    .into_iter()
                    .map(|(name, v)| EnumValue {
                        name,
                        value: v as i64 as u32,
                    })
                    .collect(),
            })
        })
    }

    /// Element count of a subrange. Bounds of a data form are unsigned (their type is
    /// `sizetype`); like pahole, `upper - lower + 1` wraps, so an upper bound of -1 (zero-length
    /// array) in any form gives 0.
    fn subrange_len(&self, s: &Die<'a>) -> Result<u64> {
        if let Some(n) = self.udata(s, DW_AT_count)? {
            return Ok(n);
        }
        let bound = |v: Option<AttributeValue<Reader<'a>>>| match v {
            Some(AttributeValue::Sdata(v)) => Some(v as u64),
            Some(v) => v.udata_value(),
            None => None,
        };
        let lower = bound(self.attr(s, DW_AT_lower_bound)?).unwrap_or(0);
        match bound(self.attr(s, DW_AT_upper_bound)?) {
            Some(upper) => Ok(upper.wrapping_sub(lower).wrapping_add(1)),
            // Absent (flexible array) or not a constant (VLA): no length.
            None => Ok(0),
        }
    }

    fn array(&mut self, e: &Die<'a>) -> Result<TypeData> {
        let elem = self.type_of(e)?;
        let mut dims = Vec::new();
        let mut kit = self.kids_of(e.offset())?;
        while let Some((c, tag)) = kit.next(self) {
            if tag == DW_TAG_subrange_type {
                let len = self.subrange_len(&self.entry(c)?)?;
                dims.push(len as u32); // truncated as pahole does
            }
        }
        if dims.is_empty() {
            dims.push(0);
        }
        let index = self.array_index_type();
        if self.flatten_arrays && dims.len() > 1 {
            // pahole up to 1.31: one flat array of the product of the dimensions.
            let n = dims.iter().fold(1u32, |a, &d| a.saturating_mul(d));
            return Ok(TypeData::Array(Array {
                elem,
                index,
                len: n,
            }));
        }
        let mut inner = elem;
        for &len in dims[1..].iter().rev() {
            inner = self.push(
                Type {
                    name: StrRef::EMPTY,
                    data: TypeData::Array(Array {
                        elem: inner,
                        index,
                        len,
                    }),
                },
                false,
            );
        }
        Ok(TypeData::Array(Array {
            elem: inner,
            index,
            len: dims[0],
        }))
    }

    /// The entry address of a function DIE, if it has code.
    fn entry_pc(&self, e: &Die<'a>) -> Result<Option<u64>> {
        if let Some(AttributeValue::Addr(a)) = self.attr(e, DW_AT_entry_pc)? {
            return Ok(Some(a));
        }
        if let Some(v) = self.attr(e, DW_AT_low_pc)? {
            return Ok(match v {
                AttributeValue::Addr(a) => Some(a),
                AttributeValue::DebugAddrIndex(i) => Some(
                    self.dwarf
                        .address(self.unit, i)
                        .map_err(self.err(e.offset()))?,
                ),
                _ => None,
            });
        }
        if let Some(v) = self.attr(e, DW_AT_ranges)? {
            let err = self.err(e.offset());
            if let Some(off) = self.dwarf.attr_ranges_offset(self.unit, v).map_err(&err)? {
                let mut it = self.dwarf.ranges(self.unit, off).map_err(&err)?;
                if let Some(r) = it.next().map_err(&err)? {
                    return Ok(Some(r.begin));
                }
            }
        }
        Ok(None)
    }

    fn function(&mut self, off: UnitOffset) -> Result<()> {
        let e = self.entry(off)?;
        if self.flag(&e, DW_AT_declaration)? {
            return Ok(());
        }
        let Some(entry) = self.entry_pc(&e)? else {
            if self.attr(&e, DW_AT_inline)?.is_some() {
                self.out.inline_only += 1;
            }
            return Ok(());
        };
        // Follow abstract origin / specification for the source-level facts.
        let mut chain = vec![off];
        let mut cur = off;
        for _ in 0..MAX_DEPTH {
            let ce = self.entry(cur)?;
            let origin = match self.ref_target(&ce, DW_AT_abstract_origin)? {
                Some(o) => Some(o),
                None => self.ref_target(&ce, DW_AT_specification)?,
            };
            let next = match origin {
                Some(Target::Local(o)) => Some(o),
                Some(Target::Foreign(_)) => {
                    // Name and parameters live in another unit (LTO): not judged, not encoded.
                    self.out.foreign_origin += 1;
                    return Ok(());
                }
                None => None,
            };
            match next {
                Some(n) if !chain.contains(&n) => {
                    chain.push(n);
                    cur = n;
                }
                _ => break,
            }
        }
        let mut name = String::new();
        let mut linkage_name = None;
        let mut external = false;
        let mut ret_die = None;
        let mut nocall = false;
        let mut decl_tags = Vec::new();
        for &c in &chain {
            let ce = self.entry(c)?;
            if name.is_empty() {
                name = self.name(&ce)?.into_owned();
            }
            if linkage_name.is_none() {
                linkage_name = match self.string(&ce, DW_AT_linkage_name)? {
                    Some(l) => Some(l),
                    None => self.string(&ce, DW_AT_MIPS_linkage_name)?,
                };
            }
            external |= self.flag(&ce, DW_AT_external)?;
            if ret_die.is_none() && self.attr(&ce, DW_AT_type)?.is_some() {
                ret_die = Some(c);
            }
            if let Some(AttributeValue::CallingConvention(cc)) =
                self.attr(&ce, DW_AT_calling_convention)?
            {
                nocall |= cc == DW_CC_nocall;
            }
            if self.feats.decl_tag {
                for t in self.annotations(c, "btf_decl_tag")? {
                    if !decl_tags.iter().any(|(x, i)| x == &t && *i == -1) {
                        decl_tags.push((t, -1));
                    }
                }
            }
        }
        if name.is_empty() {
            return Ok(());
        }
        let ret = match ret_die {
            Some(d) => {
                let de = self.entry(d)?;
                self.type_of(&de)?
            }
            None => TypeId::VOID,
        };
        // Source parameters: those of the last DIE in the chain that has any (the abstract
        // instance or declaration); else the concrete DIE's.
        let mut src_die = off;
        'chain: for &c in chain.iter().skip(1) {
            let mut kit = self.kids_of(c)?;
            while let Some((_, t)) = kit.next(self) {
                if t == DW_TAG_formal_parameter || t == DW_TAG_unspecified_parameters {
                    src_die = c;
                    break 'chain;
                }
            }
        }
        // Concrete parameters, keyed by the source parameter they stand for.
        let mut concrete: HashMap<UnitOffset, UnitOffset> = HashMap::default();
        let mut kit = self.kids_of(off)?;
        while let Some((c, tag)) = kit.next(self) {
            if tag != DW_TAG_formal_parameter {
                continue;
            }
            let ce = self.entry(c)?;
            let mut key = c;
            let mut k = ce.offset();
            for _ in 0..8 {
                let ke = self.entry(k)?;
                match self.ref_attr(&ke, DW_AT_abstract_origin)? {
                    Some(o) => {
                        key = o;
                        k = o;
                    }
                    None => break,
                }
            }
            concrete.insert(key, c);
        }
        let mut params = Vec::with_capacity(self.count_kids(
            src_die,
            &[DW_TAG_formal_parameter, DW_TAG_unspecified_parameters],
        ));
        let mut param_info = Vec::new();
        let mut kit = self.kids_of(src_die)?;
        while let Some((c, tag)) = kit.next(self) {
            match tag {
                DW_TAG_formal_parameter => {
                    let pe = self.entry(c)?;
                    let n = self.name(&pe)?;
                    let ty = self.type_of(&pe)?;
                    let class = classify::classify(self, &pe)?;
                    let (loc, pieces) =
                        match concrete
                            .get(&c)
                            .or(if src_die == off { Some(&c) } else { None })
                        {
                            Some(&cc) => self.param_loc(cc, entry)?,
                            None => (Loc::Missing, Vec::new()),
                        };
                    if self.feats.decl_tag {
                        for t in self.annotations(c, "btf_decl_tag")? {
                            decl_tags.push((t, params.len() as i32));
                        }
                    }
                    let name = self.intern_in(n.clone());
                    param_info.push(abi::ParamInfo {
                        name: n.into_owned(),
                        class,
                        loc,
                        pieces,
                        ty,
                        align16: classify::aligned16(self, &pe)?,
                        die: c,
                    });
                    params.push(Param { name, ty });
                }
                DW_TAG_unspecified_parameters => params.push(Param {
                    name: StrRef::EMPTY,
                    ty: TypeId::VOID,
                }),
                _ => {}
            }
        }
        let ret_class = match ret_die {
            Some(d) => classify::classify(self, &self.entry(d)?)?,
            None => ArgClass::Void,
        };
        let abi = abi::check(self.x86_64, &ret_class, &param_info, external && !nocall);
        let true_proto = if self.feats.clone_true_signature && nocall {
            Some(self.nocall_proto(&ret_class, &param_info, &params)?)
        } else if self.feats.clone_true_signature {
            Some(
                match abi::true_signature(self.x86_64, &ret_class, &param_info) {
                    Ok(order) => {
                        let ps = order
                            .iter()
                            .map(|&i| Param {
                                name: params[i].name,
                                ty: param_info[i].ty,
                            })
                            .collect();
                        Ok(self.push(
                            Type {
                                name: StrRef::EMPTY,
                                data: TypeData::FuncProto(FuncProto { ret, params: ps }),
                            },
                            true,
                        ))
                    }
                    Err(e) => Err(e),
                },
            )
        } else {
            None
        };
        let proto = self.push(
            Type {
                name: StrRef::EMPTY,
                data: TypeData::FuncProto(FuncProto { ret, params }),
            },
            true,
        );
        let die = self.die_off(off);
        self.out.funcs.push(FuncCand {
            name,
            linkage_name,
            external,
            entry,
            die,
            proto,
            nocall,
            abi,
            true_proto,
            decl_tags,
        });
        Ok(())
    }

    /// The real prototype of a `DW_CC_nocall` function (see [`abi::nocall_signature`]), pushed
    /// as a FUNC_PROTO; Err says why it cannot be derived. Its return type is `void`: clang
    /// marks a function nocall when it removed parameters or the return value, and DWARF keeps
    /// the source return type either way, so a return value the prototype promised could be
    /// whatever the register held. `void` makes the verifier refuse to read one.
    fn nocall_proto(
        &mut self,
        ret_class: &ArgClass,
        info: &[abi::ParamInfo],
        params: &[Param],
    ) -> Result<std::result::Result<TypeId, String>> {
        let kept = match abi::nocall_signature(self.x86_64, ret_class, info) {
            Ok(k) => k,
            Err(e) => return Ok(Err(e)),
        };
        let mut ps = Vec::with_capacity(kept.len());
        for k in kept {
            match k {
                abi::Kept::Whole(i) => ps.push(Param {
                    name: params[i].name,
                    ty: info[i].ty,
                }),
                abi::Kept::Member(i, offset) => match self.member_at(info[i].die, offset)? {
                    Some((member, ty)) if !info[i].name.is_empty() => {
                        let name = format!("{}__{member}", info[i].name);
                        let name = self.intern_in(Cow::Owned(name));
                        ps.push(Param { name, ty });
                    }
                    _ => {
                        return Ok(Err(format!(
                            "parameter '{}': only part of it arrives (at byte {offset}) and no \
                             named member of one register starts there",
                            info[i].name
                        )))
                    }
                },
            }
        }
        Ok(Ok(self.push(
            Type {
                name: StrRef::EMPTY,
                data: TypeData::FuncProto(FuncProto {
                    ret: TypeId::VOID,
                    params: ps,
                }),
            },
            true,
        )))
    }

    /// The member of the struct type of `param` that starts at byte `offset`, is no bitfield
    /// and travels in one integer register: its name and type.
    fn member_at(
        &mut self,
        param: UnitOffset,
        offset: u64,
    ) -> Result<Option<(String, TypeId)>> {
        let pe = self.entry(param)?;
        let mut t = self.ref_attr(&pe, DW_AT_type)?;
        for _ in 0..16 {
            let Some(off) = t else { return Ok(None) };
            let e = self.entry(off)?;
            match e.tag() {
                DW_TAG_typedef | DW_TAG_const_type | DW_TAG_volatile_type => {
                    t = self.ref_attr(&e, DW_AT_type)?
                }
                DW_TAG_structure_type => {
                    for (c, tag) in self.children(off)? {
                        if tag != DW_TAG_member {
                            continue;
                        }
                        let m = self.entry(c)?;
                        if self.udata(&m, DW_AT_bit_size)?.is_some()
                            || self.member_location(&m)? != offset
                        {
                            continue;
                        }
                        let name = self.name(&m)?.into_owned();
                        if name.is_empty() || classify::classify(self, &m)? != ArgClass::Int(1) {
                            return Ok(None);
                        }
                        let ty = self.type_of(&m)?;
                        return Ok(Some((name, ty)));
                    }
                    return Ok(None);
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Where a parameter is at function entry, and the registers its pieces are in there
    /// (byte offset in the parameter, DWARF register; empty without `DW_OP_piece`).
    fn param_loc(&self, off: UnitOffset, entry: u64) -> Result<(Loc, Vec<(u64, u16)>)> {
        let at = |data: gimli::Expression<Reader<'a>>| {
            (self.first_op(data.clone(), off), self.reg_pieces(data))
        };
        let e = self.entry(off)?;
        match self.attr(&e, DW_AT_location)? {
            // A single expression holds for the whole function: a frame slot is the
            // parameter's home after the prologue (-O0, or its address taken), not where it
            // arrived.
            Some(AttributeValue::Exprloc(expr)) => Ok(match at(expr) {
                (Loc::Stack, p) => (Loc::Home, p),
                loc => loc,
            }),
            Some(v) => {
                // Walk the raw list: gimli's cooked iterator drops empty ranges, and gcc's
                // location views put the location at entry in an empty range that starts at
                // the entry address.
                let err = self.err(off);
                let Some(offset) = self
                    .dwarf
                    .attr_locations_offset(self.unit, v)
                    .map_err(&err)?
                else {
                    return Ok((Loc::Missing, Vec::new()));
                };
                let mut raw = self.dwarf.raw_locations(self.unit, offset).map_err(&err)?;
                let mut base = self.unit.low_pc;
                let mut any = false;
                let mut default = None;
                // A view entry (empty range) at the entry address; used only when no real range
                // covers the entry.
                let mut view = None;
                // The range that covers the entry, and the register named by a
                // `DW_OP_entry_value(DW_OP_regN)` anywhere in the list.
                let mut covering = None;
                let mut entry_value = None;
                let addr = |i| self.dwarf.address(self.unit, i).map_err(&err);
                while let Some(le) = raw.next().map_err(&err)? {
                    use gimli::RawLocListEntry as R;
                    let (begin, end, data) = match le {
                        R::BaseAddress { addr } => {
                            base = addr;
                            continue;
                        }
                        R::BaseAddressx { addr: i } => {
                            base = addr(i)?;
                            continue;
                        }
                        R::AddressOrOffsetPair { begin, end, data }
                        | R::OffsetPair { begin, end, data } => {
                            (base.wrapping_add(begin), base.wrapping_add(end), data)
                        }
                        R::StartEnd { begin, end, data } => (begin, end, data),
                        R::StartLength {
                            begin,
                            length,
                            data,
                        } => (begin, begin.wrapping_add(length), data),
                        R::StartxEndx { begin, end, data } => (addr(begin)?, addr(end)?, data),
                        R::StartxLength {
                            begin,
                            length,
                            data,
                        } => {
                            let b = addr(begin)?;
                            (b, b.wrapping_add(length), data)
                        }
                        R::DefaultLocation { data } => {
                            default = Some(data);
                            continue;
                        }
                    };
                    any = true;
                    if entry_value.is_none() {
                        entry_value = self.entry_value_reg(data.clone());
                    }
                    if begin <= entry && entry < end && covering.is_none() {
                        covering = Some(data);
                    } else if begin == entry && end == begin && view.is_none() {
                        view = Some(data);
                    }
                }
                let found = match (covering, view, default) {
                    (Some(d), _, _) | (None, Some(d), _) | (None, None, Some(d)) => at(d),
                    (None, None, None) if any => (Loc::NotAtEntry, Vec::new()),
                    (None, None, None) => (Loc::Missing, Vec::new()),
                };
                // `DW_OP_entry_value(DW_OP_regN)` says the parameter's value is what regN held
                // when the function was entered: it arrived in regN. That decides when the
                // list says nothing at the entry (its first range starts after the prologue
                // moved the value to a callee-saved register) or names a callee-saved register
                // there, which no caller passes arguments in.
                Ok(match (found, entry_value) {
                    ((Loc::NotAtEntry, _), Some(r)) => (Loc::Reg(r, None), Vec::new()),
                    ((Loc::Reg(c, None), _), Some(r)) if abi::CALLEE_SAVED.contains(&c) => {
                        (Loc::Reg(r, None), Vec::new())
                    }
                    (found, _) => found,
                })
            }
            None => Ok((
                if self.attr(&e, DW_AT_const_value)?.is_some() {
                    Loc::Constant
                } else {
                    Loc::Missing
                },
                Vec::new(),
            )),
        }
    }

    /// N when `expr` is exactly `DW_OP_entry_value(DW_OP_regN)`, optionally `DW_OP_stack_value`.
    fn entry_value_reg(&self, expr: gimli::Expression<Reader<'a>>) -> Option<u16> {
        let enc = self.unit.encoding();
        let mut r = expr.0;
        let gimli::Operation::EntryValue { mut expression } =
            gimli::Operation::parse(&mut r, enc).ok()?
        else {
            return None;
        };
        let gimli::Operation::Register { register } =
            gimli::Operation::parse(&mut expression, enc).ok()?
        else {
            return None;
        };
        if !gimli::Reader::is_empty(&expression) {
            return None;
        }
        if !gimli::Reader::is_empty(&r) {
            match gimli::Operation::parse(&mut r, enc).ok()? {
                gimli::Operation::StackValue if gimli::Reader::is_empty(&r) => {}
                _ => return None,
            }
        }
        Some(register.0)
    }

    /// The register pieces of a composite location: (byte offset in the value, register) for
    /// each `DW_OP_regN DW_OP_piece` pair; pieces without a location only advance the offset.
    /// Empty when the expression has no `DW_OP_piece` or a piece lives elsewhere than in a
    /// register (memory, a computed value: not a register-passed piece).
    fn reg_pieces(&self, expr: gimli::Expression<Reader<'a>>) -> Vec<(u64, u16)> {
        let enc = self.unit.encoding();
        let mut r = expr.0;
        let mut out = Vec::new();
        let mut offset = 0u64;
        let mut pending: Option<u16> = None;
        let mut other = false;
        let mut any_piece = false;
        while !gimli::Reader::is_empty(&r) {
            let Ok(op) = gimli::Operation::parse(&mut r, enc) else {
                return Vec::new();
            };
            match op {
                gimli::Operation::Register { register } if pending.is_none() && !other => {
                    pending = Some(register.0)
                }
                gimli::Operation::Piece {
                    size_in_bits,
                    bit_offset: None,
                } if size_in_bits % 8 == 0 => {
                    any_piece = true;
                    if other {
                        return Vec::new();
                    }
                    if let Some(reg) = pending.take() {
                        out.push((offset, reg));
                    }
                    offset += size_in_bits / 8;
                }
                _ => other = true,
            }
        }
        if !any_piece || other || pending.is_some() {
            return Vec::new();
        }
        out
    }

    fn first_op(&self, expr: gimli::Expression<Reader<'a>>, _off: UnitOffset) -> Loc {
        let mut r = expr.0;
        let enc = self.unit.encoding();
        let Ok(op) = gimli::Operation::parse(&mut r, enc) else {
            return Loc::Other;
        };
        match op {
            gimli::Operation::Register { register } => {
                let pieces = gimli::Reader::is_empty(&r);
                // A second register after a piece (two-eightbyte struct).
                let mut second = None;
                if !pieces {
                    if let Ok(gimli::Operation::Piece { .. }) = gimli::Operation::parse(&mut r, enc)
                    {
                        if let Ok(gimli::Operation::Register { register }) =
                            gimli::Operation::parse(&mut r, enc)
                        {
                            second = Some(register.0);
                        }
                    }
                }
                Loc::Reg(register.0, second)
            }
            gimli::Operation::EntryValue { mut expression } => {
                match gimli::Operation::parse(&mut expression, enc) {
                    Ok(gimli::Operation::Register { register }) => Loc::Reg(register.0, None),
                    _ => Loc::Other,
                }
            }
            gimli::Operation::FrameOffset { .. } => Loc::Stack,
            // A constant (`DW_OP_litN`, `DW_OP_constu`, ... `DW_OP_stack_value`, or an implicit
            // value): the parameter is not passed.
            gimli::Operation::UnsignedConstant { .. }
            | gimli::Operation::SignedConstant { .. }
            | gimli::Operation::ImplicitValue { .. } => Loc::Constant,
            // A value computed from a register (`DW_OP_bregN 0 ... DW_OP_stack_value`, clang's
            // way of describing a narrowed or split argument): the argument arrived in regN.
            gimli::Operation::RegisterOffset {
                register,
                offset: 0,
                ..
            } if register.0 != 7 && register.0 != 6 && {
                let mut rest = r.clone();
                let mut stack_value = false;
                while let Ok(op) = gimli::Operation::parse(&mut rest, enc) {
                    if matches!(op, gimli::Operation::StackValue) {
                        stack_value = true;
                        break;
                    }
                }
                stack_value
            } =>
            {
                Loc::Reg(register.0, None)
            }
            gimli::Operation::RegisterOffset { register, .. }
                if register.0 == 7 || register.0 == 6 =>
            {
                Loc::Stack
            }
            gimli::Operation::Piece { .. } => Loc::Other,
            _ => Loc::Other,
        }
    }

    fn variable(&mut self, off: UnitOffset) -> Result<()> {
        let e = self.entry(off)?;
        if self.flag(&e, DW_AT_declaration)? {
            return Ok(());
        }
        let Some(AttributeValue::Exprloc(expr)) = self.attr(&e, DW_AT_location)? else {
            return Ok(());
        };
        let mut r = expr.0;
        let Ok(gimli::Operation::Address { address }) =
            gimli::Operation::parse(&mut r, self.unit.encoding())
        else {
            return Ok(());
        };
        if !gimli::Reader::is_empty(&r) {
            return Ok(());
        }
        let mut name = self.name(&e)?.into_owned();
        let mut external = self.flag(&e, DW_AT_external)?;
        let mut ty_die = off;
        let mut decl_tags = Vec::new();
        if self.feats.decl_tag {
            decl_tags.extend(self.annotations(off, "btf_decl_tag")?);
        }
        let mut has_type = self.attr(&e, DW_AT_type)?.is_some();
        if let Some(spec) = self.ref_attr(&e, DW_AT_specification)? {
            let se = self.entry(spec)?;
            if name.is_empty() {
                name = self.name(&se)?.into_owned();
            }
            external |= self.flag(&se, DW_AT_external)?;
            if !has_type {
                ty_die = spec;
                has_type = self.attr(&se, DW_AT_type)?.is_some();
            }
            if self.feats.decl_tag {
                decl_tags.extend(self.annotations(spec, "btf_decl_tag")?);
            }
        }
        if name.is_empty() || !has_type {
            return Ok(());
        }
        let te = self.entry(ty_die)?;
        let ty = self.type_of(&te)?;
        let size = self.type_size_die(&te, 0)?.unwrap_or(0);
        self.out.vars.push(VarCand {
            name,
            ty,
            external,
            addr: address,
            size,
            decl_tags,
        });
        Ok(())
    }
}
