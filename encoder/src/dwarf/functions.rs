//! Subprograms → function candidates: names through abstract origins, source prototypes,
//! parameters' locations at entry, the ABI check, true signatures.

use super::classify;
use super::index::Target;
use super::{Die, FuncCand, Walker, MAX_DEPTH};
use crate::abi::{self, ArgClass, Loc};
use crate::elf::Reader;
use crate::error::Result;
use crate::fx::HashMap;
use btf::types::*;
use gimli::{constants::*, AttributeValue, UnitOffset};
use std::borrow::Cow;

impl<'a, 'u> Walker<'a, 'u> {
    /// The entry address of a function DIE, if it has code.
    fn entry_pc(&self, e: &Die<'a>) -> Result<Option<u64>> {
        if let Some(AttributeValue::Addr(a)) = self.attr(e, DW_AT_entry_pc)? {
            return Ok(Some(a));
        }
        if let Some(v) = self.attr(e, DW_AT_low_pc)? {
            return Ok(match v {
                AttributeValue::Addr(a) => Some(a),
                AttributeValue::DebugAddrIndex(i) => Some(
                    self.dwarf
                        .address(self.unit, i)
                        .map_err(self.err(e.offset()))?,
                ),
                _ => None,
            });
        }
        if let Some(v) = self.attr(e, DW_AT_ranges)? {
            let err = self.err(e.offset());
            if let Some(off) = self.dwarf.attr_ranges_offset(self.unit, v).map_err(&err)? {
                let mut it = self.dwarf.ranges(self.unit, off).map_err(&err)?;
                if let Some(r) = it.next().map_err(&err)? {
                    return Ok(Some(r.begin));
                }
            }
        }
        Ok(None)
    }

    /// An out-of-line function (a subprogram DIE with code) → its candidate in `out.funcs`:
    /// its source facts, its source prototype, and whether each parameter is where the ABI puts
    /// it at the entry address.
    pub(super) fn function(&mut self, off: UnitOffset) -> Result<()> {
        let e = self.entry(off)?;
        if self.flag(&e, DW_AT_declaration)? {
            return Ok(());
        }
        let Some(entry) = self.entry_pc(&e)? else {
            if self.attr(&e, DW_AT_inline)?.is_some() {
                self.out.inline_only += 1;
            }
            return Ok(());
        };
        let Some(chain) = self.origin_chain(off)? else {
            // Name and parameters live in another unit (LTO): not judged, not encoded.
            self.out.foreign_origin += 1;
            return Ok(());
        };
        let SourceFacts {
            name,
            linkage_name,
            external,
            ret_die,
            nocall,
            mut decl_tags,
        } = self.source_facts(&chain)?;
        if name.is_empty() {
            return Ok(());
        }
        let ret = match ret_die {
            Some(d) => {
                let de = self.entry(d)?;
                self.type_of(&de)?
            }
            None => TypeId::VOID,
        };
        let src_die = self.source_parameters_die(off, &chain)?;
        let concrete = self.concrete_parameters(off)?;
        let (params, param_info) =
            self.parameters(off, src_die, entry, &concrete, &mut decl_tags)?;
        let ret_class = match ret_die {
            Some(d) => classify::classify(self, &self.entry(d)?)?,
            None => ArgClass::Void,
        };
        let abi = abi::check(self.x86_64, &ret_class, &param_info, external && !nocall);
        let (true_proto, true_proto_void) = if self.feats.clone_true_signature && nocall {
            let p = self.nocall_proto(&ret_class, &param_info, &params)?;
            (Some(p.clone()), p.ok())
        } else if self.feats.clone_true_signature {
            match self.clone_proto(ret, &ret_class, &param_info, &params) {
                Ok((kept, void)) => (Some(Ok(kept)), Some(void)),
                Err(e) => (Some(Err(e)), None),
            }
        } else {
            (None, None)
        };
        let proto = self.push(
            Type {
                name: StrRef::EMPTY,
                data: TypeData::FuncProto(FuncProto { ret, params }),
            },
            true,
        );
        let die = self.die_off(off);
        self.out.funcs.push(FuncCand {
            name,
            linkage_name,
            external,
            entry,
            die,
            proto,
            nocall,
            abi,
            true_proto,
            true_proto_void,
            decl_tags,
        });
        Ok(())
    }

