//! The regression corpus: one directory per case, C sources plus a `CASE` file of directives.
//!
//! ```text
//! what: two static dup_fn with different prototypes in two files (the seed's hazard)
//! compilers: gcc-12 -O2
//! expect: pahole-1.24/kernel-6.1 dup_fn has AMBIGUOUS|WRONG_PROTO
//! expect: pahole-1.30/kernel dup_fn = none
//! expect: btfenc * = safe
//! known-bug: https://lore.kernel.org/...   (optional)
//! fixed-by: pahole v1.25 "btf_encoder: skip inconsistent prototypes"   (optional)
//! ```
//!
//! The set of directives is closed ([`DIRECTIVES`]); an unknown one is an error, not ignored.
//! `expect: ENCODER FUNCTION OP VERDICTS`:
//! - `= K1,K2` — the finding verdicts (MISSED counts only when listed) about FUNCTION are exactly
//!   these; `= none` means no verdict at all (MISSED included); `= safe` means no unsafe verdict;
//!   `= A|B` accepts either outcome (pahole 1.24 `-j` varies from run to run);
//! - `has K1|K2` — at least one of these (for encoders that vary from run to run).
//!
//! `mechanism: ENCODER FUNCTION M1|M2` — there is a finding verdict about FUNCTION and each
//! (UNEXPLAINED_DIFF, the differential's view of a difference, aside) names
//! one of these mechanisms (`nocall:param-dropped`, `piece:scalarised-struct`, ...): the evidence
//! kind, so a case pins down *why* an encoder is wrong, not only that it is.
//!
//! `runtime: module` — the sources are kernel code: built as one module (btfsmith adds the
//! trigger, which calls `btfsmith_trigger()` when a source defines it), every configuration's
//! split BTF embedded, every FUNC attached with fentry (fexit where the return value is judged)
//! in the guest kernel, and the expectations are about the runtime oracle's verdicts
//! (WRONG_FUNCTION, WRONG_ARGS, WRONG_RETURN, SAFE, ...); SAFE, UNCHECKED and UNSUPPORTED, like
//! MISSED, count only when listed.
//!
//! FUNCTION `*` means every function (and verdicts about no function). ENCODER is a
//! configuration name from the campaign configuration. `BTFSMITH_BLESS=1` rewrites the `=` lines
//! from what the tools do now; it never runs unless asked.

use crate::campaign::{judge_case, CaseInput};
use crate::config::{Config, Matrix};
use crate::finding::FindingStore;
use crate::names::EncoderName;
use crate::oracle::{self, Verdict, VerdictKind};
use crate::toolchains::Toolchains;
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every directive a `CASE` file may use.
pub const DIRECTIVES: &[&str] = &[
    "what",
    "compilers",
    "expect",
    "mechanism",
    "known-bug",
    "fixed-by",
    "runtime",
];

/// How an expectation compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// One of these outcomes: each exactly a set of finding kinds (MISSED included when listed),
    /// the empty set meaning no verdict at all.
    Exactly(Vec<BTreeSet<VerdictKind>>),
    /// No unsafe verdict.
    Safe,
    /// At least one of these.
    Has(BTreeSet<VerdictKind>),
}

/// One `expect:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// Encoder configuration.
    pub encoder: EncoderName,
    /// Function, or `*`.
    pub function: String,
    /// What must hold.
    pub expectation: Expectation,
}

/// A parsed corpus case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its directory.
    pub dir: PathBuf,
    /// One line on what it shows.
    pub what: String,
    /// Compiler setups (`gcc-12 -O2`); toolchain id or family, then the -O flag.
    pub compilers: Vec<(String, String)>,
    /// Expectations.
    pub expects: Vec<Expect>,
    /// `mechanism: ENCODER FUNCTION M1|M2`: there is a finding verdict about FUNCTION, and every
    /// one names one of these mechanisms (its evidence kind).
    pub mechanisms: Vec<(EncoderName, String, BTreeSet<String>)>,
    /// Upstream report, if any.
    pub known_bug: Option<String>,
    /// Fixing commit, if any.
    pub fixed_by: Option<String>,
    /// `runtime: module`: the sources are kernel code, built as one module (with the trigger
    /// `check --runtime` adds) and judged by the runtime oracle in the guest; the expectations
    /// are about runtime verdicts.
    pub runtime: bool,
}

