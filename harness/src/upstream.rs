//! `btfsmith report FINDING`: a plain-text bug report an encoder maintainer can act on without
//! btfsmith — one-line summary, tool versions and flags, the sources inline, the exact commands,
//! expected vs actual (the BTF dump lines of the FUNC, the DWARF's parameter locations, the first
//! instructions of the function), what a tracer sees, and which installed encoder releases (each
//! with the kernel's flags for it) show the same mechanism.
//!
//! Everything in it is recomputed from the finding directory (sources and recorded tools): the
//! finding is rebuilt, re-encoded and re-judged, so a report never quotes a verdict that no
//! longer reproduces.

use crate::campaign::{judge_case, CaseInput};
use crate::config::{Config, Matrix};
use crate::finding::{read_record, FindingStore};
use crate::oracle::{self, Verdict, VerdictKind};
use crate::process;
use crate::toolchains::Toolchains;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Encoder configurations a report checks for "which releases are affected": each installed pahole
/// release with the flags the kernel passes it.
const RELEASE_CONFIGS: &[&str] = &["pahole-1.24/kernel-6.1", "pahole-1.30/kernel", "pahole-1.32/kernel"];

/// Sources longer than this are attached by name, not inlined.
const INLINE_LINES: usize = 120;

/// Writes the report of the finding in `dir`.
pub fn report(dir: &Path) -> Result<String> {
    let rec = read_record(dir)?;
    let tc = Toolchains::load()?;
    for p in std::iter::once(&rec.compiler.path).chain(rec.encoders.iter().map(|e| &e.path)) {
        if !p.exists() {
            bail!("{} is not installed here: run `ci/setup` (and `cargo build --release` for btfenc)", p.display());
        }
    }

    // The judged configuration plus each release configuration that is installed.
    let mut encoders = rec.encoders.clone();
    let mut releases = Vec::new();
    if let Ok(m) = Matrix::resolve(&Config::builtin(), &tc, &RELEASE_CONFIGS.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &[]) {
        for e in m.encoders {
            releases.push(e.config.name.clone());
            if !encoders.iter().any(|x| x.config.name == e.config.name) {
                encoders.push(e);
            }
        }
    }
    let src = dir.join("src");
    let case = CaseInput { sources: rec.sources.iter().map(|s| src.join(s)).collect(), dir: src.clone(), seed: rec.seed, policy: rec.policy.clone() };
    let matrix = Matrix { compilers: vec![rec.compiler.clone()], encoders };
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let store = FindingStore::open(&scratch.path().join("findings"))?;
    let work = scratch.path().join("work");
    let outcome = judge_case(&case, &matrix, &oracle::standard(rec.verdict.oracle == "kernel-load"), &store, &work)?;
    if let Some(e) = outcome.build_errors.first() {
        bail!("the finding no longer builds: {e}");
    }
    let same = |v: &Verdict| v.kind == rec.verdict.kind && v.evidence == rec.verdict.evidence && v.function == rec.verdict.function;
    let Some(now) = outcome.verdicts.iter().find(|v| v.encoder == rec.verdict.encoder && same(v)) else {
        bail!("the finding does not reproduce any more (`{} replay {}` says why)", process::self_command(), dir.display());
    };

    let mut s = String::new();
    let judged = rec.encoders.last().context("the finding records no encoder")?;
    let function = rec.verdict.function.as_deref().unwrap_or("(the whole BTF)");
    let mechanism = if rec.verdict.evidence.is_empty() { rec.verdict.phenomenon.as_str() } else { &rec.verdict.evidence };
    writeln!(s, "Subject: {} {}: {} for {function} ({mechanism})", tool_name(judged), judged.version, rec.verdict.kind)?;
    writeln!(s)?;
    writeln!(s, "{}", meaning(rec.verdict.kind))?;
    writeln!(s)?;
    writeln!(s, "== Versions and flags")?;
    writeln!(s, "encoder:  {} {} ({}), flags: {}", tool_name(judged), judged.version, judged.config.name, judged.config.args.join(" "))?;
    writeln!(s, "compiler: {} ({})", rec.compiler.name, version_line(&rec.compiler.path))?;
    writeln!(s)?;
    writeln!(s, "== Sources")?;
    for name in &rec.sources {
        let text = std::fs::read_to_string(src.join(name)).with_context(|| format!("reading {name}"))?;
        write_source(&mut s, name, &text)?;
    }
    for h in headers(&src)? {
        let text = std::fs::read_to_string(src.join(&h))?;
        write_source(&mut s, &h, &text)?;
    }
    writeln!(s, "== Commands (from the finding directory; outputs in out/)")?;
    let script = std::fs::read_to_string(dir.join("build.sh")).unwrap_or_default();
    for line in script.lines().filter(|l| !l.starts_with("#!") && !l.trim().is_empty()) {
        writeln!(s, "  {line}")?;
    }
    writeln!(s)?;
    writeln!(s, "== Expected vs actual")?;
    for line in now.detail.lines() {
        writeln!(s, "  {line}")?;
    }
    writeln!(s)?;
    let build_dir = work.join(crate::finding::slug(&rec.compiler.name));
    if let Some(f) = rec.verdict.function.as_deref() {
        let btf_path = build_dir.join(format!("{}.btf", crate::finding::slug(&judged.config.name)));
        if let Ok(dump) = std::fs::read(&btf_path).map_err(anyhow::Error::from).and_then(|b| Ok(btf::Btf::parse(&b, None)?)) {
            writeln!(s, "BTF the encoder wrote for {f} (bpftool btf dump format):")?;
            for line in func_dump_lines(&dump, f) {
                writeln!(s, "  {line}")?;
            }
            writeln!(s)?;
        }
        let facts = facts::dwarf::read_file(&build_dir.join("prog")).ok();
        let base = f.split('.').next().unwrap_or(f);
        if let Some(facts) = &facts {
            let instances: Vec<_> = facts.functions.iter().filter(|i| i.name == base || i.symbols.iter().any(|s| s == f)).collect();
            if !instances.is_empty() {
                writeln!(s, "What the DWARF says about each body named {base} (x86-64 DWARF registers: 5 rdi, 4 rsi, 1 rdx, 2 rcx, 8 r8, 9 r9):")?;
            }
            for i in instances {
                writeln!(s, "  {} in {} at symbol(s) {}{}", i.prototype, i.cu, i.symbols.join(","), if i.nocall { ", DW_AT_calling_convention DW_CC_nocall" } else { "" })?;
                // The full System V placement where every parameter type is classified.
                let placed: Option<Vec<facts::abi::Placement>> = i.params.iter().map(|p| p.layout.clone()).collect::<Option<Vec<_>>>().map(|l| facts::abi::sysv_placement(&l));
                for (n, p) in i.params.iter().enumerate() {
                    writeln!(
                        s,
                        "    param {n} {} ({}): at entry {} [{:?}]; the ABI position says {}",
                        p.name,
                        p.ty,
                        p.location_expr,
                        p.location,
                        match (&placed, p.abi_register) {
                            (Some(pl), _) => facts::abi::describe(&pl[n]),
                            (None, Some(r)) => format!("DWARF register {r}"),
                            (None, None) => "nothing checked (an aggregate, or after one)".to_string(),
                        }
                    )?;
                }
            }
            writeln!(s)?;
        }
        let sym = facts
            .as_ref()
            .and_then(|fa| fa.attach_target(f).map(|t| t.name.clone()).or_else(|| fa.functions.iter().find(|i| i.name == base).and_then(|i| i.symbols.first().cloned())))
            .unwrap_or_else(|| f.to_string());
        let dis = crate::confirm::Disassembly::of(&build_dir.join("prog")).map(|d| d.listing(&sym, 16)).unwrap_or_default();
        if !dis.is_empty() {
            writeln!(s, "First instructions of {sym} (objdump -d --no-show-raw-insn):")?;
            for line in dis {
                writeln!(s, "  {line}")?;
            }
            writeln!(s)?;
        }
    }
    writeln!(s, "== Affected releases (each with the kernel's flags for it; same verdict and mechanism)")?;
    for r in &releases {
        let hit = outcome.verdicts.iter().any(|v| &v.encoder == r && same(v));
        writeln!(s, "  {r:<26} {}", if hit { "affected" } else { "not affected" })?;
    }
    if releases.is_empty() {
        writeln!(s, "  (no pahole release installed: run ci/setup)")?;
    }
    writeln!(s)?;
    writeln!(s, "Found and checked by btfsmith {} (`{} replay {}`).", env!("CARGO_PKG_VERSION"), process::self_command(), process::quote(&dir.to_string_lossy()))?;
    Ok(s)
}

