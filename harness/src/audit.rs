//! `btfsmith audit VMLINUX`: a shipped kernel's BTF, FUNC by FUNC, against its own DWARF and
//! symbol table.
//!
//! For every BTF FUNC this finds the function fentry would really attach to (the way the kernel
//! resolves a FUNC's name, see [`Kallsyms`]), finds that body's DWARF (the out-of-line instance
//! whose entry is that address; never an inline-only DIE of the same name), and judges the FUNC
//! with the DWARF-truth oracle's rules ([`FunctionInstance::convention_change`],
//! [`Signature::difference`], [`facts::dwarf::shapes_agree`], [`crate::rules::true_signatures`]):
//!
//! - `OK`: the FUNC's prototype is the reached body's, and its arguments arrive as it says;
//! - `WRONG_PROTO`: the FUNC's prototype is not the reached body's;
//! - `AMBIGUOUS`: several out-of-line bodies carry the exact symbol with different prototypes
//!   (or same-looking prototypes over different types); the FUNC describes the reached one;
//! - `UNATTACHABLE`: attaching fails: no symbol with exactly the FUNC's name, the name resolves
//!   to data or to init text (freed after boot), the resolved symbol has no ftrace site, or the
//!   kernel's trampoline refuses the prototype (`trampoline:refused`: more than 12 arguments,
//!   a float, union or > 16-byte argument, a struct return, variadic — Linux 6.12's rules);
//! - `UNSAFE_OPTIMIZED`: the prototype is right but the compiler changed how the body receives
//!   its arguments (moved registers, parameters not passed), or the trampoline's slot
//!   arithmetic reads an argument elsewhere than the ABI passes it (`stack-slot:*`,
//!   `abi:sse-aggregate`: the campaign's stack-slot check);
//! - `RETURN_DROPPED`: clang's `DW_CC_nocall` with only the return value dropped (never in a gcc
//!   kernel);
//! - `UNJUDGED`: the FUNC resolves to code that has no DWARF body at that address (assembly),
//!   so nothing can be said;
//! - `MISSED` (not a FUNC): a traceable function — exact symbol, ftrace site, DWARF body — that
//!   has no FUNC. `safely_describable` says whether the truth oracle's stricter rule
//!   ([`crate::rules::safely_encodable`]'s: one prototype, arguments proven in place) holds too.
//!
//! The DWARF is read by the judge side's own reader ([`facts::dwarf`]), never by the encoder's.

use facts::dwarf::{Facts, FunctionInstance, Signature};
use anyhow::{bail, Context, Result};
use btf::{Btf, TypeData, TypeId};
use object::{Object, ObjectSection, ObjectSymbol};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Stack size of the audit's worker threads.
const AUDIT_STACK: usize = 256 << 20;

mod modules;
pub use modules::{audit_modules, ModuleAudit, ModulesAudit};

/// `btfsmith audit` arguments.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The kernel image with DWARF (e.g. the Debian -dbg package's vmlinux). May be left out
    /// when only modules are audited (then --base-btf names their base).
    pub vmlinux: Option<PathBuf>,
    /// The BTF to judge (raw BTF or an ELF with .BTF); default: VMLINUX's own .BTF section.
    #[arg(long)]
    pub btf: Option<PathBuf>,
    /// A System.map for the symbols; default: VMLINUX's own ELF symbol table.
    #[arg(long)]
    pub system_map: Option<PathBuf>,
    /// Kernel modules to audit: a `.ko`/`.ko.xz`, or a directory searched for them (e.g.
    /// /lib/modules/RELEASE/kernel). Each module's split BTF (its `.BTF` section) is judged
    /// against its DWARF and its own symbol table, as the kernel resolves module FUNCs.
    #[arg(long)]
    pub modules: Option<PathBuf>,
    /// Where the modules' DWARF is when the modules are stripped: a directory with the same
    /// relative paths (Debian: usr/lib/debug/lib/modules/RELEASE of the -dbg package).
    #[arg(long)]
    pub module_debug: Option<PathBuf>,
    /// The vmlinux BTF the modules' split BTF is over (e.g. /sys/kernel/btf/vmlinux); default:
    /// VMLINUX's own .BTF section (not --btf: the modules were encoded over the shipped one).
    #[arg(long)]
    pub base_btf: Option<PathBuf>,
    /// Where report.md and verdicts.jsonl go.
    #[arg(long, default_value = "btfsmith-audit")]
    pub out: PathBuf,
    /// Threads reading DWARF (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// One symbol as kallsyms keeps it.
#[derive(Debug, Clone)]
pub struct KSym {
    /// Its name.
    pub name: String,
    /// Its address.
    pub addr: u64,
    /// The `nm` type letter (`t`, `T`, `W`, `d`, ...), when known (System.map), else the ELF
    /// kind in words.
    pub kind: String,
    /// The ELF section it is in (`.text`, `.init.text`, `.exit.text`), when known.
    pub section: Option<String>,
}

/// The kernel's name → address resolution for fentry, modelled on its source.
///
/// What the kernel does, read in the torvalds/linux sources this environment stores (no v6.12
/// tag is stored, so the lines were read in neighbouring versions and in the patches that
/// introduced them): `kernel/kallsyms.c` at commit 8cc32a9b (the `kallsyms_seqs_of_names`
/// binary search, 6.2 onwards), `scripts/kallsyms.c` at 010a0aad, the `bpf_check_attach_target`
/// hunk of the 6.4 module-attach fix, and `register_fentry` in `kernel/bpf/trampoline.c`. None of
/// the behaviour below changed for a gcc-built kernel up to 6.12:
///
/// - `kernel/bpf/verifier.c`, `bpf_check_attach_target()`: for `BPF_TRACE_FENTRY`/`FEXIT`/
///   `MODIFY_RETURN` without a target program, `tname` is the FUNC's name in the BTF; for a
///   vmlinux BTF the address is `kallsyms_lookup_name(tname)`, for a module's split BTF it is
///   `find_kallsyms_symbol_value(mod, tname)` (since 6.4, Viktor Malik's "fix attaching
///   fentry/fexit/fmod_ret/lsm to modules"). Address 0 fails with "The address of function %s
///   cannot be found" (-ENOENT). (A later change that rejects names with several ftrace-able
///   matches, `bpf_lookup_attach_addr`, is not in 6.12.)
/// - `kernel/kallsyms.c`, `kallsyms_lookup_name()` → `kallsyms_lookup_names()`: a binary search
///   over `kallsyms_seqs_of_names`, then a walk back to the first equal name; it returns that
///   one's address. The comparison, `compare_symbol_name()`, is `strcmp`; only with
///   `CONFIG_LTO_CLANG` does `cleanup_symbol_name()` also strip a `.llvm.<hash>` suffix. So in a
///   gcc kernel, `f.isra.0`, `f.constprop.0`, `f.part.0`, `f.cold` never match `f`. If vmlinux has
///   no such name, it falls back to `module_kallsyms_lookup_name()` (a loaded module's symbol),
///   which this offline audit cannot see.
/// - `scripts/kallsyms.c`, `compare_names()` (used by `sort_symbols_by_name()` to build
///   `kallsyms_seqs_of_names`): by name, ties by address, then by original order. So the
///   "first" equal name is the one at the lowest address. Its input is `nm -n vmlinux` (through
///   `scripts/mksysmap`); `read_symbol()`/`is_ignored_symbol()` drop undefined (`U`), debugging
///   (`N`) and most absolute (`A`) symbols; with `CONFIG_KALLSYMS_ALL=y` (Debian) data symbols
///   stay in, otherwise only text.
/// - `kernel/module/kallsyms.c`, `find_kallsyms_symbol_value()`: the first defined symbol of
///   that exact name in the module's symbol table order.
/// - After the verifier, the trampoline attaches at that address: `register_fentry()`
///   (`kernel/bpf/trampoline.c`) asks `ftrace_location(addr)`, which for a symbol start looks
///   for an ftrace record anywhere in the symbol (so the `__fentry__` call after `endbr64` counts);
///   without one it falls back to `bpf_arch_text_poke()`, which on x86 fails (-EBUSY, or -EINVAL
///   outside kernel text) unless the bytes there are a 5-byte NOP — never the case for ordinary
///   gcc code. Init text has no ftrace records after boot (`ftrace_free_init_mem()`) and is not
///   kernel text any more. The ftrace records are the `__mcount_loc` entries, which the vmlinux
///   linker script gathers between `__start_mcount_loc` and `__stop_mcount_loc`.
///
/// Not re-read here, described from knowledge of their code: `find_kallsyms_symbol_value`,
/// `ftrace_location`, `bpf_arch_text_poke`, `ftrace_free_init_mem`. The x86 facts they lead to
/// were checked on the Debian image instead: the `no-ftrace-site` functions sampled start
/// without `endbr64` and without a `call __fentry__` (out-of-line copies of the kernel's
/// `inline`, which is `notrace`).
#[derive(Debug)]
pub struct Kallsyms {
    /// Symbols, sorted by name; equal names in the order the kernel's lookup meets them
    /// (vmlinux: address; module: symbol-table order, init sections last).
    by_name: Vec<KSym>,
    /// Every distinct symbol address, sorted: where one symbol ends (kallsyms sizes a symbol up
    /// to the next higher address, `get_symbol_pos()`).
    addresses: Vec<u64>,
    text: Vec<(u64, u64)>,
    init_text: Vec<(u64, u64)>,
    /// A module's sections by index (addresses are [`facts::SectionAddress`]es packed as [`facts::dwarf`] packs
    /// them in relocatable files); `None` for a vmlinux.
    module: Option<Vec<String>>,
}

