//! Function selection: same-name statics, identical duplicates, clones, --explain.

use crate::common::*;
use std::process::Command;

const DUP_A: &str = include_str!("data/dup_a.c");
const DUP_B: &str = include_str!("data/dup_b.c");

struct Fixture {
    _dir: tempfile::TempDir,
    ab: std::path::PathBuf,
}

/// dup_a.c + dup_b.c, gcc -O2, merged with `ld -r`: two `static dup_fn` with different
/// prototypes, two identical `static same_fn`, a clone-only `cprop.constprop.0`.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let a = compile(&gcc(), dir.path(), "dup_a", DUP_A, &[]);
    let b = compile(&gcc(), dir.path(), "dup_b", DUP_B, &[]);
    let ab = link_r(dir.path(), "ab.o", &[a, b]);
    Fixture { _dir: dir, ab }
}

fn funcs(c: &btf::canon::Canon) -> Vec<String> {
    c.funcs().map(str::to_string).collect()
}

#[test]
fn same_name_statics() {
    let f = fixture();
    let c = canon(&btfenc_detached(&f.ab, &[]));
    let fs = funcs(&c);
    assert!(
        !fs.iter().any(|l| l.starts_with("FUNC dup_fn ")),
        "dup_fn must not be encoded: {fs:#?}"
    );
    // Identical prototypes: exactly one FUNC.
    assert!(
        fs.contains(&"FUNC same_fn static: int same_fn(int a, int b)".to_string()),
        "{fs:#?}"
    );
    assert!(!c
        .to_text()
        .contains("FUNC same_fn static: int same_fn(int a, int b) (x"));
    assert!(fs.contains(&"FUNC api_a global: int api_a(int x)".to_string()));
    assert!(fs.contains(&"FUNC api_b global: long int api_b(long int x, long int y)".to_string()));
    // Clones are not encoded under the source name.
    assert!(!fs.iter().any(|l| l.contains("cprop")), "{fs:#?}");

    let text = explain(&f.ab, &[]);
    assert!(
        text.contains("dup_fn: 2 definitions with different prototypes: `int dup_fn(int a, int b)` vs `long int dup_fn(long int a, long int b, long int c)`"),
        "{text}"
    );
    assert!(
        text.contains("    in dup_a.c") || text.contains("dup_a.c (DIE"),
        "{text}"
    );
    assert!(
        text.contains("cprop: only clone symbols (cprop.constprop.0)"),
        "{text}"
    );
    assert!(!text.contains("same_fn:"), "{text}");

    // pahole 1.24 keeps one dup_fn (the seed's hazard); we document the difference.
    let theirs = canon(&pahole_detached(&f.ab));
    assert!(theirs.funcs().any(|l| l.starts_with("FUNC dup_fn ")));
}

#[test]
fn explain_json() {
    let f = fixture();
    let out = run(std::process::Command::new(btfenc())
        .arg("--explain-json")
        .arg(&f.ab));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dropped = v["dropped"].as_array().unwrap();
    let dup = dropped
        .iter()
        .find(|d| d["name"] == "dup_fn")
        .expect("dup_fn listed");
    assert_eq!(dup["instances"].as_array().unwrap().len(), 2);
    assert!(dup["reason"]
        .as_str()
        .unwrap()
        .contains("different prototypes"));
    assert_eq!(v["funcs"].as_u64().unwrap(), 3, "api_a, api_b, same_fn");
}

#[test]
fn clone_true_signature() {
    let f = fixture();
    for feat in [
        "--btf_features=default,clone_true_signature",
        "--btf_features=true_signature",
    ] {
        let c = canon(&btfenc_detached(&f.ab, &[feat]));
        let fs = funcs(&c);
        // cprop(a, k) called with k == 7 everywhere: gcc's clone takes only `a`.
        assert!(
            fs.contains(&"FUNC cprop.constprop.0 static: int cprop.constprop.0(int a)".to_string()),
            "{feat}: {fs:#?}"
        );
        assert!(!fs.iter().any(|l| l.starts_with("FUNC dup_fn ")));
    }
}

