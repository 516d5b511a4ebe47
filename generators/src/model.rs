//! The C program model: translation units, types, functions, call sites and globals.
//!
//! The model is valid by construction: a [`TypeDef`] may refer only to type definitions with a
//! smaller [`TypeId`], a function body may call only functions defined earlier in the same
//! translation unit, and the constructors ([`Field::bitfield`], [`Program::push_type`]) check the
//! C rules the emitter relies on. Every expression evaluates to an `unsigned long long`, so the
//! arithmetic the emitter writes is free of undefined behaviour (see [`crate::emit`]).

use serde::{Deserialize, Serialize};

use crate::error::GenError;

/// Index of a type definition in [`Program::types`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TypeId(pub usize);

/// Index of a function in [`Program::functions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FuncId(pub usize);

/// C scalar types, integers of every width and sign plus `_Bool`, `char` and the two floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scalar {
    /// `_Bool`.
    Bool,
    /// Plain `char` (signedness is the target's).
    Char,
    /// `signed char`.
    SChar,
    /// `unsigned char`.
    UChar,
    /// `short`.
    Short,
    /// `unsigned short`.
    UShort,
    /// `int`.
    Int,
    /// `unsigned int`.
    UInt,
    /// `long`.
    Long,
    /// `unsigned long`.
    ULong,
    /// `long long`.
    LongLong,
    /// `unsigned long long`.
    ULongLong,
    /// `float`.
    Float,
    /// `double`.
    Double,
    /// `long double` (x87 80-bit, 16 bytes on x86-64, always passed in memory). Not in
    /// [`Scalar::ALL`]: only the calling-convention recipes use it.
    LongDouble,
    /// `__int128` (two integer registers or 16 bytes of stack). Not in [`Scalar::ALL`].
    Int128,
    /// `unsigned __int128`. Not in [`Scalar::ALL`].
    UInt128,
}

impl Scalar {
    /// Every scalar that plain generation draws from (indexed like `Policy::scalar_weights`),
    /// integers first; `long double` and the 128-bit integers are left out.
    pub const ALL: [Scalar; 14] = [
        Scalar::Int,
        Scalar::UInt,
        Scalar::Long,
        Scalar::ULong,
        Scalar::Char,
        Scalar::SChar,
        Scalar::UChar,
        Scalar::Short,
        Scalar::UShort,
        Scalar::LongLong,
        Scalar::ULongLong,
        Scalar::Bool,
        Scalar::Float,
        Scalar::Double,
    ];

    /// The C spelling.
    pub fn c_name(self) -> &'static str {
        match self {
            Scalar::Bool => "_Bool",
            Scalar::Char => "char",
            Scalar::SChar => "signed char",
            Scalar::UChar => "unsigned char",
            Scalar::Short => "short",
            Scalar::UShort => "unsigned short",
            Scalar::Int => "int",
            Scalar::UInt => "unsigned int",
            Scalar::Long => "long",
            Scalar::ULong => "unsigned long",
            Scalar::LongLong => "long long",
            Scalar::ULongLong => "unsigned long long",
            Scalar::Float => "float",
            Scalar::Double => "double",
            Scalar::LongDouble => "long double",
            Scalar::Int128 => "__int128",
            Scalar::UInt128 => "unsigned __int128",
        }
    }

    /// Size in bytes on x86-64 (LP64).
    pub fn size(self) -> u64 {
        match self {
            Scalar::Bool | Scalar::Char | Scalar::SChar | Scalar::UChar => 1,
            Scalar::Short | Scalar::UShort => 2,
            Scalar::Int | Scalar::UInt | Scalar::Float => 4,
            Scalar::LongDouble | Scalar::Int128 | Scalar::UInt128 => 16,
            _ => 8,
        }
    }

    /// True for `float`, `double` and `long double`.
    pub fn is_float(self) -> bool {
        matches!(self, Scalar::Float | Scalar::Double | Scalar::LongDouble)
    }

    /// True for `__int128` and `unsigned __int128`.
    pub fn is_int128(self) -> bool {
        matches!(self, Scalar::Int128 | Scalar::UInt128)
    }

    /// True for the integer types (including `_Bool` and `char`).
    pub fn is_integer(self) -> bool {
        !self.is_float()
    }

    /// True for signed integer types. Plain `char` counts as signed (x86-64).
    pub fn is_signed(self) -> bool {
        matches!(
            self,
            Scalar::Char
                | Scalar::SChar
                | Scalar::Short
                | Scalar::Int
                | Scalar::Long
                | Scalar::LongLong
                | Scalar::Int128
        )
    }

    /// Width in bits (1 for `_Bool`, as far as values go).
    pub fn value_bits(self) -> u32 {
        if self == Scalar::Bool {
            1
        } else {
            (self.size() * 8) as u32
        }
    }
}

/// A type as used by a parameter, field, global or return value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ty {
    /// `void` (return types only).
    Void,
    /// A scalar.
    Scalar(Scalar),
    /// A struct, union, enum, typedef or function-pointer typedef from [`Program::types`].
    Def(TypeId),
    /// A pointer; `to_const` makes it `const T *`.
    Ptr {
        /// The pointee.
        pointee: Box<Ty>,
        /// Whether the pointee is `const`-qualified.
        to_const: bool,
    },
}

