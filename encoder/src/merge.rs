//! All CUs together: one type graph, deduplication, function and variable selection, and the
//! final BTF in a deterministic order (CU order, then DIE order; never thread order).

use crate::dedup::{Dedup, Flavor, Store, Strings};
use crate::dwarf::{CuOut, FuncCand};
use crate::elf::ElfInfo;
use crate::features::Features;
use crate::fx::HashMap;
use crate::report::{DropKind, Dropped, Instance, Report};
use btf::types::*;
use btf::Btf;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every type of the base (if any) and of all CUs, as one id space: 0 is void, then the base's
/// ids unchanged, then each CU's local ids in CU order.
struct Graph<'a> {
    st: Store,
    weak: Vec<bool>,
    strings: Strings<'a>,
}

/// A FUNC to write.
struct EmitFunc {
    name: String,
    linkage: FuncLinkage,
    /// Node of its FUNC_PROTO.
    proto: u32,
    /// `btf_decl_tag`s: (tag, component index).
    tags: Vec<(String, i32)>,
}

/// A VAR to write, and where it goes.
struct EmitVar {
    name: String,
    linkage: VarLinkage,
    /// Node of its type.
    ty: u32,
    /// Offset in its section.
    offset: u64,
    size: u64,
    tags: Vec<String>,
    section: String,
}

/// A CU function candidate with node ids.
struct Inst<'c> {
    cu: usize,
    cand: &'c FuncCand,
    proto: u32,
    true_proto: Option<Result<u32, String>>,
}

