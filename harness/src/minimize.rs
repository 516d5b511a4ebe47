//! `btfsmith minimize`: shrink a finding to the smallest program that still shows it.
//!
//! Program-model level first. A generated program is a function of the choices the generator
//! made; the seed's choices are recorded in order and shrunk — runs deleted, single choices
//! zeroed or halved — and every list still yields a *valid* program, because the generator
//! builds programs valid by construction from any choices and orders each choice simplest first. A candidate is kept when the same compiler and encoder(s) still give a verdict with the
//! same signature. Then, optionally, C-Vise reduces the C text through an interestingness script
//! that calls `btfsmith interesting`.

use crate::campaign::{judge_case, CaseInput};
use crate::config::Matrix;
use crate::finding::{read_record, FindingRecord, FindingStore};
use crate::oracle::{self, Verdict};
use crate::process;
use anyhow::{bail, Context, Result};
use generators::choice::{Choices, SeededChoices};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Records a seeded generator's choices in the order it makes them.
#[derive(Debug)]
struct Recorder {
    inner: SeededChoices,
    data: Vec<u32>,
}

impl Choices for Recorder {
    fn below(&mut self, n: u64) -> u64 {
        let v = self.inner.below(n);
        self.data.push(v as u32);
        v
    }
}

/// Replays recorded choices in order (0 once they run out). Unlike the generators' own
/// [`generators::choice::StreamChoices`] it ignores recipe-group windows, so any seed's
/// recording replays exactly; every list of numbers still yields a valid program.
#[derive(Debug)]
struct Replay {
    data: Vec<u32>,
    pos: usize,
}

impl Choices for Replay {
    fn below(&mut self, n: u64) -> u64 {
        let v = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        if n <= 1 {
            0
        } else {
            u64::from(v) % n
        }
    }
}

/// The program a choice list yields.
pub fn program_of(choices: &[u32], policy: &generators::Policy) -> Option<generators::Program> {
    generators::generate_from(&mut Replay { data: choices.to_vec(), pos: 0 }, policy).ok()
}

/// The choices behind `seed`'s program, checked to regenerate it.
pub fn stream_of_seed(seed: u64, policy: &generators::Policy) -> Option<Vec<u32>> {
    let mut rec = Recorder { inner: SeededChoices::new(seed), data: Vec::new() };
    let mut original = generators::generate_from(&mut rec, policy).ok()?;
    let mut replayed = program_of(&rec.data, policy)?;
    original.seed = None;
    replayed.seed = None;
    (original == replayed).then_some(rec.data)
}

/// Size figures of a program's C text.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Size {
    /// Non-empty lines in all `.c` files.
    pub lines: usize,
    /// Function definitions in the DWARF of the build (out-of-line instances), not counting the
    /// scaffolding every program has: `main` and the generator's per-unit drivers `bs_run_*`.
    pub functions: usize,
    /// Translation units.
    pub units: usize,
}

fn c_lines(sources: &[PathBuf]) -> usize {
    sources.iter().filter_map(|s| std::fs::read_to_string(s).ok()).map(|t| t.lines().filter(|l| !l.trim().is_empty()).count()).sum()
}

/// What minimizing produced.
#[derive(Debug, serde::Serialize)]
pub struct Minimized {
    /// The finding's signature.
    pub signature: String,
    /// Before.
    pub before: Size,
    /// After.
    pub after: Size,
    /// Candidates tried.
    pub steps: usize,
    /// Wall time.
    pub seconds: f64,
    /// The minimized reproducer directory.
    pub finding_dir: PathBuf,
    /// A ready corpus entry.
    pub corpus_entry: PathBuf,
}

