//! `btfsmith audit`'s verdicts on the Debian 6.12 kernel's own BTF, proven in that kernel
//! (qemu TCG): fentry attached by BTF id to a FUNC the audit calls WRONG_PROTO and to one it
//! calls OK, and one it calls UNATTACHABLE, all fired by a module's trigger that logs the
//! arguments it really passes.
//!
//! - `kmem_cache_release` (WRONG_PROTO, `proto:codeless-instance`: the shipped BTF, pahole 1.24,
//!   took the prototype `void kmem_cache_release(struct kmem_cache *s)` of mm/slab_common.c's
//!   inline-only function; the only symbol of that name is mm/slub.c's
//!   `static void kmem_cache_release(struct kobject *k)`, the release callback of a cache's
//!   sysfs kobject). `kmem_cache_destroy()` of a cache created after boot ends in
//!   `kobject_put(&s->kobj)`, which calls slub.c's function with `&s->kobj`. A tracer reading
//!   the FUNC's `s` gets a pointer `offsetof(struct kmem_cache, kobj)` bytes into the cache:
//!   every member it reads through `s` (`s->name`, `s->size`) is another member's bytes.
//! - `memdup_user` (OK): the tracer reads exactly the two arguments the trigger passed.
//! - `kstrtoint` (UNATTACHABLE, `no-ftrace-site`: lib/kstrtox.c is built without ftrace
//!   instrumentation, no `__mcount_loc` record inside the symbol): the kernel refuses the attach
//!   (the trampoline's text poke finds no 5-byte NOP there: EBUSY).
//!
//! The premise about the BTF (the FUNC's parameter type) is checked from the BTF itself; the
//! offset of `kobj` too. Needs the kernel, qemu, busybox and the guest agent (`ci/setup`).

mod common;

use harness::config::{Config, Matrix};
use harness::vm::kbuild::{self, ModuleSource};
use harness::vm::{guest::GuestEnv, Case, Expected, Runner};
use std::collections::BTreeSet;

const MODULE: &str = r#"// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/kstrtox.h>
#include <linux/string.h>
#include <linux/err.h>

static ssize_t trig(struct file *file, const char __user *buf, size_t len, loff_t *off)
{
	static char text[] = "8675309";
	int value = 0, err;
	void *copy;
	/* Its own cache (never merged with another): destroying it releases its sysfs kobject. */
	struct kmem_cache *c = kmem_cache_create("btfsmith_audit", 72, 0, SLAB_NO_MERGE, NULL);

	pr_info("btfsmith-real: kmem_cache_create=%px\n", c);
	if (c)
		kmem_cache_destroy(c);
	err = kstrtoint(text, 10, &value);
	pr_info("btfsmith-real: kstrtoint s=%px base=%x res=%px err=%d value=%d\n", text, 10, &value, err, value);
	copy = memdup_user(buf, len);
	pr_info("btfsmith-real: memdup_user src=%px len=%zx\n", buf, len);
	if (!IS_ERR(copy))
		kfree(copy);
	return len;
}

"#;

/// The id of the vmlinux FUNC `name`, its first parameter's type rendered, and the BTF.
fn vmlinux_func(btf: &btf::Btf, name: &str) -> (u32, String) {
    let (id, t) = btf
        .own_ids()
        .zip(btf.own_types())
        .find(|(_, t)| matches!(t.data, btf::TypeData::Func(_)) && btf.str(t.name) == name)
        .unwrap_or_else(|| panic!("the kernel's BTF has no FUNC {name}"));
    let _ = t;
    (id.0, btf::render::func_prototype(btf, id).unwrap())
}

/// `offsetof(struct NAME, MEMBER)` in bytes, from the BTF.
fn member_offset(btf: &btf::Btf, name: &str, member: &str) -> u64 {
    for t in btf.own_types() {
        if let btf::TypeData::Struct(c) = &t.data {
            if btf.str(t.name) == name {
                let m = c
                    .members
                    .iter()
                    .find(|m| btf.str(m.name) == member)
                    .unwrap_or_else(|| panic!("struct {name} has no member {member}"));
                return u64::from(m.bit_offset / 8);
            }
        }
    }
    panic!("the kernel's BTF has no struct {name}");
}

/// `key=HEX` from a `btfsmith-real:` line.
fn field(line: &str, key: &str) -> u64 {
    let v = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {line}"));
    u64::from_str_radix(v, 16).unwrap_or_else(|_| panic!("{key}={v} is not hexadecimal"))
}

