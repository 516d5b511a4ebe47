//! Type DIEs → CU-local BTF types (pass 2), and the type DIEs other units may refer to.

use super::index::{Slot, Target};
use super::{Die, Walker, ARRAY_INDEX, MAX_DEPTH};
use crate::elf::Reader;
use crate::error::{EncodeError, Result};
use btf::types::*;
use gimli::{constants::*, AttributeValue, UnitOffset};

impl<'a, 'u> Walker<'a, 'u> {
    pub(super) fn push(&mut self, ty: Type, weak: bool) -> TypeId {
        let id = self.out.types.push(&ty);
        self.out.weak.push(weak);
        self.recycle(ty);
        id
    }

    pub(super) fn set(&mut self, id: TypeId, ty: Type) {
        self.out.types.set(id, &ty);
        self.recycle(ty);
    }

    /// Keeps the member or parameter list of a type just stored flat, for the next type to fill
    /// (a kernel's units build millions of them; see [`super::Lists`]).
    fn recycle(&mut self, ty: Type) {
        match ty.data {
            TypeData::Struct(c) | TypeData::Union(c) => self.lists.members = c.members,
            TypeData::FuncProto(p) => self.lists.params = p.params,
            _ => {}
        }
    }

    /// The placeholder type standing for a type DIE of another unit (resolved by
    /// the type graph, `graph.rs`).
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

    /// The local id of the type a DIE's `DW_AT_type` names (void when absent).
    pub(super) fn type_of(&mut self, e: &Die<'a>) -> Result<TypeId> {
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
    /// so arrays get the placeholder [`ARRAY_INDEX`], replaced in the type graph (`graph.rs`).
    fn array_index_type(&mut self) -> TypeId {
        ARRAY_INDEX
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

    pub(super) fn build_type(&mut self, off: UnitOffset) -> Result<Type> {
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
                let mut params = std::mem::take(&mut self.lists.params);
                params.clear();
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

    pub(super) fn member_location(&self, e: &Die<'a>) -> Result<u64> {
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
        let mut members = std::mem::take(&mut self.lists.members);
        members.clear();
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
    pub(super) fn type_size_die(&self, e: &Die<'a>, depth: usize) -> Result<Option<u64>> {
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

    /// What other units may refer to: every type DIE (aliases resolved), in offset order.
    pub(super) fn export_type_dies(&mut self) {
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
    }
}