fn parse_kinds(text: &str, sep: char) -> Result<BTreeSet<VerdictKind>> {
    text.split(sep)
        .map(|k| k.trim().parse::<VerdictKind>().map_err(|_| anyhow::anyhow!("unknown verdict {k:?}")))
        .collect()
}

impl Case {
    /// Reads `dir/CASE`.
    pub fn load(dir: &Path) -> Result<Case> {
        let path = dir.join("CASE");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut case = Case {
            dir: dir.to_path_buf(),
            what: String::new(),
            compilers: Vec::new(),
            expects: Vec::new(),
            mechanisms: Vec::new(),
            known_bug: None,
            fixed_by: None,
            runtime: false,
        };
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("{}:{}", path.display(), n + 1);
            let (key, value) = line
                .split_once(':')
                .with_context(|| format!("{}: expected `directive: value`", at()))?;
            let value = value.trim();
            match key.trim() {
                "what" => case.what = value.to_string(),
                "known-bug" => case.known_bug = Some(value.to_string()),
                "fixed-by" => case.fixed_by = Some(value.to_string()),
                "runtime" if value == "module" => case.runtime = true,
                "runtime" => bail!("{}: the only runtime case is `runtime: module`", at()),
                "compilers" => {
                    for c in value.split(',') {
                        let mut parts = c.split_whitespace();
                        let tool = parts
                            .next()
                            .with_context(|| format!("{}: empty compiler", at()))?;
                        let opt = parts.next().unwrap_or("-O2");
                        case.compilers.push((tool.to_string(), opt.to_string()));
                    }
                }
                "expect" => {
                    let words: Vec<&str> = value.split_whitespace().collect();
                    let [encoder, function, op, verdicts] = words[..] else {
                        bail!(
                            "{}: expected `expect: ENCODER FUNCTION (=|has) VERDICTS`",
                            at()
                        );
                    };
                    let expectation = match (op, verdicts) {
                        ("=", "safe") => Expectation::Safe,
                        ("=", v) => Expectation::Exactly(
                            v.split('|')
                                .map(|alt| {
                                    if alt == "none" {
                                        Ok(BTreeSet::new())
                                    } else {
                                        parse_kinds(alt, ',')
                                    }
                                })
                                .collect::<Result<_>>()
                                .with_context(at)?,
                        ),
                        ("has", v) => Expectation::Has(parse_kinds(v, '|').with_context(at)?),
                        _ => bail!("{}: operator must be `=` or `has`", at()),
                    };
                    case.expects.push(Expect {
                        encoder: encoder.parse().with_context(at)?,
                        function: function.to_string(),
                        expectation,
                    });
                }
                "mechanism" => {
                    let words: Vec<&str> = value.split_whitespace().collect();
                    let [encoder, function, mechanisms] = words[..] else {
                        bail!("{}: expected `mechanism: ENCODER FUNCTION M1|M2`", at());
                    };
                    case.mechanisms.push((
                        encoder.parse().with_context(at)?,
                        function.to_string(),
                        mechanisms.split('|').map(str::to_string).collect(),
                    ));
                }
                other => bail!(
                    "{}: unknown directive `{other}` (known: {})",
                    at(),
                    DIRECTIVES.join(", ")
                ),
            }
        }
        if case.what.is_empty() {
            bail!("{}: missing `what:`", path.display());
        }
        if case.compilers.is_empty() {
            case.compilers.push(("gcc".into(), "-O2".into()));
        }
        Ok(case)
    }

    /// The compiler setups of the case's `compilers:` line. A family (`gcc -O2`) means the
    /// release the case was recorded with, the family's first in the manifest (the system's gcc
    /// 12, clang 14), not every release ci/setup installs: gcc 14 and 15 clone differently, and
    /// the expectations are gcc 12's.
    pub fn compiler_setups(&self, tc: &Toolchains) -> Result<Vec<crate::config::CompilerSetup>> {
        let mut out = Vec::new();
        for (tool, opt) in &self.compilers {
            let tool = match tc.find(tool) {
                Some(_) => tool.clone(),
                None => tc.family(tool).next().map_or_else(|| tool.clone(), |t| t.name.to_string()),
            };
            let c = Config { compilers: vec![tool], opt_levels: vec![opt.clone()], encoders: Vec::new() };
            out.extend(crate::config::resolve_compilers(&c, tc, &[])?);
        }
        Ok(out)
    }

    /// The C sources, sorted by name (link order).
    pub fn sources(&self) -> Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "c"))
            .collect();
        v.sort();
        if v.is_empty() {
            bail!("{}: no .c files", self.dir.display());
        }
        Ok(v)
    }
}

