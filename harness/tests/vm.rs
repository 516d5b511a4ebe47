//! The runtime oracle in a real kernel (Debian 6.12 under qemu TCG): the seed's hazard, reproduced.
//!
//! A two-file module with two `static noinline dup_fn` of different prototypes, both called by
//! the trigger with values the compiler cannot propagate. pahole 1.24 (kernel 6.1 flags) keeps
//! both FUNCs (usually: with -j it sometimes keeps one), and attaching by the second one's id
//! enters the first `dup_fn` (kallsyms' first match): WRONG_FUNCTION or WRONG_ARGS. pahole 1.30
//! with the kernel's flags drops `dup_fn`: MISSED. btfenc: nothing WRONG_*.
//!
//! Needs the kernel, qemu, busybox, pahole 1.24/1.30 and the guest agent's build deps: a missing
//! one fails the test naming `ci/setup`.

mod common;

use harness::config::{Config, Matrix};
use harness::oracle::VerdictKind as Kind;
use harness::vm::kbuild::{self, ModuleSource};
use harness::vm::{guest::GuestEnv, Case, Expected, ExpectedCall, Runner};

const A_C: &str = r#"// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/fs.h>

static noinline int dup_fn(int a, int b) { return a * b + 3; }
long bs_run_b(long x);
static volatile long bs_zero;
volatile long bs_sink;

static ssize_t trig(struct file *f, const char __user *buf, size_t len, loff_t *off)
{
	long x = bs_zero;

	bs_sink = dup_fn((int)x + 5, (int)x + 6) + bs_run_b(x);
	return len;
}

"#;

const B_C: &str = r#"// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>

static noinline long dup_fn(long a, long b, long c) { return a * b + c; }
long bs_run_b(long x);
noinline long bs_run_b(long x) { return dup_fn(x + 7, x + 8, x + 9); }
"#;

fn call(name: &str, tu: &str, args: &[i128]) -> ExpectedCall {
    ExpectedCall::ints(name, tu, args)
}

fn env() -> GuestEnv {
    GuestEnv::discover().unwrap_or_else(|e| panic!("the VM runtime oracle needs its components: {e:#} (install them with `ci/setup`)"))
}