pub(crate) fn merge(
    cus: &[CuOut],
    elf: &ElfInfo,
    base: Option<Arc<Btf>>,
    feats: &Features,
    report: &mut Report,
) -> Result<Btf, btf::WriteError> {
    let timing = std::env::var_os("BTFENC_TIMING").is_some();
    if timing {
        eprintln!("btfenc: memory before merge: {}", mem_status());
    }
    let t_graph = std::time::Instant::now();
    let mut g = Graph {
        st: Store::new(),
        weak: vec![false],
        strings: Strings::new(),
    };
    let total: usize = cus.iter().map(|c| c.types.len()).sum();
    let words: usize = cus
        .iter()
        .flat_map(|c| c.types.iter())
        .map(|t| 3 + 3 * entries(&t.data))
        .sum();
    g.st.reserve(
        total + 2 + base.as_ref().map_or(0, |b| b.type_count() as usize),
        words,
    );
    g.weak.reserve(total + 2);
    // Base types keep their ids: they are the canonical types the CUs' types merge into.
    let nb = base.as_ref().map_or(1, |b| b.type_count());
    if let Some(b) = base.as_deref() {
        for id in 1..nb {
            let t = b.type_by_id(TypeId(id)).unwrap_or(&VOID);
            g.st.push(t, |s| g.strings.intern(b.str(s)), |r| r.0);
            g.weak.push(false);
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
        debug_assert_eq!(off, g.st.len() - 1);
        ids.clear();
        ids.extend(cu.strings.iter().map(|s| g.strings.intern(s)));
        let c1 = if timing {
            crate::dedup::thread_cpu_ns()
        } else {
            0
        };
        for (t, &w) in cu.types.iter().zip(&cu.weak) {
            g.st.push(
                t,
                |s| ids.get(s.0 as usize).copied().unwrap_or(0),
                |r| match r {
                    TypeId::VOID => 0,
                    crate::dwarf::ARRAY_INDEX => index_node,
                    _ => foreign[k].get(&r.0).copied().unwrap_or(r.0 + off),
                },
            );
            g.weak.push(w);
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
        debug_assert_eq!(g.st.len(), index_node);
        let name = g.strings.intern("__ARRAY_SIZE_TYPE__");
        g.st.push(
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
        g.weak.push(true);
    }
    let node = |cu: usize, t: TypeId| {
        if t.0 == 0 {
            0
        } else {
            foreign[cu].get(&t.0).copied().unwrap_or(t.0 + cu_base[cu])
        }
    };

    let nodes = g.st.len();
    if timing {
        eprintln!(
            "btfenc: graph of {} types, {} strings built in {:?}",
            nodes,
            g.strings.len(),
            t_graph.elapsed()
        );
    }
    let t_dedup = std::time::Instant::now();
    let cpu_dedup = crate::dedup::thread_cpu_ns();
    let canon: Vec<u32> = match Dedup::run(&mut g.st, nb, false, Flavor::Upstream) {
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
    let t_emit = std::time::Instant::now();
    report.types_before_dedup = (nodes - nb) as usize;
    // ---- functions ----
    let mut insts: Vec<Inst<'_>> = Vec::new();
    for (ci, cu) in cus.iter().enumerate() {
        for f in &cu.funcs {
            insts.push(Inst {
                cu: ci,
                cand: f,
                proto: node(ci, f.proto),
                true_proto: f
                    .true_proto
                    .as_ref()
                    .map(|r| r.clone().map(|t| node(ci, t))),
            });
        }
        report.inline_only += cu.inline_only;
        report.foreign_origin += cu.foreign_origin;
    }
    let mut sym_at: HashMap<u64, Vec<&str>> = HashMap::default();
    let mut sym_count: HashMap<&str, usize> = HashMap::default();
    for s in &elf.funcs {
        sym_at.entry(s.addr).or_default().push(&s.name);
        *sym_count.entry(&s.name).or_default() += 1;
    }
    let instance = |i: &Inst<'_>, sym: Option<&str>| Instance {
        cu: cus[i.cu].name.clone(),
        die: i.cand.die,
        symbol: sym.map(str::to_string),
    };
    // symbol name -> instances; DWARF name -> symbol names.
    let mut groups: BTreeMap<String, Vec<&Inst<'_>>> = BTreeMap::new();
    let mut by_name: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for i in &insts {
        let name = i.cand.name.as_str();
        // The symbol is the DWARF name, or the linkage name (C++, asm labels); clones add a
        // suffix to either.
        let own = [Some(name), i.cand.linkage_name.as_deref()];
        let syms = sym_at.get(&i.cand.entry).map(Vec::as_slice).unwrap_or(&[]);
        let sym = syms.iter().find(|s| own.contains(&Some(**s))).or_else(|| {
            syms.iter().find(|s| {
                own.iter()
                    .flatten()
                    .any(|o| s.strip_prefix(o).is_some_and(|rest| rest.starts_with('.')))
            })
        });
        match sym {
            Some(s) => {
                groups.entry(s.to_string()).or_default().push(i);
                let v = by_name.entry(name).or_default();
                if !v.iter().any(|x| x == s) {
                    v.push(s.to_string());
                }
            }
            None => report.dropped.push(Dropped {
                name: name.to_string(),
                kind: DropKind::NotDescribed,
                reason: "no ELF function symbol at its entry address".into(),
                instances: vec![instance(i, None)],
            }),
        }
    }
    // Messages render prototypes from the canonical types only (a few percent of the graph).
    let mut raw: Option<(Btf, Vec<u32>)> = None;
    let mut render = |proto: u32, name: &str, g: &Graph| -> String {
        let (r, ids) = raw.get_or_insert_with(|| canonical_btf(g, &canon));
        let id = ids[canon[proto as usize] as usize];
        btf::render::Renderer::new(r).prototype(TypeId(id), name)
    };
    let class = |n: u32| canon[n as usize];
    // Prototypes agree when their return and parameter types are the same canonical types
    // (parameter names may differ).
    let proto_key = |n: u32| -> Vec<u32> {
        let mut k = Vec::new();
        if g.st.kind(n) == btf::Kind::FUNC_PROTO.0 {
            g.st.refs(n, &mut k);
            k.iter_mut().for_each(|r| *r = class(*r));
        } else {
            k.push(class(n));
        }
        k
    };
    // (symbol name, linkage, proto node, decl tags)
    let mut funcs: Vec<EmitFunc> = Vec::new();
    for (sym, list) in &groups {
        let dwarf_name = &list[0].cand.name;
        let linkage_name = list[0].cand.linkage_name.as_deref();
        let is_clone = sym != dwarf_name && Some(sym.as_str()) != linkage_name;
        // The part of the symbol the clone suffix follows.
        let stem = if linkage_name.is_some_and(|l| sym.starts_with(l)) {
            linkage_name.unwrap_or(dwarf_name)
        } else {
            dwarf_name.as_str()
        };
        let insts_of: Vec<Instance> = list.iter().map(|i| instance(i, Some(sym))).collect();
        let mut drop = |kind: DropKind, reason: String| {
            report.dropped.push(Dropped {
                name: sym.clone(),
                kind,
                reason,
                instances: insts_of.clone(),
            })
        };
        if is_clone && !feats.clone_true_signature {
            continue; // reported per DWARF name below when no plain symbol exists
        }
        let mut entries: Vec<u64> = list.iter().map(|i| i.cand.entry).collect();
        entries.sort_unstable();
        entries.dedup();
        let nsyms = sym_count.get(sym.as_str()).copied().unwrap_or(0);
        if nsyms > entries.len() {
            drop(DropKind::AmbiguousAddress, format!(
                "{nsyms} ELF symbols named {sym} but only {} described in DWARF (a tracer may attach to one without debug info)",
                entries.len()
            ));
            continue;
        }
        if is_clone {
            let suffix = &sym[stem.len().min(sym.len())..];
            if suffix.contains(".cold") || suffix.contains(".part") {
                drop(
                    DropKind::OptimizedParameters,
                    format!("part of a split function ({suffix})"),
                );
                continue;
            }
        }
        let nocall = list.iter().any(|i| i.cand.nocall);
        if nocall && !feats.clone_true_signature {
            drop(
                DropKind::OptimizedParameters,
                "DW_CC_nocall: the compiler changed its calling convention (the true_signature feature encodes the prototype it has)".into(),
            );
            continue;
        }
        let protos: Vec<u32> = if nocall {
            // true_signature: the prototype the parameters' locations show (`void` return).
            match list
                .iter()
                .map(|i| {
                    i.true_proto
                        .clone()
                        .unwrap_or_else(|| Err("not DW_CC_nocall in every unit".into()))
                })
                .collect::<Result<Vec<u32>, String>>()
            {
                Ok(p) => p,
                Err(why) => {
                    drop(
                        DropKind::OptimizedParameters,
                        format!("DW_CC_nocall and its real prototype cannot be derived: {why}"),
                    );
                    continue;
                }
            }
        } else if is_clone {
            match list
                .iter()
                .map(|i| {
                    i.true_proto
                        .clone()
                        .unwrap_or_else(|| Err("no true signature".into()))
                })
                .collect::<Result<Vec<u32>, String>>()
            {
                Ok(p) => p,
                Err(why) => {
                    drop(
                        DropKind::OptimizedParameters,
                        format!("clone signature cannot be derived: {why}"),
                    );
                    continue;
                }
            }
        } else {
            if let Some((i, Err((kind, why)))) = list
                .iter()
                .map(|i| (i, &i.cand.abi))
                .find(|(_, a)| a.is_err())
            {
                let why = if list.len() > 1 {
                    format!("{why} (in {})", cus[i.cu].name)
                } else {
                    why.clone()
                };
                drop(*kind, why);
                continue;
            }
            list.iter().map(|i| i.proto).collect()
        };
        let k0 = proto_key(protos[0]);
        if let Some(other) = protos.iter().find(|&&p| proto_key(p) != k0) {
            let a = render(protos[0], sym, &g);
            let b = render(*other, sym, &g);
            drop(DropKind::InconsistentPrototype, format!(
                "{} definitions with different prototypes: `{a}` vs `{b}`",
                list.len()
            ));
            continue;
        }
        let linkage = if !is_clone && list.iter().any(|i| i.cand.external) {
            FuncLinkage::GLOBAL
        } else {
            FuncLinkage::STATIC
        };
        let tags = if is_clone {
            Vec::new()
        } else {
            list[0].cand.decl_tags.clone()
        };
        // First instance in CU order decides the order of FUNCs.
        funcs.push(EmitFunc {
            name: sym.clone(),
            linkage,
            proto: protos[0],
            tags,
        });
    }
    for (name, syms) in &by_name {
        let plain = |s: &String| {
            s == name
                || groups[s]
                    .iter()
                    .any(|i| i.cand.linkage_name.as_deref() == Some(s.as_str()))
        };
        if !syms.iter().any(plain) && !feats.clone_true_signature {
            let list: Vec<Instance> = syms
                .iter()
                .flat_map(|s| groups[s].iter().map(|i| instance(i, Some(s))))
                .collect();
            report.dropped.push(Dropped {
                name: name.to_string(),
                kind: DropKind::OptimizedParameters,
                reason: format!(
                    "only clone symbols ({}); their signatures may differ from the source (see the clone_true_signature feature)",
                    syms.join(", ")
                ),
                instances: list,
            });
        }
    }
    // Function symbols no DWARF instance with code stands behind: assembly, or a body gcc's
    // identical code folding (-fipa-icf) turned into a thunk or alias, whose subprogram DIE has
    // no code range. Their parameters' locations cannot be checked, so they get no FUNC; they
    // are listed so `--explain` accounts for every function symbol. Symbols with a suffix
    // (`.cold`, `.part.N`, `.isra.N` without DWARF of their own) are pieces of functions above.
    let mut reported: crate::fx::HashSet<&str> =
        report.dropped.iter().map(|d| d.name.as_str()).collect();
    let mut undescribed: Vec<Dropped> = Vec::new();
    for s in &elf.funcs {
        // `__pfx_foo`/`__cfi_foo`: the kernel's call-padding and CFI preamble symbols, one per
        // function, not functions of their own.
        if s.name.is_empty()
            || s.name.starts_with("__pfx_")
            || s.name.starts_with("__cfi_")
            || groups.contains_key(&s.name)
        {
            continue;
        }
        if let Some((stem, _)) = s.name.split_once('.') {
            // A clone or split part (`foo.part.0`) no DWARF instance was matched to: unless its
            // function was judged or reported under its own name, say why `foo` has no FUNC.
            if !stem.is_empty() && !groups.contains_key(stem) && reported.insert(stem) {
                undescribed.push(Dropped {
                    name: stem.to_string(),
                    kind: DropKind::NotDescribed,
                    reason: format!(
                        "only clone symbols ({}) and no DWARF instance at their address: no FUNC {stem}",
                        s.name
                    ),
                    instances: Vec::new(),
                });
            }
            continue;
        }
        if reported.insert(s.name.as_str()) {
            undescribed.push(Dropped {
                name: s.name.clone(),
                kind: DropKind::NotDescribed,
                reason: "function symbol without a DWARF description of its code (assembly, or a thunk/alias left by identical code folding): its parameters' locations cannot be checked".into(),
                instances: Vec::new(),
            });
        }
    }
    report.dropped.extend(undescribed);
    // FUNC order: by first instance (CU, DIE), like pahole's CU-order walk.
    let first_of: HashMap<&str, (usize, u64)> = groups
        .iter()
        .map(|(s, l)| (s.as_str(), (l[0].cu, l[0].cand.die)))
        .collect();
    funcs.sort_by_key(|f| first_of[f.name.as_str()]);
    report.funcs = funcs.len();

    // ---- variables ----
    let mut vars: Vec<EmitVar> = Vec::new();
    if feats.var || feats.global_var {
        let mut seen = crate::fx::HashSet::default();
        let obj_at: HashMap<u64, Vec<&crate::elf::Symbol>> =
            elf.objects.iter().fold(HashMap::default(), |mut m, s| {
                m.entry(s.addr).or_default().push(s);
                m
            });
        for (ci, cu) in cus.iter().enumerate() {
            for v in &cu.vars {
                let Some(sec) = elf.section_of(v.addr) else {
                    continue;
                };
                let percpu = sec.name == ".data..percpu";
                if !(percpu && feats.var || feats.global_var) {
                    continue;
                }
                let Some(sym) = obj_at
                    .get(&v.addr)
                    .and_then(|l| l.iter().find(|s| s.name == v.name))
                else {
                    continue;
                };
                if !seen.insert((v.name.clone(), v.addr)) {
                    continue;
                }
                let size = if sym.size != 0 { sym.size } else { v.size };
                let linkage = if v.external {
                    VarLinkage::GLOBAL
                } else {
                    VarLinkage::STATIC
                };
                vars.push(EmitVar {
                    name: v.name.clone(),
                    linkage,
                    ty: node(ci, v.ty),
                    offset: v.addr - sec.addr,
                    size,
                    tags: v.decl_tags.clone(),
                    section: sec.name.clone(),
                });
            }
        }
    }

    // ---- emission ----
    // Written: canonical new types that a non-weak type merged into, the types of emitted FUNCs
    // and VARs, and everything those refer to. Base types are the base's.
    let n = nodes as usize;
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
    } in &funcs
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
    } in &vars
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
    if timing {
        eprintln!(
            "btfenc: functions, variables and emission {:?}",
            t_emit.elapsed()
        );
    }
    out.set_types(types);
    Ok(out)
}

/// The canonical types of the graph (base ones included) as one standalone BTF blob, and each
/// canonical node's id in it, for rendering messages.
fn canonical_btf(g: &Graph, canon: &[u32]) -> (Btf, Vec<u32>) {
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
            let t = g.st.get(
                n as u32,
                |s| b.add_str(g.strings.get(s)),
                |r| TypeId(ids[canon[r as usize] as usize]),
            );
            types.push(t);
        }
    }
    b.set_types(types);
    (b, ids)
}

/// Current and peak resident memory, from /proc (for `BTFENC_TIMING`).
fn mem_status() -> String {
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
