//! The type graph: every type of the base (if any) and of all CUs as one id space, and its
//! deduplication into canonical types.

use crate::dedup::{Dedup, Flavor, Incremental, Store, Strings};
use crate::dwarf::CuOut;
use crate::fx::HashMap;
use crate::report::Report;
use btf::types::*;
use btf::Btf;

/// Every type of the base (if any) and of all CUs, as one id space: 0 is void, then the base's
/// ids unchanged, then each CU's local ids in CU order.
pub(crate) struct Graph {
    pub(crate) st: Store,
    /// Per node: written only when an emitted FUNC or VAR refers to it.
    pub(crate) weak: Vec<bool>,
    pub(crate) strings: Strings,
    /// The first node that is not the base's (1 without a base).
    pub(crate) nb: u32,
    /// The units' local ids as nodes.
    ids: NodeIds,
    /// Once [`Graph::into_canonical`]: each original node's canonical node in the compact graph.
    class: Option<Vec<u32>>,
    /// Deduplication begun while the units came in (no base), for [`dedup`] to complete.
    inc: Option<Incremental>,
}

/// Which node each unit's local type ids are before dedup: a copy small enough to hand to
/// another thread (FUNC selection runs while the graph is deduplicated).
#[derive(Debug, Clone)]
pub(crate) struct NodeIds {
    /// Node offsets of the CUs: local id l of CU k is node `cu_base[k] + l`.
    cu_base: Vec<u32>,
    /// Per CU: placeholder local ids (references into other units) → the node they stand for.
    foreign: Vec<HashMap<u32, u32>>,
}

impl NodeIds {
    /// The node of local type `t` of CU `cu`.
    pub(crate) fn node(&self, cu: usize, t: TypeId) -> u32 {
        if t.0 == 0 {
            return 0;
        }
        self.foreign[cu]
            .get(&t.0)
            .copied()
            .unwrap_or(t.0 + self.cu_base[cu])
    }
}

impl Graph {
    /// The node of local type `t` of CU `cu` (canonical once [`Graph::into_canonical`]).
    pub(crate) fn node(&self, cu: usize, t: TypeId) -> u32 {
        self.class_of(self.ids.node(cu, t))
    }

    /// The node ids of the units' types before dedup.
    pub(crate) fn node_ids(&self) -> NodeIds {
        self.ids.clone()
    }

    /// The node a node from before [`Graph::into_canonical`] became (itself before).
    pub(crate) fn class_of(&self, node: u32) -> u32 {
        match &self.class {
            Some(class) => class.get(node as usize).copied().unwrap_or(0),
            None => node,
        }
    }

