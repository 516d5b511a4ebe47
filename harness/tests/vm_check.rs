//! `btfsmith check --runtime` and `btfsmith replay` of its findings, end to end in the guest
//! (Debian 6.12 under qemu TCG): a user's own module with two same-name statics of different
//! prototypes. pahole 1.24 keeps both FUNCs; fentry by the second one's id runs in the first
//! `dup_fn` (kallsyms' first match): a WRONG_FUNCTION finding, a self-contained directory that
//! `btfsmith replay` confirms by rebuilding, re-encoding and booting again. btfenc describes
//! neither `dup_fn` (MISSED) and misleads nobody. `--ko` judges a module built elsewhere.
//!
//! pahole 1.24 runs as a 6.1 kernel runs it, with `-j`: each thread encodes its CUs with its own
//! table of names, so both `dup_fn` get a FUNC (20 of 20 runs here); serially it keeps only the
//! first CU's, which is also the one kallsyms finds (no finding). Thread timing could still give
//! one FUNC, so the check is tried up to three times, and replay encodes three times.
//!
//! Needs the kernel, qemu, busybox and pahole 1.24: a missing one fails the test naming `ci/setup`.

mod common;

use std::path::Path;
use std::time::Duration;

// The corpus case's own sources (`corpus/runtime-same-name-statics`): one copy of them.
const A_C: &str = include_str!("../../corpus/runtime-same-name-statics/a.c");
const B_C: &str = include_str!("../../corpus/runtime-same-name-statics/b.c");

fn btfsmith(args: &[&str], dir: &Path) -> (i32, String) {
    let cmd = harness::process::command(common::btfsmith(), args, Some(dir));
    let res = harness::process::run(cmd, Duration::from_secs(900)).unwrap();
    let text = format!("{}\n{}", res.stdout_text(), res.stderr_text());
    (res.status.and_then(|s| s.code()).unwrap_or(-1), text)
}

fn findings(dir: &Path) -> Vec<harness::finding::FindingRecord> {
    let mut v: Vec<_> = std::fs::read_dir(dir).map(|r| r.filter_map(|e| harness::finding::read_record(&e.unwrap().path()).ok()).collect()).unwrap_or_default();
    v.sort_by(|a: &harness::finding::FindingRecord, b| a.signature.cmp(&b.signature));
    v
}

