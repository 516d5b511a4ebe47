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

/// Rewrites every reference of a type.
pub(crate) fn remap(ty: &Type, f: impl FnMut(TypeId) -> TypeId) -> Type {
    let mut t = ty.clone();
    t.data.map_refs(f);
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
    /// Struct ids (`[0]`) and union ids (`[1]`) by name.
    by_name: HashMap<&'b str, [Vec<u32>; 2]>,
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
        let mut by_name: HashMap<&'b str, [Vec<u32>; 2]> = HashMap::default();
        for (i, h) in hashes.iter().enumerate().skip(1) {
            by_hash.entry(*h).or_default().push(i as u32);
            let t = ty(i);
            let u = match t.data {
                TypeData::Struct(_) => false,
                TypeData::Union(_) => true,
                _ => continue,
            };
            if !t.name.is_empty() {
                by_name.entry(base.str(t.name)).or_default()[usize::from(u)].push(i as u32);
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
    let orig_len = nodes.len();
    let orig_edges: Vec<Vec<u32>> = nodes.iter().map(children).collect();
    let mut pinned: Vec<Option<u32>> = vec![None; orig_len];
    pinned[0] = Some(0);

    // Forward declarations. A FWD named X resolves to the base's struct X when the base has
    // exactly one; otherwise, optimistically, to the first new struct X: if after refinement
    // all new structs X are one class, the resolution was right (like libbpf, which lets a FWD
    // stand for the same-named struct while comparing two graphs, this merges cycles where each
    // side only declares what the other defines); if not, X is ambiguous and its FWDs stay.
    let kind_name = |t: &Type| -> Option<(&str, bool)> {
        let union = match t.data {
            TypeData::Struct(_) | TypeData::Fwd(Fwd { union: false }) => false,
            TypeData::Union(_) | TypeData::Fwd(Fwd { union: true }) => true,
            _ => return None,
        };
        (!t.name.is_empty()).then(|| (strings[t.name.0 as usize].as_str(), union))
    };
    let mut defs: HashMap<(&str, bool), Vec<u32>> = HashMap::default();
    let mut fwds: Vec<u32> = Vec::new();
    for (i, t) in nodes.iter().enumerate() {
        let Some(key) = kind_name(t) else { continue };
        if matches!(t.data, TypeData::Fwd(_)) {
            fwds.push(i as u32);
        } else {
            defs.entry(key).or_default().push(i as u32);
        }
    }
    let in_base = |key: (&str, bool)| base_structs(index, key);
    // Names resolved to a new struct, still believed unambiguous.
    let mut hopeful: crate::fx::HashSet<(&str, bool)> = fwds
        .iter()
        .filter_map(|&f| kind_name(&nodes[f as usize]))
        .filter(|&k| in_base(k).is_empty() && defs.contains_key(&k))
        .collect();
    let mut proxies: HashMap<u32, u32> = HashMap::default();
    let mut rounds = 0;
    loop {
        let mut target: Vec<Option<u32>> = vec![None; orig_len];
        for &f in &fwds {
            let key = kind_name(&nodes[f as usize]).expect("fwds are named");
            let b = in_base(key);
            target[f as usize] = if b.len() == 1 {
                let b = b[0];
                Some(*proxies.entry(b).or_insert_with(|| {
                    // A stand-in node for the base type, pinned to it.
                    nodes.push(Type {
                        name: StrRef::EMPTY,
                        data: TypeData::Void,
                    });
                    pinned.push(Some(b));
                    (nodes.len() - 1) as u32
                }))
            } else if hopeful.contains(&key) {
                Some(defs[&key][0])
            } else {
                None
            };
        }
        let mut edges = orig_edges.clone();
        edges.resize(nodes.len(), Vec::new());
        for e in edges.iter_mut() {
            for c in e.iter_mut() {
                if let Some(t) = target.get(*c as usize).copied().flatten() {
                    *c = t;
                }
            }
        }
        let (mut class, mut partner, r) = pass(&nodes, strings, &edges, &pinned, index);
        rounds += r;
        // Names whose new structs did not collapse into one class are ambiguous after all.
        let before = hopeful.len();
        hopeful.retain(|k| {
            let d = &defs[k];
            d.iter().all(|&n| class[n as usize] == class[d[0] as usize])
        });
        if hopeful.len() != before {
            continue;
        }
        for (i, t) in target.iter().enumerate() {
            if let Some(t) = t {
                class[i] = class[*t as usize];
                partner[i] = partner[*t as usize];
            }
        }
        class.truncate(orig_len);
        partner.truncate(orig_len);
        let resolved: Vec<bool> = target.iter().map(Option::is_some).collect();
        return renumber(class, partner, &resolved, rounds);
    }
}

/// Base struct (or union) ids named `key.0`.
fn base_structs<'x>(index: Option<&'x BaseIndex<'_>>, key: (&str, bool)) -> &'x [u32] {
    index
        .and_then(|ix| ix.by_name.get(key.0))
        .map(|v| v[usize::from(key.1)].as_slice())
        .unwrap_or(&[])
}

/// Renumbers classes in order of their smallest member. The representative of a class is its
/// smallest member that is not a resolved FWD (a FWD stands for the struct, it is not one).
fn renumber(
    mut class: Vec<u32>,
    partner: Vec<Option<u32>>,
    resolved: &[bool],
    rounds: usize,
) -> Dedup {
    let mut renum: HashMap<u32, u32> = HashMap::default();
    let mut rep: Vec<u32> = Vec::new();
    let mut base_id = Vec::new();
    for (i, c) in class.iter_mut().enumerate() {
        let n = *renum.entry(*c).or_insert_with(|| {
            rep.push(u32::MAX);
            base_id.push(partner[i]);
            (rep.len() - 1) as u32
        });
        *c = n;
        if rep[n as usize] == u32::MAX && !resolved[i] {
            rep[n as usize] = i as u32;
        }
    }
    // A class of resolved FWDs only (their target is a base type): any member will do, it is
    // never written.
    for (n, r) in rep.iter_mut().enumerate() {
        if *r == u32::MAX {
            *r = class
                .iter()
                .position(|&c| c as usize == n)
                .expect("class has a member") as u32;
        }
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
    fn mutual_forward_declarations() {
        // CU1: struct s { t* } and struct t { s* } each through a FWD of the other:
        //   1 fwd t, 2 ptr->1, 3 struct s {2}, 4 fwd s, 5 ptr->4, 6 struct t {5}
        // CU2: the same with full types: 7 struct s {8}, 8 ptr->9, 9 struct t {10}, 10 ptr->7
        let fwd = |n| Type {
            name: StrRef(n),
            data: TypeData::Fwd(Fwd { union: false }),
        };
        let nodes = vec![
            void(),
            fwd(3),
            ptr(1),
            st(2, &[2]),
            fwd(2),
            ptr(4),
            st(3, &[5]),
            st(2, &[8]),
            ptr(9),
            st(3, &[10]),
            ptr(7),
        ];
        let d = dedup(&nodes, &strings(), None);
        assert_eq!(d.class[3], d.class[7], "s");
        assert_eq!(d.class[6], d.class[9], "t");
        assert_eq!(d.class[1], d.class[9], "fwd t");
        assert_eq!(d.class[4], d.class[7], "fwd s");
        // The FWD comes first, but the struct represents the class.
        assert_eq!(d.rep[d.class[1] as usize], 6);
        // Two different struct s and a FWD s: ambiguous, the FWD stays.
        let nodes = vec![void(), int(1), st(2, &[1]), st(2, &[1, 1]), fwd(2), ptr(4)];
        let d = dedup(&nodes, &strings(), None);
        assert_ne!(d.class[2], d.class[3]);
        assert_ne!(d.class[4], d.class[2]);
        assert_ne!(d.class[4], d.class[3]);
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
