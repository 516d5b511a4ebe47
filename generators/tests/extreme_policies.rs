//! Policies at the edges of their limits still give valid programs that compile warning-free.

use std::process::Command;

use generators::policy::Range;
use generators::compile::BASE_FLAGS;
use generators::{generate, write_program, Flavour, Policy};

mod common;

fn extremes() -> Vec<Policy> {
    let mut out = Vec::new();
    for base in ["mixed", "collisions", "struct-by-value"] {
        let mut small = Policy::by_name(base).expect("policy");
        small.name = format!("{base}-small");
        small.limits.tus = Range::new(1, 1);
        small.limits.types = Range::new(0, 0);
        small.limits.groups = Range::new(1, 1);
        small.limits.params = Range::new(0, 0);
        small.limits.stmts = Range::new(0, 0);
        small.limits.fields = Range::new(1, 1);
        small.limits.globals_per_tu = Range::new(0, 0);
        small.limits.expr_depth = 0;
        out.push(small);
        let mut big = Policy::by_name(base).expect("policy");
        big.name = format!("{base}-big");
        big.limits.tus = Range::new(6, 6);
        big.limits.types = Range::new(12, 12);
        big.limits.groups = Range::new(20, 20);
        big.limits.params = Range::new(8, 16);
        big.limits.stmts = Range::new(6, 8);
        big.limits.fields = Range::new(8, 16);
        big.limits.globals_per_tu = Range::new(3, 3);
        big.limits.expr_depth = 6;
        big.swarm = true;
        out.push(big);
    }
    out
}

#[test]
fn edge_limits_give_valid_programs_that_compile() {
    let gcc = common::require_compiler("gcc");
    let clang = common::require_compiler("clang");
    let jobs: Vec<(Policy, u64)> = extremes()
        .into_iter()
        .flat_map(|p| [1u64, 2].map(|s| (p.clone(), s)))
        .collect();
    let failures = common::parallel(&jobs, |(policy, seed)| {
        let prog = generate(*seed, policy).map_err(|e| format!("{}: {e}", policy.name))?;
        prog.validate()
            .map_err(|e| format!("{}: {e}", policy.name))?;
        let dir = common::scratch("extreme");
        write_program(&prog, Flavour::User, dir.path()).map_err(|e| e.to_string())?;
        for cc in [&gcc, &clang] {
            let out = common::run_cmd(
                Command::new(&cc.path)
                    .arg("-O2")
                    .args(BASE_FLAGS)
                    .arg("-Werror")
                    .args(common::sources(dir.path(), prog.tus.len()))
                    .arg("-o")
                    .arg(dir.path().join("prog")),
                300,
            )?;
            if !out.success {
                return Err(format!(
                    "{} seed {seed} with {}:\n{}",
                    policy.name,
                    cc.name(),
                    out.stderr
                ));
            }
            let run = common::run_cmd(&mut Command::new(dir.path().join("prog")), 30)?;
            if !run.success {
                return Err(format!(
                    "{} seed {seed} with {}: {}",
                    policy.name,
                    cc.name(),
                    run.status
                ));
            }
        }
        Ok(())
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