/// Judges C sources with a finding's compiler and encoders; returns the verdicts. A runtime
/// finding's sources are built as a module and judged in the guest (one boot per candidate).
fn judge(rec: &FindingRecord, dir: &Path, sources: Vec<PathBuf>, store: &FindingStore, work: &Path) -> Result<(Vec<Verdict>, usize)> {
    if rec.module.is_some() {
        let matrix = Matrix { compilers: Vec::new(), encoders: rec.encoders.clone() };
        let _ = std::fs::remove_dir_all(work);
        let verdicts = match crate::check::check_runtime(crate::check::RuntimeInput::Sources(&sources), &matrix, work) {
            Ok(v) => v,
            // A candidate that does not build shows nothing.
            Err(e) if e.downcast_ref::<crate::check::ModuleBuildFailed>().is_some() => return Ok((Vec::new(), 0)),
            Err(e) => return Err(e),
        };
        let ko = work.join("case/build").join(format!("{}.ko", crate::check::CHECK_MODULE));
        let functions = facts::dwarf::read_file(&ko).map(|f| f.functions.iter().filter(|f| !f.name.starts_with("bs_")).count()).unwrap_or(0);
        return Ok((verdicts, functions));
    }
    let matrix = Matrix { compilers: vec![rec.compiler.clone()], encoders: rec.encoders.clone() };
    let kernel_load = rec.verdict.oracle == "kernel-load";
    let case = CaseInput { dir: dir.to_path_buf(), sources, seed: rec.seed, policy: rec.policy.clone() };
    let outcome = judge_case(&case, &matrix, &oracle::standard(kernel_load), store, work)?;
    let functions = facts::dwarf::read_file(&work.join(crate::finding::slug(&rec.compiler.name)).join("prog")).map(|f| f.functions.iter().filter(|f| f.name != "main" && !f.name.starts_with("bs_run_")).count()).unwrap_or(0);
    Ok((outcome.verdicts, functions))
}

/// Copies the files of a candidate directory (sources and headers, not the judge's work
/// directories) into `to`, leaving out `except`.
fn copy_files_except(from: &Path, to: &Path, except: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        if path.is_file() && path != except {
            std::fs::copy(&path, to.join(path.file_name().unwrap_or_default()))?;
        }
    }
    Ok(())
}

fn reproduces(rec: &FindingRecord, verdicts: &[Verdict]) -> bool {
    verdicts.iter().any(|v| v.signature() == rec.signature)
}

