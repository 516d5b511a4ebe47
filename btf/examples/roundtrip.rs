//! Parses a BTF file (raw or ELF) and reports whether writing it back gives the same bytes.
//! `cargo run -p btf --example roundtrip -- FILE [BASE]`
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(2).map(|b| {
        let bytes = std::fs::read(b).expect("read base");
        std::sync::Arc::new(btf::Btf::parse_file_bytes(&bytes, None).expect("parse base"))
    });
    let bytes = std::fs::read(&args[1]).expect("read");
    let b = btf::Btf::parse_file_bytes(&bytes, base).expect("parse");
    let out = b.to_bytes().expect("write");
    println!("{} types, {} bytes, identical: {}", b.own_types().len(), out.len(), out == bytes);
}
