//! Math builtins: fills, the unary math functions and the binary ones (`maximum`, `minimum`,
//! `pow`, `umulhi`, `cdiv`, folded at compile time where they can be).
use super::{err, Elab, OpTy, Val};
use crate::base::{Literal, ScalarType, Span};
use crate::ir;
use crate::sema::fold::{FoldError, FoldOp};
use crate::sema::{diags, fold};

impl Elab<'_> {
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
                return self.error(
                    err(
                        "E0301",
                        format!("fill value is `{t}` but the block is `{ty}`"),
                    )
                    .with_label(vspan, format!("this is `{t}`"))
                    .with_help(format!("convert it with `as {ty}`")),
                )
            }
            None => return self.not_a_number(&v, vspan, "full"),
            _ => {}
        }
        if !self.shape_of(&v).is_empty() {
            return self.error(
                err("E0403", "the fill value must be a scalar")
                    .with_label(vspan, format!("this is {}", self.describe(&v)))
                    .with_help("use `broadcast_to` for blocks"),
            );
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

    pub(super) fn math_unary(&mut self, name: &str, x: Val, xs: Span, span: Span) -> Val {
        let elem = match self.op_ty(&x) {
            Some(OpTy::Typed(t)) if t.is_float() || (name == "abs" && t.is_int()) => t,
            Some(OpTy::UntypedFloat) | Some(OpTy::UntypedInt) if name != "abs" => ScalarType::F32,
            Some(OpTy::UntypedInt) => ScalarType::I32,
            Some(OpTy::UntypedFloat) => ScalarType::F32,
            Some(OpTy::Typed(t)) => return self.float_required(name, t, xs),
            None => return self.not_a_number(&x, xs, name),
        };
        let op = match name {
            "abs" => ir::UnaryOp::Abs,
            "exp" => ir::UnaryOp::Exp,
            "exp2" => ir::UnaryOp::Exp2,
            "log" => ir::UnaryOp::Log,
            "log2" => ir::UnaryOp::Log2,
            "sqrt" => ir::UnaryOp::Sqrt,
            "rsqrt" => ir::UnaryOp::Rsqrt,
            "sin" => ir::UnaryOp::Sin,
            "cos" => ir::UnaryOp::Cos,
            "tanh" => ir::UnaryOp::Tanh,
            "erf" => ir::UnaryOp::Erf,
            "floor" => ir::UnaryOp::Floor,
            "ceil" => ir::UnaryOp::Ceil,
            "round" => ir::UnaryOp::Round,
            _ => ir::UnaryOp::Sigmoid,
        };
        let shape = self.shape_of(&x);
        let Some(id) = self.materialize(&x, elem, &shape, xs) else {
            return Val::Error;
        };
        self.b.span = span;
        Val::Rt(self.b.unary(op, id))
    }

    pub(super) fn math_binary(
        &mut self,
        name: &str,
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
                if name == "pow" {
                    ScalarType::F32
                } else {
                    ScalarType::I32
                },
                true,
            ),
        };
        let ok = match name {
            "pow" => elem.is_float(),
            "umulhi" | "cdiv" => elem.is_int(),
            _ => !elem.is_bool(),
        };
        if !ok {
            let want = if name == "pow" {
                "floats"
            } else if elem.is_bool() {
                "numbers"
            } else {
                "integers"
            };
            return self.error(
                err("E0317", format!("`{name}` takes {want}, found `{elem}`"))
                    .with_label(as_, format!("this is {}", self.describe(&a)))
                    .with_help("convert the operands with `as`"),
            );
        }
        // Compile-time folding (consts in shapes, grids and asserts).
        if let (Val::Known { lit: x, .. }, Val::Known { lit: y, .. }) = (&a, &b) {
            let fop = match name {
                "maximum" => Some(FoldOp::Max),
                "minimum" => Some(FoldOp::Min),
                "cdiv" => Some(FoldOp::CeilDiv),
                _ => None,
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
        let op = match name {
            "maximum" => ir::BinaryOp::Max,
            "minimum" => ir::BinaryOp::Min,
            "pow" => ir::BinaryOp::Pow,
            "umulhi" => ir::BinaryOp::MulHi,
            _ => {
                // cdiv(a, b) = (a + b - 1) / b
                let one = self.b.constant(elem, Literal::Int(1));
                let one = if shape.is_empty() {
                    one
                } else {
                    self.b.splat(one, shape.clone())
                };
                let sum = self.b.binary(ir::BinaryOp::Add, x, y);
                let num = self.b.binary(ir::BinaryOp::Sub, sum, one);
                return Val::Rt(self.b.binary(ir::BinaryOp::Div, num, y));
            }
        };
        Val::Rt(self.b.binary(op, x, y))
    }
}
