//! The unit's DIE index (pass 1: the node table, type ids, the functions and variables to
//! read) and the reading of DIEs from it: attributes, names and their interning, references,
//! children, annotations.

use super::NO_STR_OFFSET;
use super::{Walker, DW_TAG_LLVM_ANNOTATION};
use crate::elf::Reader;
use crate::error::{EncodeError, Result};
use btf::types::*;
use gimli::{constants::*, AttributeValue, DwAt, DwTag, UnitOffset};
use std::borrow::Cow;
use std::cell::Cell;
use std::marker::PhantomData;

/// What pass 1 found in a unit: its type DIEs with their local ids, its subprograms and its
/// global variables, in DIE order.
pub(super) struct UnitDies {
    pub(super) types: Vec<(UnitOffset, TypeId)>,
    pub(super) subprograms: Vec<UnitOffset>,
    pub(super) variables: Vec<UnitOffset>,
}

/// Where a reference points.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    /// This unit.
    Local(UnitOffset),
    /// Another unit, by `.debug_info` offset.
    Foreign(u64),
}

/// What pass 1 decided for a DIE.
#[derive(Debug, Clone, Copy)]
pub(super) enum Slot {
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

/// Reads a DIE's attributes after its abbreviation code, keeping the wanted ones in `attrs`:
/// (start, count, presence mask).
fn read_wanted<'a>(
    raw: &mut gimli::EntriesRaw<'_, '_, Reader<'a>>,
    abbrev: &gimli::Abbreviation,
    attrs: &mut Attrs<'a>,
) -> gimli::Result<(u32, u32, u32)> {
    let start = attrs.len();
    let mut mask = 0;
    let specs = abbrev.attributes();
    // Unwanted attributes are skipped a run at a time: gimli adds up the sizes of fixed-size
    // forms and moves once (a member's source position is three of them in a row).
    let mut skip_from = 0;
    for (i, spec) in specs.iter().enumerate() {
        let bit = attr_bit(spec.name());
        if bit != 0 {
            if skip_from < i {
                raw.skip_attributes(&specs[skip_from..i])?;
            }
            attrs.push(raw.read_attribute(*spec)?);
            mask |= bit;
            skip_from = i + 1;
        }
    }
    if skip_from < specs.len() {
        raw.skip_attributes(&specs[skip_from..])?;
    }
    match (u32::try_from(start), u32::try_from(attrs.len() - start)) {
        (Ok(s), Ok(n)) => Ok((s, n, mask)),
        _ => Err(gimli::Error::OffsetOutOfBounds),
    }
}

/// The kept attributes of the DIEs parsed so far, by DIE (a span of entries per DIE, see
/// [`Node::attrs`]). Integer-valued ones — names by `.debug_str` offset, type references,
/// sizes, member offsets, flags: nearly all of a kernel unit's — are 16-byte entries holding
/// the value gimli gives; the others (expressions, blocks, inline strings, section offsets) are
/// kept as gimli parsed them in a side list. A gimli attribute with our relocating reader is
/// 72 bytes, and a kernel unit's walk keeps millions.
#[derive(Debug, Default)]
pub(super) struct Attrs<'a> {
    kept: Vec<Kept>,
    full: Vec<AttributeValue<Reader<'a>>>,
}

#[derive(Debug, Clone, Copy)]
struct Kept {
    name: DwAt,
    kind: KeptKind,
    value: u64,
}

/// Which [`AttributeValue`] variant a [`Kept`] value is, or an index into [`Attrs::full`].
#[derive(Debug, Clone, Copy)]
enum KeptKind {
    Full,
    Udata,
    Sdata,
    Data1,
    Data2,
    Data4,
    Data8,
    Flag,
    UnitRef,
    DebugInfoRef,
    DebugStrRef,
    Encoding,
    Language,
    CallingConvention,
    Inline,
    Addr,
}

impl<'a> Attrs<'a> {
    pub(super) fn len(&self) -> usize {
        self.kept.len()
    }

    pub(super) fn clear(&mut self) {
        self.kept.clear();
        self.full.clear();
    }

