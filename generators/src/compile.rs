//! Compiling C for a userspace object: the one place that knows the compilers (a [`Family`] and
//! an executable), their command lines, flags and time limit, and runs tools under that limit.
//!
//! Two users, one set of command lines:
//! - the generators' statistics and tests compile with [`compile_unit`] and [`BASE_FLAGS`];
//! - the harness's build stage (`harness/src/pipeline.rs`) and each finding's `build.sh` take
//!   [`case_flags`], [`object_args`], [`link_args`] and [`COMPILE_TIMEOUT`] from here and run
//!   them through the same runner ([`crate::process::run`]), keeping every [`ProcRes`] for the
//!   finding.
//!
//! Kernel modules are not compiled here: kbuild (`harness/src/vm/kbuild.rs`) derives the
//! compiler's command line from the kernel's configuration; the harness only runs `make`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::GenError;
use crate::process::{self, ProcRes};

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

/// Time limit for one compiler run.
pub const COMPILE_TIMEOUT: Duration = Duration::from_secs(120);

/// Compiles `dir/src` to `dir/obj` with the standard flags plus `opt` and `extra`, within
/// [`COMPILE_TIMEOUT`]; a compiler that fails or runs past it is [`GenError::ToolFailed`].
pub fn compile_unit(
    cc: &Compiler,
    opt: &str,
    extra: &[&str],
    dir: &Path,
    src: &str,
    obj: &str,
) -> Result<ProcRes, GenError> {
    let mut cmd = Command::new(&cc.path);
    cmd.current_dir(dir)
        .arg(opt)
        .args(BASE_FLAGS)
        .args(extra)
        .args(["-c", src, "-o", obj]);
    let res = process::run(cmd, COMPILE_TIMEOUT).map_err(|source| GenError::Spawn {
        program: cc.path.display().to_string(),
        source,
    })?;
    Ok(res.check()?)
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
