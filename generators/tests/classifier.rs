//! The classifier on hand-written C with known outcomes, and on generated programs at -O0
//! (where nothing may be reported but what the source itself contains).

use std::path::PathBuf;
use std::process::Command;

use generators::classify::{classify_objects, Classification, Instance};
use generators::compile::BASE_FLAGS;
use generators::Phenomenon;

mod common;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn compile(cc: &str, opt: &str, srcs: &[&str]) -> (tempfile::TempDir, Classification) {
    let cc = common::require_compiler(cc);
    let dir = common::scratch("classify");
    let mut objs = Vec::new();
    for s in srcs {
        let obj = dir.path().join(s.replace(".c", ".o"));
        let out = common::run_cmd(
            Command::new(&cc.path)
                .arg(opt)
                .args(BASE_FLAGS)
                .arg("-c")
                .arg(fixture(s))
                .arg("-o")
                .arg(&obj),
            120,
        )
        .expect("run compiler");
        assert!(out.success, "{}", out.stderr);
        objs.push(obj);
    }
    let c = classify_objects(&objs).expect("classify");
    (dir, c)
}

fn inst<'a>(c: &'a Classification, name: &str) -> Vec<&'a Instance> {
    c.instances.iter().filter(|i| i.name == name).collect()
}

#[test]
fn gcc_o2_clones_are_named_and_parameters_tracked() {
    let (_d, c) = compile("gcc", "-O2", &["phenomena.c", "dup_b.c"]);
    let suffixes = |n: &str| {
        inst(&c, n)
            .iter()
            .flat_map(|i| i.suffixes.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        suffixes("isra_ptr").contains(&"isra".to_string()),
        "{:?}",
        inst(&c, "isra_ptr")
    );
    assert!(
        suffixes("cprop").contains(&"constprop".to_string()),
        "{:?}",
        inst(&c, "cprop")
    );
    assert!(
        suffixes("coldpath").contains(&"cold".to_string()),
        "{:?}",
        inst(&c, "coldpath")
    );
    assert!(
        suffixes("partf").contains(&"part".to_string()),
        "{:?}",
        inst(&c, "partf")
    );
    // cprop's constant parameter is gone from the clone.
    let cp = inst(&c, "cprop")[0];
    assert!(
        cp.params.iter().any(|p| p.name == "k" && !p.has_location),
        "{cp:?}"
    );
    // An untouched global function keeps its name and registers.
    let run = inst(&c, "run")[0];
    assert!(
        run.kept_name() && !run.convention_changed() && run.external,
        "{run:?}"
    );
    // dup: one definition in each unit, prototypes disagree.
    let dup = &c.names["dup"];
    assert_eq!(
        (dup.instances, dup.units, dup.consistent),
        (2, 2, false),
        "{dup:?}"
    );
    assert!(c.occurred(Phenomenon::Collision, None));
    assert!(c.occurred(Phenomenon::Isra, None) && c.occurred(Phenomenon::Constprop, None));
}

#[test]
fn clang_o2_dead_argument_elimination_is_a_signature_change_without_rename() {
    let (_d, c) = compile("clang", "-O2", &["phenomena.c"]);
    let unused = inst(&c, "unused")[0];
    assert!(unused.kept_name(), "{unused:?}");
    assert!(
        unused.convention_changed(),
        "clang dropped `k`, so `x` arrives in rdi: {unused:?}"
    );
    assert!(
        unused
            .params
            .iter()
            .any(|p| p.name == "k" && !p.has_location),
        "{unused:?}"
    );
    // The address-taken control keeps its calling convention.
    let control = inst(&c, "addr_taken")[0];
    assert!(!control.convention_changed(), "{control:?}");
    assert!(c.occurred(Phenomenon::SignatureChangeWithoutRename, None));
    assert!(!c.occurred(Phenomenon::Isra, None), "clang never renames");
}

#[test]
fn a_hidden_struct_return_pointer_is_not_a_changed_convention() {
    for cc in ["gcc", "clang"] {
        let (_d, c) = compile(cc, "-O2", &["phenomena.c"]);
        let big = inst(&c, "make_big")[0];
        assert!(
            big.kept_name() && !big.convention_changed(),
            "{cc}: {big:?}"
        );
    }
}

#[test]
fn at_o0_nothing_is_cloned_changed_or_optimized_out() {
    for cc in ["gcc", "clang"] {
        let (_d, c) = compile(cc, "-O0", &["phenomena.c", "dup_b.c"]);
        for p in [
            Phenomenon::Isra,
            Phenomenon::Constprop,
            Phenomenon::PartOrCold,
            Phenomenon::OptimizedOut,
            Phenomenon::SignatureChangeWithoutRename,
        ] {
            assert!(
                !c.occurred(p, None),
                "{cc} -O0 reports {p:?}: {:#?}",
                c.instances
            );
        }
        // Every function is out of line exactly once per definition.
        assert_eq!(c.names["dup"].instances, 2, "{cc}");
        assert!(c.instances.iter().all(|i| i.kept_name()), "{cc}");
    }
}

#[test]
fn generated_noinline_functions_are_all_found_at_o0() {
    let gcc = common::require_compiler("gcc");
    for seed in 0..4u64 {
        let prog = generators::generate(seed, &generators::Policy::mixed()).expect("generate");
        let dir = common::scratch("classify-gen");
        generators::write_program(&prog, generators::Flavour::User, dir.path()).expect("write");
        let units: Vec<String> = prog.tus.iter().map(|t| t.name.clone()).collect();
        let objs =
            generators::stats::build_objects(&units, &gcc, "-O0", dir.path()).expect("build");
        let c = classify_objects(&objs).expect("classify");
        for f in &prog.functions {
            let cu = format!("{}.c", prog.tus[f.tu].name);
            let found = c
                .instances
                .iter()
                .filter(|i| i.name == f.name && i.cu == cu)
                .count();
            // An always_inline copy has no out-of-line body by design.
            let want = usize::from(f.inline != generators::model::InlineHint::Always);
            assert_eq!(found, want, "seed {seed}: {} in {cu}", f.name);
        }
    }
}

#[test]
fn outcomes_join_ground_truth_with_what_gcc_did() {
    let gcc = common::require_compiler("gcc");
    let policy = generators::Policy::by_name("isra").expect("policy");
    let prog = generators::generate(1, &policy).expect("generate");
    let dir = common::scratch("outcomes");
    let truth =
        generators::write_program(&prog, generators::Flavour::User, dir.path()).expect("write");
    let units: Vec<String> = prog.tus.iter().map(|t| t.name.clone()).collect();
    let objs = generators::stats::build_objects(&units, &gcc, "-O2", dir.path()).expect("build");
    let c = classify_objects(&objs).expect("classify");
    let out = generators::classify::outcomes(&truth, &c);
    assert_eq!(out.len(), truth.functions.len());
    let isra: Vec<_> = out.iter().filter(|o| o.name.starts_with("isra")).collect();
    assert!(!isra.is_empty(), "the isra policy made no isra function");
    assert!(
        isra.iter().any(|o| o.suffixes.iter().any(|s| s == "isra")),
        "{isra:#?}"
    );
    assert!(out.iter().all(|o| o.inlined_away == (o.out_of_line == 0)));
}

/// The `stack` and `units` phenomena are found in generated programs by every compiler, and
/// never in programs of a policy without those recipes (`constprop`: integer parameters only).
#[test]
fn stack_and_units_phenomena_are_counted_and_absent_from_a_control() {
    use generators::stats::{measure_one, target_names};
    let control = [
        Phenomenon::Int128Args,
        Phenomenon::LongDoubleArgs,
        Phenomenon::TooManyArgs,
        Phenomenon::VarargsMixed,
        Phenomenon::WeakOverride,
        Phenomenon::CollisionMany,
        Phenomenon::SameTagDifferentLayout,
        Phenomenon::SameNameDifferentFnPtr,
        Phenomenon::InlineOnlyBesideOutOfLine,
    ];
    for cc in ["gcc", "clang"] {
        let cc = common::require_compiler(cc);
        for name in ["stack", "units"] {
            let policy = generators::Policy::by_name(name).expect("policy");
            let mut seen = std::collections::BTreeSet::new();
            for seed in 0..6u64 {
                let dir = common::scratch("classify-reach");
                let (c, prog) = measure_one(seed, &policy, &cc, "-O2", dir.path()).expect("measure");
                for &p in &policy.targets {
                    if c.occurred(p, Some(&target_names(&prog, p))) {
                        seen.insert(p);
                    }
                }
            }
            let missing: Vec<_> = policy.targets.iter().filter(|p| !seen.contains(p)).collect();
            assert!(missing.is_empty(), "{} {name}: never saw {missing:?}", cc.name());
        }
        let policy = generators::Policy::by_name("constprop").expect("policy");
        for seed in 0..4u64 {
            let dir = common::scratch("classify-control");
            let (c, prog) = measure_one(seed, &policy, &cc, "-O2", dir.path()).expect("measure");
            for p in control {
                assert!(
                    !c.occurred(p, Some(&target_names(&prog, p))),
                    "{} constprop seed {seed}: {p:?}",
                    cc.name()
                );
            }
        }
    }
}

fn params_of<'a>(c: &'a Classification, name: &str) -> Vec<&'a facts::dwarf::ParamFact> {
    inst(c, name).into_iter().flat_map(|i| i.params.iter()).collect()
}

