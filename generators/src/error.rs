//! Errors of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while generating, writing, compiling or classifying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// A model constructor rejected a definition.
    #[error("invalid model: {what}")]
    InvalidModel {
        /// What was wrong.
        what: String,
    },
    /// No built-in policy has this name.
    #[error("unknown policy: {name} (known: {known})")]
    UnknownPolicy {
        /// The name asked for.
        name: String,
        /// The built-in names.
        known: String,
    },
    /// A policy's data make no sense.
    #[error("invalid policy {name}: {what}")]
    InvalidPolicy {
        /// Policy name.
        name: String,
        /// What was wrong.
        what: String,
    },
    /// Reading or writing a file failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// (De)serialising JSON failed.
    #[error("json for {what}: {source}")]
    Json {
        /// What was being (de)serialised.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A tool could not be started.
    #[error("cannot run {program} (install it with `ci/setup`): {source}")]
    Spawn {
        /// The executable.
        program: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A tool exited unsuccessfully, crashed, or ran past its time limit and was killed.
    #[error(transparent)]
    ToolFailed(#[from] crate::process::ToolFailed),
    /// An object file could not be parsed.
    #[error("object {path}: {source}")]
    Object {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: object::Error,
    },
    /// DWARF in an object could not be read.
    #[error("dwarf in {path}: {source}")]
    Dwarf {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: gimli::Error,
    },
    /// The debug sections of an object could not be loaded.
    #[error("debug sections of {path}: {source}")]
    Facts {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: facts::Error,
    },
    /// The program cannot be written in this flavour.
    #[error("cannot write as a kernel module: {what}")]
    NotForModule {
        /// What stands in the way (the function and the reason).
        what: String,
    },
}
