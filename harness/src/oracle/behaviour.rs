//! Encoder behaviour: what the encoder's exit status, messages and output file say about each
//! other, and whether the same input always gives the same output.
//!
//! For every encoding that succeeded (failures are [`super::run::EncoderRun`]'s), the encoder is
//! run again, on the same binary, three ways:
//! - into an output file that already exists and is larger than the result (a rebuild writes over
//!   the previous build's file): the result must be byte-identical to the fresh run's — an encoder
//!   that does not truncate leaves the old file's tail behind, and the kernel rejects the blob
//!   (ENCODER_MISBEHAVED `output:existing-file-kept`);
//! - again, unchanged: the bytes must be identical (NON_DETERMINISTIC `nondeterministic:rerun`);
//! - with its `-j`/`-jN` removed, when it had one: the bytes must be identical to the threaded
//!   run's (NON_DETERMINISTIC `nondeterministic:jobs`).
//!
//! And from the first run itself: exit status 0 but an error on stderr
//! (ENCODER_MISBEHAVED `output:error-but-exit-0`); exit status 0 and a BTF with no types at all
//! although the binary has functions with DWARF (ENCODER_MISBEHAVED `output:empty`).
//!
//! `gcc -gbtf` is not an encoder run of its own (the compiler writes BTF per object) and is not
//! checked here.

use super::{CaseRun, Oracle, Verdict, VerdictKind};
use crate::pipeline::{self, Encoding};

/// The encoder-behaviour oracle.
#[derive(Debug)]
pub struct EncoderBehaviour;

/// A line an encoder prints only when something went wrong (warnings are not errors).
fn error_line(stderr: &str) -> Option<&str> {
    stderr.lines().find(|l| {
        let l = l.to_ascii_lowercase();
        !l.contains("warning") && (l.contains("error") || l.contains("failed") || l.contains("fatal") || l.contains("panicked"))
    })
}

/// The offset of the first differing byte, or the shorter length.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()))
}

/// The encoder's arguments without `-j`/`-jN`/`--jobs[=N]`, or `None` when it has none.
fn single_threaded(args: &[String]) -> Option<Vec<String>> {
    let is_jobs = |a: &String| a == "-j" || a == "--jobs" || a.starts_with("--jobs=") || (a.starts_with("-j") && a[2..].bytes().all(|b| b.is_ascii_digit()));
    args.iter().any(is_jobs).then(|| args.iter().filter(|a| !is_jobs(a)).cloned().collect())
}

