//! Function selection: same-name statics, identical duplicates, clones, --explain.

use crate::common::*;

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
    // Not even with true_signature: its return value may be gone too, DWARF does not say.
    for args in [&[][..], &["--btf_features=default,true_signature"]] {
        assert!(!canon(&btfenc_detached(&o, args))
            .funcs()
            .any(|l| l.starts_with("FUNC drop_b ")));
    }
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
        for f in ["f_s16", "f_s8", "f_big", "f_many", "f_ptr"] {
            assert!(
                c.funcs().any(|l| l.starts_with(&format!("FUNC {f} "))),
                "{label}: {f} missing:\n{text}"
            );
        }
        assert!(
            text.contains("f_fl: parameter 's': struct parameter with floating-point members"),
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
