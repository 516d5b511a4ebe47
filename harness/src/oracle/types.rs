//! Type fidelity: every named struct, union, enum and typedef an encoder wrote, checked against
//! the DWARF type it came from ([`facts::types`]). A tracer reads a member where the BTF
//! says it is; a wrong offset, width or size reads the wrong bytes, so a difference is WRONG_TYPE.
//!
//! What is checked, per BTF type matched by kind and name to the DWARF definitions of that name
//! (a name may have several, one per unit; the BTF type is right if it matches any of them):
//! - structs and unions: size; members by name (anonymous ones in order): present on both sides
//!   (`type:member-missing`, `type:member-extra`), bit offset (`type:member-offset`), bitfield
//!   offset and width, with or without `kind_flag` (`type:bitfield`), the member's type by name
//!   (`type:member-type`), its size (`type:size`) and array dimensions (`type:array-dims`);
//!   anonymous structs and unions inside (also through arrays and typedefs) are checked member by
//!   member, with a path like `struct nest.inner.<anon>.c[0]`;
//! - enums: size, every enumerator's value (`type:enum-value`), signedness where it changes a
//!   value's meaning; ENUM and ENUM64 are both accepted;
//! - typedefs: the target by name (`type:typedef-target`) and size, anonymous targets member by
//!   member.
//!
//! Types are named in a comparison key of this module's own ([`btf_key`], [`dwarf_key`]): base
//! types by name, named composites as `struct N`, typedefs by name, pointers to functions as
//! `fn *`, qualifiers sorted, type tags and `_Atomic` (which BTF cannot express) left out.
//!
//! Not checked (this first version): anonymous types at top level (only through the members and
//! typedefs that use them), function prototypes behind pointers (the DWARF-truth oracle judges
//! FUNCs), the kind of a base type (INT or FLOAT: see [`DELIBERATE`]), `FWD` types, variables.
//! Deliberate encoder choices that change a type without changing where a tracer reads are
//! listed in [`DELIBERATE`] and are never WRONG_TYPE.

use super::differential::flatten_arrays;
use super::{CaseRun, Oracle, Verdict, VerdictKind};
use crate::config::EncoderConfig;
use facts::types::{DMember, DType, NamedKind, Qual, TypeFacts, TypeRef};
use btf::types::{Composite, Member};
use btf::{Btf, TypeData, TypeId};
use std::collections::BTreeSet;

/// The type-fidelity oracle.
#[derive(Debug)]
pub struct TypeFidelity;

/// One deliberate encoder choice that the oracle accepts.
#[derive(Debug, Clone, Copy)]
pub struct Deliberate {
    /// Short name.
    pub rule: &'static str,
    /// The encoders and configurations that make it.
    pub applies_to: &'static str,
    /// Why it is not a wrong type.
    pub why: &'static str,
    /// How it was seen here.
    pub verified: &'static str,
}