/// One section of a module, as [`Kallsyms::for_module`] needs it.
#[derive(Debug, Clone)]
pub struct ModuleSection {
    /// Its index in the module's ELF file.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// Its size.
    pub size: u64,
    /// Executable (`SHF_EXECINSTR`).
    pub exec: bool,
}

impl ModuleSection {
    /// An init section (`.init.text`): the module loader frees it after the module's init
    /// function ran, and drops its symbols from the module's kallsyms (`is_core_symbol()`).
    pub fn is_init(&self) -> bool {
        self.name.starts_with(".init")
    }
}

impl Kallsyms {
    /// Builds it from symbols; `_stext`/`_etext` and `_sinittext`/`_einittext` must be among
    /// them (they bound text and init text, as in `scripts/kallsyms.c`).
    pub fn new(mut symbols: Vec<KSym>) -> Result<Self> {
        let find = |n: &str| symbols.iter().find(|s| s.name == n).map(|s| s.addr);
        let (Some(stext), Some(etext)) = (find("_stext"), find("_etext")) else {
            bail!("the symbol table has no _stext/_etext: not a vmlinux symbol table (a stub System.map, or a stripped image?)");
        };
        let init_text: Vec<(u64, u64)> = match (find("_sinittext"), find("_einittext")) {
            (Some(a), Some(b)) => vec![(a, b)],
            _ => Vec::new(),
        };
        let mut text = vec![(stext, etext)];
        text.extend(init_text.iter().copied());
        symbols.sort_by(|a, b| a.name.cmp(&b.name).then(a.addr.cmp(&b.addr)));
        let mut addresses: Vec<u64> = symbols.iter().map(|s| s.addr).collect();
        addresses.sort_unstable();
        addresses.dedup();
        Ok(Kallsyms {
            by_name: symbols,
            addresses,
            text,
            init_text,
            module: None,
        })
    }

    /// A module's symbols, `symbols` in its symbol-table order with packed
    /// [`facts::SectionAddress`]es, `sections` all of its sections.
    ///
    /// The kernel resolves a name in a module's BTF with `find_kallsyms_symbol_value()`: the
    /// first defined symbol of that name in the module's kallsyms, which after the module's
    /// init ran are its "core" symbols in symbol-table order (`add_kallsyms()` copies those
    /// `is_core_symbol()` accepts: defined, named, in an allocated section that is not an init
    /// section). So a name is looked up in table order, and a symbol in an init section is met
    /// only when no core symbol has the name — it then counts as init text (unattachable).
    pub fn for_module(mut symbols: Vec<KSym>, sections: &[ModuleSection]) -> Self {
        let init = |s: &KSym| s.section.as_deref().is_some_and(|n| n.starts_with(".init"));
        // A stable sort keeps the table order among equal names.
        symbols.sort_by(|a, b| a.name.cmp(&b.name).then(init(a).cmp(&init(b))));
        let mut addresses: Vec<u64> = symbols.iter().map(|s| s.addr).collect();
        // The end of every section bounds its last symbol.
        addresses.extend(
            sections
                .iter()
                .map(|s| facts::SectionAddress::new(s.index, s.size).pack()),
        );
        addresses.sort_unstable();
        addresses.dedup();
        let range = |s: &ModuleSection| {
            (
                facts::SectionAddress::new(s.index, 0).pack(),
                facts::SectionAddress::new(s.index, s.size).pack(),
            )
        };
        let text = sections.iter().filter(|s| s.exec).map(range).collect();
        let init_text = sections
            .iter()
            .filter(|s| s.exec && s.is_init())
            .map(range)
            .collect();
        let mut names = Vec::new();
        for s in sections {
            if names.len() <= s.index {
                names.resize(s.index + 1, String::new());
            }
            names[s.index] = s.name.clone();
        }
        Kallsyms {
            by_name: symbols,
            addresses,
            text,
            init_text,
            module: Some(names),
        }
    }

    /// What the kernel's lookup returns for `name`: for a vmlinux (`kallsyms_lookup_name`) the
    /// lowest-address symbol named exactly `name`, for a module (`find_kallsyms_symbol_value`)
    /// the first in its symbol table.
    pub fn lookup(&self, name: &str) -> Option<&KSym> {
        let i = self.by_name.partition_point(|s| s.name.as_str() < name);
        self.by_name.get(i).filter(|s| s.name == name)
    }

