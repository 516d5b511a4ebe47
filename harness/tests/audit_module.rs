//! `btfsmith audit --modules` on a small kbuild module whose answers are known from how it is
//! built (Debian 6.12 headers, gcc 12, split BTF written by pahole 1.24 over the kernel's BTF,
//! as kbuild's `cmd_btf_ko` does).
//!
//! - `dup`: a.c has an inline-only `static inline int dup(struct pair *)` (always inlined: its
//!   DIE has no code), b.c an out-of-line `static long dup(long, long)`. The module's only
//!   symbol `dup` is b.c's, so fentry through the FUNC `dup` lands in b.c's body; pahole 1.24
//!   takes the FUNC's prototype from the first DIE named `dup` it meets, a.c's (checked below as
//!   a premise). The FUNC describes code that does not exist: WRONG_PROTO.
//! - `twin`: the same-name pair in the other shape: both units have an out-of-line
//!   `static twin` with different prototypes (`noipa`, so that gcc makes no `twin.isra.0` of
//!   either: the exact symbol must stay on both). The kernel takes the first `twin` in the module's
//!   symbol table, a.c's (locals keep link order); the FUNC (first DIE, also a.c's) describes
//!   it: AMBIGUOUS only. (A vmlinux would take the lowest address instead: see tests/audit.rs.)
//! - `plain_add`: an ordinary traced function: OK.
//! - `quiet`: `notrace` — no `__fentry__` call, no `__mcount_loc` relocation: UNATTACHABLE
//!   (`no-ftrace-site`).
//! - `take_packed(int, struct pk, int)`: a packed 12-byte struct by value is MEMORY class, on the
//!   stack although registers are left; the trampoline reads it from rsi+rdx and `last` from
//!   rcx (it is in rsi): UNSAFE_OPTIMIZED (`stack-slot:memory-class`).
//! - `many`: 13 arguments; Linux 6.12's trampoline takes at most 12: UNATTACHABLE
//!   (`trampoline:refused`).
//! - `scale(long x, long k)`, only ever called with k = 3: gcc 12 makes `scale.constprop.0(long x)`
//!   and no `scale` symbol. pahole 1.24 writes no FUNC for it under either name, though the
//!   DWARF proves the clone's real prototype: MISSED (`missed:clone-only`).
//! - `amod_init`: `__init`, in `.init.text`, which the loader frees after init (and drops from
//!   the module's kallsyms): UNATTACHABLE (`init-text`) when the encoder emits a FUNC for it.

mod common;

use harness::vm::kbuild::{self, ModuleSource};
use std::collections::HashMap;

const A_C: &str = r#"
#include <linux/module.h>
#include <linux/init.h>

struct pair { int first; int second; };
static inline __attribute__((always_inline)) int dup(struct pair *p) { return p->first - p->second; }
static noinline __attribute__((noipa)) int twin(struct pair *p) { return p->first * 7 + p->second; }
noinline int use_pair(struct pair *p) { return dup(p) * 2 + twin(p); }
noinline notrace long quiet(long a) { return a * 5 + 1; }
long plain_add(long a, long b);

static noinline int __init amod_init(void)
{
	struct pair p = { 3, 1 };
	return use_pair(&p) + (int)quiet(2) + (int)plain_add(1, 2) > 1000 ? -22 : 0;
}
module_init(amod_init);
MODULE_LICENSE("GPL");
"#;

const B_C: &str = r#"
#include <linux/compiler.h>

static noinline long dup(long x, long y) { return x * 3 + y; }
static noinline __attribute__((noipa)) long twin(long x) { return x - 9; }
noinline long plain_add(long a, long b) { return a + b + dup(a, b) + twin(b); }

static noinline long scale(long x, long k) { return x * k + 1; }
noinline long use_scale(long a) { return scale(a, 3) + scale(a + 1, 3); }

struct pk { char tag; long value; short extra; char pad; } __attribute__((packed));
noinline long take_packed(int first, struct pk p, int last) { return first + p.value + p.extra + last; }
noinline long many(long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7,
		   long a8, long a9, long a10, long a11, long a12)
{
	return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12;
}
"#;

