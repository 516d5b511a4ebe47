//! Types: our encoding of a C file with every kind, checked line by line and against pahole 1.24.
//!
//! Expected differences from pahole 1.24 (documented, and asserted to be the only ones):
//! - FUNC linkage: pahole writes every FUNC as `static`; we write `global` for external functions
//!   (as clang's own BTF does). Only type lines are compared with pahole.
//! - Multi-dimensional arrays: pahole ≤ 1.31 flattens `int [2][3]` to `int [6]`; we nest them
//!   (as pahole 1.32 and clang do) unless `--btf_flatten_arrays` (or a flat base) asks otherwise.
//!   The comparison runs with `--btf_flatten_arrays`.

use crate::common::*;

const TYPES_C: &str = include_str!("data/types.c");

fn ours_vs_pahole(cc: &std::path::Path, extra: &[&str]) -> (btf::canon::Canon, btf::canon::Canon) {
    let dir = tempfile::tempdir().unwrap();
    let o = compile(cc, dir.path(), "types", TYPES_C, extra);
    let ours = canon(&btfenc_detached(&o, &["--btf_flatten_arrays"]));
    let theirs = canon(&pahole_detached(&o));
    (ours, theirs)
}

fn assert_types_agree(ours: &btf::canon::Canon, theirs: &btf::canon::Canon, label: &str) {
    let a = btf::canon::Canon {
        lines: type_lines(ours),
    };
    let b = btf::canon::Canon {
        lines: type_lines(theirs),
    };
    if let Some(d) = btf::canon::diff(&b, &a, "pahole-1.24", "btfenc") {
        panic!("{label}: type lines differ from pahole 1.24:\n{d}");
    }
}

#[test]
fn gcc_types_match_pahole() {
    let (ours, theirs) = ours_vs_pahole(&gcc(), &[]);
    eprintln!("{}", ours.to_text());
    assert_types_agree(&ours, &theirs, "gcc");
}

#[test]
fn clang_types_match_pahole() {
    let (ours, theirs) = ours_vs_pahole(&clang(), &[]);
    assert_types_agree(&ours, &theirs, "clang");
}

#[test]
fn concrete_lines() {
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&gcc(), dir.path(), "types", TYPES_C, &[]);
    let c = canon(&btfenc_detached(&o, &[]));
    let has = |l: &str| {
        assert!(
            c.lines.iter().any(|x| x == l),
            "missing line {l:?} in:\n{}",
            c.to_text()
        )
    };
    has("FUNC add global: int add(int a, int b)");
    has("FUNC use_holder global: long int use_holder(struct holder *h)");
    has("STRUCT list size=16 {struct list *next @0; int v @64;}");
    has("STRUCT bits size=16 {unsigned int a:3 @0; unsigned int b:5 @3; int c @32; long long unsigned int d:40 @64; signed char e:2 @104;}");
    has("STRUCT flex size=4 {int n @0; int data[0] @32;}");
    has("UNION u size=4 {int i @0; float f @0; char c[3] @0;}");
    has("ENUM color size=4 signed {RED=0, GREEN=5, BLUE=-1}");
    has("ENUM small_unsigned size=4 unsigned {S0=0, S1=4294967295}");
    has("ENUM64 big size=8 unsigned {B1=1099511627776}");
    has("ENUM i32big size=4 signed {IB0=-1, IB1=128, IB2=200, IB3=70000}");
    has("ENUM u32big size=4 unsigned {UU1=4294967295, UU2=128}");
    has("ENUM e8s size=1 signed {E8A=-3, E8B=100}");
    has("ENUM e8u size=1 unsigned {U8A=200, U8B=1}");
    has("ENUM64 s64neg size=8 signed {SN1=-1099511627776, SN2=5}");
    has("ENUM64 s64pos size=8 unsigned {SP1=1099511627776, SP2=5}");
    has("ENUM64 u64big size=8 unsigned {UB1=18446744073709551584, UB2=1}");
    has("TYPEDEF callback_t = int (*)(const char *, ...)");
    has("FWD struct fwdonly");
    has("INT _Bool size=1 bits=8 encoding=BOOL");
    has("INT char size=1 bits=8 encoding=SIGNED");
    has("INT unsigned char size=1 bits=8 encoding=(none)");
    // Default: nested multi-dimensional arrays, floats as INT (pahole's default without `float`).
    assert!(
        c.lines
            .iter()
            .any(|l| l.starts_with("STRUCT holder ") && l.contains("{int grid[2][3] @0;")),
        "{}",
        c.to_text()
    );
    has("INT double size=8 bits=64 encoding=(none)");
    let holder = c
        .lines
        .iter()
        .find(|l| l.starts_with("STRUCT holder "))
        .unwrap();
    for m in [
        "char name[256] @",
        "short unsigned int big[40000] @",
        "int zero[0] @",
    ] {
        assert!(holder.contains(m), "{m} in {holder}");
    }
    // The struct holding the kernel's bitfield rule: kind_flag set, sizes per member.
    let b = btf::Btf::parse(&btfenc_detached(&o, &[]), None).unwrap();
    let bits = b
        .own_types()
        .iter()
        .find(|t| b.str(t.name) == "bits")
        .unwrap();
    let btf::TypeData::Struct(s) = &bits.data else {
        panic!("bits is a struct")
    };
    assert!(s.bitfield_encoding);
}

