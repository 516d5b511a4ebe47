//! Campaign configuration: which encoders (with which flags) and which compilers × -O levels.
//!
//! Raw TOML ([`Config`]) is resolved against the installed toolchains into a [`Matrix`] whose
//! every entry has an executable path, so a missing tool is an error before any work starts.

use crate::names::{CompilerName, EncoderName, EncoderTool, ToolId};
use crate::toolchains::{Tool, Toolchains};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The built-in configuration.
pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

/// One encoder configuration, as written in TOML.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Unique label (`pahole-1.30/kernel`).
    pub name: EncoderName,
    /// Toolchain id (`pahole-1.30`), `btfenc`, `gcc-btf` (gcc's own `-gbtf`, on gcc builds), or
    /// an absolute path (a local encoder build).
    pub tool: EncoderTool,
    /// Arguments before `--btf_encode_detached=OUT INPUT`.
    #[serde(default)]
    pub args: Vec<String>,
    /// One line on what this configuration is.
    #[serde(default)]
    pub note: String,
    /// Seconds before a run is killed and judged ENCODER_TIMEOUT.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    120
}

/// The TOML file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Toolchain ids or families (`gcc`, `clang-19`).
    pub compilers: Vec<String>,
    /// Optimization flags (`-O2`).
    pub opt_levels: Vec<String>,
    /// Encoder configurations.
    #[serde(rename = "encoder")]
    pub encoders: Vec<EncoderConfig>,
}

impl Config {
    /// The built-in configuration.
    pub fn builtin() -> Config {
        toml::from_str(DEFAULT_CONFIG).expect("the built-in configuration parses")
    }

    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// A compiler at one -O level.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CompilerSetup {
    /// Label, `gcc-12 -O2`.
    pub name: CompilerName,
    /// Toolchain id (`gcc-12`).
    pub tool: ToolId,
    /// Family.
    pub family: generators::compile::Family,
    /// Executable.
    pub path: PathBuf,
    /// `-O2`.
    pub opt: String,
}

/// An encoder configuration with its executable resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EncoderSetup {
    /// The configuration.
    pub config: EncoderConfig,
    /// Executable.
    pub path: PathBuf,
    /// Version string (`1.30`, or btfenc's `--version`).
    pub version: String,
}

/// Everything a campaign runs: compilers × encoders, all resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Matrix {
    /// Compilers × -O levels.
    pub compilers: Vec<CompilerSetup>,
    /// Encoders.
    pub encoders: Vec<EncoderSetup>,
}

