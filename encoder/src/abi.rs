//! Where the x86-64 SysV ABI puts each argument at function entry, and whether DWARF agrees.
//!
//! A tracer attached at a function's entry reads argument *n* from the *n*-th argument register
//! (or stack slot). That is only right when the function still receives its source parameters in
//! ABI order: not when a parameter was optimized out, constant-propagated, moved to another
//! register, or when the function is a clone with a changed signature.

use crate::report::DropKind;
use btf::TypeId;

/// DWARF numbers of the integer argument registers: rdi rsi rdx rcx r8 r9.
pub(crate) const INT_REGS: [u16; 6] = [5, 4, 1, 2, 8, 9];

const REG_NAMES: [&str; 17] = [
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15", "rip",
];

fn reg_name(r: u16) -> String {
    match r {
        0..=16 => REG_NAMES[r as usize].to_string(),
        17..=32 => format!("xmm{}", r - 17),
        _ => format!("reg{r}"),
    }
}

/// How an argument (or return value) is passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArgClass {
    /// No value.
    Void,
    /// In 1 or 2 integer registers.
    Int(u8),
    /// In an SSE register.
    Sse,
    /// In memory (on the stack; for a return value, through a hidden pointer in rdi).
    Memory,
    /// Not analysed; the reason.
    Unknown(String),
}

/// Where DWARF says a parameter is at entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Loc {
    /// No location at all: optimized out.
    Missing,
    /// `DW_AT_const_value`: constant-propagated.
    Constant,
    /// A location list that does not cover the entry address.
    NotAtEntry,
    /// In a register (and, for a two-eightbyte value, a second one).
    Reg(u16, Option<u16>),
    /// On the stack (frame base / rsp / rbp relative) at the entry address, per a location list.
    Stack,
    /// One location in the frame for the whole function (`DW_AT_location` a single
    /// `DW_OP_fbreg`, not a list): the home an unoptimized function (or one taking the
    /// parameter's address) stores it to in its prologue. It says where the parameter lives, not
    /// how it arrives: the ABI's register or stack slot, as for any function that kept its name.
    Home,
    /// Something else (computed, pieces in memory, ...).
    Other,
}

/// DWARF numbers of the registers a callee must preserve: rbx rbp r12 r13 r14 r15. No caller
/// passes an argument in one.
pub(crate) const CALLEE_SAVED: [u16; 6] = [3, 6, 12, 13, 14, 15];

/// One source parameter.
#[derive(Debug, Clone)]
pub(crate) struct ParamInfo {
    pub name: String,
    pub class: ArgClass,
    pub loc: Loc,
    /// The register pieces of its location at entry (byte offset, register); empty when the
    /// location is not a composite of pieces.
    pub pieces: Vec<(u64, u16)>,
    pub ty: TypeId,
    /// Its type is 16-byte aligned (`__int128`, `aligned(16)`): on the stack the ABI puts it
    /// at a 16-byte boundary, skipping a slot the kernel's trampoline does not skip.
    pub align16: bool,
    /// Its (source) `DW_TAG_formal_parameter`.
    pub die: gimli::UnitOffset,
}

fn pname(p: &ParamInfo, i: usize) -> String {
    if p.name.is_empty() {
        format!("#{i}")
    } else {
        format!("'{}'", p.name)
    }
}

