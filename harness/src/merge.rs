//! `btfsmith merge OUT DIR...`: combine campaign directories from several machines (shards) into
//! one: findings deduplicated by signature, progress records by program index, one report.

use crate::campaign::{read_progress, CampaignSpec};
use crate::finding::{read_record, FindingStore};
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// What a merge did.
#[derive(Debug, Default)]
pub struct Merged {
    /// Programs recorded in the output.
    pub programs: usize,
    /// Distinct findings in the output.
    pub findings: usize,
    /// Findings skipped as duplicates.
    pub duplicates: usize,
}

/// Merges `inputs` into `out`. The campaigns must agree on everything but the shard.
pub fn merge(out: &Path, inputs: &[PathBuf]) -> Result<Merged> {
    if inputs.is_empty() {
        bail!("nothing to merge");
    }
    let mut spec: Option<CampaignSpec> = None;
    for dir in inputs {
        let path = dir.join("campaign.json");
        let s: CampaignSpec = serde_json::from_str(&std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?).with_context(|| format!("parsing {}", path.display()))?;
        match &spec {
            None => spec = Some(s),
            Some(first) => {
                let mut a = first.clone();
                a.shard = s.shard;
                if a != s {
                    bail!("{} is a different campaign from {} (seed, policy, toolchains or encoders differ)", dir.display(), inputs[0].display());
                }
            }
        }
    }
    let mut spec = spec.expect("at least one input");
    spec.shard = (0, 1);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("campaign.json"), serde_json::to_string_pretty(&spec)?)?;
    let store = FindingStore::open(&out.join("findings"))?;
    let mut known: BTreeSet<String> = BTreeSet::new();
    for d in crate::check::finding_dirs(&out.join("findings")).unwrap_or_default() {
        known.insert(read_record(&d)?.signature);
    }
    let mut merged = Merged::default();
    let mut seen_programs: BTreeSet<u64> = read_progress(&out.join("progress.jsonl"))?.iter().map(|r| r.index).collect();
    let mut progress = std::fs::OpenOptions::new().create(true).append(true).open(out.join("progress.jsonl"))?;
    for dir in inputs {
        for r in read_progress(&dir.join("progress.jsonl"))? {
            if seen_programs.insert(r.index) {
                writeln!(progress, "{}", serde_json::to_string(&r)?)?;
            }
        }
        let Ok(dirs) = crate::check::finding_dirs(&dir.join("findings")) else { continue };
        for f in dirs {
            let rec = read_record(&f)?;
            if !known.insert(rec.signature.clone()) {
                merged.duplicates += 1;
                continue;
            }
            let name = f.file_name().context("finding directory name")?;
            let tmp = out.join("findings").join(format!(".tmp-merge-{}", name.to_string_lossy()));
            copy_dir(&f, &tmp)?;
            std::fs::rename(&tmp, out.join("findings").join(name))?;
        }
    }
    drop(store);
    merged.programs = seen_programs.len();
    merged.findings = known.len();
    crate::report::write_all(out, &spec)?;
    Ok(merged)
}
