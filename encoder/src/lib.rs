//! btfenc: DWARF → BTF, with function selection that is safe for tracing by default.
//!
//! - [`encode`] reads an ELF file (object, module, vmlinux), walks its DWARF with gimli (applying
//!   relocations for `ET_REL` inputs), builds CU-local types in parallel, deduplicates them as one
//!   graph (optionally over a base BTF, for split BTF), selects functions and variables, and
//!   returns a [`btf::Btf`] and a [`Report`] saying which functions were dropped and why.
//!   Memory: each unit's types enter the graph's flat records as soon as the unit and the ones
//!   before it are walked (its own type list and names are freed then, its mapped DWARF pages
//!   given back), and after deduplication only the canonical types are kept; on the Debian 6.12
//!   vmlinux the peak is about a third of a GB, below pahole's.
//! - [`Options`] carries the [`Features`] (pahole's `--btf_features` names), the base and the
//!   number of jobs. Output bytes do not depend on the number of jobs.
//! - [`elf::add_btf_section`] writes a `.BTF` section into an ELF file (pahole's `-J`).
//!
//! ```
//! // pahole's feature names, as the kernel passes them; unknown names are ignored.
//! let (features, unknown) = encoder::Features::from_list("var,float,enum64,no_such_feature");
//! assert!(features.float && features.enum64 && !features.global_var);
//! assert_eq!(unknown, ["no_such_feature"]);
//! // Not an ELF file: a typed error, never a panic.
//! let err = encoder::encode(b"not an ELF file", &encoder::Options::default()).unwrap_err();
//! assert!(err.to_string().starts_with("cannot parse ELF"));
//! ```
//!
//! ```no_run
//! let elf = std::fs::read("foo.o").unwrap();
//! let out = encoder::encode(&elf, &encoder::Options::default()).unwrap();
//! let bytes = out.btf.to_bytes().unwrap();
//! print!("{}", out.report.explain_text());
//! # let _ = bytes;
//! ```
//!
//! # Types
//!
//! Types are encoded as pahole encodes them (checked against pahole 1.24 on kernel headers and
//! generated programs, gcc 12 and clang 14/19): `char` is a SIGNED INT (pahole never writes
//! `CHAR`), floats are INTs unless the `float` feature is on, arrays are indexed by the first CU's `int` (else one
//! `__ARRAY_SIZE_TYPE__`), 8-byte enums are ENUM64 with `enum64`. Differences, on purpose:
//! multi-dimensional arrays are nested (`int [2][3]`, as pahole 1.32 and clang) unless a base with
//! flat arrays is given or `flatten_arrays` is set (pahole ≤ 1.31 writes `int [6]`); FUNCs of
//! external functions have `global` linkage (pahole writes `static` for all); integers BTF cannot
//! express (`_BitInt(N)` over 128 bits, odd sizes) are arrays of as many unsigned bytes — same size
//! and layout — where pahole writes a 4-byte `__SANITIZED_FAKE_INT__` that moves every later member.
//!
//! # Deduplication
//!
//! libbpf's `btf__dedup` semantics, reimplemented (the `dedup` module, also as [`dedup_btf`]):
//! strings, primitive types, structs/unions by a shallow hash and a lock-step equivalence walk in
//! which a FWD matches a struct of its name, reference types bottom-up, FWD resolution; split BTF
//! against its base, whose types never change. A test compares it with libbpf's own.
//!
//! # Functions
//!
//! The kernel attaches to a FUNC by name through kallsyms (first match) and a tracer reads the
//! arguments the prototype describes. A FUNC `foo` is written only when that is right for every
//! function the name can reach:
//! - every ELF function symbol `foo` is an out-of-line instance described in DWARF;
//! - all instances have the same prototype (types compared by structure, not by name);
//! - no instance is `DW_CC_nocall` (with `true_signature`, the prototype its parameters'
//!   locations show, `void` return: `abi::nocall_signature`);
//! - every parameter of every instance is, at the entry address, where the x86-64 SysV ABI puts
//!   it: integer-class arguments in rdi, rsi, rdx, rcx, r8, r9 then on the stack, structs of up to
//!   16 bytes made of integer fields in one or two registers, larger ones on the stack. Parameters
//!   optimized out (except unused ones of an external function: every caller passes them),
//!   constant-propagated, not described at entry or in another register drop the
//!   function, and so do floating-point parameters (SSE registers break the argument
//!   numbering), mixed-class or packed structs, and a struct returned in memory (its hidden
//!   pointer takes rdi).
//!
//! Functions that only exist as clones (`foo.isra.0`, `foo.constprop.0`, `.part`, `.cold`) get
//! no FUNC `foo`; with `clone_true_signature` (or pahole's `true_signature`) a clone is written
//! under its own name with the parameters its DWARF locations show, when that is unambiguous.
//! Every function with code that gets no FUNC is in [`Report::dropped`] with its reason, and so
//! is every function symbol no DWARF instance describes (assembly, identical-code-folding thunks).
//!
//! Set `BTFENC_TIMING=1` to have the phases' times printed on stderr.
#![deny(missing_docs, missing_debug_implementations)]
// gimli's DW_* constants are matched by name.
#![allow(non_upper_case_globals)]

