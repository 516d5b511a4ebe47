//! FUNC selection: which functions get a FUNC, under which name, with which prototype, and why
//! every other function with code gets none (`--explain`, `--verbose`).
//!
//! The kernel attaches fentry to a FUNC by name (kallsyms, first match) and the tracer reads the
//! arguments the FUNC's prototype describes, so a FUNC is written only when that is right for
//! every function the name reaches. The rules are encoder/README.md's "Function selection", one
//! function each, each returning its refusal (the reason's class and words) when it refuses.
//! Whether a parameter is where the ABI puts it was decided by the walk, per instance
//! ([`crate::abi::check`]): here it is one rule among the others.

use crate::dwarf::{CuOut, FuncCand};
use crate::elf::ElfInfo;
use crate::features::Features;
use crate::fx::{HashMap, HashSet};
use crate::graph::{Graph, NodeIds};
use crate::report::{DropKind, Dropped, Instance, Report};
use btf::types::{FuncLinkage, TypeId};
use btf::Btf;

/// A FUNC to write.
pub(crate) struct EmitFunc {
    pub(crate) name: String,
    pub(crate) linkage: FuncLinkage,
    /// Node of its FUNC_PROTO.
    pub(crate) proto: u32,
    /// `btf_decl_tag`s: (tag, component index).
    pub(crate) tags: Vec<(String, i32)>,
}

/// Why a function gets no FUNC: the class of the reason (pahole's words for `--verbose`) and
/// btfenc's own words (`--explain`).
type Refusal = (DropKind, String);

/// A CU function candidate with node ids.
struct Inst<'c> {
    cu: usize,
    cand: &'c FuncCand,
    proto: u32,
    true_proto: Option<Result<u32, String>>,
    /// `true_proto` returning `void`.
    true_proto_void: Option<u32>,
}

/// Symbol name → the instances at that symbol, in CU order (a hash map: a kernel has 50 k
/// symbols, looked up once per ELF function symbol; ordered walks go through a sorted key list).
type Groups<'s, 'i, 'c> = HashMap<&'s str, Vec<&'i Inst<'c>>>;

/// FUNC selection as far as it goes without the deduplicated graph: every rule but the
/// comparison of prototypes between instances, which needs canonical types. It reads only the
/// units' candidates, the ELF symbols and node ids from before dedup, so it runs on another
/// thread while the graph is deduplicated; [`Selection::finish`] completes it.
pub(crate) struct Selection {
    /// Reasons found before the per-symbol rules (no symbol at an instance's entry).
    early: Vec<Dropped>,
    /// Per symbol, in name order (the order reasons are listed in).
    symbols: Vec<Outcome>,
    /// Reasons found after them: DWARF names with only clone symbols, symbols without DWARF.
    late: Vec<Dropped>,
    inline_only: usize,
    foreign_origin: usize,
}

/// What the rules say of one symbol before its instances' prototypes are compared.
enum Outcome {
    /// A FUNC (its prototype a pre-dedup node); `first` is its first instance's (CU, DIE): the
    /// FUNC order. `compare`: when its instances have different prototype nodes, those nodes
    /// and the instances, for the comparison after dedup (equal nodes are equal prototypes).
    Func {
        func: EmitFunc,
        first: (usize, u64),
        compare: Option<(Vec<u32>, Vec<Instance>)>,
    },
    Refused(Dropped),
    /// A clone without `clone_true_signature` ([`only_clone_symbols`] speaks for it).
    Skipped,
}

