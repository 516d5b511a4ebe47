//! DWARF truth: every FUNC an encoder emitted, checked against what the compiler produced.
//!
//! For a FUNC named `N`, the kernel attaches to the first symbol named exactly `N` (see
//! [`facts::dwarf::Facts::attach_target`]) and a tracer reads its arguments as the FUNC's
//! prototype says. So:
//! - AMBIGUOUS: several functions carry the symbol `N` with different signatures;
//! - WRONG_PROTO: the FUNC's signature is not the attached function's;
//! - UNSAFE_OPTIMIZED: the FUNC claims the source prototype but the function `N` stands for
//!   (the attached one, or a clone `N.isra.0` when no `N` exists) does not receive its arguments
//!   that way (optimized-out or constant-propagated parameters, moved registers, DW_CC_nocall);
//! - MISSED (a rate): `N` could have been described safely and was not.
//!
//! A FUNC named like a clone (`N.constprop.0`, from true-signature encoding) must describe the
//! clone's real parameters: the ones that still arrive, in the registers their new positions give.
//! Signatures are compared without parameter names: names do not change how arguments travel.

use super::{CaseRun, Oracle, Verdict, VerdictKind};
use facts::dwarf::{Facts, FunctionInstance, Signature};
use crate::rules::{clone_only_describable, phenomenon, safely_encodable, trampoline_misread, true_signatures, HARNESS_FUNCTIONS};
use btf::{Btf, TypeData, TypeId};
use std::collections::BTreeSet;

/// The DWARF-truth oracle.
#[derive(Debug)]
pub struct DwarfTruth;


impl Oracle for DwarfTruth {
    fn name(&self) -> &'static str {
        "dwarf-truth"
    }

    fn check(&self, case: &CaseRun<'_>) -> Vec<Verdict> {
        let facts = &case.build.facts;
        let mut out = Vec::new();
        for enc in case.encodings {
            let Ok(btf) = &enc.btf else { continue };
            let verdict = |judged: Judged, function: &str| Verdict {
                oracle: "dwarf-truth".into(),
                kind: judged.kind,
                encoder: enc.encoder.config.name.clone(),
                compiler: case.build.compiler.name.clone(),
                function: Some(function.to_string()),
                phenomenon: phenomenon(facts, function.split('.').next().unwrap_or(function)),
                evidence: judged.mechanism.to_string(),
                detail: judged.detail,
            };
            if !enc.objects.is_empty() {
                // gcc -gbtf: each object's BTF as shipped, against its own unit's bodies.
                for obj in &enc.objects {
                    out.extend(judge_object(obj, facts).into_iter().map(|(j, name)| verdict(j, &name)));
                }
                continue;
            }
            let mut encoded = BTreeSet::new();
            for (id, ty) in btf.own_ids().zip(btf.own_types()) {
                let TypeData::Func(_) = ty.data else { continue };
                let name = btf.str(ty.name).to_string();
                encoded.insert(name.clone());
                out.extend(
                    judge_func(btf, id, &name, facts)
                        .into_iter()
                        .map(|j| verdict(j, &name)),
                );
            }
            for (sym, base, sig) in clone_only_describable(facts) {
                // Only a FUNC under the clone's own name describes it: the kernel resolves a FUNC
                // by its name, and no symbol carries the source name (a FUNC `base` is
                // unattachable, whatever its prototype; if it claims a wrong one, that is judged
                // above).
                if !encoded.contains(&sym) {
                    let detail = format!(
                        "{base} exists only as the clone {sym}, whose real prototype the DWARF gives ({}), but there is no FUNC {sym}",
                        sig.render(&sym)
                    );
                    out.push(verdict(Judged { kind: VerdictKind::Missed, mechanism: "missed:clone-only", detail }, &sym));
                }
            }
            for name in safely_encodable(facts) {
                if !encoded.contains(&name) {
                    let detail = format!("every body the kernel can attach to as {name} has one prototype and receives its arguments as it says, but there is no FUNC {name}");
                    out.push(verdict(
                        Judged {
                            kind: VerdictKind::Missed,
                            mechanism: "missed",
                            detail,
                        },
                        &name,
                    ));
                }
            }
        }
        out
    }
}

