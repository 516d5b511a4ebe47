//! Type graph deduplication.
//!
//! Two types are merged when they are equivalent as graphs: same kind, name and scalar data, and
//! pairwise equivalent referenced types, cycles included (the coarsest bisimulation). This merges
//! everything libbpf's `btf__dedup` merges for well-formed input, and a little more (libbpf
//! compares against one canonical candidate per hash).
//!
//! 1. **Base matching** (split BTF). The base is already deduplicated, so each new node has at most
//!    one base partner. Candidates come from an index of base types by a depth-limited structural
//!    hash; then a fixpoint removes every candidate pair whose children are not candidate pairs.
//!    What survives is a bisimulation, and no bisimilar pair is ever removed: the result is exact,
//!    and costs O(base) hashing plus O(new types) matching, not a refinement over the whole base.
//! 2. **Refinement** over the new nodes (partition refinement to the coarsest stable partition),
//!    with matched nodes pinned to their base type.
//! 3. **Forward declarations**: a `FWD struct foo` whose name denotes exactly one struct (new or
//!    base) is redirected to it, and 1–2 run again, so a struct that pointed to the FWD in one CU
//!    and to the full type in another merges too.

use crate::fx::FxHasher as DefaultHasher;
use crate::fx::HashMap;
use btf::types::*;
use btf::Btf;
use std::hash::{Hash, Hasher};

/// Rounds of the structural hash used to index base types.
const HASH_DEPTH: usize = 4;

/// The result.
#[derive(Debug)]
pub(crate) struct Dedup {
    /// Equivalence class of each node.
    pub class: Vec<u32>,
    /// Smallest node of each class.
    pub rep: Vec<u32>,
    /// The base type id a class is equivalent to (void is base id 0).
    pub base_id: Vec<Option<u32>>,
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
        TypeData::Struct(c) | TypeData::Union(c) => {
            c.members.iter_mut().for_each(|m| m.ty = f(m.ty))
        }
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

/// Calls `f` on every name of a type (its own, then members', parameters', enumerators').
pub(crate) fn for_each_name(t: &Type, mut f: impl FnMut(StrRef)) {
    f(t.name);
    match &t.data {
        TypeData::Struct(c) | TypeData::Union(c) => c.members.iter().for_each(|m| f(m.name)),
        TypeData::Enum(e) => e.values.iter().for_each(|v| f(v.name)),
        TypeData::Enum64(e) => e.values.iter().for_each(|v| f(v.name)),
        TypeData::FuncProto(p) => p.params.iter().for_each(|q| f(q.name)),
        _ => {}
    }
}

/// The type with references zeroed and names blanked: what is compared besides names.
fn shape(t: &Type) -> Type {
    let mut s = remap(t, |_| TypeId::VOID);
    s.name = StrRef::EMPTY;
    match &mut s.data {
        TypeData::Struct(c) | TypeData::Union(c) => {
            c.members.iter_mut().for_each(|m| m.name = StrRef::EMPTY)
        }
        TypeData::Enum(e) => e.values.iter_mut().for_each(|v| v.name = StrRef::EMPTY),
        TypeData::Enum64(e) => e.values.iter_mut().for_each(|v| v.name = StrRef::EMPTY),
        TypeData::FuncProto(p) => p.params.iter_mut().for_each(|q| q.name = StrRef::EMPTY),
        _ => {}
    }
    s
}

/// Hash of everything but references: kind, scalar data, names. Equal for types [`same_label`]
/// says are equal (names are hashed as bytes, so both sides must give the same bytes).
fn label_hash<'s>(t: &Type, name: &dyn Fn(StrRef) -> &'s [u8]) -> u64 {
    let mut h = DefaultHasher::default();
    h.write_u8(t.data.kind().0);
    match &t.data {
        TypeData::Void
        | TypeData::Ptr(_)
        | TypeData::Typedef(_)
        | TypeData::Volatile(_)
        | TypeData::Const(_)
        | TypeData::Restrict(_)
        | TypeData::Func(_) => {
            if let TypeData::Func(f) = &t.data {
                h.write_u16(f.linkage.0);
            }
        }
        TypeData::Int(i) => {
            h.write_u32(i.size);
            h.write_u8(i.encoding.0);
            h.write_u8(i.bit_offset);
            h.write_u8(i.bits);
        }
        TypeData::Array(a) => h.write_u32(a.len),
        TypeData::Struct(c) | TypeData::Union(c) => {
            h.write_u32(c.size);
            h.write_u8(u8::from(c.bitfield_encoding));
            for m in &c.members {
                h.write_u32(m.bit_offset);
                h.write_u8(m.bitfield_size);
            }
        }
        TypeData::Enum(e) => {
            h.write_u32(e.size);
            h.write_u8(u8::from(e.signed));
            e.values.iter().for_each(|v| h.write_u32(v.value));
        }
        TypeData::Enum64(e) => {
            h.write_u32(e.size);
            h.write_u8(u8::from(e.signed));
            e.values.iter().for_each(|v| h.write_u64(v.value));
        }
        TypeData::Fwd(f) => h.write_u8(u8::from(f.union)),
        TypeData::FuncProto(p) => h.write_usize(p.params.len()),
        TypeData::Var(v) => h.write_u32(v.linkage.0),
        TypeData::Datasec(d) => {
            h.write_u32(d.size);
            for v in &d.vars {
                h.write_u32(v.offset);
                h.write_u32(v.size);
            }
        }
        TypeData::Float(f) => h.write_u32(f.size),
        TypeData::DeclTag(t) => {
            h.write_u32(t.component_idx as u32);
            h.write_u8(u8::from(t.attribute));
        }
        TypeData::TypeTag(t) => h.write_u8(u8::from(t.attribute)),
    }
    for_each_name(t, |n| {
        let b = name(n);
        h.write_usize(b.len());
        h.write(b);
    });
    h.finish()
}

