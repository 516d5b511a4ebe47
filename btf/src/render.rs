//! C rendering: type names, declarations and function prototypes, as a C programmer writes them.
//!
//! ```
//! # use btf::{Btf, TypeData, types::*};
//! let mut b = Btf::new(None);
//! let n = b.add_str("char");
//! let ch = b.add_type(Type { name: n, data: TypeData::Int(Int { size: 1, encoding: IntEncoding::SIGNED, bit_offset: 0, bits: 8 }) });
//! let cst = b.add_type(Type { name: StrRef::EMPTY, data: TypeData::Const(ch) });
//! let ptr = b.add_type(Type { name: StrRef::EMPTY, data: TypeData::Ptr(cst) });
//! assert_eq!(btf::render::declaration(&b, ptr, "fmt"), "const char *fmt");
//! assert_eq!(btf::render::type_name(&b, ptr), "const char *");
//! ```

use crate::types::*;
use crate::Btf;

/// How deep a declarator may nest before rendering gives up (with `...`). Real C stays far below;
/// the bound only matters for hostile input.
const MAX_DEPTH: usize = 64;

/// How many types one rendering may visit. Depth alone does not bound the work: a prototype
/// whose parameters are pointers to a prototype with two parameters, 60 levels down, is a DAG of
/// 2^60 paths. Real declarations visit a few dozen types; past the budget, `...` is printed.
const MAX_VISITS: usize = 20_000;

/// Renders types of one blob. `expand_anon` spells anonymous structs, unions and enums out in
/// full (used by [`crate::canon`], where an anonymous type has no other identity).
#[derive(Debug, Clone)]
pub struct Renderer<'a> {
    btf: &'a Btf,
    expand_anon: bool,
    param_names: bool,
    /// Types visited so far by this renderer (see [`MAX_VISITS`]); reset per top-level call.
    visits: std::cell::Cell<usize>,
}

impl<'a> Renderer<'a> {
    /// A renderer that writes anonymous composites as `struct {...}`.
    pub fn new(btf: &'a Btf) -> Self {
        Renderer {
            btf,
            expand_anon: false,
            param_names: true,
            visits: std::cell::Cell::new(0),
        }
    }

    /// The same renderer, leaving parameter names out of prototypes: `int f(int, long int)`.
    /// Two prototypes that differ only in names pass arguments identically, so oracles compare
    /// this form.
    pub fn without_param_names(self) -> Self {
        Renderer {
            param_names: false,
            ..self
        }
    }

    /// A renderer that expands anonymous composites and enums inline.
    pub fn expanding(btf: &'a Btf) -> Self {
        Renderer {
            btf,
            expand_anon: true,
            param_names: true,
            visits: std::cell::Cell::new(0),
        }
    }

    /// `T name` for a declaration of `name` with type `id` (`name` may be empty).
    pub fn declaration(&self, id: TypeId, name: &str) -> String {
        self.visits.set(0);
        self.decl(id, name.to_string(), 0)
    }

    fn decl(&self, id: TypeId, inner: String, depth: usize) -> String {
        self.visits.set(self.visits.get() + 1);
        if depth > MAX_DEPTH || self.visits.get() > MAX_VISITS {
            return join("...", &inner);
        }
        let Some(ty) = self.btf.type_by_id(id) else {
            return join(&format!("<bad type {}>", id.0), &inner);
        };
        let wrap = |inner: &str| {
            if inner.starts_with('*') {
                format!("({inner})")
            } else {
                inner.to_string()
            }
        };
        match &ty.data {
            TypeData::Ptr(t) => self.decl(*t, format!("*{inner}"), depth + 1),
            TypeData::Array(a) => {
                self.decl(a.elem, format!("{}[{}]", wrap(&inner), a.len), depth + 1)
            }
            TypeData::FuncProto(p) => {
                let params = self.params(p, depth);
                self.decl(p.ret, format!("{}({params})", wrap(&inner)), depth + 1)
            }
            TypeData::Const(t) | TypeData::Volatile(t) | TypeData::Restrict(t) => {
                let q = match ty.data {
                    TypeData::Const(_) => "const",
                    TypeData::Volatile(_) => "volatile",
                    _ => "restrict",
                };
                self.qualified(*t, q, inner, depth)
            }
            TypeData::TypeTag(t) => {
                let q = format!("__attribute__((btf_type_tag(\"{}\")))", self.btf.str(ty.name));
                self.qualified(t.ty, &q, inner, depth)
            }
            _ => join(&self.base_name(id, depth), &inner),
        }
    }

    /// A qualifier applies to the pointer on its right when the qualified type is a pointer
    /// (`int *const p`), else it prefixes the base type (`const int *p`).
    fn qualified(&self, target: TypeId, q: &str, inner: String, depth: usize) -> String {
        if self.is_pointer(target) {
            self.decl(target, join(q, &inner), depth + 1)
        } else {
            format!("{q} {}", self.decl(target, inner, depth + 1))
        }
    }

    fn is_pointer(&self, mut id: TypeId) -> bool {
        for _ in 0..MAX_DEPTH {
            match self.btf.type_by_id(id).map(|t| &t.data) {
                Some(TypeData::Ptr(_)) => return true,
                Some(TypeData::Const(t) | TypeData::Volatile(t) | TypeData::Restrict(t)) => {
                    id = *t
                }
                Some(TypeData::TypeTag(t)) => id = t.ty,
                _ => return false,
            }
        }
        false
    }

