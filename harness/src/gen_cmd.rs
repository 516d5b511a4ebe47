//! `btfsmith gen` and `btfsmith gen-stats`: the program generator on the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

/// Arguments of `btfsmith gen`.
#[derive(Debug, clap::Args)]
pub struct GenArgs {
    /// Seed; the same seed, policy and generator version always give the same program.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Built-in policy (mixed, collisions, isra, constprop, part-cold, optimized-out,
    /// clang-signature, many-args, struct-by-value, float-args, varargs, recursion-tailcall,
    /// stack, units).
    #[arg(long, default_value = "mixed")]
    pub policy: String,
    /// A policy as JSON (see --print-policy) instead of a built-in one.
    #[arg(long, conflicts_with = "policy")]
    pub policy_file: Option<PathBuf>,
    /// Print the policy as JSON and exit (edit it and pass it back with --policy-file).
    #[arg(long)]
    pub print_policy: bool,
    /// Output directory: C files, build.sh (plus Kbuild and Makefile for modules) and
    /// ground_truth.json.
    #[arg(long, default_value = "btfsmith-gen")]
    pub out: PathBuf,
    /// `user` (a program with main) or `module` (a kernel module with a debugfs trigger).
    #[arg(long, default_value = "user")]
    pub flavour: String,
    /// Swarm testing: keep only a random subset of the policy's recipes in this program.
    #[arg(long)]
    pub swarm: bool,
}

/// Arguments of `btfsmith gen-stats`.
#[derive(Debug, clap::Args)]
pub struct GenStatsArgs {
    /// Programs per policy.
    #[arg(long, default_value_t = 200)]
    pub count: usize,
    /// Compiler executable (gcc, clang, clang-19, or a path).
    #[arg(long, default_value = "gcc")]
    pub compiler: String,
    /// Optimisation level, as in `-O2` (0, 1, 2, 3, s).
    #[arg(short = 'O', default_value = "2")]
    pub opt: String,
    /// Policies to measure (repeatable); all built-in ones when absent.
    #[arg(long)]
    pub policy: Vec<String>,
    /// First seed; programs use seeds first..first+count.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the table as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn load_policy(name: &str, file: Option<&PathBuf>) -> Result<generators::Policy> {
    let policy = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<generators::Policy>(&text).with_context(|| format!("parsing policy {}", path.display()))?
        }
        None => generators::Policy::by_name(name).map_err(|e| anyhow::anyhow!("--policy {name}: {e}"))?,
    };
    policy.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(policy)
}

/// `btfsmith gen`: writes one program and prints where it went.
pub fn gen(args: GenArgs) -> Result<ExitCode> {
    let mut policy = load_policy(&args.policy, args.policy_file.as_ref())?;
    policy.swarm |= args.swarm;
    if args.print_policy {
        println!("{}", serde_json::to_string_pretty(&policy)?);
        return Ok(ExitCode::SUCCESS);
    }
    let flavour: generators::Flavour = args.flavour.parse().map_err(|e: String| anyhow::anyhow!("--flavour: {e}"))?;
    let program = generators::generate(args.seed, &policy).map_err(|e| anyhow::anyhow!("generating seed {}: {e}", args.seed))?;
    let truth = generators::write_program(&program, flavour, &args.out)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", args.out.display()))?;
    println!(
        "wrote {} ({} units, {} functions, {} calls; policy {}, seed {}, generator {})",
        args.out.display(),
        program.tus.len(),
        truth.functions.len(),
        truth.calls.len(),
        policy.name,
        args.seed,
        generators::GENERATOR_VERSION
    );
    println!("build: {}", args.out.join("build.sh").display());
    Ok(ExitCode::SUCCESS)
}

/// `btfsmith gen-stats`: the share of programs whose target phenomenon really occurred.
/// Exits 1 when some program failed to build or classify.
pub fn gen_stats(args: GenStatsArgs) -> Result<ExitCode> {
    let cc = generators::compile::Compiler::find(&args.compiler).map_err(|e| anyhow::anyhow!("--compiler: {e}"))?;
    let policies = if args.policy.is_empty() {
        generators::Policy::all()
    } else {
        args.policy.iter().map(|n| load_policy(n, None)).collect::<Result<Vec<_>>>()?
    };
    let opt = format!("-O{}", args.opt);
    let table = generators::stats::gen_stats(args.count, &cc, &opt, &policies, args.seed)
        .map_err(|e| anyhow::anyhow!("gen-stats with {} {opt}: {e}", args.compiler))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        print!("{}", table.render());
    }
    let failed = table.rows.iter().any(|r| r.failures > 0);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
