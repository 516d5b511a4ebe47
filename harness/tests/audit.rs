//! `btfsmith audit` on a tiny "vmlinux" whose answers are known from how it is built.
//!
//! Two units each define a `static dup` with different prototypes (`long dup(long, long)` in
//! a.c, `int dup(struct pair *)` in b.c). They are compiled by gcc 12 -O2 with the kernel's ftrace
//! instrumentation (`-pg -mfentry -mrecord-mcount`) and linked by a linker script that, like the
//! kernel's, brackets the `__mcount_loc` records with `__start_mcount_loc`/`__stop_mcount_loc`
//! and text with `_stext`/`_etext`. The DWARF lists a.c first (link order), and pahole 1.24 keeps
//! the first unit's prototype for a name. Where the bodies land is chosen by the linker script:
//! - b.c's text first: the kernel's lookup (lowest address) reaches b.c's `dup`, so the FUNC
//!   (a.c's prototype) is WRONG_PROTO, and AMBIGUOUS too;
//! - link order: it reaches a.c's `dup`, which the FUNC describes: AMBIGUOUS only.
//!
//! `plain_add` and `use_pair` are ordinary traced functions: OK. `quiet` is
//! `no_instrument_function` (the kernel's `notrace`): no `__fentry__` call, no `__mcount_loc`
//! record, so UNATTACHABLE.

mod common;

use std::path::Path;

const A_C: &str = r#"
static __attribute__((noipa)) long dup(long x, long y) { return x * 3 + y; }
__attribute__((noipa)) long plain_add(long a, long b) { return a + b + dup(a, b); }
__attribute__((noipa, no_instrument_function)) long quiet(long a) { return a * 5 + 1; }
"#;

const B_C: &str = r#"
struct pair { int first; int second; };
static __attribute__((noipa)) int dup(struct pair *p) { return p->first - p->second; }
__attribute__((noipa)) int use_pair(struct pair *p) { return dup(p) * 2; }
"#;

const FENTRY_C: &str = "void __fentry__(void) {}\n";

fn linker_script(b_first: bool) -> String {
    format!(
        "SECTIONS {{\n  . = 0x1000000;\n  .text : {{ _stext = .; {} *(.text .text.*) _etext = .; }}\n  .rodata : {{ *(.rodata .rodata.*) }}\n  .data : {{ *(.data .data.*) __start_mcount_loc = .; KEEP(*(__mcount_loc)) __stop_mcount_loc = .; }}\n  .bss : {{ *(.bss .bss.*) }}\n}}\n",
        if b_first { "*b.o(.text .text.*)" } else { "" }
    )
}

