//! The shape builtins: the data-moving ones (`reshape`, `ravel`, `trans`, `permute`, `join`) and
//! `broadcast_to` and `expand_dims`. `join` is lowered to existing instructions (expand,
//! broadcast, select on the new last index).
use super::{broadcast_shapes, reshape_keeps_padding_last, type_text, Elab, Slots, Val};
use crate::base::Span;
use crate::ir::{CmpOp, Elem, InstKind, ValueId};
use crate::sema::builtins::Rearrange;
use crate::sema::diags;
use crate::syntax::ast;

impl Elab<'_> {
    /// A runtime tile argument (scalars are refused with E0403 when `rank` is given).
    pub(super) fn tile_arg(
        &mut self,
        v: &Val,
        vs: Span,
        name: &str,
        rank: Option<usize>,
    ) -> Option<ValueId> {
        if matches!(v, Val::Error) {
            return None;
        }
        let Some(Elem::Scalar(_)) = self.val_elem(v) else {
            self.not_a_number(v, vs, name);
            return None;
        };
        let id = self.runtime_value(v, vs)?;
        let have = self.b.ty(id).shape.len();
        if let Some(r) = rank {
            if have != r {
                self.diags
                    .push(diags::tile_rank(name, r, have, &self.describe(v), vs));
                return None;
            }
        }
        Some(id)
    }

    /// A list of compile-time integers such as `[1, 0]` (for `permute`).
    fn int_list(&mut self, e: &ast::Expr) -> Option<Vec<i128>> {
        let items = match &e.kind {
            ast::ExprKind::List(items) => items.as_slice(),
            _ => std::slice::from_ref(e),
        };
        let mut out = Vec::new();
        for item in items {
            let v = self.expr(item);
            out.push(self.expect_const_int(&v, item.span, "a dim index")?);
        }
        Some(out)
    }

    /// The data-moving shape builtins, whose first argument is a block (or a scalar).
    pub(super) fn rearrange(
        &mut self,
        name: &str,
        op: Rearrange,
        slots: &Slots<'_>,
        span: Span,
    ) -> Val {
        let (x, xs) = self.arg_val(slots[0]);
        let rank = match op {
            Rearrange::Trans => Some(2),
            Rearrange::Reshape | Rearrange::Ravel | Rearrange::Permute | Rearrange::Join => None,
        };
        let Some(x_id) = self.tile_arg(&x, xs, name, rank) else {
            return Val::Error;
        };
        let ty = self.b.ty(x_id).clone();
        match op {
            Rearrange::Reshape | Rearrange::Ravel => {
                let shape = if op == Rearrange::Ravel {
                    vec![ty.num_elements().max(1) as u32]
                } else {
                    let expr = slots[1].and_then(|a| self.arg_expr(a));
                    let Some(shape) = expr.and_then(|e| self.shape_arg(e)) else {
                        return Val::Error;
                    };
                    shape
                };
                let count: u64 = shape.iter().map(|&d| d as u64).product();
                if count != ty.num_elements() {
                    let shown = slots[1].map_or(span, |a| a.span);
                    return self.error(diags::reshape_count(&ty.shape, &shape, shown, xs));
                }
                if !ty.is_scalar()
                    && shape != ty.shape
                    && !(reshape_keeps_padding_last(&ty.shape)
                        && reshape_keeps_padding_last(&shape))
                {
                    let shown = slots[1].map_or(span, |a| a.span);
                    return self.error(diags::reshape_padded(&ty.shape, &shape, shown, xs));
                }
                self.b.span = span;
                if ty.is_scalar() {
                    return Val::Rt(self.b.splat(x_id, shape));
                }
                if shape == ty.shape {
                    return Val::Rt(x_id);
                }
                Val::Rt(
                    self.b
                        .push(InstKind::Reshape(x_id), Some(ty.with_shape(shape))),
                )
            }
            Rearrange::Trans | Rearrange::Permute => {
                let perm: Vec<i128> = if op == Rearrange::Trans {
                    vec![1, 0]
                } else {
                    let expr = slots[1].and_then(|a| self.arg_expr(a));
                    let Some(list) = expr.and_then(|e| self.int_list(e)) else {
                        return Val::Error;
                    };
                    list
                };
                let r = ty.shape.len();
                let mut seen = perm.clone();
                seen.sort();
                if seen != (0..r as i128).collect::<Vec<_>>() {
                    let shown = slots[1].map_or(span, |a| a.span);
                    return self.error(diags::not_a_permutation(&perm, &ty.shape, shown, xs));
                }
                self.b.span = span;
                let perm: Vec<u32> = perm.iter().map(|&p| p as u32).collect();
                if perm.iter().enumerate().all(|(i, &p)| p as usize == i) {
                    return Val::Rt(x_id);
                }
                let shape = perm.iter().map(|&p| ty.shape[p as usize]).collect();
                Val::Rt(self.b.push(
                    InstKind::Permute { value: x_id, perm },
                    Some(ty.with_shape(shape)),
                ))
            }
            Rearrange::Join => self.join(x, xs, slots, span),
        }
    }

    /// `join(a, b)`: `where(i == 0, a[.., None], b[.., None])` broadcast over a new last dim of 2.
    fn join(&mut self, a: Val, as_: Span, slots: &Slots<'_>, span: Span) -> Val {
        let (b, bs) = self.arg_val(slots[1]);
        let Some(b_id) = self.tile_arg(&b, bs, "join", None) else {
            return Val::Error;
        };
        let Some(a_id) = self.runtime_value(&a, as_) else {
            return Val::Error;
        };
        let (ta, tb) = (self.b.ty(a_id).clone(), self.b.ty(b_id).clone());
        if ta.elem != tb.elem {
            return self.error(diags::join_operand_types(
                &type_text(&ta),
                as_,
                &type_text(&tb),
                bs,
            ));
        }
        if ta.shape != tb.shape {
            return self.error(diags::join_shapes(&ta.shape, as_, &tb.shape, bs));
        }
        let r = ta.shape.len();
        if r >= 4 {
            return self.error(diags::join_too_many_dims(span));
        }
        self.b.span = span;
        let mut shape = ta.shape.clone();
        shape.push(2);
        let widen = |e: &mut Self, id: ValueId| {
            if r == 0 {
                e.b.splat(id, vec![2])
            } else {
                let x = e.b.expand_dims(id, r as u32);
                e.b.broadcast(x, shape.clone())
            }
        };
        let wa = widen(self, a_id);
        let wb = widen(self, b_id);
        let mut idx = self.b.arange(0, 2);
        for _ in 0..r {
            idx = self.b.expand_dims(idx, 0);
        }
        if r > 0 {
            idx = self.b.broadcast(idx, shape.clone());
        }
        let zero = self.b.const_i32(0);
        let zeros = self.b.splat(zero, shape.clone());
        let first = self.b.compare(CmpOp::Eq, idx, zeros);
        Val::Rt(self.b.select(first, wa, wb))
    }

    pub(super) fn broadcast_to(&mut self, name: &str, slots: &Slots<'_>) -> Val {
        let (x, xs) = self.arg_val(slots[0]);
        let shape_expr = slots[1].and_then(|a| self.arg_expr(a));
        let Some(shape) = shape_expr.and_then(|e| self.shape_arg(e)) else {
            return Val::Error;
        };
        let Some(Elem::Scalar(ty)) = self.val_elem(&x) else {
            return self.not_a_number(&x, xs, name);
        };
        let have = self.shape_of(&x);
        if broadcast_shapes(&have, &shape).as_deref() != Some(&shape[..]) {
            return self.error(diags::cannot_broadcast_to(&have, &shape, xs));
        }
        match self.materialize(&x, ty, &shape, xs) {
            Some(id) => Val::Rt(id),
            None => Val::Error,
        }
    }

    pub(super) fn expand_dims(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let (x, xs) = self.arg_val(slots[0]);
        let Some((axis, s)) = self.const_axis(slots[1], "the axis") else {
            return Val::Error;
        };
        let Some(id) = self.runtime_value(&x, xs) else {
            return Val::Error;
        };
        let rank = self.b.ty(id).shape.len() as i128;
        let a = if axis < 0 { axis + rank + 1 } else { axis };
        if !(0..=rank).contains(&a) || rank >= 4 {
            return self.error(diags::expand_axis_out_of_range(axis, rank, s));
        }
        self.b.span = span;
        Val::Rt(if rank == 0 {
            self.b.splat(id, vec![1])
        } else {
            self.b.expand_dims(id, a as u32)
        })
    }
}
