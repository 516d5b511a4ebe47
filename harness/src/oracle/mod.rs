//! Oracles: each looks at one built case and its encodings and returns typed verdicts.
//!
//! - [`run::EncoderRun`]: crash, timeout, non-zero exit, unreadable output.
//! - [`truth::DwarfTruth`]: each FUNC against the DWARF (ambiguous, wrong prototype, unsafe
//!   optimized, missed).
//! - [`types::TypeFidelity`]: each named struct, union, enum and typedef against the DWARF type
//!   it came from (wrong type: sizes, member offsets, bitfields, enum values, array dimensions).
//! - [`load::KernelLoad`]: libbpf parses it and the host kernel accepts it (BPF_BTF_LOAD).
//! - [`behaviour::EncoderBehaviour`]: exit status vs messages vs output, an existing output
//!   file, determinism (run twice, with and without threads).
//! - [`differential::Differential`]: canonical diffs between configurations, classified against
//!   the table of expected differences.
//! - [`runtime::Runtime`]: what fentry/fexit really read inside the kernel (a module's FUNCs
//!   attached in a qemu guest, [`crate::vm`]): wrong function, wrong arguments, wrong return
//!   value, refused attach, crash.

pub mod behaviour;
pub mod differential;
pub mod load;
pub mod run;
pub mod runtime;
pub mod truth;
pub mod types;

use crate::names::{CompilerName, EncoderName, PhenomenonName};
use crate::pipeline::{Build, Encoding};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an oracle concluded, from worst to merely informative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerdictKind {
    /// The encoder was killed by a signal.
    EncoderCrash,
    /// The encoder did not finish in time.
    EncoderTimeout,
    /// The encoder exited non-zero.
    EncoderFailed,
    /// The encoder exited 0 but its output is not valid BTF.
    Unreadable,
    /// libbpf or the kernel rejected the BTF.
    LoadRejected,
    /// The encoder's exit status, messages and output contradict each other (an error printed
    /// with exit status 0, an existing output file leaking into the result, an empty BTF).
    EncoderMisbehaved,
    /// The same input gave different output (run to run, or with and without threads).
    NonDeterministic,
    /// Same-name functions with different prototypes, one FUNC: a tracer cannot know which.
    Ambiguous,
    /// The FUNC's prototype is not the prototype of the function the kernel attaches to.
    WrongProto,
    /// The function's real calling convention differs from the prototype the FUNC claims.
    UnsafeOptimized,
    /// The compiler dropped the function's return value (clang `DW_CC_nocall` with every
    /// argument in place): arguments are read right, an fexit program's return value is not one.
    ReturnDropped,
    /// A struct, union, enum or typedef differs from its DWARF type where a tracer reads it
    /// (size, member offset, bitfield, enum value, array dimensions): it reads the wrong bytes.
    WrongType,
    /// Two configurations differ in a way the expected-differences table does not explain.
    UnexplainedDiff,
    /// A function that could have been encoded safely was not (a rate, not a failure).
    Missed,
    /// Runtime: fentry on the FUNC ran in another function than the one it describes (the
    /// kernel attached by name to another same-name function).
    WrongFunction,
    /// Runtime: the right function, but the tracer read other argument values than the caller
    /// passed.
    WrongArgs,
    /// Runtime: the FUNC claims a return value, and the value an fexit program read is not
    /// the one the function returned (the runtime side of RETURN_DROPPED, and a misread return
    /// type). A FUNC claiming `void` is never this.
    WrongReturn,
    /// Runtime: the kernel refused to attach fentry to the FUNC (no function by that name and
    /// prototype it can find): the FUNC describes nothing a tracer can use.
    Unattachable,
    /// Runtime: the guest kernel crashed or hung with the module loaded (the detail names the
    /// FUNC whose probe was attached, when that is known).
    GuestCrash,
    /// Runtime: the kernel's trampoline cannot take this prototype (struct > 16 bytes, varargs,
    /// more than 12 arguments): not the encoder's fault, not a finding.
    Unsupported,
    /// Runtime: attached and entered, nothing to compare (no recorded call, never triggered).
    Unchecked,
    /// Runtime: the right function was entered and every compared argument read right.
    Safe,
}