/// One conclusion about one FUNC: the verdict, the mechanism its evidence shows, the detail.
#[derive(Debug)]
struct Judged {
    kind: VerdictKind,
    mechanism: &'static str,
    detail: String,
}

fn judged(kind: VerdictKind, mechanism: &'static str, detail: String) -> Judged {
    Judged {
        kind,
        mechanism,
        detail,
    }
}

/// Judges one FUNC.
fn judge_func(btf: &Btf, id: TypeId, name: &str, facts: &Facts) -> Vec<Judged> {
    let Some(claimed) = Signature::of_btf_func(btf, id) else {
        return Vec::new();
    };
    let shown = btf::render::func_prototype(btf, id).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(base) = name.split_once('.').map(|(b, _)| b) {
        // A clone encoded under its own symbol name.
        let Some(f) = facts
            .functions
            .iter()
            .find(|f| f.symbols.iter().any(|s| s == name))
        else {
            return out;
        };
        let candidates = true_signatures(f);
        if candidates.is_empty() {
            return out; // too many unknowns to judge
        }
        // A FUNC may leave out a variadic body's `...`: a tracer then reads only the fixed
        // parameters, and reads them right. A `void` return claims no return value, which is
        // never wrong (DWARF does not say whether gcc's IPA-SRA removed it).
        let matches = |sig: &Signature| {
            sig.params == claimed.params
                && (sig.ret == claimed.ret || claimed.ret == "void")
                && (sig.variadic == claimed.variadic || (sig.variadic && !claimed.variadic))
        };
        match candidates.iter().find(|(sig, _)| matches(sig)) {
            None => {
                let shown_candidates: Vec<String> = candidates
                    .iter()
                    .map(|(s, _)| s.render(name))
                    .take(4)
                    .collect();
                let why = candidates
                    .iter()
                    .filter_map(|(s, _)| claimed.difference(s))
                    .next()
                    .unwrap_or_default();
                out.push(judged(
                    VerdictKind::WrongProto,
                    "clone:wrong-params",
                    format!("FUNC {shown}\nbut {name} (clone of {base} in {}) really takes: {}\ndifference: {why}", f.cu, shown_candidates.join("  or  ")),
                ));
            }
            Some((_, Some(p))) => out.push(judged(
                VerdictKind::UnsafeOptimized,
                "clone:register-moved",
                format!("FUNC {shown}\n{name} in {}: {p}", f.cu),
            )),
            Some((_, None)) => {}
        }
        return out;
    }
    if HARNESS_FUNCTIONS.contains(&name) {
        return out;
    }
    let instances: Vec<&FunctionInstance> = facts.instances(name).collect();
    let Some(target_sym) = facts.attach_target(name) else {
        // No symbol `name`: the FUNC stands for a clone, if anything.
        for f in instances.iter().filter(|f| f.sig == claimed) {
            if let Some(ev) = f.convention_change() {
                out.push(judged(
                    VerdictKind::UnsafeOptimized,
                    ev.mechanism,
                    format!("FUNC {shown}\nclaims the source prototype of {} ({}), whose body is {}: {}", name, f.cu, f.symbols.join(", "), ev.detail),
                ));
            }
        }
        return out;
    };
    let Some(target) = facts.instance_at(target_sym.address) else {
        return out;
    };
    let attachable: Vec<&&FunctionInstance> =
        instances.iter().filter(|f| f.has_exact_symbol()).collect();
    let signatures: BTreeSet<&Signature> = attachable.iter().map(|f| &f.sig).collect();
    if signatures.len() > 1 {
        let list: Vec<String> = attachable
            .iter()
            .map(|f| format!("  {} ({})", f.prototype, f.cu))
            .collect();
        out.push(judged(
            VerdictKind::Ambiguous,
            "collision:inconsistent",
            format!(
                "FUNC {shown}\nbut {} functions are named {name}, with different prototypes:\n{}",
                attachable.len(),
                list.join("\n")
            ),
        ));
    } else if attachable.iter().any(|f| !facts::dwarf::shapes_agree(&claimed_shape(btf, id, &claimed, f), &claimed_shape(btf, id, &claimed, attachable[0]))) {
        // The prototypes read the same, but a struct or typedef of the same name is a different
        // type in each unit: one FUNC (one BTF type per name) cannot describe both.
        let list: Vec<String> = attachable.iter().map(|f| format!("  {} ({}): {}", f.prototype, f.cu, f.shape.join(", "))).collect();
        out.push(judged(
            VerdictKind::Ambiguous,
            "collision:same-name-types",
            format!("FUNC {shown}\nbut {} functions are named {name}; their prototypes read alike, their types differ per unit:\n{}", attachable.len(), list.join("\n")),
        ));
    }
    if target.nocall && claimed.difference(&target.sig).is_some() {
        // Not the source prototype of a DW_CC_nocall body: a true signature (btfenc, pahole
        // 1.32 with `true_signature`), judged as a clone's is: it must be one the parameters'
        // locations allow. A `void` return claims no return value, which is never wrong
        // (DWARF does not say whether clang dropped it).
        let candidates = true_signatures(target);
        if candidates.is_empty() {
            return out; // too many unknowns to judge
        }
        let fits = |sig: &Signature| {
            sig.params == claimed.params
                && sig.variadic == claimed.variadic
                && (sig.ret == claimed.ret || claimed.ret == "void")
        };
        match candidates.iter().find(|(sig, _)| fits(sig)) {
            None => {
                let shown_candidates: Vec<String> =
                    candidates.iter().map(|(s, _)| s.render(name)).take(4).collect();
                out.push(judged(
                    VerdictKind::WrongProto,
                    "nocall:wrong-params",
                    format!(
                        "FUNC {shown}\nbut {name} (DW_CC_nocall, in {}) really takes: {}",
                        target.cu,
                        shown_candidates.join("  or  ")
                    ),
                ));
            }
            Some((_, Some(p))) => out.push(judged(
                VerdictKind::UnsafeOptimized,
                "nocall:register-moved",
                format!("FUNC {shown}\n{name} in {}: {p}", target.cu),
            )),
            Some((_, None)) => {}
        }
        return out;
    }
    if let Some(why) = claimed.difference(&target.sig) {
        let matching: Vec<String> = instances
            .iter()
            .filter(|f| f.sig == claimed)
            .map(|f| format!("{} ({})", f.symbols.join(","), f.cu))
            .collect();
        // The FUNC is another same-name function's prototype (the seed's bug), or nobody's.
        let mechanism = if matching.is_empty() {
            "proto:mismatch"
        } else {
            "proto:other-instance"
        };
        out.push(judged(
            VerdictKind::WrongProto,
            mechanism,
            format!(
                "FUNC {shown}\nbut the kernel attaches {name} to {} in {}: {}\ndifference: {why}{}",
                target_sym.name,
                target.cu,
                target.prototype,
                if matching.is_empty() {
                    String::new()
                } else {
                    format!(
                        "\n(the FUNC's prototype is that of {})",
                        matching.join(", ")
                    )
                }
            ),
        ));
    } else if let Some(ev) = target.convention_change() {
        out.push(judged(
            VerdictKind::UnsafeOptimized,
            ev.mechanism,
            format!("FUNC {shown}\n{name} in {}: {}", target.cu, ev.detail),
        ));
    } else if let Some((mechanism, detail)) = trampoline_misread(btf, id, target) {
        out.push(judged(VerdictKind::UnsafeOptimized, mechanism, format!("FUNC {shown}\n{name} in {}: {detail}", target.cu)));
    } else if target.return_dropped() {
        out.push(judged(
            VerdictKind::ReturnDropped,
            "nocall:return-only",
            format!(
                "FUNC {shown}\n{name} in {}: DW_CC_nocall, every argument arrives as the prototype says, but clang dropped the return value (`{}`): an fexit program reads no return value",
                target.cu, target.sig.ret
            ),
        ));
    }
    out
}