/// Deliberate choices: what encoders write differently from the DWARF on purpose, and why a
/// tracer still reads the right bytes (or knows it cannot read them).
pub const DELIBERATE: &[Deliberate] = &[
    Deliberate {
        rule: "float-as-int",
        applies_to: "pahole 1.24 without --btf_gen_floats; pahole >= 1.26 without the `float` feature",
        why: "float, double and long double are written as INT of the same name and size (old kernels have no FLOAT); base types are compared by name and size only, never by kind",
        verified: "pahole 1.24 -J and pahole 1.30 --btf_features=encode_force,var,enum64: `INT 'double' size=8`, `INT 'long double' size=16`",
    },
    Deliberate {
        rule: "unrepresentable-as-int",
        applies_to: "btfenc; pahole without the float feature",
        why: "_Complex float/double are written as INT of the same name and size (BTF has no complex kind); same size, so members after them stay in place",
        verified: "gcc/clang `_Complex double` member: btfenc and pahole 1.30 without float write `INT 'complex double' size=16` (pahole with float fails with ENCODER_FAILED instead)",
    },
    Deliberate {
        rule: "bytes-for-unrepresentable-int",
        applies_to: "btfenc",
        why: "an integer BTF cannot express (`_BitInt(N)` over 128 bits, odd sizes) is written as an array of as many unsigned bytes: same size, same layout, the bytes a tracer reads are the integer's (pahole's 4-byte `__SANITIZED_FAKE_INT__` stand-in is type:size)",
        verified: "corpus/bitint-256-member (clang 19): btfenc writes `unsigned char[32]` for `_BitInt(256)` and `unsigned char[32]` for `unsigned _BitInt(200)`",
    },
    Deliberate {
        rule: "misaligned-float-as-int",
        applies_to: "btfenc",
        why: "a FLOAT member not aligned to min(size, 8) bytes (packed struct) makes the kernel reject the whole blob, so btfenc writes an INT of the same name and size for it",
        verified: "corpus/packed-struct-misaligned-double: btfenc writes `INT 'double' size=8` for the member at byte 12",
    },
    Deliberate {
        rule: "flattened-array",
        applies_to: "pahole <= 1.31 (1.24 and 1.30 here); pahole 1.32 and btfenc keep every dimension",
        why: "a multi-dimensional array is written as one array of all elements (`int a[2][3]` as `int a[6]`): same element type, same total size; dimensions are then compared by total element count",
        verified: "`int grid[2][3]; char cube[2][3][4]`: pahole 1.24 and 1.30 write nr_elems=6 and 24, pahole 1.32 writes 2 x 3 and 2 x 3 x 4",
    },
    Deliberate {
        rule: "no-enum64",
        applies_to: "pahole >= 1.26 without the `enum64` feature (or --skip_encoding_btf_enum64); gcc 12 -gbtf",
        why: "for kernels without ENUM64 these write every enum as ENUM and never set its signed flag: negative values keep their bits (compared modulo 2^32), values beyond 32 bits are truncated to their low 32 bits (pahole) or left out (gcc 12)",
        verified: "`enum { NB_MIN = -0x100000000LL, NB_ONE = 1 }` and `enum { N_MIN = -5 }`: pahole 1.30 --btf_features=encode_force,var,float writes ENUM size=8 NB_MIN=0 and unsigned N_MIN=4294967291; gcc 12 -gbtf writes ENUM size=8 vlen=1 (NB_MIN absent) and unsigned N_MIN",
    },
    Deliberate {
        rule: "enum-or-enum64",
        applies_to: "every encoder",
        why: "an enum whose values fit 32 bits may be ENUM or ENUM64 (size and values decide what a tracer reads, not the kind)",
        verified: "pahole 1.24, 1.30 and btfenc write ENUM64 for `enum { B_HUGE = 0x100000000ULL }` and ENUM for 32-bit enums",
    },
    Deliberate {
        rule: "fwd-for-composite",
        applies_to: "every encoder",
        why: "a FWD in place of a struct or union (the definition was not in the unit) names the same type; a tracer cannot read through it, but reads nothing wrong",
        verified: "the comparison key of a FWD is `struct N` / `union N`; FWDs are never judged at top level",
    },
];

/// What an encoder configuration is allowed by [`DELIBERATE`] beyond what every encoder is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowances {
    /// The `no-enum64` rule applies.
    pub no_enum64: bool,
}

impl Allowances {
    /// The allowances of a configuration: gcc's own `-gbtf`, and pahole told not to write
    /// ENUM64 (a `--btf_features=` list without `enum64`, or `--skip_encoding_btf_enum64`).
    pub fn of(config: &EncoderConfig) -> Allowances {
        let pahole = config.tool.is_pahole();
        let features_without_enum64 = config.args.iter().any(|a| {
            a.strip_prefix("--btf_features=")
                .is_some_and(|list| !list.split(',').any(|f| f == "enum64" || f == "all"))
        });
        let skip = config
            .args
            .iter()
            .any(|a| a == "--skip_encoding_btf_enum64");
        Allowances {
            no_enum64: config.tool == crate::names::EncoderTool::GccBtf
                || (pahole && (features_without_enum64 || skip)),
        }
    }
}

