//! Typed names: the encoder configuration and compiler setup a verdict is about, as keys of
//! counts, tables and findings. Serialized as the plain string (TOML, JSON and finding
//! directories read as before); parsed with [`FromStr`], which refuses an empty name and a `|`,
//! which would make a finding's signature (`KIND|configuration|mechanism`) ambiguous. (Commas
//! and spaces are allowed: `btfsmith gate` names a candidate by its command line.)

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

/// Why a string is not a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} {why}")]
pub struct BadName {
    /// Which kind of name.
    pub what: &'static str,
    /// The string.
    pub value: String,
    /// What is wrong with it.
    pub why: &'static str,
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        // Debug as the quoted text: gate and test messages list (kind, name) pairs.
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl $name {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = BadName;
            fn from_str(s: &str) -> Result<Self, BadName> {
                let bad = |why| BadName { what: $what, value: s.to_string(), why };
                if s.is_empty() {
                    return Err(bad("is empty"));
                }
                if s.chars().any(|c| c == '|' || c.is_control()) {
                    return Err(bad("contains `|` or a control character"));
                }
                Ok($name(s.to_string()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = BadName;
            fn try_from(s: String) -> Result<Self, BadName> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        /// Honours width and alignment (`{:<26}`), as a `String` does: reports pad names.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                std::path::Path::new(&self.0)
            }
        }

        /// Maps keyed by the name are looked up by `&str` too.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

name_type!(
    /// An encoder configuration's name (`pahole-1.30/kernel`, `btfenc+true_signature`,
    /// `gcc-btf/gcc-14`): unique in a campaign, the key of its counts and report rows.
    EncoderName,
    "encoder configuration name"
);

name_type!(
    /// A compiler setup's label (`gcc-12 -O2`): toolchain and optimisation level.
    CompilerName,
    "compiler setup name"
);

name_type!(
    /// A toolchain id from the manifest (`gcc-12`, `clang-19`, `pahole-1.30`): `<family>-<version>`.
    ToolId,
    "toolchain id"
);

impl ToolId {
    /// The family part of the id, before the version (`pahole` of `pahole-1.30`, `gcc` of
    /// `gcc-12`); the whole id when it has no version.
    pub fn family(&self) -> &str {
        self.split().0
    }

    /// The version part of the id (`1.30` of `pahole-1.30`), if it has one.
    pub fn version(&self) -> Option<&str> {
        self.split().1
    }

    fn split(&self) -> (&str, Option<&str>) {
        match self.0.rsplit_once('-') {
            Some((family, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => (family, Some(version)),
            _ => (&self.0, None),
        }
    }

    /// This release of that family (`pahole`, `1.24`).
    pub fn is(&self, family: &str, version: &str) -> bool {
        self.split() == (family, Some(version))
    }
}

/// What runs an encoder configuration, as its `tool` is written in TOML (and serialized back
/// the same way): `btfenc`, `gcc-btf`, an absolute path, or else a toolchain id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum EncoderTool {
    /// btfsmith's own encoder, found next to the btfsmith binary (`btfenc`).
    Btfenc,
    /// gcc's own `-gbtf` (`gcc-btf`): one setup per gcc release, applied to that gcc's builds.
    GccBtf,
    /// A local encoder build, by absolute path.
    Path(std::path::PathBuf),
    /// An installed toolchain (`pahole-1.30`).
    Toolchain(ToolId),
}

impl EncoderTool {
    /// A pahole: an installed release, or a local build whose file name starts with `pahole`.
    pub fn is_pahole(&self) -> bool {
        match self {
            EncoderTool::Toolchain(id) => id.family() == "pahole",
            EncoderTool::Path(p) => p.file_name().is_some_and(|f| f.to_string_lossy().starts_with("pahole")),
            EncoderTool::Btfenc | EncoderTool::GccBtf => false,
        }
    }
}

impl FromStr for EncoderTool {
    type Err = BadName;
    fn from_str(s: &str) -> Result<Self, BadName> {
        Ok(match s {
            "btfenc" => EncoderTool::Btfenc,
            "gcc-btf" => EncoderTool::GccBtf,
            _ if std::path::Path::new(s).is_absolute() => EncoderTool::Path(s.into()),
            _ => EncoderTool::Toolchain(s.parse().map_err(|e: BadName| BadName { what: "encoder tool", ..e })?),
        })
    }
}

impl TryFrom<String> for EncoderTool {
    type Error = BadName;
    fn try_from(s: String) -> Result<Self, BadName> {
        s.parse()
    }
}

impl From<EncoderTool> for String {
    fn from(t: EncoderTool) -> String {
        t.to_string()
    }
}

impl fmt::Display for EncoderTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncoderTool::Btfenc => f.pad("btfenc"),
            EncoderTool::GccBtf => f.pad("gcc-btf"),
            EncoderTool::Path(p) => f.pad(&p.display().to_string()),
            EncoderTool::Toolchain(id) => fmt::Display::fmt(id, f),
        }
    }
}

/// The compiler phenomenon behind a verdict (`collision:inconsistent`, `clone:constprop`,
/// `type:size`, `module`): what the program contained. Built from what the DWARF and the
/// symbols say, so any text is accepted (a symbol name may hold any byte but NUL).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhenomenonName(String);

// Debug as the quoted text, like the other names.
impl std::fmt::Debug for PhenomenonName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl PhenomenonName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a verdict written before phenomena were recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for PhenomenonName {
    fn from(s: String) -> Self {
        PhenomenonName(s)
    }
}

impl From<&str> for PhenomenonName {
    fn from(s: &str) -> Self {
        PhenomenonName(s.to_string())
    }
}

impl fmt::Display for PhenomenonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl PartialEq<str> for PhenomenonName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for PhenomenonName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoder_name_reads_and_writes_as_its_text() {
        let n: EncoderName = "pahole-1.30/kernel".parse().unwrap();
        assert_eq!(n.to_string(), "pahole-1.30/kernel");
        assert_eq!(format!("{n:<20}|"), "pahole-1.30/kernel  |");
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"pahole-1.30/kernel\"");
        assert_eq!(serde_json::from_str::<EncoderName>("\"pahole-1.30/kernel\"").unwrap(), n);
        let mut counts = std::collections::BTreeMap::new();
        counts.insert(n.clone(), 3);
        assert_eq!(counts.get("pahole-1.30/kernel"), Some(&3));
    }

    #[test]
    fn a_name_that_would_split_a_signature_is_refused() {
        let err = "btfenc|MISSED".parse::<EncoderName>().unwrap_err();
        assert_eq!(err.to_string(), "encoder configuration name \"btfenc|MISSED\" contains `|` or a control character");
        assert_eq!("".parse::<EncoderName>().unwrap_err().why, "is empty");
        // `btfsmith gate` names a candidate by its command line.
        let gate = "candidate:pahole --btf_features=consistent_func,decl_tag";
        assert_eq!(gate.parse::<EncoderName>().unwrap().as_str(), gate);
        assert!(serde_json::from_str::<EncoderName>("\"a|b\"").is_err());
        // A compiler label has a space between toolchain and level.
        assert_eq!("gcc-12 -O2".parse::<CompilerName>().unwrap().as_str(), "gcc-12 -O2");
        assert!("gcc|12".parse::<CompilerName>().is_err());
    }

    #[test]
    fn an_encoder_tool_reads_and_writes_as_its_text() {
        for (text, tool) in [
            ("btfenc", EncoderTool::Btfenc),
            ("gcc-btf", EncoderTool::GccBtf),
            ("/opt/pahole/build/pahole", EncoderTool::Path("/opt/pahole/build/pahole".into())),
            ("pahole-1.30", EncoderTool::Toolchain("pahole-1.30".parse().unwrap())),
        ] {
            assert_eq!(text.parse::<EncoderTool>().unwrap(), tool);
            assert_eq!(tool.to_string(), text);
            assert_eq!(serde_json::to_string(&tool).unwrap(), format!("{text:?}"));
        }
        assert!("pahole-1.24".parse::<EncoderTool>().unwrap().is_pahole());
        assert!("/opt/pahole/build/pahole".parse::<EncoderTool>().unwrap().is_pahole());
        assert!(!"btfenc".parse::<EncoderTool>().unwrap().is_pahole());
        assert!(!"gcc-btf".parse::<EncoderTool>().unwrap().is_pahole());
        assert_eq!("".parse::<EncoderTool>().unwrap_err().to_string(), "encoder tool \"\" is empty");
        let id: ToolId = "clang-19".parse().unwrap();
        assert_eq!((id.family(), id.as_str()), ("clang", "clang-19"));
        assert_eq!("gcc".parse::<ToolId>().unwrap().family(), "gcc");
    }
}