/// The rules of encoder/README's "Function selection" over every instance, up to the prototype
/// comparison (see [`Selection`]). `nodes` maps the units' local type ids to graph nodes before
/// dedup.
pub(crate) fn select(cus: &[CuOut], elf: &ElfInfo, nodes: &NodeIds, feats: &Features) -> Selection {
    let (insts, inline_only, foreign_origin) = instances(cus, nodes);
    // Function symbols by address (stable: symbol table order among one address's names).
    let mut sym_at: Vec<(u64, &str)> = elf.funcs.iter().map(|s| (s.addr, s.name.as_str())).collect();
    sym_at.sort_by_key(|&(a, _)| a);
    let mut sym_count: HashMap<&str, usize> = HashMap::default();
    for s in &elf.funcs {
        *sym_count.entry(&s.name).or_default() += 1;
    }
    // symbol name -> instances; DWARF name -> symbol names.
    let mut groups: Groups = HashMap::default();
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::default();
    let mut early = Vec::new();
    for i in &insts {
        let name = i.cand.name.as_str();
        match symbol_at_entry(i.cand, &sym_at) {
            Ok(s) => {
                groups.entry(s).or_default().push(i);
                let v = by_name.entry(name).or_default();
                if !v.contains(&s) {
                    v.push(s);
                }
            }
            Err((kind, reason)) => early.push(Dropped {
                name: name.to_string(),
                kind,
                reason,
                instances: vec![instance(cus, i, None)],
            }),
        }
    }
    let mut syms: Vec<&str> = groups.keys().copied().collect();
    syms.sort_unstable();
    let symbols: Vec<Outcome> = syms
        .iter()
        .map(|&sym| {
            let list = &groups[sym];
            let nsyms = sym_count.get(sym).copied().unwrap_or(0);
            match func_for_symbol(sym, list, nsyms, cus, feats) {
                Ok(Some((func, protos_of))) => Outcome::Func {
                    func,
                    first: (list[0].cu, list[0].cand.die),
                    compare: protos_of.iter().any(|&p| p != protos_of[0]).then(|| {
                        let instances = list.iter().map(|i| instance(cus, i, Some(sym))).collect();
                        (protos_of, instances)
                    }),
                },
                Ok(None) => Outcome::Skipped,
                Err(refusal) => Outcome::Refused(refused(cus, sym, list, refusal)),
            }
        })
        .collect();
    let mut late = Vec::new();
    let mut names: Vec<(&str, &Vec<&str>)> = by_name.iter().map(|(n, s)| (*n, s)).collect();
    names.sort_unstable_by_key(|&(n, _)| n);
    for (name, syms) in names {
        if let Some(d) = only_clone_symbols(name, syms, &groups, cus, feats) {
            late.push(d);
        }
    }
    // Symbols without DWARF, each name once. The names refused so far are the only ones the
    // list may repeat; the comparison of prototypes refuses only symbols with instances, which
    // are never listed here.
    let reported = early
        .iter()
        .chain(symbols.iter().filter_map(|o| match o {
            Outcome::Refused(d) => Some(d),
            _ => None,
        }))
        .chain(&late);
    let undescribed = undescribed_symbols(elf, &groups, reported);
    late.extend(undescribed);
    Selection {
        early,
        symbols,
        late,
        inline_only,
        foreign_origin,
    }
}

impl Selection {
    /// The FUNCs to write, in the order of their first instance (CU, then DIE, like pahole's
    /// CU-order walk), once the graph is deduplicated and compacted (`g`, whose
    /// [`Graph::class_of`] maps the pre-dedup nodes, and `canon`, its canonical map). Every
    /// function that gets none is added to `report.dropped` with its reason, except the text
    /// of the reasons that show prototypes: [`PendingReasons`] renders those.
    pub(crate) fn finish(
        self,
        g: &Graph,
        canon: &[u32],
        report: &mut Report,
    ) -> (Vec<EmitFunc>, PendingReasons) {
        report.inline_only += self.inline_only;
        report.foreign_origin += self.foreign_origin;
        report.dropped.extend(self.early);
        let protos = Prototypes {
            g,
            canon,
            rendered: None,
        };
        let mut pending = Vec::new();
        let mut funcs: Vec<((usize, u64), EmitFunc)> = Vec::new();
        for o in self.symbols {
            match o {
                Outcome::Func {
                    mut func,
                    first,
                    compare,
                } => {
                    func.proto = g.class_of(func.proto);
                    if let Some((protos_of, instances)) = compare {
                        let protos_of: Vec<u32> = protos_of.iter().map(|&n| g.class_of(n)).collect();
                        if let Some((a, b)) = differing_prototypes(&protos_of, &protos) {
                            pending.push(Pending {
                                at: report.dropped.len(),
                                sym: func.name.clone(),
                                definitions: protos_of.len(),
                                a,
                                b,
                            });
                            report.dropped.push(Dropped {
                                name: func.name,
                                kind: DropKind::InconsistentPrototype,
                                reason: String::new(),
                                instances,
                            });
                            continue;
                        }
                    }
                    funcs.push((first, func));
                }
                Outcome::Refused(d) => report.dropped.push(d),
                Outcome::Skipped => {}
            }
        }
        report.dropped.extend(self.late);
        // FUNC order: by first instance (CU, DIE), like pahole's CU-order walk.
        funcs.sort_unstable_by_key(|&(first, _)| first);
        report.funcs = funcs.len();
        (funcs.into_iter().map(|(_, f)| f).collect(), PendingReasons(pending))
    }
}

