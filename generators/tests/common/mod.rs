//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use generators::toolchain::{run, Compiler, ProcOutput};

/// The compiler `name`; a missing compiler fails the test and names `ci/setup`.
pub fn require_compiler(name: &str) -> Compiler {
    match Compiler::find(name) {
        Ok(c) => c,
        Err(e) => panic!(
            "this test needs the compiler `{name}` ({e}); install the toolchains with `ci/setup`"
        ),
    }
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

/// Runs a command under a timeout, returning its output or a readable error.
pub fn run_cmd(cmd: &mut Command, secs: u64) -> Result<ProcOutput, String> {
    run(cmd, Duration::from_secs(secs)).map_err(|e| e.to_string())
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
