//! Builtin calls: binding the arguments against the table's parameters, then elaborating the
//! builtin by the `Lowering` its table entry names. The match is exhaustive, so a builtin reaches
//! the IR only through the operation the table gives it.
use super::creation::Fill;
use super::math::BinaryMath;
use super::reductions::ReduceResult;
use super::{Elab, Slots, Val};
use crate::base::{ScalarType, Span};
use crate::ir::InstKind;
use crate::sema::builtins::{Builtin, Lowering};
use crate::sema::diags;
use crate::syntax::ast;

impl Elab<'_> {
    pub(super) fn builtin(
        &mut self,
        builtin: &'static Builtin,
        args: &[ast::Arg],
        span: Span,
    ) -> Val {
        let params: Vec<(&str, bool)> = builtin
            .params
            .iter()
            .map(|p| (p.name, p.required))
            .collect();
        let Some(slots) = self.bind_args(&params, args, builtin.signature, span) else {
            return Val::Error;
        };
        let v = self.builtin_body(builtin, &slots, span);
        self.b.span = span;
        v
    }

    pub(super) fn const_axis(
        &mut self,
        arg: Option<&ast::Arg>,
        what: &str,
    ) -> Option<(i128, Span)> {
        let (v, s) = self.arg_val(arg);
        if matches!(v, Val::Error) {
            return None;
        }
        Some((self.expect_const_int(&v, s, what)?, s))
    }

    fn builtin_body(&mut self, builtin: &'static Builtin, slots: &Slots<'_>, span: Span) -> Val {
        let name = builtin.name;
        match builtin.lowering {
            Lowering::ProgramId => self.grid_index(slots, InstKind::ProgramId, span),
            Lowering::NumPrograms => self.grid_index(slots, InstKind::NumPrograms, span),
            Lowering::Arange => self.arange(slots, span),
            Lowering::Zeros => self.new_block(slots[0], slots[1], Fill::Zero, span),
            Lowering::Full => self.new_block(slots[0], slots[2], Fill::Value(slots[1]), span),
            Lowering::ZerosLike => self.block_like(name, slots[0], Fill::Zero, span),
            Lowering::FullLike => self.block_like(name, slots[0], Fill::Value(slots[1]), span),
            Lowering::Load => self.load(slots, span),
            Lowering::Store => self.store(slots, span),
            Lowering::Atomic(op) => self.atomic(name, op, slots, span),
            Lowering::Unary(op) => {
                let (x, xs) = self.arg_val(slots[0]);
                self.math_unary(name, op, x, xs, span)
            }
            Lowering::Binary(op) => self.math_binary_call(name, BinaryMath::Op(op), slots, span),
            Lowering::CeilDiv => self.math_binary_call(name, BinaryMath::CeilDiv, slots, span),
            Lowering::Clamp => self.clamp(slots, span),
            Lowering::Fma => self.fma(slots, span),
            Lowering::Where => self.select(slots, span),
            Lowering::Bitcast => self.bitcast(name, slots, span),
            Lowering::Reduce(op) => self.reduce(name, op, ReduceResult::Value, slots, span),
            Lowering::ArgReduce(op) => self.reduce(name, op, ReduceResult::Index, slots, span),
            Lowering::Scan(op) => self.scan(name, op, slots, span),
            Lowering::Dot => self.dot(slots, span),
            Lowering::Rearrange(op) => self.rearrange(name, op, slots, span),
            Lowering::BroadcastTo => self.broadcast_to(name, slots),
            Lowering::ExpandDims => self.expand_dims(slots, span),
            Lowering::Hint => self.hint(slots),
            Lowering::StaticAssert => self.static_assert(slots),
            Lowering::DeviceAssert => self.device_assert(slots, span),
            Lowering::Print => self.print(slots, span),
            Lowering::NotYet => self.error(diags::not_supported_yet(
                builtin.name,
                builtin.signature,
                span,
            )),
        }
    }

    pub(super) fn not_a_number(&mut self, v: &Val, span: Span, name: &str) -> Val {
        if matches!(v, Val::Error) {
            return Val::Error;
        }
        self.error(diags::not_a_number(name, &self.describe(v), span))
    }

    pub(super) fn float_required(&mut self, name: &str, t: ScalarType, span: Span) -> Val {
        self.error(diags::float_required(name, t, span))
    }
}
