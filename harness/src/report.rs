//! Reports of a campaign directory: Markdown summary, JSON, and JUnit XML for CI.
//! Everything is recomputed from `progress.jsonl` and `findings/`, so a resumed campaign reports
//! its whole history.

use crate::campaign::{read_progress, CampaignSpec, ProgramRecord};
use crate::finding::{read_record, FindingRecord};
use crate::names::{CompilerName, EncoderName};
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The JSON report (`report.json`).
#[derive(Debug, Serialize)]
pub struct Report {
    /// Programs judged.
    pub programs: u64,
    /// Builds that failed to compile.
    pub build_errors: u64,
    /// encoder → verdict kind → count.
    pub counts: BTreeMap<EncoderName, BTreeMap<String, u64>>,
    /// MISSED rate denominators: safely encodable functions × encoders, summed.
    pub missed_candidates: u64,
    /// Summed subprocess seconds.
    pub tool_seconds: f64,
    /// Summed per-program wall seconds.
    pub wall_seconds: f64,
    /// Distinct findings (static and runtime).
    pub findings: Vec<FindingSummary>,
    /// The runtime oracle's counts, when `btfsmith run --runtime` ran it (`vm/runtime.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<crate::vm_campaign::RuntimeCounts>,
}

/// One finding in the report.
#[derive(Debug, Serialize)]
pub struct FindingSummary {
    /// Its signature.
    pub signature: String,
    /// Directory.
    pub dir: String,
    /// Verdict kind.
    pub kind: String,
    /// Encoder configuration.
    pub encoder: EncoderName,
    /// Compiler setup.
    pub compiler: CompilerName,
    /// Function, if any.
    pub function: Option<String>,
    /// First line of the detail.
    pub summary: String,
    /// The mechanism its evidence shows (the phenomenon for findings written before there was
    /// one).
    pub mechanism: String,
    /// Further examples of the same signature (at most two more), each a self-contained
    /// reproducer directory.
    pub examples: Vec<ExampleSummary>,
    /// The machine-code check of a register-level verdict (`confirmation.json`), if one ran.
    pub confirmation: Option<crate::confirm::Confirmation>,
}

/// A further example of a finding.
#[derive(Debug, Serialize)]
pub struct ExampleSummary {
    /// Directory.
    pub dir: String,
    /// Compiler setup.
    pub compiler: CompilerName,
    /// Function, if any.
    pub function: Option<String>,
    /// Generator seed, for generated programs.
    pub seed: Option<u64>,
    /// First line of the detail.
    pub summary: String,
}

impl Report {
    /// Findings confirmed, refuted and unconfirmable by the machine-code check.
    pub fn confirmations(&self) -> (usize, usize, usize) {
        use crate::confirm::Status;
        let count = |st: Status| self.findings.iter().filter(|f| f.confirmation.as_ref().is_some_and(|c| c.status == st)).count();
        (count(Status::Confirmed), count(Status::Refuted), count(Status::Unconfirmable))
    }
}

