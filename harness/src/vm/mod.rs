//! The execution stage of the runtime oracle: every FUNC an encoder emitted for a kernel module,
//! attached for real.
//!
//! For each module ([`Case`]) and encoder configuration, [`kbuild::encode`] embeds split BTF
//! into a copy of the `.ko` (as kbuild's `cmd_btf_ko` does), and one qemu boot of the Debian 6.12
//! kernel (TCG) runs them all: the guest agent (`guest/`, static Rust + libbpf-rs) loads each
//! module, attaches a generic fentry probe (fexit where the return value is judged) by BTF id to
//! each FUNC, fires the module's trigger (`/sys/kernel/debug/btfsmith/trigger`) and reports
//! every hit ([`guest`]). [`Runner::run`] returns that evidence ([`ModuleRun`] per module) and
//! judges nothing: the runtime oracle ([`crate::oracle::runtime::Runtime`]) judges it like any
//! other oracle, and [`crate::vm_campaign`] strings the stages together (run, judge, keep the
//! findings). Nothing here calls a later stage.
//!
//! ```no_run
//! use harness::vm::{self, Case, Expected, Runner};
//! # fn main() -> anyhow::Result<()> {
//! let env = vm::guest::GuestEnv::discover()?;           // kernel, qemu, busybox, agent
//! let case = Case::load("dupmod", "dupmod.ko".as_ref(), Expected::default())?;
//! let matrix = harness::config::Matrix::resolve(&harness::config::Config::builtin(),
//!     &harness::toolchains::Toolchains::load()?, &["pahole-1.24".into()], &[])?;
//! let runner = Runner::new(env, "vm-out".into());
//! let report = harness::vm_campaign::run_judged(&runner, &[case], &matrix.encoders)?;
//! for v in &report.verdicts { println!("{} {} {:?}", v.kind, v.encoder, v.function); }
//! # Ok(()) }
//! ```

pub mod bootimage;
pub mod guest;
pub mod initramfs;
pub mod kbuild;

use crate::config::{CompilerSetup, EncoderSetup};
use facts::dwarf::Facts;
use anyhow::{Context, Result};
use btf::Btf;
use guest::{GuestEnv, GuestJob, JobReport};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A parameter of a called function, as the source declares it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExpectedParam {
    /// Name (how a clone's FUNC, which keeps only some parameters, is matched up).
    pub name: String,
    /// C type text.
    pub c_type: String,
    /// Size in bytes.
    pub size: u64,
}

/// One call the trigger makes, as the ground truth records it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExpectedCall {
    /// Callee name.
    pub name: String,
    /// Callee's file (`tu0.c`).
    pub tu: String,
    /// The callee's parameters (may be empty: then arguments are matched by position only).
    pub params: Vec<ExpectedParam>,
    /// Argument values, as the callee receives them (converted to the parameter types).
    pub args: Vec<generators::model::Value>,
}

impl ExpectedCall {
    /// A call with integer arguments, matched by position.
    pub fn ints(name: &str, tu: &str, args: &[i128]) -> ExpectedCall {
        ExpectedCall { name: name.into(), tu: tu.into(), params: Vec::new(), args: args.iter().map(|&v| generators::model::Value::Int(v)).collect() }
    }
}

/// What the trigger does, to compare the tracer's readings with.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Expected {
    /// Calls the trigger makes directly.
    pub calls: Vec<ExpectedCall>,
    /// (name, file) of functions also called from other functions, with other values.
    pub internal: BTreeSet<(String, String)>,
    /// Functions that log every value they return (a generated module's `returns` file):
    /// (name, file, the id their log lines carry).
    #[serde(default)]
    pub logged_returns: Vec<(String, String, usize)>,
}

impl Expected {
    /// The id under which the function `name` of file `tu` logs its returns, if it does.
    pub fn return_log_id(&self, name: &str, tu: &str) -> Option<usize> {
        self.logged_returns.iter().find(|(n, t, _)| n == name && t == tu).map(|&(_, _, id)| id)
    }

