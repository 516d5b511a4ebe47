//! Type graph deduplication.
//!
//! Two types are merged when they are equivalent as graphs: same kind, name and scalar data, and
//! pairwise equivalent referenced types, cycles included (the coarsest bisimulation, computed by
//! partition refinement). This merges everything libbpf's `btf__dedup` merges for well-formed
//! input, and a little more (libbpf only compares against one canonical candidate per hash).
//! Then forward declarations are resolved: a `FWD struct foo` whose name denotes exactly one
//! struct class is replaced by it, and the graph is refined again, so a struct that pointed to the
//! FWD in one CU and to the full type in another merges too. Base types (split BTF) take part as
//! ordinary nodes; a class containing a base type *is* that base type.

use btf::types::*;
use std::collections::HashMap;

/// The graph: node `i` is a type whose references are node indices (as `TypeId(i)`), node 0 is
/// `void`. Names are ids in some string table shared by all nodes.
#[derive(Debug)]
pub(crate) struct Dedup {
    /// Equivalence class of each node.
    pub class: Vec<u32>,
    /// Smallest node of each class.
    pub rep: Vec<u32>,
    /// Refinement rounds run.
    pub rounds: usize,
}

fn map_refs(data: &mut TypeData, mut f: impl FnMut(TypeId) -> TypeId) {
    match data {
        TypeData::Void | TypeData::Int(_) | TypeData::Enum(_) | TypeData::Enum64(_) => {}
        TypeData::Fwd(_) | TypeData::Float(_) => {}
        TypeData::Ptr(t)
        | TypeData::Typedef(t)
        | TypeData::Volatile(t)
        | TypeData::Const(t)
        | TypeData::Restrict(t) => *t = f(*t),
        TypeData::TypeTag(t) => t.ty = f(t.ty),
        TypeData::DeclTag(t) => t.ty = f(t.ty),
        TypeData::Array(a) => {
            a.elem = f(a.elem);
            a.index = f(a.index);
        }
        TypeData::Struct(c) | TypeData::Union(c) => c.members.iter_mut().for_each(|m| m.ty = f(m.ty)),
        TypeData::Func(func) => func.proto = f(func.proto),
        TypeData::FuncProto(p) => {
            p.ret = f(p.ret);
            p.params.iter_mut().for_each(|p| p.ty = f(p.ty));
        }
        TypeData::Var(v) => v.ty = f(v.ty),
        TypeData::Datasec(d) => d.vars.iter_mut().for_each(|v| v.ty = f(v.ty)),
    }
}

/// Rewrites every reference of a type.
pub(crate) fn remap(ty: &Type, f: impl FnMut(TypeId) -> TypeId) -> Type {
    let mut t = ty.clone();
    map_refs(&mut t.data, f);
    t
}

fn children(ty: &Type) -> Vec<u32> {
    let mut v = Vec::new();
    ty.data.for_each_ref(|t| v.push(t.0));
    v
}

/// Runs the refinement until stable. `edges[i]` are the (possibly redirected) children of node i.
fn refine(nodes: &[Type], edges: &[Vec<u32>]) -> (Vec<u32>, usize) {
    let mut labels: HashMap<Type, u32> = HashMap::with_capacity(nodes.len());
    let mut class: Vec<u32> = nodes
        .iter()
        .map(|t| {
            let label = remap(t, |_| TypeId::VOID);
            let n = labels.len() as u32;
            *labels.entry(label).or_insert(n)
        })
        .collect();
    drop(labels);
    let mut count = class.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut sigs: HashMap<(u32, Vec<u32>), u32> = HashMap::with_capacity(count * 2);
        let next: Vec<u32> = (0..nodes.len())
            .map(|i| {
                let key = (class[i], edges[i].iter().map(|&c| class[c as usize]).collect());
                let n = sigs.len() as u32;
                *sigs.entry(key).or_insert(n)
            })
            .collect();
        let new_count = sigs.len();
        class = next;
        if new_count == count {
            break;
        }
        count = new_count;
    }
    (class, rounds)
}