    /// The graph of the canonical nodes only, once deduplicated (`canon`: each node's canonical
    /// node): base nodes keep their ids, the other canonical nodes are numbered in node order,
    /// so whatever is written in node order comes out the same. A node is weak when no
    /// non-weak node merged into it. [`Graph::node`] then gives canonical nodes. The later
    /// stages need nothing else, and a kernel's 4.6 M nodes (220 MB of records) become some
    /// 110 k; returns the new graph's own canonical map (each node its own).
    pub(crate) fn into_canonical(self, canon: Vec<u32>) -> (Graph, Vec<u32>) {
        let n = self.st.len() as usize;
        // Which nodes are kept (canonical, or the base's), as bits with the number of kept
        // nodes before each word: a node's new id is its rank among them. The canonical map
        // then becomes the class map in place (no second 4-byte-per-node array).
        let mut bits = vec![0u64; n.div_ceil(64)];
        for (i, &c) in canon.iter().enumerate() {
            if c as usize == i || (i as u32) < self.nb {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        let mut before = Vec::with_capacity(bits.len());
        let mut next = 0u32;
        for w in &bits {
            before.push(next);
            next += w.count_ones();
        }
        let kept = |i: usize| bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0);
        let rank = |i: usize| before[i / 64] + (bits[i / 64] & ((1u64 << (i % 64)) - 1)).count_ones();
        let mut class = canon;
        for (i, c) in class.iter_mut().enumerate() {
            let to = *c as usize;
            *c = if kept(to) { rank(to) } else if kept(i) { rank(i) } else { 0 };
        }
        let mut written = vec![false; next as usize];
        for i in self.nb as usize..n {
            if !self.weak[i] {
                written[class[i] as usize] = true;
            }
        }
        let mut st = Store::new();
        st.reserve(next as usize, next as usize * 6);
        for i in 1..n {
            if kept(i) {
                let t = self.st.get(i as u32, StrRef, |r| TypeId(class[r as usize]));
                st.push(&t, |s| s.0, |r| r.0);
            }
        }
        let weak = written.iter().map(|w| !w).collect();
        let Graph {
            st: old_st,
            weak: old_weak,
            strings,
            nb,
            ids,
            ..
        } = self;
        // The pre-dedup records (220 MB on a kernel) are unmapped on another thread while this
        // one goes on to emission (here, if no thread can be started).
        let _ = std::thread::Builder::new().spawn(move || drop((old_st, old_weak)));
        let g = Graph {
            st,
            weak,
            strings,
            nb,
            ids,
            class: Some(class),
            inc: None,
        };
        (g, (0..next).collect())
    }

    /// The canonical types of the graph (base ones included) as one standalone BTF blob, and
    /// each canonical node's id in it, for rendering messages.
    pub(crate) fn canonical_btf(&self, canon: &[u32]) -> (Btf, Vec<u32>) {
        let mut ids = vec![0u32; canon.len()];
        let mut next = 1;
        for (n, &c) in canon.iter().enumerate().skip(1) {
            if c as usize == n {
                ids[n] = next;
                next += 1;
            }
        }
        let mut b = Btf::new(None);
        let mut types = Vec::with_capacity(next as usize);
        for (n, &c) in canon.iter().enumerate().skip(1) {
            if c as usize == n {
                let t = self.st.get(
                    n as u32,
                    |s| b.add_str(self.strings.get(s)),
                    |r| TypeId(ids[canon[r as usize] as usize]),
                );
                types.push(t);
            }
        }
        b.set_types(types);
        (b, ids)
    }
}

/// A reference to the array index type made before the index type is known (no unit with an
/// `int` pushed yet): patched in [`Builder::finish`].
const INDEX_PENDING: u32 = u32::MAX;

/// Builds the graph one unit at a time, in unit order, while the walk goes on: each unit's types
/// go into the flat store as soon as its walk is done, and its type list and names are freed (a
/// kernel's units hold about 1 GB of them together; the store holds the same types in a quarter
/// of that). What can only be resolved once every unit is in — references into other units,
/// array index references made before the first unit with an `int` — is patched by
/// [`Builder::finish`]; node ids are the same as if all units had been pushed at once.
pub(crate) struct Builder {
    st: Store,
    weak: Vec<bool>,
    strings: Strings,
    nb: u32,
    cu_base: Vec<u32>,
    /// `.debug_str` offset → interned name (see [`CuOut::str_offsets`]).
    by_str_offset: HashMap<u32, u32>,
    /// The array index type: the first unit's `int`, once a unit that has one is pushed.
    index_node: Option<u32>,
    /// Some reference holds [`INDEX_PENDING`].
    index_pending: bool,
    /// Placeholder nodes (references into other units) → the `.debug_info` offset they name.
    placeholders: HashMap<u32, u64>,
    /// The node of each DIE a placeholder names, once [`Builder::unit_type_dies`] found it.
    die_node: HashMap<u64, u32>,
    /// The DIEs placeholders name (built at the first [`Builder::unit_type_dies`]).
    wanted_dies: Option<crate::fx::HashSet<u64>>,
    /// Per unit: (`.debug_info` offset, placeholder local ids and the offsets they name).
    foreign: Vec<(u64, Vec<(TypeId, u64)>)>,
    ids: Vec<u32>,
    /// Phases 2 and 3 of dedup, run on each unit as it is pushed (graphs without a base).
    inc: Option<Incremental>,
    timing: bool,
    cpu_strings: u64,
    cpu_push: u64,
    started: std::time::Instant,
}

impl Builder {
    /// A graph holding the base's types (if any), which keep their ids: they are the canonical
    /// types the units' types merge into.
    pub(crate) fn new(base: Option<&Btf>, timing: bool) -> Builder {
        let mut st = Store::new();
        let mut weak = vec![false];
        let mut strings = Strings::new();
        let nb = base.map_or(1, |b| b.type_count());
        if let Some(b) = base {
            st.reserve(nb as usize, nb as usize * 4);
            weak.reserve(nb as usize);
            for id in 1..nb {
                let t = b.type_by_id(TypeId(id)).unwrap_or(&VOID);
                st.push(t, |s| strings.intern(b.str(s)), |r| r.0);
                weak.push(false);
            }
        }
        Builder {
            st,
            weak,
            strings,
            nb,
            cu_base: Vec::new(),
            by_str_offset: HashMap::default(),
            index_node: None,
            index_pending: false,
            placeholders: HashMap::default(),
            die_node: HashMap::default(),
            wanted_dies: None,
            foreign: Vec::new(),
            ids: Vec::new(),
            inc: base.is_none().then(|| Incremental::new(Flavor::Upstream, false)),
            timing,
            cpu_strings: 0,
            cpu_push: 0,
            started: std::time::Instant::now(),
        }
    }

