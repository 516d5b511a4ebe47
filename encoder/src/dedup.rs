//! Type deduplication with the semantics of libbpf's `btf__dedup` (libbpf 1.7), reimplemented.
//!
//! The kernel and every BPF loader see BTF that libbpf deduplicated (pahole calls `btf__dedup`),
//! so btfenc follows the same rules rather than a "better" equivalence: the parity test
//! (`tests/dedup_libbpf.rs`) and the `dedup` fuzz target compare the two on the same input.
//!
//! Public here: [`dedup_btf_flavor`] (also `encoder::dedup_btf`, upstream flavor), [`Flavor`],
//! [`DedupError`]. Inside, btfenc's merge runs the same phases over all CUs' types at once.
//!
//! Types live in a flat `Store`: per id a header (name, `info`, size-or-type, where its kind
//! data starts) and the kind data in one `u32` array, in the shape of raw BTF records, with names
//! as interned string ids (equal strings, equal ids), so the phases below compare words, never
//! strings, and allocate nothing per type. Ids below `start` are a base that is already
//! deduplicated: canonical and never changed (split BTF).
//!
//! Phases, in libbpf's order:
//! 1. **Base** (split BTF only): every base type except VAR/DATASEC goes into the candidate table.
//! 2. **Primitive** types (INT, FLOAT, FWD, ENUM/ENUM64) are merged by exact equality; an enum
//!    with no values (an enum forward declaration) merges into a full enum or ENUM64 of its name,
//!    and a canonical enum forward is redirected to a full enum found later.
//! 3. **STRUCT/UNION/TYPEDEF**, in id order: candidates are canonical types with the same shallow
//!    hash; a candidate is taken when a lock-step DFS over both graphs finds no contradiction in
//!    a hypothetical canonical→candidate map, where a FWD on one side matches a struct/union of
//!    the same name and kind on the other. The map of a successful check is merged: FWDs are
//!    resolved, and structs of the candidate graph are mapped early (which also decides later
//!    checks, so the outcome depends on id order, exactly as in libbpf).
//! 4. **FWD resolution**: a still-canonical FWD whose name belongs to exactly one canonical
//!    struct/union (of the FWD's kind) is mapped to it.
//! 5. **Reference types** (PTR, qualifiers, TYPE_TAG, DECL_TAG, ARRAY, FUNC_PROTO, FUNC),
//!    depth-first, children first: exact equality with resolved children.
//! 6. Compaction and remapping are the caller's: `Dedup::canonical` gives each id its canonical.
//!
//! Candidate order matters when several candidates are acceptable (see phase 3). libbpf keeps
//! candidates in a chained hash table that prepends on insert and reverses every chain when it
//! grows, so `Table` reproduces that order (newest first, reversed at each growth).

use crate::fx::HashMap;
use btf::types::*;
use btf::{Btf, Kind};
use std::collections::VecDeque;
use std::fmt;

const UNPROCESSED: u32 = u32::MAX;
const IN_PROGRESS: u32 = u32::MAX - 1;
/// Largest id a store may hold (ids above it are the markers above).
const MAX_ID: u32 = 0x7fff_ffff;

const INT: u8 = Kind::INT.0;
const PTR: u8 = Kind::PTR.0;
const ARRAY: u8 = Kind::ARRAY.0;
const STRUCT: u8 = Kind::STRUCT.0;
const UNION: u8 = Kind::UNION.0;
const ENUM: u8 = Kind::ENUM.0;
const FWD: u8 = Kind::FWD.0;
const TYPEDEF: u8 = Kind::TYPEDEF.0;
const VOLATILE: u8 = Kind::VOLATILE.0;
const CONST: u8 = Kind::CONST.0;
const RESTRICT: u8 = Kind::RESTRICT.0;
const FUNC: u8 = Kind::FUNC.0;
const FUNC_PROTO: u8 = Kind::FUNC_PROTO.0;
const VAR: u8 = Kind::VAR.0;
const DATASEC: u8 = Kind::DATASEC.0;
const FLOAT: u8 = Kind::FLOAT.0;
const DECL_TAG: u8 = Kind::DECL_TAG.0;
const TYPE_TAG: u8 = Kind::TYPE_TAG.0;
const ENUM64: u8 = Kind::ENUM64.0;

/// Which libbpf to agree with. They differ in one place: libbpf 1.7 files a base TYPEDEF under a
/// different key than the one split TYPEDEFs look it up with, so split BTF never merges a typedef
/// into its base (nor anything that refers to one). Upstream fixed that after 1.7 (libbpf commit
/// 5b0f3729, "Fix deduplication of typedef with base definitions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// libbpf after the typedef fix: what btfenc writes.
    #[default]
    Upstream,
    /// libbpf 1.7.0 exactly (the version `libbpf-sys` 1.7 bundles), for parity tests.
    Libbpf1_7,
}

/// Why deduplication failed. libbpf fails on the same inputs (with `-ELOOP` / `-EINVAL`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DedupError {
    /// A cycle of reference types that passes through no struct/union (e.g. a pointer to itself).
    #[error("reference type loop through type [{id}]")]
    RefLoop {
        /// A type on the loop.
        id: u32,
    },
    /// A type of a kind that cannot appear where it was found (e.g. a struct member of kind VAR).
    #[error("type [{id}] of kind {kind} cannot be deduplicated where it is referenced")]
    BadKind {
        /// The type.
        id: u32,
        /// Its kind code.
        kind: u8,
    },
    /// More types than BTF can number.
    #[error("too many types to deduplicate: {count}")]
    TooMany {
        /// The number of types.
        count: usize,
    },
    /// The canonical map has a cycle (only adversarial input can make one).
    #[error("canonical map cycle at type [{id}]")]
    MapCycle {
        /// A type on the cycle.
        id: u32,
    },
}

/// Interned names: id 0 is `""`; equal strings get equal ids. The strings are owned: the units
/// whose names they are interned from are dropped as soon as their types are in the graph, and a
/// kernel has only some 65 k distinct names (each kept twice, about 3 MB).
#[derive(Debug, Default)]
pub(crate) struct Strings {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Strings {
    pub(crate) fn new() -> Self {
        let mut s = Strings::default();
        s.list.push("".into());
        s.index.insert("".into(), 0);
        s
    }

    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.into());
        self.index.insert(s.into(), i);
        i
    }

    pub(crate) fn get(&self, id: u32) -> &str {
        self.list.get(id as usize).map_or("", |s| s)
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }
}

/// All types as flat records: `[name, info, size_or_type, kind data...]` where `info` is
/// `kind | kflag << 5 | vlen << 8` (libbpf compares `info` as a whole, and so do we).
///
/// Kind data, in words: INT 1 (encoding << 24 | bit offset << 16 | bits), ARRAY 3 (elem, index,
/// nelems), STRUCT/UNION 3 per member (name, type, offset as in raw BTF: bitfield size << 24 |
/// offset when kflag), ENUM 2 per value, ENUM64 3 per value (name, low, high), FUNC_PROTO 2 per
/// parameter (name, type), VAR 1 (linkage), DATASEC 3 per variable (type, offset, size), DECL_TAG
/// 1 (component index). FUNC keeps its linkage in vlen, as raw BTF does.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Per id: the record's first three words, and where its kind data starts in `words` (one
    /// array, so a visit reads a type's name, kind and size from one cache line).
    hdr: Vec<Hdr>,
    /// Kind data of all types, in id order.
    words: Vec<u32>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Hdr {
    name: u32,
    info: u32,
    st: u32,
    at: u32,
    /// [`Dedup`]'s canonical map and hypothetical map, kept here so that visiting a type during
    /// an equivalence check touches one record instead of three arrays.
    map: u32,
    hypot: u32,
}

/// A [`Store`] position holding a type reference: kind data (`< HDR_SLOT`) or the header's
/// size_or_type word of id `slot - HDR_SLOT`.
const HDR_SLOT: usize = 1 << 40;

impl Store {
    /// A store holding only `void` (id 0).
    pub(crate) fn new() -> Store {
        Store {
            hdr: vec![Hdr::default()],
            words: Vec::new(),
        }
    }

    /// Reserves room for `types` more types of about `words` words of kind data in all.
    pub(crate) fn reserve(&mut self, types: usize, words: usize) {
        self.hdr.reserve(types);
        self.words.reserve(words);
    }

    /// Number of ids, `void` included.
    pub(crate) fn len(&self) -> u32 {
        self.hdr.len() as u32
    }

    /// Bytes the records take (for `BTFENC_TIMING`).
    pub(crate) fn allocated(&self) -> usize {
        self.hdr.len() * std::mem::size_of::<Hdr>() + self.words.len() * 4
    }