#[test]
fn check_runtime_finds_a_wrong_function_that_replay_confirms() {
    harness::vm::guest::GuestEnv::discover().unwrap_or_else(|e| panic!("{e:#} (install it with `ci/setup`)"));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("a.c"), A_C).unwrap();
    std::fs::write(d.join("b.c"), B_C).unwrap();
    let encoders = "pahole-1.24/kernel-6.1,btfenc";
    let mut attempts = Vec::new();
    let found = loop {
        let _ = std::fs::remove_dir_all(d.join("out"));
        let (code, text) = btfsmith(&["check", "--runtime", "--encoders", encoders, "--out", "out", "a.c", "b.c"], d);
        let found = findings(&d.join("out/findings"));
        attempts.push(text.clone());
        if code == 1 || attempts.len() == 3 {
            assert_eq!(code, 1, "a finding is exit 1 (pahole 1.24 kept one dup_fn in {} runs):\n{}", attempts.len(), attempts.join("\n---\n"));
            break found;
        }
    };
    let text = attempts.last().cloned().unwrap_or_default();
    let sigs: Vec<&str> = found.iter().map(|f| f.signature.as_str()).collect();
    let wrong: Vec<_> = found.iter().filter(|f| f.verdict.kind == harness::oracle::VerdictKind::WrongFunction).collect();
    assert_eq!(wrong.len(), 1, "{sigs:?}\n{text}");
    let w = wrong[0];
    assert_eq!(w.verdict.encoder, "pahole-1.24/kernel-6.1");
    assert_eq!(w.verdict.function.as_deref(), Some("dup_fn"));
    assert_eq!(w.verdict.evidence, "runtime:other-instance");
    assert!(w.verdict.detail.contains("a.c") && w.verdict.detail.contains("b.c"), "names both instances: {}", w.verdict.detail);
    // btfenc: no finding at all; dup_fn is MISSED (no FUNC can describe both).
    assert!(!found.iter().any(|f| f.verdict.encoder == "btfenc"), "{sigs:?}");
    assert!(text.contains("MISSED [runtime:no-func] btfenc (kbuild gcc -O2) dup_fn"), "{text}");
    assert!(text.contains("SAFE pahole-1.24/kernel-6.1: "), "bs_run_b and the trigger read right: {text}");
    assert!(text.contains("SAFE btfenc: "), "{text}");

    // The finding is self-contained: sources, build script, boot script, the module the guest
    // loaded; replaying it (rebuild, re-encode, boot) confirms it, from another directory.
    let fdir = std::fs::read_dir(d.join("out/findings")).unwrap().map(|e| e.unwrap().path()).find(|p| harness::finding::read_record(p).is_ok_and(|r| r.signature == w.signature)).unwrap();
    for f in ["src/a.c", "src/b.c", "src/bs_main.c", "build.sh", "boot.sh", "diff.txt", "outputs/facts.json", "outputs/guest.json"] {
        assert!(fdir.join(f).exists(), "{} lacks {f}", fdir.display());
    }
    let moved = d.join("moved");
    std::fs::rename(&fdir, &moved).unwrap();
    let (code, text) = btfsmith(&["replay", moved.to_str().unwrap()], Path::new("/"));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("CONFIRMED"), "{text}");
    // build.sh alone rebuilds the module and embeds the same kind of BTF.
    let res = common::run("sh", &[moved.join("build.sh").to_str().unwrap()], None);
    assert!(res.success(), "build.sh failed: {}", res.stderr_text());

    // A module built elsewhere: the same .ko through --ko finds the same WRONG_FUNCTION (the
    // trigger is in the module; there is no argument ground truth, and none is needed for it).
    let ko = d.join("out/case/build/bscheck_00.ko");
    let prebuilt = d.join("mymod.ko");
    std::fs::copy(&ko, &prebuilt).unwrap();
    let (code, text) = btfsmith(&["check", "--ko", prebuilt.to_str().unwrap(), "--encoders", encoders, "--out", "out-ko"], d);
    assert_eq!(code, 1, "{text}");
    let found = findings(&d.join("out-ko/findings"));
    assert!(found.iter().any(|f| f.verdict.kind == harness::oracle::VerdictKind::WrongFunction && f.verdict.encoder == "pahole-1.24/kernel-6.1" && f.module.as_ref().is_some_and(|m| m.prebuilt.is_some())), "{text}");
    assert!(!found.iter().any(|f| f.verdict.encoder == "btfenc"), "{text}");
}

/// A runtime finding of a generated module shrinks while the kernel still shows it: every
/// candidate is built as a module and booted. pahole 1.30 without consistent_func keeps one FUNC
/// for seed 1's two `dup5` (deterministically), and fentry enters the other one.
#[test]
fn a_runtime_finding_minimizes_and_its_corpus_entry_replays() {
    harness::vm::guest::GuestEnv::discover().unwrap_or_else(|e| panic!("{e:#} (install it with `ci/setup`)"));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (code, text) = btfsmith(&["vm", "--count", "1", "--seed", "1", "--encoders", "pahole-1.30/no-consistent_func", "--out", "vm"], d);
    assert_eq!(code, 1, "{text}");
    let found = std::fs::read_dir(d.join("vm/findings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| harness::finding::read_record(p).is_ok_and(|r| r.verdict.kind == harness::oracle::VerdictKind::WrongFunction))
        .unwrap_or_else(|| panic!("no WRONG_FUNCTION finding:\n{text}"));
    let rec = harness::finding::read_record(&found).unwrap();
    assert_eq!(rec.seed, Some(1));
    assert!(rec.module.as_ref().is_some_and(|m| !m.expected.calls.is_empty()), "the generated module's ground truth is recorded");

    let (code, text) = btfsmith(&["minimize", found.to_str().unwrap(), "--minutes", "1", "--quiet", "--out", "min"], d);
    assert_eq!(code, 0, "{text}");
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("min/minimize.json")).unwrap()).unwrap();
    assert!(m["after"]["lines"].as_u64() <= m["before"]["lines"].as_u64(), "{m}");
    assert!(m["steps"].as_u64().unwrap() >= 1, "{m}");
    let case = std::fs::read_to_string(d.join("min/corpus-entry/CASE")).unwrap();
    assert!(case.contains("runtime: module") && case.contains("has WRONG_FUNCTION"), "{case}");
    // The entry and the minimized finding reproduce on their own.
    let (code, text) = btfsmith(&["replay", d.join("min/corpus-entry").to_str().unwrap()], d);
    assert_eq!(code, 0, "{text}");
    let (code, text) = btfsmith(&["replay", d.join("min/finding").to_str().unwrap()], d);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("CONFIRMED") && text.contains("WRONG_FUNCTION"), "{text}");
}

