//! What an encode decided: dropped functions with reasons (`--explain`), counts, warnings.

use serde::Serialize;

/// One out-of-line instance of a function.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Instance {
    /// Name of its compilation unit.
    pub cu: String,
    /// `.debug_info` offset of its DIE.
    pub die: u64,
    /// The ELF symbol at its entry, if any.
    pub symbol: Option<String>,
}

/// The class of a drop, as pahole's `--verbose` names its skip reasons.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DropKind {
    /// A parameter optimized out, constant-propagated, without a location at entry; a clone or
    /// `DW_CC_nocall` function whose signature the compiler changed.
    OptimizedParameters,
    /// A parameter in another register than the ABI's.
    UnexpectedRegister,
    /// A parameter (or return value) whose place at entry is not checked: floating point,
    /// structs not passed in integer registers, a computed location, a struct returned in memory.
    UncertainLocation,
    /// Same-name definitions with different prototypes.
    InconsistentPrototype,
    /// More same-name symbols than described instances: the tracer may attach to another one.
    AmbiguousAddress,
    /// Nothing pahole would have judged: a symbol without DWARF code, a DWARF instance without
    /// a symbol. Not printed by `--verbose`.
    NotDescribed,
}

impl DropKind {
    /// The words pahole's `--verbose` uses after "skipping BTF encoding of function due to"
    /// (pahole 1.32's btf_encoder.c; scripts such as its tests/ grep for them). `None`: pahole
    /// prints nothing for this class.
    pub fn pahole_words(self) -> Option<&'static str> {
        Some(match self {
            DropKind::OptimizedParameters => "optimized parameters",
            DropKind::UnexpectedRegister => "unexpected register usage for parameter",
            DropKind::UncertainLocation => "uncertain parameter location",
            // Spelled as pahole spells it, so that whatever parses pahole's lines parses ours.
            DropKind::InconsistentPrototype => "inconsistet prototype",
            DropKind::AmbiguousAddress => "ambiguous address",
            DropKind::NotDescribed => return None,
        })
    }
}

/// A function with code that got no FUNC, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Dropped {
    /// The symbol name (or DWARF name when no symbol decided it).
    pub name: String,
    /// The class of the reason.
    pub kind: DropKind,
    /// Why it is not encoded.
    pub reason: String,
    /// Its instances.
    pub instances: Vec<Instance>,
}

/// The account of one encode.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Compilation units encoded.
    pub cus: usize,
    /// Compilation units skipped by `--lang_exclude`.
    pub cus_excluded: usize,
    /// Types before deduplication (all CUs).
    pub types_before_dedup: usize,
    /// Types written (own types, not the base's).
    pub types: usize,
    /// FUNCs written.
    pub funcs: usize,
    /// VARs written.
    pub vars: usize,
    /// Functions that only exist inlined (no code of their own; never FUNCs).
    pub inline_only: usize,
    /// Out-of-line functions whose abstract origin is in another unit (LTO): not encoded.
    pub foreign_origin: usize,
    /// Passes of the deduplication: always 1 (libbpf's algorithm, see `encoder::dedup`, is one
    /// pass); kept so the JSON report keeps its fields.
    pub dedup_rounds: usize,
    /// Functions with code but no FUNC, sorted by name.
    pub dropped: Vec<Dropped>,
    /// Problems worked around (`encode_force`), relocations skipped.
    pub warnings: Vec<String>,
}

impl Report {
    /// pahole's `--verbose` lines for the skipped functions: `NAME : skipping BTF encoding of
    /// function due to WORDS`, one per name that got no FUNC (`encoded` says which did: an
    /// instance without a symbol may be dropped while another instance of the name is encoded).
    pub fn pahole_skip_lines(&self, encoded: &dyn Fn(&str) -> bool) -> String {
        let mut s = String::new();
        let mut seen = std::collections::BTreeSet::new();
        for d in &self.dropped {
            let Some(words) = d.kind.pahole_words() else {
                continue;
            };
            if encoded(&d.name) || !seen.insert(d.name.as_str()) {
                continue;
            }
            s.push_str(&format!(
                "{} : skipping BTF encoding of function due to {words}\n",
                d.name
            ));
        }
        s
    }

    /// The `--explain` text: one line per dropped function, then a summary.
    pub fn explain_text(&self) -> String {
        let mut s = String::new();
        for d in &self.dropped {
            s.push_str(&format!("{}: {}\n", d.name, d.reason));
            for i in &d.instances {
                s.push_str(&format!(
                    "    in {} (DIE {:#x}{})\n",
                    i.cu,
                    i.die,
                    i.symbol
                        .as_deref()
                        .map(|s| format!(", symbol {s}"))
                        .unwrap_or_default()
                ));
            }
        }
        s.push_str(&format!(
            "summary: {} CUs, {} FUNCs, {} functions dropped, {} inline-only, {} VARs, {} BTF types written ({} CU-local types before dedup)\n",
            self.cus,
            self.funcs,
            self.dropped.len(),
            self.inline_only,
            self.vars,
            self.types,
            self.types_before_dedup
        ));
        if self.foreign_origin > 0 {
            s.push_str(&format!(
                "note: {} out-of-line functions have their abstract origin in another unit (LTO) and are not encoded\n",
                self.foreign_origin
            ));
        }
        for w in &self.warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        s
    }
}
