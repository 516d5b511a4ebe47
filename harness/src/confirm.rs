//! Independent confirmation of register-level findings from the machine code, not the DWARF.
//!
//! The DWARF-truth oracle says where a parameter arrives from the DWARF. This module asks the
//! instructions (objdump's disassembly of the linked binary) the same question another way, for
//! the mechanisms where registers decide:
//! - `register:moved` / `clone:register-moved` (parameter i arrives in R, its position says A):
//!   confirmed when the callee reads R before writing it on its entry path (it consumes an input
//!   in R); refuted when it reads A before writing it and no parameter's DWARF location is A (it
//!   consumes an input in the register the harness said carries nothing of that parameter).
//! - `nocall:param-dropped` / `clone:param-not-passed` (nothing arrives in A for parameter i):
//!   refuted when the callee reads A before writing it and no parameter's DWARF location is A;
//!   confirmed when every direct caller reaches its call straight from its own entry (no branch
//!   or call between) without writing A, and receives no parameter in A itself.
//!
//! - `proto:other-instance` / `collision:inconsistent` (same-name bodies): binutils' `readelf -s`
//!   (a static symbol follows its unit's `FILE` symbol; `addr2line` for a global one) places the
//!   first symbol of the name (where the kernel attaches) and the others;
//!   refuted when the first is not the body the harness judged against, or (for a collision)
//!   when there is only one body.
//!
//! - `abi:sse-aggregate` / `stack-slot:*` (the trampoline reads an argument from another place
//!   than the ABI's): for the first misread parameter the ABI passes in a general register R,
//!   confirmed when the callee reads R before writing it; refuted when it reads the register the
//!   trampoline uses instead and no parameter's DWARF location is that register.
//!
//! Anything else, or code this reader does not follow (an unknown instruction before the answer,
//! no direct call site), is unconfirmable: it says nothing about the verdict. A refuted finding
//! is a harness bug.
//!
//! The analysis is deliberately small: the entry path is the straight-line code from the
//! function's first instruction up to its first branch, call or return; 32/64-bit register
//! writes count as writes, 8/16-bit writes as neither.

use facts::abi::reg_name;
use facts::dwarf::{EntryLocation, Facts, FunctionInstance};
use crate::process;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// What the second route said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The machine code shows the same thing.
    Confirmed,
    /// The machine code contradicts the verdict: a harness bug.
    Refuted,
    /// This route cannot tell.
    Unconfirmable,
}

/// The second route's answer with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// Confirmed, refuted or unconfirmable.
    pub status: Status,
    /// The instructions or the absence that decided it.
    pub how: String,
}

fn unconfirmable(how: impl Into<String>) -> Confirmation {
    Confirmation { status: Status::Unconfirmable, how: how.into() }
}

/// One disassembled instruction.
#[derive(Debug, Clone)]
struct Insn {
    /// Its address, as objdump prints it.
    addr: String,
    text: String,
    mnemonic: String,
    operands: Vec<String>,
}

/// The binary's disassembly: instructions per function symbol, in address order.
#[derive(Debug, Default)]
pub struct Disassembly {
    functions: HashMap<String, Vec<Insn>>,
    binary: Option<std::path::PathBuf>,
}

impl Disassembly {
    /// Disassembles `binary` with objdump (binutils).
    pub fn of(binary: &Path) -> Option<Disassembly> {
        let args = ["-d".to_string(), "--no-show-raw-insn".into(), "-M".into(), "att".into(), binary.display().to_string()];
        let r = process::run(process::command("objdump", &args, None), Duration::from_secs(60)).ok()?;
        if !r.success() {
            return None;
        }
        let mut functions: HashMap<String, Vec<Insn>> = HashMap::new();
        let mut current: Option<String> = None;
        for line in r.stdout_text().lines() {
            if let Some(name) = line.strip_suffix(">:").and_then(|l| l.split_once(" <")).map(|(_, n)| n.to_string()) {
                current = Some(name);
                continue;
            }
            let Some(name) = &current else { continue };
            let Some((addr, insn)) = line.split_once(":\t") else { continue };
            let insn = insn.split('#').next().unwrap_or("").trim();
            if insn.is_empty() {
                continue;
            }
            let (mnemonic, rest) = insn.split_once(char::is_whitespace).unwrap_or((insn, ""));
            functions.entry(name.clone()).or_default().push(Insn { addr: addr.trim().to_string(), text: insn.to_string(), mnemonic: mnemonic.to_string(), operands: split_operands(rest.trim()) });
        }
        Some(Disassembly { functions, binary: Some(binary.to_path_buf()) })
    }

