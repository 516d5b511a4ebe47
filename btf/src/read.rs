//! Parsing: header, type section, string section, then whole-blob checks (names, ids, cycles).

use crate::error::ParseError;
use crate::raw::{self, Endian, Header, Kind};
use crate::types::*;
use crate::Btf;
use std::sync::Arc;

/// A bounds-checked little cursor over the type section.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    endian: Endian,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        let have = self.data.len() - self.pos;
        if have < n {
            return Err(ParseError::Truncated {
                what,
                offset: self.pos,
                need: n,
                have,
            });
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(4, what)?;
        Ok(self.endian.u32([b[0], b[1], b[2], b[3]]))
    }
}

impl Btf {
    /// Parses raw BTF. With `base`, the blob is split BTF: its ids and string offsets continue
    /// after the base's.
    pub fn parse(data: &[u8], base: Option<Arc<Btf>>) -> Result<Btf, ParseError> {
        let header = parse_header(data)?;
        if let Some(b) = &base {
            if b.endian != header.endian {
                return Err(ParseError::EndianMismatch {
                    split: header.endian,
                    base: b.endian,
                });
            }
        }
        let body = &data[header.hdr_len as usize..];
        let types_bytes =
            &body[header.type_off as usize..(header.type_off + header.type_len) as usize];
        let strings =
            &body[header.str_off as usize..header.str_off as usize + header.str_len as usize];
        check_strings(strings, base.is_some())?;
        let mut btf = Btf::new(base);
        btf.endian = header.endian;
        btf.strings = strings.to_vec();
        btf.types = parse_types(types_bytes, header.endian, btf.first_id)?;
        btf.validate()?;
        Ok(btf)
    }

    /// Parses the `.BTF` section of an ELF file (object, module or vmlinux).
    pub fn parse_elf(data: &[u8], base: Option<Arc<Btf>>) -> Result<Btf, ParseError> {
        use object::{Object, ObjectSection};
        let file = object::File::parse(data).map_err(|e| ParseError::Elf(e.to_string()))?;
        let section = file
            .section_by_name(".BTF")
            .ok_or(ParseError::NoBtfSection)?;
        let bytes = section
            .uncompressed_data()
            .map_err(|e| ParseError::Elf(format!(".BTF section: {e}")))?;
        Btf::parse(&bytes, base)
    }

    /// Parses a file's bytes as bpftool does: raw BTF when it starts with the magic, else ELF.
    pub fn parse_file_bytes(data: &[u8], base: Option<Arc<Btf>>) -> Result<Btf, ParseError> {
        if is_raw_btf(data) {
            Btf::parse(data, base)
        } else {
            Btf::parse_elf(data, base)
        }
    }

    /// Whole-blob checks that make every later lookup infallible: names resolve, referenced ids
    /// exist, FUNCs point at FUNC_PROTOs, and no reference chain loops outside a struct/union.
    /// [`Btf::parse`] runs it; a writer of BTF built in memory runs it before handing the blob to
    /// a kernel (which rejects such a loop).
    pub fn validate(&self) -> Result<(), ParseError> {
        let last = self.type_count() - 1;
        let str_len = self.str_end();
        for (id, ty) in self.own_ids().zip(&self.types) {
            let check_name = |name: StrRef| -> Result<(), ParseError> {
                if name.0 >= str_len {
                    return Err(ParseError::NameOutOfRange {
                        id,
                        name_off: name.0,
                        len: str_len,
                    });
                }
                if self.try_str(name).is_none() {
                    return Err(ParseError::NameNotUtf8 {
                        id,
                        name_off: name.0,
                    });
                }
                Ok(())
            };
            check_name(ty.name)?;
            match &ty.data {
                TypeData::Struct(c) | TypeData::Union(c) => {
                    c.members.iter().try_for_each(|m| check_name(m.name))?
                }
                TypeData::Enum(e) => e.values.iter().try_for_each(|v| check_name(v.name))?,
                TypeData::Enum64(e) => e.values.iter().try_for_each(|v| check_name(v.name))?,
                TypeData::FuncProto(p) => p.params.iter().try_for_each(|p| check_name(p.name))?,
                _ => {}
            }
            let mut bad = None;
            ty.data.for_each_ref(|t| {
                if t.0 > last && bad.is_none() {
                    bad = Some(t.0);
                }
            });
            if let Some(target) = bad {
                return Err(ParseError::TypeIdOutOfRange { id, target, last });
            }
            if let TypeData::Func(f) = &ty.data {
                let found = self.type_by_id(f.proto).map_or(Kind::UNKN, |t| t.data.kind());
                if found != Kind::FUNC_PROTO {
                    return Err(ParseError::WrongReferencedKind {
                        id,
                        kind: Kind::FUNC,
                        expected: Kind::FUNC_PROTO,
                        target: f.proto,
                        found,
                    });
                }
            }
        }
        self.check_cycles()
    }

