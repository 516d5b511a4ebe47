//! The guest side: the agent binary (built from `guest/`), the initramfs around it, one qemu boot,
//! and what the agent reported.

use super::initramfs::Cpio;
use crate::process;
use crate::toolchains::{Kernel, Toolchains};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Timeout of the agent's cargo build (a clean static build with vendored libbpf takes ~1 min on
/// 2 cores).
pub const AGENT_BUILD_TIMEOUT: Duration = Duration::from_secs(1200);

/// The repository root (the agent's sources are in `guest/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The static guest agent: `$BTFSMITH_GUEST_AGENT` if set, else built (or found up to date) with
/// `cargo build --release --target x86_64-unknown-linux-gnu` under `target/guest/`, statically
/// linked (`-C target-feature=+crt-static`).
pub fn agent() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BTFSMITH_GUEST_AGENT") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("BTFSMITH_GUEST_AGENT={} does not exist", p.display());
        }
        return Ok(p);
    }
    let root = repo_root();
    let manifest = root.join("guest/Cargo.toml");
    if !manifest.is_file() {
        bail!("the guest agent's sources are missing ({}); set BTFSMITH_GUEST_AGENT to a built agent", manifest.display());
    }
    let target_dir = root.join("target/guest");
    let mut cmd = process::command(
        "cargo",
        ["build", "--release", "--quiet", "--target", "x86_64-unknown-linux-gnu", "--manifest-path"].iter().map(|s| s.to_string()).chain([manifest.display().to_string()]),
        Some(&root.join("guest")),
    );
    cmd.env("CARGO_TARGET_DIR", &target_dir).env("RUSTFLAGS", "-C target-feature=+crt-static").env_remove("CARGO_ENCODED_RUSTFLAGS");
    if let Ok(tc) = Toolchains::load() {
        if let Some(clang) = tc.family("clang").last() {
            cmd.env("CLANG", &clang.path);
        }
    }
    let res = process::run(cmd, AGENT_BUILD_TIMEOUT).context("building the guest agent")?;
    if !res.success() {
        bail!(
            "building the guest agent failed (it needs clang, libbpf-dev headers and autoconf automake libtool autopoint flex bison gawk m4: run `ci/setup`): {}",
            process::ToolFailed(Box::new(res))
        );
    }
    let bin = target_dir.join("x86_64-unknown-linux-gnu/release/btfsmith-guest");
    if !bin.is_file() {
        bail!("the guest agent build left no {}", bin.display());
    }
    Ok(bin)
}

/// Everything a boot needs.
#[derive(Debug, Clone)]
pub struct GuestEnv {
    /// The kernel (image).
    pub kernel: Kernel,
    /// What qemu boots (`-kernel`): the ELF inside the kernel's `vmlinuz`, entered through PVH
    /// ([`super::bootimage`]: a second less per boot under TCG), or the `vmlinuz` itself when
    /// that ELF cannot be had.
    pub boot_image: PathBuf,
    /// `qemu-system-x86_64`.
    pub qemu: PathBuf,
    /// Static busybox.
    pub busybox: PathBuf,
    /// The agent binary.
    pub agent: PathBuf,
    /// Virtual CPUs per guest (`$BTFSMITH_VM_SMP`, default 2).
    pub smp: usize,
}

impl GuestEnv {
    /// Finds qemu, busybox and the kernel in the toolchains, and the agent (building it if
    /// needed). Errors name `ci/setup`.
    pub fn discover() -> Result<GuestEnv> {
        let tc = Toolchains::load()?;
        let kernel = tc.require_kernel()?.clone();
        let qemu = tc.require_family("qemu")?.path.clone();
        let busybox = tc.require_family("busybox")?.path.clone();
        let agent = agent()?;
        let smp = std::env::var("BTFSMITH_VM_SMP").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
        let boot_image = match super::bootimage::pvh_elf(&kernel.vmlinuz, &std::env::temp_dir()) {
            Ok(elf) => elf,
            Err(e) => {
                eprintln!("btfsmith: booting {} through the BIOS (slower): {e}", kernel.vmlinuz.display());
                kernel.vmlinuz.clone()
            }
        };
        Ok(GuestEnv { kernel, boot_image, qemu, busybox, agent, smp })
    }
}

