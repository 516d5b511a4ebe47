//! The kernel image qemu boots: the ELF `vmlinux` inside the `vmlinuz` (bzImage), entered at its
//! PVH entry point.
//!
//! Booting a bzImage under TCG spends about a second before the kernel's first line: SeaBIOS,
//! the real-mode setup code, and the decompressor unpacking ~60 MB of kernel. qemu can load an
//! ELF kernel that has a PVH entry note (`CONFIG_PVH`, set in the Debian kernel) straight into
//! memory, which skips all three. The ELF is the bzImage's own payload (the decompressor's input),
//! so the guest runs exactly the kernel of the `vmlinuz`; only KASLR, which the decompressor
//! does, is off.

use std::path::{Path, PathBuf};

/// Why a bzImage gave no bootable ELF (the caller then boots the bzImage itself).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootImageError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Not a bzImage with a payload this code can find (boot protocol 2.08 or later).
    #[error("not a bzImage with a payload: {0}")]
    NotBzImage(String),
    /// The payload is compressed with something other than zstd.
    #[error("payload compressed with something other than zstd (first bytes {0:02x?})")]
    NotZstd(Vec<u8>),
    /// The zstd stream is corrupt.
    #[error("decompressing the payload: {0}")]
    Zstd(String),
    /// The payload is not an ELF with a PVH entry note.
    #[error("the payload is no ELF with a PVH entry (XEN_ELFNOTE_PHYS32_ENTRY): {0}")]
    NoPvhEntry(String),
}

/// The zstd frame magic number, as it appears in a file.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The Xen ELF note that gives the 32-bit PVH entry point.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// The compressed payload of a bzImage (x86 boot protocol: `setup_sects` at 0x1f1, `HdrS` at
/// 0x202, `payload_offset`/`payload_length` at 0x248/0x24c, relative to the protected-mode code
/// after the setup sectors).
pub fn payload(bz: &[u8]) -> Result<&[u8], BootImageError> {
    // The header ends with payload_length at 0x24c..0x250.
    if bz.len() < 0x250 {
        return Err(BootImageError::NotBzImage(format!("{} bytes: shorter than a boot header", bz.len())));
    }
    if bz.get(0x202..0x206) != Some(b"HdrS") {
        return Err(BootImageError::NotBzImage("no HdrS signature at 0x202".into()));
    }
    let version = u16::from_le_bytes([bz[0x206], bz[0x207]]);
    if version < 0x208 {
        return Err(BootImageError::NotBzImage(format!("boot protocol {version:#x} has no payload fields")));
    }
    let setup_sects = match bz[0x1f1] {
        0 => 4,
        n => usize::from(n),
    };
    let (Some(offset), Some(length)) = (u32_at(bz, 0x248), u32_at(bz, 0x24c)) else {
        return Err(BootImageError::NotBzImage("no payload fields".into()));
    };
    let start = (setup_sects + 1) * 512 + offset as usize;
    bz.get(start..start + length as usize).ok_or_else(|| BootImageError::NotBzImage(format!("payload {start:#x}+{length:#x} past the end ({:#x})", bz.len())))
}

/// The ELF kernel inside a bzImage whose payload is zstd-compressed, checked to have a PVH
/// entry.
pub fn extract_elf(bz: &[u8]) -> Result<Vec<u8>, BootImageError> {
    let packed = payload(bz)?;
    if packed.get(..4) != Some(&ZSTD_MAGIC[..]) {
        return Err(BootImageError::NotZstd(packed.iter().take(4).copied().collect()));
    }
    // The build appends the unpacked size after the frame; the decoder stops at the frame's end.
    let mut input = packed;
    let mut decoder = ruzstd::StreamingDecoder::new(&mut input).map_err(|e| BootImageError::Zstd(e.to_string()))?;
    let mut elf = Vec::new();
    std::io::Read::read_to_end(&mut decoder, &mut elf).map_err(|e| BootImageError::Zstd(e.to_string()))?;
    check_pvh_entry(&elf)?;
    Ok(elf)
}

