//! Parity of `encoder::dedup` with libbpf's own `btf__dedup` (libbpf 1.7.0, as `libbpf-sys` 1.7
//! bundles it): the same raw bytes go to both, and the results must be the same types with the
//! same ids (compared through `btf::dump`, names resolved, so string-table layout does not
//! matter) and the same canonical form (`btf::canon`).
//!
//! Ours runs as [`Flavor::Libbpf1_7`]. The only difference from the flavor btfenc writes
//! ([`Flavor::Upstream`]) is libbpf 1.7's base-typedef bug (fixed upstream in 5b0f3729): with a
//! base, 1.7 never merges a split TYPEDEF into the base's. Where that matters the test also checks
//! that the upstream flavor writes no more types than 1.7, and strictly fewer when a typedef of
//! the base was duplicated in the split part. Nothing else is allowed to differ: where libbpf's
//! result depends on candidate order (several acceptable canonical candidates), ours reproduces
//! that order (see `Table` in src/dedup.rs), so no input needs an exception.
//!
//! Inputs: real BTF (the 6.12 vmlinux BTF appended to itself, slices of it appended with
//! overlaps and with structs replaced by FWDs, kernel modules' split BTF appended together over
//! vmlinux, split copies of vmlinux types that must fold back into the base) and proptest type
//! graphs (cycles through structs, FWDs, same-name different structs, enum forwards, ENUM64).

#[path = "it/common/mod.rs"]
mod common;

use btf::types::*;
use btf::{Btf, TypeData, TypeId};
use encoder::dedup::{dedup_btf_flavor, Flavor};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::ffi::c_void;
use std::sync::Arc;

/// libbpf's result: the deduplicated raw BTF (split part only when split), or libbpf's errno.
fn libbpf_dedup(raw: &[u8], base: Option<&[u8]>) -> Result<Vec<u8>, i64> {
    // SAFETY: libbpf copies the input buffers (valid for the calls); every object it returns is
    // checked with libbpf_get_error and freed exactly once; btf__raw_data points into `btf`,
    // which is still alive while it is copied.
    unsafe {
        let base_btf = match base {
            Some(b) => {
                let p = libbpf_sys::btf__new(b.as_ptr().cast::<c_void>(), b.len() as u32);
                let e = libbpf_sys::libbpf_get_error(p as *const c_void);
                if e != 0 {
                    panic!("libbpf rejects the base: {e}");
                }
                p
            }
            None => std::ptr::null_mut(),
        };
        let btf = if base_btf.is_null() {
            libbpf_sys::btf__new(raw.as_ptr().cast::<c_void>(), raw.len() as u32)
        } else {
            libbpf_sys::btf__new_split(raw.as_ptr().cast::<c_void>(), raw.len() as u32, base_btf)
        };
        let e = libbpf_sys::libbpf_get_error(btf as *const c_void);
        if e != 0 {
            libbpf_sys::btf__free(base_btf);
            panic!("libbpf rejects the input: {e}");
        }
        let r = libbpf_sys::btf__dedup(btf, std::ptr::null());
        let out = if r != 0 {
            Err(i64::from(r))
        } else {
            let mut size = 0u32;
            let data = libbpf_sys::btf__raw_data(btf, &mut size);
            Ok(std::slice::from_raw_parts(data.cast::<u8>(), size as usize).to_vec())
        };
        libbpf_sys::btf__free(btf);
        libbpf_sys::btf__free(base_btf);
        out
    }
}

/// What a parity check found (for the summary the tests print).
#[derive(Debug)]
struct Outcome {
    input_types: usize,
    output_types: Option<usize>,
}

