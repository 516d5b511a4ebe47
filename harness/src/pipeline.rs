//! One case through the tools: compile its translation units, link them, read the DWARF truth,
//! then run every encoder on the linked binary.
//!
//! The binary is a linked executable, like vmlinux: addresses are final, every static function
//! keeps its own symbol, and kallsyms' "first match" is the lowest address. A case without `main`
//! gets a stub one compiled without debug info, so it adds no DWARF.
//!
//! The command lines, flags and time limit come from [`generators::compile`]; this stage runs
//! them and keeps every run ([`ProcRes`]) for the finding.

use crate::config::{CompilerSetup, EncoderSetup};
use crate::names::EncoderTool;
use facts::dwarf::{self, Facts};
use facts::types::TypeFacts;
use crate::process::{self, ProcRes};
use btf::Btf;
use generators::compile;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A compiled case.
#[derive(Debug)]
pub struct Build {
    /// The compiler setup.
    pub compiler: CompilerSetup,
    /// The linked binary.
    pub binary: PathBuf,
    /// The sources it was built from, in link order.
    pub sources: Vec<PathBuf>,
    /// What the DWARF says.
    pub facts: Facts,
    /// The DWARF's types, read once per build for the type-fidelity oracle; the error when this
    /// reader could not read them (the oracle then judges nothing, the others still run).
    pub types: Result<TypeFacts, String>,
    /// Every compiler and linker run, in order.
    pub procs: Vec<ProcRes>,
}

/// Why a case could not be built. Not a finding: the encoders never ran.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A compiler or linker failed (or timed out).
    #[error("{0}")]
    Tool(#[from] process::ToolFailed),
    /// A tool could not be started.
    #[error("cannot run the compiler: {0}")]
    Spawn(#[from] std::io::Error),
    /// The DWARF of the result could not be read.
    #[error("reading the DWARF truth: {0:#}")]
    Dwarf(anyhow::Error),
}

/// Compiles `sources` with `compiler` into `dir` and links them.
pub fn build(sources: &[PathBuf], compiler: &CompilerSetup, dir: &Path) -> Result<Build, BuildError> {
    std::fs::create_dir_all(dir)?;
    let mut procs = Vec::new();
    let mut objects = Vec::new();
    for src in sources {
        let stem = src.file_stem().map_or("tu".into(), |s| s.to_string_lossy().into_owned());
        let obj = dir.join(format!("{stem}.o"));
        let args = compile::object_args(compile::case_flags(&compiler.opt), src, &obj);
        let res = process::run(process::command(&compiler.path, &args, None), compile::COMPILE_TIMEOUT)?.check()?;
        procs.push(res);
        objects.push(obj);
    }
    if !objects.iter().any(|o| defines_main(o)) {
        let stub = dir.join("btfsmith_main.c");
        std::fs::write(&stub, compile::STUB_MAIN)?;
        let obj = dir.join("btfsmith_main.o");
        let args = compile::object_args(compile::STUB_MAIN_FLAGS.map(String::from).to_vec(), &stub, &obj);
        procs.push(process::run(process::command(&compiler.path, &args, None), compile::COMPILE_TIMEOUT)?.check()?);
        objects.push(obj);
    }
    let binary = dir.join("prog");
    let args = compile::link_args(&objects, &binary);
    procs.push(process::run(process::command(&compiler.path, &args, None), compile::COMPILE_TIMEOUT)?.check()?);
    let facts = dwarf::read_file(&binary).map_err(|e| BuildError::Dwarf(e.into()))?;
    let types = facts::types::read_file(&binary).map_err(|e| format!("{e:#}"));
    Ok(Build { compiler: compiler.clone(), binary, sources: sources.to_vec(), facts, types, procs })
}

fn defines_main(object_path: &Path) -> bool {
    use object::{Object, ObjectSymbol};
    let Ok(data) = std::fs::read(object_path) else { return false };
    let Ok(file) = object::File::parse(&*data) else { return false };
    let found = file.symbols().any(|s| s.is_definition() && s.name() == Ok("main"));
    found
}

/// What running one encoder produced.
#[derive(Debug)]
pub struct Encoding {
    /// The encoder setup.
    pub encoder: EncoderSetup,
    /// The run.
    pub proc: ProcRes,
    /// Where its BTF went.
    pub output: PathBuf,
    /// The parsed BTF, or why there is none. For `gcc -gbtf`, every object's BTF appended into
    /// one blob (for the differential oracle and the finding's files; never judged as shipped).
    pub btf: Result<Btf, EncodeFailure>,
    /// `gcc -gbtf` only: each object's own `.BTF` as the compiler ships it, DATASECs laid out
    /// from the object's sections the way libbpf does when it loads an object. What the
    /// DWARF-truth and kernel-load oracles judge for that configuration.
    pub objects: Vec<ObjectBtf>,
}

/// One object's `.BTF` from `gcc -gbtf`.
#[derive(Debug, Clone)]
pub struct ObjectBtf {
    /// The unit's source, as passed to the compiler (the DWARF unit's name).
    pub source: PathBuf,
    /// The object file.
    pub object: PathBuf,
    /// Its BTF.
    pub btf: Btf,
}

/// Why an encoder produced no usable BTF.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum EncodeFailure {
    /// Killed at its timeout.
    Timeout,
    /// Killed by a signal (a crash).
    Crash(String),
    /// Exited non-zero.
    Failed(String),
    /// Exited 0 but its output is missing or not valid BTF.
    Unreadable(String),
    /// Could not be started.
    Spawn(String),
}

