//! The semantic model: one [`Type`] per record, with `vlen` and `kind_flag` turned into typed fields.

use crate::raw::Kind;
use std::fmt;

/// A type id. Id 0 is `void`; ids of a split BTF continue after its base's last id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TypeId(pub u32);

impl TypeId {
    /// `void`, id 0.
    pub const VOID: TypeId = TypeId(0);
}

impl fmt::Debug for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0)
    }
}

impl fmt::Display for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0)
    }
}

/// A name: an offset into the string section of the [`crate::Btf`] it belongs to (or of its base).
///
/// Names stay offsets rather than owned strings for two reasons: a parsed blob rewrites byte for
/// byte (producers lay their string tables out differently, sometimes with duplicates), and a
/// 100k-type vmlinux parses without 300k small allocations. [`crate::Btf::str`] resolves one;
/// [`crate::canon`] compares blobs by resolved names, never by offsets. Offset 0 is the empty
/// string, i.e. anonymous.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StrRef(pub u32);

impl StrRef {
    /// The empty name (offset 0).
    pub const EMPTY: StrRef = StrRef(0);
    /// True for an anonymous entity.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for StrRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "str@{}", self.0)
    }
}

/// One BTF type record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Type {
    /// Its name (may be empty).
    pub name: StrRef,
    /// What kind of type it is, with the kind's data.
    pub data: TypeData,
}

/// The kind-specific part of a [`Type`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeData {
    /// `void` — only ever id 0, never stored in a type section.
    Void,
    /// An integer.
    Int(Int),
    /// `T *`.
    Ptr(TypeId),
    /// `T [len]`.
    Array(Array),
    /// `struct`.
    Struct(Composite),
    /// `union`.
    Union(Composite),
    /// A 32-bit enum.
    Enum(Enum),
    /// A forward declaration.
    Fwd(Fwd),
    /// `typedef T name`.
    Typedef(TypeId),
    /// `volatile T`.
    Volatile(TypeId),
    /// `const T`.
    Const(TypeId),
    /// `restrict T`.
    Restrict(TypeId),
    /// A function: its name, prototype and linkage.
    Func(Func),
    /// A function prototype.
    FuncProto(FuncProto),
    /// A variable.
    Var(Var),
    /// A data section and the variables in it.
    Datasec(Datasec),
    /// A floating-point type.
    Float(Float),
    /// A declaration tag (`__attribute__((btf_decl_tag("x")))`).
    DeclTag(DeclTag),
    /// A type tag (`__attribute__((btf_type_tag("x")))`).
    TypeTag(TypeTag),
    /// A 64-bit enum.
    Enum64(Enum64),
}

impl TypeData {
    /// The kind code of this data.
    pub fn kind(&self) -> Kind {
        match self {
            TypeData::Void => Kind::UNKN,
            TypeData::Int(_) => Kind::INT,
            TypeData::Ptr(_) => Kind::PTR,
            TypeData::Array(_) => Kind::ARRAY,
            TypeData::Struct(_) => Kind::STRUCT,
            TypeData::Union(_) => Kind::UNION,
            TypeData::Enum(_) => Kind::ENUM,
            TypeData::Fwd(_) => Kind::FWD,
            TypeData::Typedef(_) => Kind::TYPEDEF,
            TypeData::Volatile(_) => Kind::VOLATILE,
            TypeData::Const(_) => Kind::CONST,
            TypeData::Restrict(_) => Kind::RESTRICT,
            TypeData::Func(_) => Kind::FUNC,
            TypeData::FuncProto(_) => Kind::FUNC_PROTO,
            TypeData::Var(_) => Kind::VAR,
            TypeData::Datasec(_) => Kind::DATASEC,
            TypeData::Float(_) => Kind::FLOAT,
            TypeData::DeclTag(_) => Kind::DECL_TAG,
            TypeData::TypeTag(_) => Kind::TYPE_TAG,
            TypeData::Enum64(_) => Kind::ENUM64,
        }
    }

    /// Calls `f` on every type id this type refers to, in record order.
    pub fn for_each_ref(&self, mut f: impl FnMut(TypeId)) {
        match self {
            TypeData::Void | TypeData::Int(_) | TypeData::Enum(_) | TypeData::Enum64(_) => {}
            TypeData::Fwd(_) | TypeData::Float(_) => {}
            TypeData::Ptr(t)
            | TypeData::Typedef(t)
            | TypeData::Volatile(t)
            | TypeData::Const(t)
            | TypeData::Restrict(t) => f(*t),
            TypeData::TypeTag(t) => f(t.ty),
            TypeData::Array(a) => {
                f(a.elem);
                f(a.index);
            }
            TypeData::Struct(c) | TypeData::Union(c) => c.members.iter().for_each(|m| f(m.ty)),
            TypeData::Func(func) => f(func.proto),
            TypeData::FuncProto(p) => {
                f(p.ret);
                p.params.iter().for_each(|p| f(p.ty));
            }
            TypeData::Var(v) => f(v.ty),
            TypeData::Datasec(d) => d.vars.iter().for_each(|v| f(v.ty)),
            TypeData::DeclTag(t) => f(t.ty),
        }
    }

