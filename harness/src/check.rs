//! `btfsmith check` (a user's own C files through the pipeline; `--runtime`: as a kernel module
//! through the guest) and `btfsmith replay` (re-run a finding and confirm or refute it).

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
    copy_headers(files, &case_dir)?;
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

/// Copies the headers next to `files` into `to` (generated programs include prog.h).
fn copy_headers(files: &[PathBuf], to: &Path) -> Result<()> {
    for dir in files.iter().filter_map(|f| f.parent()).collect::<std::collections::BTreeSet<_>>() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let p = entry?.path();
            if p.extension().is_some_and(|e| e == "h") {
                std::fs::copy(&p, to.join(p.file_name().unwrap_or_default()))?;
            }
        }
    }
    Ok(())
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
    if let Some(module) = &rec.module {
        return replay_module(dir, &rec, module);
    }
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

/// How many times a runtime replay encodes the module with the recorded configuration, all in
/// one boot: some encoders (pahole 1.24 `-j`) do not give the same BTF every run, and a finding
/// counts as reproduced when one of the encodings shows it again.
pub const RUNTIME_REPLAY_ENCODINGS: usize = 3;

/// Replays a runtime finding: rebuilds the module from `src/` (or takes the recorded `.ko`),
/// encodes it [`RUNTIME_REPLAY_ENCODINGS`] times with the recorded configuration, boots the
/// guest and judges again.
fn replay_module(dir: &Path, rec: &crate::finding::FindingRecord, module: &crate::finding::ModuleRecord) -> Result<Replay> {
    let encoder = rec.encoders.last().context("the finding names no encoder")?;
    if !encoder.path.exists() {
        bail!("{} is not installed here: run `ci/setup` (and `cargo build --release` for btfenc)", encoder.path.display());
    }
    let env = crate::vm::guest::GuestEnv::discover()?;
    if env.kernel.version != module.kernel {
        bail!("the finding was judged in kernel {}, `ci/setup` installed {}", module.kernel, env.kernel.version);
    }
    let scratch = tempfile::tempdir().context("creating a scratch directory")?;
    let ko = match &module.prebuilt {
        Some(ko) => dir.join("src").join(ko),
        None => build_module_sources(&dir.join("src"), module, &scratch.path().join("build"), &env.kernel)?,
    };
    let mut case = crate::vm::Case::load(&module.name, &ko, module.expected.clone())?;
    case.label = dir.file_name().map_or_else(|| "finding".into(), |n| n.to_string_lossy().into_owned());
    let encoders = vec![encoder.clone(); RUNTIME_REPLAY_ENCODINGS];
    let runner = crate::vm::Runner::new(env, scratch.path().join("vm"));
    let report = crate::vm_campaign::run_judged(&runner, &[case], &encoders)?;
    let verdicts: Vec<Verdict> = report.verdicts.into_iter().map(|v| v.verdict).collect();
    let confirmed = verdicts.iter().any(|v| v.signature() == rec.signature && v.function == rec.verdict.function);
    let verdicts = verdicts.into_iter().filter(|v| v.kind.is_finding()).collect();
    Ok(Replay { dir: dir.to_path_buf(), signature: rec.signature.clone(), confirmed, verdicts })
}

/// Builds a module from the sources of a runtime finding (or of `check --runtime`) under
/// `root/<name>/` with kbuild; returns the `.ko`.
pub fn build_module_sources(src: &Path, module: &crate::finding::ModuleRecord, root: &Path, kernel: &crate::toolchains::Kernel) -> Result<PathBuf> {
    let dir = root.join(&module.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "c" || e == "h") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap_or_default()))?;
        }
    }
    let ms = crate::vm::kbuild::ModuleSource { name: module.name.clone(), objects: module.objects.clone(), extra: module.extra.clone() };
    let root = root.canonicalize()?;
    crate::vm::kbuild::build_modules(&root, &[ms], kernel, 2)
        .pop()
        .context("kbuild returned nothing")?
        .map_err(|e| anyhow::Error::new(ModuleBuildFailed(e)))
}

/// kbuild refused the sources (a compile or modpost error): the input's fault, not the
/// harness's; the minimizer treats it as "does not reproduce".
#[derive(Debug, thiserror::Error)]
#[error("the module does not build: {0}")]
pub struct ModuleBuildFailed(pub String);

