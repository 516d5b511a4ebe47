//! Writing a program to a directory: sources, build files, ground truth.

use std::fmt::Write as _;
use std::path::Path;

use crate::emit::{Emitter, Flavour};
use crate::error::GenError;
use crate::model::{Program, Scalar, Ty};
use crate::compile::BASE_FLAGS;
use crate::truth::GroundTruth;

fn write(path: &Path, text: &str) -> Result<(), GenError> {
    std::fs::write(path, text).map_err(|source| GenError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The `build.sh` of the user flavour: the exact commands btfsmith runs. `CC` and `OPT` may be
/// overridden from the environment (defaults `gcc` and `-O2`).
pub fn user_build_script(prog: &Program) -> String {
    let flags = BASE_FLAGS.join(" ");
    let mut o = String::from(
        "#!/bin/sh\n# Builds this program exactly as btfsmith does. Override CC (default gcc) and OPT (default -O2).\nset -eu\ncd \"$(dirname \"$0\")\"\nCC=\"${CC:-gcc}\"\nOPT=\"${OPT:--O2}\"\n",
    );
    let mut objs = Vec::new();
    for unit in prog
        .tus
        .iter()
        .map(|t| t.name.clone())
        .chain(std::iter::once("main".to_string()))
    {
        let _ = writeln!(o, "\"$CC\" $OPT {flags} -c {unit}.c -o {unit}.o");
        objs.push(format!("{unit}.o"));
    }
    let _ = writeln!(o, "\"$CC\" $OPT -o prog {}", objs.join(" "));
    o
}

/// The `build.sh` of the module flavour: kbuild against `KDIR` (required).
pub fn module_build_script() -> String {
    "#!/bin/sh\n# Builds prog.ko with kbuild. KDIR must name a configured kernel headers directory\n# (ci/setup installs one; see toolchains.toml [kernel].headers).\nset -eu\ncd \"$(dirname \"$0\")\"\n: \"${KDIR:?set KDIR to the kernel headers directory}\"\nmake -C \"$KDIR\" M=\"$PWD\" modules\n".to_string()
}

const MODULE_MAKEFILE: &str = "KDIR ?= /lib/modules/$(shell uname -r)/build\n\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n\nclean:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) clean\n";

/// Writes the C files, `build.sh` (plus `Kbuild` and `Makefile` for modules) and
/// `ground_truth.json` into `dir` (created if missing). Returns the ground truth.
pub fn write_program(
    prog: &Program,
    flavour: Flavour,
    dir: &Path,
) -> Result<GroundTruth, GenError> {
    if flavour == Flavour::Module {
        // The kernel compiles with `-mno-fp-ret-in-387`, even in CC_FLAGS_FPU units: a
        // `long double` cannot be returned (parameters are fine).
        let ld = Ty::Scalar(Scalar::LongDouble);
        if let Some(f) = prog.functions.iter().find(|f| *prog.resolve(&f.ret) == ld) {
            return Err(GenError::NotForModule {
                what: format!(
                    "{} returns long double, and the kernel builds with x87 returns disabled",
                    f.name
                ),
            });
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| GenError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let em = Emitter::new(prog, flavour);
    for f in em.sources() {
        write(&dir.join(&f.name), &f.text)?;
    }
    let script = match flavour {
        Flavour::User => user_build_script(prog),
        Flavour::Module => {
            write(&dir.join("Kbuild"), &em.kbuild())?;
            write(&dir.join("Makefile"), MODULE_MAKEFILE)?;
            module_build_script()
        }
    };
    let build = dir.join("build.sh");
    write(&build, &script)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&build, std::fs::Permissions::from_mode(0o755));
    }
    let truth = GroundTruth::of(prog, flavour);
    let json = serde_json::to_string_pretty(&truth).map_err(|source| GenError::Json {
        what: "ground truth".into(),
        source,
    })?;
    write(&dir.join("ground_truth.json"), &json)?;
    Ok(truth)
}
