//! Reductions (`sum`, `prod`, `max`, `min`, `argmax`, `argmin`) and the axis argument they share
//! with scans.
use super::{Elab, Slots, Val};
use crate::base::{Literal, ScalarType, Span};
use crate::ir::{Elem, ReduceOp};
use crate::sema::diags;
use crate::syntax::ast;

/// What a reduction gives: the reduced values, or the i32 index where the extreme is found
/// (`argmax`, `argmin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReduceResult {
    Value,
    Index,
}

impl Elab<'_> {
    /// A compile-time axis of a block of `shape` (`xs` its span), negative counting from the end;
    /// `None` after reporting a mistake.
    pub(super) fn axis_arg(
        &mut self,
        arg: Option<&ast::Arg>,
        shape: &[u32],
        xs: Span,
        what: &str,
    ) -> Option<u32> {
        let rank = shape.len() as i128;
        let (axis, s) = self.const_axis(arg, what)?;
        let a = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&a) {
            self.diags
                .push(diags::axis_out_of_range(axis, shape, s, xs));
            return None;
        }
        Some(a as u32)
    }

    pub(super) fn reduce(
        &mut self,
        name: &str,
        op: ReduceOp,
        result: ReduceResult,
        slots: &Slots<'_>,
        span: Span,
    ) -> Val {
        let (x, xs) = self.arg_val(slots[0]);
        if matches!(x, Val::Error) {
            return Val::Error;
        }
        if !matches!(self.val_elem(&x), Some(Elem::Scalar(t)) if !t.is_bool()) {
            return self.not_a_number(&x, xs, name);
        }
        let Some(id) = self.runtime_value(&x, xs) else {
            return Val::Error;
        };
        let shape = self.b.ty(id).shape.clone();
        let axis = match slots[1] {
            Some(_) => match self.axis_arg(slots[1], &shape, xs, "the reduction axis") {
                Some(a) => Some(a),
                None => return Val::Error,
            },
            None => None,
        };
        let keep_dims = match slots[2] {
            Some(_) => {
                let (k, ks) = self.arg_val(slots[2]);
                match self.expect_known(&k, ks, "`keep_dims`") {
                    Some((_, Literal::Bool(b))) => b,
                    Some(_) => {
                        return self.error(diags::keep_dims_not_bool(&self.describe(&k), ks))
                    }
                    None => return Val::Error,
                }
            }
            None => false,
        };
        let arg = result == ReduceResult::Index;
        if shape.is_empty() {
            // A scalar is its own reduction, and its only index is 0.
            return if arg {
                Val::known(ScalarType::I32, Literal::Int(0))
            } else {
                Val::Rt(id)
            };
        }
        self.b.span = span;
        let r = if arg {
            self.arg_reduce(op, id, axis)
        } else {
            self.b.reduce(op, id, axis)
        };
        if !keep_dims {
            return Val::Rt(r);
        }
        Val::Rt(match axis {
            Some(a) => self.b.expand_dims(r, a),
            None => self.b.splat(r, vec![1; shape.len()]),
        })
    }
}
