//! Malformed input gives a typed error that says what and where, never a panic; real files
//! rewrite byte for byte; mutated real files either fail cleanly or round-trip.

mod common;
use btf::{Btf, ParseError};
use common::*;
use proptest::prelude::*;

fn int_blob() -> Asm {
    let mut a = Asm::new();
    a.rec("int", INT, 0, false, 4).word((1 << 24) | 32);
    a
}

#[test]
fn real_files_rewrite_byte_for_byte() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let b = Btf::parse_file_bytes(&bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let raw = if name.ends_with(".o") {
            // The ELF's .BTF section is what must come back.
            use object::{Object, ObjectSection};
            let f = object::File::parse(&*bytes).unwrap();
            f.section_by_name(".BTF").unwrap().data().unwrap().to_vec()
        } else {
            bytes.clone()
        };
        assert_eq!(b.to_bytes().unwrap(), raw, "{name}");
    }
}

#[test]
fn real_files_have_the_expected_shape() {
    // Pinned from the fixtures' bpftool dumps (see tests/data/README.md for how they were made).
    let count = |name: &str| Btf::parse_file_bytes(&fixture(name), None).unwrap().own_types().len();
    assert_eq!(count("prog.pahole130.btf"), 36);
    assert_eq!(count("prog.gccbtf.o"), 42);
    let b = Btf::parse_file_bytes(&fixture("prog.pahole130.btf"), None).unwrap();
    let canon = btf::canon::Canon::of(&b).to_text();
    // pahole writes every FUNC with static linkage, whatever the C says.
    assert!(canon.contains("FUNC add static: int add(int a, int b)\n"), "{canon}");
    assert!(canon.contains("STRUCT flags size=4 {unsigned int a:3 @0; unsigned int b:5 @3; int c:7 @8; _Bool d:1 @15;}\n"), "{canon}");
    assert!(canon.contains("int (*cb)(void *, long int) @128;"), "{canon}");
    // pahole flattens int grid[2][3] into one dimension.
    assert!(canon.contains("int grid[6] @768;"), "{canon}");
}

#[test]
fn truncated_header() {
    let bytes = int_blob().build();
    let err = Btf::parse(&bytes[..10], None).unwrap_err();
    assert_eq!(err, ParseError::Truncated { what: "header", offset: 0, need: 24, have: 10 });
    assert_eq!(err.to_string(), "truncated header at offset 0x0: need 24 bytes, have 10");
}

#[test]
fn wrong_magic() {
    let mut bytes = int_blob().build();
    bytes[0] = 0x12;
    let err = Btf::parse(&bytes, None).unwrap_err();
    assert!(matches!(err, ParseError::BadMagic { found: 0xeb12 }), "{err:?}");
    // Neither raw BTF nor ELF.
    let err = Btf::parse_file_bytes(&bytes, None).unwrap_err();
    assert!(matches!(err, ParseError::Elf(_)), "{err:?}");
}

#[test]
fn section_offsets_past_the_end() {
    let a = int_blob();
    let mut bytes = a.header(a.types.len() as u32, a.types.len() as u32, 1000);
    bytes.extend_from_slice(&a.types);
    bytes.extend_from_slice(&a.strings);
    let err = Btf::parse(&bytes, None).unwrap_err();
    assert!(matches!(err, ParseError::BadHeader { field: "str_len", value: 1000, .. }), "{err:?}");
    assert!(err.to_string().contains("string section past the end"), "{err}");
}

#[test]
fn type_record_cut_short() {
    let mut a = Asm::new();
    a.rec("s", STRUCT, 2, false, 8).word(0).word(0).word(0); // one member of two
    let err = Btf::parse(&a.build(), None).unwrap_err();
    assert!(matches!(err, ParseError::Truncated { what: "type data", need: 24, have: 12, .. }), "{err:?}");
}

#[test]
fn type_id_out_of_range() {
    let mut a = int_blob();
    a.rec("", PTR, 0, false, 7);
    let err = Btf::parse(&a.build(), None).unwrap_err();
    assert_eq!(err, ParseError::TypeIdOutOfRange { id: btf::TypeId(2), target: 7, last: 2 });
    assert_eq!(err.to_string(), "[2] refers to type id 7, but the last id is 2");
}

#[test]
fn name_out_of_range() {
    let mut a = int_blob();
    a.word(999).word(PTR << 24).word(1);
    let err = Btf::parse(&a.build(), None).unwrap_err();
    assert!(matches!(err, ParseError::NameOutOfRange { name_off: 999, .. }), "{err:?}");
}

