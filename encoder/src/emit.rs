//! Emission: the deduplicated graph, the selected FUNCs and VARs → the final BTF, in a
//! deterministic order (canonical types in node order, then FUNCs, then VARs and DATASECs).

use crate::elf::ElfInfo;
use crate::funcs::EmitFunc;
use crate::graph::Graph;
use crate::report::Report;
use crate::vars::EmitVar;
use btf::types::*;
use btf::Btf;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Writes the BTF. Written: canonical new types that a non-weak type merged into, the types of
/// emitted FUNCs and VARs, and everything those refer to. Base types are the base's.
pub(crate) fn emit(
    g: &Graph,
    canon: &[u32],
    funcs: &[EmitFunc],
    vars: &[EmitVar],
    base: Option<Arc<Btf>>,
    elf: &ElfInfo,
    report: &mut Report,
) -> Btf {
    let class = |n: u32| canon[n as usize];
    let nb = g.nb;
    let n = g.st.len() as usize;
    let mut keep = vec![false; n];
    let mut stack: Vec<u32> = (nb as usize..n)
        .filter(|&i| !g.weak[i])
        .map(|i| class(i as u32))
        .collect();
    stack.extend(funcs.iter().map(|f| class(f.proto)));
    stack.extend(vars.iter().map(|v| class(v.ty)));
    let mut refs = Vec::new();
    while let Some(c) = stack.pop() {
        if c < nb || keep[c as usize] {
            continue;
        }
        keep[c as usize] = true;
        g.st.refs(c, &mut refs);
        for &r in &refs {
            let cc = class(r);
            if cc >= nb && !keep[cc as usize] {
                stack.push(cc);
            }
        }
    }
    let first_new = nb;
    let mut id_of = vec![u32::MAX; n];
    let mut order = Vec::new();
    for c in nb as usize..n {
        if keep[c] {
            id_of[c] = first_new + order.len() as u32;
            order.push(c as u32);
        }
    }
    drop(keep);
    let mut out = Btf::new(base.clone());
    if base.is_none() && !elf.little_endian {
        out.set_endian(btf::Endian::Big);
    }
    let map = |t: TypeId| {
        let c = class(t.0);
        TypeId(if c < nb { c } else { id_of[c as usize] })
    };
    let mut types = Vec::with_capacity(order.len() + funcs.len() + vars.len());
    for &r in &order {
        let t =
            g.st.get(r, |s| out.add_str(g.strings.get(s)), |x| map(TypeId(x)));
        types.push(t);
    }
    let add = |mut t: Type, types: &mut Vec<Type>| {
        t.data.map_refs(map);
        types.push(t);
        TypeId(first_new + types.len() as u32 - 1)
    };
    for EmitFunc {
        name,
        linkage,
        proto,
        tags,
    } in funcs
    {
        let name_ref = out.add_str(name);
        let f = add(
            Type {
                name: name_ref,
                data: TypeData::Func(Func {
                    proto: TypeId(*proto),
                    linkage: *linkage,
                }),
            },
            &mut types,
        );
        for (tag, idx) in tags {
            let name = out.add_str(tag);
            types.push(Type {
                name,
                data: TypeData::DeclTag(DeclTag {
                    ty: f,
                    component_idx: *idx,
                    attribute: false,
                }),
            });
        }
    }
    let mut secs: BTreeMap<(u64, String), Vec<VarSecInfo>> = BTreeMap::new();
    for EmitVar {
        name,
        linkage,
        ty,
        offset: off,
        size,
        tags,
        section: sec,
    } in vars
    {
        let name_ref = out.add_str(name);
        let ty = map(TypeId(*ty));
        types.push(Type {
            name: name_ref,
            data: TypeData::Var(Var {
                ty,
                linkage: *linkage,
            }),
        });
        let v = TypeId(first_new + types.len() as u32 - 1);
        for tag in tags {
            let name = out.add_str(tag);
            types.push(Type {
                name,
                data: TypeData::DeclTag(DeclTag {
                    ty: v,
                    component_idx: -1,
                    attribute: false,
                }),
            });
        }
        let s = elf
            .sections
            .iter()
            .find(|s| &s.name == sec)
            .map_or(0, |s| s.addr);
        secs.entry((s, sec.clone())).or_default().push(VarSecInfo {
            ty: v,
            offset: *off as u32,
            size: *size as u32,
        });
    }
    for ((addr, name), mut list) in secs {
        list.sort_by_key(|v| v.offset);
        let size = elf
            .sections
            .iter()
            .find(|s| s.addr == addr)
            .map_or(0, |s| s.size);
        let name = out.add_str(&name);
        types.push(Type {
            name,
            data: TypeData::Datasec(Datasec {
                size: size as u32,
                vars: list,
            }),
        });
    }
    report.vars = vars.len();
    report.types = types.len();
    out.set_types(types);
    out
}