    fn push(&mut self, a: gimli::Attribute<Reader<'a>>) {
        use AttributeValue as V;
        let name = a.name();
        let (kind, value) = match a.value() {
            V::Udata(v) => (KeptKind::Udata, v),
            V::Sdata(v) => (KeptKind::Sdata, v as u64),
            V::Data1(v) => (KeptKind::Data1, u64::from(v)),
            V::Data2(v) => (KeptKind::Data2, u64::from(v)),
            V::Data4(v) => (KeptKind::Data4, u64::from(v)),
            V::Data8(v) => (KeptKind::Data8, v),
            V::Flag(v) => (KeptKind::Flag, u64::from(v)),
            V::UnitRef(o) => (KeptKind::UnitRef, o.0 as u64),
            V::DebugInfoRef(o) => (KeptKind::DebugInfoRef, o.0 as u64),
            V::DebugStrRef(o) => (KeptKind::DebugStrRef, o.0 as u64),
            V::Encoding(v) => (KeptKind::Encoding, u64::from(v.0)),
            V::Language(v) => (KeptKind::Language, u64::from(v.0)),
            V::CallingConvention(v) => (KeptKind::CallingConvention, u64::from(v.0)),
            V::Inline(v) => (KeptKind::Inline, u64::from(v.0)),
            V::Addr(v) => (KeptKind::Addr, v),
            other => {
                self.full.push(other);
                (KeptKind::Full, (self.full.len() - 1) as u64)
            }
        };
        self.kept.push(Kept { name, kind, value });
    }

    /// The kept entry of attribute `at` among entries `start .. start + len`: the accessors
    /// that want an integer read it without building a gimli value (64 bytes with our reader).
    #[inline]
    fn find(&self, start: u32, len: u32, at: DwAt) -> Option<Kept> {
        let list = self.kept.get(start as usize..start as usize + len as usize)?;
        list.iter().find(|k| k.name == at).copied()
    }

    /// The value of attribute `at` among entries `start .. start + len`, as gimli gives it.
    fn get(&self, start: u32, len: u32, at: DwAt) -> Option<AttributeValue<Reader<'a>>> {
        use AttributeValue as V;
        let k = self.find(start, len, at)?;
        let v = k.value;
        Some(match k.kind {
            KeptKind::Full => return self.full.get(v as usize).cloned(),
            KeptKind::Udata => V::Udata(v),
            KeptKind::Sdata => V::Sdata(v as i64),
            KeptKind::Data1 => V::Data1(v as u8),
            KeptKind::Data2 => V::Data2(v as u16),
            KeptKind::Data4 => V::Data4(v as u32),
            KeptKind::Data8 => V::Data8(v),
            KeptKind::Flag => V::Flag(v != 0),
            KeptKind::UnitRef => V::UnitRef(UnitOffset(v as usize)),
            KeptKind::DebugInfoRef => V::DebugInfoRef(gimli::DebugInfoOffset(v as usize)),
            KeptKind::DebugStrRef => V::DebugStrRef(gimli::DebugStrOffset(v as usize)),
            KeptKind::Encoding => V::Encoding(gimli::DwAte(v as u8)),
            KeptKind::Language => V::Language(gimli::DwLang(v as u16)),
            KeptKind::CallingConvention => V::CallingConvention(gimli::DwCc(v as u8)),
            KeptKind::Inline => V::Inline(gimli::DwInl(v as u8)),
            KeptKind::Addr => V::Addr(v),
        })
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

/// The NUL-terminated string at `offset` of a string section, as the walk reads names (to the
/// end of the section if it has no NUL; `""` past its end).
pub(crate) fn section_str(section: &[u8], offset: u32) -> Cow<'_, str> {
    let rest = section.get(offset as usize..).unwrap_or_default();
    utf8_lossy(&rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())])
}

/// Not yet parsed (in [`Node::attrs`]).
const UNPARSED: u32 = u32::MAX;

/// One DIE of the unit as pass 1 saw it: the tree is kept as indices so that children and
/// references cost no re-parse, and attributes are parsed once, when first asked for.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) off: UnitOffset,
    pub(super) tag: DwTag,
    /// Has at least one child (the next node, then).
    pub(super) kids: bool,
    /// Index of its next sibling; 0 when it is the last (node 0 is the root, never a sibling).
    pub(super) next: u32,
    /// Its attributes in [`Walker::attrs`]: (start, count, presence mask), start [`UNPARSED`]
    /// until parsed.
    pub(super) attrs: Cell<(u32, u32, u32)>,
}

