//! The phenomena classifier: what the compiler really did to each function, read from the
//! symbols and DWARF of compiled relocatable objects.
//!
//! The sections are loaded by [`facts::dwarf::Sections`], the judge side's loader: relocations
//! are applied (`.rela.debug_*` hold the real values in `ET_REL` files) and a relocatable file's
//! addresses are [`facts::SectionAddress`]es, so functions in `.text`, `.text.unlikely` and
//! `.text.startup` never alias and every DWARF range can be matched to the symbol that starts it
//! (`foo.isra.0`, `foo.cold`). Each instance's prototype and parameters are the judge side's
//! facts ([`facts::dwarf::read_detailed`], [`ParamFact`]: one reader, one parameter type for the
//! oracles and these statistics). What is decided here is the classifier's own: whether a
//! phenomenon happened, with coarser rules than the oracles'; its own walk of the DIEs only adds
//! what the function facts do not hold (the symbols at every address range, inlined call
//! sites, the names a unit mentions, the types' features).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use facts::abi::{AbiClass, Placement};
use facts::dwarf::{EntryLocation, FunctionInstance, ParamFact, Reader, Sections};
use gimli::{AttributeValue, UnitOffset};
use serde::{Deserialize, Serialize};

use crate::error::GenError;
use crate::policy::Phenomenon;

/// One out-of-line instance of a function (a DWARF subprogram with code).
#[derive(Debug, Clone, Serialize)]
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
    /// Return type, rendered ([`FunctionInstance::ret`]).
    pub ret: String,
    /// The return type is not a scalar ([`FunctionInstance::returns_aggregate`]).
    pub returns_aggregate: bool,
    /// Parameters in source order, as the judge side reads them ([`FunctionInstance::params`]).
    pub params: Vec<ParamFact>,
    /// `DW_TAG_unspecified_parameters` present.
    pub variadic: bool,
    /// `DW_AT_calling_convention` is `DW_CC_nocall`.
    pub nocall: bool,
    /// The symbol at the entry is a weak symbol.
    pub weak: bool,
    /// Described by `DW_AT_ranges` with two or more ranges and no `DW_AT_low_pc`.
    pub split_ranges: bool,
}

impl Instance {
    /// The symbol at the entry has exactly the source name (no clone suffix).
    pub fn kept_name(&self) -> bool {
        self.symbols.first().is_some_and(|s| *s == self.name)
    }

    /// Parameters without a location, or described only as the caller's value
    /// (`DW_OP_GNU_parameter_ref`): optimized out of this instance.
    pub fn optimized_out(&self) -> impl Iterator<Item = &ParamFact> {
        self.params
            .iter()
            .filter(|p| !p.has_location || p.location == EntryLocation::NotPassed)
    }

    /// The register each parameter arrives in per the x86-64 System V ABI, where the facts say
    /// for certain: the full placement ([`facts::abi::sysv_placement`]: an aggregate's first
    /// register, `__int128` taking two) when every parameter's layout is known and no aggregate
    /// comes back through a hidden pointer, else each parameter's [`ParamFact::abi_register`].
    pub fn expected_registers(&self) -> Vec<Option<u16>> {
        let layouts: Option<Vec<_>> = self.params.iter().map(|p| p.layout.clone()).collect();
        match layouts {
            Some(layouts) if !self.returns_aggregate => facts::abi::sysv_placement(&layouts)
                .into_iter()
                .map(|place| match place {
                    Placement::Registers(regs) => regs.first().copied(),
                    Placement::Stack { .. } => None,
                })
                .collect(),
            _ => self.params.iter().map(|p| p.abi_register).collect(),
        }
    }

    /// Some parameter arrives in another register than the one the ABI gives its position.
    pub fn abi_mismatch(&self) -> bool {
        self.params.iter().zip(self.expected_registers()).any(|(p, abi)| {
            matches!((p.location, abi), (EntryLocation::Register(a), Some(b)) if a != b)
        })
    }

    /// Calling convention changed: `DW_CC_nocall` or a parameter in an unexpected register.
    pub fn convention_changed(&self) -> bool {
        self.nocall || self.abi_mismatch()
    }

    /// Some struct or union is passed by value after at least six integer-class parameters: it
    /// arrives on the stack.
    pub fn stack_aggregate(&self) -> bool {
        let mut int_before = 0;
        self.params.iter().any(|p| {
            let hit = by_value(p, "struct ") || by_value(p, "union ");
            if p.abi_class == AbiClass::Integer {
                int_before += 1;
            }
            hit && int_before >= 6
        })
    }

