//! Phenomena statistics: how often each policy's target phenomenon really happens once the
//! program is compiled, as measured by [`crate::classify`] on the generated functions (helpers
//! such as `bs_run_tu0` do not count).
//!
//! Measured with generator `0.1.0+gen2`, seeds 0..100 per policy (`btfsmith gen-stats --count
//! 100`), share of programs:
//!
//! | policy → phenomenon | gcc 12 -O2 | clang 14 -O2 | clang 19 -O2 |
//! |---|---|---|---|
//! | collisions → collision | 100% | 100% | 100% |
//! | isra → `.isra` | 100% | 0% | – |
//! | constprop → `.constprop` | 100% | 0% | – |
//! | part-cold → `.part`/`.cold` | 87% | 0% | – |
//! | optimized-out → parameter without location | 99% | 97% | 100% |
//! | clang-signature → changed convention, same name | 0% | 84% | 93% |
//! | mixed → collision / isra / constprop / part-cold / optimized-out / sig-change | 70/60/75/13/86/0% | 70/0/0/0/66/40% | 70/0/0/0/77/73% |
//!
//! clang never renames, so the gcc clone rows are 0% under clang by nature, and gcc renames
//! every function whose signature it changes. clang 14 gives no DWARF sign of a dropped return
//! value (only clang 19's `DW_CC_nocall` does), and argument promotion needs -O3; the
//! address-taken controls of the clang-signature policy must stay unchanged.
//!
//! The `stack` and `units` policies (generator `0.1.0+gen3`) are measured in
//! `generators/README.md`; their phenomena occur in 59..99.5% of programs (200 seeds, -O2) with
//! each of gcc 12, clang 14 and clang 19. The `locations` and `types` policies (`gen4`) are
//! measured there too.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::classify::{classify_objects, Classification};
use crate::emit::Flavour;
use crate::error::GenError;
use crate::generate::generate;
use crate::model::Program;
use crate::policy::{Phenomenon, Policy};
use crate::compile::{compile_unit, Compiler};
use crate::write::write_program;

/// One line of the statistics table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsRow {
    /// Policy name.
    pub policy: String,
    /// The phenomenon measured.
    pub phenomenon: Phenomenon,
    /// Programs compiled and classified.
    pub programs: usize,
    /// Programs in which the phenomenon occurred.
    pub hits: usize,
    /// Programs that failed to build or classify (counted as misses, reported here).
    pub failures: usize,
}

impl StatsRow {
    /// `hits / programs` in percent.
    pub fn percent(&self) -> f64 {
        if self.programs == 0 {
            0.0
        } else {
            100.0 * self.hits as f64 / self.programs as f64
        }
    }
}

/// The whole table, with the settings that produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsTable {
    /// Compiler executable.
    pub compiler: String,
    /// Optimisation flag.
    pub opt: String,
    /// Seeds used: `first_seed .. first_seed + count`.
    pub first_seed: u64,
    /// Rows, one per policy and target.
    pub rows: Vec<StatsRow>,
    /// First few build or classify errors, for diagnosis.
    pub errors: Vec<String>,
}

impl StatsTable {
    /// A plain-text table.
    pub fn render(&self) -> String {
        let mut o = format!(
            "compiler {} {}, seeds {}..\n",
            self.compiler, self.opt, self.first_seed
        );
        let _ = writeln!(
            o,
            "{:<20} {:<22} {:>8} {:>6} {:>8} {:>8}",
            "policy", "phenomenon", "programs", "hits", "share", "failures"
        );
        for r in &self.rows {
            let _ = writeln!(
                o,
                "{:<20} {:<22} {:>8} {:>6} {:>7.1}% {:>8}",
                r.policy,
                r.phenomenon.label(),
                r.programs,
                r.hits,
                r.percent(),
                r.failures
            );
        }
        for e in &self.errors {
            let _ = writeln!(o, "error: {e}");
        }
        o
    }
}

