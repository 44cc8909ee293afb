//! Grid queries (`program_id`, `num_programs`) and the builtins that create blocks: `arange`,
//! `zeros`, `full`, `zeros_like` and `full_like` (a scalar splatted to a shape).
use super::{Elab, OpTy, Slots, Val, MAX_ELEMENTS};
use crate::base::{Literal, ScalarType, Span};
use crate::ir::{Elem, InstKind, Type};
use crate::sema::diags;
use crate::syntax::ast;

/// What a creation builtin fills its block with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Fill<'e> {
    /// Zero of the block's type (`false` for `bool`).
    Zero,
    /// The scalar argument in this slot.
    Value(Option<&'e ast::Arg>),
}

impl Elab<'_> {
    /// `program_id(axis)` / `num_programs(axis)`: `make` is the instruction for a grid axis.
    pub(super) fn grid_index(
        &mut self,
        slots: &Slots<'_>,
        make: fn(u32) -> InstKind,
        span: Span,
    ) -> Val {
        let Some((axis, s)) = self.const_axis(slots[0], "the grid axis") else {
            return Val::Error;
        };
        if !(0..=2).contains(&axis) {
            return self.error(diags::grid_axis_out_of_range(axis, s));
        }
        self.b.span = span;
        Val::Rt(
            self.b
                .push(make(axis as u32), Some(Type::scalar(ScalarType::I32))),
        )
    }

    pub(super) fn arange(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let Some((start, _)) = self.const_axis(slots[0], "`arange` start") else {
            return Val::Error;
        };
        let Some((end, es)) = self.const_axis(slots[1], "`arange` end") else {
            return Val::Error;
        };
        let len = end.saturating_sub(start);
        if len <= 0 || len > MAX_ELEMENTS as i128 {
            return self.error(diags::arange_length(start, end, len, span, es));
        }
        self.b.span = span;
        Val::Rt(self.b.arange(start as i64, len as u32))
    }

    /// The scalar a block of `ty` is filled with: zero (`false` for `bool`, which no number
    /// converts to) at the call, or the argument.
    fn fill_value(&mut self, fill: Fill<'_>, ty: ScalarType, span: Span) -> (Val, Span) {
        match fill {
            Fill::Zero if ty.is_bool() => (Val::known(ty, Literal::Bool(false)), span),
            Fill::Zero => (
                Val::Known {
                    ty: None,
                    lit: Literal::Int(0),
                },
                span,
            ),
            Fill::Value(value) => self.arg_val(value),
        }
    }

    /// `zeros(shape, T)` and `full(shape, value, T)`.
    pub(super) fn new_block(
        &mut self,
        shape: Option<&ast::Arg>,
        dtype: Option<&ast::Arg>,
        fill: Fill<'_>,
        span: Span,
    ) -> Val {
        let shape_expr = shape.and_then(|a| self.arg_expr(a));
        let Some(shape) = shape_expr.and_then(|e| self.shape_arg(e)) else {
            return Val::Error;
        };
        let Some(ty) = dtype.and_then(|a| self.type_arg(a)) else {
            return Val::Error;
        };
        let (v, vs) = self.fill_value(fill, ty, span);
        self.fill(v, vs, ty, &shape, span)
    }

    /// `zeros_like(x)` and `full_like(x, value)`.
    pub(super) fn block_like(
        &mut self,
        name: &str,
        like: Option<&ast::Arg>,
        fill: Fill<'_>,
        span: Span,
    ) -> Val {
        let (x, xs) = self.arg_val(like);
        let Some(Elem::Scalar(ty)) = self.val_elem(&x) else {
            return self.not_a_number(&x, xs, name);
        };
        let shape = self.shape_of(&x);
        let (v, vs) = self.fill_value(fill, ty, span);
        self.fill(v, vs, ty, &shape, span)
    }

    /// A block of `shape` filled with scalar `v` converted to `ty` (typed values must be `ty`).
    pub(super) fn fill(
        &mut self,
        v: Val,
        vspan: Span,
        ty: ScalarType,
        shape: &[u32],
        span: Span,
    ) -> Val {
        if matches!(v, Val::Error) {
            return Val::Error;
        }
        match self.op_ty(&v) {
            Some(OpTy::Typed(t)) if t != ty => {
                return self.error(diags::fill_value_type(t, ty, vspan))
            }
            None => return self.not_a_number(&v, vspan, "full"),
            _ => {}
        }
        if !self.shape_of(&v).is_empty() {
            return self.error(diags::fill_not_scalar(&self.describe(&v), vspan));
        }
        let saved = self.b.span;
        self.b.span = span;
        let out = match self.materialize(&v, ty, shape, vspan) {
            Some(id) => Val::Rt(id),
            None => Val::Error,
        };
        self.b.span = saved;
        out
    }
}
