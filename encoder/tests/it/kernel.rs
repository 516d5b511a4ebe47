//! A kernel module built by kbuild with btfenc as PAHOLE: split BTF over the 6.12 vmlinux,
//! accepted by bpftool, type-for-type what pahole 1.24 encodes, minus the unsafe FUNC.

use crate::common::*;
use std::process::Command;

const M1: &str = r#"
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sched.h>
struct btfenc_state { struct list_head list; spinlock_t lock; u64 count; struct task_struct *owner; };
static noinline __attribute__((noclone)) int dup_fn(int a, int b) { return a * b + 3; }
static DEFINE_PER_CPU(int, btfenc_pcpu);
noinline long btfenc_api(struct btfenc_state *s, long x) { s->count += x; return dup_fn(x, 2) + s->count; }
EXPORT_SYMBOL(btfenc_api);
long btfenc_api2(long a, long b);
static int __init m_init(void) {
    struct btfenc_state *s = kzalloc(sizeof(*s), GFP_KERNEL);
    if (!s) return -ENOMEM;
    this_cpu_inc(btfenc_pcpu);
    btfenc_api(s, 1); btfenc_api2(1, 2);
    kfree(s);
    return 0;
}
static void __exit m_exit(void) {}
module_init(m_init);
module_exit(m_exit);
MODULE_LICENSE("GPL");
"#;

const M2: &str = r#"
#include <linux/kernel.h>
#include <linux/netdevice.h>
#include <linux/bpf.h>
noinline int btfenc_net(struct sk_buff *skb, struct net_device *dev, struct bpf_prog *p) { return skb->len + dev->mtu + p->len; }
static noinline __attribute__((noclone)) long dup_fn(long a, long b, long c) { return a * b + c; }
noinline long btfenc_api2(long a, long b) { return dup_fn(a, b, a ^ b); }
"#;

#[test]
fn module_split_btf() {
    let (headers, vmlinux) = kernel();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("m1.c"), M1).unwrap();
    std::fs::write(d.join("m2.c"), M2).unwrap();
    std::fs::write(
        d.join("Makefile"),
        "obj-m := btfenc_test.o\nbtfenc_test-y := m1.o m2.o\n",
    )
    .unwrap();
    run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(&headers)
        .arg(format!("M={}", d.display()))
        .arg(format!("PAHOLE={}", btfenc().display()))
        .arg("modules"));
    let ko = d.join("btfenc_test.ko");
    let dump = run(Command::new(bpftool())
        .args(["btf", "dump", "-B"])
        .arg(&vmlinux)
        .args(["file"])
        .arg(&ko));
    let dump = String::from_utf8(dump.stdout).unwrap();
    assert!(dump.contains("STRUCT 'btfenc_state'"), "{dump}");

    let base = std::sync::Arc::new(
        btf::Btf::parse_file_bytes(&std::fs::read(&vmlinux).unwrap(), None).unwrap(),
    );
    let ours = btf::Btf::parse_elf(&std::fs::read(&ko).unwrap(), Some(base.clone())).unwrap();
    let p = d.join("pahole.btf");
    run(Command::new(pahole_124())
        .arg(format!("--btf_base={}", vmlinux.display()))
        .arg(format!("--btf_encode_detached={}", p.display()))
        .args(["--btf_gen_floats", "-j", "--lang_exclude=rust"])
        .arg(&ko));
    let theirs = btf::Btf::parse(&std::fs::read(&p).unwrap(), Some(base)).unwrap();
    let (co, ct) = (btf::canon::Canon::of(&ours), btf::canon::Canon::of(&theirs));
    let (a, b) = (
        btf::canon::Canon {
            lines: type_lines(&co),
        },
        btf::canon::Canon {
            lines: type_lines(&ct),
        },
    );
    if let Some(diff) = btf::canon::diff(&b, &a, "pahole-1.24", "btfenc") {
        panic!("module types differ:\n{diff}");
    }
    // Everything else deduplicated into the base: only the module's own types are new.
    assert!(ours.own_types().len() < 40, "{}", co.to_text());
    let funcs: Vec<&str> = co.funcs().collect();
    assert!(
        funcs.contains(
            &"FUNC btfenc_api global: long int btfenc_api(struct btfenc_state *s, long int x)"
        ),
        "{funcs:#?}"
    );
    assert!(
        funcs.contains(&"FUNC btfenc_api2 global: long int btfenc_api2(long int a, long int b)"),
        "{funcs:#?}"
    );
    assert!(
        !funcs.iter().any(|f| f.starts_with("FUNC dup_fn")),
        "{funcs:#?}"
    );
    assert!(
        ct.funcs().any(|f| f.starts_with("FUNC dup_fn")),
        "pahole 1.24 keeps one dup_fn"
    );
    assert!(
        co.lines
            .iter()
            .any(|l| l == "VAR btfenc_pcpu static: int btfenc_pcpu"),
        "{}",
        co.to_text()
    );
    let text = explain(&ko, &[&format!("--btf_base={}", vmlinux.display())]);
    assert!(
        text.contains("dup_fn: 2 definitions with different prototypes"),
        "{text}"
    );

    // Without a base: every kernel type the module's headers bring (thousands), against
    // pahole 1.24 (which flattens multi-dimensional arrays, hence --btf_flatten_arrays).
    let ours = canon(&btfenc_detached(&ko, &["--btf_flatten_arrays"]));
    let theirs = canon(&pahole_detached(&ko));
    assert!(ours.lines.len() > 900, "only {} lines", ours.lines.len());
    let (a, b) = (
        btf::canon::Canon {
            lines: type_lines(&ours),
        },
        btf::canon::Canon {
            lines: type_lines(&theirs),
        },
    );
    if let Some(diff) = btf::canon::diff(&b, &a, "pahole-1.24", "btfenc") {
        panic!("standalone module types differ:\n{diff}");
    }
}
