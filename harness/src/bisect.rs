//! `btfsmith bisect FINDING --pahole-git DIR`: the pahole commit where a finding appears (or
//! disappears).
//!
//! The finding's program is compiled once; pahole is built at each probed commit (cached per
//! commit under `$BTFSMITH_HOME/pahole-builds/<commit>`), run with the finding's flags, and the
//! same oracles re-judge the output. A commit is *bad* when the finding's signature reproduces.
//! Given a `--good` and a `--bad` revision, the search walks the first-parent history between
//! them: when good is older it names the first bad commit (the one that introduced the bug),
//! when bad is older the first good one (the fix). A commit that does not build is skipped, as
//! `git bisect skip` does, and the answer then names the range it could not split.
//!
//! pahole embeds libbpf as the `lib/bpf` submodule. Its sources come from the submodule's git
//! directory in the checkout (`DIR/.git/modules/lib/bpf`, present after `git clone --recursive`)
//! or from `--libbpf-git`; without either, pahole is built against the system libbpf (commits
//! that need a newer one are then skipped).

use crate::campaign::{judge_case, CaseInput};
use crate::config::Matrix;
use crate::finding::{read_record, FindingRecord, FindingStore};
use crate::oracle;
use crate::process;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where and how to build pahole.
#[derive(Debug, Clone)]
pub struct Sources {
    /// A pahole git checkout (or bare repository).
    pub pahole_git: PathBuf,
    /// A libbpf git directory for the `lib/bpf` submodule, if not inside the checkout.
    pub libbpf_git: Option<PathBuf>,
}

/// What one probed commit showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The finding reproduces.
    Bad,
    /// It does not.
    Good,
    /// pahole did not build (or did not run) at this commit.
    Skip,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct Bisection {
    /// Probed commits in order, with what each showed.
    pub probes: Vec<(String, Probe)>,
    /// The first commit on the path from the older end that shows the newer end's state, with its
    /// subject line; `None` when skipped commits hide it.
    pub first: Option<(String, String)>,
    /// True when the newer end is bad (the search found where the bug came in).
    pub introduced: bool,
    /// The commits the transition lies between when skipped ones hide it.
    pub range: (String, String),
}

const GIT_TIMEOUT: Duration = Duration::from_secs(120);
const BUILD_TIMEOUT: Duration = Duration::from_secs(1800);

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let mut all = vec!["-C".to_string(), dir.display().to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    let out = process::run(process::command("git", all, None), GIT_TIMEOUT).with_context(|| format!("git {}", args.join(" ")))?;
    if !out.success() {
        bail!("git {} in {} failed: {}", args.join(" "), dir.display(), out.stderr_text().trim());
    }
    Ok(out.stdout_text().trim().to_string())
}

fn cache_root() -> PathBuf {
    crate::toolchains::home().join("pahole-builds")
}

