//! The static oracles on small hand-written cases whose truth is known, with the real compilers
//! and encoders: each hazard is found where it exists and never where it does not.

mod common;
use common::*;
use harness::config::{Config, Matrix};
use harness::oracle::{Verdict, VerdictKind};
use std::path::PathBuf;

fn matrix(compilers: &[&str], encoders: &[&str]) -> Matrix {
    let tc = toolchains();
    let c: Vec<String> = compilers.iter().map(|s| s.to_string()).collect();
    let e: Vec<String> = encoders.iter().map(|s| s.to_string()).collect();
    Matrix::resolve(&Config::builtin(), &tc, &e, &c).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Writes `files` into a temp dir and runs `btfsmith check`'s pipeline on them.
fn check(files: &[(&str, &str)], m: &Matrix) -> (tempfile::TempDir, Vec<Verdict>) {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(name, text)| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    let verdicts = harness::check::check(&paths, m, false, &dir.path().join("out")).unwrap_or_else(|e| panic!("{e:#}"));
    (dir, verdicts)
}

fn kinds(verdicts: &[Verdict], encoder: &str, function: &str) -> Vec<VerdictKind> {
    verdicts.iter().filter(|v| v.encoder == encoder && v.function.as_deref() == Some(function)).map(|v| v.kind).collect()
}

/// Unsafe verdicts about the encoding itself. The encoder-behaviour oracle's verdicts (pahole
/// 1.24/1.30 do not truncate an existing output file) are about the tool's file handling, tested
/// in corpus/pahole-output-not-truncated; these tests are about what the BTF says.
fn unsafe_for(verdicts: &[Verdict], encoder: &str) -> Vec<String> {
    verdicts.iter().filter(|v| v.encoder == encoder && v.kind.is_unsafe() && v.oracle != "encoder-behaviour").map(|v| format!("{} {:?}: {}", v.kind, v.function, v.detail)).collect()
}

/// The seed's hazard: two `static noinline dup_fn`, (int, int) in a.c and (long, long, long) in
/// b.c, called with values the compiler cannot propagate (so gcc keeps both under their name).
const SEED_A: &str = r#"
volatile int sink_a;
static __attribute__((noinline)) int dup_fn(int a, int b) { return a * 3 + b; }
int api_a(void) { return dup_fn(sink_a, sink_a + 1); }
"#;
const SEED_B: &str = r#"
volatile long sink_b;
static __attribute__((noinline)) long dup_fn(long a, long b, long c) { return a * b - c; }
long api_b(void) { return dup_fn(sink_b, sink_b * 2, sink_b + 3); }
int main(void) { return 0; }
"#;

#[test]
fn seed_hazard_same_name_statics_with_different_prototypes() {
    let m = matrix(&["gcc-12"], &["pahole-1.24", "pahole-1.30/kernel", "btfenc"]);
    let (_d, v) = check(&[("a.c", SEED_A), ("b.c", SEED_B)], &m);
    let old = kinds(&v, "pahole-1.24/kernel-6.1", "dup_fn");
    assert!(old.contains(&VerdictKind::Ambiguous) || old.contains(&VerdictKind::WrongProto), "pahole 1.24 should be caught: {v:#?}");
    assert!(unsafe_for(&v, "pahole-1.30/kernel").is_empty(), "{:#?}", unsafe_for(&v, "pahole-1.30/kernel"));
    // pahole 1.30 with consistent_func drops dup_fn: that is a MISSED-free drop (it is not safe).
    assert!(kinds(&v, "pahole-1.30/kernel", "dup_fn").is_empty());
    assert!(unsafe_for(&v, "btfenc").is_empty(), "{:#?}", unsafe_for(&v, "btfenc"));
}

#[test]
fn same_name_statics_with_identical_prototypes_are_not_ambiguous() {
    let b = SEED_B.replace("static __attribute__((noinline)) long dup_fn(long a, long b, long c) { return a * b - c; }", "static __attribute__((noinline)) int dup_fn(int a, int b) { return a - b; }").replace("dup_fn(sink_b, sink_b * 2, sink_b + 3)", "dup_fn((int)sink_b, (int)sink_b * 2)");
    let m = matrix(&["gcc-12"], &["pahole-1.24", "pahole-1.30/kernel", "btfenc"]);
    let (_d, v) = check(&[("a.c", SEED_A), ("b.c", &b)], &m);
    for enc in ["pahole-1.24/kernel-6.1", "pahole-1.30/kernel", "btfenc"] {
        assert!(unsafe_for(&v, enc).is_empty(), "{enc}: {:#?}", unsafe_for(&v, enc));
    }
}

/// gcc -O2 makes `walk.constprop.0` (n is always 2): a FUNC `walk` with the source prototype
/// describes a body that never receives n.
const CONSTPROP: &str = r#"
struct list { struct list *next; int v; };
__attribute__((noinline)) static long walk(struct list *l, int n) { long s = 0; while (l && n--) { s += l->v; l = l->next; } return s; }
long use(struct list *l) { return walk(l, 2) + walk(l->next, 2); }
int main(void) { return 0; }
"#;

#[test]
fn gcc_constprop_clone_under_the_source_prototype_is_unsafe() {
    let m = matrix(&["gcc-12"], &["pahole-1.24", "pahole-1.30/kernel", "btfenc"]);
    let (_d, v) = check(&[("walk.c", CONSTPROP)], &m);
    let k = kinds(&v, "pahole-1.30/kernel", "walk");
    assert_eq!(k, vec![VerdictKind::UnsafeOptimized], "{v:#?}");
    let detail = &v.iter().find(|v| v.encoder == "pahole-1.30/kernel" && v.function.as_deref() == Some("walk")).unwrap().detail;
    assert!(detail.contains("walk.constprop.0") && detail.contains("(n)"), "{detail}");
    // pahole 1.24 drops clones: no FUNC, no verdict but not MISSED either (walk is not safe).
    assert!(kinds(&v, "pahole-1.24/kernel-6.1", "walk").is_empty(), "{v:#?}");
    assert!(unsafe_for(&v, "btfenc").is_empty(), "{:#?}", unsafe_for(&v, "btfenc"));
}

/// clang -O2 drops the unused first argument of a static function without renaming it: b moves
/// from rsi to rdi. (clang 14 does not mark it DW_CC_nocall; newer clangs do.)
const DEAD_ARG: &str = r#"
volatile int sink;
__attribute__((noinline)) static int dead_arg(int unused, int b) { return b * 7 + sink; }
int api(void) { return dead_arg(sink, sink + 1) + dead_arg(sink + 2, sink); }
int main(void) { return 0; }
"#;

#[test]
fn clang_dead_argument_elimination_is_unsafe_for_the_source_prototype() {
    let m = matrix(&["clang"], &["pahole-1.24"]);
    let (_d, v) = check(&[("dead.c", DEAD_ARG)], &m);
    for compiler in m.compilers.iter().map(|c| c.name.clone()) {
        let found = v.iter().any(|x| x.compiler == compiler && x.function.as_deref() == Some("dead_arg") && x.kind == VerdictKind::UnsafeOptimized);
        assert!(found, "{compiler}: pahole 1.24 emits dead_arg's source prototype; expected UNSAFE_OPTIMIZED in {v:#?}");
    }
}

/// Control: the same function with its address taken may not change its signature; its unused
/// parameter has no DWARF location, but callers still pass it. No oracle may flag it.
#[test]
fn unused_parameter_of_an_address_taken_function_is_not_flagged() {
    let src = DEAD_ARG.replace("int main(void) { return 0; }", "int (*volatile keep)(int, int) = dead_arg;\nint main(void) { return keep(1, 2) == 0; }");
    let m = matrix(&["gcc", "clang"], &["pahole-1.24", "pahole-1.30/no-consistent_func"]);
    let (_d, v) = check(&[("ctl.c", &src)], &m);
    let bad: Vec<&Verdict> = v.iter().filter(|x| x.function.as_deref() == Some("dead_arg") && x.kind.is_unsafe()).collect();
    assert!(bad.is_empty(), "false positive: {bad:#?}");
}

#[test]
fn c_that_does_not_compile_is_a_clear_error() {
    let m = matrix(&["gcc-12"], &["pahole-1.24"]);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.c");
    std::fs::write(&bad, "int f(void) { return undeclared_thing; }\n").unwrap();
    let err = harness::check::check(&[bad], &m, false, &dir.path().join("out")).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("do not build") && text.contains("undeclared_thing"), "{text}");
}

