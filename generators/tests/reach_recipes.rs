//! The calling-convention (`stack`) and definitions-across-units (`units`) recipes: what they
//! write into the C and into the ground truth, checked on the model and the emitted text.

use std::collections::BTreeSet;

use generators::emit::{Emitter, Flavour};
use generators::model::{InlineHint, Linkage, Scalar, Ty, TypeDef, Value};
use generators::truth::GroundTruth;
use generators::{generate, Hazard, Policy};

fn programs(policy: &str, n: u64) -> Vec<generators::Program> {
    let p = Policy::by_name(policy).expect("policy");
    (0..n).map(|s| generate(s, &p).expect("generate")).collect()
}

fn text(prog: &generators::Program) -> String {
    Emitter::new(prog, Flavour::User)
        .sources()
        .into_iter()
        .map(|f| f.text)
        .collect()
}

#[test]
fn every_new_recipe_appears_under_its_policy_and_in_mixed() {
    let stack = [
        Hazard::StackStructPacked,
        Hazard::StackStructAligned,
        Hazard::StackStructMixed,
        Hazard::UnionByValue,
        Hazard::Int128Args,
        Hazard::LongDoubleArgs,
        Hazard::TooManyArgs,
        Hazard::VarargsMixedTypes,
    ];
    let units = [
        Hazard::WeakAndStrong,
        Hazard::SameNameIdenticalMany,
        Hazard::SameTagDifferentLayout,
        Hazard::SameNameDifferentFnPtr,
        Hazard::InlineOnlyCopy,
    ];
    for (policy, hazards) in [("stack", &stack[..]), ("units", &units[..])] {
        let progs = programs(policy, 100);
        for h in hazards {
            let with = progs
                .iter()
                .filter(|p| p.functions.iter().any(|f| f.hazard == *h))
                .count();
            assert!(with >= 40, "{policy}: {h:?} in only {with} of 100 programs");
        }
    }
    let mixed = programs("mixed", 300);
    for h in stack.iter().chain(&units) {
        assert!(
            mixed.iter().any(|p| p.functions.iter().any(|f| f.hazard == *h)),
            "{h:?} never drawn by mixed in 300 programs"
        );
    }
}