/// Runs both on `input` and fails on any difference. Returns the sizes.
fn parity(label: &str, input: &Btf) -> Outcome {
    let raw = input.to_bytes().expect("input writes");
    let base_raw = input.base().map(|b| b.to_bytes().expect("base writes"));
    let base = input.base().cloned();
    let reparsed = Btf::parse(&raw, base.clone()).expect("input parses");
    let theirs = libbpf_dedup(&raw, base_raw.as_deref());
    let ours = dedup_btf_flavor(&reparsed, Flavor::Libbpf1_7);
    let input_types = reparsed.own_types().len();
    match (theirs, ours) {
        (Err(e), Err(ours)) => {
            println!("{label}: both fail (libbpf {e}, ours: {ours})");
            Outcome {
                input_types,
                output_types: None,
            }
        }
        (Err(e), Ok(_)) => panic!("{label}: libbpf fails ({e}), ours succeeds"),
        (Ok(_), Err(ours)) => panic!("{label}: libbpf succeeds, ours fails: {ours}"),
        (Ok(theirs), Ok(ours)) => {
            let theirs = Btf::parse(&theirs, base.clone()).expect("libbpf output parses");
            assert_same(label, &theirs, &ours);
            // And what btfenc uses: never more types than 1.7 (it only adds base typedef merges).
            let upstream = dedup_btf_flavor(&reparsed, Flavor::Upstream).expect("upstream flavor");
            assert!(
                upstream.own_types().len() <= ours.own_types().len(),
                "{label}: upstream flavor wrote more types than libbpf 1.7"
            );
            if base.is_none() {
                assert_same(&format!("{label} (upstream flavor)"), &ours, &upstream);
            }
            println!(
                "{label}: {input_types} types -> {} (libbpf 1.7 = ours), upstream flavor {}",
                ours.own_types().len(),
                upstream.own_types().len()
            );
            Outcome {
                input_types,
                output_types: Some(ours.own_types().len()),
            }
        }
    }
}

/// Same types under the same ids, names resolved, and the same canonical form.
fn assert_same(label: &str, theirs: &Btf, ours: &Btf) {
    let (ct, co) = (btf::canon::Canon::of(theirs), btf::canon::Canon::of(ours));
    if let Some(diff) = btf::canon::diff(&ct, &co, "libbpf", "ours") {
        panic!("{label}: canonical forms differ:\n{diff}");
    }
    let (dt, d_o) = (
        btf::dump::dump_to_string(theirs),
        btf::dump::dump_to_string(ours),
    );
    if dt != d_o {
        let first = dt
            .lines()
            .zip(d_o.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("libbpf: {a}\nours:   {b}"))
            .unwrap_or_else(|| {
                format!(
                    "{} vs {} lines",
                    dt.lines().count(),
                    d_o.lines().count()
                )
            });
        panic!("{label}: same canonical form but different types or ids; first difference:\n{first}");
    }
}

/// Appends `src`'s own types to `dst` (both split over the same base, or both standalone):
/// references into the base stay, references to `src`'s own types follow them.
fn append_own(dst: &mut Btf, src: &Btf) {
    let first = src.first_id().0;
    let shift = dst.type_count();
    for t in src.own_types() {
        let mut t = t.clone();
        t.name = dst.add_str(src.str(t.name));
        t.data.map_refs(|r| {
            if r.0 < first {
                r
            } else {
                TypeId(r.0 - first + shift)
            }
        });
        let mut names = Vec::new();
        t.data.map_entry_names(|n| {
            names.push(n);
            n
        });
        let mapped: Vec<StrRef> = names.iter().map(|n| dst.add_str(src.str(*n))).collect();
        let mut it = mapped.into_iter();
        t.data.map_entry_names(|n| it.next().unwrap_or(n));
        dst.add_type(t);
    }
}