/// The encoder's command line for `input` → `output`.
pub fn encoder_args(encoder: &EncoderSetup, input: &Path, output: &Path) -> Vec<String> {
    let mut args = encoder.config.args.clone();
    args.push(format!("--btf_encode_detached={}", output.display()));
    args.push(input.display().to_string());
    args
}

/// Runs `encoder` on `input`, writing `output` (removed first).
pub fn encode(encoder: &EncoderSetup, input: &Path, output: &Path) -> Encoding {
    let _ = std::fs::remove_file(output);
    encode_over(encoder, input, output)
}

/// Runs `encoder` on `input`, writing `output` over whatever file is already there (the
/// encoder-behaviour oracle's check that an existing output file does not leak into the result).
pub fn encode_over(encoder: &EncoderSetup, input: &Path, output: &Path) -> Encoding {
    let args = encoder_args(encoder, input, output);
    let cmd = process::command(&encoder.path, &args, None);
    let proc = match process::run(cmd, Duration::from_secs(encoder.config.timeout_secs)) {
        Ok(p) => p,
        Err(e) => {
            let line = process::cmdline(&process::command(&encoder.path, &args, None));
            return Encoding {
                encoder: encoder.clone(),
                proc: ProcRes { cmdline: line, status: None, stdout: Vec::new(), stderr: e.to_string().into_bytes(), truncated: false, elapsed: Duration::ZERO },
                output: output.to_path_buf(),
                btf: Err(EncodeFailure::Spawn(e.to_string())),
                objects: Vec::new(),
            };
        }
    };
    let btf = classify_run(&proc).and_then(|()| {
        let bytes = std::fs::read(output).map_err(|e| EncodeFailure::Unreadable(format!("no output {}: {e}", output.display())))?;
        Btf::parse(&bytes, None).map_err(|e| EncodeFailure::Unreadable(e.to_string()))
    });
    Encoding { encoder: encoder.clone(), proc, output: output.to_path_buf(), btf, objects: Vec::new() }
}

