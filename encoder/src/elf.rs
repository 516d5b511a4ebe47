//! The ELF side: DWARF sections with relocations applied, the symbol table, the section layout,
//! and adding a `.BTF` section to a file.
//!
//! Relocatable files (`.o`, `.ko`) keep the real values of their DWARF in `.rela.debug_*`. We apply
//! them ourselves (the same arithmetic as `object`'s `RelocationMap`, S + A), but also give every
//! allocated section a distinct synthetic base address, as a linker would: otherwise every
//! function of a `-ffunction-sections` object, or of `.text` and `.init.text`, would start at 0
//! and DWARF entry addresses could not be matched with ELF symbols.

use crate::error::{EncodeError, Result};
use crate::fx::HashMap;
use object::{Object, ObjectSection, ObjectSymbol, RelocationKind, RelocationTarget, SectionKind};
use std::borrow::Cow;

/// Applied relocations of one section: offset in the section → relocated value.
#[derive(Debug, Default)]
pub(crate) struct RelocMap {
    map: HashMap<usize, (u64, bool)>,
}

impl RelocMap {
    fn apply(&self, offset: usize, value: u64) -> u64 {
        // Executables (a vmlinux) have none: every string and section offset comes here.
        if self.map.is_empty() {
            return value;
        }
        match self.map.get(&offset) {
            Some(&(v, true)) => value.wrapping_add(v),
            Some(&(v, false)) => v,
            None => value,
        }
    }
}

impl gimli::Relocate<usize> for &RelocMap {
    fn relocate_address(&self, offset: usize, value: u64) -> gimli::Result<u64> {
        Ok(self.apply(offset, value))
    }
    fn relocate_offset(&self, offset: usize, value: usize) -> gimli::Result<usize> {
        usize::try_from(self.apply(offset, value as u64))
            .map_err(|_| gimli::Error::OffsetOutOfBounds)
    }
}

/// The reader every DWARF walk uses.
pub(crate) type Reader<'a> =
    gimli::RelocateReader<gimli::EndianSlice<'a, gimli::RunTimeEndian>, &'a RelocMap>;

/// A function or object symbol of the input.
#[derive(Debug, Clone)]
pub struct Symbol {
    /// Its name.
    pub name: String,
    /// Its (synthetic, for relocatable files) address.
    pub addr: u64,
    /// Its size.
    pub size: u64,
    /// Global or weak binding (not local).
    pub global: bool,
    /// Weak binding.
    pub weak: bool,
}

/// An allocated section of the input, at its (synthetic) address.
#[derive(Debug, Clone)]
pub struct AllocSection {
    /// Its name.
    pub name: String,
    /// Start address.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
}

/// What the encoder needs from the ELF file besides DWARF.
#[derive(Debug, Default)]
pub struct ElfInfo {
    /// Relocatable (`ET_REL`): `.o`, `.ko`.
    pub relocatable: bool,
    /// Defined function symbols.
    pub funcs: Vec<Symbol>,
    /// Defined data symbols.
    pub objects: Vec<Symbol>,
    /// Allocated sections by address.
    pub sections: Vec<AllocSection>,
    /// Relocations in DWARF sections that could not be applied (not absolute).
    pub skipped_relocs: usize,
    /// Little-endian.
    pub little_endian: bool,
}

impl ElfInfo {
    /// The allocated section containing `addr`.
    pub fn section_of(&self, addr: u64) -> Option<&AllocSection> {
        let i = self.sections.partition_point(|s| s.addr <= addr);
        let s = self.sections.get(i.checked_sub(1)?)?;
        (addr < s.addr.saturating_add(s.size.max(1))).then_some(s)
    }
}

/// The DWARF sections of a file, decompressed and with relocation maps.
#[derive(Debug, Default)]
pub(crate) struct DwarfSections<'d> {
    data: HashMap<&'static str, (Cow<'d, [u8]>, RelocMap)>,
    empty: RelocMap,
}