/// A DIE whose attributes are parsed (they live in the walker; gimli would re-parse them on
/// every `attr_value` call).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Die<'a> {
    pub(super) off: UnitOffset,
    pub(super) tag: DwTag,
    pub(super) start: u32,
    pub(super) len: u32,
    /// Which wanted attributes it has (see [`attr_bit`]).
    pub(super) mask: u32,
    pub(super) _reader: PhantomData<Reader<'a>>,
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
pub(super) enum Kids {
    /// Next child in the node table.
    Node(u32),
    /// Children of a DIE that is not in the node table (a reference into the middle of a DIE of
    /// malformed input), read by gimli.
    List(std::vec::IntoIter<(UnitOffset, DwTag)>),
    Done,
}

impl Kids {
    pub(super) fn next(&mut self, w: &Walker<'_, '_>) -> Option<(UnitOffset, DwTag)> {
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

impl<'a, 'u> Walker<'a, 'u> {
    pub(super) fn die_off(&self, off: UnitOffset) -> u64 {
        off.to_debug_info_offset(&self.unit.header)
            .map_or(off.0 as u64, |o| o.0 as u64)
    }

    pub(super) fn err(&self, off: UnitOffset) -> impl Fn(gimli::Error) -> EncodeError + use<> {
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

    pub(super) fn entry(&self, off: UnitOffset) -> Result<Die<'a>> {
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

    pub(super) fn intern(&mut self, s: &str) -> StrRef {
        if s.is_empty() {
            return StrRef::EMPTY;
        }
        if let Some(&i) = self.str_index.get(s) {
            return StrRef(i);
        }
        let i = self.out.strings.len() as u32;
        self.out.strings.push(s);
        self.out.str_offsets.push(NO_STR_OFFSET);
        self.str_index.insert(Cow::Owned(s.to_string()), i);
        StrRef(i)
    }

    /// [`Walker::intern`] for a string of the input: no allocation when it is known already or
    /// borrowed from a section.
    pub(super) fn intern_in(&mut self, s: Cow<'a, str>) -> StrRef {
        if s.is_empty() {
            return StrRef::EMPTY;
        }
        // One hash per name: a borrowed key costs nothing to build.
        match self.str_index.entry(s) {
            std::collections::hash_map::Entry::Occupied(o) => StrRef(*o.get()),
            std::collections::hash_map::Entry::Vacant(v) => {
                let i = self.out.strings.len() as u32;
                self.out.strings.push(v.key());
                self.out.str_offsets.push(NO_STR_OFFSET);
                v.insert(i);
                StrRef(i)
            }
        }
    }

    /// The `DW_AT_name` of a DIE as a unit string. A name in `.debug_str` is neither read nor
    /// looked up here: the unit keeps its offset, and the graph reads the text the first time
    /// any unit names that offset (the linker merges identical strings; a kernel's units name
    /// 65 k distinct strings 10 M times, 8 M of them distinct within their unit, so looking a
    /// name up per unit would mostly insert). Two DIEs of a unit may then hold different unit
    /// strings for one name: nothing compares a unit's string ids, the graph interns them.
    pub(super) fn name_ref(&mut self, e: &Die<'a>) -> Result<StrRef> {
        if let Some(o) = self.kept(e, DW_AT_name).and_then(|k| match k.kind {
            KeptKind::DebugStrRef => Some(gimli::DebugStrOffset(k.value as usize)),
            _ => None,
        }) {
            // Readable later only when the offset is inside a section whose last string ends.
            let readable_later = self.str_terminated && o.0 < self.str_sections[1].len();
            if let Some(o32) = u32::try_from(o.0).ok().filter(|_| readable_later) {
                let i = self.out.strings.len() as u32;
                self.out.strings.push("");
                self.out.str_offsets.push(o32);
                return Ok(StrRef(i));
            }
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

    /// The kept entry of attribute `at` of `e`, if it has it.
    #[inline]
    fn kept(&self, e: &Die<'a>, at: DwAt) -> Option<Kept> {
        if e.mask & attr_bit(at) == 0 {
            return None;
        }
        self.attrs.borrow().find(e.start, e.len, at)
    }

    pub(super) fn attr(&self, e: &Die<'a>, at: DwAt) -> Result<Option<AttributeValue<Reader<'a>>>> {
        if e.mask & attr_bit(at) == 0 {
            // Not present, or not a wanted attribute (then not kept either).
            return Ok(None);
        }
        Ok(self.attrs.borrow().get(e.start, e.len, at))
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

    pub(super) fn string(&self, e: &Die<'a>, at: DwAt) -> Result<Option<String>> {
        Ok(self.str_attr(e, at)?.map(Cow::into_owned))
    }

    pub(super) fn name(&self, e: &Die<'a>) -> Result<Cow<'a, str>> {
        Ok(self.str_attr(e, DW_AT_name)?.unwrap_or_default())
    }

    pub(super) fn udata(&self, e: &Die<'a>, at: DwAt) -> Result<Option<u64>> {
        // As gimli's `udata_value`: the data forms as unsigned, sdata only when not negative.
        Ok(match self.kept(e, at) {
            None => None,
            Some(k) => match k.kind {
                KeptKind::Udata
                | KeptKind::Data1
                | KeptKind::Data2
                | KeptKind::Data4
                | KeptKind::Data8 => Some(k.value),
                KeptKind::Sdata => Some(k.value).filter(|&v| v as i64 >= 0),
                KeptKind::Full => self.attr(e, at)?.and_then(|v| v.udata_value()),
                _ => None,
            },
        })
    }

    /// A constant attribute read as signed: `DW_FORM_sdata` directly, fixed-size forms as the
    /// two's complement they hold (`DW_AT_bit_offset` is negative in some packed structs).
    pub(super) fn sdata(&self, e: &Die<'a>, at: DwAt) -> Result<Option<i64>> {
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

    pub(super) fn flag(&self, e: &Die<'a>, at: DwAt) -> Result<bool> {
        Ok(matches!(
            self.kept(e, at),
            Some(Kept { kind: KeptKind::Flag, value: 1, .. })
        ))
    }

    /// A reference attribute as an offset in this unit.
    /// A reference attribute as an offset in this unit; `None` when absent or when it points
    /// into another unit (callers that only walk this unit treat that as unknown).
    pub(super) fn ref_attr(&self, e: &Die<'a>, at: DwAt) -> Result<Option<UnitOffset>> {
        Ok(match self.ref_target(e, at)? {
            Some(Target::Local(u)) => Some(u),
            _ => None,
        })
    }

    /// A reference attribute, in this unit or (`DW_FORM_ref_addr`, LTO and Rust) another one.
    pub(super) fn ref_target(&self, e: &Die<'a>, at: DwAt) -> Result<Option<Target>> {
        match self.kept(e, at) {
            None => return Ok(None),
            Some(Kept { kind: KeptKind::UnitRef, value, .. }) => {
                return Ok(Some(Target::Local(UnitOffset(value as usize))))
            }
            _ => {}
        }
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

    /// The children of the DIE at `off`.
    pub(super) fn kids_of(&self, off: UnitOffset) -> Result<Kids> {
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

    pub(super) fn children(&self, off: UnitOffset) -> Result<Vec<(UnitOffset, DwTag)>> {
        let mut it = self.kids_of(off)?;
        let mut v = Vec::new();
        while let Some(k) = it.next(self) {
            v.push(k);
        }
        Ok(v)
    }

    /// How many children of these tags a DIE has (to size vectors kept in the output exactly).
    pub(super) fn count_kids(&self, off: UnitOffset, tags: &[DwTag]) -> usize {
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
    pub(super) fn annotations(&self, off: UnitOffset, kind: &str) -> Result<Vec<String>> {
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

    pub(super) fn slot(&self, off: UnitOffset) -> Option<Slot> {
        self.node(off).map(|i| self.slots[i])
    }

    pub(super) fn unsupported(&self, e: &Die<'a>, detail: impl Into<String>) -> EncodeError {
        EncodeError::Unsupported {
            die: self.die_off(e.offset()),
            tag: e.tag(),
            detail: Some(detail.into()),
        }
    }

    /// Pass 1: the node table (attributes skipped, not parsed); every type DIE gets its id;
    /// functions and variables are noted. `None` when the unit's language is excluded.
    pub(super) fn index_unit(&mut self, lang_exclude: &[gimli::DwLang]) -> Result<Option<UnitDies>> {
        let mut types = Vec::new();
        let mut subprograms = Vec::new();
        let mut variables = Vec::new();
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
                            return Ok(None);
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
        Ok(Some(UnitDies {
            types,
            subprograms,
            variables,
        }))
    }
}
