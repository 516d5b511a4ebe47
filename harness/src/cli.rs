//! Command-line parsing and dispatch.

use crate::toolchains::{Toolchains, SETUP_COMMAND};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// btfsmith: finds BTF encoder bugs by generating C programs, encoding them with every encoder
/// and judging the results.
#[derive(Debug, Parser)]
#[command(name = "btfsmith", version, about)]
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
    /// Print the DWARF truth of an ELF file (function instances, symbols, parameter locations)
    /// as JSON: what the oracles judge encoders against.
    Facts {
        /// An object, executable or module compiled with -g.
        file: PathBuf,
    },
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
        Command::Facts { file } => {
            let facts = crate::dwarf::read_file(&file)?;
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
        let state = if t.path.exists() { "" } else { "  (MISSING)" };
        println!(
            "{:<10} {:<14} {:<28} {}{state}",
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