/// One difference between a BTF type and a DWARF definition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mismatch {
    /// The mechanism (`type:member-offset`, ...).
    pub mechanism: &'static str,
    /// Where: `struct s8.m2[0].x`.
    pub path: String,
    /// Both sides: `BTF offset 12, DWARF offset 16`.
    pub detail: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.detail)
    }
}

impl Oracle for TypeFidelity {
    fn name(&self) -> &'static str {
        "type-fidelity"
    }

    fn check(&self, case: &CaseRun<'_>) -> Vec<Verdict> {
        let Ok(facts) = &case.build.types else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for enc in case.encodings {
            let Ok(btf) = &enc.btf else { continue };
            let allow = Allowances::of(&enc.encoder.config);
            let mut seen = BTreeSet::new();
            for id in btf.own_ids() {
                let Some((kind, mismatches)) = judge_type(btf, id, facts, allow) else {
                    continue;
                };
                let first = &mismatches[0];
                if !seen.insert((first.mechanism, first.to_string())) {
                    continue; // the same type again (gcc -gbtf keeps every object's copy)
                }
                let mut detail = first.to_string();
                if mismatches.len() > 1 {
                    let more: Vec<String> = mismatches[1..]
                        .iter()
                        .take(3)
                        .map(|m| format!("\n  also {m}"))
                        .collect();
                    detail.push_str(&more.concat());
                    if mismatches.len() > 4 {
                        detail.push_str(&format!("\n  ({} more)", mismatches.len() - 4));
                    }
                }
                out.push(Verdict {
                    oracle: "type-fidelity".into(),
                    kind: VerdictKind::WrongType,
                    encoder: enc.encoder.config.name.clone(),
                    compiler: case.build.compiler.name.clone(),
                    function: None,
                    phenomenon: format!("type:{kind}").into(),
                    evidence: first.mechanism.to_string(),
                    detail,
                });
            }
        }
        out
    }
}

/// Judges one BTF type: `None` when it is not a named struct, union, enum or typedef, when the
/// DWARF has no definition of that name, or when it matches one of the definitions. Otherwise
/// the kind (`struct`, ...) and the differences from the closest definition (fewest
/// differences, then first in unit order), never empty.
pub fn judge_type(
    btf: &Btf,
    id: TypeId,
    facts: &TypeFacts,
    allow: Allowances,
) -> Option<(&'static str, Vec<Mismatch>)> {
    let ty = btf.type_by_id(id)?;
    let name = btf.try_str(ty.name)?;
    if name.is_empty() {
        return None;
    }
    let (kind, word) = match &ty.data {
        TypeData::Struct(_) => (NamedKind::Struct, "struct"),
        TypeData::Union(_) => (NamedKind::Union, "union"),
        TypeData::Enum(_) | TypeData::Enum64(_) => (NamedKind::Enum, "enum"),
        TypeData::Typedef(_) => (NamedKind::Typedef, "typedef"),
        _ => return None,
    };
    let mut best: Option<Vec<Mismatch>> = None;
    for &candidate in facts.named(kind, name) {
        let mut cmp = Comparer {
            btf,
            facts,
            allow,
            out: Vec::new(),
        };
        cmp.named(id, candidate, &format!("{word} {name}"));
        if cmp.out.is_empty() {
            return None;
        }
        if best.as_ref().is_none_or(|b| cmp.out.len() < b.len()) {
            best = Some(cmp.out);
        }
    }
    best.map(|b| (word, b))
}

/// How deep anonymous members are followed.
const MAX_NESTING: usize = 16;
/// How long a chain of modifiers may be.
const MAX_CHAIN: usize = 32;

struct Comparer<'a> {
    btf: &'a Btf,
    facts: &'a TypeFacts,
    allow: Allowances,
    out: Vec<Mismatch>,
}