/// Case directories under `root` (itself if it has a `CASE`).
pub fn cases(root: &Path) -> Result<Vec<PathBuf>> {
    if root.join("CASE").exists() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| format!("reading {}", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("CASE").exists())
        .collect();
    v.sort();
    Ok(v)
}

/// True when `root` looks like a corpus (or one case).
pub fn is_corpus(root: &Path) -> bool {
    cases(root).is_ok_and(|c| !c.is_empty())
}

/// The outcome of replaying one case.
#[derive(Debug)]
pub struct CaseResult {
    /// The case.
    pub case: Case,
    /// Every verdict.
    pub verdicts: Vec<Verdict>,
    /// Expectations that did not hold, as readable lines.
    pub failures: Vec<String>,
}

fn about<'a>(verdicts: &'a [Verdict], e: &'a Expect) -> impl Iterator<Item = &'a Verdict> + 'a {
    verdicts.iter().filter(move |v| {
        v.encoder == e.encoder
            && (e.function == "*" || v.function.as_deref() == Some(e.function.as_str()))
    })
}

/// Checks one expectation against the verdicts.
pub fn check_expect(verdicts: &[Verdict], e: &Expect) -> Option<String> {
    let got: BTreeSet<VerdictKind> = about(verdicts, e).map(|v| v.kind).collect();
    let ok = match &e.expectation {
        Expectation::Safe => got.iter().all(|k| !k.is_unsafe()),
        Expectation::Exactly(alternatives) => alternatives.iter().any(|want| {
            // `none` (empty) means nothing at all; otherwise the kinds that are no finding
            // (MISSED, and the runtime's SAFE, UNCHECKED, UNSUPPORTED) count only when listed.
            let relevant: BTreeSet<VerdictKind> = got
                .iter()
                .copied()
                .filter(|k| want.is_empty() || k.is_finding() || want.contains(k))
                .collect();
            &relevant == want
        }),
        Expectation::Has(any) => got.iter().any(|k| any.contains(k)),
    };
    if ok {
        return None;
    }
    let details: Vec<String> = about(verdicts, e)
        .map(|v| {
            format!(
                "    {} ({}): {}",
                v.kind,
                v.compiler,
                v.detail.lines().next().unwrap_or("")
            )
        })
        .collect();
    Some(format!(
        "expect: {} {} {:?} — got {:?}\n{}",
        e.encoder,
        e.function,
        e.expectation,
        got,
        details.join("\n")
    ))
}

/// Checks one `mechanism:` line: some finding verdict about the function, each naming one of the
/// mechanisms.
pub fn check_mechanism(
    verdicts: &[Verdict],
    encoder: &EncoderName,
    function: &str,
    want: &BTreeSet<String>,
) -> Option<String> {
    let e = Expect {
        encoder: encoder.clone(),
        function: function.into(),
        expectation: Expectation::Safe,
    };
    // UNEXPLAINED_DIFF is the differential's view of a difference, not a mechanism of its own.
    let got: Vec<&Verdict> = about(verdicts, &e)
        .filter(|v| v.kind.is_finding() && v.kind != VerdictKind::UnexplainedDiff)
        .collect();
    if !got.is_empty() && got.iter().all(|v| want.contains(&v.evidence)) {
        return None;
    }
    let seen: Vec<String> = got
        .iter()
        .map(|v| format!("    {} {}", v.kind, v.evidence))
        .collect();
    Some(format!(
        "mechanism: {encoder} {function} {want:?} — got {}\n{}",
        if got.is_empty() {
            "no finding verdict"
        } else {
            "other mechanisms"
        },
        seen.join("\n")
    ))
}

