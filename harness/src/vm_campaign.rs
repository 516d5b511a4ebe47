//! The runtime campaign: kernel modules through the stages, in their order: execute
//! ([`crate::vm::Runner`], the guest's evidence), judge (the runtime oracle,
//! `oracle/runtime.rs`), keep ([`crate::finding`]). The static campaign's counterpart
//! ([`crate::campaign`]); `btfsmith vm`, `btfsmith run --runtime` and `btfsmith check --runtime`
//! run through it.
//!
//! `btfsmith vm`: generated kernel modules through every encoder configuration and the guest.
//! Programs `seed .. seed+count` are generated (module flavour), built with one kbuild run,
//! encoded per configuration, run in one qemu boot (more after a crash), and judged by the
//! runtime oracle. The output directory keeps the sources (`build/`), encoded modules
//! (`encoded/`), boot logs (`boot-N/`), every verdict as JSON Lines (`verdicts.jsonl`), the table
//! (`report.md`), the counts (`runtime.json`) and the findings (`findings/`, or the campaign's
//! when `btfsmith run --runtime` runs it), each replayable with `btfsmith replay`.

use crate::config::{Config, EncoderSetup, Matrix};
use crate::finding::{FindingStore, ModuleRecord};
use crate::oracle::{CaseRun, Verdict, VerdictKind};
use crate::vm::guest::GuestEnv;
use crate::vm::kbuild::{self, ModuleSource};
use crate::vm::{Case, Execution, Expected, ModuleRun, Runner, Timings};
use std::collections::BTreeMap;
use crate::toolchains::Toolchains;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Options of `btfsmith vm`.
#[derive(Debug, Clone, clap::Args)]
pub struct VmArgs {
    /// Number of generated modules.
    #[arg(long, default_value_t = 20)]
    pub count: u64,
    /// First seed; module i uses seed + i.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Generator policy (`mixed`, `collisions`, ...).
    #[arg(long, default_value = "mixed")]
    pub policy: String,
    /// Only encoder configurations whose name contains one of these (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub encoders: Vec<String>,
    /// Campaign configuration (TOML) for the encoder list; default: the built-in one.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output directory (replaced).
    #[arg(long, default_value = "btfsmith-vm")]
    pub out: PathBuf,
    /// Parallel builds and encoder runs (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// qemu instances side by side, one vCPU each (default: --jobs).
    #[arg(long)]
    pub guests: Option<usize>,
    /// Print the detail of every WRONG_* verdict.
    #[arg(long)]
    pub verbose: bool,
}

/// The counts a runtime run leaves in `runtime.json`, which a campaign's report adds to its own.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RuntimeCounts {
    /// Modules judged.
    pub modules: u64,
    /// encoder → verdict kind → count.
    pub counts: std::collections::BTreeMap<crate::names::EncoderName, std::collections::BTreeMap<String, u64>>,
}

/// Reads `dir/runtime.json`, if a runtime run left one.
pub fn read_counts(dir: &std::path::Path) -> Option<RuntimeCounts> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("runtime.json")).ok()?).ok()
}

/// Runs `btfsmith vm`. Exit 0 when no verdict is a finding, 1 when one is, 2 on errors.
pub fn vm(args: VmArgs) -> Result<ExitCode> {
    let findings = args.out.join("findings");
    run_into(args, &findings)
}

