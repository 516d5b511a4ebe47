//! Compiling C for a userspace object: the one place that knows the compilers (a [`Family`] and
//! an executable), their command lines, flags and time limit, and runs tools under that limit.
//!
//! Two users, one set of command lines:
//! - the generators' statistics and tests compile with [`compile_unit`] and [`BASE_FLAGS`];
//! - the harness's build stage (`harness/src/pipeline.rs`) and each finding's `build.sh` take
//!   [`case_flags`], [`object_args`], [`link_args`] and [`COMPILE_TIMEOUT`] from here and run
//!   them through the harness's own recorder (its `ProcRes` keeps every run for the finding).
//!
//! Kernel modules are not compiled here: kbuild (`harness/src/vm/kbuild.rs`) derives the
//! compiler's command line from the kernel's configuration; the harness only runs `make`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wait_timeout::ChildExt;

use crate::error::GenError;

/// Compiler family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// GNU C.
    Gcc,
    /// clang.
    Clang,
}

impl std::str::FromStr for Family {
    type Err = String;
    /// `gcc` or `clang`, as toolchain manifests and configurations name them.
    fn from_str(s: &str) -> Result<Family, String> {
        match s {
            "gcc" => Ok(Family::Gcc),
            "clang" => Ok(Family::Clang),
            other => Err(format!("{other:?} is not a C compiler family (gcc, clang)")),
        }
    }
}

/// A C compiler: a family and the executable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compiler {
    /// Family (decides clone naming, flags).
    pub family: Family,
    /// Executable name or path.
    pub path: PathBuf,
}

impl Compiler {
    /// A compiler by name (`gcc`, `clang`, `clang-19`, `gcc-12`) or path; the family comes from
    /// the file name. Fails naming `ci/setup` when the executable is not found.
    pub fn find(name: &str) -> Result<Compiler, GenError> {
        let file = Path::new(name)
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or(name);
        let family = if file.contains("clang") {
            Family::Clang
        } else {
            Family::Gcc
        };
        let path = if name.contains('/') {
            PathBuf::from(name)
        } else {
            std::env::var_os("PATH")
                .and_then(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join(name))
                        .find(|c| c.is_file())
                })
                .ok_or_else(|| GenError::Spawn {
                    program: name.to_string(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found on PATH"),
                })?
        };
        if !path.is_file() {
            return Err(GenError::Spawn {
                program: name.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        Ok(Compiler { family, path })
    }

    /// The executable as text.
    pub fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        )
    }
}

/// The flags the generators compile every generated unit with (besides `-O`): debug info,
/// warnings and the C dialect. Their statistics and tests use them, and the `build.sh` a
/// written program carries.
pub const BASE_FLAGS: [&str; 4] = ["-g", "-Wall", "-Wextra", "-std=gnu11"];

/// The flags a campaign build compiles each unit with: debug info for the encoders, the `-O`
/// level of the compiler setup, and warnings. Fewer than [`BASE_FLAGS`]: user sources
/// (`btfsmith check`) and corpus cases are built the same way, in any dialect.
pub fn case_flags(opt: &str) -> Vec<String> {
    vec!["-g".into(), opt.into(), "-Wall".into()]
}

/// `FLAGS -c SRC -o OBJ`: the arguments that compile one unit to an object.
pub fn object_args(flags: Vec<String>, src: &Path, obj: &Path) -> Vec<String> {
    let mut args = flags;
    args.extend(["-c".into(), src.display().to_string(), "-o".into(), obj.display().to_string()]);
    args
}

/// `OBJECTS... -o OUT`: the arguments that link objects into an executable.
pub fn link_args(objects: &[PathBuf], out: &Path) -> Vec<String> {
    let mut args: Vec<String> = objects.iter().map(|o| o.display().to_string()).collect();
    args.extend(["-o".into(), out.display().to_string()]);
    args
}

