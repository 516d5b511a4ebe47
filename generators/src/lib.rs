//! btfsmith's program generator: C programs full of BTF-encoder hazards, with ground truth.
//!
//! Main pieces:
//! - [`model`]: the [`Program`] model (units, types, functions, calls), valid by construction
//!   and checked by [`Program::validate`];
//! - [`policy`]: [`Policy`] as serde data (relative weights over [`Hazard`] recipes), one per
//!   phenomenon plus `mixed`, with optional swarm mode;
//! - [`generate()`]: a deterministic program from a `u64` seed (or from any [`choice::Choices`]);
//! - [`emit`] and [`write_program`]: C for userspace or a kernel module, `build.sh`, and
//!   `ground_truth.json` ([`truth::GroundTruth`]);
//! - [`classify`]: what the compiler really did (collisions, clones, optimized-out
//!   parameters, changed calling conventions, inlining), read from the DWARF and symbols of the
//!   objects through the judge side's loader (the `facts` crate), and [`classify::outcomes`]
//!   joining that with the ground truth;
//! - [`compile`]: the compilers, their command lines, flags and time limit, for the statistics
//!   here and for the harness's builds;
//! - [`process`]: the workspace's one process runner (a timeout, the process group killed with
//!   the tool, output captured and capped, [`process::ProcRes`]), used here and by the harness;
//! - [`stats::gen_stats`]: how often each policy's target phenomenon really occurs;
//! - [`strategy`] (feature `proptest`) and `impl arbitrary::Arbitrary for Program` (feature
//!   `arbitrary`); both read a choice stream through the same generator.
//!
//! ```
//! use generators::{generate, Policy, emit::{Emitter, Flavour}};
//! let policy = Policy::by_name("collisions").unwrap();
//! let prog = generate(7, &policy).unwrap();
//! assert_eq!(prog, generate(7, &policy).unwrap());
//! let files = Emitter::new(&prog, Flavour::User).sources();
//! assert!(files.iter().any(|f| f.name == "main.c"));
//! ```
//!
//! # How the hazards are provoked
//! Every recipe builds a few functions plus the driver calls that reach them (each unit has a
//! global `bs_run_tuN` that main, or the module's debugfs trigger, calls). Traced functions are
//! `__attribute__((__noinline__))` and reachable from the driver, so nothing needs
//! `__attribute__((used))` (which would also stop clang from changing signatures). Arguments are
//! normally hidden behind a volatile read (`bs_opq`), so constant propagation happens only where
//! a recipe passes literal constants on purpose (`.constprop`).
//! - gcc `.isra`: a static function reads one field of a struct pointer / by-value parameter;
//! - gcc `.constprop`: every call passes the same literal for one parameter;
//! - gcc `.part`: an inlinable function with a `__builtin_expect` early exit and a big tail;
//! - gcc `.cold`: an unlikely branch calling a `__cold__` helper;
//! - optimized-out: unused parameters or ones read on one path (gcc removes them in a
//!   `.constprop` clone; clang's dead-argument elimination removes them without renaming);
//! - clang signature change without rename: unused leading parameters, ignored results, and
//!   `const T *` parameters (argument promotion at -O3), with address-taken controls.
//! - calling convention (policy `stack`): a packed, an `aligned(16|32)` or a mixed int/float
//!   struct, or a union, passed by value after six integer parameters (so on the stack);
//!   `__int128` and `long double` parameters; 13 to 16 parameters; a variadic
//!   `f(unsigned n, unsigned long long kinds, ...)` whose callers pass `int`, `long long`,
//!   `double`, `long double` and `unsigned __int128` (the kinds word says which; a variadic
//!   `__int128` stays in registers: clang 14 misplaces one on the stack);
//! - definitions across units (policy `units`): a weak and a strong global of one name (the
//!   ground truth's `overridden_by` names the body the linker keeps, and calls point at it);
//!   identical statics in three or more units; statics taking `struct ctxN *` or a `cbN`
//!   function-pointer typedef whose definition differs per unit (unit-local types,
//!   [`model::Program::unit_types`]; callers pass real functions); an `always_inline` copy of a
//!   static beside an out-of-line one.
//! - locations (policy `locations`): parameters read after calls to a weak helper
//!   (callee-saved registers, then `DW_OP_entry_value`), parameters overwritten between calls
//!   (location lists with gaps), constant arguments plus a cold path (gcc
//!   `.constprop` + `.cold`, `DW_AT_ranges` only);
//! - types (policy `types`): bitfields straddling in packed structs, `_BitInt(N)` up to 256
//!   (clang 16+, same-size fallbacks elsewhere), `_Atomic`, vectors, enums with 64-bit,
//!   negative and explicitly typed values, flexible, zero-length and multi-dimensional
//!   arrays, anonymous members, BTF tags (clang), typedef chains, written as
//!   [`model::TypeDef::Raw`] C text with helpers.
//!
//! # Undefined behaviour
//! All arithmetic runs on `unsigned long long` through helpers in `prog.h` (division and
//! remainder by zero return the dividend, shift counts are masked, comparisons and selections
//! are functions so no warning sees a tautology); narrowing is an explicit cast, which C makes
//! implementation-defined, never undefined; float-to-integer conversion is range-checked;
//! every object is initialised; pointers only ever point at live compound literals and are
//! tested, not followed, when they are struct members. The test suite runs 500 programs under
//! UBSan+ASan and compares checksums across gcc/clang and -O0..-Os.
//!
//! # Kernel modules
//! The module flavour uses only double-underscore attribute spellings (the kernel defines
//! `noinline` as a macro), declares every external function before its definition
//! (`-Wmissing-prototypes`), and compiles units with float signatures with `CC_FLAGS_FPU` while
//! the trigger brackets their calls with `kernel_fpu_begin()`/`kernel_fpu_end()`.
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

pub mod choice;
pub mod classify;
pub mod compile;
pub mod emit;
pub mod error;
pub mod generate;
pub mod hazard;
pub mod model;
pub mod policy;
pub mod process;
pub mod stats;
#[cfg(feature = "proptest")]
pub mod strategy;
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
pub const GENERATOR_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+gen4");
