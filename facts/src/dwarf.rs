//! DWARF truth: what the compiler really produced, read with the judge side's own code (never the
//! encoder's), so that the judge and the judged share no bugs.
//!
//! For every out-of-line function instance: its source name, CU, linkage, the ELF symbol at its
//! entry (which tells clones like `walk.constprop.0` apart), its source prototype, and where each
//! parameter really is at the entry point. Prototypes are rendered through a scratch
//! [`btf::Btf`] built from the DWARF types, with the same renderer the BTF side uses, so a
//! rendering quirk can never make the two sides disagree.

use crate::error::{Error, Result};
use crate::abi::{abi_registers, AbiClass, CALLEE_SAVED};
use crate::SectionAddress;
use btf::types::*;
use btf::{Btf, TypeData, TypeId};
use gimli::{AttributeValue, Reader as _, RunTimeEndian};
use object::{Object, ObjectSection, ObjectSymbol};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Where a parameter is when the function is entered, as its location description says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EntryLocation {
    /// In DWARF register N (x86-64 numbering: 5 = rdi, 4 = rsi, 1 = rdx, 2 = rcx, 8 = r8,
    /// 9 = r9, 17.. = xmm0..).
    Register(u16),
    /// In memory relative to the frame or stack pointer (stack-passed arguments).
    Stack,
    /// Only a constant (the caller's argument was propagated; nothing is passed).
    Constant,
    /// No location at the entry point: optimized out.
    None,
    /// A composite location (`DW_OP_piece`s) in which some piece has no location at entry: part
    /// of a by-value aggregate does not arrive (clang scalarised it and passes only some fields).
    Partial,
    /// `DW_OP_GNU_parameter_ref`: the value is the caller's argument, which is no longer passed
    /// (gcc's description of a parameter removed from a clone). The oracles treat it like
    /// [`EntryLocation::Other`]; the generators' statistics count it as optimized out.
    NotPassed,
    /// A location expression this reader does not classify.
    Other,
}

/// A function's signature as types: return type, parameter types (rendered by one renderer, so
/// two equal types render equally) and variadic. Parameter names are not part of it: they do not
/// change how arguments travel. Compared as a whole, never as one formatted string (where
/// `char * f(...)` and `char *f(...)` would differ).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Signature {
    /// Return type.
    pub ret: String,
    /// Parameter types in order.
    pub params: Vec<String>,
    /// Ends in `...`.
    pub variadic: bool,
}

impl Signature {
    /// The signature of a BTF FUNC (`None` when `func` is not a FUNC with a prototype).
    pub fn of_btf_func(btf: &btf::Btf, func: TypeId) -> Option<Signature> {
        let TypeData::Func(f) = &btf.type_by_id(func)?.data else {
            return None;
        };
        let TypeData::FuncProto(p) = &btf.type_by_id(f.proto)?.data else {
            return None;
        };
        let variadic = p
            .params
            .last()
            .is_some_and(|q| q.ty == TypeId::VOID && q.name == btf::StrRef::EMPTY);
        let n = p.params.len() - usize::from(variadic);
        Some(Signature {
            ret: btf::render::type_name(btf, p.ret),
            params: p.params[..n]
                .iter()
                .map(|q| btf::render::type_name(btf, q.ty))
                .collect(),
            variadic,
        })
    }

    /// `char *pick(struct node *, int)`.
    pub fn render(&self, name: &str) -> String {
        let mut params = self.params.clone();
        if self.variadic {
            params.push("...".into());
        }
        let params = if params.is_empty() {
            "void".to_string()
        } else {
            params.join(", ")
        };
        let sep = if self.ret.ends_with('*') { "" } else { " " };
        format!("{}{sep}{name}({params})", self.ret)
    }

    /// The first way `self` (what a FUNC claims) differs from `truth`, in words; `None` if equal.
    pub fn difference(&self, truth: &Signature) -> Option<String> {
        if self == truth {
            return None;
        }
        if self.ret != truth.ret {
            return Some(format!(
                "the return type is `{}` in the FUNC, `{}` in the body",
                self.ret, truth.ret
            ));
        }
        for (i, (a, b)) in self.params.iter().zip(&truth.params).enumerate() {
            if a != b {
                return Some(format!(
                    "parameter {i} is `{a}` in the FUNC, `{b}` in the body"
                ));
            }
        }
        if self.params.len() != truth.params.len() {
            return Some(format!(
                "the FUNC has {} parameters, the body {}",
                self.params.len(),
                truth.params.len()
            ));
        }
        Some(format!(
            "variadic in the {}",
            if self.variadic {
                "FUNC only"
            } else {
                "body only"
            }
        ))
    }
}

/// Definite evidence that a tracer reading a function by some prototype would read garbage: the
/// mechanism (a stable, short kind that names how the compiler changed the convention; part of a
/// finding's identity) and the detail that shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// `register:moved`, `clone:param-not-passed`, `nocall:param-dropped`,
    /// `piece:scalarised-struct`.
    pub mechanism: &'static str,
    /// What in the DWARF shows it.
    pub detail: String,
}

/// One parameter of a function instance.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParamFact {
    /// Source name.
    pub name: String,
    /// C type, rendered.
    pub ty: String,
    /// Where it is at entry.
    pub location: EntryLocation,
    /// The location expression at entry as DWARF operations (`DW_OP_piece 8, DW_OP_reg5`), or
    /// why there is none: the evidence a report quotes.
    pub location_expr: String,
    /// The location is one expression for the whole body (`DW_AT_location` as an exprloc, not a
    /// location list): gcc then states where the value lives after the prologue, which may
    /// have copied it out of its argument register (`mov %rdi,%rbx`).
    pub whole_body: bool,
    /// What the callers' `DW_TAG_call_site_parameter`s say: `Some(false)` when a call passes
    /// no value for it (an entry naming the parameter with no location: the clone dropped it),
    /// `Some(true)` when a call passes it in a register, `None` when no call site says.
    pub passed: Option<bool>,
    /// What the x86-64 SysV ABI says for this parameter position, when it names a register.
    pub abi_register: Option<u16>,
    /// Its x86-64 SysV class.
    pub abi_class: AbiClass,
    /// Its type's layout as the ABI classifies it; `None` where [`crate::abi`] does not model it.
    #[serde(skip)]
    pub layout: Option<crate::abi::Layout>,
    /// Where it is at entry as an offset from the canonical frame address, when the DWARF says
    /// so directly (`DW_OP_fbreg N` with `DW_AT_frame_base` = `DW_OP_call_frame_cfa`, as gcc
    /// writes): the CFA is the caller's stack pointer, so N is the offset into the argument area.
    pub cfa_offset: Option<i64>,
    /// The concrete instance gives it a `DW_AT_location` (an expression or a location list);
    /// false when it has only `DW_AT_const_value`, nothing, or no DIE at all.
    pub has_location: bool,
    /// What its whole location list shows; `None` for a single expression, no location, or when
    /// the facts were not read with [`read_detailed`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<LocationListFacts>,
    /// The layout behind its type, to tell apart two types of one name: the members of a struct
    /// or union reached through pointers, qualifiers and typedefs
    /// (`struct ctx(16){a0:int@0,a1:long@8}`), or a function pointer's prototype
    /// (`fn(int, long)->long`); empty for other types, and unless read with [`read_detailed`].
    #[serde(skip_serializing_if = "String::is_empty")]
    pub type_layout: String,
}

/// What the entries of one parameter's location list show, over the whole function (not only
/// at its entry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LocationListFacts {
    /// Some entry starts with a callee-saved register (rbx, rbp, r12..r15).
    pub callee_saved: bool,
    /// Some entry uses `DW_OP_entry_value`.
    pub entry_value: bool,
    /// The non-empty entries leave part of the function's address ranges uncovered.
    pub gaps: bool,
}

/// One out-of-line instance of a function (a concrete body with code).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FunctionInstance {
    /// Source name (`walk`), from the instance or its abstract origin.
    pub name: String,
    /// Name of the compilation unit (its source file).
    pub cu: String,
    /// `DW_AT_external`: a global function.
    pub external: bool,
    /// Entry address (a [`SectionAddress::pack`]ed one in relocatable files, see [`address`]).
    pub entry: u64,
    /// Offset of its concrete `DW_TAG_subprogram` DIE in `.debug_info` (what
    /// `llvm-dwarfdump --debug-info=OFFSET` shows).
    pub die_offset: u64,
    /// ELF function symbols at the entry, e.g. `["walk.constprop.0"]`.
    pub symbols: Vec<String>,
    /// `int walk(struct list *l, int n)`.
    pub prototype: String,
    /// `int walk(struct list *, int)`: the rendered signature, for display and for telling
    /// same-name instances apart.
    pub signature: String,
    /// The signature as types: what a FUNC's prototype is compared with.
    pub sig: Signature,
    /// The parameters' and the return type's structure, typedefs resolved and named aggregates
    /// with their size (`*struct ctx/16`, `*fn(int,long)->long`): two same-name functions whose
    /// prototypes read the same (`struct ctx *`, `cb_t`) but whose types are different types in
    /// their units are told apart by it.
    pub shape: Vec<String>,
    /// Parameters in source order.
    pub params: Vec<ParamFact>,
    /// Return type, rendered.
    pub ret: String,
    /// The return type is not a scalar (a struct may come back through a hidden pointer).
    pub returns_aggregate: bool,
    /// Variadic.
    pub variadic: bool,
    /// `DW_AT_calling_convention` is `DW_CC_nocall`: the compiler changed how it is called.
    pub nocall: bool,
}

impl FunctionInstance {
    /// True when a symbol named exactly like the source function sits at its entry.
    pub fn has_exact_symbol(&self) -> bool {
        self.symbols.contains(&self.name)
    }

