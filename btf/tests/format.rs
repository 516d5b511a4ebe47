//! Every kind, assembled by hand from the format spec, read back into the model, dumped in
//! bpftool's text and rewritten byte for byte.

mod common;
use btf::types::*;
use btf::{Btf, TypeData, TypeId};
use common::*;

/// One record of every kind, with hand-written expectations of what bpftool prints for each.
fn every_kind(big_endian: bool) -> (Vec<u8>, &'static str) {
    let mut a = Asm::new();
    a.big_endian = big_endian;
    a.rec("int", INT, 0, false, 4).word((1 << 24) | 32); // [1]
    a.rec("", PTR, 0, false, 1); // [2]
    a.rec("", ARRAY, 0, false, 0).word(1).word(1).word(4); // [3]
    a.rec("s", STRUCT, 2, true, 8); // [4]
    let m = a.s("a");
    a.word(m).word(1).word((3 << 24) | 5);
    let m = a.s("p");
    a.word(m).word(2).word(32);
    a.rec("u", UNION, 1, false, 4); // [5]
    let m = a.s("i");
    a.word(m).word(1).word(0);
    a.rec("e", ENUM, 2, true, 4); // [6]
    let v = a.s("NEG");
    a.word(v).word(-7i32 as u32);
    let v = a.s("POS");
    a.word(v).word(7);
    a.rec("f", FWD, 0, true, 0); // [7]
    a.rec("t", TYPEDEF, 0, false, 1); // [8]
    a.rec("", VOLATILE, 0, false, 1); // [9]
    a.rec("", CONST, 0, false, 9); // [10]
    a.rec("", RESTRICT, 0, false, 2); // [11]
    a.rec("", FUNC_PROTO, 3, false, 1); // [12]
    let p = a.s("x");
    a.word(p).word(1);
    a.word(0).word(2);
    a.word(0).word(0);
    a.rec("fn", FUNC, 1, false, 12); // [13]
    a.rec("v", VAR, 0, false, 1).word(1); // [14]
    a.rec(".data", DATASEC, 1, false, 4); // [15]
    a.word(14).word(0).word(4);
    a.rec("double", FLOAT, 0, false, 8); // [16]
    a.rec("tag", DECL_TAG, 0, false, 13).word(-1i32 as u32); // [17]
    a.rec("user", TYPE_TAG, 0, false, 1); // [18]
    a.rec("e64", ENUM64, 2, false, 8); // [19]
    let v = a.s("BIG");
    a.word(v).word(0).word(1);
    let v = a.s("MAX");
    a.word(v).word(u32::MAX).word(u32::MAX);
    a.rec("se64", ENUM64, 1, true, 8); // [20]
    let v = a.s("M1");
    a.word(v).word(u32::MAX).word(u32::MAX);
    a.rec("", DECL_TAG, 0, false, 4).word(1); // [21] component 1 of struct s, anonymous name
    let expected = "\
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] PTR '(anon)' type_id=1
[3] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=4
[4] STRUCT 's' size=8 vlen=2
\t'a' type_id=1 bits_offset=5 bitfield_size=3
\t'p' type_id=2 bits_offset=32
[5] UNION 'u' size=4 vlen=1
\t'i' type_id=1 bits_offset=0
[6] ENUM 'e' encoding=SIGNED size=4 vlen=2
\t'NEG' val=-7
\t'POS' val=7
[7] FWD 'f' fwd_kind=union
[8] TYPEDEF 't' type_id=1
[9] VOLATILE '(anon)' type_id=1
[10] CONST '(anon)' type_id=9
[11] RESTRICT '(anon)' type_id=2
[12] FUNC_PROTO '(anon)' ret_type_id=1 vlen=3
\t'x' type_id=1
\t'(anon)' type_id=2
\t'(anon)' type_id=0
[13] FUNC 'fn' type_id=12 linkage=global
[14] VAR 'v' type_id=1, linkage=global
[15] DATASEC '.data' size=4 vlen=1
\ttype_id=14 offset=0 size=4 (VAR 'v')
[16] FLOAT 'double' size=8
[17] DECL_TAG 'tag' type_id=13 component_idx=-1
[18] TYPE_TAG 'user' type_id=1
[19] ENUM64 'e64' encoding=UNSIGNED size=8 vlen=2
\t'BIG' val=4294967296ULL
\t'MAX' val=18446744073709551615ULL
[20] ENUM64 'se64' encoding=SIGNED size=8 vlen=1
\t'M1' val=-1LL
[21] DECL_TAG '(anon)' type_id=4 component_idx=1
";
    (a.build(), expected)
}

