//! Where an x86-64 argument really is, and where the kernel's BPF trampoline looks for it.
//!
//! Two models, compared parameter by parameter by the DWARF-truth oracle:
//!
//! * [`sysv_placement`]: the System V AMD64 ABI's classification of each argument (each
//!   eightbyte INTEGER, SSE or MEMORY; an aggregate with an unaligned member or an x87 member is
//!   MEMORY) and its assignment to rdi..r9, xmm0..xmm7 or the argument area on the stack (each
//!   stack argument aligned to 8, or 16 when its type is 16-byte aligned).
//! * [`trampoline_placement`]: the slot arithmetic of the x86-64 BPF trampoline in Linux 6.12
//!   (`save_args()` in arch/x86/net/bpf_jit_comp.c, read there): an argument of `size` bytes
//!   takes `ceil(size / 8)` general registers if that many of the six are left, otherwise the
//!   same number of consecutive 8-byte slots of the caller's argument area, counted from its
//!   start with no alignment. It only knows BTF sizes: it cannot see that a struct is SSE or
//!   MEMORY class, nor that a 16-byte-aligned argument skips a slot.
//!
//! The kernel refuses to attach (`btf_distill_func_proto()` in kernel/bpf/btf.c) when an
//! argument is not an integer, enum, pointer or a struct of at most 16 bytes (6.12 refuses unions), when there
//! are more than 12 arguments, when the prototype is variadic, or when it returns a struct:
//! [`trampoline_accepts`] says so, and such a FUNC cannot be misread (only not attached).

use serde::Serialize;

/// Argument registers, as DWARF register numbers: rdi, rsi, rdx, rcx, r8, r9.
pub const INT_REGS: [u16; 6] = [5, 4, 1, 2, 8, 9];
/// xmm0..xmm7.
pub const SSE_REGS: [u16; 8] = [17, 18, 19, 20, 21, 22, 23, 24];
/// `MAX_BPF_FUNC_ARGS`.
pub const MAX_TRAMPOLINE_ARGS: usize = 12;

/// DWARF numbers of the x86-64 callee-saved registers: rbx, rbp, r12, r13, r14, r15.
pub const CALLEE_SAVED: &[u16] = &[3, 6, 12, 13, 14, 15];

/// x86-64 SysV parameter class, as far as the oracles check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AbiClass {
    /// Integers, enums, pointers: rdi, rsi, rdx, rcx, r8, r9.
    Integer,
    /// float, double: xmm0..xmm7.
    Sse,
    /// Passed in memory (the stack): an aggregate over 16 bytes. Only the generators'
    /// classifier tells it apart; the function reader keeps every aggregate [`AbiClass::Other`].
    Memory,
    /// Aggregates, long double, anything not checked.
    Other,
}

impl AbiClass {
    /// The DWARF register numbers of this class's argument registers, in order.
    pub fn registers(self) -> &'static [u16] {
        match self {
            AbiClass::Integer => &INT_REGS,
            AbiClass::Sse => &SSE_REGS,
            AbiClass::Memory | AbiClass::Other => &[],
        }
    }
}

/// The ABI register of each parameter, given their classes in order, where this model is sure.
///
/// After the first parameter it does not classify (a struct by value, `__int128`, long double),
/// later positions are unknown: a small struct takes one or two registers, a large one none. A
/// function returning a struct or union may take a hidden pointer in rdi, so `returns_aggregate`
/// leaves every position unknown. Unknown positions are never checked: better a missed hazard
/// (the runtime oracle sees it) than a false alarm.
pub fn abi_registers(classes: &[AbiClass], returns_aggregate: bool) -> Vec<Option<u16>> {
    let (mut int, mut sse) = (0, 0);
    let mut sure = !returns_aggregate;
    classes
        .iter()
        .map(|c| {
            if !sure {
                return None;
            }
            let n = match c {
                AbiClass::Integer => &mut int,
                AbiClass::Sse => &mut sse,
                // The ABI puts it on the stack; it takes no register, later positions stay known.
                AbiClass::Memory => return None,
                AbiClass::Other => {
                    sure = false;
                    return None;
                }
            };
            let r = c.registers().get(*n).copied();
            *n += 1;
            r
        })
        .collect()
}

/// The register name of a DWARF register number, for evidence text.
pub fn reg_name(r: u16) -> String {
    const NAMES: [&str; 17] = [
        "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
        "r15", "rip",
    ];
    match r {
        0..=16 => NAMES[r as usize].to_string(),
        17..=32 => format!("xmm{}", r - 17),
        _ => format!("DWARF register {r}"),
    }
}

