//! `btfsmith btf dump` prints exactly what `bpftool btf dump file` prints, and the btf crate
//! rewrites each file byte for byte, on real files from every producer we test: the Debian 6.12
//! kernel's BTF, a module's split BTF over it, pahole 1.24 / 1.30 / 1.32 output, `gcc -gbtf`.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// Compares the two dumps line by line, naming the first difference (a 20 MB assert_eq is useless).
fn assert_same_dump(file: &Path, base: Option<&Path>) {
    let bpftool = family("bpftool");
    let mut bargs: Vec<String> = Vec::new();
    let mut oargs: Vec<String> = vec!["btf".into(), "dump".into(), file.display().to_string()];
    if let Some(b) = base {
        bargs.extend(["-B".into(), b.display().to_string()]);
        oargs.extend(["--base".into(), b.display().to_string()]);
    }
    bargs.extend(["btf".into(), "dump".into(), "file".into(), file.display().to_string()]);
    let theirs = run_ok(&bpftool, &bargs, None).stdout;
    let ours = run_ok(btfsmith(), &oargs, None).stdout;
    assert!(!theirs.is_empty(), "bpftool printed nothing for {}", file.display());
    if ours != theirs {
        let (o, t) = (String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
        let at = o.lines().zip(t.lines()).position(|(a, b)| a != b);
        panic!(
            "dump of {} differs from bpftool's ({} vs {} bytes); first differing line {:?}:\n ours:    {:?}\n bpftool: {:?}",
            file.display(),
            ours.len(),
            theirs.len(),
            at,
            at.and_then(|i| o.lines().nth(i)),
            at.and_then(|i| t.lines().nth(i)),
        );
    }
}

/// The blob rewrites to the exact bytes it was read from.
fn assert_rewrites_identically(file: &Path, base: Option<&Path>) {
    let base = base.map(|b| std::sync::Arc::new(harness::btf_cmd::load(b, None).unwrap()));
    let bytes = std::fs::read(file).unwrap();
    let raw = if bytes.starts_with(&[0x9f, 0xeb]) {
        bytes
    } else {
        use object::{Object, ObjectSection};
        let elf = object::File::parse(&*bytes).unwrap();
        elf.section_by_name(".BTF").expect(".BTF").data().unwrap().to_vec()
    };
    let parsed = btf::Btf::parse(&raw, base).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(parsed.to_bytes().unwrap() == raw, "{} does not rewrite byte for byte", file.display());
}

fn check(file: &Path, base: Option<&Path>) {
    assert_same_dump(file, base);
    assert_rewrites_identically(file, base);
}

fn kernel_base() -> PathBuf {
    toolchains().require_kernel().unwrap_or_else(|e| panic!("{e}")).vmlinux_btf.clone()
}

#[test]
fn kernel_6_12_vmlinux() {
    check(&kernel_base(), None);
}

#[test]
fn module_split_btf_over_vmlinux() {
    let tc = toolchains();
    let kernel = tc.require_kernel().unwrap_or_else(|e| panic!("{e}")).clone();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("probe.c"),
        r#"#include <linux/module.h>
#include <linux/list.h>
struct probe_item { struct list_head node; u64 cookie; unsigned int flags:3; };
static LIST_HEAD(items);
noinline int probe_add(struct probe_item *it, u64 cookie) { it->cookie = cookie; list_add(&it->node, &items); return 0; }
static int __init probe_init(void) { static struct probe_item it; return probe_add(&it, 7); }
static void __exit probe_exit(void) { }
module_init(probe_init);
module_exit(probe_exit);
MODULE_LICENSE("GPL");
"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("Makefile"), "obj-m += probe.o\n").unwrap();
    let m = format!("M={}", dir.path().display());
    run_ok("make", &["-s", "-C", &kernel.headers.display().to_string(), &m, "modules"], None);
    let ko = dir.path().join("probe.ko");
    check(&ko, Some(&kernel.vmlinux_btf));
    // The split blob must define the module's own types, not repeat the kernel's.
    let out = run_ok(btfsmith(), &["btf", "canon", &ko.display().to_string(), "--base", &kernel.vmlinux_btf.display().to_string()], None);
    let canon = out.stdout_text();
    assert!(canon.contains("STRUCT probe_item size="), "{canon}");
    assert!(!canon.contains("STRUCT list_head "), "list_head belongs to the base:\n{canon}");
}

fn pahole_output(pahole: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let obj = compile_sample(dir.path(), &family("gcc"), &["-g", "-O2"], "sample.o");
    let out = dir.path().join("sample.btf");
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.push(format!("--btf_encode_detached={}", out.display()));
    args.push(obj.display().to_string());
    run_ok(tool(pahole), &args, None);
    (dir, out)
}

#[test]
fn pahole_1_24_output() {
    let (_dir, out) = pahole_output("pahole-1.24", &["-J", "--btf_gen_floats"]);
    check(&out, None);
}

const KERNEL_FEATURES: &str = "--btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func";

#[test]
fn pahole_1_30_output() {
    let (_dir, out) = pahole_output("pahole-1.30", &[KERNEL_FEATURES]);
    check(&out, None);
}

#[test]
fn pahole_1_32_output() {
    let (_dir, out) = pahole_output("pahole-1.32", &[KERNEL_FEATURES]);
    check(&out, None);
}

#[test]
fn gcc_gbtf_object() {
    let dir = tempfile::tempdir().unwrap();
    let obj = compile_sample(dir.path(), &family("gcc"), &["-gbtf", "-O2"], "sample.o");
    check(&obj, None);
}

#[test]
fn clang_object_through_pahole() {
    let dir = tempfile::tempdir().unwrap();
    let clang = toolchains().family("clang").last().unwrap_or_else(|| panic!("no clang: run `ci/setup`")).path.clone();
    let obj = compile_sample(dir.path(), &clang, &["-g", "-O2"], "sample.o");
    let out = dir.path().join("sample.btf");
    run_ok(tool("pahole-1.30"), &[KERNEL_FEATURES.to_string(), format!("--btf_encode_detached={}", out.display()), obj.display().to_string()], None);
    check(&out, None);
}

#[test]
fn diff_shows_how_two_pahole_releases_differ() {
    let (_d1, old) = pahole_output("pahole-1.24", &["-J", "--btf_gen_floats"]);
    let (_d2, new) = pahole_output("pahole-1.30", &[KERNEL_FEATURES]);
    let (old, new) = (old.display().to_string(), new.display().to_string());
    let same = run(btfsmith(), &["btf", "diff", &old, &old], None);
    assert_eq!(same.status.and_then(|s| s.code()), Some(0), "{}", same.stderr_text());
    assert!(same.stdout.is_empty());
    let d = run(btfsmith(), &["btf", "diff", &old, &new], None);
    assert_eq!(d.status.and_then(|s| s.code()), Some(1), "{}", d.stderr_text());
    let text = d.stdout_text();
    assert!(text.starts_with(&format!("--- {old}\n+++ {new}\n")), "{text}");
    // gcc 12 -O2 turns `walk` into `walk.constprop.0` (n is always 2). pahole 1.24 drops the
    // clone; 1.30 with optimized_func emits a FUNC `walk` with the source prototype.
    assert!(text.contains("\n+FUNC walk static: long int walk(struct list *l, int n)\n"), "{text}");
}

#[test]
fn host_kernel_btf_if_the_kernel_exposes_it() {
    // Not every CI kernel has /sys/kernel/btf; the 6.12 test above is the mandatory one.
    let p = Path::new("/sys/kernel/btf/vmlinux");
    if p.exists() {
        check(p, None);
    }
}