#[test]
fn every_kind_dumps_like_bpftool_and_rewrites_identically() {
    for big in [false, true] {
        let (bytes, expected) = every_kind(big);
        let b = Btf::parse(&bytes, None).expect("parse");
        assert_eq!(b.endian(), if big { btf::Endian::Big } else { btf::Endian::Little });
        assert_eq!(btf::dump::dump_to_string(&b), expected);
        assert_eq!(b.to_bytes().unwrap(), bytes, "rewrite of the {} blob", if big { "big" } else { "little" });
    }
}

#[test]
fn model_fields_are_decoded() {
    let (bytes, _) = every_kind(false);
    let b = Btf::parse(&bytes, None).unwrap();
    assert_eq!(b.type_count(), 22);
    let TypeData::Struct(s) = &b.type_by_id(TypeId(4)).unwrap().data else { panic!("not a struct") };
    assert!(s.bitfield_encoding);
    assert_eq!((s.members[0].bit_offset, s.members[0].bitfield_size), (5, 3));
    assert_eq!(b.str(s.members[1].name), "p");
    let TypeData::FuncProto(p) = &b.type_by_id(TypeId(12)).unwrap().data else { panic!("not a proto") };
    assert!(p.is_variadic());
    let TypeData::Func(f) = &b.type_by_id(TypeId(13)).unwrap().data else { panic!("not a func") };
    assert_eq!(f.linkage, FuncLinkage::GLOBAL);
    assert_eq!(b.type_by_id(TypeId(0)).unwrap().data, TypeData::Void);
    assert!(b.type_by_id(TypeId(22)).is_none());
}

#[test]
fn renders_c_declarations() {
    let (bytes, _) = every_kind(false);
    let b = Btf::parse(&bytes, None).unwrap();
    assert_eq!(btf::render::func_prototype(&b, TypeId(13)).unwrap(), "int fn(int x, int *, ...)");
    assert_eq!(btf::render::func_signature(&b, TypeId(13)).unwrap(), "int fn(int, int *, ...)");
    assert_eq!(btf::render::declaration(&b, TypeId(3), "arr"), "int arr[4]");
    assert_eq!(btf::render::declaration(&b, TypeId(10), "c"), "const volatile int c");
    assert_eq!(btf::render::declaration(&b, TypeId(11), "r"), "int *restrict r");
    assert_eq!(btf::render::type_name(&b, TypeId(7)), "union f");
}

#[test]
fn canonical_form_names_entities_not_ids() {
    let (bytes, _) = every_kind(false);
    let c = btf::canon::Canon::of(&Btf::parse(&bytes, None).unwrap());
    let text = c.to_text();
    for line in [
        "FUNC fn global: int fn(int x, int *, ...)",
        "STRUCT s size=8 {int a:3 @5; int *p @32;}",
        "ENUM e size=4 signed {NEG=-7, POS=7}",
        "DECL_TAG \"tag\" -> FUNC fn",
        "VAR v global: int v",
        "DATASEC .data var v @0+4",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("type_id"), "ids leaked into the canonical form:\n{text}");
}