impl<'d> DwarfSections<'d> {
    /// A gimli reader over one section (empty when absent).
    pub(crate) fn reader<'a>(&'a self, name: &str, endian: gimli::RunTimeEndian) -> Reader<'a> {
        match self.data.get(name) {
            Some((d, r)) => gimli::RelocateReader::new(gimli::EndianSlice::new(d, endian), r),
            None => gimli::RelocateReader::new(gimli::EndianSlice::new(&[], endian), &self.empty),
        }
    }

    /// The bytes of one section (empty when absent).
    pub(crate) fn bytes(&self, name: &str) -> &[u8] {
        self.data.get(name).map_or(&[], |(d, _)| d)
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.data.get(name).is_some_and(|(d, _)| !d.is_empty())
    }
}

pub(crate) const DWARF_SECTIONS: &[&str] = &[
    ".debug_abbrev",
    ".debug_addr",
    ".debug_aranges",
    ".debug_info",
    ".debug_line",
    ".debug_line_str",
    ".debug_loc",
    ".debug_loclists",
    ".debug_ranges",
    ".debug_rnglists",
    ".debug_str",
    ".debug_str_offsets",
    ".debug_types",
];

/// Loads the ELF metadata and the DWARF sections.
pub(crate) fn load<'d>(file: &object::File<'d>) -> Result<(ElfInfo, DwarfSections<'d>)> {
    let relocatable = file.kind() == object::ObjectKind::Relocatable;
    // Synthetic bases: allocated sections laid out one after another from 0x1000.
    let mut bases: HashMap<usize, u64> = HashMap::default();
    let mut info = ElfInfo {
        relocatable,
        little_endian: file.is_little_endian(),
        ..ElfInfo::default()
    };
    let mut next = 0x1000u64;
    for s in file.sections() {
        let alloc = matches!(
            s.kind(),
            SectionKind::Text
                | SectionKind::Data
                | SectionKind::ReadOnlyData
                | SectionKind::ReadOnlyDataWithRel
                | SectionKind::ReadOnlyString
                | SectionKind::UninitializedData
                | SectionKind::Tls
                | SectionKind::UninitializedTls
                | SectionKind::TlsVariables
                | SectionKind::Elf(_)
        ) && section_is_alloc(&s);
        if !alloc {
            continue;
        }
        let addr = if relocatable {
            let align = s.align().clamp(1, 1 << 20);
            let a = next.div_ceil(align).saturating_mul(align);
            next = a.saturating_add(s.size().max(1));
            bases.insert(s.index().0, a);
            a
        } else {
            s.address()
        };
        info.sections.push(AllocSection {
            name: s.name().unwrap_or("").to_string(),
            addr,
            size: s.size(),
        });
    }
    info.sections.sort_by_key(|s| s.addr);
    let base_of =
        |idx: Option<object::SectionIndex>| idx.and_then(|i| bases.get(&i.0)).copied().unwrap_or(0);

    for sym in file.symbols() {
        let object::SymbolSection::Section(sec) = sym.section() else {
            continue;
        };
        let Ok(name) = sym.name() else { continue };
        if name.is_empty() {
            continue;
        }
        let s = Symbol {
            name: name.to_string(),
            addr: sym.address().wrapping_add(base_of(Some(sec))),
            size: sym.size(),
            global: sym.is_global(),
            weak: sym.is_weak(),
        };
        match sym.kind() {
            object::SymbolKind::Text => info.funcs.push(s),
            object::SymbolKind::Data | object::SymbolKind::Tls => info.objects.push(s),
            _ => {}
        }
    }

    let mut sections = DwarfSections::default();
    for &name in DWARF_SECTIONS {
        let Some(sec) = file.section_by_name(name) else {
            continue;
        };
        check_compression(&sec, name)?;
        let data = sec
            .uncompressed_data()
            .map_err(|source| EncodeError::Section {
                section: name.to_string(),
                source,
            })?;
        let mut map = RelocMap::default();
        if relocatable {
            for (offset, rel) in sec.relocations() {
                if rel.kind() != RelocationKind::Absolute {
                    info.skipped_relocs += 1;
                    continue;
                }
                let target = match rel.target() {
                    RelocationTarget::Symbol(idx) => match file.symbol_by_index(idx) {
                        Ok(sym) => {
                            let sec = match sym.section() {
                                object::SymbolSection::Section(s) => Some(s),
                                _ => None,
                            };
                            sym.address().wrapping_add(base_of(sec))
                        }
                        Err(_) => {
                            info.skipped_relocs += 1;
                            continue;
                        }
                    },
                    RelocationTarget::Section(idx) => base_of(Some(idx)),
                    _ => 0,
                };
                let Ok(off) = usize::try_from(offset) else {
                    continue;
                };
                if rel.has_implicit_addend() {
                    map.map.insert(off, (target, true));
                } else {
                    map.map
                        .insert(off, (target.wrapping_add(rel.addend() as u64), false));
                }
            }
        }
        sections.data.insert(name, (data, map));
    }
    Ok((info, sections))
}