    /// Whether a FUNC called `func` may stand for a function that logs its returns: the FUNC
    /// of a clone (`f.isra.0`) stands for `f`'s body.
    pub fn may_log_returns(&self, func: &str) -> bool {
        let base = func.split('.').next().unwrap_or(func);
        self.logged_returns.iter().any(|(n, _, _)| n == base)
    }
}

/// `v` converted to a parameter of C type `c_type` (`size` bytes), as the callee receives it:
/// `_Bool` is 0 or 1, integers wrap to their width. Types it does not know stay as they are.
pub fn convert(v: &generators::model::Value, c_type: &str, size: u64) -> generators::model::Value {
    use generators::model::Value;
    let Value::Int(i) = v else { return v.clone() };
    let t = c_type.trim();
    if t.contains('*') || t.contains("float") || t.contains("double") || t.starts_with("struct") || t.starts_with("union") {
        return v.clone();
    }
    if t == "_Bool" || t == "bool" {
        return Value::Int(i128::from(*i != 0));
    }
    let integer = ["char", "short", "int", "long", "enum"].iter().any(|k| t.contains(k));
    if !integer || size == 0 || size > 8 {
        return v.clone();
    }
    let bits = size * 8;
    let m = 1i128 << bits;
    let w = i.rem_euclid(m);
    let unsigned = t.starts_with("unsigned") || t.contains(" unsigned");
    Value::Int(if !unsigned && w >= m / 2 { w - m } else { w })
}

impl Expected {
    /// From a generated program's ground truth (module flavour): every recorded call, plus the
    /// trigger's own `write` handler (the agent writes one byte).
    pub fn from_truth(t: &generators::truth::GroundTruth) -> Expected {
        use generators::model::Value;
        let mut calls: Vec<ExpectedCall> = t
            .calls
            .iter()
            .map(|c| {
                let params: Vec<ExpectedParam> = t
                    .functions
                    .get(c.function)
                    .map(|f| f.params.iter().map(|p| ExpectedParam { name: p.name.clone(), c_type: p.c_type.clone(), size: p.size }).collect())
                    .unwrap_or_default();
                let args = c.args.iter().enumerate().map(|(i, a)| params.get(i).map_or_else(|| a.clone(), |p| convert(a, &p.c_type, p.size))).collect();
                ExpectedCall { name: c.name.clone(), tu: c.tu.clone(), params, args }
            })
            .collect();
        let nonnull = || Value::Ptr(Box::new(Value::Int(0)));
        calls.push(ExpectedCall { name: "bs_trigger_write".into(), tu: "main.c".into(), params: Vec::new(), args: vec![nonnull(), nonnull(), Value::Int(1), nonnull()] });
        let logged_returns = t.functions.iter().filter(|f| f.records_return).map(|f| (f.name.clone(), f.tu.clone(), f.id)).collect();
        Expected { calls, internal: t.functions.iter().filter(|f| f.called_internally).map(|f| (f.name.clone(), f.tu.clone())).collect(), logged_returns }
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
    /// `__mcount_loc` sites (packed [`facts::SectionAddress`]es).
    pub traceable: Vec<u64>,
    /// The trigger's calls.
    pub expected: Expected,
    /// Attach probes only to FUNCs of these names (all when `None`): experiments that trace one
    /// function and leave its callers alone.
    pub attach_only: Option<BTreeSet<String>>,
    /// FUNCs of the vmlinux BTF (id, name) to attach in the same boot and fire with the same
    /// trigger: their results are the caller's to read (the module's judge skips them), e.g.
    /// `btfsmith audit`'s proof that a vmlinux FUNC's arguments are misread.
    pub vmlinux_funcs: Vec<(u32, String)>,
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
            attach_only: None,
            vmlinux_funcs: Vec::new(),
        })
    }
}

/// Timing of a run, for benchmarks.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Timings {
    /// Encoding every (module, configuration) pair.
    pub encode: Duration,
    /// qemu wall time: the longest boot of each round (the boots of a round run side by side),
    /// summed over the rounds, which run one after another.
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