/// Copies the types reachable from `roots` in `src` (a standalone blob) into `dst` as new
/// types, in id order; `fwd` names structs/unions to copy as FWDs (their members not followed).
/// Returns src id → dst id.
fn copy_closure(
    dst: &mut Btf,
    src: &Btf,
    roots: &[TypeId],
    fwd: &BTreeSet<String>,
) -> HashMap<u32, u32> {
    let as_fwd = |id: TypeId| {
        let t = src.type_by_id(id).expect("id");
        matches!(t.data, TypeData::Struct(_) | TypeData::Union(_)) && fwd.contains(src.str(t.name))
    };
    let mut seen = BTreeSet::new();
    let mut stack: Vec<TypeId> = roots.to_vec();
    while let Some(id) = stack.pop() {
        if id.0 == 0 || !seen.insert(id.0) {
            continue;
        }
        if as_fwd(id) {
            continue;
        }
        src.type_by_id(id).expect("id").data.for_each_ref(|r| stack.push(r));
    }
    let mut map = HashMap::new();
    let mut next = dst.type_count();
    for &id in &seen {
        map.insert(id, next);
        next += 1;
    }
    for &id in &seen {
        let t = src.type_by_id(TypeId(id)).expect("id");
        let mut t = if as_fwd(TypeId(id)) {
            Type {
                name: t.name,
                data: TypeData::Fwd(Fwd {
                    union: matches!(t.data, TypeData::Union(_)),
                }),
            }
        } else {
            t.clone()
        };
        t.name = dst.add_str(src.str(t.name));
        t.data.map_refs(|r| TypeId(if r.0 == 0 { 0 } else { map[&r.0] }));
        let mut names = Vec::new();
        t.data.map_entry_names(|n| {
            names.push(n);
            n
        });
        let mapped: Vec<StrRef> = names.iter().map(|n| dst.add_str(src.str(*n))).collect();
        let mut it = mapped.into_iter();
        t.data.map_entry_names(|n| it.next().unwrap_or(n));
        dst.add_type(t);
    }
    map
}

fn vmlinux() -> Arc<Btf> {
    let (_, v) = common::kernel();
    let data = std::fs::read(&v).expect("vmlinux");
    Arc::new(Btf::parse_file_bytes(&data, None).expect("vmlinux BTF"))
}

/// Ids of named structs in `b` whose name is in `names`.
fn structs_named(b: &Btf, names: &[&str]) -> Vec<TypeId> {
    b.own_ids()
        .filter(|&id| {
            let t = b.type_by_id(id).expect("id");
            matches!(t.data, TypeData::Struct(_)) && names.contains(&b.str(t.name))
        })
        .collect()
}

#[test]
fn vmlinux_appended_to_itself() {
    let v = vmlinux();
    let mut input = Btf::new(None);
    input.append(&v);
    input.append(&v);
    let o = parity("vmlinux + vmlinux", &input);
    // Not back to the original count: the shipped BTF (pahole 1.24) has structs that are
    // shallow-equal but not equivalent, and the copies pair up with the first candidate of the
    // original, which is not always their own twin; libbpf gets the same count (checked above).
    let n = o.output_types.expect("dedup succeeds");
    assert!(n < o.input_types && n >= v.own_types().len(), "{n}");
}

#[test]
fn vmlinux_slices_with_forwards() {
    let v = vmlinux();
    // Overlapping closures, in one of which some structs are only declared: a CU that sees
    // `struct sk_buff;` and another that sees its definition.
    let a = structs_named(&v, &["task_struct", "file"]);
    let b = structs_named(&v, &["sk_buff", "file", "bpf_prog"]);
    let c = structs_named(&v, &["net_device", "inode"]);
    let mut input = Btf::new(None);
    let none = BTreeSet::new();
    let some: BTreeSet<String> = ["sk_buff", "net_device", "inode", "page", "mm_struct"]
        .into_iter()
        .map(String::from)
        .collect();
    let others: BTreeSet<String> = ["task_struct", "file", "bpf_prog", "super_block"]
        .into_iter()
        .map(String::from)
        .collect();
    copy_closure(&mut input, &v, &a, &some);
    copy_closure(&mut input, &v, &b, &none);
    copy_closure(&mut input, &v, &c, &others);
    copy_closure(&mut input, &v, &a, &none);
    let o = parity("vmlinux slices with FWDs", &input);
    assert!(o.output_types.expect("dedup succeeds") < o.input_types);
}

/// The split BTF of up to `n` modules of the kernel vmlinux_btf belongs to (xz-compressed .ko
/// files next to it, as ci/setup unpacks the image package).
fn modules(base: &Arc<Btf>, n: usize) -> Vec<(String, Btf)> {
    let (headers, _) = common::kernel();
    let root = headers
        .ancestors()
        .nth(3)
        .expect("kernel dir")
        .join("lib/modules");
    let mut kos = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}: run ci/setup", d.display())) {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.to_string_lossy().ends_with(".ko.xz") {
                kos.push(p);
            }
        }
    }
    kos.sort();
    assert!(!kos.is_empty(), "no modules under {}", root.display());
    // A spread of modules (net, fs, drivers), deterministically.
    let step = (kos.len() / n).max(1);
    kos.iter()
        .step_by(step)
        .take(n)
        .map(|p| {
            let out = common::run(std::process::Command::new("xz").arg("-dc").arg(p));
            let b = Btf::parse_elf(&out.stdout, Some(base.clone()))
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), b)
        })
        .collect()
}