mod abi;
pub mod dedup;
mod dwarf;
pub mod elf;
mod emit;
mod error;
pub mod features;
mod fixups;
mod funcs;
mod fx;
mod graph;
mod kfuncs;
mod merge;
mod report;
mod vars;

pub use error::{EncodeError, Result};
pub use features::Features;
pub use report::{DropKind, Dropped, Instance, Report};

use btf::Btf;
use object::Object;
use std::sync::Arc;

/// How to encode.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Features (what plain `pahole -J` encodes, by default).
    pub features: Features,
    /// Base BTF: the output is split BTF over it.
    pub base: Option<Arc<Btf>>,
    /// Worker threads for the per-CU walk; `None`: none, the walk runs on the calling thread.
    pub jobs: Option<usize>,
    /// Languages whose CUs are skipped (`--lang_exclude`).
    pub lang_exclude: Vec<gimli::DwLang>,
    /// Multi-dimensional arrays: `None` nests them (`int [2][3]` = array of 2 arrays of 3, as
    /// pahole 1.32 and clang do) unless a base is given whose arrays are flat (pahole ≤ 1.31
    /// flattened them to one array of 6, and module types must match their vmlinux base to
    /// deduplicate against it). `Some(x)` forces it.
    pub flatten_arrays: Option<bool>,
}

/// The result of an encode.
#[derive(Debug)]
pub struct Encoded {
    /// The BTF (split over [`Options::base`] when given).
    pub btf: Btf,
    /// What was dropped and why.
    pub report: Report,
}

/// Maps a pahole `--lang_exclude` name to DWARF language codes.
pub fn lang_codes(name: &str) -> Vec<gimli::DwLang> {
    use gimli::constants::*;
    match name.trim().to_ascii_lowercase().as_str() {
        "c" => vec![
            DW_LANG_C,
            DW_LANG_C89,
            DW_LANG_C99,
            DW_LANG_C11,
            DW_LANG_C17,
        ],
        "c89" => vec![DW_LANG_C89],
        "c99" => vec![DW_LANG_C99],
        "c11" => vec![DW_LANG_C11],
        "c17" => vec![DW_LANG_C17],
        "c++" | "cplusplus" => vec![
            DW_LANG_C_plus_plus,
            DW_LANG_C_plus_plus_03,
            DW_LANG_C_plus_plus_11,
            DW_LANG_C_plus_plus_14,
            DW_LANG_C_plus_plus_17,
            DW_LANG_C_plus_plus_20,
        ],
        "rust" => vec![DW_LANG_Rust],
        "go" => vec![DW_LANG_Go],
        "asm" | "mips_assembler" => vec![DW_LANG_Mips_Assembler],
        "ada" => vec![DW_LANG_Ada83, DW_LANG_Ada95],
        "fortran" => vec![DW_LANG_Fortran77, DW_LANG_Fortran90, DW_LANG_Fortran95],
        _ => Vec::new(),
    }
}

/// An input file's bytes: memory-mapped when possible (a vmlinux is hundreds of MB, and reading
/// it into the heap would cost its size in RSS and a copy), else read.
#[derive(Debug)]
pub enum Input {
    /// Mapped read-only.
    Mapped(memmap2::Mmap),
    /// Read into memory (empty files, pipes, or when mapping fails).
    Read(Vec<u8>),
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Read(v) => v,
        }
    }
}