    /// The kernel function that does [`Self::lookup`]'s work, for messages.
    pub fn lookup_function(&self) -> &'static str {
        if self.module.is_some() {
            "find_kallsyms_symbol_value (the module's own symbols)"
        } else {
            "kallsyms_lookup_name"
        }
    }

    /// All symbols named exactly `name`, in lookup order.
    pub fn all(&self, name: &str) -> &[KSym] {
        let i = self.by_name.partition_point(|s| s.name.as_str() < name);
        let j = self.by_name.partition_point(|s| s.name.as_str() <= name);
        &self.by_name[i..j]
    }

    /// Where the symbol at `addr` ends: the next higher symbol address.
    pub fn end_of(&self, addr: u64) -> u64 {
        let i = self.addresses.partition_point(|&a| a <= addr);
        self.addresses.get(i).copied().unwrap_or(u64::MAX)
    }

    /// In text or init text.
    pub fn is_text(&self, addr: u64) -> bool {
        self.text.iter().any(|&(a, b)| a <= addr && addr < b)
    }

    /// In init text (freed after boot, or after a module's init).
    pub fn is_init_text(&self, addr: u64) -> bool {
        self.init_text.iter().any(|&(a, b)| a <= addr && addr < b)
    }

    /// An address as a reader finds it: hexadecimal in a vmlinux, `section+offset` in a module.
    pub fn at(&self, addr: u64) -> String {
        match &self.module {
            None => format!("{addr:#x}"),
            Some(names) => {
                let facts::SectionAddress { section: index, offset } = facts::SectionAddress::unpack(addr);
                match names.get(index).filter(|n| !n.is_empty()) {
                    Some(n) => format!("{n}+{offset:#x}"),
                    None => format!("section {index}+{offset:#x}"),
                }
            }
        }
    }

    /// This is a module's table.
    pub fn is_module(&self) -> bool {
        self.module.is_some()
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// No symbols.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The vmlinux ELF symbol table as kallsyms would keep it: defined symbols, not absolute, not
/// section or file symbols.
pub fn elf_symbols(file: &object::File<'_>) -> Vec<KSym> {
    file.symbols()
        .filter(|s| !s.is_undefined())
        .filter(|s| {
            !matches!(
                s.kind(),
                object::SymbolKind::Section | object::SymbolKind::File
            )
        })
        .filter(|s| {
            !matches!(
                s.section(),
                object::SymbolSection::Absolute | object::SymbolSection::Undefined
            )
        })
        .filter_map(|s| {
            let name = s.name().ok()?;
            if name.is_empty() {
                return None;
            }
            let section = s
                .section_index()
                .and_then(|i| file.section_by_index(i).ok())
                .and_then(|sec| sec.name().ok().map(str::to_string));
            Some(KSym {
                name: name.to_string(),
                addr: s.address(),
                kind: format!("{:?}", s.kind()).to_lowercase(),
                section,
            })
        })
        .collect()
}

/// Parses a System.map (`ADDRESS TYPE NAME` lines), dropping what `scripts/kallsyms.c`'s
/// `is_ignored_symbol()` drops: undefined, debugging and absolute symbols.
pub fn parse_system_map(text: &str, path: &Path) -> Result<Vec<KSym>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut it = line.split_whitespace();
        let (Some(addr), Some(kind), Some(name)) = (it.next(), it.next(), it.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            bail!(
                "{}:{}: not `ADDRESS TYPE NAME`: {line:?}",
                path.display(),
                n + 1
            );
        };
        let addr = u64::from_str_radix(addr, 16)
            .with_context(|| format!("{}:{}: bad address {addr:?}", path.display(), n + 1))?;
        if matches!(kind, "U" | "u" | "N" | "n" | "A" | "a") {
            continue;
        }
        out.push(KSym {
            name: name.to_string(),
            addr,
            kind: kind.to_string(),
            section: None,
        });
    }
    if out.len() < 100 {
        bail!(
            "{} has only {} usable symbols: a stub (Debian ships the real System.map in the -dbg package)",
            path.display(),
            out.len()
        );
    }
    Ok(out)
}

/// The ftrace sites of a vmlinux: the `__mcount_loc` records between `__start_mcount_loc` and
/// `__stop_mcount_loc` (the linker script folds every object's `__mcount_loc` section there,
/// inside `.init.data`), sorted.
pub fn mcount_locations(file: &object::File<'_>, syms: &Kallsyms) -> Result<Vec<u64>> {
    let (Some(start), Some(stop)) = (
        syms.lookup("__start_mcount_loc"),
        syms.lookup("__stop_mcount_loc"),
    ) else {
        bail!("no __start_mcount_loc/__stop_mcount_loc symbols: the kernel has no ftrace records (CONFIG_DYNAMIC_FTRACE off?)");
    };
    let (start, stop) = (start.addr, stop.addr);
    let section = file
        .sections()
        .find(|s| s.address() <= start && stop <= s.address() + s.size())
        .with_context(|| {
            format!("no section holds the __mcount_loc records {start:#x}..{stop:#x}")
        })?;
    let data = section
        .uncompressed_data()
        .with_context(|| format!("reading {}", section.name().unwrap_or("?")))?;
    let from = (start - section.address()) as usize;
    let to = (stop - section.address()) as usize;
    let bytes = data.get(from..to).with_context(|| {
        format!("__mcount_loc records {start:#x}..{stop:#x} lie outside the file's section data")
    })?;
    let little = file.is_little_endian();
    let mut out: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|c| {
            let a: [u8; 8] = c.try_into().expect("chunks of 8");
            if little {
                u64::from_le_bytes(a)
            } else {
                u64::from_be_bytes(a)
            }
        })
        .filter(|&a| a != 0)
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// The verdict for one FUNC (or one MISSED function).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditVerdict {
    /// See the module documentation.
    Ok,
    /// See the module documentation.
    WrongProto,
    /// See the module documentation.
    UnsafeOptimized,
    /// See the module documentation.
    Ambiguous,
    /// See the module documentation.
    Unattachable,
    /// See the module documentation.
    ReturnDropped,
    /// See the module documentation.
    Unjudged,
    /// See the module documentation.
    Missed,
}

impl AuditVerdict {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditVerdict::Ok => "OK",
            AuditVerdict::WrongProto => "WRONG_PROTO",
            AuditVerdict::UnsafeOptimized => "UNSAFE_OPTIMIZED",
            AuditVerdict::Ambiguous => "AMBIGUOUS",
            AuditVerdict::Unattachable => "UNATTACHABLE",
            AuditVerdict::ReturnDropped => "RETURN_DROPPED",
            AuditVerdict::Unjudged => "UNJUDGED",
            AuditVerdict::Missed => "MISSED",
        }
    }

    /// Makes `btfsmith audit` exit 1.
    pub fn fails(self) -> bool {
        matches!(
            self,
            AuditVerdict::WrongProto | AuditVerdict::UnsafeOptimized
        )
    }
}

/// One out-of-line body, as evidence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Body {
    /// Compilation unit.
    pub unit: String,
    /// `.debug_info` offset of its `DW_TAG_subprogram`.
    pub die_offset: String,
    /// Entry address.
    pub address: String,
    /// ELF symbols at the entry.
    pub symbols: Vec<String>,
    /// Its source prototype.
    pub prototype: String,
}

impl Body {
    fn of(f: &FunctionInstance, syms: &Kallsyms) -> Body {
        Body {
            unit: f.cu.clone(),
            die_offset: format!("{:#x}", f.die_offset),
            address: syms.at(f.entry),
            symbols: f.symbols.clone(),
            prototype: f.prototype.clone(),
        }
    }
}

