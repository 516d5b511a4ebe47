//! Ground truth: what the program contains and which calls its trigger makes, as JSON.

use serde::{Deserialize, Serialize};

use crate::emit::{Emitter, Flavour};
use crate::model::{Linkage, Program, Stmt, Value};
use crate::policy::Hazard;

/// One parameter of a function, as written in the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthParam {
    /// Name.
    pub name: String,
    /// C type text (`const struct s3 *`).
    pub c_type: String,
    /// Size in bytes (x86-64).
    pub size: u64,
    /// The body overwrites the parameter (`locations` policy): its value at entry is what the
    /// caller passed, but later in the function the variable holds something else.
    #[serde(default, skip_serializing_if = "is_false")]
    pub overwritten: bool,
    /// The parameter's type (or pointee) is a `types` recipe's C-text type whose object is
    /// built by a helper: the recorded argument (`Int(k)` or `Ptr(Int(k))`) is the helper's
    /// seed `k`, not the bytes passed. Integer-like types passed by value (`_Atomic` ints,
    /// enums, `_BitInt(8|16|32|64)`, the typedef chain) are the exception: there `k` is the
    /// value, and this is false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub value_is_seed: bool,
}

/// One function definition (an instance: same-name statics are separate instances).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthFunction {
    /// Index in the program's function list.
    pub id: usize,
    /// Name.
    pub name: String,
    /// Unit file (`tu0.c`).
    pub tu: String,
    /// Linkage.
    pub linkage: Linkage,
    /// Prototype as C text.
    pub prototype: String,
    /// Return type as C text.
    pub ret: String,
    /// Parameters in order.
    pub params: Vec<TruthParam>,
    /// Variadic.
    pub variadic: bool,
    /// Marked `noinline`.
    pub noinline: bool,
    /// Address taken by the driver.
    pub address_taken: bool,
    /// Callers ignore the result.
    pub result_unused: bool,
    /// Called from other generated functions too (so a tracer sees more calls than recorded).
    pub called_internally: bool,
    /// The recipe that made it.
    pub hazard: Hazard,
    /// `always_inline`: no out-of-line body exists, so no call to it can be traced.
    #[serde(default, skip_serializing_if = "is_false")]
    pub always_inline: bool,
    /// For a weak definition beside a strong one of the same name in another unit: the id of
    /// the strong definition, whose body the linker keeps. This body is dead code in the linked
    /// program (its DWARF remains), and every call to the name runs the strong body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<usize>,
    /// The body logs every value it returns, with this function's `id` (module flavour, see
    /// [`Emitter::records_return`]): the ground truth of an fexit program's return value.
    #[serde(default, skip_serializing_if = "is_false")]
    pub records_return: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One call the trigger makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthCall {
    /// Position in execution order.
    pub order: usize,
    /// Callee instance id (index into `functions`): the body that runs, so a call the driver of
    /// a weak definition's unit makes names the strong definition that overrides it.
    pub function: usize,
    /// Callee name.
    pub name: String,
    /// Unit of the callee (and of the driver that calls it).
    pub tu: String,
    /// Argument values (variadic ones appended, as `unsigned long long` unless `va_types`
    /// says otherwise).
    pub args: Vec<Value>,
    /// C types of the variadic arguments, when they are not all `unsigned long long`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub va_types: Vec<String>,
}

/// Everything a checker needs to know about a generated program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Generator version.
    pub generator_version: String,
    /// Seed, when generated from one.
    pub seed: Option<u64>,
    /// Policy name.
    pub policy: String,
    /// Flavour written.
    pub flavour: Flavour,
    /// Unit files, in link order (`main.c` last).
    pub units: Vec<String>,
    /// Every function instance.
    pub functions: Vec<TruthFunction>,
    /// Every call the trigger makes, in order.
    pub calls: Vec<TruthCall>,
}