/// The bytes of a base name without UTF-8 checks (for hashing only).
fn raw_name(base: &Btf, s: StrRef) -> &[u8] {
    if base.base().is_none() {
        if let Some(rest) = base.own_strings().get(s.0 as usize..) {
            return &rest[..rest.iter().position(|&c| c == 0).unwrap_or(rest.len())];
        }
    }
    base.str(s).as_bytes()
}

fn same_label<'s, 'b>(
    a: &Type,
    na: &dyn Fn(StrRef) -> &'s str,
    b: &Type,
    nb: &dyn Fn(StrRef) -> &'b str,
) -> bool {
    if a.data.kind() != b.data.kind() || shape(a) != shape(b) {
        return false;
    }
    let mut x = Vec::new();
    for_each_name(a, |n| x.push(na(n)));
    let mut i = 0;
    let mut eq = true;
    for_each_name(b, |n| {
        eq &= x.get(i) == Some(&nb(n));
        i += 1;
    });
    eq && i == x.len()
}

fn children(ty: &Type) -> Vec<u32> {
    let mut v = Vec::new();
    ty.data.for_each_ref(|t| v.push(t.0));
    v
}

/// Structural hashes for depths 0..=`HASH_DEPTH` of a graph given by labels and children;
/// `fixed(i, depth)` overrides a node's hash (nodes pinned to a base type take its hashes).
fn deep_hashes(
    labels: &[u64],
    edges: &[Vec<u32>],
    fixed: &dyn Fn(usize, usize) -> Option<u64>,
) -> Vec<Vec<u64>> {
    let first: Vec<u64> = (0..labels.len())
        .map(|i| fixed(i, 0).unwrap_or(labels[i]))
        .collect();
    let mut levels = vec![first];
    for j in 1..=HASH_DEPTH {
        let h = &levels[j - 1];
        let next: Vec<u64> = (0..h.len())
            .map(|i| {
                if let Some(x) = fixed(i, j) {
                    return x;
                }
                let mut s = DefaultHasher::default();
                s.write_u64(labels[i]);
                for &c in &edges[i] {
                    s.write_u64(h[c as usize]);
                }
                s.finish()
            })
            .collect();
        levels.push(next);
    }
    levels
}

/// An index of base types by structural hash, built once per base.
#[derive(Debug)]
pub(crate) struct BaseIndex<'b> {
    base: &'b Btf,
    /// Hashes of every base type at each depth.
    levels: Vec<Vec<u64>>,
    by_hash: HashMap<u64, Vec<u32>>,
    /// Struct/union ids by (name, is_union).
    by_name: HashMap<(&'b str, bool), Vec<u32>>,
}

