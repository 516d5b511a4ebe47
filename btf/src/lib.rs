//! The BTF format, and nothing else: no DWARF, no harness.
//!
//! - [`Btf::parse`] reads raw BTF, [`Btf::parse_elf`] the `.BTF` section of an ELF file,
//!   [`Btf::parse_file_bytes`] either, as bpftool does; each takes an optional base for split BTF.
//! - [`Btf::to_bytes`] writes it back (byte for byte what was read, for every producer we test).
//! - [`dump`] prints the text of `bpftool btf dump file`, [`render`] renders C declarations and
//!   prototypes, [`canon`] gives an id-free, order-independent form for comparing two encoders.
//!
//! ```
//! use btf::{Btf, TypeData, types::{Int, IntEncoding, Type}};
//! let mut b = Btf::new(None);
//! let name = b.add_str("int");
//! let int = b.add_type(Type {
//!     name,
//!     data: TypeData::Int(Int { size: 4, encoding: IntEncoding::SIGNED, bit_offset: 0, bits: 32 }),
//! });
//! let bytes = b.to_bytes().unwrap();
//! let again = Btf::parse(&bytes, None).unwrap();
//! assert_eq!(again.type_by_id(int).unwrap().data, b.type_by_id(int).unwrap().data);
//! assert_eq!(btf::dump::dump_to_string(&again), "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n");
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

pub mod canon;
pub mod dump;
mod error;
pub mod raw;
mod read;
pub mod render;
pub mod types;
mod write;

pub use error::{ParseError, WriteError};
pub use raw::{Endian, Kind};
pub use types::{StrRef, Type, TypeData, TypeId};

use std::collections::HashMap;
use std::sync::Arc;

/// A parsed or built BTF blob: its own types and strings, and the base it extends, if split.
#[derive(Debug, Clone)]
pub struct Btf {
    base: Option<Arc<Btf>>,
    endian: Endian,
    /// Id of `types[0]`: 1 for a base blob, the base's type count for a split one.
    first_id: u32,
    /// Offset of `strings[0]` in the combined string space (the base's total length, or 0).
    str_base: u32,
    types: Vec<Type>,
    strings: Vec<u8>,
    /// Dedup index for [`Btf::add_str`], built on first use.
    str_index: Option<HashMap<Box<str>, u32>>,
    /// Read-only lookup index used when this blob is another's base (built once, dropped when a
    /// string is added).
    lookup: std::sync::OnceLock<HashMap<Box<str>, u32>>,
}

/// Sentinel returned by [`Btf::str`] for an offset with no string, as bpftool prints it.
pub const INVALID_NAME: &str = "(invalid)";

impl Btf {
    /// An empty blob (just the empty string), little-endian, optionally split over `base`.
    pub fn new(base: Option<Arc<Btf>>) -> Btf {
        let (first_id, str_base, endian) = match &base {
            Some(b) => (b.type_count(), b.str_end(), b.endian),
            None => (1, 0, Endian::Little),
        };
        Btf {
            base,
            endian,
            first_id,
            str_base,
            types: Vec::new(),
            // Split string sections start with their own NUL too, as libbpf and pahole write them.
            strings: vec![0],
            str_index: None,
            lookup: std::sync::OnceLock::new(),
        }
    }

    /// The base this blob is split over.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    /// Byte order.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// Sets the byte order used by [`Btf::to_bytes`].
    pub fn set_endian(&mut self, endian: Endian) {
        self.endian = endian;
    }

    /// Number of type ids, including `void` and the base's types (libbpf's `btf__type_cnt`).
    pub fn type_count(&self) -> u32 {
        self.first_id + self.types.len() as u32
    }

    /// The first id this blob defines (1, or the base's type count).
    pub fn first_id(&self) -> TypeId {
        TypeId(self.first_id)
    }

