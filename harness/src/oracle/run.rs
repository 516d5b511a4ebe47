//! The encoder itself: did it finish, exit 0 and write valid BTF?

use super::{CaseRun, Oracle, Verdict, VerdictKind};
use crate::pipeline::EncodeFailure;

/// Crash / timeout / non-zero exit / unreadable output.
#[derive(Debug)]
pub struct EncoderRun;

impl Oracle for EncoderRun {
    fn name(&self) -> &'static str {
        "encoder-run"
    }

    fn check(&self, case: &CaseRun<'_>) -> Vec<Verdict> {
        case.encodings
            .iter()
            .filter_map(|e| {
                let failure = e.btf.as_ref().err()?;
                let (kind, phenomenon, detail) = match failure {
                    EncodeFailure::Timeout => (
                        VerdictKind::EncoderTimeout,
                        "timeout",
                        format!("killed after {:.1?}", e.proc.elapsed),
                    ),
                    EncodeFailure::Crash(s) => (VerdictKind::EncoderCrash, "crash", s.clone()),
                    EncodeFailure::Failed(s) => (VerdictKind::EncoderFailed, "exit", s.clone()),
                    EncodeFailure::Unreadable(s) => (VerdictKind::Unreadable, "output", s.clone()),
                    EncodeFailure::Spawn(s) => (VerdictKind::EncoderFailed, "spawn", s.clone()),
                };
                Some(Verdict {
                    oracle: self.name().into(),
                    kind,
                    encoder: e.encoder.config.name.clone(),
                    compiler: case.build.compiler.name.clone(),
                    function: None,
                    phenomenon: phenomenon.into(),
                    evidence: phenomenon.into(),
                    detail: format!("{detail}\ncommand: {}", e.proc.cmdline),
                })
            })
            .collect()
    }
}
