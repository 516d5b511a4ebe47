//! 500 random programs (every policy, two optimisation levels, half with gcc and half with the
//! newest clang ci/setup installs, with its sanitizer runtime) built with
//! `-fsanitize=undefined,address -fno-sanitize-recover=all` (and `-Werror`) and run: not one
//! report.

use std::process::Command;

use generators::compile::BASE_FLAGS;
use generators::{generate, write_program, Flavour, Hazard, Policy};

mod common;

const PROGRAMS: u64 = 500;

#[test]
fn five_hundred_programs_run_clean_under_ubsan_and_asan() {
    let gcc = common::require_compiler("gcc");
    let clang = common::require_compiler(CLANG);
    let policies = Policy::all();
    let jobs: Vec<u64> = (0..PROGRAMS).collect();
    // Program i: compiler by i % 2, optimisation level by (i / 2) % 2, policy by (i / 4).
    let policy_of = |i: u64| &policies[(i / 4) as usize % policies.len()];
    // Every recipe is among the programs checked, under each compiler.
    for parity in [0, 1] {
        let mut missing: std::collections::BTreeSet<Hazard> = Hazard::ALL.into_iter().collect();
        for &i in jobs.iter().filter(|i| *i % 2 == parity) {
            let prog = generate(10_000 + i, policy_of(i)).expect("generate");
            for f in &prog.functions {
                missing.remove(&f.hazard);
            }
        }
        assert!(missing.is_empty(), "recipes never sanitized under {}: {missing:?}", if parity == 0 { "gcc" } else { CLANG });
    }
    let started = std::time::Instant::now();
    let failures = common::parallel(&jobs, |&i| {
        let policy = policy_of(i);
        let seed = 10_000 + i;
        let cc = if i % 2 == 0 { &gcc } else { &clang };
        let opt = if (i / 2) % 2 == 0 { "-O1" } else { "-O2" };
        let prog = generate(seed, policy).map_err(|e| e.to_string())?;
        let dir = common::scratch("san");
        write_program(&prog, Flavour::User, dir.path()).map_err(|e| e.to_string())?;
        let exe = dir.path().join("prog");
        let out = common::run_cmd(
            Command::new(&cc.path)
                .arg(opt)
                .args(BASE_FLAGS)
                .args(["-fsanitize=undefined,address", "-fno-sanitize-recover=all", "-Werror"])
                .args(common::sources(dir.path(), prog.tus.len()))
                .arg("-o")
                .arg(&exe),
            120,
        )?;
        if !out.success {
            return Err(format!(
                "{} seed {seed} {} {opt}: build failed:\n{}",
                policy.name,
                cc.path.display(),
                out.stderr
            ));
        }
        let run = common::run_cmd(
            Command::new(&exe).env("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0"),
            30,
        )?;
        let report = run.stderr.contains("runtime error") || run.stderr.contains("Sanitizer");
        if !run.success || report || !run.stdout.starts_with("checksum ") {
            return Err(format!(
                "{} seed {seed} {} {opt}: {}\n{}",
                policy.name,
                cc.path.display(),
                run.status,
                run.stderr
            ));
        }
        Ok(())
    });
    eprintln!("{PROGRAMS} sanitized programs in {:.1?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "{} of {PROGRAMS} programs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The newest clang ci/setup installs (with `libclang-rt-19-dev`, its sanitizer runtime).
const CLANG: &str = "clang-19";

#[test]
fn the_sanitizer_flags_do_catch_signed_overflow() {
    for cc in ["gcc", CLANG] {
        catches_signed_overflow(cc);
    }
}

fn catches_signed_overflow(cc: &str) {
    let gcc = common::require_compiler(cc);
    let dir = common::scratch("san-control");
    let src = dir.path().join("bad.c");
    std::fs::write(&src, "#include <limits.h>\nint main(void) { volatile int x = INT_MAX; volatile int y; y = x + 1; return 0; }\n").expect("write");
    let exe = dir.path().join("bad");
    let out = common::run_cmd(
        Command::new(&gcc.path)
            .args([
                "-O1",
                "-fsanitize=undefined,address",
                "-fno-sanitize-recover=all",
            ])
            .arg(&src)
            .arg("-o")
            .arg(&exe),
        120,
    )
    .expect("compile");
    assert!(out.success, "{}", out.stderr);
    let run = common::run_cmd(&mut Command::new(&exe), 30).expect("run");
    assert!(
        !run.success && run.stderr.contains("signed integer overflow"),
        "not caught: {}",
        run.stderr
    );
}
