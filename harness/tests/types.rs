//! The type-fidelity oracle with the real compilers and encoders: a type-rich file gives no
//! WRONG_TYPE from any default configuration, and a correct BTF corrupted in one place gives
//! exactly one WRONG_TYPE naming the mechanism and the member.

mod common;
use common::*;
use harness::config::{Config, Matrix};
use harness::oracle::types::TypeFidelity;
use harness::oracle::{CaseRun, Oracle, Verdict, VerdictKind};
use harness::pipeline;
use btf::{Btf, TypeData};
use std::path::PathBuf;

/// Bitfields (packed, straddling, kind_flag), enums with negative and 64-bit values, nested
/// anonymous structs and unions, multi-dimensional arrays, typedef chains, a packed struct with
/// misaligned doubles: the corpus case's source, one copy.
const TYPES_C: &str = include_str!("../../corpus/type-rich-layouts/types.c");

fn write_case(dir: &std::path::Path) -> PathBuf {
    let src = dir.join("types.c");
    std::fs::write(&src, TYPES_C).unwrap();
    src
}

#[test]
fn no_default_configuration_writes_a_wrong_type_for_a_type_rich_file() {
    let tc = toolchains();
    let m = Matrix::resolve(&Config::builtin(), &tc, &[], &["gcc".into(), "clang".into()]).unwrap_or_else(|e| panic!("{e:#}"));
    let dir = tempfile::tempdir().unwrap();
    let src = write_case(dir.path());
    let verdicts = harness::check::check(&[src], &m, false, &dir.path().join("out")).unwrap_or_else(|e| panic!("{e:#}"));
    let wrong: Vec<String> = verdicts
        .iter()
        .filter(|v| v.kind == VerdictKind::WrongType)
        .filter(|v| v.encoder != "gcc-btf")
        .map(|v| format!("{} ({}): {} {}", v.encoder, v.compiler, v.evidence, v.detail))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    // gcc 12 -gbtf writes multi-dimensional arrays with their dimensions reversed (`int
    // grid[2][3]` as `int grid[3][2]`; corpus/gcc-btf-array-dims-reversed): that and nothing else.
    let gcc: Vec<(&str, &str)> = verdicts
        .iter()
        .filter(|v| v.kind == VerdictKind::WrongType && v.encoder == "gcc-btf")
        .map(|v| (v.evidence.as_str(), v.detail.lines().next().unwrap_or("")))
        .collect();
    assert_eq!(gcc, vec![("type:array-dims", "struct arrs.grid: BTF `int[3][2]`, DWARF `int[2][3]`")]);
    // The oracle did run: every configuration (gcc -gbtf on gcc builds) produced BTF for both
    // compilers, so there was something to judge.
    for enc in ["btfenc", "pahole-1.30/kernel", "pahole-1.24/kernel-6.1", "pahole-1.32/kernel"] {
        assert!(
            !verdicts.iter().any(|v| v.encoder == enc && v.kind.is_unsafe() && v.oracle == "encoder-run"),
            "{enc} did not run cleanly: {verdicts:#?}"
        );
    }
}

/// The build of TYPES_C with gcc and btfenc's encoding of it.
fn gcc_btfenc(dir: &std::path::Path) -> (pipeline::Build, pipeline::Encoding) {
    let tc = toolchains();
    let m = Matrix::resolve(&Config::builtin(), &tc, &["btfenc".into()], &["gcc-12".into()]).unwrap_or_else(|e| panic!("{e:#}"));
    let src = write_case(dir);
    let build = pipeline::build(&[src], &m.compilers[0], &dir.join("build")).unwrap_or_else(|e| panic!("{e}"));
    assert!(build.types.is_ok(), "{:?}", build.types.as_ref().err());
    let enc = m.encoders.iter().find(|e| e.config.name == "btfenc").unwrap();
    let encoding = pipeline::encode_build(enc, &build, &dir.join("btfenc.btf")).unwrap();
    (build, encoding)
}

fn judge(build: &pipeline::Build, like: &pipeline::Encoding, btf: Btf) -> Vec<Verdict> {
    let enc = pipeline::Encoding { encoder: like.encoder.clone(), proc: like.proc.clone(), output: like.output.clone(), btf: Ok(btf), objects: Vec::new() };
    TypeFidelity.check(&CaseRun::new(build, std::slice::from_ref(&enc)))
}