    /// Prototype text used to compare same-name instances.
    pub fn prototype_key(&self) -> String {
        let ps: Vec<&str> = self.params.iter().map(|p| p.ty.as_str()).collect();
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

/// A parameter whose type, by value, starts with `kind` (`struct `, `union `).
fn by_value(p: &ParamFact, kind: &str) -> bool {
    p.ty.starts_with(kind) && !p.ty.ends_with('*')
}

/// The classifier's answer for a set of objects.
#[derive(Debug, Clone, Default, Serialize)]
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
            Phenomenon::StructByValue => {
                inst().any(|i| i.params.iter().any(|p| by_value(p, "struct ")))
            }
            Phenomenon::FloatArgs => {
                inst().any(|i| i.params.iter().any(|p| p.ty == "float" || p.ty == "double"))
            }
            Phenomenon::Varargs | Phenomenon::VarargsMixed => inst().any(|i| i.variadic),
            Phenomenon::OutOfLine => inst().next().is_some(),
            Phenomenon::StackAggregate => inst().any(|i| i.stack_aggregate()),
            Phenomenon::UnionByValue => {
                inst().any(|i| i.params.iter().any(|p| by_value(p, "union ")))
            }
            Phenomenon::Int128Args => inst().any(|i| {
                i.params
                    .iter()
                    .any(|p| p.ty.contains("__int128") && !p.ty.ends_with('*'))
            }),
            Phenomenon::LongDoubleArgs => {
                inst().any(|i| i.params.iter().any(|p| p.ty.ends_with("long double")))
            }
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
                    .map(|i| i.params.iter().map(|p| p.type_layout.as_str()).collect())
                    .collect();
                want(n) && s.units >= 3 && s.consistent && shapes.len() <= 1
            }),
            Phenomenon::SameTagDifferentLayout => self.same_name_shapes_differ(&want, false),
            Phenomenon::SameNameDifferentFnPtr => self.same_name_shapes_differ(&want, true),
            Phenomenon::InlineOnlyBesideOutOfLine => self
                .names
                .iter()
                .any(|(n, s)| want(n) && s.units >= 1 && !s.inlined_away_in.is_empty()),
            // The location list has the parameter in a callee-saved register somewhere and a
            // `DW_OP_entry_value` somewhere.
            Phenomenon::CalleeSavedEntryValue => inst().any(|i| {
                i.params
                    .iter()
                    .any(|p| p.list.is_some_and(|l| l.callee_saved && l.entry_value))
            }),
            Phenomenon::PartialLocation => {
                inst().any(|i| i.params.iter().any(|p| p.list.is_some_and(|l| l.gaps)))
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
                        let (xs, ys) = (&x.type_layout, &y.type_layout);
                        x.ty == y.ty
                            && xs != ys
                            && xs.starts_with("fn(") == fnptr
                            && ys.starts_with("fn(") == fnptr
                            && !xs.is_empty()
                            && !ys.is_empty()
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
    // The functions as the judge side reads them, by the offset of their DIE.
    let facts = facts::dwarf::read_detailed_loaded(&file, &sections).map_err(|source| {
        GenError::Facts {
            path: path.to_path_buf(),
            source,
        }
    })?;
    // Symbols by address (section-relative in a relocatable file, as the DWARF's are).
    let mut syms: HashMap<u64, Vec<String>> = HashMap::new();
    let mut weak_addrs: BTreeSet<u64> = BTreeSet::new();
    for s in &facts.symbols {
        if s.weak {
            weak_addrs.insert(s.address);
        }
        syms.entry(s.address).or_default().push(s.name.clone());
    }
    let mut functions: HashMap<u64, FunctionInstance> = facts
        .functions
        .into_iter()
        .map(|f| (f.die_offset, f))
        .collect();

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
                    let die = offset
                        .to_debug_info_offset(&unit.header)
                        .map_or(0, |o| o.0 as u64);
                    // The facts reader reads every named subprogram with code.
                    let Some(f) = functions.remove(&die) else {
                        continue;
                    };
                    let mut inst = instance(f, &cu_name, &object_name, &starts, &syms);
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

/// An instance from the judge side's facts of its function and the symbols starting its
/// address ranges (`starts`, the entry first).
fn instance(
    f: FunctionInstance,
    cu: &str,
    object: &str,
    starts: &[u64],
    syms: &HashMap<u64, Vec<String>>,
) -> Instance {
    let mut symbols = Vec::new();
    for s in starts {
        if let Some(names) = syms.get(s) {
            // Prefer the symbol that carries the source name.
            let mut names = names.clone();
            names.sort_by_key(|n| (!n.starts_with(&f.name), n.len()));
            symbols.push(names[0].clone());
        }
    }
    let mut suffixes = BTreeSet::new();
    for s in &symbols {
        if let Some(rest) = s.strip_prefix(&f.name) {
            for part in rest.split('.') {
                if !part.is_empty() && !part.chars().all(|c| c.is_ascii_digit()) {
                    suffixes.insert(part.to_string());
                }
            }
        }
    }
    Instance {
        name: f.name,
        cu: cu.to_string(),
        object: object.to_string(),
        symbols,
        suffixes: suffixes.into_iter().collect(),
        external: f.external,
        ret: f.ret,
        returns_aggregate: f.returns_aggregate,
        params: f.params,
        variadic: f.variadic,
        nocall: f.nocall,
        weak: false,
        split_ranges: false,
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