/// Runs `btfsmith vm` with its findings in `findings` (a campaign's findings directory, for
/// `btfsmith run --runtime`).
pub fn run_into(args: VmArgs, findings: &std::path::Path) -> Result<ExitCode> {
    let started = Instant::now();
    let tc = Toolchains::load()?;
    let config = match &args.config {
        Some(p) => Config::from_file(p)?,
        None => Config::builtin(),
    };
    let mut matrix = Matrix::resolve(&config, &tc, &args.encoders, &[])?;
    // gcc's own BTF comes out of the compiler, per object: nothing a module can carry as split
    // BTF over vmlinux.
    let skipped: Vec<String> = matrix.encoders.iter().filter(|e| !embeds_in_modules(&e.config.tool)).map(|e| e.config.name.to_string()).collect();
    matrix.encoders.retain(|e| embeds_in_modules(&e.config.tool));
    if matrix.encoders.is_empty() {
        anyhow::bail!("no encoder configuration that can encode a module's split BTF (skipped: {})", skipped.join(", "));
    }
    let env = GuestEnv::discover()?;
    let policy = generators::Policy::by_name(&args.policy).map_err(|e| anyhow::anyhow!("--policy {}: {e}", args.policy))?;
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if args.out.exists() {
        std::fs::remove_dir_all(&args.out).with_context(|| format!("clearing {}", args.out.display()))?;
    }
    let build_root = args.out.join("build");
    std::fs::create_dir_all(&build_root)?;
    let build_root = build_root.canonicalize()?;

    // Generate and build.
    let t_gen = Instant::now();
    let mut mods = Vec::new();
    let mut truths = Vec::new();
    for i in 0..args.count {
        let seed = args.seed + i;
        let prog = generators::generate(seed, &policy).map_err(|e| anyhow::anyhow!("generating seed {seed}: {e}"))?;
        // Every configuration's copy is renamed (`_00` → `_NN`) and stays loaded in the guest,
        // so the trigger lives under the module's own name.
        let name = format!("bs{seed}{}", kbuild::NAME_PLACEHOLDER);
        let dir = build_root.join(&name);
        let truth = generators::write_program(&prog, generators::Flavour::Module, &dir).map_err(|e| anyhow::anyhow!("writing seed {seed}: {e}"))?;
        let main_c = dir.join("main.c");
        let text = std::fs::read_to_string(&main_c)?;
        std::fs::write(&main_c, text.replace("debugfs_create_dir(\"btfsmith\", NULL)", "debugfs_create_dir(KBUILD_MODNAME, NULL)"))?;
        let kb = std::fs::read_to_string(dir.join("Kbuild"))?;
        mods.push(ModuleSource::from_generated_kbuild(&name, &kb));
        truths.push((seed, truth));
    }
    let built = kbuild::build_modules(&build_root, &mods, &env.kernel, jobs);
    let t_build = t_gen.elapsed();
    let mut cases = Vec::new();
    let mut build_errors = Vec::new();
    for ((m, (seed, truth)), ko) in mods.iter().zip(&truths).zip(built) {
        match ko.and_then(|ko| Case::load(&m.name, &ko, Expected::from_truth(truth)).map_err(|e| format!("{e:#}"))) {
            Ok(mut c) => {
                c.label = format!("seed-{seed}");
                cases.push(c);
            }
            Err(e) => build_errors.push(format!("seed {seed}: {e}")),
        }
    }

    // Encode, boot, judge.
    let mut runner = Runner::new(env, args.out.canonicalize()?);
    runner.jobs = jobs;
    runner.guests = args.guests.unwrap_or(jobs).max(1);
    if runner.guests > 1 && std::env::var_os("BTFSMITH_VM_SMP").is_none() {
        runner.env.smp = 1;
    }
    let execution = runner.run(&cases, &matrix.encoders)?;
    let report = judge(&execution);
    let store = FindingStore::open(findings)?;
    let new_findings = record_findings(&execution, &report, &store, &runner.env.kernel, |m| {
        let (ms, (seed, _)) = mods.iter().zip(&truths).find(|(ms, _)| ms.name == m.case.module).context("a judged module that was never built")?;
        Ok(ModuleOrigin {
            dir: build_root.join(&ms.name),
            record: ModuleRecord { name: ms.name.clone(), objects: ms.objects.clone(), extra: ms.extra.clone(), prebuilt: None, kernel: runner.env.kernel.version.clone(), expected: m.case.expected.clone() },
            seed: Some(*seed),
            policy: Some(args.policy.clone()),
        })
    })?;
    let mut counts = RuntimeCounts { modules: cases.len() as u64, ..Default::default() };
    for v in &report.verdicts {
        *counts.counts.entry(v.encoder.clone()).or_default().entry(v.kind.to_string()).or_default() += 1;
    }
    std::fs::write(args.out.join("runtime.json"), serde_json::to_string_pretty(&counts)?)?;

    // Report.
    let order: Vec<String> = matrix.encoders.iter().map(|e| e.config.name.to_string()).collect();
    let mut jsonl = std::io::BufWriter::new(std::fs::File::create(args.out.join("verdicts.jsonl"))?);
    for v in &report.verdicts {
        serde_json::to_writer(&mut jsonl, v)?;
        jsonl.write_all(b"\n")?;
    }
    jsonl.flush()?;
    let t = &report.timings;
    let mut text = format!(
        "{} modules ({} build errors), {} configurations, {} module loads, {} FUNCs attached or tried.\n\n",
        cases.len(),
        build_errors.len(),
        order.len(),
        t.jobs,
        t.funcs
    );
    text.push_str(&report.table(&order));
    if !skipped.is_empty() {
        text.push_str(&format!("\nskipped (cannot embed split BTF into a .ko): {}\n", skipped.join(", ")));
    }
    text.push_str(&format!(
        "\ntime: {:.1} s total; generate+kbuild {:.1} s, encode {:.1} s, qemu {:.1} s wall ({} boot(s), side by side within a round; agent {:.1} s in the guest, all boots)\n",
        started.elapsed().as_secs_f64(),
        t_build.as_secs_f64(),
        t.encode.as_secs_f64(),
        t.boot.as_secs_f64(),
        t.boots,
        t.agent.as_secs_f64()
    ));
    for e in &build_errors {
        text.push_str(&format!("build error: {}\n", e.lines().next().unwrap_or("")));
    }
    for l in &report.crash_logs {
        text.push_str(&format!("guest crash log: {}\n", l.display()));
    }
    std::fs::write(args.out.join("report.md"), &text)?;
    print!("{text}");
    let wrong: Vec<_> = report.verdicts.iter().filter(|v| v.kind.is_finding()).collect();
    if args.verbose {
        for v in &wrong {
            println!("\n{} {} {} {}\n  {}", v.kind, v.encoder, v.case, v.function.as_deref().unwrap_or("-"), v.detail.replace('\n', "\n  "));
        }
    }
    println!("verdicts: {}/verdicts.jsonl; {new_findings} new finding(s) in {}", args.out.display(), findings.display());
    Ok(if wrong.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Whether an encoder tool can add split BTF to a built `.ko` (`-J --btf_base`): pahole and
/// btfenc can; gcc's `-gbtf` (tool `gcc-btf`) is a compile flag, not an encoder of built files.
pub fn embeds_in_modules(tool: &crate::names::EncoderTool) -> bool {
    *tool != crate::names::EncoderTool::GccBtf
}

/// A runtime verdict with the label of the module it is about.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseVerdict {
    /// The case (module) label.
    pub case: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl std::ops::Deref for CaseVerdict {
    type Target = Verdict;
    fn deref(&self) -> &Verdict {
        &self.verdict
    }
}

/// The judged result of a runtime run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every verdict.
    pub verdicts: Vec<CaseVerdict>,
    /// Timings.
    pub timings: Timings,
    /// Console logs of boots that crashed or hung.
    pub crash_logs: Vec<PathBuf>,
}

impl Report {
    /// Verdict counts per configuration.
    pub fn counts(&self) -> BTreeMap<crate::names::EncoderName, BTreeMap<VerdictKind, usize>> {
        let mut out: BTreeMap<crate::names::EncoderName, BTreeMap<VerdictKind, usize>> = BTreeMap::new();
        for v in &self.verdicts {
            *out.entry(v.encoder.clone()).or_default().entry(v.kind).or_default() += 1;
        }
        out
    }

    /// A Markdown table of verdict counts per configuration (configurations in `order`).
    pub fn table(&self, order: &[String]) -> String {
        let counts = self.counts();
        let kinds: Vec<VerdictKind> = VerdictKind::ALL.iter().copied().filter(|k| counts.values().any(|m| m.contains_key(k))).collect();
        let mut s = String::from("| configuration |");
        for k in &kinds {
            s.push_str(&format!(" {k} |"));
        }
        s.push_str("\n|---|");
        s.push_str(&"---|".repeat(kinds.len()));
        s.push('\n');
        for cfg in order {
            let m = counts.get(cfg.as_str()).cloned().unwrap_or_default();
            s.push_str(&format!("| {cfg} |"));
            for k in &kinds {
                s.push_str(&format!(" {} |", m.get(k).copied().unwrap_or(0)));
            }
            s.push('\n');
        }
        s
    }
}


/// Encodes every case with every encoder, runs them all in the guest, and judges the evidence
/// with the runtime oracle.
pub fn run_judged(runner: &Runner, cases: &[Case], encoders: &[EncoderSetup]) -> Result<Report> {
    let execution = runner.run(cases, encoders)?;
    Ok(judge(&execution))
}

/// Judges an execution with the runtime oracle.
pub fn judge(execution: &Execution) -> Report {
    let mut report = Report { verdicts: Vec::new(), timings: execution.timings.clone(), crash_logs: execution.crash_logs.clone() };
    for m in &execution.modules {
        let build = m.build();
        let run = CaseRun { build: &build, encodings: &[], runtime: Some(m) };
        for o in crate::oracle::runtime() {
            report.verdicts.extend(o.check(&run).into_iter().map(|verdict| CaseVerdict { case: m.case.label.clone(), verdict }));
        }
    }
    report
}

/// Where a module's files come from, for its runtime findings.
#[derive(Debug, Clone)]
pub struct ModuleOrigin {
    /// The module's source directory (or the directory of a prebuilt `.ko`).
    pub dir: PathBuf,
    /// What a finding's record says about the module.
    pub record: crate::finding::ModuleRecord,
    /// Seed, for generated modules.
    pub seed: Option<u64>,
    /// Policy, for generated modules.
    pub policy: Option<String>,
}

/// Records every finding verdict of `report` (judged from `execution`) in `store`, each with its
/// module's files as `origin` describes them. Returns the number of new findings.
pub fn record_findings(
    execution: &Execution,
    report: &Report,
    store: &crate::finding::FindingStore,
    kernel: &crate::toolchains::Kernel,
    origin: impl Fn(&ModuleRun) -> Result<ModuleOrigin>,
) -> Result<usize> {
    let mut new = 0;
    for m in &execution.modules {
        let mut findings = report.verdicts.iter().filter(|v| v.case == m.case.label && v.kind.is_finding()).peekable();
        if findings.peek().is_none() {
            continue;
        }
        let build = m.build();
        let o = origin(m)?;
        for v in findings {
            let Some(observation) = m.observations.iter().find(|x| x.encoder.config.name == v.encoder) else { continue };
            let files = crate::finding::ModuleFiles { dir: &o.dir, record: o.record.clone(), seed: o.seed, policy: o.policy.as_deref(), build: &build, observation, kernel };
            new += usize::from(store.record_module(v, &files)?.is_some());
        }
    }
    Ok(new)
}