    #[inline]
    fn o(&self, id: u32) -> usize {
        self.hdr[id as usize].at as usize
    }
    #[inline]
    pub(crate) fn name(&self, id: u32) -> u32 {
        self.hdr[id as usize].name
    }
    #[inline]
    fn info(&self, id: u32) -> u32 {
        self.hdr[id as usize].info
    }
    #[inline]
    pub(crate) fn kind(&self, id: u32) -> u8 {
        (self.info(id) & 0x1f) as u8
    }
    #[inline]
    fn kflag(&self, id: u32) -> bool {
        self.info(id) & 0x20 != 0
    }
    #[inline]
    fn vlen(&self, id: u32) -> usize {
        (self.info(id) >> 8) as usize
    }
    #[inline]
    fn st(&self, id: u32) -> u32 {
        self.hdr[id as usize].st
    }
    /// The kind data of a type.
    #[inline]
    fn data(&self, id: u32) -> &[u32] {
        let o = self.o(id);
        let end = self
            .hdr
            .get(id as usize + 1)
            .map_or(self.words.len(), |h| h.at as usize);
        &self.words[o..end]
    }
    #[inline]
    fn slot(&self, slot: usize) -> u32 {
        if slot >= HDR_SLOT {
            self.hdr[slot - HDR_SLOT].st
        } else {
            self.words[slot]
        }
    }
    #[inline]
    fn set_slot(&mut self, slot: usize, v: u32) {
        if slot >= HDR_SLOT {
            self.hdr[slot - HDR_SLOT].st = v;
        } else {
            self.words[slot] = v;
        }
    }

    /// Appends types `from..to` of `other` as they are (names and references unchanged).
    fn copy_from(&mut self, other: &Store, from: u32, to: u32) {
        for id in from..to.min(other.len()) {
            let data = other.data(id);
            self.hdr.push(Hdr {
                at: self.words.len() as u32,
                ..other.hdr[id as usize]
            });
            self.words.extend_from_slice(data);
        }
    }

    /// Appends a type; `name` maps its names to string ids, `r` its references to ids.
    pub(crate) fn push(
        &mut self,
        t: &Type,
        name: impl FnMut(StrRef) -> u32,
        r: impl FnMut(TypeId) -> u32,
    ) {
        let at = self.words.len() as u32;
        let (name, info, st) = flatten(t, name, r, &mut self.words);
        self.hdr.push(Hdr {
            name,
            info,
            st,
            at,
            map: UNPROCESSED,
            hypot: UNPROCESSED,
        });
    }

    /// Appends a unit's types (see [`UnitTypes`]) in id order; `name` maps the unit's name
    /// references to string ids, `r` its type references (local ids) to ids.
    pub(crate) fn append(
        &mut self,
        u: &UnitTypes,
        mut name: impl FnMut(u32) -> u32,
        mut r: impl FnMut(u32) -> u32,
    ) {
        self.hdr.reserve(u.recs.len());
        self.words.reserve(u.words.len());
        for rec in &u.recs {
            let kind = (rec.info & 0x1f) as u8;
            let at = self.words.len() as u32;
            let st = match kind {
                PTR | TYPEDEF | VOLATILE | CONST | RESTRICT | TYPE_TAG | FUNC | FUNC_PROTO | VAR
                | DECL_TAG => r(rec.st),
                _ => rec.st,
            };
            self.hdr.push(Hdr {
                name: name(rec.name),
                info: rec.info,
                st,
                at,
                map: UNPROCESSED,
                hypot: UNPROCESSED,
            });
            let d = u
                .words
                .get(rec.at as usize..rec.at as usize + rec.len as usize)
                .unwrap_or_default();
            let w = &mut self.words;
            match kind {
                STRUCT | UNION => {
                    for m in d.chunks_exact(3) {
                        w.extend([name(m[0]), r(m[1]), m[2]]);
                    }
                }
                ENUM | FUNC_PROTO => {
                    let proto = kind == FUNC_PROTO;
                    for v in d.chunks_exact(2) {
                        w.extend([name(v[0]), if proto { r(v[1]) } else { v[1] }]);
                    }
                }
                ENUM64 => {
                    for v in d.chunks_exact(3) {
                        w.extend([name(v[0]), v[1], v[2]]);
                    }
                }
                ARRAY => {
                    if let [elem, index, len] = *d {
                        w.extend([r(elem), r(index), len]);
                    }
                }
                DATASEC => {
                    for v in d.chunks_exact(3) {
                        w.extend([r(v[0]), v[1], v[2]]);
                    }
                }
                _ => w.extend_from_slice(d),
            }
        }
    }

    /// The type with id `id`, names and references mapped back by `name` and `r`.
    pub(crate) fn get(
        &self,
        id: u32,
        mut name: impl FnMut(u32) -> StrRef,
        mut r: impl FnMut(u32) -> TypeId,
    ) -> Type {
        let st = self.st(id);
        let kf = self.kflag(id);
        let d = self.data(id);
        let data = match self.kind(id) {
            INT => TypeData::Int(Int {
                size: st,
                encoding: IntEncoding((d[0] >> 24) as u8),
                bit_offset: (d[0] >> 16) as u8,
                bits: d[0] as u8,
            }),
            PTR => TypeData::Ptr(r(st)),
            TYPEDEF => TypeData::Typedef(r(st)),
            VOLATILE => TypeData::Volatile(r(st)),
            CONST => TypeData::Const(r(st)),
            RESTRICT => TypeData::Restrict(r(st)),
            TYPE_TAG => TypeData::TypeTag(btf::types::TypeTag {
                ty: r(st),
                attribute: kf,
            }),
            ARRAY => TypeData::Array(Array {
                elem: r(d[0]),
                index: r(d[1]),
                len: d[2],
            }),
            k @ (STRUCT | UNION) => {
                let members = d
                    .chunks_exact(3)
                    .map(|m| Member {
                        name: name(m[0]),
                        ty: r(m[1]),
                        bit_offset: if kf { m[2] & 0xff_ffff } else { m[2] },
                        bitfield_size: if kf { (m[2] >> 24) as u8 } else { 0 },
                    })
                    .collect();
                let c = Composite {
                    size: st,
                    bitfield_encoding: kf,
                    members,
                };
                if k == STRUCT {
                    TypeData::Struct(c)
                } else {
                    TypeData::Union(c)
                }
            }
            ENUM => TypeData::Enum(btf::types::Enum {
                size: st,
                signed: kf,
                values: d
                    .chunks_exact(2)
                    .map(|v| EnumValue {
                        name: name(v[0]),
                        value: v[1],
                    })
                    .collect(),
            }),
            ENUM64 => TypeData::Enum64(Enum64 {
                size: st,
                signed: kf,
                values: d
                    .chunks_exact(3)
                    .map(|v| Enum64Value {
                        name: name(v[0]),
                        value: u64::from(v[1]) | (u64::from(v[2]) << 32),
                    })
                    .collect(),
            }),
            FWD => TypeData::Fwd(btf::types::Fwd { union: kf }),
            FUNC => TypeData::Func(btf::types::Func {
                proto: r(st),
                linkage: FuncLinkage(self.vlen(id) as u16),
            }),
            FUNC_PROTO => TypeData::FuncProto(FuncProto {
                ret: r(st),
                params: d
                    .chunks_exact(2)
                    .map(|p| Param {
                        name: name(p[0]),
                        ty: r(p[1]),
                    })
                    .collect(),
            }),
            VAR => TypeData::Var(btf::types::Var {
                ty: r(st),
                linkage: VarLinkage(d[0]),
            }),
            DATASEC => TypeData::Datasec(Datasec {
                size: st,
                vars: d
                    .chunks_exact(3)
                    .map(|v| VarSecInfo {
                        ty: r(v[0]),
                        offset: v[1],
                        size: v[2],
                    })
                    .collect(),
            }),
            FLOAT => TypeData::Float(btf::types::Float { size: st }),
            DECL_TAG => TypeData::DeclTag(btf::types::DeclTag {
                ty: r(st),
                component_idx: d[0] as i32,
                attribute: kf,
            }),
            _ => TypeData::Void,
        };
        Type {
            name: name(self.name(id)),
            data,
        }
    }