fn tool_name(e: &crate::config::EncoderSetup) -> String {
    if e.config.tool.is_pahole() {
        "pahole".to_string()
    } else {
        e.config.tool.to_string()
    }
}

/// What the verdict means for someone attaching a tracer.
fn meaning(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::UnsafeOptimized => {
            "What a tracer sees: an fentry/fexit program attached through this FUNC reads its arguments where the FUNC's prototype puts them, but the compiled function does not receive them there: the values it reads are not the arguments."
        }
        VerdictKind::WrongProto => "What a tracer sees: the FUNC's prototype is not the prototype of the function the kernel attaches to under that name: arguments are read with the wrong types and positions.",
        VerdictKind::Ambiguous => "What a tracer sees: several functions carry this name with different prototypes; the kernel attaches to the first by address, and the one FUNC cannot describe both.",
        VerdictKind::ReturnDropped => "What a tracer sees: arguments are read right, but the compiler dropped the return value, so what an fexit program reads as the return value is whatever the register held.",
        VerdictKind::EncoderMisbehaved => "What a user sees: the encoder's exit status, its messages and its output file disagree; the output cannot be trusted as it is.",
        VerdictKind::NonDeterministic => "What a user sees: the same input gives different BTF from run to run (or with and without threads): builds are not reproducible and the content can change.",
        VerdictKind::LoadRejected => "What a user sees: the kernel (or libbpf) refuses the BTF, so none of it is available to tracers.",
        _ => "",
    }
}