impl Comparer<'_> {
    fn report(&mut self, mechanism: &'static str, path: &str, detail: String) {
        self.out.push(Mismatch {
            mechanism,
            path: path.to_string(),
            detail,
        });
    }

    /// A named type against one DWARF definition of its name.
    fn named(&mut self, id: TypeId, d: TypeRef, path: &str) {
        let Some(ty) = self.btf.type_by_id(id) else {
            return;
        };
        match (&ty.data, self.facts.get(d)) {
            (TypeData::Struct(c) | TypeData::Union(c), DType::Composite { .. }) => {
                self.composite(c, d, path, 0)
            }
            (TypeData::Enum(_) | TypeData::Enum64(_), DType::Enum { .. }) => {
                self.enumeration(&ty.data, d, path)
            }
            (TypeData::Typedef(t), DType::Typedef { target, .. }) => {
                self.member_type(*t, *target, path, "type:typedef-target", 0)
            }
            _ => {}
        }
    }

    fn composite(&mut self, c: &Composite, d: TypeRef, path: &str, depth: usize) {
        let DType::Composite { size, members, .. } = self.facts.get(d) else {
            return;
        };
        if let Some(size) = size {
            if u64::from(c.size) != *size {
                self.report(
                    "type:size",
                    path,
                    format!("BTF size {}, DWARF size {size}", c.size),
                );
            }
        }
        let name_of = |m: &Member| self.btf.str(m.name).to_string();
        let mut used = vec![false; c.members.len()];
        let mut anon_seen = 0;
        for dm in members {
            let found = if dm.name.is_empty() {
                let k = anon_seen;
                anon_seen += 1;
                c.members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.name.is_empty())
                    .nth(k)
                    .map(|(i, _)| i)
            } else {
                c.members.iter().position(|m| name_of(m) == dm.name)
            };
            let shown = if dm.name.is_empty() {
                "<anon>"
            } else {
                &dm.name
            };
            let mpath = format!("{path}.{shown}");
            let Some(i) = found else {
                let at = dm
                    .bit_offset
                    .map(|b| format!(" at {}", show_offset(b)))
                    .unwrap_or_default();
                self.report(
                    "type:member-missing",
                    &mpath,
                    format!("not in BTF (DWARF has it{at})"),
                );
                continue;
            };
            used[i] = true;
            self.member(c, &c.members[i], dm, &mpath, depth);
        }
        for (i, m) in c.members.iter().enumerate() {
            if !used[i] {
                let shown = if m.name.is_empty() {
                    "<anon>".to_string()
                } else {
                    name_of(m)
                };
                self.report(
                    "type:member-extra",
                    &format!("{path}.{shown}"),
                    format!(
                        "in BTF at {}, not in DWARF",
                        show_offset(u64::from(m.bit_offset))
                    ),
                );
            }
        }
    }

    fn member(&mut self, c: &Composite, m: &Member, dm: &DMember, path: &str, depth: usize) {
        let (b_off, b_width, legacy) = btf_member_bits(self.btf, c, m);
        let d_full = self.facts.size(dm.ty).map(|s| s * 8);
        match (dm.bit_size, dm.bit_offset) {
            (Some(width), Some(d_off)) => {
                // A bitfield: offset and width must agree. A plain member in BTF is the same thing
                // when the bitfield fills its whole type.
                let b_width_eff = b_width.or_else(|| {
                    if Some(width) == d_full {
                        Some(width)
                    } else {
                        None
                    }
                });
                if b_off != d_off || b_width_eff != Some(width) {
                    let shown = match b_width {
                        Some(w) => format!("bit offset {b_off} width {w}"),
                        None => format!("bit offset {b_off}, not a bitfield"),
                    };
                    self.report(
                        "type:bitfield",
                        path,
                        format!("BTF {shown}, DWARF bit offset {d_off} width {width}"),
                    );
                    return;
                }
            }
            (None, Some(d_off)) => {
                if b_off != d_off {
                    self.report(
                        "type:member-offset",
                        path,
                        format!(
                            "BTF offset {}, DWARF offset {}",
                            show_offset(b_off),
                            show_offset(d_off)
                        ),
                    );
                    return;
                }
                // A bitfield size in BTF for a plain member is wrong unless it is the whole type
                // (or only implied by a legacy INT's own bits, e.g. `_BitInt(7)`).
                if let Some(w) = b_width {
                    if !legacy && Some(w) != d_full {
                        self.report(
                            "type:bitfield",
                            path,
                            format!(
                                "BTF bit offset {b_off} width {w}, DWARF not a bitfield (offset {})",
                                show_offset(d_off)
                            ),
                        );
                        return;
                    }
                }
            }
            (_, None) => {}
        }
        // The type of a bitfield is its storage type in both: compare it too.
        self.member_type(m.ty, dm.ty, path, "type:member-type", depth);
    }

    /// A member's (or typedef's) type: size, name key, array dimensions, and anonymous
    /// composites inside.
    fn member_type(
        &mut self,
        b: TypeId,
        d: TypeRef,
        path: &str,
        name_mechanism: &'static str,
        depth: usize,
    ) {
        let (kb, kd) = (btf_key(self.btf, b), dwarf_key(self.facts, d));
        let (sb, sd) = (btf_size(self.btf, b), self.facts.size(d));
        if let (Some(sb), Some(sd)) = (sb, sd) {
            if sb != sd {
                self.report(
                    "type:size",
                    path,
                    format!("BTF type `{kb}` size {sb}, DWARF type `{kd}` size {sd}"),
                );
                return;
            }
        }
        // bytes-for-unrepresentable-int: an integer BTF cannot express, as bytes of its size.
        if let DType::Base { size, .. } = self.facts.get(d) {
            if !matches!(size, 1 | 2 | 4 | 8 | 16) && kb == format!("unsigned char[{size}]") {
                return;
            }
        }
        // A DWARF type this reader does not follow (`?`, e.g. a cross-unit reference) is not judged.
        if kb != kd && !kd.contains('?') {
            // flattened-array: the BTF has one dimension where the DWARF has several, with the
            // same total (never another arrangement of several dimensions).
            if flatten_arrays(&kb) == kb && flatten_arrays(&kd) == kb {
                return;
            }
            let mechanism = if strip_dims(&kb) == strip_dims(&kd) {
                "type:array-dims"
            } else {
                name_mechanism
            };
            self.report(mechanism, path, format!("BTF `{kb}`, DWARF `{kd}`"));
            return;
        }
        if depth >= MAX_NESTING {
            return;
        }
        // Same name: follow anonymous composites (through qualifiers, typedefs of anonymous
        // types and arrays) to check their members.
        let (b, bpath) = peel_btf(self.btf, b, path);
        let (d, dpath) = peel_dwarf(self.facts, d, path);
        if bpath != dpath {
            return;
        }
        let Some(t) = self.btf.type_by_id(b) else {
            return;
        };
        if !t.name.is_empty() {
            return;
        }
        match (&t.data, self.facts.get(d)) {
            (TypeData::Struct(c) | TypeData::Union(c), DType::Composite { name, .. })
                if name.is_empty() =>
            {
                self.composite(c, d, &bpath, depth + 1)
            }
            (TypeData::Enum(_) | TypeData::Enum64(_), DType::Enum { name, .. })
                if name.is_empty() =>
            {
                self.enumeration(&t.data, d, &bpath)
            }
            _ => {}
        }
    }

    fn enumeration(&mut self, data: &TypeData, d: TypeRef, path: &str) {
        let DType::Enum {
            size,
            signed: d_signed,
            values,
            ..
        } = self.facts.get(d)
        else {
            return;
        };
        let (b_size, b_signed, width, b_values): (u32, bool, u32, Vec<(String, u64)>) = match data {
            TypeData::Enum(e) => (
                e.size,
                e.signed,
                32,
                e.values
                    .iter()
                    .map(|v| (self.btf.str(v.name).to_string(), u64::from(v.value)))
                    .collect(),
            ),
            TypeData::Enum64(e) => (
                e.size,
                e.signed,
                64,
                e.values
                    .iter()
                    .map(|v| (self.btf.str(v.name).to_string(), v.value))
                    .collect(),
            ),
            _ => return,
        };
        if let Some(size) = size {
            if u64::from(b_size) != *size {
                self.report(
                    "type:size",
                    path,
                    format!("BTF size {b_size}, DWARF size {size}"),
                );
            }
        }
        let mask: u128 = if width == 32 {
            0xffff_ffff
        } else {
            u128::from(u64::MAX)
        };
        let fits32 = |v: i128| (i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(&v);
        let read = |bits: u64| -> i128 {
            match (b_signed, width) {
                (true, 32) => i128::from(bits as u32 as i32),
                (true, _) => i128::from(bits as i64),
                (false, _) => i128::from(bits),
            }
        };
        for (name, v) in values {
            let vpath = format!("{path}.{name}");
            let Some((_, bits)) = b_values.iter().find(|(n, _)| n == name) else {
                if !(self.allow.no_enum64 && width == 32 && !fits32(*v)) {
                    self.report(
                        "type:enum-value",
                        &vpath,
                        format!("not in BTF (DWARF value {v})"),
                    );
                }
                continue;
            };
            let same_bits = u128::from(*bits) == (*v as u128) & mask;
            if !same_bits || (width == 32 && !fits32(*v) && !self.allow.no_enum64) {
                self.report(
                    "type:enum-value",
                    &vpath,
                    format!("BTF value {}, DWARF value {v}", read(*bits)),
                );
                continue;
            }
            // Same bits. Signedness changes the value only when the top bit is set: a signed flag
            // on an unsigned enum is wrong; no flag on a signed one is the no-enum64 rule (or
            // wrong). When the DWARF does not say which it is, the bits are all there is.
            let top = (*bits >> (width - 1)) & 1 == 1;
            let excused = !b_signed && self.allow.no_enum64;
            if top && read(*bits) != *v && d_signed.is_some() && !excused {
                self.report(
                    "type:enum-value",
                    &vpath,
                    format!(
                        "BTF value {} ({}), DWARF value {v}",
                        read(*bits),
                        if b_signed { "signed" } else { "unsigned" }
                    ),
                );
            }
        }
        for (name, bits) in &b_values {
            if !values.iter().any(|(n, _)| n == name) {
                self.report(
                    "type:enum-value",
                    &format!("{path}.{name}"),
                    format!("in BTF (value {}), not in DWARF", read(*bits)),
                );
            }
        }
    }
}