fn section_is_alloc(s: &object::Section<'_, '_>) -> bool {
    match s.flags() {
        object::SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_ALLOC) != 0,
        _ => true,
    }
}

/// Returns `elf` with a `.BTF` section holding `btf` (replacing an existing one), the way
/// `objcopy --add-section` does: data, a new section name table and a new section header table are
/// appended, nothing else moves.
pub fn add_btf_section(elf: &[u8], btf: &[u8]) -> Result<Vec<u8>> {
    let bad = |m: &str| EncodeError::ElfWrite(m.to_string());
    if elf.len() < 52 || &elf[..4] != b"\x7fELF" {
        return Err(bad("not an ELF file"));
    }
    let is64 = match elf[4] {
        1 => false,
        2 => true,
        _ => return Err(bad("bad ELF class")),
    };
    let le = match elf[5] {
        1 => true,
        2 => false,
        _ => return Err(bad("bad ELF data encoding")),
    };
    let rd = |off: usize, n: usize| -> Result<u64> {
        let b = off
            .checked_add(n)
            .and_then(|end| elf.get(off..end))
            .ok_or_else(|| bad("truncated ELF header or section table"))?;
        let mut v = 0u64;
        for i in 0..n {
            let byte = if le { b[n - 1 - i] } else { b[i] };
            v = (v << 8) | u64::from(byte);
        }
        Ok(v)
    };
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (rd(0x28, 8)?, rd(0x3a, 2)?, rd(0x3c, 2)?, rd(0x3e, 2)?)
    } else {
        (rd(0x20, 4)?, rd(0x2e, 2)?, rd(0x30, 2)?, rd(0x32, 2)?)
    };
    let want_ent = if is64 { 64 } else { 40 };
    if shoff == 0 || shnum == 0 || shentsize != want_ent {
        return Err(bad(
            "no usable section header table (or extended section numbering)",
        ));
    }
    if shstrndx == 0 || shstrndx >= shnum || shnum >= 0xff00 - 1 {
        return Err(bad("unsupported section name table index"));
    }
    let shoff = usize::try_from(shoff).map_err(|_| bad("section table offset"))?;
    let ent = shentsize as usize;
    let table = shoff
        .checked_add(ent * shnum as usize)
        .and_then(|end| elf.get(shoff..end))
        .ok_or_else(|| bad("section header table outside the file"))?;
    // Field offsets inside a section header.
    let (o_name, o_type, o_offset, o_size, o_align, w) = if is64 {
        (0usize, 4usize, 0x18usize, 0x20usize, 0x30usize, 8usize)
    } else {
        (0, 4, 0x10, 0x14, 0x20, 4)
    };
    let hdr = |i: usize, field: usize, n: usize| rd(shoff + i * ent + field, n);
    let str_off = usize::try_from(hdr(shstrndx as usize, o_offset, w)?)
        .map_err(|_| bad("name table offset"))?;
    let str_size =
        usize::try_from(hdr(shstrndx as usize, o_size, w)?).map_err(|_| bad("name table size"))?;
    let strtab = str_off
        .checked_add(str_size)
        .and_then(|end| elf.get(str_off..end))
        .ok_or_else(|| bad("section name table outside the file"))?;
    let name_of = |i: usize| -> Result<&[u8]> {
        let n = hdr(i, o_name, 4)? as usize;
        let rest = strtab
            .get(n..)
            .ok_or_else(|| bad("section name outside the name table"))?;
        Ok(&rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())])
    };
    let mut existing = None;
    for i in 1..shnum as usize {
        if name_of(i)? == b".BTF" {
            existing = Some(i);
        }
    }
    let wr = |buf: &mut Vec<u8>, off: usize, n: usize, v: u64| {
        for i in 0..n {
            let shift = if le { 8 * i } else { 8 * (n - 1 - i) };
            buf[off + i] = (v >> shift) as u8;
        }
    };
    let mut out = elf.to_vec();
    let pad = |out: &mut Vec<u8>, a: usize| {
        while !out.len().is_multiple_of(a) {
            out.push(0);
        }
    };
    pad(&mut out, 8);
    let btf_off = out.len();
    out.extend_from_slice(btf);
    if let Some(i) = existing {
        let base = shoff + i * ent;
        wr(&mut out, base + o_offset, w, btf_off as u64);
        wr(&mut out, base + o_size, w, btf.len() as u64);
        return Ok(out);
    }
    // New name table: the old one plus ".BTF".
    let new_str_off = out.len();
    out.extend_from_slice(strtab);
    let name_idx = strtab.len();
    out.extend_from_slice(b".BTF\0");
    let new_str_size = out.len() - new_str_off;
    pad(&mut out, 8);
    let new_shoff = out.len();
    out.extend_from_slice(table);
    let mut sh = vec![0u8; ent];
    wr(&mut sh, o_name, 4, name_idx as u64);
    wr(&mut sh, o_type, 4, u64::from(object::elf::SHT_PROGBITS));
    wr(&mut sh, o_offset, w, btf_off as u64);
    wr(&mut sh, o_size, w, btf.len() as u64);
    wr(&mut sh, o_align, w, 4);
    out.extend_from_slice(&sh);
    let strhdr = new_shoff + shstrndx as usize * ent;
    wr(&mut out, strhdr + o_offset, w, new_str_off as u64);
    wr(&mut out, strhdr + o_size, w, new_str_size as u64);
    if is64 {
        wr(&mut out, 0x28, 8, new_shoff as u64);
        wr(&mut out, 0x3c, 2, shnum + 1);
    } else {
        wr(&mut out, 0x20, 4, new_shoff as u64);
        wr(&mut out, 0x30, 2, shnum + 1);
    }
    Ok(out)
}

/// Refuses a compressed section whose header claims more bytes than its compressed data can
/// expand to, before anything is allocated for it (a corrupt header would otherwise make the
/// encoder reserve many gigabytes). Deflate cannot expand more than 1032:1; zstd has no such
/// bound, so it only gets the absolute cap.
fn check_compression(sec: &object::Section<'_, '_>, name: &str) -> Result<()> {
    const MAX_SECTION: u64 = 4 << 30;
    let Ok(c) = sec.compressed_data() else {
        // `uncompressed_data` reports the same problem with its own message.
        return Ok(());
    };
    let compressed = c.data.len() as u64;
    let bound = match c.format {
        object::CompressionFormat::None => return Ok(()),
        object::CompressionFormat::Zlib => compressed.saturating_mul(1032).saturating_add(1024),
        _ => MAX_SECTION,
    };
    if c.uncompressed_size > bound.min(MAX_SECTION) {
        return Err(EncodeError::ImplausibleCompression {
            section: name.to_string(),
            compressed,
            claimed: c.uncompressed_size,
        });
    }
    Ok(())
}