#[test]
fn stack_aggregates_follow_six_integer_parameters_and_carry_their_attributes() {
    let mut seen = BTreeSet::new();
    // Packed and mixed structs come in register positions too (0..3 integers first).
    let (mut early, mut late) = (0, 0);
    for prog in programs("stack", 60) {
        let c = text(&prog);
        for f in &prog.functions {
            match f.hazard {
                Hazard::StackStructPacked | Hazard::StackStructAligned | Hazard::StackStructMixed => {
                    let i = f
                        .params
                        .iter()
                        .position(|p| matches!(p.ty, Ty::Def(_)))
                        .expect("an aggregate parameter");
                    if f.hazard == Hazard::StackStructAligned {
                        assert!(i >= 6, "{}: aggregate at {i}", f.name);
                    } else {
                        assert!(i <= 3 || i >= 6, "{}: aggregate at {i}", f.name);
                    }
                    if i <= 3 { early += 1 } else { late += 1 }
                    seen.insert(f.hazard);
                }
                Hazard::TooManyArgs => {
                    assert!((13..=16).contains(&f.params.len()), "{}", f.name);
                }
                _ => {}
            }
        }
        if prog.functions.iter().any(|f| f.hazard == Hazard::StackStructAligned) {
            assert!(c.contains("__attribute__((__aligned__("), "no aligned attribute");
        }
        if prog.functions.iter().any(|f| f.hazard == Hazard::StackStructPacked) {
            assert!(c.contains("__attribute__((__packed__))"), "no packed attribute");
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(early >= 5 && late >= 5, "{early} aggregates in register positions, {late} after six integers");
}

#[test]
fn wide_and_long_double_parameters_are_recorded_with_their_values() {
    let (mut wide, mut ld) = (false, false);
    for prog in programs("stack", 60) {
        let truth = GroundTruth::of(&prog, Flavour::User);
        for call in &truth.calls {
            let f = &truth.functions[call.function];
            for (p, v) in f.params.iter().zip(&call.args) {
                if p.c_type.contains("__int128") {
                    assert_eq!(p.size, 16);
                    assert!(matches!(v, Value::Int(_)), "{v:?}");
                    wide = true;
                }
                if p.c_type == "long double" {
                    assert!(matches!(v, Value::Float(_)), "{v:?}");
                    ld = true;
                }
            }
        }
    }
    assert!(wide && ld);
}

#[test]
fn mixed_varargs_calls_record_two_or_more_variadic_types() {
    let mut calls = 0;
    for prog in programs("stack", 60) {
        let truth = GroundTruth::of(&prog, Flavour::User);
        for c in &truth.calls {
            let f = &truth.functions[c.function];
            if f.hazard != Hazard::VarargsMixedTypes {
                continue;
            }
            calls += 1;
            assert_eq!(c.args.len(), f.params.len() + c.va_types.len());
            let kinds: BTreeSet<&String> = c.va_types.iter().collect();
            assert!(kinds.len() >= 2, "{:?}", c.va_types);
            // The count and the kinds word describe the variadic arguments exactly.
            assert_eq!(c.args[0], Value::Int(c.va_types.len() as i128));
        }
    }
    assert!(calls >= 20, "{calls}");
}

#[test]
fn weak_and_strong_truth_names_the_surviving_body() {
    let mut checked = 0;
    for prog in programs("units", 60) {
        let truth = GroundTruth::of(&prog, Flavour::User);
        for (i, f) in prog.functions.iter().enumerate() {
            if f.hazard != Hazard::WeakAndStrong || f.linkage != Linkage::Weak {
                continue;
            }
            let strong = prog
                .functions
                .iter()
                .position(|g| g.name == f.name && g.linkage == Linkage::Global);
            assert_eq!(truth.functions[i].overridden_by, strong);
            if let Some(s) = strong {
                assert_ne!(prog.functions[s].tu, f.tu);
                // No recorded call lands in the discarded weak body.
                assert!(truth.calls.iter().all(|c| c.function != i));
                assert!(truth.calls.iter().any(|c| c.function == s));
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "{checked}");
}

#[test]
fn same_tag_structs_and_fn_pointer_typedefs_differ_per_unit_and_stay_in_their_unit() {
    let (mut tags, mut fnptrs) = (0, 0);
    for prog in programs("units", 60) {
        let files = Emitter::new(&prog, Flavour::User).sources();
        let header = &files[0].text;
        for (t, tu) in &prog.unit_types {
            let def = prog.def(*t);
            let name = def.name();
            assert!(!header.contains(&format!(" {name} {{")), "{name} in prog.h");
            assert!(!header.contains(&format!("(*{name})")), "{name} in prog.h");
            let unit = &files[1 + tu].text;
            assert!(unit.contains(name), "{name} not in tu{tu}");
            let others: Vec<&TypeDef> = prog
                .unit_types
                .iter()
                .filter(|(o, u)| o != t && u != tu && prog.def(*o).name() == name)
                .map(|(o, _)| prog.def(*o))
                .collect();
            assert!(!others.is_empty(), "{name} has no namesake");
            assert!(others.iter().all(|o| *o != def), "{name}: same definition twice");
            match def {
                TypeDef::Struct { .. } => tags += 1,
                TypeDef::FnPtr { .. } => fnptrs += 1,
                _ => panic!("unexpected local type {def:?}"),
            }
        }
        // Function-pointer arguments are real functions of the caller's unit.
        for c in &prog.calls {
            let f = &prog.functions[c.callee.0];
            if f.hazard != Hazard::SameNameDifferentFnPtr || f.params.is_empty() {
                continue;
            }
            if let Ty::Def(_) = f.params[0].ty {
                let Value::FnAddr(target) = &c.args[0] else {
                    panic!("{}: function pointer argument {:?}", f.name, c.args[0]);
                };
                assert!(prog
                    .functions
                    .iter()
                    .any(|g| &g.name == target && g.tu == f.tu));
            }
        }
    }
    assert!(tags >= 20 && fnptrs >= 20, "{tags} {fnptrs}");
}

#[test]
fn inline_only_copies_are_always_inline_beside_an_out_of_line_namesake() {
    let mut checked = 0;
    for prog in programs("units", 60) {
        let truth = GroundTruth::of(&prog, Flavour::User);
        for (i, f) in prog.functions.iter().enumerate() {
            if f.inline != InlineHint::Always {
                continue;
            }
            assert_eq!(f.linkage, Linkage::Static);
            assert!(truth.functions[i].always_inline);
            assert!(prog
                .functions
                .iter()
                .any(|g| g.name == f.name && g.tu != f.tu && g.inline == InlineHint::NoInline));
            checked += 1;
        }
        if prog.functions.iter().any(|f| f.inline == InlineHint::Always) {
            assert!(text(&prog).contains("static inline __attribute__((__always_inline__))"));
        }
    }
    assert!(checked >= 20, "{checked}");
}

#[test]
fn identical_many_has_three_or_more_units() {
    let mut n = 0;
    for prog in programs("units", 60) {
        let mut names = BTreeSet::new();
        for f in prog.functions.iter().filter(|f| f.hazard == Hazard::SameNameIdenticalMany) {
            names.insert(f.name.clone());
        }
        for name in names {
            let defs: Vec<_> = prog.functions.iter().filter(|f| f.name == name).collect();
            assert!(defs.len() >= 3, "{name}: {} units", defs.len());
            assert!(defs.iter().all(|d| d.params == defs[0].params && d.ret == defs[0].ret));
            n += 1;
        }
    }
    assert!(n >= 20, "{n}");
}

#[test]
fn new_scalars_stay_out_of_plain_generation() {
    assert!(!Scalar::ALL.contains(&Scalar::LongDouble));
    assert!(!Scalar::ALL.contains(&Scalar::Int128));
    assert!(!Scalar::ALL.contains(&Scalar::UInt128));
}

#[test]
fn a_long_double_result_is_refused_for_the_module_flavour_with_a_reason() {
    let mut prog = generate(3, &Policy::by_name("stack").expect("policy")).expect("generate");
    let dir = tempfile::tempdir().expect("temp dir");
    // Generated programs never return long double: they all write as modules.
    generators::write_program(&prog, Flavour::Module, dir.path()).expect("module");
    let f = prog
        .functions
        .iter_mut()
        .find(|f| f.hazard == Hazard::LongDoubleArgs)
        .expect("seed 3 has a long double recipe");
    f.ret = Ty::Scalar(Scalar::LongDouble);
    let name = f.name.clone();
    let err = generators::write_program(&prog, Flavour::Module, dir.path()).expect_err("x87 return");
    assert!(
        err.to_string()
            .contains(&format!("{name} returns long double")),
        "{err}"
    );
    generators::write_program(&prog, Flavour::User, dir.path()).expect("userspace is fine");
}

#[test]
fn location_and_type_recipes_record_what_the_function_receives() {
    let mut seen = BTreeSet::new();
    for prog in programs("locations", 30) {
        let truth = GroundTruth::of(&prog, Flavour::User);
        for f in &truth.functions {
            seen.insert(f.hazard);
            let overwritten: Vec<&str> = f
                .params
                .iter()
                .filter(|p| p.overwritten)
                .map(|p| p.name.as_str())
                .collect();
            // Exactly p0 and p1 of the partial-liveness functions are overwritten.
            if f.name.starts_with("plive") {
                assert_eq!(overwritten, ["p0", "p1"], "{}", f.prototype);
            } else {
                assert!(overwritten.is_empty(), "{}", f.prototype);
            }
            if f.name.starts_with("ccold") {
                // One parameter gets the same literal at every call site.
                let calls: Vec<_> = truth.calls.iter().filter(|c| c.function == f.id).collect();
                assert!(calls.len() >= 2, "{}", f.name);
                let constant = (1..f.params.len()).any(|i| calls.iter().all(|c| c.args[i] == calls[0].args[i]));
                assert!(constant, "{}: {:?}", f.name, calls);
            }
        }
        let c = text(&prog);
        if prog.functions.iter().any(|f| f.name.starts_with("csave")) {
            assert!(c.contains("__attribute__((__weak__"), "the helper is weak");
        }
    }
    for h in [Hazard::LocCalleeSaved, Hazard::LocPartialLive, Hazard::LocColdClone] {
        assert!(seen.contains(&h), "{h:?} never generated");
    }
    let mut seed_params = 0;
    for prog in programs("types", 30) {
        let truth = GroundTruth::of(&prog, Flavour::User);
        let c = text(&prog);
        for f in &truth.functions {
            seen.insert(f.hazard);
            for p in &f.params {
                // Pointers to the C-text structs carry the helper's seed; integer-like types
                // passed by value (enums, `_Atomic` ints, `_BitInt` typedefs) their value.
                let pointer_to_raw = p.c_type.ends_with('*')
                    && ["struct tbi", "struct tav", "struct tar", "struct tt"]
                        .iter()
                        .any(|t| p.c_type.contains(t));
                assert_eq!(p.value_is_seed, pointer_to_raw, "{}: {}", f.name, p.c_type);
                seed_params += usize::from(p.value_is_seed);
            }
        }
        if prog.functions.iter().any(|f| f.hazard == Hazard::TypeBitInt) {
            assert!(c.contains("#if defined(__clang__) && __clang_major__ >= 16"));
            assert!(c.contains("_BitInt("));
        }
    }
    assert!(seed_params > 0);
    for h in [
        Hazard::TypeBitfields,
        Hazard::TypeBitInt,
        Hazard::TypeAtomicVector,
        Hazard::TypeEnums,
        Hazard::TypeArrays,
        Hazard::TypeTagsTypedefs,
    ] {
        assert!(seen.contains(&h), "{h:?} never generated");
    }
}