/// Qualifiers on a parameter or field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quals {
    /// `const`.
    pub is_const: bool,
    /// `volatile`.
    pub is_volatile: bool,
}

/// What a struct or union member holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A plain member of the given type (never `void`).
    Plain(Ty),
    /// `T name[len]` with `len >= 1`.
    Array {
        /// Element type.
        elem: Ty,
        /// Number of elements.
        len: u32,
    },
    /// An integer bitfield `T name : width`.
    Bitfield {
        /// The declared integer type.
        base: Scalar,
        /// Width in bits, 1..=bits of `base`.
        width: u32,
    },
}

/// A struct or union member.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    /// Member name.
    pub name: String,
    /// What the member holds.
    pub kind: FieldKind,
    /// Qualifiers.
    pub quals: Quals,
}

impl Field {
    /// A plain member.
    pub fn plain(name: impl Into<String>, ty: Ty) -> Field {
        Field {
            name: name.into(),
            kind: FieldKind::Plain(ty),
            quals: Quals::default(),
        }
    }

    /// A bitfield member; checks the C rules (integer base, `1 <= width <= bits`).
    pub fn bitfield(name: impl Into<String>, base: Scalar, width: u32) -> Result<Field, GenError> {
        let name = name.into();
        if !base.is_integer()
            || base == Scalar::Bool && width > 1
            || width == 0
            || width > base.value_bits()
        {
            return Err(GenError::InvalidModel {
                what: format!(
                    "bitfield {name}: width {width} does not fit {}",
                    base.c_name()
                ),
            });
        }
        Ok(Field {
            name,
            kind: FieldKind::Bitfield { base, width },
            quals: Quals::default(),
        })
    }
}

/// A named type definition. Each may refer only to definitions with a smaller [`TypeId`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TypeDef {
    /// `struct name { fields }`, optionally `__attribute__((packed))`.
    Struct {
        /// Tag name.
        name: String,
        /// Members, at least one.
        fields: Vec<Field>,
        /// Packed layout.
        packed: bool,
        /// `__attribute__((aligned(N)))` on the struct; 0 means the natural alignment.
        #[serde(default, skip_serializing_if = "is_zero")]
        align: u32,
    },
    /// `union name { fields }`. Values are always written and read through the first member.
    Union {
        /// Tag name.
        name: String,
        /// Members, at least one; the first is never a bitfield.
        fields: Vec<Field>,
    },
    /// `enum name { A = v, ... }`.
    Enum {
        /// Tag name.
        name: String,
        /// Enumerators and their values (within `int`).
        variants: Vec<(String, i32)>,
    },
    /// `typedef T name;`.
    Typedef {
        /// The new name.
        name: String,
        /// The aliased type.
        target: Ty,
        /// Qualifiers on the alias.
        quals: Quals,
    },
    /// A type the structured model does not describe (bitfields at odd offsets, `_BitInt(N)`,
    /// `_Atomic`, enums with fixed underlying types, flexible arrays, vectors, anonymous nested
    /// members, BTF tags), written as C text by the `types` recipes. The text defines the type,
    /// spelled [`TypeDef::Raw::spelling`], and three helpers named after `name`:
    /// `NAME_make(bs_u64 k)` (a value of the type built from `k`, for by-value arguments, only
    /// when `by_value`), `NAME_ptr(bs_u64 k)` (a pointer to a live object built from `k`) and
    /// `bs_u64 NAME_fold(const T *p)` (the object folded to an integer). The text may differ per
    /// compiler (`#if`), as long as size, alignment and argument class stay the same, so the
    /// ground truth holds for every compiler.
    Raw {
        /// Identifier the helpers are named after (`tb5`).
        name: String,
        /// How declarations spell the type (`struct tb5`, `tb5_t`).
        spelling: String,
        /// The C definitions, written to `prog.h`.
        text: String,
        /// `sizeof` on x86-64 (asserted in the text).
        size: u64,
        /// `_Alignof` on x86-64.
        align: u64,
        /// Whether a value can be passed by value (`NAME_make` exists). Otherwise only pointers.
        by_value: bool,
        /// Whether a value passed by value equals the `k` given to `NAME_make` (an integer-like
        /// type), so the ground truth's argument is the real value.
        value_is_k: bool,
    },
    /// `typedef R (*name)(P...);`.
    FnPtr {
        /// The typedef name.
        name: String,
        /// Return type.
        ret: Ty,
        /// Parameter types.
        params: Vec<Ty>,
    },
}

impl TypeDef {
    /// The name the definition introduces.
    pub fn name(&self) -> &str {
        match self {
            TypeDef::Struct { name, .. }
            | TypeDef::Union { name, .. }
            | TypeDef::Enum { name, .. }
            | TypeDef::Typedef { name, .. }
            | TypeDef::Raw { name, .. }
            | TypeDef::FnPtr { name, .. } => name,
        }
    }
}

/// Linkage of a function or global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Linkage {
    /// `static`: internal linkage.
    Static,
    /// External linkage.
    Global,
    /// External linkage, `__attribute__((weak))`.
    Weak,
}

