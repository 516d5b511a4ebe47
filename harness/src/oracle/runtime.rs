//! The runtime oracle: verdicts from what the guest saw. Per FUNC, was the right function
//! entered and did the tracer read the arguments the trigger really passed?
//!
//! The guest run itself is an execution stage ([`crate::vm::Runner`]); this oracle only judges
//! its evidence ([`crate::vm::ModuleRun`]), like the static oracles judge an encoding. Its
//! verdicts are ordinary [`Verdict`]s: findings, replay, report and gate treat them alike.
//!
//! - The address the probe was entered from (`bpf_get_func_ip`) is mapped back to the `.ko`: the
//!   guest reports where each section was loaded (`/sys/module/<m>/sections`), so
//!   `ip - base(section)` is an offset in that section, and the DWARF instance whose entry is
//!   there is the function that really ran.
//! - The FUNC stands for the instances whose DWARF signature is the FUNC's. Entering another one
//!   is WRONG_FUNCTION (the seed's hazard: kallsyms' first same-name symbol wins).
//! - Arguments are read as the FUNC's prototype says (slot layout, size, signedness) and compared
//!   with the ground truth's values for that instance's calls. Pointers are compared for
//!   null-ness only; structs and unions of at most 16 bytes member by member (see
//!   [`Reader::Aggregate`]). Floats never get here: the 6.12 trampoline refuses a float argument
//!   or return value (UNSUPPORTED).
//! - The return value: where the host asked for fexit (a FUNC claiming a value, for a generated
//!   function that logs what it returns), the value read as the FUNC's return type says is
//!   compared with the log of the same trigger. A FUNC claiming `void` is never judged on it.
//!   Another value is WRONG_RETURN: `runtime:return-dropped` when the function that ran is a
//!   clone whose calling convention the compiler changed (gcc's `.isra`, clang's
//!   `DW_CC_nocall`; both may remove the return value when no caller uses it),
//!   `runtime:return-misread` otherwise.

use super::{CaseRun, Oracle, Verdict, VerdictKind};
use crate::vm::guest::{Event, FuncResult, JobReport};
use crate::vm::{Case, Observation};
use btf::{Btf, TypeData, TypeId};
use generators::model::Value;
use std::fmt::Write as _;

/// The runtime oracle.
#[derive(Debug)]
pub struct Runtime;

impl Oracle for Runtime {
    fn name(&self) -> &'static str {
        "runtime"
    }

    /// Judges the guest's evidence for a module (nothing for a userspace build).
    fn check(&self, case: &CaseRun<'_>) -> Vec<Verdict> {
        let Some(run) = case.runtime else { return Vec::new() };
        let compiler = &case.build.compiler.name;
        run.observations.iter().flat_map(|o| judge_observation(&run.case, compiler, o)).collect()
    }
}

/// Every verdict about one configuration's BTF of one module.
pub fn judge_observation(case: &Case, compiler: &crate::names::CompilerName, o: &Observation) -> Vec<Verdict> {
    let v = |kind: VerdictKind, function: Option<String>, evidence: &str, detail: String| Verdict {
        oracle: "runtime".into(),
        kind,
        encoder: o.encoder.config.name.clone(),
        compiler: compiler.clone(),
        phenomenon: function.as_deref().map_or_else(|| "module".into(), |f| crate::rules::phenomenon(&case.facts, source_name(case, f))),
        function,
        evidence: evidence.into(),
        detail,
    };
    let mut out = Vec::new();
    let enc = match &o.encoded {
        Err(err) => return vec![v(VerdictKind::EncoderFailed, None, "runtime:embed-failed", format!("{}\n$ {}", err.detail, err.cmdline))],
        Ok(enc) => enc,
    };
    for (func, detail) in &o.crashes {
        // A FUNC with an __int128 parameter: the kernel's trampoline, not the encoder; a
        // mechanism of its own.
        let wide = func.as_ref().map(|&(id, _)| crate::rules::wide_int_params(&enc.btf, TypeId(id))).unwrap_or_default();
        let (evidence, note) = if wide.is_empty() {
            ("runtime:crash", String::new())
        } else {
            (
                "runtime:int128-trampoline",
                format!(
                    "\nknown kernel bug (6.12 x86 BPF trampoline): 16-byte integer parameter(s) {} take two argument slots but the trampoline reserves one each, so fentry overwrites the saved %rbp (then the return address) of the traced call",
                    wide.join(", ")
                ),
            )
        };
        out.push(v(VerdictKind::GuestCrash, func.as_ref().map(|(_, n)| n.clone()), evidence, format!("{detail}{note}")));
    }
    let Some(job) = &o.job else { return out };
    if let Some(e) = &job.insmod {
        out.push(v(VerdictKind::LoadRejected, None, "runtime:insmod", format!("insmod: {e}\n{}", job.kmsg.join("\n"))));
        return out;
    }
    if !job.btf {
        out.push(v(
            VerdictKind::LoadRejected,
            None,
            "runtime:module-btf-refused",
            format!("the module loaded without BTF (/sys/kernel/btf/{} missing): the kernel refused it\n{}", case.module, job.kmsg.join("\n")),
        ));
        return out;
    }
    for r in job.results.iter().filter(|r| !r.vmlinux) {
        let (evidence, kind, detail) = judge_func(case, job, &enc.btf, r);
        out.push(v(kind, Some(r.name.clone()), evidence, detail));
    }
    for (name, detail) in missed(case, &enc.btf) {
        out.push(v(VerdictKind::Missed, Some(name), "runtime:no-func", detail));
    }
    out
}

