//! The phenomena classifier: what the compiler really did to each function, read from the
//! symbols and DWARF of compiled relocatable objects.
//!
//! The sections are loaded by [`facts::dwarf::Sections`], the judge side's loader: relocations
//! are applied (`.rela.debug_*` hold the real values in `ET_REL` files) and a relocatable file's
//! addresses are [`facts::SectionAddress`]es, so functions in `.text`, `.text.unlikely` and
//! `.text.startup` never alias and every DWARF range can be matched to the symbol that starts it
//! (`foo.isra.0`, `foo.cold`). What is read from them here is the classifier's own: it measures
//! how often a phenomenon happens, with coarser rules than the oracles' ([`facts::dwarf`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use facts::abi::{AbiClass, CALLEE_SAVED, INT_REGS, SSE_REGS};
use facts::dwarf::{EntryLocation, Reader, Sections};
use gimli::{AttributeValue, UnitOffset};
use object::{Object, ObjectSymbol};
use serde::{Deserialize, Serialize};

use crate::error::GenError;
use crate::policy::Phenomenon;

/// One observed parameter of an out-of-line instance (in source order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamObs {
    /// Name (from the instance or its abstract origin).
    pub name: String,
    /// Type as short text (`int`, `struct s1 *`).
    pub type_name: String,
    /// Whether the instance describes it with `DW_AT_location`.
    pub has_location: bool,
    /// Whether it has `DW_AT_const_value` instead.
    pub has_const_value: bool,
    /// Location at entry, by the first operation of the expression that covers the entry
    /// ([`EntryLocation::Register`], [`EntryLocation::Stack`], [`EntryLocation::NotPassed`],
    /// [`EntryLocation::Other`]; [`EntryLocation::None`] when nothing covers it).
    pub entry: EntryLocation,
    /// Where the ABI says it arrives ([`EntryLocation::Register`] or [`EntryLocation::Stack`]),
    /// when certain.
    pub expected: Option<EntryLocation>,
    /// The layout behind the type: members of a struct or union reached through pointers and
    /// typedefs (`struct ctx(16){a0:int@0,a1:long@8}`), or a function pointer's prototype
    /// (`fn(int, long)->long`); empty for other types. Tells apart two types of one name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub shape: String,
    /// A struct or union passed by value after at least six integer-class parameters: it
    /// arrives on the stack.
    #[serde(default)]
    pub stack_aggregate: bool,
    /// The location list has the parameter in a callee-saved register (rbx, rbp, r12..r15)
    /// somewhere and a `DW_OP_entry_value` somewhere.
    #[serde(default)]
    pub callee_saved_entry_value: bool,
    /// The location list leaves part of the function's code uncovered.
    #[serde(default)]
    pub partial_location: bool,
}

/// One out-of-line instance of a function (a DWARF subprogram with code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Source name.
    pub name: String,
    /// Compilation unit name (`tu0.c`).
    pub cu: String,
    /// Object file it came from.
    pub object: String,
    /// Symbols starting its address ranges (`foo`, `foo.isra.0`, `foo.cold`).
    pub symbols: Vec<String>,
    /// Clone suffix kinds seen in those symbols (`isra`, `constprop`, `part`, `cold`, ...).
    pub suffixes: Vec<String>,
    /// `DW_AT_external`.
    pub external: bool,
    /// Return type as short text.
    pub ret: String,
    /// Parameters in source order.
    pub params: Vec<ParamObs>,
    /// `DW_TAG_unspecified_parameters` present.
    pub variadic: bool,
    /// `DW_AT_calling_convention` is `DW_CC_nocall`.
    pub nocall: bool,
    /// Some parameter arrives in a register other than the ABI's.
    pub abi_mismatch: bool,
    /// The symbol at the entry is a weak symbol.
    #[serde(default)]
    pub weak: bool,
    /// Described by `DW_AT_ranges` with two or more ranges and no `DW_AT_low_pc`.
    #[serde(default)]
    pub split_ranges: bool,
}

impl Instance {
    /// The symbol at the entry has exactly the source name (no clone suffix).
    pub fn kept_name(&self) -> bool {
        self.symbols.first().is_some_and(|s| *s == self.name)
    }

    /// Parameters without a location, or described only as the caller's value
    /// (`DW_OP_GNU_parameter_ref`): optimized out of this instance.
    pub fn optimized_out(&self) -> impl Iterator<Item = &ParamObs> {
        self.params
            .iter()
            .filter(|p| !p.has_location || p.entry == EntryLocation::NotPassed)
    }

    /// Calling convention changed: `DW_CC_nocall` or a parameter in an unexpected register.
    pub fn convention_changed(&self) -> bool {
        self.nocall || self.abi_mismatch
    }

    /// Prototype text used to compare same-name instances.
    pub fn prototype_key(&self) -> String {
        let ps: Vec<&str> = self.params.iter().map(|p| p.type_name.as_str()).collect();
        format!(
            "{}({}{})",
            self.ret,
            ps.join(", "),
            if self.variadic { ", ..." } else { "" }
        )
    }
}

/// What happened to one name across all objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameSummary {
    /// Out-of-line instances (all units).
    pub instances: usize,
    /// Distinct units with an out-of-line instance.
    pub units: usize,
    /// Whether all instances share one prototype.
    pub consistent: bool,
    /// Inlined call sites seen.
    pub inlined_calls: usize,
    /// Units that mention the function (definition or abstract) but have no out-of-line code.
    pub inlined_away_in: Vec<String>,
}

