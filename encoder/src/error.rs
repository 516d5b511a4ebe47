//! The encoder's error type.

use gimli::DwTag;

/// Why an input could not be encoded. Every variant says what was wrong and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The input is not an ELF file `object` can read.
    #[error("cannot parse ELF: {0}")]
    Elf(#[source] object::read::Error),
    /// A section could not be read (bad offsets, bad compression, bad relocations).
    #[error("cannot read section {section}: {source}")]
    Section {
        /// The section name.
        section: String,
        /// The underlying error.
        #[source]
        source: object::read::Error,
    },
    /// The input has no DWARF (`.debug_info`) to encode.
    #[error("no DWARF debug info (.debug_info) in input")]
    NoDwarf,
    /// gimli rejected the DWARF.
    #[error("malformed DWARF at .debug_info offset {offset:#x}: {source}")]
    Dwarf {
        /// Section offset of the unit or DIE being read.
        offset: u64,
        /// The underlying error.
        #[source]
        source: gimli::Error,
    },
    /// A DIE refers to something this encoder cannot express in BTF.
    #[error("unsupported DWARF: {tag} at DIE {die:#x}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Unsupported {
        /// Section offset (in `.debug_info`) of the DIE.
        die: u64,
        /// Its tag.
        tag: DwTag,
        /// What exactly is not supported.
        detail: Option<String>,
    },
    /// A DIE refers to a DIE that does not exist or is not a type.
    #[error("bad type reference at DIE {die:#x}: {target:#x}")]
    BadReference {
        /// Section offset of the referring DIE.
        die: u64,
        /// The target offset as found.
        target: u64,
    },
    /// A type chain deeper than the encoder follows (a reference cycle through non-struct types).
    #[error("type chain too deep at DIE {die:#x}")]
    TooDeep {
        /// Section offset of the DIE.
        die: u64,
    },
    /// The base BTF given with `--btf_base` could not be read.
    #[error("cannot read base BTF: {0}")]
    Base(#[source] btf::ParseError),
    /// The BTF could not be serialised.
    #[error("cannot write BTF: {0}")]
    Write(#[source] btf::WriteError),
    /// A compressed section claims an uncompressed size its compressed bytes cannot produce.
    #[error("section {section}: {compressed} compressed bytes cannot expand to the {claimed} bytes its header claims")]
    ImplausibleCompression {
        /// Section name.
        section: String,
        /// Compressed size in the file.
        compressed: u64,
        /// Uncompressed size in the compression header.
        claimed: u64,
    },
    /// A walker thread panicked on a unit (a bug of btfenc, reported instead of hanging the
    /// walk or losing which unit it was).
    #[error("internal error walking the unit at .debug_info offset {offset:#x}: {message}")]
    WalkPanicked {
        /// Section offset of the unit.
        offset: u64,
        /// The panic's message.
        message: String,
    },
    /// Deduplication failed where libbpf's `btf__dedup` fails too (e.g. a pointer loop).
    #[error("cannot deduplicate BTF: {0}")]
    Dedup(#[from] crate::dedup::DedupError),
    /// The ELF could not be rewritten with a `.BTF` section.
    #[error("cannot add .BTF section: {0}")]
    ElfWrite(String),
    /// The DWARF describes types the BTF format cannot hold (e.g. a typedef or qualifier chain
    /// that loops back on itself without passing through a struct); the kernel would reject it.
    #[error("the DWARF yields invalid BTF: {0}")]
    InvalidBtf(#[source] btf::ParseError),
}

/// Shorthand.
pub type Result<T, E = EncodeError> = std::result::Result<T, E>;

impl EncodeError {
    pub(crate) fn dwarf(offset: u64, source: gimli::Error) -> Self {
        EncodeError::Dwarf { offset, source }
    }
}