/// The reasons of the symbols dropped because their definitions have different prototypes,
/// whose text shows both prototypes as C. Rendering needs a BTF of the whole canonical graph
/// (longer than the rest of the selection on a kernel), so the caller renders them beside
/// emission and then fills them in.
#[derive(Debug)]
pub(crate) struct PendingReasons(Vec<Pending>);

#[derive(Debug)]
struct Pending {
    /// Index of the reason's entry in `Report::dropped`.
    at: usize,
    sym: String,
    definitions: usize,
    /// Two of the prototype nodes that differ.
    a: u32,
    b: u32,
}

impl PendingReasons {
    /// The reasons' texts, in order (`g` and `canon` as given to [`Selection::finish`]).
    pub(crate) fn render(&self, g: &Graph, canon: &[u32]) -> Vec<String> {
        let mut protos = Prototypes {
            g,
            canon,
            rendered: None,
        };
        self.0
            .iter()
            .map(|p| {
                let a = protos.render(p.a, &p.sym);
                let b = protos.render(p.b, &p.sym);
                format!(
                    "{} definitions with different prototypes: `{a}` vs `{b}`",
                    p.definitions
                )
            })
            .collect()
    }

    /// Puts the texts from [`PendingReasons::render`] into the report.
    pub(crate) fn fill(self, report: &mut Report, texts: Vec<String>) {
        for (p, text) in self.0.into_iter().zip(texts) {
            if let Some(d) = report.dropped.get_mut(p.at) {
                d.reason = text;
            }
        }
    }
}

/// A symbol's refusal as a reason with its instances.
fn refused(cus: &[CuOut], sym: &str, list: &[&Inst<'_>], (kind, reason): Refusal) -> Dropped {
    Dropped {
        name: sym.to_string(),
        kind,
        reason,
        instances: list.iter().map(|i| instance(cus, i, Some(sym))).collect(),
    }
}

/// Every out-of-line instance of every CU, its prototypes as pre-dedup graph nodes; the counts
/// of inline-only functions and of instances whose origin is in another unit.
fn instances<'c>(cus: &'c [CuOut], nodes: &NodeIds) -> (Vec<Inst<'c>>, usize, usize) {
    let mut insts: Vec<Inst<'_>> = Vec::new();
    let (mut inline_only, mut foreign_origin) = (0, 0);
    for (ci, cu) in cus.iter().enumerate() {
        for f in &cu.funcs {
            insts.push(Inst {
                cu: ci,
                cand: f,
                proto: nodes.node(ci, f.proto),
                true_proto: f
                    .true_proto
                    .as_ref()
                    .map(|r| r.clone().map(|t| nodes.node(ci, t))),
                true_proto_void: f.true_proto_void.map(|t| nodes.node(ci, t)),
            });
        }
        inline_only += cu.inline_only;
        foreign_origin += cu.foreign_origin;
    }
    (insts, inline_only, foreign_origin)
}

fn instance(cus: &[CuOut], i: &Inst<'_>, sym: Option<&str>) -> Instance {
    Instance {
        cu: cus[i.cu].name.clone(),
        die: i.cand.die,
        symbol: sym.map(str::to_string),
    }
}

/// The ELF function symbol an instance is: one at its entry address named as its DWARF name or
/// its linkage name (C++, asm labels), else one with a clone suffix after either.
fn symbol_at_entry<'s>(
    cand: &FuncCand,
    sym_at: &[(u64, &'s str)],
) -> Result<&'s str, Refusal> {
    let own = [Some(cand.name.as_str()), cand.linkage_name.as_deref()];
    let from = sym_at.partition_point(|&(a, _)| a < cand.entry);
    let to = from + sym_at[from..].partition_point(|&(a, _)| a == cand.entry);
    let syms = || sym_at[from..to].iter().map(|&(_, s)| s);
    let sym = syms().find(|s| own.contains(&Some(*s))).or_else(|| {
        syms().find(|s| {
            own.iter()
                .flatten()
                .any(|o| s.strip_prefix(o).is_some_and(|rest| rest.starts_with('.')))
        })
    });
    match sym {
        Some(s) => Ok(s),
        None => Err((
            DropKind::NotDescribed,
            "no ELF function symbol at its entry address".into(),
        )),
    }
}

