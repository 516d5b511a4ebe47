//! The real tools btfsmith drives: compilers, encoders, bpftool, qemu, the 6.12 kernel.
//!
//! `ci/setup` installs them and writes `$BTFSMITH_HOME/toolchains.toml` (default home
//! `~/.cache/btfsmith`); this module reads that manifest, checks that every entry is still there,
//! and names `ci/setup` for whatever is missing. Nothing here installs anything.

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The command that installs every toolchain; named in every "missing" message.
pub const SETUP_COMMAND: &str = "ci/setup";

/// What a tool is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ToolKind {
    /// gcc, clang.
    Compiler,
    /// pahole (any release).
    Encoder,
    /// bpftool.
    Bpftool,
    /// qemu-system-x86_64.
    Emulator,
    /// cvise.
    Reducer,
    /// Guest userland (static busybox) for the VM's initramfs.
    Guest,
}

/// One installed tool, as the manifest lists it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Tool {
    /// Unique id, `<tool>-<version>` (`gcc-12`, `clang-16`, `pahole-1.30`).
    pub name: crate::names::ToolId,
    /// What it is for.
    pub kind: ToolKind,
    /// Family (`gcc`, `clang`, `pahole`, `bpftool`, `qemu`, `cvise`, `busybox`).
    pub family: String,
    /// Version as the tool printed it.
    pub version: String,
    /// Absolute path of the executable (or wrapper).
    pub path: PathBuf,
    /// For a compiler from another Debian suite (gcc 14, gcc 15): the debootstrap root it runs
    /// in. `path` is then a wrapper that enters it (`btfsmith-chroot`, written by `ci/setup`),
    /// and what it links runs only inside that root.
    #[serde(default)]
    pub root: Option<PathBuf>,
}

impl Tool {
    /// Its executable exists, and so does its root when it has one (a wrapper whose root was
    /// removed would fail every compile).
    pub fn is_present(&self) -> bool {
        self.path.exists() && self.root.as_ref().map_or(true, |r| r.join("usr/bin").is_dir())
    }
}

/// The Debian 6.12 kernel: image for the guest, headers for module builds, base BTF.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Kernel {
    /// `uname -r` of that kernel.
    pub version: String,
    /// The bootable image.
    pub vmlinuz: PathBuf,
    /// Headers directory for `make -C <headers> M=<dir> modules`.
    pub headers: PathBuf,
    /// The headers' BTF-only `vmlinux`: the exact base BTF of that kernel.
    pub vmlinux_btf: PathBuf,
    /// The full vmlinux with DWARF, when `ci/setup --with-vmlinux-dbg` fetched it.
    #[serde(default)]
    pub vmlinux_dbg: Option<PathBuf>,
    /// The shipped modules (`.ko.xz`, stripped, with split BTF): `lib/modules/RELEASE/kernel`.
    #[serde(default)]
    pub modules: Option<PathBuf>,
    /// The modules' debug files (same relative paths, `.ko`), when `ci/setup
    /// --with-vmlinux-dbg` fetched them.
    #[serde(default)]
    pub modules_dbg: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    tool: Vec<Tool>,
    kernel: Option<Kernel>,
}

/// Everything the manifest lists.
#[derive(Debug, Clone)]
pub struct Toolchains {
    /// Where `ci/setup` keeps its cache.
    pub home: PathBuf,
    /// Installed tools, in manifest order.
    pub tools: Vec<Tool>,
    /// The kernel, if installed.
    pub kernel: Option<Kernel>,
}

/// A component that a test or command needs and that is not installed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} is not installed (looked in {manifest}): run `{SETUP_COMMAND}`")]
pub struct Missing {
    /// What is missing.
    pub what: String,
    /// The manifest that was read.
    pub manifest: String,
}

