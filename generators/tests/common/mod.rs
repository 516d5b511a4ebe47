//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use generators::compile::Compiler;
use generators::process;

/// The compiler `name`; a missing compiler fails the test and names `ci/setup`.
pub fn require_compiler(name: &str) -> Compiler {
    match Compiler::find(name) {
        Ok(c) => c,
        Err(e) => panic!(
            "this test needs the compiler `{name}` ({e}); install the toolchains with `ci/setup`"
        ),
    }
}

/// Where `ci/setup` installs (`$BTFSMITH_HOME`, default `~/.cache/btfsmith`).
pub fn btfsmith_home() -> PathBuf {
    std::env::var_os("BTFSMITH_HOME").map_or_else(
        || {
            std::env::var_os("HOME")
                .map_or_else(|| PathBuf::from("/root"), PathBuf::from)
                .join(".cache/btfsmith")
        },
        PathBuf::from,
    )
}

/// A compiler and how to start what it links: directly, or (a compiler from another Debian
/// suite) through the runner `ci/setup` writes for its root, since the binary needs that root's
/// C library.
pub struct TestCompiler {
    /// The compiler.
    pub cc: Compiler,
    /// `run-in-<suite>`, for a compiler that lives in a Debian root.
    pub runner: Option<PathBuf>,
}

impl TestCompiler {
    /// A command that runs `exe`, built by this compiler.
    pub fn run_command(&self, exe: &Path) -> Command {
        match &self.runner {
            Some(r) => {
                let mut c = Command::new(r);
                c.arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }
}

/// A compiler on PATH (`gcc`, `clang-16`); a missing one fails the test and names `ci/setup`.
pub fn require_test_compiler(name: &str) -> TestCompiler {
    TestCompiler {
        cc: require_compiler(name),
        runner: None,
    }
}

/// gcc `NN` from the Debian `suite` root `ci/setup` builds (`$BTFSMITH_HOME/bin/gcc-NN` and
/// `run-in-<suite>`); missing ones fail the test and name `ci/setup`.
pub fn require_rooted_gcc(release: u32, suite: &str) -> TestCompiler {
    let bin = btfsmith_home().join("bin");
    let wrapper = bin.join(format!("gcc-{release}"));
    let runner = bin.join(format!("run-in-{suite}"));
    let root = btfsmith_home().join("rootfs").join(suite);
    for p in [&wrapper, &runner] {
        assert!(
            p.is_file() && root.join(format!("usr/bin/gcc-{release}")).is_file(),
            "this test needs gcc {release} from the Debian {suite} root ({} and {}); install the toolchains with `ci/setup`",
            p.display(),
            root.display()
        );
    }
    TestCompiler {
        cc: require_compiler(&wrapper.display().to_string()),
        runner: Some(runner),
    }
}

/// Every compiler of the matrix: the system gcc and clang, clang-16 and clang-19 from bookworm,
/// gcc 14 (trixie) and gcc 15 (sid) from their roots.
pub fn all_test_compilers() -> Vec<TestCompiler> {
    vec![
        require_test_compiler("gcc"),
        require_test_compiler("clang"),
        require_test_compiler("clang-16"),
        require_test_compiler("clang-19"),
        require_rooted_gcc(14, "trixie"),
        require_rooted_gcc(15, "sid"),
    ]
}

/// Runs `f` on every item with one worker per core; returns the failures' messages.
pub fn parallel<T: Sync>(items: &[T], f: impl Fn(&T) -> Result<(), String> + Sync) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if let Err(e) = f(item) {
                    failures.lock().expect("failure list").push(e);
                }
            });
        }
    });
    failures.into_inner().expect("failure list")
}

/// What a finished command did, as text.
#[derive(Debug)]
pub struct Ran {
    /// Exit status 0.
    pub success: bool,
    /// Exit status as text.
    pub status: String,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs a command under a timeout, returning its output, or a readable error when it cannot
/// start or runs past the timeout (it is killed then).
pub fn run_cmd(cmd: &mut Command, secs: u64) -> Result<Ran, String> {
    let res = process::run(cmd, Duration::from_secs(secs)).map_err(|e| e.to_string())?;
    if res.timed_out() {
        return Err(format!("`{}` timed out after {secs} s", res.cmdline));
    }
    let status = res.status.map_or_else(|| "killed".to_string(), |s| s.to_string());
    Ok(Ran { success: res.success(), status, stdout: res.stdout_text(), stderr: res.stderr_text() })
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("btfsmith-{name}-"))
        .tempdir()
        .expect("temp dir")
}

/// The units of a program plus `main`, as source file names.
pub fn sources(dir: &Path, units: usize) -> Vec<PathBuf> {
    (0..units)
        .map(|i| dir.join(format!("tu{i}.c")))
        .chain(std::iter::once(dir.join("main.c")))
        .collect()
}
