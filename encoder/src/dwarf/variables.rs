//! Global variables with a static address → variable candidates.

use super::{VarCand, Walker};
use crate::error::Result;
use gimli::{constants::*, AttributeValue, UnitOffset};

impl<'a, 'u> Walker<'a, 'u> {
    pub(super) fn variable(&mut self, off: UnitOffset) -> Result<()> {
        let e = self.entry(off)?;
        if self.flag(&e, DW_AT_declaration)? {
            return Ok(());
        }
        let Some(AttributeValue::Exprloc(expr)) = self.attr(&e, DW_AT_location)? else {
            return Ok(());
        };
        let mut r = expr.0;
        let Ok(gimli::Operation::Address { address }) =
            gimli::Operation::parse(&mut r, self.unit.encoding())
        else {
            return Ok(());
        };
        if !gimli::Reader::is_empty(&r) {
            return Ok(());
        }
        let mut name = self.name(&e)?.into_owned();
        let mut external = self.flag(&e, DW_AT_external)?;
        let mut ty_die = off;
        let mut decl_tags = Vec::new();
        if self.feats.decl_tag {
            decl_tags.extend(self.annotations(off, "btf_decl_tag")?);
        }
        let mut has_type = self.attr(&e, DW_AT_type)?.is_some();
        if let Some(spec) = self.ref_attr(&e, DW_AT_specification)? {
            let se = self.entry(spec)?;
            if name.is_empty() {
                name = self.name(&se)?.into_owned();
            }
            external |= self.flag(&se, DW_AT_external)?;
            if !has_type {
                ty_die = spec;
                has_type = self.attr(&se, DW_AT_type)?.is_some();
            }
            if self.feats.decl_tag {
                decl_tags.extend(self.annotations(spec, "btf_decl_tag")?);
            }
        }
        if name.is_empty() || !has_type {
            return Ok(());
        }
        let te = self.entry(ty_die)?;
        let ty = self.type_of(&te)?;
        let size = self.type_size_die(&te, 0)?.unwrap_or(0);
        self.out.vars.push(VarCand {
            name,
            ty,
            external,
            addr: address,
            size,
            decl_tags,
        });
        Ok(())
    }
}
