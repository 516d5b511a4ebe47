//! The btfsmith harness: toolchains, campaigns, oracles, findings and reports.
//!
//! The binary (`btfsmith`) only parses arguments and calls [`cli::run`]. Exit codes everywhere:
//! 0 = clean, 1 = a difference or finding, 2 = an error.
#![deny(missing_docs, missing_debug_implementations)]

pub mod audit;
pub mod bisect;
pub mod btf_cmd;
pub mod campaign;
pub mod check;
pub mod confirm;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod merge;
pub mod minimize;
pub mod names;
pub mod oracle;
pub mod pipeline;
pub mod finding;
pub mod gate;
pub mod gen_cmd;
pub mod kernel_btf;
pub mod report;
pub mod rules;
pub mod toolchains;
pub mod upstream;
pub mod vm;
pub mod vm_campaign;

/// Running tools under a timeout: the generators' runner, the one process runner of the
/// workspace.
pub use generators::process;
