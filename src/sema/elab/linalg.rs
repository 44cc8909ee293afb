//! Checking and lowering of `dot`. Inputs of f16/bf16 are converted to f32 here (exactly), so the
//! IR's `Dot` only ever multiplies f32 and accumulates in f32.
use super::{type_text, Elab, Slots, Val};
use crate::base::{ScalarType, Span};
use crate::ir::{Elem, InstKind, Type, ValueId};
use crate::sema::diags;

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
                return self.error(diags::dot_input_type(t, &type_text(&ta), s));
            }
        }
        if ea != eb {
            return self.error(diags::dot_operand_types(
                &type_text(&ta),
                as_,
                &type_text(&tb),
                bs,
            ));
        }
        let (m, k, k2, n) = (ta.shape[0], ta.shape[1], tb.shape[0], tb.shape[1]);
        if k != k2 {
            return self.error(diags::dot_inner_dims(&ta.shape, as_, &tb.shape, bs));
        }
        if let Some(arg) = slots[3] {
            match self.arg_str(Some(arg)) {
                Some(p) if p == "ieee" => {}
                Some(p) => return self.error(diags::unknown_input_precision(&p, arg.span)),
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
                    return self.error(diags::dot_accumulator_type(&type_text(&tc), cs));
                }
                if tc.shape != out.shape {
                    return self.error(diags::dot_accumulator_shape(&tc.shape, &out.shape, cs));
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