impl VerdictKind {
    /// Every kind, in report order.
    pub const ALL: [VerdictKind; 22] = [
        VerdictKind::EncoderCrash,
        VerdictKind::EncoderTimeout,
        VerdictKind::EncoderFailed,
        VerdictKind::Unreadable,
        VerdictKind::LoadRejected,
        VerdictKind::EncoderMisbehaved,
        VerdictKind::NonDeterministic,
        VerdictKind::Ambiguous,
        VerdictKind::WrongProto,
        VerdictKind::UnsafeOptimized,
        VerdictKind::ReturnDropped,
        VerdictKind::WrongType,
        VerdictKind::UnexplainedDiff,
        VerdictKind::Missed,
        VerdictKind::WrongFunction,
        VerdictKind::WrongArgs,
        VerdictKind::WrongReturn,
        VerdictKind::Unattachable,
        VerdictKind::GuestCrash,
        VerdictKind::Unsupported,
        VerdictKind::Unchecked,
        VerdictKind::Safe,
    ];

    /// True for verdicts that mean a tracer can be misled or the BTF is unusable.
    pub fn is_unsafe(self) -> bool {
        !matches!(
            self,
            VerdictKind::Missed
                | VerdictKind::UnexplainedDiff
                | VerdictKind::ReturnDropped
                | VerdictKind::NonDeterministic
                // A FUNC nobody can attach to misleads no tracer; it is a finding, not unsafe.
                | VerdictKind::Unattachable
                | VerdictKind::Unsupported
                | VerdictKind::Unchecked
                | VerdictKind::Safe
        )
    }
    /// True for verdicts that become findings.
    pub fn is_finding(self) -> bool {
        !matches!(self, VerdictKind::Missed | VerdictKind::Unsupported | VerdictKind::Unchecked | VerdictKind::Safe)
    }
    /// True for the runtime oracle's own kinds (the static oracles never say them).
    pub fn is_runtime_only(self) -> bool {
        matches!(
            self,
            VerdictKind::WrongFunction
                | VerdictKind::WrongArgs
                | VerdictKind::WrongReturn
                | VerdictKind::Unattachable
                | VerdictKind::GuestCrash
                | VerdictKind::Unsupported
                | VerdictKind::Unchecked
                | VerdictKind::Safe
        )
    }
    /// The upper-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::EncoderCrash => "ENCODER_CRASH",
            VerdictKind::EncoderTimeout => "ENCODER_TIMEOUT",
            VerdictKind::EncoderFailed => "ENCODER_FAILED",
            VerdictKind::Unreadable => "UNREADABLE",
            VerdictKind::EncoderMisbehaved => "ENCODER_MISBEHAVED",
            VerdictKind::NonDeterministic => "NON_DETERMINISTIC",
            VerdictKind::LoadRejected => "LOAD_REJECTED",
            VerdictKind::Ambiguous => "AMBIGUOUS",
            VerdictKind::WrongProto => "WRONG_PROTO",
            VerdictKind::UnsafeOptimized => "UNSAFE_OPTIMIZED",
            VerdictKind::ReturnDropped => "RETURN_DROPPED",
            VerdictKind::WrongType => "WRONG_TYPE",
            VerdictKind::UnexplainedDiff => "UNEXPLAINED_DIFF",
            VerdictKind::Missed => "MISSED",
            VerdictKind::WrongFunction => "WRONG_FUNCTION",
            VerdictKind::WrongArgs => "WRONG_ARGS",
            VerdictKind::WrongReturn => "WRONG_RETURN",
            VerdictKind::Unattachable => "UNATTACHABLE",
            VerdictKind::GuestCrash => "GUEST_CRASH",
            VerdictKind::Unsupported => "UNSUPPORTED",
            VerdictKind::Unchecked => "UNCHECKED",
            VerdictKind::Safe => "SAFE",
        }
    }
}