/// One module load the agent performs.
#[derive(Debug, Clone)]
pub struct GuestJob {
    /// Job id (unique in a boot).
    pub id: String,
    /// Module file on the host (copied into the initramfs).
    pub ko: PathBuf,
    /// Module name (for `/sys/kernel/btf/<name>`).
    pub module: String,
    /// FUNCs to attach: (BTF id, name).
    pub funcs: Vec<(u32, String)>,
    /// BTF ids of the FUNCs to probe at fexit rather than fentry (arguments and return value).
    pub exit: std::collections::BTreeSet<u32>,
    /// FUNCs of the vmlinux BTF to attach too, fired by the module's trigger (see
    /// [`super::Case::vmlinux_funcs`]).
    pub vmlinux_funcs: Vec<(u32, String)>,
    /// Attach one FUNC per round (after a crash: to learn which probe the guest died with).
    pub isolate: bool,
}

const INIT: &str = "#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo BTFSMITH-INIT
/agent /jobs.txt /dev/ttyS1 --poweroff
echo BTFSMITH-INIT-END rc=$?
poweroff -f
";

/// Writes the initramfs for `jobs` to `path`.
pub fn write_initramfs(env: &GuestEnv, jobs: &[GuestJob], path: &Path) -> Result<()> {
    let mut c = Cpio::new();
    for d in ["bin", "sbin", "proc", "sys", "dev", "tmp", "m"] {
        c.dir(d);
    }
    c.file("bin/busybox", 0o755, &std::fs::read(&env.busybox).with_context(|| format!("reading {}", env.busybox.display()))?);
    for applet in ["sh", "mount", "poweroff", "echo", "cat", "ls", "insmod", "rmmod", "dmesg", "mkdir"] {
        c.symlink(&format!("bin/{applet}"), "busybox");
    }
    c.file("init", 0o755, INIT.as_bytes());
    c.file("agent", 0o755, &std::fs::read(&env.agent).with_context(|| format!("reading {}", env.agent.display()))?);
    let mut text = String::new();
    for (i, j) in jobs.iter().enumerate() {
        let name = format!("m/{i}.ko");
        c.file(&name, 0o644, &std::fs::read(&j.ko).with_context(|| format!("reading {}", j.ko.display()))?);
        text.push_str(&format!("module {} /{name} {}{}\n", j.id, j.module, if j.isolate { " isolate" } else { "" }));
        for (id, f) in &j.funcs {
            text.push_str(&format!("func {id} {f}{}\n", if j.exit.contains(id) { " exit" } else { "" }));
        }
        for (id, f) in &j.vmlinux_funcs {
            text.push_str(&format!("vfunc {id} {f}\n"));
        }
    }
    c.file("jobs.txt", 0o644, text.as_bytes());
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?);
    c.finish(&mut f)?;
    use std::io::Write;
    f.flush()?;
    Ok(())
}

/// One hit of a probe.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Event {
    /// `bpf_get_func_ip`, hex.
    pub ip: String,
    /// `bpf_get_func_arg_cnt`.
    pub nargs: i64,
    /// Argument slots, hex.
    pub args: Vec<String>,
    /// `bpf_get_func_ret`, hex: only from an fexit probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<String>,
}

impl Event {
    /// The address as a number.
    pub fn ip(&self) -> u64 {
        u64::from_str_radix(&self.ip, 16).unwrap_or(0)
    }
    /// Slot `i` as a number.
    pub fn arg(&self, i: usize) -> Option<u64> {
        self.args.get(i).and_then(|a| u64::from_str_radix(a, 16).ok())
    }
    /// The return value (fexit only) as a number.
    pub fn ret(&self) -> Option<u64> {
        self.ret.as_deref().and_then(|r| u64::from_str_radix(r, 16).ok())
    }
}