/// Builds the report of `out_dir`.
pub fn build(out_dir: &Path) -> Result<Report> {
    let records: Vec<ProgramRecord> = read_progress(&out_dir.join("progress.jsonl"))?;
    let mut counts: BTreeMap<EncoderName, BTreeMap<String, u64>> = BTreeMap::new();
    for r in &records {
        for (enc, kinds) in &r.counts {
            for (kind, c) in kinds {
                *counts.entry(enc.clone()).or_default().entry(kind.to_string()).or_default() += c;
            }
        }
    }
    let mut findings = Vec::new();
    if let Ok(entries) = std::fs::read_dir(out_dir.join("findings")) {
        let mut dirs: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        dirs.sort();
        for d in dirs {
            let Ok(FindingRecord { signature, verdict, .. }) = read_record(&d) else { continue };
            let examples = crate::finding::example_dirs(&d)
                .iter()
                .filter_map(|e| {
                    let r = read_record(e).ok()?;
                    Some(ExampleSummary {
                        dir: e.display().to_string(),
                        compiler: r.verdict.compiler,
                        function: r.verdict.function,
                        seed: r.seed,
                        summary: r.verdict.detail.lines().next().unwrap_or("").to_string(),
                    })
                })
                .collect();
            findings.push(FindingSummary {
                signature,
                dir: d.display().to_string(),
                kind: verdict.kind.to_string(),
                encoder: verdict.encoder,
                compiler: verdict.compiler,
                function: verdict.function,
                summary: verdict.detail.lines().next().unwrap_or("").to_string(),
                mechanism: if verdict.evidence.is_empty() { verdict.phenomenon.to_string() } else { verdict.evidence },
                examples,
                confirmation: std::fs::read_to_string(d.join("confirmation.json")).ok().and_then(|t| serde_json::from_str(&t).ok()),
            });
        }
    }
    Ok(Report {
        programs: records.len() as u64,
        build_errors: records.iter().map(|r| r.build_errors.len() as u64).sum(),
        counts,
        missed_candidates: records.iter().map(|r| r.candidates).sum(),
        tool_seconds: records.iter().map(|r| r.tool_seconds).sum(),
        wall_seconds: records.iter().map(|r| r.wall_seconds).sum(),
        findings,
        runtime: crate::vm_campaign::read_counts(&out_dir.join("vm")),
    })
}