    /// Clone suffixes seen on its symbols (`isra`, `constprop`, `part`, `cold`, ...).
    pub fn clone_suffixes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .symbols
            .iter()
            .filter_map(|s| s.strip_prefix(&self.name)?.strip_prefix('.'))
            .flat_map(|rest| rest.split('.'))
            .filter(|p| !p.is_empty() && !p.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// True when the body sits only under a clone's name (`walk.constprop.0`): the compiler was
    /// free to change how it is called, and did so knowingly.
    pub fn is_clone(&self) -> bool {
        !self.symbols.is_empty() && !self.has_exact_symbol()
    }

    /// Why a tracer reading this instance's arguments per its source prototype would read
    /// garbage, or `None` when nothing *proves* its calling convention differs.
    ///
    /// Only definite evidence counts (false positives are the worst bug an oracle can have):
    /// - `register:moved`: a parameter arrives in a register other than the ABI's for its
    ///   position;
    /// - `clone:param-not-passed`: in a clone, a parameter without location whose callers'
    ///   call-site records pass no value for it;
    /// - `nocall:param-dropped`: in a `DW_CC_nocall` function (clang changed its signature), a
    ///   parameter without location or only a constant: clang removed it (dead-argument
    ///   elimination, constant propagation) or passes something else in its place (argument
    ///   promotion), and its callers no longer pass it;
    /// - `piece:scalarised-struct`: in a `DW_CC_nocall` function, a by-value aggregate of which
    ///   only some pieces arrive (clang passes single fields).
    ///
    /// Not evidence: a constant parameter by itself (gcc keeps some constant aggregates in a
    /// clone's signature); a parameter without location in a function that kept its name and
    /// its convention (an unused argument has no location, yet every caller still passes it);
    /// `DW_CC_nocall` alone — clang also sets it when only the return value was dropped, and
    /// then every argument still arrives as the prototype says (see [`Self::return_dropped`]).
    pub fn convention_change(&self) -> Option<Evidence> {
        for (i, p) in self.params.iter().enumerate() {
            match (p.location, p.abi_register) {
                // A whole-body location in a callee-saved register is where the prologue put
                // the argument, not where it arrived: no calling convention passes arguments
                // in rbx, rbp or r12-r15. gcc emits this for kernel functions (dmar_alloc_hwirq:
                // `id` in DW_OP_reg3 for the whole body, `movslq %edi,%rbx` in the prologue).
                (EntryLocation::Register(r), Some(_)) if p.whole_body && CALLEE_SAVED.contains(&r) => {}
                (EntryLocation::Register(r), Some(abi)) if r != abi => {
                    return Some(Evidence {
                        mechanism: "register:moved",
                        detail: format!(
                            "parameter {i} ({}) arrives in DWARF register {r}, the ABI says {abi}",
                            p.name
                        ),
                    });
                }
                (EntryLocation::None | EntryLocation::Constant, _)
                    if self.is_clone() && p.passed == Some(false) =>
                {
                    return Some(Evidence {
                        mechanism: "clone:param-not-passed",
                        detail: format!("parameter {i} ({}) is not passed to the clone {} (its callers' call sites pass no value for it)", p.name, self.symbols.join(",")),
                    });
                }
                _ => {}
            }
        }
        if self.nocall {
            for (i, p) in self.params.iter().enumerate() {
                match p.location {
                    EntryLocation::None | EntryLocation::Constant => {
                        return Some(Evidence {
                            mechanism: "nocall:param-dropped",
                            detail: format!(
                                "DW_CC_nocall and parameter {i} ({}) has {} at entry: clang removed or rewrote it, its callers no longer pass it as the prototype says",
                                p.name,
                                if p.location == EntryLocation::None { "no location" } else { "only a constant" }
                            ),
                        });
                    }
                    EntryLocation::Partial => {
                        return Some(Evidence {
                            mechanism: "piece:scalarised-struct",
                            detail: format!("DW_CC_nocall and only some pieces of parameter {i} ({}: {}) arrive: clang passes single fields of the by-value aggregate, not the aggregate", p.name, p.ty),
                        });
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// True when clang marked the function `DW_CC_nocall`, it returns a value, and nothing shows
    /// its arguments changed: the return value was dropped (its callers ignore it). The arguments
    /// are read right; what an fexit program reads as the return value is not a return value.
    pub fn return_dropped(&self) -> bool {
        self.nocall && self.sig.ret != "void" && self.convention_change().is_none()
    }
}

impl FunctionInstance {
    /// True when the DWARF *proves* the source prototype describes how this body is called: the
    /// name is its own (not a clone), no `DW_CC_nocall`, no struct return (hidden pointer), and
    /// every parameter sits where the x86-64 ABI puts it — in its register, or on the stack past
    /// the registers. Anything this model cannot check (struct or `long double` parameters, a
    /// parameter without location) leaves it unproven. The MISSED rate counts only proven
    /// functions, just as UNSAFE_OPTIMIZED counts only disproven ones.
    pub fn convention_verified(&self) -> bool {
        if self.nocall || self.is_clone() || self.returns_aggregate {
            return false;
        }
        let simple = self
            .params
            .iter()
            .all(|p| match (p.abi_class, p.abi_register, p.location) {
                (AbiClass::Other | AbiClass::Memory, _, _) => false,
                (_, Some(r), EntryLocation::Register(l)) => r == l,
                (_, None, EntryLocation::Stack) => true,
                _ => false,
            });
        simple || self.aggregates_verified()
    }

    /// The same proof for a function with aggregate (or 16-byte) parameters, through the full
    /// System V model of [`crate::abi`]: every parameter type classified, every DWARF location at
    /// entry where the model places it (the first register of a register pair; gcc's CFA offset
    /// for a stack slot), and the kernel's trampoline reading each where it is (no
    /// [`crate::abi::misreads`]): an SSE-class or packed struct is never safely describable.
    fn aggregates_verified(&self) -> bool {
        let Some(layouts) = self.params.iter().map(|p| p.layout.clone()).collect::<Option<Vec<_>>>() else {
            return false;
        };
        let placed = crate::abi::sysv_placement(&layouts);
        let located = self.params.iter().zip(&placed).all(|(p, place)| match (p.location, place) {
            (EntryLocation::Register(r), crate::abi::Placement::Registers(rs)) => rs.first() == Some(&r),
            (EntryLocation::Stack, crate::abi::Placement::Stack { offset, .. }) => p.cfa_offset.is_none_or(|c| c == *offset as i64),
            _ => false,
        });
        let sizes: Vec<u64> = layouts.iter().map(|l| l.size).collect();
        located && crate::abi::misreads(&layouts, &sizes).is_empty()
    }
}

/// True when two [`FunctionInstance::shape`]s can be the same types: equal, where a declared
/// aggregate (`/?`) matches the same name with any size.
pub fn shapes_agree(a: &[String], b: &[String]) -> bool {
    fn one(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            if a[i] == b'/' && b[j] == b'/' {
                let wild = |s: &[u8], k: usize| s.get(k + 1) == Some(&b'?');
                let digits = |s: &[u8], k: usize| s[k + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                let (wa, wb) = (wild(a, i), wild(b, j));
                if wa || wb {
                    i += 1 + if wa { 1 } else { digits(a, i) };
                    j += 1 + if wb { 1 } else { digits(b, j) };
                    continue;
                }
            }
            if a[i] != b[j] {
                return false;
            }
            i += 1;
            j += 1;
        }
        i == a.len() && j == b.len()
    }
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| one(x, y))
}

/// An ELF function symbol.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SymbolFact {
    /// Its name.
    pub name: String,
    /// Address (a [`SectionAddress::pack`]ed one in relocatable files, see [`address`]).
    pub address: u64,
    /// Global binding (else local / weak).
    pub global: bool,
    /// Weak binding.
    pub weak: bool,
}

/// Everything the oracles need to know about one compiled object.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Facts {
    /// Out-of-line function instances.
    pub functions: Vec<FunctionInstance>,
    /// Function symbols, in symbol-table order.
    pub symbols: Vec<SymbolFact>,
    /// The file is relocatable (`.o`, `.ko`): the kernel looks module symbols up in table order.
    pub relocatable: bool,
    /// Subprograms with no code of their own (inlined everywhere, or emitted without an
    /// address), their `entry` [`NO_CODE`], built on demand by [`read_codeless`]. An encoder that
    /// takes a FUNC's prototype from one of these describes no body at all.
    #[serde(skip)]
    pub codeless: Vec<FunctionInstance>,
    /// Only when asked for ([`read_with`]): where those subprograms are, by name — (name, unit
    /// offset, DIE offset in `.debug_info`). Recording them costs one name read each.
    #[serde(skip)]
    pub codeless_refs: Vec<(String, u64, u64)>,
}

/// The `entry` of a [`Facts::codeless`] subprogram.
pub const NO_CODE: u64 = u64::MAX;

impl Facts {
    /// All instances whose source name is `name`.
    pub fn instances<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a FunctionInstance> + 'a {
        self.functions.iter().filter(move |f| f.name == name)
    }

    /// The symbol the kernel attaches to for a FUNC named `name`: kallsyms resolves a name to its
    /// first match — the lowest address in a linked image (vmlinux), the first entry of the
    /// symbol table in a module.
    pub fn attach_target(&self, name: &str) -> Option<&SymbolFact> {
        let mut matching = self.symbols.iter().filter(|s| s.name == name);
        if self.relocatable {
            matching.next()
        } else {
            matching.min_by_key(|s| s.address)
        }
    }

    /// The instance whose entry is at `address`.
    pub fn instance_at(&self, address: u64) -> Option<&FunctionInstance> {
        self.functions.iter().find(|f| f.entry == address)
    }
}

/// DWARF sections refer to each other by offset; only references to code and data are addresses.
/// (By name: `object` classifies some ELF debug sections as `Other`.)
fn is_debug(section: &object::Section<'_, '_>) -> bool {
    section
        .name()
        .is_ok_and(|n| n.starts_with(".debug_") || n.starts_with(".zdebug_"))
}

/// The address of `value` in `section` as the readers store it: [`SectionAddress::pack`]ed in a
/// relocatable file (every section starts at 0 there), plain in a linked one.
pub fn address(relocatable: bool, section: Option<object::SectionIndex>, value: u64) -> u64 {
    match (relocatable, section) {
        (true, Some(s)) => SectionAddress::new(s.0, value).pack(),
        _ => value,
    }
}

/// Relocations of one debug section: offset → value to use.
#[derive(Debug, Clone, Default)]
pub struct Relocs(Arc<HashMap<usize, u64>>);

impl gimli::read::Relocate<usize> for Relocs {
    fn relocate_address(&self, offset: usize, value: u64) -> gimli::Result<u64> {
        Ok(self.0.get(&offset).copied().unwrap_or(value))
    }
    fn relocate_offset(&self, offset: usize, value: usize) -> gimli::Result<usize> {
        Ok(self.0.get(&offset).map_or(value, |&v| v as usize))
    }
}

/// The gimli reader every facts reader uses: the section's bytes with its relocations applied.
pub type Reader<'a> = gimli::RelocateReader<gimli::EndianSlice<'a, RunTimeEndian>, Relocs>;

/// Reads the facts of an ELF file with DWARF.
pub fn read_file(path: &Path) -> Result<Facts> {
    let data = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    read(&data).map_err(|e| Error::File { what: "DWARF", path: path.to_path_buf(), source: Box::new(e) })
}

/// The DWARF sections of one ELF file, with the relocation maps of a relocatable one: every
/// DWARF reader of the harness loads them here, so that `.o` files read right everywhere.
#[derive(Debug)]
pub struct Sections<'d> {
    map: HashMap<&'static str, (Cow<'d, [u8]>, Relocs)>,
    endian: RunTimeEndian,
}

