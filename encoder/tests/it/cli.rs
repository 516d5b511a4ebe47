//! The command line: pahole spellings, -J, bpftool acceptance, determinism, bad input.

use crate::common::*;
use std::process::Command;

fn multi_cu_object(dir: &std::path::Path) -> std::path::PathBuf {
    let mut objs = Vec::new();
    for i in 0..6 {
        let src = format!(
            "struct shared {{ int a; struct shared *next; long v{i}; }};\n\
             struct common {{ int x, y; }};\n\
             struct only{i} {{ struct common c; char name[{n}]; }};\n\
             static int helper{i}(struct only{i} *o) {{ return o->c.x + {i}; }}\n\
             int api{i}(struct shared *s, struct only{i} *o) {{ return s->a + helper{i}(o); }}\n",
            n = i + 1
        );
        objs.push(compile(&gcc(), dir, &format!("cu{i}"), &src, &[]));
    }
    link_r(dir, "multi.o", &objs)
}

#[test]
fn jobs_do_not_change_output() {
    let dir = tempfile::tempdir().unwrap();
    let o = multi_cu_object(dir.path());
    let one = btfenc_detached(&o, &["-j1"]);
    for args in [&["-j2"][..], &["-j"], &["--jobs=2"], &["-j1"]] {
        assert_eq!(
            btfenc_detached(&o, args),
            one,
            "{args:?} changed the output"
        );
    }
    let c = canon(&one);
    // `struct common` is defined in six CUs and written once.
    assert_eq!(
        c.lines
            .iter()
            .filter(|l| l.starts_with("STRUCT common "))
            .count(),
        1
    );
    assert!(
        !c.to_text().contains("(x"),
        "duplicates left:\n{}",
        c.to_text()
    );
}

#[test]
fn bpftool_accepts_detached_and_elf() {
    let dir = tempfile::tempdir().unwrap();
    let o = multi_cu_object(dir.path());
    let raw = o.with_extension("btf");
    run(Command::new(btfenc())
        .arg(format!("--btf_encode_detached={}", raw.display()))
        .arg(&o));
    let dump = run(Command::new(bpftool())
        .args(["btf", "dump", "file"])
        .arg(&raw));
    let text = String::from_utf8(dump.stdout).unwrap();
    assert_eq!(
        text,
        btf::dump::dump_to_string(&btf::Btf::parse(&std::fs::read(&raw).unwrap(), None).unwrap())
    );

    // -J: a .BTF section in the ELF, in place; the file stays a valid relocatable object.
    let j = dir.path().join("j.o");
    std::fs::copy(&o, &j).unwrap();
    run(Command::new(btfenc()).args(["-J", "--btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func"]).arg(&j));
    let dump = run(Command::new(bpftool())
        .args(["btf", "dump", "file"])
        .arg(&j));
    assert!(String::from_utf8_lossy(&dump.stdout).contains("FUNC 'api3'"));
    let bytes = std::fs::read(&j).unwrap();
    let parsed = btf::Btf::parse_elf(&bytes, None).unwrap();
    assert!(parsed.type_count() > 10);
    // Running -J again replaces the section rather than adding a second one.
    run(Command::new(btfenc()).arg("-J").arg(&j));
    let again = std::fs::read(&j).unwrap();
    let file = object::File::parse(&*again).unwrap();
    use object::{Object, ObjectSection};
    assert_eq!(
        file.sections().filter(|s| s.name() == Ok(".BTF")).count(),
        1
    );
    run(Command::new(ld())
        .arg("-r")
        .arg(&j)
        .arg("-o")
        .arg(dir.path().join("relinked.o")));
}

