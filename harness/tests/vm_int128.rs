//! fentry on a function with an `__int128` parameter, in the real Debian 6.12 kernel (qemu TCG).
//!
//! The 6.12 x86 trampoline sizes its argument area by `nr_args` plus the extra registers of
//! *struct* arguments only (`__arch_prepare_bpf_trampoline`), but `save_args` stores
//! `(arg_size + 7) / 8` slots for every argument, so each 16-byte integer writes one slot more
//! than was reserved. With fentry only (no return-value slot) the first slot too many is
//! `[rbp + 0]`: the caller's saved %rbp, which `leave` then restores. `btfsmith vm` met this as a
//! GUEST_CRASH in a generated module whose caller addresses its frame through %rbp.
//!
//! `int128_trampoline_overwrites_saved_rbp` traces one function per module and logs %rbp around
//! the call (the caller clobbers %rbp in an asm statement, so gcc saves and restores it: the
//! corruption is seen, not crashed on). `crash_names_the_func` checks that a crash is blamed on
//! the FUNC whose probe the guest died with: a function with two `__int128` parameters has its
//! return address overwritten too.
//!
//! Needs the kernel, qemu, busybox and the guest agent's build deps (`ci/setup`).

mod common;

use harness::config::{Config, Matrix};
use harness::oracle::VerdictKind as Kind;
use harness::vm::kbuild::{self, ModuleSource};
use harness::vm::{guest::GuestEnv, Case, Expected, Runner};
use std::collections::BTreeSet;

/// How the trigger calls `f`: values for the argument registers (in order rdi, rsi, rdx, rcx,
/// r8, r9) and the stack slots (the first at the lowest address).
struct Call {
    regs: Vec<u64>,
    stack: Vec<u64>,
}

/// The caller of `f`, in assembly: a C caller that passes a 16-byte-aligned argument on the stack
/// must realign the kernel's 8-byte-aligned stack, which makes it address its frame through %rbp
/// (as `bs_run_tu0` in the generated module did) and crash right after a call that breaks %rbp.
/// This one saves %rbp, calls `f`, returns the %rbp that `f` returned with and restores its own.
fn asm_caller(call: &Call) -> String {
    const REGS: [&str; 6] = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"];
    let mut a = String::from("\tpush %rbp\n\tmov %rbp, bs_before(%rip)\n");
    // %rsp is 16-byte aligned after `push %rbp`; it must be again at the call.
    let pad = call.stack.len() % 2;
    if pad == 1 {
        a.push_str("\tsub $8, %rsp\n");
    }
    for v in call.stack.iter().rev() {
        a.push_str(&format!("\tmovabs ${v:#x}, %rax\n\tpush %rax\n"));
    }
    for (r, v) in REGS.iter().zip(&call.regs) {
        a.push_str(&format!("\tmovabs ${v:#x}, %{r}\n"));
    }
    a.push_str("\tcall f\n");
    let drop = 8 * (call.stack.len() + pad);
    if drop > 0 {
        a.push_str(&format!("\tadd ${drop}, %rsp\n"));
    }
    a.push_str("\tmov %rbp, %rax\n\tpop %rbp\n\tret\n");
    let lines: String = a.lines().map(|l| format!("\t\"{l}\\n\"\n")).collect();
    format!("u64 bs_call_f(void);\nasm(\".pushsection .text\\n\"\n\t\".globl bs_call_f\\n\"\n\t\".type bs_call_f, @function\\n\"\n\t\"bs_call_f:\\n\"\n{lines}\t\".size bs_call_f, .-bs_call_f\\n\"\n\t\".popsection\\n\");\n")
}

/// A module whose trigger calls `f` (defined by `def`) through [`asm_caller`] and logs %rbp
/// before and after as `btfsmith-rbp: before=… after=…`.
fn module(def: &str, call: &Call) -> String {
    format!(
        r#"// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/fs.h>

struct pair {{ u64 a, b; }};
volatile u64 bs_sink;
volatile u64 bs_before;

{def}

{caller}
static ssize_t trig(struct file *file, const char __user *buf, size_t len, loff_t *off)
{{
	u64 after = bs_call_f();

	pr_info("btfsmith-rbp: before=%llx after=%llx\n", bs_before, after);
	return len;
}}

{trigger}"#,
        caller = asm_caller(call),
        trigger = common::TRIGGER_FILE
    )
}

const HI: u64 = 0x1111_2222_3333_4444;
const LO: u64 = 0x5555_6666_7777_8888;
const LAST: u64 = 0x0bad_c0de_0bad_c0de;

