//! `btfsmith report`: the upstream-ready text of a finding, recomputed from its directory.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn finding_with(out: &Path, needle: &str) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out.join("findings")).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.iter().find(|d| d.file_name().unwrap().to_string_lossy().contains(needle)).unwrap_or_else(|| panic!("no finding with {needle} in {dirs:?}")).clone()
}

#[test]
fn a_report_shows_sources_btf_dwarf_disassembly_and_affected_releases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let src = root.join("corpus/clang-nocall-mechanisms/nocall.c");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let r = run(
        btfsmith(),
        &["check", src.to_str().unwrap(), "--no-kernel-load", "--encoders", "pahole-1.30/kernel", "--compilers", "clang-19", "--out", out.to_str().unwrap()],
        None,
    );
    assert!(r.status.and_then(|s| s.code()) == Some(1), "check found nothing: {}\n{}", r.stdout_text(), r.stderr_text());

    // The scalarised struct: every installed release keeps it.
    let scal = finding_with(&out, "piece_scalarised-struct");
    let text = run_ok(btfsmith(), &["report", scal.to_str().unwrap()], None).stdout_text();
    for want in [
        "Subject: pahole 1.30: UNSAFE_OPTIMIZED for scal (piece:scalarised-struct)",
        "--- nocall.c",
        "static long scal(struct pair x)",
        "FUNC_PROTO '(anon)' ret_type_id=",
        "FUNC 'scal'",
        "param 0 x (struct pair): at entry DW_OP_piece 8, DW_OP_reg5, DW_OP_piece 8",
        "First instructions of scal",
        "pahole-1.30/kernel         affected",
        "pahole-1.32/kernel         affected",
    ] {
        assert!(text.contains(want), "report lacks {want:?}:\n{text}");
    }

    // The dropped last argument: pahole 1.32 leaves the function out, so it is not affected.
    let dropped = finding_with(&out, "nocall_param-dropped");
    let text = run_ok(btfsmith(), &["report", dropped.to_str().unwrap()], None).stdout_text();
    assert!(text.contains("for droplast (nocall:param-dropped)"), "{text}");
    assert!(text.contains("param 2 unused (long): at entry no DW_AT_location"), "{text}");
    assert!(text.contains("pahole-1.30/kernel         affected"), "{text}");
    assert!(text.contains("pahole-1.32/kernel         not affected"), "{text}");
}
