//! `btfenc`: a pahole-compatible command line over the `encoder` crate.
//!
//! Accepts pahole's spellings (`-J`, `-j[N]`, `--btf_features=LIST`, `--btf_base FILE`, ...), plus
//! `--explain` / `--explain-json` to list the functions that got no FUNC and why.
//! Exit status: 0 success, 2 error.

use anyhow::{bail, Context};
use encoder::{Features, Options};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The version kbuild reads (`pahole --version` → vMAJOR.MINOR); 1.30 enables the modern flags.
const VERSION: &str = "v1.30";

#[derive(Debug, Default)]
struct Args {
    encode: bool,
    detached: Option<PathBuf>,
    base: Option<PathBuf>,
    jobs: Option<usize>,
    features_list: Option<String>,
    features_strict: bool,
    legacy: Vec<(&'static str, bool)>,
    lang_exclude: Vec<String>,
    explain: bool,
    explain_json: bool,
    flatten_arrays: Option<bool>,
    verbose: bool,
    files: Vec<PathBuf>,
    version: bool,
    supported: bool,
    help: bool,
}

const USAGE: &str = "usage: btfenc [-J] [-j[N]] [--btf_encode_detached=FILE] [--btf_base=FILE]
              [--btf_features=LIST] [--lang_exclude=LANGS] [--explain | --explain-json] FILE
  -J, --btf_encode             add a .BTF section to FILE
  --btf_encode_detached=OUT    write raw BTF to OUT instead
  --btf_base=BASE              encode split BTF over BASE (e.g. vmlinux)
  -j[N], --jobs[=N]            walk compilation units on N threads (output is identical)
  --btf_features=LIST          pahole feature names (default, encode_force, var, float, ...)
  --btf_flatten_arrays         int a[2][3] as one array of 6 (pahole <= 1.31; default with a flat base)
  --btf_nested_arrays          int a[2][3] as an array of arrays (pahole 1.32; default otherwise)
  --supported_btf_features     list the feature names
  --explain, --explain-json    list functions with code that got no FUNC, and why
  --version                    print the pahole version we are compatible with
";

fn parse(argv: Vec<String>) -> anyhow::Result<Args> {
    let mut a = Args::default();
    let mut it = argv.into_iter().skip(1).peekable();
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> anyhow::Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .with_context(|| format!("option {name} needs a value")),
            }
        };
        match key.as_str() {
            "-J" | "--btf_encode" => a.encode = true,
            "--btf_encode_detached" => a.detached = Some(value(&key)?.into()),
            "--btf_base" => a.base = Some(value(&key)?.into()),
            "--btf_features" => a.features_list = Some(value(&key)?),
            "--btf_features_strict" => {
                a.features_list = Some(value(&key)?);
                a.features_strict = true;
            }
            "--supported_btf_features" => a.supported = true,
            "--lang_exclude" => a
                .lang_exclude
                .extend(value(&key)?.split(',').map(str::to_string)),
            "--jobs" => {
                a.jobs = Some(
                    inline
                        .as_deref()
                        .map_or(Ok(0), str::parse)
                        .context("bad --jobs")?,
                )
            }
            "--btf_gen_floats" | "--btf_gen_all" => a.legacy.push(("float", true)),
            "--skip_encoding_btf_vars" => a.legacy.push(("var", false)),
            "--skip_encoding_btf_decl_tag" => a.legacy.push(("decl_tag", false)),
            "--skip_encoding_btf_type_tag" => a.legacy.push(("type_tag", false)),
            "--skip_encoding_btf_enum64" => a.legacy.push(("enum64", false)),
            "--btf_encode_force" => a.legacy.push(("encode_force", true)),
            // Always on in btfenc: the function safety checks.
            "--skip_encoding_btf_inconsistent_proto"
            | "--btf_gen_optimized"
            | "--reproducible_build" => {}
            "--btf_flatten_arrays" => a.flatten_arrays = Some(true),
            "--btf_nested_arrays" => a.flatten_arrays = Some(false),
            "--explain" => a.explain = true,
            "--explain-json" => a.explain_json = true,
            "-V" | "--verbose" => a.verbose = true,
            "-q" | "--quiet" => {}
            "--version" => a.version = true,
            "-h" | "--help" => a.help = true,
            s if s.starts_with("-j") => {
                let n = &s[2..];
                a.jobs = Some(if n.is_empty() {
                    0
                } else {
                    n.parse().with_context(|| format!("bad job count: {n}"))?
                });
            }
            s if s.starts_with('-') && s.len() > 1 => match pahole_only_option(s) {
                Some((name, what)) => bail!(
                    "option {name} ({what}) is not implemented: btfenc only encodes BTF \
                     (-J, --btf_encode_detached=FILE); use pahole to print or inspect types"
                ),
                None => bail!("unknown option: {s}"),
            },
            _ => a.files.push(arg.into()),
        }
    }
    Ok(a)
}