const F_STACK6: &str = "noinline u8 f(unsigned int p0, short p1, short p2, long p3, unsigned long p4, unsigned __int128 p5) { bs_sink = p0 + p1 + p2 + p3 + p4 + (u64)p5 + (u64)(p5 >> 64); return 0; }";

/// (module, function definition, call, FUNCs to attach, %rbp after the call, or None when it must
/// be unchanged).
fn variants() -> Vec<(&'static str, &'static str, Call, &'static [&'static str], Option<u64>)> {
    vec![
        // The generated module's shape: five integers in registers, the __int128 on the stack
        // (two slots). The second slot (its high half) lands on the saved %rbp.
        ("i128_stack6_00", F_STACK6, Call { regs: vec![1, 2, 3, 4, 5], stack: vec![LO, HI] }, &["f"], Some(HI)),
        // The same module, fentry only on the trigger: f runs untraced.
        ("i128_untraced_00", F_STACK6, Call { regs: vec![1, 2, 3, 4, 5], stack: vec![LO, HI] }, &["trig"], None),
        // Seventh argument, on the stack after six registers: nr_regs 7, eight slots written.
        (
            "i128_stack7_00",
            "noinline u8 f(long p0, long p1, long p2, long p3, long p4, long p5, unsigned __int128 p6) { bs_sink = p0 + p1 + p2 + p3 + p4 + p5 + (u64)p6 + (u64)(p6 >> 64); return 0; }",
            Call { regs: vec![1, 2, 3, 4, 5, 6], stack: vec![LO, HI] },
            &["f"],
            Some(HI),
        ),
        // In registers (rdi:rsi), then rdx: three slots written in a two-slot area, the third
        // (p1) on the saved %rbp. No stack argument at all.
        (
            "i128_regs_00",
            "noinline u8 f(unsigned __int128 p0, long p1) { bs_sink = (u64)p0 + (u64)(p0 >> 64) + p1; return 0; }",
            Call { regs: vec![LO, HI, LAST], stack: vec![] },
            &["f"],
            Some(LAST),
        ),
        // Controls: an 8-byte seventh argument on the stack, and a 16-byte struct where the
        // __int128 was (struct arguments are counted in the area's size).
        (
            "ctl_long7_00",
            "noinline u8 f(long p0, long p1, long p2, long p3, long p4, long p5, long p6) { bs_sink = p0 + p1 + p2 + p3 + p4 + p5 + p6; return 0; }",
            Call { regs: vec![1, 2, 3, 4, 5, 6], stack: vec![7] },
            &["f"],
            None,
        ),
        (
            "ctl_struct6_00",
            "noinline u8 f(unsigned int p0, short p1, short p2, long p3, unsigned long p4, struct pair p5) { bs_sink = p0 + p1 + p2 + p3 + p4 + p5.a + p5.b; return 0; }",
            Call { regs: vec![1, 2, 3, 4, 5], stack: vec![LO, HI] },
            &["f"],
            None,
        ),
    ]
}

fn env() -> GuestEnv {
    GuestEnv::discover().unwrap_or_else(|e| panic!("the VM runtime oracle needs its components: {e:#} (install them with `ci/setup`)"))
}

/// pahole 1.24 (the kernel 6.1 flags): it describes `f(__int128, ...)` as written (btfenc and
/// pahole with the kernel's flags leave out such FUNCs, so they cannot attach to them).
fn pahole() -> Vec<harness::config::EncoderSetup> {
    let tc = harness::toolchains::Toolchains::load().unwrap();
    Matrix::resolve(&Config::builtin(), &tc, &[], &[]).unwrap_or_else(|e| panic!("{e:#} (run `ci/setup`)")).encoders.into_iter().filter(|e| e.config.name == "pahole-1.24/kernel-6.1").collect()
}

fn build(root: &std::path::Path, sources: &[(&str, String)], env: &GuestEnv) -> Vec<std::path::PathBuf> {
    let mut mods = Vec::new();
    for (name, text) in sources {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.c"), text).unwrap();
        mods.push(ModuleSource { name: name.to_string(), objects: vec!["a.o".into()], extra: vec![] });
    }
    kbuild::build_modules(root, &mods, &env.kernel, 2).into_iter().map(|r| r.unwrap_or_else(|e| panic!("kbuild: {e}"))).collect()
}

/// `btfsmith-rbp: before=X after=Y` from the module's kernel log.
fn rbp(kmsg: &[String]) -> Option<(u64, u64)> {
    let line = kmsg.iter().find_map(|l| l.split_once("btfsmith-rbp: ").map(|(_, r)| r.to_string()))?;
    let (b, a) = line.trim().strip_prefix("before=")?.split_once(" after=")?;
    Some((u64::from_str_radix(b, 16).ok()?, u64::from_str_radix(a, 16).ok()?))
}