    /// The function DIE and the DIEs its abstract origin / specification chain leads to, where
    /// the source-level facts are; `None` when the chain leaves the unit.
    fn origin_chain(&self, off: UnitOffset) -> Result<Option<Vec<UnitOffset>>> {
        let mut chain = vec![off];
        let mut cur = off;
        for _ in 0..MAX_DEPTH {
            let ce = self.entry(cur)?;
            let origin = match self.ref_target(&ce, DW_AT_abstract_origin)? {
                Some(o) => Some(o),
                None => self.ref_target(&ce, DW_AT_specification)?,
            };
            let next = match origin {
                Some(Target::Local(o)) => Some(o),
                Some(Target::Foreign(_)) => return Ok(None),
                None => None,
            };
            match next {
                Some(n) if !chain.contains(&n) => {
                    chain.push(n);
                    cur = n;
                }
                _ => break,
            }
        }
        Ok(Some(chain))
    }

    /// Name, linkage name, linkage, return type DIE, calling convention and decl tags, each
    /// from the first DIE of the chain that has it (the tags from all of them).
    fn source_facts(&self, chain: &[UnitOffset]) -> Result<SourceFacts> {
        let mut name = String::new();
        let mut linkage_name = None;
        let mut external = false;
        let mut ret_die = None;
        let mut nocall = false;
        let mut decl_tags = Vec::new();
        for &c in chain {
            let ce = self.entry(c)?;
            if name.is_empty() {
                name = self.name(&ce)?.into_owned();
            }
            if linkage_name.is_none() {
                linkage_name = match self.string(&ce, DW_AT_linkage_name)? {
                    Some(l) => Some(l),
                    None => self.string(&ce, DW_AT_MIPS_linkage_name)?,
                };
            }
            external |= self.flag(&ce, DW_AT_external)?;
            if ret_die.is_none() && self.attr(&ce, DW_AT_type)?.is_some() {
                ret_die = Some(c);
            }
            if let Some(AttributeValue::CallingConvention(cc)) =
                self.attr(&ce, DW_AT_calling_convention)?
            {
                nocall |= cc == DW_CC_nocall;
            }
            if self.feats.decl_tag {
                for t in self.annotations(c, "btf_decl_tag")? {
                    if !decl_tags.iter().any(|(x, i)| x == &t && *i == -1) {
                        decl_tags.push((t, -1));
                    }
                }
            }
        }
        Ok(SourceFacts {
            name,
            linkage_name,
            external,
            ret_die,
            nocall,
            decl_tags,
        })
    }

    /// The DIE whose children are the source parameters: the first DIE of the chain after the
    /// concrete one that has any (the abstract instance or declaration); else the concrete DIE
    /// `off`.
    fn source_parameters_die(&self, off: UnitOffset, chain: &[UnitOffset]) -> Result<UnitOffset> {
        for &c in chain.iter().skip(1) {
            let mut kit = self.kids_of(c)?;
            while let Some((_, t)) = kit.next(self) {
                if t == DW_TAG_formal_parameter || t == DW_TAG_unspecified_parameters {
                    return Ok(c);
                }
            }
        }
        Ok(off)
    }

    /// The concrete parameters of the function DIE `off`, keyed by the source parameter they
    /// stand for (through their abstract origins).
    fn concrete_parameters(&self, off: UnitOffset) -> Result<HashMap<UnitOffset, UnitOffset>> {
        let mut concrete: HashMap<UnitOffset, UnitOffset> = HashMap::default();
        let mut kit = self.kids_of(off)?;
        while let Some((c, tag)) = kit.next(self) {
            if tag != DW_TAG_formal_parameter {
                continue;
            }
            let ce = self.entry(c)?;
            let mut key = c;
            let mut k = ce.offset();
            for _ in 0..8 {
                let ke = self.entry(k)?;
                match self.ref_attr(&ke, DW_AT_abstract_origin)? {
                    Some(o) => {
                        key = o;
                        k = o;
                    }
                    None => break,
                }
            }
            concrete.insert(key, c);
        }
        Ok(concrete)
    }