/// Checks every parameter against the register or stack slot the ABI assigns it.
///
/// `callers_pass_all`: every caller passes every source parameter, whatever the body does with
/// it — an external function that kept its name and its convention (not `DW_CC_nocall`):
/// callers in other units were compiled against the source prototype. A parameter without a
/// location (unused, so the compiler described nowhere) then still arrives where the ABI puts
/// it, and takes its register or slot. A constant-propagated one does not count as passed: the
/// compiler knew its value, which it only can for calls it sees.
pub(crate) fn check(
    x86_64: bool,
    ret: &ArgClass,
    params: &[ParamInfo],
    callers_pass_all: bool,
) -> std::result::Result<(), (DropKind, String)> {
    use DropKind::*;
    // Presence first: these hold on any architecture.
    for (i, p) in params.iter().enumerate() {
        match p.loc {
            Loc::Missing if callers_pass_all => {}
            Loc::Missing => {
                return Err((
                    OptimizedParameters,
                    format!("parameter {} optimized out (no location)", pname(p, i)),
                ))
            }
            Loc::Constant => {
                return Err((
                    OptimizedParameters,
                    format!("parameter {} constant-propagated", pname(p, i)),
                ))
            }
            Loc::NotAtEntry => {
                return Err((
                    OptimizedParameters,
                    format!("parameter {} has no location at function entry", pname(p, i)),
                ))
            }
            _ => {}
        }
    }
    if !x86_64 {
        return Ok(());
    }
    // A struct returned in memory takes rdi for its hidden pointer: every argument moves one
    // register on, which a tracer numbering arguments from the prototype does not know.
    if *ret == ArgClass::Memory {
        return Err((
            UncertainLocation,
            "returns a struct in memory (its hidden pointer in rdi shifts every argument)".into(),
        ));
    }
    let mut next_int = 0usize;
    // 8-byte slots of the caller's argument area used so far (by arguments that did not fit in
    // registers), to tell where a 16-byte-aligned one lands.
    let mut stack_slots = 0usize;
    for (i, p) in params.iter().enumerate() {
        let want = match &p.class {
            ArgClass::Void => {
                return Err((UncertainLocation, format!("parameter {} has no type", pname(p, i))))
            }
            ArgClass::Unknown(why) => {
                return Err((UncertainLocation, format!("parameter {}: {why}", pname(p, i))))
            }
            ArgClass::Int(n) => {
                let n = usize::from(*n);
                if next_int + n <= INT_REGS.len() {
                    let r = (INT_REGS[next_int], (n == 2).then(|| INT_REGS[next_int + 1]));
                    next_int += n;
                    Some(r)
                } else {
                    // The kernel's trampoline (x86 save_args()) counts stack arguments in 8-byte
                    // slots with no alignment; the ABI puts a 16-byte-aligned one at an even slot.
                    if p.align16 && stack_slots % 2 == 1 {
                        return Err((
                            UncertainLocation,
                            format!(
                                "parameter {} is 16-byte aligned and passed on the stack after an odd number of 8-byte slots: the ABI skips a slot, the kernel's trampoline does not, so it and every later stack argument would be read 8 bytes off",
                                pname(p, i)
                            ),
                        ));
                    }
                    stack_slots += n;
                    None
                }
            }
            // Tracers (and the kernel's trampolines) read arguments from the integer
            // registers in order; an SSE argument breaks that numbering.
            ArgClass::Sse => {
                return Err((
                    UncertainLocation,
                    format!(
                        "parameter {} is floating-point (passed in SSE registers)",
                        pname(p, i)
                    ),
                ));
            }
            ArgClass::Memory => None,
        };
        match (want, &p.loc) {
            (Some((r, _)), Loc::Reg(got, _)) if *got == r => {}
            (_, Loc::Home) => {}
            // Only reached with `callers_pass_all`: passed where the ABI says, unused.
            (_, Loc::Missing) => {}
            (Some((r, second)), loc) => {
                let (kind, got) = match loc {
                    Loc::Reg(g, _) => (UnexpectedRegister, reg_name(*g)),
                    Loc::Stack => (UncertainLocation, "the stack".into()),
                    _ => (UncertainLocation, "a computed location".into()),
                };
                let want = match second {
                    Some(s) => format!("{}:{}", reg_name(r), reg_name(s)),
                    None => reg_name(r),
                };
                return Err((
                    kind,
                    format!("parameter {} in {got}, ABI expects {want}", pname(p, i)),
                ));
            }
            (None, Loc::Reg(g, _)) => {
                return Err((
                    UnexpectedRegister,
                    format!(
                        "parameter {} in {}, ABI passes it on the stack",
                        pname(p, i),
                        reg_name(*g)
                    ),
                ))
            }
            (None, _) => {}
        }
    }
    Ok(())
}

/// A parameter of a true signature: the source parameter, whole, or one member of it (a
/// by-value struct of which clang passes only the member at this byte offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kept {
    Whole(usize),
    Member(usize, u64),
}

