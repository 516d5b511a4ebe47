//! Writing: one pass from the model; header lengths computed, never patched.

use crate::error::WriteError;
use crate::raw::{self, Endian, Kind};
use crate::types::*;
use crate::Btf;

impl Btf {
    /// Encodes this blob's own types and strings (a split blob stays split: its base is not
    /// included). The layout is the one every producer uses: 24-byte header, types, strings.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WriteError> {
        let e = self.endian;
        let mut types = Vec::with_capacity(self.own_types().len() * 24);
        for (id, ty) in self.own_ids().zip(self.own_types()) {
            write_type(&mut types, e, id, ty)?;
        }
        let strings = self.own_strings();
        let len32 = |section, len: usize| {
            u32::try_from(len).map_err(|_| WriteError::TooLarge { section, len })
        };
        let type_len = len32("type", types.len())?;
        let str_len = len32("string", strings.len())?;
        let mut out = Vec::with_capacity(24 + types.len() + strings.len());
        e.put_u16(&mut out, raw::MAGIC);
        out.push(raw::VERSION);
        out.push(0);
        e.put_u32(&mut out, raw::HEADER_LEN);
        e.put_u32(&mut out, 0);
        e.put_u32(&mut out, type_len);
        e.put_u32(&mut out, type_len);
        e.put_u32(&mut out, str_len);
        out.extend_from_slice(&types);
        out.extend_from_slice(strings);
        Ok(out)
    }
}

fn vlen(id: TypeId, count: usize) -> Result<u16, WriteError> {
    u16::try_from(count).map_err(|_| WriteError::TooManyEntries { id, count })
}

fn write_type(out: &mut Vec<u8>, e: Endian, id: TypeId, ty: &Type) -> Result<(), WriteError> {
    let mut head = |kind: Kind, vlen: u16, kflag: bool, size_or_type: u32| {
        e.put_u32(out, ty.name.0);
        e.put_u32(out, raw::make_info(kind, vlen, kflag));
        e.put_u32(out, size_or_type);
    };
    match &ty.data {
        TypeData::Void => return Err(WriteError::VoidRecord { id }),
        TypeData::Int(i) => {
            if i.encoding.0 > 0xf {
                return Err(WriteError::BadIntEncoding {
                    id,
                    encoding: i.encoding.0,
                });
            }
            head(Kind::INT, 0, false, i.size);
            let v = (u32::from(i.encoding.0) << 24) | (u32::from(i.bit_offset) << 16) | u32::from(i.bits);
            e.put_u32(out, v);
        }
        TypeData::Ptr(t) => head(Kind::PTR, 0, false, t.0),
        TypeData::Typedef(t) => head(Kind::TYPEDEF, 0, false, t.0),
        TypeData::Volatile(t) => head(Kind::VOLATILE, 0, false, t.0),
        TypeData::Const(t) => head(Kind::CONST, 0, false, t.0),
        TypeData::Restrict(t) => head(Kind::RESTRICT, 0, false, t.0),
        TypeData::TypeTag(t) => head(Kind::TYPE_TAG, 0, t.attribute, t.ty.0),
        TypeData::Func(f) => head(Kind::FUNC, f.linkage.0, false, f.proto.0),
        TypeData::Float(f) => head(Kind::FLOAT, 0, false, f.size),
        TypeData::Fwd(f) => head(Kind::FWD, 0, f.union, 0),
        TypeData::Array(a) => {
            head(Kind::ARRAY, 0, false, 0);
            e.put_u32(out, a.elem.0);
            e.put_u32(out, a.index.0);
            e.put_u32(out, a.len);
        }
        TypeData::Struct(c) | TypeData::Union(c) => {
            let kind = if matches!(ty.data, TypeData::Struct(_)) {
                Kind::STRUCT
            } else {
                Kind::UNION
            };
            head(kind, vlen(id, c.members.len())?, c.bitfield_encoding, c.size);
            for (index, m) in c.members.iter().enumerate() {
                let off = if c.bitfield_encoding && m.bit_offset <= 0x00ff_ffff {
                    (u32::from(m.bitfield_size) << 24) | m.bit_offset
                } else if !c.bitfield_encoding && m.bitfield_size == 0 {
                    m.bit_offset
                } else {
                    return Err(WriteError::BadMember {
                        id,
                        index,
                        bit_offset: m.bit_offset,
                        bitfield_size: m.bitfield_size,
                        kind_flag: c.bitfield_encoding,
                    });
                };
                e.put_u32(out, m.name.0);
                e.put_u32(out, m.ty.0);
                e.put_u32(out, off);
            }
        }
        TypeData::Enum(en) => {
            head(Kind::ENUM, vlen(id, en.values.len())?, en.signed, en.size);
            for v in &en.values {
                e.put_u32(out, v.name.0);
                e.put_u32(out, v.value);
            }
        }
        TypeData::Enum64(en) => {
            head(Kind::ENUM64, vlen(id, en.values.len())?, en.signed, en.size);
            for v in &en.values {
                e.put_u32(out, v.name.0);
                e.put_u32(out, v.value as u32);
                e.put_u32(out, (v.value >> 32) as u32);
            }
        }
        TypeData::FuncProto(p) => {
            head(Kind::FUNC_PROTO, vlen(id, p.params.len())?, false, p.ret.0);
            for p in &p.params {
                e.put_u32(out, p.name.0);
                e.put_u32(out, p.ty.0);
            }
        }
        TypeData::Var(v) => {
            head(Kind::VAR, 0, false, v.ty.0);
            e.put_u32(out, v.linkage.0);
        }
        TypeData::Datasec(d) => {
            head(Kind::DATASEC, vlen(id, d.vars.len())?, false, d.size);
            for v in &d.vars {
                e.put_u32(out, v.ty.0);
                e.put_u32(out, v.offset);
                e.put_u32(out, v.size);
            }
        }
        TypeData::DeclTag(t) => {
            head(Kind::DECL_TAG, 0, t.attribute, t.ty.0);
            e.put_u32(out, t.component_idx as u32);
        }
    }
    Ok(())
}
