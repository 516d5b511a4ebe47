//! The runtime oracle: every FUNC an encoder emitted for a kernel module, attached for real.
//!
//! For each module ([`Case`]) and encoder configuration, [`kbuild::encode`] embeds split BTF
//! into a copy of the `.ko` (as kbuild's `cmd_btf_ko` does), and one qemu boot of the Debian 6.12
//! kernel (TCG) runs them all: the guest agent (`guest/`, static Rust + libbpf-rs) loads each
//! module, attaches a generic fentry probe by BTF id to each FUNC, fires the module's trigger
//! (`/sys/kernel/debug/btfsmith/trigger`) and reports every hit ([`guest`]). [`judge`] turns that
//! into one [`judge::Kind`] per FUNC: SAFE, WRONG_FUNCTION, WRONG_ARGS, UNATTACHABLE, plus
//! LOAD_REJECTED per module and MISSED per function without a FUNC.
//!
//! ```no_run
//! use harness::vm::{self, Case, Expected, Runner};
//! # fn main() -> anyhow::Result<()> {
//! let env = vm::guest::GuestEnv::discover()?;           // kernel, qemu, busybox, agent
//! let case = Case::load("dupmod", "dupmod.ko".as_ref(), Expected::default())?;
//! let matrix = harness::config::Matrix::resolve(&harness::config::Config::builtin(),
//!     &harness::toolchains::Toolchains::load()?, &["pahole-1.24".into()], &[])?;
//! let report = Runner::new(env, "vm-out".into()).run(&[case], &matrix.encoders)?;
//! for v in &report.verdicts { println!("{} {} {:?}", v.kind, v.config, v.function); }
//! # Ok(()) }
//! ```

pub mod batch;
pub mod guest;
pub mod initramfs;
pub mod judge;
pub mod kbuild;

use crate::config::EncoderSetup;
use crate::dwarf::Facts;
use anyhow::{Context, Result};
use btf::Btf;
use guest::{GuestEnv, GuestJob, JobReport};
use judge::{Kind, Verdict};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One call the trigger makes, as the ground truth records it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExpectedCall {
    /// Callee name.
    pub name: String,
    /// Callee's file (`tu0.c`).
    pub tu: String,
    /// Argument values.
    pub args: Vec<generators::model::Value>,
}

/// What the trigger does, to compare the tracer's readings with.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Expected {
    /// Calls the trigger makes directly.
    pub calls: Vec<ExpectedCall>,
    /// (name, file) of functions also called from other functions, with other values.
    pub internal: BTreeSet<(String, String)>,
}

impl Expected {
    /// From a generated program's ground truth.
    pub fn from_truth(t: &generators::truth::GroundTruth) -> Expected {
        Expected {
            calls: t.calls.iter().map(|c| ExpectedCall { name: c.name.clone(), tu: c.tu.clone(), args: c.args.clone() }).collect(),
            internal: t.functions.iter().filter(|f| f.called_internally).map(|f| (f.name.clone(), f.tu.clone())).collect(),
        }
    }
}

/// A built module (no BTF yet) and what is known about it.
#[derive(Debug, Clone)]
pub struct Case {
    /// Label in reports (`seed-7`).
    pub label: String,
    /// Module name.
    pub module: String,
    /// The `.ko` with DWARF, without BTF.
    pub ko: PathBuf,
    /// Its DWARF truth.
    pub facts: Facts,
    /// Section name → index in `ko`.
    pub sections: Vec<(String, usize)>,
    /// `__mcount_loc` sites (section-tagged).
    pub traceable: Vec<u64>,
    /// The trigger's calls.
    pub expected: Expected,
}

impl Case {
    /// Reads the facts of a built module.
    pub fn load(module: &str, ko: &Path, expected: Expected) -> Result<Case> {
        Ok(Case {
            label: module.to_string(),
            module: module.to_string(),
            ko: ko.to_path_buf(),
            facts: kbuild::facts(ko)?,
            sections: kbuild::section_indices(ko)?,
            traceable: kbuild::traceable_sites(ko)?,
            expected,
        })
    }
}

/// Timing of a run, for benchmarks.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Timings {
    /// Encoding every (module, configuration) pair.
    pub encode: Duration,
    /// qemu wall time, all boots.
    pub boot: Duration,
    /// Agent time inside the guest, all boots.
    pub agent: Duration,
    /// Number of boots.
    pub boots: usize,
    /// Module loads the agent did.
    pub jobs: usize,
    /// FUNCs attached or tried.
    pub funcs: usize,
}