/// The classifier's answer for a set of objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// Every out-of-line instance.
    pub instances: Vec<Instance>,
    /// Per source name.
    pub names: BTreeMap<String, NameSummary>,
    /// Type phenomena seen anywhere in the DWARF ([`Phenomenon::BitInt`] and the other
    /// `types` targets).
    #[serde(default)]
    pub type_features: BTreeSet<Phenomenon>,
}

impl Classification {
    /// Whether a phenomenon occurred anywhere in these objects (for names in `only`, if given).
    pub fn occurred(&self, p: Phenomenon, only: Option<&BTreeSet<String>>) -> bool {
        let want = |n: &str| only.is_none_or(|s| s.contains(n));
        let inst = || self.instances.iter().filter(|i| want(&i.name));
        match p {
            Phenomenon::Collision => self.names.iter().any(|(n, s)| want(n) && s.units >= 2),
            Phenomenon::Isra => inst().any(|i| i.suffixes.iter().any(|s| s == "isra")),
            Phenomenon::Constprop => inst().any(|i| i.suffixes.iter().any(|s| s == "constprop")),
            Phenomenon::PartOrCold => {
                inst().any(|i| i.suffixes.iter().any(|s| s == "part" || s == "cold"))
            }
            Phenomenon::OptimizedOut => inst().any(|i| i.optimized_out().next().is_some()),
            Phenomenon::SignatureChangeWithoutRename => {
                inst().any(|i| i.kept_name() && i.convention_changed())
            }
            Phenomenon::ManyArgs => inst().any(|i| i.params.len() > 6),
            Phenomenon::StructByValue => inst().any(|i| {
                i.params
                    .iter()
                    .any(|p| p.type_name.starts_with("struct ") && !p.type_name.ends_with('*'))
            }),
            Phenomenon::FloatArgs => inst().any(|i| {
                i.params
                    .iter()
                    .any(|p| p.type_name == "float" || p.type_name == "double")
            }),
            Phenomenon::Varargs | Phenomenon::VarargsMixed => inst().any(|i| i.variadic),
            Phenomenon::OutOfLine => inst().next().is_some(),
            Phenomenon::StackAggregate => {
                inst().any(|i| i.params.iter().any(|p| p.stack_aggregate))
            }
            Phenomenon::UnionByValue => inst().any(|i| {
                i.params
                    .iter()
                    .any(|p| p.type_name.starts_with("union ") && !p.type_name.ends_with('*'))
            }),
            Phenomenon::Int128Args => inst().any(|i| {
                i.params
                    .iter()
                    .any(|p| p.type_name.contains("__int128") && !p.type_name.ends_with('*'))
            }),
            Phenomenon::LongDoubleArgs => inst().any(|i| {
                i.params
                    .iter()
                    .any(|p| p.type_name.ends_with("long double"))
            }),
            Phenomenon::TooManyArgs => inst().any(|i| i.params.len() > 12),
            Phenomenon::WeakOverride => inst().any(|w| {
                w.weak
                    && self
                        .instances
                        .iter()
                        .any(|s| s.name == w.name && s.cu != w.cu && s.external && !s.weak)
            }),
            Phenomenon::CollisionMany => self.names.iter().any(|(n, s)| {
                // One prototype, and one layout behind every parameter type too.
                let shapes: BTreeSet<Vec<&str>> = self
                    .instances
                    .iter()
                    .filter(|i| i.name == *n)
                    .map(|i| i.params.iter().map(|p| p.shape.as_str()).collect())
                    .collect();
                want(n) && s.units >= 3 && s.consistent && shapes.len() <= 1
            }),
            Phenomenon::SameTagDifferentLayout => self.same_name_shapes_differ(&want, false),
            Phenomenon::SameNameDifferentFnPtr => self.same_name_shapes_differ(&want, true),
            Phenomenon::InlineOnlyBesideOutOfLine => self
                .names
                .iter()
                .any(|(n, s)| want(n) && s.units >= 1 && !s.inlined_away_in.is_empty()),
            Phenomenon::CalleeSavedEntryValue => {
                inst().any(|i| i.params.iter().any(|p| p.callee_saved_entry_value))
            }
            Phenomenon::PartialLocation => {
                inst().any(|i| i.params.iter().any(|p| p.partial_location))
            }
            Phenomenon::ColdClone => inst().any(|i| {
                i.split_ranges
                    && i.suffixes.iter().any(|s| s == "constprop" || s == "isra")
                    && i.suffixes.iter().any(|s| s == "cold" || s == "part")
            }),
            Phenomenon::BitfieldStraddling
            | Phenomenon::BitInt
            | Phenomenon::Atomic
            | Phenomenon::Vector
            | Phenomenon::EnumUnusualSize
            | Phenomenon::FlexibleArray
            | Phenomenon::MultiDimArray
            | Phenomenon::AnonMember
            | Phenomenon::BtfTag
            | Phenomenon::TypedefChain => self.type_features.contains(&p),
        }
    }

