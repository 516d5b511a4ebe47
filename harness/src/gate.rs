//! `btfsmith gate`: may this encoder build be released? The corpus and a fixed-seed campaign run
//! on a candidate and a baseline; the candidate fails when it has any unsafe verdict, or regresses
//! against the baseline: a finding signature the baseline does not have, a function the baseline
//! describes safely and the candidate misses, or output that differs between two identical runs.
//!
//! Corpus cases marked `runtime: module` run through the runtime oracle (both encoders' BTF
//! embedded in the module, fentry on every FUNC in the guest): their verdicts count like the
//! static ones, so a candidate that makes a tracer enter the wrong function fails the gate.
//!
//! The differential oracle is left out: with two configurations there is no consensus to blame a
//! difference on; the DWARF truth judges each FUNC of each side on its own.

use crate::campaign::{judge_case, CaseInput};
use crate::config::{Config, EncoderConfig, EncoderSetup, Matrix};
use crate::finding::FindingStore;
use crate::names::{CompilerName, PhenomenonName};
use crate::oracle::{self, Oracle, Verdict, VerdictKind};
use crate::toolchains::Toolchains;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the gate runs.
#[derive(Debug, Clone)]
pub struct GateSpec {
    /// The encoder build under test.
    pub candidate: EncoderSetup,
    /// What it must not regress against.
    pub baseline: EncoderSetup,
    /// Generated programs in the fixed-seed campaign.
    pub programs: u64,
    /// The campaign's first seed.
    pub seed: u64,
    /// Corpus directory (skipped when absent).
    pub corpus: Option<PathBuf>,
    /// Whether the kernel-load oracle runs.
    pub kernel_load: bool,
}

/// Resolves `--candidate`/`--baseline`: a configuration name from the built-in configuration
/// (`btfenc`, `pahole-1.30/kernel`), or a command line whose first word is an executable
/// (`/path/to/build/pahole -j --btf_features=default`).
pub fn resolve_encoder(spec: &str, label: &str, tc: &Toolchains) -> Result<EncoderSetup> {
    let config = Config::builtin();
    if let Some(e) = config.encoders.iter().find(|e| e.name == spec) {
        let mut c = config.clone();
        c.encoders = vec![e.clone()];
        let m = Matrix::resolve(&c, tc, &[], &[])?;
        let mut setup = m.encoders.into_iter().next().context("resolved encoder")?;
        setup.config.name = format!("{label}:{spec}").parse()?;
        return Ok(setup);
    }
    let mut words = spec.split_whitespace();
    let program = words.next().with_context(|| format!("--{label} is empty"))?;
    let path = if program.contains('/') {
        PathBuf::from(program)
    } else {
        find_on_path(program).with_context(|| format!("--{label}: {program} is neither a configuration (see `btfsmith dump-config`) nor on PATH"))?
    };
    if !path.exists() {
        bail!("--{label}: {} does not exist", path.display());
    }
    let path = path.canonicalize().unwrap_or(path);
    Ok(EncoderSetup {
        config: EncoderConfig { name: format!("{label}:{spec}").parse()?, tool: crate::names::EncoderTool::Path(path.clone()), args: words.map(str::to_string).collect(), note: String::new(), timeout_secs: 120 },
        path,
        version: "local".into(),
    })
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(program)).find(|c| c.is_file()))
}

/// Everything the gate saw.
#[derive(Debug, Default)]
pub struct GateResult {
    /// (case label, verdict) for both encoders.
    pub verdicts: Vec<(String, Verdict)>,
    /// Inputs on which the candidate's output differed between two runs.
    pub nondeterministic: Vec<String>,
    /// Why the candidate fails; empty when it passes.
    pub failures: Vec<String>,
}

fn side(v: &Verdict) -> &str {
    v.encoder.split(':').next().unwrap_or("")
}

