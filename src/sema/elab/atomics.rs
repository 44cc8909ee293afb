//! Checking `atomic_add/max/min/and/or/xor/xchg(p, v, mask: m)` and `atomic_cas(p, cmp, v)`:
//! a mutable pointer (scalar or tile) to i32 or u32 (f32 only for `atomic_add`), operands of the
//! pointee type broadcast to the pointer's shape; the result is the old values.
use super::{Elab, OpTy, Slots, Val};
use crate::base::{ScalarType, Span};
use crate::ir::{AtomicOp, InstKind, Type, ValueId};
use crate::sema::diags;

impl Elab<'_> {
    pub(super) fn atomic(
        &mut self,
        name: &str,
        op: AtomicOp,
        slots: &Slots<'_>,
        span: Span,
    ) -> Val {
        let Some((ptr, pointee, mutable, param, ps)) = self.pointer_arg(slots[0], name) else {
            return Val::Error;
        };
        if !mutable {
            return self.read_only_store(param, pointee, ps);
        }
        let supported = match pointee {
            ScalarType::I32 | ScalarType::U32 => true,
            ScalarType::F32 => op == AtomicOp::Add,
            _ => false,
        };
        if !supported {
            return self.error(diags::atomic_element_type(name, pointee, ps));
        }
        let shape = self.b.ty(ptr).shape.clone();
        // atomic_cas(ptr, cmp, value); the others (ptr, value, mask).
        let (value_slot, cmp_slot, mask_slot) = if op == AtomicOp::Cas {
            (2, Some(1), None)
        } else {
            (1, None, Some(2))
        };
        let Some(value) = self.atomic_operand(name, slots, value_slot, pointee, &shape, ps) else {
            return Val::Error;
        };
        let cmp = match cmp_slot {
            Some(k) => match self.atomic_operand(name, slots, k, pointee, &shape, ps) {
                Some(c) => Some(c),
                None => return Val::Error,
            },
            None => None,
        };
        let mask = match mask_slot {
            Some(k) => match self.mask_arg(slots[k], &shape, ps) {
                Ok(m) => m,
                Err(()) => return Val::Error,
            },
            None => None,
        };
        self.b.span = span;
        Val::Rt(self.b.push(
            InstKind::Atomic {
                op,
                ptr,
                value,
                cmp,
                mask,
            },
            Some(Type::tile(pointee, shape)),
        ))
    }

    /// An operand of an atomic: the pointee's type, broadcast to the pointer's shape.
    fn atomic_operand(
        &mut self,
        name: &str,
        slots: &Slots<'_>,
        k: usize,
        pointee: ScalarType,
        shape: &[u32],
        ps: Span,
    ) -> Option<ValueId> {
        let (v, vs) = self.arg_val(slots[k]);
        if matches!(v, Val::Error) {
            return None;
        }
        match self.op_ty(&v) {
            Some(OpTy::Typed(t)) if t != pointee => {
                self.error(diags::atomic_value_type(
                    name,
                    t,
                    pointee,
                    &self.describe(&v),
                    vs,
                    ps,
                ));
                return None;
            }
            Some(OpTy::UntypedFloat) if !pointee.is_float() => {
                self.error(diags::atomic_float_literal(name, pointee, vs, ps));
                return None;
            }
            None => {
                self.not_a_number(&v, vs, name);
                return None;
            }
            _ => {}
        }
        self.fit_to(&v, vs, pointee, shape, ps, "value")
    }
}