#[test]
fn pahole_spellings() {
    let out = run(Command::new(btfenc()).arg("--version"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "v1.30\n");
    let out = run(Command::new(btfenc()).arg("--supported_btf_features"));
    let list = String::from_utf8(out.stdout).unwrap();
    for f in [
        "encode_force",
        "var",
        "float",
        "decl_tag",
        "type_tag",
        "enum64",
        "optimized_func",
        "consistent_func",
        "decl_tag_kfuncs",
        "reproducible_build",
        "distilled_base",
        "global_var",
        "attributes",
        "true_signature",
    ] {
        assert!(
            list.trim().split(',').any(|x| x == f),
            "{f} missing from {list}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&gcc(), dir.path(), "s", "int f(int a) { return a; }\n", &[]);
    // kbuild's module line (pahole 1.24 config) and the modern one; unknown features are ignored.
    for args in [
        &["--btf_gen_floats", "-j", "--lang_exclude=rust"][..],
        &["--skip_encoding_btf_inconsistent_proto", "--btf_gen_optimized"],
        &["-j4", "--btf_features=encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func,decl_tag_kfuncs,no_such_feature"],
        &["--btf_features", "default"],
    ] {
        let b = btfenc_detached(&o, args);
        assert!(canon(&b).funcs().any(|l| l == "FUNC f global: int f(int a)"), "{args:?}");
    }
    let out = output(Command::new(btfenc())
        .args(["--btf_features_strict=var,bogus"])
        .arg(&o));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown BTF features: bogus"));
    let out = output(Command::new(btfenc())
        .arg("--no-such-option")
        .arg(&o));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option: --no-such-option"));
}

/// pahole's printing and inspection modes are refused by name (pahole's tests call `pahole -F
/// btf list_head`, `pahole -C TYPE FILE`, `pahole TYPE FILE`), never mistaken for an input file.
#[test]
fn pahole_printing_options_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&gcc(), dir.path(), "t", "int x;\n", &[]);
    let o = o.to_str().unwrap();
    for (args, want) in [
        (&["-F", "btf", "list_head"][..], "option -F ("),
        (&["-Fbtf", o][..], "option -F ("),
        (&["-C", "list_head", o][..], "option -C ("),
        (&["--sizes", o][..], "option --sizes ("),
        (&["--with_embedded_flexible_array", o][..], "option --with_embedded_flexible_array ("),
        (&["list_head", o][..], "printing types (pahole list_head "),
    ] {
        let out = output(Command::new(btfenc()).args(args));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want) && err.contains("not implemented"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

fn expect_error(path: &std::path::Path, want: &str) {
    let out = output(Command::new(btfenc())
        .arg("--btf_encode_detached=/dev/null")
        .arg(path));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
    assert!(err.starts_with("btfenc: error: encoding "), "{err}");
    assert!(err.contains(want), "expected {want:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn malformed_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let o = compile(&gcc(), dir.path(), "t", include_str!("data/types.c"), &[]);
    let bytes = std::fs::read(&o).unwrap();

    let garbage = dir.path().join("garbage");
    std::fs::write(
        &garbage,
        b"this is not an ELF file at all, just some text\n",
    )
    .unwrap();
    expect_error(&garbage, "cannot parse ELF");

    let truncated = dir.path().join("truncated.o");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    expect_error(&truncated, "cannot parse ELF");

    // A valid ELF whose .debug_info is overwritten with 0xff.
    use object::{Object, ObjectSection};
    let file = object::File::parse(&*bytes).unwrap();
    let (off, size) = file
        .section_by_name(".debug_info")
        .unwrap()
        .file_range()
        .unwrap();
    let mut bad = bytes.clone();
    bad[off as usize..(off + size) as usize].fill(0xff);
    let corrupt = dir.path().join("corrupt.o");
    std::fs::write(&corrupt, &bad).unwrap();
    expect_error(&corrupt, "malformed DWARF");

    // No DWARF at all.
    let nodebug = dir.path().join("nodebug.o");
    run(Command::new(gcc())
        .args(["-O2", "-c", "-x", "c", "-", "-o"])
        .arg(&nodebug)
        .stdin(std::process::Stdio::null()));
    expect_error(&nodebug, "no DWARF");
}

/// Unsupported DWARF is a typed error naming the DIE and its tag; with `encode_force` it becomes
/// `void` and a warning. C++ functions are matched to their symbols by linkage name.
#[test]
fn unsupported_dwarf() {
    let dir = tempfile::tempdir().unwrap();
    let cxx = tool("clang++", &["clang++-14", "clang++"]);
    let src = dir.path().join("pm.cc");
    std::fs::write(
        &src,
        "struct S { int a; };\nint S::*pm = &S::a;\nint S::*get() { return pm; }\n",
    )
    .unwrap();
    let o = dir.path().join("pm.o");
    run(Command::new(&cxx)
        .args(["-g", "-O2", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&o));
    let out = output(Command::new(btfenc())
        .arg("--btf_encode_detached=/dev/null")
        .arg(&o));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("unsupported DWARF: DW_TAG_ptr_to_member_type at DIE 0x"),
        "{err}"
    );
    let data = std::fs::read(&o).unwrap();
    match encoder::encode(&data, &encoder::Options::default()) {
        Err(encoder::EncodeError::Unsupported { tag, .. }) => {
            assert_eq!(tag, gimli::constants::DW_TAG_ptr_to_member_type)
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let b = btfenc_detached(&o, &["--btf_features=encode_force"]);
    let c = canon(&b);
    assert!(
        c.funcs().any(|l| l.starts_with("FUNC _Z3getv global:")),
        "{}",
        c.to_text()
    );
}

/// A tool that hangs fails its test with a message saying so (and is killed) instead of hanging
/// the suite.
#[test]
fn a_hanging_tool_fails_its_test_with_a_timeout() {
    let limit = std::time::Duration::from_millis(200);
    let started = std::time::Instant::now();
    let panic = std::panic::catch_unwind(|| output_within(Command::new("sleep").arg("30"), limit)).unwrap_err();
    let msg = panic.downcast_ref::<String>().expect("a formatted panic message");
    assert!(msg.contains("\"sleep\" \"30\"") && msg.contains("timed out after 200ms and was killed"), "{msg}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