/// The module name `check --runtime` gives the user's sources.
pub const CHECK_MODULE: &str = "bscheck_00";

/// What `btfsmith check --runtime` runs.
#[derive(Debug)]
pub enum RuntimeInput<'a> {
    /// C files of kernel code, built as one module with a trigger btfsmith adds.
    Sources(&'a [PathBuf]),
    /// A module built elsewhere, with DWARF.
    Ko(&'a Path),
}

/// The trigger `check --runtime` adds to the user's sources: a debugfs file whose write handler
/// calls `btfsmith_trigger()` when the sources define it (the agent writes one byte to it after
/// attaching the probes).
fn trigger_source(calls_user: bool) -> String {
    let (decl, call) = if calls_user { ("void btfsmith_trigger(void);\n", "\tbtfsmith_trigger();\n") } else { ("", "") };
    format!(
        "// SPDX-License-Identifier: GPL-2.0\n// Added by `btfsmith check --runtime`: the trigger the guest agent writes to.\n#include <linux/module.h>\n#include <linux/debugfs.h>\n#include <linux/fs.h>\n\n{decl}\nstatic noinline ssize_t bs_trigger_write(struct file *f, const char __user *buf, size_t len, loff_t *off)\n{{\n{call}\treturn len;\n}}\n\nstatic const struct file_operations bs_fops = {{ .owner = THIS_MODULE, .write = bs_trigger_write }};\nstatic struct dentry *bs_dir;\n\nstatic int __init bs_init(void)\n{{\n\tbs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);\n\tdebugfs_create_file(\"trigger\", 0200, bs_dir, NULL, &bs_fops);\n\treturn 0;\n}}\n\nstatic void __exit bs_exit(void)\n{{\n\tdebugfs_remove_recursive(bs_dir);\n}}\n\nmodule_init(bs_init);\nmodule_exit(bs_exit);\nMODULE_LICENSE(\"GPL\");\n"
    )
}

/// `btfsmith check --runtime`: the user's module through every configuration and the guest;
/// runtime findings go to `out/findings/`. Returns the verdicts (MISSED, SAFE, UNCHECKED
/// included).
pub fn check_runtime(input: RuntimeInput<'_>, matrix: &Matrix, out: &Path) -> Result<Vec<Verdict>> {
    let env = crate::vm::guest::GuestEnv::discover()?;
    let mut encoders = matrix.encoders.clone();
    encoders.retain(|e| crate::vm_campaign::embeds_in_modules(&e.config.tool));
    if encoders.is_empty() {
        bail!("no encoder configuration can embed split BTF into a module (gcc -gbtf cannot)");
    }
    let case_root = out.join("case");
    let _ = std::fs::remove_dir_all(&case_root);
    std::fs::create_dir_all(&case_root).with_context(|| format!("creating {}", case_root.display()))?;
    let case_root = case_root.canonicalize()?;
    let (record, src_dir, ko) = match input {
        RuntimeInput::Sources(files) => {
            if files.is_empty() {
                bail!("no C files given");
            }
            let dir = case_root.join(CHECK_MODULE);
            std::fs::create_dir_all(&dir)?;
            let mut objects = Vec::new();
            let mut calls_user = false;
            let mut own_init = false;
            for f in files {
                let name = f.file_name().with_context(|| format!("{} is not a file", f.display()))?.to_string_lossy().into_owned();
                if name == "bs_main.c" {
                    // The trigger an earlier `check --runtime` added (a finding's src/): added again.
                    continue;
                }
                if dir.join(&name).exists() {
                    bail!("two inputs are named {name}: rename one");
                }
                let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
                // A generated module (or one written like it) brings its own module_init and
                // debugfs trigger; it must live under the module's own name in the guest.
                own_init |= text.contains("module_init(");
                calls_user |= text.contains("btfsmith_trigger");
                std::fs::write(dir.join(&name), text.replace("debugfs_create_dir(\"btfsmith\", NULL)", "debugfs_create_dir(KBUILD_MODNAME, NULL)"))?;
                objects.push(format!("{}.o", name.trim_end_matches(".c")));
            }
            // A generated module's ground truth and per-object flags come along.
            let parent = files[0].parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let truth: Option<generators::truth::GroundTruth> = match std::fs::read_to_string(parent.join("ground_truth.json")) {
                Ok(t) => Some(serde_json::from_str(&t).with_context(|| format!("parsing {}", parent.join("ground_truth.json").display()))?),
                Err(_) => None,
            };
            if truth.is_some() {
                std::fs::copy(parent.join("ground_truth.json"), dir.join("ground_truth.json"))?;
            }
            let extra = match std::fs::read_to_string(parent.join("Kbuild")) {
                Ok(kb) => crate::vm::kbuild::ModuleSource::from_generated_kbuild(CHECK_MODULE, &kb).extra,
                Err(_) => Vec::new(),
            };
            copy_headers(files, &dir)?;
            if !own_init {
                std::fs::write(dir.join("bs_main.c"), trigger_source(calls_user))?;
                objects.push("bs_main.o".into());
            }
            let record = crate::finding::ModuleRecord {
                name: CHECK_MODULE.into(),
                objects,
                extra,
                prebuilt: None,
                kernel: env.kernel.version.clone(),
                // The trigger's own handler is the one call whose arguments are known, unless a
                // generated module's ground truth says more.
                expected: if let Some(t) = &truth { crate::vm::Expected::from_truth(t) } else { crate::vm::Expected {
                    calls: vec![crate::vm::ExpectedCall {
                        name: "bs_trigger_write".into(),
                        tu: "bs_main.c".into(),
                        params: Vec::new(),
                        args: {
                            use generators::model::Value;
                            let nonnull = || Value::Ptr(Box::new(Value::Int(0)));
                            vec![nonnull(), nonnull(), Value::Int(1), nonnull()]
                        },
                    }],
                    internal: Default::default(),
                    logged_returns: Vec::new(),
                } },
            };
            let ko = build_module_sources(&dir, &record, &case_root.join("build"), &env.kernel)?;
            (record, dir, ko)
        }
        RuntimeInput::Ko(ko) => {
            let file = ko.file_name().with_context(|| format!("{} is not a file", ko.display()))?.to_string_lossy().into_owned();
            let bytes = std::fs::read(ko).with_context(|| format!("reading {}", ko.display()))?;
            let name = crate::vm::kbuild::module_name(&bytes).with_context(|| format!("{}: no `name=` in .modinfo: is it a kernel module?", ko.display()))?;
            // One renamed copy per configuration stays loaded in the guest, so the name must
            // end in `_00`; renaming keeps its length (every occurrence in the file changes).
            let placeholder = crate::vm::kbuild::NAME_PLACEHOLDER;
            let renamed = if name.ends_with(placeholder) {
                name.clone()
            } else if name.len() > placeholder.len() && name.is_char_boundary(name.len() - placeholder.len()) {
                format!("{}{placeholder}", &name[..name.len() - placeholder.len()])
            } else {
                bail!("{}: module name {name:?} is too short to rename for the guest", ko.display());
            };
            let mut bytes = bytes;
            if renamed != name && crate::vm::kbuild::rename_module(&mut bytes, &name, &renamed) == 0 {
                bail!("{}: could not rename module {name}", ko.display());
            }
            let dir = case_root.join("prebuilt");
            std::fs::create_dir_all(&dir)?;
            let copy = dir.join(&file);
            std::fs::write(&copy, &bytes)?;
            let record = crate::finding::ModuleRecord {
                name: renamed,
                objects: Vec::new(),
                extra: Vec::new(),
                prebuilt: Some(file),
                kernel: env.kernel.version.clone(),
                expected: crate::vm::Expected::default(),
            };
            (record, dir, copy)
        }
    };
    let mut case = crate::vm::Case::load(&record.name, &ko, record.expected.clone())?;
    case.label = "check".into();
    let runner = crate::vm::Runner::new(env.clone(), out.join("vm").canonicalize().or_else(|_| {
        std::fs::create_dir_all(out.join("vm"))?;
        out.join("vm").canonicalize()
    })?);
    let execution = runner.run(&[case], &encoders)?;
    let report = crate::vm_campaign::judge(&execution);
    let store = FindingStore::open(&out.join("findings"))?;
    let origin = crate::vm_campaign::ModuleOrigin { dir: src_dir, record, seed: None, policy: None };
    crate::vm_campaign::record_findings(&execution, &report, &store, &env.kernel, |_| Ok(origin.clone()))?;
    Ok(report.verdicts.into_iter().map(|v| v.verdict).collect())
}