/// pahole options btfenc does not implement (its type printing and inspection modes, and the
/// BTF/DWARF loaders they choose between): the option as pahole spells it and what it does.
/// Matched on the long name, or on the short letter alone or with its value attached (`-Fbtf`).
const PAHOLE_ONLY: &[(&str, &str, &str)] = &[
    ("-F", "--format_path", "choose the debug-info formats to read types from"),
    ("-C", "--class_name", "print the named types"),
    ("-E", "--expand_types", "print types expanded"),
    ("-s", "--sizes", "print type sizes"),
    ("-a", "--anon_include", "print anonymous types"),
    ("-A", "--nested_anon_include", "print nested anonymous types"),
    ("-i", "--contains", "print types that contain a type"),
    ("-M", "--show_only_data_members", "print only data members"),
    ("-R", "--reorganize", "print reorganized structs"),
    ("-S", "--show_reorg_steps", "print reorganization steps"),
    ("-H", "--holes", "print types with holes"),
    ("-I", "--show_decl_info", "print declaration information"),
    ("-l", "--show_first_biggest_size_base_type_member", "print the biggest member"),
    ("-m", "--nr_methods", "print method counts"),
    ("-n", "--nr_members", "print member counts"),
    ("-N", "--class_name_len", "print type name lengths"),
    ("-P", "--packable", "print packable structs"),
    ("-p", "--expand_pointers", "print types behind pointers"),
    ("-r", "--rel_offset", "print relative offsets"),
    ("-t", "--separator", "set the printing separator"),
    ("-T", "--nr_definitions", "print definition counts"),
    ("-u", "--defined_in", "print where types are defined"),
    ("-x", "--exclude", "exclude types from printing"),
    ("-y", "--prefix_filter", "print types with a name prefix"),
    ("-z", "--hex", "print offsets in hex"),
    ("-d", "--recursive", "print types recursively"),
    ("-e", "--expand_types", "print types expanded"),
    ("-f", "--find_pointers_to", "print pointers to a type"),
    ("-k", "--kabi_prefix", "set a kABI prefix for printing"),
    ("-Z", "--ctf_encode", "encode CTF"),
    ("", "--prettify", "pretty-print raw data"),
    ("", "--header", "read a header type from data"),
    ("", "--seek_bytes", "seek in raw data"),
    ("", "--size_bytes", "read raw data"),
    ("", "--count", "count records in raw data"),
    ("", "--with_flexible_array", "print types with flexible arrays"),
    ("", "--with_embedded_flexible_array", "print types embedding flexible arrays"),
    ("", "--running_kernel_vmlinux", "find the running kernel's vmlinux"),
    ("", "--structs", "print struct names"),
    ("", "--unions", "print union names"),
    ("", "--compile", "print compilable types"),
    ("", "--sort", "sort printed types"),
];

fn pahole_only_option(opt: &str) -> Option<(&'static str, &'static str)> {
    PAHOLE_ONLY.iter().find_map(|&(short, long, what)| {
        if opt == long {
            Some((long, what))
        } else if !short.is_empty() && !opt.starts_with("--") && opt.starts_with(short) {
            Some((short, what))
        } else {
            None
        }
    })
}