/// The source function a FUNC called `func` stands for: a FUNC named after a clone
/// (`f.isra.0`, true_signature) stands for `f`, whose instances the DWARF names.
fn source_name<'a>(case: &Case, func: &'a str) -> &'a str {
    if case.facts.instances(func).next().is_some() {
        func
    } else {
        func.split('.').next().unwrap_or(func)
    }
}

/// Section kinds whose functions are gone (init) or never run (exit) when the trigger fires.
fn is_init_exit(section: &str) -> bool {
    section.starts_with(".init.") || section.starts_with(".exit.")
}

impl Case {
    fn section_name(&self, index: usize) -> Option<&str> {
        self.sections
            .iter()
            .find(|(_, i)| *i == index)
            .map(|(n, _)| n.as_str())
    }

    /// True when every instance named `name` lives in .init/.exit text (and there is one).
    pub fn init_exit_only(&self, name: &str) -> bool {
        let mut any = false;
        for f in self.facts.instances(name) {
            any = true;
            let sec = self.section_name(facts::SectionAddress::unpack(f.entry).section).unwrap_or("");
            if !is_init_exit(sec) {
                return false;
            }
        }
        any
    }

    fn traceable(&self, entry: u64) -> bool {
        self.traceable
            .iter()
            .any(|&s| s >= entry && s - entry <= 16)
    }
}

/// Where a guest address lands in the `.ko`: (packed [`facts::SectionAddress`], section name).
fn locate(case: &Case, job: &JobReport, ip: u64) -> Option<(u64, String)> {
    let mut best: Option<(u64, &str)> = None;
    for (name, addr) in &job.sections {
        let Ok(base) = u64::from_str_radix(addr.trim_start_matches("0x"), 16) else {
            continue;
        };
        if base <= ip && best.is_none_or(|(b, _)| base > b) && name.contains("text") {
            best = Some((base, name));
        }
    }
    let (base, name) = best?;
    let index = case.sections.iter().find(|(n, _)| n == name)?.1;
    Some((facts::SectionAddress::new(index, ip - base).pack(), name.to_string()))
}

fn kallsym(job: &JobReport, ip: u64) -> String {
    job.kallsyms
        .iter()
        .find(|(a, t, _)| u64::from_str_radix(a, 16).ok() == Some(ip) && (t == "t" || t == "T"))
        .map_or_else(|| format!("{ip:#x}"), |(_, _, n)| n.clone())
}


/// How the tracer reads FUNC `func`'s return value (from %rax), when it is an integer, enum or
/// pointer; `None` for `void` and anything else.
fn return_reader(btf: &Btf, func: TypeId) -> Option<Reader> {
    let Some(TypeData::Func(f)) = btf.type_by_id(func).map(|t| &t.data) else {
        return None;
    };
    let Some(TypeData::FuncProto(p)) = btf.type_by_id(f.proto).map(|t| &t.data) else {
        return None;
    };
    if p.ret == TypeId(0) {
        return None;
    }
    match crate::rules::strip(btf, p.ret)? {
        TypeData::Int(i) if i.size <= 8 => Some(Reader::Int { size: i.size, signed: i.encoding.is_signed(), either: i.size == 1 }),
        TypeData::Enum(e) => Some(Reader::Int { size: e.size, signed: e.signed, either: true }),
        TypeData::Enum64(e) => Some(Reader::Int { size: e.size, signed: e.signed, either: true }),
        TypeData::Ptr(_) => Some(Reader::Ptr),
        _ => None,
    }
}

