//! Findings: one self-contained directory per distinct signature, written atomically.
//!
//! ```text
//! findings/<slug>/
//!   verdict.json     the verdict, its signature, the exact compiler and encoder setups, seed
//!   src/             the C sources (and ground_truth.json for generated programs)
//!   build.sh         the exact compile, link and encode commands, runnable from the directory
//!   outputs/         the encoder's BTF, its stderr, the DWARF facts
//!   diff.txt         what the oracle saw
//! ```
//! A runtime finding (a kernel module's FUNC judged inside the guest) has the module's sources
//! (with its `Kbuild` and ground truth) in `src/`, a `build.sh` that builds the module with
//! kbuild and embeds the split BTF as kbuild's `cmd_btf_ko` does, `boot.sh` (the boot:
//! `btfsmith replay` of the directory) and the module the guest loaded in `outputs/`.
//! A directory appears whole or not at all (written under a temporary name, then renamed), so a
//! campaign killed at any point loses no finding and leaves no half-written one.

use crate::config::{CompilerSetup, EncoderSetup};
use crate::oracle::Verdict;
use crate::pipeline::{Build, Encoding};
use crate::process::quote;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How many examples a finding keeps: one example can hide a second bug behind the same
/// signature, or be the one odd case; three let a reader see the pattern. The first is the
/// finding's own directory, the others `examples/2`, `examples/3`, each as self-contained.
pub const EXAMPLES_PER_SIGNATURE: usize = 3;

