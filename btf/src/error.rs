//! Errors, one enum per direction.

use crate::raw::Kind;
use crate::types::TypeId;

/// Why a blob could not be read as BTF. Every variant says what was wrong and where.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer bytes than the structure being read needs.
    #[error("truncated {what} at offset {offset:#x}: need {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Offset of the structure in the blob.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes left.
        have: usize,
    },
    /// The magic is not 0xeb9f in either byte order.
    #[error("bad BTF magic: {found:#06x}")]
    BadMagic {
        /// The first two bytes, little-endian.
        found: u16,
    },
    /// Version other than 1.
    #[error("unsupported BTF version: {0}")]
    UnsupportedVersion(u8),
    /// Non-zero header flags.
    #[error("unsupported BTF header flags: {0:#x}")]
    UnsupportedFlags(u8),
    /// Header fields that do not describe a layout inside the blob.
    #[error("bad BTF header: {field} = {value:#x} ({problem})")]
    BadHeader {
        /// The header field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The string section does not start (base BTF) or end with a NUL byte.
    #[error("bad BTF string section: {problem}")]
    BadStringSection {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A kind code this crate does not know.
    #[error("unknown BTF kind {} at {id} (offset {offset:#x})", kind.0)]
    UnknownKind {
        /// The code.
        kind: Kind,
        /// Id of the record.
        id: TypeId,
        /// Offset of the record in the type section.
        offset: usize,
    },
    /// Bits set in `info` (or in an INT's data word) that this kind does not use.
    #[error("reserved bits set in {kind} record {id} (offset {offset:#x}): info {info:#010x}")]
    ReservedBits {
        /// Kind of the record.
        kind: Kind,
        /// Id of the record.
        id: TypeId,
        /// Offset of the record in the type section.
        offset: usize,
        /// The word with the stray bits.
        info: u32,
    },
    /// A name offset past the end of the string section.
    #[error("name offset {name_off:#x} of {id} is outside the string section (length {len:#x})")]
    NameOutOfRange {
        /// The record (or the record owning the member/param/enumerator).
        id: TypeId,
        /// The offset.
        name_off: u32,
        /// Total string section length (base + split).
        len: u32,
    },
    /// A name that is not UTF-8.
    #[error("name at offset {name_off:#x} of {id} is not UTF-8")]
    NameNotUtf8 {
        /// The record.
        id: TypeId,
        /// The offset.
        name_off: u32,
    },
    /// A reference to a type id that does not exist.
    #[error("{id} refers to type id {target}, but the last id is {last}")]
    TypeIdOutOfRange {
        /// The referring record.
        id: TypeId,
        /// The missing id.
        target: u32,
        /// The highest valid id.
        last: u32,
    },
    /// A record that must refer to a particular kind refers to another one.
    #[error("{id} ({kind}) must refer to a {expected}, but {target} is a {found}")]
    WrongReferencedKind {
        /// The referring record.
        id: TypeId,
        /// Its kind.
        kind: Kind,
        /// What it must refer to.
        expected: Kind,
        /// What it refers to.
        target: TypeId,
        /// That type's kind.
        found: Kind,
    },
    /// A chain of references that loops back on itself without passing through a struct or union.
    #[error("reference cycle through {id}")]
    Cycle {
        /// A type on the cycle.
        id: TypeId,
    },
    /// The ELF file could not be read.
    #[error("cannot read ELF: {0}")]
    Elf(String),
    /// The ELF file has no `.BTF` section.
    #[error("no .BTF section in ELF file")]
    NoBtfSection,
    /// A split blob whose base is in the other byte order.
    #[error("split BTF is {split:?}-endian but its base is {base:?}-endian")]
    EndianMismatch {
        /// Byte order of the split blob.
        split: crate::Endian,
        /// Byte order of the base.
        base: crate::Endian,
    },
}

/// Why a [`crate::Btf`] could not be written.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// More members / params / values than `vlen` can hold.
    #[error("{id} has {count} entries; vlen holds at most 65535")]
    TooManyEntries {
        /// The record.
        id: TypeId,
        /// How many it has.
        count: usize,
    },
    /// A bitfield member in a composite written without `kind_flag`, or a bit offset that the
    /// `kind_flag` encoding cannot hold.
    #[error("member {index} of {id} cannot be encoded: bit offset {bit_offset}, bitfield size {bitfield_size}, kind_flag {kind_flag}")]
    BadMember {
        /// The composite.
        id: TypeId,
        /// Member index.
        index: usize,
        /// Its bit offset.
        bit_offset: u32,
        /// Its bitfield size.
        bitfield_size: u8,
        /// The composite's `kind_flag`.
        kind_flag: bool,
    },
    /// An INT whose encoding, offset or bit count does not fit its bit field.
    #[error("{id} is an INT with encoding {encoding:#x}, which does not fit 4 bits")]
    BadIntEncoding {
        /// The record.
        id: TypeId,
        /// The encoding.
        encoding: u8,
    },
    /// A `void` record in the type list (only id 0 is void).
    #[error("{id} is void; only id 0 may be")]
    VoidRecord {
        /// The record.
        id: TypeId,
    },
    /// A blob larger than the header's 32-bit lengths.
    #[error("{section} section is {len} bytes, more than a BTF header can describe")]
    TooLarge {
        /// Which section.
        section: &'static str,
        /// Its length.
        len: usize,
    },
}
