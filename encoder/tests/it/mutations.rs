//! Property: no mutation of a real object makes the encoder panic; it returns BTF or an error.

use crate::common::*;
use proptest::prelude::*;
use std::sync::OnceLock;

fn object_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let a = compile(&gcc(), dir.path(), "a", include_str!("data/dup_a.c"), &[]);
        let b = compile(&gcc(), dir.path(), "b", include_str!("data/types.c"), &[]);
        std::fs::read(link_r(dir.path(), "ab.o", &[a, b])).unwrap()
    })
}

fn debug_range(name: &str) -> (usize, usize) {
    use object::{Object, ObjectSection};
    let file = object::File::parse(object_bytes()).unwrap();
    let (off, size) = file.section_by_name(name).unwrap().file_range().unwrap();
    (off as usize, size as usize)
}

#[derive(Debug, Clone)]
enum Mutation {
    /// A byte somewhere in the file.
    Byte(usize, u8),
    /// A byte inside `.debug_info` or `.debug_abbrev` (where the walker's logic is).
    DebugByte(bool, usize, u8),
    Truncate(usize),
    Zero(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
        (any::<bool>(), any::<usize>(), any::<u8>())
            .prop_map(|(a, i, b)| Mutation::DebugByte(a, i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Zero(i, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn mutated_objects_never_panic(muts in proptest::collection::vec(mutation(), 1..8)) {
        let mut bytes = object_bytes().to_vec();
        for m in &muts {
            let len = bytes.len().max(1);
            match *m {
                Mutation::Byte(i, b) => { let i = i % len; if i < bytes.len() { bytes[i] = b; } }
                Mutation::DebugByte(abbrev, i, b) => {
                    let (start, size) = debug_range(if abbrev { ".debug_abbrev" } else { ".debug_info" });
                    let i = start + i % size.max(1);
                    if i < bytes.len() { bytes[i] = b; }
                }
                Mutation::Truncate(i) => bytes.truncate(i % len),
                Mutation::Zero(i, n) => { let i = i % len; let e = (i + n).min(bytes.len()); if i < e { bytes[i..e].fill(0); } }
            }
        }
        for jobs in [None, Some(2)] {
            let opts = encoder::Options { jobs, ..encoder::Options::default() };
            if let Ok(out) = encoder::encode(&bytes, &opts) {
                let _ = out.btf.to_bytes();
            }
        }
    }
}
