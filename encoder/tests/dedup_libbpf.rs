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
#[path = "support/dedup_parity.rs"]
mod support;

use btf::types::*;
use btf::{Btf, TypeData, TypeId};
use encoder::dedup::{dedup_btf_flavor, dedup_btf_units, Flavor};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use support::{append_own, assert_same, build, libbpf_dedup, Gene};

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
    let theirs = libbpf_dedup(&raw, base_raw.as_deref()).expect("libbpf loads the input");
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
        src.type_by_id(id)
            .expect("id")
            .data
            .for_each_ref(|r| stack.push(r));
    }
    let first = dst.type_count();
    let map: HashMap<u32, u32> = seen
        .iter()
        .enumerate()
        .map(|(k, &id)| (id, first + k as u32))
        .collect();
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
        t.data
            .map_refs(|r| TypeId(if r.0 == 0 { 0 } else { map[&r.0] }));
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
        for e in
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}: run ci/setup", d.display()))
        {
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
        let fwds: BTreeSet<String> = ["net_device", "mm_struct"]
            .into_iter()
            .map(String::from)
            .collect();
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
    let theirs = libbpf_dedup(&raw, None).expect("libbpf loads it");
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
            for raw in [
                common::btfenc_detached(&o, &[]),
                common::pahole_detached(&o),
            ] {
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

/// One-off: `BTFSMITH_BTF_LOAD=out.btf cargo test --release -p encoder --test dedup_libbpf --
/// --ignored kernel_accepts` loads a raw BTF file into the running kernel (BPF_BTF_LOAD, needs
/// CAP_BPF) and fails with the verifier's log when the kernel rejects it.
#[test]
#[ignore = "needs BTFSMITH_BTF_LOAD and CAP_BPF"]
fn kernel_accepts() {
    let path = std::env::var("BTFSMITH_BTF_LOAD").expect("set BTFSMITH_BTF_LOAD");
    let raw = std::fs::read(&path).unwrap();
    let mut log = vec![0u8; 16 << 20];
    // SAFETY: opts is zeroed with its size set (libbpf's OPTS convention); log is a live buffer
    // of log_size bytes for the duration of the call; the fd returned is closed once.
    let fd = unsafe {
        let mut opts: libbpf_sys::bpf_btf_load_opts = std::mem::zeroed();
        opts.sz = std::mem::size_of::<libbpf_sys::bpf_btf_load_opts>() as _;
        opts.log_buf = log.as_mut_ptr().cast();
        opts.log_size = log.len() as u32;
        opts.log_level = 1;
        libbpf_sys::bpf_btf_load(raw.as_ptr().cast(), raw.len() as _, &mut opts)
    };
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    assert!(
        fd >= 0,
        "{path}: BPF_BTF_LOAD failed ({fd}):\n{}",
        text.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    // SAFETY: fd is a descriptor this test owns; dropping the OwnedFd closes it once.
    drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
    println!("{path}: loaded by the kernel ({} bytes)", raw.len());
}

// ---- unit by unit ----
//
// btfenc runs phases 2 and 3 on each unit as the walk hands it over (`dedup::Incremental`);
// the result must be the whole-graph run's whatever the units hold, including where the
// candidate table's order decides (then the incremental run gives up and starts over).

/// Deduplicates `input` whole and unit by unit (units start at `units`), strict and lenient,
/// and asserts the same output; returns why the lenient unit-by-unit run gave up, if it did.
fn same_unit_by_unit(label: &str, input: &Btf, units: &[u32]) -> Option<&'static str> {
    let mut why = None;
    for strict in [true, false] {
        let whole = dedup_btf_units(input, Flavor::Upstream, strict, &[]);
        let parts = dedup_btf_units(input, Flavor::Upstream, strict, units);
        match (whole, parts) {
            (Ok((whole, _)), Ok((parts, w))) => {
                assert_same(&format!("{label} (strict {strict})"), &whole, &parts);
                why = w;
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{label}"),
            (a, b) => panic!("{label} (strict {strict}): whole {a:?}, unit by unit {b:?}"),
        }
    }
    why
}

/// `parts` appended one after the other, and where each starts.
fn units_of(parts: &[&Btf]) -> (Btf, Vec<u32>) {
    let mut all = Btf::new(None);
    let mut starts = Vec::new();
    for p in parts {
        starts.push(all.type_count());
        all.append(p);
    }
    (all, starts)
}

#[test]
fn kernel_slices_unit_by_unit() {
    let v = vmlinux();
    // Units that see overlapping parts of the kernel, some structs only declared (as CUs do):
    // nothing for the table's order to decide, so the whole run is incremental.
    let pick = |names: &[&str], fwd: &[&str]| {
        let mut b = Btf::new(None);
        let fwd: BTreeSet<String> = fwd.iter().map(|s| s.to_string()).collect();
        copy_closure(&mut b, &v, &structs_named(&v, names), &fwd);
        b
    };
    let a = pick(&["task_struct", "file"], &["sk_buff", "net_device", "inode", "page"]);
    let b = pick(&["sk_buff", "file", "bpf_prog"], &[]);
    let c = pick(&["net_device", "inode"], &["task_struct", "file", "bpf_prog"]);
    let (all, starts) = units_of(&[&a, &b, &c, &a, &b]);
    let why = same_unit_by_unit("kernel slices", &all, &starts);
    assert_eq!(why, None, "the incremental run gave up");
    let (twice, starts) = units_of(&[&v, &a, &v]);
    same_unit_by_unit("vmlinux, a slice, vmlinux", &twice, &starts);
}

/// Unit 1 and unit 2 each define `enum e` with other values, unit 3 only declares it: the
/// declaration merges into whichever definition comes first in the candidate table. Between
/// them, `pad` structs in unit 2 grow the table (the whole-graph run has not added them when
/// unit 3's enum is looked up; the incremental run has), so for some `pad` the two runs see the
/// definitions in opposite orders.
fn enum_declared_after_two_definitions(pad: u32) -> (Btf, Vec<u32>) {
    let unit = |values: &[u32], pad: u32| {
        let mut b = Btf::new(None);
        let (e, x) = (b.add_str("e"), b.add_str("x"));
        let int = b.add_str("int");
        let values: Vec<EnumValue> =
            values.iter().map(|&value| EnumValue { name: x, value }).collect();
        let declared = values.is_empty();
        let en = b.add_type(Type {
            name: e,
            data: TypeData::Enum(Enum { size: 4, signed: false, values }),
        });
        // Something that refers to the declaration, so the output shows where it went.
        if declared {
            let te = b.add_str("te");
            b.add_type(Type { name: te, data: TypeData::Typedef(en) });
        }
        let i = b.add_type(Type {
            name: int,
            data: TypeData::Int(Int { size: 4, encoding: IntEncoding::SIGNED, bit_offset: 0, bits: 32 }),
        });
        for k in 0..pad {
            let name = b.add_str(&format!("pad{k}"));
            let m = b.add_str("m");
            b.add_type(Type {
                name,
                data: TypeData::Struct(Composite {
                    size: 4,
                    bitfield_encoding: false,
                    members: vec![Member { name: m, ty: i, bit_offset: 0, bitfield_size: 0 }],
                }),
            });
        }
        b
    };
    units_of(&[&unit(&[1], 0), &unit(&[2], pad), &unit(&[], 0)])
}

#[test]
fn enum_order_gives_the_incremental_run_up() {
    for pad in 0..12 {
        let (all, starts) = enum_declared_after_two_definitions(pad);
        let why = same_unit_by_unit(&format!("enum after {pad} structs"), &all, &starts);
        assert_eq!(why, Some("a decision that depends on the candidate order"), "pad {pad}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random graphs as units, repeated and interleaved so that copies meet FWDs, same-name
    /// structs of other units and enums with and without values.
    #[test]
    fn generated_unit_by_unit(a in prop::collection::vec(gene(), 1..40), b in prop::collection::vec(gene(), 1..40), c in prop::collection::vec(gene(), 1..20)) {
        let (ga, gb, gc) = (build(&a), build(&b), build(&c));
        let (all, starts) = units_of(&[&ga, &gb, &ga, &gc, &gb, &ga]);
        same_unit_by_unit("generated units", &all, &starts);
    }
}
