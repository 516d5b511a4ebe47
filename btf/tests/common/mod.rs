//! A tiny BTF assembler for tests: write records the way the format spec lays them out, with
//! nothing from the crate under test, so the parser is checked against an independent encoding.
#![allow(dead_code)]

pub const INT: u32 = 1;
pub const PTR: u32 = 2;
pub const ARRAY: u32 = 3;
pub const STRUCT: u32 = 4;
pub const UNION: u32 = 5;
pub const ENUM: u32 = 6;
pub const FWD: u32 = 7;
pub const TYPEDEF: u32 = 8;
pub const VOLATILE: u32 = 9;
pub const CONST: u32 = 10;
pub const RESTRICT: u32 = 11;
pub const FUNC: u32 = 12;
pub const FUNC_PROTO: u32 = 13;
pub const VAR: u32 = 14;
pub const DATASEC: u32 = 15;
pub const FLOAT: u32 = 16;
pub const DECL_TAG: u32 = 17;
pub const TYPE_TAG: u32 = 18;
pub const ENUM64: u32 = 19;

#[derive(Default)]
pub struct Asm {
    pub types: Vec<u8>,
    pub strings: Vec<u8>,
    pub big_endian: bool,
}

impl Asm {
    pub fn new() -> Asm {
        Asm { types: Vec::new(), strings: vec![0], big_endian: false }
    }
    pub fn word(&mut self, v: u32) -> &mut Self {
        if self.big_endian {
            self.types.extend_from_slice(&v.to_be_bytes());
        } else {
            self.types.extend_from_slice(&v.to_le_bytes());
        }
        self
    }
    /// Adds a string (no dedup) and returns its offset.
    pub fn s(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }
    /// The common 12-byte record.
    pub fn rec(&mut self, name: &str, kind: u32, vlen: u32, kflag: bool, size_or_type: u32) -> &mut Self {
        let n = self.s(name);
        let info = (u32::from(kflag) << 31) | (kind << 24) | vlen;
        self.word(n).word(info).word(size_or_type)
    }
    pub fn header(&self, type_len: u32, str_off: u32, str_len: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let put16 = |out: &mut Vec<u8>, v: u16| {
            if self.big_endian { out.extend_from_slice(&v.to_be_bytes()) } else { out.extend_from_slice(&v.to_le_bytes()) }
        };
        let put32 = |out: &mut Vec<u8>, v: u32| {
            if self.big_endian { out.extend_from_slice(&v.to_be_bytes()) } else { out.extend_from_slice(&v.to_le_bytes()) }
        };
        put16(&mut out, 0xeb9f);
        out.push(1);
        out.push(0);
        put32(&mut out, 24);
        put32(&mut out, 0);
        put32(&mut out, type_len);
        put32(&mut out, str_off);
        put32(&mut out, str_len);
        out
    }
    pub fn build(&self) -> Vec<u8> {
        let mut out = self.header(self.types.len() as u32, self.types.len() as u32, self.strings.len() as u32);
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

pub const FIXTURES: &[&str] = &["prog.pahole124.btf", "prog.pahole130.btf", "prog.gccbtf.o"];
