//! `btfsmith btf …`: dump, diff and load BTF files.

use anyhow::{Context, Result};
use btf::canon::Canon;
use btf::Btf;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Reads a BTF file (raw or ELF, as bpftool does), split over `base` when given.
pub fn load(path: &Path, base: Option<&Path>) -> Result<Btf> {
    let base = match base {
        Some(b) => Some(Arc::new(load(b, None).context("reading the base")?)),
        None => None,
    };
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Btf::parse_file_bytes(&bytes, base).with_context(|| format!("parsing BTF of {}", path.display()))
}

/// `btfsmith btf dump FILE [--base BASE]`: bpftool's `btf dump file` text on stdout.
pub fn dump(path: &Path, base: Option<&Path>) -> Result<()> {
    let btf = load(path, base)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    btf::dump::dump_to_writer(&btf, &mut out).context("writing the dump")?;
    out.flush().context("writing the dump")
}

/// `btfsmith btf canon FILE [--base BASE]`: the canonical form on stdout.
pub fn canon(path: &Path, base: Option<&Path>) -> Result<()> {
    let btf = load(path, base)?;
    let mut out = std::io::stdout().lock();
    out.write_all(Canon::of(&btf).to_text().as_bytes())
        .context("writing the canonical form")
}

/// `btfsmith btf diff A B [--base BASE]`: a unified diff of the canonical forms on stdout.
/// Returns true when they differ.
pub fn diff(a: &Path, b: &Path, base: Option<&Path>) -> Result<bool> {
    let ca = Canon::of(&load(a, base)?);
    let cb = Canon::of(&load(b, base)?);
    match btf::canon::diff(&ca, &cb, &a.display().to_string(), &b.display().to_string()) {
        None => Ok(false),
        Some(text) => {
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .context("writing the diff")?;
            Ok(true)
        }
    }
}

/// `btfsmith btf load FILE [--base BASE]`: loads the BTF (split over its base, laid out as one
/// blob) into the running kernel. Returns whether the kernel accepted it; prints what happened.
pub fn kernel_load(path: &Path, base: Option<&Path>) -> Result<bool> {
    let btf = load(path, base)?;
    let whole = btf.flatten_split();
    let raw = whole
        .to_bytes()
        .with_context(|| format!("writing {} as one blob", path.display()))?;
    match crate::kernel_btf::load(&raw) {
        Ok(()) => {
            println!(
                "accepted: {} types ({} own), {} bytes",
                whole.type_count() - 1,
                btf.own_types().len(),
                raw.len()
            );
            Ok(true)
        }
        Err(e) => {
            println!("refused: {e}");
            Ok(false)
        }
    }
}
