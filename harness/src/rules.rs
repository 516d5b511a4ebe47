//! What the DWARF proves about functions, independently of any encoder's output: which functions
//! one FUNC can describe safely, the real prototype of a clone, what a function's phenomenon is,
//! and what the 6.12 trampoline does with a prototype. The DWARF-truth oracle, the runtime
//! oracle, the audit and the campaign's MISSED denominator all apply these rules; keeping them
//! here keeps the oracles from reaching into each other.

use crate::names::PhenomenonName;
use facts::abi::{self, abi_registers, AbiClass, TrampolineArg};
use facts::dwarf::{EntryLocation, Facts, FunctionInstance, Signature};
use btf::{Btf, TypeData, TypeId};
use std::collections::BTreeSet;

/// Functions the harness adds itself, never judged.
pub const HARNESS_FUNCTIONS: &[&str] = &["main"];

/// What happened to the functions named `name`, for finding signatures.
pub fn phenomenon(facts: &Facts, name: &str) -> PhenomenonName {
    let instances: Vec<&FunctionInstance> = facts.instances(name).collect();
    let signatures: BTreeSet<&Signature> = instances.iter().map(|f| &f.sig).collect();
    if instances.len() > 1 {
        return if signatures.len() > 1 {
            "collision:inconsistent".into()
        } else {
            "collision:consistent".into()
        };
    }
    let Some(f) = instances.first() else {
        return "no-code".into();
    };
    let suffixes = f.clone_suffixes();
    if !suffixes.is_empty() {
        return format!("clone:{}", suffixes.join("+")).into();
    }
    for p in &f.params {
        match (p.location, p.abi_register) {
            (EntryLocation::Register(r), Some(a)) if r != a => return "moved-register".into(),
            (EntryLocation::None, _) => return "unused-param".into(),
            (EntryLocation::Constant, _) => return "constant-param".into(),
            _ => {}
        }
    }
    if f.nocall {
        return "nocall".into();
    }
    "plain".into()
}

/// The signatures a clone may really have: the parameters that certainly arrive (a location at
/// entry, or a call site passing them) plus any subset of those nobody can tell about (a constant
/// or no location, and no call-site record). Each comes with the first parameter, if any, that
/// sits in another register than its position in that signature calls for.
pub fn true_signatures(f: &FunctionInstance) -> Vec<(Signature, Option<String>)> {
    let certain = |p: &facts::dwarf::ParamFact| {
        p.passed == Some(true)
            || !matches!(p.location, EntryLocation::None | EntryLocation::Constant)
    };
    let unknown: Vec<usize> = (0..f.params.len())
        .filter(|&i| !certain(&f.params[i]) && f.params[i].passed != Some(false))
        .collect();
    // Too many unknowns to enumerate; or an aggregate only partly present at entry (gcc's isra
    // passes some of its fields as scalars): which scalars, in which order, DWARF does not say.
    if unknown.len() > 6 || f.params.iter().any(|p| p.location == EntryLocation::Partial) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for mask in 0u32..(1 << unknown.len()) {
        let kept: Vec<&facts::dwarf::ParamFact> = f
            .params
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                certain(p)
                    || unknown
                        .iter()
                        .position(|u| u == i)
                        .is_some_and(|bit| mask & (1 << bit) != 0)
            })
            .map(|(_, p)| p)
            .collect();
        let classes: Vec<_> = kept.iter().map(|p| p.abi_class).collect();
        let regs = abi_registers(&classes, f.returns_aggregate);
        let problem = kept
            .iter()
            .zip(&regs)
            .find_map(|(p, abi)| match (p.location, abi) {
                // Not evidence: a whole-body location in a callee-saved register (see
                // FunctionInstance::convention_change).
                (EntryLocation::Register(r), Some(a)) if r != *a && !(p.whole_body && facts::abi::CALLEE_SAVED.contains(&r)) => Some(format!(
                    "parameter {} arrives in DWARF register {r}, its position says {a}",
                    p.name
                )),
                _ => None,
            });
        let sig = Signature {
            ret: f.sig.ret.clone(),
            params: kept.iter().map(|p| p.ty.clone()).collect(),
            variadic: f.variadic,
        };
        out.push((sig, problem));
    }
    out
}
/// How the Linux 6.12 trampoline sees one BTF type: `btf_distill_func_proto()` takes integers,
/// enums and pointers, and structs by size; anything else makes it refuse the function.
fn trampoline_arg(btf: &Btf, mut ty: TypeId) -> TrampolineArg {
    for _ in 0..32 {
        match btf.type_by_id(ty).map(|t| &t.data) {
            Some(TypeData::Int(i)) => return TrampolineArg::Scalar(u64::from(i.size)),
            Some(TypeData::Enum(e)) => return TrampolineArg::Scalar(u64::from(e.size)),
            Some(TypeData::Enum64(e)) => return TrampolineArg::Scalar(u64::from(e.size)),
            Some(TypeData::Ptr(_)) => return TrampolineArg::Scalar(8),
            Some(TypeData::Struct(c)) => return TrampolineArg::Aggregate(u64::from(c.size)),
            // 6.12's `__get_type_size()` accepts BTF_KIND_STRUCT only: a union argument makes it
            // refuse the function (later kernels allow unions).
            Some(TypeData::Union(_)) => return TrampolineArg::Unsupported,
            Some(TypeData::Typedef(t) | TypeData::Const(t) | TypeData::Volatile(t) | TypeData::Restrict(t)) => ty = *t,
            Some(TypeData::TypeTag(t)) => ty = t.ty,
            _ => return TrampolineArg::Unsupported,
        }
    }
    TrampolineArg::Unsupported
}

