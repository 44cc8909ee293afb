//! Math builtins: the unary math functions, the binary ones (`maximum`, `minimum`, `pow`,
//! `umulhi`, `cdiv`, folded at compile time where they can be), `clamp`, `fma`, `where` and
//! `bitcast`.
use super::{Elab, OpTy, Slots, Val};
use crate::base::{Literal, ScalarType, Span};
use crate::ir::{BinaryOp, Elem, InstKind, Type, UnaryOp};
use crate::sema::fold::{FoldError, FoldOp};
use crate::sema::{diags, fold};

/// A binary math builtin: one IR operation, or `cdiv`, which becomes `(a + b - 1) / b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinaryMath {
    Op(BinaryOp),
    CeilDiv,
}

impl Elab<'_> {
    pub(super) fn math_unary(
        &mut self,
        name: &str,
        op: UnaryOp,
        x: Val,
        xs: Span,
        span: Span,
    ) -> Val {
        let elem = match self.op_ty(&x) {
            Some(OpTy::Typed(t)) if t.is_float() || (op == UnaryOp::Abs && t.is_int()) => t,
            Some(OpTy::UntypedFloat) | Some(OpTy::UntypedInt) if op != UnaryOp::Abs => {
                ScalarType::F32
            }
            Some(OpTy::UntypedInt) => ScalarType::I32,
            Some(OpTy::UntypedFloat) => ScalarType::F32,
            Some(OpTy::Typed(t)) => return self.float_required(name, t, xs),
            None => return self.not_a_number(&x, xs, name),
        };
        let shape = self.shape_of(&x);
        let Some(id) = self.materialize(&x, elem, &shape, xs) else {
            return Val::Error;
        };
        self.b.span = span;
        Val::Rt(self.b.unary(op, id))
    }

    /// A binary math builtin called with `(a, b)`.
    pub(super) fn math_binary_call(
        &mut self,
        name: &str,
        op: BinaryMath,
        slots: &Slots<'_>,
        span: Span,
    ) -> Val {
        let (a, as_) = self.arg_val(slots[0]);
        let (b, bs) = self.arg_val(slots[1]);
        self.math_binary(name, op, a, as_, b, bs, span)
    }

    /// `name` (for messages) applied as `op` to `a` and `b`.
    #[allow(clippy::too_many_arguments)]
    fn math_binary(
        &mut self,
        name: &str,
        op: BinaryMath,
        a: Val,
        as_: Span,
        b: Val,
        bs: Span,
        span: Span,
    ) -> Val {
        if matches!(a, Val::Error) || matches!(b, Val::Error) {
            return Val::Error;
        }
        let Some(unified) = self.unify(name, &[(&a, as_), (&b, bs)]) else {
            return Val::Error;
        };
        let (elem, untyped) = match unified {
            Ok(t) => (t, false),
            Err(OpTy::UntypedFloat) => (ScalarType::F32, true),
            Err(_) => (
                if op == BinaryMath::Op(BinaryOp::Pow) {
                    ScalarType::F32
                } else {
                    ScalarType::I32
                },
                true,
            ),
        };
        let ok = match op {
            BinaryMath::Op(BinaryOp::Pow) => elem.is_float(),
            BinaryMath::Op(BinaryOp::MulHi) | BinaryMath::CeilDiv => elem.is_int(),
            BinaryMath::Op(_) => !elem.is_bool(),
        };
        if !ok {
            let want = if op == BinaryMath::Op(BinaryOp::Pow) {
                "floats"
            } else if elem.is_bool() {
                "numbers"
            } else {
                "integers"
            };
            return self.error(diags::math_operand_type(
                name,
                want,
                elem,
                &self.describe(&a),
                as_,
            ));
        }
        // Compile-time folding (consts in shapes, grids and asserts).
        if let (Val::Known { lit: x, .. }, Val::Known { lit: y, .. }) = (&a, &b) {
            let fop = match op {
                BinaryMath::Op(BinaryOp::Max) => Some(FoldOp::Max),
                BinaryMath::Op(BinaryOp::Min) => Some(FoldOp::Min),
                BinaryMath::CeilDiv => Some(FoldOp::CeilDiv),
                BinaryMath::Op(_) => None,
            };
            if let Some(fop) = fop {
                let (x, y) = if untyped && elem.is_int() {
                    (*x, *y)
                } else {
                    (fold::convert(*x, elem), fold::convert(*y, elem))
                };
                let ty = if untyped && elem.is_int() {
                    None
                } else {
                    Some(elem)
                };
                match fold::fold_binary(fop, ty, x, y) {
                    Ok(lit) => return Val::Known { ty, lit },
                    Err(FoldError::DivisionByZero) => {
                        return self.error(diags::division_by_zero(bs))
                    }
                    Err(FoldError::NotFoldable) => {}
                }
            }
        }
        let Some(shape) = self.broadcast_all(&[(&a, as_), (&b, bs)]) else {
            return Val::Error;
        };
        let (Some(x), Some(y)) = (
            self.materialize(&a, elem, &shape, as_),
            self.materialize(&b, elem, &shape, bs),
        ) else {
            return Val::Error;
        };
        self.b.span = span;
        match op {
            BinaryMath::Op(op) => Val::Rt(self.b.binary(op, x, y)),
            BinaryMath::CeilDiv => {
                // cdiv(a, b) = (a + b - 1) / b
                let one = self.b.constant(elem, Literal::Int(1));
                let one = if shape.is_empty() {
                    one
                } else {
                    self.b.splat(one, shape.clone())
                };
                let sum = self.b.binary(BinaryOp::Add, x, y);
                let num = self.b.binary(BinaryOp::Sub, sum, one);
                Val::Rt(self.b.binary(BinaryOp::Div, num, y))
            }
        }
    }

    /// `clamp(x, lo, hi)`: `minimum(maximum(x, lo), hi)`.
    pub(super) fn clamp(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let (x, xs) = self.arg_val(slots[0]);
        let (lo, ls) = self.arg_val(slots[1]);
        let (hi, hs) = self.arg_val(slots[2]);
        let m = self.math_binary(
            "maximum",
            BinaryMath::Op(BinaryOp::Max),
            x,
            xs,
            lo,
            ls,
            span,
        );
        self.math_binary(
            "minimum",
            BinaryMath::Op(BinaryOp::Min),
            m,
            span,
            hi,
            hs,
            span,
        )
    }

    pub(super) fn fma(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let vals: Vec<(Val, Span)> = (0..3).map(|i| self.arg_val(slots[i])).collect();
        let pairs: Vec<(&Val, Span)> = vals.iter().map(|(v, s)| (v, *s)).collect();
        if pairs.iter().any(|(v, _)| matches!(v, Val::Error)) {
            return Val::Error;
        }
        let Some(unified) = self.unify("fma", &pairs) else {
            return Val::Error;
        };
        let elem = match unified {
            Ok(t) if t.is_float() => t,
            Err(_) => ScalarType::F32,
            Ok(t) => return self.float_required("fma", t, vals[0].1),
        };
        let Some(shape) = self.broadcast_all(&pairs) else {
            return Val::Error;
        };
        let mut ids = Vec::new();
        for (v, s) in &vals {
            let Some(id) = self.materialize(v, elem, &shape, *s) else {
                return Val::Error;
            };
            ids.push(id);
        }
        self.b.span = span;
        let ty = Type::tile(elem, shape);
        Val::Rt(self.b.push(
            InstKind::Fma {
                a: ids[0],
                b: ids[1],
                c: ids[2],
            },
            Some(ty),
        ))
    }

    /// `where(cond, a, b)`.
    pub(super) fn select(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let (c, cs) = self.arg_val(slots[0]);
        let (a, as_) = self.arg_val(slots[1]);
        let (b, bs) = self.arg_val(slots[2]);
        if [&c, &a, &b].iter().any(|v| matches!(v, Val::Error)) {
            return Val::Error;
        }
        if self.op_ty(&c) != Some(OpTy::Typed(ScalarType::Bool)) {
            return self.error(diags::where_condition_not_bool(&self.describe(&c), cs));
        }
        let Some(unified) = self.unify("where", &[(&a, as_), (&b, bs)]) else {
            return Val::Error;
        };
        let elem = match unified {
            Ok(t) => t,
            Err(OpTy::UntypedFloat) => ScalarType::F32,
            Err(_) => ScalarType::I32,
        };
        let Some(shape) = self.broadcast_all(&[(&c, cs), (&a, as_), (&b, bs)]) else {
            return Val::Error;
        };
        let (Some(ci), Some(ai), Some(bi)) = (
            self.materialize(&c, ScalarType::Bool, &shape, cs),
            self.materialize(&a, elem, &shape, as_),
            self.materialize(&b, elem, &shape, bs),
        ) else {
            return Val::Error;
        };
        self.b.span = span;
        Val::Rt(self.b.select(ci, ai, bi))
    }

    pub(super) fn bitcast(&mut self, name: &str, slots: &Slots<'_>, span: Span) -> Val {
        let (x, xs) = self.arg_val(slots[0]);
        let Some(to) = slots[1].and_then(|a| self.type_arg(a)) else {
            return Val::Error;
        };
        let Some(Elem::Scalar(from)) = self.val_elem(&x) else {
            return self.not_a_number(&x, xs, name);
        };
        if from.bits() != to.bits() || from.is_bool() || to.is_bool() {
            return self.error(diags::bitcast_width(from, to, xs));
        }
        let shape = self.shape_of(&x);
        let Some(id) = self.materialize(&x, from, &shape, xs) else {
            return Val::Error;
        };
        self.b.span = span;
        Val::Rt(
            self.b
                .push(InstKind::Bitcast(id), Some(Type::tile(to, shape))),
        )
    }
}