/// Whether `raw` (%rax at fexit), read by `reader`, is the value the function logged (`logged`:
/// the source value converted to 64 bits, sign-extended from a signed type). The log does not
/// say the source type's signedness, so either reading of it counts: a FUNC with the source's
/// return type always matches, and a lenient match only ever hides a finding.
fn return_matches(reader: &Reader, raw: u64, logged: u64) -> bool {
    let wants = [i128::from(logged as i64), i128::from(logged)];
    match reader {
        Reader::Int { size, signed, either } => {
            wants.contains(&read_int(raw, *size, *signed)) || (*either && wants.contains(&read_int(raw, *size, !*signed)))
        }
        Reader::Ptr => raw == logged,
        _ => false,
    }
}

/// What the return values of one FUNC's hits say.
#[derive(Debug, PartialEq, Eq)]
enum ReturnCheck {
    /// Not judged (why).
    NotJudged(String),
    /// Every hit read the value its invocation logged (the number of hits).
    Right(usize),
    /// A hit read a value no invocation of the function logged: (value read, the logged values).
    Wrong(u64, Vec<u64>),
}

/// Compares the return values read at fexit (`reads`, one per hit, in order) with the values
/// the function logged during the same trigger (`logged`). Judged only when every hit has a
/// value and there are exactly as many hits as logged returns (an inlined call site, a clone
/// or a lost event would break the pairing); the comparison is then as multisets, so that the
/// order of the two lists does not matter.
fn compare_returns(reader: &Reader, reads: &[Option<u64>], logged: &[u64]) -> ReturnCheck {
    if reads.is_empty() {
        return ReturnCheck::NotJudged("no hit".into());
    }
    if reads.len() != logged.len() {
        return ReturnCheck::NotJudged(format!("{} hit(s) but {} logged return(s)", reads.len(), logged.len()));
    }
    let Some(reads) = reads.iter().copied().collect::<Option<Vec<u64>>>() else {
        return ReturnCheck::NotJudged("a hit without a return value".into());
    };
    let mut unused: Vec<u64> = logged.to_vec();
    for raw in &reads {
        match unused.iter().position(|&w| return_matches(reader, *raw, w)) {
            Some(i) => {
                unused.swap_remove(i);
            }
            None => return ReturnCheck::Wrong(*raw, logged.to_vec()),
        }
    }
    ReturnCheck::Right(reads.len())
}

/// Judges the return values FUNC `r` read, when the host asked for fexit and the function that
/// ran (`hit`) logged its returns during the same trigger.
fn check_return(case: &Case, btf: &Btf, r: &FuncResult, hit: &facts::dwarf::FunctionInstance) -> ReturnCheck {
    let Some(reader) = return_reader(btf, TypeId(r.id)) else {
        return ReturnCheck::NotJudged("the FUNC claims no integer or pointer return value".into());
    };
    if !r.exit {
        return ReturnCheck::NotJudged("probed at fentry".into());
    }
    let Some(id) = case.expected.return_log_id(&hit.name, basename(&hit.cu)) else {
        return ReturnCheck::NotJudged(format!("{} does not log its returns", hit.name));
    };
    let log = match r.returns.as_deref().map(crate::vm::guest::ReturnLog::parse) {
        None => return ReturnCheck::NotJudged("the module showed no returns log".into()),
        Some(Err(e)) => return ReturnCheck::NotJudged(e),
        Some(Ok(log)) => log,
    };
    if !log.complete {
        return ReturnCheck::NotJudged("the returns log overflowed".into());
    }
    if r.events.len() != r.hits {
        return ReturnCheck::NotJudged(format!("{} hits, {} kept", r.hits, r.events.len()));
    }
    let logged: Vec<u64> = log.records.iter().filter(|(f, _)| *f == id).map(|(_, v)| *v).collect();
    let reads: Vec<Option<u64>> = r.events.iter().map(Event::ret).collect();
    compare_returns(&reader, &reads, &logged)
}

/// How the tracer reads one parameter.
#[derive(Debug, Clone)]
enum Reader {
    Int {
        size: u32,
        signed: bool,
        either: bool,
    },
    Ptr,
    /// A struct or union of at most 16 bytes whose members are all naturally aligned integers,
    /// enums or pointers (no bitfield): the SysV ABI passes it in one or two general registers
    /// (class INTEGER), and the trampoline saves those as one or two argument slots, so each
    /// member's bytes sit at its offset in the slots. Anything else (floats: SSE registers; an
    /// unaligned member: class MEMORY) is not compared.
    Aggregate {
        /// Byte size.
        size: u32,
        /// (member name, byte offset, byte size, signed, pointer).
        members: Vec<(String, u32, u32, bool, bool)>,
    },
    Opaque,
}