/// Why Linux 6.12 builds no trampoline for the FUNC `id` (`btf_distill_func_proto()` refuses
/// its prototype, so fentry/fexit on it fail at load time), or `None` when it would.
pub fn trampoline_refusal(btf: &Btf, id: TypeId) -> Option<String> {
    let TrampolineView { proto: p, args, variadic, returns_aggregate } = TrampolineView::of(btf, id)?;
    if abi::trampoline_accepts(&args, variadic, returns_aggregate) {
        return None;
    }
    let mut why = Vec::new();
    if variadic {
        why.push("it is variadic".to_string());
    }
    if returns_aggregate {
        why.push("its return type is not an integer, enum or pointer".to_string());
    }
    if args.len() > abi::MAX_TRAMPOLINE_ARGS {
        why.push(format!("it has {} arguments (at most {})", args.len(), abi::MAX_TRAMPOLINE_ARGS));
    }
    for (i, (a, q)) in args.iter().zip(&p.params).enumerate() {
        let name = btf.str(q.name);
        match a {
            TrampolineArg::Unsupported if !(variadic && i + 1 == args.len()) => {
                why.push(format!("argument {i} ({name}) is not an integer, enum, pointer or struct (a float or a union)"))
            }
            TrampolineArg::Scalar(n) | TrampolineArg::Aggregate(n) if *n > 16 => {
                why.push(format!("argument {i} ({name}) is {n} bytes (at most 16)"))
            }
            _ => {}
        }
    }
    Some(format!("Linux 6.12's btf_distill_func_proto() refuses the prototype, so no fentry/fexit program attaches: {}", why.join("; ")))
}

/// A FUNC's prototype as the kernel's `btf_distill_func_proto()` sees it.
struct TrampolineView<'b> {
    proto: &'b btf::types::FuncProto,
    args: Vec<TrampolineArg>,
    variadic: bool,
    returns_aggregate: bool,
}

impl<'b> TrampolineView<'b> {
    fn of(btf: &'b Btf, id: TypeId) -> Option<Self> {
        let TypeData::Func(func) = &btf.type_by_id(id)?.data else { return None };
        let TypeData::FuncProto(p) = &btf.type_by_id(func.proto)?.data else { return None };
        Some(TrampolineView {
            proto: p,
            args: p.params.iter().map(|q| trampoline_arg(btf, q.ty)).collect(),
            variadic: p.params.last().is_some_and(|q| q.ty == TypeId::VOID && q.name == btf::StrRef::EMPTY),
            returns_aggregate: p.ret != TypeId::VOID && !matches!(trampoline_arg(btf, p.ret), TrampolineArg::Scalar(_)),
        })
    }
}

