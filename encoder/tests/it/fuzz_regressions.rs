//! Inputs the `encode_object` fuzzer found, kept so the fix stays fixed.

/// A mutated object whose DWARF makes a `DW_AT_type` chain loop without passing through a struct.
/// btfenc used to write that loop into BTF, which every BTF reader (ours, libbpf, the kernel)
/// rejects; now the encode fails with a typed error (or, if a later change breaks the loop some
/// other way, yields BTF that reads back).
#[test]
fn type_loop_from_malformed_dwarf_is_an_error_not_invalid_btf() {
    let bytes = include_bytes!("data/fuzz-type-loop.bin");
    match encoder::encode(bytes, &encoder::Options::default()) {
        Err(e) => eprintln!("rejected: {e}"),
        Ok(out) => {
            let raw = out.btf.to_bytes().expect("writes");
            btf::Btf::parse(&raw, None).expect("what btfenc returns must read back");
        }
    }
}

/// A mutated object with a compressed DWARF section whose header claims 32 GiB: the encoder
/// reserved that much before decompressing (the fuzzer's allocator stopped it). Now the size is
/// checked against what the compressed bytes can expand to first.
#[test]
fn compressed_section_claiming_gigabytes_is_refused_before_allocating() {
    let bytes = include_bytes!("data/fuzz-huge-compressed.bin");
    let err = encoder::encode(bytes, &encoder::Options::default())
        .expect_err("the input is corrupt")
        .to_string();
    assert!(err.contains("cannot expand"), "{err}");
}