/// The classifier's rule for `callee-saved+entry-value`, on one parameter.
fn callee_saved_entry_value(p: &facts::dwarf::ParamFact) -> bool {
    p.list.is_some_and(|l| l.callee_saved && l.entry_value)
}

/// The classifier's rule for `partial-location`, on one parameter.
fn partial_location(p: &facts::dwarf::ParamFact) -> bool {
    p.list.is_some_and(|l| l.gaps)
}

#[test]
fn location_lists_callee_saved_entry_values_gaps_and_cold_clones() {
    for cc in ["gcc", "clang", "clang-19"] {
        let (_d, c) = compile(cc, "-O2", &["locations.c"]);
        assert!(
            params_of(&c, "entryv").iter().any(|p| callee_saved_entry_value(p)),
            "{cc}: entryv {:?}",
            inst(&c, "entryv")
        );
        assert!(
            params_of(&c, "partial").iter().any(|p| partial_location(p)),
            "{cc}: partial {:?}",
            inst(&c, "partial")
        );
        // The weak helper reads its parameter once, before any call: one register throughout.
        assert!(
            params_of(&c, "helper")
                .iter()
                .all(|p| !callee_saved_entry_value(p) && !partial_location(p)),
            "{cc}: helper {:?}",
            inst(&c, "helper")
        );
        // Only gcc clones and splits functions.
        assert_eq!(
            c.occurred(Phenomenon::ColdClone, None),
            cc == "gcc",
            "{cc}: {:?}",
            inst(&c, "cc")
        );
    }
    // At -O0 every parameter has one stack slot for the whole function.
    let (_d, c) = compile("gcc", "-O0", &["locations.c"]);
    assert!(!c.occurred(Phenomenon::CalleeSavedEntryValue, None));
    assert!(!c.occurred(Phenomenon::PartialLocation, None));
}