/// What the agent reported for one FUNC.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct FuncResult {
    /// Job id.
    pub job: String,
    /// BTF id.
    pub id: u32,
    /// FUNC name.
    pub name: String,
    /// `attached`, `load_failed`, `attach_failed`.
    pub status: String,
    /// The kernel's refusal (errno and verifier log tail).
    #[serde(default)]
    pub error: Option<String>,
    /// Writing the trigger failed.
    #[serde(default)]
    pub trigger: Option<String>,
    /// Number of hits.
    #[serde(default)]
    pub hits: usize,
    /// The first hits.
    #[serde(default)]
    pub events: Vec<Event>,
    /// A FUNC of the vmlinux BTF (a `vfunc` job line), not of the module's.
    #[serde(default)]
    pub vmlinux: bool,
    /// Probed at fexit: every event has the return value.
    #[serde(default)]
    pub exit: bool,
    /// The module's `returns` file after the trigger of this FUNC's round (the agent's
    /// `BTFSMITH-ROUND` line), when the module has one: see [`ReturnLog`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
}

/// A generated module's log of what its functions returned during one trigger (its debugfs
/// `returns` file): `calls N`, then one `<function id> <value, hex>` line per return in the order
/// they happened, the value converted to 64 bits as C converts it (sign-extended from a signed
/// type). At most the module's capacity is kept: `complete` is false when `N` says more
/// returns happened than were logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReturnLog {
    /// (generated function id, value) in order.
    pub records: Vec<(usize, u64)>,
    /// Every return of the trigger is in `records`.
    pub complete: bool,
}

impl ReturnLog {
    /// Parses the file's text; a malformed line is an error (never a guess).
    pub fn parse(text: &str) -> std::result::Result<ReturnLog, String> {
        let mut lines = text.lines();
        let calls: usize = lines
            .next()
            .and_then(|l| l.strip_prefix("calls "))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| format!("returns log: no `calls N` header: {:?}", text.lines().next().unwrap_or("")))?;
        let mut records = Vec::new();
        for l in lines.filter(|l| !l.trim().is_empty()) {
            let rec = l.split_once(' ').and_then(|(id, v)| Some((id.parse().ok()?, u64::from_str_radix(v.trim(), 16).ok()?)));
            records.push(rec.ok_or_else(|| format!("returns log: malformed line {l:?}"))?);
        }
        Ok(ReturnLog { complete: records.len() == calls, records })
    }
}

/// What the agent reported for one module load.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct JobReport {
    /// Job id.
    pub job: String,
    /// `finit_module`'s error, if it failed.
    #[serde(default)]
    pub insmod: Option<String>,
    /// `/sys/kernel/btf/<module>` exists.
    #[serde(default)]
    pub btf: bool,
    /// Section name → load address (hex, `0x…`).
    #[serde(default)]
    pub sections: BTreeMap<String, String>,
    /// The module's kallsyms: (address, type, name).
    #[serde(default)]
    pub kallsyms: Vec<(String, String, String)>,
    /// Kernel log lines while loading.
    #[serde(default)]
    pub kmsg: Vec<String>,
    /// Per-FUNC results.
    #[serde(skip_deserializing)]
    pub results: Vec<FuncResult>,
    /// The FUNCs (BTF id, name) whose probes were attached when the trigger last fired: if the
    /// guest died before the job finished, the probes it died with.
    #[serde(skip_deserializing)]
    pub triggered: Vec<(u32, String)>,
    /// The job finished (module unloaded or unload failed).
    #[serde(skip_deserializing)]
    pub finished: bool,
    /// `delete_module`'s error.
    #[serde(skip_deserializing)]
    pub rmmod: Option<String>,
    /// Guest milliseconds for the job.
    #[serde(skip_deserializing)]
    pub ms: u64,
    /// The `returns` text of the latest round (copied into that round's results).
    #[serde(skip)]
    pub round_returns: Option<String>,
}

/// The outcome of one boot.
#[derive(Debug, Clone)]
pub struct Boot {
    /// Jobs the agent started, in order.
    pub jobs: Vec<JobReport>,
    /// The agent printed `BTFSMITH-DONE`.
    pub done: bool,
    /// The agent could not even load its probe.
    pub fatal: Option<String>,
    /// The kernel console log.
    pub console: PathBuf,
    /// qemu's wall time.
    pub elapsed: Duration,
    /// qemu was killed at the timeout.
    pub timed_out: bool,
    /// Agent-reported milliseconds from start to done.
    pub agent_ms: Option<u64>,
}