/// `12` for a byte-aligned bit offset 96, `12+3 bits` otherwise.
fn show_offset(bits: u64) -> String {
    if bits.is_multiple_of(8) {
        format!("{}", bits / 8)
    } else {
        format!("{}+{} bits", bits / 8, bits % 8)
    }
}

/// A BTF member's bit offset and bitfield width, and whether the width comes only from a legacy
/// INT's bits. With `kind_flag` the member carries both; without it a bitfield is a member whose
/// type is an INT narrower than its storage (or with a bit offset of its own).
fn btf_member_bits(btf: &Btf, c: &Composite, m: &Member) -> (u64, Option<u64>, bool) {
    if c.bitfield_encoding {
        let w = (m.bitfield_size != 0).then_some(u64::from(m.bitfield_size));
        return (u64::from(m.bit_offset), w, false);
    }
    let mut id = m.ty;
    for _ in 0..MAX_CHAIN {
        match btf.type_by_id(id).map(|t| &t.data) {
            Some(TypeData::Int(i)) => {
                if u32::from(i.bits) != i.size * 8 || i.bit_offset != 0 {
                    return (
                        u64::from(m.bit_offset) + u64::from(i.bit_offset),
                        Some(u64::from(i.bits)),
                        true,
                    );
                }
                break;
            }
            Some(
                TypeData::Typedef(t)
                | TypeData::Const(t)
                | TypeData::Volatile(t)
                | TypeData::Restrict(t),
            ) => id = *t,
            Some(TypeData::TypeTag(t)) => id = t.ty,
            _ => break,
        }
    }
    (u64::from(m.bit_offset), None, false)
}