/// The `main` a case without one is linked with, compiled with [`STUB_MAIN_FLAGS`] (no `-g`, so
/// it adds no DWARF).
pub const STUB_MAIN: &str = "int main(void) { return 0; }\n";

/// The flags [`STUB_MAIN`] is compiled with.
pub const STUB_MAIN_FLAGS: [&str; 1] = ["-O2"];

/// What a finished tool run produced.
#[derive(Debug, Clone)]
pub struct ProcOutput {
    /// Command line as text.
    pub cmdline: String,
    /// Exit success.
    pub success: bool,
    /// Exit status as text.
    pub status: String,
    /// Standard output (capped at 64 KiB).
    pub stdout: String,
    /// Standard error (capped at 64 KiB).
    pub stderr: String,
}

const CAP: usize = 64 * 1024;

/// Runs `cmd` with a time limit, capturing output. Kills the child on timeout.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<ProcOutput, GenError> {
    let cmdline = format!("{cmd:?}");
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| GenError::Spawn { program, source })?;
    // Drain the pipes on threads so a chatty child cannot block.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let t_out = std::thread::spawn(move || read_capped(out.as_mut()));
    let t_err = std::thread::spawn(move || read_capped(err.as_mut()));
    let status = match child
        .wait_timeout(timeout)
        .map_err(|source| GenError::Spawn {
            program: cmdline.clone(),
            source,
        })? {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(GenError::Timeout {
                cmdline,
                seconds: timeout.as_secs(),
            });
        }
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    Ok(ProcOutput {
        cmdline,
        success: status.success(),
        status: status.to_string(),
        stdout,
        stderr,
    })
}

fn read_capped<R: Read>(r: Option<&mut R>) -> String {
    let mut buf = Vec::new();
    if let Some(r) = r {
        let _ = r.take(CAP as u64).read_to_end(&mut buf);
        // Keep draining so the child never blocks on a full pipe.
        let _ = std::io::copy(r, &mut std::io::sink());
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Runs `cmd` and turns a non-zero exit into [`GenError::ToolFailed`].
pub fn run_ok(cmd: &mut Command, timeout: Duration) -> Result<ProcOutput, GenError> {
    let out = run(cmd, timeout)?;
    if out.success {
        Ok(out)
    } else {
        Err(GenError::ToolFailed {
            cmdline: out.cmdline,
            status: out.status,
            stderr: out.stderr,
        })
    }
}

/// Time limit for one compiler run.
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// Compiles `dir/src` to `dir/obj` with the standard flags plus `opt` and `extra`.
pub fn compile_unit(
    cc: &Compiler,
    opt: &str,
    extra: &[&str],
    dir: &Path,
    src: &str,
    obj: &str,
) -> Result<ProcOutput, GenError> {
    let mut cmd = Command::new(&cc.path);
    cmd.current_dir(dir)
        .arg(opt)
        .args(BASE_FLAGS)
        .args(extra)
        .args(["-c", src, "-o", obj]);
    run_ok(&mut cmd, COMPILE_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_unit_compiles_with_debug_info_its_level_and_warnings() {
        let args = object_args(case_flags("-O2"), Path::new("src/a.c"), Path::new("out/a.o"));
        assert_eq!(args, ["-g", "-O2", "-Wall", "-c", "src/a.c", "-o", "out/a.o"]);
    }

    #[test]
    fn linking_lists_the_objects_in_order() {
        let objects = [PathBuf::from("b.o"), PathBuf::from("a.o")];
        assert_eq!(link_args(&objects, Path::new("prog")), ["b.o", "a.o", "-o", "prog"]);
    }

    #[test]
    fn families_parse_from_their_names_only() {
        assert_eq!("gcc".parse::<Family>(), Ok(Family::Gcc));
        assert_eq!("clang".parse::<Family>(), Ok(Family::Clang));
        assert!("gcc-12".parse::<Family>().unwrap_err().contains("not a C compiler family"));
    }
}
