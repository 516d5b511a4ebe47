//! The release gate, as CI runs it on btfenc (short budget), and its failure mode on an encoder
//! known to be unsafe.

mod common;
use common::*;

fn gate(candidate: &str, baseline: &str, count: &str, out: &std::path::Path) -> harness::process::ProcRes {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    run(
        btfsmith(),
        &["gate", "--candidate", candidate, "--baseline", baseline, "--count", count, "--corpus", &corpus.display().to_string(), "--out", &out.display().to_string()],
        None,
    )
}

#[test]
fn btfenc_passes_the_gate_against_pahole_1_30() {
    let dir = tempfile::tempdir().unwrap();
    let r = gate("btfenc", "pahole-1.30/kernel", "6", dir.path());
    assert_eq!(r.status.and_then(|s| s.code()), Some(0), "{}\n{}", r.stdout_text(), r.stderr_text());
    let md = std::fs::read_to_string(dir.path().join("gate.md")).unwrap();
    assert!(md.contains("**PASS**") && md.contains("| verdict | baseline | candidate |"), "{md}");
    assert!(std::fs::read_to_string(dir.path().join("junit.xml")).unwrap().contains("failures=\"0\""));
}

#[test]
fn pahole_1_24_fails_the_gate_against_pahole_1_30() {
    let dir = tempfile::tempdir().unwrap();
    let r = gate("pahole-1.24/kernel-6.1", "pahole-1.30/kernel", "2", dir.path());
    assert_eq!(r.status.and_then(|s| s.code()), Some(1), "{}\n{}", r.stdout_text(), r.stderr_text());
    let text = r.stdout_text();
    assert!(text.contains("**FAIL**") && text.contains("unsafe verdicts for the candidate"), "{text}");
    assert!(text.contains("(Ambiguous, \"collision:inconsistent\")"), "the seed's hazard is a new signature against 1.30: {text}");
    // The runtime corpus case: the kernel itself enters the other dup_fn.
    assert!(text.contains("(WrongFunction, \"collision:inconsistent\")"), "the runtime verdict counts in the gate: {text}");
    assert!(std::fs::read_to_string(dir.path().join("junit.xml")).unwrap().contains("<failure"));
}

#[test]
fn a_local_encoder_build_is_gated_by_its_command_line() {
    // What an encoder maintainer does with a local pahole build: --candidate /path/to/pahole ARGS.
    let dir = tempfile::tempdir().unwrap();
    let pahole = tool("pahole-1.30");
    let cmd = format!("{} -j --btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func", pahole.display());
    let r = gate(&cmd, "pahole-1.30/kernel", "1", dir.path());
    let code = r.status.and_then(|s| s.code());
    assert!(code == Some(0) || code == Some(1), "{}", r.stderr_text());
    assert!(r.stdout_text().contains(&format!("candidate: `{cmd}`")), "{}", r.stdout_text());
}
