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

/// A function with code that got no FUNC, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Dropped {
    /// The symbol name (or DWARF name when no symbol decided it).
    pub name: String,
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
