//! The comparison on hand-built BTF against hand-made DWARF layouts.

use super::*;
use btf::types::*;

/// Hand-made DWARF types.
#[derive(Default)]
struct D(TypeFacts);

impl D {
    fn add(&mut self, t: DType) -> TypeRef {
        self.0.types.push(t);
        self.0.types.len() - 1
    }
    fn base(&mut self, name: &str, size: u64) -> TypeRef {
        self.add(DType::Base {
            name: name.into(),
            size,
        })
    }
    fn named(&mut self, kind: NamedKind, name: &str, t: DType) -> TypeRef {
        let r = self.add(t);
        self.0
            .by_name
            .entry((kind, name.into()))
            .or_default()
            .push(r);
        r
    }
}

fn member(name: &str, ty: TypeRef, bit_offset: u64, bit_size: Option<u64>) -> DMember {
    DMember {
        name: name.into(),
        ty,
        bit_offset: Some(bit_offset),
        bit_size,
    }
}

fn int(b: &mut Btf, name: &str, size: u32, bits: u8) -> TypeId {
    let n = b.add_str(name);
    b.add_type(Type {
        name: n,
        data: TypeData::Int(Int {
            size,
            encoding: IntEncoding::SIGNED,
            bit_offset: 0,
            bits,
        }),
    })
}

fn composite(
    b: &mut Btf,
    name: &str,
    size: u32,
    kind_flag: bool,
    members: &[(&str, TypeId, u32, u8)],
) -> TypeId {
    let members = members
        .iter()
        .map(|(n, ty, off, w)| Member {
            name: b.add_str(n),
            ty: *ty,
            bit_offset: *off,
            bitfield_size: *w,
        })
        .collect();
    let n = b.add_str(name);
    b.add_type(Type {
        name: n,
        data: TypeData::Struct(Composite {
            size,
            bitfield_encoding: kind_flag,
            members,
        }),
    })
}

fn array(b: &mut Btf, elem: TypeId, len: u32) -> TypeId {
    b.add_type(Type {
        name: StrRef::EMPTY,
        data: TypeData::Array(Array {
            elem,
            index: elem,
            len,
        }),
    })
}

/// The first mismatch: (mechanism, "path: detail").
fn judge(b: &Btf, id: TypeId, d: &D, allow: Allowances) -> Option<(&'static str, String)> {
    judge_type(b, id, &d.0, allow).map(|(_, m)| (m[0].mechanism, m[0].to_string()))
}

const NONE: Allowances = Allowances { no_enum64: false };

/// `struct s { int a; unsigned b:3, c:5; long d; }` in DWARF.
fn dwarf_s() -> D {
    let mut d = D::default();
    let i = d.base("int", 4);
    let u = d.base("unsigned int", 4);
    let l = d.base("long", 8);
    d.named(
        NamedKind::Struct,
        "s",
        DType::Composite {
            union: false,
            name: "s".into(),
            size: Some(16),
            members: vec![
                member("a", i, 0, None),
                member("b", u, 32, Some(3)),
                member("c", u, 35, Some(5)),
                member("d", l, 64, None),
            ],
        },
    );
    d
}