/// The reader of a struct or union argument, when its bytes can be compared (see
/// [`Reader::Aggregate`]).
fn aggregate_reader(btf: &Btf, c: &btf::types::Composite, union: bool) -> Option<Reader> {
    if c.size == 0 || c.size > 16 {
        return None;
    }
    let mut members = Vec::new();
    // A union's ground truth holds its first member only.
    for m in c.members.iter().take(if union { 1 } else { usize::MAX }) {
        if m.bitfield_size != 0 || m.bit_offset % 8 != 0 {
            return None;
        }
        let (size, signed, pointer) = match crate::rules::strip(btf, m.ty)? {
            TypeData::Int(i) if u32::from(i.bits) == i.size * 8 && i.bit_offset == 0 && i.size <= 8 => (i.size, i.encoding.is_signed(), false),
            TypeData::Enum(e) => (e.size, e.signed, false),
            TypeData::Enum64(e) => (e.size, e.signed, false),
            TypeData::Ptr(_) => (8, false, true),
            _ => return None,
        };
        let offset = m.bit_offset / 8;
        if size == 0 || offset % size != 0 || offset + size > c.size {
            return None;
        }
        members.push((btf.str(m.name).to_string(), offset, size, signed, pointer));
    }
    (!members.is_empty()).then_some(Reader::Aggregate { size: c.size, members })
}

/// Slot index, reader and name of each parameter of FUNC `func`.
fn readers(btf: &Btf, func: TypeId) -> Vec<(usize, Reader, String)> {
    let Some(TypeData::Func(f)) = btf.type_by_id(func).map(|t| &t.data) else {
        return Vec::new();
    };
    let Some(TypeData::FuncProto(p)) = btf.type_by_id(f.proto).map(|t| &t.data) else {
        return Vec::new();
    };
    let mut slot = 0;
    let mut out = Vec::new();
    for prm in &p.params {
        let (reader, slots) = match crate::rules::strip(btf, prm.ty) {
            // Plain `char` is encoded without the SIGNED bit (as the kernel's own BTF does), so a
            // one-byte integer is read either way.
            Some(TypeData::Int(i)) => (
                Reader::Int {
                    size: i.size,
                    signed: i.encoding.is_signed(),
                    either: i.size == 1,
                },
                1,
            ),
            Some(TypeData::Enum(e)) => (
                Reader::Int {
                    size: e.size,
                    signed: e.signed,
                    either: true,
                },
                1,
            ),
            Some(TypeData::Enum64(e)) => (
                Reader::Int {
                    size: e.size,
                    signed: e.signed,
                    either: true,
                },
                1,
            ),
            Some(TypeData::Ptr(_)) => (Reader::Ptr, 1),
            Some(TypeData::Struct(c)) => (aggregate_reader(btf, c, false).unwrap_or(Reader::Opaque), (c.size as usize).div_ceil(8).max(1)),
            Some(TypeData::Union(c)) => (aggregate_reader(btf, c, true).unwrap_or(Reader::Opaque), (c.size as usize).div_ceil(8).max(1)),
            _ => (Reader::Opaque, 1),
        };
        out.push((slot, reader, btf.str(prm.name).to_string()));
        slot += slots;
    }
    out
}

fn read_int(raw: u64, size: u32, signed: bool) -> i128 {
    let bits = size.clamp(1, 8) * 8;
    let v = if bits == 64 {
        raw
    } else {
        raw & ((1u64 << bits) - 1)
    };
    if signed && bits < 64 && v >> (bits - 1) & 1 == 1 {
        i128::from(v) - (1i128 << bits)
    } else if signed && bits == 64 {
        i128::from(v as i64)
    } else {
        i128::from(v)
    }
}

/// Compares a struct or union argument read from its slots (`(first, second)`; the second is 0
/// for one slot) with the recorded member values: `Some(equal)` over the members both know, or
/// `None` when none is comparable.
fn compare_aggregate(members: &[(String, u32, u32, bool, bool)], slots: Option<(u64, u64)>, want: &Value) -> Option<bool> {
    let Value::Fields(fields) = want else { return None };
    let mut bytes = [0u8; 16];
    let Some((a, b)) = slots else { return Some(false) };
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    let mut any = false;
    for (name, offset, size, signed, pointer) in members {
        let Some((_, v)) = fields.iter().find(|(n, _)| n == name) else { continue };
        let mut word = [0u8; 8];
        word[..*size as usize].copy_from_slice(&bytes[*offset as usize..(*offset + *size) as usize]);
        let raw = u64::from_le_bytes(word);
        let same = match (v, pointer) {
            (Value::Int(i), false) => read_int(raw, *size, *signed) == *i || read_int(raw, *size, !*signed) == *i,
            (Value::Null, _) => raw == 0,
            (Value::Ptr(_) | Value::FnAddr(_), true) => raw != 0,
            _ => continue,
        };
        if !same {
            return Some(false);
        }
        any = true;
    }
    any.then_some(true)
}