/// Builds the module, encodes it, and audits it: as built (`--modules amod.ko`), or as a
/// distribution ships it (`shipped`: stripped of DWARF and xz-compressed, the DWARF in a debug
/// directory under the same relative path).
fn build_and_audit(dir: &std::path::Path, shipped: bool) -> (HashMap<String, serde_json::Value>, i32, String) {
    let tc = common::toolchains();
    let kernel = tc
        .require_kernel()
        .unwrap_or_else(|e| panic!("{e}"))
        .clone();
    let pahole = common::tool("pahole-1.24");
    let src = dir.join("amod");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.c"), A_C).unwrap();
    std::fs::write(src.join("b.c"), B_C).unwrap();
    let module = ModuleSource {
        name: "amod".into(),
        objects: vec!["a.o".into(), "b.o".into()],
        extra: vec![],
    };
    let ko = kbuild::build_modules(dir, &[module], &kernel, 2)
        .pop()
        .unwrap()
        .unwrap_or_else(|e| panic!("kbuild: {e}"));
    // kbuild's cmd_btf_ko, with pahole 1.24: the split BTF goes into the .ko in place.
    let base = kernel.vmlinux_btf.display().to_string();
    common::run_ok(
        &pahole,
        &["-J", "--btf_base", base.as_str(), ko.to_str().unwrap()],
        Some(dir),
    );

    // Premise: pahole 1.24's FUNC dup has a.c's (inline-only) prototype.
    let data = std::fs::read(&ko).unwrap();
    let base_btf = std::sync::Arc::new(harness::btf_cmd::load(&kernel.vmlinux_btf, None).unwrap());
    let btf = btf::Btf::parse_file_bytes(&data, Some(base_btf)).unwrap();
    let proto = |name: &str| {
        btf.own_ids()
            .zip(btf.own_types())
            .find(|(_, t)| matches!(t.data, btf::TypeData::Func(_)) && btf.str(t.name) == name)
            .map(|(id, _)| btf::render::func_prototype(&btf, id).unwrap())
    };
    assert_eq!(
        proto("dup").as_deref(),
        Some("int dup(struct pair *p)"),
        "premise: pahole 1.24 takes the first DIE named dup (a.c's inline-only one)"
    );
    assert_eq!(
        proto("twin").as_deref(),
        Some("int twin(struct pair *p)"),
        "premise: pahole 1.24 keeps the first unit's twin"
    );

    let mut args: Vec<String> = ["audit", "--modules"].map(String::from).to_vec();
    if shipped {
        std::fs::create_dir_all(dir.join("shipped/extra")).unwrap();
        std::fs::create_dir_all(dir.join("debug/extra")).unwrap();
        std::fs::copy(&ko, dir.join("debug/extra/amod.ko")).unwrap();
        common::run_ok("objcopy", &["--strip-debug", ko.to_str().unwrap(), "shipped/extra/amod.ko"], Some(dir));
        common::run_ok("xz", &["shipped/extra/amod.ko"], Some(dir));
        args.extend(["shipped", "--module-debug", "debug"].map(String::from));
    } else {
        args.push(ko.display().to_string());
    }
    args.extend(["--base-btf", base.as_str(), "--out", "out", "--jobs", "2"].map(String::from));
    let res = common::run(common::btfsmith(), &args, Some(dir));
    let (by_name, code) = common::audit_verdicts(dir, &res);
    let report = std::fs::read_to_string(dir.join("out/report.md")).unwrap();
    (by_name, code, report)
}