/// What btfsmith expects `ci/setup` to provide: (id or family prefix, kind, description).
pub const EXPECTED: &[(&str, &str)] = &[
    ("gcc", "GNU C compiler"),
    ("gcc-14", "gcc 14 (Debian trixie root)"),
    ("gcc-15", "gcc 15 (Debian sid root)"),
    ("clang", "clang (three releases: 14, 16 and the newest bookworm serves)"),
    ("pahole-1.24", "pahole 1.24 (Debian bookworm)"),
    ("pahole-1.30", "pahole 1.30 (Debian trixie)"),
    ("pahole-1.32", "pahole 1.32 (Debian sid)"),
    ("bpftool", "bpftool"),
    ("qemu", "qemu-system-x86_64"),
    ("cvise", "C-Vise reducer"),
    ("busybox", "busybox (static)"),
];

/// The directory `ci/setup` caches into.
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("BTFSMITH_HOME") {
        return PathBuf::from(h);
    }
    let user_home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    user_home.join(".cache/btfsmith")
}

impl Toolchains {
    /// Reads `$BTFSMITH_HOME/toolchains.toml`. A missing manifest is an empty toolchain set (every
    /// `require` then names `ci/setup`); an unreadable one is an error.
    pub fn load() -> anyhow::Result<Toolchains> {
        Toolchains::load_from(&home())
    }

    /// Reads the manifest under `home`.
    pub fn load_from(home: &Path) -> anyhow::Result<Toolchains> {
        use anyhow::Context;
        let path = home.join("toolchains.toml");
        let manifest = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<Manifest>(&text)
                .with_context(|| format!("parsing {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest {
                tool: Vec::new(),
                kernel: None,
            },
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Toolchains {
            home: home.to_path_buf(),
            tools: manifest.tool,
            kernel: manifest.kernel,
        })
    }

    fn manifest_path(&self) -> String {
        self.home.join("toolchains.toml").display().to_string()
    }

    fn missing(&self, what: impl fmt::Display) -> Missing {
        Missing {
            what: what.to_string(),
            manifest: self.manifest_path(),
        }
    }

    /// The tool with this id (`pahole-1.30`), if listed and its executable exists.
    pub fn find(&self, name: &str) -> Option<&Tool> {
        self.tools
            .iter()
            .find(|t| t.name == name && t.is_present())
    }

    /// The tool with this id, or an error naming `ci/setup`.
    pub fn require(&self, name: &str) -> Result<&Tool, Missing> {
        self.find(name).ok_or_else(|| self.missing(name))
    }

    /// Every listed tool of a family whose executable exists (`clang` → clang-14, clang-16).
    pub fn family<'a>(&'a self, family: &'a str) -> impl Iterator<Item = &'a Tool> + 'a {
        self.tools
            .iter()
            .filter(move |t| t.family == family && t.is_present())
    }

    /// The first tool of a family, or an error naming `ci/setup`.
    pub fn require_family(&self, family: &str) -> Result<&Tool, Missing> {
        self.tools
            .iter()
            .find(|t| t.family == family && t.is_present())
            .ok_or_else(|| self.missing(family))
    }

    /// The kernel, with every file it lists present, or an error naming `ci/setup`.
    pub fn require_kernel(&self) -> Result<&Kernel, Missing> {
        let k = self
            .kernel
            .as_ref()
            .ok_or_else(|| self.missing("the Debian 6.12 kernel"))?;
        for (what, p) in [
            ("kernel image", &k.vmlinuz),
            ("kernel headers", &k.headers),
            ("kernel base BTF", &k.vmlinux_btf),
        ] {
            if !p.exists() {
                return Err(self.missing(format!("{what} {}", p.display())));
            }
        }
        Ok(k)
    }

    /// Which expected components are missing, as (id, description).
    pub fn missing_components(&self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<_> = EXPECTED
            .iter()
            .copied()
            .filter(|(id, _)| {
                if *id == "clang" {
                    return self.family("clang").count() < 3;
                }
                let by_name = self.find(id).is_some();
                let by_family = self.family(id).next().is_some();
                !(by_name || by_family)
            })
            .collect();
        if self.require_kernel().is_err() {
            out.push(("kernel-6.12", "Debian 6.12 kernel image, headers and base BTF"));
        }
        out
    }
}
