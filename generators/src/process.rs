//! Running tools: every subprocess has a timeout, and its output is captured, capped, and kept
//! with the command line that produced it. The one process runner of the workspace: the
//! generators' compiles ([`crate::compile::compile_unit`]) and every tool the harness runs
//! (`harness::process` is this module).

use std::borrow::BorrowMut;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// At most this much of each stream is kept; the rest is counted as truncated.
pub const OUTPUT_CAP: usize = 64 << 20;

/// The result of one tool run.
#[derive(Debug, Clone)]
pub struct ProcRes {
    /// The command line, shell-quoted, for reports and reproducers.
    pub cmdline: String,
    /// Exit status; `None` when the run was killed at its timeout.
    pub status: Option<ExitStatus>,
    /// Captured standard output (at most [`OUTPUT_CAP`] bytes).
    pub stdout: Vec<u8>,
    /// Captured standard error (at most [`OUTPUT_CAP`] bytes).
    pub stderr: Vec<u8>,
    /// True when either stream was cut at the cap.
    pub truncated: bool,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl ProcRes {
    /// True when the tool exited with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
    /// True when the run was killed at its timeout.
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }
    /// Standard output as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// Standard error as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    /// An error unless the tool exited 0, carrying the command line, status and stderr tail.
    pub fn check(self) -> Result<ProcRes, ToolFailed> {
        if self.success() {
            Ok(self)
        } else {
            Err(ToolFailed(Box::new(self)))
        }
    }
}

/// A tool that exited non-zero, crashed, or timed out.
#[derive(Debug)]
pub struct ToolFailed(pub Box<ProcRes>);

impl fmt::Display for ToolFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.0;
        match r.status {
            None => write!(f, "`{}` timed out after {:.1?}", r.cmdline, r.elapsed)?,
            Some(s) => write!(f, "`{}` failed ({s})", r.cmdline)?,
        }
        let err = r.stderr_text();
        let tail: Vec<&str> = err.lines().rev().take(20).collect();
        if !tail.is_empty() {
            write!(f, "; stderr:")?;
            for line in tail.iter().rev() {
                write!(f, "\n  {line}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ToolFailed {}

/// Shell-quotes one word for a copy-pasteable command line.
pub fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// btfsmith as the user invoked it, as a word their shell runs again when pasted: the path it was
/// started by when that path names the btfsmith binary (`target/release/btfsmith`, relative to the
/// same directory the printed finding paths are relative to), else plain `btfsmith` (found on
/// PATH; also what a test binary calling the library gets).
pub fn self_command() -> String {
    let Some(arg0) = std::env::args_os().next() else { return "btfsmith".into() };
    let arg0 = arg0.to_string_lossy().into_owned();
    let is_btfsmith = Path::new(&arg0).file_name().is_some_and(|n| n == "btfsmith");
    if is_btfsmith && arg0.contains('/') {
        quote(&arg0)
    } else {
        "btfsmith".into()
    }
}

/// The command line of `cmd`, quoted.
pub fn cmdline(cmd: &Command) -> String {
    let mut parts = vec![quote(&cmd.get_program().to_string_lossy())];
    parts.extend(cmd.get_args().map(|a| quote(&a.to_string_lossy())));
    let line = parts.join(" ");
    match cmd.get_current_dir() {
        Some(dir) => format!("cd {} && {line}", quote(&dir.to_string_lossy())),
        None => line,
    }
}

fn read_capped(mut r: impl Read, truncated: &mut bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1 << 16];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_CAP.saturating_sub(out.len());
                if n > room {
                    *truncated = true;
                }
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    out
}

/// Runs `cmd` (a [`Command`] or `&mut Command`) with no standard input, capturing its output,
/// killing it and whatever it started (and reporting a timeout) after `timeout`. Errors only when
/// the program cannot be started at all; the error names the command line.
pub fn run(mut cmd: impl BorrowMut<Command>, timeout: Duration) -> std::io::Result<ProcRes> {
    use std::os::unix::process::CommandExt;
    let cmd: &mut Command = cmd.borrow_mut();
    let line = cmdline(cmd);
    let start = Instant::now();
    // Its own process group, so that a timeout kills whatever it started too (a wrapper script's
    // child would otherwise keep the output pipes open).
    cmd.process_group(0);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot start `{line}`: {e}")))?;
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut t = false;
        let v = read_capped(out, &mut t);
        (v, t)
    });
    let err_reader = std::thread::spawn(move || {
        let mut t = false;
        let v = read_capped(err, &mut t);
        (v, t)
    });
    let status = match child.wait_timeout(timeout)? {
        Some(s) => Some(s),
        None => {
            // The process group created above: the child's id is its group's.
            let group = rustix::process::Pid::from_child(&child);
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    let (stdout, t1) = out_reader.join().unwrap_or_default();
    let (stderr, t2) = err_reader.join().unwrap_or_default();
    Ok(ProcRes {
        cmdline: line,
        status,
        stdout,
        stderr,
        truncated: t1 || t2,
        elapsed: start.elapsed(),
    })
}

/// A [`Command`] for `program` with `args`, run in `dir` when given.
pub fn command<I, S>(program: impl AsRef<std::ffi::OsStr>, args: I, dir: Option<&Path>) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut c = Command::new(program);
    c.args(args);
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_kills_what_the_tool_started_too() {
        // The background sleep keeps stdout open: unless the whole process group dies, the
        // output readers wait for it.
        let started = Instant::now();
        let res = run(command("sh", ["-c", "sleep 30 & sleep 30"], None), Duration::from_millis(300)).unwrap();
        assert!(res.timed_out() && !res.success(), "{res:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        let err = res.check().unwrap_err().to_string();
        assert!(err.starts_with("`sh -c 'sleep 30 & sleep 30'` timed out after"), "{err}");
    }

    #[test]
    fn output_is_captured_and_a_failure_names_the_command() {
        let res = run(&mut command("sh", ["-c", "echo out; echo err >&2; exit 3"], None), Duration::from_secs(30)).unwrap();
        assert_eq!((res.stdout_text().as_str(), res.stderr_text().as_str()), ("out\n", "err\n"));
        let err = res.check().unwrap_err().to_string();
        assert!(err.starts_with("`sh -c 'echo out; echo err >&2; exit 3'` failed (exit status: 3); stderr:\n  err"), "{err}");
    }
}