/// The prototype a clang `DW_CC_nocall` function really has, from its parameters' locations at
/// entry: the parameters clang removed are gone (a constant, or no location while the next
/// parameter does not sit right after it), a by-value struct of which one member arrives in one
/// register becomes that member, and every kept parameter must be in the next argument
/// register of the new list (or, in memory, on the stack). Err when a kept parameter is anywhere
/// else: then the new convention cannot be told.
pub(crate) fn nocall_signature(
    x86_64: bool,
    ret: &ArgClass,
    params: &[ParamInfo],
) -> std::result::Result<Vec<Kept>, String> {
    if !x86_64 {
        return Err("true signatures are derived for x86-64 only".into());
    }
    if *ret == ArgClass::Memory {
        return Err("returns a struct in memory".into());
    }
    // The register a parameter's location at entry starts in (for pieces: the first one).
    let first_reg = |p: &ParamInfo| match (&p.loc, p.pieces.first()) {
        (_, Some(&(_, r))) => Some(r),
        (Loc::Reg(r, _), None) => Some(*r),
        _ => None,
    };
    let mut next = 0usize;
    let mut kept = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let slots = match p.class {
            ArgClass::Int(n) => usize::from(n),
            _ => 1,
        };
        match (&p.class, &p.loc) {
            (_, Loc::Constant) => continue,
            (ArgClass::Memory, Loc::Missing) => {
                // Whether its callers still push it decides where every later stack argument
                // is; nothing in DWARF says.
                return Err(format!(
                    "parameter {} passed in memory has no location: whether callers still pass it cannot be told",
                    pname(p, i)
                ));
            }
            (_, Loc::Missing) => {
                // Still passed when the next parameter sits where it would sit after this one.
                let follows = params.get(i + 1).and_then(first_reg);
                if matches!(p.class, ArgClass::Int(_))
                    && follows.is_some()
                    && INT_REGS.get(next + slots).copied() == follows
                {
                    kept.push(Kept::Whole(i));
                    next += slots;
                }
                continue;
            }
            (ArgClass::Memory, Loc::Stack | Loc::Home) => {
                kept.push(Kept::Whole(i));
                continue;
            }
            (ArgClass::Int(_), _) => {}
            (class, _) => {
                return Err(format!(
                    "parameter {} of class {class:?} is not checked for a changed convention",
                    pname(p, i)
                ))
            }
        }
        let want = |k: usize| INT_REGS.get(next + k).copied();
        let Some(r) = first_reg(p) else {
            return Err(format!(
                "parameter {} is not in a register at entry",
                pname(p, i)
            ));
        };
        if Some(r) != want(0) {
            return Err(format!(
                "parameter {} in {}, its place in the new signature is {}",
                pname(p, i),
                reg_name(r),
                want(0).map_or("the stack".into(), reg_name)
            ));
        }
        if slots == 1 {
            kept.push(Kept::Whole(i));
            next += 1;
            continue;
        }
        // A two-register aggregate: whole when both halves arrive (or the next parameter sits
        // after both), else the one member clang still passes.
        let halves: Vec<(u64, u16)> = if p.pieces.is_empty() {
            match p.loc {
                Loc::Reg(a, Some(b)) => vec![(0, a), (8, b)],
                _ => Vec::new(),
            }
        } else {
            p.pieces.clone()
        };
        let low = halves.iter().filter(|(o, _)| *o < 8).count();
        let high = halves.len() - low;
        let next_follows = params.get(i + 1).and_then(first_reg) == want(2);
        if low >= 1 && high >= 1 {
            if halves.iter().any(|&(o, reg)| Some(reg) != want(usize::from(o >= 8))) {
                return Err(format!(
                    "struct parameter {} is split over registers not in ABI order",
                    pname(p, i)
                ));
            }
            kept.push(Kept::Whole(i));
            next += 2;
        } else if next_follows && want(2).is_some() {
            kept.push(Kept::Whole(i));
            next += 2;
        } else if let [(offset, _)] = halves[..] {
            kept.push(Kept::Member(i, offset));
            next += 1;
        } else {
            return Err(format!(
                "struct parameter {}: which of its members arrive cannot be told",
                pname(p, i)
            ));
        }
    }
    Ok(kept)
}