    /// Rewrites every type id this type refers to (e.g. when appending it to another blob).
    pub fn map_refs(&mut self, mut f: impl FnMut(TypeId) -> TypeId) {
        match self {
            TypeData::Void | TypeData::Int(_) | TypeData::Enum(_) | TypeData::Enum64(_) => {}
            TypeData::Fwd(_) | TypeData::Float(_) => {}
            TypeData::Ptr(t)
            | TypeData::Typedef(t)
            | TypeData::Volatile(t)
            | TypeData::Const(t)
            | TypeData::Restrict(t) => *t = f(*t),
            TypeData::TypeTag(t) => t.ty = f(t.ty),
            TypeData::Array(a) => {
                a.elem = f(a.elem);
                a.index = f(a.index);
            }
            TypeData::Struct(c) | TypeData::Union(c) => c.members.iter_mut().for_each(|m| m.ty = f(m.ty)),
            TypeData::Func(func) => func.proto = f(func.proto),
            TypeData::FuncProto(p) => {
                p.ret = f(p.ret);
                p.params.iter_mut().for_each(|p| p.ty = f(p.ty));
            }
            TypeData::Var(v) => v.ty = f(v.ty),
            TypeData::Datasec(d) => d.vars.iter_mut().for_each(|v| v.ty = f(v.ty)),
            TypeData::DeclTag(t) => t.ty = f(t.ty),
        }
    }

    /// Rewrites the names inside this type's entries (members, enumerators, parameters); the
    /// type's own name is [`Type::name`].
    pub fn map_entry_names(&mut self, mut f: impl FnMut(StrRef) -> StrRef) {
        match self {
            TypeData::Struct(c) | TypeData::Union(c) => c.members.iter_mut().for_each(|m| m.name = f(m.name)),
            TypeData::Enum(e) => e.values.iter_mut().for_each(|v| v.name = f(v.name)),
            TypeData::Enum64(e) => e.values.iter_mut().for_each(|v| v.name = f(v.name)),
            TypeData::FuncProto(p) => p.params.iter_mut().for_each(|p| p.name = f(p.name)),
            _ => {}
        }
    }

    /// The single type a modifier-like kind (pointer, qualifier, typedef, type tag) refers to.
    pub fn modified(&self) -> Option<TypeId> {
        match self {
            TypeData::Ptr(t)
            | TypeData::Typedef(t)
            | TypeData::Volatile(t)
            | TypeData::Const(t)
            | TypeData::Restrict(t) => Some(*t),
            TypeData::TypeTag(t) => Some(t.ty),
            _ => None,
        }
    }
}

/// Integer encoding bits (`BTF_INT_SIGNED` etc.). Kept as the raw nibble: producers are free to
/// combine them and bpftool prints unknown combinations as `UNKN`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IntEncoding(pub u8);

impl IntEncoding {
    /// No encoding: unsigned.
    pub const NONE: IntEncoding = IntEncoding(0);
    /// `BTF_INT_SIGNED`.
    pub const SIGNED: IntEncoding = IntEncoding(1);
    /// `BTF_INT_CHAR`.
    pub const CHAR: IntEncoding = IntEncoding(2);
    /// `BTF_INT_BOOL`.
    pub const BOOL: IntEncoding = IntEncoding(4);
    /// True when the signed bit is set.
    pub fn is_signed(self) -> bool {
        self.0 & 1 != 0
    }
}

impl fmt::Debug for IntEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("(none)"),
            1 => f.write_str("SIGNED"),
            2 => f.write_str("CHAR"),
            4 => f.write_str("BOOL"),
            n => write!(f, "UNKN({n})"),
        }
    }
}

/// `BTF_KIND_INT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Int {
    /// Storage size in bytes.
    pub size: u32,
    /// Encoding bits.
    pub encoding: IntEncoding,
    /// Bit offset of the value within its storage (legacy; always 0 from modern producers).
    pub bit_offset: u8,
    /// Number of value bits.
    pub bits: u8,
}

/// `BTF_KIND_ARRAY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Array {
    /// Element type.
    pub elem: TypeId,
    /// Index type (an integer).
    pub index: TypeId,
    /// Number of elements.
    pub len: u32,
}

/// `BTF_KIND_STRUCT` and `BTF_KIND_UNION`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Composite {
    /// Size in bytes.
    pub size: u32,
    /// `kind_flag`: member offsets carry a bitfield size in their top byte. Producers set it when
    /// any member is a bitfield; it is kept as read so a blob rewrites byte for byte.
    pub bitfield_encoding: bool,
    /// The members, in declaration order.
    pub members: Vec<Member>,
}