/// The id of the first type named `name` with data matching `pick`.
fn find(btf: &Btf, name: &str, pick: impl Fn(&TypeData) -> bool) -> usize {
    btf.own_types().iter().position(|t| btf.str(t.name) == name && pick(&t.data)).unwrap_or_else(|| panic!("no {name}"))
}

fn member_index(btf: &Btf, data: &TypeData, name: &str) -> usize {
    let (TypeData::Struct(c) | TypeData::Union(c)) = data else { panic!("not a composite") };
    c.members.iter().position(|m| btf.str(m.name) == name).unwrap_or_else(|| panic!("no member {name}"))
}

#[test]
fn one_corruption_one_wrong_type_with_its_mechanism_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let (build, encoding) = gcc_btfenc(dir.path());
    let good = encoding.btf.as_ref().unwrap_or_else(|e| panic!("{e:?}")).clone();
    assert_eq!(judge(&build, &encoding, good.clone()), Vec::new(), "btfenc's own encoding is faithful");

    let is_struct = |d: &TypeData| matches!(d, TypeData::Struct(_));
    let corrupt = |f: &dyn Fn(&Btf, &mut Vec<btf::Type>)| {
        let mut types = good.own_types().to_vec();
        f(&good, &mut types);
        let mut b = good.clone();
        b.set_types(types);
        judge(&build, &encoding, b)
    };
    type Corruption<'a> = Box<dyn Fn(&Btf, &mut Vec<btf::Type>) + 'a>;
    let cases: Vec<(&str, &str, Corruption<'_>)> = vec![
        ("type:member-offset", "struct mis.ratio: BTF offset 24, DWARF offset 20", Box::new(|b: &Btf, t: &mut Vec<btf::Type>| {
            let i = find(b, "mis", is_struct);
            let k = member_index(b, &t[i].data, "ratio");
            if let TypeData::Struct(c) = &mut t[i].data { c.members[k].bit_offset += 32 }
        })),
        ("type:bitfield", "struct bits.b: BTF bit offset 3 width 6, DWARF bit offset 3 width 5", Box::new(|b: &Btf, t: &mut Vec<btf::Type>| {
            let i = find(b, "bits", is_struct);
            let k = member_index(b, &t[i].data, "b");
            if let TypeData::Struct(c) = &mut t[i].data { c.members[k].bitfield_size = 6 }
        })),
        // (struct flex is only reached through a pointer: no containing struct changes size too.)
        ("type:size", "struct flex: BTF size 8, DWARF size 4", Box::new(|b: &Btf, t: &mut Vec<btf::Type>| {
            let i = find(b, "flex", is_struct);
            if let TypeData::Struct(c) = &mut t[i].data { c.size = 8 }
        })),
        ("type:enum-value", "enum neg.N_MAX: BTF value 8, DWARF value 7", Box::new(|b: &Btf, t: &mut Vec<btf::Type>| {
            let i = find(b, "neg", |d| matches!(d, TypeData::Enum(_)));
            if let TypeData::Enum(e) = &mut t[i].data { e.values[2].value = 8 }
        })),
        ("type:member-offset", "struct nest.inner.<anon>.c: BTF offset 1, DWARF offset 0", Box::new(|b: &Btf, t: &mut Vec<btf::Type>| {
            // The anonymous union { int i; char c[3]; } inside nest.inner.
            let i = t.iter().position(|ty| ty.name.is_empty() && matches!(&ty.data, TypeData::Union(c) if c.members.len() == 2 && b.str(c.members[1].name) == "c")).expect("the anonymous union");
            if let TypeData::Union(c) = &mut t[i].data { c.members[1].bit_offset = 8 }
        })),
    ];
    for (mechanism, detail, f) in &cases {
        let v = corrupt(f.as_ref());
        assert_eq!(v.len(), 1, "{mechanism}: {v:#?}");
        assert_eq!(v[0].kind, VerdictKind::WrongType);
        assert_eq!(v[0].evidence, *mechanism, "{v:#?}");
        assert_eq!(v[0].detail.lines().next(), Some(*detail), "{v:#?}");
        assert_eq!(v[0].function, None);
        assert!(v[0].kind.is_unsafe());
    }
}