    /// The source parameters (children of `src_die`): the prototype's parameters, and for each
    /// named one its ABI class and where it is at `entry` (from its concrete DIE). Their decl
    /// tags are added to `decl_tags`.
    fn parameters(
        &mut self,
        off: UnitOffset,
        src_die: UnitOffset,
        entry: u64,
        concrete: &HashMap<UnitOffset, UnitOffset>,
        decl_tags: &mut Vec<(String, i32)>,
    ) -> Result<(Vec<Param>, Vec<abi::ParamInfo>)> {
        let mut params = Vec::with_capacity(self.count_kids(
            src_die,
            &[DW_TAG_formal_parameter, DW_TAG_unspecified_parameters],
        ));
        let mut param_info = Vec::new();
        let mut kit = self.kids_of(src_die)?;
        while let Some((c, tag)) = kit.next(self) {
            match tag {
                DW_TAG_formal_parameter => {
                    let pe = self.entry(c)?;
                    let n = self.name(&pe)?;
                    let ty = self.type_of(&pe)?;
                    let class = classify::classify(self, &pe)?;
                    let (loc, pieces) =
                        match concrete
                            .get(&c)
                            .or(if src_die == off { Some(&c) } else { None })
                        {
                            Some(&cc) => self.param_loc(cc, entry)?,
                            None => (Loc::Missing, Vec::new()),
                        };
                    if self.feats.decl_tag {
                        for t in self.annotations(c, "btf_decl_tag")? {
                            decl_tags.push((t, params.len() as i32));
                        }
                    }
                    let name = self.intern_in(n.clone());
                    param_info.push(abi::ParamInfo {
                        name: n.into_owned(),
                        class,
                        loc,
                        pieces,
                        ty,
                        align16: classify::aligned16(self, &pe)?,
                        die: c,
                    });
                    params.push(Param { name, ty });
                }
                DW_TAG_unspecified_parameters => params.push(Param {
                    name: StrRef::EMPTY,
                    ty: TypeId::VOID,
                }),
                _ => {}
            }
        }
        Ok((params, param_info))
    }

    /// The signature a clone's parameter locations show (see [`abi::true_signature`]), pushed
    /// as a FUNC_PROTO with the source return type and as one returning `void`; Err says why it
    /// cannot be derived. Which one a clone gets depends on its symbol's suffix, which the walk
    /// does not see (funcs.rs): gcc's IPA-SRA removes a return value no caller uses and the
    /// clone's DWARF is the same either way.
    fn clone_proto(
        &mut self,
        ret: TypeId,
        ret_class: &ArgClass,
        info: &[abi::ParamInfo],
        params: &[Param],
    ) -> std::result::Result<(TypeId, TypeId), String> {
        let order = abi::true_signature(self.x86_64, ret_class, info)?;
        let ps: Vec<Param> = order
            .iter()
            .map(|&i| Param {
                name: params[i].name,
                ty: info[i].ty,
            })
            .collect();
        let mut proto = |ret: TypeId, params: Vec<Param>| {
            self.push(
                Type {
                    name: StrRef::EMPTY,
                    data: TypeData::FuncProto(FuncProto { ret, params }),
                },
                true,
            )
        };
        if ret == TypeId::VOID {
            let p = proto(ret, ps);
            return Ok((p, p));
        }
        Ok((proto(ret, ps.clone()), proto(TypeId::VOID, ps)))
    }