#[test]
fn seed_hazard_at_runtime() {
    let env = env();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("build");
    let src = root.join("dupmod_00");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.c"), format!("{A_C}{}", common::TRIGGER_FILE)).unwrap();
    std::fs::write(src.join("b.c"), B_C).unwrap();
    let m = ModuleSource { name: "dupmod_00".into(), objects: vec!["a.o".into(), "b.o".into()], extra: vec![] };
    let ko = kbuild::build_modules(&root, &[m], &env.kernel, 2).remove(0).unwrap_or_else(|e| panic!("kbuild: {e}"));
    let expected = Expected {
        calls: vec![call("dup_fn", "a.c", &[5, 6]), call("bs_run_b", "b.c", &[0]), call("dup_fn", "b.c", &[7, 8, 9])],
        internal: [("dup_fn".to_string(), "b.c".to_string())].into_iter().collect(),
        ..Default::default()
    };
    let case = Case::load("dupmod_00", &ko, expected).unwrap();
    assert_eq!(case.facts.instances("dup_fn").count(), 2, "gcc kept both dup_fn out of line");

    let tc = harness::toolchains::Toolchains::load().unwrap();
    let all = Matrix::resolve(&Config::builtin(), &tc, &[], &[]).unwrap_or_else(|e| panic!("{e:#} (run `ci/setup`)")).encoders;
    let pick = |n: &str| all.iter().find(|e| e.config.name == n).unwrap_or_else(|| panic!("no encoder configuration {n}")).clone();
    // pahole 1.24 -j is not deterministic: four independent encodings in the same boot.
    let mut encoders = Vec::new();
    for i in 1..=4 {
        let mut e = pick("pahole-1.24/kernel-6.1");
        e.config.name = format!("pahole-1.24/kernel-6.1#{i}").parse().unwrap();
        encoders.push(e);
    }
    encoders.push(pick("pahole-1.30/kernel"));
    encoders.push(pick("btfenc"));

    let runner = Runner::new(env, tmp.path().join("vm"));
    let report = harness::vm_campaign::run_judged(&runner, &[case], &encoders).unwrap_or_else(|e| panic!("{e:#}"));
    let text: Vec<String> = report.verdicts.iter().map(|v| format!("{} {} {:?}: {}", v.kind, v.encoder, v.function, v.detail)).collect();
    let all_text = text.join("\n");
    let of = |cfg: &str| report.verdicts.iter().filter(move |v| v.encoder.starts_with(cfg)).collect::<Vec<_>>();
    assert!(!report.verdicts.iter().any(|v| matches!(v.kind, Kind::GuestCrash | Kind::EncoderFailed | Kind::LoadRejected)), "{all_text}");

    // pahole 1.24: a WRONG_* verdict for dup_fn, in every encoding that kept b.c's FUNC.
    let wrong_124 = of("pahole-1.24").iter().filter(|v| matches!(v.kind, Kind::WrongFunction | Kind::WrongArgs) && v.function.as_deref() == Some("dup_fn")).count();
    assert!(wrong_124 >= 1, "pahole 1.24 never misled the tracer:\n{all_text}");
    for v in of("pahole-1.24") {
        if v.kind == Kind::WrongFunction {
            assert!(v.detail.contains("a.c") && v.detail.contains("b.c"), "the detail names both instances: {}", v.detail);
        }
    }
    // bs_run_b is an ordinary function: every configuration that describes it reads its argument.
    for v in report.verdicts.iter().filter(|v| v.function.as_deref() == Some("bs_run_b")) {
        assert_eq!(v.kind, Kind::Safe, "{all_text}");
    }
    // pahole 1.30 with the kernel's flags: dup_fn dropped, so MISSED, and nothing wrong.
    let p130 = of("pahole-1.30/kernel");
    assert!(p130.iter().any(|v| v.kind == Kind::Missed && v.function.as_deref() == Some("dup_fn")), "{all_text}");
    assert!(!p130.iter().any(|v| matches!(v.kind, Kind::WrongFunction | Kind::WrongArgs)), "{all_text}");
    // btfenc: never WRONG_*, and trig / bs_run_b attach.
    let ours = of("btfenc");
    assert!(!ours.is_empty(), "{all_text}");
    assert!(!ours.iter().any(|v| matches!(v.kind, Kind::WrongFunction | Kind::WrongArgs)), "{all_text}");
    assert!(ours.iter().any(|v| v.kind == Kind::Safe), "{all_text}");
    eprintln!("{all_text}\ntimings: {:?}", report.timings);
}

