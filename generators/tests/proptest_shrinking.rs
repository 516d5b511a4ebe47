//! The proptest strategy and the Arbitrary impl only ever produce valid programs, including
//! every candidate proptest tries while shrinking, and shrinking yields small programs that
//! still compile.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use generators::strategy::programs;
use generators::compile::BASE_FLAGS;
use generators::{write_program, Flavour, Policy, Program};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};

mod common;

fn compiles_with_werror(prog: &Program) -> Result<(), String> {
    let gcc = common::require_compiler("gcc");
    let dir = common::scratch("shrunk");
    write_program(prog, Flavour::User, dir.path()).map_err(|e| e.to_string())?;
    let out = common::run_cmd(
        Command::new(&gcc.path)
            .arg("-O2")
            .args(BASE_FLAGS)
            .arg("-Werror")
            .args(common::sources(dir.path(), prog.tus.len()))
            .arg("-o")
            .arg(dir.path().join("prog")),
        120,
    )?;
    if out.success {
        Ok(())
    } else {
        Err(out.stderr)
    }
}

/// Shrinks against `property` and returns the minimal failing program; fails the test if any
/// candidate on the way was invalid.
fn shrink(policy: Policy, property: impl Fn(&Program) -> bool) -> Program {
    let invalid = AtomicUsize::new(0);
    let seen = AtomicUsize::new(0);
    // A fixed RNG: how far shrinking gets depends on the failing case proptest happens to find
    // first, and a test that asserts on the shrunk size must not depend on a random seed.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        },
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let result = runner.run(&programs(policy), |prog| {
        seen.fetch_add(1, Ordering::Relaxed);
        if prog.validate().is_err() {
            invalid.fetch_add(1, Ordering::Relaxed);
        }
        prop_assert!(property(&prog));
        Ok(())
    });
    assert_eq!(
        invalid.load(Ordering::Relaxed),
        0,
        "invalid programs among {} candidates",
        seen.load(Ordering::Relaxed)
    );
    match result {
        Err(TestError::Fail(_, minimal)) => {
            eprintln!(
                "shrunk to {} functions in {} units: {:?}",
                minimal.functions.len(),
                minimal.tus.len(),
                minimal
                    .functions
                    .iter()
                    .map(|f| (&f.name, f.tu, f.params.len()))
                    .collect::<Vec<_>>()
            );
            minimal
        }
        other => panic!("expected the property to fail and shrink, got {other:?}"),
    }
}

#[test]
fn shrinking_a_big_program_keeps_it_valid_and_compilable() {
    let minimal = shrink(Policy::mixed(), |p| p.functions.len() < 4);
    minimal.validate().expect("minimal program is valid");
    assert!(
        minimal.functions.len() >= 4,
        "shrunk past the failure: {}",
        minimal.functions.len()
    );
    assert!(
        minimal.functions.len() <= 8,
        "shrinking left {} functions",
        minimal.functions.len()
    );
    compiles_with_werror(&minimal).expect("minimal program compiles");
}

#[test]
fn shrinking_to_a_collision_leaves_exactly_the_colliding_pair() {
    let minimal = shrink(Policy::mixed(), |p| {
        let mut names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        names.windows(2).all(|w| w[0] != w[1])
    });
    minimal.validate().expect("minimal program is valid");
    let dups = minimal
        .functions
        .iter()
        .filter(|f| f.name.starts_with("dup"))
        .count();
    assert!(
        dups >= 2,
        "no collision left: {:?}",
        minimal
            .functions
            .iter()
            .map(|f| &f.name)
            .collect::<Vec<_>>()
    );
    assert!(
        minimal.functions.len() <= 4,
        "shrinking left {} functions",
        minimal.functions.len()
    );
    compiles_with_werror(&minimal).expect("minimal program compiles");
}

proptest! {
    #![proptest_config(Config { cases: 128, failure_persistence: None, ..Config::default() })]
    #[test]
    fn every_strategy_program_is_valid_and_emits(prog in programs(Policy::mixed())) {
        prop_assert!(prog.validate().is_ok());
        let files = generators::emit::Emitter::new(&prog, Flavour::Module).sources();
        prop_assert_eq!(files.len(), prog.tus.len() + 2);
    }
}

#[test]
fn arbitrary_bytes_always_give_valid_programs() {
    use arbitrary::{Arbitrary, Unstructured};
    use rand::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for len in [0usize, 1, 7, 64, 512, 4096, 20000] {
        for _ in 0..20 {
            let mut bytes = vec![0u8; len];
            rng.fill_bytes(&mut bytes);
            let prog =
                Program::arbitrary(&mut Unstructured::new(&bytes)).expect("arbitrary program");
            prog.validate().expect("valid");
        }
    }
}