#[test]
fn int128_trampoline_overwrites_saved_rbp() {
    let env = env();
    let tmp = tempfile::tempdir().unwrap();
    let vs = variants();
    let sources: Vec<(&str, String)> = vs.iter().map(|(m, def, call, ..)| (*m, module(def, call))).collect();
    let kos = build(&tmp.path().join("build"), &sources, &env);
    let mut cases = Vec::new();
    for ((m, _, _, attach, _), ko) in vs.iter().zip(&kos) {
        let mut c = Case::load(m, ko, Expected::default()).unwrap();
        c.attach_only = Some(attach.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
        cases.push(c);
    }
    let runner = Runner::new(env, tmp.path().join("vm"));
    let report = harness::vm_campaign::run_judged(&runner, &cases, &pahole()).unwrap_or_else(|e| panic!("{e:#}"));
    let all: Vec<String> = report.verdicts.iter().map(|v| format!("{} {} {:?}: {}", v.kind, v.case, v.function, v.detail)).collect();
    let all = all.join("\n");
    assert!(!report.verdicts.iter().any(|v| v.kind == Kind::GuestCrash), "{all}");
    // The job reports (with the kernel log) are only in the boot directory's agent output.
    let text = std::fs::read_to_string(tmp.path().join("vm/boot-1-0/agent.out")).unwrap();
    let (jobs, ..) = harness::vm::guest::parse_output(&text);
    for (i, (m, _, _, attach, want)) in vs.iter().enumerate() {
        // Job ids are `<case>.<configuration>`; one configuration here.
        let job = jobs.iter().find(|j| j.job == format!("{i}.0")).unwrap_or_else(|| panic!("no job for {m}:\n{text}"));
        let attached: Vec<&str> = job.results.iter().filter(|r| r.status == "attached").map(|r| r.name.as_str()).collect();
        assert_eq!(attached, attach.to_vec(), "{m}: attached {attached:?}\n{all}");
        let (before, after) = rbp(&job.kmsg).unwrap_or_else(|| panic!("{m}: no btfsmith-rbp line in {:?}", job.kmsg));
        eprintln!("{m}: fentry on {attach:?}: rbp before={before:#x} after={after:#x}");
        match want {
            Some(v) => assert_eq!(after, *v, "{m}: %rbp after the traced call is not the slot predicted from save_args (before={before:#x})"),
            None => assert_eq!(after, before, "{m}: %rbp changed"),
        }
    }
}

#[test]
fn crash_names_the_func() {
    let env = env();
    let tmp = tempfile::tempdir().unwrap();
    // Two __int128 in rdi:rsi and rdx:rcx: four slots in a two-slot area, the fourth (p1's high
    // half) on the return address.
    let def = "noinline u8 g(long p0) { bs_sink = p0 * 3; return 0; }\nnoinline u8 f(unsigned __int128 p0, unsigned __int128 p1) { bs_sink = (u64)p0 + (u64)(p0 >> 64) + (u64)p1 + (u64)(p1 >> 64) + g(p0); return 0; }";
    let call = Call { regs: vec![LO, HI, LO, LAST], stack: vec![] };
    let kos = build(&tmp.path().join("build"), &[("i128_two_00", module(def, &call))], &env);
    let case = Case::load("i128_two_00", &kos[0], Expected::default()).unwrap();
    let runner = Runner::new(env, tmp.path().join("vm"));
    let report = harness::vm_campaign::run_judged(&runner, &[case], &pahole()).unwrap_or_else(|e| panic!("{e:#}"));
    let all: Vec<String> = report.verdicts.iter().map(|v| format!("{} {} {:?}: {}", v.kind, v.case, v.function, v.detail)).collect();
    let all = all.join("\n");
    let crashed: Vec<_> = report.verdicts.iter().filter(|v| v.kind == Kind::GuestCrash).collect();
    assert_eq!(crashed.len(), 1, "{all}");
    assert_eq!(crashed[0].function.as_deref(), Some("f"), "{all}");
    assert_eq!(crashed[0].evidence, "runtime:int128-trampoline", "{all}");
    assert!(crashed[0].detail.contains("fentry attached to f only") && crashed[0].detail.contains("First crash"), "{all}");
    assert!(crashed[0].detail.contains("known kernel bug") && crashed[0].detail.contains("parameter(s) p0, p1 "), "{all}");
    assert_eq!(report.timings.boots, 2, "one boot with every probe, one with a probe at a time: {:?}", report.timings);
    let console = std::fs::read_to_string(tmp.path().join("vm/boot-2-0/console.log")).unwrap();
    assert!(console.contains("firing the trigger with fentry on 1 FUNC(s): f"), "{console}");
}
