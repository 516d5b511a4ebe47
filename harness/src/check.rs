//! `btfsmith check` (a user's own C files through the pipeline) and `btfsmith replay` (re-run a
//! finding and confirm or refute it).

use crate::campaign::{judge_case, CaseInput};
use crate::config::Matrix;
use crate::finding::{read_record, FindingStore};
use crate::oracle::{self, Verdict};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Runs the static oracles on `files` (copied into `out/case/`), writing findings to
/// `out/findings/`. Returns the verdicts (MISSED included).
pub fn check(files: &[PathBuf], matrix: &Matrix, kernel_load: bool, out: &Path) -> Result<Vec<Verdict>> {
    if files.is_empty() {
        bail!("no C files given");
    }
    let case_dir = out.join("case");
    let _ = std::fs::remove_dir_all(&case_dir);
    std::fs::create_dir_all(&case_dir).with_context(|| format!("creating {}", case_dir.display()))?;
    let mut sources = Vec::new();
    for f in files {
        let name = f.file_name().with_context(|| format!("{} is not a file", f.display()))?;
        let dest = case_dir.join(name);
        if sources.contains(&dest) {
            bail!("two inputs are named {}: rename one", name.to_string_lossy());
        }
        std::fs::copy(f, &dest).with_context(|| format!("reading {}", f.display()))?;
        sources.push(dest);
    }
    // Headers next to the sources come along (generated programs include prog.h).
    for dir in files.iter().filter_map(|f| f.parent()).collect::<std::collections::BTreeSet<_>>() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let p = entry?.path();
            if p.extension().is_some_and(|e| e == "h") {
                std::fs::copy(&p, case_dir.join(p.file_name().unwrap_or_default()))?;
            }
        }
    }
    let case = CaseInput { dir: case_dir, sources, seed: None, policy: None };
    let store = FindingStore::open(&out.join("findings"))?;
    let outcome = judge_case(&case, matrix, &oracle::standard(kernel_load), &store, &out.join("work"))?;
    let _ = std::fs::remove_dir_all(out.join("work"));
    if outcome.verdicts.is_empty() && !outcome.build_errors.is_empty() {
        bail!("the sources do not build:\n{}", outcome.build_errors.join("\n"));
    }
    for e in &outcome.build_errors {
        eprintln!("btfsmith: warning: build failed: {e}");
    }
    Ok(outcome.verdicts)
}

/// The outcome of replaying one finding.
#[derive(Debug)]
pub struct Replay {
    /// The finding directory.
    pub dir: PathBuf,
    /// Its signature.
    pub signature: String,
    /// True when the same verdict (signature and function) came back.
    pub confirmed: bool,
    /// What the oracles said this time about the same encoder.
    pub verdicts: Vec<Verdict>,
}

/// Finding directories under `path`: itself if it holds a `verdict.json`, else its children
/// (and a campaign's `findings/`).
pub fn finding_dirs(path: &Path) -> Result<Vec<PathBuf>> {
    if path.join("verdict.json").exists() {
        return Ok(vec![path.to_path_buf()]);
    }
    let root = if path.join("findings").is_dir() { path.join("findings") } else { path.to_path_buf() };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .with_context(|| format!("reading {}", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("verdict.json").exists())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        bail!("no finding (verdict.json) under {}", path.display());
    }
    Ok(dirs)
}

/// Rebuilds and re-encodes a finding from its own directory with the recorded tools, reruns the
/// oracles, and looks for the same verdict.
pub fn replay(dir: &Path, kernel_load: bool) -> Result<Replay> {
    let rec = read_record(dir)?;
    for p in std::iter::once(&rec.compiler.path).chain(rec.encoders.iter().map(|e| &e.path)) {
        if !p.exists() {
            bail!("{} is not installed here: run `ci/setup` (and `cargo build --release` for btfenc)", p.display());
        }
    }
    let src = dir.join("src");
    let case = CaseInput {
        sources: rec.sources.iter().map(|s| src.join(s)).collect(),
        dir: src,
        seed: rec.seed,
        policy: rec.policy.clone(),
    };
    let matrix = Matrix { compilers: vec![rec.compiler.clone()], encoders: rec.encoders.clone() };
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let store = FindingStore::open(&scratch.path().join("findings"))?;
    let outcome = judge_case(&case, &matrix, &oracle::standard(kernel_load), &store, &scratch.path().join("work"))?;
    if let Some(e) = outcome.build_errors.first() {
        bail!("the finding no longer builds: {e}");
    }
    let confirmed = outcome.verdicts.iter().any(|v| v.signature() == rec.signature && v.function == rec.verdict.function);
    let verdicts = outcome.verdicts.into_iter().filter(|v| v.encoder == rec.verdict.encoder && v.kind.is_finding()).collect();
    Ok(Replay { dir: dir.to_path_buf(), signature: rec.signature, confirmed, verdicts })
}