#[test]
fn kernel_modules_appended_over_vmlinux() {
    let v = vmlinux();
    let mods = modules(&v, 12);
    let mut input = Btf::new(Some(v.clone()));
    for (_, m) in &mods {
        append_own(&mut input, m);
    }
    let o = parity(&format!("{} modules over vmlinux", mods.len()), &input);
    assert!(o.output_types.is_some());
    // Each module alone is what pahole's libbpf made of it: deduplicating again changes nothing
    // in libbpf, and must not in ours either.
    for (name, m) in mods.iter().take(4) {
        let o = parity(&format!("module {name}"), m);
        assert_eq!(o.output_types, Some(o.input_types), "{name}");
    }
}

#[test]
fn split_copies_fold_into_base() {
    let v = vmlinux();
    // Split types that duplicate base types (some structs only declared): all of them must map
    // to the base, except what libbpf 1.7 keeps (typedefs and what refers to them).
    let mut input = Btf::new(Some(v.clone()));
    let standalone = {
        let mut s = Btf::new(None);
        let roots = structs_named(&v, &["sk_buff", "task_struct"]);
        let fwds: BTreeSet<String> = ["net_device", "mm_struct"].into_iter().map(String::from).collect();
        copy_closure(&mut s, &v, &roots, &fwds);
        s
    };
    // The copy is standalone (ids from 1); shift it over the base.
    append_own(&mut input, &standalone);
    let o = parity("split copies of vmlinux types", &input);
    let kept = o.output_types.expect("dedup succeeds");
    assert!(kept < o.input_types, "{kept} of {}", o.input_types);
    let raw = input.to_bytes().unwrap();
    let reparsed = Btf::parse(&raw, Some(v.clone())).unwrap();
    let upstream = dedup_btf_flavor(&reparsed, Flavor::Upstream).unwrap();
    // With the typedef fix everything folds into the base (the FWDs included: the base has
    // exactly one struct of each name).
    assert_eq!(
        upstream.own_types().len(),
        0,
        "{}",
        btf::dump::dump_to_string(&upstream)
    );
    assert!(kept > 0, "libbpf 1.7 keeps duplicated typedefs");
}

#[test]
fn reference_loop_fails_in_both() {
    // A pointer to a const of itself: libbpf fails with ELOOP; so must we. (`Btf::parse` already
    // rejects such bytes, so ours gets the model directly.)
    let mut b = Btf::new(None);
    b.add_type(Type {
        name: StrRef::EMPTY,
        data: TypeData::Ptr(TypeId(2)),
    });
    b.add_type(Type {
        name: StrRef::EMPTY,
        data: TypeData::Const(TypeId(1)),
    });
    let raw = b.to_bytes().expect("writes");
    let theirs = libbpf_dedup(&raw, None);
    assert_eq!(theirs.err(), Some(-40), "libbpf: -ELOOP");
    let ours = dedup_btf_flavor(&b, Flavor::Libbpf1_7).expect_err("a loop");
    assert_eq!(ours.to_string(), "reference type loop through type [1]");
}

#[test]
fn objects_from_two_compilers_and_two_encoders() {
    // Each object's BTF is deduplicated on its own; appended, the copies must merge across
    // objects, where one object may only declare what another defines.
    let dir = tempfile::tempdir().unwrap();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data");
    let mut input = Btf::new(None);
    let mut n = 0;
    for src in ["types.c", "abi.c", "dup_a.c", "dup_b.c"] {
        let text = std::fs::read_to_string(data.join(src)).unwrap();
        for (cc, tag) in [(common::gcc(), "gcc"), (common::clang(), "clang")] {
            let stem = format!("{}_{tag}", src.trim_end_matches(".c"));
            let o = common::compile(&cc, dir.path(), &stem, &text, &[]);
            for raw in [common::btfenc_detached(&o, &[]), common::pahole_detached(&o)] {
                input.append(&Btf::parse(&raw, None).unwrap());
                n += 1;
            }
        }
    }
    let o = parity(&format!("{n} object BTFs appended"), &input);
    assert!(o.output_types.expect("dedup succeeds") < o.input_types);
}

