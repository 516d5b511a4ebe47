//! Shared helpers: real tools (failing, never skipping, when one is missing), compiling C in a
//! temporary directory, running btfenc, canonical forms.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `$BTFSMITH_HOME` (default `~/.cache/btfsmith`), where ci/setup installs tools.
pub fn btfsmith_home() -> PathBuf {
    std::env::var_os("BTFSMITH_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/btfsmith")
        })
}

/// The first of `candidates` that exists (names are searched in PATH). Panics, naming ci/setup,
/// when none does: these tests are mandatory.
pub fn tool(what: &str, candidates: &[&str]) -> PathBuf {
    for c in candidates {
        let p = if c.contains('/') {
            let p = PathBuf::from(c.replace("$HOME_BTFSMITH", &btfsmith_home().to_string_lossy()));
            p.exists().then_some(p)
        } else {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(c))
                    .find(|p| p.exists())
            })
        };
        if let Some(p) = p {
            return p;
        }
    }
    panic!("required tool {what} not found (tried {candidates:?}): run ci/setup to install it");
}

pub fn gcc() -> PathBuf {
    tool("gcc", &["gcc-12", "gcc"])
}
pub fn clang() -> PathBuf {
    tool("clang", &["clang-14", "clang"])
}
pub fn pahole_124() -> PathBuf {
    tool(
        "pahole 1.24",
        &["$HOME_BTFSMITH/bin/pahole-1.24", "/usr/bin/pahole"],
    )
}
pub fn bpftool() -> PathBuf {
    tool("bpftool", &["/usr/sbin/bpftool", "bpftool"])
}
pub fn ld() -> PathBuf {
    tool("ld", &["ld"])
}

pub fn btfenc() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_btfenc"))
}

/// How long one tool run (a compiler, ld, pahole, btfenc) may take before the test fails.
pub const TOOL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs a command, panicking with its output when it fails or runs past [`TOOL_TIMEOUT`] (then
/// it is killed).
pub fn run(cmd: &mut Command) -> Output {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command that may fail and returns what it did; panics when it cannot start or runs
/// past [`TOOL_TIMEOUT`] (then it is killed).
pub fn output(cmd: &mut Command) -> Output {
    output_within(cmd, TOOL_TIMEOUT)
}

/// [`output`] with its own time limit.
pub fn output_within(cmd: &mut Command, timeout: std::time::Duration) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    // Drain both pipes on threads so that a chatty tool never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let start = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} timed out after {timeout:?} and was killed");
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    Output { status, stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() }
}

/// Writes `src` to `dir/name.c` and compiles it to `dir/name.o` with `cc -g -O2 -c` + `extra`.
pub fn compile(cc: &Path, dir: &Path, name: &str, src: &str, extra: &[&str]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    let o = dir.join(format!("{name}.o"));
    std::fs::write(&c, src).unwrap();
    run(Command::new(cc)
        .args(["-g", "-O2", "-c"])
        .args(extra)
        .arg(&c)
        .arg("-o")
        .arg(&o));
    o
}

/// `ld -r` of several objects into one (several CUs in one relocatable file).
pub fn link_r(dir: &Path, name: &str, objs: &[PathBuf]) -> PathBuf {
    let o = dir.join(name);
    run(Command::new(ld()).arg("-r").args(objs).arg("-o").arg(&o));
    o
}

/// btfenc `args` then `--btf_encode_detached=OUT INPUT`; returns the raw BTF.
pub fn btfenc_detached(input: &Path, args: &[&str]) -> Vec<u8> {
    let out = input.with_extension(format!("btfenc{}.btf", args.len()));
    run(Command::new(btfenc())
        .args(args)
        .arg(format!("--btf_encode_detached={}", out.display()))
        .arg(input));
    std::fs::read(&out).unwrap()
}

/// pahole 1.24's detached BTF of `input`.
pub fn pahole_detached(input: &Path) -> Vec<u8> {
    let out = input.with_extension("pahole.btf");
    run(Command::new(pahole_124())
        .arg(format!("--btf_encode_detached={}", out.display()))
        .arg(input));
    std::fs::read(&out).unwrap()
}

pub fn canon(bytes: &[u8]) -> btf::canon::Canon {
    let b = btf::Btf::parse(bytes, None).expect("our output parses");
    btf::canon::Canon::of(&b)
}

/// The lines of a canonical form that describe types (not FUNCs, VARs, DATASECs).
pub fn type_lines(c: &btf::canon::Canon) -> Vec<String> {
    c.lines
        .iter()
        .filter(|l| !(l.starts_with("FUNC ") || l.starts_with("VAR ") || l.starts_with("DATASEC ")))
        .cloned()
        .collect()
}

/// The explain text of an input.
pub fn explain(input: &Path, args: &[&str]) -> String {
    let out = run(Command::new(btfenc())
        .args(args)
        .arg("--explain")
        .arg(input));
    String::from_utf8(out.stdout).unwrap()
}

/// `[kernel] headers` and `vmlinux_btf` from ci/setup's toolchains.toml.
pub fn kernel() -> (PathBuf, PathBuf) {
    let manifest = btfsmith_home().join("toolchains.toml");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run ci/setup to install the 6.12 kernel headers",
            manifest.display()
        )
    });
    let mut in_kernel = false;
    let (mut headers, mut vmlinux) = (None, None);
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            in_kernel = l == "[kernel]";
            continue;
        }
        if !in_kernel {
            continue;
        }
        if let Some((k, v)) = l.split_once('=') {
            let v = v.trim().trim_matches('"').to_string();
            match k.trim() {
                "headers" => headers = Some(PathBuf::from(v)),
                "vmlinux_btf" => vmlinux = Some(PathBuf::from(v)),
                _ => {}
            }
        }
    }
    match (headers, vmlinux) {
        (Some(h), Some(v)) if h.exists() && v.exists() => (h, v),
        _ => panic!(
            "no usable [kernel] headers/vmlinux_btf in {}: run ci/setup",
            manifest.display()
        ),
    }
}