/// Runs the gate.
pub fn run(spec: &GateSpec, tc: &Toolchains, out: &Path) -> Result<GateResult> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let matrix = Matrix { compilers: crate::config::resolve_compilers(&Config::builtin(), tc, &[])?, encoders: vec![spec.baseline.clone(), spec.candidate.clone()] };
    let oracles: Vec<Box<dyn Oracle>> = oracle::standard(spec.kernel_load).into_iter().filter(|o| !o.compares_configurations()).collect();
    let store = FindingStore::open(&out.join("findings"))?;
    let mut result = GateResult::default();
    let mut inputs: Vec<(String, CaseInput, Option<Matrix>)> = Vec::new();
    if let Some(corpus) = spec.corpus.as_deref().filter(|c| c.exists()) {
        for dir in crate::corpus::cases(corpus)? {
            let case = crate::corpus::Case::load(&dir)?;
            if case.runtime {
                let label = format!("corpus/{}", dir.file_name().unwrap_or_default().to_string_lossy());
                let scratch = out.join("runtime").join(crate::finding::slug(&label));
                let _ = std::fs::remove_dir_all(&scratch);
                let verdicts = crate::check::check_runtime(crate::check::RuntimeInput::Sources(&case.sources()?), &matrix, &scratch).with_context(|| format!("{label}: the runtime oracle"))?;
                result.verdicts.extend(verdicts.into_iter().map(|v| (label.clone(), v)));
                continue;
            }
            let mut m = matrix.clone();
            m.compilers = case.compiler_setups(tc)?;
            let label = format!("corpus/{}", dir.file_name().unwrap_or_default().to_string_lossy());
            inputs.push((label, CaseInput { sources: case.sources()?, dir, seed: None, policy: None }, Some(m)));
        }
    }
    let programs_dir = out.join("programs");
    let policy = generators::Policy::mixed();
    for i in 0..spec.programs {
        let seed = spec.seed + i;
        let dir = programs_dir.join(format!("seed-{seed}"));
        let program = generators::generate(seed, &policy).map_err(|e| anyhow::anyhow!("generating seed {seed}: {e}"))?;
        let truth = generators::write_program(&program, generators::Flavour::User, &dir).map_err(|e| anyhow::anyhow!("writing seed {seed}: {e}"))?;
        let sources = truth.units.iter().map(|u| dir.join(u)).collect();
        inputs.push((format!("seed {seed}"), CaseInput { sources, dir, seed: Some(seed), policy: Some("mixed".into()) }, None));
    }
    for (label, input, m) in &inputs {
        let m = m.as_ref().unwrap_or(&matrix);
        let work = out.join("work");
        let outcome = judge_case(input, m, &oracles, &store, &work)?;
        for e in &outcome.build_errors {
            eprintln!("btfsmith gate: {label}: build failed, skipped: {e}");
        }
        // Determinism: encode the last build's binary twice more with the candidate.
        if let Some(compiler) = m.compilers.first() {
            let bin = work.join(crate::finding::slug(&compiler.name)).join("prog");
            if bin.exists() {
                let a = crate::pipeline::encode(&spec.candidate, &bin, &work.join("det-a.btf"));
                let b = crate::pipeline::encode(&spec.candidate, &bin, &work.join("det-b.btf"));
                if a.btf.is_ok() && b.btf.is_ok() && std::fs::read(&a.output)? != std::fs::read(&b.output)? {
                    result.nondeterministic.push(format!("{label} ({})", compiler.name));
                }
            }
        }
        result.verdicts.extend(outcome.verdicts.into_iter().map(|v| (label.clone(), v)));
    }
    let _ = std::fs::remove_dir_all(out.join("work"));

    // Judgement.
    fn of<'a>(r: &'a GateResult, who: &'static str) -> impl Iterator<Item = &'a (String, Verdict)> + 'a {
        r.verdicts.iter().filter(move |(_, v)| side(v) == who)
    }
    let unsafe_count = of(&result, "candidate").filter(|(_, v)| v.kind.is_unsafe()).count();
    if unsafe_count > 0 {
        result.failures.push(format!("{unsafe_count} unsafe verdicts for the candidate"));
    }
    let sigs = |who: &'static str| -> BTreeSet<(VerdictKind, PhenomenonName)> { of(&result, who).filter(|(_, v)| v.kind.is_finding()).map(|(_, v)| (v.kind, v.phenomenon.clone())).collect() };
    let new: Vec<_> = sigs("candidate").difference(&sigs("baseline")).cloned().collect();
    if !new.is_empty() {
        result.failures.push(format!("finding signatures the baseline does not have: {new:?}"));
    }
    let missed = |who: &'static str| -> BTreeSet<(String, CompilerName, String)> {
        of(&result, who).filter(|(_, v)| v.kind == VerdictKind::Missed).map(|(l, v)| (l.clone(), v.compiler.clone(), v.function.clone().unwrap_or_default())).collect()
    };
    let newly: Vec<_> = missed("candidate").difference(&missed("baseline")).cloned().collect();
    if !newly.is_empty() {
        let shown: Vec<String> = newly.iter().take(10).map(|(l, c, f)| format!("{f} ({l}, {c})")).collect();
        result.failures.push(format!("{} functions newly MISSED: {}{}", newly.len(), shown.join(", "), if newly.len() > 10 { ", ..." } else { "" }));
    }
    if !result.nondeterministic.is_empty() {
        result.failures.push(format!("non-deterministic output on {}", result.nondeterministic.join(", ")));
    }
    std::fs::write(out.join("gate.md"), markdown(spec, &result))?;
    std::fs::write(out.join("junit.xml"), junit(&result))?;
    Ok(result)
}

/// The side-by-side verdict table.
pub fn table(result: &GateResult) -> BTreeMap<VerdictKind, (u64, u64)> {
    let mut t: BTreeMap<VerdictKind, (u64, u64)> = BTreeMap::new();
    for (_, v) in &result.verdicts {
        let e = t.entry(v.kind).or_default();
        match side(v) {
            "baseline" => e.0 += 1,
            _ => e.1 += 1,
        }
    }
    t
}

/// The Markdown report.
pub fn markdown(spec: &GateSpec, result: &GateResult) -> String {
    let mut s = format!(
        "# btfsmith gate\n\ncandidate: `{}`\nbaseline: `{}`\n\n| verdict | baseline | candidate |\n|---|---|---|\n",
        spec.candidate.config.name.trim_start_matches("candidate:"),
        spec.baseline.config.name.trim_start_matches("baseline:")
    );
    for (k, (b, c)) in table(result) {
        s.push_str(&format!("| {k} | {b} | {c} |\n"));
    }
    s.push_str(&format!("| NON_DETERMINISTIC | - | {} |\n\n", result.nondeterministic.len()));
    if result.failures.is_empty() {
        s.push_str("**PASS**\n");
    } else {
        s.push_str("**FAIL**\n\n");
        for f in &result.failures {
            s.push_str(&format!("- {f}\n"));
        }
    }
    s
}

fn junit(result: &GateResult) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let body = if result.failures.is_empty() { String::new() } else { format!("<failure message=\"{}\"/>", esc(&result.failures.join("; "))) };
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"btfsmith-gate\" tests=\"1\" failures=\"{}\">\n  <testcase classname=\"btfsmith\" name=\"gate\">{body}</testcase>\n</testsuite>\n", usize::from(!result.failures.is_empty()))
}
