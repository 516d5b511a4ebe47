//! Adjustments that keep the BTF loadable by the kernel where a faithful encoding would not be.
//!
//! The kernel's BTF verifier requires a struct member whose type resolves to a FLOAT to sit at an
//! offset that is a multiple of `min(size, sizeof(void *))` bytes ("Member is not properly
//! aligned"). A packed struct can put a `double` anywhere, and then the whole blob is refused: for
//! a module that means no BTF at all, so no tracing of any of its functions. Such a member is
//! given an INT of the same name and size with no encoding instead (what encoders wrote for
//! floating-point types before BTF had FLOAT): the layout stays exact, only the member's value is
//! shown as raw bits.

use btf::types::*;
use btf::Btf;
use std::collections::HashMap;

/// The pointer size the kernel's check uses (the encoder targets 64-bit kernels).
const POINTER_SIZE: u32 = 8;

/// Redirects misaligned FLOAT members (through typedefs and qualifiers) to an INT twin. Returns
/// how many members were changed.
pub(crate) fn misaligned_float_members(btf: &mut Btf) -> usize {
    // (member's struct index, member index, float size, float name)
    let mut todo: Vec<(usize, usize, u32, StrRef)> = Vec::new();
    for (i, t) in btf.own_types().iter().enumerate() {
        let (TypeData::Struct(c) | TypeData::Union(c)) = &t.data else {
            continue;
        };
        for (j, m) in c.members.iter().enumerate() {
            let Some((size, name)) = float_behind(btf, m.ty) else {
                continue;
            };
            let align_bits = size.min(POINTER_SIZE) * 8;
            if align_bits != 0 && m.bit_offset % align_bits != 0 {
                todo.push((i, j, size, name));
            }
        }
    }
    if todo.is_empty() {
        return 0;
    }
    let mut twins: HashMap<(u32, StrRef), TypeId> = HashMap::new();
    let mut types = btf.own_types().to_vec();
    let first = btf.first_id().0;
    for &(i, j, size, name) in &todo {
        let twin = *twins.entry((size, name)).or_insert_with(|| {
            types.push(Type {
                name,
                data: TypeData::Int(Int {
                    size,
                    encoding: IntEncoding::NONE,
                    bit_offset: 0,
                    bits: (size * 8).min(u32::from(u8::MAX)) as u8,
                }),
            });
            TypeId(first + types.len() as u32 - 1)
        });
        if let TypeData::Struct(c) | TypeData::Union(c) = &mut types[i].data {
            c.members[j].ty = twin;
        }
    }
    btf.set_types(types);
    todo.len()
}

/// The size and name of the FLOAT `id` resolves to through typedefs and qualifiers.
fn float_behind(btf: &Btf, mut id: TypeId) -> Option<(u32, StrRef)> {
    // Bounded: a validated blob has no loops here, but this runs before validation.
    for _ in 0..64 {
        let t = btf.type_by_id(id)?;
        match &t.data {
            TypeData::Float(f) => return Some((f.size, t.name)),
            TypeData::Typedef(r)
            | TypeData::Const(r)
            | TypeData::Volatile(r)
            | TypeData::Restrict(r) => id = *r,
            TypeData::TypeTag(t) => id = t.ty,
            _ => return None,
        }
    }
    None
}