/// The Markdown summary: configuration × verdict table, then the findings.
pub fn markdown(report: &Report, spec: Option<&CampaignSpec>) -> String {
    let kinds: BTreeSet<&str> = report.counts.values().flat_map(|m| m.keys().map(String::as_str)).collect();
    let mut s = String::from("# btfsmith campaign\n\n");
    if let Some(spec) = spec {
        let compilers: Vec<&str> = spec.matrix.compilers.iter().map(|c| c.name.as_str()).collect();
        s.push_str(&format!("seed {} · policy `{}` · shard {}/{} · compilers: {}\n\n", spec.seed, spec.policy, spec.shard.0, spec.shard.1, compilers.join(", ")));
    }
    s.push_str(&format!("{} programs, {} build errors, {} distinct findings.\n\n", report.programs, report.build_errors, report.findings.len()));
    s.push_str("| configuration |");
    for k in &kinds {
        s.push_str(&format!(" {k} |"));
    }
    s.push_str("\n|---|");
    for _ in &kinds {
        s.push_str("---|");
    }
    s.push('\n');
    let mut encoders: Vec<&EncoderName> = report.counts.keys().collect();
    if let Some(spec) = spec {
        encoders = spec.matrix.encoders.iter().map(|e| &e.config.name).filter(|n| report.counts.contains_key(*n)).collect();
        for e in &spec.matrix.encoders {
            if !report.counts.contains_key(&e.config.name) {
                s.push_str(&format!("| {} |{}\n", e.config.name, " 0 |".repeat(kinds.len())));
            }
        }
    }
    for enc in encoders {
        s.push_str(&format!("| {enc} |"));
        for k in &kinds {
            s.push_str(&format!(" {} |", report.counts[enc].get(*k).copied().unwrap_or(0)));
        }
        s.push('\n');
    }
    if report.missed_candidates > 0 {
        s.push_str(&format!("\nMISSED is a rate: out of {} (function, configuration) pairs that could be encoded safely.\n", report.missed_candidates));
    }
    if let Some(rt) = &report.runtime {
        // Per FUNC of each module, judged in the guest: its own table, not summed with the
        // static counts (which are per build).
        let kinds: BTreeSet<&str> = rt.counts.values().flat_map(|m| m.keys().map(String::as_str)).collect();
        s.push_str(&format!("\n### Runtime oracle: {} kernel modules, fentry on every FUNC in the guest\n\n| configuration |", rt.modules));
        for k in &kinds {
            s.push_str(&format!(" {k} |"));
        }
        s.push_str(&format!("\n|---|{}\n", "---|".repeat(kinds.len())));
        let mut encoders: Vec<&EncoderName> = rt.counts.keys().collect();
        if let Some(spec) = spec {
            encoders.sort_by_key(|e| spec.matrix.encoders.iter().position(|x| &&x.config.name == e).unwrap_or(usize::MAX));
        }
        for enc in encoders {
            s.push_str(&format!("| {enc} |"));
            for k in &kinds {
                s.push_str(&format!(" {} |", rt.counts[enc].get(*k).copied().unwrap_or(0)));
            }
            s.push('\n');
        }
    }
    s.push_str("\n## Findings\n\n");
    if report.findings.is_empty() {
        s.push_str("none\n");
    }
    // Grouped by mechanism: one heading per way an encoder goes wrong, its findings (one per
    // configuration and verdict) below it.
    let mut by_mechanism: BTreeMap<&str, Vec<&FindingSummary>> = BTreeMap::new();
    for f in &report.findings {
        by_mechanism.entry(f.mechanism.as_str()).or_default().push(f);
    }
    let me = crate::process::self_command();
    let (confirmed, refuted, unconfirmable) = report.confirmations();
    if confirmed + refuted + unconfirmable > 0 {
        s.push_str(&format!(
            "Verdicts checked by a second route (the machine code, binutils' symbols and line table): {confirmed} confirmed, {refuted} refuted, {unconfirmable} unconfirmable{}.\n\n",
            if refuted > 0 { " — a refuted finding is a harness bug: SELF-TEST FAILED" } else { "" }
        ));
    }
    for (mechanism, list) in by_mechanism {
        s.push_str(&format!("### `{mechanism}`\n\n"));
        for f in list {
            s.push_str(&format!(
                "- **{}** `{}` ({}){}: {}\n  `{me} replay {}`\n",
                f.kind,
                f.encoder,
                f.compiler,
                f.function.as_deref().map(|n| format!(" `{n}`")).unwrap_or_default(),
                f.summary,
                crate::process::quote(&f.dir)
            ));
            if let Some(c) = &f.confirmation {
                s.push_str(&format!("  machine code: **{:?}**: {}\n", c.status, c.how));
            }
            for e in &f.examples {
                s.push_str(&format!(
                    "  - also ({}){}: `{me} replay {}`\n",
                    e.compiler,
                    e.function.as_deref().map(|n| format!(" `{n}`")).unwrap_or_default(),
                    crate::process::quote(&e.dir)
                ));
            }
        }
        s.push('\n');
    }
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// JUnit XML: one test case per encoder configuration, failing when it has an unsafe verdict
/// (static or runtime).
pub fn junit(report: &Report) -> String {
    let mut cases = String::new();
    let mut failures = 0;
    let mut all = report.counts.clone();
    for (enc, kinds) in report.runtime.iter().flat_map(|r| r.counts.iter()) {
        for (k, c) in kinds {
            *all.entry(enc.clone()).or_default().entry(k.clone()).or_default() += c;
        }
    }
    for (enc, kinds) in &all {
        let bad: Vec<String> = kinds
            .iter()
            .filter(|(k, c)| **c > 0 && k.parse::<crate::oracle::VerdictKind>().is_ok_and(|k| k.is_unsafe()))
            .map(|(k, c)| format!("{k}={c}"))
            .collect();
        cases.push_str(&format!("  <testcase classname=\"btfsmith\" name=\"{}\">", xml_escape(enc)));
        if !bad.is_empty() {
            failures += 1;
            cases.push_str(&format!("<failure message=\"{}\"/>", xml_escape(&bad.join(" "))));
        }
        cases.push_str("</testcase>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"btfsmith\" tests=\"{}\" failures=\"{failures}\">\n{cases}</testsuite>\n",
        all.len()
    )
}

/// Writes report.md, report.json and junit.xml into `out_dir`.
pub fn write_all(out_dir: &Path, spec: &CampaignSpec) -> Result<Report> {
    let report = build(out_dir)?;
    std::fs::write(out_dir.join("report.md"), markdown(&report, Some(spec)))?;
    std::fs::write(out_dir.join("report.json"), serde_json::to_string_pretty(&report)?)?;
    std::fs::write(out_dir.join("junit.xml"), junit(&report))?;
    Ok(report)
}