/// One member of a struct or union.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    /// Member name (empty for an anonymous member).
    pub name: StrRef,
    /// Member type.
    pub ty: TypeId,
    /// Offset from the start of the composite, in bits.
    pub bit_offset: u32,
    /// Bitfield width in bits, 0 when the member is not a bitfield (or the composite does not use
    /// [`Composite::bitfield_encoding`]).
    pub bitfield_size: u8,
}

/// `BTF_KIND_ENUM`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Enum {
    /// Size in bytes (1, 2, 4).
    pub size: u32,
    /// `kind_flag`: values are signed.
    pub signed: bool,
    /// Enumerators.
    pub values: Vec<EnumValue>,
}

/// One enumerator of a 32-bit enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumValue {
    /// Its name.
    pub name: StrRef,
    /// Its value as stored; read it as `i32` when the enum is signed.
    pub value: u32,
}

/// `BTF_KIND_ENUM64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Enum64 {
    /// Size in bytes.
    pub size: u32,
    /// `kind_flag`: values are signed.
    pub signed: bool,
    /// Enumerators.
    pub values: Vec<Enum64Value>,
}

/// One enumerator of a 64-bit enum.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Enum64Value {
    /// Its name.
    pub name: StrRef,
    /// Its value as stored; read it as `i64` when the enum is signed.
    pub value: u64,
}

/// `BTF_KIND_FWD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fwd {
    /// `kind_flag`: forward declaration of a union rather than a struct.
    pub union: bool,
}

/// Linkage of a FUNC, stored in its `vlen` (raw, so unknown values survive a rewrite).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncLinkage(pub u16);

impl FuncLinkage {
    /// `static`.
    pub const STATIC: FuncLinkage = FuncLinkage(0);
    /// `global`.
    pub const GLOBAL: FuncLinkage = FuncLinkage(1);
    /// `extern`.
    pub const EXTERN: FuncLinkage = FuncLinkage(2);
    /// The word bpftool prints.
    pub fn as_str(self) -> &'static str {
        match self.0 {
            0 => "static",
            1 => "global",
            2 => "extern",
            _ => "(unknown)",
        }
    }
}

/// `BTF_KIND_FUNC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Func {
    /// The FUNC_PROTO.
    pub proto: TypeId,
    /// Linkage.
    pub linkage: FuncLinkage,
}

/// `BTF_KIND_FUNC_PROTO`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncProto {
    /// Return type (void = 0).
    pub ret: TypeId,
    /// Parameters. A trailing parameter with no name and type 0 means `...`.
    pub params: Vec<Param>,
}

impl FuncProto {
    /// True when the last parameter is the varargs marker.
    pub fn is_variadic(&self) -> bool {
        self.params
            .last()
            .is_some_and(|p| p.ty == TypeId::VOID && p.name.is_empty())
    }
}

/// One parameter of a FUNC_PROTO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Param {
    /// Parameter name (may be empty).
    pub name: StrRef,
    /// Parameter type.
    pub ty: TypeId,
}

/// Linkage of a VAR (raw `u32`, so unknown values survive a rewrite).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarLinkage(pub u32);

impl VarLinkage {
    /// `static`.
    pub const STATIC: VarLinkage = VarLinkage(0);
    /// `global` (allocated).
    pub const GLOBAL: VarLinkage = VarLinkage(1);
    /// `extern`.
    pub const EXTERN: VarLinkage = VarLinkage(2);
    /// The word bpftool prints.
    pub fn as_str(self) -> &'static str {
        match self.0 {
            0 => "static",
            1 => "global",
            2 => "extern",
            _ => "(unknown)",
        }
    }
}

/// `BTF_KIND_VAR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Var {
    /// Type of the variable.
    pub ty: TypeId,
    /// Linkage.
    pub linkage: VarLinkage,
}

/// `BTF_KIND_DATASEC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Datasec {
    /// Section size in bytes (0 in objects not yet linked).
    pub size: u32,
    /// The variables placed in it.
    pub vars: Vec<VarSecInfo>,
}

/// One variable's placement in a DATASEC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VarSecInfo {
    /// The VAR (or FUNC, for `.ksyms`).
    pub ty: TypeId,
    /// Offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// `BTF_KIND_FLOAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Float {
    /// Size in bytes.
    pub size: u32,
}

/// `BTF_KIND_DECL_TAG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeclTag {
    /// The tagged declaration.
    pub ty: TypeId,
    /// -1 for the declaration itself, else the member or parameter index.
    pub component_idx: i32,
    /// `kind_flag`: the tag is a plain attribute rather than a `btf_decl_tag` (kernel 6.13+).
    pub attribute: bool,
}

/// `BTF_KIND_TYPE_TAG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeTag {
    /// The tagged type.
    pub ty: TypeId,
    /// `kind_flag`: the tag is a plain attribute rather than a `btf_type_tag` (kernel 6.13+).
    pub attribute: bool,
}