    /// Positions (see [`HDR_SLOT`]) of the type references of `id`, in record order.
    fn ref_slots(&self, id: u32, out: &mut Vec<usize>) {
        out.clear();
        let o = self.o(id);
        let n = self.vlen(id);
        match self.kind(id) {
            PTR | TYPEDEF | VOLATILE | CONST | RESTRICT | TYPE_TAG | FUNC | VAR | DECL_TAG => {
                out.push(HDR_SLOT + id as usize)
            }
            ARRAY => out.extend([o, o + 1]),
            STRUCT | UNION => out.extend((0..n).map(|i| o + 3 * i + 1)),
            FUNC_PROTO => {
                out.push(HDR_SLOT + id as usize);
                out.extend((0..n).map(|i| o + 2 * i + 1));
            }
            DATASEC => out.extend((0..n).map(|i| o + 3 * i)),
            _ => {}
        }
    }

    /// Rewrites the type references of the types from `first` on: `f(r)` is the new reference
    /// for `r`, `None` to keep it (references the graph could only resolve once every unit was in).
    pub(crate) fn remap_refs(&mut self, first: u32, mut f: impl FnMut(u32) -> Option<u32>) {
        let mut slots = Vec::new();
        for id in first..self.len() {
            self.ref_slots(id, &mut slots);
            for &s in &slots {
                if let Some(v) = f(self.slot(s)) {
                    self.set_slot(s, v);
                }
            }
        }
    }

    /// The references of `id`, in record order.
    pub(crate) fn refs(&self, id: u32, out: &mut Vec<u32>) {
        let mut slots = Vec::new();
        self.ref_slots(id, &mut slots);
        out.clear();
        out.extend(slots.iter().map(|&s| self.slot(s)));
    }
}

/// Writes `t`'s kind data to `w` in the [`Store`] layout; returns its name, `info` and
/// size-or-type words. `name` maps its names to string ids, `r` its references to ids.
fn flatten(
    t: &Type,
    mut name: impl FnMut(StrRef) -> u32,
    mut r: impl FnMut(TypeId) -> u32,
    w: &mut Vec<u32>,
) -> (u32, u32, u32) {
    let kind = t.data.kind().0 as u32;
    let own = name(t.name);
    let head = |kflag: bool, vlen: usize, st: u32| {
        (own, kind | (u32::from(kflag) << 5) | ((vlen as u32) << 8), st)
    };
    match &t.data {
        TypeData::Void => head(false, 0, 0),
        TypeData::Int(i) => {
            w.push(
                (u32::from(i.encoding.0) << 24)
                    | (u32::from(i.bit_offset) << 16)
                    | u32::from(i.bits),
            );
            head(false, 0, i.size)
        }
        TypeData::Ptr(x)
        | TypeData::Typedef(x)
        | TypeData::Volatile(x)
        | TypeData::Const(x)
        | TypeData::Restrict(x) => head(false, 0, r(*x)),
        TypeData::TypeTag(x) => head(x.attribute, 0, r(x.ty)),
        TypeData::Array(a) => {
            w.extend([r(a.elem), r(a.index), a.len]);
            head(false, 0, 0)
        }
        TypeData::Struct(c) | TypeData::Union(c) => {
            for m in &c.members {
                w.push(name(m.name));
                w.push(r(m.ty));
                w.push(if c.bitfield_encoding {
                    (u32::from(m.bitfield_size) << 24) | (m.bit_offset & 0xff_ffff)
                } else {
                    m.bit_offset
                });
            }
            head(c.bitfield_encoding, c.members.len(), c.size)
        }
        TypeData::Enum(e) => {
            for v in &e.values {
                w.extend([name(v.name), v.value]);
            }
            head(e.signed, e.values.len(), e.size)
        }
        TypeData::Enum64(e) => {
            for v in &e.values {
                w.extend([name(v.name), v.value as u32, (v.value >> 32) as u32]);
            }
            head(e.signed, e.values.len(), e.size)
        }
        TypeData::Fwd(f) => head(f.union, 0, 0),
        TypeData::Func(f) => head(false, f.linkage.0 as usize, r(f.proto)),
        TypeData::FuncProto(p) => {
            let ret = r(p.ret);
            for q in &p.params {
                w.push(name(q.name));
                w.push(r(q.ty));
            }
            head(false, p.params.len(), ret)
        }
        TypeData::Var(v) => {
            w.push(v.linkage.0);
            head(false, 0, r(v.ty))
        }
        TypeData::Datasec(d) => {
            for v in &d.vars {
                w.extend([r(v.ty), v.offset, v.size]);
            }
            head(false, d.vars.len(), d.size)
        }
        TypeData::Float(f) => head(false, 0, f.size),
        TypeData::DeclTag(d) => {
            w.push(d.component_idx as u32);
            head(d.attribute, 0, r(d.ty))
        }
    }
}

/// One unit's types as the walk builds them: [`Store`] records with the unit's own name
/// references and local type ids (1-based; 0 is void), appended to the graph's store with
/// [`Store::append`]. A type's kind data may sit anywhere in `words`: the walk numbers its type
/// DIEs first and fills them in later, among the types it adds on the way. Flat, so that a unit's
/// millions of members cost no allocation each (and no free on the thread that appends them).
#[derive(Debug, Default)]
pub(crate) struct UnitTypes {
    recs: Vec<UnitRec>,
    words: Vec<u32>,
}

#[derive(Debug, Default, Clone, Copy)]
struct UnitRec {
    name: u32,
    info: u32,
    st: u32,
    at: u32,
    len: u32,
}

impl UnitTypes {
    /// Number of types (local ids run from 1 to this).
    pub(crate) fn len(&self) -> usize {
        self.recs.len()
    }

    /// Adds `t` (names as the unit's [`StrRef`]s, references as local ids); returns its id.
    pub(crate) fn push(&mut self, t: &Type) -> TypeId {
        self.recs.push(UnitRec::default());
        let id = TypeId(self.recs.len() as u32);
        self.set(id, t);
        id
    }

    /// Replaces the type with local id `id` (ids out of range are ignored).
    pub(crate) fn set(&mut self, id: TypeId, t: &Type) {
        let at = self.words.len();
        let (name, info, st) = flatten(t, |s| s.0, |r| r.0, &mut self.words);
        let len = (self.words.len() - at) as u32;
        if let Some(rec) = (id.0 as usize).checked_sub(1).and_then(|i| self.recs.get_mut(i)) {
            *rec = UnitRec { name, info, st, at: at as u32, len };
        }
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.recs.shrink_to_fit();
        self.words.shrink_to_fit();
    }
}

/// Fx-style word mixing for candidate-table keys.
#[inline]
fn mix(h: u64, w: u32) -> u64 {
    (h.rotate_left(5) ^ u64::from(w)).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// The candidate table: canonical types by key, in libbpf's iteration order (see module doc).
#[derive(Default)]
struct Table {
    slots: HashMap<u64, u32>,
    lists: Vec<Chain>,
    /// Entries and capacity of the libbpf hash map being mirrored.
    sz: u64,
    cap: u64,
    /// Number of times that map has grown.
    epoch: u32,
}

/// Entries sharing a key, when there is more than one.
struct Chain {
    items: VecDeque<u32>,
    /// Logical order is `items` reversed.
    rev: bool,
    /// Growths already applied to `rev`.
    epoch: u32,
}

/// A slot value with this bit set indexes [`Table::lists`]; otherwise it is the only entry.
const CHAIN: u32 = 1 << 31;

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Table({} entries)", self.sz)
    }
}

impl Chain {
    fn sync(&mut self, epoch: u32) {
        if (epoch - self.epoch) % 2 == 1 {
            self.rev = !self.rev;
        }
        self.epoch = epoch;
    }
}

impl Table {
    fn add(&mut self, key: u64, id: u32) {
        // libbpf's map grows before an insert when empty or more than 75% full, doubling from
        // 4 buckets; every growth re-links each chain in reverse.
        if self.cap == 0 || (self.sz + 1) * 4 / 3 > self.cap {
            self.cap = if self.cap == 0 { 4 } else { self.cap * 2 };
            self.epoch += 1;
        }
        self.sz += 1;
        let epoch = self.epoch;
        match self.slots.entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let s = *o.get();
                let li = if s & CHAIN == 0 {
                    let li = self.lists.len() as u32;
                    self.lists.push(Chain {
                        items: VecDeque::from([s]),
                        rev: false,
                        epoch,
                    });
                    o.insert(li | CHAIN);
                    li
                } else {
                    s & !CHAIN
                };
                let c = &mut self.lists[li as usize];
                c.sync(epoch);
                // New entries go first (libbpf prepends to the chain).
                if c.rev {
                    c.items.push_back(id);
                } else {
                    c.items.push_front(id);
                }
            }
        }
    }

    fn cands(&mut self, key: u64, out: &mut Vec<u32>) {
        out.clear();
        match self.slots.get(&key) {
            None => {}
            Some(&s) if s & CHAIN == 0 => out.push(s),
            Some(&s) => {
                let c = &mut self.lists[(s & !CHAIN) as usize];
                c.sync(self.epoch);
                if c.rev {
                    out.extend(c.items.iter().rev());
                } else {
                    out.extend(c.items.iter());
                }
            }
        }
    }
}