/// Builds pahole at `commit` (cached); returns the binary.
pub fn build(src: &Sources, commit: &str) -> Result<PathBuf> {
    let dir = cache_root().join(commit);
    let bin = dir.join("build").join("pahole");
    if bin.is_file() {
        return Ok(bin);
    }
    if dir.join("FAILED").is_file() {
        bail!("pahole {commit} did not build before (see {})", dir.join("FAILED").display());
    }
    for tool in ["cmake", "make", "cc"] {
        if !on_path(tool) {
            bail!("building pahole needs `{tool}`; install cmake, libdw-dev, libelf-dev and zlib1g-dev (run `ci/setup --with-pahole-build`)");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let tree = dir.join("src");
    std::fs::create_dir_all(&tree)?;
    // The tree as of the commit, without a work tree of the user's checkout being touched.
    extract(&src.pahole_git, commit, &tree)?;
    // The libbpf submodule at the commit pahole records.
    let libbpf_commit = git(&src.pahole_git, &["ls-tree", commit, "lib/bpf"])?.split_whitespace().nth(2).map(str::to_string);
    let libbpf_git = src.libbpf_git.clone().or_else(|| {
        let inside = src.pahole_git.join(".git").join("modules").join("lib").join("bpf");
        inside.is_dir().then_some(inside)
    });
    let embedded = match (libbpf_commit, libbpf_git) {
        (Some(c), Some(g)) => {
            let to = tree.join("lib").join("bpf");
            std::fs::create_dir_all(&to)?;
            extract(&g, &c, &to).is_ok()
        }
        _ => false,
    };
    let build = dir.join("build");
    std::fs::create_dir_all(&build)?;
    let mut cmake = vec!["-S".to_string(), tree.display().to_string(), "-B".into(), build.display().to_string(), "-DCMAKE_BUILD_TYPE=Release".into(), "-D__LIB=lib".into()];
    if !embedded {
        cmake.push("-DLIBBPF_EMBEDDED=OFF".into());
    }
    let log = dir.join("build.log");
    let mut text = String::new();
    let mut ok = true;
    for (prog, args) in [("cmake", cmake), ("make", vec!["-C".into(), build.display().to_string(), format!("-j{}", num_cpus()), "pahole".into()])] {
        let out = process::run(process::command(prog, args.clone(), None), BUILD_TIMEOUT).with_context(|| format!("running {prog}"))?;
        text.push_str(&format!("$ {prog} {}\n{}{}\n", args.join(" "), out.stdout_text(), out.stderr_text()));
        if !out.success() {
            ok = false;
            break;
        }
    }
    std::fs::write(&log, &text)?;
    if !ok || !bin.is_file() {
        std::fs::write(dir.join("FAILED"), &text)?;
        bail!("pahole {commit} does not build (libbpf {}): see {}", if embedded { "embedded" } else { "from the system" }, log.display());
    }
    Ok(bin)
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// `git archive COMMIT | tar -x -C TO`.
fn extract(git_dir: &Path, commit: &str, to: &Path) -> Result<()> {
    let tar = to.join(".tree.tar");
    let out = process::run(process::command("git", ["-C".to_string(), git_dir.display().to_string(), "archive".into(), "-o".into(), tar.display().to_string(), commit.to_string()], None), GIT_TIMEOUT)?;
    if !out.success() {
        bail!("git archive {commit} in {} failed: {}", git_dir.display(), out.stderr_text().trim());
    }
    let out = process::run(process::command("tar", ["-x".to_string(), "-f".into(), tar.display().to_string(), "-C".into(), to.display().to_string()], None), GIT_TIMEOUT)?;
    let _ = std::fs::remove_file(&tar);
    if !out.success() {
        bail!("unpacking {commit}: {}", out.stderr_text().trim());
    }
    Ok(())
}

/// Does the finding reproduce with this pahole binary in place of the judged encoder's?
pub fn probe(rec: &FindingRecord, finding: &Path, pahole: &Path) -> Result<bool> {
    let mut encoders = rec.encoders.clone();
    let judged = encoders.iter_mut().find(|e| e.config.name == rec.verdict.encoder).with_context(|| format!("the finding names no encoder {}", rec.verdict.encoder))?;
    judged.path = pahole.to_path_buf();
    let src = finding.join("src");
    let case = CaseInput { sources: rec.sources.iter().map(|s| src.join(s)).collect(), dir: src.clone(), seed: rec.seed, policy: rec.policy.clone() };
    let matrix = Matrix { compilers: vec![rec.compiler.clone()], encoders };
    let scratch = tempfile::tempdir()?;
    let store = FindingStore::open(&scratch.path().join("findings"))?;
    let outcome = judge_case(&case, &matrix, &oracle::standard(rec.verdict.oracle == "kernel-load"), &store, &scratch.path().join("work"))?;
    if let Some(e) = outcome.build_errors.first() {
        bail!("the finding no longer builds: {e}");
    }
    Ok(outcome.verdicts.iter().any(|v| v.signature() == rec.signature))
}

/// Bisects the finding in `finding` between two pahole revisions.
pub fn bisect(finding: &Path, src: &Sources, good: &str, bad: &str, mut log: impl FnMut(&str)) -> Result<Bisection> {
    let rec = read_record(finding)?;
    if !rec.encoders.iter().any(|e| e.config.name == rec.verdict.encoder && e.config.tool.is_pahole()) {
        bail!("{} is a finding about {}, not a pahole configuration", finding.display(), rec.verdict.encoder);
    }
    let good = git(&src.pahole_git, &["rev-parse", &format!("{good}^{{commit}}")])?;
    let bad = git(&src.pahole_git, &["rev-parse", &format!("{bad}^{{commit}}")])?;
    let is_ancestor = |a: &str, b: &str| git(&src.pahole_git, &["merge-base", "--is-ancestor", a, b]).is_ok();
    let (old, new, introduced) = if is_ancestor(&good, &bad) {
        (good.clone(), bad.clone(), true)
    } else if is_ancestor(&bad, &good) {
        (bad.clone(), good.clone(), false)
    } else {
        bail!("{good} and {bad} are not on one line of history");
    };
    // Oldest first, then the newer end: path[0] is `old`'s child, the last is `new`.
    let listing = git(&src.pahole_git, &["rev-list", "--first-parent", "--reverse", &format!("{old}..{new}")])?;
    let path: Vec<String> = listing.lines().map(str::to_string).collect();
    if path.is_empty() {
        bail!("no commits between {old} and {new}");
    }
    let mut probes = Vec::new();
    let mut check = |commit: &str, probes: &mut Vec<(String, Probe)>| -> Probe {
        let short = &commit[..commit.len().min(12)];
        let p = match build(src, commit).and_then(|bin| probe(&rec, finding, &bin)) {
            Ok(true) => Probe::Bad,
            Ok(false) => Probe::Good,
            Err(e) => {
                log(&format!("{short}: skipped ({e:#})"));
                Probe::Skip
            }
        };
        if p != Probe::Skip {
            log(&format!("{short}: {}", if p == Probe::Bad { "bad (reproduces)" } else { "good (does not reproduce)" }));
        }
        probes.push((commit.to_string(), p));
        p
    };
    // The ends must differ, as the user says they do.
    let old_state = if introduced { Probe::Good } else { Probe::Bad };
    let new_state = if introduced { Probe::Bad } else { Probe::Good };
    let seen_old = check(&old, &mut probes);
    if seen_old != old_state {
        bail!("{} is not {} here ({:?}): nothing to bisect", &old[..12], if introduced { "good" } else { "bad" }, seen_old);
    }
    let seen_new = check(&new, &mut probes);
    if seen_new != new_state {
        bail!("{} is not {} here ({:?}): nothing to bisect", &new[..12], if introduced { "bad" } else { "good" }, seen_new);
    }
    let (lo, hi) = search(path.len(), old_state, |i| check(&path[i], &mut probes));
    let at = |i: isize| if i < 0 { old.clone() } else { path[i as usize].clone() };
    let first = (hi - lo == 1).then(|| {
        let c = path[hi as usize].clone();
        let subject = git(&src.pahole_git, &["log", "-1", "--format=%s", &c]).unwrap_or_default();
        (c, subject)
    });
    Ok(Bisection { probes, first, introduced, range: (at(lo), at(hi)) })
}

/// Binary search over `n` commits (index 0 oldest) whose older end (index -1) shows `old_state`
/// and whose last (index n-1) the other state. `probe(i)` says what commit i shows; skipped
/// commits are set aside. Returns (lo, hi): `lo` shows the old state (or is -1), `hi` the new
/// one, and every commit strictly between them was skipped.
fn search(n: usize, old_state: Probe, mut probe: impl FnMut(usize) -> Probe) -> (isize, isize) {
    let (mut lo, mut hi): (isize, isize) = (-1, n as isize - 1);
    let mut skipped: Vec<isize> = Vec::new();
    loop {
        let candidates: Vec<isize> = ((lo + 1)..hi).filter(|i| !skipped.contains(i)).collect();
        if candidates.is_empty() {
            return (lo, hi);
        }
        let mid = candidates[candidates.len() / 2];
        match probe(mid as usize) {
            Probe::Skip => skipped.push(mid),
            p if p == old_state => lo = mid,
            _ => hi = mid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{search, Probe};

    #[test]
    fn finds_the_transition_in_few_probes() {
        for first_bad in [0usize, 1, 37, 98, 99] {
            let mut probes = 0;
            let (lo, hi) = search(100, Probe::Good, |i| {
                probes += 1;
                if i >= first_bad { Probe::Bad } else { Probe::Good }
            });
            assert_eq!((lo, hi), (first_bad as isize - 1, first_bad as isize), "transition at {first_bad}");
            assert!(probes <= 8, "{probes} probes for 100 commits");
        }
    }

    #[test]
    fn skipped_commits_widen_the_answer() {
        // 40 and 41 do not build; the bug came in at 41: the answer is the range (39, 42].
        let (lo, hi) = search(100, Probe::Good, |i| match i {
            40 | 41 => Probe::Skip,
            i if i >= 41 => Probe::Bad,
            _ => Probe::Good,
        });
        assert_eq!((lo, hi), (39, 42));
        // A fix (old end bad) is found the same way.
        let (lo, hi) = search(10, Probe::Bad, |i| if i >= 6 { Probe::Good } else { Probe::Bad });
        assert_eq!((lo, hi), (5, 6));
    }
}