/// `btfsmith vm` end to end on two generated modules: every FUNC judged, ordinary functions read
/// correctly, btfenc never misleads the tracer.
#[test]
fn generated_modules_at_runtime() {
    let _ = env();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("vm");
    let args = ["vm", "--count", "2", "--seed", "1", "--encoders", "btfenc,pahole-1.30/kernel", "--out", out.to_str().unwrap()];
    let cmd = harness::process::command(common::btfsmith(), args, None);
    let res = harness::process::run(cmd, std::time::Duration::from_secs(900)).unwrap();
    let stdout = res.stdout_text();
    assert!(matches!(res.status.and_then(|s| s.code()), Some(0 | 1)), "btfsmith vm failed:\n{stdout}\n{}", res.stderr_text());
    assert!(stdout.contains("| btfenc |") && stdout.contains("| pahole-1.30/kernel |"), "{stdout}");
    let verdicts: Vec<serde_json::Value> = std::fs::read_to_string(out.join("verdicts.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kind = |v: &serde_json::Value| v["kind"].as_str().unwrap_or("").to_string();
    let all = verdicts.iter().map(|v| format!("{} {} {} {}", kind(v), v["encoder"], v["function"], v["detail"])).collect::<Vec<_>>().join("\n");
    for bad in ["GUEST_CRASH", "ENCODER_FAILED", "LOAD_REJECTED"] {
        assert!(!verdicts.iter().any(|v| kind(v) == bad), "{bad}:\n{all}");
    }
    assert!(verdicts.iter().filter(|v| kind(v) == "SAFE").count() >= 10, "{all}");
    for v in verdicts.iter().filter(|v| v["encoder"].as_str().unwrap_or("").starts_with("btfenc")) {
        assert!(!kind(v).starts_with("WRONG_"), "btfenc misled the tracer:\n{all}");
    }
}

const CRASH_C: &str = r#"// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/fs.h>

static ssize_t trig(struct file *f, const char __user *buf, size_t len, loff_t *off)
{
	panic("btfsmith: deliberate crash");
	return len;
}

"#;

/// A module whose trigger panics the guest: GUEST_CRASH for it, with the console log kept, and
/// the module after it still runs (in a second boot).
#[test]
fn guest_crash_is_contained() {
    let env = env();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("build");
    for (name, files) in [("crash_00", vec![("a.c", CRASH_C)]), ("dupmod_00", vec![("a.c", A_C), ("b.c", B_C)])] {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (f, text) in files {
            // The trigger's unit (the one defining `trig`) gets the debugfs file.
            let text = if text.contains("static ssize_t trig(") { format!("{text}{}", common::TRIGGER_FILE) } else { text.to_string() };
            std::fs::write(dir.join(f), text.replace("debugfs_create_dir(\"btfsmith\", NULL)", "debugfs_create_dir(KBUILD_MODNAME, NULL)")).unwrap();
        }
    }
    let mods = [
        ModuleSource { name: "crash_00".into(), objects: vec!["a.o".into()], extra: vec![] },
        ModuleSource { name: "dupmod_00".into(), objects: vec!["a.o".into(), "b.o".into()], extra: vec![] },
    ];
    let kos: Vec<_> = kbuild::build_modules(&root, &mods, &env.kernel, 2).into_iter().map(|r| r.unwrap_or_else(|e| panic!("kbuild: {e}"))).collect();
    let crash = Case::load("crash_00", &kos[0], Expected::default()).unwrap();
    let dup = Case::load("dupmod_00", &kos[1], Expected { calls: vec![call("bs_run_b", "b.c", &[0])], ..Default::default() }).unwrap();
    let tc = harness::toolchains::Toolchains::load().unwrap();
    let encoders: Vec<_> = Matrix::resolve(&Config::builtin(), &tc, &[], &[]).unwrap().encoders.into_iter().filter(|e| e.config.name == "btfenc").collect();
    let runner = Runner::new(env, tmp.path().join("vm"));
    let report = harness::vm_campaign::run_judged(&runner, &[crash, dup], &encoders).unwrap_or_else(|e| panic!("{e:#}"));
    let all: Vec<String> = report.verdicts.iter().map(|v| format!("{} {} {:?}: {}", v.kind, v.case, v.function, v.detail)).collect();
    let all = all.join("\n");
    let crashed: Vec<_> = report.verdicts.iter().filter(|v| v.kind == Kind::GuestCrash).collect();
    assert_eq!(crashed.len(), 1, "{all}");
    assert_eq!(crashed[0].case, "crash_00", "{all}");
    assert!(crashed[0].detail.contains("console.log") && crashed[0].detail.contains("deliberate crash"), "{all}");
    assert_eq!(report.crash_logs.len(), 1);
    assert!(report.timings.boots >= 2, "{:?}", report.timings);
    assert!(report.verdicts.iter().any(|v| v.case == "dupmod_00" && v.kind == Kind::Safe && v.function.as_deref() == Some("bs_run_b")), "{all}");
}