/// The deduplication state over a [`Store`].
pub(crate) struct Dedup<'s> {
    st: &'s mut Store,
    s: State,
}

/// Everything of a [`Dedup`] but the store (kept between units by an [`Incremental`] run).
struct State {
    /// First id that is deduplicated; ids below are a deduplicated base.
    start: u32,
    hypot_list: Vec<u32>,
    adjust_canon: bool,
    table: Table,
    flavor: Flavor,
    /// Fail where libbpf fails (for [`dedup_btf`]); otherwise (DWARF input) leave the offending
    /// types unmerged and go on.
    strict: bool,
    /// Set when a chain in `map` loops (then `resolve` stops and dedup fails).
    cycle: Option<u32>,
    cands: Vec<u32>,
    stack: Vec<(u32, u32)>,
    /// Work counters for `BTFENC_TIMING`: equivalence checks started, pairs visited.
    checks: u64,
    steps: u64,
    /// Phase 5's stack buffers, kept between roots.
    #[allow(clippy::type_complexity)]
    ref_bufs: (Vec<(u32, usize, usize, usize)>, Vec<usize>, Vec<usize>),
    /// Set by an [`Incremental`] run: watch for decisions that depend on the candidate table's
    /// order (see there), and record one in `order_sensitive`.
    detect: bool,
    order_sensitive: bool,
}

impl State {
    fn new(start: u32, flavor: Flavor, strict: bool, detect: bool) -> State {
        State {
            start,
            hypot_list: Vec::new(),
            adjust_canon: false,
            table: Table::default(),
            flavor,
            strict,
            cycle: None,
            cands: Vec::new(),
            stack: Vec::new(),
            checks: 0,
            steps: 0,
            ref_bufs: Default::default(),
            detect,
            order_sensitive: false,
        }
    }
}

/// Phases 2 and 3 (primitive types, then structs/unions/typedefs) unit by unit while the walk
/// is still reading later units, instead of over all types once they are in.
///
/// For a unit's types this is the same work in the same state as the whole-graph run: phase 3
/// of a unit only visits that unit's types and canonical types of earlier units (a unit's
/// references stay inside it), and phase 2 of later units does not touch those. What differs
/// is the candidate table's size when a unit is looked up (the whole-graph run has every unit's
/// primitive types in it by then), so its chains can be in another order (they reverse each
/// time the table grows). The order decides the outcome only where two candidates would both
/// be accepted: phase 3 checks the remaining shallow-equal candidates after the first
/// equivalent one (3,613 extra checks, 0.6%, on a 6.12 vmlinux, which has no such case), phase
/// 2 checks whether an enum's compatible candidates, forward enums among them, end up in
/// different places. Any such case, a reference into another unit (LTO,
/// `dwz`), an array index type not known yet, a base (split BTF) or an error gives the
/// incremental run up, and [`Incremental::finish`] deduplicates the whole graph from scratch
/// as [`Dedup::run`] does: the result is the whole-graph run's in every case.
pub(crate) struct Incremental {
    parked: Option<State>,
    flavor: Flavor,
    strict: bool,
    /// Ids below this are through phases 2 and 3 (void, id 0, is only initialized).
    done: u32,
    given_up: Option<&'static str>,
    /// `BTFENC_TIMING` is set: measure [`Incremental::advance`]'s CPU time in `cpu_ns` (a read
    /// of /proc each time, so not otherwise: it runs once per unit).
    timing: bool,
    pub(crate) cpu_ns: u64,
}

impl fmt::Debug for Incremental {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Incremental(done {}, given up: {:?})", self.done, self.given_up)
    }
}

impl Incremental {
    /// An incremental run over a graph without a base (ids from 1), in `flavor`; `strict` as
    /// in [`Dedup::run`].
    pub(crate) fn new(flavor: Flavor, strict: bool) -> Incremental {
        Incremental {
            parked: Some(State::new(1, flavor, strict, true)),
            flavor,
            strict,
            done: 0,
            given_up: None,
            timing: std::env::var_os("BTFENC_TIMING").is_some(),
            cpu_ns: 0,
        }
    }

    /// Stops the incremental run: [`Incremental::finish`] will deduplicate from scratch.
    pub(crate) fn give_up(&mut self, why: &'static str) {
        if self.given_up.is_none() {
            self.given_up = Some(why);
            self.parked = None;
        }
    }

    /// Why the run was given up, if it was.
    pub(crate) fn given_up(&self) -> Option<&'static str> {
        self.given_up
    }

    /// Runs phases 2 and 3 over the ids appended to `st` since the last call (a whole unit).
    pub(crate) fn advance(&mut self, st: &mut Store) {
        let Some(parked) = self.parked.take() else {
            return;
        };
        let n = st.len();
        if u64::from(n) > u64::from(MAX_ID) {
            self.give_up("too many types");
            return;
        }
        let c0 = if self.timing { thread_cpu_ns() } else { 0 };
        let from = self.done;
        init_maps(st, from as usize);
        let ids = from.max(1)..n;
        let mut d = Dedup { st, s: parked };
        let r = ids
            .clone()
            .try_for_each(|id| d.prim(id))
            .and_then(|()| ids.clone().try_for_each(|id| d.struct_type(id)));
        let why = match r {
            Err(_) => Some("an error"),
            Ok(()) if d.s.order_sensitive => Some("a decision that depends on the candidate order"),
            Ok(()) if d.s.cycle.is_some() => Some("a cycle in the canonical map"),
            Ok(()) => None,
        };
        let parked = d.s;
        if self.timing {
            self.cpu_ns += thread_cpu_ns().saturating_sub(c0);
        }
        match why {
            Some(why) => self.give_up(why),
            None => {
                self.parked = Some(parked);
                self.done = n;
            }
        }
    }

    /// The deduplicated state of `st`, as [`Dedup::run`]`(st, 1, strict, flavor)` gives it
    /// (with this run's `strict` and `flavor`).
    pub(crate) fn finish(mut self, st: &mut Store) -> Result<Dedup<'_>, DedupError> {
        self.advance(st);
        let (flavor, strict) = (self.flavor, self.strict);
        match self.parked {
            Some(parked) => {
                let mut d = Dedup { st, s: parked };
                d.s.detect = false;
                d.later_phases()?;
                Ok(d)
            }
            None => Dedup::run(st, 1, strict, flavor),
        }
    }
}

/// `BTFENC_TIMING`'s lines for the phases: wall and thread CPU time since the last lap.
struct Laps {
    timing: bool,
    wall: std::time::Instant,
    cpu: u64,
}

impl Laps {
    fn start() -> Laps {
        let timing = std::env::var_os("BTFENC_TIMING").is_some();
        Laps {
            timing,
            wall: std::time::Instant::now(),
            cpu: if timing { thread_cpu_ns() } else { 0 },
        }
    }

    fn lap(&mut self, what: &str) {
        if self.timing {
            let cpu = thread_cpu_ns();
            eprintln!(
                "btfenc: dedup {what} {:?} (cpu {:.1} ms)",
                self.wall.elapsed(),
                cpu.saturating_sub(self.cpu) as f64 / 1e6
            );
            (self.wall, self.cpu) = (std::time::Instant::now(), cpu);
        }
    }
}

/// Marks ids from `from` on as not processed (VAR and DATASEC are their own canonical).
fn init_maps(st: &mut Store, from: usize) {
    for (id, h) in st.hdr.iter_mut().enumerate().skip(from) {
        h.hypot = UNPROCESSED;
        h.map = if id == 0 || matches!((h.info & 0x1f) as u8, VAR | DATASEC) {
            id as u32
        } else {
            UNPROCESSED
        };
    }
}

impl fmt::Debug for Dedup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dedup({} types from {})", self.st.hdr.len(), self.s.start)
    }
}