impl<'d> Sections<'d> {
    /// Loads (and decompresses) the debug sections of `file`, with their relocations when it is
    /// relocatable. Fails when there is no `.debug_info`.
    pub fn load(file: &object::File<'d>) -> Result<Self> {
        let relocatable = file.kind() == object::ObjectKind::Relocatable;
        let endian = if file.is_little_endian() {
            RunTimeEndian::Little
        } else {
            RunTimeEndian::Big
        };
        let address_of = |section, value| address(relocatable, section, value);
        let mut sections: HashMap<&'static str, (Cow<[u8]>, Relocs)> = HashMap::new();
        const DEBUG_SECTIONS: &[gimli::SectionId] = &[
            gimli::SectionId::DebugAbbrev,
            gimli::SectionId::DebugAddr,
            gimli::SectionId::DebugInfo,
            gimli::SectionId::DebugLine,
            gimli::SectionId::DebugLineStr,
            gimli::SectionId::DebugLoc,
            gimli::SectionId::DebugLocLists,
            gimli::SectionId::DebugRanges,
            gimli::SectionId::DebugRngLists,
            gimli::SectionId::DebugStr,
            gimli::SectionId::DebugStrOffsets,
            gimli::SectionId::DebugTypes,
        ];
        for &id in DEBUG_SECTIONS {
            let Some(section) = file.section_by_name(id.name()) else {
                continue;
            };
            let bytes = section
                .uncompressed_data()
                .map_err(|source| Error::Decompress { section: id.name(), source })?;
            let mut relocs = HashMap::new();
            if relocatable {
                for (offset, rel) in section.relocations() {
                    let target = match rel.target() {
                        object::RelocationTarget::Symbol(i) => {
                            let sym = file.symbol_by_index(i).map_err(Error::RelocationSymbol)?;
                            let debug_target = sym
                                .section_index()
                                .and_then(|s| file.section_by_index(s).ok())
                                .is_some_and(|s| is_debug(&s));
                            let base = if debug_target {
                                sym.address()
                            } else {
                                address_of(sym.section_index(), sym.address())
                            };
                            base.wrapping_add(rel.addend() as u64)
                        }
                        object::RelocationTarget::Section(s) => {
                            let debug_target =
                                file.section_by_index(s).is_ok_and(|s| is_debug(&s));
                            let base = if debug_target { 0 } else { SectionAddress::new(s.0, 0).pack() };
                            base.wrapping_add(rel.addend() as u64)
                        }
                        _ => continue,
                    };
                    relocs.insert(offset as usize, target);
                }
            }
            sections.insert(id.name(), (bytes, Relocs(Arc::new(relocs))));
        }
        if !sections.contains_key(".debug_info") {
            return Err(Error::NoDebugInfo);
        }
        Ok(Sections {
            map: sections,
            endian,
        })
    }

    /// The DWARF over these sections.
    pub fn dwarf(&self) -> Result<gimli::Dwarf<Reader<'_>>> {
        Ok(gimli::Dwarf::load(|id| -> gimli::Result<Reader<'_>> {
            let (bytes, relocs): (&[u8], Relocs) = match self.map.get(id.name()) {
                Some((bytes, relocs)) => (bytes, relocs.clone()),
                None => (&[], Relocs::default()),
            };
            Ok(gimli::RelocateReader::new(
                gimli::EndianSlice::new(bytes, self.endian),
                relocs,
            ))
        })?)
    }
}

/// Reads the facts of ELF bytes with DWARF.
pub fn read(data: &[u8]) -> Result<Facts> {
    read_with(data, None, false)
}

/// Reads the facts like [`read`], plus the details only the generators' statistics use, which
/// cost too much to read for a whole kernel: every parameter's [`ParamFact::list`] and
/// [`ParamFact::type_layout`].
pub fn read_detailed(data: &[u8]) -> Result<Facts> {
    read_inner(data, None, false, true)
}

/// [`read_detailed`] of a file whose sections the caller has loaded already (the generators'
/// classifier reads more of the same DWARF itself).
pub fn read_detailed_loaded(file: &object::File<'_>, sections: &Sections<'_>) -> Result<Facts> {
    read_loaded(file, sections, None, false, true)
}

/// Reads the facts of ELF bytes with DWARF, the units spread over `pool`'s threads when given
/// (a whole kernel: 2,573 units). The result is the same as [`read`]'s.
/// With `codeless`, also collects [`Facts::codeless`].
pub fn read_with(data: &[u8], pool: Option<&rayon::ThreadPool>, codeless: bool) -> Result<Facts> {
    read_inner(data, pool, codeless, false)
}

fn read_inner(data: &[u8], pool: Option<&rayon::ThreadPool>, codeless: bool, detailed: bool) -> Result<Facts> {
    let file = object::File::parse(data).map_err(Error::Elf)?;
    let sections = Sections::load(&file)?;
    read_loaded(&file, &sections, pool, codeless, detailed)
}

fn read_loaded(
    file: &object::File<'_>,
    sections: &Sections<'_>,
    pool: Option<&rayon::ThreadPool>,
    codeless: bool,
    detailed: bool,
) -> Result<Facts> {
    let relocatable = file.kind() == object::ObjectKind::Relocatable;
    let address_of = |section, value| address(relocatable, section, value);
    let dwarf = sections.dwarf()?;

    let mut symbols = Vec::new();
    let mut by_address: HashMap<u64, Vec<String>> = HashMap::new();
    for sym in file.symbols() {
        if sym.kind() != object::SymbolKind::Text || sym.is_undefined() {
            continue;
        }
        let Ok(name) = sym.name() else { continue };
        let address = address_of(sym.section_index(), sym.address());
        by_address
            .entry(address)
            .or_default()
            .push(name.to_string());
        symbols.push(SymbolFact {
            name: name.to_string(),
            address,
            global: sym.is_global() && !sym.is_weak(),
            weak: sym.is_weak(),
        });
    }

    let mut functions = Vec::new();
    let mut without_code: Vec<(String, u64, u64)> = Vec::new();
    match pool {
        None => {
            let mut units = dwarf.units();
            while let Some(header) = units.next()? {
                let unit = dwarf.unit(header)?;
                let unit = unit.unit_ref(&dwarf);
                let mut walker = UnitWalker::new(unit);
                walker.codeless = codeless;
                walker.detailed = detailed;
                walker.collect(&mut functions, &mut without_code, &by_address)?;
            }
        }
        Some(pool) => {
            // Units are independent: each is read whole by one worker. Headers first (cheap),
            // then the units in parallel; the result is sorted below, so it does not depend on
            // the order in which workers finish.
            let mut headers = Vec::new();
            let mut units = dwarf.units();
            while let Some(header) = units.next()? {
                headers.push(header);
            }
            use rayon::prelude::*;
            type PerUnit = (Vec<FunctionInstance>, Vec<(String, u64, u64)>);
            let per_unit: Vec<Result<PerUnit>> = pool.install(|| {
                headers
                    .into_par_iter()
                    .map(|header| {
                        let at = header.offset().as_debug_info_offset().map_or(0, |o| o.0 as u64);
                        let unit = dwarf.unit(header).map_err(|e| Error::from(e).in_unit(at))?;
                        let unit = unit.unit_ref(&dwarf);
                        let (mut out, mut none) = (Vec::new(), Vec::new());
                        let mut walker = UnitWalker::new(unit);
                        walker.codeless = codeless;
                        walker.detailed = detailed;
                        walker
                            .collect(&mut out, &mut none, &by_address)
                            .map_err(|e| e.in_unit(at))?;
                        Ok((out, none))
                    })
                    .collect()
            });
            for unit in per_unit {
                let (f, none) = unit?;
                functions.extend(f);
                without_code.extend(none);
            }
        }
    }
    functions.sort_by(|a, b| (&a.name, a.entry).cmp(&(&b.name, b.entry)));
    without_code.sort();
    Ok(Facts {
        functions,
        symbols,
        relocatable,
        codeless: Vec::new(),
        codeless_refs: without_code,
    })
}

