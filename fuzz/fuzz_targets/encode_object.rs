//! Mutated ELF/DWARF → btfenc: a clear error or valid BTF, never a panic. Seeded with real
//! objects (see README.md).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = encoder::encode(data, &encoder::Options::default()) {
        let bytes = out.btf.to_bytes().expect("btfenc's BTF writes");
        btf::Btf::parse(&bytes, None).expect("btfenc's BTF parses back");
    }
});
