//! Building kernel modules with kbuild (no BTF), then encoding their split BTF once per encoder
//! configuration, the way kbuild's `cmd_btf_ko` does: `<encoder> -J <args> --btf_base vmlinux X.ko`
//! on a copy of the `.ko`, which the encoder rewrites in place.

use crate::config::EncoderSetup;
use facts::dwarf::Facts;
use crate::process::{self, ProcRes};
use crate::toolchains::Kernel;
use anyhow::{bail, Context, Result};
use btf::{Btf, TypeData};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Timeout of one kbuild run: a whole `make` over every module of a batch, hence longer than
/// [`generators::compile::COMPILE_TIMEOUT`] for one unit. Modules are not compiled through
/// `generators::compile`: kbuild derives the compiler and its flags from the kernel's
/// configuration, so only `make` is run here.
pub const KBUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// A module to build: its sources sit in `<root>/<name>/`.
#[derive(Debug, Clone)]
pub struct ModuleSource {
    /// Module name (also the subdirectory under the build root).
    pub name: String,
    /// Object files that make up the module (`tu0.o`, `main.o`), relative to its directory.
    pub objects: Vec<String>,
    /// Extra kbuild lines with `{obj}` standing for an object's path prefix (`CFLAGS_{obj}tu0.o`).
    pub extra: Vec<String>,
}

impl ModuleSource {
    /// Reads what a generated program's `Kbuild` says (`prog-objs := ...`, `CFLAGS_x.o ...`), for
    /// a module to be called `name`.
    pub fn from_generated_kbuild(name: &str, kbuild: &str) -> ModuleSource {
        let mut objects = Vec::new();
        let mut extra = Vec::new();
        for line in kbuild.lines() {
            if let Some(objs) = line.strip_prefix("prog-objs := ") {
                objects = objs.split_whitespace().map(str::to_string).collect();
            } else if line.starts_with("CFLAGS_") {
                // `CFLAGS_tu0.o += ...` / `CFLAGS_REMOVE_tu0.o += ...`: per-object flags need the
                // object's path relative to the kbuild directory.
                let (var, rest) = line.split_once(' ').unwrap_or((line, ""));
                let var = if let Some(o) = var.strip_prefix("CFLAGS_REMOVE_") {
                    format!("CFLAGS_REMOVE_{{obj}}{o}")
                } else {
                    format!("CFLAGS_{{obj}}{}", &var["CFLAGS_".len()..])
                };
                extra.push(format!("{var} {rest}"));
            }
        }
        ModuleSource { name: name.to_string(), objects, extra }
    }

    fn kbuild_lines(&self, prefix: &str) -> String {
        let objs: Vec<String> = self.objects.iter().map(|o| format!("{prefix}{o}")).collect();
        let mut s = format!("obj-m += {}.o\n{}-objs := {}\n", self.name, self.name, objs.join(" "));
        for e in &self.extra {
            s.push_str(&e.replace("{obj}", prefix));
            s.push('\n');
        }
        s
    }
}

/// Builds every module under `root` in one kbuild run (`make -k -jJOBS`, `PAHOLE=true` so that no
/// BTF is added), falling back to one run per module when that fails, so that one broken module
/// does not take the others with it. Returns each module's `.ko` or its build error.
pub fn build_modules(root: &Path, mods: &[ModuleSource], kernel: &Kernel, jobs: usize) -> Vec<Result<PathBuf, String>> {
    let mut kb = String::new();
    for m in mods {
        kb.push_str(&m.kbuild_lines(&format!("{}/", m.name)));
    }
    let all = std::fs::write(root.join("Kbuild"), kb)
        .map_err(|e| e.to_string())
        .and_then(|()| kbuild(root, kernel, jobs).map_err(|e| format!("{e:#}")));
    let mut out: Vec<Result<PathBuf, String>> = mods.iter().map(|m| ko_of(root, &m.name)).collect();
    if all.is_ok() && out.iter().all(Result::is_ok) {
        return out;
    }
    // One at a time, in the module's own directory, to isolate the failure.
    for (m, slot) in mods.iter().zip(out.iter_mut()) {
        if slot.is_ok() {
            continue;
        }
        let dir = root.join(&m.name);
        let r = std::fs::write(dir.join("Kbuild"), m.kbuild_lines(""))
            .map_err(|e| e.to_string())
            .and_then(|()| kbuild(&dir, kernel, 1).map_err(|e| format!("{e:#}")))
            .and_then(|()| {
                let ko = dir.join(format!("{}.ko", m.name));
                let target = root.join(format!("{}.ko", m.name));
                std::fs::rename(&ko, &target).map_err(|e| format!("{}: {e}", ko.display()))?;
                Ok(target)
            });
        *slot = r;
    }
    out
}