impl Boot {
    /// The last lines of the console, for error messages, after the lines that say why the
    /// kernel died (a long call trace can push "Kernel panic - not syncing: …" out of the tail).
    pub fn console_tail(&self, n: usize) -> String {
        const REASONS: &[&str] = &["Kernel panic", "BUG:", "Oops", "general protection fault", "watchdog:"];
        let text = std::fs::read_to_string(&self.console).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(n);
        let mut out: Vec<&str> = lines[..start].iter().filter(|l| REASONS.iter().any(|r| l.contains(r))).take(5).copied().collect();
        if !out.is_empty() {
            out.push("[...]");
        }
        out.extend(&lines[start..]);
        out.join("\n")
    }
}

/// Parses the agent's output.
pub fn parse_output(text: &str) -> (Vec<JobReport>, bool, Option<String>, Option<u64>) {
    let mut jobs: Vec<JobReport> = Vec::new();
    let (mut done, mut fatal, mut ms) = (false, None, None);
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "BTFSMITH-JOB" => {
                if let Ok(j) = serde_json::from_str::<JobReport>(rest) {
                    jobs.push(j);
                }
            }
            "BTFSMITH-RESULT" => {
                if let Ok(mut r) = serde_json::from_str::<FuncResult>(rest) {
                    if let Some(j) = jobs.iter_mut().rev().find(|j| j.job == r.job) {
                        r.returns.clone_from(&j.round_returns);
                        j.results.push(r);
                    }
                }
            }
            // Sent after the round's probes are detached (the trigger returned), before the
            // round's results.
            "BTFSMITH-ROUND" => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(rest) {
                    let id = v["job"].as_str().unwrap_or_default();
                    if let Some(j) = jobs.iter_mut().rev().find(|j| j.job == id) {
                        j.triggered.clear();
                        j.round_returns = v["returns"].as_str().map(str::to_string);
                    }
                }
            }
            "BTFSMITH-TRIGGER" => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(rest) {
                    let id = v["job"].as_str().unwrap_or_default();
                    if let Some(j) = jobs.iter_mut().rev().find(|j| j.job == id) {
                        j.triggered = v["funcs"]
                            .as_array()
                            .map(|a| a.iter().filter_map(|f| Some((u32::try_from(f["id"].as_u64()?).ok()?, f["name"].as_str()?.to_string()))).collect())
                            .unwrap_or_default();
                    }
                }
            }
            "BTFSMITH-JOBEND" => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(rest) {
                    let id = v["job"].as_str().unwrap_or_default();
                    if let Some(j) = jobs.iter_mut().rev().find(|j| j.job == id) {
                        j.finished = true;
                        j.rmmod = v["rmmod"].as_str().map(str::to_string);
                        j.ms = v["ms"].as_u64().unwrap_or(0);
                        if let Some(k) = v["kmsg"].as_array() {
                            j.kmsg.extend(k.iter().filter_map(|l| l.as_str().map(str::to_string)));
                        }
                    }
                }
            }
            "BTFSMITH-FATAL" => fatal = Some(rest.to_string()),
            "BTFSMITH-STATS" => {
                ms = serde_json::from_str::<serde_json::Value>(rest).ok().and_then(|v| v["ms"].as_u64());
            }
            "BTFSMITH-DONE" => done = true,
            _ => {}
        }
    }
    (jobs, done, fatal, ms)
}

