//! The argument-passing class of a parameter's DWARF type (x86-64 System V): what [`crate::abi`]
//! checks a parameter's location against. Read from the unit's type DIEs.

use super::{Die, Walker};
use crate::abi::ArgClass;
use crate::error::Result;
use gimli::constants::*;

/// Classifies the type in `e`'s `DW_AT_type` for argument passing.
pub(super) fn classify<'a>(w: &Walker<'a, '_>, e: &Die<'a>) -> Result<ArgClass> {
    let Some(t) = w.ref_attr(e, DW_AT_type)? else {
        return Ok(ArgClass::Void);
    };
    classify_off(w, t, 0)
}

fn classify_off(w: &Walker<'_, '_>, off: gimli::UnitOffset, depth: usize) -> Result<ArgClass> {
    if depth > 32 {
        return Ok(ArgClass::Unknown("type chain too deep".into()));
    }
    let e = w.entry(off)?;
    Ok(match e.tag() {
        DW_TAG_typedef | DW_TAG_const_type | DW_TAG_volatile_type | DW_TAG_restrict_type
        | DW_TAG_atomic_type => match w.ref_attr(&e, DW_AT_type)? {
            Some(t) => return classify_off(w, t, depth + 1),
            None => ArgClass::Void,
        },
        DW_TAG_pointer_type | DW_TAG_reference_type | DW_TAG_rvalue_reference_type => {
            ArgClass::Int(1)
        }
        DW_TAG_enumeration_type => ArgClass::Int(1),
        DW_TAG_base_type => {
            let size = w.udata(&e, DW_AT_byte_size)?.unwrap_or(0);
            let enc = match w.attr(&e, DW_AT_encoding)? {
                Some(gimli::AttributeValue::Encoding(x)) => x,
                _ => DW_ATE_signed,
            };
            match enc {
                DW_ATE_float if size <= 8 => ArgClass::Sse,
                DW_ATE_float => ArgClass::Memory, // long double: x87, in memory
                DW_ATE_complex_float => {
                    ArgClass::Unknown("complex floating-point parameter".into())
                }
                _ if size <= 8 => ArgClass::Int(1),
                _ if size <= 16 => ArgClass::Int(2),
                _ => ArgClass::Memory,
            }
        }
        DW_TAG_structure_type | DW_TAG_union_type | DW_TAG_class_type => {
            let size = w.udata(&e, DW_AT_byte_size)?.unwrap_or(0);
            if size > 16 {
                ArgClass::Memory
            } else if size == 0 {
                ArgClass::Unknown("empty or incomplete struct parameter".into())
            } else {
                let mut eightbytes = [Eightbyte::default(); 2];
                match aggregate_ok(w, off, 0, depth, &mut eightbytes)? {
                    // An eightbyte holding floats and nothing else is SSE class: it travels in an
                    // xmm register, which the kernel's trampoline never reads. Floats sharing an
                    // eightbyte with an integer are INTEGER class (System V 3.2.3).
                    Ok(()) if eightbytes.iter().any(|e| e.float && !e.int) => ArgClass::Unknown(
                        "struct parameter with an eightbyte of floating-point members only (SSE class: passed in an xmm register)".into(),
                    ),
                    Ok(()) => ArgClass::Int(size.div_ceil(8) as u8),
                    Err(why) => ArgClass::Unknown(why),
                }
            }
        }
        tag => ArgClass::Unknown(format!("parameter of type {tag}")),
    })
}

/// True when the type in `e`'s `DW_AT_type` is aligned to 16 bytes or more: a 16-byte integer
/// or float, an explicit `DW_AT_alignment` of 16+, or an aggregate or array holding one.
pub(super) fn aligned16<'a>(w: &Walker<'a, '_>, e: &Die<'a>) -> Result<bool> {
    match w.ref_attr(e, DW_AT_type)? {
        Some(t) => aligned16_off(w, t, 0),
        None => Ok(false),
    }
}

fn aligned16_off(w: &Walker<'_, '_>, off: gimli::UnitOffset, depth: usize) -> Result<bool> {
    if depth > 32 {
        return Ok(false);
    }
    let e = w.entry(off)?;
    if w.udata(&e, DW_AT_alignment)?.is_some_and(|a| a >= 16) {
        return Ok(true);
    }
    Ok(match e.tag() {
        DW_TAG_typedef | DW_TAG_const_type | DW_TAG_volatile_type | DW_TAG_restrict_type
        | DW_TAG_atomic_type | DW_TAG_array_type => match w.ref_attr(&e, DW_AT_type)? {
            Some(t) => aligned16_off(w, t, depth + 1)?,
            None => false,
        },
        DW_TAG_base_type => w.udata(&e, DW_AT_byte_size)? == Some(16),
        DW_TAG_structure_type | DW_TAG_union_type | DW_TAG_class_type => {
            for (c, tag) in w.children(off)? {
                if tag != DW_TAG_member {
                    continue;
                }
                let m = w.entry(c)?;
                if w.udata(&m, DW_AT_alignment)?.is_some_and(|a| a >= 16) {
                    return Ok(true);
                }
                if let Some(t) = w.ref_attr(&m, DW_AT_type)? {
                    if aligned16_off(w, t, depth + 1)? {
                        return Ok(true);
                    }
                }
            }
            false
        }
        _ => false,
    })
}

