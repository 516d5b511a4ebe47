//! The canonical form: an id-free, order-independent text of what a BTF blob says, so that two
//! encoders' outputs compare by meaning, not by layout.
//!
//! One line per named entity (and per anonymous type nothing refers to), sorted:
//!
//! ```text
//! FUNC dup static: int dup(int a, long b)
//! STRUCT foo size=16 {int a @0; struct bar *next @64}
//! TYPEDEF u32 = unsigned int
//! ```
//!
//! Types are identified by structure: named ones by kind and name, anonymous ones spelled out
//! where they are used. A line that occurs several times (the same FUNC emitted twice, a struct
//! that failed to deduplicate) carries its count, `(x2)`, so duplicates show in a diff too.
//! Only the blob's own types are listed; references into a base are by name.

use crate::render::Renderer;
use crate::types::*;
use crate::Btf;
use std::collections::{BTreeMap, HashSet};

/// The canonical form of one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canon {
    /// Sorted lines, each unique, with `(xN)` appended when it occurred N > 1 times.
    pub lines: Vec<String>,
}

impl Canon {
    /// The canonical form of `btf`'s own types.
    pub fn of(btf: &Btf) -> Canon {
        let r = Renderer::expanding(btf);
        // Anonymous types that something refers to are spelled out at the reference; only the
        // unreferenced ones need a line of their own.
        let mut referenced = HashSet::new();
        for ty in btf.own_types() {
            ty.data.for_each_ref(|t| {
                referenced.insert(t);
            });
        }
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (id, ty) in btf.own_ids().zip(btf.own_types()) {
            for line in lines(btf, &r, id, ty, referenced.contains(&id)).unwrap_or_default() {
                *counts.entry(line).or_default() += 1;
            }
        }
        let lines = counts
            .into_iter()
            .map(|(l, n)| if n > 1 { format!("{l} (x{n})") } else { l })
            .collect();
        Canon { lines }
    }

    /// The lines joined, one per line, ending with a newline.
    pub fn to_text(&self) -> String {
        let mut s = self.lines.join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }

    /// The lines describing FUNCs (`FUNC name linkage: prototype`).
    pub fn funcs(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .filter(|l| l.starts_with("FUNC "))
            .map(String::as_str)
    }
}

fn lines(btf: &Btf, r: &Renderer<'_>, id: TypeId, ty: &Type, referenced: bool) -> Option<Vec<String>> {
    let name = btf.str(ty.name);
    let anon = name.is_empty();
    Some(vec![match &ty.data {
        TypeData::Void => return None,
        TypeData::Int(i) => {
            let mut s = format!(
                "INT {name} size={} bits={} encoding={:?}",
                i.size, i.bits, i.encoding
            );
            if i.bit_offset != 0 {
                s.push_str(&format!(" bit_offset={}", i.bit_offset));
            }
            s
        }
        TypeData::Float(f) => format!("FLOAT {name} size={}", f.size),
        TypeData::Struct(c) | TypeData::Union(c) => {
            if anon && referenced {
                return None;
            }
            let kw = if matches!(ty.data, TypeData::Struct(_)) {
                "STRUCT"
            } else {
                "UNION"
            };
            let shown = if anon { "(anon)" } else { name };
            format!("{kw} {shown} size={} {}", c.size, r.composite_body(c, 0))
        }
        TypeData::Enum(e) => {
            if anon && referenced {
                return None;
            }
            let sign = if e.signed { "signed" } else { "unsigned" };
            let shown = if anon { "(anon)" } else { name };
            format!("ENUM {shown} size={} {sign} {}", e.size, r.enum_body(&ty.data))
        }
        TypeData::Enum64(e) => {
            if anon && referenced {
                return None;
            }
            let sign = if e.signed { "signed" } else { "unsigned" };
            let shown = if anon { "(anon)" } else { name };
            format!("ENUM64 {shown} size={} {sign} {}", e.size, r.enum_body(&ty.data))
        }
        TypeData::Fwd(f) => format!("FWD {} {name}", if f.union { "union" } else { "struct" }),
        TypeData::Typedef(t) => format!("TYPEDEF {name} = {}", r.declaration(*t, "")),
        TypeData::Func(f) => format!(
            "FUNC {name} {}: {}",
            f.linkage.as_str(),
            r.prototype(f.proto, name)
        ),
        TypeData::Var(v) => format!("VAR {name} {}: {}", v.linkage.as_str(), r.declaration(v.ty, name)),
        TypeData::Datasec(d) => {
            // One line per variable: a section holds thousands in a kernel, and a diff should
            // point at the one that moved, not at one giant line.
            let mut lines = vec![format!("DATASEC {name} size={}", d.size)];
            for v in &d.vars {
                lines.push(format!(
                    "DATASEC {name} var {} @{}+{}",
                    btf.type_name(v.ty),
                    v.offset,
                    v.size
                ));
            }
            return Some(lines);
        }
        TypeData::DeclTag(t) => {
            let target = btf.type_by_id(t.ty);
            let kind = target.map_or("?".to_string(), |t| t.data.kind().to_string());
            let mut s = format!("DECL_TAG \"{name}\" -> {kind} {}", btf.type_name(t.ty));
            if t.component_idx >= 0 {
                s.push_str(&format!(" component {}", t.component_idx));
            }
            if t.attribute {
                s.push_str(" attribute");
            }
            s
        }
        // Pointers, qualifiers, arrays, prototypes and type tags are spelled out where used.
        TypeData::Ptr(_)
        | TypeData::Array(_)
        | TypeData::FuncProto(_)
        | TypeData::Const(_)
        | TypeData::Volatile(_)
        | TypeData::Restrict(_)
        | TypeData::TypeTag(_) => {
            if referenced {
                return None;
            }
            format!("UNUSED {}: {}", ty.data.kind(), r.declaration(id, ""))
        }
    }])
}

/// A unified diff of two canonical forms, or `None` when they are equal.
pub fn diff(a: &Canon, b: &Canon, label_a: &str, label_b: &str) -> Option<String> {
    if a == b {
        return None;
    }
    let (ta, tb) = (a.to_text(), b.to_text());
    let d = similar::TextDiff::from_lines(&ta, &tb);
    Some(
        d.unified_diff()
            .context_radius(1)
            .header(label_a, label_b)
            .to_string(),
    )
}