impl<'s> Dedup<'s> {
    /// Deduplicates `st`; ids below `start` are a deduplicated base. Returns the state, from
    /// which [`Dedup::canonical`] reads the result.
    pub(crate) fn run(
        st: &'s mut Store,
        start: u32,
        strict: bool,
        flavor: Flavor,
    ) -> Result<Dedup<'s>, DedupError> {
        let n = st.len();
        if n as u64 > u64::from(MAX_ID) {
            return Err(DedupError::TooMany { count: n as usize });
        }
        let start = start.clamp(1, n.max(1));
        init_maps(st, 0);
        let mut d = Dedup {
            st,
            s: State::new(start, flavor, strict, false),
        };
        let mut lap = Laps::start();
        d.prep()?;
        for id in start..n {
            d.prim(id)?;
        }
        lap.lap("base + primitive types");
        for id in start..n {
            d.struct_type(id)?;
        }
        lap.lap("structs/unions/typedefs");
        d.later_phases()?;
        Ok(d)
    }

    /// Phases 4 and 5, once phases 2 and 3 are through every type.
    fn later_phases(&mut self) -> Result<(), DedupError> {
        let mut lap = Laps::start();
        if lap.timing {
            eprintln!(
                "btfenc: dedup {} equivalence checks, {} pairs visited",
                self.s.checks, self.s.steps
            );
        }
        self.resolve_fwds();
        lap.lap("forward resolution");
        for id in self.s.start..self.st.len() {
            self.ref_type(id)?;
        }
        lap.lap("reference types");
        if let Some(id) = self.s.cycle {
            return Err(DedupError::MapCycle { id });
        }
        Ok(())
    }

    /// The canonical id of `id` (an id below `start`, or a new id that is its own canonical).
    pub(crate) fn canonical(&mut self, id: u32) -> u32 {
        self.resolve(id)
    }

    /// True when `id` is its own canonical.
    pub(crate) fn is_canonical(&self, id: u32) -> bool {
        self.st.hdr[id as usize].map == id
    }

    /// The store, with references inside reference types already resolved.
    pub(crate) fn store(&self) -> &Store {
        &*self.st
    }

    fn bad(&self, id: u32) -> DedupError {
        DedupError::BadKind {
            id,
            kind: self.st.kind(id),
        }
    }

    #[inline]
    fn mapped(&self, id: u32) -> bool {
        self.st.hdr[id as usize].map <= MAX_ID
    }

    /// Follows `map` to a type that maps to itself or is not processed yet.
    #[inline]
    fn resolve(&mut self, mut id: u32) -> u32 {
        let mut steps = 0usize;
        while self.mapped(id) && self.st.hdr[id as usize].map != id {
            id = self.st.hdr[id as usize].map;
            steps += 1;
            if steps > self.st.hdr.len() {
                self.s.cycle.get_or_insert(id);
                break;
            }
        }
        id
    }

    /// A FWD resolved to a struct/union when it has been; anything else as it is.
    fn resolve_fwd(&mut self, id: u32) -> u32 {
        if self.st.kind(id) != FWD {
            return id;
        }
        let r = self.resolve(id);
        if self.st.kind(r) != FWD {
            r
        } else {
            id
        }
    }

    // ---- keys (what libbpf hashes for each kind) ----

    fn key_common(&self, id: u32) -> u64 {
        let s = &*self.st;
        mix(mix(mix(1, s.name(id)), s.info(id)), s.st(id))
    }
    fn key_typedef(&self, id: u32) -> u64 {
        mix(mix(2, self.st.name(id)), self.st.info(id))
    }
    fn key_int_tag(&self, id: u32) -> u64 {
        mix(self.key_common(id), self.st.data(id)[0])
    }
    fn key_enum(&self, id: u32) -> u64 {
        // Name only: a forward enum (no values, size maybe different, ENUM vs ENUM64) must find
        // the full one.
        mix(3, self.st.name(id))
    }
    fn key_struct(&self, id: u32) -> u64 {
        let mut h = self.key_common(id);
        for m in self.st.data(id).chunks_exact(3) {
            h = mix(mix(h, m[0]), m[2]);
        }
        h
    }
    fn key_array(&self, id: u32) -> u64 {
        let d = self.st.data(id);
        mix(mix(mix(self.key_common(id), d[0]), d[1]), d[2])
    }
    fn key_fnproto(&self, id: u32) -> u64 {
        let mut h = self.key_common(id);
        for p in self.st.data(id).chunks_exact(2) {
            h = mix(mix(h, p[0]), p[1]);
        }
        h
    }

    // ---- equality tests (libbpf's "equal" = exact, "compat" = ignoring references) ----

    fn equal_common(&self, a: u32, b: u32) -> bool {
        let s = &*self.st;
        s.name(a) == s.name(b) && s.info(a) == s.info(b) && s.st(a) == s.st(b)
    }
    fn equal_int_tag(&self, a: u32, b: u32) -> bool {
        self.equal_common(a, b) && self.st.data(a)[0] == self.st.data(b)[0]
    }
    fn equal_enum(&self, a: u32, b: u32) -> bool {
        // Same info means same kind and count, so the value words line up.
        self.equal_common(a, b) && self.st.data(a) == self.st.data(b)
    }
    fn is_enum_fwd(&self, id: u32) -> bool {
        matches!(self.st.kind(id), ENUM | ENUM64) && self.st.vlen(id) == 0
    }
    fn compat_enum(&self, a: u32, b: u32) -> bool {
        if !self.is_enum_fwd(a) && !self.is_enum_fwd(b) {
            return self.equal_enum(a, b);
        }
        self.st.name(a) == self.st.name(b)
            && matches!(self.st.kind(a), ENUM | ENUM64)
            && matches!(self.st.kind(b), ENUM | ENUM64)
    }
    fn shallow_equal_struct(&self, a: u32, b: u32) -> bool {
        if !self.equal_common(a, b) {
            return false;
        }
        let (da, db) = (self.st.data(a), self.st.data(b));
        da.chunks_exact(3)
            .zip(db.chunks_exact(3))
            .all(|(x, y)| x[0] == y[0] && x[2] == y[2])
    }
    fn compat_array(&self, a: u32, b: u32) -> bool {
        self.equal_common(a, b) && self.st.data(a)[2] == self.st.data(b)[2]
    }
    fn compat_fnproto(&self, a: u32, b: u32) -> bool {
        let s = &*self.st;
        if s.name(a) != s.name(b) || s.info(a) != s.info(b) {
            return false;
        }
        s.data(a)
            .chunks_exact(2)
            .zip(s.data(b).chunks_exact(2))
            .all(|(x, y)| x[0] == y[0])
    }

    // ---- phase 1 ----

    fn prep(&mut self) -> Result<(), DedupError> {
        for id in 1..self.s.start {
            self.st.hdr[id as usize].map = id;
            let key = match self.st.kind(id) {
                VAR | DATASEC => continue,
                TYPEDEF if self.s.flavor == Flavor::Upstream => self.key_typedef(id),
                CONST | VOLATILE | RESTRICT | PTR | FWD | TYPEDEF | FUNC | FLOAT | TYPE_TAG => {
                    self.key_common(id)
                }
                INT | DECL_TAG => self.key_int_tag(id),
                ENUM | ENUM64 => self.key_enum(id),
                STRUCT | UNION => self.key_struct(id),
                ARRAY => self.key_array(id),
                FUNC_PROTO => self.key_fnproto(id),
                _ => return Err(self.bad(id)),
            };
            self.s.table.add(key, id);
        }
        Ok(())
    }

    // ---- phase 2 ----

    fn prim(&mut self, id: u32) -> Result<(), DedupError> {
        let mut new = id;
        let mut cands = std::mem::take(&mut self.s.cands);
        let key = match self.st.kind(id) {
            INT => {
                let key = self.key_int_tag(id);
                self.s.table.cands(key, &mut cands);
                if let Some(&c) = cands.iter().find(|&&c| self.equal_int_tag(id, c)) {
                    new = c;
                }
                key
            }
            ENUM | ENUM64 => {
                let key = self.key_enum(id);
                self.s.table.cands(key, &mut cands);
                if self.s.detect && self.enum_order_matters(id, &cands) {
                    self.s.order_sensitive = true;
                }
                for &c in &cands {
                    if self.equal_enum(id, c) {
                        new = c;
                        break;
                    }
                    if self.compat_enum(id, c) {
                        if self.is_enum_fwd(id) {
                            new = c;
                            break;
                        }
                        // A canonical forward enum met its full definition.
                        self.st.hdr[c as usize].map = id;
                    }
                }
                key
            }
            FWD | FLOAT => {
                let key = self.key_common(id);
                self.s.table.cands(key, &mut cands);
                if let Some(&c) = cands.iter().find(|&&c| self.equal_common(id, c)) {
                    new = c;
                }
                key
            }
            PTR | ARRAY | STRUCT | UNION | TYPEDEF | VOLATILE | CONST | RESTRICT | FUNC
            | FUNC_PROTO | VAR | DATASEC | DECL_TAG | TYPE_TAG => {
                self.s.cands = cands;
                return Ok(());
            }
            _ => {
                self.s.cands = cands;
                if self.s.strict {
                    return Err(self.bad(id));
                }
                self.st.hdr[id as usize].map = id;
                return Ok(());
            }
        };
        self.s.cands = cands;
        self.st.hdr[id as usize].map = new;
        if new == id {
            self.s.table.add(key, id);
        }
        Ok(())
    }

    /// For an incremental run: whether the order of enum `id`'s candidates decides where some
    /// type ends up (see [`Incremental`]). A forward enum merges into the first compatible
    /// candidate; a full one merges into its equal one and redirects the forward enums met
    /// before it. Only the final canonical counts, not the chain of `map` that leads there.
    fn enum_order_matters(&mut self, id: u32, cands: &[u32]) -> bool {
        // Two full enums are compatible only when equal, and one is canonical at most: without
        // a forward enum on either side there is nothing to order (the common case, and the
        // cheap test: anonymous enums all share one key).
        if !self.is_enum_fwd(id) && !cands.iter().any(|&c| self.is_enum_fwd(c)) {
            return false;
        }
        let compat: Vec<u32> = cands
            .iter()
            .copied()
            .filter(|&c| self.compat_enum(id, c))
            .collect();
        if compat.len() < 2 {
            return false;
        }
        let target = if self.is_enum_fwd(id) {
            compat[0]
        } else {
            // Without an equal one, every compatible forward enum is redirected to `id`.
            match compat.iter().copied().find(|&c| self.equal_enum(id, c)) {
                Some(e) => e,
                None => return false,
            }
        };
        let target = self.resolve(target);
        compat.iter().any(|&c| self.resolve(c) != target)
    }

    // ---- phase 3 ----

    fn struct_type(&mut self, id: u32) -> Result<(), DedupError> {
        if self.mapped(id) {
            return Ok(());
        }
        let kind = self.st.kind(id);
        if !matches!(kind, STRUCT | UNION | TYPEDEF) {
            return Ok(());
        }
        let key = if kind == TYPEDEF {
            self.key_typedef(id)
        } else {
            self.key_struct(id)
        };
        let mut cands = std::mem::take(&mut self.s.cands);
        self.s.table.cands(key, &mut cands);
        let mut new = id;
        for (i, &c) in cands.iter().enumerate() {
            if !self.shallow_candidate(kind, id, c) {
                continue;
            }
            self.clear_hypot();
            match self.is_equiv(id, c) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) if self.s.strict => {
                    self.s.cands = cands;
                    return Err(e);
                }
                Err(_) => continue,
            }
            if self.s.detect {
                self.check_unique(kind, id, c, &cands[i + 1..]);
            }
            self.merge_hypot();
            if self.s.adjust_canon {
                continue;
            }
            new = c;
            break;
        }
        self.s.cands = cands;
        self.st.hdr[id as usize].map = new;
        if new == id {
            self.s.table.add(key, id);
        }
        Ok(())
    }

    /// Whether canonical `c` can be `id`'s (a struct/union/typedef) at all: same name, kind and
    /// size, and for structs the same member names and offsets.
    fn shallow_candidate(&self, kind: u8, id: u32, c: u32) -> bool {
        if kind == TYPEDEF {
            self.st.name(id) == self.st.name(c) && self.st.info(id) == self.st.info(c)
        } else {
            self.shallow_equal_struct(id, c)
        }
    }

    /// For an incremental run: `id` was found equivalent to `c`, and the check's hypothetical
    /// map is about to be merged. If a candidate after `c` (in `rest`) is equivalent too, the
    /// table's order chose between them (see [`Incremental`]): record that. Then the check of
    /// `c` is repeated, so the merge sees its map.
    fn check_unique(&mut self, kind: u8, id: u32, c: u32, rest: &[u32]) {
        let mut checked = false;
        for &r in rest {
            if !self.shallow_candidate(kind, id, r) {
                continue;
            }
            checked = true;
            self.clear_hypot();
            if matches!(self.is_equiv(id, r), Ok(true)) {
                self.s.order_sensitive = true;
                break;
            }
        }
        if checked {
            self.clear_hypot();
            if !matches!(self.is_equiv(id, c), Ok(true)) {
                self.s.order_sensitive = true;
            }
        }
    }

    fn clear_hypot(&mut self) {
        for &c in &self.s.hypot_list {
            self.st.hdr[c as usize].hypot = UNPROCESSED;
        }
        self.s.hypot_list.clear();
        self.s.adjust_canon = false;
    }

    /// Lock-step DFS from (`cand`, `canon`), in libbpf's pre-order (an explicit stack instead of
    /// recursion: kernel-sized graphs and fuzzed chains are deeper than a thread's stack).
    fn is_equiv(&mut self, cand: u32, canon: u32) -> Result<bool, DedupError> {
        let mut stack = std::mem::take(&mut self.s.stack);
        stack.clear();
        self.s.checks += 1;
        stack.push((cand, canon));
        let mut result = Ok(true);
        while let Some((a, b)) = stack.pop() {
            self.s.steps += 1;
            match self.equiv_step(a, b, &mut stack) {
                Ok(true) => {}
                other => {
                    result = other;
                    break;
                }
            }
        }
        self.s.stack = stack;
        result
    }

    /// Checks one pair; pushes the pairs its references must match (last to check first).
    /// `Ok(false)` ends the whole check.
    fn equiv_step(
        &mut self,
        cand: u32,
        canon: u32,
        stack: &mut Vec<(u32, u32)>,
    ) -> Result<bool, DedupError> {
        if self.resolve(cand) == self.resolve(canon) {
            return Ok(true);
        }
        let canon = self.resolve_fwd(canon);
        let h = self.st.hdr[canon as usize].hypot;
        if h <= MAX_ID {
            // Seen before: the same candidate (a cycle), or one the compiler duplicated.
            return Ok(h == cand || self.identical(h, cand, 16));
        }
        self.st.hdr[canon as usize].hypot = cand;
        self.s.hypot_list.push(canon);
        let s = &*self.st;
        if s.name(cand) != s.name(canon) {
            return Ok(false);
        }
        let (ck, nk) = (s.kind(cand), s.kind(canon));
        if (ck == FWD || nk == FWD) && ck != nk {
            let (real, fwd_kind) = if ck == FWD {
                (nk, fwd_kind(s.kflag(cand)))
            } else {
                let fk = fwd_kind(s.kflag(canon));
                if fk == ck && canon < self.s.start {
                    // A base FWD would have to become a split struct: not an equivalence.
                    self.s.adjust_canon = true;
                }
                (ck, fk)
            };
            return Ok(real == fwd_kind);
        }
        if ck != nk {
            return Ok(false);
        }
        match ck {
            INT => Ok(self.equal_int_tag(cand, canon)),
            ENUM | ENUM64 => Ok(self.compat_enum(cand, canon)),
            FWD | FLOAT => Ok(self.equal_common(cand, canon)),
            CONST | VOLATILE | RESTRICT | PTR | TYPEDEF | FUNC | TYPE_TAG => {
                if s.info(cand) != s.info(canon) {
                    return Ok(false);
                }
                stack.push((s.st(cand), s.st(canon)));
                Ok(true)
            }
            ARRAY => {
                if !self.compat_array(cand, canon) {
                    return Ok(false);
                }
                let (a, b) = (s.data(cand), s.data(canon));
                // Index type first, then element type.
                stack.push((a[0], b[0]));
                stack.push((a[1], b[1]));
                Ok(true)
            }
            STRUCT | UNION => {
                if !self.shallow_equal_struct(cand, canon) {
                    return Ok(false);
                }
                let (a, b) = (s.data(cand), s.data(canon));
                for (x, y) in a.chunks_exact(3).zip(b.chunks_exact(3)).rev() {
                    stack.push((x[1], y[1]));
                }
                Ok(true)
            }
            FUNC_PROTO => {
                if !self.compat_fnproto(cand, canon) {
                    return Ok(false);
                }
                let (a, b) = (s.data(cand), s.data(canon));
                for (x, y) in a.chunks_exact(2).zip(b.chunks_exact(2)).rev() {
                    stack.push((x[1], y[1]));
                }
                stack.push((s.st(cand), s.st(canon)));
                Ok(true)
            }
            _ => Err(self.bad(cand)),
        }
    }

    /// Whether two types are the same record tree up to `depth` composite levels (libbpf's
    /// allowance for DWARF that describes one type twice in a unit).
    fn identical(&self, mut a: u32, mut b: u32, depth: u32) -> bool {
        // libbpf does not count modifier hops against the depth; a bound keeps a modifier
        // loop (which libbpf rejects only later) from spinning here.
        let mut hops = 0usize;
        loop {
            if depth == 0 {
                return false;
            }
            let s = &*self.st;
            let k = s.kind(a);
            if k != s.kind(b) {
                return false;
            }
            match k {
                0 => return true,
                INT => return self.equal_int_tag(a, b),
                ENUM | ENUM64 => return self.compat_enum(a, b),
                FWD | FLOAT => return self.equal_common(a, b),
                CONST | VOLATILE | RESTRICT | PTR | TYPEDEF | FUNC | TYPE_TAG => {
                    if s.info(a) != s.info(b) || s.name(a) != s.name(b) {
                        return false;
                    }
                    a = s.st(a);
                    b = s.st(b);
                    hops += 1;
                    if hops > s.hdr.len() {
                        return false;
                    }
                }
                // libbpf compares the first array's references with themselves here, so only the
                // shallow part counts; kept for parity.
                ARRAY => return self.compat_array(a, b),
                STRUCT | UNION => {
                    if !self.shallow_equal_struct(a, b) {
                        return false;
                    }
                    return s
                        .data(a)
                        .chunks_exact(3)
                        .zip(s.data(b).chunks_exact(3))
                        .all(|(x, y)| x[1] == y[1] || self.identical(x[1], y[1], depth - 1));
                }
                FUNC_PROTO => {
                    if !self.compat_fnproto(a, b) {
                        return false;
                    }
                    if s.st(a) != s.st(b) && !self.identical(s.st(a), s.st(b), depth - 1) {
                        return false;
                    }
                    return s
                        .data(a)
                        .chunks_exact(2)
                        .zip(s.data(b).chunks_exact(2))
                        .all(|(x, y)| x[1] == y[1] || self.identical(x[1], y[1], depth - 1));
                }
                _ => return false,
            }
        }
    }

    fn merge_hypot(&mut self) {
        for i in 0..self.s.hypot_list.len() {
            let canon = self.s.hypot_list[i];
            let targ = self.st.hdr[canon as usize].hypot;
            let t = self.resolve(targ);
            let c = self.resolve(canon);
            let (tk, ck) = (self.st.kind(t), self.st.kind(c));
            // A FWD in the canonical graph is the candidate's struct (base FWDs included: split
            // types that point at them then point at the struct).
            if tk != FWD && ck == FWD {
                self.st.hdr[c as usize].map = t;
            }
            if self.s.adjust_canon {
                continue;
            }
            if tk == FWD && ck != FWD {
                self.st.hdr[t as usize].map = c;
            }
            // Structs of the candidate graph not processed yet are already known to be
            // equivalent to a canonical one: map them now (libbpf does so; it decides later
            // checks).
            if matches!(tk, STRUCT | UNION) && ck != FWD && self.mapped(c) && !self.mapped(t) {
                self.st.hdr[t as usize].map = c;
            }
        }
    }

    // ---- phase 4 ----

    fn resolve_fwds(&mut self) {
        // Name → its only canonical struct/union, or 0 when several have it.
        let mut names: HashMap<u32, u32> = HashMap::default();
        for id in 1..self.st.len() {
            if matches!(self.st.kind(id), STRUCT | UNION) && self.st.hdr[id as usize].map == id {
                names
                    .entry(self.st.name(id))
                    .and_modify(|v| *v = 0)
                    .or_insert(id);
            }
        }
        for id in self.s.start..self.st.len() {
            if self.st.kind(id) != FWD || self.st.hdr[id as usize].map != id {
                continue;
            }
            let Some(&c) = names.get(&self.st.name(id)) else {
                continue;
            };
            if c == 0 {
                continue;
            }
            if self.st.kind(c) == fwd_kind(self.st.kflag(id)) {
                self.st.hdr[id as usize].map = c;
            }
        }
    }

    // ---- phase 5 ----

    fn ref_type(&mut self, root: u32) -> Result<(), DedupError> {
        match self.st.hdr[root as usize].map {
            IN_PROGRESS => return Err(DedupError::RefLoop { id: root }),
            m if m <= MAX_ID => return Ok(()),
            _ => {}
        }
        // Buffers reused across roots: most roots are a pointer or two deep.
        let mut bufs = std::mem::take(&mut self.s.ref_bufs);
        bufs.0.clear();
        bufs.1.clear();
        let r = self.ref_walk(root, &mut bufs.0, &mut bufs.1, &mut bufs.2);
        self.s.ref_bufs = bufs;
        r
    }

    /// Phase 5 from one unprocessed root, children first (an explicit stack: chains of
    /// qualifiers and pointers can be longer than a thread's stack allows recursion).
    /// `frames` holds (type, slots of its references, next slot); slots are kept in one vector.
    fn ref_walk(
        &mut self,
        root: u32,
        frames: &mut Vec<(u32, usize, usize, usize)>,
        slots: &mut Vec<usize>,
        tmp: &mut Vec<usize>,
    ) -> Result<(), DedupError> {
        self.st.hdr[root as usize].map = IN_PROGRESS;
        self.st.ref_slots(root, tmp);
        frames.push((root, slots.len(), slots.len() + tmp.len(), slots.len()));
        slots.extend_from_slice(tmp);
        while let Some(&(id, s0, s1, next)) = frames.last() {
            let fi = frames.len() - 1;
            if next < s1 {
                let slot = slots[next];
                let child = self.st.slot(slot);
                match self.st.hdr.get(child as usize).map(|h| h.map) {
                    Some(IN_PROGRESS) => {
                        if self.s.strict {
                            return Err(DedupError::RefLoop { id: child });
                        }
                        // Left as it is: remapping resolves it once the loop is done.
                        frames[fi].3 += 1;
                    }
                    Some(m) if m <= MAX_ID => {
                        frames[fi].3 += 1;
                        let r = self.resolve(child);
                        self.st.set_slot(slot, r);
                    }
                    Some(_) => {
                        if !is_ref_kind(self.st.kind(child)) {
                            // Every other kind was mapped by an earlier phase unless it is one
                            // no phase knows.
                            if self.s.strict {
                                return Err(self.bad(child));
                            }
                            self.st.hdr[child as usize].map = child;
                            continue;
                        }
                        self.st.hdr[child as usize].map = IN_PROGRESS;
                        self.st.ref_slots(child, tmp);
                        let b = slots.len();
                        slots.extend_from_slice(tmp);
                        frames.push((child, b, slots.len(), b));
                    }
                    None => {
                        // A reference past the last type: only a hand-built store has one.
                        if self.s.strict {
                            return Err(DedupError::BadKind { id, kind: 0 });
                        }
                        frames[fi].3 += 1;
                    }
                }
                continue;
            }
            // All references resolved: look for an equal canonical type.
            let kind = self.st.kind(id);
            if !is_ref_kind(kind) {
                // Only reachable for a root of another kind (mapped already) or lenient mode.
                if self.s.strict {
                    return Err(self.bad(id));
                }
                self.st.hdr[id as usize].map = id;
                frames.pop();
                slots.truncate(s0);
                continue;
            }
            let key = match kind {
                DECL_TAG => self.key_int_tag(id),
                ARRAY => self.key_array(id),
                FUNC_PROTO => self.key_fnproto(id),
                _ => self.key_common(id),
            };
            let mut cands = std::mem::take(&mut self.s.cands);
            self.s.table.cands(key, &mut cands);
            let found = cands.iter().copied().find(|&c| match kind {
                DECL_TAG => self.equal_int_tag(id, c),
                ARRAY => self.equal_common(id, c) && self.st.data(id) == self.st.data(c),
                FUNC_PROTO => self.equal_common(id, c) && self.st.data(id) == self.st.data(c),
                _ => self.equal_common(id, c),
            });
            self.s.cands = cands;
            let new = found.unwrap_or(id);
            self.st.hdr[id as usize].map = new;
            if new == id {
                self.s.table.add(key, id);
            }
            frames.pop();
            slots.truncate(s0);
            if let Some(parent) = frames.last_mut() {
                let slot = slots[parent.3];
                parent.3 += 1;
                let r = self.resolve(self.st.slot(slot));
                self.st.set_slot(slot, r);
            }
        }
        Ok(())
    }
}

