//! Campaigns: generate → compile matrix → encode with every configuration → oracles → findings.
//!
//! The output directory is the campaign's whole state:
//! ```text
//! OUT/campaign.json     what is being run (refuses to resume a different campaign)
//! OUT/progress.jsonl    one line per finished program, appended after its findings are on disk
//! OUT/findings/         one directory per distinct finding signature
//! OUT/report.md|json, OUT/junit.xml
//! ```
//! `kill -9` at any point and the same command with the same `--out` continues: finished programs
//! are skipped, a program in flight is redone, and findings are deduplicated by signature.

use crate::config::Matrix;
use crate::finding::{CaseFiles, FindingStore};
use crate::names::EncoderName;
use crate::oracle::{self, CaseRun, Oracle, Verdict, VerdictKind};
use crate::pipeline;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a campaign runs; stored as `campaign.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CampaignSpec {
    /// First seed; program `i` uses seed `seed + i`.
    pub seed: u64,
    /// Generator policy name.
    pub policy: String,
    /// This machine's shard: (k, n) runs the programs with `i % n == k`.
    pub shard: (u64, u64),
    /// Resolved compilers and encoders.
    pub matrix: Matrix,
    /// Whether the kernel-load oracle runs.
    pub kernel_load: bool,
    /// Generator version (a program is a function of seed, policy and this).
    pub generator_version: String,
}

/// When a campaign stops.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// After this many programs (in this shard).
    Count(u64),
    /// After this much wall time (programs in flight finish).
    Time(Duration),
}

/// One finished program, as `progress.jsonl` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgramRecord {
    /// Program index.
    pub index: u64,
    /// Its seed.
    pub seed: u64,
    /// Verdict counts: encoder configuration → kind → count.
    pub counts: BTreeMap<EncoderName, BTreeMap<VerdictKind, u64>>,
    /// Candidate functions for MISSED, per encoder (the denominator of the rate).
    pub candidates: u64,
    /// Builds that failed (compiler errors; not findings).
    pub build_errors: Vec<String>,
    /// Summed wall time of every subprocess (compilers, linkers, encoders), seconds.
    pub tool_seconds: f64,
    /// Wall time of the whole program, seconds.
    pub wall_seconds: f64,
    /// Findings first seen in this program.
    pub new_findings: Vec<String>,
}

/// A case to judge: C sources in a directory.
#[derive(Debug, Clone)]
pub struct CaseInput {
    /// Directory holding the sources.
    pub dir: PathBuf,
    /// Source files in link order.
    pub sources: Vec<PathBuf>,
    /// Seed, for generated programs.
    pub seed: Option<u64>,
    /// Policy, for generated programs.
    pub policy: Option<String>,
}

/// What judging one case produced.
#[derive(Debug, Default)]
pub struct CaseOutcome {
    /// Every verdict, all compilers and encoders.
    pub verdicts: Vec<Verdict>,
    /// Build failures.
    pub build_errors: Vec<String>,
    /// MISSED denominators summed over builds.
    pub candidates: u64,
    /// Summed subprocess time.
    pub tool_time: Duration,
    /// Findings written for the first time.
    pub new_findings: Vec<PathBuf>,
}

/// Builds `case` with every compiler, encodes with every encoder, runs the oracles, records
/// findings. `work` is scratch space (emptied per compiler).
pub fn judge_case(case: &CaseInput, matrix: &Matrix, oracles: &[Box<dyn Oracle>], store: &FindingStore, work: &Path) -> Result<CaseOutcome> {
    let mut out = CaseOutcome::default();
    for compiler in &matrix.compilers {
        let dir = work.join(crate::finding::slug(&compiler.name));
        let _ = std::fs::remove_dir_all(&dir);
        let build = match pipeline::build(&case.sources, compiler, &dir) {
            Ok(b) => b,
            Err(e) => {
                out.build_errors.push(format!("{}: {e}", compiler.name));
                continue;
            }
        };
        out.tool_time += build.procs.iter().map(|p| p.elapsed).sum::<Duration>();
        let encodings: Vec<pipeline::Encoding> = matrix
            .encoders
            .iter()
            .filter_map(|e| pipeline::encode_build(e, &build, &dir.join(format!("{}.btf", crate::finding::slug(&e.config.name)))))
            .collect();
        out.tool_time += encodings.iter().map(|e| e.proc.elapsed).sum::<Duration>();
        out.candidates += ((crate::rules::safely_encodable(&build.facts).len() + crate::rules::clone_only_describable(&build.facts).len()) * encodings.len()) as u64;
        let run = CaseRun::new(&build, &encodings);
        // The machine code, disassembled once per build and only when a finding needs it.
        let mut disassembly: Option<Option<crate::confirm::Disassembly>> = None;
        for o in oracles {
            for v in o.check(&run) {
                if v.kind.is_finding() {
                    // The judged encoding; a differential verdict needs every configuration (the
                    // consensus is made of all of them), the judged one last.
                    let mut involved: Vec<&pipeline::Encoding> = Vec::new();
                    if o.compares_configurations() {
                        involved.extend(encodings.iter().filter(|e| e.btf.is_ok() && e.encoder.config.name != v.encoder));
                    }
                    if let Some(e) = encodings.iter().find(|e| e.encoder.config.name == v.encoder) {
                        involved.push(e);
                    }
                    let files = CaseFiles { dir: &case.dir, sources: &case.sources, seed: case.seed, policy: case.policy.as_deref() };
                    if let Some(path) = store.record(&v, &files, &build, &involved)? {
                        // A second route for register-level verdicts: what the instructions say.
                        if let (Some(function), true) = (v.function.as_deref(), matches!(v.kind, VerdictKind::UnsafeOptimized | VerdictKind::WrongProto | VerdictKind::Ambiguous)) {
                            let dis = disassembly.get_or_insert_with(|| crate::confirm::Disassembly::of(&build.binary));
                            let c = match dis {
                                Some(d) => crate::confirm::confirm(d, &build.facts, function, &v.evidence),
                                None => crate::confirm::Confirmation { status: crate::confirm::Status::Unconfirmable, how: "objdump could not disassemble the binary".into() },
                            };
                            std::fs::write(path.join("confirmation.json"), serde_json::to_string_pretty(&c)?)?;
                        }
                        out.new_findings.push(path);
                    }
                }
                out.verdicts.push(v);
            }
        }
    }
    Ok(out)
}

/// Live counters for the progress bar and the final report.
#[derive(Debug, Default)]
struct Tally {
    by_kind: BTreeMap<VerdictKind, u64>,
}

/// Runs a campaign into `out_dir`: its programs' records, verdicts and findings (the caller
/// writes the reports from that directory: the report reads campaigns, never the other way).
/// Returns the number of distinct findings.
pub fn run(spec: &CampaignSpec, budget: Budget, jobs: usize, out_dir: &Path, quiet: bool) -> Result<usize> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let spec_path = out_dir.join("campaign.json");
    if spec_path.exists() {
        let old: CampaignSpec = serde_json::from_str(&std::fs::read_to_string(&spec_path)?).with_context(|| format!("parsing {}", spec_path.display()))?;
        if &old != spec {
            bail!("{} holds a different campaign (seed, policy, shard, toolchains or encoders differ): use another --out", out_dir.display());
        }
    } else {
        let tmp = out_dir.join("campaign.json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(spec)?)?;
        std::fs::rename(&tmp, &spec_path)?;
    }
    let progress_path = out_dir.join("progress.jsonl");
    let done: HashSet<u64> = read_progress(&progress_path)?.into_iter().map(|r| r.index).collect();
    let store = FindingStore::open(&out_dir.join("findings"))?;
    let oracles = oracle::standard(spec.kernel_load);
    let policy = generators::Policy::by_name(&spec.policy).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).read(true).open(&progress_path)?;
    // A kill mid-write leaves a torn last line; end it so the next record starts clean.
    let text = std::fs::read(&progress_path)?;
    if text.last().is_some_and(|&b| b != b'\n') {
        file.write_all(b"\n")?;
    }
    let progress_file = Mutex::new(file);

    let (k, n) = spec.shard;
    let limit = match budget {
        Budget::Count(c) => Some(c),
        Budget::Time(_) => None,
    };
    let deadline = match budget {
        Budget::Time(d) => Some(Instant::now() + d),
        Budget::Count(_) => None,
    };
    // Program slots of this shard: k, k+n, k+2n, ...; `next` counts slots handed out.
    let next = AtomicU64::new(0);
    let finished = AtomicU64::new(done.len() as u64);
    let tally = Mutex::new(Tally::default());
    let bar = if quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(limit.unwrap_or(0)) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} {bar:30} {pos} programs ({per_sec}) {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_position(done.len() as u64);
    let errors: Mutex<Vec<anyhow::Error>> = Mutex::new(Vec::new());
    let work_root = out_dir.join("work");

    std::thread::scope(|scope| {
        for worker in 0..jobs.max(1) {
            let (store, oracles, policy, progress_file, next, finished, tally, bar, errors, done) = (&store, &oracles, &policy, &progress_file, &next, &finished, &tally, &bar, &errors, &done);
            let work = work_root.join(format!("w{worker}"));
            scope.spawn(move || loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let slot = next.fetch_add(1, Ordering::SeqCst);
                if limit.is_some_and(|l| slot >= l) {
                    break;
                }
                let index = k + slot * n;
                if done.contains(&index) {
                    continue;
                }
                let seed = spec.seed.wrapping_add(index);
                match run_program(index, seed, policy, &spec.policy, &spec.matrix, oracles, store, &work) {
                    Ok(record) => {
                        {
                            let mut t = tally.lock().expect("tally");
                            for (kind, c) in record.counts.values().flatten() {
                                *t.by_kind.entry(*kind).or_default() += c;
                            }
                            let msg: Vec<String> = t.by_kind.iter().map(|(k, c)| format!("{k}={c}")).collect();
                            bar.set_message(format!("findings={} {}", store.len(), msg.join(" ")));
                        }
                        let line = serde_json::to_string(&record).expect("serializable");
                        let mut f = progress_file.lock().expect("progress file");
                        if let Err(e) = writeln!(f, "{line}").and_then(|()| f.flush()) {
                            errors.lock().expect("errors").push(anyhow::Error::from(e).context("writing progress"));
                            break;
                        }
                        finished.fetch_add(1, Ordering::SeqCst);
                        bar.inc(1);
                    }
                    Err(e) => {
                        errors.lock().expect("errors").push(e.context(format!("program {index} (seed {seed})")));
                        break;
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    let _ = std::fs::remove_dir_all(&work_root);
    if let Some(e) = errors.into_inner().expect("errors").into_iter().next() {
        return Err(e);
    }
    Ok(store.len())
}

#[allow(clippy::too_many_arguments)]
fn run_program(index: u64, seed: u64, policy: &generators::Policy, policy_name: &str, matrix: &Matrix, oracles: &[Box<dyn Oracle>], store: &FindingStore, work: &Path) -> Result<ProgramRecord> {
    let start = Instant::now();
    let src = work.join("src");
    let _ = std::fs::remove_dir_all(work);
    let program = generators::generate(seed, policy).map_err(|e| anyhow::anyhow!("generating seed {seed}: {e}"))?;
    let truth = generators::write_program(&program, generators::Flavour::User, &src).map_err(|e| anyhow::anyhow!("writing seed {seed}: {e}"))?;
    let case = CaseInput {
        sources: truth.units.iter().map(|u| src.join(u)).collect(),
        dir: src.clone(),
        seed: Some(seed),
        policy: Some(policy_name.to_string()),
    };
    let outcome = judge_case(&case, matrix, oracles, store, &work.join("build"))?;
    Ok(ProgramRecord {
        index,
        seed,
        counts: count(&outcome.verdicts),
        candidates: outcome.candidates,
        build_errors: outcome.build_errors,
        tool_seconds: outcome.tool_time.as_secs_f64(),
        wall_seconds: start.elapsed().as_secs_f64(),
        new_findings: outcome.new_findings.iter().map(|p| p.display().to_string()).collect(),
    })
}

/// Verdict counts per encoder and kind.
pub fn count(verdicts: &[Verdict]) -> BTreeMap<EncoderName, BTreeMap<VerdictKind, u64>> {
    let mut m: BTreeMap<EncoderName, BTreeMap<VerdictKind, u64>> = BTreeMap::new();
    for v in verdicts {
        *m.entry(v.encoder.clone()).or_default().entry(v.kind).or_default() += 1;
    }
    m
}

/// Reads `progress.jsonl`; a torn last line (a kill mid-write) is ignored, the program redone.
pub fn read_progress(path: &Path) -> Result<Vec<ProgramRecord>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_records_read_back_with_typed_keys() {
        let text = r#"{"index":0,"seed":1,"counts":{"btfenc":{"MISSED":2},"pahole-1.24/kernel-6.1":{"AMBIGUOUS":1,"MISSED":3}},"candidates":5,"build_errors":[],"tool_seconds":1.0,"wall_seconds":2.0,"new_findings":[]}"#;
        let r: ProgramRecord = serde_json::from_str(text).unwrap();
        assert_eq!(r.counts["btfenc"][&VerdictKind::Missed], 2);
        assert_eq!(r.counts["pahole-1.24/kernel-6.1"][&VerdictKind::Ambiguous], 1);
        assert_eq!(r.counts["pahole-1.24/kernel-6.1"][&VerdictKind::Missed], 3);
        let again: ProgramRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(again.counts, r.counts);
        // A kind that does not exist, or a configuration name with `|`, is refused (the program
        // is then redone on resume: `read_progress` skips unreadable lines).
        assert!(serde_json::from_str::<ProgramRecord>(&text.replace("\"MISSED\":2", "\"NOT_A_KIND\":2")).is_err());
        assert!(serde_json::from_str::<ProgramRecord>(&text.replace("\"btfenc\"", "\"btfenc|MISSED\"")).is_err());
        // The flat `encoder|KIND` form of campaigns before the typed keys is no longer read.
        let flat = r#"{"index":0,"seed":1,"counts":{"btfenc|MISSED":2},"candidates":5,"build_errors":[],"tool_seconds":1.0,"wall_seconds":2.0,"new_findings":[]}"#;
        assert!(serde_json::from_str::<ProgramRecord>(flat).is_err());
    }
}