#[test]
fn the_audits_verdicts_hold_in_the_running_kernel() {
    let env = GuestEnv::discover().unwrap_or_else(|e| {
        panic!("the VM runtime oracle needs its components: {e:#} (install them with `ci/setup`)")
    });
    let base = harness::btf_cmd::load(&env.kernel.vmlinux_btf, None).unwrap();
    let (release_id, release_proto) = vmlinux_func(&base, "kmem_cache_release");
    let (kstrtoint_id, kstrtoint_proto) = vmlinux_func(&base, "kstrtoint");
    let (memdup_id, memdup_proto) = vmlinux_func(&base, "memdup_user");
    assert_eq!(
        release_proto, "void kmem_cache_release(struct kmem_cache *s)",
        "premise: the shipped BTF describes kmem_cache_release with slab_common.c's prototype"
    );
    assert_eq!(kstrtoint_proto, "int kstrtoint(const char *s, unsigned int base, int *res)");
    assert_eq!(memdup_proto, "void *memdup_user(const void *src, size_t len)");
    let kobj = member_offset(&base, "kmem_cache", "kobj");
    assert!(kobj > 0);

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("build");
    std::fs::create_dir_all(root.join("audit_proof")).unwrap();
    std::fs::write(root.join("audit_proof/a.c"), format!("{MODULE}{}", common::TRIGGER_FILE)).unwrap();
    let mods = [ModuleSource { name: "audit_proof".into(), objects: vec!["a.o".into()], extra: vec![] }];
    let ko = kbuild::build_modules(&root, &mods, &env.kernel, 2)
        .pop()
        .unwrap()
        .unwrap_or_else(|e| panic!("kbuild: {e}"));
    let mut case = Case::load("audit_proof", &ko, Expected::default()).unwrap();
    // No probe on the module's own functions: only the two vmlinux FUNCs.
    case.attach_only = Some(BTreeSet::new());
    case.vmlinux_funcs = vec![
        (release_id, "kmem_cache_release".into()),
        (kstrtoint_id, "kstrtoint".into()),
        (memdup_id, "memdup_user".into()),
    ];
    // Any encoder will do for the module's own BTF (the guest needs it to load the module).
    let tc = harness::toolchains::Toolchains::load().unwrap();
    let encoders: Vec<_> = Matrix::resolve(&Config::builtin(), &tc, &[], &[])
        .unwrap_or_else(|e| panic!("{e:#} (run `ci/setup`)"))
        .encoders
        .into_iter()
        .filter(|e| e.config.name == "pahole-1.32/kernel")
        .collect();
    assert_eq!(encoders.len(), 1);
    let runner = Runner::new(env, tmp.path().join("vm"));
    harness::vm_campaign::run_judged(&runner, &[case], &encoders).unwrap_or_else(|e| panic!("{e:#}"));

    let text = std::fs::read_to_string(tmp.path().join("vm/boot-1-0/agent.out")).unwrap();
    let (jobs, ..) = harness::vm::guest::parse_output(&text);
    let job = jobs.first().unwrap_or_else(|| panic!("no job:\n{text}"));
    let kmsg = job.kmsg.join("\n");
    let real = |what: &str| {
        job.kmsg
            .iter()
            .find(|l| l.contains(&format!("btfsmith-real: {what}")))
            .unwrap_or_else(|| panic!("the trigger did not log {what}:\n{kmsg}"))
            .clone()
    };
    let result = |name: &str| {
        job.results
            .iter()
            .find(|r| r.name == name && r.vmlinux)
            .unwrap_or_else(|| panic!("no result for {name}:\n{text}"))
    };

    // UNATTACHABLE: the kernel refuses to attach to kstrtoint (no ftrace site), yet the trigger
    // did call it.
    let line = real("kstrtoint");
    assert!(line.contains("err=0 value=8675309"), "{line}");
    let r = result("kstrtoint");
    eprintln!("kstrtoint (UNATTACHABLE, no-ftrace-site): attach {}: {:?}", r.status, r.error);
    assert_eq!(r.status, "attach_failed", "{r:?}");
    assert!(r.error.as_deref().is_some_and(|e| e.contains("busy")), "{r:?}");

    // OK: memdup_user's probe reads what the trigger passed (other callers may hit it too).
    let line = real("memdup_user");
    let (src, len) = (field(&line, "src"), field(&line, "len"));
    let r = result("memdup_user");
    assert_eq!(r.status, "attached", "{r:?}");
    let hit = r
        .events
        .iter()
        .find(|e| e.args.first().and_then(|a| u64::from_str_radix(a, 16).ok()) == Some(src))
        .unwrap_or_else(|| panic!("no memdup_user hit with src={src:#x}: {r:?}\n{kmsg}"));
    let read: Vec<u64> = hit.args.iter().map(|a| u64::from_str_radix(a, 16).unwrap()).collect();
    eprintln!("memdup_user (OK): passed src={src:#x} len={len:#x}; tracer read {:x?}", &read[..2]);
    assert_eq!(read[1], len, "len");

    // WRONG_PROTO: the tracer's `struct kmem_cache *s` is the cache's kobject.
    let cache = field(&real("kmem_cache_create"), "kmem_cache_create");
    assert_ne!(cache, 0, "kmem_cache_create failed:\n{kmsg}");
    let r = result("kmem_cache_release");
    assert_eq!(r.status, "attached", "{r:?}");
    let reads: Vec<u64> = r
        .events
        .iter()
        .filter_map(|e| e.args.first().and_then(|a| u64::from_str_radix(a, 16).ok()))
        .collect();
    eprintln!(
        "kmem_cache_release (WRONG_PROTO): the FUNC says `struct kmem_cache *s`; the trigger destroyed the cache at {cache:#x}; tracer read s = {reads:x?} = cache + {:#x} (offsetof(struct kmem_cache, kobj) = {kobj:#x})",
        reads.first().map_or(0, |r| r.wrapping_sub(cache))
    );
    assert!(
        reads.contains(&(cache + kobj)),
        "the probe on kmem_cache_release never read &cache->kobj ({:#x}): {reads:x?}\n{kmsg}",
        cache + kobj
    );
    assert!(!reads.contains(&cache), "a probe read the cache pointer itself: the FUNC would be right");
}