/// The stack-slot check: for a FUNC the kernel would attach (see [`abi::trampoline_accepts`]),
/// where the x86-64 ABI passes each argument of `f` (classified from its DWARF types) against
/// where the BPF trampoline's slot arithmetic reads it (from the FUNC's BTF sizes). A struct of
/// SSE class travels in xmm registers, a packed struct in memory, a 16-byte-aligned argument on
/// the stack skips a slot: the trampoline sees none of it, and reads that argument and every
/// later one from the wrong place.
///
/// Judged only where the DWARF agrees with the ABI model wherever it names a register at entry
/// (else the compiler changed the convention, which [`FunctionInstance::convention_change`]
/// judges, or the model is wrong: no verdict either way), for bodies called by the source
/// prototype (not a clone, not `DW_CC_nocall`), and only when every parameter's type is one the
/// model classifies.
pub fn trampoline_misread(btf: &Btf, id: TypeId, f: &FunctionInstance) -> Option<(&'static str, String)> {
    if f.nocall || f.is_clone() || f.returns_aggregate || f.variadic {
        return None;
    }
    let TrampolineView { args, variadic, returns_aggregate, .. } = TrampolineView::of(btf, id)?;
    if !abi::trampoline_accepts(&args, variadic, returns_aggregate) || args.len() != f.params.len() {
        return None;
    }
    let layouts: Vec<abi::Layout> = f.params.iter().map(|q| q.layout.clone()).collect::<Option<_>>()?;
    let abi_places = abi::sysv_placement(&layouts);
    for (q, place) in f.params.iter().zip(&abi_places) {
        if let EntryLocation::Register(r) = q.location {
            match place {
                abi::Placement::Registers(rs) if rs.first() == Some(&r) => {}
                _ => return None,
            }
        }
        // gcc's CFA-relative stack locations name the argument-area offset itself.
        // (A negative offset is a register argument's spill slot at -O0: no evidence either way.)
        match (q.cfa_offset, place) {
            (Some(cfa), abi::Placement::Stack { offset, .. }) if cfa != *offset as i64 => return None,
            (Some(cfa), abi::Placement::Registers(_)) if cfa >= 0 => return None,
            _ => {}
        }
    }
    let sizes: Vec<u64> = args
        .iter()
        .map(|a| match a {
            TrampolineArg::Scalar(s) | TrampolineArg::Aggregate(s) => *s,
            TrampolineArg::Unsupported => 0,
        })
        .collect();
    let misreads = abi::misreads(&layouts, &sizes);
    let first = misreads.first()?;
    let lines: Vec<String> = misreads
        .iter()
        .map(|m| {
            let q = &f.params[m.index];
            format!(
                "  parameter {} ({}: {}): the ABI passes it in {}, the trampoline reads {} (DWARF at entry: {})",
                m.index,
                q.name,
                q.ty,
                abi::describe(&m.abi),
                abi::describe(&m.trampoline),
                q.location_expr
            )
        })
        .collect();
    let cause = match first.mechanism {
        "abi:sse-aggregate" => "an aggregate of SSE class travels in xmm registers, which the trampoline never reads",
        "stack-slot:memory-class" => "an aggregate of MEMORY class (unaligned member or x87 member) travels on the stack although registers were left",
        "stack-slot:aligned" => "a 16-byte-aligned argument on the stack skips a slot that the trampoline's 8-byte slot count does not",
        _ => "the trampoline's register and slot count drifts from the ABI's",
    };
    Some((
        first.mechanism,
        format!("{cause} (BTF sizes {sizes:?}); a tracer reads {} of {} arguments from the wrong place:\n{}", misreads.len(), f.params.len(), lines.join("\n")),
    ))
}

/// Bodies that exist only as a clone (`f.constprop.0`, `f.isra.0`; no body keeps the name `f`)
/// whose real prototype DWARF determines: exactly one candidate signature, every parameter of it
/// in the register its new position gives (or on the stack past the registers), not variadic,
/// no struct return, no `DW_CC_nocall`, and no other body with the same symbol. Returns (clone
/// symbol, source name, real prototype). Only a FUNC named like the clone symbol describes it. An encoder can
/// describe such a body only under the clone's name with that prototype; one that offers no FUNC
/// under that name misses it.
pub fn clone_only_describable(facts: &Facts) -> Vec<(String, String, Signature)> {
    let mut out = Vec::new();
    for f in facts.functions.iter().filter(|f| f.is_clone() && !HARNESS_FUNCTIONS.contains(&f.name.as_str())) {
        if facts.instances(&f.name).any(|g| g.has_exact_symbol()) {
            continue;
        }
        let Some(sym) = f.symbols.first() else { continue };
        // Two units' clones may carry the same symbol (static dup6.constprop.0 in each): the
        // kernel reaches one of them; no FUNC describes both.
        if facts.functions.iter().filter(|g| g.symbols.contains(sym)).count() > 1 {
            continue;
        }
        if let Some(sig) = clone_signature(f) {
            out.push((sym.clone(), f.name.clone(), sig));
        }
    }
    out
}