impl GroundTruth {
    /// The ground truth of `prog` as written in `flavour`.
    pub fn of(prog: &Program, flavour: Flavour) -> GroundTruth {
        let em = Emitter::new(prog, flavour);
        let mut internal = vec![false; prog.functions.len()];
        for (i, f) in prog.functions.iter().enumerate() {
            mark_calls(&f.body, &mut internal);
            if f.body
                .iter()
                .any(|s| matches!(s, crate::model::Stmt::Recurse { .. }))
            {
                internal[i] = true;
            }
        }
        let functions = prog
            .functions
            .iter()
            .enumerate()
            .map(|(i, f)| TruthFunction {
                id: i,
                name: f.name.clone(),
                tu: format!("{}.c", prog.tus[f.tu].name),
                linkage: f.linkage,
                prototype: em.prototype(f),
                ret: em.c_type(&f.ret),
                params: f
                    .params
                    .iter()
                    .enumerate()
                    .map(|(pi, p)| TruthParam {
                        name: p.name.clone(),
                        c_type: em.c_type(&p.ty),
                        size: prog.size_of(&p.ty),
                        overwritten: overwrites(&f.body, pi),
                        value_is_seed: seeded_raw(prog, &p.ty),
                    })
                    .collect(),
                variadic: f.variadic,
                noinline: f.inline == crate::model::InlineHint::NoInline,
                address_taken: f.address_taken,
                result_unused: f.result_unused,
                called_internally: internal[i],
                hazard: f.hazard,
                always_inline: f.inline == crate::model::InlineHint::Always,
                overridden_by: strong_of(prog, i),
                records_return: em.records_return(i),
            })
            .collect();
        let calls = prog
            .calls
            .iter()
            .enumerate()
            .map(|(order, c)| {
                let id = strong_of(prog, c.callee.0).unwrap_or(c.callee.0);
                let f = &prog.functions[id];
                TruthCall {
                    order,
                    function: id,
                    name: f.name.clone(),
                    tu: format!("{}.c", prog.tus[f.tu].name),
                    args: c.args.clone(),
                    va_types: c.va_types.iter().map(|s| s.c_name().to_string()).collect(),
                }
            })
            .collect();
        let mut units: Vec<String> = prog.tus.iter().map(|t| format!("{}.c", t.name)).collect();
        units.push("main.c".into());
        GroundTruth {
            generator_version: prog.generator_version.clone(),
            seed: prog.seed,
            policy: prog.policy.clone(),
            flavour,
            units,
            functions,
            calls,
        }
    }
}

/// The strong (global) definition that overrides weak function `id`, if there is one.
fn strong_of(prog: &Program, id: usize) -> Option<usize> {
    let f = &prog.functions[id];
    if f.linkage != Linkage::Weak {
        return None;
    }
    prog.functions
        .iter()
        .position(|g| g.name == f.name && g.linkage == Linkage::Global)
}

fn mark_calls(body: &[crate::model::Stmt], out: &mut [bool]) {
    use crate::model::{Expr, Stmt};
    fn e(x: &Expr, out: &mut [bool]) {
        match x {
            Expr::Call(f, args) => {
                if let Some(o) = out.get_mut(f.0) {
                    *o = true;
                }
                args.iter().for_each(|a| e(a, out));
            }
            Expr::Bin(_, a, b) => {
                e(a, out);
                e(b, out);
            }
            Expr::Cond(c, a, b) => {
                e(c, out);
                e(a, out);
                e(b, out);
            }
            _ => {}
        }
    }
    for s in body {
        match s {
            Stmt::Mix(x) | Stmt::Sink(x) | Stmt::ColdCall(x) | Stmt::SetParam(_, x) => e(x, out),
            Stmt::If {
                cond,
                then,
                otherwise,
                ..
            } => {
                e(cond, out);
                mark_calls(then, out);
                mark_calls(otherwise, out);
            }
            Stmt::Loop { body, .. } => mark_calls(body, out),
            Stmt::TailCall(f, args) => {
                if let Some(o) = out.get_mut(f.0) {
                    *o = true;
                }
                args.iter().for_each(|a| e(a, out));
            }
            Stmt::EarlyReturn { cond, value } => {
                e(cond, out);
                e(value, out);
            }
            Stmt::Recurse { .. } | Stmt::VaSum | Stmt::VaMixed => {}
        }
    }
}

/// Whether `body` assigns parameter `i` ([`Stmt::SetParam`]).
fn overwrites(body: &[Stmt], i: usize) -> bool {
    body.iter().any(|s| match s {
        Stmt::SetParam(j, _) => *j == i,
        Stmt::If {
            then, otherwise, ..
        } => overwrites(then, i) || overwrites(otherwise, i),
        Stmt::Loop { body, .. } => overwrites(body, i),
        _ => false,
    })
}

/// Whether arguments of type `ty` are recorded as a raw type's helper seed (see
/// [`TruthParam::value_is_seed`]).
fn seeded_raw(prog: &Program, ty: &crate::model::Ty) -> bool {
    use crate::model::{Ty, TypeDef};
    match prog.resolve(ty) {
        Ty::Ptr { pointee, .. } => {
            matches!(prog.resolve(pointee), Ty::Def(d) if matches!(prog.def(*d), TypeDef::Raw { .. }))
        }
        Ty::Def(d) => matches!(prog.def(*d), TypeDef::Raw { value_is_k: false, .. }),
        _ => false,
    }
}