#[test]
fn an_encoder_that_hangs_is_a_timeout_verdict_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hanging-encoder");
    std::fs::write(&script, "#!/bin/sh\nsleep 300\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config: Config = toml::from_str(&format!(
        "compilers = [\"gcc\"]\nopt_levels = [\"-O2\"]\n[[encoder]]\nname = \"hangs\"\ntool = \"{}\"\ntimeout_secs = 2\n[[encoder]]\nname = \"crashes\"\ntool = \"/bin/sh\"\nargs = [\"-c\", \"kill -SEGV $$\"]\n",
        script.display()
    ))
    .unwrap();
    let m = Matrix::resolve(&config, &toolchains(), &[], &[]).unwrap();
    let started = std::time::Instant::now();
    let (_d, v) = check(&[("walk.c", CONSTPROP)], &m);
    assert!(started.elapsed().as_secs() < 60, "took {:?}", started.elapsed());
    assert!(v.iter().any(|x| x.encoder == "hangs" && x.kind == VerdictKind::EncoderTimeout), "{v:#?}");
    assert!(v.iter().any(|x| x.encoder == "crashes" && x.kind == VerdictKind::EncoderCrash), "{v:#?}");
}

#[test]
fn a_finding_replays_from_its_directory() {
    let m = matrix(&["gcc-12"], &["pahole-1.30/kernel"]);
    let (d, v) = check(&[("walk.c", CONSTPROP)], &m);
    assert!(v.iter().any(|x| x.kind == VerdictKind::UnsafeOptimized));
    // The UNSAFE_OPTIMIZED finding (pahole 1.30's other finding here is its output file handling).
    let dirs: Vec<_> = harness::check::finding_dirs(&d.path().join("out")).unwrap().into_iter().filter(|p| p.to_string_lossy().contains("UNSAFE_OPTIMIZED")).collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    // Move it away from everything else: a reproducer must stand alone.
    let alone = tempfile::tempdir().unwrap();
    let moved = alone.path().join("finding");
    std::fs::rename(&dirs[0], &moved).unwrap();
    drop(d);
    let r = harness::check::replay(&moved, false).unwrap();
    assert!(r.confirmed, "{r:#?}");
    // And its build.sh rebuilds the same BTF.
    run_ok("sh", &[moved.join("build.sh").display().to_string()], None);
    assert!(std::fs::read_dir(moved.join("out")).unwrap().any(|e| e.unwrap().path().extension().is_some_and(|x| x == "btf")));
}

