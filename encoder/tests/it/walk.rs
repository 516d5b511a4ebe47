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

/// An ELF relocatable object holding only `.debug_abbrev` and `.debug_info`.
fn dwarf_only_object(dir: &std::path::Path, abbrev: &[u8], info: &[u8]) -> std::path::PathBuf {
    use object::write::Object;
    use object::{Architecture, BinaryFormat, Endianness, SectionKind};
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    for (name, data) in [(".debug_abbrev", abbrev), (".debug_info", info)] {
        let id = obj.add_section(Vec::new(), name.as_bytes().to_vec(), SectionKind::Debug);
        obj.append_section_data(id, data, 1);
    }
    let path = dir.join("cross-unit.o");
    std::fs::write(&path, obj.write().unwrap()).unwrap();
    path
}

/// A DWARF 4 unit (32-bit format, 8-byte addresses, abbreviations at offset 0) around `dies`.
fn unit(dies: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&(dies.len() as u32 + 7).to_le_bytes());
    u.extend_from_slice(&4u16.to_le_bytes());
    u.extend_from_slice(&0u32.to_le_bytes());
    u.push(8);
    u.extend_from_slice(dies);
    u
}

/// A struct member whose type is a DIE of another unit (`DW_FORM_ref_addr`, as `dwz` and LTO
/// write): the graph resolves it only once every unit is in, so dedup cannot start on the units
/// while they come in (its unit-by-unit run gives up and deduplicates the whole graph, which
/// `BTFENC_TIMING` reports); the two units' copies of the struct are one type.
#[test]
fn a_reference_into_another_unit_deduplicates_the_whole_graph() {
    use gimli::constants::*;
    let abbrev: Vec<u8> = [
        // 1: compile unit (children): name, language.
        &[1, DW_TAG_compile_unit.0 as u8, 1, DW_AT_name.0 as u8, DW_FORM_string.0 as u8][..],
        &[DW_AT_language.0 as u8, DW_FORM_data1.0 as u8, 0, 0],
        // 2: base type: name, byte size, encoding.
        &[2, DW_TAG_base_type.0 as u8, 0, DW_AT_name.0 as u8, DW_FORM_string.0 as u8],
        &[DW_AT_byte_size.0 as u8, DW_FORM_data1.0 as u8, DW_AT_encoding.0 as u8, DW_FORM_data1.0 as u8, 0, 0],
        // 3: struct (children): name, byte size.
        &[3, DW_TAG_structure_type.0 as u8, 1, DW_AT_name.0 as u8, DW_FORM_string.0 as u8],
        &[DW_AT_byte_size.0 as u8, DW_FORM_data1.0 as u8, 0, 0],
        // 4: member: name, type by .debug_info offset, offset in the struct.
        &[4, DW_TAG_member.0 as u8, 0, DW_AT_name.0 as u8, DW_FORM_string.0 as u8],
        &[DW_AT_type.0 as u8, DW_FORM_ref_addr.0 as u8],
        &[DW_AT_data_member_location.0 as u8, DW_FORM_data1.0 as u8, 0, 0, 0],
    ]
    .concat();
    let c99 = DW_LANG_C99.0 as u8;
    let int = |name: &str| [&[2u8][..], name.as_bytes(), &[0, 4, DW_ATE_signed.0]].concat();
    let strukt = |name: &str, member: &str, ty: u32| {
        [&[3u8][..], name.as_bytes(), &[0, 4, 4], member.as_bytes(), &[0], &ty.to_le_bytes(), &[0, 0]].concat()
    };
    // Unit 1: int at offset 11 + 1 + 5 + 1 = 18 (header, abbrev code, "u1.c\0", language).
    let int_at = 18u32;
    let u1 = unit(&[&[1u8][..], b"u1.c\0", &[c99], &int("int"), &strukt("s", "a", int_at), &[0]].concat());
    // Unit 2: the same struct, its member naming unit 1's int. Deduplicated before that
    // reference is resolved, it would be a second `s`.
    let u2 = unit(&[&[1u8][..], b"u2.c\0", &[c99], &strukt("s", "a", int_at), &[0]].concat());
    assert_eq!(&u1[int_at as usize..int_at as usize + 4], &[2, b'i', b'n', b't']);
    let dir = tempfile::tempdir().unwrap();
    let o = dwarf_only_object(dir.path(), &abbrev, &[u1, u2].concat());
    let out = dir.path().join("out.btf");
    let done = run(std::process::Command::new(btfenc())
        .env("BTFENC_TIMING", "1")
        .arg(format!("--btf_encode_detached={}", out.display()))
        .arg(&o));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("dedup unit by unit given up: a reference into another unit"),
        "{stderr}"
    );
    let b = btf::Btf::parse(&std::fs::read(&out).unwrap(), None).unwrap();
    assert_eq!(
        btf::dump::dump_to_string(&b),
        "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n\
         [2] STRUCT 's' size=4 vlen=1\n\t'a' type_id=1 bits_offset=0\n"
    );
}