/// What the guest did with one configuration's BTF of one module: the runtime oracle's
/// evidence.
#[derive(Debug)]
pub struct Observation {
    /// The encoder configuration.
    pub encoder: EncoderSetup,
    /// The module with its split BTF, or why the encoder gave none.
    pub encoded: std::result::Result<kbuild::Encoded, kbuild::EncodeError>,
    /// Guest crashes or hangs while it was loaded: the FUNC whose probe was attached (when that
    /// is known) and what happened.
    pub crashes: Vec<(Option<(u32, String)>, String)>,
    /// The agent's report of the module load, when one finished.
    pub job: Option<JobReport>,
}

/// One module through the guest: the module and one observation per encoder configuration.
#[derive(Debug)]
pub struct ModuleRun {
    /// The module.
    pub case: Case,
    /// One per configuration, in the order they were given.
    pub observations: Vec<Observation>,
}

impl ModuleRun {
    /// The build the oracles see: the `.ko` and its DWARF truth, built by kbuild with the
    /// kernel's compiler.
    pub fn build(&self) -> crate::pipeline::Build {
        crate::pipeline::Build {
            compiler: kbuild_compiler(),
            binary: self.case.ko.clone(),
            sources: Vec::new(),
            facts: self.case.facts.clone(),
            types: Err("the runtime oracle does not read a module's DWARF types".into()),
            procs: Vec::new(),
        }
    }
}

/// The compiler setup of a kbuild module build: the kernel headers' Makefile picks `gcc` and
/// `-O2`.
pub fn kbuild_compiler() -> CompilerSetup {
    CompilerSetup { name: "kbuild gcc -O2".parse().expect("a label without `|`"), tool: "gcc".parse().expect("a toolchain id"), family: generators::compile::Family::Gcc, path: PathBuf::from("/usr/bin/gcc"), opt: "-O2".into() }
}

