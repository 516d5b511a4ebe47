//! btfsmith's program generator: C programs full of BTF-encoder hazards, with ground truth.
//!
//! Main pieces:
//! - [`model`]: the [`Program`] model (units, types, functions, calls), valid by construction;
//! - [`policy`]: [`Policy`] as serde data, one per phenomenon plus `mixed`;
//! - [`generate()`]: a deterministic program from a `u64` seed (or from any [`choice::Choices`]);
//! - [`emit`] and [`write_program`]: C for userspace or a kernel module, `build.sh`, and
//!   `ground_truth.json` ([`truth::GroundTruth`]);
//! - [`classify`]: what the compiler really did (collisions, clones, optimized-out
//!   parameters, changed calling conventions), read from the DWARF and symbols of the objects;
//! - [`stats::gen_stats`]: how often each policy's target phenomenon really occurs;
//! - [`strategy`] (feature `proptest`) and the `arbitrary::Arbitrary` impl (feature `arbitrary`).
//!
//! ```
//! use generators::{generate, Policy, emit::{Emitter, Flavour}};
//! let policy = Policy::by_name("collisions").unwrap();
//! let prog = generate(7, &policy).unwrap();
//! assert_eq!(prog, generate(7, &policy).unwrap());
//! let files = Emitter::new(&prog, Flavour::User).sources();
//! assert!(files.iter().any(|f| f.name == "main.c"));
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

pub mod choice;
pub mod classify;
pub mod emit;
pub mod error;
pub mod generate;
pub mod model;
pub mod policy;
pub mod stats;
#[cfg(feature = "proptest")]
pub mod strategy;
pub mod toolchain;
pub mod truth;
pub mod write;

#[cfg(feature = "arbitrary")]
mod fuzz;

pub use emit::Flavour;
pub use error::GenError;
pub use generate::{generate, generate_from};
pub use model::Program;
pub use policy::{Hazard, Phenomenon, Policy};
pub use write::write_program;

/// Version of the generator; recorded in every program (a program is a pure function of seed,
/// policy and this version).
pub const GENERATOR_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+gen1");