fn verdict(v: &HashMap<String, serde_json::Value>, name: &str) -> String {
    v.get(name)
        .unwrap_or_else(|| panic!("no verdict for {name}: {v:?}"))["verdict"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_kbuild_module_is_judged_by_its_own_symbol_table() {
    let dir = tempfile::tempdir().unwrap();
    let (v, code, report) = build_and_audit(dir.path(), false);
    check_verdicts(&v, code, &report);
}

#[test]
fn a_stripped_compressed_module_is_judged_with_its_separate_dwarf() {
    let dir = tempfile::tempdir().unwrap();
    let (v, code, report) = build_and_audit(dir.path(), true);
    check_verdicts(&v, code, &report);
    assert!(
        report.contains("`extra/amod.ko.xz`, DWARF from `debug/extra/amod.ko`"),
        "{report}"
    );
}

fn check_verdicts(v: &HashMap<String, serde_json::Value>, code: i32, report: &str) {
    assert_eq!(verdict(v, "dup"), "WRONG_PROTO", "{report}");
    assert_eq!(v["dup"]["module"], "amod");
    assert_eq!(v["dup"]["mechanism"], "proto:codeless-instance", "{report}");
    assert_eq!(v["dup"]["reached"]["unit"].as_str().map(|u| u.ends_with("b.c")), Some(true));
    assert_eq!(v["dup"]["reached"]["prototype"], "long int dup(long int x, long int y)");
    assert!(
        v["dup"]["address"].as_str().unwrap().starts_with(".text+0x"),
        "module addresses read as section+offset: {}",
        v["dup"]["address"]
    );

    assert_eq!(verdict(v, "twin"), "AMBIGUOUS", "{report}");
    assert_eq!(
        v["twin"]["reached"]["unit"].as_str().map(|u| u.ends_with("a.c")),
        Some(true),
        "the first twin in the module's symbol table is a.c's"
    );

    assert_eq!(verdict(v, "plain_add"), "OK", "{report}");
    assert_eq!(verdict(v, "use_pair"), "OK", "{report}");
    assert_eq!(verdict(v, "quiet"), "UNATTACHABLE");
    assert_eq!(v["quiet"]["mechanism"], "no-ftrace-site");
    if let Some(init) = v.get("amod_init") {
        assert_eq!(init["verdict"], "UNATTACHABLE");
        assert_eq!(init["mechanism"], "init-text");
    }
    assert_eq!(verdict(v, "scale.constprop.0"), "MISSED", "{report}");
    assert_eq!(v["scale.constprop.0"]["mechanism"], "missed:clone-only");
    assert!(v["scale.constprop.0"]["detail"].as_str().unwrap().contains("long int scale.constprop.0(long int)"), "{}", v["scale.constprop.0"]["detail"]);
    assert!(!v.contains_key("scale"), "pahole 1.24 writes no FUNC scale: {:?}", v.get("scale"));
    assert_eq!(verdict(v, "take_packed"), "UNSAFE_OPTIMIZED", "{report}");
    assert_eq!(v["take_packed"]["mechanism"], "stack-slot:memory-class", "{report}");
    assert_eq!(verdict(v, "many"), "UNATTACHABLE", "{report}");
    assert_eq!(v["many"]["mechanism"], "trampoline:refused", "{report}");
    assert_eq!(code, 1, "a WRONG_PROTO makes the audit exit 1");
    assert!(report.contains("## amod"), "{report}");
}

#[test]
fn modules_without_a_base_btf_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ko = dir.path().join("x.ko");
    std::fs::write(&ko, b"not an ELF file").unwrap();
    let res = common::run(
        common::btfsmith(),
        &["audit", "--modules", ko.to_str().unwrap(), "--out", "out"],
        Some(dir.path()),
    );
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.and_then(|s| s.code()), Some(2), "{err}");
    assert!(err.contains("--base-btf"), "{err}");
}

#[test]
fn a_malformed_module_is_reported_not_fatal() {
    let tc = common::toolchains();
    let kernel = tc.require_kernel().unwrap_or_else(|e| panic!("{e}")).clone();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.ko"), b"\x7fELF but not really").unwrap();
    let res = common::run(
        common::btfsmith(),
        &[
            "audit",
            "--modules",
            dir.path().to_str().unwrap(),
            "--base-btf",
            kernel.vmlinux_btf.to_str().unwrap(),
            "--out",
            "out",
        ],
        Some(dir.path()),
    );
    assert_eq!(res.status.and_then(|s| s.code()), Some(0), "{}", String::from_utf8_lossy(&res.stderr));
    let report = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(
        report.contains("## Not audited (1)") && report.contains("broken.ko") && report.contains("parsing"),
        "{report}"
    );
}
