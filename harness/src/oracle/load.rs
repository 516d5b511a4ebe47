//! Loading: libbpf parses the BTF (`btf__new`) and the host kernel accepts it (`BPF_BTF_LOAD`),
//! through [`crate::kernel_btf`].

use super::{CaseRun, Oracle, Verdict, VerdictKind};
use crate::kernel_btf::{load, LoadError};

/// The libbpf + kernel load oracle.
#[derive(Debug)]
pub struct KernelLoad;

impl Oracle for KernelLoad {
    fn name(&self) -> &'static str {
        "kernel-load"
    }

    fn check(&self, case: &CaseRun<'_>) -> Vec<Verdict> {
        case.encodings
            .iter()
            .filter_map(|e| {
                let btf = e.btf.as_ref().ok()?;
                // gcc -gbtf ships one BTF per object: each is loaded on its own (the appended
                // blob is the harness's, nothing a consumer would load).
                let (err, what) = if e.objects.is_empty() {
                    (load(&btf.to_bytes().ok()?).err()?, String::new())
                } else {
                    e.objects.iter().find_map(|o| Some((load(&o.btf.to_bytes().ok()?).err()?, format!("{}: ", o.object.file_name()?.to_string_lossy()))))?
                };
                let mechanism: String = match &err {
                    LoadError::Libbpf(_) => "libbpf".into(),
                    // The verifier's last line, ids and offsets blanked, so one bug is one finding.
                    LoadError::Kernel { log, .. } => log
                        .lines()
                        .last()
                        .unwrap_or("kernel")
                        .chars()
                        .map(|c| if c.is_ascii_digit() { 'N' } else { c })
                        .collect(),
                };
                Some(Verdict {
                    oracle: self.name().into(),
                    kind: VerdictKind::LoadRejected,
                    encoder: e.encoder.config.name.clone(),
                    compiler: case.build.compiler.name.clone(),
                    function: None,
                    phenomenon: mechanism.clone().into(),
                    evidence: mechanism,
                    detail: format!("{what}{err}"),
                })
            })
            .collect()
    }
}