/// Extra inputs for a one-off check: `BTFSMITH_DEDUP_INPUTS=a.btf:b.btf cargo test --release
/// -p encoder --test dedup_libbpf -- --ignored` (each file raw BTF or ELF, standalone).
#[test]
#[ignore = "needs BTFSMITH_DEDUP_INPUTS"]
fn inputs_from_env() {
    let list = std::env::var("BTFSMITH_DEDUP_INPUTS").expect("set BTFSMITH_DEDUP_INPUTS");
    for path in list.split(':') {
        let b = Btf::parse_file_bytes(&std::fs::read(path).unwrap(), None).unwrap();
        let t = std::time::Instant::now();
        let o = parity(path, &b);
        println!("{path}: {o:?} in {:?} (both)", t.elapsed());
    }
}

// ---- generated graphs ----

/// One generated type: kind selector, name selector, and raw numbers its fields are made from.
type Gene = (u8, u8, u16, u16, Vec<(u8, u16)>);

const NAMES: [&str; 5] = ["", "a", "b", "c", "d"];

/// Builds a BTF from genes. Everything is valid for libbpf's loader; references of
/// non-composite types point at lower ids or at structs/unions/FWDs (any id), so every cycle
/// passes through a struct or union, as in C.
fn build(genes: &[Gene]) -> Btf {
    let mut b = Btf::new(None);
    let names: Vec<StrRef> = NAMES.iter().map(|n| b.add_str(n)).collect();
    let n = genes.len() as u32;
    // Pass 1: kinds.
    let kinds: Vec<u8> = genes.iter().map(|g| g.0 % 16).collect();
    let is_comp = |id: u32| id >= 1 && matches!(kinds[id as usize - 1], 5 | 6 | 7);
    let is_proto = |id: u32| id >= 1 && kinds[id as usize - 1] == 12;
    // A target for a reference from type `from`: lower, or a composite anywhere.
    let target = |from: u32, x: u16| -> TypeId {
        let x = u32::from(x);
        if x % 3 == 0 {
            let comps: Vec<u32> = (1..=n).filter(|&i| is_comp(i)).collect();
            if !comps.is_empty() {
                return TypeId(comps[(x / 3) as usize % comps.len()]);
            }
        }
        let below = from - 1;
        let t = if below == 0 { 0 } else { x % (below + 1) };
        // FUNCs are not types a reference may name.
        if t >= 1 && kinds[t as usize - 1] == 13 {
            TypeId(0)
        } else {
            TypeId(t)
        }
    };
    for (i, g) in genes.iter().enumerate() {
        let id = i as u32 + 1;
        let name = names[g.1 as usize % NAMES.len()];
        let anon = StrRef::EMPTY;
        let (t_name, data) = match kinds[i] {
            0 | 1 => (
                name,
                TypeData::Int(Int {
                    size: [1, 2, 4, 8][g.2 as usize % 4],
                    encoding: IntEncoding((g.3 % 2) as u8),
                    bit_offset: 0,
                    bits: [8, 16, 32, 64][g.2 as usize % 4],
                }),
            ),
            2 => (anon, TypeData::Ptr(target(id, g.2))),
            3 => (anon, TypeData::Const(target(id, g.2))),
            4 => (name, TypeData::Typedef(target(id, g.2))),
            5 | 6 => {
                let members = g
                    .4
                    .iter()
                    .enumerate()
                    .map(|(k, &(mn, mt))| Member {
                        name: names[mn as usize % NAMES.len()],
                        // Any id: cycles through composites are the point.
                        ty: {
                            let t = u32::from(mt) % (n + 1);
                            if t >= 1 && kinds[t as usize - 1] == 13 {
                                TypeId(0)
                            } else {
                                TypeId(t)
                            }
                        },
                        bit_offset: 32 * k as u32,
                        bitfield_size: 0,
                    })
                    .collect();
                let c = Composite {
                    size: 4 * g.4.len() as u32 + u32::from(g.3 % 2),
                    bitfield_encoding: false,
                    members,
                };
                (
                    name,
                    if kinds[i] == 5 {
                        TypeData::Struct(c)
                    } else {
                        TypeData::Union(c)
                    },
                )
            }
            7 => (
                if name.is_empty() { names[1] } else { name },
                TypeData::Fwd(Fwd {
                    union: g.2 % 4 == 0,
                }),
            ),
            8 => (
                name,
                TypeData::Enum(Enum {
                    size: 4,
                    signed: false,
                    values: g
                        .4
                        .iter()
                        .take(if g.2 % 3 == 0 { 0 } else { 4 })
                        .map(|&(vn, v)| EnumValue {
                            name: names[1 + vn as usize % 4],
                            value: u32::from(v % 4),
                        })
                        .collect(),
                }),
            ),
            9 => (
                name,
                TypeData::Enum64(Enum64 {
                    size: 8,
                    signed: false,
                    values: g
                        .4
                        .iter()
                        .take(if g.2 % 3 == 0 { 0 } else { 4 })
                        .map(|&(vn, v)| Enum64Value {
                            name: names[1 + vn as usize % 4],
                            value: u64::from(v % 4) << (g.3 % 40),
                        })
                        .collect(),
                }),
            ),
            10 => (
                anon,
                TypeData::Array(Array {
                    elem: target(id, g.2),
                    index: TypeId(0),
                    len: u32::from(g.3 % 3),
                }),
            ),
            11 => (anon, TypeData::Volatile(target(id, g.2))),
            12 => (
                anon,
                TypeData::FuncProto(FuncProto {
                    ret: target(id, g.2),
                    params: g
                        .4
                        .iter()
                        .map(|&(pn, pt)| Param {
                            name: names[pn as usize % NAMES.len()],
                            ty: target(id, pt),
                        })
                        .collect(),
                }),
            ),
            13 => {
                // A FUNC needs a FUNC_PROTO below it; otherwise this is a FLOAT.
                match (1..id).rev().find(|&p| is_proto(p)) {
                    Some(p) => (
                        names[1 + g.1 as usize % 4],
                        TypeData::Func(Func {
                            proto: TypeId(p),
                            linkage: FuncLinkage(u16::from(g.3 % 2 == 0)),
                        }),
                    ),
                    None => (anon, TypeData::Float(btf::types::Float { size: 8 })),
                }
            }
            14 => (
                anon,
                TypeData::TypeTag(TypeTag {
                    ty: target(id, g.2),
                    attribute: false,
                }),
            ),
            _ => (name, TypeData::Float(btf::types::Float { size: 4 << (g.2 % 2) })),
        };
        b.add_type(Type { name: t_name, data });
    }
    b
}