/// The part of `f`'s shape (its parameters' and return type's structure) that the FUNC describes:
/// all of it when the FUNC claims the source prototype; for a true signature (a DW_CC_nocall
/// body described without the parameters clang removed, `void` when it claims no return value),
/// only the parameters the FUNC names and the return when it claims one. A parameter the FUNC
/// leaves out cannot make two same-name bodies' FUNC wrong.
fn claimed_shape(btf: &Btf, id: TypeId, claimed: &Signature, f: &FunctionInstance) -> Vec<String> {
    if *claimed == f.sig || f.shape.len() != f.params.len() + 1 {
        return f.shape.clone();
    }
    let names: Vec<String> = match btf.type_by_id(id).map(|t| &t.data) {
        Some(TypeData::Func(func)) => match btf.type_by_id(func.proto).map(|t| &t.data) {
            Some(TypeData::FuncProto(p)) => p.params.iter().map(|q| btf.str(q.name).to_string()).collect(),
            _ => return f.shape.clone(),
        },
        _ => return f.shape.clone(),
    };
    let mut out: Vec<String> = f.params.iter().zip(&f.shape).filter(|(p, _)| names.contains(&p.name)).map(|(_, s)| s.clone()).collect();
    if claimed.ret != "void" {
        out.push(f.shape[f.params.len()].clone());
    }
    out
}