/// Inlining hint written on a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InlineHint {
    /// `__attribute__((noinline))`: the function is meant to be traced.
    NoInline,
    /// `inline` (static functions only).
    Inline,
    /// `inline __attribute__((always_inline))` (static functions only): no out-of-line body.
    Always,
    /// No hint: the compiler decides.
    None,
}

/// A function parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Param {
    /// Name in the source.
    pub name: String,
    /// Type.
    pub ty: Ty,
    /// Qualifiers on the parameter itself.
    pub quals: Quals,
}

/// Binary operators; every one is evaluated on `unsigned long long` through a safe helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    /// Wrapping addition.
    Add,
    /// Wrapping subtraction.
    Sub,
    /// Wrapping multiplication.
    Mul,
    /// Division; dividing by zero yields the dividend.
    Div,
    /// Remainder; by zero yields the dividend.
    Rem,
    /// Bitwise and.
    And,
    /// Bitwise or.
    Or,
    /// Bitwise xor.
    Xor,
    /// Left shift by the right operand modulo 64.
    Shl,
    /// Right shift by the right operand modulo 64.
    Shr,
    /// `a < b` as 0 or 1.
    Lt,
    /// `a == b` as 0 or 1.
    Eq,
}

/// A step from a value to one of its parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStep {
    /// `.name` of a struct or union member.
    Field(String),
    /// `[i]` of an array member.
    Index(u32),
}

/// An expression of type `unsigned long long`.
#[derive(Debug, Clone, PartialEq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// A constant.
    Const(u64),
    /// The running accumulator `acc`.
    Acc,
    /// All of parameter `i`, folded to an integer (pointers are dereferenced).
    Param(usize),
    /// One scalar part of parameter `i` (through the pointer for pointer parameters).
    ParamPart(usize, Vec<PathStep>),
    /// A file-scope global, by index in [`Program::globals`].
    Global(usize),
    /// A binary operation.
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `c ? a : b`.
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A call to an earlier function of the same unit with integer-only parameters and result.
    Call(FuncId, Vec<Expr>),
}

/// A statement of a function body.
#[derive(Debug, Clone, PartialEq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stmt {
    /// `acc = mix(acc, e)`.
    Mix(Expr),
    /// `if (c) { then } else { else }`, optionally with `__builtin_expect(c, likely)`.
    If {
        /// Condition.
        cond: Expr,
        /// Expected value of the condition, if hinted.
        expect: Option<bool>,
        /// Then branch.
        then: Vec<Stmt>,
        /// Else branch.
        otherwise: Vec<Stmt>,
    },
    /// `for (i = 0; i < count; i++) { body }` with a small constant count.
    Loop {
        /// Iterations.
        count: u32,
        /// Body.
        body: Vec<Stmt>,
    },
    /// Calls the unit's `__attribute__((cold))` helper with `e` (marks the path cold).
    ColdCall(Expr),
    /// `bs_sink ^= e` (a side effect the compiler must keep).
    Sink(Expr),
    /// Adds the sum of the variadic arguments (`n` is parameter 0, each `unsigned long long`).
    VaSum,
    /// Adds the variadic arguments of mixed types: parameter 0 is their count, parameter 1 a
    /// word of 4-bit [`VaKind`] codes, argument `i` having the kind in bits `4i..4i+4`.
    VaMixed,
    /// `if (p_depth > 0) acc = mix(acc, self(p_depth - 1, same other args))` (bounded recursion).
    Recurse {
        /// Index of the depth parameter (an unsigned integer).
        depth_param: usize,
    },
    /// `return callee(args)` (a tail call); args are converted to the callee's parameter types.
    /// Always the last statement; the callee returns the same type.
    TailCall(FuncId, Vec<Expr>),
    /// `p_i = (T)(e)`: overwrites integer parameter `i`, so its entry value is gone for the rest
    /// of the function (the compiler can describe it only where the new value lives).
    SetParam(usize, Expr),
    /// `if (__builtin_expect(cond, 1)) return value;` (a cheap early exit).
    EarlyReturn {
        /// Condition.
        cond: Expr,
        /// Value returned, converted to the return type.
        value: Expr,
    },
}

/// The type of one variadic argument of a [`Stmt::VaMixed`] function (its code in the kinds
/// word is the index in [`VaKind::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VaKind {
    /// `int`.
    Int,
    /// `long long`.
    LongLong,
    /// `double`.
    Double,
    /// `long double`.
    LongDouble,
    /// `unsigned __int128`.
    UInt128,
}

impl VaKind {
    /// Every kind, in code order.
    pub const ALL: [VaKind; 5] = [
        VaKind::Int,
        VaKind::LongLong,
        VaKind::Double,
        VaKind::LongDouble,
        VaKind::UInt128,
    ];

    /// The scalar the caller passes (after default argument promotions).
    pub fn scalar(self) -> Scalar {
        match self {
            VaKind::Int => Scalar::Int,
            VaKind::LongLong => Scalar::LongLong,
            VaKind::Double => Scalar::Double,
            VaKind::LongDouble => Scalar::LongDouble,
            VaKind::UInt128 => Scalar::UInt128,
        }
    }

    /// The 4-bit code.
    pub fn code(self) -> u64 {
        VaKind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u64
    }
}