/// The signature a clone actually has: the parameters that arrive in argument registers, in
/// register order. Err when it cannot be told from DWARF.
pub(crate) fn true_signature(
    x86_64: bool,
    ret: &ArgClass,
    params: &[ParamInfo],
) -> std::result::Result<Vec<usize>, String> {
    if !x86_64 {
        return Err("true signatures are derived for x86-64 only".into());
    }
    if *ret == ArgClass::Memory {
        return Err("returns a struct in memory".into());
    }
    let mut slots: Vec<(usize, usize)> = Vec::new();
    for (i, p) in params.iter().enumerate() {
        match p.loc {
            Loc::Missing | Loc::Constant => continue,
            Loc::Reg(r, None) => {
                let Some(slot) = INT_REGS.iter().position(|&x| x == r) else {
                    return Err(format!("parameter {} in {}", pname(p, i), reg_name(r)));
                };
                if p.class != ArgClass::Int(1) {
                    return Err(format!(
                        "parameter {} is not a scalar or pointer",
                        pname(p, i)
                    ));
                }
                slots.push((slot, i));
            }
            _ => {
                return Err(format!(
                    "parameter {} not in a single register at entry",
                    pname(p, i)
                ))
            }
        }
    }
    slots.sort();
    for (k, &(slot, _)) in slots.iter().enumerate() {
        if slot != k {
            return Err(
                "parameter registers are not contiguous from rdi (a dropped parameter left its register unused, or a parameter changed type)".into(),
            );
        }
    }
    Ok(slots.into_iter().map(|(_, i)| i).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(class: ArgClass, loc: Loc) -> ParamInfo {
        ParamInfo {
            name: "x".into(),
            class,
            loc,
            pieces: Vec::new(),
            ty: TypeId(1),
            align16: false,
            die: gimli::UnitOffset(0),
        }
    }

    #[test]
    fn aligned_struct_on_the_stack_needs_an_even_slot() {
        let regs = [5u16, 4, 1, 2, 8, 9];
        let mut args: Vec<ParamInfo> = regs.iter().map(|&r| p(ArgClass::Int(1), Loc::Reg(r, None))).collect();
        let mut aligned = p(ArgClass::Int(2), Loc::Stack);
        aligned.align16 = true;
        // Six registers used, the struct at slot 0: the ABI and the trampoline agree.
        let mut even = args.clone();
        even.push(aligned.clone());
        assert_eq!(check(true, &ArgClass::Int(1), &even, false), Ok(()));
        // One long on the stack first: the ABI skips slot 1, the trampoline does not.
        args.push(p(ArgClass::Int(1), Loc::Stack));
        args.push(aligned.clone());
        assert!(check(true, &ArgClass::Int(1), &args, false).unwrap_err().1.contains("16-byte aligned"));
        // The same 16 bytes without the alignment (two longs in a struct): no skip, no drop.
        let last = args.len() - 1;
        args[last].align16 = false;
        assert_eq!(check(true, &ArgClass::Int(1), &args, false), Ok(()));
    }

    #[test]
    fn registers_in_order() {
        let ok = [
            p(ArgClass::Int(1), Loc::Reg(5, None)),
            p(ArgClass::Int(1), Loc::Reg(4, None)),
        ];
        assert_eq!(check(true, &ArgClass::Int(1), &ok, false), Ok(()));
        let swapped = [
            p(ArgClass::Int(1), Loc::Reg(4, None)),
            p(ArgClass::Int(1), Loc::Reg(5, None)),
        ];
        assert_eq!(
            check(true, &ArgClass::Int(1), &swapped, false).unwrap_err(),
            (
                DropKind::UnexpectedRegister,
                "parameter 'x' in rsi, ABI expects rdi".to_string()
            )
        );
        // A struct returned in memory takes rdi: refused, the numbering is off by one.
        let sret = [p(ArgClass::Int(1), Loc::Reg(4, None))];
        assert!(check(true, &ArgClass::Memory, &sret, false)
            .unwrap_err()
            .1
            .contains("hidden pointer"));
        let gone = [p(ArgClass::Int(1), Loc::Missing)];
        assert!(check(true, &ArgClass::Void, &gone, false)
            .unwrap_err()
            .1
            .contains("optimized out"));
        // Two-register struct then an int: rdi:rsi, rdx.
        let two = [
            p(ArgClass::Int(2), Loc::Reg(5, Some(4))),
            p(ArgClass::Int(1), Loc::Reg(1, None)),
        ];
        assert_eq!(check(true, &ArgClass::Void, &two, false), Ok(()));
        let sse = [
            p(ArgClass::Sse, Loc::Reg(17, None)),
            p(ArgClass::Int(1), Loc::Reg(5, None)),
        ];
        assert!(check(true, &ArgClass::Void, &sse, false)
            .unwrap_err()
            .1
            .contains("floating-point"));
        // Seventh integer argument on the stack.
        let mut many: Vec<ParamInfo> = INT_REGS
            .iter()
            .map(|&r| p(ArgClass::Int(1), Loc::Reg(r, None)))
            .collect();
        many.push(p(ArgClass::Int(1), Loc::Stack));
        assert_eq!(check(true, &ArgClass::Int(1), &many, false), Ok(()));
        many.push(p(ArgClass::Int(1), Loc::Reg(5, None)));
        assert!(check(true, &ArgClass::Int(1), &many, false)
            .unwrap_err()
            .1
            .contains("on the stack"));
    }

    #[test]
    fn unused_parameters_of_functions_every_caller_passes() {
        let ps = [
            p(ArgClass::Int(1), Loc::Reg(5, None)),
            p(ArgClass::Int(1), Loc::Missing),
            p(ArgClass::Int(1), Loc::Reg(1, None)),
        ];
        assert_eq!(check(true, &ArgClass::Int(1), &ps, true), Ok(()));
        assert_eq!(
            check(true, &ArgClass::Int(1), &ps, false).unwrap_err().0,
            DropKind::OptimizedParameters
        );
        // A constant is never "passed": the compiler saw every call.
        let k = [p(ArgClass::Int(1), Loc::Constant)];
        assert!(check(true, &ArgClass::Int(1), &k, true).is_err());
    }

    #[test]
    fn nocall_signatures() {
        let piece = |class, pieces: Vec<(u64, u16)>| ParamInfo {
            pieces,
            ..p(class, Loc::Other)
        };
        // foo(int a, int b, int c) with b removed: c moved to rsi.
        let dropped_mid = [
            p(ArgClass::Int(1), Loc::Reg(5, None)),
            p(ArgClass::Int(1), Loc::Missing),
            p(ArgClass::Int(1), Loc::Reg(4, None)),
        ];
        assert_eq!(
            nocall_signature(true, &ArgClass::Int(1), &dropped_mid),
            Ok(vec![Kept::Whole(0), Kept::Whole(2)])
        );
        // b unused but still passed: c is still in rdx.
        let unused_mid = [
            p(ArgClass::Int(1), Loc::Reg(5, None)),
            p(ArgClass::Int(1), Loc::Missing),
            p(ArgClass::Int(1), Loc::Reg(1, None)),
        ];
        assert_eq!(
            nocall_signature(true, &ArgClass::Int(1), &unused_mid),
            Ok(vec![Kept::Whole(0), Kept::Whole(1), Kept::Whole(2)])
        );
        // foo(struct t a, struct t b, int i), only a.f1 passed (rdi), b in rsi:rdx, i in rcx.
        let scalarised = [
            piece(ArgClass::Int(2), vec![(0, 5)]),
            piece(ArgClass::Int(2), vec![(0, 4), (8, 1)]),
            p(ArgClass::Int(1), Loc::Reg(2, None)),
        ];
        assert_eq!(
            nocall_signature(true, &ArgClass::Int(1), &scalarised),
            Ok(vec![Kept::Member(0, 0), Kept::Whole(1), Kept::Whole(2)])
        );
        // Only the second member passed, in rdi.
        let second = [piece(ArgClass::Int(2), vec![(8, 5)])];
        assert_eq!(
            nocall_signature(true, &ArgClass::Void, &second),
            Ok(vec![Kept::Member(0, 8)])
        );
        // A union in memory stays; the next kept parameter takes rdi.
        let memory = [
            p(ArgClass::Memory, Loc::Home),
            p(ArgClass::Int(1), Loc::Missing),
            p(ArgClass::Int(1), Loc::Reg(5, None)),
        ];
        assert_eq!(
            nocall_signature(true, &ArgClass::Int(1), &memory),
            Ok(vec![Kept::Whole(0), Kept::Whole(2)])
        );
        // A kept parameter out of place, a callee-saved register, a float: no signature.
        for bad in [
            vec![p(ArgClass::Int(1), Loc::Reg(4, None))],
            vec![p(ArgClass::Int(1), Loc::Reg(3, None))],
            vec![p(ArgClass::Sse, Loc::Reg(17, None))],
            vec![p(ArgClass::Int(1), Loc::NotAtEntry)],
        ] {
            assert!(nocall_signature(true, &ArgClass::Int(1), &bad).is_err(), "{bad:?}");
        }
        assert!(nocall_signature(true, &ArgClass::Memory, &dropped_mid).is_err());
    }

    #[test]
    fn clone_signature() {
        let ps = [
            p(ArgClass::Int(1), Loc::Missing),
            p(ArgClass::Int(1), Loc::Reg(5, None)),
        ];
        assert_eq!(true_signature(true, &ArgClass::Int(1), &ps), Ok(vec![1]));
        let gap = [p(ArgClass::Int(1), Loc::Reg(4, None))];
        assert!(true_signature(true, &ArgClass::Int(1), &gap).is_err());
    }
}
