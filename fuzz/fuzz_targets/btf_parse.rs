//! bytes → parse (raw or ELF) → write → parse: never a panic, and whatever parses round-trips to
//! the same model, dumps and canonicalizes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(b) = btf::Btf::parse_file_bytes(data, None) else { return };
    let written = b.to_bytes().expect("a parsed blob writes");
    let again = btf::Btf::parse(&written, None).expect("written bytes parse");
    assert_eq!(again.own_types(), b.own_types());
    assert_eq!(again.to_bytes().expect("writes again"), written);
    let _ = btf::dump::dump_to_string(&b);
    let _ = btf::canon::Canon::of(&b);
    for id in b.own_ids() {
        let _ = btf::render::func_prototype(&b, id);
    }
});