impl std::str::FromStr for VerdictKind {
    type Err = String;
    /// Parses the report name (`WRONG_PROTO`).
    fn from_str(s: &str) -> Result<VerdictKind, String> {
        VerdictKind::ALL.iter().copied().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown verdict kind {s:?}"))
    }
}

impl fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One verdict about one encoder configuration on one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Which oracle said it.
    pub oracle: String,
    /// What it said.
    pub kind: VerdictKind,
    /// The encoder configuration judged.
    pub encoder: EncoderName,
    /// The compiler setup of the build (`gcc-12 -O2`).
    pub compiler: CompilerName,
    /// The function concerned, if any.
    pub function: Option<String>,
    /// The compiler phenomenon behind it (`collision:inconsistent`, `clone:constprop`, ...):
    /// what the program contained, for statistics.
    pub phenomenon: PhenomenonName,
    /// The mechanism the evidence shows (`nocall:param-dropped`, `proto:other-instance`,
    /// `piece:scalarised-struct`, ...): how the encoder went wrong. Part of a finding's identity,
    /// so that two bugs behind one phenomenon are two findings. Empty in findings written
    /// before it existed (the phenomenon stands in).
    #[serde(default)]
    pub evidence: String,
    /// Human-readable detail: what was expected, what was found.
    pub detail: String,
}

impl Verdict {
    /// The deduplication key of a finding: verdict, configuration, mechanism.
    pub fn signature(&self) -> String {
        let mechanism = if self.evidence.is_empty() {
            self.phenomenon.as_str()
        } else {
            &self.evidence
        };
        format!("{}|{}|{}", self.kind, self.encoder, mechanism)
    }
}

/// Everything the oracles look at for one build of one case.
#[derive(Debug)]
pub struct CaseRun<'a> {
    /// The build (binary + DWARF truth).
    pub build: &'a Build,
    /// One encoding per encoder configuration.
    pub encodings: &'a [Encoding],
    /// For a kernel module run in the guest: what the kernel did with each configuration's BTF
    /// (the runtime oracle's evidence). `None` for userspace builds.
    pub runtime: Option<&'a crate::vm::ModuleRun>,
}

impl<'a> CaseRun<'a> {
    /// A userspace build and its encodings.
    pub fn new(build: &'a Build, encodings: &'a [Encoding]) -> CaseRun<'a> {
        CaseRun { build, encodings, runtime: None }
    }
}

/// An oracle.
pub trait Oracle: Send + Sync {
    /// Its name in reports.
    fn name(&self) -> &'static str;
    /// Judges one build and its encodings.
    fn check(&self, case: &CaseRun<'_>) -> Vec<Verdict>;
    /// True when a verdict rests on every configuration's encoding, not only the judged one's
    /// (the differential's consensus): a finding then keeps them all. A gate of two
    /// configurations has no consensus and leaves such oracles out.
    fn compares_configurations(&self) -> bool {
        false
    }
}

/// The oracles every campaign runs, in report order.
pub fn standard(with_kernel_load: bool) -> Vec<Box<dyn Oracle>> {
    let mut v: Vec<Box<dyn Oracle>> = vec![
        Box::new(run::EncoderRun),
        Box::new(truth::DwarfTruth),
        Box::new(types::TypeFidelity),
    ];
    if with_kernel_load {
        v.push(Box::new(load::KernelLoad));
    }
    v.push(Box::new(behaviour::EncoderBehaviour));
    v.push(Box::new(differential::Differential));
    v
}

/// The oracles of a kernel module run in the guest.
pub fn runtime() -> Vec<Box<dyn Oracle>> {
    vec![Box::new(runtime::Runtime)]
}