/// What tells two examples of one signature apart: the program (seed) and the function.
type Example = (Option<u64>, Option<String>);
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What `verdict.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingRecord {
    /// Deduplication key: verdict kind, configuration, phenomenon.
    pub signature: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The compiler setup that built the case.
    pub compiler: CompilerSetup,
    /// The encoders involved: the judged one last (a differential finding also lists the
    /// reference first).
    pub encoders: Vec<EncoderSetup>,
    /// Source files, in link order, relative to `src/`.
    pub sources: Vec<String>,
    /// Generator seed, for generated programs.
    pub seed: Option<u64>,
    /// Generator policy, for generated programs.
    pub policy: Option<String>,
    /// btfsmith version that found it.
    pub btfsmith_version: String,
    /// The command that re-checks it.
    pub replay: String,
    /// For a runtime finding: the kernel module the guest ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<ModuleRecord>,
}

/// What a runtime finding's record says about its module.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleRecord {
    /// Module name (ends in `_00`: the guest loads one renamed copy per configuration).
    pub name: String,
    /// The objects kbuild links into it (`tu0.o main.o`), sources in `src/`.
    pub objects: Vec<String>,
    /// Extra kbuild lines, `{obj}` standing for an object's path prefix.
    pub extra: Vec<String>,
    /// A module built elsewhere (`check --runtime --ko`): `src/` holds that `.ko`, not sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prebuilt: Option<String>,
    /// The kernel release it was built for and booted in.
    pub kernel: String,
    /// The trigger's recorded calls (argument ground truth; empty for a user's module).
    pub expected: crate::vm::Expected,
}

/// A module's files, for copying into a runtime finding.
#[derive(Debug)]
pub struct ModuleFiles<'a> {
    /// The module's source directory (or the directory of a prebuilt `.ko`).
    pub dir: &'a Path,
    /// What the record says about it.
    pub record: ModuleRecord,
    /// Seed, for generated modules.
    pub seed: Option<u64>,
    /// Policy, for generated modules.
    pub policy: Option<&'a str>,
    /// The module build (DWARF truth, compiler).
    pub build: &'a Build,
    /// The judged configuration's evidence.
    pub observation: &'a crate::vm::Observation,
    /// The kernel headers (kbuild) and base BTF.
    pub kernel: &'a crate::toolchains::Kernel,
}

/// The findings directory of a campaign, with its known signatures.
#[derive(Debug)]
pub struct FindingStore {
    root: PathBuf,
    /// Signature → the (seed, function) of each example kept for it (at most
    /// [`EXAMPLES_PER_SIGNATURE`]; the first is the finding itself).
    known: Mutex<HashMap<String, Vec<Example>>>,
}

/// A case's files, for copying into a finding.
#[derive(Debug, Clone)]
pub struct CaseFiles<'a> {
    /// Directory holding the sources (and ground truth).
    pub dir: &'a Path,
    /// Source files in link order.
    pub sources: &'a [PathBuf],
    /// Seed, for generated programs.
    pub seed: Option<u64>,
    /// Policy, for generated programs.
    pub policy: Option<&'a str>,
}

/// A file-name-safe form of a signature, with a hash so that different signatures never share a
/// directory.
pub fn slug(signature: &str) -> String {
    let mut s: String = signature
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    s.truncate(80);
    // FNV-1a: stable across runs and platforms, unlike std's RandomState.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in signature.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("{s}-{:08x}", h as u32)
}

impl FindingStore {
    /// Opens (creating) `root`, reading the signatures of the findings already there.
    pub fn open(root: &Path) -> Result<FindingStore> {
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let mut known: HashMap<String, Vec<Example>> = HashMap::new();
        for entry in std::fs::read_dir(root)? {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with(".tmp-") {
                // A finding whose writer was killed before the rename: incomplete, remove it.
                let _ = std::fs::remove_dir_all(&path);
                continue;
            }
            if let Ok(rec) = read_record(&path) {
                let examples = known.entry(rec.signature.clone()).or_default();
                examples.push((rec.seed, rec.verdict.function.clone()));
                for ex in example_dirs(&path) {
                    if let Ok(r) = read_record(&ex) {
                        examples.push((r.seed, r.verdict.function));
                    }
                }
            }
        }
        Ok(FindingStore { root: root.to_path_buf(), known: Mutex::new(known) })
    }

    /// Where the findings are.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Number of distinct findings.
    pub fn len(&self) -> usize {
        self.known.lock().map(|k| k.len()).unwrap_or(0)
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `verdict`: as a new finding when its signature is new, as a further example
    /// (`examples/N`) while the finding has fewer than [`EXAMPLES_PER_SIGNATURE`] and this one is
    /// another (program, function). Returns the new finding's directory, if any (examples are
    /// not new findings).
    pub fn record(&self, verdict: &Verdict, case: &CaseFiles<'_>, build: &Build, encodings: &[&Encoding]) -> Result<Option<PathBuf>> {
        self.record_with(verdict, case.seed, |tmp, final_dir, signature| write_dir(tmp, final_dir, signature, verdict, case, build, encodings))
    }

    /// Records a runtime verdict about a kernel module, as [`FindingStore::record`] does.
    pub fn record_module(&self, verdict: &Verdict, module: &ModuleFiles<'_>) -> Result<Option<PathBuf>> {
        self.record_with(verdict, module.seed, |tmp, final_dir, signature| write_module_dir(tmp, final_dir, signature, verdict, module))
    }

    fn record_with(&self, verdict: &Verdict, seed: Option<u64>, write: impl FnOnce(&Path, &Path, &str) -> Result<()>) -> Result<Option<PathBuf>> {
        let signature = verdict.signature();
        let example = {
            let mut known = self.known.lock().map_err(|_| anyhow::anyhow!("finding store lock poisoned"))?;
            let examples = known.entry(signature.clone()).or_default();
            let this = (seed, verdict.function.clone());
            if examples.len() >= EXAMPLES_PER_SIGNATURE || examples.contains(&this) {
                return Ok(None);
            }
            examples.push(this);
            examples.len()
        };
        let final_dir = if example == 1 { self.root.join(slug(&signature)) } else { self.root.join(slug(&signature)).join("examples").join(example.to_string()) };
        let tmp = self.root.join(format!(".tmp-{}-{example}-{}", slug(&signature), std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        write(&tmp, &final_dir, &signature).with_context(|| format!("writing finding {}", final_dir.display()))?;
        if final_dir.exists() {
            // Another run of the same campaign wrote it first.
            let _ = std::fs::remove_dir_all(&tmp);
            return Ok(None);
        }
        if example > 1 {
            // The finding's own directory is renamed into place before any example is recorded
            // (same lock order), but a crash between the two may have lost it: then this
            // example waits for the next run.
            let parent = final_dir.parent().unwrap_or(&self.root);
            if !parent.parent().is_some_and(Path::exists) {
                let _ = std::fs::remove_dir_all(&tmp);
                return Ok(None);
            }
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::rename(&tmp, &final_dir).with_context(|| format!("renaming into {}", final_dir.display()))?;
        Ok((example == 1).then_some(final_dir))
    }
}

/// The further example directories of a finding (`examples/2`, `examples/3`), in order.
pub fn example_dirs(finding: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(finding.join("examples")).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("verdict.json").exists()).collect()).unwrap_or_default();
    v.sort();
    v
}

/// Reads a finding's `verdict.json`.
pub fn read_record(dir: &Path) -> Result<FindingRecord> {
    let path = dir.join("verdict.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn write_dir(tmp: &Path, final_dir: &Path, signature: &str, verdict: &Verdict, case: &CaseFiles<'_>, build: &Build, encodings: &[&Encoding]) -> Result<()> {
    let src = tmp.join("src");
    let outputs = tmp.join("outputs");
    std::fs::create_dir_all(&src)?;
    std::fs::create_dir_all(&outputs)?;
    for entry in std::fs::read_dir(case.dir)? {
        let p = entry?.path();
        let keep = p.extension().is_some_and(|e| e == "c" || e == "h" || e == "json");
        if keep && p.is_file() {
            std::fs::copy(&p, src.join(p.file_name().unwrap_or_default()))?;
        }
    }
    let sources: Vec<String> = case.sources.iter().map(|s| s.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    for e in encodings {
        let label = slug(&e.encoder.config.name);
        if e.output.exists() {
            std::fs::copy(&e.output, outputs.join(format!("{label}.btf")))?;
        }
        std::fs::write(outputs.join(format!("{label}.stderr")), &e.proc.stderr)?;
    }
    std::fs::write(outputs.join("facts.json"), serde_json::to_string_pretty(&build.facts)?)?;
    std::fs::write(tmp.join("diff.txt"), format!("{}\n", verdict.detail))?;
    let encoders: Vec<EncoderSetup> = encodings.iter().map(|e| e.encoder.clone()).collect();
    std::fs::write(tmp.join("build.sh"), build_script(&build.compiler, &encoders, &sources))?;
    set_executable(&tmp.join("build.sh"))?;
    let record = FindingRecord {
        signature: signature.to_string(),
        verdict: verdict.clone(),
        compiler: build.compiler.clone(),
        encoders,
        sources,
        seed: case.seed,
        policy: case.policy.map(str::to_string),
        btfsmith_version: env!("CARGO_PKG_VERSION").to_string(),
        replay: format!("{} replay {}", crate::process::self_command(), crate::process::quote(&final_dir.to_string_lossy())),
        module: None,
    };
    std::fs::write(tmp.join("verdict.json"), serde_json::to_string_pretty(&record)?)?;
    Ok(())
}

fn write_module_dir(tmp: &Path, final_dir: &Path, signature: &str, verdict: &Verdict, m: &ModuleFiles<'_>) -> Result<()> {
    let src = tmp.join("src");
    let outputs = tmp.join("outputs");
    std::fs::create_dir_all(&src)?;
    std::fs::create_dir_all(&outputs)?;
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(m.dir).with_context(|| format!("reading {}", m.dir.display()))? {
        let p = entry?.path();
        let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let keep = match &m.record.prebuilt {
            Some(ko) => name == *ko,
            None => p.extension().is_some_and(|e| e == "c" || e == "h" || e == "json") || name == "Kbuild",
        };
        if keep && p.is_file() {
            std::fs::copy(&p, src.join(&name))?;
            if name.ends_with(".c") {
                sources.push(name);
            }
        }
    }
    sources.sort();
    let label = slug(&m.observation.encoder.config.name);
    match &m.observation.encoded {
        Ok(enc) => {
            std::fs::copy(&enc.guest_ko, outputs.join(format!("{label}.guest.ko")))?;
            std::fs::write(outputs.join(format!("{label}.stderr")), &enc.proc.stderr)?;
        }
        Err(e) => std::fs::write(outputs.join(format!("{label}.stderr")), format!("{}\n$ {}\n", e.detail, e.cmdline))?,
    }
    if let Some(job) = &m.observation.job {
        std::fs::write(outputs.join("guest.json"), serde_json::to_string_pretty(job)?)?;
    }
    std::fs::write(outputs.join("facts.json"), serde_json::to_string_pretty(&m.build.facts)?)?;
    std::fs::write(tmp.join("diff.txt"), format!("{}\n", verdict.detail))?;
    std::fs::write(tmp.join("build.sh"), module_build_script(&m.record, &m.observation.encoder, m.kernel))?;
    set_executable(&tmp.join("build.sh"))?;
    let replay = format!("{} replay {}", crate::process::self_command(), crate::process::quote(&final_dir.to_string_lossy()));
    std::fs::write(
        tmp.join("boot.sh"),
        format!(
            "#!/bin/sh\n# Rebuilds the module, embeds its BTF, boots the {} kernel under qemu, attaches fentry or fexit to every FUNC\n# and fires the trigger: the runtime oracle, judged again.\nexec {} replay \"$(cd \"$(dirname \"$0\")\" && pwd)\"\n",
            m.record.kernel,
            crate::process::self_command()
        ),
    )?;
    set_executable(&tmp.join("boot.sh"))?;
    let record = FindingRecord {
        signature: signature.to_string(),
        verdict: verdict.clone(),
        compiler: m.build.compiler.clone(),
        encoders: vec![m.observation.encoder.clone()],
        sources,
        seed: m.seed,
        policy: m.policy.map(str::to_string),
        btfsmith_version: env!("CARGO_PKG_VERSION").to_string(),
        replay,
        module: Some(m.record.clone()),
    };
    std::fs::write(tmp.join("verdict.json"), serde_json::to_string_pretty(&record)?)?;
    Ok(())
}

/// A shell script that rebuilds a runtime finding's module with kbuild (no BTF) and embeds the
/// split BTF with the recorded encoder, as kbuild's `cmd_btf_ko` does; outputs go to out/.
pub fn module_build_script(record: &ModuleRecord, encoder: &EncoderSetup, kernel: &crate::toolchains::Kernel) -> String {
    let name = &record.name;
    let mut s = format!(
        "#!/bin/sh\n# Rebuilds this finding's module and embeds its split BTF; outputs go to out/.\nset -eu\ncd \"$(dirname \"$0\")\"\nKDIR=${{KDIR:-{}}}\nBASE=${{BASE:-{}}}\nmkdir -p out/{name}\n",
        quote(&kernel.headers.to_string_lossy()),
        quote(&kernel.vmlinux_btf.to_string_lossy())
    );
    let ko = match &record.prebuilt {
        Some(ko) => format!("src/{}", quote(ko)),
        None => {
            s.push_str(&format!("cp src/*.c out/{name}/\ncp src/*.h out/{name}/ 2>/dev/null || true\ncat > out/{name}/Kbuild <<'EOF'\n"));
            s.push_str(&format!("obj-m += {name}.o\n{name}-objs := {}\n", record.objects.join(" ")));
            for e in &record.extra {
                s.push_str(&e.replace("{obj}", ""));
                s.push('\n');
            }
            s.push_str(&format!("EOF\nmake -C \"$KDIR\" M=\"$PWD/out/{name}\" PAHOLE=true modules\n"));
            format!("out/{name}/{name}.ko")
        }
    };
    let out_ko = format!("out/{}", quote(&format!("{}.ko", slug(&encoder.config.name))));
    s.push_str(&format!("cp {ko} {out_ko}\n# {}\n", encoder.config.name));
    let args: Vec<String> = crate::vm::kbuild::embed_args(encoder, Path::new("$BASE"), Path::new(&out_ko)).iter().map(|a| if a == "$BASE" || a == &out_ko { format!("\"{a}\"") } else { quote(a) }).collect();
    s.push_str(&format!("{} {}\n", quote(&encoder.path.to_string_lossy()), args.join(" ")));
    s
}

/// Sets the executable bits of a script.
pub fn set_executable(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(p)?.permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(p, perm)?;
    Ok(())
}

/// A shell script that rebuilds and re-encodes the case from its own directory.
pub fn build_script(compiler: &CompilerSetup, encoders: &[EncoderSetup], sources: &[String]) -> String {
    let cc = quote(&compiler.path.to_string_lossy());
    let flags: Vec<String> = generators::compile::case_flags(&compiler.opt).iter().map(|f| quote(f)).collect();
    let mut s = String::from("#!/bin/sh\n# Rebuilds this finding's binary and re-runs its encoder(s); outputs go to out/.\nset -eu\ncd \"$(dirname \"$0\")\"\nmkdir -p out\n");
    let mut objects = Vec::new();
    for src in sources {
        let stem = src.trim_end_matches(".c");
        s.push_str(&format!("{cc} {} -c src/{} -o out/{}.o\n", flags.join(" "), quote(src), quote(stem)));
        objects.push(format!("out/{}.o", quote(stem)));
    }
    s.push_str(&format!(
        "# Without a main of its own the case gets a stub one, compiled without debug info.\nif ! nm {} | grep -q ' T main$'; then echo 'int main(void) {{ return 0; }}' > out/btfsmith_main.c; {cc} -O2 -c out/btfsmith_main.c -o out/btfsmith_main.o; fi\n",
        objects.join(" ")
    ));
    s.push_str(&format!("{cc} {} $(ls out/btfsmith_main.o 2>/dev/null || true) -o out/prog\n", objects.join(" ")));
    for e in encoders {
        let label = slug(&e.config.name);
        if e.config.tool == crate::names::EncoderTool::GccBtf {
            s.push_str(&format!("# {}: gcc writes .BTF per object; btfsmith appends them into one blob
", e.config.name));
            for src in sources {
                let args: Vec<String> = e.config.args.iter().map(|a| quote(a)).collect();
                s.push_str(&format!("{cc} {} {} -c src/{} -o out/{}.gbtf.o
", quote(&compiler.opt), args.join(" "), quote(src), quote(src.trim_end_matches(".c"))));
            }
            continue;
        }
        let args: Vec<String> = e.config.args.iter().map(|a| quote(a)).collect();
        s.push_str(&format!(
            "# {}\n{} {} --btf_encode_detached=out/{label}.btf out/prog\n",
            e.config.name,
            quote(&e.path.to_string_lossy()),
            args.join(" ")
        ));
    }
    s
}