    /// Two out-of-line definitions of one name in different units with a parameter whose type
    /// name agrees but whose shape differs: a function-pointer prototype (`fnptr`) or a struct
    /// or union layout.
    fn same_name_shapes_differ(&self, want: &dyn Fn(&str) -> bool, fnptr: bool) -> bool {
        let inst: Vec<&Instance> = self.instances.iter().filter(|i| want(&i.name)).collect();
        inst.iter().any(|a| {
            inst.iter().any(|b| {
                a.name == b.name
                    && a.cu < b.cu
                    && a.params.iter().zip(&b.params).any(|(x, y)| {
                        x.type_name == y.type_name
                            && x.shape != y.shape
                            && x.shape.starts_with("fn(") == fnptr
                            && y.shape.starts_with("fn(") == fnptr
                            && !x.shape.is_empty()
                            && !y.shape.is_empty()
                    })
            })
        })
    }
}

/// Classifies every function instance in the given relocatable objects (or executables).
pub fn classify_objects(paths: &[PathBuf]) -> Result<Classification, GenError> {
    let mut out = Classification::default();
    let mut mentioned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut inlined: BTreeMap<String, usize> = BTreeMap::new();
    for path in paths {
        classify_one(
            path,
            &mut out.instances,
            &mut mentioned,
            &mut inlined,
            &mut out.type_features,
        )?;
    }
    let mut by_name: BTreeMap<String, Vec<&Instance>> = BTreeMap::new();
    for i in &out.instances {
        by_name.entry(i.name.clone()).or_default().push(i);
    }
    for (name, cus) in &mentioned {
        let insts = by_name.get(name).cloned().unwrap_or_default();
        let units: BTreeSet<&str> = insts.iter().map(|i| i.cu.as_str()).collect();
        let protos: BTreeSet<String> = insts.iter().map(|i| i.prototype_key()).collect();
        out.names.insert(
            name.clone(),
            NameSummary {
                instances: insts.len(),
                units: units.len(),
                consistent: protos.len() <= 1,
                inlined_calls: inlined.get(name).copied().unwrap_or(0),
                inlined_away_in: cus
                    .iter()
                    .filter(|c| !units.contains(c.as_str()))
                    .cloned()
                    .collect(),
            },
        );
    }
    Ok(out)
}