/// The result of a runtime run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every verdict.
    pub verdicts: Vec<Verdict>,
    /// Timings.
    pub timings: Timings,
    /// Console logs of boots that crashed or hung.
    pub crash_logs: Vec<PathBuf>,
}

impl Report {
    /// Verdict counts per configuration.
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<Kind, usize>> {
        let mut out: BTreeMap<String, BTreeMap<Kind, usize>> = BTreeMap::new();
        for v in &self.verdicts {
            *out.entry(v.config.clone()).or_default().entry(v.kind).or_default() += 1;
        }
        out
    }

    /// A Markdown table of verdict counts per configuration (configurations in `order`).
    pub fn table(&self, order: &[String]) -> String {
        let counts = self.counts();
        let kinds: Vec<Kind> = Kind::ALL.iter().copied().filter(|k| counts.values().any(|m| m.contains_key(k))).collect();
        let mut s = String::from("| configuration |");
        for k in &kinds {
            s.push_str(&format!(" {k} |"));
        }
        s.push_str("\n|---|");
        s.push_str(&"---|".repeat(kinds.len()));
        s.push('\n');
        for cfg in order {
            let m = counts.get(cfg).cloned().unwrap_or_default();
            s.push_str(&format!("| {cfg} |"));
            for k in &kinds {
                s.push_str(&format!(" {} |", m.get(k).copied().unwrap_or(0)));
            }
            s.push('\n');
        }
        s
    }
}

/// Runs cases through encoders and the guest.
#[derive(Debug, Clone)]
pub struct Runner {
    /// Kernel, qemu, busybox, agent.
    pub env: GuestEnv,
    /// Where encoded modules, initramfs images and console logs go.
    pub work: PathBuf,
    /// Parallel encoder runs (default: available cores).
    pub jobs: usize,
    /// Boot timeout: this much plus [`Runner::per_job`] per module load.
    pub base_timeout: Duration,
    /// Extra boot timeout per module load.
    pub per_job: Duration,
    /// Boots allowed after a crash (the crashed module is skipped, the rest re-run).
    pub max_boots: usize,
}

impl Runner {
    /// A runner with defaults: all cores, 60 s + 15 s per module load, up to 4 boots.
    pub fn new(env: GuestEnv, work: PathBuf) -> Runner {
        Runner {
            env,
            work,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            base_timeout: Duration::from_secs(60),
            per_job: Duration::from_secs(15),
            max_boots: 4,
        }
    }