/// The same struct in BTF, with `kind_flag`; `tweak` changes it first.
fn btf_s(tweak: impl FnOnce(&mut Vec<(&'static str, u32, u8)>, &mut u32)) -> (Btf, TypeId) {
    let mut b = Btf::new(None);
    let i = int(&mut b, "int", 4, 32);
    let u = int(&mut b, "unsigned int", 4, 32);
    let l = int(&mut b, "long", 8, 64);
    let mut m = vec![("a", 0, 0), ("b", 32, 3), ("c", 35, 5), ("d", 64, 0)];
    let mut size = 16;
    tweak(&mut m, &mut size);
    let tys = [i, u, u, l];
    let members: Vec<(&str, TypeId, u32, u8)> = m
        .iter()
        .enumerate()
        .map(|(k, (n, off, w))| (*n, tys[k.min(3)], *off, *w))
        .collect();
    let id = composite(&mut b, "s", size, true, &members);
    (b, id)
}

#[test]
fn a_faithful_struct_has_no_mismatch() {
    let (b, id) = btf_s(|_, _| {});
    assert_eq!(judge(&b, id, &dwarf_s(), NONE), None);
}

#[test]
fn a_moved_member_is_a_member_offset() {
    let (b, id) = btf_s(|m, _| m[3].1 = 96);
    assert_eq!(
        judge(&b, id, &dwarf_s(), NONE),
        Some((
            "type:member-offset",
            "struct s.d: BTF offset 12, DWARF offset 8".into()
        ))
    );
}

#[test]
fn a_wrong_bitfield_width_or_offset_is_a_bitfield() {
    let (b, id) = btf_s(|m, _| m[2].2 = 6);
    assert_eq!(
        judge(&b, id, &dwarf_s(), NONE),
        Some((
            "type:bitfield",
            "struct s.c: BTF bit offset 35 width 6, DWARF bit offset 35 width 5".into()
        ))
    );
    let (b, id) = btf_s(|m, _| m[1].1 = 33);
    assert_eq!(judge(&b, id, &dwarf_s(), NONE).unwrap().0, "type:bitfield");
    // A bitfield written as a plain member.
    let (b, id) = btf_s(|m, _| m[1].2 = 0);
    assert_eq!(
        judge(&b, id, &dwarf_s(), NONE),
        Some((
            "type:bitfield",
            "struct s.b: BTF bit offset 32, not a bitfield, DWARF bit offset 32 width 3".into()
        ))
    );
}

#[test]
fn a_wrong_size_and_a_missing_member() {
    let (b, id) = btf_s(|_, s| *s = 24);
    assert_eq!(
        judge(&b, id, &dwarf_s(), NONE),
        Some(("type:size", "struct s: BTF size 24, DWARF size 16".into()))
    );
    let (b, id) = btf_s(|m, _| m[3].0 = "e");
    let (mech, text) = judge(&b, id, &dwarf_s(), NONE).unwrap();
    assert_eq!(
        (mech, text.as_str()),
        (
            "type:member-missing",
            "struct s.d: not in BTF (DWARF has it at 8)"
        )
    );
}

#[test]
fn legacy_bitfields_without_kind_flag_are_read_from_the_int() {
    let mut b = Btf::new(None);
    let i = int(&mut b, "int", 4, 32);
    let u3 = int(&mut b, "unsigned int", 4, 3);
    let u5 = int(&mut b, "unsigned int", 4, 5);
    let l = int(&mut b, "long", 8, 64);
    let ok = composite(
        &mut b,
        "s",
        16,
        false,
        &[
            ("a", i, 0, 0),
            ("b", u3, 32, 0),
            ("c", u5, 35, 0),
            ("d", l, 64, 0),
        ],
    );
    assert_eq!(judge(&b, ok, &dwarf_s(), NONE), None);
    let bad = composite(
        &mut b,
        "s",
        16,
        false,
        &[
            ("a", i, 0, 0),
            ("b", u3, 32, 0),
            ("c", u3, 35, 0),
            ("d", l, 64, 0),
        ],
    );
    assert_eq!(
        judge(&b, bad, &dwarf_s(), NONE),
        Some((
            "type:bitfield",
            "struct s.c: BTF bit offset 35 width 3, DWARF bit offset 35 width 5".into()
        ))
    );
}

#[test]
fn any_definition_of_the_name_will_do() {
    let mut d = dwarf_s();
    let i = d.base("int", 4);
    d.named(
        NamedKind::Struct,
        "s",
        DType::Composite {
            union: false,
            name: "s".into(),
            size: Some(4),
            members: vec![member("x", i, 0, None)],
        },
    );
    let mut b = Btf::new(None);
    let bi = int(&mut b, "int", 4, 32);
    let small = composite(&mut b, "s", 4, false, &[("x", bi, 0, 0)]);
    assert_eq!(judge(&b, small, &d, NONE), None);
    // Matching neither: the closer definition (one difference) is the one shown.
    let wrong = composite(&mut b, "s", 4, false, &[("x", bi, 8, 0)]);
    assert_eq!(
        judge(&b, wrong, &d, NONE),
        Some((
            "type:member-offset",
            "struct s.x: BTF offset 1, DWARF offset 0".into()
        ))
    );
}

/// `struct arrs { int grid[2][3]; }` in DWARF.
fn dwarf_arrs() -> D {
    let mut d = D::default();
    let i = d.base("int", 4);
    let a = d.add(DType::Array {
        elem: i,
        dims: vec![2, 3],
    });
    d.named(
        NamedKind::Struct,
        "arrs",
        DType::Composite {
            union: false,
            name: "arrs".into(),
            size: Some(24),
            members: vec![member("grid", a, 0, None)],
        },
    );
    d
}

#[test]
fn arrays_nested_or_flattened_but_not_other_shapes() {
    let d = dwarf_arrs();
    let mut b = Btf::new(None);
    let i = int(&mut b, "int", 4, 32);
    let inner = array(&mut b, i, 3);
    let nested = array(&mut b, inner, 2);
    let flat = array(&mut b, i, 6);
    let inner2 = array(&mut b, i, 2);
    let swapped = array(&mut b, inner2, 3);
    let ok1 = composite(&mut b, "arrs", 24, false, &[("grid", nested, 0, 0)]);
    let ok2 = composite(&mut b, "arrs", 24, false, &[("grid", flat, 0, 0)]);
    let bad = composite(&mut b, "arrs", 24, false, &[("grid", swapped, 0, 0)]);
    assert_eq!(judge(&b, ok1, &d, NONE), None);
    assert_eq!(judge(&b, ok2, &d, NONE), None, "flattened-array");
    assert_eq!(
        judge(&b, bad, &d, NONE),
        Some((
            "type:array-dims",
            "struct arrs.grid: BTF `int[3][2]`, DWARF `int[2][3]`".into()
        ))
    );
    let short = array(&mut b, i, 5);
    let bad2 = composite(&mut b, "arrs", 24, false, &[("grid", short, 0, 0)]);
    assert_eq!(
        judge(&b, bad2, &d, NONE),
        Some((
            "type:size",
            "struct arrs.grid: BTF type `int[5]` size 20, DWARF type `int[2][3]` size 24".into()
        ))
    );
}

#[test]
fn a_stand_in_of_another_size_is_a_size() {
    let mut d = D::default();
    let big = d.base("_BitInt", 32);
    d.named(
        NamedKind::Struct,
        "ex",
        DType::Composite {
            union: false,
            name: "ex".into(),
            size: Some(32),
            members: vec![member("b256", big, 0, None)],
        },
    );
    let mut b = Btf::new(None);
    let fake = int(&mut b, "__SANITIZED_FAKE_INT__", 4, 32);
    let id = composite(&mut b, "ex", 32, false, &[("b256", fake, 0, 0)]);
    assert_eq!(judge(&b, id, &d, NONE), Some(("type:size", "struct ex.b256: BTF type `__SANITIZED_FAKE_INT__` size 4, DWARF type `_BitInt` size 32".into())));
}

#[test]
fn anonymous_members_are_checked_with_a_path() {
    let mut d = D::default();
    let i = d.base("int", 4);
    let c = d.base("char", 1);
    let anon = d.add(DType::Composite {
        union: true,
        name: String::new(),
        size: Some(4),
        members: vec![member("i", i, 0, None), member("c", c, 0, None)],
    });
    d.named(
        NamedKind::Struct,
        "nest",
        DType::Composite {
            union: false,
            name: "nest".into(),
            size: Some(8),
            members: vec![member("a", i, 0, None), member("", anon, 32, None)],
        },
    );
    let mut b = Btf::new(None);
    let bi = int(&mut b, "int", 4, 32);
    let bc = int(&mut b, "char", 1, 8);
    let ci = b.add_str("c");
    let ii = b.add_str("i");
    let u = b.add_type(Type {
        name: StrRef::EMPTY,
        data: TypeData::Union(Composite {
            size: 4,
            bitfield_encoding: false,
            members: vec![
                Member {
                    name: ii,
                    ty: bi,
                    bit_offset: 0,
                    bitfield_size: 0,
                },
                Member {
                    name: ci,
                    ty: bc,
                    bit_offset: 8,
                    bitfield_size: 0,
                },
            ],
        }),
    });
    let id = composite(&mut b, "nest", 8, false, &[("a", bi, 0, 0), ("", u, 32, 0)]);
    assert_eq!(
        judge(&b, id, &d, NONE),
        Some((
            "type:member-offset",
            "struct nest.<anon>.c: BTF offset 1, DWARF offset 0".into()
        ))
    );
}

#[test]
fn typedef_targets_by_name() {
    let mut d = D::default();
    let i = d.base("int", 4);
    let myint = d.named(
        NamedKind::Typedef,
        "myint",
        DType::Typedef {
            name: "myint".into(),
            target: i,
        },
    );
    d.named(
        NamedKind::Typedef,
        "myint2",
        DType::Typedef {
            name: "myint2".into(),
            target: myint,
        },
    );
    let mut b = Btf::new(None);
    let bi = int(&mut b, "int", 4, 32);
    let n = b.add_str("myint");
    let bmy = b.add_type(Type {
        name: n,
        data: TypeData::Typedef(bi),
    });
    let n2 = b.add_str("myint2");
    let ok = b.add_type(Type {
        name: n2,
        data: TypeData::Typedef(bmy),
    });
    let bad = b.add_type(Type {
        name: n2,
        data: TypeData::Typedef(bi),
    });
    let void = b.add_type(Type {
        name: n,
        data: TypeData::Typedef(TypeId::VOID),
    });
    assert_eq!(judge(&b, bmy, &d, NONE), None);
    assert_eq!(judge(&b, ok, &d, NONE), None);
    assert_eq!(
        judge(&b, bad, &d, NONE),
        Some((
            "type:typedef-target",
            "typedef myint2: BTF `int`, DWARF `myint`".into()
        ))
    );
    assert_eq!(
        judge(&b, void, &d, NONE),
        Some((
            "type:typedef-target",
            "typedef myint: BTF `void`, DWARF `int`".into()
        ))
    );
}

fn dwarf_enum(values: &[(&str, i128)], size: u64, signed: Option<bool>) -> D {
    let mut d = D::default();
    d.named(
        NamedKind::Enum,
        "e",
        DType::Enum {
            name: "e".into(),
            size: Some(size),
            signed,
            values: values.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        },
    );
    d
}

fn btf_enum(b: &mut Btf, size: u32, signed: bool, values: &[(&str, u32)]) -> TypeId {
    let values = values
        .iter()
        .map(|(n, v)| EnumValue {
            name: b.add_str(n),
            value: *v,
        })
        .collect();
    let n = b.add_str("e");
    b.add_type(Type {
        name: n,
        data: TypeData::Enum(Enum {
            size,
            signed,
            values,
        }),
    })
}

#[test]
fn enum_values_and_signedness() {
    let d = dwarf_enum(&[("MIN", -5), ("MAX", 7)], 4, Some(true));
    let mut b = Btf::new(None);
    let ok = btf_enum(&mut b, 4, true, &[("MIN", -5i32 as u32), ("MAX", 7)]);
    let wrong = btf_enum(&mut b, 4, true, &[("MIN", -5i32 as u32), ("MAX", 8)]);
    let unsigned = btf_enum(&mut b, 4, false, &[("MIN", -5i32 as u32), ("MAX", 7)]);
    let small = btf_enum(&mut b, 2, true, &[("MIN", -5i32 as u32), ("MAX", 7)]);
    assert_eq!(judge(&b, ok, &d, NONE), None);
    assert_eq!(
        judge(&b, wrong, &d, NONE),
        Some((
            "type:enum-value",
            "enum e.MAX: BTF value 8, DWARF value 7".into()
        ))
    );
    assert_eq!(
        judge(&b, unsigned, &d, NONE),
        Some((
            "type:enum-value",
            "enum e.MIN: BTF value 4294967291 (unsigned), DWARF value -5".into()
        ))
    );
    assert_eq!(
        judge(&b, unsigned, &d, Allowances { no_enum64: true }),
        None,
        "no-enum64: no signed flag"
    );
    assert_eq!(
        judge(&b, small, &d, NONE),
        Some(("type:size", "enum e: BTF size 2, DWARF size 4".into()))
    );
    // An unsigned enum claimed signed reads 0xffffffff as -1.
    let d = dwarf_enum(&[("ALL", 0xffff_ffff)], 4, Some(false));
    let claimed = btf_enum(&mut b, 4, true, &[("ALL", 0xffff_ffff)]);
    assert_eq!(
        judge(&b, claimed, &d, NONE),
        Some((
            "type:enum-value",
            "enum e.ALL: BTF value -1 (signed), DWARF value 4294967295".into()
        ))
    );
}

#[test]
fn a_64_bit_enum_in_an_enum_only_under_no_enum64() {
    let d = dwarf_enum(&[("SMALL", 1), ("HUGE", 0x1_0000_0000)], 8, Some(false));
    let mut b = Btf::new(None);
    let truncated = btf_enum(&mut b, 8, false, &[("SMALL", 1), ("HUGE", 0)]);
    let dropped = btf_enum(&mut b, 8, false, &[("SMALL", 1)]);
    let allow = Allowances { no_enum64: true };
    assert_eq!(judge(&b, truncated, &d, allow), None);
    assert_eq!(judge(&b, dropped, &d, allow), None);
    assert_eq!(
        judge(&b, truncated, &d, NONE),
        Some((
            "type:enum-value",
            "enum e.HUGE: BTF value 0, DWARF value 4294967296".into()
        ))
    );
    assert_eq!(
        judge(&b, dropped, &d, NONE),
        Some((
            "type:enum-value",
            "enum e.HUGE: not in BTF (DWARF value 4294967296)".into()
        ))
    );
    let values = vec![
        Enum64Value {
            name: b.add_str("SMALL"),
            value: 1,
        },
        Enum64Value {
            name: b.add_str("HUGE"),
            value: 0x1_0000_0000,
        },
    ];
    let n = b.add_str("e");
    let e64 = b.add_type(Type {
        name: n,
        data: TypeData::Enum64(Enum64 {
            size: 8,
            signed: false,
            values,
        }),
    });
    assert_eq!(judge(&b, e64, &d, NONE), None);
}

#[test]
fn allowances_follow_the_configuration() {
    let cfg = |tool: &str, args: &[&str]| EncoderConfig {
        name: "x".parse().unwrap(),
        tool: tool.parse().unwrap(),
        args: args.iter().map(|s| s.to_string()).collect(),
        note: String::new(),
        timeout_secs: 1,
    };
    assert!(
        !Allowances::of(&cfg(
            "pahole-1.30",
            &["-j", "--btf_features=encode_force,var,float,enum64"]
        ))
        .no_enum64
    );
    assert!(
        Allowances::of(&cfg(
            "pahole-1.30",
            &["-j", "--btf_features=encode_force,var,float"]
        ))
        .no_enum64
    );
    assert!(!Allowances::of(&cfg("pahole-1.24", &["-J", "-j", "--btf_gen_floats"])).no_enum64);
    assert!(Allowances::of(&cfg("pahole-1.24", &["-J", "--skip_encoding_btf_enum64"])).no_enum64);
    assert!(Allowances::of(&cfg("gcc-btf", &["-gbtf"])).no_enum64);
    assert!(!Allowances::of(&cfg("btfenc", &["--btf_features=default"])).no_enum64);
}
