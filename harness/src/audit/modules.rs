//! `btfsmith audit --modules DIR`: every module's split BTF, FUNC by FUNC, against the module's
//! own DWARF and symbol table.
//!
//! A module differs from the vmlinux in three ways that matter here:
//! - its FUNCs are resolved in its own symbols, in symbol-table order (see
//!   [`Kallsyms::for_module`]), not by lowest address over the whole kernel;
//! - it is a relocatable ELF file: every address is a section offset (tagged with the section
//!   index, as [`facts::dwarf`] does), and its ftrace sites are the targets of the relocations
//!   of its `__mcount_loc` section;
//! - distributions ship it stripped (and compressed: `.ko.xz`), its DWARF in a debug package
//!   under the same relative path. Symbols, ftrace sites and BTF are then read from the shipped
//!   file (what the kernel loads), the DWARF from the debug file, and the debug file's section
//!   indices are mapped to the shipped file's by section name.

use super::{judge_image, AuditVerdict, ImageAudit, Judgement, KSym, Kallsyms, ModuleSection};
use anyhow::{bail, Context, Result};
use btf::{Btf, TypeData};
use object::{Object, ObjectSection, ObjectSymbol};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One module to audit.
#[derive(Debug, Clone)]
pub struct ModuleFile {
    /// Its name (the file name without `.ko`/`.ko.xz`).
    pub name: String,
    /// The file the kernel loads.
    pub path: PathBuf,
    /// Its relative path under the directory searched (`net/key/af_key.ko.xz`).
    pub relative: PathBuf,
}

/// What auditing one module gave: its judgements, or why it could not be audited.
#[derive(Debug)]
pub struct ModuleAudit {
    /// The module.
    pub module: ModuleFile,
    /// Where its DWARF came from.
    pub dwarf_from: Option<PathBuf>,
    /// Its judgements (empty when `error` is set).
    pub image: ImageAudit,
    /// Why it could not be audited (no BTF, no DWARF, malformed ELF).
    pub error: Option<String>,
}

/// Every module's audit.
#[derive(Debug)]
pub struct ModulesAudit {
    /// What was searched.
    pub dir: PathBuf,
    /// Per module, in path order.
    pub modules: Vec<ModuleAudit>,
}

/// The `.ko` and `.ko.xz` files at `path` (a file, or a directory searched recursively), in
/// path order.
pub fn discover(path: &Path) -> Result<Vec<ModuleFile>> {
    fn module_name(p: &Path) -> Option<String> {
        let n = p.file_name()?.to_str()?;
        let stem = n.strip_suffix(".ko").or_else(|| n.strip_suffix(".ko.xz"))?;
        Some(stem.to_string())
    }
    let mut out = Vec::new();
    if path.is_file() {
        let name = module_name(path)
            .with_context(|| format!("{} is not a .ko or .ko.xz file", path.display()))?;
        out.push(ModuleFile {
            name,
            path: path.to_path_buf(),
            relative: PathBuf::from(path.file_name().unwrap_or_default()),
        });
        return Ok(out);
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
        for e in entries {
            let e = e.with_context(|| format!("listing {}", dir.display()))?;
            let p = e.path();
            let ft = e
                .file_type()
                .with_context(|| format!("reading the type of {}", p.display()))?;
            if ft.is_dir() {
                stack.push(p);
            } else if let Some(name) = module_name(&p) {
                let relative = p.strip_prefix(path).unwrap_or(&p).to_path_buf();
                out.push(ModuleFile { name, path: p, relative });
            }
        }
    }
    out.sort_by(|a, b| a.relative.cmp(&b.relative));
    if out.is_empty() {
        bail!("no .ko or .ko.xz file under {}", path.display());
    }
    Ok(out)
}

