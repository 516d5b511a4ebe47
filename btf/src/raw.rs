//! The on-disk layout: header, kind codes, record sizes and the bit fields of `info`.
//!
//! Everything here is about bytes; the semantic model lives in [`crate::types`].

use std::fmt;

/// The BTF magic number as it reads in the file's own byte order.
pub const MAGIC: u16 = 0xeb9f;
/// The only BTF version there is.
pub const VERSION: u8 = 1;
/// Size of the header this crate writes (and the minimum it reads).
pub const HEADER_LEN: u32 = 24;
/// Size of the common part of every type record (`name_off`, `info`, `size`/`type`).
pub const TYPE_RECORD_LEN: usize = 12;

/// Byte order of a BTF blob, decided by how its magic reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Little-endian (x86-64, arm64, ...).
    Little,
    /// Big-endian (s390x, ...).
    Big,
}

impl Endian {
    /// Reads a `u16` at the start of `b`, which must hold two bytes.
    pub(crate) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }
    /// Reads a `u32`.
    pub(crate) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
    /// Encodes a `u16`.
    pub(crate) fn put_u16(self, out: &mut Vec<u8>, v: u16) {
        match self {
            Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
    /// Encodes a `u32`.
    pub(crate) fn put_u32(self, out: &mut Vec<u8>, v: u32) {
        match self {
            Endian::Little => out.extend_from_slice(&v.to_le_bytes()),
            Endian::Big => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
}

/// A BTF kind code. Open: a code from a newer kernel is representable, and parsing reports it as
/// [`crate::ParseError::UnknownKind`] instead of panicking.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind(pub u8);

macro_rules! kinds {
    ($($name:ident = $val:expr, $text:expr;)*) => {
        impl Kind {
            $(#[doc = concat!("`BTF_KIND_", $text, "`")] pub const $name: Kind = Kind($val);)*
            /// The name bpftool prints for this kind (`STRUCT`, `FUNC_PROTO`, ...), or `None` for
            /// a code this crate does not know.
            pub fn static_string(self) -> Option<&'static str> {
                match self { $(Kind::$name => Some($text),)* _ => None }
            }
        }
    };
}

kinds! {
    UNKN = 0, "UNKNOWN";
    INT = 1, "INT";
    PTR = 2, "PTR";
    ARRAY = 3, "ARRAY";
    STRUCT = 4, "STRUCT";
    UNION = 5, "UNION";
    ENUM = 6, "ENUM";
    FWD = 7, "FWD";
    TYPEDEF = 8, "TYPEDEF";
    VOLATILE = 9, "VOLATILE";
    CONST = 10, "CONST";
    RESTRICT = 11, "RESTRICT";
    FUNC = 12, "FUNC";
    FUNC_PROTO = 13, "FUNC_PROTO";
    VAR = 14, "VAR";
    DATASEC = 15, "DATASEC";
    FLOAT = 16, "FLOAT";
    DECL_TAG = 17, "DECL_TAG";
    TYPE_TAG = 18, "TYPE_TAG";
    ENUM64 = 19, "ENUM64";
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.static_string() {
            Some(s) => f.write_str(s),
            None => write!(f, "Kind({})", self.0),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `info` word: bits 0-15 vlen, bits 24-28 kind, bit 31 kind_flag; the rest must be zero.
pub(crate) fn info_vlen(info: u32) -> u16 {
    (info & 0xffff) as u16
}
pub(crate) fn info_kind(info: u32) -> Kind {
    Kind(((info >> 24) & 0x1f) as u8)
}
pub(crate) fn info_kflag(info: u32) -> bool {
    info >> 31 == 1
}
/// Bits of `info` that no kind uses.
pub(crate) const INFO_RESERVED: u32 = 0x60ff_0000;
pub(crate) fn make_info(kind: Kind, vlen: u16, kflag: bool) -> u32 {
    (u32::from(kflag) << 31) | (u32::from(kind.0) << 24) | u32::from(vlen)
}

/// Size in bytes of the kind-specific data that follows the common record.
pub(crate) fn extra_len(kind: Kind, vlen: u16) -> Option<usize> {
    let vlen = usize::from(vlen);
    Some(match kind {
        Kind::INT => 4,
        Kind::ARRAY => 12,
        Kind::STRUCT | Kind::UNION => 12 * vlen,
        Kind::ENUM => 8 * vlen,
        Kind::ENUM64 => 12 * vlen,
        Kind::FUNC_PROTO => 8 * vlen,
        Kind::VAR => 4,
        Kind::DATASEC => 12 * vlen,
        Kind::DECL_TAG => 4,
        Kind::PTR
        | Kind::FWD
        | Kind::TYPEDEF
        | Kind::VOLATILE
        | Kind::CONST
        | Kind::RESTRICT
        | Kind::FUNC
        | Kind::FLOAT
        | Kind::TYPE_TAG => 0,
        _ => return None,
    })
}

/// The BTF header as found in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Byte order of the blob.
    pub endian: Endian,
    /// `flags` byte (always 0 today).
    pub flags: u8,
    /// Header length; 24 for every current producer.
    pub hdr_len: u32,
    /// Offset of the type section, relative to the end of the header.
    pub type_off: u32,
    /// Length of the type section.
    pub type_len: u32,
    /// Offset of the string section, relative to the end of the header.
    pub str_off: u32,
    /// Length of the string section.
    pub str_len: u32,
}
