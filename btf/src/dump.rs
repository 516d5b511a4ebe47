//! The text of `bpftool btf dump file FILE` (raw format), byte for byte.
//!
//! One line per type, `[id] KIND 'name' fields...`, with one tab-indented line per member,
//! parameter, enumerator or section variable. A split blob dumps only its own types, as
//! `bpftool -B BASE` does. The format is bpftool 7.x's; the tests compare it with the bpftool that
//! `ci/setup` installs.

use crate::types::*;
use crate::Btf;
use std::io::{self, Write};

/// Appends the dump of every type this blob defines to `out`.
pub fn dump_into(btf: &Btf, out: &mut Vec<u8>) {
    for id in btf.own_ids() {
        dump_type(btf, id, out);
    }
}

/// The dump as a string.
pub fn dump_to_string(btf: &Btf) -> String {
    let mut out = Vec::new();
    dump_into(btf, &mut out);
    // Every piece written is UTF-8: names are checked at parse time, the rest is ASCII.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Streams the dump to `w`, in chunks so that a 100k-type vmlinux needs no 20 MB buffer.
pub fn dump_to_writer(btf: &Btf, w: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    for id in btf.own_ids() {
        dump_type(btf, id, &mut buf);
        if buf.len() >= 1 << 16 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)
}

struct Out<'a>(&'a mut Vec<u8>);

impl Out<'_> {
    fn s(&mut self, s: &str) -> &mut Self {
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    fn u(&mut self, v: impl itoa::Integer) -> &mut Self {
        self.0.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self
    }
    /// A quoted name, `(anon)` for offset 0, as bpftool's `btf_str`.
    fn name(&mut self, btf: &Btf, name: StrRef) -> &mut Self {
        self.s("'");
        if name.is_empty() {
            self.s("(anon)");
        } else {
            self.s(btf.str(name));
        }
        self.s("'")
    }
}

fn int_encoding(e: IntEncoding) -> &'static str {
    match e.0 {
        0 => "(none)",
        1 => "SIGNED",
        2 => "CHAR",
        4 => "BOOL",
        _ => "UNKN",
    }
}

/// Appends one type's lines.
pub fn dump_type(btf: &Btf, id: TypeId, buf: &mut Vec<u8>) {
    let mut o = Out(buf);
    let Some(ty) = btf.type_by_id(id) else {
        return;
    };
    let kind = ty.data.kind();
    o.s("[")
        .u(id.0)
        .s("] ")
        .s(kind.static_string().unwrap_or("UNKNOWN"))
        .s(" ")
        .name(btf, ty.name);
    match &ty.data {
        TypeData::Void => {}
        TypeData::Int(i) => {
            o.s(" size=")
                .u(i.size)
                .s(" bits_offset=")
                .u(i.bit_offset)
                .s(" nr_bits=")
                .u(i.bits)
                .s(" encoding=")
                .s(int_encoding(i.encoding));
        }
        TypeData::Ptr(t)
        | TypeData::Const(t)
        | TypeData::Volatile(t)
        | TypeData::Restrict(t)
        | TypeData::Typedef(t) => {
            o.s(" type_id=").u(t.0);
        }
        TypeData::TypeTag(t) => {
            o.s(" type_id=").u(t.ty.0);
        }
        TypeData::Array(a) => {
            o.s(" type_id=")
                .u(a.elem.0)
                .s(" index_type_id=")
                .u(a.index.0)
                .s(" nr_elems=")
                .u(a.len);
        }
        TypeData::Struct(c) | TypeData::Union(c) => {
            o.s(" size=").u(c.size).s(" vlen=").u(c.members.len());
            for m in &c.members {
                o.s("\n\t")
                    .name(btf, m.name)
                    .s(" type_id=")
                    .u(m.ty.0)
                    .s(" bits_offset=")
                    .u(m.bit_offset);
                if m.bitfield_size != 0 {
                    o.s(" bitfield_size=").u(m.bitfield_size);
                }
            }
        }
        TypeData::Enum(e) => {
            o.s(if e.signed {
                " encoding=SIGNED"
            } else {
                " encoding=UNSIGNED"
            })
            .s(" size=")
            .u(e.size)
            .s(" vlen=")
            .u(e.values.len());
            for v in &e.values {
                o.s("\n\t").name(btf, v.name).s(" val=");
                if e.signed {
                    o.u(v.value as i32);
                } else {
                    o.u(v.value);
                }
            }
        }
        TypeData::Enum64(e) => {
            o.s(if e.signed {
                " encoding=SIGNED"
            } else {
                " encoding=UNSIGNED"
            })
            .s(" size=")
            .u(e.size)
            .s(" vlen=")
            .u(e.values.len());
            for v in &e.values {
                o.s("\n\t").name(btf, v.name).s(" val=");
                if e.signed {
                    o.u(v.value as i64).s("LL");
                } else {
                    o.u(v.value).s("ULL");
                }
            }
        }
        TypeData::Fwd(f) => {
            o.s(if f.union {
                " fwd_kind=union"
            } else {
                " fwd_kind=struct"
            });
        }
        TypeData::Func(f) => {
            o.s(" type_id=")
                .u(f.proto.0)
                .s(" linkage=")
                .s(f.linkage.as_str());
        }
        TypeData::FuncProto(p) => {
            o.s(" ret_type_id=")
                .u(p.ret.0)
                .s(" vlen=")
                .u(p.params.len());
            for p in &p.params {
                o.s("\n\t").name(btf, p.name).s(" type_id=").u(p.ty.0);
            }
        }
        TypeData::Var(v) => {
            // bpftool prints a comma here and nowhere else.
            o.s(" type_id=")
                .u(v.ty.0)
                .s(", linkage=")
                .s(v.linkage.as_str());
        }
        TypeData::Datasec(d) => {
            o.s(" size=").u(d.size).s(" vlen=").u(d.vars.len());
            for v in &d.vars {
                o.s("\n\ttype_id=")
                    .u(v.ty.0)
                    .s(" offset=")
                    .u(v.offset)
                    .s(" size=")
                    .u(v.size);
                if let Some(vt) = btf.type_by_id(v.ty) {
                    o.s(" (")
                        .s(vt.data.kind().static_string().unwrap_or("UNKNOWN"))
                        .s(" ")
                        .name(btf, vt.name)
                        .s(")");
                }
            }
        }
        TypeData::Float(f) => {
            o.s(" size=").u(f.size);
        }
        TypeData::DeclTag(t) => {
            o.s(" type_id=")
                .u(t.ty.0)
                .s(" component_idx=")
                .u(t.component_idx);
        }
    }
    o.s("\n");
}