/// `btfsmith run --runtime`: the campaign's static verdicts and the runtime oracle's on the same
/// seeds end in one findings directory and one report.md / report.json / junit.xml.
#[test]
fn run_runtime_writes_one_report_with_every_verdict() {
    harness::vm::guest::GuestEnv::discover().unwrap_or_else(|e| panic!("{e:#} (install it with `ci/setup`)"));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (code, text) = btfsmith(&["run", "--count", "1", "--seed", "1", "--runtime", "--quiet", "--compilers", "gcc-12", "--encoders", "btfenc,pahole-1.30/no-consistent_func", "--out", "out"], d);
    assert_eq!(code, 1, "{text}");
    let found = findings(&d.join("out/findings"));
    let runtime: Vec<_> = found.iter().filter(|f| f.verdict.oracle == "runtime").collect();
    let statics: Vec<_> = found.iter().filter(|f| f.verdict.oracle != "runtime").collect();
    assert!(runtime.iter().any(|f| f.verdict.kind == harness::oracle::VerdictKind::WrongFunction && f.verdict.encoder == "pahole-1.30/no-consistent_func"), "{text}");
    assert!(!statics.is_empty(), "{text}");
    assert!(!found.iter().any(|f| f.verdict.encoder.starts_with("btfenc") && f.verdict.kind.is_unsafe()), "{text}");
    let md = std::fs::read_to_string(d.join("out/report.md")).unwrap();
    assert!(md.contains("### Runtime oracle: 1 kernel modules") && md.contains("WRONG_FUNCTION"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("out/report.json")).unwrap()).unwrap();
    assert!(json["runtime"]["counts"]["pahole-1.30/no-consistent_func"]["WRONG_FUNCTION"].as_u64() >= Some(1), "{json}");
    assert!(json["findings"].as_array().unwrap().iter().any(|f| f["kind"] == "WRONG_FUNCTION"), "{json}");
    let junit = std::fs::read_to_string(d.join("out/junit.xml")).unwrap();
    assert!(junit.lines().any(|l| l.contains("pahole-1.30/no-consistent_func") && l.contains("WRONG_FUNCTION=")), "{junit}");
}

/// fexit and the return value: in seeds 1..3 of the `clang-signature` policy, functions whose
/// result no caller uses (`deadret*`) are called through gcc -O2 IPA-SRA clones (`deadret6.isra.0`)
/// that return nothing. btfenc with true_signature names a FUNC after such a clone; it used to
/// give it the source return type (`unsigned char`), and an fexit program read a leftover %rax
/// (WRONG_RETURN, `runtime:return-dropped`). It now claims `void` for every `.isra` clone (DWARF
/// does not say whether the return was removed): the clone's FUNC is attached, SAFE, its return
/// never judged, and no FUNC of either btfenc configuration reads a wrong return value. The
/// FUNCs whose functions log their returns read them right at fexit.
#[test]
fn vm_btfenc_claims_no_dropped_return_value_and_reads_the_others_right() {
    use harness::oracle::{Verdict, VerdictKind};
    harness::vm::guest::GuestEnv::discover().unwrap_or_else(|e| panic!("{e:#} (install it with `ci/setup`)"));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (_code, text) = btfsmith(&["vm", "--policy", "clang-signature", "--count", "3", "--seed", "1", "--encoders", "btfenc", "--out", "vm"], d);
    let verdicts: Vec<(String, Verdict)> = std::fs::read_to_string(d.join("vm/verdicts.jsonl"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["case"].as_str().unwrap().to_string(), serde_json::from_value(v).unwrap())
        })
        .collect();
    let wrong: Vec<&(String, Verdict)> = verdicts.iter().filter(|(_, v)| v.kind == VerdictKind::WrongReturn).collect();
    assert!(wrong.is_empty(), "{wrong:#?}\n{text}");
    let clone = verdicts
        .iter()
        .find(|(case, v)| case == "seed-1" && v.encoder == "btfenc+true_signature" && v.function.as_deref() == Some("deadret6.isra.0"))
        .unwrap_or_else(|| panic!("no verdict about btfenc+true_signature's deadret6.isra.0\n{text}"));
    assert_eq!(clone.1.kind, VerdictKind::Safe, "{:#?}", clone.1);
    assert!(clone.1.detail.contains("] void deadret6.isra.0("), "{}", clone.1.detail);
    let found = findings(&d.join("vm/findings"));
    let sigs: Vec<&str> = found.iter().map(|f| f.signature.as_str()).collect();
    assert!(!found.iter().any(|f| f.verdict.kind == VerdictKind::WrongReturn), "{sigs:?}");
    assert!(!found.iter().any(|f| f.verdict.encoder == "btfenc"), "{sigs:?}");

    // The return values were compared, not skipped: btfenc FUNCs of functions that log their
    // returns are SAFE with the return value read right (none of them claims void).
    let read_right: Vec<&Verdict> = verdicts.iter().map(|(_, v)| v).filter(|v| v.encoder == "btfenc" && v.detail.contains("return value read right")).collect();
    assert!(!read_right.is_empty(), "{:#?}", verdicts.iter().filter(|(_, v)| v.encoder == "btfenc").collect::<Vec<_>>());
    assert!(read_right.iter().all(|v| v.kind == VerdictKind::Safe && !v.detail.contains("] void ")), "{read_right:#?}");
}

