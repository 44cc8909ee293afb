//! Checking and lowering of `dot` and the data-moving shape builtins (`reshape`, `ravel`, `trans`,
//! `permute`, `join`). `dot` inputs of f16/bf16 are converted to f32 here (exactly), so the IR's
//! `Dot` only ever multiplies f32 and accumulates in f32; `join` is lowered to existing
//! instructions (expand, broadcast, select on the new last index).
use super::{err, shape_text, Elab, Slots, Val};
use crate::base::{ScalarType, Span};
use crate::ir::{CmpOp, Elem, InstKind, Type, ValueId};
use crate::syntax::ast;

impl Elab<'_> {
    /// A runtime tile argument (scalars are refused with E0403 when `rank` is given).
    fn tile_arg(&mut self, v: &Val, vs: Span, name: &str, rank: Option<usize>) -> Option<ValueId> {
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
                self.diags.push(
                    err(
                        "E0403",
                        format!("`{name}` takes {r}-D blocks, not rank {have}"),
                    )
                    .with_label(vs, format!("this is {}", self.describe(v)))
                    .with_help(format!(
                        "`{name}` works on {r}-D blocks; use `reshape` or `x[None, :]` to \
                         change the rank"
                    )),
                );
                return None;
            }
        }
        Some(id)
    }

    pub(super) fn dot(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let (a, as_) = self.arg_val(slots[0]);
        let (b, bs) = self.arg_val(slots[1]);
        let (Some(a_id), Some(b_id)) = (
            self.tile_arg(&a, as_, "dot", Some(2)),
            self.tile_arg(&b, bs, "dot", Some(2)),
        ) else {
            return Val::Error;
        };
        let (ta, tb) = (self.b.ty(a_id).clone(), self.b.ty(b_id).clone());
        let (ea, eb) = (ta.scalar_type(), tb.scalar_type());
        for (t, s) in [(ea, as_), (eb, bs)] {
            let Some(t) = t else { continue };
            if !matches!(t, ScalarType::F16 | ScalarType::BF16 | ScalarType::F32) {
                return self.error(
                    err("E0304", format!("`dot` does not take `{t}` inputs"))
                        .with_label(s, format!("this is `{}`", super::type_text(&ta)))
                        .with_help("`dot` multiplies f16, bf16 or f32 blocks; convert with `as`"),
                );
            }
        }
        if ea != eb {
            return self.error(
                err("E0301", "`dot` operands have different element types")
                    .with_label(as_, format!("this is `{}`", super::type_text(&ta)))
                    .with_label(bs, format!("this is `{}`", super::type_text(&tb)))
                    .with_help("convert one operand with `as` so both have the same type"),
            );
        }
        let (m, k, k2, n) = (ta.shape[0], ta.shape[1], tb.shape[0], tb.shape[1]);
        if k != k2 {
            return self.error(
                err(
                    "E0420",
                    format!(
                        "`dot` of {} and {}: the inner dims differ ({k} and {k2})",
                        shape_text(&ta.shape),
                        shape_text(&tb.shape)
                    ),
                )
                .with_label(as_, format!("this has K = {k}"))
                .with_label(bs, format!("this has K = {k2}"))
                .with_help("`dot(a, b)` takes `a: [M, K]` and `b: [K, N]`; `trans(b)` may help"),
            );
        }
        if let Some(arg) = slots[3] {
            match self.arg_str(Some(arg)) {
                Some(p) if p == "ieee" => {}
                Some(p) => {
                    return self.error(
                        err("E0422", format!("unknown `input_precision` \"{p}\""))
                            .with_label(arg.span, "not supported")
                            .with_help("the only precision is \"ieee\" (exact f32 products)"),
                    )
                }
                None => return Val::Error,
            }
        }
        let out = Type::tile(ScalarType::F32, vec![m, n]);
        let acc = match slots[2] {
            None => {
                self.b.span = span;
                let zero = self.b.const_f32(0.0);
                self.b.splat(zero, vec![m, n])
            }
            Some(_) => {
                let (c, cs) = self.arg_val(slots[2]);
                let Some(c_id) = self.tile_arg(&c, cs, "dot", None) else {
                    return Val::Error;
                };
                let tc = self.b.ty(c_id).clone();
                if tc.elem != Elem::Scalar(ScalarType::F32) {
                    return self.error(
                        err("E0301", "the `dot` accumulator must be `f32`")
                            .with_label(cs, format!("this is `{}`", super::type_text(&tc)))
                            .with_help("accumulate in f32, e.g. `zeros([BM, BN], f32)`"),
                    );
                }
                if tc.shape != out.shape {
                    return self.error(
                        err(
                            "E0421",
                            format!(
                                "the `dot` accumulator has shape {}, the product {}",
                                shape_text(&tc.shape),
                                shape_text(&out.shape)
                            ),
                        )
                        .with_label(cs, format!("this is {}", shape_text(&tc.shape)))
                        .with_help("`acc` must have the product's shape [M, N]"),
                    );
                }
                c_id
            }
        };
        self.b.span = span;
        let to_f32 = |e: &mut Self, id: ValueId| {
            if e.b.ty(id).elem == Elem::Scalar(ScalarType::F32) {
                id
            } else {
                e.b.cast(id, ScalarType::F32)
            }
        };
        let a32 = to_f32(self, a_id);
        let b32 = to_f32(self, b_id);
        Val::Rt(self.b.push(
            InstKind::Dot {
                a: a32,
                b: b32,
                acc,
            },
            Some(out),
        ))
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

    pub(super) fn shape_builtin(&mut self, name: &str, slots: &Slots<'_>, span: Span) -> Val {
        let (x, xs) = self.arg_val(slots[0]);
        let rank = match name {
            "trans" => Some(2),
            _ => None,
        };
        let Some(x_id) = self.tile_arg(&x, xs, name, rank) else {
            return Val::Error;
        };
        let ty = self.b.ty(x_id).clone();
        match name {
            "reshape" | "ravel" => {
                let shape = if name == "ravel" {
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
                    return self.error(
                        err(
                            "E0423",
                            format!(
                                "cannot reshape {} ({} elements) to {} ({count} elements)",
                                shape_text(&ty.shape),
                                ty.num_elements(),
                                shape_text(&shape)
                            ),
                        )
                        .with_label(shown, format!("{count} elements"))
                        .with_label(xs, format!("{} elements", ty.num_elements()))
                        .with_help("`reshape` keeps every element; the sizes must match"),
                    );
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
            "trans" | "permute" => {
                let perm: Vec<i128> = if name == "trans" {
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
                    return self.error(
                        err(
                            "E0424",
                            format!("{perm:?} is not a permutation of the {r} dims of `x`"),
                        )
                        .with_label(shown, "not a permutation")
                        .with_label(xs, format!("this has shape {}", shape_text(&ty.shape)))
                        .with_help(format!(
                            "list each dim index 0..{r} exactly once, e.g. {:?}",
                            (0..r).rev().collect::<Vec<_>>()
                        )),
                    );
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
            "join" => self.join(x, xs, slots, span),
            _ => unreachable!("not a shape builtin: {name}"),
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
            return self.error(
                err("E0301", "`join` operands have different element types")
                    .with_label(as_, format!("this is `{}`", super::type_text(&ta)))
                    .with_label(bs, format!("this is `{}`", super::type_text(&tb)))
                    .with_help("convert one operand with `as`"),
            );
        }
        if ta.shape != tb.shape {
            return self.error(
                err(
                    "E0402",
                    format!(
                        "`join` operands have shapes {} and {}",
                        shape_text(&ta.shape),
                        shape_text(&tb.shape)
                    ),
                )
                .with_label(as_, shape_text(&ta.shape))
                .with_label(bs, shape_text(&tb.shape))
                .with_help("`join` stacks two blocks of the same shape; use `broadcast_to` first"),
            );
        }
        let r = ta.shape.len();
        if r >= 4 {
            return self.error(
                err("E0403", "`join` of 4-D blocks would give 5 dims")
                    .with_label(span, "blocks have at most 4 dims")
                    .with_help("reshape to fewer dims first"),
            );
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
}
