//! The `locations` and `types` recipes (issue "Reach I", items 3 and 4).
//!
//! Locations: parameters kept in callee-saved registers across calls to a weak helper (whose
//! clobbers the compiler cannot know, so gcc's IPA register allocation cannot keep them in a
//! caller-saved register), parameters overwritten between calls (their location lists stop
//! early), and constant-argument functions with a cold path (gcc `.constprop` clones split into
//! a hot and a `.cold` range).
//!
//! Types: C features the structured model does not describe are written as [`TypeDef::Raw`]
//! text with `NAME_make` / `NAME_ptr` / `NAME_fold` helpers. Where a compiler lacks a feature
//! (`_BitInt` before clang 16, fixed enum types in gcc 12, BTF tags outside clang) the text
//! falls back, under `#if`, to a type of the same size, alignment and argument class, so the
//! ground truth (names, sizes, values) holds for every compiler and the checksum is the same.

use std::fmt::Write as _;

use super::{Gen, Use, INT_PARAM_SCALARS};
use crate::emit::{Emitter, Flavour};
use crate::error::GenError;
use crate::model::*;
use crate::policy::Hazard;

/// Layout of a C struct from its members' (size, align), natural alignment.
fn c_layout(members: &[(u64, u64)]) -> (u64, u64) {
    let (mut off, mut align) = (0u64, 1u64);
    for (s, a) in members {
        off = off.div_ceil(*a) * *a + s;
        align = align.max(*a);
    }
    (off.max(1).div_ceil(align) * align, align)
}

/// Size and alignment of `_BitInt(w)` on x86-64 (clang 16+; the fallbacks copy it).
fn bitint_layout(w: u32) -> (u64, u64) {
    match w {
        0..=8 => (1, 1),
        9..=16 => (2, 2),
        17..=32 => (4, 4),
        33..=64 => (8, 8),
        _ => (u64::from(w.div_ceil(64)) * 8, 8),
    }
}

/// The prefix writing the BTF tag macros (clang with the attributes; empty elsewhere).
const TAG_MACROS: &str = "#ifndef BS_TTAG
#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(btf_type_tag) && __has_attribute(btf_decl_tag)
#define BS_TTAG(x) __attribute__((btf_type_tag(x)))
#define BS_DTAG(x) __attribute__((btf_decl_tag(x)))
#endif
#endif
#ifndef BS_TTAG
#define BS_TTAG(x)
#define BS_DTAG(x)
#endif
#endif
";