/// Checks that a small aggregate is made of naturally aligned integer-class fields only (then it
/// travels in integer registers); else says why we do not vouch for its location.
/// What the members of one eightbyte of a small aggregate are.
#[derive(Debug, Clone, Copy, Default)]
struct Eightbyte {
    int: bool,
    float: bool,
}

fn aggregate_ok(
    w: &Walker<'_, '_>,
    off: gimli::UnitOffset,
    base: u64,
    depth: usize,
    eightbytes: &mut [Eightbyte; 2],
) -> Result<std::result::Result<(), String>> {
    fn mark(eightbytes: &mut [Eightbyte; 2], from: u64, len: u64, float: bool) {
        for e in (from / 8)..=((from + len.max(1) - 1) / 8) {
            if let Some(slot) = eightbytes.get_mut(e as usize) {
                if float { slot.float = true } else { slot.int = true }
            }
        }
    }
    if depth > 32 {
        return Ok(Err("struct nesting too deep".into()));
    }
    for (c, tag) in w.children(off)? {
        if tag != DW_TAG_member {
            continue;
        }
        let m = w.entry(c)?;
        if let Some(bits) = w.udata(&m, DW_AT_bit_size)? {
            // Bitfields are integer class and packed by definition.
            let bit = match w.udata(&m, DW_AT_data_bit_offset)? {
                Some(b) => base * 8 + b,
                None => base.saturating_add(w.member_location(&m).unwrap_or(0)) * 8,
            };
            mark(eightbytes, bit / 8, bits.div_ceil(8).max(1), false);
            continue;
        }
        let pos = base.saturating_add(w.member_location(&m)?);
        let Some(t) = w.ref_attr(&m, DW_AT_type)? else { continue };
        let (leaf, align) = leaf_of(w, t, depth + 1)?;
        match leaf {
            Leaf::Int => mark(eightbytes, pos, align.max(1), false),
            // A float array's extent is not `align`: not classified here.
            Leaf::Float if is_array(w, t, depth + 1)? => {
                return Ok(Err("struct parameter with a floating-point array member".into()))
            }
            Leaf::Float => mark(eightbytes, pos, align.max(1), true),
            Leaf::Aggregate(inner) => {
                if let Err(why) = aggregate_ok(w, inner, pos, depth + 1, eightbytes)? {
                    return Ok(Err(why));
                }
            }
            Leaf::Unknown => {
                return Ok(Err("struct parameter with members of unknown class".into()))
            }
        }
        if align > 1 && pos % align != 0 {
            return Ok(Err("packed struct parameter (unaligned member)".into()));
        }
    }
    Ok(Ok(()))
}

/// True when `off`, through typedefs and qualifiers, is an array type.
fn is_array(w: &Walker<'_, '_>, off: gimli::UnitOffset, depth: usize) -> Result<bool> {
    if depth > 32 {
        return Ok(true);
    }
    let e = w.entry(off)?;
    Ok(match e.tag() {
        DW_TAG_array_type => true,
        DW_TAG_typedef | DW_TAG_const_type | DW_TAG_volatile_type | DW_TAG_restrict_type | DW_TAG_atomic_type => match w.ref_attr(&e, DW_AT_type)? {
            Some(t) => is_array(w, t, depth + 1)?,
            None => false,
        },
        _ => false,
    })
}

enum Leaf {
    Int,
    Float,
    Aggregate(gimli::UnitOffset),
    Unknown,
}

/// The class of a member type (arrays by element) and its natural alignment.
fn leaf_of(w: &Walker<'_, '_>, off: gimli::UnitOffset, depth: usize) -> Result<(Leaf, u64)> {
    if depth > 32 {
        return Ok((Leaf::Unknown, 1));
    }
    let e = w.entry(off)?;
    Ok(match e.tag() {
        DW_TAG_typedef | DW_TAG_const_type | DW_TAG_volatile_type | DW_TAG_restrict_type
        | DW_TAG_atomic_type | DW_TAG_array_type => match w.ref_attr(&e, DW_AT_type)? {
            Some(t) => return leaf_of(w, t, depth + 1),
            None => (Leaf::Unknown, 1),
        },
        DW_TAG_pointer_type | DW_TAG_reference_type => (Leaf::Int, u64::from(w.unit.encoding().address_size)),
        DW_TAG_enumeration_type => (Leaf::Int, w.udata(&e, DW_AT_byte_size)?.unwrap_or(4)),
        DW_TAG_base_type => {
            let size = w.udata(&e, DW_AT_byte_size)?.unwrap_or(1);
            let float = matches!(
                w.attr(&e, DW_AT_encoding)?,
                Some(gimli::AttributeValue::Encoding(
                    DW_ATE_float | DW_ATE_complex_float
                ))
            );
            (if float { Leaf::Float } else { Leaf::Int }, size.min(16))
        }
        DW_TAG_structure_type | DW_TAG_union_type | DW_TAG_class_type => (Leaf::Aggregate(off), 1),
        _ => (Leaf::Unknown, 1),
    })
}
