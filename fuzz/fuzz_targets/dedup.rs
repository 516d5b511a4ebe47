//! `encoder::dedup` against libbpf's own `btf__dedup` (libbpf 1.7 through libbpf-sys): any
//! difference in the result (types and ids, names resolved) or in whether it fails is a crash.
//!
//! The first byte picks the input shape:
//! - even: the rest is BTF bytes. What `btf::Btf::parse` accepts is rewritten by our writer (so
//!   both sides see the same normalized bytes: e.g. an ARRAY's unused size field is dropped) and
//!   deduplicated by both, when libbpf loads it too.
//! - odd: the rest drives a structured type graph (the parity test's builder: cycles through
//!   structs, FWDs, same-name different structs, enum forwards), appended as A + B + A, and the
//!   same graphs as split BTF over a deduplicated base. A + B + A is also deduplicated unit by
//!   unit as btfenc does (`dedup_btf_units`), which must give the whole-graph result.
#![no_main]

#[path = "../../encoder/tests/support/dedup_parity.rs"]
mod support;

use btf::Btf;
use encoder::dedup::{dedup_btf_flavor, dedup_btf_units, Flavor};
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use support::{append_own, assert_same, build, libbpf_dedup, Gene};

/// Both dedups on `b`'s bytes; panics on a difference.
fn check(label: &str, b: &Btf) {
    let Ok(raw) = b.to_bytes() else { return };
    let base_raw = match b.base() {
        Some(base) => match base.to_bytes() {
            Ok(r) => Some(r),
            Err(_) => return,
        },
        None => None,
    };
    let Ok(reparsed) = Btf::parse(&raw, b.base().cloned()) else {
        return;
    };
    let Ok(theirs) = libbpf_dedup(&raw, base_raw.as_deref()) else {
        return;
    };
    let ours = dedup_btf_flavor(&reparsed, Flavor::Libbpf1_7);
    match (theirs, ours) {
        (Err(_), Err(_)) => {}
        (Err(e), Ok(_)) => panic!("{label}: libbpf fails ({e}), ours succeeds"),
        (Ok(_), Err(e)) => panic!("{label}: libbpf succeeds, ours fails: {e}"),
        (Ok(t), Ok(o)) => {
            let t = Btf::parse(&t, b.base().cloned()).expect("libbpf's output parses");
            assert_same(label, &t, &o);
        }
    }
}

/// btfenc's way (`dedup_btf_units`: phases 2 and 3 unit by unit) against the whole graph at
/// once, strict and lenient; panics on a difference.
fn units_check(b: &Btf, units: &[u32]) {
    for strict in [true, false] {
        let whole = dedup_btf_units(b, Flavor::Upstream, strict, &[]);
        let parts = dedup_btf_units(b, Flavor::Upstream, strict, units);
        match (whole, parts) {
            (Ok((w, _)), Ok((p, _))) => assert_same("unit by unit", &w, &p),
            (Err(w), Err(p)) => assert_eq!(w.to_string(), p.to_string()),
            (w, p) => panic!("strict {strict}: whole {w:?}, unit by unit {p:?}"),
        }
    }
}

fn genes(u: &mut Unstructured<'_>, max: usize) -> ArbResult<Vec<Gene>> {
    let n = u.int_in_range(1..=max)?;
    (0..n)
        .map(|_| {
            let k = u.int_in_range(0..=4)?;
            Ok((
                u.arbitrary()?,
                u.arbitrary()?,
                u.arbitrary()?,
                u.arbitrary()?,
                (0..k)
                    .map(|_| Ok((u.arbitrary()?, u.arbitrary()?)))
                    .collect::<ArbResult<Vec<_>>>()?,
            ))
        })
        .collect()
}

fn structured(data: &[u8]) -> ArbResult<()> {
    let mut u = Unstructured::new(data);
    let a = build(&genes(&mut u, 48)?);
    let b = build(&genes(&mut u, 48)?);
    check("graph a", &a);
    let mut all = Btf::new(None);
    let mut units = Vec::new();
    for g in [&a, &b, &a] {
        units.push(all.type_count());
        all.append(g);
    }
    check("graphs a+b+a", &all);
    units_check(&all, &units);
    if let Ok(base) = dedup_btf_flavor(&a, Flavor::Libbpf1_7) {
        let base = Arc::new(base);
        let mut copy = Btf::new(None);
        copy.append(&base);
        let mut split = Btf::new(Some(base));
        append_own(&mut split, &copy);
        append_own(&mut split, &b);
        check("split copy+b over dedup(a)", &split);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(b) = Btf::parse(rest, None) {
            check("bytes", &b);
        }
    } else {
        let _ = structured(rest);
    }
});
