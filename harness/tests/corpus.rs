//! Replays every case of `corpus/` against its expectations, like `btfsmith replay corpus/`.
//! On failure: if the new behaviour is right, `BTFSMITH_BLESS=1 btfsmith replay corpus/` and
//! review the diff. This test never blesses.

mod common;
use common::*;

#[test]
fn every_corpus_case_meets_its_expectations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let cases = harness::corpus::cases(&root).unwrap();
    assert!(cases.len() >= 9, "corpus has {} cases", cases.len());
    let tc = toolchains();
    let config = harness::config::Config::builtin();
    let mut failures = Vec::new();
    for dir in cases {
        let r = harness::corpus::run_case(&dir, &tc, &config, true).unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
        assert!(!r.case.expects.is_empty(), "{}: no expectations", dir.display());
        for f in r.failures {
            failures.push(format!("{}: {f}", dir.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nIf the new behaviour is right: BTFSMITH_BLESS=1 target/release/btfsmith replay corpus/, then review the diff.",
        failures.join("\n")
    );
}

#[test]
fn unknown_directives_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("CASE"), "what: x\nexpekt: btfenc f = none\n").unwrap();
    let err = harness::corpus::Case::load(dir.path()).unwrap_err();
    assert!(format!("{err:#}").contains("unknown directive `expekt`"), "{err:#}");
    std::fs::write(dir.path().join("CASE"), "what: x\nexpect: btfenc f = NOT_A_VERDICT\n").unwrap();
    let err = harness::corpus::Case::load(dir.path()).unwrap_err();
    assert!(format!("{err:#}").contains("unknown verdict"), "{err:#}");
    std::fs::write(dir.path().join("CASE"), "what: x\nexpect: btfenc|MISSED f = none\n").unwrap();
    let err = harness::corpus::Case::load(dir.path()).unwrap_err();
    assert!(format!("{err:#}").contains("CASE:2: encoder configuration name \"btfenc|MISSED\" contains `|`"), "{err:#}");
}