    /// The real prototype of a `DW_CC_nocall` function (see [`abi::nocall_signature`]), pushed
    /// as a FUNC_PROTO; Err says why it cannot be derived. Its return type is `void`: clang
    /// marks a function nocall when it removed parameters or the return value, and DWARF keeps
    /// the source return type either way, so a return value the prototype promised could be
    /// whatever the register held. `void` makes the verifier refuse to read one.
    fn nocall_proto(
        &mut self,
        ret_class: &ArgClass,
        info: &[abi::ParamInfo],
        params: &[Param],
    ) -> Result<std::result::Result<TypeId, String>> {
        let kept = match abi::nocall_signature(self.x86_64, ret_class, info) {
            Ok(k) => k,
            Err(e) => return Ok(Err(e)),
        };
        let mut ps = Vec::with_capacity(kept.len());
        for k in kept {
            match k {
                abi::Kept::Whole(i) => ps.push(Param {
                    name: params[i].name,
                    ty: info[i].ty,
                }),
                abi::Kept::Member(i, offset) => match self.member_at(info[i].die, offset)? {
                    Some((member, ty)) if !info[i].name.is_empty() => {
                        let name = format!("{}__{member}", info[i].name);
                        let name = self.intern_in(Cow::Owned(name));
                        ps.push(Param { name, ty });
                    }
                    _ => {
                        return Ok(Err(format!(
                            "parameter '{}': only part of it arrives (at byte {offset}) and no \
                             named member of one register starts there",
                            info[i].name
                        )))
                    }
                },
            }
        }
        Ok(Ok(self.push(
            Type {
                name: StrRef::EMPTY,
                data: TypeData::FuncProto(FuncProto {
                    ret: TypeId::VOID,
                    params: ps,
                }),
            },
            true,
        )))
    }