/// The failing side of the by-value struct comparison, end to end: seed 1 of the
/// `struct-by-value` policy calls `sbv11(struct s10 p0)` (two `unsigned long` members, 16 bytes,
/// two argument slots) once. Judged against its own ground truth, btfenc reads it right (nothing
/// is a finding); against a ground truth whose member `m1` is off by one, the same reading is
/// WRONG_ARGS for `sbv11` only, and the detail shows both sides.
#[test]
fn a_struct_argument_that_differs_from_the_ground_truth_is_wrong_args() {
    use harness::oracle::VerdictKind;
    harness::vm::guest::GuestEnv::discover().unwrap_or_else(|e| panic!("{e:#} (install it with `ci/setup`)"));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (code, text) = btfsmith(&["gen", "--policy", "struct-by-value", "--flavour", "module", "--seed", "1", "--out", "g"], d);
    assert_eq!(code, 0, "{text}");
    let g = d.join("g");
    let sources = ["tu0.c", "tu1.c", "tu2.c", "main.c"];
    assert!(std::fs::read_to_string(g.join("prog.h")).unwrap().contains("struct s10 {\n\tunsigned long long m0;\n\tunsigned long m1;\n};"), "the generator changed: pick another struct");
    let check = |out: &str| btfsmith(&[&["check", "--runtime", "--encoders", "btfenc", "--out", out][..], &sources[..]].concat(), &g);

    let (code, text) = check("right");
    assert_eq!(code, 0, "btfenc reads every recorded argument right:\n{text}");

    let truth_path = g.join("ground_truth.json");
    let mut truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&truth_path).unwrap()).unwrap();
    let mut changed = 0;
    for call in truth["calls"].as_array_mut().unwrap().iter_mut().filter(|c| c["name"] == "sbv11") {
        for member in call["args"][0]["value"].as_array_mut().unwrap() {
            if member[0] == "m1" {
                let v = member[1]["value"].as_i64().unwrap();
                member[1]["value"] = serde_json::json!(v + 1);
                changed += 1;
            }
        }
    }
    assert_eq!(changed, 1, "{truth}");
    std::fs::write(&truth_path, serde_json::to_string_pretty(&truth).unwrap()).unwrap();
    let (code, text) = check("wrong");
    assert_eq!(code, 1, "{text}");
    let found = findings(&g.join("wrong/findings"));
    let sigs: Vec<String> = found.iter().map(|f| format!("{} {:?}", f.signature, f.verdict.function)).collect();
    assert!(!found.is_empty() && found.iter().all(|f| f.verdict.kind == VerdictKind::WrongArgs && f.verdict.function.as_deref() == Some("sbv11")), "{sigs:?}\n{text}");
    let detail = &found[0].verdict.detail;
    assert!(detail.contains("unsigned int sbv11(struct s10 p0)") && detail.contains(".m1 = 10}") && detail.contains("0x9)"), "{detail}");
}

