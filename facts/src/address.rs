//! Section-relative addresses: in a relocatable file (`.o`, `.ko`) every section starts at 0, so
//! an address means something only together with its section.

use std::fmt;

/// An address inside one section of a relocatable file: `.text+0x40` and `.text.unlikely+0x40`
/// are different places though their offsets agree.
///
/// The readers keep addresses as `u64`s (a linked file's are plain virtual addresses), so a
/// relocatable file's are [`packed`](SectionAddress::pack) into one: the section index in the
/// top 16 bits, the offset below. This is the only place that knows the packing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SectionAddress {
    /// ELF section index.
    pub section: usize,
    /// Byte offset from the start of the section.
    pub offset: u64,
}

/// Offsets occupy the low 48 bits of a packed address; sections the 16 above.
const OFFSET_BITS: u32 = 48;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;

impl SectionAddress {
    /// `offset` bytes into section `section`.
    pub fn new(section: usize, offset: u64) -> Self {
        SectionAddress { section, offset }
    }

    /// The address as one `u64`, as the readers of relocatable files store it. Offsets beyond
    /// 48 bits (no real section is that large) are truncated.
    pub fn pack(self) -> u64 {
        ((self.section as u64) << OFFSET_BITS) | (self.offset & OFFSET_MASK)
    }

    /// The section and offset of a [`pack`](Self::pack)ed address.
    pub fn unpack(packed: u64) -> Self {
        SectionAddress {
            section: (packed >> OFFSET_BITS) as usize,
            offset: packed & OFFSET_MASK,
        }
    }

    /// The same place `delta` bytes further on (wrapping, as relocation addends do).
    pub fn offset_by(self, delta: u64) -> Self {
        SectionAddress {
            section: self.section,
            offset: self.offset.wrapping_add(delta) & OFFSET_MASK,
        }
    }
}

impl fmt::Display for SectionAddress {
    /// `[3]+0x40`: the section by index (names need the file).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]+{:#x}", self.section, self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::SectionAddress;

    #[test]
    fn packing_keeps_section_and_offset_apart() {
        let a = SectionAddress::new(3, 0x40);
        assert_eq!(SectionAddress::unpack(a.pack()), a);
        assert_ne!(a.pack(), SectionAddress::new(4, 0x40).pack());
        assert_eq!(a.pack(), (3 << 48) | 0x40);
        assert_eq!(a.to_string(), "[3]+0x40");
    }

    #[test]
    fn section_zero_packs_to_the_plain_offset() {
        // A linked file's addresses are never packed; section 0 (SHN_UNDEF) holds no code, so a
        // packed address is never confused with a small plain one in practice.
        assert_eq!(SectionAddress::new(0, 0x1234).pack(), 0x1234);
    }

    #[test]
    fn an_addend_moves_the_offset_within_the_section() {
        let a = SectionAddress::new(2, 0x10).offset_by(8);
        assert_eq!(a, SectionAddress::new(2, 0x18));
        // A negative addend as relocations write it (two's complement).
        assert_eq!(SectionAddress::new(2, 0x10).offset_by((-4i64) as u64), SectionAddress::new(2, 0xc));
    }
}