#[test]
fn cycles_are_rejected_but_recursive_structs_are_not() {
    // [1] const -> [2] ptr -> [1]: a loop with no struct to break it.
    let mut a = Asm::new();
    a.rec("", CONST, 0, false, 2);
    a.rec("", PTR, 0, false, 1);
    let err = Btf::parse(&a.build(), None).unwrap_err();
    assert!(matches!(err, ParseError::Cycle { .. }), "{err:?}");
    // [1] typedef -> itself.
    let mut a = Asm::new();
    a.rec("t", TYPEDEF, 0, false, 1);
    assert!(matches!(Btf::parse(&a.build(), None), Err(ParseError::Cycle { .. })));
    // struct list { struct list *next; } is legal C and legal BTF.
    let mut a = Asm::new();
    a.rec("list", STRUCT, 1, false, 8);
    let m = a.s("next");
    a.word(m).word(2).word(0);
    a.rec("", PTR, 0, false, 1);
    let b = Btf::parse(&a.build(), None).unwrap();
    assert_eq!(btf::render::declaration(&b, btf::TypeId(2), "n"), "struct list *n");
}

#[test]
fn unknown_kind_and_reserved_bits() {
    let mut a = Asm::new();
    a.rec("", 25, 0, false, 0);
    let err = Btf::parse(&a.build(), None).unwrap_err();
    assert!(matches!(err, ParseError::UnknownKind { kind: btf::Kind(25), .. }), "{err:?}");
    assert_eq!(err.to_string(), "unknown BTF kind 25 at [1] (offset 0x0)");
    let mut a = Asm::new();
    a.rec("", PTR, 3, false, 0); // vlen on a PTR
    assert!(matches!(Btf::parse(&a.build(), None), Err(ParseError::ReservedBits { .. })));
}

#[test]
fn func_must_point_at_a_prototype() {
    let mut a = int_blob();
    a.rec("f", FUNC, 1, false, 1);
    let err = Btf::parse(&a.build(), None).unwrap_err();
    assert!(matches!(err, ParseError::WrongReferencedKind { .. }), "{err:?}");
}

#[test]
fn elf_without_btf() {
    // A real ELF file with no .BTF section: the test binary itself.
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    assert_eq!(Btf::parse_elf(&me, None).unwrap_err(), ParseError::NoBtfSection);
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, xor: u8 },
    Set32 { at: usize, value: u32 },
    Truncate { len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        (any::<usize>(), prop_oneof![Just(0u32), Just(1), Just(u32::MAX), any::<u32>(), 0u32..64])
            .prop_map(|(at, value)| Mutation::Set32 { at, value }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    if n < 4 {
        return;
    }
    match *m {
        Mutation::Flip { at, xor } => bytes[at % n] ^= xor,
        Mutation::Set32 { at, value } => {
            // Word-aligned, where header fields and record words live.
            let at = (at % (n / 4)) * 4;
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        Mutation::Truncate { len } => bytes.truncate(len % n),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("BTFSMITH_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Mutated real BTF: parsing never panics; whatever parses, writes and re-parses to the same
    /// model, and its dump and canonical form render without panicking.
    #[test]
    fn mutated_real_btf_never_panics(which in 0usize..2, ms in prop::collection::vec(mutation(), 1..4)) {
        let mut bytes = fixture(FIXTURES[which]);
        for m in &ms {
            apply(&mut bytes, m);
        }
        if let Ok(b) = Btf::parse(&bytes, None) {
            let written = b.to_bytes().expect("a parsed blob writes");
            let again = Btf::parse(&written, None).expect("written bytes parse");
            prop_assert_eq!(again.own_types(), b.own_types());
            let _ = btf::dump::dump_to_string(&b);
            let _ = btf::canon::Canon::of(&b);
        }
    }

    /// Mutated ELF objects (gcc -gbtf output) never panic either.
    #[test]
    fn mutated_elf_never_panics(ms in prop::collection::vec(mutation(), 1..4)) {
        let mut bytes = fixture("prog.gccbtf.o");
        for m in &ms {
            apply(&mut bytes, m);
        }
        let _ = Btf::parse_file_bytes(&bytes, None);
    }
}

#[test]
fn rendering_a_wide_dag_of_types_is_bounded() {
    // Found by the btf_parse fuzzer (a 24 s input): prototypes whose two parameters point at the
    // previous prototype, 40 levels deep, are 2^40 paths for a naive renderer.
    let mut a = Asm::new();
    a.rec("int", INT, 0, false, 4).word((1 << 24) | 32); // [1]
    let mut prev = 1u32;
    for _ in 0..40 {
        a.rec("", FUNC_PROTO, 2, false, 1);
        a.word(0).word(prev);
        a.word(0).word(prev);
        prev += 1; // the proto's id
        a.rec("", PTR, 0, false, prev);
        prev += 1; // the pointer's id
    }
    a.rec("top", FUNC, 0, false, prev - 1);
    let b = Btf::parse(&a.build(), None).unwrap();
    let start = std::time::Instant::now();
    let canon = btf::canon::Canon::of(&b).to_text();
    let dump = btf::render::func_prototype(&b, btf::TypeId(b.type_count() - 1)).unwrap();
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "took {:?}", start.elapsed());
    assert!(dump.contains("...") && canon.contains("FUNC top"), "{dump}");
}