/// First line of `PATH --version`.
fn version_line(path: &Path) -> String {
    let cmd = process::command(path, ["--version"], None);
    process::run(cmd, Duration::from_secs(20)).map(|r| r.stdout_text().lines().next().unwrap_or("").to_string()).unwrap_or_default()
}

fn headers(src: &Path) -> Result<Vec<String>> {
    let mut v: Vec<String> = std::fs::read_dir(src)?.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".h")).collect();
    v.sort();
    Ok(v)
}

fn write_source(s: &mut String, name: &str, text: &str) -> Result<()> {
    let n = text.lines().count();
    if n > INLINE_LINES {
        writeln!(s, "--- {name}: {n} lines, attached (not inlined); `btfsmith minimize` shrinks it")?;
        return Ok(());
    }
    writeln!(s, "--- {name}")?;
    for line in text.lines() {
        writeln!(s, "{line}")?;
    }
    writeln!(s)?;
    Ok(())
}

/// The dump lines of every FUNC named `name` and its FUNC_PROTO, as bpftool prints them.
fn func_dump_lines(b: &btf::Btf, name: &str) -> Vec<String> {
    let dump = btf::dump::dump_to_string(b);
    let mut out = Vec::new();
    let mut protos = Vec::new();
    let blocks = blocks(&dump);
    for block in &blocks {
        if block[0].contains(&format!("] FUNC '{name}' ")) {
            if let Some(t) = block[0].split("type_id=").nth(1).and_then(|t| t.split_whitespace().next()) {
                protos.push(format!("[{t}] "));
            }
            out.extend(block.iter().cloned());
        }
    }
    for block in &blocks {
        if protos.iter().any(|p| block[0].starts_with(p.as_str())) {
            out.extend(block.iter().cloned());
        }
    }
    out
}

/// Splits a bpftool-style dump into one block per type (its `[id]` line and indented members).
fn blocks(dump: &str) -> Vec<Vec<String>> {
    let mut v: Vec<Vec<String>> = Vec::new();
    for line in dump.lines() {
        if line.starts_with('[') || v.is_empty() {
            v.push(vec![line.to_string()]);
        } else if let Some(last) = v.last_mut() {
            last.push(line.to_string());
        }
    }
    v
}
