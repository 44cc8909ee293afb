//! Hints and debugging builtins: `multiple_of` and `max_contiguous` (checked, then the value
//! passes through), `static_assert` (at compile time), `device_assert` and `print` (at run time).
use super::{Elab, OpTy, Slots, Val};
use crate::base::{Literal, ScalarType, Span};
use crate::ir::InstKind;
use crate::sema::diags;

impl Elab<'_> {
    /// `multiple_of(x, n)` / `max_contiguous(x, n)`: `n` must be a compile-time integer.
    pub(super) fn hint(&mut self, slots: &Slots<'_>) -> Val {
        let (x, _) = self.arg_val(slots[0]);
        let (n, ns) = self.arg_val(slots[1]);
        if self.expect_const_int(&n, ns, "the hint value").is_none() {
            return Val::Error;
        }
        x
    }

    pub(super) fn static_assert(&mut self, slots: &Slots<'_>) -> Val {
        let (c, cs) = self.arg_val(slots[0]);
        let msg = self.arg_str(slots[1]);
        match self.expect_known(&c, cs, "a `static_assert` condition") {
            Some((_, Literal::Bool(true))) => Val::Unit,
            Some((_, Literal::Bool(false))) => self.error(diags::static_assert_failed(
                &msg.unwrap_or_default(),
                cs,
                self.const_context(),
            )),
            Some(_) => self.error(diags::static_assert_not_bool(&self.describe(&c), cs)),
            None => Val::Error,
        }
    }

    pub(super) fn device_assert(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let (c, cs) = self.arg_val(slots[0]);
        let msg = self.arg_str(slots[1]);
        if matches!(c, Val::Error) {
            return Val::Error;
        }
        if self.op_ty(&c) != Some(OpTy::Typed(ScalarType::Bool)) {
            return self.error(diags::device_assert_not_bool(&self.describe(&c), cs));
        }
        let shape = self.shape_of(&c);
        let Some(id) = self.materialize(&c, ScalarType::Bool, &shape, cs) else {
            return Val::Error;
        };
        self.b.span = span;
        self.b.push(
            InstKind::Assert {
                cond: id,
                message: msg.unwrap_or_default(),
            },
            None,
        );
        Val::Unit
    }

    pub(super) fn print(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let Some(label) = self.arg_str(slots[0]) else {
            return Val::Error;
        };
        let value = match slots[1] {
            Some(_) => {
                let (v, vs) = self.arg_val(slots[1]);
                match self.runtime_value(&v, vs) {
                    Some(id) => Some(id),
                    None => return Val::Error,
                }
            }
            None => None,
        };
        self.b.span = span;
        self.b.push(InstKind::Print { label, value }, None);
        Val::Unit
    }

    /// A note naming the const values of this specialisation.
    pub(super) fn const_context(&self) -> String {
        let consts = &self.b.kernel.consts;
        if consts.is_empty() {
            return "the condition is evaluated at compile time".into();
        }
        let parts: Vec<String> = consts
            .iter()
            .map(|(n, l)| match l {
                Literal::Int(i) => format!("{n} = {i}"),
                Literal::Float(f) => format!("{n} = {f}"),
                Literal::Bool(b) => format!("{n} = {b}"),
            })
            .collect();
        format!("evaluated with {}", parts.join(", "))
    }
}