/// Builds the image in `dir`, encodes it with pahole 1.24, audits it; returns the verdict lines
/// by FUNC name and the exit code.
fn audit(dir: &Path, b_first: bool) -> (std::collections::HashMap<String, serde_json::Value>, i32) {
    let gcc = common::tool("gcc-12");
    let pahole = common::tool("pahole-1.24");
    for (name, text) in [("a.c", A_C), ("b.c", B_C), ("fentry.c", FENTRY_C)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("link.ld"), linker_script(b_first)).unwrap();
    for unit in ["a", "b"] {
        common::run_ok(
            &gcc,
            &[
                "-O2",
                "-g",
                "-pg",
                "-mfentry",
                "-mrecord-mcount",
                "-fno-pie",
                "-c",
                &format!("{unit}.c"),
                "-o",
                &format!("{unit}.o"),
            ],
            Some(dir),
        );
    }
    common::run_ok(
        &gcc,
        &["-O2", "-fno-pie", "-c", "fentry.c", "-o", "fentry.o"],
        Some(dir),
    );
    common::run_ok(
        &gcc,
        &[
            "-nostdlib",
            "-no-pie",
            "-static",
            "-Wl,-T,link.ld",
            "-Wl,-e,plain_add",
            "a.o",
            "b.o",
            "fentry.o",
            "-o",
            "vmlinux",
        ],
        Some(dir),
    );
    common::run_ok(
        &pahole,
        &["-J", "--btf_encode_detached=shipped.btf", "vmlinux"],
        Some(dir),
    );

    // The premise, from the inputs: pahole 1.24 kept a.c's prototype for `dup` (first unit wins).
    let btf = harness::btf_cmd::load(&dir.join("shipped.btf"), None).unwrap();
    let dup = btf
        .own_ids()
        .zip(btf.own_types())
        .find(|(_, t)| matches!(t.data, btf::TypeData::Func(_)) && btf.str(t.name) == "dup")
        .map(|(id, _)| id)
        .expect("pahole 1.24 emits one FUNC dup");
    assert_eq!(
        btf::render::func_prototype(&btf, dup).unwrap(),
        "long int dup(long int x, long int y)",
        "premise: pahole 1.24 keeps the first unit's (a.c's) prototype"
    );

    let res = common::run(
        common::btfsmith(),
        &[
            "audit",
            "vmlinux",
            "--btf",
            "shipped.btf",
            "--out",
            "out",
            "--jobs",
            "2",
        ],
        Some(dir),
    );
    let (by_name, code) = common::audit_verdicts(dir, &res);
    assert!(dir.join("out/report.md").exists());
    (by_name, code)
}

fn verdict(v: &std::collections::HashMap<String, serde_json::Value>, name: &str) -> String {
    v.get(name)
        .unwrap_or_else(|| panic!("no verdict for {name}"))["verdict"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_static_whose_lowest_address_body_has_another_prototype_is_wrong_proto() {
    let dir = tempfile::tempdir().unwrap();
    let (v, code) = audit(dir.path(), true);
    assert_eq!(verdict(&v, "dup"), "WRONG_PROTO");
    assert_eq!(v["dup"]["also"], serde_json::json!(["AMBIGUOUS"]));
    assert_eq!(
        v["dup"]["reached"]["unit"], "b.c",
        "the lowest-address dup is b.c's (the linker script puts b.o first)"
    );
    assert_eq!(v["dup"]["reached"]["prototype"], "int dup(struct pair *p)");
    assert_eq!(verdict(&v, "plain_add"), "OK");
    assert_eq!(verdict(&v, "use_pair"), "OK");
    assert_eq!(verdict(&v, "quiet"), "UNATTACHABLE");
    assert_eq!(v["quiet"]["mechanism"], "no-ftrace-site");
    assert_eq!(code, 1, "a WRONG_PROTO makes the audit exit 1");
    let report = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(
        report.contains("### dup") && report.contains("unit b.c, DIE 0x"),
        "the report gives the evidence:\n{report}"
    );
}

#[test]
fn a_static_whose_reached_body_matches_the_func_is_only_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let (v, code) = audit(dir.path(), false);
    assert_eq!(verdict(&v, "dup"), "AMBIGUOUS");
    assert_eq!(v["dup"]["reached"]["unit"], "a.c");
    assert_eq!(verdict(&v, "plain_add"), "OK");
    assert_eq!(verdict(&v, "quiet"), "UNATTACHABLE");
    assert_eq!(
        code, 0,
        "AMBIGUOUS and UNATTACHABLE alone do not fail the audit"
    );
}

#[test]
fn a_stub_system_map_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("System.map");
    std::fs::write(
        &map,
        "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n",
    )
    .unwrap();
    // Any file will do as the image: the System.map is read and rejected first.
    let res = common::run(
        common::btfsmith(),
        &[
            "audit",
            "/proc/self/exe",
            "--btf",
            "/proc/self/exe",
            "--system-map",
            map.to_str().unwrap(),
            "--out",
            dir.path().join("out").to_str().unwrap(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.and_then(|s| s.code()), Some(2), "{stderr}");
    assert!(stderr.contains("stub"), "{stderr}");
}