/// CPU time of the calling thread in ns (0 where /proc does not say), for `BTFENC_TIMING`: the
/// machines this runs on are shared, so wall time alone says little.
pub(crate) fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Kinds deduplicated in phase 5.
fn is_ref_kind(k: u8) -> bool {
    matches!(
        k,
        CONST | VOLATILE | RESTRICT | PTR | FUNC | TYPE_TAG | DECL_TAG | ARRAY | FUNC_PROTO
    )
}

/// The struct/union kind a FWD declares.
fn fwd_kind(kflag: bool) -> u8 {
    if kflag {
        UNION
    } else {
        STRUCT
    }
}

/// Deduplicates a standalone or split BTF as libbpf's `btf__dedup` (of the given [`Flavor`])
/// does: the base (if any) is taken as deduplicated and never changes; the result has the same
/// base. Fails where libbpf fails (a loop of reference types, a type of a kind that cannot be
/// where it is, e.g. a struct member that is a VAR).
pub fn dedup_btf_flavor(btf: &Btf, flavor: Flavor) -> Result<Btf, DedupError> {
    let start = btf.first_id().0;
    dedup_with(btf, |st| Dedup::run(st, start, true, flavor))
}

/// [`dedup_btf_flavor`] (or its lenient variant, which leaves what it cannot deduplicate as it
/// is, as the encoder's graph does) done the way the encoder does it: phases 2 and 3 unit by
/// unit through [`Incremental`], where unit `k` is ids `units[k]..units[k + 1]` (the last to the
/// end) and no unit refers into another; with no units, over the whole graph at once. Also
/// says why the incremental run was given up, if it was. For tests: the result must be the
/// whole-graph run's. `btf` has no base.
#[doc(hidden)]
pub fn dedup_btf_units(
    btf: &Btf,
    flavor: Flavor,
    strict: bool,
    units: &[u32],
) -> Result<(Btf, Option<&'static str>), DedupError> {
    if btf.first_id().0 != 1 {
        return Ok((dedup_btf_flavor(btf, flavor)?, Some("a base")));
    }
    if units.is_empty() {
        return Ok((dedup_with(btf, |st| Dedup::run(st, 1, strict, flavor))?, None));
    }
    let mut why = None;
    let out = dedup_with(btf, |st| {
        let all = std::mem::replace(st, Store::new());
        let mut inc = Incremental::new(flavor, strict);
        let ends = units.iter().skip(1).copied().chain([all.len()]);
        let mut from = 1;
        for end in ends {
            st.copy_from(&all, from, end);
            from = end.max(from);
            inc.advance(st);
        }
        st.copy_from(&all, from, all.len());
        why = inc.given_up();
        inc.finish(st)
    })?;
    Ok((out, why))
}

