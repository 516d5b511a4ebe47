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

/// Redirects misaligned FLOAT members to an INT twin, keeping the typedefs and qualifiers on the
/// way (`volatile double` stays `volatile`, over the INT). Returns how many members were changed.
pub(crate) fn misaligned_float_members(btf: &mut Btf) -> usize {
    // (struct index, member index)
    let mut todo: Vec<(usize, usize)> = Vec::new();
    for (i, t) in btf.own_types().iter().enumerate() {
        let (TypeData::Struct(c) | TypeData::Union(c)) = &t.data else {
            continue;
        };
        for (j, m) in c.members.iter().enumerate() {
            let Some(size) = float_behind(btf, m.ty) else {
                continue;
            };
            let align_bits = size.min(POINTER_SIZE) * 8;
            if align_bits != 0 && m.bit_offset % align_bits != 0 {
                todo.push((i, j));
            }
        }
    }
    if todo.is_empty() {
        return 0;
    }
    let first = btf.first_id().0;
    let mut types = btf.own_types().to_vec();
    // Twin of each type on a chain, so a chain shared by several members is rebuilt once.
    let mut twins: HashMap<TypeId, TypeId> = HashMap::new();
    for &(i, j) in &todo {
        let ty = match &types[i].data {
            TypeData::Struct(c) | TypeData::Union(c) => c.members[j].ty,
            _ => continue,
        };
        let twin = twin_of(btf, ty, first, &mut types, &mut twins);
        if let TypeData::Struct(c) | TypeData::Union(c) = &mut types[i].data {
            c.members[j].ty = twin;
        }
    }
    btf.set_types(types);
    todo.len()
}

/// The copy of the chain from `id` down to its FLOAT, with an INT in the FLOAT's place.
fn twin_of(
    btf: &Btf,
    id: TypeId,
    first: u32,
    types: &mut Vec<Type>,
    twins: &mut HashMap<TypeId, TypeId>,
) -> TypeId {
    if let Some(&t) = twins.get(&id) {
        return t;
    }
    // `float_behind` walked this chain to a FLOAT within its bound, so it ends.
    let Some(t) = btf.type_by_id(id).cloned() else {
        return id;
    };
    let data = match t.data {
        TypeData::Float(f) => TypeData::Int(Int {
            size: f.size,
            encoding: IntEncoding::NONE,
            bit_offset: 0,
            bits: (f.size * 8).min(u32::from(u8::MAX)) as u8,
        }),
        mut other => {
            let mut inner = None;
            other.for_each_ref(|r| inner = Some(r));
            let Some(inner) = inner else { return id };
            let below = twin_of(btf, inner, first, types, twins);
            other.map_refs(|_| below);
            other
        }
    };
    types.push(Type { name: t.name, data });
    let new = TypeId(first + types.len() as u32 - 1);
    twins.insert(id, new);
    new
}

/// The size of the FLOAT `id` resolves to through typedefs and qualifiers.
fn float_behind(btf: &Btf, mut id: TypeId) -> Option<u32> {
    // Bounded: a validated blob has no loops here, but this runs before validation.
    for _ in 0..64 {
        let t = btf.type_by_id(id)?;
        match &t.data {
            TypeData::Float(f) => return Some(f.size),
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
