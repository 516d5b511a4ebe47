//! The type graph: every type of the base (if any) and of all CUs as one id space, and its
//! deduplication into canonical types.

use crate::dedup::{Dedup, Flavor, Store, Strings};
use crate::dwarf::CuOut;
use crate::fx::HashMap;
use crate::report::Report;
use btf::types::*;
use btf::Btf;

/// Every type of the base (if any) and of all CUs, as one id space: 0 is void, then the base's
/// ids unchanged, then each CU's local ids in CU order.
pub(crate) struct Graph<'a> {
    pub(crate) st: Store,
    /// Per node: written only when an emitted FUNC or VAR refers to it.
    pub(crate) weak: Vec<bool>,
    pub(crate) strings: Strings<'a>,
    /// The first node that is not the base's (1 without a base).
    pub(crate) nb: u32,
    /// Node offsets of the CUs: local id l of CU k is node `cu_base[k] + l`.
    cu_base: Vec<u32>,
    /// Per CU: placeholder local ids (references into other units) → the node they stand for.
    foreign: Vec<HashMap<u32, u32>>,
}

impl Graph<'_> {
    /// The node of local type `t` of CU `cu`.
    pub(crate) fn node(&self, cu: usize, t: TypeId) -> u32 {
        if t.0 == 0 {
            0
        } else {
            self.foreign[cu]
                .get(&t.0)
                .copied()
                .unwrap_or(t.0 + self.cu_base[cu])
        }
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

/// Builds the graph of the base's types and all CUs' types. References into other units resolve
/// to the type DIE's node (void, with a warning, when the DIE is not a type).
pub(crate) fn build<'a>(
    cus: &'a [CuOut],
    base: Option<&'a Btf>,
    report: &mut Report,
    timing: bool,
) -> Graph<'a> {
    let t_graph = std::time::Instant::now();
    let mut st = Store::new();
    let mut weak = vec![false];
    let mut strings = Strings::new();
    let total: usize = cus.iter().map(|c| c.types.len()).sum();
    let words: usize = cus
        .iter()
        .flat_map(|c| c.types.iter())
        .map(|t| 3 + 3 * entries(&t.data))
        .sum();
    st.reserve(
        total + 2 + base.map_or(0, |b| b.type_count() as usize),
        words,
    );
    weak.reserve(total + 2);
    // Base types keep their ids: they are the canonical types the CUs' types merge into.
    let nb = base.map_or(1, |b| b.type_count());
    if let Some(b) = base {
        for id in 1..nb {
            let t = b.type_by_id(TypeId(id)).unwrap_or(&VOID);
            st.push(t, |s| strings.intern(b.str(s)), |r| r.0);
            weak.push(false);
        }
    }
    // The array index type: the first CU's `int`, else one `__ARRAY_SIZE_TYPE__` (as pahole).
    let index_node = {
        let mut off = nb - 1;
        let mut found = None;
        for cu in cus {
            if let Some(t) = cu.int_type {
                found = Some(off + t.0);
                break;
            }
            off += cu.types.len() as u32;
        }
        match found {
            Some(n) => n,
            None => {
                nb + total as u32 // appended after all CU types, below
            }
        }
    };
    let needs_index_node = cus.iter().all(|c| c.int_type.is_none());
    // Node offsets of the CUs (local id l of CU k is node cu_base[k] + l), and every type DIE's
    // node, for references across units.
    let mut cu_base = Vec::with_capacity(cus.len());
    {
        let mut off = nb - 1;
        for cu in cus {
            cu_base.push(off);
            off += cu.types.len() as u32;
        }
    }
    // Only the DIEs other units refer to need a lookup: index those, then find them among all
    // type DIEs (a map of every type DIE would be millions of entries for a vmlinux).
    let mut die_node: HashMap<u64, u32> = HashMap::default();
    for cu in cus {
        for &(_, off) in &cu.foreign {
            die_node.insert(off, u32::MAX);
        }
    }
    if !die_node.is_empty() {
        for (k, cu) in cus.iter().enumerate() {
            for &(off, id) in &cu.type_dies {
                if let Some(n) = die_node.get_mut(&off) {
                    *n = if id.0 == 0 { 0 } else { cu_base[k] + id.0 };
                }
            }
        }
        die_node.retain(|_, n| *n != u32::MAX);
    }
    // Placeholder local ids → the node they stand for.
    let foreign: Vec<HashMap<u32, u32>> = cus
        .iter()
        .map(|cu| {
            cu.foreign
                .iter()
                .map(|&(id, off)| (id.0, die_node.get(&off).copied().unwrap_or(0)))
                .collect()
        })
        .collect();
    for cu in cus {
        for &(_, off) in &cu.foreign {
            if !die_node.contains_key(&off) {
                report.warnings.push(format!(
                    "reference from unit {:#x} to DIE {off:#x}, which is not a type: encoded as void",
                    cu.offset
                ));
            }
        }
    }
    let mut ids: Vec<u32> = Vec::new();
    let (mut cpu_strings, mut cpu_push) = (0u64, 0u64);
    for (k, cu) in cus.iter().enumerate() {
        let c0 = if timing {
            crate::dedup::thread_cpu_ns()
        } else {
            0
        };
        let off = cu_base[k];
        debug_assert_eq!(off, st.len() - 1);
        ids.clear();
        ids.extend(cu.strings.iter().map(|s| strings.intern(s)));
        let c1 = if timing {
            crate::dedup::thread_cpu_ns()
        } else {
            0
        };
        for (t, &w) in cu.types.iter().zip(&cu.weak) {
            st.push(
                t,
                |s| ids.get(s.0 as usize).copied().unwrap_or(0),
                |r| match r {
                    TypeId::VOID => 0,
                    crate::dwarf::ARRAY_INDEX => index_node,
                    _ => foreign[k].get(&r.0).copied().unwrap_or(r.0 + off),
                },
            );
            weak.push(w);
        }
        if timing {
            let c2 = crate::dedup::thread_cpu_ns();
            cpu_strings += c1 - c0;
            cpu_push += c2 - c1;
        }
    }
    if timing {
        eprintln!(
            "btfenc: graph: cpu {:.1} ms interning names, {:.1} ms flattening types",
            cpu_strings as f64 / 1e6,
            cpu_push as f64 / 1e6
        );
    }
    if needs_index_node {
        debug_assert_eq!(st.len(), index_node);
        let name = strings.intern("__ARRAY_SIZE_TYPE__");
        st.push(
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
        weak.push(true);
    }
    if timing {
        eprintln!(
            "btfenc: graph of {} types, {} strings built in {:?}",
            st.len(),
            strings.len(),
            t_graph.elapsed()
        );
    }
    Graph {
        st,
        weak,
        strings,
        nb,
        cu_base,
        foreign,
    }
}

/// Deduplicates the graph: each node's canonical node (a base node for types the base has).
pub(crate) fn dedup(g: &mut Graph, report: &mut Report, timing: bool) -> Vec<u32> {
    let nodes = g.st.len();
    let t_dedup = std::time::Instant::now();
    let cpu_dedup = crate::dedup::thread_cpu_ns();
    let canon: Vec<u32> = match Dedup::run(&mut g.st, g.nb, false, Flavor::Upstream) {
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

/// The number of entries (members, values, parameters, variables) of a type.
fn entries(d: &TypeData) -> usize {
    match d {
        TypeData::Struct(c) | TypeData::Union(c) => c.members.len(),
        TypeData::Enum(e) => e.values.len(),
        TypeData::Enum64(e) => e.values.len(),
        TypeData::FuncProto(p) => p.params.len(),
        TypeData::Datasec(d) => d.vars.len(),
        _ => 1,
    }
}

/// Stands in for a base id the base does not have (never, for a parsed base).
static VOID: Type = Type {
    name: StrRef::EMPTY,
    data: TypeData::Void,
};