#[test]
fn float_feature_and_enum64_off() {
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&gcc(), dir.path(), "types", TYPES_C, &[]);
    let c = canon(&btfenc_detached(&o, &["--btf_features=float"]));
    assert!(
        c.lines.contains(&"FLOAT double size=8".to_string()),
        "{}",
        c.to_text()
    );
    assert!(c.lines.contains(&"FLOAT long double size=16".to_string()));
    // Without enum64, an 8-byte enum is a (truncated) ENUM, as pahole does.
    assert!(
        c.lines.iter().any(|l| l.starts_with("ENUM big size=8")),
        "{}",
        c.to_text()
    );
    let c = canon(&btfenc_detached(&o, &["--btf_gen_floats"]));
    assert!(c.lines.contains(&"FLOAT double size=8".to_string()));
    assert!(c.lines.iter().any(|l| l.starts_with("ENUM64 big")));
}

#[test]
fn clang_tags() {
    let src = r#"
#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user __attribute__((btf_type_tag("user")))
struct tagged { int a __tag("member_tag"); int __user *up; } __tag("struct_tag");
int tagged_fn(struct tagged *t __tag("param_tag")) __tag("func_tag");
int tagged_fn(struct tagged *t) { return t->a + *t->up; }
"#;
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&clang(), dir.path(), "tags", src, &[]);
    // clang 14 drops the parameter's tag when the definition redeclares it untagged.
    let c = canon(&btfenc_detached(&o, &[]));
    let text = c.to_text();
    let theirs = canon(&pahole_detached(&o));
    assert_eq!(
        type_lines(&c),
        type_lines(&theirs),
        "tags differ from pahole 1.24"
    );
    for want in [
        "DECL_TAG \"struct_tag\" -> STRUCT tagged",
        "DECL_TAG \"member_tag\" -> STRUCT tagged component 0",
        "DECL_TAG \"func_tag\" -> FUNC tagged_fn",
    ] {
        assert!(
            c.lines.iter().any(|l| l == want),
            "missing {want:?} in:\n{text}"
        );
    }
    let b = btf::Btf::parse(&btfenc_detached(&o, &[]), None).unwrap();
    assert!(
        b.own_types()
            .iter()
            .any(|t| matches!(t.data, btf::TypeData::TypeTag(_)) && b.str(t.name) == "user"),
        "no TYPE_TAG user in:\n{}",
        btf::dump::dump_to_string(&b)
    );
    // Without the features, no tags.
    let c = canon(&btfenc_detached(&o, &["--btf_features=enum64"]));
    assert!(!c.to_text().contains("DECL_TAG"));
}

/// gcc LTO: the link-time unit refers to types of the early-debug units (`DW_FORM_ref_addr`).
/// Those references resolve across units; functions whose abstract origin is in another unit are
/// counted, not encoded.
#[test]
fn lto_cross_unit_references() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("t.c"), TYPES_C).unwrap();
    std::fs::write(
        d.join("main.c"),
        "struct holder;\nextern struct holder global_holder;\nlong use_holder(struct holder *h);\nint main(void) { return (int)use_holder(&global_holder); }\n",
    )
    .unwrap();
    let exe = d.join("prog");
    run(std::process::Command::new(gcc())
        .args(["-flto", "-g", "-O2"])
        .arg(d.join("t.c"))
        .arg(d.join("main.c"))
        .arg("-o")
        .arg(&exe));
    let ours = canon(&btfenc_detached(&exe, &["--btf_flatten_arrays"]));
    let theirs = canon(&pahole_detached(&exe));
    let strip = |c: &btf::canon::Canon| {
        let lines = type_lines(c)
            .into_iter()
            .filter(|l| !l.starts_with("UNUSED"))
            .collect();
        btf::canon::Canon { lines }
    };
    if let Some(diff) = btf::canon::diff(&strip(&theirs), &strip(&ours), "pahole-1.24", "btfenc") {
        panic!("LTO types differ:\n{diff}");
    }
    assert!(ours.lines.iter().any(|l| l.starts_with("STRUCT holder ")));
    let json = run(std::process::Command::new(btfenc())
        .arg("--explain-json")
        .arg(&exe));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v["foreign_origin"].as_u64().unwrap() >= 1, "{v}");
}

/// `struct s __tag(outer) __tag(inner) *p`: PTR -> inner -> outer -> struct, as clang
/// `-target bpf` and pahole >= 1.30 write it (pahole's btf_type_tag_order test).
#[test]
fn type_tag_order_is_inner_first_from_the_pointer() {
    let src = "#define __tag(x) __attribute__((btf_type_tag(#x)))\nstruct sample { int value; };\nstruct sample __tag(outer) __tag(inner) *global_ptr;\n";
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&clang(), dir.path(), "order", src, &[]);
    let b = btf::Btf::parse(&btfenc_detached(&o, &["--btf_features=default,type_tag,var,global_var"]), None).unwrap();
    let dump = btf::dump::dump_to_string(&b);
    let ptr = b.own_ids().zip(b.own_types()).find_map(|(_, t)| match t.data {
        btf::TypeData::Ptr(target) if matches!(b.type_by_id(target).map(|x| &x.data), Some(btf::TypeData::TypeTag(_))) => Some(target),
        _ => None,
    });
    let mut id = ptr.unwrap_or_else(|| panic!("no PTR to a TYPE_TAG in:\n{dump}"));
    let mut chain = Vec::new();
    while let Some(btf::TypeData::TypeTag(t)) = b.type_by_id(id).map(|x| &x.data) {
        chain.push(b.str(b.type_by_id(id).unwrap().name).to_string());
        id = t.ty;
    }
    assert_eq!(chain, ["inner", "outer"], "{dump}");
    assert_eq!(b.type_name(id), "sample", "{dump}");
}