/// One line of verdicts.jsonl.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Judgement {
    /// The module whose BTF has the FUNC (`None`: the vmlinux).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The FUNC's (or the missed function's) name.
    pub name: String,
    /// The FUNC's BTF type id (`None` for MISSED).
    pub btf_id: Option<u32>,
    /// The verdict.
    pub verdict: AuditVerdict,
    /// How: a short, stable kind (`proto:other-instance`, `no-exact-symbol`, `register:moved`, ...).
    pub mechanism: String,
    /// Other verdicts that also hold (a WRONG_PROTO FUNC may also be AMBIGUOUS).
    pub also: Vec<AuditVerdict>,
    /// The FUNC's prototype as the BTF says.
    pub btf_prototype: Option<String>,
    /// The symbol the kernel resolves the name to, and its address.
    pub symbol: Option<String>,
    /// Its address.
    pub address: Option<String>,
    /// The body reached (its DWARF).
    pub reached: Option<Body>,
    /// Other out-of-line bodies of the same source name.
    pub others: Vec<Body>,
    /// Subprogram DIEs of that name with no code (inlined everywhere, or emitted without an
    /// address) whose prototype is the FUNC's: where a FUNC describing no body came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub codeless_sources: Vec<Body>,
    /// In words.
    pub detail: String,
    /// MISSED only: the truth oracle's stricter rule holds too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safely_describable: Option<bool>,
}

/// Everything the judge needs, indexed.
pub struct Inputs<'a> {
    /// The DWARF truth.
    pub facts: &'a Facts,
    /// The symbols.
    pub syms: &'a Kallsyms,
    /// Sorted ftrace sites.
    pub mcount: &'a [u64],
    by_entry: HashMap<u64, usize>,
    by_name: HashMap<&'a str, Vec<usize>>,
    codeless_by_name: HashMap<&'a str, Vec<usize>>,
}

impl std::fmt::Debug for Inputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Inputs({} functions, {} symbols, {} ftrace sites)",
            self.facts.functions.len(),
            self.syms.len(),
            self.mcount.len()
        )
    }
}

impl<'a> Inputs<'a> {
    /// Indexes the facts.
    pub fn new(facts: &'a Facts, syms: &'a Kallsyms, mcount: &'a [u64]) -> Self {
        let mut by_entry = HashMap::new();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, f) in facts.functions.iter().enumerate() {
            by_entry.entry(f.entry).or_insert(i);
            by_name.entry(f.name.as_str()).or_default().push(i);
        }
        let mut codeless_by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, f) in facts.codeless.iter().enumerate() {
            codeless_by_name.entry(f.name.as_str()).or_default().push(i);
        }
        Inputs {
            facts,
            syms,
            mcount,
            by_entry,
            by_name,
            codeless_by_name,
        }
    }

    fn instances(&self, name: &str) -> impl Iterator<Item = &'a FunctionInstance> + '_ {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.facts.functions[i])
    }

    /// Code-less subprograms named `name` in units that have no out-of-line body of that name.
    fn codeless(&self, name: &str) -> impl Iterator<Item = &'a FunctionInstance> + '_ {
        let name = name.to_string();
        self.codeless_by_name
            .get(name.as_str())
            .into_iter()
            .flatten()
            .map(|&i| &self.facts.codeless[i])
            .filter(move |c| !self.instances(&name).any(|f| f.cu == c.cu))
    }

    fn instance_at(&self, addr: u64) -> Option<&'a FunctionInstance> {
        self.by_entry.get(&addr).map(|&i| &self.facts.functions[i])
    }

    /// The first ftrace site inside the symbol starting at `addr`.
    fn ftrace_site(&self, addr: u64) -> Option<u64> {
        let end = self.syms.end_of(addr);
        let i = self.mcount.partition_point(|&a| a < addr);
        self.mcount.get(i).copied().filter(|&a| a < end)
    }

    /// Why `sym` cannot be attached to, or `None` when it can.
    fn unattachable(&self, sym: &KSym) -> Option<(&'static str, String)> {
        let at = self.syms.at(sym.addr);
        let module = self.syms.is_module();
        if !self.syms.is_text(sym.addr) {
            let place = match &sym.section {
                Some(s) => format!("section {s}"),
                None => format!("type {}", sym.kind),
            };
            let text = if module { "the module's executable sections" } else { "_stext.._etext and init text" };
            return Some(("outside-kernel-text", format!("the symbol the kernel resolves {} to ({at}, {place}) is outside {text}: ftrace has no record there and bpf_arch_text_poke refuses non-text (-EINVAL)", sym.name)));
        }
        if self.syms.is_init_text(sym.addr) {
            let why = if module {
                "a module init section, freed once the module's init function returned; its symbols leave the module's kallsyms then (is_core_symbol), so the name is not found"
            } else {
                "init text (_sinittext.._einittext), freed after boot: its ftrace records are dropped and it is no longer kernel text"
            };
            return Some(("init-text", format!("{} at {at} is in {why}", sym.name)));
        }
        if self.ftrace_site(sym.addr).is_none() {
            return Some(("no-ftrace-site", format!("no __mcount_loc record between {at} and the next symbol at {}: not ftrace-able (notrace), the trampoline's text poke finds no 5-byte NOP", self.syms.at(self.syms.end_of(sym.addr)))));
        }
        None
    }
}

fn verdict(
    name: &str,
    id: Option<TypeId>,
    v: AuditVerdict,
    mechanism: &str,
    detail: String,
) -> Judgement {
    Judgement {
        module: None,
        name: name.to_string(),
        btf_id: id.map(|i| i.0),
        verdict: v,
        mechanism: mechanism.to_string(),
        also: Vec::new(),
        btf_prototype: None,
        symbol: None,
        address: None,
        reached: None,
        others: Vec::new(),
        codeless_sources: Vec::new(),
        detail,
        safely_describable: None,
    }
}

