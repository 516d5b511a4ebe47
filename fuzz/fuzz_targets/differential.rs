//! An `Arbitrary` program → gcc -O2 → btfenc and pahole 1.30 (kernel flags) → the static oracles.
//! A crash here is a finding: an encoder crash, an unsafe verdict for btfenc, or a harness error.
//! Needs the toolchains from `ci/setup` and btfenc built (BTFSMITH_BTFENC or target/release).
#![no_main]
use harness::campaign::{judge_case, CaseInput};
use harness::config::{Config, Matrix};
use harness::finding::FindingStore;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn matrix() -> &'static Matrix {
    static M: OnceLock<Matrix> = OnceLock::new();
    M.get_or_init(|| {
        let tc = harness::toolchains::Toolchains::load().expect("toolchain manifest");
        Matrix::resolve(&Config::builtin(), &tc, &["btfenc".into(), "pahole-1.30/kernel".into()], &["gcc".into()])
            .unwrap_or_else(|e| panic!("{e:#}: run ci/setup and cargo build --release"))
    })
}

fuzz_target!(|program: generators::Program| {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    let truth = generators::write_program(&program, generators::Flavour::User, &src).expect("write program");
    let case = CaseInput { sources: truth.units.iter().map(|u| src.join(u)).collect(), dir: src, seed: None, policy: Some(program.policy.clone()) };
    let store = FindingStore::open(&dir.path().join("findings")).expect("store");
    let outcome = judge_case(&case, matrix(), &harness::oracle::standard(false), &store, &dir.path().join("work")).expect("judging");
    assert!(outcome.build_errors.is_empty(), "a generated program does not build: {:?}", outcome.build_errors);
    for v in &outcome.verdicts {
        let crashed = matches!(v.kind, harness::oracle::VerdictKind::EncoderCrash | harness::oracle::VerdictKind::EncoderTimeout | harness::oracle::VerdictKind::Unreadable);
        assert!(!crashed, "{} {}: {}", v.kind, v.encoder, v.detail);
        assert!(!(v.encoder == "btfenc" && v.kind.is_unsafe()), "btfenc {} {:?}: {}", v.kind, v.function, v.detail);
    }
});