fn gene() -> impl Strategy<Value = Gene> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        prop::collection::vec((any::<u8>(), any::<u16>()), 0..4),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// A random graph, and the same graph appended to itself twice with a different graph in
    /// between (so copies meet FWDs and same-name different structs from other "CUs").
    #[test]
    fn generated_graphs(a in prop::collection::vec(gene(), 1..40), b in prop::collection::vec(gene(), 1..40)) {
        let ga = build(&a);
        let gb = build(&b);
        parity("generated", &ga);
        let mut all = Btf::new(None);
        all.append(&ga);
        all.append(&gb);
        all.append(&ga);
        parity("generated a+b+a", &all);
    }

    /// The same, split over a deduplicated base made of another graph.
    #[test]
    fn generated_split(a in prop::collection::vec(gene(), 1..30), b in prop::collection::vec(gene(), 1..30)) {
        let ga = build(&a);
        let Ok(base) = dedup_btf_flavor(&ga, Flavor::Libbpf1_7) else {
            return Ok(());
        };
        let base = Arc::new(base);
        // Split part: a copy of the base's types (refs into the copy) and another graph.
        let mut split = Btf::new(Some(base.clone()));
        let mut copy = Btf::new(None);
        copy.append(&base);
        append_own(&mut split, &copy);
        append_own(&mut split, &build(&b));
        parity("generated split", &split);
    }
}