#[test]
fn canonical_form_ignores_order_and_counts_duplicates() {
    // The same two types in two orders, and a third blob that repeats one.
    let build = |order: &[&str]| {
        let mut a = Asm::new();
        for what in order {
            match *what {
                "int" => a.rec("int", INT, 0, false, 4).word((1 << 24) | 32),
                "float" => a.rec("float", FLOAT, 0, false, 4),
                _ => unreachable!(),
            };
        }
        btf::canon::Canon::of(&Btf::parse(&a.build(), None).unwrap())
    };
    let ab = build(&["int", "float"]);
    let ba = build(&["float", "int"]);
    let aab = build(&["int", "int", "float"]);
    assert_eq!(ab, ba);
    assert_ne!(ab, aab);
    assert!(aab.to_text().contains("INT int size=4 bits=32 encoding=SIGNED (x2)"));
    let d = btf::canon::diff(&ab, &aab, "a", "b").expect("they differ");
    assert!(d.contains("-INT int size=4 bits=32 encoding=SIGNED\n"), "{d}");
    assert!(d.contains("+INT int size=4 bits=32 encoding=SIGNED (x2)\n"), "{d}");
    assert!(btf::canon::diff(&ab, &ba, "a", "b").is_none());
}

#[test]
fn split_btf_continues_ids_and_strings_of_its_base() {
    let mut base = Asm::new();
    base.rec("int", INT, 0, false, 4).word((1 << 24) | 32);
    let base_bytes = base.build();
    let base_str_len = base.strings.len() as u32;
    let base = std::sync::Arc::new(Btf::parse(&base_bytes, None).unwrap());

    // Split strings start at the base's string length; offset 1 ("int") is the base's.
    let mut split = Asm::new();
    split.strings = vec![0];
    let name = base_str_len + split.s("p_t");
    split.rec("", PTR, 0, false, 1); // [2] -> base [1]
    split.word(name).word(8 << 24).word(2); // [3] TYPEDEF p_t -> [2]
    let split_bytes = split.build();
    let b = Btf::parse(&split_bytes, Some(base.clone())).unwrap();
    assert_eq!(b.first_id(), TypeId(2));
    assert_eq!(
        btf::dump::dump_to_string(&b),
        "[2] PTR '(anon)' type_id=1\n[3] TYPEDEF 'p_t' type_id=2\n"
    );
    assert_eq!(btf::render::declaration(&b, TypeId(3), "x"), "p_t x");
    assert_eq!(btf::render::declaration(&b, TypeId(2), "x"), "int *x");
    assert_eq!(b.to_bytes().unwrap(), split_bytes);
    // Without its base the split blob refers to types and strings that do not exist.
    assert!(Btf::parse(&split_bytes, None).is_err());
}

#[test]
fn built_blob_dedups_strings_and_reuses_the_base() {
    let mut base = Btf::new(None);
    let int = base.add_str("int");
    base.add_type(Type { name: int, data: TypeData::Int(Int { size: 4, encoding: IntEncoding::SIGNED, bit_offset: 0, bits: 32 }) });
    let base = std::sync::Arc::new(Btf::parse(&base.to_bytes().unwrap(), None).unwrap());
    let mut split = Btf::new(Some(base));
    assert_eq!(split.add_str("int"), int, "a base string is referenced, not copied");
    let a = split.add_str("p_t");
    assert_eq!(split.add_str("p_t"), a);
    split.add_type(Type { name: a, data: TypeData::Typedef(TypeId(1)) });
    let bytes = split.to_bytes().unwrap();
    let again = Btf::parse(&bytes, split.base().cloned()).unwrap();
    assert_eq!(btf::dump::dump_to_string(&again), "[2] TYPEDEF 'p_t' type_id=1\n");
}

#[test]
fn append_renumbers_types_and_names() {
    let (bytes, _) = every_kind(false);
    let one = Btf::parse(&bytes, None).unwrap();
    let mut both = Btf::new(None);
    assert_eq!(both.append(&one), TypeId(1));
    assert_eq!(both.append(&one), TypeId(22));
    let again = Btf::parse(&both.to_bytes().unwrap(), None).unwrap();
    assert_eq!(again.type_count(), 43);
    assert_eq!(btf::render::func_prototype(&again, TypeId(34)).unwrap(), "int fn(int x, int *, ...)");
    let canon = btf::canon::Canon::of(&again).to_text();
    assert!(canon.contains("FUNC fn global: int fn(int x, int *, ...) (x2)"), "{canon}");
    assert!(canon.contains("STRUCT s size=8 {int a:3 @5; int *p @32;} (x2)"), "{canon}");
}