    /// Depth-first search over every reference except struct/union members (which is where C
    /// allows recursion: `struct list { struct list *next; }`). The base was checked when it was
    /// parsed, so only this blob's own types are walked.
    fn check_cycles(&self) -> Result<(), ParseError> {
        const UNSEEN: u8 = 0;
        const ON_STACK: u8 = 1;
        const DONE: u8 = 2;
        let first = self.first_id;
        let mut state = vec![UNSEEN; self.types.len()];
        let mut stack: Vec<(u32, Vec<u32>)> = Vec::new();
        let refs_of = |id: u32| -> Vec<u32> {
            let mut out = Vec::new();
            let data = &self.types[(id - first) as usize].data;
            if !matches!(data, TypeData::Struct(_) | TypeData::Union(_)) {
                data.for_each_ref(|t| {
                    if t.0 >= first {
                        out.push(t.0)
                    }
                });
            }
            out
        };
        for start in first..self.type_count() {
            if state[(start - first) as usize] != UNSEEN {
                continue;
            }
            state[(start - first) as usize] = ON_STACK;
            stack.push((start, refs_of(start)));
            while let Some((node, pending)) = stack.last_mut() {
                match pending.pop() {
                    Some(next) => match state[(next - first) as usize] {
                        UNSEEN => {
                            state[(next - first) as usize] = ON_STACK;
                            let r = refs_of(next);
                            stack.push((next, r));
                        }
                        ON_STACK => return Err(ParseError::Cycle { id: TypeId(next) }),
                        _ => {}
                    },
                    None => {
                        state[(*node - first) as usize] = DONE;
                        stack.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

/// True when `data` starts with the BTF magic in either byte order.
pub(crate) fn is_raw_btf(data: &[u8]) -> bool {
    data.len() >= 2 && matches!([data[0], data[1]], [0x9f, 0xeb] | [0xeb, 0x9f])
}

fn parse_header(data: &[u8]) -> Result<Header, ParseError> {
    let need = raw::HEADER_LEN as usize;
    if data.len() < need {
        return Err(ParseError::Truncated {
            what: "header",
            offset: 0,
            need,
            have: data.len(),
        });
    }
    let endian = match [data[0], data[1]] {
        [0x9f, 0xeb] => Endian::Little,
        [0xeb, 0x9f] => Endian::Big,
        b => {
            return Err(ParseError::BadMagic {
                found: u16::from_le_bytes(b),
            })
        }
    };
    let word = |at: usize| endian.u32([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    debug_assert_eq!(endian.u16([data[0], data[1]]), raw::MAGIC);
    let h = Header {
        endian,
        flags: data[3],
        hdr_len: word(4),
        type_off: word(8),
        type_len: word(12),
        str_off: word(16),
        str_len: word(20),
    };
    if data[2] != raw::VERSION {
        return Err(ParseError::UnsupportedVersion(data[2]));
    }
    if h.flags != 0 {
        return Err(ParseError::UnsupportedFlags(h.flags));
    }
    let bad = |field, value: u32, problem| ParseError::BadHeader {
        field,
        value: value.into(),
        problem,
    };
    if h.hdr_len < raw::HEADER_LEN {
        return Err(bad("hdr_len", h.hdr_len, "shorter than the 24-byte header"));
    }
    if h.hdr_len as usize > data.len() {
        return Err(bad("hdr_len", h.hdr_len, "past the end of the data"));
    }
    let body = (data.len() - h.hdr_len as usize) as u64;
    if !h.type_off.is_multiple_of(4) {
        return Err(bad("type_off", h.type_off, "not 4-byte aligned"));
    }
    if u64::from(h.type_off) + u64::from(h.type_len) > body {
        return Err(bad("type_len", h.type_len, "type section past the end of the data"));
    }
    if u64::from(h.str_off) + u64::from(h.str_len) > body {
        return Err(bad("str_len", h.str_len, "string section past the end of the data"));
    }
    if u64::from(h.type_off) + u64::from(h.type_len) > u64::from(h.str_off) {
        return Err(bad("str_off", h.str_off, "overlaps the type section"));
    }
    Ok(h)
}

fn check_strings(strings: &[u8], split: bool) -> Result<(), ParseError> {
    if split && strings.is_empty() {
        return Ok(());
    }
    match (strings.first(), strings.last()) {
        (None, _) => Err(ParseError::BadStringSection { problem: "empty" }),
        (Some(&first), _) if first != 0 && !split => Err(ParseError::BadStringSection {
            problem: "does not start with a NUL byte",
        }),
        (_, Some(&last)) if last != 0 => Err(ParseError::BadStringSection {
            problem: "does not end with a NUL byte",
        }),
        _ => Ok(()),
    }
}

fn parse_types(data: &[u8], endian: Endian, first_id: u32) -> Result<Vec<Type>, ParseError> {
    let mut cur = Cursor {
        data,
        pos: 0,
        endian,
    };
    // A record is at least 12 bytes: a cheap upper bound for the allocation.
    let mut types = Vec::with_capacity(data.len() / raw::TYPE_RECORD_LEN);
    while cur.pos < data.len() {
        let id = TypeId(first_id + types.len() as u32);
        types.push(parse_one(&mut cur, id)?);
    }
    Ok(types)
}

fn parse_one(cur: &mut Cursor<'_>, id: TypeId) -> Result<Type, ParseError> {
    let offset = cur.pos;
    let name = StrRef(cur.u32("type record")?);
    let info = cur.u32("type record")?;
    let size_or_type = cur.u32("type record")?;
    let kind = raw::info_kind(info);
    let vlen = raw::info_vlen(info);
    let kflag = raw::info_kflag(info);
    let extra = raw::extra_len(kind, vlen).ok_or(ParseError::UnknownKind { kind, id, offset })?;
    let reserved = ParseError::ReservedBits {
        kind,
        id,
        offset,
        info,
    };
    if info & raw::INFO_RESERVED != 0 {
        return Err(reserved);
    }
    let have = cur.data.len() - cur.pos;
    if have < extra {
        return Err(ParseError::Truncated {
            what: "type data",
            offset: cur.pos,
            need: extra,
            have,
        });
    }
    // Kinds without entries must have vlen 0; kinds without a flag must have kind_flag 0.
    let uses_vlen = matches!(
        kind,
        Kind::STRUCT | Kind::UNION | Kind::ENUM | Kind::ENUM64 | Kind::FUNC_PROTO | Kind::DATASEC | Kind::FUNC
    );
    let uses_kflag = matches!(
        kind,
        Kind::STRUCT
            | Kind::UNION
            | Kind::ENUM
            | Kind::ENUM64
            | Kind::FWD
            | Kind::DECL_TAG
            | Kind::TYPE_TAG
    );
    if (!uses_vlen && vlen != 0) || (!uses_kflag && kflag) {
        return Err(reserved);
    }
    let t = TypeId(size_or_type);
    let n = usize::from(vlen);
    let data = match kind {
        Kind::INT => {
            let v = cur.u32("INT data")?;
            if v & 0xf000_ff00 != 0 {
                return Err(ParseError::ReservedBits {
                    kind,
                    id,
                    offset,
                    info: v,
                });
            }
            TypeData::Int(Int {
                size: size_or_type,
                encoding: IntEncoding(((v >> 24) & 0xf) as u8),
                bit_offset: ((v >> 16) & 0xff) as u8,
                bits: (v & 0xff) as u8,
            })
        }
        Kind::PTR => TypeData::Ptr(t),
        Kind::TYPEDEF => TypeData::Typedef(t),
        Kind::VOLATILE => TypeData::Volatile(t),
        Kind::CONST => TypeData::Const(t),
        Kind::RESTRICT => TypeData::Restrict(t),
        Kind::TYPE_TAG => TypeData::TypeTag(TypeTag {
            ty: t,
            attribute: kflag,
        }),
        Kind::FUNC => TypeData::Func(Func {
            proto: t,
            linkage: FuncLinkage(vlen),
        }),
        Kind::FLOAT => TypeData::Float(Float { size: size_or_type }),
        Kind::FWD => TypeData::Fwd(Fwd { union: kflag }),
        Kind::ARRAY => TypeData::Array(Array {
            elem: TypeId(cur.u32("ARRAY data")?),
            index: TypeId(cur.u32("ARRAY data")?),
            len: cur.u32("ARRAY data")?,
        }),
        Kind::STRUCT | Kind::UNION => {
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                let name = StrRef(cur.u32("member")?);
                let ty = TypeId(cur.u32("member")?);
                let off = cur.u32("member")?;
                let (bit_offset, bitfield_size) = if kflag {
                    (off & 0x00ff_ffff, (off >> 24) as u8)
                } else {
                    (off, 0)
                };
                members.push(Member {
                    name,
                    ty,
                    bit_offset,
                    bitfield_size,
                });
            }
            let c = Composite {
                size: size_or_type,
                bitfield_encoding: kflag,
                members,
            };
            if kind == Kind::STRUCT {
                TypeData::Struct(c)
            } else {
                TypeData::Union(c)
            }
        }
        Kind::ENUM => {
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                values.push(EnumValue {
                    name: StrRef(cur.u32("enumerator")?),
                    value: cur.u32("enumerator")?,
                });
            }
            TypeData::Enum(Enum {
                size: size_or_type,
                signed: kflag,
                values,
            })
        }
        Kind::ENUM64 => {
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                let name = StrRef(cur.u32("enumerator")?);
                let lo = cur.u32("enumerator")?;
                let hi = cur.u32("enumerator")?;
                values.push(Enum64Value {
                    name,
                    value: (u64::from(hi) << 32) | u64::from(lo),
                });
            }
            TypeData::Enum64(Enum64 {
                size: size_or_type,
                signed: kflag,
                values,
            })
        }
        Kind::FUNC_PROTO => {
            let mut params = Vec::with_capacity(n);
            for _ in 0..n {
                params.push(Param {
                    name: StrRef(cur.u32("parameter")?),
                    ty: TypeId(cur.u32("parameter")?),
                });
            }
            TypeData::FuncProto(FuncProto { ret: t, params })
        }
        Kind::VAR => TypeData::Var(Var {
            ty: t,
            linkage: VarLinkage(cur.u32("VAR data")?),
        }),
        Kind::DATASEC => {
            let mut vars = Vec::with_capacity(n);
            for _ in 0..n {
                vars.push(VarSecInfo {
                    ty: TypeId(cur.u32("DATASEC entry")?),
                    offset: cur.u32("DATASEC entry")?,
                    size: cur.u32("DATASEC entry")?,
                });
            }
            TypeData::Datasec(Datasec {
                size: size_or_type,
                vars,
            })
        }
        Kind::DECL_TAG => TypeData::DeclTag(DeclTag {
            ty: t,
            component_idx: cur.u32("DECL_TAG data")? as i32,
            attribute: kflag,
        }),
        _ => return Err(ParseError::UnknownKind { kind, id, offset }),
    };
    Ok(Type { name, data })
}