/// Compiles the units of a written user-flavour program in `dir` to objects (`tuN.o`), with
/// the standard flags and `opt`. `main.c` is left out: it defines no generated function.
pub fn build_objects(
    units: &[String],
    cc: &Compiler,
    opt: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>, GenError> {
    let mut objs = Vec::new();
    for u in units {
        let obj = format!("{u}.o");
        compile_unit(cc, opt, &[], dir, &format!("{u}.c"), &obj)?;
        objs.push(dir.join(obj));
    }
    Ok(objs)
}

/// Generates, compiles and classifies one program; returns the classification and the
/// program (see [`target_names`] for the functions each phenomenon is measured on).
pub fn measure_one(
    seed: u64,
    policy: &Policy,
    cc: &Compiler,
    opt: &str,
    dir: &Path,
) -> Result<(Classification, Program), GenError> {
    let prog = generate(seed, policy)?;
    write_program(&prog, Flavour::User, dir)?;
    let units: Vec<String> = prog.tus.iter().map(|t| t.name.clone()).collect();
    let objs = build_objects(&units, cc, opt, dir)?;
    Ok((classify_objects(&objs)?, prog))
}

/// The generated functions a phenomenon is measured on (helpers such as `bs_run_tu0` are never
/// among them). For [`Phenomenon::VarargsMixed`] only the variadic functions some call passes
/// variadic arguments of two or more types: DWARF does not record what callers pass.
pub fn target_names(prog: &Program, p: Phenomenon) -> BTreeSet<String> {
    match p {
        Phenomenon::VarargsMixed => prog
            .calls
            .iter()
            .filter(|c| {
                let kinds: BTreeSet<&str> = c.va_types.iter().map(|s| s.c_name()).collect();
                kinds.len() >= 2
            })
            .map(|c| prog.functions[c.callee.0].name.clone())
            .collect(),
        _ => prog.functions.iter().map(|f| f.name.clone()).collect(),
    }
}

static RUN: AtomicUsize = AtomicUsize::new(0);

/// For each policy, the share of `count` programs (seeds `first_seed..`) in which its target
/// phenomena really occurred after compiling with `cc` at `opt`. Runs on all cores.
pub fn gen_stats(
    count: usize,
    cc: &Compiler,
    opt: &str,
    policies: &[Policy],
    first_seed: u64,
) -> Result<StatsTable, GenError> {
    for p in policies {
        p.validate()?;
    }
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let root =
        std::env::temp_dir().join(format!("btfsmith-gen-stats-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&root).map_err(|source| GenError::Io {
        path: root.clone(),
        source,
    })?;
    let jobs: Vec<(usize, u64)> = (0..policies.len())
        .flat_map(|p| (0..count as u64).map(move |s| (p, first_seed + s)))
        .collect();
    let next = AtomicUsize::new(0);
    type Measured = Result<(Classification, Program), String>;
    let results: Mutex<Vec<(usize, Measured)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(p, seed)) = jobs.get(i) else { break };
                let dir = root.join(format!("{}-{seed}", policies[p].name));
                let r = measure_one(seed, &policies[p], cc, opt, &dir)
                    .map_err(|e| format!("{} seed {seed}: {e}", policies[p].name));
                let _ = std::fs::remove_dir_all(&dir);
                if let Ok(mut v) = results.lock() {
                    v.push((p, r));
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&root);
    let results = results.into_inner().unwrap_or_default();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (pi, p) in policies.iter().enumerate() {
        for &target in &p.targets {
            let mut row = StatsRow {
                policy: p.name.clone(),
                phenomenon: target,
                programs: 0,
                hits: 0,
                failures: 0,
            };
            for (rp, r) in &results {
                if *rp != pi {
                    continue;
                }
                row.programs += 1;
                match r {
                    Ok((c, prog)) => {
                        let names = target_names(prog, target);
                        row.hits += usize::from(c.occurred(target, Some(&names)));
                    }
                    Err(e) => {
                        row.failures += 1;
                        if errors.len() < 5 {
                            errors.push(e.clone());
                        }
                    }
                }
            }
            rows.push(row);
        }
    }
    Ok(StatsTable {
        compiler: cc.name(),
        opt: opt.to_string(),
        first_seed,
        rows,
        errors,
    })
}
