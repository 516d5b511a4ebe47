//! The kernel-module flavour builds with kbuild against the 6.12 headers `ci/setup` installs,
//! without a single warning (kbuild compiles with -Wall -Wextra and -Wmissing-prototypes).

use std::path::PathBuf;
use std::process::Command;

use generators::{generate, write_program, Flavour, Policy};

mod common;

/// The kernel headers directory from `$BTFSMITH_HOME/toolchains.toml`; fails naming `ci/setup`.
fn kernel_headers() -> PathBuf {
    let home = std::env::var_os("BTFSMITH_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/btfsmith")
        });
    let manifest = home.join("toolchains.toml");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); install the toolchains with `ci/setup`",
            manifest.display()
        )
    });
    let headers = text
        .lines()
        .map(str::trim)
        .find_map(|l| {
            l.strip_prefix("headers = \"")
                .and_then(|r| r.strip_suffix('"'))
        })
        .unwrap_or_else(|| {
            panic!(
                "{} names no kernel headers; run `ci/setup`",
                manifest.display()
            )
        });
    let p = PathBuf::from(headers);
    assert!(
        p.join("Makefile").is_file(),
        "kernel headers missing at {}; run `ci/setup`",
        p.display()
    );
    p
}

#[test]
fn modules_build_warning_free_with_kbuild() {
    let kdir = kernel_headers();
    common::require_compiler("gcc");
    common::require_compiler("make");
    let jobs: Vec<(Policy, u64)> = [
        "mixed",
        "float-args",
        "struct-by-value",
        "varargs",
        "collisions",
        "stack",
        "units",
        "locations",
        "types",
    ]
    .iter()
    .map(|n| (Policy::by_name(n).expect("policy"), 21u64))
    .collect();
    let failures = common::parallel(&jobs, |(policy, seed)| {
        let prog = generate(*seed, policy).map_err(|e| e.to_string())?;
        let dir = common::scratch("module");
        write_program(&prog, Flavour::Module, dir.path()).map_err(|e| e.to_string())?;
        let out = common::run_cmd(
            Command::new("make")
                .arg("-C")
                .arg(&kdir)
                .arg(format!("M={}", dir.path().display()))
                .arg("modules"),
            300,
        )?;
        let warned = out.stderr.contains("warning:") || out.stdout.contains("warning:");
        if !out.success || warned || !dir.path().join("prog.ko").is_file() {
            return Err(format!(
                "{} seed {seed}: kbuild failed or warned:\n{}\n{}",
                policy.name, out.stdout, out.stderr
            ));
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
