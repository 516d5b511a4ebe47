//! The host kernel's verdict on BTF through `btfsmith btf load` (libbpf `btf__new`, then
//! `BPF_BTF_LOAD`): a kbuild module whose split BTF btfenc wrote as kbuild's PAHOLE is accepted
//! once laid over the 6.12 vmlinux base; a blob the kernel's rules forbid is refused with the
//! verifier's reason.

mod common;
use btf::types::*;
use common::*;

const MODULE_C: &str = r#"
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/list.h>
struct btfenc_load_state { struct list_head list; spinlock_t lock; u64 count; struct task_struct *owner; double scale; };
static noinline int helper(int a, int b) { return a * b + 3; }
noinline long btfenc_load_api(struct btfenc_load_state *s, long x) { s->count += x; return helper(x, 2) + s->count; }
EXPORT_SYMBOL(btfenc_load_api);
static int __init m_init(void) { return 0; }
static void __exit m_exit(void) {}
module_init(m_init);
module_exit(m_exit);
MODULE_LICENSE("GPL");
"#;

#[test]
fn module_encoded_by_btfenc_in_kbuild_is_accepted_by_the_kernel_over_its_base() {
    let kernel = toolchains().require_kernel().unwrap_or_else(|e| panic!("{e}")).clone();
    let btfenc = harness::config::btfenc_path().unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("m.c"), MODULE_C).unwrap();
    std::fs::write(d.join("Makefile"), "obj-m := btfenc_load.o\nbtfenc_load-y := m.o\n").unwrap();
    let mut make = harness::process::command(
        "make",
        [
            "-s".to_string(),
            "-C".to_string(),
            kernel.headers.display().to_string(),
            format!("M={}", d.display()),
            format!("PAHOLE={}", btfenc.display()),
            "modules".to_string(),
        ],
        None,
    );
    make.env("KBUILD_VERBOSE", "0");
    harness::process::run(make, std::time::Duration::from_secs(600))
        .unwrap()
        .check()
        .unwrap_or_else(|e| panic!("kbuild with PAHOLE=btfenc: {e}"));
    let ko = d.join("btfenc_load.ko");
    let base = kernel.vmlinux_btf.display().to_string();
    let out = run(btfsmith(), &["btf", "load", &ko.display().to_string(), "--base", &base], None);
    let text = out.stdout_text();
    assert_eq!(out.status.and_then(|s| s.code()), Some(0), "{text}\n{}", out.stderr_text());
    assert!(text.starts_with("accepted: "), "{text}");
    // The module's own types are few: everything from the headers deduplicated into the base.
    let own: usize = text.split('(').nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
    assert!((1..100).contains(&own), "{text}");
}

#[test]
fn blob_breaking_a_kernel_rule_is_refused_with_the_verifiers_reason() {
    // A packed struct with a FLOAT member at byte 4: the kernel requires FLOAT members aligned to
    // min(size, 8) bytes. (btfenc avoids writing this; see corpus/packed-struct-misaligned-double.)
    let mut b = btf::Btf::new(None);
    let int = b.add_str("int");
    let int_id = b.add_type(Type { name: int, data: TypeData::Int(Int { size: 4, encoding: IntEncoding::SIGNED, bit_offset: 0, bits: 32 }) });
    let dbl = b.add_str("double");
    let dbl_id = b.add_type(Type { name: dbl, data: TypeData::Float(Float { size: 8 }) });
    let (s, t, v) = (b.add_str("sample"), b.add_str("tag"), b.add_str("value"));
    b.add_type(Type {
        name: s,
        data: TypeData::Struct(Composite {
            size: 12,
            bitfield_encoding: false,
            members: vec![
                Member { name: t, ty: int_id, bit_offset: 0, bitfield_size: 0 },
                Member { name: v, ty: dbl_id, bit_offset: 32, bitfield_size: 0 },
            ],
        }),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("misaligned.btf");
    std::fs::write(&path, b.to_bytes().unwrap()).unwrap();
    let out = run(btfsmith(), &["btf", "load", &path.display().to_string()], None);
    let text = out.stdout_text();
    assert_eq!(out.status.and_then(|s| s.code()), Some(1), "{text}");
    assert!(text.contains("refused") && text.contains("Member is not properly aligned"), "{text}");
}