    /// Adds the next unit's types (units must come in unit order) and frees its type list,
    /// names and type DIE list; its functions and variables stay for the later stages.
    /// `debug_str` is the input's `.debug_str`, where the names with an offset are.
    pub(crate) fn push(&mut self, cu: &mut CuOut, debug_str: &[u8]) {
        let c0 = if self.timing { crate::dedup::thread_cpu_ns() } else { 0 };
        let off = self.st.len() - 1;
        self.cu_base.push(off);
        if self.index_node.is_none() {
            self.index_node = cu.int_type.map(|t| off + t.0);
        }
        let (strings, by_offset) = (&mut self.strings, &mut self.by_str_offset);
        self.ids.clear();
        self.ids.extend(cu.strings.iter().enumerate().map(|(i, s)| {
            match cu.str_offsets.get(i).copied().unwrap_or(crate::dwarf::NO_STR_OFFSET) {
                crate::dwarf::NO_STR_OFFSET => strings.intern(s),
                o => *by_offset
                    .entry(o)
                    .or_insert_with(|| strings.intern(&crate::dwarf::section_str(debug_str, o))),
            }
        }));
        let c1 = if self.timing { crate::dedup::thread_cpu_ns() } else { 0 };
        // References to a placeholder name the placeholder's own node until `finish` knows
        // the DIE's node.
        for &(id, die) in &cu.foreign {
            self.placeholders.insert(id.0 + off, die);
        }
        let (ids, index_node) = (&self.ids, self.index_node);
        let mut index_pending = false;
        self.st.append(
            &cu.types,
            |s| ids.get(s as usize).copied().unwrap_or(0),
            |r| match TypeId(r) {
                TypeId::VOID => 0,
                crate::dwarf::ARRAY_INDEX => index_node.unwrap_or_else(|| {
                    index_pending = true;
                    INDEX_PENDING
                }),
                _ => r + off,
            },
        );
        self.index_pending |= index_pending;
        if let Some(inc) = &mut self.inc {
            // Both are only resolved in `finish`: until then the unit's types are incomplete.
            if !cu.foreign.is_empty() {
                inc.give_up("a reference into another unit");
            } else if self.index_pending {
                inc.give_up("arrays before the first unit with an int");
            }
            inc.advance(&mut self.st);
        }
        self.weak.extend_from_slice(&cu.weak);
        self.foreign.push((cu.offset, std::mem::take(&mut cu.foreign)));
        // What the later stages do not need.
        cu.types = Default::default();
        cu.strings = Default::default();
        cu.str_offsets = Vec::new();
        cu.weak = Vec::new();
        cu.type_dies = Vec::new();
        if self.timing {
            let c2 = crate::dedup::thread_cpu_ns();
            self.cpu_strings += c1 - c0;
            self.cpu_push += c2 - c1;
        }
    }

