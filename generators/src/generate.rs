//! The generator: draws a [`Program`] from a [`Choices`] source under a [`Policy`].
//!
//! Every choice is ordered simplest first, so the all-zero stream produces the smallest
//! program; that is what makes proptest shrinking (and cargo-fuzz minimisation) effective.

use crate::choice::{Choices, SeededChoices};
use crate::error::GenError;
use crate::model::*;
use crate::policy::{Hazard, Policy, Range};

mod reach_loc_types;

/// Generates the program for `seed` under `policy`. Same seed and policy, same program.
pub fn generate(seed: u64, policy: &Policy) -> Result<Program, GenError> {
    let mut ch = SeededChoices::new(seed);
    let mut prog = generate_from(&mut ch, policy)?;
    prog.seed = Some(seed);
    Ok(prog)
}

/// Generates a program from any source of choices.
pub fn generate_from(ch: &mut dyn Choices, policy: &Policy) -> Result<Program, GenError> {
    policy.validate()?;
    let tus = range(ch, policy.limits.tus) as usize;
    let mut g = Gen {
        ch,
        pol: policy,
        prog: Program::new(&policy.name, tus),
        group: 0,
        counter: 0,
    };
    g.run()?;
    g.prog.validate()?;
    Ok(g.prog)
}

fn range(ch: &mut dyn Choices, r: Range) -> u32 {
    r.min + ch.below(u64::from(r.max - r.min) + 1) as u32
}

/// How a body uses one parameter.
#[derive(Debug, Clone, PartialEq)]
enum Use {
    /// Folded whole, into the running value.
    Whole,
    /// One scalar part (path into the struct).
    Part(Vec<PathStep>),
    /// Never read.
    Unused,
    /// Read on one branch only.
    SomePaths,
    /// Read several times in arithmetic (constant-propagation target).
    Heavy,
}

struct Gen<'a> {
    ch: &'a mut dyn Choices,
    pol: &'a Policy,
    prog: Program,
    group: usize,
    counter: usize,
}

const INT_PARAM_SCALARS: [Scalar; 6] = [
    Scalar::Int,
    Scalar::UInt,
    Scalar::Long,
    Scalar::ULong,
    Scalar::Short,
    Scalar::UChar,
];

