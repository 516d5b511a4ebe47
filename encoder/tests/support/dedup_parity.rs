//! Shared by the dedup parity test (`tests/dedup_libbpf.rs`) and the `dedup` fuzz target
//! (`fuzz/fuzz_targets/dedup.rs`, which includes this file by path): libbpf's `btf__dedup` through
//! libbpf-sys, the comparison, and a builder of valid type graphs from plain numbers.
#![allow(dead_code)]

use btf::types::*;
use btf::{Btf, TypeData, TypeId};
use std::ffi::c_void;

/// libbpf's result: the deduplicated raw BTF (split part only when split), or `btf__dedup`'s
/// error; the outer error is `btf__new`'s when libbpf does not even load the input.
pub fn libbpf_dedup(raw: &[u8], base: Option<&[u8]>) -> Result<Result<Vec<u8>, i64>, i64> {
    // SAFETY: libbpf copies the input buffers (valid for the calls); every object it returns is
    // checked with libbpf_get_error and freed exactly once; btf__raw_data points into `btf`,
    // which is still alive while it is copied.
    unsafe {
        let base_btf = match base {
            Some(b) => {
                let p = libbpf_sys::btf__new(b.as_ptr().cast::<c_void>(), b.len() as u32);
                let e = libbpf_sys::libbpf_get_error(p as *const c_void);
                if e != 0 {
                    return Err(e);
                }
                p
            }
            None => std::ptr::null_mut(),
        };
        let btf = if base_btf.is_null() {
            libbpf_sys::btf__new(raw.as_ptr().cast::<c_void>(), raw.len() as u32)
        } else {
            libbpf_sys::btf__new_split(raw.as_ptr().cast::<c_void>(), raw.len() as u32, base_btf)
        };
        let e = libbpf_sys::libbpf_get_error(btf as *const c_void);
        if e != 0 {
            libbpf_sys::btf__free(base_btf);
            return Err(e);
        }
        let r = libbpf_sys::btf__dedup(btf, std::ptr::null());
        let out = if r != 0 {
            Err(i64::from(r))
        } else {
            let mut size = 0u32;
            let data = libbpf_sys::btf__raw_data(btf, &mut size);
            Ok(std::slice::from_raw_parts(data.cast::<u8>(), size as usize).to_vec())
        };
        libbpf_sys::btf__free(btf);
        libbpf_sys::btf__free(base_btf);
        Ok(out)
    }
}

/// Same types under the same ids, names resolved (hence the same canonical form, which is only
/// computed to explain a difference).
pub fn assert_same(label: &str, theirs: &Btf, ours: &Btf) {
    let (dt, d_o) = (
        btf::dump::dump_to_string(theirs),
        btf::dump::dump_to_string(ours),
    );
    if dt == d_o {
        return;
    }
    let (ct, co) = (btf::canon::Canon::of(theirs), btf::canon::Canon::of(ours));
    if let Some(diff) = btf::canon::diff(&ct, &co, "libbpf", "ours") {
        panic!("{label}: canonical forms differ:\n{diff}");
    }
    let first = dt
        .lines()
        .zip(d_o.lines())
        .find(|(a, b)| a != b)
        .map(|(a, b)| format!("libbpf: {a}\nours:   {b}"))
        .unwrap_or_else(|| format!("{} vs {} lines", dt.lines().count(), d_o.lines().count()));
    panic!("{label}: same canonical form but different types or ids; first difference:\n{first}");
}

/// Appends `src`'s own types to `dst` (both split over the same base, or both standalone):
/// references into the base stay, references to `src`'s own types follow them.
pub fn append_own(dst: &mut Btf, src: &Btf) {
    let first = src.first_id().0;
    let shift = dst.type_count();
    for t in src.own_types() {
        let mut t = t.clone();
        t.name = dst.add_str(src.str(t.name));
        t.data.map_refs(|r| {
            if r.0 < first {
                r
            } else {
                TypeId(r.0 - first + shift)
            }
        });
        let mut names = Vec::new();
        t.data.map_entry_names(|n| {
            names.push(n);
            n
        });
        let mapped: Vec<StrRef> = names.iter().map(|n| dst.add_str(src.str(*n))).collect();
        let mut it = mapped.into_iter();
        t.data.map_entry_names(|n| it.next().unwrap_or(n));
        dst.add_type(t);
    }
}

/// One generated type: kind selector, name selector, and raw numbers its fields are made from.
pub type Gene = (u8, u8, u16, u16, Vec<(u8, u16)>);

pub const NAMES: [&str; 5] = ["", "a", "b", "c", "d"];