fn features(a: &Args) -> anyhow::Result<Features> {
    if let Some(list) = &a.features_list {
        let (f, unknown) = Features::from_list(list);
        if a.features_strict && !unknown.is_empty() {
            bail!("unknown BTF features: {}", unknown.join(","));
        }
        return Ok(f);
    }
    let mut f = Features::default();
    for &(name, on) in &a.legacy {
        match (name, on) {
            ("float", v) => f.float = v,
            ("var", v) => f.var = v,
            ("decl_tag", v) => f.decl_tag = v,
            ("type_tag", v) => f.type_tag = v,
            ("enum64", v) => f.enum64 = v,
            ("encode_force", v) => f.encode_force = v,
            _ => {}
        }
    }
    Ok(f)
}

fn write_atomic(path: &std::path::Path, data: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path.file_name().context("output path has no file name")?;
    let tmp = dir.join(format!(
        ".{}.btfenc.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.help {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    if a.version {
        println!("{VERSION}");
        return Ok(ExitCode::SUCCESS);
    }
    if a.supported {
        println!("{}", encoder::features::KNOWN.join(","));
        return Ok(ExitCode::SUCCESS);
    }
    let file = match a.files.as_slice() {
        [file] => file,
        // `pahole TYPE FILE`: pahole prints the named type.
        [ty, file] => bail!(
            "printing types (pahole {} {}) is not implemented: btfenc only encodes BTF \
             (-J, --btf_encode_detached=FILE); use pahole to print or inspect types",
            ty.display(),
            file.display()
        ),
        files => bail!(
            "expected exactly one input file, got {}\n{USAGE}",
            files.len()
        ),
    };
    let base = match &a.base {
        Some(p) => {
            let bytes =
                std::fs::read(p).with_context(|| format!("reading base {}", p.display()))?;
            let b = btf::Btf::parse_file_bytes(&bytes, None)
                .map_err(encoder::EncodeError::Base)
                .with_context(|| format!("base {}", p.display()))?;
            Some(Arc::new(b))
        }
        None => None,
    };
    // Without -j, one worker thread, as pahole starts one.
    let jobs = Some(match a.jobs {
        None => 1,
        Some(0) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(n) => n,
    });
    let opts = Options {
        features: features(&a)?,
        base,
        jobs,
        lang_exclude: a
            .lang_exclude
            .iter()
            .flat_map(|l| encoder::lang_codes(l))
            .collect(),
        flatten_arrays: a.flatten_arrays,
    };
    let data = encoder::read_input(file).with_context(|| format!("reading {}", file.display()))?;
    let out = encoder::encode_input(&data, &opts)
        .with_context(|| format!("encoding {}", file.display()))?;
    if a.explain_json {
        println!("{}", serde_json::to_string_pretty(&out.report)?);
    } else if a.explain {
        print!("{}", out.report.explain_text());
    } else if a.verbose {
        // pahole's lines on stdout (scripts parse them), our reasons on stderr.
        let funcs: std::collections::HashSet<&str> = out
            .btf
            .own_types()
            .iter()
            .filter(|t| matches!(t.data, btf::types::TypeData::Func(_)))
            .map(|t| out.btf.str(t.name))
            .collect();
        print!(
            "{}",
            out.report
                .pahole_skip_lines(&|name: &str| funcs.contains(name))
        );
        eprint!("{}", out.report.explain_text());
    }
    let bytes = out.btf.to_bytes().map_err(encoder::EncodeError::Write)?;
    if let Some(path) = &a.detached {
        write_atomic(path, &bytes)?;
    } else if a.encode {
        let elf = encoder::elf::add_btf_section(&data, &bytes)
            .with_context(|| format!("adding .BTF to {}", file.display()))?;
        write_atomic(file, &elf)?;
    } else if !a.explain && !a.explain_json {
        print!("{}", btf::dump::dump_to_string(&out.btf));
    }
    // The process ends here: freeing the BTF and the report one allocation at a time would
    // only delay the exit (~10 ms on a kernel).
    std::mem::forget(out);
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let result = parse(std::env::args().collect()).and_then(run);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("btfenc: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