/// Compares one parameter: `Some(equal)` or `None` when not comparable.
fn compare(reader: &Reader, raw: Option<u64>, want: &Value) -> Option<bool> {
    let raw = match (reader, raw) {
        (Reader::Opaque, _) => return None,
        (_, None) => return Some(false),
        (_, Some(r)) => r,
    };
    match (reader, want) {
        (
            Reader::Int {
                size,
                signed,
                either,
            },
            Value::Int(v),
        ) => {
            let a = read_int(raw, *size, *signed);
            let b = read_int(raw, *size, !*signed);
            Some(a == *v || (*either && b == *v))
        }
        (Reader::Int { .. }, Value::Null) => Some(raw == 0),
        (Reader::Ptr, Value::Null) => Some(raw == 0),
        (Reader::Ptr, Value::Ptr(_) | Value::FnAddr(_)) => Some(raw != 0),
        (Reader::Ptr, Value::Int(v)) => Some(i128::from(raw) == *v),
        _ => None,
    }
}

/// How a hit compares with a recorded call: (equal, different) comparable parameters. A FUNC
/// parameter is matched with the source parameter of the same name when the call knows the
/// names (a clone's FUNC keeps only some parameters), else by position.
fn score(
    readers: &[(usize, Reader, String)],
    e: &Event,
    call: &crate::vm::ExpectedCall,
) -> (usize, usize) {
    let (mut eq, mut ne) = (0, 0);
    for (i, (slot, r, name)) in readers.iter().enumerate() {
        let idx = if call.params.is_empty() || name.is_empty() {
            Some(i)
        } else {
            call.params.iter().position(|p| &p.name == name)
        };
        let Some(want) = idx.and_then(|k| call.args.get(k)) else {
            continue;
        };
        let raw = if (*slot as i64) < e.nargs {
            e.arg(*slot)
        } else {
            None
        };
        let verdict = match r {
            Reader::Aggregate { size, members } => {
                let second = if *size > 8 && ((*slot + 1) as i64) < e.nargs { e.arg(*slot + 1) } else if *size > 8 { None } else { Some(0) };
                compare_aggregate(members, raw.zip(second), want)
            }
            _ => compare(r, raw, want),
        };
        match verdict {
            Some(true) => eq += 1,
            Some(false) => ne += 1,
            None => {}
        }
    }
    (eq, ne)
}