/// Size in bytes of a BTF type, through modifiers and arrays; `None` for void, FWD, functions.
pub fn btf_size(btf: &Btf, mut id: TypeId) -> Option<u64> {
    let mut factor: u64 = 1;
    for _ in 0..MAX_CHAIN {
        let size = match &btf.type_by_id(id)?.data {
            TypeData::Int(i) => i.size,
            TypeData::Float(f) => f.size,
            TypeData::Ptr(_) => 8,
            TypeData::Struct(c) | TypeData::Union(c) => c.size,
            TypeData::Enum(e) => e.size,
            TypeData::Enum64(e) => e.size,
            TypeData::Array(a) => {
                factor = factor.saturating_mul(u64::from(a.len));
                id = a.elem;
                continue;
            }
            data => {
                id = data.modified()?;
                continue;
            }
        };
        return Some(u64::from(size).saturating_mul(factor));
    }
    None
}

/// The qualifiers in front of a key, sorted.
fn with_quals(quals: &mut Vec<&'static str>, key: String) -> String {
    quals.sort_unstable();
    quals.dedup();
    let mut out = String::new();
    for q in quals.iter() {
        out.push_str(q);
        out.push(' ');
    }
    out + &key
}

/// The comparison key of a BTF type (see the module doc).
pub fn btf_key(btf: &Btf, id: TypeId) -> String {
    btf_key_at(btf, id, 0)
}

