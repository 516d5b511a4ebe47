//! The `btfsmith` command line: toolchain listing, error reporting, exit codes.

mod common;
use common::*;

#[test]
fn toolchains_lists_every_component_with_version_and_path() {
    let out = run(btfsmith(), &["toolchains"], None);
    let text = out.stdout_text();
    assert_eq!(out.status.and_then(|s| s.code()), Some(0), "components missing:\n{text}");
    let tc = toolchains();
    for t in &tc.tools {
        let line = text.lines().find(|l| l.contains(&t.name)).unwrap_or_else(|| panic!("{} not listed:\n{text}", t.name));
        assert!(line.contains(&t.version) && line.contains(&t.path.display().to_string()), "{line}");
    }
    for family in ["gcc", "clang", "pahole", "bpftool", "qemu"] {
        assert!(tc.family(family).next().is_some(), "no {family} in the manifest");
    }
    assert_eq!(tc.family("clang").count(), 2, "two clang releases expected");
    let kernel = tc.require_kernel().unwrap();
    assert!(kernel.version.starts_with("6.12."), "{}", kernel.version);
    assert!(text.contains(&kernel.headers.display().to_string()));
    assert!(text.contains("all components present"));
}

#[test]
fn toolchains_names_ci_setup_for_what_is_missing() {
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = harness::process::command(btfsmith(), ["toolchains"], None);
    cmd.env("BTFSMITH_HOME", empty.path());
    let out = harness::process::run(cmd, std::time::Duration::from_secs(30)).unwrap();
    assert_eq!(out.status.and_then(|s| s.code()), Some(1));
    let text = out.stdout_text();
    for what in ["pahole-1.30", "bpftool", "kernel-6.12"] {
        assert!(text.lines().any(|l| l.contains(what) && l.contains("ci/setup")), "{what} not reported:\n{text}");
    }
}

#[test]
fn malformed_btf_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.btf");
    // The BTF magic, then a header whose type section runs past the end.
    let mut bytes = vec![0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0xff, 0, 0, 0, 1, 0, 0, 0];
    bytes.push(0);
    std::fs::write(&bad, &bytes).unwrap();
    let out = run(btfsmith(), &["btf", "dump", &bad.display().to_string()], None);
    assert_eq!(out.status.and_then(|s| s.code()), Some(2));
    let err = out.stderr_text();
    assert!(err.contains("parsing BTF of") && err.contains("type section past the end of the data"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let missing = run(btfsmith(), &["btf", "dump", "/nonexistent/file"], None);
    assert_eq!(missing.status.and_then(|s| s.code()), Some(2));
    assert!(missing.stderr_text().contains("reading /nonexistent/file"), "{}", missing.stderr_text());
}