/// The bytes of a module file, decompressed when it is `.xz`.
pub fn read_module(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "xz") {
        let mut out = Vec::new();
        lzma_rs::xz_decompress(&mut std::io::Cursor::new(&raw), &mut out)
            .map_err(|e| anyhow::anyhow!("{e:?}"))
            .with_context(|| format!("decompressing {} (xz)", path.display()))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// True when the file carries DWARF of its own (a `.debug_info` with contents).
fn has_dwarf(file: &object::File<'_>) -> bool {
    file.section_by_name(".debug_info")
        .is_some_and(|s| s.kind() != object::SectionKind::UninitializedData && s.size() > 0)
}

/// The module's symbols as its kallsyms keeps them: defined, named, not section or file
/// symbols, in an allocated section; in symbol-table order.
fn module_symbols(file: &object::File<'_>) -> Vec<KSym> {
    let mut out = Vec::new();
    for s in file.symbols() {
        if s.is_undefined()
            || matches!(s.kind(), object::SymbolKind::Section | object::SymbolKind::File)
        {
            continue;
        }
        let (Ok(name), Some(index)) = (s.name(), s.section_index()) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let Ok(section) = file.section_by_index(index) else {
            continue;
        };
        let alloc = match section.flags() {
            object::SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_ALLOC) != 0,
            _ => false,
        };
        if !alloc {
            continue;
        }
        out.push(KSym {
            name: name.to_string(),
            addr: facts::SectionAddress::new(index.0, s.address()).pack(),
            kind: format!("{:?}", s.kind()).to_lowercase(),
            section: section.name().ok().map(str::to_string),
        });
    }
    out
}

fn module_sections(file: &object::File<'_>) -> Vec<ModuleSection> {
    file.sections()
        .map(|s| ModuleSection {
            index: s.index().0,
            name: s.name().unwrap_or("").to_string(),
            size: s.size(),
            exec: match s.flags() {
                object::SectionFlags::Elf { sh_flags } => {
                    sh_flags & u64::from(object::elf::SHF_EXECINSTR) != 0
                }
                _ => false,
            },
        })
        .collect()
}

/// Audits every module at `dir` (see [`discover`]) over `base`, the vmlinux BTF their split BTF
/// is over; `debug_dir` holds their DWARF when they are stripped.
pub fn audit_modules(
    dir: &Path,
    debug_dir: Option<&Path>,
    base: Arc<Btf>,
    pool: &rayon::ThreadPool,
) -> Result<ModulesAudit> {
    use rayon::prelude::*;
    let files = discover(dir)?;
    let base_funcs: BTreeSet<String> = base
        .own_types()
        .iter()
        .filter(|t| matches!(t.data, TypeData::Func(_)))
        .map(|t| base.str(t.name).to_string())
        .collect();
    // One module per worker; each reads its own DWARF on that worker.
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .stack_size(super::AUDIT_STACK)
        .build()
        .context("starting a one-thread pool")?;
    let modules = pool.install(|| {
        files
            .into_par_iter()
            .map(|m| {
                let debug = debug_dir.map(|d| {
                    let rel = m.relative.to_string_lossy();
                    d.join(rel.strip_suffix(".xz").unwrap_or(&rel))
                });
                match audit_one(&m, debug.as_deref(), &base, &base_funcs, &single) {
                    Ok((image, dwarf_from)) => ModuleAudit {
                        module: m,
                        dwarf_from: Some(dwarf_from),
                        image,
                        error: None,
                    },
                    Err(e) => ModuleAudit {
                        module: m,
                        dwarf_from: None,
                        image: ImageAudit::default(),
                        error: Some(format!("{e:#}")),
                    },
                }
            })
            .collect()
    });
    Ok(ModulesAudit {
        dir: dir.to_path_buf(),
        modules,
    })
}

