//! What the DWARF of a compiled program proves, read with code of its own: never the encoder's,
//! so that the judge and the judged share no bugs.
//!
//! - [`dwarf`]: every out-of-line function instance ([`dwarf::FunctionInstance`]: name, unit,
//!   symbols at its entry, prototype, where each parameter is at entry, `DW_CC_nocall`), the
//!   function symbols, and the evidence that a body's calling convention differs from its source
//!   prototype; also the section loading with relocations applied ([`dwarf::Sections`]) that
//!   every reader here and in the generators' classifier shares. [`dwarf::ParamFact`] is the one
//!   parameter type: the oracles read it, and so do the generators' statistics
//!   ([`dwarf::read_detailed`] adds what only they use: whole location lists, type layouts).
//! - [`types`]: the named types' layouts, for the type-fidelity oracle.
//! - [`abi`]: the x86-64 System V placement of arguments and the 6.12 BPF trampoline's reading of
//!   them, and [`abi::AbiClass`], a parameter's class.
//! - [`SectionAddress`]: an address in one section of a relocatable file.
//!
//! Read by the harness (oracles, audit, confirm) and by the generators' classifier (its
//! statistics); never by the encoder.
//!
//! ```no_run
//! let facts = facts::dwarf::read_file(std::path::Path::new("prog.o"))?;
//! for f in &facts.functions {
//!     println!("{} in {}: {}", f.symbols.join(","), f.cu, f.prototype);
//! }
//! # Ok::<(), facts::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

pub mod abi;
mod address;
pub mod dwarf;
mod error;
pub mod types;

pub use address::SectionAddress;
pub use error::{Error, Result};