fn classify_one(
    path: &Path,
    instances: &mut Vec<Instance>,
    mentioned: &mut BTreeMap<String, BTreeSet<String>>,
    inlined: &mut BTreeMap<String, usize>,
    type_features: &mut BTreeSet<Phenomenon>,
) -> Result<(), GenError> {
    let data = std::fs::read(path).map_err(|source| GenError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let obj_err = |source| GenError::Object {
        path: path.to_path_buf(),
        source,
    };
    let file = object::File::parse(&*data).map_err(obj_err)?;
    let dwarf_err = |source| GenError::Dwarf {
        path: path.to_path_buf(),
        source,
    };

    let relocatable = file.kind() == object::ObjectKind::Relocatable;

    // Symbols by address (section-relative in a relocatable file, as the DWARF's are).
    let mut syms: HashMap<u64, Vec<String>> = HashMap::new();
    let mut weak_addrs: BTreeSet<u64> = BTreeSet::new();
    for s in file.symbols() {
        if s.kind() != object::SymbolKind::Text {
            continue;
        }
        let (Some(idx), Ok(name)) = (s.section_index(), s.name()) else {
            continue;
        };
        let address = facts::dwarf::address(relocatable, Some(idx), s.address());
        if s.is_weak() {
            weak_addrs.insert(address);
        }
        syms.entry(address).or_default().push(name.to_string());
    }

    let sections = match Sections::load(&file) {
        Ok(sections) => sections,
        // Nothing to classify in an object without debug info.
        Err(facts::Error::NoDebugInfo) => return Ok(()),
        Err(source) => {
            return Err(GenError::Facts {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let dwarf = sections.dwarf().map_err(|source| GenError::Facts {
        path: path.to_path_buf(),
        source,
    })?;
    let object_name = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());

    let mut headers = dwarf.units();
    while let Some(header) = headers.next().map_err(dwarf_err)? {
        let unit = dwarf.unit(header).map_err(dwarf_err)?;
        let cu_name = unit
            .name
            .as_ref()
            .and_then(|n| {
                gimli::Reader::to_slice(n)
                    .ok()
                    .map(|s| String::from_utf8_lossy(&s).into_owned())
            })
            .map(|n| n.rsplit('/').next().unwrap_or(&n).to_string())
            .unwrap_or_default();
        let mut cursor = unit.entries();
        while let Some((_, entry)) = cursor.next_dfs().map_err(dwarf_err)? {
            if let Some(p) = type_feature(&dwarf, &unit, entry) {
                type_features.insert(p);
            }
            match entry.tag() {
                gimli::DW_TAG_inlined_subroutine => {
                    if let Some(name) = die_name(&dwarf, &unit, entry.offset(), 0) {
                        *inlined.entry(name).or_default() += 1;
                    }
                }
                gimli::DW_TAG_subprogram => {
                    let offset = entry.offset();
                    let Some(name) = die_name(&dwarf, &unit, offset, 0) else {
                        continue;
                    };
                    let is_decl = matches!(entry.attr_value(gimli::DW_AT_declaration), Ok(Some(_)));
                    if !is_decl {
                        mentioned
                            .entry(name.clone())
                            .or_default()
                            .insert(cu_name.clone());
                    }
                    let mut starts = Vec::new();
                    let mut spans = Vec::new();
                    if let Ok(mut ranges) = dwarf.die_ranges(&unit, entry) {
                        while let Ok(Some(r)) = ranges.next() {
                            if r.begin < r.end {
                                starts.push(r.begin);
                                spans.push((r.begin, r.end));
                            }
                        }
                    }
                    if starts.is_empty() {
                        continue;
                    }
                    let low_pc = entry
                        .attr_value(gimli::DW_AT_low_pc)
                        .ok()
                        .flatten()
                        .and_then(|v| dwarf.attr_address(&unit, v).ok().flatten());
                    if let Some(lp) = low_pc {
                        // The entry point first.
                        starts.sort_by_key(|a| u64::from(*a != lp));
                    }
                    let mut inst = instance(
                        &dwarf,
                        &unit,
                        offset,
                        &name,
                        &cu_name,
                        &object_name,
                        &starts,
                        &syms,
                        low_pc,
                        &spans,
                    )
                    .map_err(dwarf_err)?;
                    inst.weak = weak_addrs.contains(&starts[0]);
                    inst.split_ranges = low_pc.is_none() && spans.len() >= 2;
                    instances.push(inst);
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn attr_str(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    v: AttributeValue<Reader<'_>>,
) -> Option<String> {
    let r = dwarf.attr_string(unit, v).ok()?;
    let s = gimli::Reader::to_slice(&r).ok()?;
    Some(String::from_utf8_lossy(&s).into_owned())
}

/// The DIE an `abstract_origin` or `specification` points to, in the same unit.
fn origin(entry: &gimli::DebuggingInformationEntry<'_, '_, Reader<'_>>) -> Option<UnitOffset> {
    for at in [gimli::DW_AT_abstract_origin, gimli::DW_AT_specification] {
        if let Ok(Some(AttributeValue::UnitRef(o))) = entry.attr_value(at) {
            return Some(o);
        }
    }
    None
}

fn die_name(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    off: UnitOffset,
    depth: usize,
) -> Option<String> {
    if depth > 4 {
        return None;
    }
    let e = unit.entry(off).ok()?;
    if let Ok(Some(v)) = e.attr_value(gimli::DW_AT_name) {
        return attr_str(dwarf, unit, v);
    }
    die_name(dwarf, unit, origin(&e)?, depth + 1)
}

/// An attribute of the DIE or, failing that, of its origin chain.
fn attr_follow<'a>(
    unit: &gimli::Unit<Reader<'a>>,
    off: UnitOffset,
    at: gimli::DwAt,
    depth: usize,
) -> Option<AttributeValue<Reader<'a>>> {
    if depth > 4 {
        return None;
    }
    let e = unit.entry(off).ok()?;
    if let Ok(Some(v)) = e.attr_value(at) {
        return Some(v);
    }
    attr_follow(unit, origin(&e)?, at, depth + 1)
}

/// Short type text and ABI class of the type at `off`.
fn type_info(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    off: Option<UnitOffset>,
    depth: usize,
) -> (String, AbiClass) {
    let Some(off) = off else {
        return ("void".into(), AbiClass::Other);
    };
    if depth > 8 {
        return ("?".into(), AbiClass::Other);
    }
    let Ok(e) = unit.entry(off) else {
        return ("?".into(), AbiClass::Other);
    };
    let name = e
        .attr_value(gimli::DW_AT_name)
        .ok()
        .flatten()
        .and_then(|v| attr_str(dwarf, unit, v));
    let inner = match e.attr_value(gimli::DW_AT_type) {
        Ok(Some(AttributeValue::UnitRef(o))) => Some(o),
        _ => None,
    };
    let size = match e.attr_value(gimli::DW_AT_byte_size) {
        Ok(Some(v)) => v.udata_value().unwrap_or(0),
        _ => 0,
    };
    match e.tag() {
        gimli::DW_TAG_base_type => {
            let float = matches!(
                e.attr_value(gimli::DW_AT_encoding),
                Ok(Some(AttributeValue::Encoding(gimli::DW_ATE_float)))
            );
            (
                name.unwrap_or_default(),
                if float { AbiClass::Sse } else { AbiClass::Integer },
            )
        }
        gimli::DW_TAG_pointer_type => {
            let (t, _) = type_info(dwarf, unit, inner, depth + 1);
            (format!("{t} *"), AbiClass::Integer)
        }
        gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type | gimli::DW_TAG_atomic_type => {
            let (t, c) = type_info(dwarf, unit, inner, depth + 1);
            let q = match e.tag() {
                gimli::DW_TAG_const_type => "const",
                gimli::DW_TAG_volatile_type => "volatile",
                _ => "_Atomic",
            };
            (format!("{q} {t}"), c)
        }
        gimli::DW_TAG_typedef => {
            let (_, c) = type_info(dwarf, unit, inner, depth + 1);
            (name.unwrap_or_default(), c)
        }
        gimli::DW_TAG_enumeration_type => {
            (format!("enum {}", name.unwrap_or_default()), AbiClass::Integer)
        }
        gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type => {
            let kw = if e.tag() == gimli::DW_TAG_structure_type {
                "struct"
            } else {
                "union"
            };
            (
                format!("{kw} {}", name.unwrap_or_default()),
                if size > 16 {
                    AbiClass::Memory
                } else {
                    AbiClass::Other
                },
            )
        }
        gimli::DW_TAG_subroutine_type => ("fn".into(), AbiClass::Integer),
        _ => (name.unwrap_or_else(|| "?".into()), AbiClass::Other),
    }
}

fn first_op(bytes: &[u8]) -> EntryLocation {
    match bytes.first() {
        Some(op @ 0x50..=0x6f) => EntryLocation::Register(u16::from(op - 0x50)),
        Some(0x90) => {
            // DW_OP_regx ULEB128.
            let mut v: u64 = 0;
            for (i, b) in bytes[1..].iter().enumerate().take(3) {
                v |= u64::from(b & 0x7f) << (7 * i);
                if b & 0x80 == 0 {
                    break;
                }
            }
            EntryLocation::Register(v as u16)
        }
        Some(0x91) | Some(0x70..=0x8f) => EntryLocation::Stack,
        Some(0xfa) => EntryLocation::NotPassed,
        Some(_) => EntryLocation::Other,
        None => EntryLocation::None,
    }
}

fn entry_loc(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    v: AttributeValue<Reader<'_>>,
    low_pc: Option<u64>,
) -> EntryLocation {
    if let AttributeValue::Exprloc(e) = &v {
        return match gimli::Reader::to_slice(&e.0) {
            Ok(b) => first_op(&b),
            Err(_) => EntryLocation::None,
        };
    }
    let (Ok(Some(mut iter)), Some(lp)) = (dwarf.attr_locations(unit, v), low_pc) else {
        return EntryLocation::None;
    };
    while let Ok(Some(entry)) = iter.next() {
        if entry.range.begin <= lp && lp < entry.range.end {
            return match gimli::Reader::to_slice(&entry.data.0) {
                Ok(b) => first_op(&b),
                Err(_) => EntryLocation::None,
            };
        }
    }
    EntryLocation::None
}

/// For a location list: (some entry is a callee-saved register and some entry uses
/// `DW_OP_entry_value`, the entries leave part of `spans` uncovered). A single expression
/// covers everything.
fn loclist_shape(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    v: AttributeValue<Reader<'_>>,
    spans: &[(u64, u64)],
) -> (bool, bool) {
    if matches!(v, AttributeValue::Exprloc(_)) {
        return (false, false);
    }
    let Ok(Some(mut iter)) = dwarf.attr_locations(unit, v) else {
        return (false, false);
    };
    let (mut callee_saved, mut entry_value) = (false, false);
    let mut covered: Vec<(u64, u64)> = Vec::new();
    while let Ok(Some(e)) = iter.next() {
        if e.range.begin >= e.range.end {
            continue;
        }
        if let Ok(b) = gimli::Reader::to_slice(&e.data.0) {
            if matches!(first_op(&b), EntryLocation::Register(r) if CALLEE_SAVED.contains(&r)) {
                callee_saved = true;
            }
        }
        let mut ops = e.data.operations(unit.encoding());
        while let Ok(Some(op)) = ops.next() {
            if matches!(op, gimli::Operation::EntryValue { .. }) {
                entry_value = true;
            }
        }
        covered.push((e.range.begin, e.range.end));
    }
    covered.sort_unstable();
    // Bytes of the function's ranges that some entry covers.
    let mut uncovered = false;
    for &(b, e) in spans {
        let mut at = b;
        for &(cb, ce) in &covered {
            if ce <= at || cb >= e {
                continue;
            }
            if cb > at {
                break;
            }
            at = ce;
            if at >= e {
                break;
            }
        }
        if at < e {
            uncovered = true;
        }
    }
    (callee_saved && entry_value, uncovered && !covered.is_empty())
}

/// The `types` phenomenon a DIE shows, if any (see [`Phenomenon::BitInt`] and the rest).
fn type_feature(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    e: &gimli::DebuggingInformationEntry<'_, '_, Reader<'_>>,
) -> Option<Phenomenon> {
    let udata = |e: &gimli::DebuggingInformationEntry<'_, '_, Reader<'_>>, at| {
        e.attr_value(at).ok().flatten().and_then(|v| v.udata_value())
    };
    let type_ref = |e: &gimli::DebuggingInformationEntry<'_, '_, Reader<'_>>| match e
        .attr_value(gimli::DW_AT_type)
    {
        Ok(Some(AttributeValue::UnitRef(o))) => Some(o),
        _ => None,
    };
    let children = |off: UnitOffset| -> Vec<UnitOffset> {
        let mut out = Vec::new();
        if let Ok(mut tree) = unit.entries_tree(Some(off)) {
            if let Ok(root) = tree.root() {
                let mut ch = root.children();
                while let Ok(Some(c)) = ch.next() {
                    out.push(c.entry().offset());
                }
            }
        }
        out
    };
    match e.tag() {
        gimli::DW_TAG_atomic_type => Some(Phenomenon::Atomic),
        gimli::DwTag(0x6000) => Some(Phenomenon::BtfTag),
        gimli::DW_TAG_base_type => {
            let name = e
                .attr_value(gimli::DW_AT_name)
                .ok()
                .flatten()
                .and_then(|v| attr_str(dwarf, unit, v))?;
            name.contains("_BitInt").then_some(Phenomenon::BitInt)
        }
        gimli::DW_TAG_array_type => {
            if matches!(
                e.attr_value(gimli::DW_AT_GNU_vector),
                Ok(Some(AttributeValue::Flag(true)))
            ) {
                return Some(Phenomenon::Vector);
            }
            let subs: Vec<UnitOffset> = children(e.offset())
                .into_iter()
                .filter(|c| unit.entry(*c).is_ok_and(|d| d.tag() == gimli::DW_TAG_subrange_type))
                .collect();
            if subs.len() >= 2 {
                return Some(Phenomenon::MultiDimArray);
            }
            let sub = unit.entry(*subs.first()?).ok()?;
            let count = udata(&sub, gimli::DW_AT_count);
            let upper = sub.attr_value(gimli::DW_AT_upper_bound).ok().flatten();
            let no_upper = match &upper {
                None => true,
                Some(AttributeValue::Sdata(-1)) => true,
                Some(v) => v.udata_value() == Some(u64::MAX) || v.udata_value() == Some(u32::MAX.into()),
            };
            (count == Some(0) || count.is_none() && no_upper).then_some(Phenomenon::FlexibleArray)
        }
        gimli::DW_TAG_enumeration_type => {
            let size = udata(e, gimli::DW_AT_byte_size)?;
            for c in children(e.offset()) {
                let Ok(d) = unit.entry(c) else { continue };
                // A fixed-size form holds the value's low bits: sign-extend at the enum's size,
                // not the form's (gcc writes 200 of a 2-byte signed enum as data1 0xc8).
                let raw = match d.attr_value(gimli::DW_AT_const_value).ok().flatten() {
                    Some(AttributeValue::Sdata(x)) => {
                        if x < 0 && size < 4 {
                            return Some(Phenomenon::EnumUnusualSize);
                        }
                        x as u64
                    }
                    Some(AttributeValue::Data1(x)) => u64::from(x),
                    Some(AttributeValue::Data2(x)) => u64::from(x),
                    Some(AttributeValue::Data4(x)) => u64::from(x),
                    Some(AttributeValue::Data8(x)) | Some(AttributeValue::Udata(x)) => x,
                    _ => continue,
                };
                let shift = 64 - 8 * size.clamp(1, 8) as u32;
                let v = ((raw << shift) as i64) >> shift;
                let wide = v < i64::from(i32::MIN) || v > i64::from(u32::MAX);
                if size == 8 && wide || size < 4 && v < 0 {
                    return Some(Phenomenon::EnumUnusualSize);
                }
            }
            None
        }
        gimli::DW_TAG_member => {
            if let Some(width) = udata(e, gimli::DW_AT_bit_size) {
                let t = unit.entry(type_ref(e)?).ok()?;
                let unit_bits = udata(&t, gimli::DW_AT_byte_size)? * 8;
                let bit = match udata(e, gimli::DW_AT_data_bit_offset) {
                    Some(b) => b,
                    None => {
                        // DWARF 2 style (clang 14): `DW_AT_bit_offset` counts from the most
                        // significant bit of a `DW_AT_byte_size` storage unit and is negative
                        // for a field that spills past it.
                        let base = udata(e, gimli::DW_AT_data_member_location).unwrap_or(0) * 8;
                        let storage = udata(e, gimli::DW_AT_byte_size).unwrap_or(unit_bits / 8) * 8;
                        let msb = match e.attr_value(gimli::DW_AT_bit_offset).ok().flatten()? {
                            AttributeValue::Sdata(x) => x,
                            v => v.udata_value()? as i64,
                        };
                        let lsb = storage as i64 - msb - width as i64;
                        u64::try_from(base as i64 + lsb).ok()?
                    }
                };
                return (unit_bits > 0 && bit % unit_bits + width > unit_bits)
                    .then_some(Phenomenon::BitfieldStraddling);
            }
            let named = matches!(e.attr_value(gimli::DW_AT_name), Ok(Some(_)));
            let t = unit.entry(type_ref(e)?).ok()?;
            (!named
                && matches!(t.tag(), gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type))
            .then_some(Phenomenon::AnonMember)
        }
        gimli::DW_TAG_typedef => {
            // Typedefs reached through typedefs and qualifiers.
            let mut n = 1;
            let mut cur = type_ref(e);
            for _ in 0..16 {
                let Some(o) = cur else { break };
                let Ok(d) = unit.entry(o) else { break };
                match d.tag() {
                    gimli::DW_TAG_typedef => n += 1,
                    gimli::DW_TAG_const_type
                    | gimli::DW_TAG_volatile_type
                    | gimli::DW_TAG_atomic_type => {}
                    _ => break,
                }
                cur = type_ref(&d);
            }
            (n >= 3).then_some(Phenomenon::TypedefChain)
        }
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn instance(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    offset: UnitOffset,
    name: &str,
    cu: &str,
    object: &str,
    starts: &[u64],
    syms: &HashMap<u64, Vec<String>>,
    low_pc: Option<u64>,
    spans: &[(u64, u64)],
) -> gimli::Result<Instance> {
    let mut symbols = Vec::new();
    for s in starts {
        if let Some(names) = syms.get(s) {
            // Prefer the symbol that carries the source name.
            let mut names = names.clone();
            names.sort_by_key(|n| (!n.starts_with(name), n.len()));
            symbols.push(names[0].clone());
        }
    }
    let mut suffixes = BTreeSet::new();
    for s in &symbols {
        if let Some(rest) = s.strip_prefix(name) {
            for part in rest.split('.') {
                if !part.is_empty() && !part.chars().all(|c| c.is_ascii_digit()) {
                    suffixes.insert(part.to_string());
                }
            }
        }
    }
    let external = matches!(
        attr_follow(unit, offset, gimli::DW_AT_external, 0),
        Some(AttributeValue::Flag(true))
    );
    let nocall = matches!(
        attr_follow(unit, offset, gimli::DW_AT_calling_convention, 0),
        Some(AttributeValue::CallingConvention(gimli::DW_CC_nocall))
    );
    let ret_off = match attr_follow(unit, offset, gimli::DW_AT_type, 0) {
        Some(AttributeValue::UnitRef(o)) => Some(o),
        _ => None,
    };
    let (ret, ret_class) = type_info(dwarf, unit, ret_off, 0);

    // Concrete parameters (children), keyed by their abstract origin when they have one.
    let mut concrete: Vec<(Option<UnitOffset>, UnitOffset)> = Vec::new();
    let mut variadic = false;
    let mut tree = unit.entries_tree(Some(offset))?;
    let root = tree.root()?;
    let mut children = root.children();
    while let Some(child) = children.next()? {
        let e = child.entry();
        match e.tag() {
            gimli::DW_TAG_formal_parameter => concrete.push((origin(e), e.offset())),
            gimli::DW_TAG_unspecified_parameters => variadic = true,
            _ => {}
        }
    }
    // Source order: the abstract origin's parameter list when there is one.
    let abstract_params: Vec<UnitOffset> = match unit.entry(offset).ok().as_ref().and_then(origin) {
        Some(o) => {
            let mut v = Vec::new();
            let mut t = unit.entries_tree(Some(o))?;
            let r = t.root()?;
            let mut ch = r.children();
            while let Some(c) = ch.next()? {
                match c.entry().tag() {
                    gimli::DW_TAG_formal_parameter => v.push(c.entry().offset()),
                    gimli::DW_TAG_unspecified_parameters => variadic = true,
                    _ => {}
                }
            }
            v
        }
        None => Vec::new(),
    };
    let order: Vec<(UnitOffset, Option<UnitOffset>)> = if abstract_params.is_empty() {
        concrete.iter().map(|(_, c)| (*c, Some(*c))).collect()
    } else {
        abstract_params
            .iter()
            .map(|a| {
                (
                    *a,
                    concrete
                        .iter()
                        .find(|(o, _)| *o == Some(*a))
                        .map(|(_, c)| *c),
                )
            })
            .collect()
    };

    let mut params = Vec::new();
    // A struct or union returned in memory takes a hidden pointer in the first register.
    let hidden_return = usize::from(ret_class == AbiClass::Memory);
    let (mut ni, mut ns, mut certain) = (hidden_return, 0usize, true);
    let mut int_before = 0usize;
    for (source_die, concrete_die) in order {
        let name = die_name(dwarf, unit, source_die, 0).unwrap_or_default();
        let ty = match attr_follow(unit, source_die, gimli::DW_AT_type, 0) {
            Some(AttributeValue::UnitRef(o)) => Some(o),
            _ => None,
        };
        let (type_name, class) = type_info(dwarf, unit, ty, 0);
        let shape = type_shape(dwarf, unit, ty, 0);
        let by_value_aggregate = (type_name.starts_with("struct ")
            || type_name.starts_with("union "))
            && !type_name.ends_with('*');
        let stack_aggregate = by_value_aggregate && int_before >= 6;
        if class == AbiClass::Integer {
            int_before += 1;
        }
        let expected = if !certain {
            None
        } else {
            match class {
                AbiClass::Integer => {
                    ni += 1;
                    Some(INT_REGS.get(ni - 1).map_or(EntryLocation::Stack, |r| EntryLocation::Register(*r)))
                }
                AbiClass::Sse => {
                    ns += 1;
                    Some(SSE_REGS.get(ns - 1).map_or(EntryLocation::Stack, |r| EntryLocation::Register(*r)))
                }
                AbiClass::Memory => Some(EntryLocation::Stack),
                AbiClass::Other => {
                    certain = false;
                    None
                }
            }
        };
        let (has_location, has_const_value, entry, shape_of_list) =
            match concrete_die.and_then(|c| unit.entry(c).ok()) {
                Some(e) => {
                    let loc = e.attr_value(gimli::DW_AT_location).ok().flatten();
                    let cv = matches!(e.attr_value(gimli::DW_AT_const_value), Ok(Some(_)));
                    match loc {
                        Some(v) => (
                            true,
                            cv,
                            entry_loc(dwarf, unit, v.clone(), low_pc),
                            loclist_shape(dwarf, unit, v, spans),
                        ),
                        None => (false, cv, EntryLocation::None, (false, false)),
                    }
                }
                None => (false, false, EntryLocation::None, (false, false)),
            };
        params.push(ParamObs {
            name,
            type_name,
            has_location,
            has_const_value,
            entry,
            expected,
            shape,
            stack_aggregate,
            callee_saved_entry_value: shape_of_list.0,
            partial_location: shape_of_list.1,
        });
    }
    let abi_mismatch = params
        .iter()
        .any(|p| matches!((p.entry, p.expected), (EntryLocation::Register(a), Some(EntryLocation::Register(b))) if a != b));
    Ok(Instance {
        name: name.to_string(),
        cu: cu.to_string(),
        object: object.to_string(),
        symbols,
        suffixes: suffixes.into_iter().collect(),
        external,
        ret,
        params,
        variadic,
        nocall,
        abi_mismatch,
        weak: false,
        split_ranges: false,
    })
}

/// The layout text of the struct, union or function prototype behind a type (see
/// [`ParamObs::shape`]); empty for other types.
fn type_shape(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
    off: Option<UnitOffset>,
    depth: usize,
) -> String {
    let Some(off) = off else {
        return String::new();
    };
    let Ok(e) = unit.entry(off) else {
        return String::new();
    };
    if depth > 8 {
        return String::new();
    }
    let inner = match e.attr_value(gimli::DW_AT_type) {
        Ok(Some(AttributeValue::UnitRef(o))) => Some(o),
        _ => None,
    };
    let children = |want: gimli::DwTag| -> Vec<(String, String, u64)> {
        let mut out = Vec::new();
        let Ok(mut tree) = unit.entries_tree(Some(off)) else {
            return out;
        };
        let Ok(root) = tree.root() else {
            return out;
        };
        let mut ch = root.children();
        while let Ok(Some(c)) = ch.next() {
            let c = c.entry();
            if c.tag() != want {
                continue;
            }
            let name = c
                .attr_value(gimli::DW_AT_name)
                .ok()
                .flatten()
                .and_then(|v| attr_str(dwarf, unit, v))
                .unwrap_or_default();
            let t = match c.attr_value(gimli::DW_AT_type) {
                Ok(Some(AttributeValue::UnitRef(o))) => Some(o),
                _ => None,
            };
            let at = match c.attr_value(gimli::DW_AT_data_member_location) {
                Ok(Some(v)) => v.udata_value().unwrap_or(0),
                _ => 0,
            };
            out.push((name, type_info(dwarf, unit, t, 0).0, at));
        }
        out
    };
    match e.tag() {
        gimli::DW_TAG_pointer_type
        | gimli::DW_TAG_const_type
        | gimli::DW_TAG_volatile_type
        | gimli::DW_TAG_typedef => type_shape(dwarf, unit, inner, depth + 1),
        gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type => {
            let size = match e.attr_value(gimli::DW_AT_byte_size) {
                Ok(Some(v)) => v.udata_value().unwrap_or(0),
                _ => 0,
            };
            let ms: Vec<String> = children(gimli::DW_TAG_member)
                .into_iter()
                .map(|(n, t, at)| format!("{n}:{t}@{at}"))
                .collect();
            format!("{}({size}){{{}}}", type_info(dwarf, unit, Some(off), 0).0, ms.join(","))
        }
        gimli::DW_TAG_subroutine_type => {
            let ps: Vec<String> = children(gimli::DW_TAG_formal_parameter)
                .into_iter()
                .map(|(_, t, _)| t)
                .collect();
            format!("fn({})->{}", ps.join(", "), type_info(dwarf, unit, inner, 0).0)
        }
        _ => String::new(),
    }
}

/// What happened to one function instance of a generated program (ground truth joined with the
/// classification of its objects).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionOutcome {
    /// Instance id in the ground truth.
    pub id: usize,
    /// Source name.
    pub name: String,
    /// Unit file (`tu0.c`).
    pub tu: String,
    /// Out-of-line pieces found in that unit (a `.part` clone counts as one).
    pub out_of_line: usize,
    /// Symbols of those pieces.
    pub symbols: Vec<String>,
    /// Clone suffix kinds (`isra`, `constprop`, `part`, `cold`).
    pub suffixes: Vec<String>,
    /// Parameters optimized out of some piece.
    pub optimized_out: Vec<String>,
    /// Calling convention changed while the name was kept.
    pub changed_without_rename: bool,
    /// Calling convention changed in some (possibly renamed) piece.
    pub convention_changed: bool,
    /// No out-of-line code at all in its unit.
    pub inlined_away: bool,
    /// Out-of-line definitions of the same name in other units.
    pub same_name_elsewhere: usize,
    /// Whether all out-of-line definitions of the name share one prototype.
    pub consistent_prototypes: bool,
}

/// Joins the ground truth of a program with the classification of its compiled units.
pub fn outcomes(truth: &crate::truth::GroundTruth, c: &Classification) -> Vec<FunctionOutcome> {
    truth
        .functions
        .iter()
        .map(|f| {
            let mine: Vec<&Instance> = c
                .instances
                .iter()
                .filter(|i| i.name == f.name && i.cu == f.tu)
                .collect();
            let mut suffixes = BTreeSet::new();
            let mut optimized_out = BTreeSet::new();
            for i in &mine {
                suffixes.extend(i.suffixes.iter().cloned());
                optimized_out.extend(i.optimized_out().map(|p| p.name.clone()));
            }
            let others: BTreeSet<&str> = c
                .instances
                .iter()
                .filter(|i| i.name == f.name && i.cu != f.tu)
                .map(|i| i.cu.as_str())
                .collect();
            FunctionOutcome {
                id: f.id,
                name: f.name.clone(),
                tu: f.tu.clone(),
                out_of_line: mine.len(),
                symbols: mine
                    .iter()
                    .flat_map(|i| i.symbols.iter().cloned())
                    .collect(),
                suffixes: suffixes.into_iter().collect(),
                optimized_out: optimized_out.into_iter().collect(),
                changed_without_rename: mine
                    .iter()
                    .any(|i| i.kept_name() && i.convention_changed()),
                convention_changed: mine.iter().any(|i| i.convention_changed()),
                inlined_away: mine.is_empty(),
                same_name_elsewhere: others.len(),
                consistent_prototypes: c.names.get(&f.name).is_none_or(|s| s.consistent),
            }
        })
        .collect()
}