/// What one scalar piece of an argument is, for classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scalar {
    /// Integers, enums, pointers, `_Bool`, bitfields.
    Int,
    /// float, double, `_Float128` halves, complex float parts.
    Sse,
    /// x87 `long double` (and its complex form): always passed in memory.
    X87,
}

/// The layout of a parameter type as the ABI classifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layout {
    /// `sizeof`.
    pub size: u64,
    /// `_Alignof` (1 for a packed struct, 16 for `__int128` or `aligned(16)`).
    pub align: u64,
    /// An aggregate (struct, union, array member), as opposed to a scalar.
    pub aggregate: bool,
    /// Some member sits at an offset that is not a multiple of its own alignment (packed).
    pub unaligned_member: bool,
    /// Scalar leaves: byte offset, byte size, kind.
    pub leaves: Vec<(u64, u64, Scalar)>,
}

/// The class of one eightbyte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Class {
    /// General register.
    Integer,
    /// Vector register.
    Sse,
}

/// Where the ABI passes one argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Placement {
    /// In registers, one per eightbyte (DWARF register numbers), in eightbyte order.
    Registers(Vec<u16>),
    /// In the caller's argument area, at this byte offset from its start.
    Stack {
        /// Byte offset from the first stack argument (`rsp + 8` at entry).
        offset: u64,
        /// Why it is on the stack.
        why: StackReason,
    },
}

/// Why an argument went to the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StackReason {
    /// Its class is MEMORY (too big, an unaligned member, an x87 member).
    MemoryClass,
    /// Not enough registers left.
    RegistersUsed,
}

/// The ABI class of each eightbyte, or `None` for MEMORY.
pub fn classify(l: &Layout) -> Option<Vec<Class>> {
    if l.size == 0 || l.size > 16 || l.unaligned_member {
        return None;
    }
    let n = l.size.div_ceil(8) as usize;
    let mut classes: Vec<Option<Class>> = vec![None; n];
    for &(off, size, kind) in &l.leaves {
        let c = match kind {
            Scalar::X87 => return None,
            Scalar::Int => Class::Integer,
            Scalar::Sse => Class::Sse,
        };
        let first = (off / 8) as usize;
        let last = ((off + size.max(1) - 1) / 8) as usize;
        for slot in classes.iter_mut().take(last.min(n - 1) + 1).skip(first) {
            *slot = Some(match (*slot, c) {
                (Some(Class::Integer), _) | (_, Class::Integer) => Class::Integer,
                _ => Class::Sse,
            });
        }
    }
    // An eightbyte with no data (padding) is NO_CLASS; it takes no register. Treat a fully
    // empty argument as unknown rather than guess.
    if classes.iter().all(Option::is_none) {
        return None;
    }
    Some(classes.into_iter().map(|c| c.unwrap_or(Class::Sse)).collect())
}

/// The System V placement of every argument. `None` entries never occur; the vector has one
/// placement per layout.
pub fn sysv_placement(args: &[Layout]) -> Vec<Placement> {
    let (mut int, mut sse, mut stack) = (0usize, 0usize, 0u64);
    let mut on_stack = |l: &Layout, why| {
        let align = if l.align >= 16 { 16 } else { 8 };
        let offset = stack.next_multiple_of(align);
        stack = offset + l.size.max(1).next_multiple_of(8);
        Placement::Stack { offset, why }
    };
    args.iter()
        .map(|l| match classify(l) {
            None => on_stack(l, StackReason::MemoryClass),
            Some(classes) => {
                let need_int = classes.iter().filter(|c| **c == Class::Integer).count();
                let need_sse = classes.len() - need_int;
                if int + need_int > INT_REGS.len() || sse + need_sse > SSE_REGS.len() {
                    return on_stack(l, StackReason::RegistersUsed);
                }
                let regs = classes
                    .iter()
                    .map(|c| match c {
                        Class::Integer => {
                            int += 1;
                            INT_REGS[int - 1]
                        }
                        Class::Sse => {
                            sse += 1;
                            SSE_REGS[sse - 1]
                        }
                    })
                    .collect();
                Placement::Registers(regs)
            }
        })
        .collect()
}

/// Where the trampoline reads an argument of each size: registers (general ones only) or the
/// 8-byte slots from the start of the caller's argument area.
pub fn trampoline_placement(sizes: &[u64]) -> Vec<Placement> {
    let (mut regs, mut slots) = (0usize, 0u64);
    sizes
        .iter()
        .map(|&size| {
            let n = size.div_ceil(8).max(1) as usize;
            if regs + n > INT_REGS.len() {
                let offset = slots * 8;
                slots += n as u64;
                Placement::Stack { offset, why: StackReason::RegistersUsed }
            } else {
                regs += n;
                Placement::Registers(INT_REGS[regs - n..regs].to_vec())
            }
        })
        .collect()
}

