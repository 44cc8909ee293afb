//! Early `return` from inlined fns: how far a fn has returned (`Reach`), the `returned` flag and
//! the result local, and the `if !returned` guards around the rest of the body.
use super::{type_text, Elab, LoopKind, Reach, Val};
use crate::base::{Literal, ScalarType, Span};
use crate::ir::{self, Elem, InstKind, LocalId, Type, ValueId};
use crate::sema::diags;

impl Elab<'_> {
    /// How far the fn being inlined has returned (`Live` outside fns).
    pub(super) fn reach(&self) -> Reach {
        self.frames
            .last()
            .and_then(|f| f.ret.as_ref())
            .map_or(Reach::Live, |r| r.reach)
    }

    pub(super) fn set_reach(&mut self, reach: Reach) {
        if let Some(r) = self.frame().ret.as_mut() {
            r.reach = reach;
        }
    }

    /// `return`s elaborated so far in the fn being inlined.
    pub(super) fn return_count(&self) -> u32 {
        self.frames
            .last()
            .and_then(|f| f.ret.as_ref())
            .map_or(0, |r| r.count)
    }

    /// Enters (`+1`) or leaves (`-1`) a runtime `if` branch or loop body of the fn being inlined.
    pub(super) fn runtime_nesting(&mut self, delta: i32) {
        if let Some(r) = self.frame().ret.as_mut() {
            r.runtime_depth = r.runtime_depth.saturating_add_signed(delta);
        }
    }

    /// Enters (`+1`) or leaves (`-1`) a `while` condition.
    pub(super) fn condition_nesting(&mut self, delta: i32) {
        if let Some(r) = self.frame().ret.as_mut() {
            r.in_condition = r.in_condition.saturating_add_signed(delta);
        }
    }

    /// After a statement some of whose paths returned, keeps the rest of the fn from running on
    /// those paths: inside a runtime loop with `if returned { break }`, elsewhere by opening
    /// `if !returned { … }` around the rest (its condition is returned; see `close_guard`).
    pub(super) fn after_maybe_return(&mut self) -> Option<ValueId> {
        if self.reach() != Reach::Maybe {
            return None;
        }
        let flag = self.frame().ret.as_ref().and_then(|r| r.flag)?;
        let returned = self.b.local_get(flag);
        self.set_reach(Reach::Live);
        if self.frame().loops.contains(&LoopKind::Runtime) {
            self.b.begin_region();
            self.b.push(InstKind::Break, None);
            self.push_then(returned);
            return None;
        }
        let live = self.b.unary(ir::UnaryOp::Not, returned);
        self.b.begin_region();
        Some(live)
    }

    /// Closes a region opened by `after_maybe_return`.
    pub(super) fn close_guard(&mut self, cond: ValueId) {
        self.push_then(cond);
        if self.reach() != Reach::Returned {
            self.set_reach(Reach::Maybe);
        }
    }

    /// Ends the region being filled as the body of `if cond { … }` (no else).
    pub(super) fn push_then(&mut self, cond: ValueId) {
        let then_region = self.b.end_region();
        self.b.push(
            InstKind::If {
                cond,
                then_region,
                else_region: ir::Region::default(),
            },
            None,
        );
    }

    /// A block value computed under `if !returned`, moved out through a local.
    pub(super) fn carry_out(&mut self, v: Val, span: Span) -> Val {
        let ty = match &v {
            Val::Rt(id) => self.rt_type(*id),
            _ => match self.default_scalar(&v) {
                Some(t) => Type::scalar(t),
                None => return Val::Error,
            },
        };
        let Elem::Scalar(elem) = ty.elem else {
            return self.error(diags::pointer_after_return(span));
        };
        let local = self.b.add_local("block_value", ty.clone());
        if let Some(id) = self.materialize(&v, elem, &ty.shape, span) {
            self.b.local_set(local, id);
        }
        Val::Rt(self.b.local_get(local))
    }

    /// `return v` (or a fn body's tail) in the fn being inlined.
    pub(super) fn fn_return(&mut self, v: Val, span: Span) {
        let Some(r) = self.frame().ret.as_mut() else {
            return;
        };
        r.count += 1;
        let runtime = r.runtime_depth > 0;
        let has_value = !matches!(v, Val::Unit);
        let first = *r.first.get_or_insert((has_value, span));
        let (slot, flag, declared) = (r.slot, r.flag, r.declared);
        r.reach = Reach::Returned;
        if matches!(v, Val::Error) {
            // Reported already; the call's value stays an error so nothing more is reported.
            if r.slot.is_none() {
                r.value = Some(Val::Error);
            }
            return;
        }
        if first.0 != has_value {
            let (with, without) = if has_value {
                (span, first.1)
            } else {
                (first.1, span)
            };
            self.diags
                .push(diags::returns_value_on_some_paths(with, without));
            self.return_failed();
            return;
        }
        if has_value && slot.is_none() && !runtime {
            // Reached through compile-time control flow only: the value is the fn's value.
            if let Some(r) = self.frame().ret.as_mut() {
                r.value = Some(v);
            }
        } else if has_value {
            let slot = match slot {
                Some(slot) => slot,
                None => {
                    let ty = match &v {
                        Val::Rt(id) => self.rt_type(*id),
                        _ => match declared.or_else(|| self.default_scalar(&v)) {
                            Some(t) => Type::scalar(t),
                            None => return,
                        },
                    };
                    let slot = self.b.add_local("fn_result", ty);
                    let untyped = matches!(v, Val::Known { ty: None, .. }) && declared.is_none();
                    if let Some(r) = self.frame().ret.as_mut() {
                        r.slot = Some(slot);
                        r.provisional = untyped.then(Vec::new);
                    }
                    slot
                }
            };
            self.write_result(slot, &v, span, first.1);
        }
        if runtime {
            let flag = match flag {
                Some(flag) => flag,
                None => self.returned_flag(),
            };
            let t = self.b.constant(ScalarType::Bool, Literal::Bool(true));
            self.b.local_set(flag, t);
            if self.frame().loops.contains(&LoopKind::Runtime) {
                self.b.push(InstKind::Break, None);
            }
        }
    }

    pub(super) fn return_failed(&mut self) {
        if let Some(r) = self.frame().ret.as_mut() {
            r.failed = true;
        }
    }

    /// Creates the `returned` flag of the fn being inlined, set to false at its entry.
    pub(super) fn returned_flag(&mut self) -> LocalId {
        let flag = self.b.add_local("returned", Type::scalar(ScalarType::Bool));
        let entry = self.frame().ret.as_ref().map_or((0, 0), |r| r.entry);
        self.b.insert_at(entry, |b| {
            let f = b.constant(ScalarType::Bool, Literal::Bool(false));
            b.local_set(flag, f);
        });
        if let Some(r) = self.frame().ret.as_mut() {
            r.flag = Some(flag);
        }
        flag
    }

    /// Writes a returned value into the result local, whose type the first such return fixed.
    pub(super) fn write_result(&mut self, slot: LocalId, v: &Val, span: Span, first: Span) {
        self.settle_result_type(slot, v);
        let ty = self.b.kernel.locals[slot].ty.clone();
        let fits = match (v, ty.elem) {
            (Val::Rt(id), _) => *self.b.ty(*id) == ty,
            (Val::Known { ty: Some(t), .. }, Elem::Scalar(e)) => *t == e,
            (Val::Known { ty: None, lit }, Elem::Scalar(e)) => {
                !(matches!(lit, Literal::Float(_)) && e.is_int())
            }
            _ => false,
        };
        if !fits {
            let found = self.describe(v);
            self.diags
                .push(diags::returns_differ(&type_text(&ty), &found, span, first));
            self.return_failed();
            return;
        }
        let Elem::Scalar(elem) = ty.elem else {
            if let Val::Rt(id) = v {
                self.b.local_set(slot, *id);
            }
            return;
        };
        if let Some(id) = self.materialize(v, elem, &ty.shape, span) {
            self.b.local_set(slot, id);
            if let (Val::Known { ty: None, lit }, Some(Some(p))) =
                (v, self.frame().ret.as_mut().map(|r| r.provisional.as_mut()))
            {
                p.push((id, *lit, span));
            }
        }
    }

    /// While the result local's type comes only from untyped literals: a float literal makes an
    /// int result `f32`, and the first typed scalar return fixes the type (the literals already
    /// written are converted, with the usual literal errors at their spans).
    pub(super) fn settle_result_type(&mut self, slot: LocalId, v: &Val) {
        let Some(Some(written)) = self.frame().ret.as_ref().map(|r| r.provisional.clone()) else {
            return;
        };
        let current = self.b.kernel.locals[slot].ty.scalar_type();
        let to = match v {
            Val::Known {
                ty: None,
                lit: Literal::Float(_),
            } if current.is_some_and(|t| t.is_int()) => ScalarType::F32,
            Val::Known { ty: None, .. } => return,
            Val::Known { ty: Some(t), .. } => *t,
            Val::Rt(id) => match self.b.ty(*id) {
                Type {
                    elem: Elem::Scalar(t),
                    shape,
                } if shape.is_empty() => *t,
                _ => return,
            },
            Val::Unit | Val::Error => return,
        };
        for &(id, lit, span) in &written {
            let lit = self.literal_as(lit, to, span).unwrap_or(lit);
            let inst = &mut self.b.kernel.insts[id];
            inst.kind = InstKind::Const(lit);
            inst.ty = Some(Type::scalar(to));
        }
        self.b.kernel.locals[slot].ty = Type::scalar(to);
        // Only a typed value fixes the type; after an untyped float it may still change.
        let still = matches!(v, Val::Known { ty: None, .. });
        if let Some(r) = self.frame().ret.as_mut() {
            r.provisional = still.then_some(written);
        }
    }
}
