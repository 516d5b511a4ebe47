//! The one error type of the facts readers.

use std::path::PathBuf;

/// Why the DWARF facts of a file could not be read. Malformed input is always one of these,
/// never a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("reading {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Reading one file's facts failed (wraps the cause with the file's name).
    #[error("reading {what} of {}", path.display())]
    File {
        /// `DWARF` or `DWARF types`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<Error>,
    },
    /// Not an ELF file `object` can parse.
    #[error("parsing ELF")]
    Elf(#[source] object::Error),
    /// A debug section could not be decompressed.
    #[error("decompressing {section}")]
    Decompress {
        /// Its name.
        section: &'static str,
        /// Why.
        #[source]
        source: object::Error,
    },
    /// A relocation of a debug section names a symbol that is not in the symbol table.
    #[error("relocation symbol")]
    RelocationSymbol(#[source] object::Error),
    /// The file has no `.debug_info`.
    #[error("no .debug_info: compile with -g")]
    NoDebugInfo,
    /// gimli could not read the DWARF.
    #[error("reading DWARF")]
    Dwarf(#[from] gimli::Error),
    /// Reading one unit failed (wraps the cause with where the unit is).
    #[error("reading the unit at .debug_info+{at:#x}")]
    Unit {
        /// Offset of the unit header in `.debug_info`.
        at: u64,
        /// The cause.
        #[source]
        source: Box<Error>,
    },
    /// A DIE offset given to [`crate::dwarf::read_codeless`] lies outside its unit.
    #[error("DIE {die:#x} is not in the unit at {unit:#x}")]
    DieNotInUnit {
        /// The DIE's `.debug_info` offset.
        die: u64,
        /// The unit's.
        unit: u64,
    },
    /// A type refers through more types than any real program does (or loops).
    #[error("DWARF type chain deeper than {depth} at {offset:#x} in {cu}")]
    TypeChainTooDeep {
        /// The limit.
        depth: usize,
        /// Unit offset of the DIE where it was reached.
        offset: u64,
        /// The unit's name.
        cu: String,
    },
    /// A type DIE whose tag the reader does not model.
    #[error("unsupported DWARF type tag {tag} at {offset:#x} in {cu}")]
    UnsupportedTypeTag {
        /// The tag.
        tag: gimli::DwTag,
        /// Unit offset of the DIE.
        offset: u64,
        /// The unit's name.
        cu: String,
    },
}

impl Error {
    /// Wraps `self` as a failure in the unit at `at`.
    pub(crate) fn in_unit(self, at: u64) -> Error {
        Error::Unit { at, source: Box::new(self) }
    }
}

/// The facts readers' result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