/// One symbol's FUNC with every instance's prototype node, or why it gets none, by the rules in
/// order but the last ([`same_prototype`], after dedup). `Ok(None)`: a clone without
/// `clone_true_signature`, which [`only_clone_symbols`] reports under its DWARF name.
fn func_for_symbol(
    sym: &str,
    list: &[&Inst<'_>],
    nsyms: usize,
    cus: &[CuOut],
    feats: &Features,
) -> Result<Option<(EmitFunc, Vec<u32>)>, Refusal> {
    let dwarf_name = &list[0].cand.name;
    let linkage_name = list[0].cand.linkage_name.as_deref();
    let is_clone = sym != dwarf_name.as_str() && Some(sym) != linkage_name;
    // The part of the symbol the clone suffix follows.
    let stem = if linkage_name.is_some_and(|l| sym.starts_with(l)) {
        linkage_name.unwrap_or(dwarf_name)
    } else {
        dwarf_name.as_str()
    };
    if is_clone && !feats.clone_true_signature {
        return Ok(None);
    }
    every_symbol_described(sym, nsyms, list)?;
    if is_clone {
        not_a_split_part(sym, stem)?;
    }
    let nocall = list.iter().any(|i| i.cand.nocall);
    if nocall {
        nocall_needs_true_signature(feats)?;
    }
    let protos_of: Vec<u32> = if nocall {
        nocall_prototypes(list)?
    } else if is_clone {
        let suffix = sym.strip_prefix(stem).unwrap_or(sym);
        clone_prototypes(list, clone_keeps_return(suffix))?
    } else {
        parameters_where_the_abi_puts_them(list, cus)?;
        list.iter().map(|i| i.proto).collect()
    };
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
    let func = EmitFunc {
        name: sym.to_string(),
        linkage,
        proto: protos_of[0],
        tags,
    };
    Ok(Some((func, protos_of)))
}

/// Every ELF function symbol of the name is an instance described in DWARF: else a tracer
/// attaching by name may reach one whose parameters nothing checked.
fn every_symbol_described(sym: &str, nsyms: usize, list: &[&Inst<'_>]) -> Result<(), Refusal> {
    let mut entries: Vec<u64> = list.iter().map(|i| i.cand.entry).collect();
    entries.sort_unstable();
    entries.dedup();
    if nsyms > entries.len() {
        return Err((DropKind::AmbiguousAddress, format!(
            "{nsyms} ELF symbols named {sym} but only {} described in DWARF (a tracer may attach to one without debug info)",
            entries.len()
        )));
    }
    Ok(())
}

/// A clone symbol is not a piece of a split function (`.cold`, `.part`): a piece is no function
/// a caller calls with the source's arguments.
fn not_a_split_part(sym: &str, stem: &str) -> Result<(), Refusal> {
    let suffix = &sym[stem.len().min(sym.len())..];
    if suffix.contains(".cold") || suffix.contains(".part") {
        return Err((
            DropKind::OptimizedParameters,
            format!("part of a split function ({suffix})"),
        ));
    }
    Ok(())
}

/// A `DW_CC_nocall` function (the compiler changed how it is called) gets a FUNC only with
/// `true_signature`, under the prototype its parameters' locations show.
fn nocall_needs_true_signature(feats: &Features) -> Result<(), Refusal> {
    if !feats.clone_true_signature {
        return Err((
            DropKind::OptimizedParameters,
            "DW_CC_nocall: the compiler changed its calling convention (the true_signature feature encodes the prototype it has)".into(),
        ));
    }
    Ok(())
}

/// `true_signature` on a `DW_CC_nocall` function: every instance's real prototype (derived by
/// the walk, [`crate::abi::nocall_signature`]; `void` return).
fn nocall_prototypes(list: &[&Inst<'_>]) -> Result<Vec<u32>, Refusal> {
    list.iter()
        .map(|i| {
            i.true_proto
                .clone()
                .unwrap_or_else(|| Err("not DW_CC_nocall in every unit".into()))
        })
        .collect::<Result<Vec<u32>, String>>()
        .map_err(|why| {
            (
                DropKind::OptimizedParameters,
                format!("DW_CC_nocall and its real prototype cannot be derived: {why}"),
            )
        })
}

/// Clone suffixes of compiler passes that never remove a return value: gcc's IPA-CP
/// (`.constprop.N`: its own clones keep the return; one it makes of a clone whose return was
/// removed keeps that clone's suffix too), LTO's renaming of statics (`.lto_priv.N`), gcc's
/// local aliases (`.localalias`) and clang's ThinLTO promotion (`.llvm.N`; clang says
/// `DW_CC_nocall` when it drops a return value).
const RETURN_KEEPING_SUFFIXES: &[&str] = &["constprop", "lto_priv", "localalias", "llvm"];

/// Whether a clone with symbol suffix `suffix` (`.constprop.0.isra.0`) certainly returns the
/// value its source returns. gcc's IPA-SRA (`.isra`) removes a return value no caller uses, and
/// the clone's DWARF does not say so (gcc 12, 14, 15: a `DW_AT_abstract_origin` DIE without
/// `DW_AT_type` or `DW_AT_calling_convention`, the same whether the value was removed or kept),
/// so the register may hold anything at return. A suffix part not known to keep the return
/// (`isra`, or one this list does not know) makes the clone's FUNC return `void`.
fn clone_keeps_return(suffix: &str) -> bool {
    suffix
        .split('.')
        .filter(|part| !part.is_empty())
        .all(|part| {
            part.bytes().all(|b| b.is_ascii_digit()) || RETURN_KEEPING_SUFFIXES.contains(&part)
        })
}

/// `clone_true_signature` on a clone: every instance's signature as its parameters' locations
/// show it ([`crate::abi::true_signature`]), with the source return type when `keeps_return`,
/// else `void`.
fn clone_prototypes(list: &[&Inst<'_>], keeps_return: bool) -> Result<Vec<u32>, Refusal> {
    list.iter()
        .map(|i| {
            let proto = i
                .true_proto
                .clone()
                .unwrap_or_else(|| Err("no true signature".into()))?;
            if keeps_return {
                return Ok(proto);
            }
            i.true_proto_void
                .ok_or_else(|| "no true signature returning void".to_string())
        })
        .collect::<Result<Vec<u32>, String>>()
        .map_err(|why| {
            (
                DropKind::OptimizedParameters,
                format!("clone signature cannot be derived: {why}"),
            )
        })
}

/// Every parameter of every instance is, at the entry address, where the ABI puts it (the
/// walk's [`crate::abi::check`]); the first instance that fails gives the reason, naming its
/// unit when there are several.
fn parameters_where_the_abi_puts_them(list: &[&Inst<'_>], cus: &[CuOut]) -> Result<(), Refusal> {
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
        return Err((*kind, why));
    }
    Ok(())
}

/// Two instance prototypes that differ, if any do: all instances must have the same canonical
/// return and parameter types (parameter names may differ).
fn differing_prototypes(protos_of: &[u32], protos: &Prototypes<'_>) -> Option<(u32, u32)> {
    if protos_of.iter().all(|&p| p == protos_of[0]) {
        return None; // One node (most symbols have one instance).
    }
    let k0 = protos.key(protos_of[0]);
    protos_of
        .iter()
        .find(|&&p| protos.key(p) != k0)
        .map(|&other| (protos_of[0], other))
}

/// A DWARF name whose every symbol is a clone (`foo.isra.0`) has no symbol `foo` to attach to;
/// without `clone_true_signature` its clones get no FUNC either, and this says so under the
/// DWARF name.
fn only_clone_symbols(
    name: &str,
    syms: &[&str],
    groups: &Groups<'_, '_, '_>,
    cus: &[CuOut],
    feats: &Features,
) -> Option<Dropped> {
    let plain = |s: &&str| {
        *s == name
            || groups[s]
                .iter()
                .any(|i| i.cand.linkage_name.as_deref() == Some(*s))
    };
    if syms.iter().any(plain) || feats.clone_true_signature {
        return None;
    }
    Some(Dropped {
        name: name.to_string(),
        kind: DropKind::OptimizedParameters,
        reason: format!(
            "only clone symbols ({}); their signatures may differ from the source (see the clone_true_signature feature)",
            syms.join(", ")
        ),
        instances: syms
            .iter()
            .flat_map(|s| groups[s].iter().map(|i| instance(cus, i, Some(s))))
            .collect(),
    })
}

/// Function symbols no DWARF instance with code stands behind: assembly, or a body gcc's
/// identical code folding (-fipa-icf) turned into a thunk or alias, whose subprogram DIE has
/// no code range. Their parameters' locations cannot be checked, so they get no FUNC; they
/// are listed so `--explain` accounts for every function symbol. Symbols with a suffix
/// (`.cold`, `.part.N`, `.isra.N` without DWARF of their own) are pieces of functions above.
/// Each name is reported once, and not when `dropped` has it already.
fn undescribed_symbols<'d>(
    elf: &ElfInfo,
    groups: &Groups<'_, '_, '_>,
    dropped: impl Iterator<Item = &'d Dropped>,
) -> Vec<Dropped> {
    let mut reported: HashSet<&str> = dropped.map(|d| d.name.as_str()).collect();
    let mut undescribed: Vec<Dropped> = Vec::new();
    for s in &elf.funcs {
        let Some((name, reason)) = undescribed_symbol(&s.name, groups) else {
            continue;
        };
        if reported.insert(name) {
            undescribed.push(Dropped {
                name: name.to_string(),
                kind: DropKind::NotDescribed,
                reason,
                instances: Vec::new(),
            });
        }
    }
    undescribed
}

/// The function an ELF symbol no DWARF instance was matched to stands for, and why it gets no
/// FUNC; `None` when the symbol is judged elsewhere or is no function of its own.
fn undescribed_symbol<'s>(sym: &'s str, groups: &Groups<'_, '_, '_>) -> Option<(&'s str, String)> {
    // `__pfx_foo`/`__cfi_foo`: the kernel's call-padding and CFI preamble symbols, one per
    // function, not functions of their own.
    if sym.is_empty()
        || sym.starts_with("__pfx_")
        || sym.starts_with("__cfi_")
        || groups.contains_key(sym)
    {
        return None;
    }
    if let Some((stem, _)) = sym.split_once('.') {
        // A clone or split part (`foo.part.0`) no DWARF instance was matched to: unless its
        // function was judged or reported under its own name, say why `foo` has no FUNC.
        if stem.is_empty() || groups.contains_key(stem) {
            return None;
        }
        return Some((
            stem,
            format!(
                "only clone symbols ({sym}) and no DWARF instance at their address: no FUNC {stem}"
            ),
        ));
    }
    Some((sym, "function symbol without a DWARF description of its code (assembly, or a thunk/alias left by identical code folding): its parameters' locations cannot be checked".into()))
}

/// Prototypes as canonical types: compared by structure, rendered as C for reasons.
struct Prototypes<'g> {
    g: &'g Graph,
    canon: &'g [u32],
    /// The canonical types as one blob, built when a reason first renders a prototype (a few
    /// percent of the graph).
    rendered: Option<(Btf, Vec<u32>)>,
}

impl Prototypes<'_> {
    /// The canonical return and parameter types of a FUNC_PROTO node (parameter names do not
    /// count).
    fn key(&self, n: u32) -> Vec<u32> {
        let mut k = Vec::new();
        if self.g.st.kind(n) == btf::Kind::FUNC_PROTO.0 {
            self.g.st.refs(n, &mut k);
            k.iter_mut().for_each(|r| *r = self.canon[*r as usize]);
        } else {
            k.push(self.canon[n as usize]);
        }
        k
    }

    /// The prototype of node `proto` as C, as a function named `name`.
    fn render(&mut self, proto: u32, name: &str) -> String {
        let (g, canon) = (self.g, self.canon);
        let (r, ids) = self
            .rendered
            .get_or_insert_with(|| g.canonical_btf(canon));
        let id = ids[canon[proto as usize] as usize];
        btf::render::Renderer::new(r).prototype(TypeId(id), name)
    }
}

#[cfg(test)]
mod tests {
    use super::clone_keeps_return;

    #[test]
    fn only_return_keeping_suffixes_keep_the_return() {
        for kept in [".constprop.0", ".constprop.12", ".lto_priv.0", ".localalias", ".llvm.123", ""] {
            assert!(clone_keeps_return(kept), "{kept}");
        }
        for gone in [".isra.0", ".constprop.0.isra.0", ".isra.0.constprop.1", ".part.0", ".cold", ".specialized.1"] {
            assert!(!clone_keeps_return(gone), "{gone}");
        }
    }
}