/// Boots the kernel with an initramfs for `jobs`, in `dir` (initramfs, console log and agent
/// output are kept there). `timeout` bounds the whole boot.
pub fn boot(env: &GuestEnv, jobs: &[GuestJob], dir: &Path, timeout: Duration) -> Result<Boot> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let initrd = dir.join("initramfs.cpio");
    write_initramfs(env, jobs, &initrd)?;
    let console = dir.join("console.log");
    let results = dir.join("agent.out");
    let _ = std::fs::remove_file(&console);
    let _ = std::fs::remove_file(&results);
    let args: Vec<String> = vec![
        "-accel".into(),
        "tcg".into(),
        "-cpu".into(),
        "max".into(),
        "-m".into(),
        "512".into(),
        "-smp".into(),
        env.smp.max(1).to_string(),
        "-display".into(),
        "none".into(),
        "-vga".into(),
        "none".into(),
        "-monitor".into(),
        "none".into(),
        "-no-reboot".into(),
        "-net".into(),
        "none".into(),
        "-serial".into(),
        format!("file:{}", console.display()),
        "-serial".into(),
        format!("file:{}", results.display()),
        "-kernel".into(),
        env.boot_image.display().to_string(),
        "-initrd".into(),
        initrd.display().to_string(),
        "-append".into(),
        // mitigations=off: no page-table switch per system call (the agent makes thousands) and
        // no retpolines; neither changes what a trampoline passes to a probe.
        "console=ttyS0 panic=-1 quiet oops=panic mitigations=off".into(),
    ];
    let res = process::run(process::command(&env.qemu, &args, None), timeout).context("running qemu")?;
    std::fs::write(dir.join("qemu.cmdline"), format!("{}\n", res.cmdline))?;
    let text = std::fs::read_to_string(&results).unwrap_or_default();
    let (jobs, done, fatal, agent_ms) = parse_output(&text);
    if !res.timed_out() && !res.success() {
        let err = res.stderr_text();
        if jobs.is_empty() && !done {
            bail!("qemu failed ({:?}): {}; console log: {}", res.status, err.trim(), console.display());
        }
    }
    Ok(Boot { jobs, done, fatal, console, elapsed: res.elapsed, timed_out: res.timed_out(), agent_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probes attached when the trigger last fired are kept until the round ends (the
    /// agent's `BTFSMITH-ROUND` line): after a crash they are the suspects, after a round they
    /// are nobody's.
    #[test]
    fn suspects_are_the_probes_of_an_unfinished_round() {
        let head = r#"BTFSMITH-JOB {"job":"0.0","module":"m_00","btf":true}"#;
        let first = r#"BTFSMITH-TRIGGER {"job":"0.0","funcs":[{"id":7,"name":"a"},{"id":9,"name":"b"}]}"#;
        let round = r#"BTFSMITH-ROUND {"job":"0.0","funcs":2}"#;
        let second = r#"BTFSMITH-TRIGGER {"job":"0.0","funcs":[{"id":11,"name":"c"}]}"#;
        let (jobs, done, ..) = parse_output(&[head, first].join("\n"));
        assert!(!done);
        assert_eq!(jobs[0].triggered, vec![(7, "a".to_string()), (9, "b".to_string())]);
        let (jobs, ..) = parse_output(&[head, first, round].join("\n"));
        assert!(jobs[0].triggered.is_empty());
        let (jobs, ..) = parse_output(&[head, first, round, second].join("\n"));
        assert_eq!(jobs[0].triggered, vec![(11, "c".to_string())]);
    }

    #[test]
    fn reading_return_logs() {
        let log = ReturnLog::parse("calls 3\n0 92872dfb9674749b\n0 ffffffffffffffff\n12 0\n").unwrap();
        assert_eq!(log, ReturnLog { records: vec![(0, 0x9287_2dfb_9674_749b), (0, u64::MAX), (12, 0)], complete: true });
        // More returns happened than the module could keep.
        assert!(!ReturnLog::parse("calls 1025\n0 1\n").unwrap().complete);
        let err = ReturnLog::parse("0 1\n").unwrap_err();
        assert!(err.contains("no `calls N` header"), "{err}");
        let err = ReturnLog::parse("calls 1\nzero 1\n").unwrap_err();
        assert!(err.contains("malformed line \"zero 1\""), "{err}");
        // The ROUND line's log goes with the results of that round only.
        let text = [
            r#"BTFSMITH-JOB {"job":"0.0","module":"m","btf":true}"#,
            r#"BTFSMITH-ROUND {"job":"0.0","funcs":1,"returns":"calls 1\n0 5\n"}"#,
            r#"BTFSMITH-RESULT {"job":"0.0","id":7,"name":"f","status":"attached","exit":true,"events":[{"ip":"10","nargs":0,"args":[],"ret":"5"}],"hits":1}"#,
            r#"BTFSMITH-ROUND {"job":"0.0","funcs":1}"#,
            r#"BTFSMITH-RESULT {"job":"0.0","id":8,"name":"g","status":"attached"}"#,
        ]
        .join("\n");
        let (jobs, ..) = parse_output(&text);
        let r = &jobs[0].results;
        assert_eq!(r[0].returns.as_deref(), Some("calls 1\n0 5\n"));
        assert!(r[0].exit);
        assert_eq!(r[0].events[0].ret(), Some(5));
        assert_eq!(r[1].returns, None);
    }
}