/// Builds the code-less subprograms at `refs` ((unit offset, DIE offset) pairs from
/// [`Facts::codeless_refs`]), each with its prototype; their `entry` is [`NO_CODE`]. Only the
/// units holding them are read.
pub fn read_codeless(data: &[u8], pool: &rayon::ThreadPool, refs: &[(u64, u64)]) -> Result<Vec<FunctionInstance>> {
    use rayon::prelude::*;
    let file = object::File::parse(data).map_err(Error::Elf)?;
    let sections = Sections::load(&file)?;
    let dwarf = sections.dwarf()?;
    let mut by_unit: std::collections::BTreeMap<u64, Vec<u64>> = std::collections::BTreeMap::new();
    for &(unit, die) in refs {
        by_unit.entry(unit).or_default().push(die);
    }
    let no_symbols = HashMap::new();
    let per_unit: Vec<Result<Vec<FunctionInstance>>> = pool.install(|| {
        by_unit
            .into_par_iter()
            .map(|(unit_at, dies)| {
                let header = dwarf
                    .debug_info
                    .header_from_offset(gimli::DebugInfoOffset(unit_at as usize))
                    .map_err(|e| Error::from(e).in_unit(unit_at))?;
                let unit = dwarf.unit(header).map_err(|e| Error::from(e).in_unit(unit_at))?;
                let unit = unit.unit_ref(&dwarf);
                let mut walker = UnitWalker::new(unit);
                walker.build_codeless = true;
                let mut out = Vec::new();
                for die in dies {
                    let offset = gimli::DebugInfoOffset(die as usize)
                        .to_unit_offset(&unit.header)
                        .ok_or(Error::DieNotInUnit { die, unit: unit_at })?;
                    if let Some(f) = walker.instance(offset, &no_symbols)? {
                        out.push(f);
                    }
                }
                Ok(out)
            })
            .collect()
    });
    let mut out = Vec::new();
    for unit in per_unit {
        out.extend(unit?);
    }
    out.sort_by(|a, b| (&a.name, a.die_offset).cmp(&(&b.name, b.die_offset)));
    Ok(out)
}

/// What one parameter's location description says at the function's entry.
struct LocationAtEntry {
    location: EntryLocation,
    /// The expression as DWARF operations, or why there is none ([`ParamFact::location_expr`]).
    expr: String,
    /// The bytes its `DW_OP_piece`s describe, if it has any.
    piece_bytes: Option<u64>,
    /// `N` when the expression is exactly `DW_OP_fbreg N`.
    fbreg: Option<i64>,
    /// One expression for the whole body, not a location list ([`ParamFact::whole_body`]).
    whole_body: bool,
    /// It has a `DW_AT_location` ([`ParamFact::has_location`]).
    has_location: bool,
    /// What the whole list shows, when read in detail ([`ParamFact::list`]).
    list: Option<LocationListFacts>,
}

/// Reads one unit: builds scratch BTF for the types it needs and collects function instances.
struct UnitWalker<'u, 'a> {
    unit: gimli::UnitRef<'u, Reader<'a>>,
    cu: String,
    scratch: Btf,
    types: HashMap<gimli::UnitOffset, TypeId>,
    /// (callee origin, parameter origin) → some call passes it.
    call_evidence: HashMap<(gimli::UnitOffset, gimli::UnitOffset), bool>,
    /// Record where subprograms without code are ([`Facts::codeless_refs`]).
    codeless: bool,
    /// Build subprograms without code too (entry [`NO_CODE`]).
    build_codeless: bool,
    /// Read the details of [`read_detailed`].
    detailed: bool,
}

const MAX_TYPE_DEPTH: usize = 48;