#[test]
fn optimized_out_parameter_is_dropped() {
    // clang removes the unused parameter of a static function in place (same symbol, new ABI):
    // the FUNC would make a tracer read `b` from a register the function never receives.
    let src = r#"
__attribute__((noinline)) static int drop_b(int a, int b) { return a * 3; }
int caller(int x) { return drop_b(x, x); }
"#;
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&clang(), dir.path(), "opt", src, &[]);
    let text = explain(&o, &[]);
    let c = canon(&btfenc_detached(&o, &[]));
    if c.funcs().any(|l| l.starts_with("FUNC drop_b ")) {
        panic!(
            "drop_b encoded although its parameter is gone:\n{text}\n{}",
            c.to_text()
        );
    }
    assert!(text.contains("drop_b: "), "{text}");
    // clang 19 marks such a function DW_CC_nocall.
    let clang19 = tool("clang-19", &["clang-19"]);
    let o = compile(&clang19, dir.path(), "opt19", src, &[]);
    let text = explain(&o, &[]);
    assert!(text.contains("drop_b: DW_CC_nocall"), "{text}");
    assert!(!canon(&btfenc_detached(&o, &[]))
        .funcs()
        .any(|l| l.starts_with("FUNC drop_b ")));
    // With true_signature: the prototype it has, `b` gone, no return value claimed (DWARF does
    // not say whether clang dropped it too).
    let fs = funcs(&canon(&btfenc_detached(
        &o,
        &["--btf_features=default,true_signature"],
    )));
    assert!(
        fs.contains(&"FUNC drop_b static: void drop_b(int a)".to_string()),
        "{fs:#?}"
    );
}

#[test]
fn isra_clone_claims_no_return_value() {
    // gcc's IPA-SRA removes a return value no caller uses (drop_ret.isra.0 leaves %rax as its
    // body left it) and the clone's DWARF keeps the source return type: with true_signature
    // an `.isra` clone's FUNC returns `void`; an IPA-CP clone (`.constprop`) keeps its return.
    let dir = tempfile::tempdir().unwrap();
    let src = include_str!("data/isra_return.c");
    let o = compile(&gcc(), dir.path(), "isra_return", src, &[]);
    let fs = funcs(&canon(&btfenc_detached(
        &o,
        &["--btf_features=default,true_signature"],
    )));
    let want = [
        "FUNC drop_ret.isra.0 static: void drop_ret.isra.0(long unsigned int p0, long unsigned int p1)",
        "FUNC cprop.constprop.0 static: long int cprop.constprop.0(long int a)",
    ];
    for w in want {
        assert!(fs.contains(&w.to_string()), "missing `{w}`: {fs:#?}");
    }
    // keep_ret's clone does return its value, but nothing shows it: never a return claimed.
    assert!(
        !fs.iter().any(|l| l.starts_with("FUNC keep_ret.isra") && !l.contains(": void ")),
        "{fs:#?}"
    );
    // Without true_signature no clone gets a FUNC.
    let fs = funcs(&canon(&btfenc_detached(&o, &[])));
    assert!(!fs.iter().any(|l| l.contains(".isra.")), "{fs:#?}");
}

/// The parameter list of `name` in a `pfunct --format_path=btf` listing.
fn pfunct_params(listing: &str, name: &str) -> Option<String> {
    let line = listing.lines().find(|l| l.contains(&format!(" {name}(")))?;
    let from = line.find(&format!("{name}("))? + name.len();
    Some(line[from..].trim_end_matches(';').to_string())
}

