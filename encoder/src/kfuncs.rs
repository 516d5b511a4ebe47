//! `decl_tag_kfuncs`: a `DECL_TAG "bpf_kfunc"` on the FUNC of every kernel function that a BTF id
//! set declares as a kfunc, as pahole writes it (bpftool uses the tag to declare kfuncs in
//! `vmlinux.h`).
//!
//! The kernel's `BTF_KFUNCS_START(set)` emits, in `.BTF_ids`, a `__BTF_ID__set8__set` symbol at an
//! 8-byte header (`u32 cnt; u32 flags`) followed by `cnt` pairs (`u32 id; u32 flags`); each pair's
//! slot has a `__BTF_ID__func__NAME__N` symbol. A set whose header flags have bit 0
//! (`BTF_SET8_KFUNCS`) lists kfuncs.

use object::{Object, ObjectSection, ObjectSymbol};
use std::collections::BTreeSet;

const SET8_PREFIX: &str = "__BTF_ID__set8__";
const FUNC_PREFIX: &str = "__BTF_ID__func__";
const BTF_SET8_KFUNCS: u32 = 1;

/// The names of the kfuncs the ELF's `.BTF_ids` sets declare (empty when there is no such
/// section, as in modules built without BTF ids or userspace objects).
pub(crate) fn kfunc_names(file: &object::File<'_>) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let Some(section) = file.section_by_name(".BTF_ids") else {
        return names;
    };
    let Ok(data) = section.data() else {
        return names;
    };
    let (base, index) = (section.address(), section.index());
    let little = file.is_little_endian();
    let u32_at = |addr: u64| -> Option<u32> {
        let off = usize::try_from(addr.checked_sub(base)?).ok()?;
        let b: [u8; 4] = data.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let in_section = |s: &object::Symbol<'_, '_>| s.section_index() == Some(index);
    // Address ranges of the kfunc sets' id slots.
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for sym in file.symbols().filter(in_section) {
        let Ok(name) = sym.name() else { continue };
        if !name.starts_with(SET8_PREFIX) {
            continue;
        }
        let at = sym.address();
        let (Some(cnt), Some(flags)) = (u32_at(at), u32_at(at + 4)) else {
            continue;
        };
        if flags & BTF_SET8_KFUNCS != 0 {
            ranges.push((at + 8, at + 8 + u64::from(cnt) * 8));
        }
    }
    for sym in file.symbols().filter(in_section) {
        let Ok(name) = sym.name() else { continue };
        let Some(rest) = name.strip_prefix(FUNC_PREFIX) else {
            continue;
        };
        // NAME__N: the counter makes every slot's symbol unique.
        let Some((func, n)) = rest.rsplit_once("__") else {
            continue;
        };
        if !n.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let at = sym.address();
        if ranges.iter().any(|&(lo, hi)| (lo..hi).contains(&at)) {
            names.insert(func.to_string());
        }
    }
    names
}

/// Adds a `DECL_TAG "bpf_kfunc"` (component -1) for each FUNC named in `kfuncs`. Returns the
/// kfuncs that have no FUNC (dropped by function selection).
pub(crate) fn tag(btf: &mut btf::Btf, kfuncs: &BTreeSet<String>) -> Vec<String> {
    use btf::types::{DeclTag, Type, TypeData, TypeId};
    if kfuncs.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<(TypeId, String)> = Vec::new();
    for id in btf.own_ids() {
        if let Some(Type { name, data: TypeData::Func(_) }) = btf.type_by_id(id) {
            let n = btf.str(*name);
            if kfuncs.contains(n) {
                found.push((id, n.to_string()));
            }
        }
    }
    let tag = btf.add_str("bpf_kfunc");
    for (id, _) in &found {
        btf.add_type(Type {
            name: tag,
            data: TypeData::DeclTag(DeclTag { ty: *id, component_idx: -1, attribute: false }),
        });
    }
    let have: BTreeSet<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    kfuncs.iter().filter(|k| !have.contains(k.as_str())).cloned().collect()
}