fn audit_one(
    m: &ModuleFile,
    debug: Option<&Path>,
    base: &Arc<Btf>,
    base_funcs: &BTreeSet<String>,
    pool: &rayon::ThreadPool,
) -> Result<(ImageAudit, PathBuf)> {
    let data = read_module(&m.path)?;
    let file = object::File::parse(&*data)
        .with_context(|| format!("parsing {} as ELF", m.path.display()))?;
    if file.kind() != object::ObjectKind::Relocatable {
        bail!("{} is not a relocatable ELF file (a module is)", m.path.display());
    }
    let Some(btf_section) = file.section_by_name(".BTF") else {
        bail!("{} has no .BTF section (built without CONFIG_DEBUG_INFO_BTF_MODULES?)", m.path.display());
    };
    let btf_bytes = btf_section
        .data()
        .with_context(|| format!("reading the .BTF of {}", m.path.display()))?;
    let btf = Btf::parse(btf_bytes, Some(base.clone()))
        .with_context(|| format!("parsing the .BTF of {} as split BTF over the base", m.path.display()))?;
    let sections = module_sections(&file);
    let syms = Kallsyms::for_module(module_symbols(&file), &sections);
    let mut mcount = crate::vm::kbuild::ftrace_sites(&file);
    mcount.sort_unstable();

    // The DWARF: in the module itself, else in the debug file, whose sections are renumbered
    // to the module's by name.
    let (dwarf_data, dwarf_from, renumber) = if has_dwarf(&file) {
        (None, m.path.clone(), None)
    } else {
        let Some(debug) = debug else {
            bail!("{} has no DWARF and no --module-debug directory was given", m.path.display());
        };
        let dd = read_module(debug)
            .with_context(|| format!("the DWARF of {}", m.path.display()))?;
        let df = object::File::parse(&*dd)
            .with_context(|| format!("parsing {} as ELF", debug.display()))?;
        if !has_dwarf(&df) {
            bail!("{} has no .debug_info", debug.display());
        }
        let by_name: HashMap<&str, usize> = sections
            .iter()
            .map(|s| (s.name.as_str(), s.index))
            .collect();
        let map: HashMap<usize, usize> = df
            .sections()
            .filter_map(|s| Some((s.index().0, *by_name.get(s.name().ok()?)?)))
            .collect();
        (Some(dd), debug.to_path_buf(), Some(map))
    };
    let dwarf_bytes: &[u8] = dwarf_data.as_deref().unwrap_or(&data);
    let mut facts = facts::dwarf::read_with(dwarf_bytes, None, true)
        .with_context(|| format!("reading the DWARF of {}", dwarf_from.display()))?;
    if let Some(map) = renumber {
        let renumber = |a: u64| {
            let facts::SectionAddress { section: s, offset: off } = facts::SectionAddress::unpack(a);
            map.get(&s)
                .map(|&t| facts::SectionAddress::new(t, off).pack())
        };
        // A body in a section the shipped module does not have cannot be reached: drop it.
        facts.functions.retain_mut(|f| match renumber(f.entry) {
            Some(a) => {
                f.entry = a;
                true
            }
            None => false,
        });
    }
    let mut image = judge_image(&btf, dwarf_bytes, &mut facts, &syms, &mcount, pool)?;
    for j in image.judgements.iter_mut().chain(image.missed.iter_mut()) {
        j.module = Some(m.name.clone());
    }
    for j in &mut image.missed {
        if base_funcs.contains(&j.name) {
            // Encoders deduplicate a module's FUNC into an identical one of the base: the
            // module's BTF then offers no FUNC of its own for it, and a tracer naming it gets
            // the vmlinux function of that name.
            j.mechanism = "missed:name-in-vmlinux-btf".into();
            let _ = write!(j.detail, "; the vmlinux BTF has a FUNC of that name (an encoder may have merged the module's FUNC into it), which attaches to the vmlinux function, not this one");
        }
    }
    Ok((image, dwarf_from))
}

impl ModulesAudit {
    /// Some module has a FUNC that makes a tracer read the wrong thing.
    pub fn fails(&self) -> bool {
        self.modules.iter().any(|m| m.image.fails())
    }