    /// The `.debug_info` offsets of the DIEs that references into other units name (none in
    /// most inputs: only LTO or `dwz` output refers across units). The type DIE lists of the
    /// units holding them are not kept (8 bytes per type DIE of a kernel): the walk derives
    /// them again for those units and hands them to [`Builder::unit_type_dies`].
    pub(crate) fn foreign_dies(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.placeholders.values().copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The type DIEs (offset, local id) of pushed unit `k`, to resolve what refers into it.
    pub(crate) fn unit_type_dies(&mut self, k: usize, dies: &[(u64, TypeId)]) {
        let Some(&base) = self.cu_base.get(k) else { return };
        // Every unit is in by now: the placeholders' targets are known, the set is built once.
        let placeholders = &self.placeholders;
        let wanted = self
            .wanted_dies
            .get_or_insert_with(|| placeholders.values().copied().collect());
        for &(off, id) in dies {
            if wanted.contains(&off) {
                self.die_node.insert(off, if id.0 == 0 { 0 } else { base + id.0 });
            }
        }
    }

    /// The graph, once every unit is pushed and [`Builder::unit_type_dies`] was given the units
    /// [`Builder::foreign_dies`] lie in: references into other units resolve to the type DIE's
    /// node (void, with a warning, when the DIE is not a type), the array index type is the
    /// first unit's `int`, else one `__ARRAY_SIZE_TYPE__` after all units' types (as pahole).
    pub(crate) fn finish(mut self, report: &mut Report) -> Graph {
        if self.timing {
            eprintln!(
                "btfenc: graph: records {} MB, weak flags {} MB",
                self.st.allocated() >> 20,
                self.weak.capacity() >> 20
            );
        }
        let die_node = std::mem::take(&mut self.die_node);
        let mut foreign = Vec::with_capacity(self.foreign.len());
        for (cu_offset, list) in &self.foreign {
            for &(_, die) in list {
                if !die_node.contains_key(&die) {
                    report.warnings.push(format!(
                        "reference from unit {cu_offset:#x} to DIE {die:#x}, which is not a type: encoded as void"
                    ));
                }
            }
            foreign.push(
                list.iter()
                    .map(|&(id, die)| (id.0, die_node.get(&die).copied().unwrap_or(0)))
                    .collect::<HashMap<u32, u32>>(),
            );
        }
        let index_node = match self.index_node {
            Some(n) => n,
            None => {
                let n = self.st.len();
                let name = self.strings.intern("__ARRAY_SIZE_TYPE__");
                self.st.push(
                    &Type {
                        name: StrRef::EMPTY,
                        data: TypeData::Int(Int {
                            size: 4,
                            encoding: IntEncoding::NONE,
                            bit_offset: 0,
                            bits: 32,
                        }),
                    },
                    |_| name,
                    |r| r.0,
                );
                // Written only when an array uses it.
                self.weak.push(true);
                n
            }
        };
        if self.index_pending || !self.placeholders.is_empty() {
            let placeholders = &self.placeholders;
            self.st.remap_refs(self.nb, |r| {
                if r == INDEX_PENDING {
                    Some(index_node)
                } else {
                    placeholders
                        .get(&r)
                        .map(|die| die_node.get(die).copied().unwrap_or(0))
                }
            });
        }
        if self.timing {
            eprintln!(
                "btfenc: graph: cpu {:.1} ms interning names, {:.1} ms flattening types",
                self.cpu_strings as f64 / 1e6,
                self.cpu_push as f64 / 1e6
            );
            eprintln!(
                "btfenc: graph of {} types, {} strings built in {:?} (while the walk ran)",
                self.st.len(),
                self.strings.len(),
                self.started.elapsed()
            );
            if let Some(inc) = &self.inc {
                match inc.given_up() {
                    None => eprintln!(
                        "btfenc: dedup of primitive types and structs unit by unit: cpu {:.1} ms (while the walk ran)",
                        inc.cpu_ns as f64 / 1e6
                    ),
                    Some(why) => eprintln!("btfenc: dedup unit by unit given up: {why}"),
                }
            }
        }
        Graph {
            st: self.st,
            weak: self.weak,
            strings: self.strings,
            nb: self.nb,
            ids: NodeIds {
                cu_base: self.cu_base,
                foreign,
            },
            class: None,
            inc: self.inc,
        }
    }
}

/// Deduplicates the graph: each node's canonical node (a base node for types the base has).
pub(crate) fn dedup(g: &mut Graph, report: &mut Report, timing: bool) -> Vec<u32> {
    let nodes = g.st.len();
    let t_dedup = std::time::Instant::now();
    let cpu_dedup = crate::dedup::thread_cpu_ns();
    let done = match g.inc.take() {
        Some(inc) => inc.finish(&mut g.st),
        None => Dedup::run(&mut g.st, g.nb, false, Flavor::Upstream),
    };
    let canon: Vec<u32> = match done {
        Ok(mut d) => {
            let c = (0..nodes).map(|n| d.canonical(n)).collect();
            if timing {
                eprintln!("btfenc: dedup canonical map {:?}", t_dedup.elapsed());
            }
            c
        }
        Err(e) => {
            // Only a graph no DWARF can describe gets here: write it undeduplicated.
            report.warnings.push(format!("types not deduplicated: {e}"));
            (0..nodes).collect()
        }
    };
    if timing {
        eprintln!(
            "btfenc: dedup {:?} (cpu {:.1} ms); memory: {}",
            t_dedup.elapsed(),
            crate::dedup::thread_cpu_ns().saturating_sub(cpu_dedup) as f64 / 1e6,
            mem_status()
        );
    }
    report.dedup_rounds = 1;
    canon
}

/// Current and peak resident memory, from /proc (for `BTFENC_TIMING`).
pub(crate) fn mem_status() -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .map_or("?", |l| l[k.len()..].trim())
            .to_string()
    };
    format!("rss {}, peak {}", field("VmRSS:"), field("VmHWM:"))
}

/// Stands in for a base id the base does not have (never, for a parsed base).
static VOID: Type = Type {
    name: StrRef::EMPTY,
    data: TypeData::Void,
};
