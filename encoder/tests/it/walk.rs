//! The parallel walk: units of very different sizes (scheduled largest first, results put back
//! in unit order), the mapped input, and the walk's own determinism.

use crate::common::*;

/// An object whose units range from one line to a few hundred types, with shared types and
/// same-name statics, so that the order units are walked in would show in the output if it
/// leaked into it.
fn uneven_object(dir: &std::path::Path) -> std::path::PathBuf {
    let mut objs = Vec::new();
    for i in 0..7 {
        let mut src = String::from("struct shared { int a; struct shared *next; };\n");
        let n = [1, 40, 2, 300, 5, 120, 1][i];
        for k in 0..n {
            src += &format!(
                "struct s{i}_{k} {{ struct shared *sh; int f{k}; char c[{k}]; \
                 enum e{i}_{k} {{ E{i}_{k}_A = {k} }} e; }};\n\
                 int use{i}_{k}(struct s{i}_{k} *p) {{ return p->f{k} + p->sh->a; }}\n"
            );
        }
        src += &format!("static int same(int x) {{ return x * {i}; }}\nint api{i}(int x) {{ return same(x); }}\n");
        objs.push(compile(&gcc(), dir, &format!("u{i}"), &src, &[]));
    }
    link_r(dir, "uneven.o", &objs)
}

#[test]
fn uneven_units_any_job_count_same_output() {
    let dir = tempfile::tempdir().unwrap();
    let o = uneven_object(dir.path());
    let one = btfenc_detached(&o, &["-j1"]);
    for jobs in ["-j2", "-j3", "-j7", "-j16"] {
        assert_eq!(
            btfenc_detached(&o, &[jobs]),
            one,
            "{jobs} changed the output"
        );
    }
    // The library agrees with the command line, whether the input is mapped or a slice, and the
    // walk alone is deterministic.
    let input = encoder::read_input(&o).unwrap();
    assert!(matches!(input, encoder::Input::Mapped(_)));
    let mut opts = encoder::Options::default();
    let a = encoder::encode_input(&input, &opts)
        .unwrap()
        .btf
        .to_bytes()
        .unwrap();
    let bytes = std::fs::read(&o).unwrap();
    let b = encoder::encode(&bytes, &opts)
        .unwrap()
        .btf
        .to_bytes()
        .unwrap();
    assert_eq!(a, b);
    // The input stays readable after its pages were given back.
    assert_eq!(&input[..], &bytes[..]);
    opts.jobs = Some(1);
    let d1 = encoder::walk_digest(&input, &opts).unwrap();
    opts.jobs = Some(4);
    assert_eq!(encoder::walk_digest(&input, &opts).unwrap(), d1);
    assert_eq!(d1.0, 7);
}

#[test]
fn empty_and_unmappable_inputs_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.o");
    std::fs::write(&empty, b"").unwrap();
    let input = encoder::read_input(&empty).unwrap();
    assert!(matches!(input, encoder::Input::Read(_)));
    let err = encoder::encode_input(&input, &encoder::Options::default()).unwrap_err();
    assert!(err.to_string().starts_with("cannot parse ELF"), "{err}");
    assert!(encoder::read_input(&dir.path().join("missing.o")).is_err());
}