impl Gen<'_> {
    fn below(&mut self, n: u64) -> u64 {
        self.ch.below(n)
    }
    fn range(&mut self, r: Range) -> u32 {
        range(self.ch, r)
    }
    /// Calls `f` from its unit's driver, every call passing the same small constant for parameter
    /// `k` (of type `kty`): what makes gcc clone it as `.constprop`.
    fn calls_with_constant(&mut self, f: FuncId, k: usize, kty: &Ty) {
        let kval = match kty {
            Ty::Scalar(s) => Value::Int((2 + self.below(20) as i128).min(self.int_value_max(*s))),
            _ => Value::Int(3),
        };
        let ncalls = 1 + self.ncalls();
        self.calls(f, ncalls, &[(k, kval)]);
    }

    fn chance(&mut self, percent: u32) -> bool {
        // Simplest first: answer 0 means "no" unless the chance is certain.
        percent >= 100 || (percent > 0 && self.below(100) >= u64::from(100 - percent))
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> Option<T> {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return None;
        }
        let mut x = self.below(total);
        for (t, w) in items {
            if x < u64::from(*w) {
                return Some(*t);
            }
            x -= u64::from(*w);
        }
        None
    }
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn run(&mut self) -> Result<(), GenError> {
        let ntus = self.prog.tus.len();
        for tu in 0..ntus {
            for _ in 0..self.range(self.pol.limits.globals_per_tu) {
                let ty = self.pick(&INT_PARAM_SCALARS);
                let init = self.int_value(ty) as i64;
                let linkage = if self.chance(30) {
                    Linkage::Global
                } else {
                    Linkage::Static
                };
                let name = self.fresh("g");
                self.prog.globals.push(Global {
                    name,
                    tu,
                    ty,
                    init,
                    linkage,
                });
            }
        }
        for _ in 0..self.range(self.pol.limits.types) {
            self.random_type()?;
        }
        let groups = self.range(self.pol.limits.groups).max(1);
        let mut weights = self.pol.weights.clone();
        if self.pol.swarm {
            // Swarm testing: each program keeps a random subset of the recipes (at least one).
            let keep: Vec<bool> = weights.iter().map(|_| self.below(2) == 0).collect();
            if keep.iter().zip(&weights).any(|(k, (_, w))| *k && *w > 0) {
                for (k, w) in keep.iter().zip(weights.iter_mut()) {
                    if !k {
                        w.1 = 0;
                    }
                }
            }
        }
        let guaranteed = self.pol.guaranteed.clone();
        for i in 0..groups as usize {
            // Each group reads its own window of a choice stream (see `Choices::region`).
            self.ch.region(i);
            let h = if i == 0 && !guaranteed.is_empty() {
                self.pick(&guaranteed)
            } else {
                match self.weighted(&weights) {
                    Some(h) => h,
                    None => break,
                }
            };
            self.recipe(h)?;
            self.group += 1;
        }
        // Calls run unit by unit, in the order drivers make them.
        let funcs = &self.prog.functions;
        self.prog.calls.sort_by_key(|c| funcs[c.callee.0].tu);
        Ok(())
    }

    // ----------------------------------------------------------------------------- types

    fn scalar(&mut self, allow_float: bool) -> Scalar {
        let mut w: Vec<(Scalar, u32)> = Scalar::ALL
            .iter()
            .copied()
            .zip(self.pol.scalar_weights.iter().copied())
            .collect();
        if !allow_float {
            w.retain(|(s, _)| !s.is_float());
        }
        self.weighted(&w).unwrap_or(Scalar::Int)
    }

    fn int_value(&mut self, s: Scalar) -> i128 {
        if s.is_int128() {
            return self.int128_value(s);
        }
        let bits = s.value_bits();
        let (lo, hi): (i128, i128) = if s == Scalar::Bool {
            (0, 1)
        } else if s.is_signed() {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        };
        match self.below(6) {
            0 => self.below(10) as i128,
            1 => 1,
            2 => hi,
            3 => lo,
            4 => (lo + self.below(1000) as i128).min(hi),
            _ => (self.below(1 << 20) as i128).min(hi),
        }
    }

    fn float_value(&mut self) -> f64 {
        self.pick(&[1.5, 0.0, -2.25, 3.0, 1048576.5, -0.125, 100.75])
    }

    /// A fresh struct of integer (and, when allowed, richer) members.
    fn struct_type(
        &mut self,
        nfields: u32,
        rich: bool,
        allow_float: bool,
    ) -> Result<TypeId, GenError> {
        let name = self.fresh("s");
        let mut fields = Vec::new();
        for i in 0..nfields.max(1) {
            let fname = format!("m{i}");
            let kind = if rich { self.below(7) } else { 0 };
            let field = match kind {
                1 => {
                    let base =
                        self.pick(&[Scalar::UInt, Scalar::Int, Scalar::UChar, Scalar::UShort]);
                    let width = 1 + self.below(u64::from(base.value_bits())) as u32;
                    Field::bitfield(fname, base, width)?
                }
                2 => {
                    let elem = Ty::Scalar(self.scalar(false));
                    Field {
                        name: fname,
                        kind: FieldKind::Array {
                            elem,
                            len: 1 + self.below(4) as u32,
                        },
                        quals: Quals::default(),
                    }
                }
                3 => match self.earlier_value_type() {
                    Some(t) => Field::plain(fname, t),
                    None => Field::plain(fname, Ty::Scalar(Scalar::Long)),
                },
                4 => Field::plain(
                    fname,
                    Ty::Ptr {
                        pointee: Box::new(Ty::Scalar(Scalar::Int)),
                        to_const: true,
                    },
                ),
                5 => Field {
                    name: fname,
                    kind: FieldKind::Plain(Ty::Scalar(self.scalar(allow_float))),
                    quals: Quals {
                        is_const: false,
                        is_volatile: self.chance(20),
                    },
                },
                _ => Field::plain(fname, Ty::Scalar(self.scalar(allow_float))),
            };
            fields.push(field);
        }
        let packed = rich && self.chance(15);
        self.prog.push_type(TypeDef::Struct {
            name,
            fields,
            packed,
            align: 0,
        })
    }

    /// A struct, union, enum or typedef defined earlier that holds a value (not a function pointer).
    fn earlier_value_type(&mut self) -> Option<Ty> {
        let cands: Vec<TypeId> = (0..self.prog.types.len())
            .map(TypeId)
            .filter(|t| !matches!(self.prog.def(*t), TypeDef::FnPtr { .. } | TypeDef::Raw { .. }))
            .filter(|t| self.prog.local_unit(*t).is_none())
            .collect();
        if cands.is_empty() {
            None
        } else {
            Some(Ty::Def(self.pick(&cands)))
        }
    }

    fn random_type(&mut self) -> Result<TypeId, GenError> {
        let lim = self.pol.limits.fields;
        match self.below(6) {
            0 | 1 => {
                let n = self.range(lim);
                self.struct_type(n, true, true)
            }
            2 => {
                let name = self.fresh("u");
                let n = self.range(lim).max(1);
                let mut fields = Vec::new();
                for i in 0..n {
                    fields.push(Field::plain(format!("m{i}"), Ty::Scalar(self.scalar(true))));
                }
                self.prog.push_type(TypeDef::Union { name, fields })
            }
            3 => {
                let name = self.fresh("e");
                let n = 1 + self.below(4) as usize;
                let mut variants = Vec::new();
                let mut v = 0i32;
                for j in 0..n {
                    variants.push((format!("{}_{}", name.to_uppercase(), j), v));
                    v += 1 + self.below(100) as i32;
                }
                self.prog.push_type(TypeDef::Enum { name, variants })
            }
            4 => {
                let name = self.fresh("t");
                let target = match self.earlier_value_type() {
                    Some(t) if self.chance(50) => t,
                    _ => Ty::Scalar(self.scalar(false)),
                };
                let quals = Quals {
                    is_const: self.chance(20),
                    is_volatile: false,
                };
                self.prog.push_type(TypeDef::Typedef {
                    name,
                    target,
                    quals,
                })
            }
            _ => {
                let name = self.fresh("fp");
                let n = self.below(4);
                let params = (0..n).map(|_| Ty::Scalar(Scalar::Int)).collect();
                self.prog.push_type(TypeDef::FnPtr {
                    name,
                    ret: Ty::Scalar(Scalar::Long),
                    params,
                })
            }
        }
    }

    /// A parameter type for a plain function.
    fn param_ty(&mut self, allow_float: bool) -> Ty {
        if self.chance(self.pol.aggregate_param_percent) {
            // Raw types (the `types` recipes) have their own helpers and stay in their recipe.
            let cands: Vec<TypeId> = (0..self.prog.types.len())
                .map(TypeId)
                .filter(|t| self.prog.local_unit(*t).is_none())
                .filter(|t| !matches!(self.prog.def(*t), TypeDef::Raw { .. }))
                .collect();
            if !cands.is_empty() {
                let t = self.pick(&cands);
                let floaty = self.prog.ty_has_float(&Ty::Def(t));
                if allow_float || !floaty {
                    let is_agg = matches!(
                        self.prog.def(t),
                        TypeDef::Struct { .. } | TypeDef::Union { .. }
                    );
                    return match is_agg {
                        true if self.chance(50) => Ty::Ptr {
                            pointee: Box::new(Ty::Def(t)),
                            to_const: true,
                        },
                        _ => Ty::Def(t),
                    };
                }
            }
        }
        let s = self.scalar(allow_float);
        if self.chance(5) {
            return Ty::Ptr {
                pointee: Box::new(Ty::Scalar(s)),
                to_const: self.chance(50),
            };
        }
        Ty::Scalar(s)
    }

    fn ret_ty(&mut self) -> Ty {
        match self.below(10) {
            0..=5 => Ty::Scalar(self.pick(&INT_PARAM_SCALARS)),
            6 => Ty::Scalar(Scalar::ULongLong),
            7 => Ty::Void,
            8 => Ty::Scalar(Scalar::Bool),
            _ => match self.earlier_value_type() {
                Some(t) if self.prog.size_of(&t) <= 32 && !self.is_const_typedef(&t) => t,
                _ => Ty::Scalar(Scalar::Long),
            },
        }
    }

    /// True if `t` is (a chain of typedefs reaching) a `const`-qualified typedef: not usable as
    /// a return type without `-Wignored-qualifiers`.
    fn is_const_typedef(&self, t: &Ty) -> bool {
        let mut cur = t;
        for _ in 0..16 {
            match cur {
                Ty::Def(d) => match self.prog.def(*d) {
                    TypeDef::Typedef { quals, target, .. } => {
                        if quals.is_const {
                            return true;
                        }
                        cur = target;
                    }
                    _ => return false,
                },
                _ => return false,
            }
        }
        false
    }

    fn params(&mut self, n: u32, prefix: &str, allow_float: bool) -> Vec<Param> {
        (0..n)
            .map(|i| {
                let ty = self.param_ty(allow_float);
                let quals = Quals {
                    is_const: self.chance(10),
                    is_volatile: false,
                };
                Param {
                    name: format!("{prefix}{i}"),
                    ty,
                    quals,
                }
            })
            .collect()
    }

    fn int_params(&mut self, n: u32) -> Vec<Param> {
        (0..n)
            .map(|i| Param {
                name: format!("p{i}"),
                ty: Ty::Scalar(self.pick(&INT_PARAM_SCALARS)),
                quals: Quals::default(),
            })
            .collect()
    }

    // ----------------------------------------------------------------------------- values

    fn value(&mut self, ty: &Ty, depth: usize) -> Value {
        if depth > 12 {
            return Value::Int(0);
        }
        let ty = self.prog.resolve(ty).clone();
        match ty {
            Ty::Void => Value::Int(0),
            Ty::Scalar(s) if s.is_float() => Value::Float(self.float_value()),
            Ty::Scalar(s) => Value::Int(self.int_value(s)),
            Ty::Ptr { pointee, .. } => Value::Ptr(Box::new(self.value(&pointee, depth + 1))),
            Ty::Def(d) => match self.prog.def(d).clone() {
                TypeDef::Enum { variants, .. } => {
                    let i = self.below(variants.len() as u64) as usize;
                    Value::Int(i128::from(variants[i].1))
                }
                TypeDef::FnPtr { .. } => Value::Null,
                // The seed of `NAME_make` / `NAME_ptr`; small, so it is also the real value of
                // every integer-like raw type.
                TypeDef::Raw { .. } => Value::Int(i128::from(1 + self.below(100) as u8)),
                TypeDef::Typedef { target, .. } => self.value(&target, depth + 1),
                TypeDef::Struct { fields, .. } => Value::Fields(
                    fields
                        .iter()
                        .map(|f| (f.name.clone(), self.field_value(f, depth)))
                        .collect(),
                ),
                TypeDef::Union { fields, .. } => Value::Fields(vec![(
                    fields[0].name.clone(),
                    self.field_value(&fields[0], depth),
                )]),
            },
        }
    }

    fn field_value(&mut self, f: &Field, depth: usize) -> Value {
        match &f.kind {
            FieldKind::Plain(Ty::Ptr { .. }) => Value::Null,
            FieldKind::Plain(t) => self.value(t, depth + 1),
            FieldKind::Array { elem, len } => {
                Value::Elems((0..*len).map(|_| self.value(elem, depth + 1)).collect())
            }
            FieldKind::Bitfield { base, width } => {
                let w = *width;
                let v = if base.is_signed() {
                    let hi = (1i128 << (w - 1)) - 1;
                    let lo = -(1i128 << (w - 1));
                    match self.below(3) {
                        0 => 0,
                        1 => hi,
                        _ => lo,
                    }
                } else {
                    let hi = (1i128 << w) - 1;
                    if self.chance(50) {
                        hi
                    } else {
                        (self.below(1000) as i128).min(hi)
                    }
                };
                Value::Int(v)
            }
        }
    }

    // ----------------------------------------------------------------------------- bodies

    fn leaf(&mut self, usable: &[usize], tu: usize) -> Expr {
        match self.below(5) {
            0 => Expr::Const(self.below(1000)),
            1 | 2 if !usable.is_empty() => Expr::Param(self.pick(usable)),
            3 => {
                let gs: Vec<usize> = self
                    .prog
                    .globals
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| g.tu == tu)
                    .map(|(i, _)| i)
                    .collect();
                if gs.is_empty() {
                    Expr::Acc
                } else {
                    Expr::Global(self.pick(&gs))
                }
            }
            _ => Expr::Acc,
        }
    }

    fn expr(&mut self, depth: u32, usable: &[usize], tu: usize) -> Expr {
        if depth == 0 || self.chance(30) {
            return self.leaf(usable, tu);
        }
        const OPS: [BinOp; 12] = [
            BinOp::Add,
            BinOp::Xor,
            BinOp::Mul,
            BinOp::Sub,
            BinOp::And,
            BinOp::Or,
            BinOp::Shl,
            BinOp::Shr,
            BinOp::Div,
            BinOp::Rem,
            BinOp::Lt,
            BinOp::Eq,
        ];
        match self.below(8) {
            0 => {
                let c = self.expr(depth - 1, usable, tu);
                let a = self.expr(depth - 1, usable, tu);
                let b = self.expr(depth - 1, usable, tu);
                Expr::Cond(Box::new(c), Box::new(a), Box::new(b))
            }
            1 => {
                // A call to an earlier plain function of this unit with integer signature.
                let callees: Vec<FuncId> = self
                    .prog
                    .functions_in(tu)
                    .filter(|(_, f)| {
                        f.hazard == Hazard::Plain
                            && !f.variadic
                            && f.params
                                .iter()
                                .all(|p| matches!(p.ty, Ty::Scalar(s) if s.is_integer()))
                            && matches!(f.ret, Ty::Scalar(s) if s.is_integer())
                    })
                    .map(|(id, _)| id)
                    .collect();
                if callees.is_empty() {
                    self.leaf(usable, tu)
                } else {
                    let c = self.pick(&callees);
                    let n = self.prog.functions[c.0].params.len();
                    let args = (0..n).map(|_| self.expr(depth - 1, usable, tu)).collect();
                    Expr::Call(c, args)
                }
            }
            _ => {
                let op = self.pick(&OPS);
                let a = self.expr(depth - 1, usable, tu);
                let b = self.expr(depth - 1, usable, tu);
                Expr::Bin(op, Box::new(a), Box::new(b))
            }
        }
    }

    /// A body that uses each parameter as `uses` says, plus random filler.
    fn body(&mut self, uses: &[Use], tu: usize, filler: u32) -> Vec<Stmt> {
        let usable: Vec<usize> = uses
            .iter()
            .enumerate()
            .filter(|(_, u)| **u == Use::Whole)
            .map(|(i, _)| i)
            .collect();
        let depth = self.pol.limits.expr_depth;
        let mut body = Vec::new();
        for (i, u) in uses.iter().enumerate() {
            match u {
                Use::Whole => {
                    let e = self.expr(depth.saturating_sub(1), &usable, tu);
                    let op = self.pick(&[BinOp::Add, BinOp::Xor, BinOp::Mul]);
                    body.push(Stmt::Mix(Expr::Bin(
                        op,
                        Box::new(Expr::Param(i)),
                        Box::new(e),
                    )));
                }
                Use::Part(path) => body.push(Stmt::Mix(Expr::ParamPart(i, path.clone()))),
                Use::Unused => {}
                Use::SomePaths => {
                    let k = self.below(1000);
                    body.push(Stmt::If {
                        cond: Expr::Bin(BinOp::Lt, Box::new(Expr::Acc), Box::new(Expr::Const(k))),
                        expect: None,
                        then: vec![Stmt::Mix(Expr::Bin(
                            BinOp::Mul,
                            Box::new(Expr::Param(i)),
                            Box::new(Expr::Const(3)),
                        ))],
                        otherwise: vec![],
                    });
                }
                Use::Heavy => {
                    let p = Box::new(Expr::Param(i));
                    body.push(Stmt::Mix(Expr::Bin(
                        BinOp::Mul,
                        p.clone(),
                        Box::new(Expr::Acc),
                    )));
                    body.push(Stmt::Mix(Expr::Bin(
                        BinOp::Shl,
                        Box::new(Expr::Acc),
                        p.clone(),
                    )));
                    body.push(Stmt::If {
                        cond: Expr::Bin(
                            BinOp::Lt,
                            p.clone(),
                            Box::new(Expr::Const(1 + self.below(50))),
                        ),
                        expect: None,
                        then: vec![Stmt::Mix(Expr::Bin(
                            BinOp::Div,
                            Box::new(Expr::Acc),
                            p.clone(),
                        ))],
                        otherwise: vec![Stmt::Mix(Expr::Bin(BinOp::Rem, Box::new(Expr::Acc), p))],
                    });
                }
            }
        }
        for _ in 0..filler {
            let s = match self.below(5) {
                0 | 1 => Stmt::Mix(self.expr(depth, &usable, tu)),
                2 => {
                    let cond = self.expr(depth.min(2), &usable, tu);
                    let then = vec![Stmt::Mix(self.expr(depth, &usable, tu))];
                    let otherwise = if self.chance(50) {
                        vec![Stmt::Mix(self.expr(depth, &usable, tu))]
                    } else {
                        vec![]
                    };
                    Stmt::If {
                        cond,
                        expect: None,
                        then,
                        otherwise,
                    }
                }
                3 => Stmt::Loop {
                    count: 1 + self.below(4) as u32,
                    body: vec![Stmt::Mix(self.expr(depth, &usable, tu))],
                },
                _ => Stmt::Sink(self.expr(depth, &usable, tu)),
            };
            body.push(s);
        }
        body
    }

    fn filler(&mut self) -> u32 {
        self.range(self.pol.limits.stmts)
    }

    // ----------------------------------------------------------------------------- functions

    #[allow(clippy::too_many_arguments)]
    fn function(
        &mut self,
        name: String,
        tu: usize,
        linkage: Linkage,
        inline: InlineHint,
        ret: Ty,
        params: Vec<Param>,
        body: Vec<Stmt>,
        hazard: Hazard,
    ) -> FuncId {
        let id = FuncId(self.prog.functions.len());
        self.prog.functions.push(Function {
            name,
            tu,
            linkage,
            inline,
            ret,
            params,
            variadic: false,
            body,
            address_taken: false,
            result_unused: false,
            hazard,
            group: self.group,
        });
        id
    }

    /// Driver calls to `f`: `n` of them, with `fixed` values forced (and left as constants).
    fn calls(&mut self, f: FuncId, n: u32, fixed: &[(usize, Value)]) {
        let params = self.prog.functions[f.0].params.clone();
        for _ in 0..n.max(1) {
            let mut args = Vec::new();
            let mut opaque = Vec::new();
            for (i, p) in params.iter().enumerate() {
                if let Some((_, v)) = fixed.iter().find(|(j, _)| *j == i) {
                    args.push(v.clone());
                    opaque.push(false);
                } else {
                    args.push(self.value(&p.ty, 0));
                    opaque.push(self.chance(self.pol.opaque_args_percent));
                }
            }
            self.prog.calls.push(CallSite {
                callee: f,
                args,
                opaque,
                va_types: Vec::new(),
            });
        }
    }

    fn ncalls(&mut self) -> u32 {
        self.range(self.pol.limits.calls_per_function)
    }

    fn random_tu(&mut self) -> usize {
        self.below(self.prog.tus.len() as u64) as usize
    }

    fn recipe(&mut self, h: Hazard) -> Result<(), GenError> {
        use Hazard as H;
        let nil = InlineHint::NoInline;
        match h {
            H::Plain => {
                let tu = self.random_tu();
                let linkage = self.pick(&[
                    Linkage::Static,
                    Linkage::Static,
                    Linkage::Global,
                    Linkage::Weak,
                ]);
                let inline = match self.below(10) {
                    0 | 1 => InlineHint::None,
                    2 if linkage == Linkage::Static => InlineHint::Inline,
                    _ => nil,
                };
                let n = self.range(self.pol.limits.params);
                let params = self.params(n, "p", true);
                let ret = self.ret_ty();
                let uses = vec![Use::Whole; params.len()];
                let fill = self.filler();
                let body = self.body(&uses, tu, fill);
                let name = self.fresh("fn");
                let f = self.function(name, tu, linkage, inline, ret, params, body, h);
                let n = self.ncalls();
                self.calls(f, n, &[]);
            }
            H::SameNameIdentical
            | H::SameNameDifferentTypes
            | H::SameNameDifferentArity
            | H::SameNameRenamedParams
            | H::SameNameMany
            | H::SameNameGlobalAndStatic
            | H::SameNameWeakAndStatic
            | H::SameNameIdenticalMany => self.same_name(h)?,
            H::StackStructPacked
            | H::StackStructAligned
            | H::StackStructMixed
            | H::UnionByValue
            | H::Int128Args
            | H::LongDoubleArgs
            | H::TooManyArgs
            | H::VarargsMixedTypes => self.stack_recipe(h)?,
            H::WeakAndStrong
            | H::SameTagDifferentLayout
            | H::SameNameDifferentFnPtr
            | H::InlineOnlyCopy => self.units_recipe(h)?,
            H::LocCalleeSaved | H::LocPartialLive | H::LocColdClone => self.locations_recipe(h)?,
            H::TypeBitfields
            | H::TypeBitInt
            | H::TypeAtomicVector
            | H::TypeEnums
            | H::TypeArrays
            | H::TypeTagsTypedefs => self.types_recipe(h)?,
            H::IsraStructPointer | H::IsraStructByValue => {
                let tu = self.random_tu();
                let nf = 2 + self.below(4) as u32;
                let s = self.struct_type(nf, false, false)?;
                let sty = Ty::Def(s);
                let ty = if h == H::IsraStructPointer {
                    Ty::Ptr {
                        pointee: Box::new(sty),
                        to_const: self.chance(50),
                    }
                } else {
                    sty
                };
                let extra = self.below(3) as u32;
                let mut params = self.int_params(extra);
                let pos = self.below(params.len() as u64 + 1) as usize;
                params.insert(
                    pos,
                    Param {
                        name: "ps".into(),
                        ty,
                        quals: Quals::default(),
                    },
                );
                for (i, p) in params.iter_mut().enumerate() {
                    p.name = format!("p{i}");
                }
                let field = self.below(u64::from(nf)) as usize;
                let mut uses = vec![Use::Whole; params.len()];
                uses[pos] = Use::Part(vec![PathStep::Field(format!("m{field}"))]);
                let fill = self.filler();
                let body = self.body(&uses, tu, fill);
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("isra");
                let f = self.function(name, tu, Linkage::Static, nil, ret, params, body, h);
                let n = self.ncalls();
                self.calls(f, n, &[]);
            }
            H::ConstpropSameConstant => {
                let tu = self.random_tu();
                let n = 1 + self.below(4) as u32;
                let params = self.int_params(n);
                let k = self.below(params.len() as u64) as usize;
                let mut uses = vec![Use::Whole; params.len()];
                uses[k] = Use::Heavy;
                let fill = self.filler();
                let body = self.body(&uses, tu, fill + 1);
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("cprop");
                let kty = params[k].ty.clone();
                let f = self.function(name, tu, Linkage::Static, nil, ret, params, body, h);
                self.calls_with_constant(f, k, &kty);
            }
            H::PartialInline => {
                let tu = self.random_tu();
                let n = 1 + self.below(3) as u32;
                let params = self.int_params(n);
                let kconst = self.below(100);
                let mut body = vec![Stmt::EarlyReturn {
                    cond: Expr::Bin(
                        BinOp::Eq,
                        Box::new(Expr::Bin(
                            BinOp::Eq,
                            Box::new(Expr::Param(0)),
                            Box::new(Expr::Const(kconst)),
                        )),
                        Box::new(Expr::Const(0)),
                    ),
                    value: Expr::Bin(
                        BinOp::Add,
                        Box::new(Expr::Param(0)),
                        Box::new(Expr::Const(1)),
                    ),
                }];
                let uses = vec![Use::Whole; params.len()];
                let usable: Vec<usize> = (0..params.len()).collect();
                let tail = self.body(&uses, tu, 2);
                body.extend(tail);
                let e1 = self.expr(3, &usable, tu);
                let e2 = self.expr(3, &usable, tu);
                body.push(Stmt::Loop {
                    count: 3 + self.below(5) as u32,
                    body: vec![Stmt::Mix(e1), Stmt::Sink(Expr::Acc), Stmt::Mix(e2)],
                });
                for _ in 0..3 {
                    let e = self.expr(3, &usable, tu);
                    body.push(Stmt::Sink(e));
                    body.push(Stmt::Mix(Expr::Bin(
                        BinOp::Mul,
                        Box::new(Expr::Acc),
                        Box::new(Expr::Const(31)),
                    )));
                }
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("part");
                let f = self.function(
                    name,
                    tu,
                    Linkage::Static,
                    InlineHint::None,
                    ret,
                    params,
                    body,
                    h,
                );
                let ncalls = 1 + self.ncalls();
                self.calls(f, ncalls, &[]);
            }
            H::ColdPath => {
                let tu = self.random_tu();
                let n = 1 + self.below(3) as u32;
                let params = self.int_params(n);
                let uses = vec![Use::Whole; params.len()];
                let fill = self.filler();
                let mut body = self.body(&uses, tu, fill);
                let k = self.below(100);
                let then = vec![
                    Stmt::ColdCall(Expr::Acc),
                    Stmt::Sink(Expr::Bin(
                        BinOp::Mul,
                        Box::new(Expr::Acc),
                        Box::new(Expr::Param(0)),
                    )),
                    Stmt::ColdCall(Expr::Bin(
                        BinOp::Xor,
                        Box::new(Expr::Acc),
                        Box::new(Expr::Const(k)),
                    )),
                    Stmt::Mix(Expr::Bin(
                        BinOp::Shr,
                        Box::new(Expr::Acc),
                        Box::new(Expr::Const(3)),
                    )),
                ];
                let pos = self.below(body.len() as u64 + 1) as usize;
                body.insert(
                    pos,
                    Stmt::If {
                        cond: Expr::Bin(
                            BinOp::Eq,
                            Box::new(Expr::Param(0)),
                            Box::new(Expr::Const(k)),
                        ),
                        expect: Some(false),
                        then,
                        otherwise: vec![],
                    },
                );
                let linkage = if self.chance(70) {
                    Linkage::Static
                } else {
                    Linkage::Global
                };
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("cold");
                let f = self.function(name, tu, linkage, nil, ret, params, body, h);
                let ncalls = self.ncalls();
                self.calls(f, ncalls, &[]);
            }
            H::UnusedParam | H::ParamSomePaths | H::ClangDeadArg | H::AddressTakenControl => {
                let tu = self.random_tu();
                let n = 2 + self.below(4) as u32;
                let params = if h == H::UnusedParam || h == H::ParamSomePaths {
                    self.params(n, "p", false)
                } else {
                    self.int_params(n)
                };
                let mut uses = vec![Use::Whole; params.len()];
                // Never only the last one: a dropped leading parameter shifts the others.
                let k = self.below(params.len() as u64 - 1) as usize;
                uses[k] = if h == H::ParamSomePaths {
                    Use::SomePaths
                } else {
                    Use::Unused
                };
                // A second one, but always with a used parameter after them: dropping trailing
                // parameters shifts nothing, and the change would leave no trace in registers.
                if k + 2 < params.len() && self.chance(30) {
                    uses[k + 1] = uses[k].clone();
                }
                let fill = self.filler();
                let body = self.body(&uses, tu, fill);
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let prefix = match h {
                    H::UnusedParam => "unused",
                    H::ParamSomePaths => "paths",
                    H::ClangDeadArg => "dead",
                    _ => "addr",
                };
                let name = self.fresh(prefix);
                let f = self.function(name, tu, Linkage::Static, nil, ret, params, body, h);
                self.prog.functions[f.0].address_taken = h == H::AddressTakenControl;
                let ncalls = self.ncalls();
                self.calls(f, ncalls, &[]);
            }
            H::ClangDeadReturn => {
                let tu = self.random_tu();
                let n = 1 + self.below(4) as u32;
                let params = self.int_params(n);
                let uses = vec![Use::Whole; params.len()];
                let fill = self.filler();
                let mut body = self.body(&uses, tu, fill);
                body.push(Stmt::Sink(Expr::Acc));
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("deadret");
                let f = self.function(name, tu, Linkage::Static, nil, ret, params, body, h);
                self.prog.functions[f.0].result_unused = true;
                let ncalls = self.ncalls();
                self.calls(f, ncalls, &[]);
            }
            H::ClangArgPromotion => {
                let tu = self.random_tu();
                let n = self.below(3) as u32;
                let mut params = self.int_params(n);
                let s = self.pick(&INT_PARAM_SCALARS);
                let pos = self.below(params.len() as u64 + 1) as usize;
                params.insert(
                    pos,
                    Param {
                        name: "pp".into(),
                        ty: Ty::Ptr {
                            pointee: Box::new(Ty::Scalar(s)),
                            to_const: true,
                        },
                        quals: Quals::default(),
                    },
                );
                for (i, p) in params.iter_mut().enumerate() {
                    p.name = format!("p{i}");
                }
                let uses = vec![Use::Whole; params.len()];
                let fill = self.filler();
                let body = self.body(&uses, tu, fill);
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("promo");
                let f = self.function(name, tu, Linkage::Static, nil, ret, params, body, h);
                let ncalls = self.ncalls();
                self.calls(f, ncalls, &[]);
            }
            H::ManyArgs | H::VeryManyArgs | H::FloatArgs => {
                let tu = self.random_tu();
                let (n, floats) = match h {
                    H::ManyArgs => (7 + self.below(2) as u32, false),
                    H::VeryManyArgs => (9 + self.below(5) as u32, false),
                    _ => (1 + self.below(6) as u32, true),
                };
                let mut params = self.params(n, "p", floats);
                if floats {
                    let i = self.below(params.len() as u64) as usize;
                    params[i].ty = Ty::Scalar(self.pick(&[Scalar::Double, Scalar::Float]));
                    if self.chance(50) {
                        let j = self.below(params.len() as u64) as usize;
                        params[j].ty = Ty::Scalar(Scalar::Double);
                    }
                }
                let uses = vec![Use::Whole; params.len()];
                let fill = self.filler();
                let body = self.body(&uses, tu, fill);
                let linkage = self.pick(&[Linkage::Static, Linkage::Global]);
                let ret = if floats && self.chance(40) {
                    Ty::Scalar(Scalar::Double)
                } else {
                    self.ret_ty()
                };
                let name = self.fresh(match h {
                    H::ManyArgs => "many",
                    H::VeryManyArgs => "vmany",
                    _ => "flt",
                });
                let f = self.function(name, tu, linkage, nil, ret, params, body, h);
                let ncalls = self.ncalls();
                self.calls(f, ncalls, &[]);
            }
            H::StructByValueSmall | H::StructByValueLarge => {
                let tu = self.random_tu();
                let small = h == H::StructByValueSmall;
                let nf = if small {
                    1 + self.below(3) as u32
                } else {
                    3 + self.below(4) as u32
                };
                let candidate = self.struct_type(nf, !small, false)?;
                let size = self.prog.size_of(&Ty::Def(candidate));
                let s = if small && size <= 16 || !small && size > 16 {
                    candidate
                } else {
                    // Make it fit: a fixed layout that surely does.
                    let name = self.fresh("s");
                    let fields = if small {
                        vec![
                            Field::plain("m0", Ty::Scalar(Scalar::Int)),
                            Field::plain("m1", Ty::Scalar(Scalar::Long)),
                        ]
                    } else {
                        vec![
                            Field::plain("m0", Ty::Scalar(Scalar::Long)),
                            Field::plain("m1", Ty::Scalar(Scalar::Long)),
                            Field::plain("m2", Ty::Scalar(Scalar::Int)),
                        ]
                    };
                    self.prog.push_type(TypeDef::Struct {
                        name,
                        fields,
                        packed: false,
                        align: 0,
                    })?
                };
                let extra = self.below(3) as u32;
                let mut params = self.int_params(extra);
                let pos = self.below(params.len() as u64 + 1) as usize;
                params.insert(
                    pos,
                    Param {
                        name: "sv".into(),
                        ty: Ty::Def(s),
                        quals: Quals::default(),
                    },
                );
                for (i, p) in params.iter_mut().enumerate() {
                    p.name = format!("p{i}");
                }
                let uses = vec![Use::Whole; params.len()];
                let fill = self.filler();
                let body = self.body(&uses, tu, fill);
                let linkage = self.pick(&[Linkage::Static, Linkage::Global]);
                let ret = self.ret_ty();
                let name = self.fresh(if small { "sbv" } else { "lbv" });
                let f = self.function(name, tu, linkage, nil, ret, params, body, h);
                let ncalls = self.ncalls();
                self.calls(f, ncalls, &[]);
            }
            H::Varargs => {
                let tu = self.random_tu();
                let params = vec![Param {
                    name: "n".into(),
                    ty: Ty::Scalar(Scalar::UInt),
                    quals: Quals::default(),
                }];
                let fill = self.filler();
                let mut body = vec![Stmt::VaSum];
                body.extend(self.body(&[Use::Whole], tu, fill));
                let linkage = self.pick(&[Linkage::Static, Linkage::Global]);
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("va");
                let f = self.function(name, tu, linkage, nil, ret, params, body, h);
                self.prog.functions[f.0].variadic = true;
                for _ in 0..self.ncalls() {
                    let extra = self.below(7);
                    let mut args = vec![Value::Int(i128::from(extra as u32))];
                    for _ in 0..extra {
                        args.push(Value::Int(self.int_value(Scalar::ULongLong)));
                    }
                    let opaque = vec![self.chance(self.pol.opaque_args_percent); args.len()];
                    self.prog.calls.push(CallSite {
                        callee: f,
                        args,
                        opaque,
                        va_types: Vec::new(),
                    });
                }
            }
            H::Recursion => {
                let tu = self.random_tu();
                let n = 1 + self.below(2) as u32;
                let mut params = self.int_params(n);
                params.insert(
                    0,
                    Param {
                        name: "depth".into(),
                        ty: Ty::Scalar(Scalar::UInt),
                        quals: Quals::default(),
                    },
                );
                let mut uses = vec![Use::Whole; params.len()];
                uses[0] = Use::Unused;
                let fill = self.filler();
                let mut body = self.body(&uses, tu, fill);
                body.push(Stmt::Recurse { depth_param: 0 });
                let linkage = self.pick(&[Linkage::Static, Linkage::Global]);
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let name = self.fresh("rec");
                let f = self.function(name, tu, linkage, nil, ret, params, body, h);
                for _ in 0..self.ncalls() {
                    let depth = Value::Int(self.below(6) as i128);
                    self.calls(f, 1, &[(0, depth)]);
                }
            }
            H::TailCall => {
                let tu = self.random_tu();
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                let n = 1 + self.below(4) as u32;
                let cparams = self.int_params(n);
                let uses = vec![Use::Whole; cparams.len()];
                let fill = self.filler();
                let cbody = self.body(&uses, tu, fill);
                let cname = self.fresh("tailee");
                let callee = self.function(
                    cname,
                    tu,
                    Linkage::Static,
                    nil,
                    ret.clone(),
                    cparams,
                    cbody,
                    h,
                );
                let n = 1 + self.below(4) as u32;
                let params = self.int_params(n);
                let uses = vec![Use::Whole; params.len()];
                let fill = self.filler();
                let mut body = self.body(&uses, tu, fill);
                let usable: Vec<usize> = (0..params.len()).collect();
                let nargs = self.prog.functions[callee.0].params.len();
                let args = (0..nargs).map(|_| self.expr(2, &usable, tu)).collect();
                body.push(Stmt::TailCall(callee, args));
                let linkage = self.pick(&[Linkage::Static, Linkage::Global]);
                let name = self.fresh("tail");
                let f = self.function(name, tu, linkage, nil, ret, params, body, h);
                let ncalls = self.ncalls();
                self.calls(f, ncalls, &[]);
                self.calls(callee, 1, &[]);
            }
        }
        Ok(())
    }

    fn int_value_max(&self, s: Scalar) -> i128 {
        let bits = s.value_bits();
        if s.is_signed() {
            (1i128 << (bits - 1)) - 1
        } else {
            (1i128 << bits) - 1
        }
    }

    fn same_name(&mut self, h: Hazard) -> Result<(), GenError> {
        use Hazard as H;
        let ntus = self.prog.tus.len();
        let want = if h == H::SameNameMany || h == H::SameNameIdenticalMany {
            3 + self.below(3) as usize
        } else {
            2
        };
        let count = want.min(ntus);
        // Distinct units, chosen by rotating from a random start.
        let start = self.random_tu();
        let tus: Vec<usize> = (0..count).map(|i| (start + i) % ntus).collect();
        let name = self.fresh("dup");
        let nparams = self.range(self.pol.limits.params).max(1);
        let base = self.params(nparams, "p", false);
        let ret = self.ret_ty();
        for (i, &tu) in tus.iter().enumerate() {
            let variant = match h {
                H::SameNameMany => self.pick(&[
                    H::SameNameIdentical,
                    H::SameNameDifferentTypes,
                    H::SameNameDifferentArity,
                    H::SameNameRenamedParams,
                ]),
                other => other,
            };
            let mut params = base.clone();
            let mut ret_i = ret.clone();
            if i > 0 {
                match variant {
                    H::SameNameDifferentTypes => {
                        let j = self.below(params.len() as u64) as usize;
                        params[j].ty = match &params[j].ty {
                            Ty::Scalar(Scalar::Long) => Ty::Scalar(Scalar::Int),
                            Ty::Scalar(_) => Ty::Scalar(Scalar::Long),
                            _ => Ty::Scalar(Scalar::UInt),
                        };
                        if self.chance(30) {
                            ret_i = Ty::Scalar(Scalar::ULongLong);
                        }
                    }
                    H::SameNameDifferentArity => {
                        let extra = 1 + self.below(3) as u32 + i as u32;
                        let more = self.params(extra, "x", false);
                        if self.chance(50) && params.len() > 1 {
                            params.truncate(params.len() - 1);
                        } else {
                            params.extend(more);
                        }
                    }
                    H::SameNameRenamedParams => {
                        for p in params.iter_mut() {
                            p.name = format!("r{i}_{}", p.name);
                        }
                    }
                    _ => {}
                }
            }
            let linkage = match h {
                H::SameNameGlobalAndStatic if i == 0 => Linkage::Global,
                H::SameNameWeakAndStatic if i == 0 => Linkage::Weak,
                _ => Linkage::Static,
            };
            let uses = vec![Use::Whole; params.len()];
            let fill = self.filler();
            let body = self.body(&uses, tu, fill);
            let f = self.function(
                name.clone(),
                tu,
                linkage,
                InlineHint::NoInline,
                ret_i,
                params,
                body,
                h,
            );
            let n = self.ncalls();
            self.calls(f, n, &[]);
        }
        Ok(())
    }

    /// A value of a 128-bit integer type: small, past 64 bits, or an extreme.
    fn int128_value(&mut self, s: Scalar) -> i128 {
        let signed = s.is_signed();
        match self.below(5) {
            0 => self.below(10) as i128,
            1 => (1i128 << 64) + self.below(1000) as i128,
            2 => i128::MAX - self.below(1000) as i128,
            3 if signed => i128::MIN + self.below(1000) as i128,
            3 => (u64::MAX as i128) * (3 + self.below(5) as i128),
            _ if signed => -((1i128 << 100) + self.below(1 << 20) as i128),
            _ => (1i128 << 100) + self.below(1 << 20) as i128,
        }
    }

    /// Renames parameters `p0..` in order.
    fn renumber(params: &mut [Param]) {
        for (i, p) in params.iter_mut().enumerate() {
            p.name = format!("p{i}");
        }
    }

    /// The calling-convention recipes: aggregates, 128-bit integers and `long double` in stack
    /// positions, more than 12 arguments, variadic arguments of mixed types.
    fn stack_recipe(&mut self, h: Hazard) -> Result<(), GenError> {
        use Hazard as H;
        let tu = self.random_tu();
        let nil = InlineHint::NoInline;
        if h == H::VarargsMixedTypes {
            return self.varargs_mixed(tu);
        }
        let mut params = match h {
            H::StackStructPacked | H::StackStructAligned | H::StackStructMixed | H::UnionByValue => {
                let agg = self.stack_aggregate(h)?;
                // Six integer parameters first use up rdi..r9; the aggregate goes on the stack.
                // Half of the unions come early instead (registers, when they fit).
                // Packed and mixed/float structs come early half of the time too: in a register
                // position a MEMORY-class (packed) or SSE-class struct still moves every later
                // argument away from where the kernel's trampoline reads it.
                let early = match h {
                    H::UnionByValue => self.chance(50),
                    H::StackStructPacked | H::StackStructMixed => self.chance(50),
                    _ => false,
                };
                let lead = if early { self.below(4) as u32 } else { 6 + self.below(2) as u32 };
                let mut ps = self.int_params(lead);
                ps.push(Param {
                    name: "agg".into(),
                    ty: Ty::Def(agg),
                    quals: Quals::default(),
                });
                let tail = self.below(3) as u32;
                ps.extend(self.int_params(tail));
                ps
            }
            H::Int128Args => {
                let lead = self.below(8) as u32;
                let mut ps = self.int_params(lead);
                let s = self.pick(&[Scalar::Int128, Scalar::UInt128]);
                ps.push(Param {
                    name: "wide".into(),
                    ty: Ty::Scalar(s),
                    quals: Quals::default(),
                });
                if self.chance(40) {
                    let more = self.below(3) as u32;
                    ps.extend(self.int_params(more));
                    let s = self.pick(&[Scalar::Int128, Scalar::UInt128]);
                    ps.push(Param {
                        name: "wide2".into(),
                        ty: Ty::Scalar(s),
                        quals: Quals::default(),
                    });
                }
                let tail = self.below(2) as u32;
                ps.extend(self.int_params(tail));
                ps
            }
            H::LongDoubleArgs => {
                let n = 1 + self.below(4) as u32;
                let mut ps = self.params(n, "p", true);
                for _ in 0..1 + self.below(2) {
                    let pos = self.below(ps.len() as u64 + 1) as usize;
                    ps.insert(
                        pos,
                        Param {
                            name: "ld".into(),
                            ty: Ty::Scalar(Scalar::LongDouble),
                            quals: Quals::default(),
                        },
                    );
                }
                ps
            }
            _ => {
                let n = 13 + self.below(4) as u32;
                self.params(n, "p", true)
            }
        };
        Self::renumber(&mut params);
        let uses = vec![Use::Whole; params.len()];
        let fill = self.filler();
        let body = self.body(&uses, tu, fill);
        let linkage = self.pick(&[Linkage::Static, Linkage::Global]);
        // Never a `long double` result: the kernel builds with `-mno-fp-ret-in-387`, so the
        // module flavour could not return one.
        let ret = if h == H::LongDoubleArgs && self.chance(30) {
            Ty::Scalar(Scalar::Double)
        } else if h == H::Int128Args && self.chance(30) {
            Ty::Scalar(Scalar::UInt128)
        } else {
            self.ret_ty()
        };
        let name = self.fresh(match h {
            H::StackStructPacked => "spk",
            H::StackStructAligned => "sal",
            H::StackStructMixed => "smx",
            H::UnionByValue => "ubv",
            H::Int128Args => "i128",
            H::LongDoubleArgs => "ldbl",
            _ => "huge",
        });
        let f = self.function(name, tu, linkage, nil, ret, params, body, h);
        let ncalls = self.ncalls();
        self.calls(f, ncalls, &[]);
        Ok(())
    }

    /// The aggregate of a stack recipe: packed, over-aligned, mixed int/float, or a union.
    fn stack_aggregate(&mut self, h: Hazard) -> Result<TypeId, GenError> {
        use Hazard as H;
        const PACKED: [Scalar; 6] = [
            Scalar::Char,
            Scalar::Int,
            Scalar::Short,
            Scalar::Long,
            Scalar::UChar,
            Scalar::UInt,
        ];
        const INTS: [Scalar; 4] = [Scalar::Int, Scalar::Long, Scalar::UInt, Scalar::UShort];
        const FLOATS: [Scalar; 2] = [Scalar::Float, Scalar::Double];
        let n = 2 + self.below(3) as usize;
        // A third of the mixed structs are floats only (SSE class: passed in xmm registers).
        let all_float = h == H::StackStructMixed && self.chance(33);
        let mut fields = Vec::new();
        for i in 0..n {
            let s = match h {
                H::StackStructMixed if all_float => self.pick(&FLOATS),
                H::StackStructPacked => self.pick(&PACKED),
                H::StackStructAligned => self.pick(&INTS),
                // Alternate integer and float members, so the eightbytes mix classes.
                H::StackStructMixed if i % 2 == 1 => self.pick(&FLOATS),
                H::UnionByValue if i > 0 => self.pick(&[
                    Scalar::Double,
                    Scalar::Float,
                    Scalar::Long,
                    Scalar::UChar,
                ]),
                _ => self.pick(&INTS),
            };
            fields.push(Field::plain(format!("m{i}"), Ty::Scalar(s)));
        }
        if h == H::UnionByValue {
            let name = self.fresh("u");
            return self.prog.push_type(TypeDef::Union { name, fields });
        }
        let align = if h == H::StackStructAligned {
            self.pick(&[16, 32])
        } else {
            0
        };
        let name = self.fresh("s");
        self.prog.push_type(TypeDef::Struct {
            name,
            fields,
            packed: h == H::StackStructPacked,
            align,
        })
    }

    /// `T vamixN(unsigned int n, unsigned long long kinds, ...)`: several calls, each passing
    /// variadic arguments of at least two different types.
    fn varargs_mixed(&mut self, tu: usize) -> Result<(), GenError> {
        let h = Hazard::VarargsMixedTypes;
        let params = vec![
            Param {
                name: "n".into(),
                ty: Ty::Scalar(Scalar::UInt),
                quals: Quals::default(),
            },
            Param {
                name: "kinds".into(),
                ty: Ty::Scalar(Scalar::ULongLong),
                quals: Quals::default(),
            },
        ];
        let fill = self.filler();
        let mut body = vec![Stmt::VaMixed];
        body.extend(self.body(&[Use::Whole, Use::Whole], tu, fill));
        let linkage = self.pick(&[Linkage::Static, Linkage::Global]);
        let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
        let name = self.fresh("vamix");
        let f = self.function(name, tu, linkage, InlineHint::NoInline, ret, params, body, h);
        self.prog.functions[f.0].variadic = true;
        for _ in 0..1 + self.ncalls() {
            let extra = 2 + self.below(5) as usize;
            let mut kinds: Vec<VaKind> = (0..extra).map(|_| self.pick(&VaKind::ALL)).collect();
            if kinds[0] == kinds[1] {
                let k = (kinds[0].code() as usize + 1 + self.below(4) as usize) % VaKind::ALL.len();
                kinds[1] = VaKind::ALL[k];
            }
            // A variadic `__int128` only where it still gets two integer registers: clang 14
            // puts one passed on the stack at an 8-byte- instead of a 16-byte-aligned slot, so
            // its callee's va_arg reads the wrong bytes and checksums differ from gcc's.
            let mut gprs = 2;
            for k in kinds.iter_mut() {
                match k {
                    VaKind::Int | VaKind::LongLong => gprs += 1,
                    VaKind::UInt128 if gprs + 2 <= 6 => gprs += 2,
                    VaKind::UInt128 => *k = VaKind::LongLong,
                    VaKind::Double | VaKind::LongDouble => {}
                }
            }
            let word = kinds
                .iter()
                .enumerate()
                .fold(0u64, |w, (i, k)| w | k.code() << (4 * i));
            let mut args = vec![Value::Int(extra as i128), Value::Int(i128::from(word))];
            let mut va_types = Vec::new();
            for k in &kinds {
                let s = k.scalar();
                args.push(self.value(&Ty::Scalar(s), 0));
                va_types.push(s);
            }
            let opaque = (0..args.len())
                .map(|_| self.chance(self.pol.opaque_args_percent))
                .collect();
            self.prog.calls.push(CallSite {
                callee: f,
                args,
                opaque,
                va_types,
            });
        }
        Ok(())
    }

    /// Distinct units, rotating from a random start: `want` of them, or all there are.
    fn some_units(&mut self, want: usize) -> Vec<usize> {
        let ntus = self.prog.tus.len();
        let start = self.random_tu();
        (0..want.min(ntus)).map(|i| (start + i) % ntus).collect()
    }

    /// The definitions-across-units recipes.
    fn units_recipe(&mut self, h: Hazard) -> Result<(), GenError> {
        use Hazard as H;
        let nil = InlineHint::NoInline;
        match h {
            H::WeakAndStrong | H::InlineOnlyCopy => {
                let tus = self.some_units(2);
                let name = self.fresh(if h == H::WeakAndStrong { "ws" } else { "dup" });
                let nparams = self.range(self.pol.limits.params).max(1);
                let params = self.params(nparams, "p", false);
                let ret = self.ret_ty();
                for (i, &tu) in tus.iter().enumerate() {
                    let (linkage, inline) = match (h, i) {
                        (H::WeakAndStrong, 0) => (Linkage::Weak, nil),
                        (H::WeakAndStrong, _) => (Linkage::Global, nil),
                        (_, 0) => (Linkage::Static, InlineHint::Always),
                        _ => (Linkage::Static, nil),
                    };
                    let uses = vec![Use::Whole; params.len()];
                    let fill = self.filler();
                    let body = self.body(&uses, tu, fill);
                    let f = self.function(
                        name.clone(),
                        tu,
                        linkage,
                        inline,
                        ret.clone(),
                        params.clone(),
                        body,
                        h,
                    );
                    let n = self.ncalls();
                    self.calls(f, n, &[]);
                }
            }
            H::SameTagDifferentLayout => {
                let want = 2 + self.below(2) as usize;
                let tus = self.some_units(want);
                let tag = self.fresh("ctx");
                let name = self.fresh("dup");
                const MEMBERS: [Scalar; 5] = [
                    Scalar::Int,
                    Scalar::Long,
                    Scalar::Char,
                    Scalar::UShort,
                    Scalar::ULongLong,
                ];
                let extra = self.below(3) as u32;
                let tail = self.int_params(extra);
                let to_const = self.chance(50);
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                for (i, &tu) in tus.iter().enumerate() {
                    // Unit i: i + 1 (or i + 2) members named after the unit, so no two
                    // layouts agree.
                    let n = i + 1 + self.below(2) as usize;
                    let fields = (0..n)
                        .map(|j| {
                            let s = self.pick(&MEMBERS);
                            Field::plain(format!("{}{j}", (b'a' + i as u8) as char), Ty::Scalar(s))
                        })
                        .collect();
                    let id = self.prog.push_type(TypeDef::Struct {
                        name: tag.clone(),
                        fields,
                        packed: false,
                        align: 0,
                    })?;
                    self.prog.unit_types.push((id, tu));
                    let mut params = vec![Param {
                        name: "ctx".into(),
                        ty: Ty::Ptr {
                            pointee: Box::new(Ty::Def(id)),
                            to_const,
                        },
                        quals: Quals::default(),
                    }];
                    params.extend(tail.iter().cloned());
                    Self::renumber(&mut params);
                    let uses = vec![Use::Whole; params.len()];
                    let fill = self.filler();
                    let body = self.body(&uses, tu, fill);
                    let f = self.function(
                        name.clone(),
                        tu,
                        Linkage::Static,
                        nil,
                        ret.clone(),
                        params,
                        body,
                        h,
                    );
                    let n = self.ncalls();
                    self.calls(f, n, &[]);
                }
            }
            _ => {
                // SameNameDifferentFnPtr: `typedef long (*cbN)(...)` differs per unit; every
                // call passes a real function of the unit's prototype.
                let want = 2 + self.below(2) as usize;
                let tus = self.some_units(want);
                let tname = self.fresh("cb");
                let name = self.fresh("dup");
                let extra = 1 + self.below(2) as u32;
                let tail = self.int_params(extra);
                let ret = Ty::Scalar(self.pick(&INT_PARAM_SCALARS));
                for (i, &tu) in tus.iter().enumerate() {
                    let cb_params: Vec<Ty> = (0..=i)
                        .map(|_| Ty::Scalar(self.pick(&[Scalar::Int, Scalar::Long, Scalar::UInt])))
                        .collect();
                    let cb_ret = Ty::Scalar(Scalar::Long);
                    let id = self.prog.push_type(TypeDef::FnPtr {
                        name: tname.clone(),
                        ret: cb_ret.clone(),
                        params: cb_params.clone(),
                    })?;
                    self.prog.unit_types.push((id, tu));
                    // The function the callers pass.
                    let mut tparams: Vec<Param> = cb_params
                        .iter()
                        .map(|t| Param {
                            name: String::new(),
                            ty: t.clone(),
                            quals: Quals::default(),
                        })
                        .collect();
                    Self::renumber(&mut tparams);
                    let uses = vec![Use::Whole; tparams.len()];
                    let fill = self.filler();
                    let tbody = self.body(&uses, tu, fill);
                    let target = self.fresh("cbfn");
                    self.function(target.clone(), tu, Linkage::Static, nil, cb_ret, tparams, tbody, h);
                    let mut params = vec![Param {
                        name: "cb".into(),
                        ty: Ty::Def(id),
                        quals: Quals::default(),
                    }];
                    params.extend(tail.iter().cloned());
                    Self::renumber(&mut params);
                    let uses = vec![Use::Whole; params.len()];
                    let fill = self.filler();
                    let body = self.body(&uses, tu, fill);
                    let f = self.function(
                        name.clone(),
                        tu,
                        Linkage::Static,
                        nil,
                        ret.clone(),
                        params,
                        body,
                        h,
                    );
                    let n = self.ncalls();
                    self.calls(f, n, &[(0, Value::FnAddr(target.clone()))]);
                }
            }
        }
        Ok(())
    }
}