/// A function definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// Name (several functions may share it in different units).
    pub name: String,
    /// Translation unit index.
    pub tu: usize,
    /// Linkage.
    pub linkage: Linkage,
    /// Inlining hint.
    pub inline: InlineHint,
    /// Return type.
    pub ret: Ty,
    /// Parameters.
    pub params: Vec<Param>,
    /// Whether the function ends in `, ...`.
    pub variadic: bool,
    /// Body; the emitter adds the final `return` converting `acc` to the return type.
    pub body: Vec<Stmt>,
    /// Whether the unit's driver takes the address and calls through a volatile pointer.
    pub address_taken: bool,
    /// Whether callers ignore the result.
    pub result_unused: bool,
    /// Which recipe made the function.
    pub hazard: crate::hazard::Hazard,
    /// Functions made by the same recipe share a group number.
    pub group: usize,
}

impl Function {
    /// True if any parameter or the return type is a float.
    pub fn uses_float(&self, prog: &Program) -> bool {
        self.params.iter().any(|p| prog.ty_has_float(&p.ty))
            || prog.ty_has_float(&self.ret)
            || self.body.iter().any(|s| matches!(s, Stmt::VaMixed))
    }
}

/// A scalar file-scope global.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Global {
    /// Name (unique in the program).
    pub name: String,
    /// Defining unit.
    pub tu: usize,
    /// Type (an integer scalar).
    pub ty: Scalar,
    /// Initial value (within the type's range).
    pub init: i64,
    /// `Static` globals are read only in their unit.
    pub linkage: Linkage,
}

/// A value passed as an argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Value {
    /// An integer (also bools, chars, enums).
    Int(i128),
    /// A float or double.
    Float(f64),
    /// The null pointer.
    Null,
    /// The address of a function (by name, in the caller's unit).
    FnAddr(String),
    /// A pointer to an object holding this value.
    Ptr(Box<Value>),
    /// Struct or union members in order (a union has exactly one, its first).
    Fields(Vec<(String, Value)>),
    /// Array elements.
    Elems(Vec<Value>),
}

/// One call a unit's driver makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSite {
    /// The callee.
    pub callee: FuncId,
    /// Arguments, one per parameter, then the variadic ones (as `unsigned long long`).
    pub args: Vec<Value>,
    /// Per argument: whether its scalars are hidden behind a volatile read, so the compiler
    /// cannot propagate them as constants.
    pub opaque: Vec<bool>,
    /// Types of the variadic arguments, one per argument after the named ones; empty means
    /// every variadic argument is an `unsigned long long`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub va_types: Vec<Scalar>,
}

/// A translation unit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TranslationUnit {
    /// File stem (`tu0`).
    pub name: String,
}

/// A whole program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// The seed it came from, when generated from a seed.
    pub seed: Option<u64>,
    /// Name of the policy used.
    pub policy: String,
    /// Generator version that made it.
    pub generator_version: String,
    /// Type definitions; each refers only to earlier ones.
    pub types: Vec<TypeDef>,
    /// Translation units.
    pub tus: Vec<TranslationUnit>,
    /// Functions, in definition order within each unit.
    pub functions: Vec<Function>,
    /// Globals.
    pub globals: Vec<Global>,
    /// Driver calls, in the order the drivers make them (unit by unit).
    pub calls: Vec<CallSite>,
    /// Type definitions local to one unit, as `(type, unit)`: written in that unit's file
    /// instead of `prog.h`, so two units can give one tag different layouts. Only functions of
    /// that unit and later local types of that unit may refer to them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unit_types: Vec<(TypeId, usize)>,
    /// C text written into one unit after its globals, as `(unit, text)`: definitions of
    /// external globals of [`TypeDef::Raw`] types (declared `extern` in the raw type's text),
    /// so they are in the unit's DWARF.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unit_text: Vec<(usize, String)>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Limit on nesting when folding values (types are acyclic, so this only bounds work).
const MAX_DEPTH: usize = 16;

impl Program {
    /// An empty program with `tus` units.
    pub fn new(policy: &str, tus: usize) -> Program {
        Program {
            seed: None,
            policy: policy.to_string(),
            generator_version: crate::GENERATOR_VERSION.to_string(),
            types: Vec::new(),
            tus: (0..tus)
                .map(|i| TranslationUnit {
                    name: format!("tu{i}"),
                })
                .collect(),
            functions: Vec::new(),
            globals: Vec::new(),
            calls: Vec::new(),
            unit_types: Vec::new(),
            unit_text: Vec::new(),
        }
    }

    /// The unit a type definition is local to, if it is (see [`Program::unit_types`]).
    pub fn local_unit(&self, id: TypeId) -> Option<usize> {
        self.unit_types
            .iter()
            .find(|(t, _)| *t == id)
            .map(|(_, u)| *u)
    }

    /// The units whose local types `ty` refers to (directly, through pointers, typedefs and
    /// members).
    pub fn local_refs(&self, ty: &Ty) -> std::collections::BTreeSet<usize> {
        let mut out = std::collections::BTreeSet::new();
        self.collect_local(ty, &mut out, 0);
        out
    }