/// Deduplicates `nodes` (node 0 is void; `nbase` first nodes are the base, already deduped).
pub(crate) fn dedup(nodes: &[Type], nbase: usize) -> Dedup {
    let mut edges: Vec<Vec<u32>> = nodes.iter().map(children).collect();
    let (mut class, mut rounds) = refine(nodes, &edges);

    // Resolve forward declarations to the single complete type of that name, if there is one.
    let mut by_name: HashMap<(StrRef, bool), Vec<u32>> = HashMap::new();
    for (i, t) in nodes.iter().enumerate() {
        let union = match t.data {
            TypeData::Struct(_) => false,
            TypeData::Union(_) => true,
            _ => continue,
        };
        if t.name.is_empty() {
            continue;
        }
        let v = by_name.entry((t.name, union)).or_default();
        if !v.iter().any(|&n| class[n as usize] == class[i]) {
            v.push(i as u32);
        }
    }
    let mut target: Vec<Option<u32>> = vec![None; nodes.len()];
    let mut any = false;
    for (i, t) in nodes.iter().enumerate().skip(nbase) {
        if let TypeData::Fwd(f) = t.data {
            if let Some(v) = by_name.get(&(t.name, f.union)) {
                if v.len() == 1 {
                    target[i] = Some(v[0]);
                    any = true;
                }
            }
        }
    }
    if any {
        for e in edges.iter_mut() {
            for c in e.iter_mut() {
                if let Some(t) = target[*c as usize] {
                    *c = t;
                }
            }
        }
        let (c2, r2) = refine(nodes, &edges);
        class = c2;
        rounds += r2;
        // A resolved FWD joins its target's class.
        for (i, t) in target.iter().enumerate() {
            if let Some(t) = t {
                class[i] = class[*t as usize];
            }
        }
    }
    // Renumber classes by smallest member so that representatives are stable.
    let mut renum: HashMap<u32, u32> = HashMap::new();
    let mut rep = Vec::new();
    for (i, c) in class.iter_mut().enumerate() {
        let n = *renum.entry(*c).or_insert_with(|| {
            rep.push(i as u32);
            (rep.len() - 1) as u32
        });
        *c = n;
    }
    Dedup { class, rep, rounds }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(name: u32) -> Type {
        Type {
            name: StrRef(name),
            data: TypeData::Int(Int { size: 4, encoding: IntEncoding::SIGNED, bit_offset: 0, bits: 32 }),
        }
    }
    fn st(name: u32, members: &[u32]) -> Type {
        Type {
            name: StrRef(name),
            data: TypeData::Struct(Composite {
                size: 8,
                bitfield_encoding: false,
                members: members
                    .iter()
                    .map(|&t| Member { name: StrRef(9), ty: TypeId(t), bit_offset: 0, bitfield_size: 0 })
                    .collect(),
            }),
        }
    }
    fn ptr(t: u32) -> Type {
        Type { name: StrRef::EMPTY, data: TypeData::Ptr(TypeId(t)) }
    }

    #[test]
    fn cycles_and_fwd() {
        let void = Type { name: StrRef::EMPTY, data: TypeData::Void };
        // CU1: 1 int, 2 struct s { int; s* }, 3 ptr->2
        // CU2: 4 int, 5 struct s { int; s* }, 6 ptr->5
        // CU3: 7 fwd s, 8 ptr->7, 9 struct t {s*}; CU4: 10 struct t {s*} with full s
        let nodes = vec![
            void,
            int(1),
            st(2, &[1, 3]),
            ptr(2),
            int(1),
            st(2, &[4, 6]),
            ptr(5),
            Type { name: StrRef(2), data: TypeData::Fwd(Fwd { union: false }) },
            ptr(7),
            st(3, &[8]),
            st(3, &[3]),
        ];
        let d = dedup(&nodes, 1);
        assert_eq!(d.class[1], d.class[4]);
        assert_eq!(d.class[2], d.class[5]);
        assert_eq!(d.class[3], d.class[6]);
        assert_eq!(d.class[7], d.class[2], "fwd resolved");
        assert_eq!(d.class[9], d.class[10], "struct via fwd merges with struct via full type");
    }
}