impl Gen<'_> {
    /// A weak `unsigned long long NAME(unsigned long long)` helper in `tu`: a weak definition
    /// may be replaced at link time, so callers assume it clobbers every caller-saved register.
    fn weak_helper(&mut self, tu: usize, h: Hazard) -> FuncId {
        let name = self.fresh("locw");
        let params = vec![Param {
            name: "p0".into(),
            ty: Ty::Scalar(Scalar::ULongLong),
            quals: Quals::default(),
        }];
        let body = vec![
            Stmt::Mix(Expr::Bin(
                BinOp::Mul,
                Box::new(Expr::Param(0)),
                Box::new(Expr::Const(7)),
            )),
            Stmt::Sink(Expr::Acc),
        ];
        let f = self.function(
            name,
            tu,
            Linkage::Weak,
            InlineHint::NoInline,
            Ty::Scalar(Scalar::ULongLong),
            params,
            body,
            h,
        );
        self.calls(f, 1, &[]);
        f
    }

    pub(super) fn locations_recipe(&mut self, h: Hazard) -> Result<(), GenError> {
        use Hazard as H;
        let tu = self.random_tu();
        let nil = InlineHint::NoInline;
        let call = |w: FuncId, e: Expr| Expr::Call(w, vec![e]);
        let bin = |op: BinOp, a: Expr, b: Expr| Expr::Bin(op, Box::new(a), Box::new(b));
        match h {
            H::LocCalleeSaved => {
                let w = self.weak_helper(tu, h);
                let n = 2 + self.below(3) as u32;
                let params = self.int_params(n);
                // Every parameter is read after the calls: it must survive them in a
                // callee-saved register; after its last use it is only the entry value.
                let mut body = vec![
                    Stmt::Mix(call(w, Expr::Param(0))),
                    Stmt::Mix(bin(BinOp::Add, Expr::Param(1), call(w, Expr::Acc))),
                ];
                for i in 0..params.len() {
                    let op = self.pick(&[BinOp::Add, BinOp::Xor, BinOp::Mul]);
                    body.push(Stmt::Mix(bin(op, Expr::Param(i), Expr::Acc)));
                    if self.chance(40) {
                        body.push(Stmt::Mix(call(w, Expr::Acc)));
                    }
                }
                body.push(Stmt::Mix(call(w, Expr::Acc)));
                let linkage = if self.chance(50) {
                    Linkage::Static
                } else {
                    Linkage::Global
                };
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("csave");
                let f = self.function(name, tu, linkage, nil, ret, params, body, h);
                let n = self.ncalls();
                self.calls(f, n, &[]);
            }
            H::LocPartialLive => {
                let w = self.weak_helper(tu, h);
                let n = 2 + self.below(3) as u32;
                let params = self.int_params(n);
                let mut body = vec![
                    Stmt::Mix(bin(BinOp::Mul, Expr::Param(0), Expr::Const(3))),
                    Stmt::Mix(bin(BinOp::Xor, Expr::Acc, Expr::Param(1))),
                ];
                for i in 2..params.len() {
                    body.push(Stmt::Mix(bin(BinOp::Add, Expr::Acc, Expr::Param(i))));
                }
                // Overwritten, then needed across a call: the value at entry is gone and the
                // new one lives only until its last use.
                body.push(Stmt::SetParam(
                    0,
                    bin(BinOp::Add, Expr::Acc, Expr::Param(1)),
                ));
                body.push(Stmt::Mix(call(
                    w,
                    bin(BinOp::Add, Expr::Acc, Expr::Param(0)),
                )));
                body.push(Stmt::SetParam(1, Expr::Acc));
                body.push(Stmt::Mix(call(
                    w,
                    bin(BinOp::Xor, Expr::Acc, Expr::Const(5)),
                )));
                body.push(Stmt::Mix(call(
                    w,
                    bin(BinOp::Xor, Expr::Acc, Expr::Param(1)),
                )));
                let linkage = if self.chance(50) {
                    Linkage::Static
                } else {
                    Linkage::Global
                };
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("plive");
                let f = self.function(name, tu, linkage, nil, ret, params, body, h);
                let n = self.ncalls();
                self.calls(f, n, &[]);
            }
            _ => {
                // Constant argument `k` at every call site (never parameter 0, which the
                // unlikely branch tests), an optional struct pointer of which one field is read
                // (gcc `.isra`), and a cold call on the unlikely path.
                let n = 2 + self.below(3) as u32;
                let mut params = self.int_params(n);
                let k = 1 + self.below(u64::from(n) - 1) as usize;
                let mut uses = vec![Use::Whole; params.len()];
                uses[k] = Use::Heavy;
                if self.chance(40) {
                    let nf = 2 + self.below(3) as u32;
                    let s = self.struct_type(nf, false, false)?;
                    let field = self.below(u64::from(nf)) as usize;
                    params.push(Param {
                        name: format!("p{}", params.len()),
                        ty: Ty::Ptr {
                            pointee: Box::new(Ty::Def(s)),
                            to_const: true,
                        },
                        quals: Quals::default(),
                    });
                    uses.push(Use::Part(vec![PathStep::Field(format!("m{field}"))]));
                }
                let fill = self.filler();
                let mut body = self.body(&uses, tu, fill + 1);
                let kc = self.below(100);
                let then = vec![
                    Stmt::ColdCall(Expr::Acc),
                    Stmt::Sink(bin(BinOp::Mul, Expr::Acc, Expr::Param(0))),
                    Stmt::ColdCall(bin(BinOp::Xor, Expr::Acc, Expr::Param(k))),
                    Stmt::Mix(bin(BinOp::Shr, Expr::Acc, Expr::Const(3))),
                ];
                let pos = self.below(body.len() as u64 + 1) as usize;
                body.insert(
                    pos,
                    Stmt::If {
                        cond: bin(BinOp::Eq, Expr::Param(0), Expr::Const(kc)),
                        expect: Some(false),
                        then,
                        otherwise: vec![],
                    },
                );
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("ccold");
                let kty = params[k].ty.clone();
                let f = self.function(name, tu, Linkage::Static, nil, ret, params, body, h);
                self.calls_with_constant(f, k, &kty);
            }
        }
        Ok(())
    }

    /// Registers a raw type.
    #[allow(clippy::too_many_arguments)]
    fn raw(
        &mut self,
        name: &str,
        spelling: &str,
        text: String,
        size: u64,
        align: u64,
        by_value: bool,
    ) -> Result<Ty, GenError> {
        let id = self.prog.push_type(TypeDef::Raw {
            name: name.to_string(),
            spelling: spelling.to_string(),
            text,
            size,
            align,
            by_value,
            value_is_k: by_value,
        })?;
        Ok(Ty::Def(id))
    }

    fn ptr_to(ty: &Ty) -> Ty {
        Ty::Ptr {
            pointee: Box::new(ty.clone()),
            to_const: true,
        }
    }

    /// A traced function of the recipe taking `typed` (plus 0..2 integers), called by the
    /// driver; returns its id.
    fn typed_function(&mut self, tu: usize, prefix: &str, typed: Vec<Ty>, h: Hazard) -> FuncId {
        let mut params: Vec<Param> = typed
            .into_iter()
            .map(|ty| Param {
                name: String::new(),
                ty,
                quals: Quals::default(),
            })
            .collect();
        let extra = self.below(3) as u32;
        let ints = self.int_params(extra);
        for p in ints {
            let pos = self.below(params.len() as u64 + 1) as usize;
            params.insert(pos, p);
        }
        for (i, p) in params.iter_mut().enumerate() {
            p.name = format!("p{i}");
        }
        let uses = vec![Use::Whole; params.len()];
        let fill = self.filler();
        let body = self.body(&uses, tu, fill);
        let linkage = if self.chance(50) {
            Linkage::Static
        } else {
            Linkage::Global
        };
        let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
        let name = self.fresh(prefix);
        let f = self.function(
            name,
            tu,
            linkage,
            InlineHint::NoInline,
            ret,
            params,
            body,
            h,
        );
        let n = self.ncalls();
        self.calls(f, n, &[]);
        f
    }

    pub(super) fn types_recipe(&mut self, h: Hazard) -> Result<(), GenError> {
        use Hazard as H;
        let tu = self.random_tu();
        match h {
            H::TypeBitfields => {
                // A leading byte puts the first bitfield at bit 8; in a packed struct the
                // second (20..31 bits, after 5..20) crosses bit 32, the third is wider than
                // `int`.
                let name = self.fresh("bf");
                let mut fields = vec![Field::plain("lead", Ty::Scalar(Scalar::UChar))];
                let wa = 5 + self.below(16) as u32;
                let wb = 20 + self.below(12) as u32;
                let wc = 33 + self.below(31) as u32;
                let wd = 3 + self.below(13) as u32;
                fields.push(Field::bitfield("a", Scalar::UInt, wa)?);
                fields.push(Field::bitfield("b", Scalar::UInt, wb)?);
                fields.push(Field::bitfield("c", Scalar::ULongLong, wc)?);
                fields.push(Field::bitfield("d", Scalar::Int, wd)?);
                fields.push(Field::bitfield("e", Scalar::Bool, 1)?);
                if self.chance(50) {
                    let wf = 1 + self.below(16) as u32;
                    fields.push(Field::bitfield("f", Scalar::UShort, wf)?);
                }
                fields.push(Field::plain("tail", Ty::Scalar(Scalar::Short)));
                let packed = self.chance(75);
                let s = self.prog.push_type(TypeDef::Struct {
                    name,
                    fields,
                    packed,
                    align: 0,
                })?;
                let sty = Ty::Def(s);
                let by_ptr = Self::ptr_to(&sty);
                let typed = if self.chance(50) {
                    vec![by_ptr]
                } else {
                    vec![sty, by_ptr]
                };
                self.typed_function(tu, "tbf", typed, h);
            }
            H::TypeBitInt => {
                let n = self.fresh("tbi");
                const WIDTHS: [u32; 12] = [7, 13, 24, 37, 63, 64, 65, 100, 128, 129, 200, 256];
                let nm = 2 + self.below(4) as usize;
                let mut members = Vec::new();
                for _ in 0..nm {
                    let w = self.pick(&WIDTHS);
                    let signed = self.chance(50);
                    members.push((w, signed));
                }
                // One very wide member in every struct.
                members.push((self.pick(&[129u32, 200, 256]), self.chance(50)));
                let vw = self.pick(&[8u32, 16, 32, 64]);
                let (mut bi, mut fb, mut set_bi, mut set_fb, mut fold_bi, mut fold_fb) = (
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                );
                let mut lay = Vec::new();
                for (i, (w, signed)) in members.iter().enumerate() {
                    let sg = if *signed { "" } else { "unsigned " };
                    let _ = writeln!(bi, "\t{sg}_BitInt({w}) m{i};");
                    let _ = writeln!(set_bi, "\to.m{i} = (k & 0x3fULL);");
                    let _ = write!(fold_bi, " ^ (bs_u64)p->m{i}");
                    if *w <= 64 {
                        let base = match w {
                            0..=8 => "char",
                            9..=16 => "short",
                            17..=32 => "int",
                            _ => "long long",
                        };
                        let sgn = if *signed { "signed" } else { "unsigned" };
                        let _ = writeln!(fb, "\t{sgn} {base} m{i};");
                        let _ = writeln!(set_fb, "\to.m{i} = (k & 0x3fULL);");
                        let _ = write!(fold_fb, " ^ (bs_u64)p->m{i}");
                    } else {
                        let words = w.div_ceil(64);
                        let _ = writeln!(fb, "\tstruct {{ unsigned long long w[{words}]; }} m{i};");
                        let _ = writeln!(set_fb, "\to.m{i}.w[0] = (k & 0x3fULL);");
                        let _ = write!(fold_fb, " ^ p->m{i}.w[0]");
                    }
                    lay.push(bitint_layout(*w));
                }
                let (size, align) = c_layout(&lay);
                let (vsize, _) = bitint_layout(vw);
                let vfb = match vw {
                    8 => "unsigned char",
                    16 => "unsigned short",
                    32 => "unsigned int",
                    _ => "unsigned long long",
                };
                let text = format!(
                    "#if defined(__clang__) && __clang_major__ >= 16
struct {n} {{
{bi}}};
typedef unsigned _BitInt({vw}) {n}_v;
static inline void {n}_set(struct {n} *p, bs_u64 k)
{{
\tstatic const struct {n} zero;
\tstruct {n} o = zero;
{set_bi}\t*p = o;
}}
static inline bs_u64 {n}_fold(const struct {n} *p)
{{
\treturn 0ULL{fold_bi};
}}
#else
/* No _BitInt before clang 16: members of the same size, alignment and class. */
struct {n} {{
{fb}}};
typedef {vfb} {n}_v;
static inline void {n}_set(struct {n} *p, bs_u64 k)
{{
\tstatic const struct {n} zero;
\tstruct {n} o = zero;
{set_fb}\t*p = o;
}}
static inline bs_u64 {n}_fold(const struct {n} *p)
{{
\treturn 0ULL{fold_fb};
}}
#endif
_Static_assert(sizeof(struct {n}) == {size} && _Alignof(struct {n}) == {align}, \"layout of struct {n}\");
_Static_assert(sizeof({n}_v) == {vsize}, \"size of {n}_v\");
static inline const struct {n} *{n}_ptr(bs_u64 k)
{{
\tstatic struct {n} o;
\t{n}_set(&o, k);
\treturn &o;
}}
static inline {n}_v {n}_v_make(bs_u64 k)
{{
\treturn ({n}_v)k;
}}
static inline bs_u64 {n}_v_fold(const {n}_v *p)
{{
\treturn (bs_u64)*p;
}}
extern struct {n} {n}_g;
extern {n}_v {n}_gv;
"
                );
                let sty = self.raw(&n, &format!("struct {n}"), text, size, align, false)?;
                let vty = self.raw(
                    &format!("{n}_v"),
                    &format!("{n}_v"),
                    String::new(),
                    vsize,
                    vsize,
                    true,
                )?;
                self.prog
                    .unit_text
                    .push((tu, format!("struct {n} {n}_g;\n{n}_v {n}_gv = 3;")));
                let typed = vec![vty, Self::ptr_to(&sty)];
                self.typed_function(tu, "tbifn", typed, h);
            }
            H::TypeAtomicVector => {
                let n = self.fresh("tav");
                let (aint, asize) = self.pick(&[
                    ("unsigned int", 4u64),
                    ("long", 8),
                    ("unsigned short", 2),
                    ("int", 4),
                ]);
                let (velem, lanes) = self.pick(&[
                    ("int", 4u32),
                    ("unsigned int", 4),
                    ("short", 8),
                    ("long long", 2),
                    ("unsigned char", 16),
                ]);
                let last = lanes - 1;
                let text = format!(
                    "typedef _Atomic {aint} {n}_a;
static inline {aint} {n}_a_make(bs_u64 k)
{{
\treturn ({aint})k;
}}
static inline bs_u64 {n}_a_fold(const {n}_a *p)
{{
\treturn (bs_u64)*p;
}}
typedef {velem} {n}_v __attribute__((__vector_size__(16)));
struct {n} {{
\t_Atomic long a;
\t_Atomic(unsigned short) b;
\t{n}_v v;
\t_Atomic int *pa;
\t{n}_a c;
}};
_Static_assert(sizeof(struct {n}) == 48, \"layout of struct {n}\");
static inline const struct {n} *{n}_ptr(bs_u64 k)
{{
\tstatic struct {n} o;
\to.a = (long)k;
\to.b = (unsigned short)k;
\to.v = ({n}_v){{ ({velem})k, 1 }};
\to.pa = 0;
\to.c = ({aint})(k + 1);
\treturn &o;
}}
static inline bs_u64 {n}_fold(const struct {n} *p)
{{
\treturn (bs_u64)p->a ^ (bs_u64)p->b ^ (bs_u64)p->v[0] ^ (bs_u64)p->v[{last}] ^ (bs_u64)(p->pa != 0) ^ (bs_u64)p->c;
}}
extern _Atomic unsigned long {n}_g;
extern {n}_v {n}_gv;
"
                );
                let sty = self.raw(&n, &format!("struct {n}"), text, 48, 16, false)?;
                let aty = self.raw(
                    &format!("{n}_a"),
                    &format!("{n}_a"),
                    String::new(),
                    asize,
                    asize,
                    true,
                )?;
                self.prog.unit_text.push((
                    tu,
                    format!("_Atomic unsigned long {n}_g = 5;\n{n}_v {n}_gv = {{ 1, 2 }};"),
                ));
                let typed = vec![aty, Self::ptr_to(&sty)];
                self.typed_function(tu, "tavfn", typed, h);
            }
            H::TypeEnums => {
                let n = self.fresh("te");
                let up = n.to_uppercase();
                // A small signed enum: an explicit underlying type in clang, `packed` in gcc
                // (gcc 12 has no C23 fixed underlying types), same size and sign.
                let (small, ssize, lo, hi) =
                    self.pick(&[("signed char", 1u64, -3i64, 5i64), ("short", 2, -300, 200)]);
                let big_neg = -(1i64 << (32 + self.below(20)));
                let big_pos = 1i64 << (40 + self.below(20));
                let text = format!(
                    "#if defined(__clang__)
enum {n}_s : {small} {{ {up}_LO = {lo}, {up}_Z = 0, {up}_HI = {hi} }};
enum {n}_u : unsigned long long {{ {up}_UX = 0xffffffff00000000ULL, {up}_UY = 1 }};
#else
enum __attribute__((__packed__)) {n}_s {{ {up}_LO = {lo}, {up}_Z = 0, {up}_HI = {hi} }};
enum {n}_u {{ {up}_UX = 0xffffffff00000000ULL, {up}_UY = 1 }};
#endif
enum {n}_l {{ {up}_NEG = ({big_neg}LL), {up}_BIG = {big_pos}LL, {up}_M1 = -1 }};
_Static_assert(sizeof(enum {n}_s) == {ssize} && sizeof(enum {n}_u) == 8 && sizeof(enum {n}_l) == 8, \"enum sizes of {n}\");
static inline enum {n}_s {n}_s_make(bs_u64 k) {{ return (enum {n}_s)k; }}
static inline bs_u64 {n}_s_fold(const enum {n}_s *p) {{ return (bs_u64)*p; }}
static inline enum {n}_u {n}_u_make(bs_u64 k) {{ return (enum {n}_u)k; }}
static inline bs_u64 {n}_u_fold(const enum {n}_u *p) {{ return (bs_u64)*p; }}
static inline enum {n}_l {n}_l_make(bs_u64 k) {{ return (enum {n}_l)k; }}
static inline bs_u64 {n}_l_fold(const enum {n}_l *p) {{ return (bs_u64)*p; }}
extern enum {n}_l {n}_g;
"
                );
                let s = self.raw(
                    &format!("{n}_s"),
                    &format!("enum {n}_s"),
                    text,
                    ssize,
                    ssize,
                    true,
                )?;
                let u = self.raw(
                    &format!("{n}_u"),
                    &format!("enum {n}_u"),
                    String::new(),
                    8,
                    8,
                    true,
                )?;
                let l = self.raw(
                    &format!("{n}_l"),
                    &format!("enum {n}_l"),
                    String::new(),
                    8,
                    8,
                    true,
                )?;
                self.prog
                    .unit_text
                    .push((tu, format!("enum {n}_l {n}_g = {up}_NEG;")));
                let mut typed = vec![s, u, l];
                if self.chance(30) {
                    typed.swap(0, 2);
                }
                self.typed_function(tu, "tefn", typed, h);
            }
            H::TypeArrays => {
                let n = self.fresh("tar");
                let rows = 2 + self.below(3);
                let cols = 2 + self.below(4);
                let (elem, esize) = self.pick(&[("int", 4u64), ("short", 2), ("unsigned long", 8)]);
                let (size, align) = c_layout(&[(esize * rows * cols, esize), (24, 1), (8, 8)]);
                let text = format!(
                    "struct {n}_zero {{
\tint tag;
\tlong z[0];
}};
struct {n} {{
\t{elem} m[{rows}][{cols}];
\tunsigned char c[2][3][4];
\tstruct {n}_zero zl;
}};
_Static_assert(sizeof(struct {n}) == {size}, \"layout of struct {n}\");
struct {n}_flex {{
\tunsigned int n;
\tunsigned short data[];
}};
static inline const struct {n} *{n}_ptr(bs_u64 k)
{{
\tstatic struct {n} o;
\tfor (int i = 0; i < {rows}; i++)
\t\tfor (int j = 0; j < {cols}; j++)
\t\t\to.m[i][j] = ({elem})(k + (bs_u64)(i * {cols} + j));
\to.c[1][2][3] = (unsigned char)k;
\to.zl.tag = (int)k;
\treturn &o;
}}
static inline bs_u64 {n}_fold(const struct {n} *p)
{{
\tbs_u64 r = 0;
\tfor (int i = 0; i < {rows}; i++)
\t\tfor (int j = 0; j < {cols}; j++)
\t\t\tr = bs_mix(r, (bs_u64)p->m[i][j]);
\treturn bs_mix(r, (bs_u64)p->c[1][2][3] + (bs_u64)p->zl.tag);
}}
/* No trailing elements: the object a parameter points at has none (n is 0 or 1 with
   data not read). */
static inline const struct {n}_flex *{n}_flex_ptr(bs_u64 k)
{{
\tstatic struct {n}_flex o;
\to.n = (unsigned int)k;
\treturn &o;
}}
static inline bs_u64 {n}_flex_fold(const struct {n}_flex *p)
{{
\treturn (bs_u64)p->n;
}}
extern struct {n}_flex {n}_gf;
extern struct {n} {n}_g;
"
                );
                let sty = self.raw(&n, &format!("struct {n}"), text, size, align, false)?;
                let fty = self.raw(
                    &format!("{n}_flex"),
                    &format!("struct {n}_flex"),
                    String::new(),
                    4,
                    4,
                    false,
                )?;
                self.prog.unit_text.push((
                    tu,
                    format!("struct {n}_flex {n}_gf = {{ 2, {{ 7, 9 }} }};\nstruct {n} {n}_g;"),
                ));
                let typed = vec![Self::ptr_to(&sty), Self::ptr_to(&fty)];
                self.typed_function(tu, "tarfn", typed, h);
            }
            _ => {
                let n = self.fresh("tt");
                let text = format!(
                    "{TAG_MACROS}typedef volatile unsigned long {n}_t0;
typedef {n}_t0 {n}_t1;
typedef const {n}_t1 {n}_t2;
typedef {n}_t2 {n}_t3 BS_DTAG(\"bs_typedef\");
static inline unsigned long {n}_t3_make(bs_u64 k) {{ return (unsigned long)k; }}
static inline bs_u64 {n}_t3_fold(const {n}_t3 *p) {{ return (bs_u64)*p; }}
struct {n} {{
\tint a BS_DTAG(\"bs_member\");
\tint BS_TTAG(\"bs_user\") *up;
\tstruct {{
\t\tshort s;
\t\tunion {{
\t\t\tint i;
\t\t\tunsigned char c[4];
\t\t}};
\t}};
\tunion {{
\t\tlong l;
\t\tstruct {{
\t\t\tint lo, hi;
\t\t}} half;
\t}} u;
\t{n}_t1 deep;
\tconst char BS_TTAG(\"bs_rcu\") * BS_TTAG(\"bs_percpu\") *pp;
}};
_Static_assert(sizeof(struct {n}) == 48, \"layout of struct {n}\");
static inline const struct {n} *{n}_ptr(bs_u64 k)
{{
\tstatic struct {n} o;
\to.a = (int)k;
\to.up = 0;
\to.s = (short)k;
\to.i = (int)(k + 1);
\to.u.l = (long)k;
\to.deep = k;
\to.pp = 0;
\treturn &o;
}}
static inline bs_u64 {n}_fold(const struct {n} *p)
{{
\treturn (bs_u64)p->a ^ (bs_u64)(p->up != 0) ^ (bs_u64)p->s ^ (bs_u64)p->i ^ (bs_u64)p->u.half.lo ^ (bs_u64)p->deep ^ (bs_u64)(p->pp != 0);
}}
extern {n}_t2 {n}_g;
"
                );
                let sty = self.raw(&n, &format!("struct {n}"), text, 48, 8, false)?;
                let cty = self.raw(
                    &format!("{n}_t3"),
                    &format!("{n}_t3"),
                    String::new(),
                    8,
                    8,
                    true,
                )?;
                self.prog
                    .unit_text
                    .push((tu, format!("{n}_t2 {n}_g = 11;")));
                let typed = vec![cty, Self::ptr_to(&sty)];
                let f = self.typed_function(tu, "ttfn", typed, h);
                // A declaration carrying a decl tag on the function (clang merges it into the
                // definition's DWARF).
                let func = &self.prog.functions[f.0];
                let em = Emitter::new(&self.prog, Flavour::User);
                let ps: Vec<String> = func
                    .params
                    .iter()
                    .map(|p| em.decl(&p.ty, p.quals, &p.name))
                    .collect();
                let st = if func.linkage == Linkage::Static {
                    "static "
                } else {
                    ""
                };
                let decl = format!(
                    "{st}{} {}({}) BS_DTAG(\"bs_func\");",
                    em.c_type(&func.ret),
                    func.name,
                    ps.join(", ")
                );
                self.prog.unit_text.push((tu, decl));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_sysv_abi() {
        assert_eq!(c_layout(&[(4, 4), (8, 8), (2, 2)]), (24, 8));
        assert_eq!(bitint_layout(37), (8, 8));
        assert_eq!(bitint_layout(200), (32, 8));
        assert_eq!(bitint_layout(129), (24, 8));
        assert_eq!(c_layout(&[bitint_layout(7), bitint_layout(100)]), (24, 8));
    }
}
