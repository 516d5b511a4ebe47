//! Same seed and policy, same bytes; different seeds, different programs.

use generators::emit::{Emitter, Flavour};
use generators::{generate, write_program, Policy};

mod common;

#[test]
fn same_seed_gives_same_bytes_for_every_policy_and_flavour() {
    for policy in Policy::all() {
        for seed in [0u64, 1, 42, 0xdead_beef, u64::MAX] {
            let a = generate(seed, &policy).expect("generate");
            let b = generate(seed, &policy).expect("generate");
            assert_eq!(a, b, "{} seed {seed}: models differ", policy.name);
            for flavour in [Flavour::User, Flavour::Module] {
                let fa = Emitter::new(&a, flavour).sources();
                let fb = Emitter::new(&b, flavour).sources();
                assert_eq!(fa, fb, "{} seed {seed}: sources differ", policy.name);
            }
        }
    }
}

#[test]
fn written_directories_are_byte_identical() {
    let policy = Policy::mixed();
    let (d1, d2) = (common::scratch("det-a"), common::scratch("det-b"));
    write_program(
        &generate(7, &policy).expect("generate"),
        Flavour::Module,
        d1.path(),
    )
    .expect("write");
    write_program(
        &generate(7, &policy).expect("generate"),
        Flavour::Module,
        d2.path(),
    )
    .expect("write");
    let mut names: Vec<_> = std::fs::read_dir(d1.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert!(
        names.len() >= 7,
        "expected sources, Kbuild, Makefile, build.sh, ground truth; got {names:?}"
    );
    for n in names {
        let a = std::fs::read(d1.path().join(&n)).expect("read");
        let b = std::fs::read(d2.path().join(&n)).expect("read");
        assert_eq!(a, b, "{n:?} differs between two writes of seed 7");
    }
}

#[test]
fn different_seeds_give_different_programs() {
    let policy = Policy::mixed();
    let texts: std::collections::BTreeSet<String> = (0..20u64)
        .map(|s| {
            Emitter::new(&generate(s, &policy).expect("generate"), Flavour::User)
                .sources()
                .into_iter()
                .map(|f| f.text)
                .collect()
        })
        .collect();
    assert!(
        texts.len() >= 19,
        "only {} distinct programs from 20 seeds",
        texts.len()
    );
}

#[test]
fn ground_truth_round_trips_through_json() {
    let prog = generate(3, &Policy::mixed()).expect("generate");
    let dir = common::scratch("truth");
    let truth = write_program(&prog, Flavour::User, dir.path()).expect("write");
    let text = std::fs::read_to_string(dir.path().join("ground_truth.json")).expect("read truth");
    let back: generators::truth::GroundTruth = serde_json::from_str(&text).expect("parse truth");
    assert_eq!(back, truth);
    assert_eq!(truth.functions.len(), prog.functions.len());
    assert_eq!(truth.calls.len(), prog.calls.len());
    assert!(truth
        .calls
        .iter()
        .all(|c| truth.functions[c.function].name == c.name));
}

#[test]
fn invalid_policies_are_typed_errors_not_panics() {
    let mut p = Policy::mixed();
    p.limits.tus.min = 5;
    p.limits.tus.max = 2;
    let err = generate(1, &p).expect_err("min > max must be rejected");
    assert!(err.to_string().contains("limits.tus"), "message: {err}");
    let err = Policy::by_name("nope").expect_err("unknown policy");
    assert!(
        err.to_string().contains("unknown policy: nope"),
        "message: {err}"
    );
    let mut p = Policy::mixed();
    p.weights.clear();
    p.guaranteed.clear();
    assert!(generate(1, &p).is_err());
}

#[test]
fn policies_round_trip_through_json() {
    for p in Policy::all() {
        let text = serde_json::to_string(&p).expect("serialise");
        let back: Policy = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, p);
    }
}

#[test]
fn swarm_programs_are_valid_deterministic_and_vary_their_recipes() {
    let mut policy = Policy::mixed();
    policy.swarm = true;
    let mut recipe_sets = std::collections::BTreeSet::new();
    for seed in 0..30u64 {
        let p = generate(seed, &policy).expect("generate");
        assert_eq!(p, generate(seed, &policy).expect("generate"));
        p.validate().expect("valid");
        let set: std::collections::BTreeSet<_> = p.functions.iter().map(|f| f.hazard).collect();
        recipe_sets.insert(format!("{set:?}"));
    }
    assert!(
        recipe_sets.len() >= 20,
        "only {} distinct recipe mixes in 30 swarm programs",
        recipe_sets.len()
    );
}
