//! The campaign end to end: `btfsmith run` finds the seed's bug with no hint, and a campaign
//! killed with SIGKILL resumes with no finding lost or duplicated.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn signatures(out: &Path) -> BTreeSet<String> {
    let dirs = std::fs::read_dir(out.join("findings")).map(|r| r.filter_map(|e| e.ok()).collect::<Vec<_>>()).unwrap_or_default();
    let mut sigs = BTreeSet::new();
    for d in dirs {
        let name = d.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".tmp-"), "half-written finding left behind: {name}");
        let rec = harness::finding::read_record(&d.path()).unwrap();
        assert!(sigs.insert(rec.signature.clone()), "duplicate finding {}", rec.signature);
    }
    sigs
}

fn campaign_args(out: &Path) -> Vec<String> {
    // Deterministic encoders only (pahole 1.24 -j is not), so two runs must agree exactly.
    ["run", "--count", "10", "--seed", "100", "--jobs", "2", "--quiet", "--no-kernel-load", "--encoders", "btfenc,pahole-1.30", "--compilers", "gcc-12,clang-14", "--out"]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .collect()
}

#[test]
fn killed_campaign_resumes_without_losing_or_duplicating_findings() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean");
    let resumed = dir.path().join("resumed");
    let r = run(btfsmith(), &campaign_args(&clean), None);
    assert!(r.status.and_then(|s| s.code()).is_some_and(|c| c <= 1), "{}", r.stderr_text());
    let expected = signatures(&clean);

    // Start the same campaign, SIGKILL it after a few programs, then rerun it.
    let mut child = Command::new(btfsmith()).args(campaign_args(&resumed)).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let progress = resumed.join("progress.jsonl");
    let start = Instant::now();
    while std::fs::read_to_string(&progress).map(|t| t.lines().count()).unwrap_or(0) < 3 {
        assert!(start.elapsed() < Duration::from_secs(120), "campaign made no progress");
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = std::fs::read_to_string(&progress).unwrap().lines().count();
    assert!(before < 10, "the campaign finished before it could be killed ({before} programs)");

    let r = run(btfsmith(), &campaign_args(&resumed), None);
    assert!(r.status.and_then(|s| s.code()).is_some_and(|c| c <= 1), "{}", r.stderr_text());
    let records = harness::campaign::read_progress(&progress).unwrap();
    let indices: Vec<u64> = records.iter().map(|r| r.index).collect();
    let unique: BTreeSet<u64> = indices.iter().copied().collect();
    assert_eq!(unique, (0..10).collect::<BTreeSet<u64>>(), "{indices:?}");
    assert_eq!(indices.len(), 10, "a program was recorded twice: {indices:?}");
    assert_eq!(signatures(&resumed), expected);
    for f in ["report.md", "report.json", "junit.xml"] {
        assert!(resumed.join(f).exists(), "{f} missing");
    }
}