/// clang `DW_CC_nocall` functions under true_signature, on the programs of pahole's own
/// clang_parm_* tests: btfenc's parameters are those pahole 1.32 writes with true_signature
/// (removed parameters gone, a scalarised struct as `a__f1`), each read by pfunct 1.32 from the
/// ELF's .BTF; the return type is `void` (see `nocall_proto`). Stack_2's foo is external and not
/// nocall: its unused parameters are still passed by every caller, and both keep all nine.
#[test]
fn nocall_true_signatures_match_pahole_1_32() {
    let clang19 = tool("clang-19", &["clang-19"]);
    let pahole = tool("pahole-1.32", &["$HOME_BTFSMITH/bin/pahole-1.32"]);
    let pfunct = tool("pfunct-1.32", &["$HOME_BTFSMITH/bin/pfunct-1.32"]);
    let programs = [
        ("aggregate", "struct t { long f1; long f2; };\n__attribute__((noinline)) static long foo(struct t a, struct t b, int i) { return a.f1 + b.f1 + b.f2 + i; }\nstruct t p1, p2; int i;\nint main() { return (int)foo(p1, p2, i); }\n"),
        ("memory", "union big { long a; char buf[24]; };\n__attribute__((noinline)) static long foo(union big u, int dead, int x) { return u.a + x; }\nunion big g; int dead, x;\nint main() { return (int)foo(g, dead, x); }\n"),
        ("optimized", "__attribute__((noinline)) static int foo(int a, int b, int c) { return a * c - a - c; }\nint a, b, c;\nint main() { return foo(a, b, c); }\n"),
        ("stack_1", "__attribute__((noinline)) static int foo(int a, int b, int c, int d, int e, int f, int g, int h, int i) { return a * i - a - i; }\nint a, b, c, d, e, f, g, h, i;\nint main() { return foo(a, b, c, d, e, f, g, h, i); }\n"),
        ("stack_2", "__attribute__((noinline)) int foo(int a, int b, int c, int d, int e, int f, int g, int h, int i) { return a * i - a - i; }\nint a, b, c, d, e, f, g, h, i;\nint main() { return foo(a, b, c, d, e, f, g, h, i); }\n"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (label, src) in programs {
        let c = dir.path().join(format!("{label}.c"));
        std::fs::write(&c, src).unwrap();
        let listing = |encoder: &std::path::Path| {
            let exe = dir.path().join(format!("{label}-{}", encoder.file_name().unwrap().to_string_lossy()));
            run(Command::new(&clang19).args(["-g", "-O2", "-o"]).arg(&exe).arg(&c));
            run(Command::new(encoder).env("LLVM_OBJCOPY", "objcopy").args(["-J", "--btf_features=+true_signature"]).arg(&exe));
            let out = run(Command::new(&pfunct).args(["--all", "--format_path=btf"]).arg(&exe));
            String::from_utf8(out.stdout).unwrap()
        };
        let ours = listing(&btfenc());
        let theirs = listing(&pahole);
        let (Some(o), Some(t)) = (pfunct_params(&ours, "foo"), pfunct_params(&theirs, "foo")) else {
            panic!("{label}: foo missing\nbtfenc:\n{ours}\npahole 1.32:\n{theirs}");
        };
        assert_eq!(o, t, "{label}: parameters differ\nbtfenc:\n{ours}\npahole 1.32:\n{theirs}");
        let nocall = label != "stack_2";
        assert_eq!(ours.contains("void foo("), nocall, "{label}: {ours}");
    }
}

/// clang with `-pg -mfentry` (as the kernel builds) starts the location lists of parameters
/// after the `call __fentry__`: nothing is said at the entry address, but the later
/// `DW_OP_entry_value(DW_OP_reg5 RDI)` says the value arrived in rdi. Such functions used to be
/// dropped ("no location at function entry").
#[test]
fn entry_value_names_the_arrival_register() {
    let clang19 = tool("clang-19", &["clang-19"]);
    let src = "extern void ext(long);\n__attribute__((noinline)) long f1(long a, long b) { ext(b); ext(a); return a * 3 + b; }\n";
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&clang19, dir.path(), "fentry", src, &["-pg", "-mfentry"]);
    let fs = funcs(&canon(&btfenc_detached(&o, &[])));
    assert!(
        fs.contains(&"FUNC f1 global: long f1(long a, long b)".to_string()),
        "{fs:#?}\n{}",
        explain(&o, &[])
    );
}

/// `--verbose` prints pahole's lines on stdout for the functions that got no FUNC (pahole's
/// gcc_optimized_default test greps them); the external `bar` whose unused `b` every caller
/// still passes is encoded, with no line.
#[test]
fn verbose_prints_pahole_skip_lines() {
    let src = "__attribute__((noinline)) int bar(int a, int b) { return a + 1; }\n__attribute__((noinline)) static int foo(int a, int b, int c) { return a * b - a - b; }\nint a, b, c;\nint main(void) { return bar(a, c) + foo(a, b, c); }\n";
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&gcc(), dir.path(), "verbose", src, &[]);
    let btf = dir.path().join("verbose.btf");
    let out = run(Command::new(btfenc())
        .args(["--btf_features=default", "--verbose"])
        .arg(format!("--btf_encode_detached={}", btf.display()))
        .arg(&o));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout
            .lines()
            .any(|l| l == "foo : skipping BTF encoding of function due to optimized parameters"),
        "{stdout}"
    );
    assert!(!stdout.contains("bar"), "{stdout}");
    let fs = funcs(&canon(&std::fs::read(&btf).unwrap()));
    assert!(fs.iter().any(|l| l.starts_with("FUNC bar global: int bar(int a, int b)")), "{fs:#?}");
    assert!(!fs.iter().any(|l| l.starts_with("FUNC foo")), "{fs:#?}");
}

