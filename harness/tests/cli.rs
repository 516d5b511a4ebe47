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
        let line = text.lines().find(|l| l.contains(t.name.as_str())).unwrap_or_else(|| panic!("{} not listed:\n{text}", t.name));
        assert!(line.contains(&t.version) && line.contains(&t.path.display().to_string()), "{line}");
    }
    for family in ["gcc", "clang", "pahole", "bpftool", "qemu"] {
        assert!(tc.family(family).next().is_some(), "no {family} in the manifest");
    }
    assert_eq!(tc.family("clang").count(), 3, "three clang releases expected (14, 16, the newest)");
    assert!(tc.find("clang-16").is_some(), "no clang-16 in the manifest");
    // gcc 14 and 15 each run in their own Debian root; the listing names it.
    for (gcc, suite) in [("gcc-14", "trixie"), ("gcc-15", "sid")] {
        let t = tc.find(gcc).unwrap_or_else(|| panic!("no {gcc} in the manifest"));
        let root = t.root.as_ref().unwrap_or_else(|| panic!("{gcc} has no root"));
        assert!(root.ends_with(suite), "{gcc} root {}", root.display());
        let line = text.lines().find(|l| l.contains(gcc)).unwrap();
        assert!(line.contains(&format!("(chroot {})", root.display())), "{line}");
    }
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
    for what in ["pahole-1.30", "bpftool", "kernel-6.12", "gcc-14", "gcc-15"] {
        assert!(text.lines().any(|l| l.contains(what) && l.contains("ci/setup")), "{what} not reported:\n{text}");
    }
}

/// A gcc whose Debian root was removed (its wrapper left behind) is missing, not a compiler that
/// fails every build: `toolchains` and a campaign asking for it both name ci/setup.
#[test]
fn a_gcc_whose_root_is_gone_is_missing_and_names_ci_setup() {
    let tc = toolchains();
    let gcc14 = tc.require("gcc-14").expect("gcc-14 installed by ci/setup");
    let home = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(tc.home.join("toolchains.toml")).unwrap();
    let real_root = gcc14.root.as_ref().unwrap().display().to_string();
    let gone = home.path().join("rootfs/trixie").display().to_string();
    let edited = manifest.replace(&format!("root = \"{real_root}\""), &format!("root = \"{gone}\""));
    assert_ne!(edited, manifest, "the manifest has no root line for gcc-14:\n{manifest}");
    std::fs::write(home.path().join("toolchains.toml"), edited).unwrap();
    let with_home = |args: &[&str]| {
        let mut cmd = harness::process::command(btfsmith(), args, None);
        cmd.env("BTFSMITH_HOME", home.path());
        harness::process::run(cmd, std::time::Duration::from_secs(60)).unwrap()
    };
    let out = with_home(&["toolchains"]);
    assert_eq!(out.status.and_then(|s| s.code()), Some(1));
    let text = out.stdout_text();
    assert!(text.lines().any(|l| l.contains("gcc-14") && l.contains("(MISSING)")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("missing: gcc-14") && l.contains("ci/setup")), "{text}");
    let out_dir = home.path().join("out");
    let run = with_home(&["run", "--count", "1", "--compilers", "gcc-14", "--out", &out_dir.display().to_string()]);
    assert_eq!(run.status.and_then(|s| s.code()), Some(2), "{}", run.stderr_text());
    let err = run.stderr_text();
    assert!(err.contains("gcc-14 is not installed") && err.contains("ci/setup"), "{err}");
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