/// What the execution stage produced: the evidence for every module, and how long it took.
#[derive(Debug, Default)]
pub struct Execution {
    /// One per case, in the order they were given.
    pub modules: Vec<ModuleRun>,
    /// Timings.
    pub timings: Timings,
    /// Console logs of boots that crashed or hung.
    pub crash_logs: Vec<PathBuf>,
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
    /// qemu instances run side by side (each gets a share of the jobs).
    pub guests: usize,
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
            guests: 1,
        }
    }

    /// Encodes every case with every encoder and runs them all in the guest: the evidence.
    pub fn run(&self, cases: &[Case], encoders: &[EncoderSetup]) -> Result<Execution> {
        let mut report = Execution::default();
        let mut crashes: Vec<Vec<(Option<(u32, String)>, String)>> = (0..cases.len() * encoders.len()).map(|_| Vec::new()).collect();
        let base = Arc::new(
            Btf::parse_file_bytes(&std::fs::read(&self.env.kernel.vmlinux_btf).with_context(|| format!("reading {}", self.env.kernel.vmlinux_btf.display()))?, None)
                .context("parsing the kernel's base BTF")?,
        );
        // 1. Encode, each configuration's copy under its own module name.
        let t0 = Instant::now();
        let pairs: Vec<(usize, usize)> = (0..cases.len()).flat_map(|c| (0..encoders.len()).map(move |e| (c, e))).collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(self.jobs.max(1)).build().context("thread pool")?;
        let encoded: Vec<Result<kbuild::Encoded, kbuild::EncodeError>> = pool.install(|| {
            pairs
                .par_iter()
                .map(|&(c, e)| {
                    // The index too: a configuration given twice (a replay encodes several times) must not
                    // share a file.
                    let dir = self.work.join("encoded").join(format!("{e:02}-{}", slug(&encoders[e].config.name))).join(&cases[c].label);
                    let to = kbuild::copy_name(&cases[c].module, e);
                    kbuild::encode(&encoders[e], &cases[c].ko, &dir, &self.env.kernel, &base, Some((&cases[c].module, &to)))
                })
                .collect()
        });
        report.timings.encode = t0.elapsed();

        // 2. Jobs for the guest: one per distinct BTF of a case (configurations that encode the
        //    same bytes share it).
        let mut jobs: Vec<GuestJob> = Vec::new();
        let mut job_of: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
        let mut by_hash: BTreeMap<(usize, u64), String> = BTreeMap::new();
        for (&(c, e), enc) in pairs.iter().zip(&encoded) {
            match enc {
                Err(_) => {}
                Ok(enc) => {
                    if let Some(id) = by_hash.get(&(c, enc.btf_hash)) {
                        job_of.entry(id.clone()).or_default().push((c, e));
                        continue;
                    }
                    let id = format!("{c}.{e}");
                    let wanted = |n: &String| cases[c].attach_only.as_ref().is_none_or(|only| only.contains(n));
                    let funcs: Vec<(u32, String)> = enc.funcs.iter().filter(|(_, n)| !cases[c].init_exit_only(n) && wanted(n)).cloned().collect();
                    report.timings.funcs += funcs.len();
                    // fexit (arguments and return value, still one trampoline) where the return
                    // value can be judged: a FUNC claiming a value, for a function that logs what
                    // it returns. Not with a 16-byte integer parameter: the 6.12 trampoline's
                    // misreckoned stack is only understood for fentry (`tests/vm_int128.rs`).
                    let exit = funcs
                        .iter()
                        .filter(|(id, n)| cases[c].expected.may_log_returns(n) && crate::rules::claims_return_value(&enc.btf, btf::TypeId(*id)) && crate::rules::wide_int_params(&enc.btf, btf::TypeId(*id)).is_empty())
                        .map(|(id, _)| *id)
                        .collect();
                    jobs.push(GuestJob { id: id.clone(), ko: enc.guest_ko.clone(), module: kbuild::copy_name(&cases[c].module, e), funcs, exit, vmlinux_funcs: cases[c].vmlinux_funcs.clone(), isolate: false });
                    by_hash.insert((c, enc.btf_hash), id.clone());
                    job_of.entry(id).or_default().push((c, e));
                }
            }
        }

        // 3. Boot until every job ran (a crash costs the module that crashed, not the rest);
        //    `guests` qemus in parallel, each with its share of the jobs. A crash while several
        //    probes were attached re-runs those probes one per trigger (`isolate`), so that the
        //    verdict names the FUNC whose probe the guest died with.
        let mut reports: BTreeMap<String, JobReport> = BTreeMap::new();
        // Jobs re-run in isolation: what the crashed boot reported (rounds that finished) and
        // why it died.
        let mut isolating: BTreeMap<String, (JobReport, String)> = BTreeMap::new();
        let mut remaining = jobs.clone();
        let mut round = 0;
        let crash_verdict = |id: &str, func: Option<&(u32, String)>, detail: String, out: &mut Vec<Vec<(Option<(u32, String)>, String)>>| {
            for &(c, e) in job_of.get(id).map(Vec::as_slice).unwrap_or(&[]) {
                out[c * encoders.len() + e].push((func.cloned(), detail.clone()));
            }
        };
        while !remaining.is_empty() && round < self.max_boots {
            round += 1;
            let n = self.guests.clamp(1, remaining.len());
            let chunks = split_jobs(&remaining, n);
            let boots: Vec<Result<guest::Boot>> = std::thread::scope(|s| {
                let handles: Vec<_> = chunks
                    .iter()
                    .enumerate()
                    .map(|(k, chunk)| {
                        let dir = self.work.join(format!("boot-{round}-{k}"));
                        let timeout = self.base_timeout + self.per_job * chunk.len() as u32;
                        s.spawn(move || guest::boot(&self.env, chunk, &dir, timeout))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a boot thread panicked")))).collect()
            });
            let mut next = Vec::new();
            let mut round_wall = Duration::ZERO;
            for (chunk, boot) in chunks.iter().zip(boots) {
                let boot = boot?;
                round_wall = round_wall.max(boot.elapsed);
                report.timings.agent += Duration::from_millis(boot.agent_ms.unwrap_or(0));
                report.timings.boots += 1;
                if let Some(f) = &boot.fatal {
                    anyhow::bail!("the guest agent could not start: {f}; console log: {}", boot.console.display());
                }
                let started: BTreeSet<String> = boot.jobs.iter().map(|j| j.job.clone()).collect();
                report.timings.jobs += started.len();
                let mut crashed: Option<JobReport> = None;
                for mut j in boot.jobs.clone() {
                    if j.finished || boot.done {
                        if let Some((before, first)) = isolating.remove(&j.job) {
                            // The isolated re-run survived: keep the rounds of the first run, and
                            // say that a crash happened and did not come back.
                            j.results.extend(before.results);
                            crash_verdict(
                                &j.job,
                                None,
                                format!("the guest crashed once with several probes attached; attached one at a time (same trigger), none crashed it. First crash:\n{first}"),
                                &mut crashes,
                            );
                        }
                        reports.insert(j.job.clone(), j);
                    } else {
                        crashed = Some(j);
                    }
                }
                if boot.done {
                    continue;
                }
                // The guest died or hung: blame the job that was running (or the first one, if
                // none had started), keep the log, and go on with the jobs that never started.
                let why = if boot.timed_out { "hung (boot timeout)" } else { "crashed" };
                let blamed = crashed.as_ref().map(|j| j.job.clone()).or_else(|| chunk.first().map(|j| j.id.clone()));
                report.crash_logs.push(boot.console.clone());
                if let Some(b) = &blamed {
                    let suspects: Vec<(u32, String)> = crashed.as_ref().map(|j| j.triggered.clone()).unwrap_or_default();
                    let names = suspects.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ");
                    let tail = boot.console_tail(40);
                    let job = chunk.iter().find(|j| &j.id == b);
                    let probes = if job.is_some_and(|j| suspects.iter().any(|(id, _)| j.exit.contains(id))) { "fentry or fexit" } else { "fentry" };
                    let when = match suspects.len() {
                        0 => "not while the trigger ran (loading the module or attaching probes)".to_string(),
                        1 => format!("while the trigger ran with {probes} attached to {names} only"),
                        k => format!("while the trigger ran with {probes} attached to {k} FUNCs: {names}"),
                    };
                    let detail = format!("the guest {why} {when}; console log: {}\n{tail}", boot.console.display());
                    match (job, crashed) {
                        (Some(job), Some(partial)) if suspects.len() > 1 && !job.isolate => {
                            let mut again = job.clone();
                            again.isolate = true;
                            again.funcs = suspects;
                            next.push(again);
                            isolating.insert(b.clone(), (partial, detail));
                        }
                        _ => {
                            let earlier = isolating.remove(b).map(|(_, first)| format!("\n\nFirst crash, with more probes attached:\n{first}")).unwrap_or_default();
                            crash_verdict(b, suspects.first().filter(|_| suspects.len() == 1), format!("{detail}{earlier}"), &mut crashes);
                        }
                    }
                }
                next.extend(chunk.iter().filter(|j| !started.contains(&j.id) && Some(&j.id) != blamed.as_ref()).cloned());
            }
            report.timings.boot += round_wall;
            remaining = next;
        }
        for j in &remaining {
            crash_verdict(&j.id, None, format!("never ran: the guest crashed {} times", self.max_boots), &mut crashes);
        }

        // 4. The evidence, per module and configuration.
        let mut job_reports: Vec<Option<JobReport>> = (0..cases.len() * encoders.len()).map(|_| None).collect();
        for (id, owners) in &job_of {
            let Some(job) = reports.get(id) else { continue };
            for &(c, e) in owners {
                job_reports[c * encoders.len() + e] = Some(job.clone());
            }
        }
        let mut observations = encoded.into_iter().zip(crashes).zip(job_reports);
        for case in cases {
            let mut run = ModuleRun { case: case.clone(), observations: Vec::new() };
            for encoder in encoders {
                let Some(((encoded, crashes), job)) = observations.next() else { break };
                run.observations.push(Observation { encoder: encoder.clone(), encoded, crashes, job });
            }
            report.modules.push(run);
        }
        Ok(report)
    }
}

/// The guest time a job is expected to take, in units of one FUNC's probe (load + attach,
/// ~10 ms under TCG): the module load costs about one, and every round after the first (a name
/// that occurs again must wait for its earlier probe to be detached, an RCU-tasks grace period
/// of ~0.1 s) about eight.
fn job_cost(job: &GuestJob) -> usize {
    let mut per_name: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, name) in job.funcs.iter().chain(&job.vmlinux_funcs) {
        *per_name.entry(name.as_str()).or_default() += 1;
    }
    let rounds = if job.isolate { job.funcs.len() + job.vmlinux_funcs.len() } else { per_name.values().copied().max().unwrap_or(1) };
    1 + job.funcs.len() + job.vmlinux_funcs.len() + 8 * rounds.saturating_sub(1)
}