impl<'b> BaseIndex<'b> {
    pub(crate) fn new(base: &'b Btf) -> Self {
        let n = base.type_count() as usize;
        let name = |s: StrRef| raw_name(base, s);
        let ty = |i: usize| base.type_by_id(TypeId(i as u32)).expect("below type_count");
        let labels: Vec<u64> = (0..n).map(|i| label_hash(ty(i), &name)).collect();
        let edges: Vec<Vec<u32>> = (0..n).map(|i| children(ty(i))).collect();
        let levels = deep_hashes(&labels, &edges, &|_, _| None);
        let hashes = &levels[HASH_DEPTH];
        let mut by_hash: HashMap<u64, Vec<u32>> = HashMap::default();
        let mut by_name: HashMap<(&'b str, bool), Vec<u32>> = HashMap::default();
        for (i, h) in hashes.iter().enumerate().skip(1) {
            by_hash.entry(*h).or_default().push(i as u32);
            let t = ty(i);
            let u = match t.data {
                TypeData::Struct(_) => false,
                TypeData::Union(_) => true,
                _ => continue,
            };
            if !t.name.is_empty() {
                by_name
                    .entry((base.str(t.name), u))
                    .or_default()
                    .push(i as u32);
            }
        }
        BaseIndex {
            base,
            levels,
            by_hash,
            by_name,
        }
    }
}

/// Runs the refinement until stable. `init[i]` is the initial class, `edges[i]` the children.
fn refine(init: Vec<u32>, edges: &[Vec<u32>]) -> (Vec<u32>, usize) {
    let mut class = init;
    let mut count = class.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut rounds = 0;
    let mut buf: Vec<u32> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(class.len());
    loop {
        rounds += 1;
        buf.clear();
        spans.clear();
        for (i, e) in edges.iter().enumerate() {
            let s = buf.len();
            buf.push(class[i]);
            buf.extend(e.iter().map(|&c| class[c as usize]));
            spans.push((s, buf.len()));
        }
        let mut sigs: HashMap<&[u32], u32> =
            HashMap::with_capacity_and_hasher(count * 2, Default::default());
        let next: Vec<u32> = spans
            .iter()
            .map(|&(s, e)| {
                let n = sigs.len() as u32;
                *sigs.entry(&buf[s..e]).or_insert(n)
            })
            .collect();
        let new_count = sigs.len();
        drop(sigs);
        class = next;
        if new_count == count {
            break;
        }
        count = new_count;
    }
    (class, rounds)
}

/// Greatest base matching: `pinned[i]` forces a partner (proxies, void).
fn match_base(
    nodes: &[Type],
    strings: &[String],
    edges: &[Vec<u32>],
    pinned: &[Option<u32>],
    index: Option<&BaseIndex<'_>>,
) -> Vec<Option<u32>> {
    let n = nodes.len();
    let Some(index) = index else {
        return pinned.to_vec();
    };
    let base = index.base;
    let gname = |s: StrRef| strings[s.0 as usize].as_str();
    let gbytes = |s: StrRef| strings[s.0 as usize].as_bytes();
    let bname = |s: StrRef| base.str(s);
    let labels: Vec<u64> = nodes.iter().map(|t| label_hash(t, &gbytes)).collect();
    let levels = deep_hashes(&labels, edges, &|i, j| {
        pinned[i].map(|b| index.levels[j][b as usize])
    });
    let hashes = &levels[HASH_DEPTH];
    // Candidate sets: (base id, its children).
    let mut cand: Vec<Vec<(u32, Vec<u32>)>> = (0..n)
        .map(|i| {
            if let Some(p) = pinned[i] {
                return vec![(p, Vec::new())];
            }
            let Some(list) = index.by_hash.get(&hashes[i]) else {
                return Vec::new();
            };
            list.iter()
                .filter_map(|&b| {
                    let bt = base.type_by_id(TypeId(b)).expect("indexed");
                    same_label(&nodes[i], &gname, bt, &bname).then(|| (b, children(bt)))
                })
                .collect()
        })
        .collect();
    // Fixpoint: drop (i, b) when some child pair is not a candidate pair.
    loop {
        let mut changed = false;
        for i in 0..n {
            if pinned[i].is_some() || cand[i].is_empty() {
                continue;
            }
            let before = cand[i].len();
            let kids = &edges[i];
            let mut keep = std::mem::take(&mut cand[i]);
            keep.retain(|(_, bk)| {
                bk.len() == kids.len()
                    && kids
                        .iter()
                        .zip(bk)
                        .all(|(&c, &bc)| cand[c as usize].iter().any(|(x, _)| *x == bc))
            });
            changed |= keep.len() != before;
            cand[i] = keep;
        }
        if !changed {
            break;
        }
    }
    cand.into_iter()
        .map(|c| c.into_iter().map(|(b, _)| b).min())
        .collect()
}

fn pass(
    nodes: &[Type],
    strings: &[String],
    edges: &[Vec<u32>],
    pinned: &[Option<u32>],
    index: Option<&BaseIndex<'_>>,
) -> (Vec<u32>, Vec<Option<u32>>, usize) {
    let partner = match_base(nodes, strings, edges, pinned, index);
    #[derive(Hash, PartialEq, Eq)]
    enum Label {
        Base(u32),
        Own(Type),
    }
    let mut labels: HashMap<Label, u32> =
        HashMap::with_capacity_and_hasher(nodes.len(), Default::default());
    let init: Vec<u32> = nodes
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let l = match partner[i] {
                Some(b) => Label::Base(b),
                None => Label::Own(remap(t, |_| TypeId::VOID)),
            };
            let n = labels.len() as u32;
            *labels.entry(l).or_insert(n)
        })
        .collect();
    let (class, rounds) = refine(init, edges);
    (class, partner, rounds)
}