#[test]
fn a_campaign_finds_the_seed_bug_with_no_hint() {
    // The mixed policy, unguided: pahole 1.24 with a 6.1 kernel's flags must be caught on
    // same-name statics, pahole 1.30 with the kernel's flags must not, btfenc must be clean.
    // Seeds 0..11 (generator gen4): pahole 1.24 gets AMBIGUOUS or WRONG_PROTO on seeds 0, 1, 2,
    // 4, 5 and 10 under gcc 12 (a scan of seeds 0..47 found 10 such seeds; the campaign tests pin
    // gcc 12: `--compilers gcc` would also run gcc 14 and 15, 3x the builds).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let args: Vec<String> = ["run", "--count", "12", "--seed", "0", "--quiet", "--no-kernel-load", "--encoders", "btfenc,pahole-1.24,pahole-1.30/kernel", "--compilers", "gcc-12", "--out"]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .collect();
    let r = run(btfsmith(), &args, None);
    assert!(r.status.and_then(|s| s.code()).is_some_and(|c| c <= 1), "{}", r.stderr_text());
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let count = |enc: &str, kind: &str| report["counts"][enc][kind].as_u64().unwrap_or(0);
    assert!(count("pahole-1.24/kernel-6.1", "AMBIGUOUS") + count("pahole-1.24/kernel-6.1", "WRONG_PROTO") > 0, "{report:#}");
    assert_eq!(count("pahole-1.30/kernel", "AMBIGUOUS") + count("pahole-1.30/kernel", "WRONG_PROTO"), 0, "{report:#}");
    for kind in ["AMBIGUOUS", "WRONG_PROTO", "UNSAFE_OPTIMIZED", "LOAD_REJECTED", "ENCODER_CRASH", "ENCODER_FAILED", "UNREADABLE"] {
        assert_eq!(count("btfenc", kind), 0, "btfenc {kind}: {report:#}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| pahole-1.24/kernel-6.1 |"), "{md}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("<testcase classname=\"btfsmith\" name=\"pahole-1.24/kernel-6.1\"><failure"), "{junit}");

    // The report's replay commands run as printed, pasted into a shell where btfsmith is not on
    // PATH: they name the binary by the path it was started by.
    let exe = btfsmith().display().to_string();
    let replay = md
        .lines()
        .filter_map(|l| l.trim().strip_prefix('`')?.strip_suffix('`'))
        .find(|c| c.contains(" replay "))
        .unwrap_or_else(|| panic!("no replay command in report.md:\n{md}"))
        .to_string();
    assert!(replay.starts_with(&exe), "replay command does not name the binary it was run by ({exe}): {replay}");
    let r = run("sh", &["-c", &format!("PATH=/usr/bin:/bin {replay}")], None);
    assert!(r.success() && r.stdout_text().contains("CONFIRMED"), "`{replay}` pasted into sh: {:?}\n{}\n{}", r.status, r.stdout_text(), r.stderr_text());
}

#[test]
fn shards_are_disjoint_and_merge_into_the_whole_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let args = |count: &str, shard: &str, out: &Path| -> Vec<String> {
        ["run", "--count", count, "--seed", "300", "--shard", shard, "--jobs", "2", "--quiet", "--no-kernel-load", "--encoders", "btfenc,pahole-1.30", "--compilers", "gcc-12", "--out"]
            .iter()
            .map(|s| s.to_string())
            .chain([out.display().to_string()])
            .collect()
    };
    let whole = dir.path().join("whole");
    let (s0, s1, merged) = (dir.path().join("s0"), dir.path().join("s1"), dir.path().join("merged"));
    for (count, shard, out) in [("8", "0/1", &whole), ("4", "0/2", &s0), ("4", "1/2", &s1)] {
        let r = run(btfsmith(), &args(count, shard, out), None);
        assert!(r.status.and_then(|s| s.code()).is_some_and(|c| c <= 1), "{}", r.stderr_text());
    }
    let idx = |out: &Path| -> BTreeSet<u64> { harness::campaign::read_progress(&out.join("progress.jsonl")).unwrap().iter().map(|r| r.index).collect() };
    assert_eq!(idx(&s0), [0, 2, 4, 6].into_iter().collect());
    assert_eq!(idx(&s1), [1, 3, 5, 7].into_iter().collect());
    let r = run(btfsmith(), &["merge".to_string(), merged.display().to_string(), s0.display().to_string(), s1.display().to_string()], None);
    assert!(r.success(), "{}", r.stderr_text());
    assert_eq!(idx(&merged), idx(&whole));
    assert_eq!(signatures(&merged), signatures(&whole));
    // Merging a different campaign is refused.
    let other = dir.path().join("other");
    let mut a = args("1", "0/1", &other);
    a[4] = "999".into();
    run(btfsmith(), &a, None);
    let r = run(btfsmith(), &["merge".to_string(), dir.path().join("m2").display().to_string(), s0.display().to_string(), other.display().to_string()], None);
    assert_eq!(r.status.and_then(|s| s.code()), Some(2));
    assert!(r.stderr_text().contains("different campaign"), "{}", r.stderr_text());
}