/// Builds the store of `btf`, deduplicates it with `run` and writes the canonical types.
fn dedup_with(
    btf: &Btf,
    run: impl for<'s> FnOnce(&'s mut Store) -> Result<Dedup<'s>, DedupError>,
) -> Result<Btf, DedupError> {
    let start = btf.first_id().0;
    let count = btf.type_count();
    let mut strings = Strings::new();
    let mut st = Store::new();
    st.reserve(count as usize, count as usize * 6);
    for id in 1..count {
        let Some(t) = btf.type_by_id(TypeId(id)) else {
            return Err(DedupError::BadKind { id, kind: 0 });
        };
        st.push(t, |s| strings.intern(btf.str(s)), |r| r.0);
    }
    let mut d = run(&mut st)?;
    // Compaction: canonical new types keep their order and get consecutive ids.
    let mut new_id = vec![u32::MAX; count as usize];
    let mut next = start;
    for id in start..count {
        if d.is_canonical(id) {
            new_id[id as usize] = next;
            next += 1;
        }
    }
    let mut remap = vec![0u32; count as usize];
    for id in 0..count {
        let c = d.canonical(id);
        remap[id as usize] = if c < start { c } else { new_id[c as usize] };
    }
    if let Some(id) = d.s.cycle {
        return Err(DedupError::MapCycle { id });
    }
    if let Some(id) = remap.iter().position(|&r| r == u32::MAX) {
        // A type left unprocessed: cannot happen after a successful run, but never index past.
        return Err(DedupError::BadKind {
            id: id as u32,
            kind: 0,
        });
    }
    let mut out = Btf::new(btf.base().cloned());
    out.set_endian(btf.endian());
    let store = d.store();
    let mut types = Vec::with_capacity((next - start) as usize);
    for id in start..count {
        if new_id[id as usize] == u32::MAX {
            continue;
        }
        let t = store.get(
            id,
            |s| out.add_str(strings.get(s)),
            |r| TypeId(remap.get(r as usize).copied().unwrap_or(r)),
        );
        types.push(t);
    }
    out.set_types(types);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libbpf's chained hash map as it is written (buckets of prepended entries, growth at 75%
    /// that re-links every chain bucket by bucket), to check [`Table`]'s shortcut against.
    struct Chained {
        buckets: Vec<Vec<(u64, u32)>>,
        bits: u32,
        sz: usize,
    }

    impl Chained {
        fn bucket(key: u64, bits: u32) -> usize {
            if bits == 0 {
                0
            } else {
                (key.wrapping_mul(11400714819323198485) >> (64 - bits)) as usize
            }
        }
        fn add(&mut self, key: u64, v: u32) {
            let cap = self.buckets.len();
            if cap == 0 || (self.sz + 1) * 4 / 3 > cap {
                let bits = (self.bits + 1).max(2);
                let mut nb: Vec<Vec<(u64, u32)>> = vec![Vec::new(); 1 << bits];
                for b in &self.buckets {
                    for &e in b {
                        nb[Self::bucket(e.0, bits)].insert(0, e);
                    }
                }
                self.buckets = nb;
                self.bits = bits;
            }
            self.buckets[Self::bucket(key, self.bits)].insert(0, (key, v));
            self.sz += 1;
        }
        fn get(&self, key: u64) -> Vec<u32> {
            if self.buckets.is_empty() {
                return Vec::new();
            }
            self.buckets[Self::bucket(key, self.bits)]
                .iter()
                .filter(|e| e.0 == key)
                .map(|e| e.1)
                .collect()
        }
    }

    #[test]
    fn table_order_is_libbpf_order() {
        let mut t = Table::default();
        let mut c = Chained {
            buckets: Vec::new(),
            bits: 0,
            sz: 0,
        };
        // Few keys, many entries each, interleaved across many growths.
        let mut x = 12345u64;
        let mut out = Vec::new();
        for v in 0..5000u32 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = (x >> 33) % 7;
            t.add(key, v);
            c.add(key, v);
            if v % 97 == 0 {
                for k in 0..7 {
                    t.cands(k, &mut out);
                    assert_eq!(out, c.get(k), "key {k} after {v} entries");
                }
            }
        }
        for k in 0..7 {
            t.cands(k, &mut out);
            assert_eq!(out, c.get(k));
            assert!(out.len() > 100);
        }
    }

    #[test]
    fn fwd_resolves_into_struct_of_another_unit() {
        // Unit 1: struct s { struct t *p; }, struct t; unit 2: struct s { struct t *p; } with
        // struct t only declared. Everything folds into unit 1's types.
        let mut b = Btf::new(None);
        let (s, t, p) = (b.add_str("s"), b.add_str("t"), b.add_str("p"));
        let int = b.add_str("int");
        let ty = |b: &mut Btf, name, data| b.add_type(Type { name, data });
        let i1 = ty(
            &mut b,
            int,
            TypeData::Int(Int {
                size: 4,
                encoding: IntEncoding::SIGNED,
                bit_offset: 0,
                bits: 32,
            }),
        );
        let comp = |m: Vec<Member>| Composite {
            size: 8,
            bitfield_encoding: false,
            members: m,
        };
        let t1 = ty(
            &mut b,
            t,
            TypeData::Struct(comp(vec![Member {
                name: p,
                ty: i1,
                bit_offset: 0,
                bitfield_size: 0,
            }])),
        );
        let p1 = ty(&mut b, StrRef::EMPTY, TypeData::Ptr(t1));
        ty(
            &mut b,
            s,
            TypeData::Struct(comp(vec![Member {
                name: p,
                ty: p1,
                bit_offset: 0,
                bitfield_size: 0,
            }])),
        );
        let f2 = ty(&mut b, t, TypeData::Fwd(Fwd { union: false }));
        let p2 = ty(&mut b, StrRef::EMPTY, TypeData::Ptr(f2));
        ty(
            &mut b,
            s,
            TypeData::Struct(comp(vec![Member {
                name: p,
                ty: p2,
                bit_offset: 0,
                bitfield_size: 0,
            }])),
        );
        let out = dedup_btf_flavor(&b, Flavor::Upstream).unwrap();
        assert_eq!(
            btf::dump::dump_to_string(&out),
            "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n\
             [2] STRUCT 't' size=8 vlen=1\n\t'p' type_id=1 bits_offset=0\n\
             [3] PTR '(anon)' type_id=2\n\
             [4] STRUCT 's' size=8 vlen=1\n\t'p' type_id=3 bits_offset=0\n"
        );
    }
}