fn ko_of(root: &Path, name: &str) -> Result<PathBuf, String> {
    let ko = root.join(format!("{name}.ko"));
    if ko.is_file() {
        Ok(ko)
    } else {
        Err(format!("kbuild produced no {}", ko.display()))
    }
}

fn kbuild(dir: &Path, kernel: &Kernel, jobs: usize) -> Result<()> {
    let args = vec![
        "-k".to_string(),
        format!("-j{}", jobs.max(1)),
        "-C".into(),
        kernel.headers.display().to_string(),
        format!("M={}", dir.display()),
        "PAHOLE=true".into(),
        "modules".into(),
    ];
    let res = process::run(process::command("make", &args, None), KBUILD_TIMEOUT).context("running make")?;
    if !res.success() {
        bail!("{}", process::ToolFailed(Box::new(res)));
    }
    Ok(())
}

/// One module encoded by one configuration.
#[derive(Debug)]
pub struct Encoded {
    /// The `.ko` with split BTF, debug info stripped: what the guest loads.
    pub guest_ko: PathBuf,
    /// The encoder run.
    pub proc: ProcRes,
    /// The module's BTF as the host reads it (split over the kernel's base).
    pub btf: Btf,
    /// Every FUNC: (BTF id, name).
    pub funcs: Vec<(u32, String)>,
    /// Hash of the `.BTF` section: configurations that encode the same bytes share a guest run.
    pub btf_hash: u64,
}

/// Why a configuration produced no loadable module.
#[derive(Debug, Clone)]
pub struct EncodeError {
    /// What happened (timeout, exit status, stderr tail, unreadable BTF).
    pub detail: String,
    /// The command line.
    pub cmdline: String,
}

/// The arguments that embed split BTF into `ko` in place.
pub fn embed_args(enc: &EncoderSetup, vmlinux_btf: &Path, ko: &Path) -> Vec<String> {
    let mut args = enc.config.args.clone();
    if !args.iter().any(|a| a == "-J" || a == "--btf_encode") {
        args.insert(0, "-J".into());
    }
    args.push("--btf_base".into());
    args.push(vmlinux_btf.display().to_string());
    args.push(ko.display().to_string());
    args
}

/// Module names end in this placeholder; each configuration's copy gets its own two digits
/// ([`rename_module`]), so that every copy can stay loaded in the guest at once.
pub const NAME_PLACEHOLDER: &str = "_00";

/// The name of copy `index` (< 100) of module `name` (which ends in [`NAME_PLACEHOLDER`]).
pub fn copy_name(name: &str, index: usize) -> String {
    match name.strip_suffix(NAME_PLACEHOLDER) {
        Some(stem) => format!("{stem}_{:02}", index % 100),
        None => name.to_string(),
    }
}

/// The module name a `.ko` carries (`.modinfo`'s `name=`), if it is a kernel module.
pub fn module_name(bytes: &[u8]) -> Option<String> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(bytes).ok()?;
    let data = file.section_by_name(".modinfo")?.data().ok()?;
    data.split(|&b| b == 0).find_map(|kv| kv.strip_prefix(b"name=")).map(|n| String::from_utf8_lossy(n).into_owned())
}

