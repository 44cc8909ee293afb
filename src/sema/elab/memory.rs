//! Memory builtins `load` and `store`: the pointer, mask and `other`/value arguments, each
//! broadcast to the pointer's shape.
use super::{broadcast_shapes, Elab, OpTy, Slots, Val};
use crate::base::{ScalarType, Span};
use crate::ir::{Elem, ValueId};
use crate::sema::diags;
use crate::syntax::ast;

impl Elab<'_> {
    pub(super) fn pointer_arg(
        &mut self,
        arg: Option<&ast::Arg>,
        name: &str,
    ) -> Option<(ValueId, ScalarType, bool, u32, Span)> {
        let (p, ps) = self.arg_val(arg);
        if let Val::Rt(id) = p {
            if let Elem::Ptr {
                pointee,
                mutable,
                param,
            } = self.b.ty(id).elem
            {
                return Some((id, pointee, mutable, param, ps));
            }
        }
        if !matches!(p, Val::Error) {
            self.diags
                .push(diags::not_a_pointer(name, &self.describe(&p), ps));
        }
        None
    }

    /// `mask`: a bool broadcast to `shape`.
    pub(super) fn mask_arg(
        &mut self,
        arg: Option<&ast::Arg>,
        shape: &[u32],
        ptr_span: Span,
    ) -> Result<Option<ValueId>, ()> {
        if arg.is_none() {
            return Ok(None);
        }
        let (m, ms) = self.arg_val(arg);
        if matches!(m, Val::Error) {
            return Err(());
        }
        if self.op_ty(&m) != Some(OpTy::Typed(ScalarType::Bool)) {
            self.diags
                .push(diags::mask_not_bool(&self.describe(&m), ms));
            return Err(());
        }
        self.fit_to(&m, ms, ScalarType::Bool, shape, ptr_span, "mask")
            .ok_or(())
            .map(Some)
    }

    /// Broadcasts `v` to exactly `shape` (the pointer's), reporting both shapes on failure.
    pub(super) fn fit_to(
        &mut self,
        v: &Val,
        vs: Span,
        elem: ScalarType,
        shape: &[u32],
        ptr_span: Span,
        what: &str,
    ) -> Option<ValueId> {
        let have = self.shape_of(v);
        if broadcast_shapes(&have, shape).as_deref() != Some(shape) {
            self.diags.push(diags::not_broadcastable_to_pointer(
                what, &have, vs, shape, ptr_span,
            ));
            return None;
        }
        self.materialize(v, elem, shape, vs)
    }

    pub(super) fn read_only_store(
        &mut self,
        param: u32,
        pointee: ScalarType,
        ptr_span: Span,
    ) -> Val {
        let params = &self.b.kernel.params;
        let name = params
            .get(param as usize)
            .map_or("?".to_string(), |p| p.name.clone());
        self.error(diags::read_only_write(&name, pointee, ptr_span))
    }

    pub(super) fn load(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let Some((ptr, pointee, _, _, ps)) = self.pointer_arg(slots[0], "load") else {
            return Val::Error;
        };
        let shape = self.b.ty(ptr).shape.clone();
        let Ok(mask) = self.mask_arg(slots[1], &shape, ps) else {
            return Val::Error;
        };
        let other = match slots[2] {
            None => None,
            Some(_) => {
                let (o, os) = self.arg_val(slots[2]);
                if matches!(o, Val::Error) {
                    return Val::Error;
                }
                match self.op_ty(&o) {
                    Some(OpTy::Typed(t)) if t != pointee => {
                        return self.error(diags::load_other_type(t, pointee, os, ps))
                    }
                    None => return self.not_a_number(&o, os, "load"),
                    _ => {}
                }
                match self.fit_to(&o, os, pointee, &shape, ps, "other") {
                    Some(id) => Some(id),
                    None => return Val::Error,
                }
            }
        };
        self.b.span = span;
        Val::Rt(self.b.load(ptr, mask, other))
    }

    pub(super) fn store(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let Some((ptr, pointee, mutable, param, ps)) = self.pointer_arg(slots[0], "store") else {
            return Val::Error;
        };
        if !mutable {
            return self.read_only_store(param, pointee, ps);
        }
        let shape = self.b.ty(ptr).shape.clone();
        let (v, vs) = self.arg_val(slots[1]);
        if matches!(v, Val::Error) {
            return Val::Error;
        }
        match self.op_ty(&v) {
            Some(OpTy::Typed(t)) if t != pointee => {
                return self.error(diags::store_value_type(
                    t,
                    pointee,
                    &self.describe(&v),
                    vs,
                    ps,
                ))
            }
            Some(OpTy::UntypedFloat) if !pointee.is_float() => {
                return self.error(diags::store_float_literal(pointee, vs, ps))
            }
            None => return self.not_a_number(&v, vs, "store"),
            _ => {}
        }
        let Some(value) = self.fit_to(&v, vs, pointee, &shape, ps, "value") else {
            return Val::Error;
        };
        let Ok(mask) = self.mask_arg(slots[2], &shape, ps) else {
            return Val::Error;
        };
        self.b.span = span;
        self.b.store(ptr, value, mask);
        Val::Unit
    }
}