/// Deduplicates `nodes` (node 0 is void; names index `strings`), over `base` if given.
pub(crate) fn dedup(nodes: &[Type], strings: &[String], index: Option<&BaseIndex<'_>>) -> Dedup {
    let mut nodes: Vec<Type> = nodes.to_vec();
    let mut edges: Vec<Vec<u32>> = nodes.iter().map(children).collect();
    let mut pinned: Vec<Option<u32>> = vec![None; nodes.len()];
    pinned[0] = Some(0);
    let (mut class, mut partner, mut rounds) = pass(&nodes, strings, &edges, &pinned, index);

    // Resolve forward declarations: to the base's struct of that name when the base has exactly
    // one (the module's own copy then matches it too, if it is the same), else to the single
    // class of new structs of that name. Repeat while that resolves more.
    let orig_len = nodes.len();
    let mut target: Vec<Option<u32>> = vec![None; orig_len];
    let mut proxies: HashMap<u32, u32> = HashMap::default();
    for _ in 0..4 {
        let mut by_name: HashMap<(&str, bool), Vec<(u32, u32)>> = HashMap::default(); // (class, node)
        for (i, t) in nodes.iter().enumerate().take(orig_len) {
            let union = match t.data {
                TypeData::Struct(_) => false,
                TypeData::Union(_) => true,
                _ => continue,
            };
            if t.name.is_empty() || partner[i].is_some() {
                continue;
            }
            let v = by_name
                .entry((strings[t.name.0 as usize].as_str(), union))
                .or_default();
            if !v.iter().any(|&(c, _)| c == class[i]) {
                v.push((class[i], i as u32));
            }
        }
        let mut changed = false;
        for i in 0..orig_len {
            let TypeData::Fwd(f) = nodes[i].data else {
                continue;
            };
            if target[i].is_some() {
                continue;
            }
            let name = strings[nodes[i].name.0 as usize].as_str();
            let in_base = index
                .and_then(|ix| ix.by_name.get(&(name, f.union)))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let t = if in_base.len() == 1 {
                let b = in_base[0];
                *proxies.entry(b).or_insert_with(|| {
                    // A stand-in node for the base type, pinned to it.
                    nodes.push(Type {
                        name: StrRef::EMPTY,
                        data: TypeData::Void,
                    });
                    edges.push(Vec::new());
                    pinned.push(Some(b));
                    (nodes.len() - 1) as u32
                })
            } else if in_base.is_empty() {
                match by_name.get(&(name, f.union)).map(Vec::as_slice) {
                    Some([(_, node)]) => *node,
                    _ => continue,
                }
            } else {
                continue;
            };
            target[i] = Some(t);
            changed = true;
        }
        if !changed {
            break;
        }
        for e in edges.iter_mut() {
            for c in e.iter_mut() {
                if let Some(t) = target.get(*c as usize).copied().flatten() {
                    *c = t;
                }
            }
        }
        let (c2, p2, r2) = pass(&nodes, strings, &edges, &pinned, index);
        class = c2;
        partner = p2;
        rounds += r2;
        for (i, t) in target.iter().enumerate() {
            if let Some(t) = t {
                class[i] = class[*t as usize];
                partner[i] = partner[*t as usize];
            }
        }
    }
    // Renumber classes by smallest member; proxies are never representatives of new classes.
    class.truncate(orig_len);
    partner.truncate(orig_len);
    let mut renum: HashMap<u32, u32> = HashMap::default();
    let mut rep = Vec::new();
    let mut base_id = Vec::new();
    for (i, c) in class.iter_mut().enumerate() {
        let n = *renum.entry(*c).or_insert_with(|| {
            rep.push(i as u32);
            base_id.push(partner[i]);
            (rep.len() - 1) as u32
        });
        *c = n;
    }
    Dedup {
        class,
        rep,
        base_id,
        rounds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(name: u32) -> Type {
        Type {
            name: StrRef(name),
            data: TypeData::Int(Int {
                size: 4,
                encoding: IntEncoding::SIGNED,
                bit_offset: 0,
                bits: 32,
            }),
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
                    .map(|&t| Member {
                        name: StrRef(4),
                        ty: TypeId(t),
                        bit_offset: 0,
                        bitfield_size: 0,
                    })
                    .collect(),
            }),
        }
    }
    fn ptr(t: u32) -> Type {
        Type {
            name: StrRef::EMPTY,
            data: TypeData::Ptr(TypeId(t)),
        }
    }
    fn void() -> Type {
        Type {
            name: StrRef::EMPTY,
            data: TypeData::Void,
        }
    }
    fn strings() -> Vec<String> {
        ["", "int", "s", "t", "m"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn cycles_and_fwd() {
        // CU1: 1 int, 2 struct s { int; s* }, 3 ptr->2
        // CU2: 4 int, 5 struct s { int; s* }, 6 ptr->5
        // CU3: 7 fwd s, 8 ptr->7, 9 struct t {s*}; CU4: 10 struct t {s*} with full s
        let nodes = vec![
            void(),
            int(1),
            st(2, &[1, 3]),
            ptr(2),
            int(1),
            st(2, &[4, 6]),
            ptr(5),
            Type {
                name: StrRef(2),
                data: TypeData::Fwd(Fwd { union: false }),
            },
            ptr(7),
            st(3, &[8]),
            st(3, &[3]),
        ];
        let d = dedup(&nodes, &strings(), None);
        assert_eq!(d.class[1], d.class[4]);
        assert_eq!(d.class[2], d.class[5]);
        assert_eq!(d.class[3], d.class[6]);
        assert_eq!(d.class[7], d.class[2], "fwd resolved");
        assert_eq!(
            d.class[9], d.class[10],
            "struct via fwd merges with struct via full type"
        );
        assert_eq!(d.rep.len(), 5, "void, int, s, s*, t");
    }

    #[test]
    fn against_base() {
        // Base: [1] int, [2] struct s {int; s*}, [3] ptr->2, [4] struct t {s*}.
        let mut base = Btf::new(None);
        let names: Vec<StrRef> = strings().iter().map(|s| base.add_str(s)).collect();
        let ren = |t: Type| {
            let mut t = t;
            t.name = names[t.name.0 as usize];
            if let TypeData::Struct(c) = &mut t.data {
                c.members
                    .iter_mut()
                    .for_each(|m| m.name = names[m.name.0 as usize]);
            }
            t
        };
        for t in [int(1), st(2, &[1, 3]), ptr(2), st(3, &[3])] {
            base.add_type(ren(t));
        }
        let ix = BaseIndex::new(&base);
        // New: 1 int, 2 fwd s, 3 ptr->2, 4 struct t {s*} (via fwd), 5 struct s {int; int} (differs)
        let nodes = vec![
            void(),
            int(1),
            Type {
                name: StrRef(2),
                data: TypeData::Fwd(Fwd { union: false }),
            },
            ptr(2),
            st(3, &[3]),
            st(3, &[1]),
        ];
        let d = dedup(&nodes, &strings(), Some(&ix));
        let b = |n: usize| d.base_id[d.class[n] as usize];
        assert_eq!(b(1), Some(1));
        assert_eq!(b(2), Some(2), "fwd resolved into the base struct");
        assert_eq!(b(3), Some(3));
        assert_eq!(b(4), Some(4));
        assert_eq!(b(5), None);
    }
}