#[test]
fn type_phenomena_per_compiler() {
    use Phenomenon as P;
    let common = [
        P::BitfieldStraddling,
        P::Atomic,
        P::Vector,
        P::EnumUnusualSize,
        P::FlexibleArray,
        P::MultiDimArray,
        P::AnonMember,
        P::TypedefChain,
    ];
    for cc in ["gcc", "clang", "clang-19"] {
        let (_d, c) = compile(cc, "-O2", &["types.c"]);
        for p in common {
            assert!(c.type_features.contains(&p), "{cc}: {p:?} missing from {:?}", c.type_features);
        }
        // _BitInt needs clang 16; BTF tags need clang.
        assert_eq!(c.type_features.contains(&P::BitInt), cc == "clang-19", "{cc}");
        assert_eq!(c.type_features.contains(&P::BtfTag), cc != "gcc", "{cc}");
    }
    // A program without any of them (the plain bitfields do not straddle).
    let (_d, c) = compile("gcc", "-O2", &["locations.c"]);
    assert!(c.type_features.is_empty(), "{:?}", c.type_features);
}

#[test]
fn a_parameter_after_an_int128_is_where_the_abi_puts_it() {
    for cc in ["gcc", "clang", "clang-19"] {
        let (_d, c) = compile(cc, "-O2", &["abi_int128.c"]);
        let f = inst(&c, "after_int128");
        assert_eq!(f.len(), 1, "{cc}: {f:?}");
        // d (DWARF register 8, r8) after c in rdx:rcx.
        assert_eq!(f[0].expected_registers()[3], Some(8), "{cc}: {:?}", f[0]);
        assert!(!f[0].convention_changed(), "{cc}: {:?}", f[0]);
    }
}