impl<'u, 'a> UnitWalker<'u, 'a> {
    fn new(unit: gimli::UnitRef<'u, Reader<'a>>) -> Self {
        let cu = unit
            .name
            .as_ref()
            .map(|n| {
                n.to_string_lossy()
                    .map(|s| s.into_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        UnitWalker {
            unit,
            cu,
            scratch: Btf::new(None),
            types: HashMap::new(),
            call_evidence: HashMap::new(),
            codeless: false,
            build_codeless: false,
            detailed: false,
        }
    }

    fn string(
        &self,
        entry: &gimli::DebuggingInformationEntry<'_, '_, Reader<'a>>,
        at: gimli::DwAt,
    ) -> Result<Option<String>> {
        match entry.attr_value(at)? {
            Some(v) => Ok(Some(
                self.unit.attr_string(v)?.to_string_lossy()?.into_owned(),
            )),
            None => Ok(None),
        }
    }

    /// Follows `DW_AT_abstract_origin` / `DW_AT_specification` to the DIE that carries the name
    /// and type (bounded: malformed DWARF may loop).
    fn origin(&self, mut offset: gimli::UnitOffset) -> Result<gimli::UnitOffset> {
        for _ in 0..8 {
            let entry = self.unit.entry(offset)?;
            let next = entry
                .attr_value(gimli::DW_AT_abstract_origin)?
                .or(entry.attr_value(gimli::DW_AT_specification)?);
            match next {
                Some(AttributeValue::UnitRef(o)) => offset = o,
                _ => return Ok(offset),
            }
        }
        Ok(offset)
    }

    fn collect(
        &mut self,
        out: &mut Vec<FunctionInstance>,
        codeless: &mut Vec<(String, u64, u64)>,
        by_address: &HashMap<u64, Vec<String>>,
    ) -> Result<()> {
        let mut offsets = Vec::new();
        let mut call_sites = Vec::new();
        let mut entries = self.unit.entries();
        while let Some((_, entry)) = entries.next_dfs()? {
            match entry.tag() {
                gimli::DW_TAG_subprogram => offsets.push(entry.offset()),
                gimli::DW_TAG_call_site | gimli::DW_TAG_GNU_call_site => {
                    call_sites.push(entry.offset())
                }
                _ => {}
            }
        }
        for site in call_sites {
            self.call_site(site)?;
        }
        for offset in offsets {
            if let Some(f) = self.instance(offset, by_address)? {
                out.push(f);
            } else if self.codeless {
                let entry = self.unit.entry(offset)?;
                if entry.attr_value(gimli::DW_AT_declaration)?.is_none() && self.entry_pc(&entry)?.is_none() {
                    if let Some(name) = self.string(&entry, gimli::DW_AT_name)? {
                        let unit_at = self.unit.header.offset().as_debug_info_offset().map_or(0, |o| o.0 as u64);
                        let die_at = offset.to_debug_info_offset(&self.unit.header).map_or(0, |o| o.0 as u64);
                        codeless.push((name, unit_at, die_at));
                    }
                }
            }
        }
        Ok(())
    }

    /// Records what one call site says about the parameters of the function it calls.
    fn call_site(&mut self, site: gimli::UnitOffset) -> Result<()> {
        let unit = self.unit;
        let entry = unit.entry(site)?;
        let origin = match entry
            .attr_value(gimli::DW_AT_call_origin)?
            .or(entry.attr_value(gimli::DW_AT_abstract_origin)?)
        {
            Some(AttributeValue::UnitRef(o)) => self.origin(o)?,
            _ => return Ok(()),
        };
        let mut tree = unit.entries_tree(Some(site))?;
        let root = tree.root()?;
        let mut children = root.children();
        while let Some(child) = children.next()? {
            let e = child.entry();
            if e.tag() != gimli::DW_TAG_call_site_parameter
                && e.tag() != gimli::DW_TAG_GNU_call_site_parameter
            {
                continue;
            }
            let Some(AttributeValue::UnitRef(param)) = e.attr_value(gimli::DW_AT_call_parameter)?
            else {
                continue;
            };
            let param = self.origin(param)?;
            let passed = e.attr_value(gimli::DW_AT_location)?.is_some();
            let slot = self.call_evidence.entry((origin, param)).or_insert(passed);
            // One call that passes it is enough to say it is passed.
            *slot |= passed;
        }
        Ok(())
    }

    /// The entry address of a subprogram with code: `DW_AT_low_pc`, or the first range of
    /// `DW_AT_ranges` (a hot/cold split lists the entry part first).
    fn entry_pc(
        &self,
        entry: &gimli::DebuggingInformationEntry<'_, '_, Reader<'a>>,
    ) -> Result<Option<u64>> {
        if let Some(AttributeValue::Addr(a)) = entry.attr_value(gimli::DW_AT_entry_pc)? {
            return Ok(Some(a));
        }
        if let Some(v) = entry.attr_value(gimli::DW_AT_low_pc)? {
            return Ok(self.unit.attr_address(v)?);
        }
        if let Some(v) = entry.attr_value(gimli::DW_AT_ranges)? {
            if let Some(mut ranges) = self.unit.attr_ranges(v)? {
                if let Some(r) = ranges.next()? {
                    return Ok(Some(r.begin));
                }
            }
        }
        Ok(None)
    }

    fn instance(
        &mut self,
        offset: gimli::UnitOffset,
        by_address: &HashMap<u64, Vec<String>>,
    ) -> Result<Option<FunctionInstance>> {
        let unit = self.unit;
        let entry = unit.entry(offset)?;
        if entry.attr_value(gimli::DW_AT_declaration)?.is_some() {
            return Ok(None);
        }
        let entry_pc = match self.entry_pc(&entry)? {
            Some(pc) => pc,
            None if self.build_codeless => NO_CODE,
            None => return Ok(None),
        };
        let origin_off = self.origin(offset)?;
        let origin = unit.entry(origin_off)?;
        let Some(name) = self
            .string(&entry, gimli::DW_AT_name)?
            .or(self.string(&origin, gimli::DW_AT_name)?)
        else {
            return Ok(None);
        };
        let flag = |e: &gimli::DebuggingInformationEntry<'_, '_, Reader<'a>>, at| -> Result<bool> {
            Ok(matches!(
                e.attr_value(at)?,
                Some(AttributeValue::Flag(true))
            ))
        };
        let external =
            flag(&entry, gimli::DW_AT_external)? || flag(&origin, gimli::DW_AT_external)?;
        let nocall = [&entry, &origin].iter().any(|e| {
            matches!(
                e.attr_value(gimli::DW_AT_calling_convention),
                Ok(Some(AttributeValue::CallingConvention(gimli::DW_CC_nocall)))
            )
        });
        let ret = match origin.attr_value(gimli::DW_AT_type)? {
            Some(AttributeValue::UnitRef(t)) => self.type_id(t, 0)?,
            _ => TypeId::VOID,
        };

        // Source parameters come from the abstract origin (or the DIE itself); their locations
        // from the concrete DIE, whose formal_parameters point back at them.
        let mut params: Vec<(gimli::UnitOffset, String, TypeId, Option<crate::abi::Layout>)> = Vec::new();
        let mut variadic = false;
        // The DWARF type of each parameter, for its detailed layout.
        let mut types_at: Vec<Option<gimli::UnitOffset>> = Vec::new();
        let mut tree = unit.entries_tree(Some(origin_off))?;
        let root = tree.root()?;
        let mut children = root.children();
        while let Some(child) = children.next()? {
            let e = child.entry();
            match e.tag() {
                gimli::DW_TAG_formal_parameter => {
                    let pname = self.string(e, gimli::DW_AT_name)?.unwrap_or_default();
                    let (ty, layout, at) = match e.attr_value(gimli::DW_AT_type)? {
                        Some(AttributeValue::UnitRef(t)) => (self.type_id(t, 0)?, self.arg_layout(t, 0)?, Some(t)),
                        _ => (TypeId::VOID, None, None),
                    };
                    params.push((e.offset(), pname, ty, layout));
                    types_at.push(at);
                }
                gimli::DW_TAG_unspecified_parameters => variadic = true,
                _ => {}
            }
        }
        // The function's address ranges, which a detailed read checks its location lists against.
        let mut spans = Vec::new();
        if self.detailed && entry_pc != NO_CODE {
            let mut ranges = unit.die_ranges(&entry)?;
            while let Some(r) = ranges.next()? {
                if r.begin < r.end {
                    spans.push((r.begin, r.end));
                }
            }
        }
        let mut locations: HashMap<gimli::UnitOffset, LocationAtEntry> = HashMap::new();
        let mut tree = unit.entries_tree(Some(offset))?;
        let root = tree.root()?;
        let mut children = root.children();
        while let Some(child) = children.next()? {
            let e = child.entry();
            if e.tag() != gimli::DW_TAG_formal_parameter {
                continue;
            }
            let key = match e.attr_value(gimli::DW_AT_abstract_origin)? {
                Some(AttributeValue::UnitRef(o)) => o,
                _ => e.offset(),
            };
            let loc = self.entry_location(e, entry_pc, &spans)?;
            locations.insert(key, loc);
        }

        let frame_base_is_cfa = match entry.attr_value(gimli::DW_AT_frame_base)? {
            Some(AttributeValue::Exprloc(expr)) => {
                let mut ops = expr.operations(self.unit.encoding());
                matches!((ops.next(), ops.next()), (Ok(Some(gimli::Operation::CallFrameCFA)), Ok(None)))
            }
            _ => false,
        };
        // Build the prototype in the scratch blob and render it like any BTF FUNC.
        let mut proto_params: Vec<Param> = Vec::new();
        let mut facts = Vec::new();
        let classes: Vec<AbiClass> = params
            .iter()
            .map(|(_, _, ty, _)| self.abi_class(*ty))
            .collect();
        let returns_aggregate = ret != TypeId::VOID && matches!(self.abi_class(ret), AbiClass::Other | AbiClass::Memory);
        let registers = abi_registers(&classes, returns_aggregate);
        for (i, (off, pname, ty, layout)) in params.iter().enumerate() {
            let n = self.scratch.add_str(pname);
            proto_params.push(Param { name: n, ty: *ty });
            facts.push(ParamFact {
                name: pname.clone(),
                ty: btf::render::type_name(&self.scratch, *ty),
                // A composite whose pieces cover less than the type (clang passes `struct t a` as
                // a.f1 alone: `DW_OP_reg5, DW_OP_piece 8` for 16 bytes) is only partly present.
                location: match locations.get(off) {
                    Some(LocationAtEntry { piece_bytes: Some(total), .. }) if self.byte_size(*ty).is_some_and(|size| *total < size) => EntryLocation::Partial,
                    Some(l) => l.location,
                    None => EntryLocation::None,
                },
                location_expr: locations.get(off).map_or_else(|| "no DW_TAG_formal_parameter in the concrete instance".to_string(), |l| l.expr.clone()),
                whole_body: locations.get(off).is_some_and(|l| l.whole_body),
                passed: self.call_evidence.get(&(origin_off, *off)).copied(),
                abi_register: registers[i],
                abi_class: classes[i],
                layout: layout.clone(),
                cfa_offset: if frame_base_is_cfa { locations.get(off).and_then(|l| l.fbreg) } else { None },
                has_location: locations.get(off).is_some_and(|l| l.has_location),
                list: locations.get(off).and_then(|l| l.list),
                type_layout: match (self.detailed, types_at.get(i).copied().flatten()) {
                    (true, Some(t)) => self.type_layout(t, 0),
                    _ => String::new(),
                },
            });
        }
        if variadic {
            proto_params.push(Param {
                name: btf::StrRef::EMPTY,
                ty: TypeId::VOID,
            });
        }
        let proto = self.scratch.add_type(Type {
            name: btf::StrRef::EMPTY,
            data: TypeData::FuncProto(FuncProto {
                ret,
                params: proto_params,
            }),
        });
        let r = btf::render::Renderer::new(&self.scratch);
        Ok(Some(FunctionInstance {
            prototype: r.prototype(proto, &name),
            signature: r.without_param_names().prototype(proto, &name),
            sig: Signature {
                ret: btf::render::type_name(&self.scratch, ret),
                params: facts.iter().map(|p: &ParamFact| p.ty.clone()).collect(),
                variadic,
            },
            shape: params.iter().map(|(_, _, ty, _)| self.shape(*ty, 0)).chain(std::iter::once(self.shape(ret, 0))).collect(),
            name,
            cu: self.cu.clone(),
            external,
            entry: entry_pc,
            die_offset: offset
                .to_debug_info_offset(&unit.header)
                .map_or(0, |o| o.0 as u64),
            symbols: by_address.get(&entry_pc).cloned().unwrap_or_default(),
            params: facts,
            ret: btf::render::type_name(&self.scratch, ret),
            returns_aggregate,
            variadic,
            nocall,
        }))
    }

    /// Classifies a parameter's location at the function's entry address; in a detailed read,
    /// also what its whole location list shows against the function's address ranges `spans`.
    fn entry_location(
        &self,
        e: &gimli::DebuggingInformationEntry<'_, '_, Reader<'a>>,
        entry_pc: u64,
        spans: &[(u64, u64)],
    ) -> Result<LocationAtEntry> {
        let nowhere = |expr: &str, whole_body, has_location| LocationAtEntry {
            location: EntryLocation::None,
            expr: expr.into(),
            piece_bytes: None,
            fbreg: None,
            whole_body,
            has_location,
            list: None,
        };
        let Some(value) = e.attr_value(gimli::DW_AT_location)? else {
            if e.attr_value(gimli::DW_AT_const_value)?.is_some() {
                return Ok(LocationAtEntry { location: EntryLocation::Constant, ..nowhere("DW_AT_const_value", true, false) });
            }
            return Ok(nowhere("no DW_AT_location", true, false));
        };
        if e.attr_value(gimli::DW_AT_const_value)?.is_some() {
            return Ok(LocationAtEntry { location: EntryLocation::Constant, ..nowhere("DW_AT_const_value", true, true) });
        }
        let enc = self.unit.encoding();
        let at_entry = |expr: gimli::Expression<Reader<'a>>, whole_body| LocationAtEntry {
            location: classify(expr.clone(), enc),
            expr: describe(expr.clone(), enc),
            piece_bytes: pieces_total(expr.clone(), enc),
            fbreg: single_fbreg(expr, enc),
            whole_body,
            has_location: true,
            list: None,
        };
        if let AttributeValue::Exprloc(expr) = value {
            return Ok(at_entry(expr, true));
        }
        let Some(mut locs) = self.unit.attr_locations(value)? else {
            return Ok(nowhere("no location list", false, true));
        };
        let mut found = None;
        let mut list = LocationListFacts::default();
        let mut covered: Vec<(u64, u64)> = Vec::new();
        while let Some(loc) = locs.next()? {
            if found.is_none() && loc.range.begin <= entry_pc && entry_pc < loc.range.end {
                found = Some(at_entry(loc.data.clone(), false));
                if !self.detailed {
                    break;
                }
            }
            if !self.detailed || loc.range.begin >= loc.range.end {
                continue;
            }
            if first_register(loc.data.clone(), enc).is_some_and(|r| CALLEE_SAVED.contains(&r)) {
                list.callee_saved = true;
            }
            let mut ops = loc.data.operations(enc);
            while let Ok(Some(op)) = ops.next() {
                if matches!(op, gimli::Operation::EntryValue { .. }) {
                    list.entry_value = true;
                }
            }
            covered.push((loc.range.begin, loc.range.end));
        }
        if self.detailed {
            list.gaps = !covered.is_empty() && leaves_gaps(spans, &mut covered);
        }
        let mut out = found.unwrap_or_else(|| nowhere("no location list entry covers the entry address", false, true));
        out.list = self.detailed.then_some(list);
        Ok(out)
    }

    /// The layout text behind a parameter's DWARF type (see [`ParamFact::type_layout`]).
    fn type_layout(&mut self, offset: gimli::UnitOffset, depth: usize) -> String {
        if depth > 8 {
            return String::new();
        }
        let Ok(e) = self.unit.entry(offset) else { return String::new() };
        let inner = match e.attr_value(gimli::DW_AT_type) {
            Ok(Some(AttributeValue::UnitRef(o))) => Some(o),
            _ => None,
        };
        let tag = e.tag();
        let size = e.attr_value(gimli::DW_AT_byte_size).ok().flatten().and_then(|v| v.udata_value()).unwrap_or(0);
        // (name, type text, offset) of the children with tag `want`.
        let children = |w: &mut Self, want: gimli::DwTag| -> Vec<(String, String, u64)> {
            let mut found = Vec::new();
            let Ok(mut tree) = w.unit.entries_tree(Some(offset)) else { return Vec::new() };
            let Ok(root) = tree.root() else { return Vec::new() };
            let mut ch = root.children();
            while let Ok(Some(c)) = ch.next() {
                let c = c.entry();
                if c.tag() != want {
                    continue;
                }
                let name = w.string(c, gimli::DW_AT_name).ok().flatten().unwrap_or_default();
                let t = match c.attr_value(gimli::DW_AT_type) {
                    Ok(Some(AttributeValue::UnitRef(o))) => Some(o),
                    _ => None,
                };
                let at = c.attr_value(gimli::DW_AT_data_member_location).ok().flatten().and_then(|v| v.udata_value()).unwrap_or(0);
                found.push((name, t, at));
            }
            found.into_iter().map(|(name, t, at)| (name, w.type_text(t), at)).collect()
        };
        match tag {
            gimli::DW_TAG_pointer_type | gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type | gimli::DW_TAG_typedef => match inner {
                Some(t) => self.type_layout(t, depth + 1),
                None => String::new(),
            },
            gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type => {
                let members: Vec<String> = children(self, gimli::DW_TAG_member).into_iter().map(|(n, t, at)| format!("{n}:{t}@{at}")).collect();
                format!("{}({size}){{{}}}", self.type_text(Some(offset)), members.join(","))
            }
            gimli::DW_TAG_subroutine_type => {
                let params: Vec<String> = children(self, gimli::DW_TAG_formal_parameter).into_iter().map(|(_, t, _)| t).collect();
                format!("fn({})->{}", params.join(", "), self.type_text(inner))
            }
            _ => String::new(),
        }
    }

    /// A DWARF type rendered like a FUNC's parameter (`void` for none, `?` when unreadable).
    fn type_text(&mut self, offset: Option<gimli::UnitOffset>) -> String {
        match offset {
            None => "void".into(),
            Some(t) => match self.type_id(t, 0) {
                Ok(id) => btf::render::type_name(&self.scratch, id),
                Err(_) => "?".into(),
            },
        }
    }

    /// The structure of a scratch type (see [`FunctionInstance::shape`]), three pointer levels
    /// deep.
    fn shape(&self, mut ty: TypeId, depth: usize) -> String {
        for _ in 0..MAX_TYPE_DEPTH {
            let Some(t) = self.scratch.type_by_id(ty) else { return "void".into() };
            let name = self.scratch.str(t.name);
            return match &t.data {
                TypeData::Typedef(x) | TypeData::Const(x) | TypeData::Volatile(x) | TypeData::Restrict(x) => {
                    ty = *x;
                    continue;
                }
                TypeData::Ptr(x) if depth < 3 => format!("*{}", self.shape(*x, depth + 1)),
                // A declaration (size 0 here) is `/?`: it matches any size (see `shapes_agree`).
                TypeData::Struct(c) if c.size == 0 => format!("struct {name}/?"),
                TypeData::Union(c) if c.size == 0 => format!("union {name}/?"),
                TypeData::Struct(c) => format!("struct {name}/{}", c.size),
                TypeData::Union(c) => format!("union {name}/{}", c.size),
                TypeData::Enum(e) => format!("enum {name}/{}", e.size),
                TypeData::Array(a) => format!("[{}]{}", a.len, self.shape(a.elem, depth)),
                TypeData::FuncProto(p) if depth < 3 => {
                    let params: Vec<String> = p.params.iter().map(|q| self.shape(q.ty, depth + 1)).collect();
                    format!("fn({})->{}", params.join(","), self.shape(p.ret, depth + 1))
                }
                _ => btf::render::type_name(&self.scratch, ty),
            };
        }
        "?".into()
    }

    /// Size in bytes of a scratch type, through typedefs and qualifiers.
    fn byte_size(&self, mut ty: TypeId) -> Option<u64> {
        for _ in 0..MAX_TYPE_DEPTH {
            match &self.scratch.type_by_id(ty)?.data {
                TypeData::Int(i) => return Some(u64::from(i.size)),
                TypeData::Float(f) => return Some(u64::from(f.size)),
                TypeData::Ptr(_) => return Some(8),
                TypeData::Struct(c) | TypeData::Union(c) => return Some(u64::from(c.size)),
                TypeData::Enum(e) => return Some(u64::from(e.size)),
                TypeData::Typedef(t) | TypeData::Const(t) | TypeData::Volatile(t) | TypeData::Restrict(t) => ty = *t,
                _ => return None,
            }
        }
        None
    }

    /// The layout of a DWARF type as the x86-64 ABI classifies it (sizes, alignment, scalar
    /// leaves), read from the DIEs themselves rather than the scratch blob (which keeps structs by
    /// name only). `None` for what this model does not classify (vectors, `_Atomic`, `_BitInt`,
    /// 16-byte non-x87 floats, incomplete types): a function with such a parameter is not judged.
    fn arg_layout(&self, offset: gimli::UnitOffset, depth: usize) -> Result<Option<crate::abi::Layout>> {
        use crate::abi::{Layout, Scalar};
        if depth > MAX_TYPE_DEPTH {
            return Ok(None);
        }
        let entry = self.unit.entry(offset)?;
        let udata = |at| -> Result<Option<u64>> { Ok(entry.attr_value(at)?.and_then(|v| v.udata_value())) };
        let size = udata(gimli::DW_AT_byte_size)?;
        let explicit_align = udata(gimli::DW_AT_alignment)?;
        let target = match entry.attr_value(gimli::DW_AT_type)? {
            Some(AttributeValue::UnitRef(t)) => Some(t),
            _ => None,
        };
        let scalar = |size: u64, kind| Layout { size, align: explicit_align.unwrap_or(size.max(1)), aggregate: false, unaligned_member: false, leaves: vec![(0, size, kind)] };
        Ok(match entry.tag() {
            gimli::DW_TAG_base_type => {
                let Some(size) = size else { return Ok(None) };
                let enc = match entry.attr_value(gimli::DW_AT_encoding)? {
                    Some(AttributeValue::Encoding(e)) => e,
                    _ => return Ok(None),
                };
                let name = self.string(&entry, gimli::DW_AT_name)?.unwrap_or_default();
                if name.contains("_BitInt") {
                    return Ok(None);
                }
                match (enc, size) {
                    (gimli::DW_ATE_float, 4 | 8) => Some(scalar(size, Scalar::Sse)),
                    (gimli::DW_ATE_float, 16) if name == "long double" => Some(scalar(16, Scalar::X87)),
                    (gimli::DW_ATE_complex_float, 8 | 16) => {
                        let half = size / 2;
                        Some(Layout { size, align: half, aggregate: false, unaligned_member: false, leaves: vec![(0, half, Scalar::Sse), (half, half, Scalar::Sse)] })
                    }
                    (gimli::DW_ATE_complex_float, 32) if name.contains("long double") => Some(scalar(32, Scalar::X87)),
                    (gimli::DW_ATE_float | gimli::DW_ATE_complex_float, _) => None,
                    (_, 1 | 2 | 4 | 8 | 16) => Some(scalar(size, Scalar::Int)),
                    _ => None,
                }
            }
            gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type | gimli::DW_TAG_rvalue_reference_type => Some(scalar(size.unwrap_or(8), Scalar::Int)),
            gimli::DW_TAG_enumeration_type => match size {
                Some(s @ (1 | 2 | 4 | 8)) => Some(scalar(s, Scalar::Int)),
                _ => None,
            },
            gimli::DW_TAG_typedef | gimli::DW_TAG_const_type | gimli::DW_TAG_volatile_type | gimli::DW_TAG_restrict_type => match target {
                Some(t) => self.arg_layout(t, depth + 1)?.map(|mut l| {
                    if let Some(a) = explicit_align {
                        l.align = a;
                    }
                    l
                }),
                None => None,
            },
            gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type | gimli::DW_TAG_class_type => {
                // An empty struct takes no register and no slot in C; not modelled.
                let Some(size) = size.filter(|s| *s > 0) else { return Ok(None) };
                let union = entry.tag() == gimli::DW_TAG_union_type;
                let mut l = Layout { size, align: 1, aggregate: true, unaligned_member: false, leaves: Vec::new() };
                let mut tree = self.unit.entries_tree(Some(offset))?;
                let root = tree.root()?;
                let mut children = root.children();
                while let Some(child) = children.next()? {
                    let m = child.entry();
                    if m.tag() != gimli::DW_TAG_member || m.attr_value(gimli::DW_AT_external)?.is_some() {
                        continue; // static members (C++) take no room
                    }
                    let mu = |at| -> Result<Option<u64>> { Ok(m.attr_value(at)?.and_then(|v| v.udata_value())) };
                    let Some(AttributeValue::UnitRef(mty)) = m.attr_value(gimli::DW_AT_type)? else { return Ok(None) };
                    if let Some(bits) = mu(gimli::DW_AT_bit_size)? {
                        // A bitfield: the bytes it touches are INTEGER.
                        let bit_off = match (mu(gimli::DW_AT_data_bit_offset)?, mu(gimli::DW_AT_data_member_location)?) {
                            (Some(b), _) => b,
                            (None, Some(byte)) if union => byte * 8,
                            _ => return Ok(None), // DWARF 2-4 big-endian bit offsets: not modelled
                        };
                        if bits > 0 {
                            let first = bit_off / 8;
                            let last = (bit_off + bits - 1) / 8;
                            l.leaves.push((first, last - first + 1, Scalar::Int));
                        }
                        continue;
                    }
                    let off = if union { 0 } else {
                        match mu(gimli::DW_AT_data_member_location)? {
                            Some(o) => o,
                            None => return Ok(None),
                        }
                    };
                    let Some(ml) = self.arg_layout(mty, depth + 1)? else { return Ok(None) };
                    let malign = mu(gimli::DW_AT_alignment)?.unwrap_or(ml.align);
                    if off % ml.align.max(1) != 0 || ml.unaligned_member {
                        l.unaligned_member = true;
                    }
                    l.align = l.align.max(malign);
                    l.leaves.extend(ml.leaves.iter().map(|&(o, s, k)| (o + off, s, k)));
                }
                // A packed struct is byte-aligned whatever its members say.
                if l.unaligned_member {
                    l.align = 1;
                }
                if let Some(a) = explicit_align {
                    l.align = a;
                }
                Some(l)
            }
            gimli::DW_TAG_array_type => {
                if entry.attr_value(gimli::DW_AT_GNU_vector)?.is_some() {
                    return Ok(None);
                }
                let Some(t) = target else { return Ok(None) };
                let Some(el) = self.arg_layout(t, depth + 1)? else { return Ok(None) };
                let mut count: u64 = 1;
                let mut tree = self.unit.entries_tree(Some(offset))?;
                let root = tree.root()?;
                let mut children = root.children();
                while let Some(child) = children.next()? {
                    let d = child.entry();
                    if d.tag() != gimli::DW_TAG_subrange_type {
                        continue;
                    }
                    let n = match (d.attr_value(gimli::DW_AT_count)?.and_then(|v| v.udata_value()), d.attr_value(gimli::DW_AT_upper_bound)?.and_then(|v| v.udata_value())) {
                        (Some(c), _) => c,
                        (None, Some(u)) => u + 1,
                        _ => 0, // flexible or zero-length
                    };
                    count = count.saturating_mul(n);
                }
                let total = el.size.saturating_mul(count);
                // Only the first 16 bytes matter to the classification (bigger is MEMORY).
                let leaves = (0..count.min(16)).flat_map(|i| el.leaves.iter().map(move |&(o, s, k)| (o + i * el.size, s, k))).collect();
                Some(Layout { size: size.unwrap_or(total), align: explicit_align.unwrap_or(el.align), aggregate: true, unaligned_member: el.unaligned_member, leaves })
            }
            _ => None,
        })
    }

    /// x86-64 SysV class of a parameter type: integers, enums and pointers go in general
    /// registers, float/double in SSE registers, aggregates and long double elsewhere (not checked).
    fn abi_class(&self, mut ty: TypeId) -> AbiClass {
        for _ in 0..MAX_TYPE_DEPTH {
            match self.scratch.type_by_id(ty).map(|t| &t.data) {
                Some(TypeData::Int(i)) if i.size <= 8 => return AbiClass::Integer,
                Some(TypeData::Ptr(_) | TypeData::Enum(_) | TypeData::Enum64(_)) => {
                    return AbiClass::Integer
                }
                Some(TypeData::Float(f)) if f.size <= 8 => return AbiClass::Sse,
                Some(
                    TypeData::Typedef(t)
                    | TypeData::Const(t)
                    | TypeData::Volatile(t)
                    | TypeData::Restrict(t),
                ) => ty = *t,
                _ => return AbiClass::Other,
            }
        }
        AbiClass::Other
    }

    /// Converts a DWARF type into the scratch blob (memoized; structs by name only).
    fn type_id(&mut self, offset: gimli::UnitOffset, depth: usize) -> Result<TypeId> {
        if let Some(&id) = self.types.get(&offset) {
            return Ok(id);
        }
        if depth > MAX_TYPE_DEPTH {
            return Err(Error::TypeChainTooDeep { depth: MAX_TYPE_DEPTH, offset: offset.0 as u64, cu: self.cu.clone() });
        }
        let unit = self.unit;
        let entry = unit.entry(offset)?;
        let name = self.string(&entry, gimli::DW_AT_name)?.unwrap_or_default();
        let size = match entry.attr_value(gimli::DW_AT_byte_size)? {
            Some(v) => v.udata_value().unwrap_or(0) as u32,
            None => 0,
        };
        let target = match entry.attr_value(gimli::DW_AT_type)? {
            Some(AttributeValue::UnitRef(t)) => Some(t),
            _ => None,
        };
        let inner = |w: &mut Self| -> Result<TypeId> {
            match target {
                Some(t) => w.type_id(t, depth + 1),
                None => Ok(TypeId::VOID),
            }
        };
        let data = match entry.tag() {
            gimli::DW_TAG_base_type => {
                let enc = match entry.attr_value(gimli::DW_AT_encoding)? {
                    Some(AttributeValue::Encoding(e)) => e,
                    _ => gimli::DW_ATE_signed,
                };
                if enc == gimli::DW_ATE_float || enc == gimli::DW_ATE_complex_float {
                    TypeData::Float(Float { size })
                } else {
                    let encoding = match enc {
                        gimli::DW_ATE_signed | gimli::DW_ATE_signed_char => IntEncoding::SIGNED,
                        gimli::DW_ATE_boolean => IntEncoding::BOOL,
                        _ => IntEncoding::NONE,
                    };
                    TypeData::Int(Int {
                        size,
                        encoding,
                        bit_offset: 0,
                        bits: (size * 8).min(255) as u8,
                    })
                }
            }
            gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type => {
                TypeData::Ptr(inner(self)?)
            }
            gimli::DW_TAG_const_type => TypeData::Const(inner(self)?),
            gimli::DW_TAG_volatile_type => TypeData::Volatile(inner(self)?),
            gimli::DW_TAG_restrict_type => TypeData::Restrict(inner(self)?),
            gimli::DW_TAG_typedef => TypeData::Typedef(inner(self)?),
            // _Atomic has no BTF kind; encoders pass through to the underlying type.
            gimli::DW_TAG_atomic_type => {
                let id = inner(self)?;
                self.types.insert(offset, id);
                return Ok(id);
            }
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type => {
                TypeData::Struct(Composite {
                    size,
                    bitfield_encoding: false,
                    members: Vec::new(),
                })
            }
            gimli::DW_TAG_union_type => TypeData::Union(Composite {
                size,
                bitfield_encoding: false,
                members: Vec::new(),
            }),
            gimli::DW_TAG_enumeration_type => TypeData::Enum(Enum {
                size,
                signed: false,
                values: Vec::new(),
            }),
            gimli::DW_TAG_array_type => {
                let elem = inner(self)?;
                // One BTF array per subrange, innermost last: int a[2][3] is array 2 of array 3.
                let mut dims = Vec::new();
                let mut tree = unit.entries_tree(Some(offset))?;
                let root = tree.root()?;
                let mut children = root.children();
                while let Some(child) = children.next()? {
                    let e = child.entry();
                    if e.tag() != gimli::DW_TAG_subrange_type {
                        continue;
                    }
                    let count = match (
                        e.attr_value(gimli::DW_AT_count)?,
                        e.attr_value(gimli::DW_AT_upper_bound)?,
                    ) {
                        (Some(c), _) => c.udata_value().unwrap_or(0),
                        (None, Some(u)) => u.udata_value().map_or(0, |u| u + 1),
                        _ => 0,
                    };
                    dims.push(count as u32);
                }
                let mut id = elem;
                for len in dims.iter().rev() {
                    id = self.scratch.add_type(Type {
                        name: btf::StrRef::EMPTY,
                        data: TypeData::Array(Array {
                            elem: id,
                            index: TypeId::VOID,
                            len: *len,
                        }),
                    });
                }
                self.types.insert(offset, id);
                return Ok(id);
            }
            gimli::DW_TAG_subroutine_type => {
                let ret = inner(self)?;
                let mut params = Vec::new();
                let mut tree = unit.entries_tree(Some(offset))?;
                let root = tree.root()?;
                let mut children = root.children();
                let mut pending = Vec::new();
                while let Some(child) = children.next()? {
                    let e = child.entry();
                    match e.tag() {
                        gimli::DW_TAG_formal_parameter => {
                            pending.push(match e.attr_value(gimli::DW_AT_type)? {
                                Some(AttributeValue::UnitRef(t)) => Some(t),
                                _ => None,
                            })
                        }
                        gimli::DW_TAG_unspecified_parameters => pending.push(None),
                        _ => {}
                    }
                }
                for t in pending {
                    let ty = match t {
                        Some(t) => self.type_id(t, depth + 1)?,
                        None => TypeId::VOID,
                    };
                    params.push(Param {
                        name: btf::StrRef::EMPTY,
                        ty,
                    });
                }
                TypeData::FuncProto(FuncProto { ret, params })
            }
            gimli::DW_TAG_unspecified_type => {
                self.types.insert(offset, TypeId::VOID);
                return Ok(TypeId::VOID);
            }
            other => {
                return Err(Error::UnsupportedTypeTag { tag: other, offset: offset.0 as u64, cu: self.cu.clone() })
            }
        };
        let n = self.scratch.add_str(&name);
        let id = self.scratch.add_type(Type { name: n, data });
        self.types.insert(offset, id);
        Ok(id)
    }
}

/// The register of the expression's first operation when it is `DW_OP_regN` or `DW_OP_regx`.
fn first_register(expr: gimli::Expression<Reader<'_>>, encoding: gimli::Encoding) -> Option<u16> {
    match expr.operations(encoding).next() {
        Ok(Some(gimli::Operation::Register { register })) => Some(register.0),
        _ => None,
    }
}

/// Whether the ranges in `covered` (sorted here) leave some byte of `spans` uncovered.
fn leaves_gaps(spans: &[(u64, u64)], covered: &mut [(u64, u64)]) -> bool {
    covered.sort_unstable();
    spans.iter().any(|&(begin, end)| {
        let mut at = begin;
        for &(cb, ce) in covered.iter() {
            if ce <= at || cb >= end {
                continue;
            }
            if cb > at {
                break;
            }
            at = ce;
            if at >= end {
                break;
            }
        }
        at < end
    })
}

/// `N` when the expression is exactly `DW_OP_fbreg N`.
fn single_fbreg(expr: gimli::Expression<Reader<'_>>, encoding: gimli::Encoding) -> Option<i64> {
    let mut ops = expr.operations(encoding);
    match (ops.next(), ops.next()) {
        (Ok(Some(gimli::Operation::FrameOffset { offset })), Ok(None)) => Some(offset),
        _ => None,
    }
}

/// Classifies a location expression by its first operation.
/// The bytes a composite location (`DW_OP_piece`s) describes, present or not; `None` when the
/// expression has no piece.
fn pieces_total(expr: gimli::Expression<Reader<'_>>, encoding: gimli::Encoding) -> Option<u64> {
    let mut ops = expr.operations(encoding);
    let mut total = None;
    while let Ok(Some(op)) = ops.next() {
        if let gimli::Operation::Piece { size_in_bits, .. } = op {
            total = Some(total.unwrap_or(0) + size_in_bits / 8);
        }
    }
    total
}

/// A location expression as readable DWARF operations, for reports.
fn describe(expr: gimli::Expression<Reader<'_>>, encoding: gimli::Encoding) -> String {
    let mut ops = expr.operations(encoding);
    let mut out = Vec::new();
    loop {
        match ops.next() {
            Ok(Some(op)) => out.push(match op {
                gimli::Operation::Register { register } => format!("DW_OP_reg{}", register.0),
                gimli::Operation::Piece { size_in_bits, bit_offset: None } if size_in_bits % 8 == 0 => format!("DW_OP_piece {}", size_in_bits / 8),
                gimli::Operation::FrameOffset { offset } => format!("DW_OP_fbreg {offset}"),
                gimli::Operation::RegisterOffset { register, offset, .. } => format!("DW_OP_breg{} {offset}", register.0),
                gimli::Operation::StackValue => "DW_OP_stack_value".into(),
                gimli::Operation::EntryValue { expression } => format!("DW_OP_entry_value({})", describe(gimli::Expression(expression), encoding)),
                other => format!("{other:?}"),
            }),
            Ok(None) => break,
            Err(e) => {
                out.push(format!("<unreadable: {e}>"));
                break;
            }
        }
    }
    if out.is_empty() {
        "empty location (optimized out)".into()
    } else {
        out.join(", ")
    }
}

fn classify(expr: gimli::Expression<Reader<'_>>, encoding: gimli::Encoding) -> EntryLocation {
    // A composite with an empty piece (a DW_OP_piece with no location before it) is Partial.
    let mut ops = expr.clone().operations(encoding);
    let mut located = false;
    while let Ok(Some(op)) = ops.next() {
        match op {
            gimli::Operation::Piece { .. } => {
                if !located {
                    return EntryLocation::Partial;
                }
                located = false;
            }
            _ => located = true,
        }
    }
    let mut ops = expr.operations(encoding);
    match ops.next() {
        Ok(Some(gimli::Operation::Register { register })) => EntryLocation::Register(register.0),
        Ok(Some(
            gimli::Operation::FrameOffset { .. }
            | gimli::Operation::RegisterOffset { .. }
            | gimli::Operation::CallFrameCFA,
        )) => EntryLocation::Stack,
        // DW_OP_entry_value(DW_OP_regN): "the value regN had on entry" — at entry, that is regN.
        Ok(Some(gimli::Operation::EntryValue { expression })) => {
            match gimli::Expression(expression).operations(encoding).next() {
                Ok(Some(gimli::Operation::Register { register })) => {
                    EntryLocation::Register(register.0)
                }
                _ => EntryLocation::Other,
            }
        }
        Ok(Some(
            gimli::Operation::UnsignedConstant { .. }
            | gimli::Operation::SignedConstant { .. }
            | gimli::Operation::ImplicitValue { .. },
        )) => EntryLocation::Constant,
        Ok(Some(gimli::Operation::ParameterRef { .. })) => EntryLocation::NotPassed,
        Ok(None) => EntryLocation::None,
        _ => EntryLocation::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::Signature;

    fn sig(ret: &str, params: &[&str], variadic: bool) -> Signature {
        Signature { ret: ret.into(), params: params.iter().map(|p| p.to_string()).collect(), variadic }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        use crate::Error;
        assert!(matches!(super::read(b"not an ELF file"), Err(Error::Elf(_))));
        let missing = std::path::Path::new("/nonexistent/btfsmith-facts-test.o");
        let err = super::read_file(missing).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert_eq!(err.to_string(), "reading /nonexistent/btfsmith-facts-test.o");
        // An object with code but no DWARF.
        let mut obj = object::write::Object::new(object::BinaryFormat::Elf, object::Architecture::X86_64, object::Endianness::Little);
        let text = obj.section_id(object::write::StandardSection::Text);
        obj.append_section_data(text, &[0xc3], 1);
        let bytes = obj.write().unwrap();
        assert!(matches!(super::read(&bytes), Err(Error::NoDebugInfo)));
        assert_eq!(Error::NoDebugInfo.to_string(), "no .debug_info: compile with -g");
    }

    #[test]
    fn a_location_list_has_gaps_where_no_entry_covers_the_code() {
        let gaps = |spans: &[(u64, u64)], covered: &[(u64, u64)]| super::leaves_gaps(spans, &mut covered.to_vec());
        assert!(!gaps(&[(0, 10)], &[(4, 10), (0, 4)]));
        assert!(!gaps(&[(0, 10)], &[(0, 6), (3, 12)]));
        assert!(gaps(&[(0, 10)], &[(0, 4), (6, 10)]));
        assert!(gaps(&[(0, 10)], &[(0, 9)]));
        // A hot/cold split: the cold range is code too.
        assert!(gaps(&[(0, 10), (100, 120)], &[(0, 10)]));
        assert!(!gaps(&[(0, 10), (100, 120)], &[(0, 10), (100, 120)]));
    }

    #[test]
    fn a_declared_aggregate_agrees_with_any_size_of_the_same_name() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(super::shapes_agree(&v(&["*struct ctx/?", "int"]), &v(&["*struct ctx/16", "int"])));
        assert!(super::shapes_agree(&v(&["*struct ctx/16"]), &v(&["*struct ctx/?"])));
        assert!(!super::shapes_agree(&v(&["*struct ctx/8"]), &v(&["*struct ctx/16"])));
        assert!(!super::shapes_agree(&v(&["*struct ctx/?"]), &v(&["*struct other/16"])));
        assert!(!super::shapes_agree(&v(&["*fn(int)->long"]), &v(&["*fn(int,long)->long"])));
        assert!(super::shapes_agree(&v(&["long"]), &v(&["long"])));
    }

    #[test]
    fn signatures_compare_as_types_and_render_like_c() {
        let a = sig("char *", &["struct node *", "struct node *"], false);
        assert_eq!(a.render("pick.constprop.0"), "char *pick.constprop.0(struct node *, struct node *)");
        assert_eq!(a.difference(&a.clone()), None);
        assert_eq!(sig("long", &[], false).render("f"), "long f(void)");
        assert_eq!(sig("int", &["int"], true).render("f"), "int f(int, ...)");
    }

    #[test]
    fn a_difference_names_what_differs() {
        let claimed = sig("long", &["int", "long"], false);
        let d = |truth: Signature| claimed.difference(&truth).unwrap();
        assert_eq!(d(sig("int", &["int", "long"], false)), "the return type is `long` in the FUNC, `int` in the body");
        assert_eq!(d(sig("long", &["int", "int"], false)), "parameter 1 is `long` in the FUNC, `int` in the body");
        assert_eq!(d(sig("long", &["int"], false)), "the FUNC has 2 parameters, the body 1");
        assert_eq!(d(sig("long", &["int", "long"], true)), "variadic in the body only");
    }
}