    /// The member of the struct type of `param` that starts at byte `offset`, is no bitfield
    /// and travels in one integer register: its name and type.
    fn member_at(
        &mut self,
        param: UnitOffset,
        offset: u64,
    ) -> Result<Option<(String, TypeId)>> {
        let pe = self.entry(param)?;
        let mut t = self.ref_attr(&pe, DW_AT_type)?;
        for _ in 0..16 {
            let Some(off) = t else { return Ok(None) };
            let e = self.entry(off)?;
            match e.tag() {
                DW_TAG_typedef | DW_TAG_const_type | DW_TAG_volatile_type => {
                    t = self.ref_attr(&e, DW_AT_type)?
                }
                DW_TAG_structure_type => {
                    for (c, tag) in self.children(off)? {
                        if tag != DW_TAG_member {
                            continue;
                        }
                        let m = self.entry(c)?;
                        if self.udata(&m, DW_AT_bit_size)?.is_some()
                            || self.member_location(&m)? != offset
                        {
                            continue;
                        }
                        let name = self.name(&m)?.into_owned();
                        if name.is_empty() || classify::classify(self, &m)? != ArgClass::Int(1) {
                            return Ok(None);
                        }
                        let ty = self.type_of(&m)?;
                        return Ok(Some((name, ty)));
                    }
                    return Ok(None);
                }
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Where a parameter is at function entry, and the registers its pieces are in there
    /// (byte offset in the parameter, DWARF register; empty without `DW_OP_piece`).
    fn param_loc(&self, off: UnitOffset, entry: u64) -> Result<(Loc, Vec<(u64, u16)>)> {
        let at = |data: gimli::Expression<Reader<'a>>| {
            (self.first_op(data.clone(), off), self.reg_pieces(data))
        };
        let e = self.entry(off)?;
        match self.attr(&e, DW_AT_location)? {
            // A single expression holds for the whole function: a frame slot is the
            // parameter's home after the prologue (-O0, or its address taken), not where it
            // arrived.
            Some(AttributeValue::Exprloc(expr)) => Ok(match at(expr) {
                (Loc::Stack, p) => (Loc::Home, p),
                loc => loc,
            }),
            Some(v) => {
                // Walk the raw list: gimli's cooked iterator drops empty ranges, and gcc's
                // location views put the location at entry in an empty range that starts at
                // the entry address.
                let err = self.err(off);
                let Some(offset) = self
                    .dwarf
                    .attr_locations_offset(self.unit, v)
                    .map_err(&err)?
                else {
                    return Ok((Loc::Missing, Vec::new()));
                };
                let mut raw = self.dwarf.raw_locations(self.unit, offset).map_err(&err)?;
                let mut base = self.unit.low_pc;
                let mut any = false;
                let mut default = None;
                // A view entry (empty range) at the entry address; used only when no real range
                // covers the entry.
                let mut view = None;
                // The range that covers the entry, and the register named by a
                // `DW_OP_entry_value(DW_OP_regN)` anywhere in the list.
                let mut covering = None;
                let mut entry_value = None;
                let addr = |i| self.dwarf.address(self.unit, i).map_err(&err);
                while let Some(le) = raw.next().map_err(&err)? {
                    use gimli::RawLocListEntry as R;
                    let (begin, end, data) = match le {
                        R::BaseAddress { addr } => {
                            base = addr;
                            continue;
                        }
                        R::BaseAddressx { addr: i } => {
                            base = addr(i)?;
                            continue;
                        }
                        R::AddressOrOffsetPair { begin, end, data }
                        | R::OffsetPair { begin, end, data } => {
                            (base.wrapping_add(begin), base.wrapping_add(end), data)
                        }
                        R::StartEnd { begin, end, data } => (begin, end, data),
                        R::StartLength {
                            begin,
                            length,
                            data,
                        } => (begin, begin.wrapping_add(length), data),
                        R::StartxEndx { begin, end, data } => (addr(begin)?, addr(end)?, data),
                        R::StartxLength {
                            begin,
                            length,
                            data,
                        } => {
                            let b = addr(begin)?;
                            (b, b.wrapping_add(length), data)
                        }
                        R::DefaultLocation { data } => {
                            default = Some(data);
                            continue;
                        }
                    };
                    any = true;
                    if entry_value.is_none() {
                        entry_value = self.entry_value_reg(data.clone());
                    }
                    if begin <= entry && entry < end && covering.is_none() {
                        covering = Some(data);
                    } else if begin == entry && end == begin && view.is_none() {
                        view = Some(data);
                    }
                }
                let found = match (covering, view, default) {
                    (Some(d), _, _) | (None, Some(d), _) | (None, None, Some(d)) => at(d),
                    (None, None, None) if any => (Loc::NotAtEntry, Vec::new()),
                    (None, None, None) => (Loc::Missing, Vec::new()),
                };
                // `DW_OP_entry_value(DW_OP_regN)` says the parameter's value is what regN held
                // when the function was entered: it arrived in regN. That decides when the
                // list says nothing at the entry (its first range starts after the prologue
                // moved the value to a callee-saved register) or names a callee-saved register
                // there, which no caller passes arguments in.
                Ok(match (found, entry_value) {
                    ((Loc::NotAtEntry, _), Some(r)) => (Loc::Reg(r, None), Vec::new()),
                    ((Loc::Reg(c, None), _), Some(r)) if abi::CALLEE_SAVED.contains(&c) => {
                        (Loc::Reg(r, None), Vec::new())
                    }
                    (found, _) => found,
                })
            }
            None => Ok((
                if self.attr(&e, DW_AT_const_value)?.is_some() {
                    Loc::Constant
                } else {
                    Loc::Missing
                },
                Vec::new(),
            )),
        }
    }

    /// N when `expr` is exactly `DW_OP_entry_value(DW_OP_regN)`, optionally `DW_OP_stack_value`.
    fn entry_value_reg(&self, expr: gimli::Expression<Reader<'a>>) -> Option<u16> {
        let enc = self.unit.encoding();
        let mut r = expr.0;
        let gimli::Operation::EntryValue { mut expression } =
            gimli::Operation::parse(&mut r, enc).ok()?
        else {
            return None;
        };
        let gimli::Operation::Register { register } =
            gimli::Operation::parse(&mut expression, enc).ok()?
        else {
            return None;
        };
        if !gimli::Reader::is_empty(&expression) {
            return None;
        }
        if !gimli::Reader::is_empty(&r) {
            match gimli::Operation::parse(&mut r, enc).ok()? {
                gimli::Operation::StackValue if gimli::Reader::is_empty(&r) => {}
                _ => return None,
            }
        }
        Some(register.0)
    }

    /// The register pieces of a composite location: (byte offset in the value, register) for
    /// each `DW_OP_regN DW_OP_piece` pair; pieces without a location only advance the offset.
    /// Empty when the expression has no `DW_OP_piece` or a piece lives elsewhere than in a
    /// register (memory, a computed value: not a register-passed piece).
    fn reg_pieces(&self, expr: gimli::Expression<Reader<'a>>) -> Vec<(u64, u16)> {
        let enc = self.unit.encoding();
        let mut r = expr.0;
        let mut out = Vec::new();
        let mut offset = 0u64;
        let mut pending: Option<u16> = None;
        let mut other = false;
        let mut any_piece = false;
        while !gimli::Reader::is_empty(&r) {
            let Ok(op) = gimli::Operation::parse(&mut r, enc) else {
                return Vec::new();
            };
            match op {
                gimli::Operation::Register { register } if pending.is_none() && !other => {
                    pending = Some(register.0)
                }
                gimli::Operation::Piece {
                    size_in_bits,
                    bit_offset: None,
                } if size_in_bits % 8 == 0 => {
                    any_piece = true;
                    if other {
                        return Vec::new();
                    }
                    if let Some(reg) = pending.take() {
                        out.push((offset, reg));
                    }
                    offset += size_in_bits / 8;
                }
                _ => other = true,
            }
        }
        if !any_piece || other || pending.is_some() {
            return Vec::new();
        }
        out
    }

    fn first_op(&self, expr: gimli::Expression<Reader<'a>>, _off: UnitOffset) -> Loc {
        let mut r = expr.0;
        let enc = self.unit.encoding();
        let Ok(op) = gimli::Operation::parse(&mut r, enc) else {
            return Loc::Other;
        };
        match op {
            gimli::Operation::Register { register } => {
                let pieces = gimli::Reader::is_empty(&r);
                // A second register after a piece (two-eightbyte struct).
                let mut second = None;
                if !pieces {
                    if let Ok(gimli::Operation::Piece { .. }) = gimli::Operation::parse(&mut r, enc)
                    {
                        if let Ok(gimli::Operation::Register { register }) =
                            gimli::Operation::parse(&mut r, enc)
                        {
                            second = Some(register.0);
                        }
                    }
                }
                Loc::Reg(register.0, second)
            }
            gimli::Operation::EntryValue { mut expression } => {
                match gimli::Operation::parse(&mut expression, enc) {
                    Ok(gimli::Operation::Register { register }) => Loc::Reg(register.0, None),
                    _ => Loc::Other,
                }
            }
            gimli::Operation::FrameOffset { .. } => Loc::Stack,
            // A constant (`DW_OP_litN`, `DW_OP_constu`, ... `DW_OP_stack_value`, or an implicit
            // value): the parameter is not passed.
            gimli::Operation::UnsignedConstant { .. }
            | gimli::Operation::SignedConstant { .. }
            | gimli::Operation::ImplicitValue { .. } => Loc::Constant,
            // A value computed from a register (`DW_OP_bregN 0 ... DW_OP_stack_value`, clang's
            // way of describing a narrowed or split argument): the argument arrived in regN.
            gimli::Operation::RegisterOffset {
                register,
                offset: 0,
                ..
            } if register.0 != 7 && register.0 != 6 && {
                let mut rest = r.clone();
                let mut stack_value = false;
                while let Ok(op) = gimli::Operation::parse(&mut rest, enc) {
                    if matches!(op, gimli::Operation::StackValue) {
                        stack_value = true;
                        break;
                    }
                }
                stack_value
            } =>
            {
                Loc::Reg(register.0, None)
            }
            gimli::Operation::RegisterOffset { register, .. }
                if register.0 == 7 || register.0 == 6 =>
            {
                Loc::Stack
            }
            gimli::Operation::Piece { .. } => Loc::Other,
            _ => Loc::Other,
        }
    }
}

/// What the abstract origin / specification chain of a function says about its source.
struct SourceFacts {
    name: String,
    linkage_name: Option<String>,
    external: bool,
    /// The DIE whose `DW_AT_type` is the return type (`None`: void).
    ret_die: Option<UnitOffset>,
    /// `DW_CC_nocall` on any DIE of the chain.
    nocall: bool,
    /// `btf_decl_tag`s of the function: (tag, -1).
    decl_tags: Vec<(String, i32)>,
}