/// Splits `jobs` into `n` guests' shares of about equal [`job_cost`] (largest first, each to the
/// least loaded guest), every share in the jobs' original order. A boot lasts as long as its
/// slowest guest: dealing the jobs out in turn left one guest ~0.7 s behind the other.
fn split_jobs(jobs: &[GuestJob], n: usize) -> Vec<Vec<GuestJob>> {
    let n = n.max(1);
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(job_cost(&jobs[i])));
    let mut load = vec![0usize; n];
    let mut share: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in order {
        let k = (0..n).min_by_key(|&k| (load[k], k)).unwrap_or(0);
        load[k] += job_cost(&jobs[i]);
        share[k].push(i);
    }
    share
        .into_iter()
        .map(|mut s| {
            s.sort_unstable();
            s.into_iter().map(|i| jobs[i].clone()).collect()
        })
        .collect()
}

/// A configuration name as a directory name.
pub fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use generators::model::Value;

    #[test]
    fn converting_arguments() {
        assert!(matches!(convert(&Value::Int(3), "_Bool", 1), Value::Int(1)));
        assert!(matches!(convert(&Value::Int(300), "unsigned char", 1), Value::Int(44)));
        assert!(matches!(convert(&Value::Int(200), "signed char", 1), Value::Int(-56)));
        assert!(matches!(convert(&Value::Int(-1), "unsigned int", 4), Value::Int(4294967295)));
        assert!(matches!(convert(&Value::Int(-1), "long long", 8), Value::Int(-1)));
        assert!(matches!(convert(&Value::Int(7), "t3", 4), Value::Int(7)));
        assert!(matches!(convert(&Value::Null, "int *", 8), Value::Null));
    }

    #[test]
    fn splitting_jobs_between_guests() {
        let job = |id: &str, names: &[&str]| GuestJob {
            id: id.into(),
            ko: PathBuf::new(),
            module: id.into(),
            funcs: names.iter().enumerate().map(|(i, n)| (i as u32 + 1, n.to_string())).collect(),
            exit: BTreeSet::new(),
            vmlinux_funcs: Vec::new(),
            isolate: false,
        };
        // Costs 11 (ten FUNCs), 4, 4, and 3 + 8 (a name twice: a second round).
        let jobs = [job("a", &["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"]), job("b", &["x", "y", "z"]), job("c", &["x", "y", "z"]), job("d", &["d", "d"])];
        assert_eq!(job_cost(&jobs[3]), 11);
        let shares = split_jobs(&jobs, 2);
        let ids: Vec<Vec<&str>> = shares.iter().map(|s| s.iter().map(|j| j.id.as_str()).collect()).collect();
        // a and d (11 each) go to different guests, b and c fill them up: 15 and 15; each share
        // keeps the jobs' order.
        assert_eq!(ids, vec![vec!["a", "b"], vec!["c", "d"]]);
        assert_eq!(split_jobs(&jobs, 1)[0].len(), 4);
        assert!(split_jobs(&[], 2).iter().all(Vec::is_empty));
    }

    #[test]
    fn renaming_modules() {
        let mut b = b"\0name=bs7_00\0..bs7_00\0".to_vec();
        assert_eq!(kbuild::rename_module(&mut b, "bs7_00", &kbuild::copy_name("bs7_00", 12)), 2);
        assert_eq!(&b, b"\0name=bs7_12\0..bs7_12\0");
        assert_eq!(kbuild::copy_name("plain", 3), "plain");
    }
}