/// `gcc -gbtf`: the FUNCs of one object's BTF, each against the body its own unit compiled for
/// that name (the one keeping the name, else its clone). Names, collisions with other units and
/// the kernel's choice among them are a linked image's concern, which gcc's per-object BTF is
/// not: no AMBIGUOUS and no MISSED here.
fn judge_object(obj: &crate::pipeline::ObjectBtf, facts: &Facts) -> Vec<(Judged, String)> {
    let unit = obj.source.to_string_lossy();
    let same_unit = |cu: &str| cu == unit || std::path::Path::new(cu).file_name() == obj.source.file_name();
    let mut out = Vec::new();
    for (id, ty) in obj.btf.own_ids().zip(obj.btf.own_types()) {
        let TypeData::Func(_) = ty.data else { continue };
        let name = obj.btf.str(ty.name).to_string();
        if HARNESS_FUNCTIONS.contains(&name.as_str()) {
            continue;
        }
        let Some(claimed) = Signature::of_btf_func(&obj.btf, id) else { continue };
        let shown = btf::render::func_prototype(&obj.btf, id).unwrap_or_default();
        let local: Vec<&FunctionInstance> = facts.instances(&name).filter(|f| same_unit(&f.cu)).collect();
        // No out-of-line body in this unit (inlined everywhere): nothing to attach to.
        let Some(body) = local.iter().find(|f| f.has_exact_symbol()).or(local.first()) else { continue };
        let unit_name = obj.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(why) = claimed.difference(&body.sig) {
            let detail = format!("FUNC {shown} in {unit_name}'s BTF\nbut {unit_name}'s {name} is {}\ndifference: {why}", body.prototype);
            out.push((judged(VerdictKind::WrongProto, "proto:own-unit", detail), name));
        } else if let Some(ev) = body.convention_change() {
            let detail = format!("FUNC {shown} in {unit_name}'s BTF\n{name} ({}) in {unit_name}: {}", body.symbols.join(","), ev.detail);
            out.push((judged(VerdictKind::UnsafeOptimized, ev.mechanism, detail), name));
        } else if let Some((mechanism, detail)) = trampoline_misread(&obj.btf, id, body) {
            let detail = format!("FUNC {shown} in {unit_name}'s BTF\n{name} in {unit_name}: {detail}");
            out.push((judged(VerdictKind::UnsafeOptimized, mechanism, detail), name));
        } else if body.return_dropped() {
            let detail = format!("FUNC {shown} in {unit_name}'s BTF\n{name} in {unit_name}: DW_CC_nocall, arguments in place, return value dropped");
            out.push((judged(VerdictKind::ReturnDropped, "nocall:return-only", detail), name));
        }
    }
    out
}