fn btf_key_at(btf: &Btf, mut id: TypeId, depth: usize) -> String {
    if depth > MAX_CHAIN {
        return "...".into();
    }
    let mut quals = Vec::new();
    for _ in 0..MAX_CHAIN {
        let Some(t) = btf.type_by_id(id) else {
            return "?".into();
        };
        let name = btf.str(t.name);
        let named = |word: &str| {
            if name.is_empty() {
                format!("{word} {{anon}}")
            } else {
                format!("{word} {name}")
            }
        };
        let key = match &t.data {
            TypeData::Const(t) => {
                quals.push("const");
                id = *t;
                continue;
            }
            TypeData::Volatile(t) => {
                quals.push("volatile");
                id = *t;
                continue;
            }
            TypeData::Restrict(t) => {
                quals.push("restrict");
                id = *t;
                continue;
            }
            TypeData::TypeTag(t) => {
                id = t.ty;
                continue;
            }
            TypeData::Void => "void".to_string(),
            TypeData::Int(_) | TypeData::Float(_) | TypeData::Typedef(_) => name.to_string(),
            TypeData::Ptr(t) => {
                let mut target = *t;
                for _ in 0..MAX_CHAIN {
                    match btf.type_by_id(target).map(|t| &t.data) {
                        Some(TypeData::TypeTag(t)) => target = t.ty,
                        _ => break,
                    }
                }
                if matches!(
                    btf.type_by_id(target).map(|t| &t.data),
                    Some(TypeData::FuncProto(_))
                ) {
                    "fn *".to_string()
                } else {
                    format!("{} *", btf_key_at(btf, *t, depth + 1))
                }
            }
            TypeData::Array(_) => {
                let mut dims = String::new();
                let mut elem = id;
                while let Some(TypeData::Array(a)) = btf.type_by_id(elem).map(|t| &t.data) {
                    dims.push_str(&format!("[{}]", a.len));
                    elem = a.elem;
                    if dims.len() > 256 {
                        break;
                    }
                }
                format!("{}{dims}", btf_key_at(btf, elem, depth + 1))
            }
            TypeData::Struct(_) => named("struct"),
            TypeData::Union(_) => named("union"),
            TypeData::Enum(_) | TypeData::Enum64(_) => named("enum"),
            TypeData::Fwd(f) => named(if f.union { "union" } else { "struct" }),
            TypeData::FuncProto(_) => "fn".to_string(),
            _ => "?".to_string(),
        };
        return with_quals(&mut quals, key);
    }
    "...".into()
}