/// Renames a built module in place by rewriting every occurrence of its name (the
/// `.gnu.linkonce.this_module` name, `.modinfo`'s `name=`, `KBUILD_MODNAME` strings) with a name
/// of the same length. Debug strings that contain it (paths) change too, harmlessly.
pub fn rename_module(bytes: &mut [u8], from: &str, to: &str) -> usize {
    assert_eq!(from.len(), to.len(), "module names must keep their length");
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

/// Copies `ko` to `dir/<file name>` (renamed to module `rename.1` if given), embeds BTF with
/// `enc`, reads it back over `base`, and leaves a debug-stripped copy for the guest next to it
/// (`*.guest.ko`).
pub fn encode(enc: &EncoderSetup, ko: &Path, dir: &Path, kernel: &Kernel, base: &Arc<Btf>, rename: Option<(&str, &str)>) -> Result<Encoded, EncodeError> {
    let fail = |detail: String, cmdline: String| EncodeError { detail, cmdline };
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display()), String::new()))?;
    let name = ko.file_name().map_or("module.ko".into(), |n| n.to_string_lossy().into_owned());
    let work = dir.join(&name);
    let mut bytes = std::fs::read(ko).map_err(|e| fail(format!("reading {}: {e}", ko.display()), String::new()))?;
    if let Some((from, to)) = rename {
        if from != to && rename_module(&mut bytes, from, to) == 0 {
            return Err(fail(format!("module name {from} not found in {}", ko.display()), String::new()));
        }
    }
    std::fs::write(&work, &bytes).map_err(|e| fail(format!("writing {}: {e}", work.display()), String::new()))?;
    let args = embed_args(enc, &kernel.vmlinux_btf, &work);
    let cmd = process::command(&enc.path, &args, None);
    let line = process::cmdline(&cmd);
    let proc = process::run(cmd, Duration::from_secs(enc.config.timeout_secs)).map_err(|e| fail(e.to_string(), line.clone()))?;
    if !proc.success() {
        let status = if proc.timed_out() { "timed out".to_string() } else { format!("{:?}", proc.status) };
        let err = proc.stderr_text();
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(fail(format!("{status}: {}", tail.into_iter().rev().collect::<Vec<_>>().join(" | ")), line));
    }
    let bytes = std::fs::read(&work).map_err(|e| fail(format!("reading {}: {e}", work.display()), line.clone()))?;
    let btf = Btf::parse_elf(&bytes, Some(base.clone())).map_err(|e| fail(format!("no readable .BTF in {}: {e}", work.display()), line.clone()))?;
    let funcs = btf
        .own_ids()
        .zip(btf.own_types())
        .filter(|(_, t)| matches!(t.data, TypeData::Func(_)))
        .map(|(id, t)| (id.0, btf.str(t.name).to_string()))
        .collect();
    let guest_ko = dir.join(name.replace(".ko", ".guest.ko"));
    let strip = process::command("objcopy", ["--strip-debug".to_string(), work.display().to_string(), guest_ko.display().to_string()], None);
    let sres = process::run(strip, Duration::from_secs(60)).map_err(|e| fail(format!("objcopy: {e}"), line.clone()))?;
    if !sres.success() {
        return Err(fail(format!("objcopy --strip-debug failed: {}", sres.stderr_text()), sres.cmdline));
    }
    let btf_hash = {
        use object::{Object, ObjectSection};
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        if let Ok(f) = object::File::parse(&*bytes) {
            if let Some(d) = f.section_by_name(".BTF").and_then(|s| s.data().ok()) {
                d.hash(&mut h);
            }
        }
        h.finish()
    };
    Ok(Encoded { guest_ko, proc, btf, funcs, btf_hash })
}

/// Text addresses the kernel can trace: `__mcount_loc` entries (the `call __fentry__` of each
/// function), as packed [`facts::SectionAddress`]es like [`facts::dwarf`]'s.
pub fn traceable_sites(ko: &Path) -> Result<Vec<u64>> {
    let data = std::fs::read(ko).with_context(|| format!("reading {}", ko.display()))?;
    let file = object::File::parse(&*data).context("parsing ELF")?;
    Ok(ftrace_sites(&file))
}

/// [`traceable_sites`] of a parsed module: the targets of the `__mcount_loc` relocations.
pub fn ftrace_sites(file: &object::File<'_>) -> Vec<u64> {
    use object::{Object, ObjectSection, ObjectSymbol};
    let mut out = Vec::new();
    let Some(sec) = file.section_by_name("__mcount_loc") else { return out };
    for (_, rel) in sec.relocations() {
        let (section, value) = match rel.target() {
            object::RelocationTarget::Section(s) => (s.0, 0u64),
            object::RelocationTarget::Symbol(i) => {
                let Ok(sym) = file.symbol_by_index(i) else { continue };
                let Some(s) = sym.section_index() else { continue };
                (s.0, sym.address())
            }
            _ => continue,
        };
        out.push(facts::SectionAddress::new(section, value.wrapping_add(rel.addend() as u64)).pack());
    }
    out
}

/// Section name → index in `ko`.
pub fn section_indices(ko: &Path) -> Result<Vec<(String, usize)>> {
    use object::{Object, ObjectSection};
    let data = std::fs::read(ko).with_context(|| format!("reading {}", ko.display()))?;
    let file = object::File::parse(&*data).context("parsing ELF")?;
    Ok(file.sections().filter_map(|s| Some((s.name().ok()?.to_string(), s.index().0))).collect())
}

/// The DWARF facts of a built module.
pub fn facts(ko: &Path) -> Result<Facts> {
    Ok(facts::dwarf::read_file(ko)?)
}
