//! Checking and lowering of `dot`. Inputs of f16/bf16 are converted to f32 here (exactly), so the
//! IR's `Dot` only ever multiplies f32 and accumulates in f32.
use super::{err, shape_text, Elab, Slots, Val};
use crate::base::{ScalarType, Span};
use crate::ir::{Elem, InstKind, Type, ValueId};

impl Elab<'_> {
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
}
