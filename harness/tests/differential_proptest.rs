//! Differential runs under proptest: generated programs (shrinking keeps them valid) through the
//! real compilers and encoders. The property: btfenc never gets an unsafe verdict, and every
//! configuration's run is judged without an error. Failures persist in `proptest-regressions/`.
//! BTFSMITH_PROPTEST_CASES scales the case count (default 6).

mod common;
use common::*;
use harness::campaign::{judge_case, CaseInput};
use harness::config::{Config, Matrix};
use harness::finding::FindingStore;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("BTFSMITH_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn btfenc_has_no_unsafe_verdict(program in generators::strategy::programs(generators::Policy::mixed())) {
        let m = Matrix::resolve(&Config::builtin(), &toolchains(), &["btfenc".into(), "pahole-1.30/kernel".into()], &["gcc".into(), "clang-14".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let truth = generators::write_program(&program, generators::Flavour::User, &src).unwrap();
        let case = CaseInput { sources: truth.units.iter().map(|u| src.join(u)).collect(), dir: src, seed: None, policy: Some("mixed".into()) };
        let store = FindingStore::open(&dir.path().join("findings")).unwrap();
        let outcome = judge_case(&case, &m, &harness::oracle::standard(false), &store, &dir.path().join("work")).unwrap();
        prop_assert!(outcome.build_errors.is_empty(), "generated program does not build: {:?}", outcome.build_errors);
        let bad: Vec<String> = outcome.verdicts.iter().filter(|v| v.encoder.starts_with("btfenc") && v.kind.is_unsafe()).map(|v| format!("{} {:?} ({}): {}", v.kind, v.function, v.compiler, v.detail)).collect();
        prop_assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}
