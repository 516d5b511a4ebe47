//! Command-line parsing and dispatch.

use crate::toolchains::{Toolchains, SETUP_COMMAND};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// btfsmith finds bugs in BTF encoders (pahole, btfenc, gcc -gbtf): the FUNCs that would make a
/// BPF tracer (fentry/fexit) attach to another function than the one named, or read its arguments
/// wrong.
///
/// It generates C programs full of what optimising compilers do to functions (same-name statics,
/// gcc clones, optimised-out parameters, changed signatures), compiles them with gcc and clang,
/// encodes BTF with every encoder under test, and judges each FUNC against the DWARF truth, the
/// kernel's BTF loader and, with `vm`, fentry in a real kernel. Start with `btfsmith run`.
#[derive(Debug, Parser)]
#[command(name = "btfsmith", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the compilers, encoders, kernel and emulator btfsmith can use, and what is missing.
    Toolchains,
    /// Work with BTF files.
    #[command(subcommand)]
    Btf(BtfCommand),
    /// The campaign: generate programs, compile them with every compiler, encode with every
    /// configuration, judge, and keep findings. Resumable: rerun with the same --out.
    Run(RunArgs),
    /// Run the same pipeline (static oracles) on your own C files; with --runtime, build them as
    /// a kernel module and judge every FUNC inside the guest kernel (fentry attached for real).
    Check {
        /// C translation units, linked together (with --runtime: kernel code, built as one
        /// module; btfsmith adds the trigger, which calls `void btfsmith_trigger(void)` when the
        /// sources define it).
        #[arg(required_unless_present = "ko")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        matrix: MatrixArgs,
        /// Where findings go.
        #[arg(long, default_value = "btfsmith-check")]
        out: PathBuf,
        /// The runtime oracle instead of the static ones: the Debian 6.12 kernel under qemu.
        #[arg(long)]
        runtime: bool,
        /// A module built elsewhere, with DWARF (implies --runtime; without a trigger there are
        /// no argument readings: WRONG_FUNCTION only when something calls the function,
        /// UNATTACHABLE, LOAD_REJECTED, MISSED).
        #[arg(long, conflicts_with = "files")]
        ko: Option<PathBuf>,
    },
    /// Re-run findings (a finding directory, a campaign directory or a findings directory) and
    /// say whether each still reproduces; or replay corpus cases (directories with a CASE file)
    /// against their expectations (BTFSMITH_BLESS=1 rewrites them). Exit 0 when all hold.
    Replay {
        /// Finding or campaign directory.
        dir: PathBuf,
        /// Skip the host-kernel BPF_BTF_LOAD oracle.
        #[arg(long)]
        no_kernel_load: bool,
    },
    /// Print the built-in campaign configuration (TOML), to edit and pass back with --config.
    DumpConfig,
    /// Combine campaign directories of the same campaign run as shards on several machines:
    /// findings deduplicated by signature, one report.
    Merge {
        /// Output campaign directory.
        out: PathBuf,
        /// Shard directories.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Shrink a finding to the smallest program that still shows it (model level, then
    /// optionally C-Vise); writes a minimized reproducer and a ready corpus entry.
    Minimize {
        /// The finding directory.
        dir: PathBuf,
        /// Output directory (default: DIR-min).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Time budget of the model-level search, in minutes.
        #[arg(long, default_value_t = 3.0)]
        minutes: f64,
        /// Then reduce the C text with C-Vise.
        #[arg(long)]
        cvise: bool,
        /// No progress spinner.
        #[arg(long)]
        quiet: bool,
    },
    /// Exit 0 when FILES still show the finding recorded in FINDING (C-Vise's interestingness
    /// test; written by `minimize --cvise`).
    #[command(hide = true)]
    Interesting {
        /// A finding record (verdict.json contents).
        finding: PathBuf,
        /// C files.
        files: Vec<PathBuf>,
    },
    /// May this encoder build be released? Runs the corpus and a fixed-seed campaign on both
    /// encoders; exit 1 when the candidate has an unsafe verdict or regresses against the
    /// baseline (new finding signature, newly MISSED function, non-deterministic output).
    Gate {
        /// Encoder under test: a configuration name (`btfenc`) or a command line
        /// (`/path/to/build/pahole -j --btf_features=default`).
        #[arg(long)]
        candidate: String,
        /// What it must not regress against (same forms).
        #[arg(long, default_value = "pahole-1.30/kernel")]
        baseline: String,
        /// Generated programs in the fixed-seed campaign.
        #[arg(long, default_value_t = 20)]
        count: u64,
        /// First seed of the campaign.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Corpus directory.
        #[arg(long, default_value = "corpus")]
        corpus: PathBuf,
        /// Skip the host-kernel BPF_BTF_LOAD oracle.
        #[arg(long)]
        no_kernel_load: bool,
        /// Where gate.md, junit.xml and findings go.
        #[arg(long, default_value = "btfsmith-gate")]
        out: PathBuf,
    },
    /// Write a plain-text bug report for a finding that an encoder maintainer can act on:
    /// summary, versions and flags, sources, commands, expected vs actual (BTF, DWARF,
    /// disassembly), what a tracer sees, and which installed pahole releases are affected.
    /// Rebuilds and re-judges the finding first.
    Report {
        /// A finding directory.
        finding: PathBuf,
        /// Write the report here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Find the pahole commit where a finding about a pahole configuration appears (or, when
    /// --bad is older than --good, disappears): pahole is built at each probed commit from a
    /// local checkout (cached under $BTFSMITH_HOME/pahole-builds) and the finding re-judged.
    Bisect {
        /// A finding directory (its verdict must be about a pahole configuration).
        finding: PathBuf,
        /// A pahole (dwarves) git checkout, cloned with --recursive (or see --libbpf-git).
        #[arg(long)]
        pahole_git: PathBuf,
        /// A libbpf git directory for pahole's lib/bpf submodule when the checkout lacks it.
        #[arg(long)]
        libbpf_git: Option<PathBuf>,
        /// A revision where the finding does not reproduce.
        #[arg(long)]
        good: String,
        /// A revision where it does.
        #[arg(long)]
        bad: String,
    },
    /// Print the DWARF truth of an ELF file (function instances, symbols, parameter locations)
    /// as JSON: what the oracles judge encoders against.
    Facts {
        /// An object, executable or module compiled with -g.
        file: PathBuf,
    },
    /// Judge a shipped kernel's BTF, FUNC by FUNC, against its own DWARF and symbol table: which
    /// FUNCs make fentry attach to another function than the one named, read its arguments
    /// wrong, or fail to attach. Writes report.md and verdicts.jsonl; exit 1 on any WRONG_PROTO
    /// or UNSAFE_OPTIMIZED.
    Audit(crate::audit::AuditArgs),
    /// Generate one C program (userspace or kernel module) with its build script and ground truth.
    Gen(crate::gen_cmd::GenArgs),
    /// Measure how often each policy's target phenomenon really occurs in compiled programs.
    GenStats(crate::gen_cmd::GenStatsArgs),
    /// The runtime oracle: generated kernel modules, every encoder configuration, fentry (fexit
    /// where the return value is judged) on every FUNC inside the Debian 6.12 kernel under qemu;
    /// prints verdict counts per configuration.
    Vm(crate::vm_campaign::VmArgs),
}

/// Which compilers and encoders to run.
#[derive(Debug, clap::Args)]
struct MatrixArgs {
    /// Campaign configuration (TOML); default: the built-in one (`btfsmith dump-config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only encoder configurations whose name contains one of these (comma-separated).
    #[arg(long, value_delimiter = ',')]
    encoders: Vec<String>,
    /// Only compiler setups (`gcc-12 -O2`) containing one of these (comma-separated).
    #[arg(long, value_delimiter = ',')]
    compilers: Vec<String>,
    /// Skip the host-kernel BPF_BTF_LOAD oracle (e.g. without root).
    #[arg(long)]
    no_kernel_load: bool,
}

impl MatrixArgs {
    fn resolve(&self) -> Result<crate::config::Matrix> {
        let config = match &self.config {
            Some(p) => crate::config::Config::from_file(p)?,
            None => crate::config::Config::builtin(),
        };
        crate::config::Matrix::resolve(&config, &Toolchains::load()?, &self.encoders, &self.compilers)
    }
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Stop after this many minutes (programs in flight finish).
    #[arg(long, conflicts_with = "count")]
    minutes: Option<f64>,
    /// Stop after this many programs (default 20 when neither is given).
    #[arg(long)]
    count: Option<u64>,
    /// First seed; program i uses seed + i.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Parallel workers (default: all cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// This machine's share, k/n: programs with index % n == k (disjoint across k).
    #[arg(long, default_value = "0/1")]
    shard: String,
    /// Generator policy (`mixed`, `collisions`, ...).
    #[arg(long, default_value = "mixed")]
    policy: String,
    /// Campaign directory (state, findings, reports).
    #[arg(long, default_value = "btfsmith-out")]
    out: PathBuf,
    /// Print the harness's own overhead against the summed tool time at the end.
    #[arg(long)]
    bench: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Then run as many seeds (from --seed) as kernel modules through the runtime oracle
    /// (`btfsmith vm`: fentry in a qemu guest), into `<out>/vm`.
    #[arg(long)]
    runtime: bool,
    #[command(flatten)]
    matrix: MatrixArgs,
}

#[derive(Debug, Subcommand)]
enum BtfCommand {
    /// Print the types exactly as `bpftool btf dump file FILE` does.
    Dump {
        /// Raw BTF or an ELF file with a .BTF section.
        #[arg(required_unless_present = "kernel")]
        file: Option<PathBuf>,
        /// Dump the BTF of the Debian 6.12 kernel that `ci/setup` installed.
        #[arg(long, conflicts_with_all = ["file", "base"])]
        kernel: bool,
        /// Base BTF for a split file (e.g. a module over vmlinux), like `bpftool -B`.
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
    },
    /// Print the canonical (id-free, sorted) form.
    Canon {
        /// Raw BTF or an ELF file with a .BTF section.
        file: PathBuf,
        /// Base BTF for a split file.
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
    },
    /// Load into the running kernel (libbpf `btf__new`, then `BPF_BTF_LOAD`); a split file is
    /// first laid over its base as one blob, as the kernel sees a module's BTF. Exits 1 with the
    /// verifier's log when refused.
    Load {
        /// Raw BTF or an ELF file with a .BTF section.
        file: PathBuf,
        /// Base BTF for a split file.
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
    },
    /// Unified diff of two files' canonical forms; exits 1 when they differ.
    Diff {
        /// First file.
        a: PathBuf,
        /// Second file.
        b: PathBuf,
        /// Base BTF both files are split over.
        #[arg(long, short = 'B')]
        base: Option<PathBuf>,
    },
}

/// Parses the process arguments and runs the command.
pub fn run() -> Result<ExitCode> {
    let args = Args::parse();
    match args.command {
        Command::Toolchains => toolchains(),
        Command::Gen(args) => crate::gen_cmd::gen(args),
        Command::GenStats(args) => crate::gen_cmd::gen_stats(args),
        Command::Vm(args) => crate::vm_campaign::vm(args),
        Command::Audit(args) => crate::audit::audit(args),
        Command::Run(args) => run_campaign(args),
        Command::Report { finding, out } => {
            let text = crate::upstream::report(&finding)?;
            match out {
                Some(p) => std::fs::write(&p, text).map_err(|e| anyhow::anyhow!("writing {}: {e}", p.display()))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bisect { finding, pahole_git, libbpf_git, good, bad } => {
            let src = crate::bisect::Sources { pahole_git, libbpf_git };
            let b = crate::bisect::bisect(&finding, &src, &good, &bad, |line| eprintln!("bisect: {line}"))?;
            let what = if b.introduced { "first bad commit (the finding appears)" } else { "first good commit (the finding is fixed)" };
            match &b.first {
                Some((c, subject)) => println!("{what}: {c} {subject}"),
                None => println!("{what}: somewhere after {} up to {} (commits in between did not build)", b.range.0, b.range.1),
            }
            println!("{} pahole builds probed", b.probes.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { files, matrix, out, runtime, ko } => {
            let m = matrix.resolve()?;
            let verdicts = match (&ko, runtime) {
                (Some(ko), _) => crate::check::check_runtime(crate::check::RuntimeInput::Ko(ko), &m, &out)?,
                (None, true) => crate::check::check_runtime(crate::check::RuntimeInput::Sources(&files), &m, &out)?,
                (None, false) => crate::check::check(&files, &m, !matrix.no_kernel_load, &out)?,
            };
            let findings: Vec<_> = verdicts.iter().filter(|v| v.kind.is_finding()).collect();
            for v in &findings {
                println!("{} [{}] {} ({}){}", v.kind, v.oracle, v.encoder, v.compiler, v.function.as_deref().map(|f| format!(" {f}")).unwrap_or_default());
                for line in v.detail.lines().take(12) {
                    println!("    {line}");
                }
            }
            let missed = verdicts.iter().filter(|v| v.kind == crate::oracle::VerdictKind::Missed).count();
            // MISSED is a rate, not a finding: one line each, after the findings; the runtime's
            // SAFE / UNCHECKED / UNSUPPORTED as counts.
            for v in verdicts.iter().filter(|v| v.kind == crate::oracle::VerdictKind::Missed) {
                println!("MISSED [{}] {} ({}) {}", v.evidence, v.encoder, v.compiler, v.function.as_deref().unwrap_or(""));
            }
            let mut other: std::collections::BTreeMap<(crate::names::EncoderName, crate::oracle::VerdictKind), usize> = Default::default();
            for v in verdicts.iter().filter(|v| !v.kind.is_finding() && v.kind != crate::oracle::VerdictKind::Missed) {
                *other.entry((v.encoder.clone(), v.kind)).or_default() += 1;
            }
            for ((enc, kind), n) in &other {
                println!("{kind} {enc}: {n} FUNC(s)");
            }
            println!("{} finding verdicts ({} MISSED); findings in {}", findings.len(), missed, out.join("findings").display());
            Ok(if findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Replay { dir, no_kernel_load } if crate::corpus::is_corpus(&dir) => replay_corpus(&dir, !no_kernel_load),
        Command::Replay { dir, no_kernel_load } => {
            let mut refuted = 0;
            for d in crate::check::finding_dirs(&dir)? {
                let r = crate::check::replay(&d, !no_kernel_load)?;
                println!("{} {} ({})", if r.confirmed { "CONFIRMED" } else { "REFUTED" }, r.dir.display(), r.signature);
                if !r.confirmed {
                    refuted += 1;
                    for v in &r.verdicts {
                        println!("    now: {} {}", v.signature(), v.function.as_deref().unwrap_or(""));
                    }
                }
            }
            Ok(if refuted == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Gate { candidate, baseline, count, seed, corpus, no_kernel_load, out } => {
            let tc = Toolchains::load()?;
            let spec = crate::gate::GateSpec {
                candidate: crate::gate::resolve_encoder(&candidate, "candidate", &tc)?,
                baseline: crate::gate::resolve_encoder(&baseline, "baseline", &tc)?,
                programs: count,
                seed,
                corpus: Some(corpus),
                kernel_load: !no_kernel_load,
            };
            let result = crate::gate::run(&spec, &tc, &out)?;
            print!("{}", crate::gate::markdown(&spec, &result));
            println!("\nreports: {}/gate.md, junit.xml", out.display());
            Ok(if result.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Minimize { dir, out, minutes, cvise, quiet } => {
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{}-min", dir.display())));
            let m = crate::minimize::minimize(&dir, &out, std::time::Duration::from_secs_f64(minutes * 60.0), cvise, quiet)?;
            println!(
                "{}: {} -> {} lines, {} -> {} functions, {} -> {} units; {} candidates in {:.1} s",
                m.signature, m.before.lines, m.after.lines, m.before.functions, m.after.functions, m.before.units, m.after.units, m.steps, m.seconds
            );
            println!("minimized reproducer: {}\ncorpus entry: {}", m.finding_dir.display(), m.corpus_entry.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Interesting { finding, files } => Ok(if crate::minimize::interesting(&finding, &files)? { ExitCode::SUCCESS } else { ExitCode::from(1) }),
        Command::Merge { out, inputs } => {
            let m = crate::merge::merge(&out, &inputs)?;
            println!("{} programs, {} distinct findings ({} duplicates dropped) in {}", m.programs, m.findings, m.duplicates, out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::DumpConfig => {
            print!("{}", crate::config::DEFAULT_CONFIG);
            Ok(ExitCode::SUCCESS)
        }
        Command::Facts { file } => {
            let facts = facts::dwarf::read_file(&file)?;
            println!("{}", serde_json::to_string_pretty(&facts)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Btf(BtfCommand::Dump { file, kernel, base }) => {
            let file = match (file, kernel) {
                (Some(f), _) => f,
                (None, _) => Toolchains::load()?.require_kernel()?.vmlinux_btf.clone(),
            };
            crate::btf_cmd::dump(&file, base.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Btf(BtfCommand::Canon { file, base }) => {
            crate::btf_cmd::canon(&file, base.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Btf(BtfCommand::Load { file, base }) => {
            let accepted = crate::btf_cmd::kernel_load(&file, base.as_deref())?;
            Ok(if accepted { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Btf(BtfCommand::Diff { a, b, base }) => {
            let differ = crate::btf_cmd::diff(&a, &b, base.as_deref())?;
            Ok(if differ { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}

fn toolchains() -> Result<ExitCode> {
    let tc = Toolchains::load()?;
    println!("btfsmith home: {}", tc.home.display());
    let mut tools: Vec<_> = tc.tools.iter().collect();
    tools.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    println!("{:<10} {:<14} {:<28} path", "kind", "name", "version");
    for t in tools {
        let state = if t.is_present() { "" } else { "  (MISSING)" };
        let root = t.root.as_ref().map_or_else(String::new, |r| format!("  (chroot {})", r.display()));
        println!(
            "{:<10} {:<14} {:<28} {}{root}{state}",
            format!("{:?}", t.kind).to_lowercase(),
            t.name,
            t.version,
            t.path.display()
        );
    }
    if let Some(k) = &tc.kernel {
        println!("kernel     {}", k.version);
        println!("  image    {}", k.vmlinuz.display());
        println!("  headers  {}", k.headers.display());
        println!("  base BTF {}", k.vmlinux_btf.display());
        if let Some(d) = &k.vmlinux_dbg {
            println!("  vmlinux  {} (with DWARF)", d.display());
        }
    }
    let missing = tc.missing_components();
    if missing.is_empty() {
        println!("all components present");
        Ok(ExitCode::SUCCESS)
    } else {
        for (id, what) in &missing {
            println!("missing: {id} ({what}): install with `{SETUP_COMMAND}`");
        }
        Ok(ExitCode::from(1))
    }
}

fn run_campaign(args: RunArgs) -> Result<ExitCode> {
    use anyhow::Context;
    let (k, n) = args
        .shard
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse::<u64>().ok()?, n.parse::<u64>().ok()?)))
        .filter(|(k, n)| *n > 0 && k < n)
        .with_context(|| format!("--shard {}: expected k/n with 0 <= k < n", args.shard))?;
    generators::Policy::by_name(&args.policy).map_err(|e| anyhow::anyhow!("--policy {}: {e}", args.policy))?;
    let spec = crate::campaign::CampaignSpec {
        seed: args.seed,
        policy: args.policy.clone(),
        shard: (k, n),
        matrix: args.matrix.resolve()?,
        kernel_load: !args.matrix.no_kernel_load,
        generator_version: generators::GENERATOR_VERSION.to_string(),
    };
    let budget = match (args.minutes, args.count) {
        (Some(m), _) => crate::campaign::Budget::Time(std::time::Duration::from_secs_f64(m * 60.0)),
        (None, Some(c)) => crate::campaign::Budget::Count(c),
        (None, None) => crate::campaign::Budget::Count(20),
    };
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = std::time::Instant::now();
    let findings = crate::campaign::run(&spec, budget, jobs, &args.out, args.quiet)?;
    let report = crate::report::write_all(&args.out, &spec)?;
    print!("{}", crate::report::markdown(&report, Some(&spec)));
    println!("\nreports: {}/report.md, report.json, junit.xml", args.out.display());
    if args.bench {
        let wall = started.elapsed().as_secs_f64();
        let per_program_overhead = if report.tool_seconds > 0.0 { (report.wall_seconds - report.tool_seconds) / report.tool_seconds } else { 0.0 };
        println!(
            "bench: {} programs in {wall:.1} s with {jobs} jobs ({:.2} programs/s); tool time {:.1} s, harness time {:.1} s: overhead {:.1}% of the tool floor",
            report.programs,
            report.programs as f64 / wall.max(1e-9),
            report.tool_seconds,
            report.wall_seconds - report.tool_seconds,
            per_program_overhead * 100.0
        );
    }
    let unsafe_count: u64 = report
        .counts
        .values()
        .flat_map(|m| m.iter())
        .filter(|(k, _)| k.parse::<crate::oracle::VerdictKind>().is_ok_and(|k| k.is_finding()))
        .map(|(_, c)| c)
        .sum();
    let mut runtime_wrong = false;
    if args.runtime {
        println!("\nruntime oracle (btfsmith vm) over the same seeds:");
        let vm_args = crate::vm_campaign::VmArgs {
            count: (report.programs as u64).max(1),
            seed: args.seed,
            policy: args.policy.clone(),
            encoders: args.matrix.encoders.clone(),
            config: args.matrix.config.clone(),
            out: args.out.join("vm"),
            jobs: args.jobs,
            guests: None,
            verbose: false,
        };
        runtime_wrong = crate::vm_campaign::run_into(vm_args, &args.out.join("findings"))? != ExitCode::SUCCESS;
        // One report with every verdict, static and runtime.
        let report = crate::report::write_all(&args.out, &spec)?;
        println!("\nall verdicts, static and runtime: {}/report.md ({} findings)", args.out.display(), report.findings.len());
    }
    let (_, refuted, _) = report.confirmations();
    if refuted > 0 {
        eprintln!("btfsmith run: SELF-TEST FAILED: {refuted} finding(s) refuted by the machine code (a harness bug; see report.md)");
        return Ok(ExitCode::from(2));
    }
    Ok(if findings == 0 && unsafe_count == 0 && !runtime_wrong { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn replay_corpus(dir: &std::path::Path, kernel_load: bool) -> Result<ExitCode> {
    let tc = Toolchains::load()?;
    let config = crate::config::Config::builtin();
    let bless = std::env::var_os("BTFSMITH_BLESS").is_some_and(|v| v == "1");
    let mut failed = 0;
    for case_dir in crate::corpus::cases(dir)? {
        let r = crate::corpus::run_case(&case_dir, &tc, &config, kernel_load)?;
        if r.failures.is_empty() {
            println!("ok     {}  ({})", case_dir.display(), r.case.what);
        } else if bless {
            crate::corpus::bless(&r.case, &r.verdicts)?;
            println!("blessed {}", case_dir.display());
        } else {
            failed += 1;
            println!("FAILED {}  ({})", case_dir.display(), r.case.what);
            for f in &r.failures {
                println!("  {f}");
            }
        }
    }
    if failed > 0 {
        println!("{failed} case(s) failed; if the new behaviour is right, rerun with BTFSMITH_BLESS=1 and review the diff");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