/// Judges one FUNC.
pub fn judge(btf: &Btf, id: TypeId, name: &str, inp: &Inputs<'_>) -> Judgement {
    let shown = btf::render::func_prototype(btf, id).unwrap_or_default();
    let mut j = verdict(name, Some(id), AuditVerdict::Ok, "ok", String::new());
    j.btf_prototype = Some(shown.clone());
    let Some(claimed) = Signature::of_btf_func(btf, id) else {
        j.verdict = AuditVerdict::Unjudged;
        j.mechanism = "no-prototype".into();
        j.detail = "the FUNC has no FUNC_PROTO".into();
        return j;
    };
    let source_name = name.split('.').next().unwrap_or(name);
    let same_name: Vec<&FunctionInstance> = inp.instances(source_name).collect();
    let Some(sym) = inp.syms.lookup(name) else {
        j.verdict = AuditVerdict::Unattachable;
        j.mechanism = "no-exact-symbol".into();
        j.others = same_name.iter().map(|f| Body::of(f, inp.syms)).collect();
        let bodies: Vec<String> = same_name
            .iter()
            .map(|f| {
                format!(
                    "{} at {} ({})",
                    if f.symbols.is_empty() {
                        "<no symbol>".to_string()
                    } else {
                        f.symbols.join(",")
                    },
                    inp.syms.at(f.entry),
                    f.cu
                )
            })
            .collect();
        j.detail = format!(
            "no symbol is named exactly {name}: {} fails (\"The address of function {name} cannot be found\"){}",
            inp.syms.lookup_function(),
            if bodies.is_empty() { "; no out-of-line body of that name either (inlined everywhere)".to_string() } else { format!("; the out-of-line bodies are {}", bodies.join("; ")) }
        );
        return j;
    };
    j.symbol = Some(sym.name.clone());
    j.address = Some(inp.syms.at(sym.addr));
    if let Some((mechanism, detail)) = inp.unattachable(sym) {
        j.verdict = AuditVerdict::Unattachable;
        j.mechanism = mechanism.into();
        j.detail = detail;
        j.reached = inp.instance_at(sym.addr).map(|f| Body::of(f, inp.syms));
        return j;
    }
    if let Some(why) = crate::rules::trampoline_refusal(btf, id) {
        j.verdict = AuditVerdict::Unattachable;
        j.mechanism = "trampoline:refused".into();
        j.detail = why;
        j.reached = inp.instance_at(sym.addr).map(|f| Body::of(f, inp.syms));
        return j;
    }
    let Some(target) = inp.instance_at(sym.addr) else {
        j.verdict = AuditVerdict::Unjudged;
        j.mechanism = "no-dwarf-at-target".into();
        j.detail = format!("{name} resolves to {}, where no DWARF subprogram with code starts (assembly, an alias, or a subprogram DIE gcc emitted without its address): nothing to judge against", inp.syms.at(sym.addr));
        return j;
    };
    j.reached = Some(Body::of(target, inp.syms));
    j.others = same_name
        .iter()
        .filter(|f| f.entry != target.entry)
        .map(|f| Body::of(f, inp.syms))
        .collect();

    let mut found: Vec<(AuditVerdict, String, String)> = Vec::new();
    if name.contains('.') {
        // A FUNC named like a clone: it must describe the clone's real parameters.
        let candidates = crate::rules::true_signatures(target);
        // A `void` return claims no return value, which is never wrong (DWARF does not say
        // whether gcc's IPA-SRA removed it); leaving out a variadic body's `...` is right too.
        let matches = |s: &Signature| {
            s.params == claimed.params
                && (s.ret == claimed.ret || claimed.ret == "void")
                && (s.variadic == claimed.variadic || (s.variadic && !claimed.variadic))
        };
        match candidates.iter().find(|(s, _)| matches(s)) {
            _ if candidates.is_empty() => {}
            None => {
                let why = candidates
                    .iter()
                    .find_map(|(s, _)| claimed.difference(s))
                    .unwrap_or_default();
                let shown_c: Vec<String> = candidates
                    .iter()
                    .take(4)
                    .map(|(s, _)| s.render(name))
                    .collect();
                found.push((
                    AuditVerdict::WrongProto,
                    "clone:wrong-params".into(),
                    format!(
                        "{name} (a clone of {source_name}) really takes {}; {why}",
                        shown_c.join(" or ")
                    ),
                ));
            }
            Some((_, Some(p))) => found.push((
                AuditVerdict::UnsafeOptimized,
                "clone:register-moved".into(),
                p.clone(),
            )),
            Some((_, None)) => {}
        }
    } else {
        let attachable: Vec<&&FunctionInstance> =
            same_name.iter().filter(|f| f.has_exact_symbol()).collect();
        let signatures: BTreeSet<&Signature> = attachable.iter().map(|f| &f.sig).collect();
        if signatures.len() > 1 {
            let list: Vec<String> = attachable
                .iter()
                .map(|f| format!("{} ({}, {})", f.prototype, f.cu, inp.syms.at(f.entry)))
                .collect();
            found.push((AuditVerdict::Ambiguous, "collision:inconsistent".into(), format!("{} bodies carry the symbol {name}, with different prototypes: {}; the kernel reaches the one at {} ({})", attachable.len(), list.join("; "), inp.syms.at(target.entry), target.cu)));
        } else if attachable
            .iter()
            .any(|f| !facts::dwarf::shapes_agree(&f.shape, &target.shape))
        {
            let list: Vec<String> = attachable
                .iter()
                .map(|f| format!("{} ({}): {}", f.prototype, f.cu, f.shape.join(", ")))
                .collect();
            found.push((AuditVerdict::Ambiguous, "collision:same-name-types".into(), format!("{} bodies carry the symbol {name}; their prototypes read alike but their types differ per unit: {}", attachable.len(), list.join("; "))));
        }
        let icf_alias = target.name != name && inp.codeless(name).any(|f| f.sig == claimed);
        if icf_alias && unqualified(&claimed) == unqualified(&target.sig) {
            // gcc's identical code folding made `name` an alias of the body `target.name`: the
            // symbol sits on that body, and `name`'s own DIE has no code. The compiler proved
            // the two bodies the same and the prototypes differ at most in qualifiers, which do
            // not change how arguments travel: a tracer reads them right.
            j.mechanism = "icf-alias".into();
            j.detail = format!("{name} is an alias of {} (identical code folding; {name}'s DIE has no code); the prototypes differ at most in const/volatile", target.name);
        } else if let Some(why) = claimed.difference(&target.sig) {
            let matching: Vec<String> = same_name
                .iter()
                .filter(|f| f.sig == claimed)
                .map(|f| format!("{} ({}, {})", f.symbols.join(","), f.cu, inp.syms.at(f.entry)))
                .collect();
            let codeless: Vec<&FunctionInstance> = if matching.is_empty() {
                inp.codeless(name).filter(|f| f.sig == claimed).collect()
            } else {
                Vec::new()
            };
            let mechanism = if !matching.is_empty() {
                "proto:other-instance"
            } else if icf_alias {
                "proto:icf-alias"
            } else if !codeless.is_empty() {
                "proto:codeless-instance"
            } else {
                "proto:mismatch"
            };
            let mut d = format!(
                "the kernel attaches {name} to {} in {}: {}; {why}",
                inp.syms.at(target.entry), target.cu, target.prototype
            );
            if !matching.is_empty() {
                let _ = write!(
                    d,
                    "; the FUNC's prototype is that of {}",
                    matching.join(", ")
                );
            }
            if !codeless.is_empty() {
                let list: Vec<String> = codeless
                    .iter()
                    .map(|f| format!("{} in {} (DIE {:#x})", f.name, f.cu, f.die_offset))
                    .collect();
                let _ = write!(d, "; the FUNC's prototype is that of {}, which has no out-of-line body (inlined everywhere, or emitted without an address): the FUNC describes code that does not exist under that name", list.join(", "));
                j.codeless_sources = codeless
                    .iter()
                    .map(|f| Body {
                        unit: f.cu.clone(),
                        die_offset: format!("{:#x}", f.die_offset),
                        address: "none".into(),
                        symbols: Vec::new(),
                        prototype: f.prototype.clone(),
                    })
                    .collect();
            }
            found.push((AuditVerdict::WrongProto, mechanism.into(), d));
        } else if let Some(ev) = target.convention_change() {
            found.push((
                AuditVerdict::UnsafeOptimized,
                ev.mechanism.into(),
                ev.detail,
            ));
        } else if let Some((mechanism, detail)) = crate::rules::trampoline_misread(btf, id, target) {
            found.push((AuditVerdict::UnsafeOptimized, mechanism.into(), detail));
        } else if target.return_dropped() {
            found.push((
                AuditVerdict::ReturnDropped,
                "nocall:return-only".into(),
                format!(
                    "DW_CC_nocall, arguments in place, return value `{}` dropped",
                    target.sig.ret
                ),
            ));
        }
    }
    // The worst first: a wrong prototype or convention is what makes a tracer read garbage.
    found.sort_by_key(|(v, _, _)| *v);
    if let Some((v, m, d)) = found.first() {
        j.verdict = *v;
        j.mechanism = m.clone();
        j.detail = found
            .iter()
            .map(|(_, _, d)| d.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let _ = d;
        j.also = found.iter().skip(1).map(|(v, _, _)| *v).collect();
    }
    j
}

/// A signature without `const`/`volatile` qualifiers (which do not change how arguments travel).
fn unqualified(sig: &Signature) -> Signature {
    let strip = |t: &str| {
        t.replace("*const", "* ")
            .replace("*volatile", "* ")
            .split_whitespace()
            .filter(|w| *w != "const" && *w != "volatile")
            .collect::<Vec<_>>()
            .join(" ")
    };
    Signature {
        ret: strip(&sig.ret),
        params: sig.params.iter().map(|p| strip(p)).collect(),
        variadic: sig.variadic,
    }
}

/// The traceable functions no FUNC describes: a source name whose exact symbol kallsyms
/// resolves to an out-of-line DWARF body with an ftrace site, not in init text.
pub fn missed(inp: &Inputs<'_>, encoded: &BTreeSet<String>) -> Vec<Judgement> {
    let names: BTreeSet<&str> = inp
        .facts
        .functions
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let mut out = Vec::new();
    for name in names {
        if encoded.contains(name) {
            continue;
        }
        let Some(sym) = inp.syms.lookup(name) else {
            continue;
        };
        if inp.unattachable(sym).is_some() {
            continue;
        }
        let Some(target) = inp.instance_at(sym.addr) else {
            continue;
        };
        let mut j = verdict(
            name,
            None,
            AuditVerdict::Missed,
            "missed",
            format!(
                "{name} at {} ({}) has an exact symbol, an ftrace site and DWARF, but no FUNC",
                inp.syms.at(sym.addr), target.cu
            ),
        );
        j.symbol = Some(sym.name.clone());
        j.address = Some(inp.syms.at(sym.addr));
        j.reached = Some(Body::of(target, inp.syms));
        j.safely_describable = Some(safely_describable(inp, name, target));
        out.push(j);
    }
    // Bodies that exist only as clones (`f.isra.0`, `f.constprop.0`): only a FUNC under the
    // clone's own name can describe one (the kernel resolves the FUNC's name exactly), with the
    // real prototype the DWARF proves ([`crate::rules::clone_signature`], the campaign's rule).
    for f in inp.facts.functions.iter().filter(|f| f.is_clone()) {
        if inp.instances(&f.name).any(|g| g.has_exact_symbol()) {
            continue;
        }
        let Some(clone) = f.symbols.first() else { continue };
        // Two units' clones with one symbol: the kernel reaches one; no FUNC describes both.
        if encoded.contains(clone.as_str()) || inp.syms.all(clone).len() != 1 {
            continue;
        }
        let Some(sym) = inp.syms.lookup(clone) else { continue };
        if sym.addr != f.entry || inp.unattachable(sym).is_some() {
            continue;
        }
        let Some(sig) = crate::rules::clone_signature(f) else { continue };
        let mut j = verdict(
            clone,
            None,
            AuditVerdict::Missed,
            "missed:clone-only",
            format!(
                "{} exists only as the clone {clone} at {} ({}), whose real prototype the DWARF proves ({}), but there is no FUNC {clone}",
                f.name,
                inp.syms.at(sym.addr),
                f.cu,
                sig.render(clone)
            ),
        );
        j.symbol = Some(clone.clone());
        j.address = Some(inp.syms.at(sym.addr));
        j.reached = Some(Body::of(f, inp.syms));
        j.safely_describable = Some(true);
        out.push(j);
    }
    out
}

/// The truth oracle's rule for "could have been described safely"
/// ([`crate::rules::safely_encodable`]: every body carrying the exact symbol has one prototype and one
/// set of types, the reached one receives its arguments as the prototype says, not variadic),
/// over the indexes: `safely_encodable` scans every function per name, quadratic on a kernel's
/// 50,000.
fn safely_describable(inp: &Inputs<'_>, name: &str, target: &FunctionInstance) -> bool {
    let bodies: Vec<&FunctionInstance> = inp
        .instances(name)
        .filter(|f| f.has_exact_symbol())
        .collect();
    let sigs: BTreeSet<&Signature> = bodies.iter().map(|f| &f.sig).collect();
    let one_type = bodies
        .iter()
        .all(|f| facts::dwarf::shapes_agree(&f.shape, &target.shape));
    sigs.len() == 1 && one_type && target.convention_verified() && !target.variadic
}

/// What judging one image (the vmlinux, or one module) produced.
#[derive(Debug, Default)]
pub struct ImageAudit {
    /// One per FUNC, sorted by (verdict, name).
    pub judgements: Vec<Judgement>,
    /// Traceable functions without a FUNC.
    pub missed: Vec<Judgement>,
    /// FUNCs judged.
    pub funcs: usize,
    /// Out-of-line bodies in the DWARF.
    pub bodies: usize,
}

impl ImageAudit {
    /// Counts per verdict, MISSED included.
    pub fn counts(&self) -> BTreeMap<AuditVerdict, usize> {
        let mut counts: BTreeMap<AuditVerdict, usize> = BTreeMap::new();
        for j in self.judgements.iter().chain(&self.missed) {
            *counts.entry(j.verdict).or_default() += 1;
        }
        counts
    }

    /// Some FUNC makes a tracer read the wrong thing.
    pub fn fails(&self) -> bool {
        self.judgements.iter().any(|j| j.verdict.fails())
    }
}

/// Judges every FUNC of `btf`'s own types (a split BTF's: the module's) against `facts`, read
/// from `dwarf_data`, and lists the MISSED functions. `facts.codeless` is filled on the way for
/// the FUNCs whose prototype no out-of-line body has.
pub fn judge_image(
    btf: &Btf,
    dwarf_data: &[u8],
    facts: &mut Facts,
    syms: &Kallsyms,
    mcount: &[u64],
    pool: &rayon::ThreadPool,
) -> Result<ImageAudit> {
    let inp = Inputs::new(facts, syms, mcount);
    let funcs: Vec<(TypeId, String)> = btf
        .own_ids()
        .zip(btf.own_types())
        .filter(|(_, t)| matches!(t.data, TypeData::Func(_)))
        .map(|(id, t)| (id, btf.str(t.name).to_string()))
        .collect();
    let mut judgements: Vec<Judgement> = {
        use rayon::prelude::*;
        pool.install(|| {
            funcs
                .par_iter()
                .map(|(id, name)| judge(btf, *id, name, &inp))
                .collect()
        })
    };
    // A FUNC whose prototype no out-of-line body has: look for a code-less DIE it came from
    // (a second, light pass over the DIEs, only for those names), and judge those again.
    let unexplained: std::collections::HashSet<String> = judgements
        .iter()
        .filter(|j| j.mechanism == "proto:mismatch")
        .map(|j| j.name.clone())
        .collect();
    drop(inp);
    if !unexplained.is_empty() {
        let refs: Vec<(u64, u64)> = facts
            .codeless_refs
            .iter()
            .filter(|(n, _, _)| unexplained.contains(n))
            .map(|&(_, u, d)| (u, d))
            .collect();
        facts.codeless = facts::dwarf::read_codeless(dwarf_data, pool, &refs)
            .context("reading code-less DIEs")?;
    }
    let inp = Inputs::new(facts, syms, mcount);
    for j in judgements
        .iter_mut()
        .filter(|j| unexplained.contains(&j.name))
    {
        if let Some(id) = j.btf_id {
            *j = judge(btf, TypeId(id), &j.name.clone(), &inp);
        }
    }
    let encoded: BTreeSet<String> = funcs.iter().map(|(_, n)| n.clone()).collect();
    let missed = missed(&inp, &encoded);
    judgements.sort_by(|a, b| (a.verdict, &a.name).cmp(&(b.verdict, &b.name)));
    Ok(ImageAudit {
        judgements,
        missed,
        funcs: funcs.len(),
        bodies: facts.functions.len(),
    })
}

/// The vmlinux side of an audit: its judgements and what the report says about its inputs.
struct VmlinuxAudit {
    image: ImageAudit,
    symbols: usize,
    sites: usize,
    /// The BTF its modules' split BTF is over, unless `--base-btf` names another.
    own_btf: Option<std::sync::Arc<Btf>>,
}

fn audit_vmlinux(args: &AuditArgs, vmlinux: &Path, pool: &rayon::ThreadPool, jobs: usize) -> Result<VmlinuxAudit> {
    let t0 = Instant::now();
    let file =
        std::fs::File::open(vmlinux).with_context(|| format!("opening {}", vmlinux.display()))?;
    // SAFETY: the file is only read; a concurrent writer could change what we read, as with
    // any reader, but not break memory safety beyond that (the same as every mmap reader).
    let map = unsafe { memmap2::Mmap::map(&file) }
        .with_context(|| format!("mapping {}", vmlinux.display()))?;
    let elf = object::File::parse(&*map)
        .with_context(|| format!("parsing {} as ELF", vmlinux.display()))?;

    let symbols = match &args.system_map {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            parse_system_map(&text, p)?
        }
        None => elf_symbols(&elf),
    };
    let syms = Kallsyms::new(symbols).with_context(|| {
        format!(
            "the symbols of {}",
            args.system_map.as_deref().unwrap_or(vmlinux).display()
        )
    })?;
    let own_btf = match elf.section_by_name(".BTF") {
        Some(_) => Some(std::sync::Arc::new(
            Btf::parse_file_bytes(&map, None)
                .with_context(|| format!("parsing the .BTF of {}", vmlinux.display()))?,
        )),
        None => None,
    };
    let loaded;
    let btf = match (&args.btf, &own_btf) {
        (Some(p), _) => {
            loaded = crate::btf_cmd::load(p, None)?;
            &loaded
        }
        (None, Some(b)) => &**b,
        (None, None) => bail!(
            "{} has no .BTF section: name the BTF to judge with --btf",
            vmlinux.display()
        ),
    };
    let mcount = mcount_locations(&elf, &syms)
        .with_context(|| format!("the ftrace sites of {}", vmlinux.display()))?;
    let t_inputs = t0.elapsed();

    let mut facts = facts::dwarf::read_with(&map, Some(pool), true)
        .with_context(|| format!("reading the DWARF of {}", vmlinux.display()))?;
    let t_dwarf = t0.elapsed();
    let image = judge_image(btf, &map, &mut facts, &syms, &mcount, pool)?;
    let t_judge = t0.elapsed();
    eprintln!(
        "vmlinux time: inputs {:.2}s, DWARF {:.2}s ({} bodies, {jobs} threads), judging {:.2}s",
        t_inputs.as_secs_f64(),
        (t_dwarf - t_inputs).as_secs_f64(),
        facts.functions.len(),
        (t_judge - t_dwarf).as_secs_f64(),
    );
    Ok(VmlinuxAudit {
        image,
        symbols: syms.len(),
        sites: mcount.len(),
        own_btf,
    })
}