    /// Counts per verdict over every module.
    pub fn counts(&self) -> BTreeMap<AuditVerdict, usize> {
        let mut counts = BTreeMap::new();
        for m in &self.modules {
            for (v, n) in m.image.counts() {
                *counts.entry(v).or_default() += n;
            }
        }
        counts
    }

    /// One line for the terminal.
    pub fn summary(&self) -> String {
        let funcs: usize = self.modules.iter().map(|m| m.image.funcs).sum();
        let errors = self.modules.iter().filter(|m| m.error.is_some()).count();
        let counts: Vec<String> = self
            .counts()
            .iter()
            .map(|(v, n)| format!("{} {n}", v.as_str()))
            .collect();
        format!(
            "modules: {} ({} not audited), {funcs} FUNCs: {}",
            self.modules.len(),
            errors,
            counts.join(", ")
        )
    }

    /// The report's modules section.
    pub fn render(&self) -> String {
        let mut r = String::new();
        let funcs: usize = self.modules.iter().map(|m| m.image.funcs).sum();
        let _ = writeln!(r, "\n# Modules under `{}`\n", self.dir.display());
        let _ = writeln!(r, "A module's FUNC named N is resolved as the kernel does for a module's BTF (`find_kallsyms_symbol_value`: the first symbol named exactly N in the module's own symbol table, init sections gone after init), then judged against the DWARF body at that address. Addresses are `section+offset` in the module file.\n");
        let _ = writeln!(
            r,
            "## Counts ({} modules, {funcs} FUNCs)\n\n| verdict | count |\n|---|---|",
            self.modules.len()
        );
        for (v, n) in self.counts() {
            let _ = writeln!(r, "| {} | {n} |", v.as_str());
        }
        let errors: Vec<&ModuleAudit> = self.modules.iter().filter(|m| m.error.is_some()).collect();
        if !errors.is_empty() {
            let _ = writeln!(r, "\n## Not audited ({})\n", errors.len());
            for m in errors {
                let _ = writeln!(
                    r,
                    "- `{}`: {}",
                    m.module.relative.display(),
                    m.error.as_deref().unwrap_or("")
                );
            }
        }
        for m in &self.modules {
            let bad: Vec<&Judgement> = m
                .image
                .judgements
                .iter()
                .filter(|j| !matches!(j.verdict, AuditVerdict::Ok))
                .collect();
            if bad.is_empty() {
                continue;
            }
            let _ = writeln!(
                r,
                "\n## {} (`{}`, DWARF from `{}`)\n",
                m.module.name,
                m.module.relative.display(),
                m.dwarf_from.as_deref().map_or("?".into(), |p| p.display().to_string())
            );
            for j in bad {
                if j.verdict == AuditVerdict::Unattachable {
                    // Many (every module's init function): one line each; verdicts.jsonl has why.
                    let _ = writeln!(
                        r,
                        "- UNATTACHABLE `{}` ({}){}",
                        j.name,
                        j.mechanism,
                        j.address.as_deref().map_or(String::new(), |a| format!(" at {a}"))
                    );
                    continue;
                }
                let _ = writeln!(
                    r,
                    "- **{}** `{}` ({}): BTF `{}`{}",
                    j.verdict.as_str(),
                    j.name,
                    j.mechanism,
                    j.btf_prototype.as_deref().unwrap_or("?"),
                    match (&j.symbol, &j.address) {
                        (Some(s), Some(a)) => format!(", resolves to `{s}` at {a}"),
                        _ => String::new(),
                    }
                );
                if let Some(b) = &j.reached {
                    let _ = writeln!(
                        r,
                        "  - reached body: `{}` — unit {}, DIE {}, symbols {}",
                        b.prototype,
                        b.unit,
                        b.die_offset,
                        b.symbols.join(",")
                    );
                }
                for line in j.detail.lines() {
                    let _ = writeln!(r, "  - {line}");
                }
            }
        }
        r
    }
}