/// Checks that `elf` is an ELF file with a Xen PVH entry note.
pub fn check_pvh_entry(elf: &[u8]) -> Result<(), BootImageError> {
    use object::read::elf::{FileHeader, ProgramHeader};
    let header = object::elf::FileHeader64::<object::Endianness>::parse(elf).map_err(|e| BootImageError::NoPvhEntry(e.to_string()))?;
    let endian = header.endian().map_err(|e| BootImageError::NoPvhEntry(e.to_string()))?;
    for ph in header.program_headers(endian, elf).map_err(|e| BootImageError::NoPvhEntry(e.to_string()))? {
        let Some(mut notes) = ph.notes(endian, elf).map_err(|e| BootImageError::NoPvhEntry(e.to_string()))? else { continue };
        while let Some(note) = notes.next().map_err(|e| BootImageError::NoPvhEntry(e.to_string()))? {
            if note.name() == b"Xen" && note.n_type(endian) == XEN_ELFNOTE_PHYS32_ENTRY {
                return Ok(());
            }
        }
    }
    Err(BootImageError::NoPvhEntry("no such note".into()))
}

/// The ELF kernel of `vmlinuz`, cached as `<vmlinuz>.pvh.elf` beside it (or in `fallback_dir`
/// when that directory is read-only) and rebuilt when the `vmlinuz` is newer.
pub fn pvh_elf(vmlinuz: &Path, fallback_dir: &Path) -> Result<PathBuf, BootImageError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BootImageError::Io { path, source }
    };
    let file_name = format!("{}.pvh.elf", vmlinuz.file_name().map_or_else(|| "vmlinuz".into(), |n| n.to_string_lossy()));
    let src_time = std::fs::metadata(vmlinuz).and_then(|m| m.modified()).map_err(io(vmlinuz))?;
    let beside = vmlinuz.with_file_name(&file_name);
    for cached in [&beside, &fallback_dir.join(&file_name)] {
        if std::fs::metadata(cached).and_then(|m| m.modified()).is_ok_and(|t| t >= src_time) {
            return Ok(cached.clone());
        }
    }
    let elf = extract_elf(&std::fs::read(vmlinuz).map_err(io(vmlinuz))?)?;
    // Written under a name of its own, then renamed: parallel runs never see half a file.
    let write = |to: &Path| -> Result<(), BootImageError> {
        let tmp = to.with_extension(format!("tmp.{}", std::process::id()));
        std::fs::write(&tmp, &elf).map_err(io(&tmp))?;
        std::fs::rename(&tmp, to).map_err(io(to))
    };
    match write(&beside) {
        Ok(()) => Ok(beside),
        Err(_) => {
            let to = fallback_dir.join(&file_name);
            write(&to)?;
            Ok(to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bzImage header around `payload`: setup sectors, signature, version, payload fields.
    fn bz_image(setup_sects: u8, version: u16, payload: &[u8]) -> Vec<u8> {
        let pm_start = (usize::from(setup_sects) + 1) * 512;
        let mut b = vec![0u8; pm_start + 16];
        b[0x1f1] = setup_sects;
        b[0x202..0x206].copy_from_slice(b"HdrS");
        b[0x206..0x208].copy_from_slice(&version.to_le_bytes());
        b[0x248..0x24c].copy_from_slice(&16u32.to_le_bytes());
        b[0x24c..0x250].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn finding_the_payload() {
        let b = bz_image(3, 0x20f, b"payload!");
        assert_eq!(payload(&b).unwrap(), b"payload!");
        let err = extract_elf(&b).unwrap_err();
        assert!(err.to_string().contains("other than zstd (first bytes [70, 61, 79, 6c])"), "{err}");
    }

    #[test]
    fn bad_images_are_errors() {
        let err = payload(b"short").unwrap_err();
        assert!(err.to_string().contains("5 bytes: shorter than a boot header"), "{err}");
        // A header cut right after its signature.
        let err = payload(&bz_image(3, 0x20f, b"x")[..0x207]).unwrap_err();
        assert!(err.to_string().contains("shorter than a boot header"), "{err}");
        let err = payload(&[0u8; 0x400]).unwrap_err();
        assert!(err.to_string().contains("no HdrS signature"), "{err}");
        let err = payload(&bz_image(3, 0x207, b"x")).unwrap_err();
        assert!(err.to_string().contains("boot protocol 0x207"), "{err}");
        let mut b = bz_image(3, 0x20f, b"xyz");
        b.truncate(b.len() - 1);
        let err = payload(&b).unwrap_err();
        assert!(err.to_string().contains("past the end"), "{err}");
        // A zstd magic followed by garbage.
        let err = extract_elf(&bz_image(3, 0x20f, &[0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff])).unwrap_err();
        assert!(matches!(err, BootImageError::Zstd(_)), "{err}");
        let err = check_pvh_entry(b"\x7fELF not really").unwrap_err();
        assert!(matches!(err, BootImageError::NoPvhEntry(_)), "{err}");
    }
}