/// The one real prototype of the clone body `f`, when its DWARF proves it (the per-body half of
/// [`clone_only_describable`]'s rule: not variadic, no struct return, no `DW_CC_nocall`, one
/// candidate signature, every kept parameter where its new position puts it).
pub fn clone_signature(f: &FunctionInstance) -> Option<Signature> {
    if f.variadic || f.returns_aggregate || f.nocall {
        return None;
    }
    let candidates = true_signatures(f);
    let [(sig, None)] = &candidates[..] else { return None };
    // Every kept parameter verified where its new position puts it.
    let kept: Vec<&facts::dwarf::ParamFact> = f.params.iter().filter(|p| sig.params.len() == f.params.len() || !matches!(p.location, EntryLocation::None | EntryLocation::Constant)).collect();
    if kept.len() != sig.params.len() {
        return None;
    }
    let classes: Vec<_> = kept.iter().map(|p| p.abi_class).collect();
    let regs = abi_registers(&classes, false);
    let verified = kept.iter().zip(&regs).all(|(p, abi)| match (p.abi_class, abi, p.location) {
        (AbiClass::Other | AbiClass::Memory, _, _) => false,
        (_, Some(r), EntryLocation::Register(l)) => *r == l,
        (_, None, EntryLocation::Stack) => true,
        _ => false,
    });
    verified.then(|| sig.clone())
}

/// Names a FUNC could describe safely: one attachable body (or several with one signature, every
/// one of them proven), arguments proven to arrive as the prototype says
/// ([`facts::dwarf::FunctionInstance::convention_verified`]), and not variadic.
pub fn safely_encodable(facts: &Facts) -> Vec<String> {
    let names: BTreeSet<&str> = facts.functions.iter().map(|f| f.name.as_str()).collect();
    names
        .into_iter()
        .filter(|n| !HARNESS_FUNCTIONS.contains(n))
        .filter(|n| {
            let Some(sym) = facts.attach_target(n) else {
                return false;
            };
            let Some(target) = facts.instance_at(sym.address) else {
                return false;
            };
            let bodies: Vec<&FunctionInstance> = facts.instances(n).filter(|f| f.has_exact_symbol()).collect();
            let sigs: BTreeSet<&Signature> = bodies.iter().map(|f| &f.sig).collect();
            let one_type = bodies.iter().all(|f| facts::dwarf::shapes_agree(&f.shape, &target.shape));
            // Every body that carries the name must be proven, not just the one vmlinux's kallsyms
            // picks: a module's symbol lookup may pick another, and a body clang rewrote
            // (DW_CC_nocall, a constant parameter) would then be read wrong through the same FUNC.
            sigs.len() == 1 && one_type && bodies.iter().all(|f| f.convention_verified()) && !target.variadic
        })
        .map(str::to_string)
        .collect()
}

/// What a type is behind its typedefs, qualifiers and type tags (`None` past 32 of them).
pub(crate) fn strip(btf: &Btf, mut id: TypeId) -> Option<&TypeData> {
    for _ in 0..32 {
        let t = btf.type_by_id(id)?;
        match &t.data {
            TypeData::Typedef(x)
            | TypeData::Const(x)
            | TypeData::Volatile(x)
            | TypeData::Restrict(x) => id = *x,
            TypeData::TypeTag(t) => id = t.ty,
            d => return Some(d),
        }
    }
    None
}

/// Parameters of FUNC `func` that are 16-byte integers (`__int128`), by name. The 6.12 x86
/// trampoline sizes its argument area by counting such a parameter as one slot (only struct
/// arguments get their extra slots counted) while `save_args` stores two, so fentry on such a
/// function writes past the area: with fentry only, onto the saved %rbp and then the return
/// address (`tests/vm_int128.rs` shows it in the guest).
pub fn wide_int_params(btf: &Btf, func: TypeId) -> Vec<String> {
    let Some(TypeData::Func(f)) = btf.type_by_id(func).map(|t| &t.data) else {
        return Vec::new();
    };
    let Some(TypeData::FuncProto(p)) = btf.type_by_id(f.proto).map(|t| &t.data) else {
        return Vec::new();
    };
    p.params
        .iter()
        .filter(|prm| matches!(strip(btf, prm.ty), Some(TypeData::Int(i)) if i.size > 8))
        .map(|prm| btf.str(prm.name).to_string())
        .collect()
}

/// Whether FUNC `func` claims to return a value (its prototype's return type is not `void`).
pub fn claims_return_value(btf: &Btf, func: TypeId) -> bool {
    let Some(TypeData::Func(f)) = btf.type_by_id(func).map(|t| &t.data) else {
        return false;
    };
    let Some(TypeData::FuncProto(p)) = btf.type_by_id(f.proto).map(|t| &t.data) else {
        return false;
    };
    p.ret != TypeId(0)
}