fn show_event(e: &Event) -> String {
    format!(
        "({})",
        e.args
            .iter()
            .map(|a| format!("0x{a}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn show_value(x: &Value) -> String {
    match x {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f}"),
        Value::Null => "NULL".into(),
        Value::FnAddr(n) => format!("&{n}"),
        Value::Ptr(_) => "&(...)".into(),
        // A by-value struct's members are what the tracer's reading is compared with.
        Value::Fields(fields) => format!("{{{}}}", fields.iter().map(|(n, v)| format!(".{n} = {}", show_value(v))).collect::<Vec<_>>().join(", ")),
        Value::Elems(_) => "[...]".into(),
    }
}

fn show_values(v: &[Value]) -> String {
    let parts: Vec<String> = v.iter().map(show_value).collect();
    format!("({})", parts.join(", "))
}

/// Judges one FUNC's result: (mechanism, kind, detail).
pub fn judge_func(case: &Case, job: &JobReport, btf: &Btf, r: &FuncResult) -> (&'static str, VerdictKind, String) {
    let id = TypeId(r.id);
    let shown = btf::render::func_prototype(btf, id).unwrap_or_else(|| r.name.clone());
    match r.status.as_str() {
        "attached" => {}
        _ => {
            let err = r.error.as_deref().unwrap_or("");
            // The agent's own limits (fds, memory) say nothing about the BTF.
            if err.contains("(os error 24)")
                || err.contains("(os error 12)")
                || err.contains("(os error 23)")
            {
                return (
                    "runtime:agent-limits", VerdictKind::Unchecked,
                    format!(
                        "FUNC [{}] {shown}: the agent ran out of resources: {err}",
                        r.id
                    ),
                );
            }
            let unsupported = ["is unsupported", "with variable args", "Too many"]
                .iter()
                .any(|m| err.contains(m));
            return (
                if unsupported { "runtime:trampoline-limits" } else { "runtime:attach-refused" },
                if unsupported {
                    VerdictKind::Unsupported
                } else {
                    VerdictKind::Unattachable
                },
                format!("FUNC [{}] {shown}: {}: {err}", r.id, r.status),
            );
        }
    }
    if let Some(t) = &r.trigger {
        return (
            "runtime:trigger-failed", VerdictKind::Unchecked,
            format!("FUNC [{}] {shown}: trigger failed: {t}", r.id),
        );
    }
    if r.events.is_empty() {
        return (
            "runtime:not-entered", VerdictKind::Unchecked,
            format!(
                "FUNC [{}] {shown}: attached, but the trigger never entered it",
                r.id
            ),
        );
    }
    let claimed = facts::dwarf::Signature::of_btf_func(btf, id);
    let intended: Vec<&facts::dwarf::FunctionInstance> = case
        .facts
        .instances(&r.name)
        .filter(|f| Some(&f.sig) == claimed.as_ref())
        .collect();
    // The instance that really ran (all hits of one probe enter one address).
    let ip = r.events[0].ip();
    let Some((at, section)) = locate(case, job, ip) else {
        return (
            "runtime:outside-module-text", VerdictKind::WrongFunction,
            format!(
                "FUNC [{}] {shown}: entered {} ({ip:#x}), outside the module's text",
                r.id,
                kallsym(job, ip)
            ),
        );
    };
    let Some(hit) = case.facts.instance_at(at) else {
        return ("runtime:not-a-function-entry", VerdictKind::WrongFunction, format!("FUNC [{}] {shown}: entered {} at {section}+{:#x}, which is no function's entry in the DWARF", r.id, kallsym(job, ip), facts::SectionAddress::unpack(at).offset));
    };
    if !intended.is_empty() && !intended.iter().any(|f| f.entry == hit.entry) {
        let list: Vec<String> = intended
            .iter()
            .map(|f| format!("{} ({})", f.prototype, f.cu))
            .collect();
        return (
            "runtime:other-instance", VerdictKind::WrongFunction,
            format!(
                "FUNC [{}] {shown}\nbut the probe entered {} in {} ({}; bpf_get_func_ip {ip:#x}); the FUNC describes {}",
                r.id,
                hit.symbols.first().cloned().unwrap_or_else(|| kallsym(job, ip)),
                hit.cu,
                hit.prototype,
                list.join(", ")
            ),
        );
    }
    let args = judge_args(case, btf, r, hit, &shown);
    match check_return(case, btf, r, hit) {
        // Arguments misread: the prototype is off, whatever the return value says.
        ReturnCheck::Wrong(..) if args.1 == VerdictKind::WrongArgs => args,
        ReturnCheck::Wrong(read, logged) => {
            let changed = hit.nocall || hit.clone_suffixes().iter().any(|s| s == "isra");
            let symbol = hit.symbols.first().cloned().unwrap_or_else(|| hit.name.clone());
            let shown_logged: Vec<String> = logged.iter().map(|v| format!("{:#x}", v)).collect();
            let detail = format!(
                "FUNC [{}] {shown} in {}\nthe function returned (its log, same trigger) {}\nthe tracer read %rax = {read:#x} at fexit ({} hits)",
                r.id,
                hit.cu,
                shown_logged.join(", "),
                r.hits
            );
            if changed {
                let how = if hit.nocall { "DW_CC_nocall: clang changed how it is called" } else { "a gcc IPA-SRA clone" };
                ("runtime:return-dropped", VerdictKind::WrongReturn, format!("{detail}\nthe function that ran, {symbol}, is {how}; no caller uses its result, so its return value can be removed while DWARF keeps the source return type {}", hit.ret))
            } else {
                ("runtime:return-misread", VerdictKind::WrongReturn, detail)
            }
        }
        ReturnCheck::Right(n) if args.1 == VerdictKind::WrongArgs => (args.0, args.1, format!("{}\nthe return value read right ({n} hit(s))", args.2)),
        ReturnCheck::Right(n) => (args.0, args.1, format!("{}; return value read right ({n} hit(s))", args.2)),
        // Probed at fexit for its return value: say why it was not judged after all.
        ReturnCheck::NotJudged(why) if r.exit => (args.0, args.1, format!("{}; return value not judged: {why}", args.2)),
        ReturnCheck::NotJudged(_) => args,
    }
}

/// Judges the arguments FUNC `r` read in the right function `hit`: (mechanism, kind, detail).
fn judge_args(case: &Case, btf: &Btf, r: &FuncResult, hit: &facts::dwarf::FunctionInstance, shown: &str) -> (&'static str, VerdictKind, String) {
    let id = TypeId(r.id);
    // Arguments: the recorded calls of the instance that ran.
    let tu = basename(&hit.cu);
    let calls: Vec<&crate::vm::ExpectedCall> = case
        .expected
        .calls
        .iter()
        .filter(|c| c.name == hit.name && c.tu == tu)
        .collect();
    let rd = readers(btf, id);
    let comparable = rd.iter().any(|(_, r, _)| !matches!(r, Reader::Opaque));
    if !comparable {
        return (
            "runtime:nothing-to-compare", VerdictKind::Safe,
            format!(
                "FUNC [{}] {shown}: right function ({} hits); no argument to compare",
                r.id, r.hits
            ),
        );
    }
    if calls.is_empty() {
        return (
            "runtime:no-recorded-call", VerdictKind::Unchecked,
            format!(
                "FUNC [{}] {shown}: entered {} in {} {} time(s); no recorded call to compare",
                r.id, hit.name, hit.cu, r.hits
            ),
        );
    }
    let mut matched = 0;
    let mut near_miss = None;
    for c in &calls {
        let mut best: Option<(usize, usize, &Event)> = None;
        for e in &r.events {
            let (eq, ne) = score(&rd, e, c);
            if best.is_none_or(|(beq, bne, _)| (eq, usize::MAX - ne) > (beq, usize::MAX - bne)) {
                best = Some((eq, ne, e));
            }
        }
        match best {
            Some((_, 0, _)) => matched += 1,
            Some((eq, _, e)) if eq > 0 && near_miss.is_none() => near_miss = Some((c, e)),
            _ => {}
        }
    }
    let internal = case
        .expected
        .internal
        .contains(&(hit.name.clone(), tu.to_string()));
    let describe = |c: &crate::vm::ExpectedCall, e: &Event| {
        let mut s = String::new();
        let _ = write!(s, "FUNC [{}] {shown} in {}\nthe trigger calls {}{}\nthe tracer read {} (nargs={}, {} hits)", r.id, hit.cu, c.name, show_values(&c.args), show_event(e), e.nargs, r.hits);
        s
    };
    if matched == calls.len() {
        return (
            "runtime:read-right", VerdictKind::Safe,
            format!(
                "FUNC [{}] {shown}: right function, {} recorded call(s) read correctly",
                r.id,
                calls.len()
            ),
        );
    }
    if let Some((c, e)) = near_miss {
        return ("runtime:args-misread", VerdictKind::WrongArgs, describe(c, e));
    }
    if matched == 0 && !internal && r.hits >= calls.len() {
        return ("runtime:args-misread", VerdictKind::WrongArgs, describe(calls[0], &r.events[0]));
    }
    if matched > 0 {
        return ("runtime:read-right", VerdictKind::Safe, format!("FUNC [{}] {shown}: right function; {matched} of {} recorded calls seen, all read correctly", r.id, calls.len()));
    }
    ("runtime:no-matching-call", VerdictKind::Unchecked, format!("FUNC [{}] {shown}: {} hit(s) match none of the {} recorded call(s) (internal calls or call sites redirected to a clone)", r.id, r.hits, calls.len()))
}

/// Functions the kernel could trace (an exact symbol with an ftrace site, DWARF, not init/exit
/// code) that have no FUNC: a tracer cannot attach to them by name. The detail says whether the
/// function could have been described safely (one prototype, arguments arriving as it says).
pub fn missed(case: &Case, btf: &Btf) -> Vec<(String, String)> {
    let have: std::collections::BTreeSet<&str> = btf
        .own_types()
        .iter()
        .filter(|t| matches!(t.data, TypeData::Func(_)))
        .map(|t| btf.str(t.name))
        .collect();
    let safe: std::collections::BTreeSet<String> =
        crate::rules::safely_encodable(&case.facts)
            .into_iter()
            .collect();
    let names: std::collections::BTreeSet<&str> = case
        .facts
        .functions
        .iter()
        .filter(|f| f.has_exact_symbol())
        .map(|f| f.name.as_str())
        .collect();
    let mut out = Vec::new();
    for name in names {
        if have.contains(name) || case.init_exit_only(name) {
            continue;
        }
        let Some(sym) = case.facts.attach_target(name) else {
            continue;
        };
        let Some(f) = case.facts.instance_at(sym.address) else {
            continue;
        };
        if !case.traceable(f.entry) {
            continue;
        }
        let n = case
            .facts
            .instances(name)
            .filter(|f| f.has_exact_symbol())
            .count();
        let why = if safe.contains(name) {
            "it could have been described safely".to_string()
        } else if n > 1 {
            format!("not safely describable: {n} functions carry the name")
        } else {
            "not safely describable: its arguments do not arrive as its prototype says".to_string()
        };
        out.push((
            name.to_string(),
            format!(
                "{} ({}) is traceable but has no FUNC; {why}",
                f.prototype, f.cu
            ),
        ));
    }
    out
}

/// The file name of a DWARF compilation unit (`dir/tu0.c` → `tu0.c`).
pub fn basename(cu: &str) -> &str {
    cu.rsplit('/').next().unwrap_or(cu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_reading() {
        assert_eq!(read_int(0xffff_fffb, 4, true), -5);
        assert_eq!(read_int(0x1_0000_0005, 4, true), 5);
        assert_eq!(read_int(0xffff_fffb, 8, true), 0xffff_fffb);
        assert_eq!(read_int(u64::MAX, 8, true), -1);
        assert_eq!(read_int(u64::MAX, 8, false), i128::from(u64::MAX));
        assert_eq!(read_int(0x1ff, 1, false), 255);
    }

    #[test]
    fn comparing() {
        let int = Reader::Int {
            size: 4,
            signed: true,
            either: false,
        };
        assert_eq!(
            compare(&int, Some(0xffff_fffb), &Value::Int(-5)),
            Some(true)
        );
        let long = Reader::Int {
            size: 8,
            signed: true,
            either: false,
        };
        assert_eq!(
            compare(&long, Some(0xffff_fffb), &Value::Int(-5)),
            Some(false)
        );
        assert_eq!(compare(&Reader::Ptr, Some(0), &Value::Null), Some(true));
        assert_eq!(
            compare(
                &Reader::Ptr,
                Some(0xffff_8880_0000_0000),
                &Value::Ptr(Box::new(Value::Int(1)))
            ),
            Some(true)
        );
        assert_eq!(compare(&Reader::Opaque, Some(1), &Value::Int(1)), None);
        assert_eq!(compare(&int, None, &Value::Int(1)), Some(false));
    }

    #[test]
    fn comparing_small_structs() {
        // struct { int a; short b; long c; }: a at 0, b at 4, c in the second slot.
        let members = vec![("a".to_string(), 0, 4, true, false), ("b".to_string(), 4, 2, true, false), ("c".to_string(), 8, 8, true, false)];
        let want = Value::Fields(vec![("a".into(), Value::Int(-5)), ("b".into(), Value::Int(7)), ("c".into(), Value::Int(1 << 40))]);
        let first = u64::from(-5i32 as u32) | (7u64 << 32) | (0xdead_u64 << 48);
        assert_eq!(compare_aggregate(&members, Some((first, 1 << 40)), &want), Some(true), "padding bytes are ignored");
        assert_eq!(compare_aggregate(&members, Some((first, 1 << 41)), &want), Some(false));
        assert_eq!(compare_aggregate(&members, None, &want), Some(false), "no slot read: wrong");
        // Nothing known to compare: not comparable.
        let other = Value::Fields(vec![("z".into(), Value::Int(1))]);
        assert_eq!(compare_aggregate(&members, Some((first, 0)), &other), None);
        assert_eq!(compare_aggregate(&members, Some((first, 0)), &Value::Int(3)), None);
    }

    #[test]
    fn comparing_return_values() {
        let int = Reader::Int { size: 4, signed: true, either: false };
        let uint = Reader::Int { size: 4, signed: false, either: false };
        let long = Reader::Int { size: 8, signed: true, either: false };
        // An int function returned -5: logged sign-extended; %rax's upper half is not the
        // value's (here: zero, as after `mov %edi,%eax`).
        let minus5 = (-5i64) as u64;
        assert!(return_matches(&int, 0x0000_0000_ffff_fffb, minus5));
        assert!(!return_matches(&long, 0x0000_0000_ffff_fffb, minus5), "a FUNC claiming long reads the garbage half too");
        assert!(return_matches(&long, minus5, minus5));
        // An unsigned int 4294967291 is logged zero-extended: the same low bytes read as int are
        // -5, which is neither reading of the log.
        assert!(return_matches(&uint, 0xffff_fffb, 0xffff_fffb));
        assert!(!return_matches(&int, 0xffff_fffb, 0xffff_fffb));
        assert!(return_matches(&Reader::Ptr, 0, 0));
        assert!(!return_matches(&Reader::Ptr, 0xffff_8880_0000_1000, 0));

        // Pairing: as many hits as logged returns, compared as multisets.
        assert_eq!(compare_returns(&int, &[Some(7), Some(3)], &[3, 7]), ReturnCheck::Right(2));
        assert_eq!(compare_returns(&int, &[Some(7), Some(0xdead)], &[3, 7]), ReturnCheck::Wrong(0xdead, vec![3, 7]));
        // One logged value cannot stand for two hits.
        assert_eq!(compare_returns(&int, &[Some(7), Some(7)], &[3, 7]), ReturnCheck::Wrong(7, vec![3, 7]));
        assert!(matches!(compare_returns(&int, &[Some(7)], &[3, 7]), ReturnCheck::NotJudged(_)), "a call site the probe did not see");
        assert!(matches!(compare_returns(&int, &[Some(7), None], &[3, 7]), ReturnCheck::NotJudged(_)), "an fentry hit");
        assert!(matches!(compare_returns(&int, &[], &[]), ReturnCheck::NotJudged(_)));
    }
}