    fn params(&self, p: &FuncProto, depth: usize) -> String {
        if p.params.is_empty() {
            return "void".to_string();
        }
        let mut parts = Vec::with_capacity(p.params.len());
        for (i, param) in p.params.iter().enumerate() {
            if i + 1 == p.params.len() && p.is_variadic() {
                parts.push("...".to_string());
            } else {
                let name = if self.param_names {
                    self.btf.str(param.name).to_string()
                } else {
                    String::new()
                };
                parts.push(self.decl(param.ty, name, depth + 1));
            }
        }
        parts.join(", ")
    }

    /// The name of a non-declarator type: `int`, `struct foo`, `enum bar`, a typedef's name.
    fn base_name(&self, id: TypeId, depth: usize) -> String {
        let Some(ty) = self.btf.type_by_id(id) else {
            return format!("<bad type {}>", id.0);
        };
        let name = self.btf.str(ty.name);
        let tagged = |kw: &str| {
            if name.is_empty() {
                format!("{kw} (anon)")
            } else {
                format!("{kw} {name}")
            }
        };
        match &ty.data {
            TypeData::Void => "void".to_string(),
            TypeData::Struct(c) | TypeData::Union(c) => {
                let kw = if matches!(ty.data, TypeData::Struct(_)) {
                    "struct"
                } else {
                    "union"
                };
                match (name.is_empty(), self.expand_anon) {
                    (false, _) => format!("{kw} {name}"),
                    (true, false) => format!("{kw} {{...}}"),
                    (true, true) => format!("{kw} {}", self.composite_body(c, depth + 1)),
                }
            }
            TypeData::Enum(_) | TypeData::Enum64(_) => match (name.is_empty(), self.expand_anon) {
                (false, _) => format!("enum {name}"),
                (true, false) => "enum {...}".to_string(),
                (true, true) => format!("enum {}", self.enum_body(&ty.data)),
            },
            TypeData::Fwd(f) => tagged(if f.union { "union" } else { "struct" }),
            TypeData::Int(_) | TypeData::Float(_) | TypeData::Typedef(_) | TypeData::Func(_) => {
                if name.is_empty() {
                    format!("<anon {}>", ty.data.kind())
                } else {
                    name.to_string()
                }
            }
            _ => format!("<{} {}>", ty.data.kind(), name),
        }
    }

    /// `{int a; long b:3 @32; ...}` — members with their bit offsets, the layout an encoder must
    /// get right.
    pub fn composite_body(&self, c: &Composite, depth: usize) -> String {
        if depth == 0 {
            self.visits.set(0);
        }
        if depth > MAX_DEPTH || self.visits.get() > MAX_VISITS {
            return "{...}".to_string();
        }
        let mut s = String::from("{");
        for m in &c.members {
            s.push_str(&self.decl(m.ty, self.btf.str(m.name).to_string(), depth + 1));
            if m.bitfield_size != 0 {
                s.push_str(&format!(":{}", m.bitfield_size));
            }
            s.push_str(&format!(" @{}; ", m.bit_offset));
        }
        if s.ends_with(' ') {
            s.pop();
        }
        s.push('}');
        s
    }

    /// `{A=0, B=1}` for an enum's values, signed or unsigned as the enum says.
    pub fn enum_body(&self, data: &TypeData) -> String {
        let values: Vec<String> = match data {
            TypeData::Enum(e) => e
                .values
                .iter()
                .map(|v| {
                    let val = if e.signed {
                        (v.value as i32).to_string()
                    } else {
                        v.value.to_string()
                    };
                    format!("{}={val}", self.btf.str(v.name))
                })
                .collect(),
            TypeData::Enum64(e) => e
                .values
                .iter()
                .map(|v| {
                    let val = if e.signed {
                        (v.value as i64).to_string()
                    } else {
                        v.value.to_string()
                    };
                    format!("{}={val}", self.btf.str(v.name))
                })
                .collect(),
            _ => Vec::new(),
        };
        format!("{{{}}}", values.join(", "))
    }

    /// `int dup(int a, long b)` for a FUNC (or `name` + any FUNC_PROTO).
    pub fn prototype(&self, proto: TypeId, name: &str) -> String {
        self.declaration(proto, name)
    }
}

fn join(base: &str, inner: &str) -> String {
    if inner.is_empty() {
        base.to_string()
    } else {
        format!("{base} {inner}")
    }
}

/// `T name`, e.g. `const char *fmt` or `int (*cb)(void *)`.
pub fn declaration(btf: &Btf, id: TypeId, name: &str) -> String {
    Renderer::new(btf).declaration(id, name)
}

/// The abstract type name, e.g. `const char *` or `int [4]`.
pub fn type_name(btf: &Btf, id: TypeId) -> String {
    Renderer::new(btf).declaration(id, "")
}

/// The C prototype of a FUNC: `static int dup(int a, long b)` without the linkage keyword,
/// i.e. `int dup(int a, long b)`. `None` if `func` is not a FUNC.
pub fn func_prototype(btf: &Btf, func: TypeId) -> Option<String> {
    let ty = btf.type_by_id(func)?;
    match &ty.data {
        TypeData::Func(f) => Some(Renderer::new(btf).prototype(f.proto, btf.str(ty.name))),
        _ => None,
    }
}

/// The prototype of a FUNC with parameter names left out (`int dup(int, long int)`): the part of a
/// prototype that decides how arguments are passed. `None` if `func` is not a FUNC.
pub fn func_signature(btf: &Btf, func: TypeId) -> Option<String> {
    let ty = btf.type_by_id(func)?;
    match &ty.data {
        TypeData::Func(f) => Some(
            Renderer::new(btf)
                .without_param_names()
                .prototype(f.proto, btf.str(ty.name)),
        ),
        _ => None,
    }
}