/// Builds a BTF from genes. Everything is valid for libbpf's loader; references of
/// non-composite types point at lower ids or at structs/unions/FWDs (any id), so every cycle
/// passes through a struct or union, as in C.
pub fn build(genes: &[Gene]) -> Btf {
    let mut b = Btf::new(None);
    let names: Vec<StrRef> = NAMES.iter().map(|n| b.add_str(n)).collect();
    let n = genes.len() as u32;
    // Pass 1: kinds.
    let kinds: Vec<u8> = genes.iter().map(|g| g.0 % 16).collect();
    let is_comp = |id: u32| id >= 1 && matches!(kinds[id as usize - 1], 5..=7);
    let is_proto = |id: u32| id >= 1 && kinds[id as usize - 1] == 12;
    // A target for a reference from type `from`: lower, or a composite anywhere.
    let target = |from: u32, x: u16| -> TypeId {
        let x = u32::from(x);
        if x % 3 == 0 {
            let comps: Vec<u32> = (1..=n).filter(|&i| is_comp(i)).collect();
            if !comps.is_empty() {
                return TypeId(comps[(x / 3) as usize % comps.len()]);
            }
        }
        let below = from - 1;
        let t = if below == 0 { 0 } else { x % (below + 1) };
        // FUNCs are not types a reference may name.
        if t >= 1 && kinds[t as usize - 1] == 13 {
            TypeId(0)
        } else {
            TypeId(t)
        }
    };
    for (i, g) in genes.iter().enumerate() {
        let id = i as u32 + 1;
        let name = names[g.1 as usize % NAMES.len()];
        let anon = StrRef::EMPTY;
        let (t_name, data) = match kinds[i] {
            0 | 1 => (
                name,
                TypeData::Int(Int {
                    size: [1, 2, 4, 8][g.2 as usize % 4],
                    encoding: IntEncoding((g.3 % 2) as u8),
                    bit_offset: 0,
                    bits: [8, 16, 32, 64][g.2 as usize % 4],
                }),
            ),
            2 => (anon, TypeData::Ptr(target(id, g.2))),
            3 => (anon, TypeData::Const(target(id, g.2))),
            4 => (name, TypeData::Typedef(target(id, g.2))),
            5 | 6 => {
                let members =
                    g.4.iter()
                        .enumerate()
                        .map(|(k, &(mn, mt))| Member {
                            name: names[mn as usize % NAMES.len()],
                            // Any id: cycles through composites are the point.
                            ty: {
                                let t = u32::from(mt) % (n + 1);
                                if t >= 1 && kinds[t as usize - 1] == 13 {
                                    TypeId(0)
                                } else {
                                    TypeId(t)
                                }
                            },
                            bit_offset: 32 * k as u32,
                            bitfield_size: 0,
                        })
                        .collect();
                let c = Composite {
                    size: 4 * g.4.len() as u32 + u32::from(g.3 % 2),
                    bitfield_encoding: false,
                    members,
                };
                (
                    name,
                    if kinds[i] == 5 {
                        TypeData::Struct(c)
                    } else {
                        TypeData::Union(c)
                    },
                )
            }
            7 => (
                if name.is_empty() { names[1] } else { name },
                TypeData::Fwd(Fwd {
                    union: g.2 % 4 == 0,
                }),
            ),
            8 => (
                name,
                TypeData::Enum(Enum {
                    size: 4,
                    signed: false,
                    values: g
                        .4
                        .iter()
                        .take(if g.2 % 3 == 0 { 0 } else { 4 })
                        .map(|&(vn, v)| EnumValue {
                            name: names[1 + vn as usize % 4],
                            value: u32::from(v % 4),
                        })
                        .collect(),
                }),
            ),
            9 => (
                name,
                TypeData::Enum64(Enum64 {
                    size: 8,
                    signed: false,
                    values: g
                        .4
                        .iter()
                        .take(if g.2 % 3 == 0 { 0 } else { 4 })
                        .map(|&(vn, v)| Enum64Value {
                            name: names[1 + vn as usize % 4],
                            value: u64::from(v % 4) << (g.3 % 40),
                        })
                        .collect(),
                }),
            ),
            10 => (
                anon,
                TypeData::Array(Array {
                    elem: target(id, g.2),
                    index: TypeId(0),
                    len: u32::from(g.3 % 3),
                }),
            ),
            11 => (anon, TypeData::Volatile(target(id, g.2))),
            12 => (
                anon,
                TypeData::FuncProto(FuncProto {
                    ret: target(id, g.2),
                    params: g
                        .4
                        .iter()
                        .map(|&(pn, pt)| Param {
                            name: names[pn as usize % NAMES.len()],
                            ty: target(id, pt),
                        })
                        .collect(),
                }),
            ),
            13 => {
                // A FUNC needs a FUNC_PROTO below it; otherwise this is a FLOAT.
                match (1..id).rev().find(|&p| is_proto(p)) {
                    Some(p) => (
                        names[1 + g.1 as usize % 4],
                        TypeData::Func(Func {
                            proto: TypeId(p),
                            linkage: FuncLinkage(u16::from(g.3 % 2 == 0)),
                        }),
                    ),
                    None => (anon, TypeData::Float(btf::types::Float { size: 8 })),
                }
            }
            14 => (
                anon,
                TypeData::TypeTag(TypeTag {
                    ty: target(id, g.2),
                    attribute: false,
                }),
            ),
            _ => (
                name,
                TypeData::Float(btf::types::Float {
                    size: 4 << (g.2 % 2),
                }),
            ),
        };
        b.add_type(Type { name: t_name, data });
    }
    b
}