impl Input {
    /// Drops the mapped pages that lie wholly inside `bytes`, a part of this input, from this
    /// process's memory (a no-op for a read input or bytes from elsewhere, e.g. a decompressed
    /// section). The bytes stay readable: they fault in again from the file.
    pub fn release_range(&self, bytes: &[u8]) {
        #[cfg(unix)]
        if let Input::Mapped(m) = self {
            const PAGE: usize = 4096;
            let (start, base) = (bytes.as_ptr() as usize, m.as_ptr() as usize);
            if start < base || start + bytes.len() > base + m.len() {
                return;
            }
            let first = (start - base).div_ceil(PAGE) * PAGE;
            let end = (start - base + bytes.len()) / PAGE * PAGE;
            if end > first {
                // SAFETY: the mapping is private and read-only, never written: dropping its
                // pages loses nothing, a later read gets the file's bytes again.
                let _ = unsafe {
                    m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, first, end - first)
                };
            }
        }
    }
}

/// Opens an input file for [`encode`]. Regular non-empty files are mapped; `-J` replaces the file
/// by renaming a new one over it, so the mapping of the old inode stays valid meanwhile.
pub fn read_input(path: &std::path::Path) -> std::io::Result<Input> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > 0 {
        // SAFETY: the map is read-only and private to this process; like any reader of a file,
        // we rely on nobody truncating it while we encode it (that would raise SIGBUS).
        if let Ok(m) = unsafe { memmap2::Mmap::map(&file) } {
            return Ok(Input::Mapped(m));
        }
    }
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut &file, &mut v)?;
    Ok(Input::Read(v))
}

/// Encodes the DWARF of one ELF file.
pub fn encode(data: &[u8], opts: &Options) -> Result<Encoded> {
    encode_then(data, opts, &|_| {})
}

/// [`encode`] for an [`Input`]: the input's mapped pages are given back as soon as they are
/// walked (each unit's `.debug_info` bytes once its types are in the graph, the rest after the
/// walk; the merge only uses what the walk copied out, and a kernel's DWARF is ~300 MB of
/// them), so they do not add to the peak memory. They are read again from the page cache if
/// anything reads them later (a reference across units, `-J`).
pub fn encode_input(input: &Input, opts: &Options) -> Result<Encoded> {
    encode_then(input, opts, &|bytes| input.release_range(bytes))
}

fn encode_then(data: &[u8], opts: &Options, release: &dyn Fn(&[u8])) -> Result<Encoded> {
    let t0 = std::time::Instant::now();
    let timing = std::env::var_os("BTFENC_TIMING").is_some();
    // The type graph is built while the walk goes on: each unit's types enter it as soon as the
    // unit is walked, and only its functions and variables are kept for the later stages.
    let mut sink = GraphSink {
        graph: graph::Builder::new(opts.base.as_deref(), timing),
        cus: Vec::new(),
    };
    let (info, mut report) = walk_all(data, opts, timing.then_some(t0), release, &mut sink)?;
    release(data);
    let (g, cus) = (sink.graph.finish(&mut report), sink.cus);
    let mut btf = merge::merge(&cus, g, &info, opts.base.clone(), &opts.features, &mut report)
        .map_err(EncodeError::Write)?;
    if opts.features.decl_tag && opts.features.accepted.iter().any(|f| f == "decl_tag_kfuncs") {
        // The mapped pages were released after the walk; the symbol table faults back in.
        let file = object::File::parse(data).map_err(EncodeError::Elf)?;
        let missing = kfuncs::tag(&mut btf, &kfuncs::kfunc_names(&file));
        if !missing.is_empty() {
            report.warnings.push(format!(
                "{} kfunc(s) declared in .BTF_ids have no FUNC (see the dropped functions): {}",
                missing.len(),
                missing.join(" ")
            ));
        }
    }
    let realigned = fixups::misaligned_float_members(&mut btf);
    if realigned > 0 {
        report.warnings.push(format!(
            "{realigned} floating-point struct member(s) at offsets the kernel refuses for FLOAT encoded as INT"
        ));
    }
    // Malformed DWARF (a DW_AT_type loop through typedefs or qualifiers) must not become BTF
    // that libbpf and the kernel refuse: check the same invariants a reader checks.
    btf.validate().map_err(EncodeError::InvalidBtf)?;
    report
        .dropped
        .sort_by(|a, b| a.name.cmp(&b.name).then(a.reason.cmp(&b.reason)));
    if timing {
        eprintln!("btfenc: merged at {:?}{}", t0.elapsed(), rss_note());
    }
    // The units' function and variable candidates (millions of small allocations on a kernel)
    // are freed on another thread while the caller writes the output (here, if no thread can
    // be started: the closure is dropped with them).
    let _ = std::thread::Builder::new().spawn(move || drop(cus));
    Ok(Encoded { btf, report })
}