/// Where btfenc is: `$BTFSMITH_BTFENC`, else next to the running btfsmith (also when that is a
/// test binary in `target/*/deps`).
pub fn btfenc_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BTFSMITH_BTFENC") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("locating the btfsmith binary")?;
    let mut dir = exe.parent().map(Path::to_path_buf);
    for _ in 0..2 {
        let Some(d) = dir else { break };
        let candidate = d.join("btfenc");
        if candidate.exists() {
            return Ok(candidate);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    bail!("btfenc not found next to {}: build it with `cargo build --release` (or set BTFSMITH_BTFENC)", exe.display())
}

impl Matrix {
    /// Resolves `config` against the toolchains, keeping only the encoders and compilers whose
    /// names match the filters (comma-separated substrings; empty = all).
    pub fn resolve(config: &Config, tc: &Toolchains, encoders: &[String], compilers: &[String]) -> Result<Matrix> {
        let wanted = |name: &str, filters: &[String]| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
        let mut out = Matrix { compilers: resolve_compilers(config, tc, compilers)?, encoders: Vec::new() };
        for e in &config.encoders {
            if !wanted(&e.name, encoders) {
                continue;
            }
            let (path, version) = match &e.tool {
                EncoderTool::Btfenc => (btfenc_path()?, "btfenc".to_string()),
                EncoderTool::GccBtf => {
                    out.encoders.extend(gcc_btf_setups(e, tc, &out.compilers)?);
                    continue;
                }
                EncoderTool::Path(p) => {
                    if !p.exists() {
                        bail!("encoder {}: {} does not exist", e.name, p.display());
                    }
                    (p.clone(), "local".to_string())
                }
                EncoderTool::Toolchain(id) => {
                    let t = tc.require(id)?;
                    (t.path.clone(), t.version.clone())
                }
            };
            out.encoders.push(EncoderSetup { config: e.clone(), path, version });
        }
        if out.encoders.is_empty() {
            bail!("no encoder configuration matches {encoders:?}");
        }
        Ok(out)
    }
}

/// `gcc -gbtf` is one encoder per gcc release: each gcc writes its own BTF for its own builds
/// (gcc 14 and 15 write it very differently from gcc 12). The template configuration `e` becomes
/// one setup per gcc release in `compilers` (the executable is the compiler, so
/// [`crate::pipeline::encode_build`] applies it to that compiler's builds only): the system gcc
/// (the manifest's first) keeps the template's name, `gcc-btf`; the others are named
/// `gcc-btf/gcc-14`, `gcc-btf/gcc-15`. Without a gcc build in the matrix, the system gcc's alone.
fn gcc_btf_setups(e: &EncoderConfig, tc: &Toolchains, compilers: &[CompilerSetup]) -> Result<Vec<EncoderSetup>> {
    let system = tc.require_family("gcc")?;
    let mut gccs: Vec<&Tool> = Vec::new();
    for c in compilers.iter().filter(|c| c.family == generators::compile::Family::Gcc) {
        if let Some(t) = tc.tools.iter().find(|t| t.name == c.tool) {
            if !gccs.iter().any(|g| g.name == t.name) {
                gccs.push(t);
            }
        }
    }
    if gccs.is_empty() {
        gccs.push(system);
    }
    gccs.into_iter()
        .map(|t| {
            let mut config = e.clone();
            if t.name != system.name {
                config.name = format!("{}/{}", e.name, t.name).parse()?;
                config.note = format!("{} (gcc {})", e.note, t.version);
            }
            Ok(EncoderSetup { config, path: t.path.clone(), version: t.version.clone() })
        })
        .collect()
}

/// The compiler setups of `config` (each listed compiler, or every release of a family, × each
/// -O level), keeping those whose label contains one of `filters` (empty = all).
pub fn resolve_compilers(config: &Config, tc: &Toolchains, filters: &[String]) -> Result<Vec<CompilerSetup>> {
    let mut out = Vec::new();
    for c in &config.compilers {
        let tools: Vec<&Tool> = match tc.find(c) {
            Some(t) => vec![t],
            None => tc.family(c).collect(),
        };
        if tools.is_empty() {
            return Err(tc.require(c).unwrap_err().into());
        }
        for t in tools {
            for opt in &config.opt_levels {
                let name = format!("{} {opt}", t.name);
                if filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())) {
                    let family = t.family.parse().map_err(|e| anyhow::anyhow!("compiler {}: {e}", t.name))?;
                    out.push(CompilerSetup { name: name.parse()?, tool: t.name.clone(), family, path: t.path.clone(), opt: opt.clone() });
                }
            }
        }
    }
    if out.is_empty() {
        // A filter that names a toolchain id (`gcc-14`) that is not installed, or whose root is
        // gone: say what installs it.
        for f in filters {
            let f = f.trim();
            let id = f.split_whitespace().next().unwrap_or(f);
            let listed = tc.tools.iter().any(|t| t.name == id);
            let expected = crate::toolchains::EXPECTED.iter().any(|(e, _)| *e == id);
            if (listed || expected) && tc.find(id).is_none() {
                return Err(tc.require(id).unwrap_err().into());
            }
        }
        let installed: Vec<String> = config
            .compilers
            .iter()
            .flat_map(|c| tc.family(c).map(|t| t.name.to_string()).chain(tc.find(c).map(|t| t.name.to_string())))
            .collect();
        bail!("no compiler matches {filters:?} (installed: {})", installed.join(", "));
    }
    Ok(out)
}