#[test]
fn the_kernel_accepts_valid_btf_and_rejects_a_bad_name() {
    use btf::types::*;
    use btf::{Btf, TypeData};
    let build = |fname: &str| {
        let mut b = Btf::new(None);
        let int = b.add_str("int");
        let i = b.add_type(Type { name: int, data: TypeData::Int(Int { size: 4, encoding: IntEncoding::SIGNED, bit_offset: 0, bits: 32 }) });
        let a = b.add_str("a");
        let proto = b.add_type(Type { name: btf::StrRef::EMPTY, data: TypeData::FuncProto(FuncProto { ret: i, params: vec![Param { name: a, ty: i }] }) });
        let n = b.add_str(fname);
        b.add_type(Type { name: n, data: TypeData::Func(Func { proto, linkage: FuncLinkage::STATIC }) });
        b.to_bytes().unwrap()
    };
    harness::kernel_btf::load(&build("good_name")).unwrap_or_else(|e| panic!("valid BTF rejected (is this root with BPF?): {e}"));
    // libbpf's parser takes any name; the kernel's verifier does not.
    let err = harness::kernel_btf::load(&build("bad name")).unwrap_err();
    match &err {
        harness::kernel_btf::LoadError::Kernel { log, .. } => assert!(log.contains("Invalid name"), "{err}"),
        other => panic!("expected the kernel to reject it: {other}"),
    }
}
