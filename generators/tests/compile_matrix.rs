//! Every generated program compiles without a warning under every compiler of the matrix (gcc
//! 12, 14 and 15, clang 14, 16 and 19) at -O0..-Os with `-Wall -Wextra -Werror`, runs, and prints
//! the same checksum in every build (a program whose result depended on the compiler or the
//! optimisation level would have undefined behaviour). gcc 14 and 15 compile inside their Debian
//! roots and their programs run there too (they need that root's C library).

use std::process::Command;

use generators::compile::BASE_FLAGS;
use generators::{generate, write_program, Flavour, Policy};

mod common;

const OPTS: [&str; 5] = ["-O0", "-O1", "-O2", "-O3", "-Os"];

fn check_program(
    policy: &Policy,
    seed: u64,
    compilers: &[common::TestCompiler],
) -> Result<(), String> {
    let prog = generate(seed, policy).map_err(|e| e.to_string())?;
    let dir = common::scratch("matrix");
    write_program(&prog, Flavour::User, dir.path()).map_err(|e| e.to_string())?;
    let srcs = common::sources(dir.path(), prog.tus.len());
    let mut checksums = Vec::new();
    for tc in compilers {
        let cc = &tc.cc;
        for opt in OPTS {
            let exe = dir.path().join(format!("prog-{}{opt}", cc.name()));
            let out = common::run_cmd(
                Command::new(&cc.path)
                    .arg(opt)
                    .args(BASE_FLAGS)
                    .arg("-Werror")
                    .args(&srcs)
                    .arg("-o")
                    .arg(&exe),
                120,
            )?;
            if !out.success {
                return Err(format!(
                    "{} seed {seed}: {} {opt} failed:\n{}",
                    policy.name,
                    cc.name(),
                    out.stderr
                ));
            }
            let run = common::run_cmd(&mut tc.run_command(&exe), 20)?;
            if !run.success {
                return Err(format!(
                    "{} seed {seed}: {} {opt} binary failed: {}",
                    policy.name,
                    cc.name(),
                    run.status
                ));
            }
            checksums.push((format!("{} {opt}", cc.name()), run.stdout));
        }
    }
    let first = &checksums[0].1;
    if let Some((which, other)) = checksums.iter().find(|(_, c)| c != first) {
        return Err(format!(
            "{} seed {seed}: checksum of {which} ({}) differs from {} ({})",
            policy.name,
            other.trim(),
            checksums[0].0,
            first.trim()
        ));
    }
    Ok(())
}

#[test]
fn every_policy_compiles_warning_free_and_agrees_across_gcc_clang_and_opt_levels() {
    let compilers = common::all_test_compilers();
    let jobs: Vec<(Policy, u64)> = Policy::all()
        .into_iter()
        .flat_map(|p| [100u64, 101].map(|s| (p.clone(), s)))
        .collect();
    check_all(&jobs, &compilers);
}

#[test]
fn build_script_runs_the_documented_commands() {
    let gcc = common::require_compiler("gcc");
    let clang = common::require_compiler("clang");
    let prog = generate(5, &Policy::mixed()).expect("generate");
    let dir = common::scratch("buildsh");
    write_program(&prog, Flavour::User, dir.path()).expect("write");
    let script = std::fs::read_to_string(dir.path().join("build.sh")).expect("read build.sh");
    assert!(
        script.contains(&BASE_FLAGS.join(" ")),
        "build.sh lacks the standard flags:\n{script}"
    );
    for cc in [&gcc, &clang] {
        let out = common::run_cmd(
            Command::new("sh")
                .arg(dir.path().join("build.sh"))
                .env("CC", &cc.path)
                .env("OPT", "-O2 -Werror"),
            300,
        )
        .expect("run build.sh");
        assert!(
            out.success,
            "build.sh with {} failed:\n{}",
            cc.name(),
            out.stderr
        );
        let run =
            common::run_cmd(&mut Command::new(dir.path().join("prog")), 20).expect("run prog");
        assert!(
            run.success && run.stdout.starts_with("checksum "),
            "prog printed {:?}",
            run.stdout
        );
    }
}

/// The `locations` and `types` policies also under clang 19, the only compiler here with
/// `_BitInt` (the others compile the same-size fallbacks): one checksum across all three.
#[test]
fn locations_and_types_agree_across_gcc_clang14_and_clang19() {
    let compilers = [
        common::require_test_compiler("gcc"),
        common::require_test_compiler("clang"),
        common::require_test_compiler("clang-19"),
    ];
    let jobs: Vec<(Policy, u64)> = ["locations", "types"]
        .iter()
        .map(|n| Policy::by_name(n).expect("built-in policy"))
        .flat_map(|p| [102u64, 103, 104].map(|s| (p.clone(), s)))
        .collect();
    check_all(&jobs, &compilers);
}

/// Runs every (policy, seed) job under every compiler; fails with all the failures listed.
fn check_all(jobs: &[(Policy, u64)], compilers: &[common::TestCompiler]) {
    let failures = common::parallel(jobs, |(p, s)| check_program(p, *s, compilers));
    assert!(
        failures.is_empty(),
        "{} of {} programs failed:\n{}",
        failures.len(),
        jobs.len(),
        failures.join("\n")
    );
}