fn classify_run(proc: &ProcRes) -> Result<(), EncodeFailure> {
    use std::os::unix::process::ExitStatusExt;
    let tail = || {
        let err = proc.stderr_text();
        err.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    match proc.status {
        None => Err(EncodeFailure::Timeout),
        Some(s) if s.signal().is_some() => Err(EncodeFailure::Crash(format!("signal {}: {}", s.signal().unwrap_or(0), tail()))),
        Some(s) if !s.success() => Err(EncodeFailure::Failed(format!("{s}: {}", tail()))),
        Some(_) => Ok(()),
    }
}

/// Runs `encoder` on a build. `None` when the configuration does not apply to it (`gcc -gbtf` on
/// a clang build, or on another gcc release's build: each gcc's `-gbtf` is its own
/// configuration, whose executable is that gcc, see `config::gcc_btf_setups`).
pub fn encode_build(encoder: &EncoderSetup, build: &Build, output: &Path) -> Option<Encoding> {
    if encoder.config.tool != EncoderTool::GccBtf {
        return Some(encode(encoder, &build.binary, output));
    }
    if build.compiler.family != compile::Family::Gcc || build.compiler.path != encoder.path {
        return None;
    }
    Some(encode_gcc_btf(encoder, build, output))
}

/// `gcc -gbtf`: compile each unit again with the configuration's flags (after the build's own -O
/// level), take each object's `.BTF`, and append them into one blob — the per-object BTF as the
/// objects carry it, no deduplication across them (gcc has none).
fn encode_gcc_btf(encoder: &EncoderSetup, build: &Build, output: &Path) -> Encoding {
    let _ = std::fs::remove_file(output);
    let dir = output.with_extension("objs");
    let mut merged = Btf::new(None);
    let mut objects = Vec::new();
    let mut last: Option<ProcRes> = None;
    let mut failure = None;
    let _ = std::fs::create_dir_all(&dir);
    for src in &build.sources {
        let stem = src.file_stem().map_or("tu".into(), |s| s.to_string_lossy().into_owned());
        let obj = dir.join(format!("{stem}.o"));
        let flags = std::iter::once(build.compiler.opt.clone()).chain(encoder.config.args.iter().cloned()).collect();
        let args = compile::object_args(flags, src, &obj);
        let cmd = process::command(&build.compiler.path, &args, None);
        let proc = match process::run(cmd, Duration::from_secs(encoder.config.timeout_secs)) {
            Ok(p) => p,
            Err(e) => {
                failure = Some(EncodeFailure::Spawn(e.to_string()));
                break;
            }
        };
        if let Err(f) = classify_run(&proc) {
            failure = Some(f);
            last = Some(proc);
            break;
        }
        let blob = std::fs::read(&obj).map_err(|e| e.to_string()).and_then(|bytes| {
            let mut b = Btf::parse_elf(&bytes, None).map_err(|e| e.to_string())?;
            lay_out_datasecs(&mut b, &bytes);
            Ok(b)
        });
        match blob {
            Ok(b) => {
                merged.append(&b);
                objects.push(ObjectBtf { source: src.clone(), object: obj.clone(), btf: b });
            }
            Err(e) => {
                failure = Some(EncodeFailure::Unreadable(format!("{}: {e}", obj.display())));
                last = Some(proc);
                break;
            }
        }
        last = Some(proc);
    }
    let proc = last.unwrap_or(ProcRes { cmdline: format!("{} -gbtf", build.compiler.path.display()), status: None, stdout: Vec::new(), stderr: Vec::new(), truncated: false, elapsed: Duration::ZERO });
    let btf = match failure {
        Some(f) => Err(f),
        None => merged
            .to_bytes()
            .map_err(|e| EncodeFailure::Unreadable(e.to_string()))
            .and_then(|bytes| {
                std::fs::write(output, &bytes).map_err(|e| EncodeFailure::Unreadable(e.to_string()))?;
                Btf::parse(&bytes, None).map_err(|e| EncodeFailure::Unreadable(e.to_string()))
            }),
    };
    Encoding { encoder: encoder.clone(), proc, output: output.to_path_buf(), btf, objects }
}

/// What libbpf does to an object's BTF before the kernel sees it: a DATASEC of size 0 (the
/// compiler does not know the final layout) gets its ELF section's size, and each variable in it
/// the offset of its symbol. Without this, judging a `gcc -gbtf` object's BTF would only restate
/// that objects are not linked.
fn lay_out_datasecs(btf: &mut Btf, elf: &[u8]) {
    use object::{Object, ObjectSection, ObjectSymbol};
    let Ok(file) = object::File::parse(elf) else { return };
    let mut types = btf.own_types().to_vec();
    let mut changed = false;
    for ty in types.iter_mut() {
        let name = btf.str(ty.name).to_string();
        let btf::TypeData::Datasec(sec) = &ty.data else { continue };
        if sec.size != 0 {
            continue;
        }
        let Some(section) = file.section_by_name(&name) else { continue };
        let mut sec = sec.clone();
        sec.size = u32::try_from(section.size()).unwrap_or(u32::MAX);
        for v in &mut sec.vars {
            let var_name = btf.type_by_id(v.ty).map(|t| btf.str(t.name).to_string()).unwrap_or_default();
            if let Some(sym) = file.symbols().find(|s| s.name() == Ok(var_name.as_str()) && s.section_index() == Some(section.index())) {
                v.offset = u32::try_from(sym.address()).unwrap_or(v.offset);
            }
        }
        ty.data = btf::TypeData::Datasec(sec);
        changed = true;
    }
    if changed {
        btf.set_types(types);
    }
}