/// x86-64 argument passing: by-value structs in one or two registers or on the stack, stack
/// arguments, clang's computed locations. Functions whose arguments a tracer numbering integer
/// registers would read from the wrong place are dropped: mixed-class or packed structs, a struct
/// returned through a hidden pointer in rdi, floating-point arguments.
#[test]
fn abi_locations() {
    let dir = tempfile::tempdir().unwrap();
    for (label, cc) in [("gcc", gcc()), ("clang", clang())] {
        let o = compile(
            &cc,
            dir.path(),
            &format!("abi_{label}"),
            include_str!("data/abi.c"),
            &[],
        );
        let c = canon(&btfenc_detached(&o, &[]));
        let text = explain(&o, &[]);
        for f in ["f_s16", "f_s8", "f_big", "f_many", "f_ptr", "f_mixed"] {
            assert!(
                c.funcs().any(|l| l.starts_with(&format!("FUNC {f} "))),
                "{label}: {f} missing:\n{text}"
            );
        }
        assert!(
            text.contains("f_fl: parameter 's': struct parameter with an eightbyte of floating-point members only"),
            "{label}: {text}"
        );
        assert!(
            text.contains("f_pk: parameter 'p': packed struct parameter"),
            "{label}: {text}"
        );
        assert!(
            text.contains("f_sret: returns a struct in memory"),
            "{label}: {text}"
        );
        assert!(
            text.contains("f_float: parameter 'a' is floating-point"),
            "{label}: {text}"
        );
    }
}

/// A function symbol with no DWARF instance behind it (assembly here; in the kernel mostly
/// bodies gcc's identical code folding turned into thunks) gets no FUNC, and `--explain` says so:
/// every function symbol is accounted for.
#[test]
fn function_symbols_without_dwarf_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let src = r#"
__attribute__((noinline)) int described(int a) { return a + 1; }
asm(".text\n.globl bare_asm\n.type bare_asm,@function\nbare_asm:\n ret\n.size bare_asm, .-bare_asm\n");
asm(".text\n.type bare_split.part.0,@function\nbare_split.part.0:\n ret\n.size bare_split.part.0, .-bare_split.part.0\n");
"#;
    let obj = compile(&gcc(), dir.path(), "bare", src, &[]);
    let text = explain(&obj, &[]);
    let line = text
        .lines()
        .find(|l| l.contains("bare_asm"))
        .unwrap_or_else(|| panic!("bare_asm not explained:\n{text}"));
    assert!(line.contains("without a DWARF description"), "{line}");
    // A split part no DWARF instance stands behind is reported under the function's name.
    let part = text
        .lines()
        .find(|l| l.starts_with("bare_split:"))
        .unwrap_or_else(|| panic!("bare_split not explained:\n{text}"));
    assert!(part.contains("only clone symbols (bare_split.part.0)"), "{part}");
    assert!(!text.lines().any(|l| l.contains("described")), "{text}");
    let c = canon(&btfenc_detached(&obj, &[]));
    assert!(c.funcs().any(|f| f.starts_with("FUNC described ")), "{}", c.to_text());
    assert!(!c.funcs().any(|f| f.starts_with("FUNC bare_asm")), "{}", c.to_text());
}

/// At -O0 every parameter lives in a frame slot (`DW_AT_location` a single `DW_OP_fbreg`) after
/// the prologue stores it there: where it lives, not how it arrives. Functions with parameters
/// are encoded (they used to be dropped as "in the stack, ABI expects rdi"; pahole's own
/// pfunct-btf-decl-tags test compiles at -O0).
#[test]
fn o0_parameters_in_frame_slots_are_encoded() {
    const SRC: &str = "struct big { long a, b, c; };\nint qux(int arg) { return arg + 1; }\nlong many(long a, long b, long c, long d, long e, long f, long g, long h) { return a + b + c + d + e + f + g + h; }\nlong bigarg(struct big s, int k) { return s.a + k; }\n";
    for cc in [gcc(), clang()] {
        let dir = tempfile::tempdir().unwrap();
        let o = compile(&cc, dir.path(), "o0", SRC, &["-O0"]);
        let fs = funcs(&canon(&btfenc_detached(&o, &[])));
        // gcc names the type `long int`, clang `long`.
        for want in ["FUNC qux global: int qux(int arg)", "FUNC bigarg global: ", "FUNC many global: "] {
            assert!(fs.iter().any(|l| l.starts_with(want)), "{} -O0: no `{want}` in {fs:#?}", cc.display());
        }
        assert!(fs.iter().any(|l| l.starts_with("FUNC bigarg") && l.ends_with("bigarg(struct big s, int k)")), "{fs:#?}");
        assert!(fs.iter().any(|l| l.starts_with("FUNC many") && l.contains(" h)")), "{fs:#?}");
    }
}