/// Minimizes the finding in `dir` into `out`. `budget` bounds the model-level search.
pub fn minimize(dir: &Path, out: &Path, budget: Duration, use_cvise: bool, quiet: bool) -> Result<Minimized> {
    let start = Instant::now();
    let rec = read_record(dir)?;
    std::fs::create_dir_all(out)?;
    let scratch = tempfile::tempdir()?;
    let store = FindingStore::open(&scratch.path().join("findings"))?;
    let src_dir = dir.join("src");
    let original: Vec<PathBuf> = rec.sources.iter().map(|s| src_dir.join(s)).collect();
    let (verdicts, functions) = judge(&rec, &src_dir, original.clone(), &store, &scratch.path().join("w0"))?;
    if !reproduces(&rec, &verdicts) {
        bail!("{} does not reproduce here; nothing to minimize", dir.display());
    }
    let before = Size { lines: c_lines(&original), functions, units: original.len() };
    let bar = if quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new_spinner() };
    let mut steps = 0usize;
    let mut best_dir = src_dir.clone();
    let mut best_sources = original;
    let mut best_size = before;

    // Model level: shrink the seed's choice stream.
    let policy = rec.policy.as_deref().map(generators::Policy::by_name).transpose().map_err(|e| anyhow::anyhow!("{e}"))?;
    if let (Some(seed), Some(policy)) = (rec.seed, policy.as_ref()) {
        let recorded = stream_of_seed(seed, policy);
        if recorded.is_none() {
            eprintln!("btfsmith minimize: seed {seed}'s choices do not replay; text level only");
        }
        if let Some(mut stream) = recorded {
            let try_stream = |candidate: &[u32], steps: &mut usize| -> Result<Option<(PathBuf, Vec<PathBuf>, Size)>> {
                *steps += 1;
                let Some(program) = program_of(candidate, policy) else { return Ok(None) };
                let d = scratch.path().join(format!("c{steps}"));
                let flavour = if rec.module.is_some() { generators::Flavour::Module } else { generators::Flavour::User };
                let truth = generators::write_program(&program, flavour, &d).map_err(|e| anyhow::anyhow!("{e}"))?;
                let sources: Vec<PathBuf> = truth.units.iter().map(|u| d.join(u)).collect();
                let (v, functions) = judge(&rec, &d, sources.clone(), &store, &d.join("work"))?;
                if reproduces(&rec, &v) {
                    let size = Size { lines: c_lines(&sources), functions, units: sources.len() };
                    return Ok(Some((d, sources, size)));
                }
                let _ = std::fs::remove_dir_all(&d);
                Ok(None)
            };
            // Greedy passes that keep going after a success instead of starting over: delete
            // runs of choices (halving run lengths down to 1), then zero, then halve single
            // choices; repeat while a full round still shrinks the program.
            let mut accept = |c: Vec<u32>, stream: &mut Vec<u32>, steps: &mut usize| -> Result<bool> {
                bar.set_message(format!("model level: {steps} candidates, {} lines, {} functions", best_size.lines, best_size.functions));
                bar.tick();
                if let Some((d, sources, size)) = try_stream(&c, steps)? {
                    if (size.functions, size.units, size.lines) < (best_size.functions, best_size.units, best_size.lines) {
                        *stream = c;
                        best_dir = d;
                        best_sources = sources;
                        best_size = size;
                        return Ok(true);
                    }
                }
                Ok(false)
            };
            let mut improved = true;
            while improved && start.elapsed() < budget {
                improved = false;
                let mut k = stream.len() / 2;
                while k >= 1 && start.elapsed() < budget {
                    let mut at = 0;
                    while at + k <= stream.len() && start.elapsed() < budget {
                        let mut c = stream.clone();
                        c.drain(at..at + k);
                        if accept(c, &mut stream, &mut steps)? {
                            improved = true;
                        } else {
                            at += k;
                        }
                    }
                    k /= 2;
                }
                for halve in [false, true] {
                    let mut i = 0;
                    while i < stream.len() && start.elapsed() < budget {
                        if stream[i] > u32::from(halve) {
                            let mut c = stream.clone();
                            c[i] = if halve { c[i] / 2 } else { 0 };
                            improved |= accept(c, &mut stream, &mut steps)?;
                        }
                        i += 1;
                    }
                }
            }
        }
    }

    // The generated driver (`main.c`, which calls every recorded call) is scaffolding: the static
    // oracles judge the functions' DWARF and BTF, and the build links a stub `main` when there is
    // none. Try without it, then with it folded into the last unit; keep whichever still shows
    // the finding with fewer units.
    // A module's main.c is its trigger: it stays.
    if rec.module.is_none() && best_sources.len() > 1 && best_sources.iter().any(|s| s.file_name().is_some_and(|n| n == "main.c")) {
        bar.set_message("driver: dropping main.c");
        let (driver, units): (Vec<PathBuf>, Vec<PathBuf>) = best_sources.iter().cloned().partition(|s| s.file_name().is_some_and(|n| n == "main.c"));
        for fold in [false, true] {
            steps += 1;
            let d = scratch.path().join(format!("driver{}", u8::from(fold)));
            copy_files_except(&best_dir, &d, &driver[0])?;
            let sources: Vec<PathBuf> = units.iter().map(|u| d.join(u.file_name().unwrap_or_default())).collect();
            if fold {
                let Some(last) = sources.last() else { break };
                let mut text = std::fs::read_to_string(last)?;
                text.push_str("\n/* folded in from the generated driver main.c */\n");
                text.push_str(&std::fs::read_to_string(&driver[0])?);
                std::fs::write(last, text)?;
            }
            let (v, functions) = judge(&rec, &d, sources.clone(), &store, &d.join("work"))?;
            if reproduces(&rec, &v) {
                best_size = Size { lines: c_lines(&sources), functions, units: sources.len() };
                best_dir = d;
                best_sources = sources;
                break;
            }
        }
    }

    // Whole units: a unit the finding does not need (another collision group, a helper the
    // driver used) goes; the model level cannot always drop one because recipes place their
    // functions in fixed numbers of units.
    let mut i = 0;
    while best_sources.len() > 1 && i < best_sources.len() {
        if rec.module.is_some() && std::fs::read_to_string(&best_sources[i]).is_ok_and(|t| t.contains("module_init(")) {
            i += 1;
            continue;
        }
        bar.set_message(format!("units: trying without {}", best_sources[i].display()));
        steps += 1;
        let d = scratch.path().join(format!("unit{steps}"));
        copy_files_except(&best_dir, &d, &best_sources[i])?;
        let sources: Vec<PathBuf> = best_sources
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| d.join(s.file_name().unwrap_or_default()))
            .collect();
        let (v, functions) = judge(&rec, &d, sources.clone(), &store, &d.join("work"))?;
        if reproduces(&rec, &v) {
            best_size = Size { lines: c_lines(&sources), functions, units: sources.len() };
            best_dir = d;
            best_sources = sources;
        } else {
            i += 1;
        }
    }

    // Text level: C-Vise through `btfsmith interesting`.
    if use_cvise && rec.module.is_some() {
        eprintln!("btfsmith minimize: --cvise is not run on runtime findings (every candidate boots the guest)");
    }
    if use_cvise && rec.module.is_none() {
        bar.set_message("text level: cvise");
        let reduce = scratch.path().join("cvise");
        std::fs::create_dir_all(&reduce)?;
        let mut files = Vec::new();
        for s in &best_sources {
            let dest = reduce.join(s.file_name().unwrap_or_default());
            std::fs::copy(s, &dest)?;
            files.push(dest);
        }
        std::fs::write(reduce.join("finding.json"), serde_json::to_string(&rec)?)?;
        let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
        let me = std::env::current_exe()?;
        let script = reduce.join("interesting.sh");
        std::fs::write(&script, format!("#!/bin/sh\nexec {} interesting {} {}\n", process::quote(&me.to_string_lossy()), process::quote(&reduce.join("finding.json").to_string_lossy()), names.join(" ")))?;
        crate::finding::set_executable(&script)?;
        let cvise = crate::toolchains::Toolchains::load()?.require_family("cvise")?.path.clone();
        let mut args = vec!["--n".to_string(), "2".into(), "--timeout".into(), "60".into(), script.display().to_string()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let res = process::run(process::command(&cvise, &args, Some(&reduce)), Duration::from_secs(1800))?;
        if !res.success() {
            eprintln!("btfsmith minimize: cvise did not finish cleanly: {}", res.stderr_text().lines().last().unwrap_or(""));
        }
        let (v, functions) = judge(&rec, &reduce, files.clone(), &store, &reduce.join("work"))?;
        if reproduces(&rec, &v) {
            best_size = Size { lines: c_lines(&files), functions, units: files.len() };
            best_dir = reduce.clone();
            best_sources = files;
        }
    }
    bar.finish_and_clear();

    // The minimized reproducer, as a finding directory, and a corpus entry.
    let out_findings = out.join("finding");
    let _ = std::fs::remove_dir_all(&out_findings);
    let store = FindingStore::open(&out_findings)?;
    if rec.module.is_some() {
        // check --runtime writes its findings under its own output directory.
        let fin = out.join("finding-run");
        let _ = std::fs::remove_dir_all(&fin);
        judge(&rec, &best_dir, best_sources.clone(), &store, &fin)?;
        for d in crate::check::finding_dirs(&fin.join("findings")).unwrap_or_default() {
            std::fs::rename(&d, out_findings.join(d.file_name().unwrap_or_default()))?;
        }
        let _ = std::fs::remove_dir_all(&fin);
    } else {
        let case = CaseInput { dir: best_dir.clone(), sources: best_sources.clone(), seed: None, policy: rec.policy.clone() };
        let matrix = Matrix { compilers: vec![rec.compiler.clone()], encoders: rec.encoders.clone() };
        judge_case(&case, &matrix, &oracle::standard(rec.verdict.oracle == "kernel-load"), &store, &scratch.path().join("final"))?;
    }
    let finding_dir = crate::check::finding_dirs(&out_findings)?
        .into_iter()
        .find(|d| read_record(d).is_ok_and(|r| r.signature == rec.signature))
        .context("the minimized program no longer reproduces")?;
    let entry = out.join("corpus-entry");
    let _ = std::fs::remove_dir_all(&entry);
    std::fs::create_dir_all(&entry)?;
    for s in &best_sources {
        std::fs::copy(s, entry.join(s.file_name().unwrap_or_default()))?;
    }
    // The headers the units include (`prog.h`): without them the entry does not compile; a
    // module's ground truth and Kbuild flags: without them its arguments cannot be judged.
    for e in std::fs::read_dir(&best_dir)? {
        let path = e?.path();
        let name = path.file_name().unwrap_or_default();
        if path.is_file() && (path.extension().is_some_and(|x| x == "h") || (rec.module.is_some() && (name == "ground_truth.json" || name == "Kbuild"))) {
            std::fs::copy(&path, entry.join(path.file_name().unwrap_or_default()))?;
        }
    }
    let encoder = rec.encoders.last().map(|e| e.config.name.to_string()).unwrap_or_default();
    // The model level regenerates the program, which renames functions: the entry names the
    // function as the minimized finding does.
    let function = read_record(&finding_dir)?.verdict.function;
    let how = if rec.module.is_some() { "runtime: module".to_string() } else { format!("compilers: {} {}", rec.compiler.tool, rec.compiler.opt) };
    std::fs::write(
        entry.join("CASE"),
        format!(
            "what: minimized {} for {} ({}){}\n{how}\nexpect: {} {} has {}\n",
            rec.verdict.kind,
            encoder,
            rec.verdict.phenomenon,
            rec.seed.map(|s| format!(", from seed {s}")).unwrap_or_default(),
            encoder,
            function.as_deref().unwrap_or("*"),
            rec.verdict.kind
        ),
    )?;
    let result = Minimized { signature: rec.signature.clone(), before, after: best_size, steps, seconds: start.elapsed().as_secs_f64(), finding_dir, corpus_entry: entry };
    std::fs::write(out.join("minimize.json"), serde_json::to_string_pretty(&result)?)?;
    Ok(result)
}

/// `btfsmith interesting FINDING.json FILES...`: exit 0 when the files still show the finding
/// (the interestingness test C-Vise runs).
pub fn interesting(record: &Path, files: &[PathBuf]) -> Result<bool> {
    let rec: FindingRecord = serde_json::from_str(&std::fs::read_to_string(record)?)?;
    let scratch = tempfile::tempdir()?;
    let store = FindingStore::open(&scratch.path().join("findings"))?;
    let dir = files.first().and_then(|f| f.parent()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let Ok((v, _)) = judge(&rec, &dir, files.to_vec(), &store, &scratch.path().join("work")) else { return Ok(false) };
    Ok(reproduces(&rec, &v))
}

#[cfg(test)]
mod tests {
    #[test]
    fn recorded_streams_regenerate_most_seeds() {
        let policy = generators::Policy::mixed();
        let ok = (0..50).filter(|s| super::stream_of_seed(*s, &policy).is_some()).count();
        assert!(ok >= 40, "only {ok}/50 seeds replay from their recorded stream");
    }
}