/// `btfsmith audit`.
pub fn audit(args: AuditArgs) -> Result<ExitCode> {
    let t0 = Instant::now();
    if args.vmlinux.is_none() && args.modules.is_none() {
        bail!("nothing to audit: name a VMLINUX, or modules with --modules DIR (and their base BTF with --base-btf)");
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    // The DWARF reader and the judge recurse over type graphs; some kernel modules' types nest
    // deeper than a default 2 MiB thread stack holds (only touched pages cost memory).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .stack_size(AUDIT_STACK)
        .build()
        .context("starting the thread pool")?;

    let vmlinux = match &args.vmlinux {
        Some(v) => Some(audit_vmlinux(&args, v, &pool, jobs)?),
        None => None,
    };
    let t_vmlinux = t0.elapsed();
    let modules = match &args.modules {
        None => None,
        Some(dir) => {
            let base = match (&args.base_btf, vmlinux.as_ref().and_then(|v| v.own_btf.as_ref())) {
                (Some(p), _) => std::sync::Arc::new(crate::btf_cmd::load(p, None)?),
                (None, Some(b)) => b.clone(),
                (None, None) => bail!(
                    "--modules needs the vmlinux BTF the modules' split BTF is over: give --base-btf FILE (e.g. /sys/kernel/btf/vmlinux), or a VMLINUX with a .BTF section"
                ),
            };
            Some(modules::audit_modules(dir, args.module_debug.as_deref(), base, &pool)?)
        }
    };
    let t_modules = t0.elapsed();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut jsonl = String::new();
    let images = vmlinux
        .iter()
        .map(|v| &v.image)
        .chain(modules.iter().flat_map(|m| m.modules.iter().map(|m| &m.image)));
    for image in images {
        for j in image.judgements.iter().chain(&image.missed) {
            jsonl.push_str(&serde_json::to_string(j)?);
            jsonl.push('\n');
        }
    }
    let jsonl_path = args.out.join("verdicts.jsonl");
    std::fs::write(&jsonl_path, jsonl)
        .with_context(|| format!("writing {}", jsonl_path.display()))?;

    let mut report = String::new();
    if let (Some(v), Some(path)) = (&vmlinux, &args.vmlinux) {
        report = render_report(
            &args,
            path,
            &btf_source(&args, path),
            &v.image.counts(),
            &v.image.judgements,
            &v.image.missed,
            v.image.bodies,
            v.symbols,
            v.sites,
            v.image.funcs,
        );
        let summary: Vec<String> = v
            .image
            .counts()
            .iter()
            .map(|(v, n)| format!("{} {n}", v.as_str()))
            .collect();
        println!("vmlinux: {} FUNCs: {}", v.image.funcs, summary.join(", "));
    }
    if let Some(m) = &modules {
        report.push_str(&m.render());
        println!("{}", m.summary());
    }
    let report_path = args.out.join("report.md");
    std::fs::write(&report_path, report)
        .with_context(|| format!("writing {}", report_path.display()))?;
    println!("report: {}", report_path.display());
    eprintln!(
        "time: vmlinux {:.2}s, modules {:.2}s, writing {:.2}s",
        t_vmlinux.as_secs_f64(),
        (t_modules - t_vmlinux).as_secs_f64(),
        t0.elapsed().saturating_sub(t_modules).as_secs_f64()
    );
    let fails = vmlinux.as_ref().is_some_and(|v| v.image.fails())
        || modules.as_ref().is_some_and(|m| m.fails());
    Ok(if fails {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn btf_source(args: &AuditArgs, vmlinux: &Path) -> String {
    match &args.btf {
        Some(p) => p.display().to_string(),
        None => format!("the .BTF section of {}", vmlinux.display()),
    }
}

#[allow(clippy::too_many_arguments)]
fn render_report(
    args: &AuditArgs,
    vmlinux: &Path,
    btf_source: &str,
    counts: &BTreeMap<AuditVerdict, usize>,
    judgements: &[Judgement],
    missed: &[Judgement],
    bodies: usize,
    symbols: usize,
    sites: usize,
    funcs: usize,
) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# btfsmith audit\n");
    let _ = writeln!(r, "- kernel image (DWARF): `{}`", vmlinux.display());
    let _ = writeln!(r, "- BTF judged: {btf_source}");
    let _ =
        writeln!(
            r,
            "- symbols: {} ({symbols} kept as kallsyms keeps them)",
            args.system_map.as_ref().map_or(
                "the image's ELF symbol table".to_string(),
                |p| format!("`{}`", p.display())
            )
        );
    let _ = writeln!(r, "- ftrace sites: {sites} `__mcount_loc` records (`__start_mcount_loc`..`__stop_mcount_loc`)");
    let _ = writeln!(r, "- DWARF: {bodies} out-of-line function bodies");
    let _ = writeln!(r, "\nA FUNC named N is resolved as the kernel does (`kallsyms_lookup_name`: exact name, lowest address), then judged against the DWARF body at that address.\n");
    let _ = writeln!(
        r,
        "## Counts ({funcs} FUNCs)\n\n| verdict | count |\n|---|---|"
    );
    for (v, n) in counts {
        let _ = writeln!(r, "| {} | {n} |", v.as_str());
    }
    let safe = missed
        .iter()
        .filter(|j| j.safely_describable == Some(true))
        .count();
    let _ = writeln!(r, "\nMISSED counts functions, not FUNCs; {safe} of them are also safely describable by the truth oracle's rule (one prototype, arguments proven in place).");
    let mut current = None;
    // UNATTACHABLE FUNCs are many (8,000 in a distribution kernel, mostly notrace code): one
    // table row each; verdicts.jsonl has their full detail.
    let unattachable: Vec<&Judgement> = judgements
        .iter()
        .filter(|j| j.verdict == AuditVerdict::Unattachable)
        .collect();
    for j in judgements
        .iter()
        .filter(|j| !matches!(j.verdict, AuditVerdict::Ok | AuditVerdict::Unattachable))
    {
        if current != Some(j.verdict) {
            current = Some(j.verdict);
            let _ = writeln!(r, "\n## {}\n", j.verdict.as_str());
        }
        let _ = writeln!(r, "### {} (BTF id {})\n", j.name, j.btf_id.unwrap_or(0));
        let _ = writeln!(
            r,
            "- mechanism: `{}`{}",
            j.mechanism,
            if j.also.is_empty() {
                String::new()
            } else {
                format!(
                    " (also {})",
                    j.also
                        .iter()
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        let _ = writeln!(r, "- BTF: `{}`", j.btf_prototype.as_deref().unwrap_or("?"));
        if let (Some(s), Some(a)) = (&j.symbol, &j.address) {
            let _ = writeln!(r, "- resolves to: `{s}` at {a}");
        }
        if let Some(b) = &j.reached {
            let _ = writeln!(
                r,
                "- reached body: `{}` — unit {}, DIE {}, address {}, symbols {}",
                b.prototype,
                b.unit,
                b.die_offset,
                b.address,
                b.symbols.join(",")
            );
        }
        for b in &j.others {
            let _ = writeln!(
                r,
                "- other body: `{}` — unit {}, DIE {}, address {}, symbols {}",
                b.prototype,
                b.unit,
                b.die_offset,
                b.address,
                if b.symbols.is_empty() {
                    "none".to_string()
                } else {
                    b.symbols.join(",")
                }
            );
        }
        for b in &j.codeless_sources {
            let _ = writeln!(
                r,
                "- code-less DIE with the FUNC's prototype: `{}` — unit {}, DIE {}, no address",
                b.prototype, b.unit, b.die_offset
            );
        }
        for line in j.detail.lines() {
            let _ = writeln!(r, "- {line}");
        }
        r.push('\n');
    }
    if !unattachable.is_empty() {
        let _ = writeln!(
            r,
            "\n## UNATTACHABLE\n\nOne row per FUNC (the full reason of each is in verdicts.jsonl).\n\n| FUNC | mechanism | resolves to | address | unit |\n|---|---|---|---|---|"
        );
        for j in unattachable {
            let _ = writeln!(
                r,
                "| {} | {} | {} | {} | {} |",
                j.name,
                j.mechanism,
                j.symbol.as_deref().unwrap_or("-"),
                j.address.as_deref().unwrap_or("-"),
                j.reached.as_ref().map_or("-", |b| b.unit.as_str())
            );
        }
    }
    if !missed.is_empty() {
        let _ = writeln!(
            r,
            "\n## MISSED\n\n| function | address | unit | safely describable |\n|---|---|---|---|"
        );
        for j in missed {
            let b = j.reached.as_ref();
            let _ = writeln!(
                r,
                "| {} | {} | {} | {} |",
                j.name,
                j.address.as_deref().unwrap_or(""),
                b.map_or("", |b| b.unit.as_str()),
                if j.safely_describable == Some(true) {
                    "yes"
                } else {
                    "no"
                }
            );
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, addr: u64) -> KSym {
        KSym {
            name: name.into(),
            addr,
            kind: "t".into(),
            section: None,
        }
    }

    fn table() -> Kallsyms {
        Kallsyms::new(vec![
            sym("_stext", 0x1000),
            sym("_etext", 0x9000),
            sym("_sinittext", 0xa000),
            sym("_einittext", 0xb000),
            sym("dup", 0x3000),
            sym("dup", 0x2000),
            sym("dup.isra.0", 0x1800),
            sym("f.constprop.0", 0x4000),
            sym("init_only", 0xa100),
            sym("data_too", 0xc000),
        ])
        .unwrap()
    }

    #[test]
    fn a_name_resolves_to_its_lowest_address_exact_match_never_to_a_clone() {
        let k = table();
        assert_eq!(k.lookup("dup").unwrap().addr, 0x2000);
        assert_eq!(k.all("dup").len(), 2);
        assert!(k.lookup("f").is_none(), "f.constprop.0 does not match f");
        assert_eq!(k.lookup("f.constprop.0").unwrap().addr, 0x4000);
        assert!(k.lookup("du").is_none());
    }

    #[test]
    fn a_symbol_ends_at_the_next_higher_address_and_text_ranges_are_kept() {
        let k = table();
        assert_eq!(k.end_of(0x2000), 0x3000);
        assert_eq!(k.end_of(0x1000), 0x1800);
        assert!(k.is_text(0x2000) && !k.is_init_text(0x2000));
        assert!(k.is_text(0xa100) && k.is_init_text(0xa100));
        assert!(!k.is_text(0xc000));
    }

    #[test]
    fn a_system_map_drops_what_kallsyms_drops_and_a_stub_is_refused() {
        let mut text = String::from("0000000000000000 A abs\nffffffff81000000 U undef\n");
        for i in 0..120 {
            text.push_str(&format!("ffffffff8100{i:04x} t f{i}\n"));
        }
        let syms = parse_system_map(&text, Path::new("System.map")).unwrap();
        assert_eq!(syms.len(), 120);
        assert!(syms.iter().all(|s| s.name != "abs" && s.name != "undef"));
        let stub =
            "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n";
        let err = parse_system_map(stub, Path::new("System.map"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("stub"), "{err}");
        assert!(parse_system_map("zz t f\n", Path::new("m")).is_err());
    }

    #[test]
    fn qualifiers_do_not_make_two_signatures_differ() {
        let s = |params: &[&str]| Signature {
            ret: "ssize_t".into(),
            params: params.iter().map(|p| p.to_string()).collect(),
            variadic: false,
        };
        assert_eq!(
            unqualified(&s(&["const void *", "struct r *const"])),
            unqualified(&s(&["void *", "struct r *"]))
        );
        assert_ne!(
            unqualified(&s(&["const char *"])),
            unqualified(&s(&["void *"]))
        );
    }
}