/// Runs one case: its compilers × the encoders its expectations name, all static oracles.
pub fn run_case(
    dir: &Path,
    tc: &Toolchains,
    config: &Config,
    kernel_load: bool,
) -> Result<CaseResult> {
    let case = Case::load(dir)?;
    let encoders: BTreeSet<EncoderName> = case
        .expects
        .iter()
        .map(|e| e.encoder.clone())
        .chain(case.mechanisms.iter().map(|m| m.0.clone()))
        .collect();
    let mut cfg = config.clone();
    cfg.encoders.retain(|e| encoders.contains(e.name.as_str()));
    for name in &encoders {
        if !cfg.encoders.iter().any(|e| &e.name == name) {
            bail!(
                "{}: no encoder configuration named {name} (see `btfsmith dump-config`)",
                dir.display()
            );
        }
    }
    let mut matrix = Matrix::resolve(&cfg, tc, &[], &[])?;
    let scratch = tempfile::tempdir()?;
    if case.runtime {
        let sources = case.sources()?;
        let verdicts = crate::check::check_runtime(crate::check::RuntimeInput::Sources(&sources), &matrix, scratch.path())
            .with_context(|| format!("{}: the runtime oracle", dir.display()))?;
        let mut failures: Vec<String> = case.expects.iter().filter_map(|e| check_expect(&verdicts, e)).collect();
        failures.extend(case.mechanisms.iter().filter_map(|(enc, f, m)| check_mechanism(&verdicts, enc, f, m)));
        return Ok(CaseResult { case, verdicts, failures });
    }
    matrix.compilers = case.compiler_setups(tc)?;
    let store = FindingStore::open(&scratch.path().join("findings"))?;
    let input = CaseInput {
        dir: dir.to_path_buf(),
        sources: case.sources()?,
        seed: None,
        policy: None,
    };
    let outcome = judge_case(
        &input,
        &matrix,
        &oracle::standard(kernel_load),
        &store,
        &scratch.path().join("work"),
    )?;
    if let Some(e) = outcome.build_errors.first() {
        bail!("{}: does not build: {e}", dir.display());
    }
    let mut failures: Vec<String> = case
        .expects
        .iter()
        .filter_map(|e| check_expect(&outcome.verdicts, e))
        .collect();
    failures.extend(
        case.mechanisms
            .iter()
            .filter_map(|(enc, f, m)| check_mechanism(&outcome.verdicts, enc, f, m)),
    );
    Ok(CaseResult {
        case,
        verdicts: outcome.verdicts,
        failures,
    })
}

/// Rewrites the `=` expectations of a case from `verdicts` (the bless step).
pub fn bless(case: &Case, verdicts: &[Verdict]) -> Result<()> {
    let path = case.dir.join("CASE");
    let text = std::fs::read_to_string(&path)?;
    let mut out = String::new();
    for line in text.lines() {
        let rewritten = line.trim().strip_prefix("expect:").and_then(|rest| {
            let words: Vec<&str> = rest.split_whitespace().collect();
            // `= safe` states an intent, and `A|B` knowledge of a run-to-run variation, not an
            // observation: bless leaves them alone.
            let [encoder, function, "=", value] = words[..] else {
                return None;
            };
            if value == "safe" || value.contains('|') {
                return None;
            }
            let e = Expect {
                // A name `Case::load` would refuse: leave the line as it is.
                encoder: encoder.parse().ok()?,
                function: function.into(),
                expectation: Expectation::Safe,
            };
            let got: BTreeSet<VerdictKind> = about(verdicts, &e)
                .map(|v| v.kind)
                .filter(|k| k.is_finding())
                .collect();
            // Without a finding: MISSED, else the runtime's informative kinds (SAFE, ...).
            let missed = about(verdicts, &e).any(|v| v.kind == VerdictKind::Missed);
            let informative: BTreeSet<VerdictKind> = about(verdicts, &e).map(|v| v.kind).collect();
            let value = if got.is_empty() && informative.is_empty() {
                "none".to_string()
            } else if got.is_empty() && missed {
                "MISSED".to_string()
            } else if got.is_empty() {
                informative.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
            } else {
                got.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
            };
            Some(format!("expect: {encoder} {function} = {value}"))
        });
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    std::fs::write(&path, out)?;
    Ok(())
}
