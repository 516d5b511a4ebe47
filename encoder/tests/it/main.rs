//! btfenc's integration tests, in one binary (one link instead of five).
//!
//! Every test that needs a tool (gcc, clang, pahole 1.24, bpftool, the 6.12 kernel headers)
//! fails, naming `ci/setup`, when the tool is missing: these tests are mandatory.

mod common;

mod cli;
mod funcs;
mod fuzz_regressions;
mod kfuncs;
mod kernel;
mod mutations;
mod types;
mod walk;