/// The BTF view of one parameter, as the kernel's `btf_distill_func_proto()` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrampolineArg {
    /// Integer, enum or pointer of this size.
    Scalar(u64),
    /// Struct of this size.
    Aggregate(u64),
    /// Anything else (float, array, void, an unresolvable type).
    Unsupported,
}

/// True when the kernel would build a trampoline for this prototype at all.
pub fn trampoline_accepts(args: &[TrampolineArg], variadic: bool, returns_aggregate: bool) -> bool {
    !variadic
        && !returns_aggregate
        && args.len() <= MAX_TRAMPOLINE_ARGS
        && args.iter().all(|a| match a {
            TrampolineArg::Scalar(s) => *s <= 16,
            TrampolineArg::Aggregate(s) => *s <= 16,
            TrampolineArg::Unsupported => false,
        })
}

/// A parameter the trampoline reads from another place than the one the ABI passes it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Misread {
    /// Parameter index.
    pub index: usize,
    /// Where the ABI passes it.
    pub abi: Placement,
    /// Where the trampoline reads it.
    pub trampoline: Placement,
    /// The mechanism of the first misread parameter, which shifts the rest: `abi:sse-aggregate`,
    /// `stack-slot:memory-class`, `stack-slot:aligned`.
    pub mechanism: &'static str,
}

/// Compares the two placements; returns every misread parameter (empty when all agree).
/// `layouts` and `sizes` describe the same parameters (DWARF and BTF view).
pub fn misreads(layouts: &[Layout], sizes: &[u64]) -> Vec<Misread> {
    let abi = sysv_placement(layouts);
    let tramp = trampoline_placement(sizes);
    let mut out = Vec::new();
    for (i, (a, t)) in abi.iter().zip(&tramp).enumerate() {
        if a == t || same_place(a, t) {
            continue;
        }
        let l = &layouts[i];
        let mechanism = match (a, t) {
            (Placement::Registers(r), _) if r.iter().any(|r| SSE_REGS.contains(r)) && l.aggregate => "abi:sse-aggregate",
            (Placement::Stack { why: StackReason::MemoryClass, .. }, Placement::Registers(_)) => "stack-slot:memory-class",
            (Placement::Stack { .. }, Placement::Stack { .. }) if l.align >= 16 => "stack-slot:aligned",
            _ => "stack-slot:shifted",
        };
        out.push(Misread { index: i, abi: a.clone(), trampoline: t.clone(), mechanism });
    }
    out
}

/// Register lists equal; stack offsets equal whatever the reason.
fn same_place(a: &Placement, b: &Placement) -> bool {
    match (a, b) {
        (Placement::Registers(x), Placement::Registers(y)) => x == y,
        (Placement::Stack { offset: x, .. }, Placement::Stack { offset: y, .. }) => x == y,
        _ => false,
    }
}