    /// The ids this blob defines (not its base's).
    pub fn own_ids(&self) -> impl ExactSizeIterator<Item = TypeId> + '_ {
        (self.first_id..self.type_count()).map(TypeId)
    }

    /// This blob's own types, in id order starting at [`Btf::first_id`].
    pub fn own_types(&self) -> &[Type] {
        &self.types
    }

    /// The raw string section of this blob (without the base's).
    pub fn own_strings(&self) -> &[u8] {
        &self.strings
    }

    /// Looks up a type by id, in this blob or its base. Id 0 is `void`.
    pub fn type_by_id(&self, id: TypeId) -> Option<&Type> {
        static VOID: Type = Type {
            name: StrRef::EMPTY,
            data: TypeData::Void,
        };
        if id.0 == 0 {
            return Some(&VOID);
        }
        if id.0 < self.first_id {
            return self.base.as_ref()?.type_by_id(id);
        }
        self.types.get((id.0 - self.first_id) as usize)
    }

    /// End of the combined string space (base + own).
    fn str_end(&self) -> u32 {
        self.str_base + self.strings.len() as u32
    }

    /// Resolves a name. Returns [`INVALID_NAME`] for an offset with no string, which only a blob
    /// built by hand can hold: parsing checks every name.
    pub fn str(&self, name: StrRef) -> &str {
        self.try_str(name).unwrap_or(INVALID_NAME)
    }

    /// Resolves a name, or `None` when the offset is outside the string space or not UTF-8.
    pub fn try_str(&self, name: StrRef) -> Option<&str> {
        if name.0 < self.str_base {
            return self.base.as_ref()?.try_str(name);
        }
        let start = (name.0 - self.str_base) as usize;
        let rest = self.strings.get(start..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&rest[..end]).ok()
    }

    /// Adds a string (or finds it, in this blob or its base) and returns its reference.
    pub fn add_str(&mut self, s: &str) -> StrRef {
        if s.is_empty() {
            return StrRef::EMPTY;
        }
        if let Some(off) = self.base.as_ref().and_then(|b| b.find_str(s)) {
            return off;
        }
        if self.str_index.is_none() {
            self.str_index = Some(self.build_str_index());
        }
        let index = self.str_index.as_mut().expect("built above");
        if let Some(&off) = index.get(s) {
            return StrRef(off);
        }
        let off = self.str_base + self.strings.len() as u32;
        self.lookup = std::sync::OnceLock::new();
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        index.insert(s.into(), off);
        StrRef(off)
    }

    /// Finds a string already in this blob or its base.
    fn find_str(&self, s: &str) -> Option<StrRef> {
        if let Some(found) = self.base.as_ref().and_then(|b| b.find_str(s)) {
            return Some(found);
        }
        match &self.str_index {
            Some(index) => index.get(s).map(|&o| StrRef(o)),
            // A base is shared and immutable: index it once, not on every lookup.
            None => self.lookup.get_or_init(|| self.build_str_index()).get(s).map(|&o| StrRef(o)),
        }
    }

    fn build_str_index(&self) -> HashMap<Box<str>, u32> {
        let mut index = HashMap::new();
        let mut start = 0usize;
        for (i, &b) in self.strings.iter().enumerate() {
            if b == 0 {
                if let Ok(s) = std::str::from_utf8(&self.strings[start..i]) {
                    if !s.is_empty() {
                        index
                            .entry(s.into())
                            .or_insert(self.str_base + start as u32);
                    }
                }
                start = i + 1;
            }
        }
        index
    }

    /// Appends a type and returns its id. The caller keeps references consistent; [`Btf::parse`]
    /// of the written bytes checks them.
    pub fn add_type(&mut self, ty: Type) -> TypeId {
        let id = TypeId(self.type_count());
        self.types.push(ty);
        id
    }

    /// Replaces this blob's own types (ids from [`Btf::first_id`] on). Strings are kept.
    pub fn set_types(&mut self, types: Vec<Type>) {
        self.types = types;
    }

    /// Appends every type of `other` (a base blob) to this one, renumbered after this blob's
    /// types, with their names re-added here. Returns the id `other`'s id 1 became. This is how
    /// per-object BTF (gcc `-gbtf`) becomes one blob: no deduplication, so each object's types
    /// stay its own.
    pub fn append(&mut self, other: &Btf) -> TypeId {
        let offset = self.type_count() - 1;
        let first = TypeId(self.type_count());
        for ty in other.own_types() {
            let mut ty = self.with_names_from(other, ty);
            ty.data.map_refs(|t| if t == TypeId::VOID { t } else { TypeId(t.0 + offset) });
            self.types.push(ty);
        }
        first
    }

    /// A copy of `ty` (a type of `other`) whose own and entry names are strings of this blob.
    fn with_names_from(&mut self, other: &Btf, ty: &Type) -> Type {
        let mut ty = ty.clone();
        ty.name = self.add_str(other.str(ty.name));
        let mut names = Vec::new();
        ty.data.map_entry_names(|n| {
            names.push(n);
            n
        });
        let mapped: Vec<StrRef> = names.iter().map(|n| self.add_str(other.str(*n))).collect();
        let mut it = mapped.into_iter();
        ty.data.map_entry_names(|n| it.next().unwrap_or(n));
        ty
    }

    /// One standalone blob holding the base's types and then this blob's, with the same ids: what
    /// the kernel sees once it has loaded a module's split BTF over vmlinux. (`BPF_BTF_LOAD` takes
    /// no base, so this is how a split blob is checked by a kernel from userspace.) A blob without
    /// a base is returned as is.
    pub fn flatten_split(&self) -> Btf {
        let Some(base) = &self.base else {
            return self.clone();
        };
        let mut out = base.flatten_split();
        out.set_endian(self.endian);
        debug_assert_eq!(out.type_count(), self.first_id);
        for ty in &self.types {
            let ty = out.with_names_from(self, ty);
            out.types.push(ty);
        }
        out
    }

    /// The name of a type, or `""` for anonymous types and `void`.
    pub fn type_name(&self, id: TypeId) -> &str {
        self.type_by_id(id).map_or(INVALID_NAME, |t| self.str(t.name))
    }
}