    /// The first `n` instructions of `sym`, `address: instruction`, for reports.
    pub fn listing(&self, sym: &str, n: usize) -> Vec<String> {
        self.functions.get(sym).map_or_else(Vec::new, |code| code.iter().take(n).map(|i| format!("{}:\t{}", i.addr, i.text)).collect())
    }
}

/// Operands split at the commas outside parentheses.
fn split_operands(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// DWARF register number and width in bytes of an AT&T register name (`%edi` → (5, 4)).
fn register(name: &str) -> Option<(u16, u8)> {
    let n = name.strip_prefix('%')?;
    const LEGACY: [(&str, u16); 8] = [("ax", 0), ("dx", 1), ("cx", 2), ("bx", 3), ("si", 4), ("di", 5), ("bp", 6), ("sp", 7)];
    for (base, num) in LEGACY {
        if n == format!("r{base}") {
            return Some((num, 8));
        }
        if n == format!("e{base}") {
            return Some((num, 4));
        }
        if n == base {
            return Some((num, 2));
        }
    }
    match n {
        "al" => return Some((0, 1)),
        "dl" => return Some((1, 1)),
        "cl" => return Some((2, 1)),
        "bl" => return Some((3, 1)),
        "sil" => return Some((4, 1)),
        "dil" => return Some((5, 1)),
        "bpl" => return Some((6, 1)),
        "spl" => return Some((7, 1)),
        _ => {}
    }
    if let Some(rest) = n.strip_prefix("xmm") {
        return rest.parse::<u16>().ok().filter(|k| *k < 16).map(|k| (17 + k, 16));
    }
    let rest = n.strip_prefix('r')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let k: u16 = digits.parse().ok().filter(|k| (8..16).contains(k))?;
    let width = match &rest[digits.len()..] {
        "" => 8,
        "d" => 4,
        "w" => 2,
        "b" => 1,
        _ => return None,
    };
    Some((k, width))
}

/// Registers an operand mentions (a memory operand's base and index are read).
fn registers_in(op: &str) -> Vec<(u16, u8)> {
    op.split(|c: char| c == '(' || c == ')' || c == ',' || c == '*' || c.is_whitespace())
        .filter_map(|t| t.find('%').map(|i| &t[i..]))
        .filter_map(register)
        .collect()
}

/// How one instruction touches register `reg`: `Some(true)` read (before any write by it),
/// `Some(false)` a full write without reading it, `None` neither (or only a partial write).
/// `Err(())` for control transfers and instructions this reader does not model.
fn access(insn: &Insn, reg: u16) -> Result<Option<bool>, ()> {
    let m = insn.mnemonic.as_str();
    if m.starts_with('j') || m.starts_with("call") || m.starts_with("ret") || m == "ud2" || m == "hlt" {
        return Err(());
    }
    let ops = &insn.operands;
    let reads_in = |o: &String| registers_in(o).iter().any(|(r, _)| *r == reg);
    let is_reg = |o: &String| register(o).map(|(r, w)| (r == reg).then_some(w)).unwrap_or(None);
    // Zeroing idioms: xor %eax,%eax (and sub, pxor, xorps) write without reading.
    if ops.len() == 2 && ops[0] == ops[1] && matches!(m, "xor" | "sub" | "pxor" | "xorps" | "xorpd") {
        return Ok(if is_reg(&ops[1]).is_some() { Some(false) } else { None });
    }
    const WRITE_ONLY: &[&str] = &["mov", "movl", "movq", "movb", "movw", "movabs", "lea", "movzbl", "movzwl", "movzbw", "movsbl", "movswl", "movslq", "movsbq", "movswq", "movzbq", "movzwq", "movsbw", "cltq", "cqto", "cltd", "movd", "movaps", "movapd", "movdqa", "movdqu", "movups", "cvtsi2sd", "cvtsi2ss", "cvtsi2sdl", "cvtsi2sdq", "cvttsd2si", "cvttss2si", "pop", "popq"];
    const READ_WRITE: &[&str] = &["add", "sub", "and", "or", "xor", "adc", "sbb", "imul", "shl", "shr", "sar", "rol", "ror", "inc", "dec", "neg", "not", "addl", "addq", "subl", "subq", "andl", "andq", "orl", "orq", "xorl", "xorq", "imull", "imulq", "shll", "shlq", "shrl", "shrq", "sarl", "sarq", "incl", "incq", "decl", "decq", "negl", "negq", "notl", "notq", "xchg", "addsd", "addss", "subsd", "subss", "mulsd", "mulss", "divsd", "divss", "movss", "movsd"];
    const READ_ONLY: &[&str] = &["cmp", "cmpl", "cmpq", "cmpb", "cmpw", "test", "testl", "testq", "testb", "testw", "push", "pushq", "bt", "nop", "nopl", "nopw", "endbr64", "ucomisd", "ucomiss", "comisd", "comiss"];
    let base = m.trim_end_matches(['l', 'q', 'b', 'w']);
    let known = |list: &[&str]| list.contains(&m) || list.contains(&base);
    if m.starts_with("cmov") || m.starts_with("set") {
        // cmov writes only conditionally, set writes a byte: the register's value may survive.
        let src_read = ops.iter().take(ops.len().saturating_sub(1)).any(reads_in);
        return Ok(if src_read || ops.last().is_some_and(|d| is_reg(d).is_some() && m.starts_with("cmov")) { Some(true) } else { None });
    }
    if known(READ_ONLY) {
        return Ok(ops.iter().any(reads_in).then_some(true));
    }
    let Some((dst, srcs)) = ops.split_last() else {
        return if known(READ_ONLY) || m == "nop" { Ok(None) } else { Err(()) };
    };
    if srcs.iter().any(reads_in) {
        return Ok(Some(true));
    }
    // The destination: its memory operand's registers are read; a register destination is
    // written (fully only at 32 or 64 bits).
    if is_reg(dst).is_none() {
        return Ok(reads_in(dst).then_some(true));
    }
    let width = is_reg(dst).unwrap_or(0);
    if known(WRITE_ONLY) || (m == "imul" && ops.len() == 3) {
        return Ok(if width >= 4 { Some(false) } else { None });
    }
    if known(READ_WRITE) {
        return Ok(Some(true));
    }
    Err(())
}

/// The first access to `reg` on the entry path of `code`: `Some((true, insn))` a read,
/// `Some((false, insn))` a write, `None` when the path ends (or leaves what this reader models)
/// before touching it.
fn first_access(code: &[Insn], reg: u16) -> Option<(bool, String)> {
    for insn in code {
        match access(insn, reg) {
            Err(()) => return None,
            Ok(Some(read)) => return Some((read, insn.text.clone())),
            Ok(None) => {}
        }
    }
    None
}

/// The instance a verdict about `function` judged.
fn instance<'a>(facts: &'a Facts, function: &'a str) -> Option<&'a FunctionInstance> {
    if function.contains('.') {
        return facts.functions.iter().find(|f| f.symbols.iter().any(|s| s == function));
    }
    match facts.attach_target(function) {
        Some(sym) => facts.instance_at(sym.address),
        None => facts.instances(function).next(),
    }
}

/// Confirms (or not) one verdict's mechanism about `function` in the build's binary.
pub fn confirm(dis: &Disassembly, facts: &Facts, function: &str, mechanism: &str) -> Confirmation {
    let Some(f) = instance(facts, function) else { return unconfirmable("no out-of-line body for the function") };
    let Some(sym) = f.symbols.first() else { return unconfirmable("the body has no symbol") };
    let Some(code) = dis.functions.get(sym) else { return unconfirmable(format!("objdump shows no code for {sym}")) };
    let used_by_a_param = |reg: u16| f.params.iter().any(|p| p.location == EntryLocation::Register(reg));
    // Refutation: the callee consumes an input in `reg`, which (per the DWARF) holds no parameter.
    let refutes = |reg: u16| match first_access(code, reg) {
        Some((true, insn)) if !used_by_a_param(reg) => Some(Confirmation {
            status: Status::Refuted,
            how: format!("{sym} reads %{} before writing it (`{insn}`), yet no parameter's DWARF location is that register", reg_name(reg)),
        }),
        _ => None,
    };
    match mechanism {
        "register:moved" | "clone:register-moved" => {
            let Some(p) = f.params.iter().find(|p| matches!((p.location, p.abi_register), (EntryLocation::Register(r), Some(a)) if r != a)) else {
                return unconfirmable("no parameter in another register than its position's");
            };
            let (EntryLocation::Register(r), Some(a)) = (p.location, p.abi_register) else { return unconfirmable("") };
            if let Some(c) = refutes(a) {
                return c;
            }
            match first_access(code, r) {
                Some((true, insn)) => Confirmation {
                    status: Status::Confirmed,
                    how: format!("{sym} reads %{} before writing it (`{insn}`): an input arrives there, where the DWARF puts {} (the prototype's position says %{})", reg_name(r), p.name, reg_name(a)),
                },
                _ => unconfirmable(format!("{sym}'s entry path does not read %{} before a branch, call or write", reg_name(r))),
            }
        }
        "nocall:param-dropped" | "clone:param-not-passed" => {
            let Some(p) = f.params.iter().find(|p| matches!(p.location, EntryLocation::None | EntryLocation::Constant)) else {
                return unconfirmable("no parameter without a location");
            };
            let Some(a) = p.abi_register else { return unconfirmable(format!("{}'s position has no register", p.name)) };
            if let Some(c) = refutes(a) {
                return c;
            }
            // The callers: straight-line code before each direct call.
            let mut sites = 0;
            for (caller, insns) in &dis.functions {
                for (i, insn) in insns.iter().enumerate() {
                    if !(insn.mnemonic.starts_with("call") || insn.mnemonic.starts_with("jmp")) || !insn.text.ends_with(&format!("<{sym}>")) {
                        continue;
                    }
                    sites += 1;
                    let mut reached_entry = true;
                    for prev in insns[..i].iter().rev() {
                        // Any write to the register, at any width, may be the argument.
                        let writes_a = prev.operands.len() >= 2 && prev.operands.last().is_some_and(|d| register(d).is_some_and(|(r, _)| r == a)) && !prev.mnemonic.starts_with("cmp") && !prev.mnemonic.starts_with("test");
                        if writes_a || (prev.operands.len() == 1 && prev.mnemonic.starts_with("pop") && register(&prev.operands[0]).is_some_and(|(r, _)| r == a)) {
                            return unconfirmable(format!("{caller} writes %{} before calling {sym} (`{}`)", reg_name(a), prev.text));
                        }
                        if access(prev, a).is_err() {
                            reached_entry = false;
                            break;
                        }
                    }
                    // Only a path from the caller's own entry proves the register is not set
                    // for the call; and the caller must not itself receive something there (an
                    // argument passed through untouched needs no write).
                    if !reached_entry {
                        return unconfirmable(format!("a branch or call precedes {caller}'s call to {sym}"));
                    }
                    let caller_fact = facts.functions.iter().find(|g| g.symbols.iter().any(|s| s == caller));
                    match caller_fact {
                        None => return unconfirmable(format!("{caller} has no DWARF: what it receives in %{} is unknown", reg_name(a))),
                        Some(g) if g.params.iter().any(|q| q.location == EntryLocation::Register(a)) || g.variadic => {
                            return unconfirmable(format!("{caller} itself receives a parameter in %{}", reg_name(a)));
                        }
                        Some(_) => {}
                    }
                }
            }
            if sites == 0 {
                return unconfirmable(format!("no direct call to {sym}"));
            }
            Confirmation {
                status: Status::Confirmed,
                how: format!(
                    "none of the {sites} direct call(s) to {sym} sets %{} (where the prototype puts {}): each caller reaches its call straight from its own entry without writing it, and receives nothing there itself",
                    reg_name(a),
                    p.name
                ),
            }
        }
        "proto:other-instance" | "collision:inconsistent" => confirm_by_symbols(binary_of(dis), facts, function, mechanism),
        "abi:sse-aggregate" | "stack-slot:memory-class" | "stack-slot:aligned" | "stack-slot:shifted" => {
            // The first misread parameter the ABI passes in one general register R while the
            // trampoline reads it elsewhere: confirmed when the callee consumes an input in R;
            // refuted when it consumes one in the trampoline's register T and no parameter's
            // DWARF location is T (then the harness's ABI model put the wrong thing there).
            let Some(layouts) = f.params.iter().map(|p| p.layout.clone()).collect::<Option<Vec<_>>>() else {
                return unconfirmable("a parameter type the ABI model does not classify");
            };
            let sizes: Vec<u64> = layouts.iter().map(|l| l.size).collect();
            let found = facts::abi::misreads(&layouts, &sizes).into_iter().find_map(|m| match (&m.abi, &m.trampoline) {
                (facts::abi::Placement::Registers(a), t) if a.len() == 1 && facts::abi::INT_REGS.contains(&a[0]) => Some((m.index, a[0], t.clone())),
                _ => None,
            });
            let Some((i, r, t)) = found else {
                return unconfirmable("every misread parameter is on the stack or in an SSE register, which this reader does not follow");
            };
            if let facts::abi::Placement::Registers(t) = &t {
                if let Some(c) = refutes(t[0]) {
                    return c;
                }
            }
            match first_access(code, r) {
                Some((true, insn)) => Confirmation {
                    status: Status::Confirmed,
                    how: format!(
                        "{sym} reads %{} before writing it (`{insn}`): parameter {i} ({}) arrives there, while the trampoline reads it from {}",
                        reg_name(r),
                        f.params[i].name,
                        facts::abi::describe(&t)
                    ),
                },
                _ => unconfirmable(format!("{sym}'s entry path does not read %{} before a branch, call or write", reg_name(r))),
            }
        }
        _ => unconfirmable(format!("no machine-code check for {mechanism}")),
    }
}

fn binary_of(dis: &Disassembly) -> Option<&Path> {
    dis.binary.as_deref()
}

/// Same-name bodies, from binutils alone: `readelf -s` (the symbol table: a static function's
/// symbol follows the `FILE` symbol of the unit it came from) and, for a global one, `addr2line`
/// (the line table) say where the first symbol named `function` — the one the kernel attaches
/// to — and the others come from. The harness's own answer (gimli over the DIEs) must agree.
fn confirm_by_symbols(binary: Option<&Path>, facts: &Facts, function: &str, mechanism: &str) -> Confirmation {
    let Some(binary) = binary else { return unconfirmable("no binary") };
    let readelf = process::command("readelf", ["-sW", &binary.display().to_string()], None);
    let Ok(r) = process::run(readelf, Duration::from_secs(30)) else { return unconfirmable("readelf did not run") };
    // (address, unit from the FILE symbol for a local symbol)
    let mut found: Vec<(u64, Option<String>)> = Vec::new();
    let mut unit: Option<String> = None;
    for l in r.stdout_text().lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        // `Num: Value Size Type Bind Vis Ndx Name`
        if w.len() < 7 || !w[0].ends_with(':') {
            continue;
        }
        let name = w.get(7).copied().unwrap_or("");
        match (w[3], w[4]) {
            ("FILE", _) => unit = (!name.is_empty()).then(|| name.to_string()),
            ("FUNC", bind) if name == function && w[6] != "UND" => {
                let Ok(addr) = u64::from_str_radix(w[1], 16) else { continue };
                found.push((addr, (bind == "LOCAL").then(|| unit.clone()).flatten()));
            }
            _ => {}
        }
    }
    found.sort();
    let addrs: Vec<u64> = found.iter().map(|(a, _)| *a).collect();
    let file_of = |addr: u64| -> Option<String> {
        if let Some((_, Some(u))) = found.iter().find(|(a, _)| *a == addr) {
            return Some(Path::new(u).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| u.clone()));
        }
        // A global symbol has no FILE symbol before it: ask the line table. -i: the first
        // instruction may come from an inlined header function; the last line is the outermost
        // frame, the function itself.
        let cmd = process::command("addr2line", ["-i".to_string(), "-e".to_string(), binary.display().to_string(), format!("{addr:#x}")], None);
        let out = process::run(cmd, Duration::from_secs(30)).ok()?.stdout_text();
        let path = out.lines().last()?.rsplit_once(':')?.0.to_string();
        (path != "??").then(|| Path::new(&path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or(path))
    };
    let base = |cu: &str| Path::new(cu).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| cu.to_string());
    let Some(&first) = addrs.first() else { return unconfirmable(format!("the symbol table has no function {function}")) };
    let Some(first_file) = file_of(first) else { return unconfirmable(format!("neither a FILE symbol nor addr2line places {first:#x}")) };
    let Some(target) = facts.attach_target(function).and_then(|s| facts.instance_at(s.address)) else {
        return unconfirmable("the harness resolves no attach target");
    };
    if base(&target.cu) != first_file {
        return Confirmation {
            status: Status::Refuted,
            how: format!("the first symbol {function} by address ({first:#x}) is {first_file}'s (symbol table / addr2line), but the harness judged against the body in {}", target.cu),
        };
    }
    let others: Vec<String> = addrs[1..].iter().filter_map(|a| file_of(*a)).filter(|f| *f != first_file).collect();
    if others.is_empty() {
        return match mechanism {
            "collision:inconsistent" => Confirmation {
                status: Status::Refuted,
                how: format!("the symbol table shows {function} only in {first_file}: no second body to be ambiguous with"),
            },
            _ => unconfirmable(format!("the symbol table shows {function} only in {first_file}")),
        };
    }
    Confirmation {
        status: Status::Confirmed,
        how: format!("readelf -s: the first {function} ({first:#x}) is {first_file}'s, where the kernel attaches; other bodies named {function} come from {}", others.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(text: &str) -> Insn {
        let (m, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        Insn { addr: String::new(), text: text.into(), mnemonic: m.into(), operands: split_operands(rest.trim()) }
    }

    #[test]
    fn registers_by_name_and_width() {
        assert_eq!(register("%rdi"), Some((5, 8)));
        assert_eq!(register("%edi"), Some((5, 4)));
        assert_eq!(register("%dil"), Some((5, 1)));
        assert_eq!(register("%r8d"), Some((8, 4)));
        assert_eq!(register("%r15"), Some((15, 8)));
        assert_eq!(register("%xmm1"), Some((18, 16)));
        assert_eq!(register("%rip"), None);
    }

    #[test]
    fn reads_writes_and_stops() {
        let rdi = 5;
        assert_eq!(access(&insn("mov    %edi,%eax"), rdi), Ok(Some(true)));
        assert_eq!(access(&insn("mov    %esi,%edi"), rdi), Ok(Some(false)));
        assert_eq!(access(&insn("add    %rsi,%rdi"), rdi), Ok(Some(true)));
        assert_eq!(access(&insn("xor    %edi,%edi"), rdi), Ok(Some(false)));
        assert_eq!(access(&insn("lea    (%rdi,%rdi,4),%rax"), rdi), Ok(Some(true)));
        assert_eq!(access(&insn("mov    0x8(%rsp),%rax"), rdi), Ok(None));
        assert_eq!(access(&insn("movb   $0x1,%dil"), rdi), Ok(None));
        assert_eq!(access(&insn("ret"), rdi), Err(()));
        assert_eq!(access(&insn("call   1150 <foo>"), rdi), Err(()));
        let code = vec![insn("lea    (%rdi,%rdi,4),%rax"), insn("add    %rsi,%rax"), insn("ret")];
        assert_eq!(first_access(&code, rdi).map(|a| a.0), Some(true));
        assert_eq!(first_access(&code, 1), None);
    }
}