    /// Encodes every case with every encoder, runs them all in the guest, and judges.
    pub fn run(&self, cases: &[Case], encoders: &[EncoderSetup]) -> Result<Report> {
        let mut report = Report::default();
        let base = Arc::new(
            Btf::parse_file_bytes(&std::fs::read(&self.env.kernel.vmlinux_btf).with_context(|| format!("reading {}", self.env.kernel.vmlinux_btf.display()))?, None)
                .context("parsing the kernel's base BTF")?,
        );
        // 1. Encode.
        let t0 = Instant::now();
        let pairs: Vec<(usize, usize)> = (0..cases.len()).flat_map(|c| (0..encoders.len()).map(move |e| (c, e))).collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(self.jobs.max(1)).build().context("thread pool")?;
        let encoded: Vec<Result<kbuild::Encoded, kbuild::EncodeError>> = pool.install(|| {
            pairs
                .par_iter()
                .map(|&(c, e)| {
                    let dir = self.work.join("encoded").join(slug(&encoders[e].config.name)).join(&cases[c].label);
                    kbuild::encode(&encoders[e], &cases[c].ko, &dir, &self.env.kernel, &base)
                })
                .collect()
        });
        report.timings.encode = t0.elapsed();

        // 2. Jobs for the guest.
        let mut jobs: Vec<GuestJob> = Vec::new();
        let mut job_of: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (&(c, e), enc) in pairs.iter().zip(&encoded) {
            let cfg = &encoders[e].config.name;
            match enc {
                Err(err) => report.verdicts.push(Verdict {
                    case: cases[c].label.clone(),
                    config: cfg.clone(),
                    function: None,
                    btf_id: None,
                    kind: Kind::EncoderFailed,
                    detail: format!("{}\n$ {}", err.detail, err.cmdline),
                }),
                Ok(enc) => {
                    let id = format!("{c}.{e}");
                    let funcs: Vec<(u32, String)> = enc.funcs.iter().filter(|(_, n)| !cases[c].init_exit_only(n)).cloned().collect();
                    report.timings.funcs += funcs.len();
                    jobs.push(GuestJob { id: id.clone(), ko: enc.guest_ko.clone(), module: cases[c].module.clone(), funcs });
                    job_of.insert(id, (c, e));
                }
            }
        }

        // 3. Boot until every job ran (a crash costs the module that crashed, not the rest).
        let mut reports: BTreeMap<String, JobReport> = BTreeMap::new();
        let mut remaining = jobs.clone();
        let mut boots = 0;
        while !remaining.is_empty() && boots < self.max_boots {
            boots += 1;
            let dir = self.work.join(format!("boot-{boots}"));
            let timeout = self.base_timeout + self.per_job * remaining.len() as u32;
            let boot = guest::boot(&self.env, &remaining, &dir, timeout)?;
            report.timings.boot += boot.elapsed;
            report.timings.agent += Duration::from_millis(boot.agent_ms.unwrap_or(0));
            report.timings.boots += 1;
            if let Some(f) = &boot.fatal {
                anyhow::bail!("the guest agent could not start: {f}; console log: {}", boot.console.display());
            }
            let started: BTreeSet<String> = boot.jobs.iter().map(|j| j.job.clone()).collect();
            let mut crashed = None;
            for j in boot.jobs.clone() {
                if j.finished || boot.done {
                    reports.insert(j.job.clone(), j);
                } else {
                    crashed = Some(j);
                }
            }
            report.timings.jobs += started.len();
            if boot.done {
                remaining.clear();
                break;
            }
            // The guest died or hung: blame the job that was running (or the first one, if none
            // had started), keep the log, and go on with the jobs that never started.
            let why = if boot.timed_out { "hung (boot timeout)" } else { "crashed" };
            let tail = boot.console_tail(40);
            let blamed = crashed.as_ref().map(|j| j.job.clone()).or_else(|| remaining.first().map(|j| j.id.clone()));
            let crash_log = dir.join("console.log");
            report.crash_logs.push(crash_log.clone());
            if let Some(b) = &blamed {
                if let Some(&(c, e)) = job_of.get(b) {
                    report.verdicts.push(Verdict {
                        case: cases[c].label.clone(),
                        config: encoders[e].config.name.clone(),
                        function: None,
                        btf_id: None,
                        kind: Kind::GuestCrash,
                        detail: format!("the guest {why} while this module was loaded; console log: {}\n{tail}", crash_log.display()),
                    });
                }
            }
            remaining.retain(|j| !started.contains(&j.id) && Some(&j.id) != blamed.as_ref());
        }
        for j in &remaining {
            if let Some(&(c, e)) = job_of.get(&j.id) {
                report.verdicts.push(Verdict {
                    case: cases[c].label.clone(),
                    config: encoders[e].config.name.clone(),
                    function: None,
                    btf_id: None,
                    kind: Kind::GuestCrash,
                    detail: format!("never ran: the guest crashed {} times", self.max_boots),
                });
            }
        }

        // 4. Judge.
        for (id, &(c, e)) in &job_of {
            let Some(job) = reports.get(id) else { continue };
            let Ok(enc) = &encoded[c * encoders.len() + e] else { continue };
            report.verdicts.extend(judge_job(&cases[c], &encoders[e].config.name, job, &enc.btf));
        }
        Ok(report)
    }
}

/// All verdicts for one module load.
pub fn judge_job(case: &Case, config: &str, job: &JobReport, btf: &Btf) -> Vec<Verdict> {
    let v = |kind, function: Option<String>, btf_id, detail| Verdict { case: case.label.clone(), config: config.to_string(), function, btf_id, kind, detail };
    if let Some(e) = &job.insmod {
        return vec![v(Kind::LoadRejected, None, None, format!("insmod: {e}\n{}", job.kmsg.join("\n")))];
    }
    if !job.btf {
        return vec![v(Kind::LoadRejected, None, None, format!("the module loaded without BTF (/sys/kernel/btf/{} missing): the kernel refused it\n{}", case.module, job.kmsg.join("\n")))];
    }
    let mut out = Vec::new();
    for r in &job.results {
        let (kind, detail) = judge::judge_func(case, job, btf, r);
        out.push(v(kind, Some(r.name.clone()), Some(r.id), detail));
    }
    for (name, detail) in judge::missed(case, btf) {
        out.push(v(Kind::Missed, Some(name), None, detail));
    }
    out
}

/// A configuration name as a directory name.
pub fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}