    fn collect_local(&self, ty: &Ty, out: &mut std::collections::BTreeSet<usize>, depth: usize) {
        if depth > MAX_DEPTH || self.unit_types.is_empty() {
            return;
        }
        match ty {
            Ty::Ptr { pointee, .. } => self.collect_local(pointee, out, depth + 1),
            Ty::Def(d) => {
                if let Some(u) = self.local_unit(*d) {
                    out.insert(u);
                }
                match self.types.get(d.0) {
                    Some(TypeDef::Typedef { target, .. }) => {
                        self.collect_local(target, out, depth + 1)
                    }
                    Some(TypeDef::FnPtr { ret, params, .. }) => {
                        self.collect_local(ret, out, depth + 1);
                        for p in params {
                            self.collect_local(p, out, depth + 1);
                        }
                    }
                    Some(TypeDef::Struct { fields, .. } | TypeDef::Union { fields, .. }) => {
                        for f in fields {
                            if let FieldKind::Plain(t) | FieldKind::Array { elem: t, .. } = &f.kind
                            {
                                self.collect_local(t, out, depth + 1);
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Appends a type definition after checking that it refers only to earlier definitions
    /// and follows the C rules the emitter needs.
    pub fn push_type(&mut self, def: TypeDef) -> Result<TypeId, GenError> {
        let id = TypeId(self.types.len());
        let bad = |what: String| Err(GenError::InvalidModel { what });
        match &def {
            TypeDef::Struct { fields, name, .. } | TypeDef::Union { fields, name } => {
                if fields.is_empty() {
                    return bad(format!("aggregate {name} has no members"));
                }
                if matches!(def, TypeDef::Union { .. })
                    && matches!(fields[0].kind, FieldKind::Bitfield { .. })
                {
                    return bad(format!("union {name}: first member is a bitfield"));
                }
                for f in fields {
                    match &f.kind {
                        FieldKind::Plain(t) | FieldKind::Array { elem: t, .. } => {
                            if *t == Ty::Void {
                                return bad(format!("{name}.{}: void member", f.name));
                            }
                            self.check_refs(t, id)?;
                        }
                        FieldKind::Bitfield { base, width } => {
                            Field::bitfield(f.name.clone(), *base, *width)?;
                        }
                    }
                    if let FieldKind::Array { len: 0, .. } = f.kind {
                        return bad(format!("{name}.{}: zero-length array", f.name));
                    }
                }
            }
            TypeDef::Raw { size, align, .. } => {
                if *size == 0 || *align == 0 || !align.is_power_of_two() {
                    return bad(format!("raw type {}: size {size}, align {align}", def.name()));
                }
            }
            TypeDef::Enum { variants, name } => {
                if variants.is_empty() {
                    return bad(format!("enum {name} has no enumerators"));
                }
            }
            TypeDef::Typedef { target, .. } => self.check_refs(target, id)?,
            TypeDef::FnPtr { ret, params, .. } => {
                self.check_refs(ret, id)?;
                for p in params {
                    self.check_refs(p, id)?;
                }
            }
        }
        self.types.push(def);
        Ok(id)
    }

    fn check_refs(&self, ty: &Ty, limit: TypeId) -> Result<(), GenError> {
        match ty {
            Ty::Def(d) if *d >= limit => Err(GenError::InvalidModel {
                what: format!("type {} refers to later type {}", limit.0, d.0),
            }),
            Ty::Ptr { pointee, .. } => self.check_refs(pointee, limit),
            _ => Ok(()),
        }
    }

    /// The definition behind `id`.
    ///
    /// # Panics
    /// If `id` is not an index of `types` (a caller bug: ids come from [`Program::push_type`]).
    pub fn def(&self, id: TypeId) -> &TypeDef {
        &self.types[id.0]
    }

    /// Follows typedefs to the underlying type.
    pub fn resolve<'a>(&'a self, ty: &'a Ty) -> &'a Ty {
        let mut t = ty;
        for _ in 0..MAX_DEPTH {
            match t {
                Ty::Def(d) => match self.def(*d) {
                    TypeDef::Typedef { target, .. } => t = target,
                    _ => return t,
                },
                _ => return t,
            }
        }
        t
    }

    /// Size in bytes on x86-64, as the compiler lays it out.
    pub fn size_of(&self, ty: &Ty) -> u64 {
        self.layout(ty, 0).0
    }

    /// (size, align) of a type.
    pub fn layout(&self, ty: &Ty, depth: usize) -> (u64, u64) {
        if depth > MAX_DEPTH {
            return (8, 8);
        }
        match self.resolve(ty) {
            Ty::Void => (1, 1),
            Ty::Scalar(s) => (s.size(), s.size()),
            Ty::Ptr { .. } => (8, 8),
            Ty::Def(d) => match self.def(*d) {
                TypeDef::Enum { .. } => (4, 4),
                TypeDef::Raw { size, align, .. } => (*size, *align),
                TypeDef::FnPtr { .. } => (8, 8),
                TypeDef::Typedef { .. } => (8, 8),
                TypeDef::Struct {
                    fields,
                    packed,
                    align,
                    ..
                } => {
                    let (size, natural) = self.struct_layout(fields, *packed, depth);
                    let a = natural.max(u64::from(*align));
                    (round_up(size, a), a)
                }
                TypeDef::Union { fields, .. } => {
                    let (mut size, mut align) = (0, 1);
                    for f in fields {
                        let (s, a) = self.field_layout(f, depth);
                        size = size.max(s);
                        align = align.max(a);
                    }
                    (round_up(size.max(1), align), align)
                }
            },
        }
    }

    fn field_layout(&self, f: &Field, depth: usize) -> (u64, u64) {
        match &f.kind {
            FieldKind::Plain(t) => self.layout(t, depth + 1),
            FieldKind::Array { elem, len } => {
                let (s, a) = self.layout(elem, depth + 1);
                (s * *len as u64, a)
            }
            FieldKind::Bitfield { base, .. } => (base.size(), base.size()),
        }
    }

    fn struct_layout(&self, fields: &[Field], packed: bool, depth: usize) -> (u64, u64) {
        // Bit-level layout following the SysV x86-64 rules for bitfields.
        let mut bit: u64 = 0;
        let mut align: u64 = 1;
        for f in fields {
            match &f.kind {
                FieldKind::Bitfield { base, width } => {
                    let unit = base.size() * 8;
                    let w = *width as u64;
                    if !packed && (bit / unit) != ((bit + w - 1) / unit) {
                        bit = round_up(bit, unit);
                    }
                    bit += w;
                    if !packed {
                        align = align.max(base.size());
                    }
                }
                _ => {
                    let (s, a) = self.field_layout(f, depth);
                    let a = if packed { 1 } else { a };
                    bit = round_up(bit, a * 8);
                    bit += s * 8;
                    align = align.max(a);
                }
            }
        }
        let bytes = bit.div_ceil(8);
        (round_up(bytes.max(1), align), align)
    }

    /// True if the type contains a `float` or `double` anywhere (not through pointers).
    pub fn ty_has_float(&self, ty: &Ty) -> bool {
        self.has_float_depth(ty, 0)
    }

    fn has_float_depth(&self, ty: &Ty, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match self.resolve(ty) {
            Ty::Scalar(s) => s.is_float(),
            Ty::Ptr { pointee, .. } => self.has_float_depth(pointee, depth + 1),
            Ty::Def(d) => match self.def(*d) {
                TypeDef::Struct { fields, .. } | TypeDef::Union { fields, .. } => {
                    fields.iter().any(|f| match &f.kind {
                        FieldKind::Plain(t) | FieldKind::Array { elem: t, .. } => {
                            self.has_float_depth(t, depth + 1)
                        }
                        FieldKind::Bitfield { .. } => false,
                    })
                }
                TypeDef::FnPtr { .. } => false,
                _ => false,
            },
            Ty::Void => false,
        }
    }

    /// The functions of unit `tu`, in definition order.
    pub fn functions_in(&self, tu: usize) -> impl Iterator<Item = (FuncId, &Function)> {
        self.functions
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.tu == tu)
            .map(|(i, f)| (FuncId(i), f))
    }

    /// The driver calls of unit `tu`, in order.
    pub fn calls_in(&self, tu: usize) -> impl Iterator<Item = &CallSite> {
        self.calls
            .iter()
            .filter(move |c| self.functions.get(c.callee.0).is_some_and(|f| f.tu == tu))
    }

    /// True if any unit uses floating point in a signature.
    pub fn tu_uses_float(&self, tu: usize) -> bool {
        self.functions_in(tu).any(|(_, f)| f.uses_float(self))
    }
}

impl Program {
    /// Checks every invariant the emitter relies on: types refer only to earlier types, calls
    /// and references point at existing, earlier functions of the same unit with matching
    /// arity, names are unique where C needs them to be, and call arguments match parameters.
    pub fn validate(&self) -> Result<(), GenError> {
        let bad = |what: String| Err(GenError::InvalidModel { what });
        if self.tus.is_empty() {
            return bad("program has no translation unit".into());
        }
        let mut check = Program::new(&self.policy, self.tus.len());
        for t in &self.types {
            check.push_type(t.clone())?;
        }
        for (i, t) in self.types.iter().enumerate() {
            let own = self.local_unit(TypeId(i));
            let refs: Vec<Ty> = match t {
                TypeDef::Struct { fields, .. } | TypeDef::Union { fields, .. } => fields
                    .iter()
                    .filter_map(|f| match &f.kind {
                        FieldKind::Plain(t) | FieldKind::Array { elem: t, .. } => Some(t.clone()),
                        FieldKind::Bitfield { .. } => None,
                    })
                    .collect(),
                TypeDef::Typedef { target, .. } => vec![target.clone()],
                TypeDef::FnPtr { ret, params, .. } => {
                    std::iter::once(ret.clone()).chain(params.iter().cloned()).collect()
                }
                TypeDef::Enum { .. } | TypeDef::Raw { .. } => Vec::new(),
            };
            if refs
                .iter()
                .any(|r| self.local_refs(r).iter().any(|u| Some(*u) != own))
            {
                return bad(format!(
                    "type {} refers to a type local to another unit",
                    t.name()
                ));
            }
        }
        for (t, u) in &self.unit_types {
            if t.0 >= self.types.len() || *u >= self.tus.len() {
                return bad(format!("local type {} of unit {u} does not exist", t.0));
            }
        }
        let mut names = std::collections::HashSet::new();
        let mut external = std::collections::HashSet::new();
        for (i, f) in self.functions.iter().enumerate() {
            if f.tu >= self.tus.len() {
                return bad(format!(
                    "function {} in unit {} of {}",
                    f.name,
                    f.tu,
                    self.tus.len()
                ));
            }
            if !names.insert((f.tu, f.name.clone())) {
                return bad(format!(
                    "function {} defined twice in unit {}",
                    f.name, f.tu
                ));
            }
            // One strong definition per external name; weak ones may sit beside it (the
            // linker keeps the strong one).
            if f.linkage == Linkage::Global && !external.insert(f.name.clone()) {
                return bad(format!("two external definitions of {}", f.name));
            }
            for t in f.params.iter().map(|p| &p.ty).chain(std::iter::once(&f.ret)) {
                if self.local_refs(t).iter().any(|u| *u != f.tu) {
                    return bad(format!(
                        "{} in unit {} uses a type local to another unit",
                        f.name, f.tu
                    ));
                }
            }
            if f.variadic && f.params.is_empty() {
                return bad(format!("variadic {} has no named parameter", f.name));
            }
            let mut pnames = std::collections::HashSet::new();
            for p in &f.params {
                if p.ty == Ty::Void || !pnames.insert(p.name.clone()) {
                    return bad(format!("{}: bad or duplicate parameter {}", f.name, p.name));
                }
                self.check_refs(&p.ty, TypeId(self.types.len()))?;
            }
            self.check_refs(&f.ret, TypeId(self.types.len()))?;
            self.check_body(i, f, &f.body)?;
        }
        for c in &self.calls {
            let Some(f) = self.functions.get(c.callee.0) else {
                return bad(format!("call to missing function {}", c.callee.0));
            };
            let arity_ok = if f.variadic {
                c.args.len() >= f.params.len()
            } else {
                c.args.len() == f.params.len()
            };
            let va_ok = c.va_types.is_empty()
                || f.variadic && c.va_types.len() + f.params.len() == c.args.len();
            if !arity_ok || !va_ok || c.opaque.len() != c.args.len() {
                return bad(format!(
                    "call to {} with {} arguments for {} parameters",
                    f.name,
                    c.args.len(),
                    f.params.len()
                ));
            }
        }
        for g in &self.globals {
            if g.tu >= self.tus.len() || !g.ty.is_integer() {
                return bad(format!(
                    "global {} is not an integer of an existing unit",
                    g.name
                ));
            }
        }
        Ok(())
    }

    fn check_body(&self, me: usize, f: &Function, body: &[Stmt]) -> Result<(), GenError> {
        for (k, s) in body.iter().enumerate() {
            match s {
                Stmt::Mix(e) | Stmt::ColdCall(e) | Stmt::Sink(e) => self.check_expr(me, f, e)?,
                Stmt::SetParam(i, e) => {
                    let ok = f.params.get(*i).is_some_and(|p| {
                        !p.quals.is_const && matches!(p.ty, Ty::Scalar(s) if s.is_integer())
                    });
                    if !ok {
                        return Err(GenError::InvalidModel {
                            what: format!("{}: parameter {i} is not a writable integer", f.name),
                        });
                    }
                    self.check_expr(me, f, e)?;
                }
                Stmt::If {
                    cond,
                    then,
                    otherwise,
                    ..
                } => {
                    self.check_expr(me, f, cond)?;
                    self.check_body(me, f, then)?;
                    self.check_body(me, f, otherwise)?;
                }
                Stmt::Loop { body, .. } => self.check_body(me, f, body)?,
                Stmt::VaMixed => {
                    if !f.variadic || f.params.len() < 2 {
                        return Err(GenError::InvalidModel {
                            what: format!("{}: mixed va_arg needs a count and a kinds word", f.name),
                        });
                    }
                }
                Stmt::VaSum => {
                    if !f.variadic {
                        return Err(GenError::InvalidModel {
                            what: format!("{}: va_arg in a non-variadic function", f.name),
                        });
                    }
                }
                Stmt::Recurse { depth_param } => {
                    if !matches!(f.params.get(*depth_param).map(|p| &p.ty), Some(Ty::Scalar(s)) if s.is_integer() && !s.is_signed())
                        || !matches!(self.resolve(&f.ret), Ty::Scalar(s) if s.is_integer())
                    {
                        return Err(GenError::InvalidModel {
                            what: format!(
                                "{}: recursion needs an unsigned depth and an integer result",
                                f.name
                            ),
                        });
                    }
                }
                Stmt::TailCall(callee, args) => {
                    self.check_callee(me, f, *callee, args.len())?;
                    let g = &self.functions[callee.0];
                    if g.ret != f.ret || k + 1 != body.len() {
                        return Err(GenError::InvalidModel {
                            what: format!(
                                "{}: tail call to {} must be last and return the same type",
                                f.name, g.name
                            ),
                        });
                    }
                    for a in args {
                        self.check_expr(me, f, a)?;
                    }
                }
                Stmt::EarlyReturn { cond, value } => {
                    self.check_expr(me, f, cond)?;
                    self.check_expr(me, f, value)?;
                }
            }
        }
        Ok(())
    }

    fn check_callee(
        &self,
        me: usize,
        f: &Function,
        callee: FuncId,
        nargs: usize,
    ) -> Result<(), GenError> {
        match self.functions.get(callee.0) {
            Some(g)
                if callee.0 < me
                    && g.tu == f.tu
                    && !g.variadic
                    && g.params.len() == nargs
                    && g.params
                        .iter()
                        .all(|p| matches!(p.ty, Ty::Scalar(s) if s.is_integer())) =>
            {
                Ok(())
            }
            _ => Err(GenError::InvalidModel {
                what: format!("{}: bad call to function {}", f.name, callee.0),
            }),
        }
    }

    fn check_expr(&self, me: usize, f: &Function, e: &Expr) -> Result<(), GenError> {
        let bad = |what: String| Err(GenError::InvalidModel { what });
        match e {
            Expr::Const(_) | Expr::Acc => Ok(()),
            Expr::Param(i) | Expr::ParamPart(i, _) if *i >= f.params.len() => {
                bad(format!("{}: parameter {i} out of range", f.name))
            }
            Expr::Param(_) | Expr::ParamPart(..) => Ok(()),
            Expr::Global(g) => match self.globals.get(*g) {
                Some(gl) if gl.tu == f.tu => Ok(()),
                _ => bad(format!("{}: global {g} not in its unit", f.name)),
            },
            Expr::Bin(_, a, b) => {
                self.check_expr(me, f, a)?;
                self.check_expr(me, f, b)
            }
            Expr::Cond(c, a, b) => {
                self.check_expr(me, f, c)?;
                self.check_expr(me, f, a)?;
                self.check_expr(me, f, b)
            }
            Expr::Call(callee, args) => {
                self.check_callee(me, f, *callee, args.len())?;
                if !matches!(self.functions[callee.0].ret, Ty::Scalar(s) if s.is_integer()) {
                    return bad(format!(
                        "{}: callee {} must return an integer",
                        f.name, callee.0
                    ));
                }
                args.iter().try_for_each(|a| self.check_expr(me, f, a))
            }
        }
    }
}

fn round_up(v: u64, to: u64) -> u64 {
    if to <= 1 {
        v
    } else {
        v.div_ceil(to) * to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfields_must_fit_their_integer_type() {
        assert!(Field::bitfield("b", Scalar::UInt, 32).is_ok());
        assert!(Field::bitfield("b", Scalar::UInt, 33).is_err());
        assert!(Field::bitfield("b", Scalar::UChar, 0).is_err());
        assert!(Field::bitfield("b", Scalar::Double, 3).is_err());
        let err = Field::bitfield("b", Scalar::Bool, 2).expect_err("bool is one bit");
        assert!(err.to_string().contains("bitfield b: width 2"), "{err}");
    }

    #[test]
    fn types_may_refer_only_to_earlier_types() {
        let mut p = Program::new("t", 1);
        let fwd = TypeDef::Typedef {
            name: "t0".into(),
            target: Ty::Def(TypeId(0)),
            quals: Quals::default(),
        };
        assert!(p.push_type(fwd).is_err(), "a typedef of itself");
        let s = p
            .push_type(TypeDef::Struct {
                name: "s".into(),
                fields: vec![Field::plain("a", Ty::Scalar(Scalar::Int))],
                packed: false,
                align: 0,
            })
            .expect("struct");
        let t = TypeDef::Typedef {
            name: "t".into(),
            target: Ty::Def(s),
            quals: Quals::default(),
        };
        assert!(p.push_type(t).is_ok());
        let empty = TypeDef::Struct {
            name: "e".into(),
            fields: vec![],
            packed: false,
            align: 0,
        };
        assert!(p.push_type(empty).is_err());
    }

    #[test]
    fn layouts_follow_the_sysv_abi() {
        let mut p = Program::new("t", 1);
        let int = |n: &str| Field::plain(n, Ty::Scalar(Scalar::Int));
        let char_ = |n: &str| Field::plain(n, Ty::Scalar(Scalar::Char));
        let long = |n: &str| Field::plain(n, Ty::Scalar(Scalar::Long));
        let a = p
            .push_type(TypeDef::Struct {
                name: "a".into(),
                fields: vec![char_("c"), long("l")],
                packed: false,
                align: 0,
            })
            .expect("a");
        let b = p
            .push_type(TypeDef::Struct {
                name: "b".into(),
                fields: vec![char_("c"), long("l")],
                packed: true,
                align: 0,
            })
            .expect("b");
        let bits = vec![
            Field::bitfield("x", Scalar::UInt, 30).expect("x"),
            Field::bitfield("y", Scalar::UInt, 5).expect("y"),
            int("z"),
        ];
        let c = p
            .push_type(TypeDef::Struct {
                name: "c".into(),
                fields: bits,
                packed: false,
                align: 0,
            })
            .expect("c");
        let u = p
            .push_type(TypeDef::Union {
                name: "u".into(),
                fields: vec![char_("c"), long("l")],
            })
            .expect("u");
        assert_eq!(p.size_of(&Ty::Def(a)), 16);
        assert_eq!(p.size_of(&Ty::Def(b)), 9);
        assert_eq!(p.size_of(&Ty::Def(c)), 12);
        assert_eq!(p.size_of(&Ty::Def(u)), 8);
    }
}