/// The comparison key of a DWARF type, built like [`btf_key`].
pub fn dwarf_key(facts: &TypeFacts, r: TypeRef) -> String {
    dwarf_key_at(facts, r, 0)
}

fn dwarf_key_at(facts: &TypeFacts, mut r: TypeRef, depth: usize) -> String {
    if depth > MAX_CHAIN {
        return "...".into();
    }
    let mut quals = Vec::new();
    for _ in 0..MAX_CHAIN {
        let named = |word: &str, name: &str| {
            if name.is_empty() {
                format!("{word} {{anon}}")
            } else {
                format!("{word} {name}")
            }
        };
        let key = match facts.get(r) {
            DType::Qualified(q, t) => {
                quals.push(match q {
                    Qual::Const => "const",
                    Qual::Volatile => "volatile",
                    Qual::Restrict => "restrict",
                });
                r = *t;
                continue;
            }
            DType::Atomic(t) => {
                r = *t;
                continue;
            }
            DType::Void => "void".to_string(),
            DType::Base { name, .. } | DType::Typedef { name, .. } => name.clone(),
            DType::Ptr(t) => {
                if matches!(facts.get(*t), DType::Function) {
                    "fn *".to_string()
                } else {
                    format!("{} *", dwarf_key_at(facts, *t, depth + 1))
                }
            }
            DType::Array { elem, dims } => {
                // Nested DWARF arrays (rare) add their dimensions after this one's.
                let mut all: Vec<u64> = dims.clone();
                let mut e = *elem;
                while let DType::Array { elem, dims } = facts.get(e) {
                    all.extend(dims);
                    e = *elem;
                    if all.len() > 64 {
                        break;
                    }
                }
                let dims: String = all.iter().map(|n| format!("[{n}]")).collect();
                format!("{}{dims}", dwarf_key_at(facts, e, depth + 1))
            }
            DType::Composite { union, name, .. } => {
                named(if *union { "union" } else { "struct" }, name)
            }
            DType::Enum { name, .. } => named("enum", name),
            DType::Function => "fn".to_string(),
            DType::Unknown => "?".to_string(),
        };
        return with_quals(&mut quals, key);
    }
    "...".into()
}

/// A key without its array dimensions.
fn strip_dims(key: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for ch in key.chars() {
        match ch {
            '[' => skipping = true,
            ']' => skipping = false,
            _ if !skipping => out.push(ch),
            _ => {}
        }
    }
    out
}

/// Follows qualifiers, type tags, typedefs of anonymous types and arrays (adding `[0]` to the
/// path) to the type whose members are checked next.
fn peel_btf(btf: &Btf, mut id: TypeId, path: &str) -> (TypeId, String) {
    let mut path = path.to_string();
    for _ in 0..MAX_CHAIN {
        let Some(t) = btf.type_by_id(id) else { break };
        match &t.data {
            TypeData::Const(n) | TypeData::Volatile(n) | TypeData::Restrict(n) => id = *n,
            TypeData::TypeTag(n) => id = n.ty,
            TypeData::Array(a) => {
                path.push_str("[0]");
                id = a.elem;
            }
            _ => break,
        }
    }
    (id, path)
}

/// [`peel_btf`] on the DWARF side: one `[0]` per dimension, so that a flattened array (one
/// dimension in BTF) is not followed (the paths differ).
fn peel_dwarf(facts: &TypeFacts, mut r: TypeRef, path: &str) -> (TypeRef, String) {
    let mut path = path.to_string();
    for _ in 0..MAX_CHAIN {
        match facts.get(r) {
            DType::Qualified(_, n) | DType::Atomic(n) => r = *n,
            DType::Array { elem, dims } => {
                for _ in dims {
                    path.push_str("[0]");
                }
                r = *elem;
            }
            _ => break,
        }
    }
    (r, path)
}

#[cfg(test)]
mod tests;