/// The walk phase alone (benchmarks and the walk's own regression checks): the number of CUs
/// kept and a digest of everything the walk hands to the merge, so that a change of the walk can
/// be checked against the previous output without running the merge.
#[doc(hidden)]
pub fn walk_digest(data: &[u8], opts: &Options) -> Result<(usize, u64)> {
    use std::hash::{Hash, Hasher};
    use std::io::Write;
    let timing = std::env::var_os("BTFENC_TIMING").is_some();
    // DefaultHasher::new() has fixed keys: the digest is stable across runs of one build.
    struct H(std::hash::DefaultHasher);
    impl Write for H {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.write(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = H(std::hash::DefaultHasher::new());
    let mut kept = 0usize;
    let mut sink = Each(|cu: dwarf::CuOut| {
        let _ = write!(h, "{cu:?}");
        kept += 1;
    });
    let (info, report) = walk_all(data, opts, timing.then(std::time::Instant::now), &|_| {}, &mut sink)?;
    let _ = write!(h, "{:?} {:?}", report.warnings, report.cus_excluded);
    let _ = write!(h, "{:?} {:?} {:?}", info.funcs, info.objects, info.sections);
    kept.hash(&mut h.0);
    Ok((kept, h.0.finish()))
}

/// The walk phase alone (benchmarks): the number of CUs kept.
#[doc(hidden)]
pub fn walk_only(data: &[u8], opts: &Options) -> Result<usize> {
    let timing = std::env::var_os("BTFENC_TIMING").is_some();
    let mut kept = 0;
    let mut sink = Each(|_| kept += 1);
    walk_all(data, opts, timing.then(std::time::Instant::now), &|_| {}, &mut sink)?;
    Ok(kept)
}

/// What the walk hands the units it keeps to.
trait UnitSink {
    /// The next unit kept, in unit order; `debug_str` holds the text of its names that have a
    /// `.debug_str` offset ([`dwarf::CuOut::str_offsets`]).
    fn unit(&mut self, cu: dwarf::CuOut, debug_str: &[u8]);
    /// Once every unit is in: the `.debug_info` offsets of DIEs whose units' type DIE lists are
    /// wanted (the walk derives them again: they are not kept, for memory).
    fn foreign_dies(&self) -> Vec<u64> {
        Vec::new()
    }
    /// The type DIEs of the `k`-th unit kept.
    fn unit_type_dies(&mut self, _k: usize, _dies: &[(u64, btf::TypeId)]) {}
    /// Whether [`UnitSink::unit`] wants each unit's type DIE list.
    fn wants_type_dies(&self) -> bool {
        true
    }
}

/// A sink that only looks at each unit.
struct Each<F>(F);

impl<F: FnMut(dwarf::CuOut)> UnitSink for Each<F> {
    fn unit(&mut self, cu: dwarf::CuOut, _debug_str: &[u8]) {
        (self.0)(cu)
    }
}

/// The encoder's sink: each unit's types go into the type graph, its functions and variables
/// are kept for the later stages.
struct GraphSink {
    graph: graph::Builder,
    cus: Vec<dwarf::CuOut>,
}

impl UnitSink for GraphSink {
    fn unit(&mut self, mut cu: dwarf::CuOut, debug_str: &[u8]) {
        self.graph.push(&mut cu, debug_str);
        self.cus.push(cu);
    }
    fn foreign_dies(&self) -> Vec<u64> {
        self.graph.foreign_dies()
    }
    fn unit_type_dies(&mut self, k: usize, dies: &[(u64, btf::TypeId)]) {
        self.graph.unit_type_dies(k, dies)
    }
    fn wants_type_dies(&self) -> bool {
        false
    }
}

/// ELF load and the per-CU walk: everything before the merge. Each unit kept is handed to
/// `sink` in unit order (the output depends on that order, never on thread order) as soon as it
/// and the units before it are walked, then its `.debug_info` bytes to `release`.
fn walk_all(
    data: &[u8],
    opts: &Options,
    t0: Option<std::time::Instant>,
    release: &dyn Fn(&[u8]),
    sink: &mut dyn UnitSink,
) -> Result<(elf::ElfInfo, Report)> {
    let file = object::File::parse(data).map_err(EncodeError::Elf)?;
    let (info, sections) = elf::load(&file)?;
    if !sections.has(".debug_info") {
        return Err(EncodeError::NoDwarf);
    }
    if let Some(t0) = t0 {
        eprintln!("btfenc: ELF loaded at {:?}", t0.elapsed());
    }
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let x86_64 = file.architecture() == object::Architecture::X86_64;
    let dwarf = gimli::Dwarf::load(|id| -> std::result::Result<_, gimli::Error> {
        Ok(sections.reader(id.name(), endian))
    })
    .map_err(|e| EncodeError::dwarf(0, e))?;
    let mut headers = Vec::new();
    let mut units = dwarf.units();
    loop {
        let at = headers
            .last()
            .map(|h: &gimli::UnitHeader<_>| {
                h.offset().as_debug_info_offset().map_or(0, |o| o.0 as u64)
                    + h.length_including_self() as u64
            })
            .unwrap_or(0);
        match units.next() {
            Ok(Some(h)) => headers.push(h),
            Ok(None) => break,
            Err(e) => return Err(EncodeError::dwarf(at, e)),
        }
    }
    let flatten = opts
        .flatten_arrays
        .unwrap_or_else(|| opts.base.as_ref().is_some_and(|b| !has_nested_arrays(b)));
    let str_sections = [
        sections.bytes(".debug_info"),
        sections.bytes(".debug_str"),
        sections.bytes(".debug_line_str"),
    ];
    let type_dies = sink.wants_type_dies();
    // Buffers reused from unit to unit, one set per thread at a time.
    let scratches: std::sync::Mutex<Vec<dwarf::Scratch>> = std::sync::Mutex::new(Vec::new());
    let walk = |h: &gimli::UnitHeader<_>, type_dies: bool| {
        let mut scratch = scratches
            .lock()
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_default();
        let r = dwarf::walk_unit(
            &dwarf,
            str_sections,
            &mut scratch,
            h.clone(),
            &opts.features,
            &opts.lang_exclude,
            x86_64,
            flatten,
            type_dies,
        );
        if let Ok(mut v) = scratches.lock() {
            v.push(scratch);
        }
        r
    };
    let mut report = Report::default();
    // Per unit: its index among the units kept.
    let mut kept: Vec<Option<usize>> = Vec::with_capacity(headers.len());
    let mut n_kept = 0;
    let unit_end = |h: &gimli::UnitHeader<_>| {
        h.offset().as_debug_info_offset().map_or(0, |o| o.0) + h.length_including_self()
    };
    // `.debug_info` bytes before this offset were given back.
    let mut released = 0;
    const RELEASE_STEP: usize = 4 << 20;
    // Takes unit i's result: its warnings, then the unit itself to the sink, then the bytes of
    // `.debug_info` up to its end (the units before it are taken already) back to the system
    // once 4 MB have accumulated, and every 64 units the other DWARF sections' (what units
    // still walking read of them faults in again).
    let mut take = |i: usize, r: Result<dwarf::CuOut>| -> Result<()> {
        let cu = r?;
        if cu.excluded {
            report.cus_excluded += 1;
            kept.push(None);
        } else {
            report.warnings.extend(cu.warnings.iter().cloned());
            kept.push(Some(n_kept));
            n_kept += 1;
            sink.unit(cu, str_sections[1]);
        }
        let end = unit_end(&headers[i]);
        // In steps of at least 4 MB: each release interrupts the other threads (the TLB entries
        // of the dropped pages are flushed on every core), and a kernel has 2,573 units.
        if end >= released + RELEASE_STEP || i + 1 == headers.len() {
            if let Some(bytes) = str_sections[0].get(released..end) {
                release(bytes);
                released = end;
            }
        }
        if i % 64 == 63 {
            for name in elf::DWARF_SECTIONS.iter().filter(|&&n| n != ".debug_info") {
                release(sections.bytes(name));
            }
        }
        Ok(())
    };
    // `Some(n)`, as pahole does (dwarf_loader.c starts nr_jobs worker threads, at least one, and
    // the main thread joins them): the walk runs on n worker threads, one for -j1, while the
    // calling thread takes the units in order; tools count pahole's threads (its
    // tests/reproducible_build.sh does). `None` (library callers): on the calling thread, as
    // when no pool can be built.
    match opts.jobs.and_then(|n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .ok()
            .map(|p| (n.max(1), p))
    }) {
        None => {
            for (i, h) in headers.iter().enumerate() {
                take(i, walk(h, type_dies))?;
            }
        }
        Some((n, pool)) => {
            // Units are started in unit order, at most `ahead` beyond the oldest one not yet
            // taken, so that finished units wait for their turn in bounded memory (their
            // results are what the streaming saves). The graph's thread deduplicates each unit
            // it takes: 8 per worker keep the workers busy while it is on a large one (4 left
            // them waiting, ~3% of the wall time on a kernel; 16 gained nothing more and
            // held 6 MB more). A failed unit stops the walk: the units not started yet are
            // skipped, and the first error in unit order is returned.
            let ahead = 8 * n;
            let stop = std::sync::atomic::AtomicBool::new(false);
            let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<dwarf::CuOut>)>();
            let (walk, stop, headers) = (&walk, &stop, &headers);
            let result = pool.in_place_scope(|scope| -> Result<()> {
                let spawn = |i: usize| {
                    let tx = tx.clone();
                    scope.spawn(move |_| {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return;
                        }
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| walk(&headers[i], type_dies)))
                            .unwrap_or_else(|p| {
                                let message = p
                                    .downcast_ref::<&str>()
                                    .map(|s| s.to_string())
                                    .or_else(|| p.downcast_ref::<String>().cloned())
                                    .unwrap_or_default();
                                let offset = headers[i].offset().as_debug_info_offset().map_or(0, |o| o.0 as u64);
                                Err(EncodeError::WalkPanicked { offset, message })
                            });
                        let _ = tx.send((i, r));
                    });
                };
                let mut done: std::collections::BTreeMap<usize, Result<dwarf::CuOut>> = Default::default();
                let mut started = 0;
                while started < headers.len().min(ahead) {
                    spawn(started);
                    started += 1;
                }
                for i in 0..headers.len() {
                    let r = loop {
                        if let Some(r) = done.remove(&i) {
                            break r;
                        }
                        // Every started unit sends exactly one result (a panic is caught above).
                        match rx.recv() {
                            Ok((j, r)) => {
                                done.insert(j, r);
                            }
                            Err(_) => unreachable!("the walk holds a sender"),
                        }
                    };
                    if started < headers.len() {
                        spawn(started);
                        started += 1;
                    }
                    if let Err(e) = take(i, r) {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        return Err(e);
                    }
                }
                Ok(())
            });
            result?;
        }
    }
    // References into other units (LTO, dwz): the type DIEs of the units they point into.
    let wanted = sink.foreign_dies();
    let mut units: Vec<usize> = wanted
        .iter()
        .filter_map(|&die| {
            let i = headers.partition_point(|h| unit_end(h) as u64 <= die);
            (i < headers.len()).then_some(i)
        })
        .collect();
    units.dedup();
    for i in units {
        if let Some(k) = kept.get(i).copied().flatten() {
            let cu = walk(&headers[i], true)?;
            sink.unit_type_dies(k, &cu.type_dies);
        }
    }
    report.cus = n_kept;
    if info.skipped_relocs > 0 {
        report.warnings.push(format!(
            "{} non-absolute relocations in DWARF sections not applied",
            info.skipped_relocs
        ));
    }
    if let Some(t0) = t0 {
        let ms =
            |i: usize| dwarf::PHASE_NS[i].load(std::sync::atomic::Ordering::Relaxed) / 1_000_000;
        eprintln!(
            "btfenc: {} CUs walked at {:?}{}\nbtfenc:   walk time summed over threads: DIE tree {} ms, \
             types {} ms, functions+variables {} ms, type DIE list {} ms",
            n_kept,
            t0.elapsed(),
            rss_note(),
            ms(0),
            ms(1),
            ms(2),
            ms(3)
        );
    }
    Ok((info, report))
}

/// Resident memory now, for `BTFENC_TIMING` (Linux; empty elsewhere): anonymous (our heap) and
/// file-backed (the mapped input) apart.
fn rss_note() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    format!(
        " (RSS {} MB: heap {} MB, file {} MB; peak {} MB)",
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:"),
        field("VmHWM:")
    )
}

/// Deduplicates a standalone or split BTF with the semantics of libbpf's `btf__dedup`; a split
/// BTF's base is taken as deduplicated and stays as it is. See the `dedup` module for the phases.
pub fn dedup_btf(btf: &Btf) -> Result<Btf> {
    Ok(dedup::dedup_btf_flavor(btf, dedup::Flavor::Upstream)?)
}

/// Whether a BTF blob has an array of arrays (its encoder nests multi-dimensional arrays).
fn has_nested_arrays(b: &Btf) -> bool {
    (1..b.type_count()).any(|i| match b.type_by_id(btf::TypeId(i)).map(|t| &t.data) {
        Some(btf::TypeData::Array(a)) => {
            matches!(
                b.type_by_id(a.elem).map(|t| &t.data),
                Some(btf::TypeData::Array(_))
            )
        }
        _ => false,
    })
}