/// The failing side of the return-value comparison, end to end: seed 3 of the `clang-signature`
/// policy calls two functions that log what they return twice each, `promo8` (`unsigned int`,
/// log id 0) and `addr9` (`int`, log id 1). The module is built with a `BS_RET` that logs one
/// more than `promo8` returns (what it returns is untouched), so the guest's fexit reads
/// `promo8`'s real %rax and the judge compares it with a log that disagrees: WRONG_RETURN,
/// `runtime:return-misread`, for `promo8` only. `addr9`, logged as generated in the same run,
/// reads right (SAFE).
#[test]
fn a_return_value_that_differs_from_the_logged_one_is_wrong_return() {
    use harness::oracle::VerdictKind;
    harness::vm::guest::GuestEnv::discover().unwrap_or_else(|e| panic!("{e:#} (install it with `ci/setup`)"));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (code, text) = btfsmith(&["gen", "--policy", "clang-signature", "--flavour", "module", "--seed", "3", "--out", "g"], d);
    assert_eq!(code, 0, "{text}");
    let g = d.join("g");
    let read = |f: &str| std::fs::read_to_string(g.join(f)).unwrap();
    let tu0 = read("tu0.c");
    let generator_changed = "the generator changed: pick other functions";
    assert!(tu0.contains("unsigned int promo8(") && tu0.contains("return BS_RET(0, (unsigned int)(acc));"), "{generator_changed}");
    assert!(tu0.contains(" int addr9(") && tu0.contains("return BS_RET(1, (int)(acc));"), "{generator_changed}");
    // Only the log is off, and only for id 0: every function computes and returns what it did.
    let logged = "bs_ret_record((id), (bs_u64)bs_rv);";
    let header = read("prog.h");
    assert_eq!(header.matches(logged).count(), 1, "{generator_changed}");
    std::fs::write(g.join("prog.h"), header.replace(logged, "bs_ret_record((id), (bs_u64)bs_rv + ((id) == 0));")).unwrap();

    // In-process rather than through the CLI, which prints findings only: the SAFE verdict and
    // its "return value read right" are part of what is asserted.
    let tc = harness::toolchains::Toolchains::load().unwrap();
    let matrix = harness::config::Matrix::resolve(&harness::config::Config::builtin(), &tc, &["btfenc".into()], &[]).unwrap_or_else(|e| panic!("{e:#}"));
    let files: Vec<std::path::PathBuf> = ["tu0.c", "tu1.c", "main.c"].iter().map(|f| g.join(f)).collect();
    let verdicts = harness::check::check_runtime(harness::check::RuntimeInput::Sources(&files), &matrix, &d.join("out")).unwrap_or_else(|e| panic!("{e:#}"));

    let encoders: std::collections::BTreeSet<&str> = verdicts.iter().map(|v| v.encoder.as_str()).collect();
    assert!(encoders.contains("btfenc"), "{verdicts:#?}");
    for enc in encoders {
        let of = |f: &str| verdicts.iter().find(|v| v.encoder == enc && v.function.as_deref() == Some(f)).unwrap_or_else(|| panic!("{enc}: no verdict about {f}\n{verdicts:#?}"));
        let wrong = of("promo8");
        assert_eq!((wrong.kind, wrong.evidence.as_str()), (VerdictKind::WrongReturn, "runtime:return-misread"), "{enc}: {wrong:#?}");
        assert!(wrong.detail.contains("unsigned int promo8("), "{}", wrong.detail);
        // What fexit read is what promo8 returned: one less than a value its log shows.
        let rax = wrong.detail.split("the tracer read %rax = 0x").nth(1).and_then(|t| t.split(' ').next()).and_then(|h| u64::from_str_radix(h, 16).ok());
        let log = wrong.detail.split("(its log, same trigger) ").nth(1).and_then(|t| t.lines().next()).unwrap_or_default();
        assert!(rax.is_some_and(|r| log.split(", ").any(|w| w == format!("{:#x}", r + 1))), "{enc}: {}", wrong.detail);
        let right = of("addr9");
        assert_eq!(right.kind, VerdictKind::Safe, "{enc}: {right:#?}");
        assert!(right.detail.contains("return value read right (2 hit(s))"), "{enc}: {}", right.detail);
        let others: Vec<_> = verdicts.iter().filter(|v| v.encoder == enc && v.kind.is_finding() && v.function.as_deref() != Some("promo8")).collect();
        assert!(others.is_empty(), "{enc}: {others:#?}");
    }
}