/// `rsi`, `rdx+rcx`, `stack+16`: a placement as evidence text.
pub fn describe(p: &Placement) -> String {
    match p {
        Placement::Registers(r) => r.iter().map(|r| reg_name(*r)).collect::<Vec<_>>().join("+"),
        Placement::Stack { offset, why: StackReason::MemoryClass } => format!("stack+{offset} (MEMORY class)"),
        Placement::Stack { offset, .. } => format!("stack+{offset}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(size: u64) -> Layout {
        Layout { size, align: size, aggregate: false, unaligned_member: false, leaves: vec![(0, size, Scalar::Int)] }
    }

    fn strukt(size: u64, align: u64, leaves: &[(u64, u64, Scalar)], unaligned: bool) -> Layout {
        Layout { size, align, aggregate: true, unaligned_member: unaligned, leaves: leaves.to_vec() }
    }

    #[test]
    fn six_ints_then_stack() {
        let args: Vec<Layout> = (0..8).map(|_| int(4)).collect();
        let p = sysv_placement(&args);
        assert_eq!(p[0], Placement::Registers(vec![5]));
        assert_eq!(p[5], Placement::Registers(vec![9]));
        assert_eq!(p[6], Placement::Stack { offset: 0, why: StackReason::RegistersUsed });
        assert_eq!(p[7], Placement::Stack { offset: 8, why: StackReason::RegistersUsed });
        assert!(misreads(&args, &[4; 8]).is_empty());
    }

    #[test]
    fn packed_struct_between_ints_shifts_the_last() {
        // int, packed { char; long; short; char } (12 bytes, long at offset 1), int.
        let pk = strukt(12, 1, &[(0, 1, Scalar::Int), (1, 8, Scalar::Int), (9, 2, Scalar::Int), (11, 1, Scalar::Int)], true);
        let args = [int(4), pk, int(4)];
        let m = misreads(&args, &[4, 12, 4]);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m[0].mechanism, "stack-slot:memory-class");
        // The last int: ABI rsi, trampoline rcx (after two slots for the struct).
        assert_eq!(m[1].abi, Placement::Registers(vec![4]));
        assert_eq!(m[1].trampoline, Placement::Registers(vec![2]));
    }

    #[test]
    fn aligned_struct_on_the_stack_skips_a_slot() {
        // Six longs, one int on the stack (slot 0), then a 16-byte aligned(16) struct.
        let mut args: Vec<Layout> = (0..7).map(|_| int(8)).collect();
        args.push(strukt(16, 16, &[(0, 8, Scalar::Int), (8, 8, Scalar::Int)], false));
        let mut sizes = vec![8; 7];
        sizes.push(16);
        let m = misreads(&args, &sizes);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].mechanism, "stack-slot:aligned");
        assert_eq!(m[0].abi, Placement::Stack { offset: 16, why: StackReason::RegistersUsed });
        assert_eq!(m[0].trampoline, Placement::Stack { offset: 8, why: StackReason::RegistersUsed });
        // At an even slot the two agree.
        args.remove(6);
        sizes.remove(6);
        assert!(misreads(&args, &sizes).is_empty());
    }

    #[test]
    fn struct_with_float_goes_to_xmm() {
        let s = strukt(8, 4, &[(0, 4, Scalar::Sse), (4, 4, Scalar::Sse)], false);
        let args = [s, int(8)];
        let m = misreads(&args, &[8, 8]);
        assert_eq!(m[0].mechanism, "abi:sse-aggregate");
        assert_eq!(m[0].abi, Placement::Registers(vec![17]));
        // The long after it: rdi for the ABI (the struct took xmm0), rsi for the trampoline.
        assert_eq!(m[1].abi, Placement::Registers(vec![5]));
        assert_eq!(m[1].trampoline, Placement::Registers(vec![4]));
        // int + float in one eightbyte is INTEGER: no misread.
        let mixed = strukt(8, 4, &[(0, 4, Scalar::Int), (4, 4, Scalar::Sse)], false);
        assert!(misreads(&[mixed, int(8)], &[8, 8]).is_empty());
    }

    #[test]
    fn int128_that_does_not_fit_goes_whole_to_the_stack() {
        // Five longs, an __int128 (needs two registers, one left), a long (takes r9).
        let mut args: Vec<Layout> = (0..5).map(|_| int(8)).collect();
        args.push(Layout { size: 16, align: 16, aggregate: false, unaligned_member: false, leaves: vec![(0, 16, Scalar::Int)] });
        args.push(int(8));
        let p = sysv_placement(&args);
        assert_eq!(p[5], Placement::Stack { offset: 0, why: StackReason::RegistersUsed });
        assert_eq!(p[6], Placement::Registers(vec![9]));
        // The trampoline does the same ("disorder of the args").
        assert!(misreads(&args, &[8, 8, 8, 8, 8, 16, 8]).is_empty());
    }

    #[test]
    fn abi_registers_are_known_up_to_the_first_unclassified_parameter() {
        use AbiClass::*;
        assert_eq!(abi_registers(&[Integer, Sse, Integer], false), [Some(5), Some(17), Some(4)]);
        // A struct in memory takes no register: the next integer still gets rdi.
        assert_eq!(abi_registers(&[Memory, Integer], false), [None, Some(5)]);
        // An unclassified aggregate may take zero, one or two: nothing after it is known.
        assert_eq!(abi_registers(&[Integer, Other, Integer], false), [Some(5), None, None]);
        assert_eq!(abi_registers(&[Integer], true), [None]);
        // A seventh integer has no register (the stack).
        assert_eq!(abi_registers(&[Integer; 7], false)[6], None);
    }

    #[test]
    fn trampoline_refuses_floats_and_big_structs() {
        assert!(!trampoline_accepts(&[TrampolineArg::Unsupported], false, false));
        assert!(!trampoline_accepts(&[TrampolineArg::Aggregate(24)], false, false));
        assert!(!trampoline_accepts(&[TrampolineArg::Scalar(8)], true, false));
        assert!(trampoline_accepts(&[TrampolineArg::Aggregate(16), TrampolineArg::Scalar(4)], false, false));
    }
}