impl EncoderBehaviour {
    fn judge(&self, case: &CaseRun<'_>, enc: &Encoding) -> Vec<(VerdictKind, &'static str, String)> {
        let mut out = Vec::new();
        let Ok(btf) = &enc.btf else { return out };
        let Ok(first) = std::fs::read(&enc.output) else { return out };
        let input = &case.build.binary;
        if let Some(line) = error_line(&enc.proc.stderr_text()) {
            out.push((VerdictKind::EncoderMisbehaved, "output:error-but-exit-0", format!("exit status 0, but stderr says: {line}\ncommand: {}", enc.proc.cmdline)));
        }
        if btf.own_types().is_empty() && !case.build.facts.functions.is_empty() {
            out.push((VerdictKind::EncoderMisbehaved, "output:empty", format!("exit status 0 and a BTF with no types, for a binary with {} functions in its DWARF\ncommand: {}", case.build.facts.functions.len(), enc.proc.cmdline)));
        }
        let scratch = enc.output.with_extension("behaviour");
        let _ = std::fs::remove_dir_all(&scratch);
        if std::fs::create_dir_all(&scratch).is_err() {
            return out;
        }

        // Over an existing, larger file: the previous build's output, then a recognisable tail.
        let over = scratch.join("over.btf");
        let mut old = first.clone();
        old.extend(std::iter::repeat_n(0xa5u8, 4096));
        if std::fs::write(&over, &old).is_ok() {
            let e = pipeline::encode_over(&enc.encoder, input, &over);
            if e.proc.success() {
                if let Ok(bytes) = std::fs::read(&over) {
                    if bytes != first {
                        let at = first_difference(&bytes, &first);
                        let how = if bytes.len() > first.len() && bytes[..first.len()] == first[..] {
                            format!("the file was not truncated: the first {} bytes are the fresh output, the old file's last {} bytes remain after them", first.len(), bytes.len() - first.len())
                        } else {
                            format!("{} bytes, a fresh run writes {}; first difference at byte {at}", bytes.len(), first.len())
                        };
                        // What a consumer of that file gets: the host kernel's answer to the bytes
                        // as they are (the load oracle re-serialises the parsed BTF, which would
                        // hide a tail).
                        let kernel = match crate::kernel_btf::load(&bytes) {
                            Ok(()) => "the host kernel still accepts the file".to_string(),
                            Err(err) => format!("the host kernel refuses the file: {}", err.to_string().lines().last().unwrap_or("")),
                        };
                        out.push((
                            VerdictKind::EncoderMisbehaved,
                            "output:existing-file-kept",
                            format!("run over an existing {}-byte output file, the result differs from a run into no file: {how}; {kernel}\ncommand: {}", old.len(), e.proc.cmdline),
                        ));
                    }
                }
            }
        }

        // The same run again.
        let again = scratch.join("again.btf");
        let e = pipeline::encode(&enc.encoder, input, &again);
        if e.proc.success() {
            if let Ok(bytes) = std::fs::read(&again) {
                if bytes != first {
                    out.push((
                        VerdictKind::NonDeterministic,
                        "nondeterministic:rerun",
                        format!("the same command twice: {} and {} bytes, first difference at byte {}\ncommand: {}", first.len(), bytes.len(), first_difference(&bytes, &first), e.proc.cmdline),
                    ));
                }
            }
        }

        // Without its worker threads.
        if let Some(args) = single_threaded(&enc.encoder.config.args) {
            let mut serial = enc.encoder.clone();
            serial.config.args = args;
            let path = scratch.join("serial.btf");
            let e = pipeline::encode(&serial, input, &path);
            if e.proc.success() {
                if let Ok(bytes) = std::fs::read(&path) {
                    if bytes != first && !out.iter().any(|(_, m, _)| *m == "nondeterministic:rerun") {
                        out.push((
                            VerdictKind::NonDeterministic,
                            "nondeterministic:jobs",
                            format!(
                                "with and without -j: {} and {} bytes, first difference at byte {}\ncommands: {}\n          {}",
                                first.len(),
                                bytes.len(),
                                first_difference(&bytes, &first),
                                enc.proc.cmdline,
                                e.proc.cmdline
                            ),
                        ));
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&scratch);
        out
    }
}

impl Oracle for EncoderBehaviour {
    fn name(&self) -> &'static str {
        "encoder-behaviour"
    }

    fn check(&self, case: &CaseRun<'_>) -> Vec<Verdict> {
        case.encodings
            .iter()
            .filter(|e| e.encoder.config.tool != crate::names::EncoderTool::GccBtf)
            .flat_map(|enc| {
                self.judge(case, enc).into_iter().map(|(kind, mechanism, detail)| Verdict {
                    oracle: self.name().into(),
                    kind,
                    encoder: enc.encoder.config.name.clone(),
                    compiler: case.build.compiler.name.clone(),
                    function: None,
                    phenomenon: mechanism.into(),
                    evidence: mechanism.into(),
                    detail,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_flags_are_removed_and_nothing_else() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(single_threaded(&v(&["-J", "-j", "--btf_gen_floats"])), Some(v(&["-J", "--btf_gen_floats"])));
        assert_eq!(single_threaded(&v(&["-j4", "--jobs=2", "--jobs"])), Some(v(&[])));
        assert_eq!(single_threaded(&v(&["-J", "--btf_features=default"])), None);
        // -J is not -j, nor is -jx.
        assert_eq!(single_threaded(&v(&["-J", "-jx"])), None);
    }

    #[test]
    fn error_lines_are_errors_not_warnings() {
        assert_eq!(error_line("btf_encoder: dedup failed!\n"), Some("btf_encoder: dedup failed!"));
        assert_eq!(error_line("warning: error-prone construct ignored\n"), None);
        assert_eq!(error_line("all good\n"), None);
    }

    #[test]
    fn first_difference_is_the_offset_or_the_shorter_length() {
        assert_eq!(first_difference(b"abcd", b"abXd"), 2);
        assert_eq!(first_difference(b"ab", b"abcd"), 2);
        assert_eq!(first_difference(b"", b""), 0);
    }
}
