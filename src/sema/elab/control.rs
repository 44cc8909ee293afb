//! Control flow: `range` and `while` loops (runtime), `static_range` (unrolled, bounded by
//! `MAX_UNROLL` and `MAX_EXPANSION`) and `if` expressions (compile-time conditions pick a branch).
use super::{Elab, LoopKind, OpTy, Reach, Val, MAX_EXPANSION, MAX_UNROLL};
use crate::base::{Literal, ScalarType, Span};
use crate::ir::{InstKind, Type};
use crate::sema::diags;
use crate::syntax::ast;

impl Elab<'_> {
    /// The int type shared by loop bounds.
    pub(super) fn loop_bounds(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        word: &str,
    ) -> Option<(Vec<Val>, ScalarType)> {
        if args.len() < 2 || args.len() > 3 {
            self.diags.push(diags::loop_arity(word, args.len(), span));
            return None;
        }
        let vals: Vec<Val> = args.iter().map(|a| self.expr(a)).collect();
        if vals.iter().any(|v| matches!(v, Val::Error)) {
            return None;
        }
        let pairs: Vec<(&Val, Span)> = vals.iter().zip(args).map(|(v, a)| (v, a.span)).collect();
        let unified = self.unify(",", &pairs)?;
        let ty = match unified {
            Ok(t) if t.is_int() => t,
            Err(OpTy::UntypedInt) => ScalarType::I32,
            _ => {
                let bad = vals.iter().zip(args).find(|(v, _)| {
                    !matches!(self.op_ty(v), Some(OpTy::UntypedInt))
                        && !self
                            .op_ty(v)
                            .is_some_and(|t| matches!(t, OpTy::Typed(t) if t.is_int()))
                });
                let (v, a) = bad.unwrap_or((&vals[0], &args[0]));
                self.diags
                    .push(diags::loop_bound_not_int(word, &self.describe(v), a.span));
                return None;
            }
        };
        for (v, a) in vals.iter().zip(args) {
            if !self.shape_of(v).is_empty() {
                self.diags.push(diags::loop_bound_not_scalar(
                    word,
                    &self.describe(v),
                    a.span,
                ));
                return None;
            }
        }
        if let Some(Val::Known {
            lit: Literal::Int(0),
            ..
        }) = vals.get(2)
        {
            self.diags.push(diags::zero_step(args[2].span));
            return None;
        }
        Some((vals, ty))
    }

    pub(super) fn range_loop(
        &mut self,
        var: &ast::Ident,
        args: &[ast::Expr],
        body: &ast::Block,
        span: Span,
    ) {
        let Some((vals, ty)) = self.loop_bounds(args, span, "range") else {
            return;
        };
        let one = Val::Known {
            ty: None,
            lit: Literal::Int(1),
        };
        let step_val = vals.get(2).cloned().unwrap_or(one);
        let step_span = args.get(2).map_or(span, |a| a.span);
        let (Some(start), Some(end), Some(step)) = (
            self.materialize(&vals[0], ty, &[], args[0].span),
            self.materialize(&vals[1], ty, &[], args[1].span),
            self.materialize(&step_val, ty, &[], step_span),
        ) else {
            return;
        };
        let local = self.b.add_local(var.name.clone(), Type::scalar(ty));
        self.b.begin_region();
        self.push_scope();
        self.bind_local(&var.name, local, false);
        self.runtime_loop_body(body);
        self.pop_scope();
        let region = self.b.end_region();
        self.b.span = span;
        self.b.push(
            InstKind::For {
                var: local,
                start,
                end,
                step,
                body: region,
            },
            None,
        );
    }

    /// A loop or branch body whose value is discarded.
    pub(super) fn body_block(&mut self, body: &ast::Block) {
        self.block(body, false);
    }

    /// The body of a `range` or `while` loop: a `return` in it leaves the loop with `break`, and
    /// after the loop the fn may have returned.
    pub(super) fn runtime_loop_body(&mut self, body: &ast::Block) {
        let returns = self.return_count();
        self.frame().loops.push(LoopKind::Runtime);
        self.runtime_nesting(1);
        self.body_block(body);
        self.runtime_nesting(-1);
        self.frame().loops.pop();
        let returned = self.return_count() > returns;
        self.set_reach(if returned { Reach::Maybe } else { Reach::Live });
    }

    pub(super) fn static_loop(
        &mut self,
        var: &ast::Ident,
        args: &[ast::Expr],
        body: &ast::Block,
        span: Span,
    ) {
        let Some((vals, ty)) = self.loop_bounds(args, span, "static_range") else {
            return;
        };
        let mut ints = Vec::new();
        for (v, a) in vals.iter().zip(args) {
            match self.expect_const_int(v, a.span, "a `static_range` bound") {
                Some(i) => ints.push(i),
                None => return,
            }
        }
        let (start, end, step) = (ints[0], ints[1], ints.get(2).copied().unwrap_or(1));
        // Saturating: folded untyped ints may be huge, and a huge count is reported below.
        let count = if step > 0 {
            end.saturating_sub(start).saturating_add(step - 1).max(0) / step
        } else {
            start.saturating_sub(end).saturating_sub(step + 1).max(0) / step.saturating_neg()
        };
        if count > MAX_UNROLL {
            self.diags.push(diags::unroll_too_long(
                count,
                args[0].span.to(args[args.len() - 1].span),
            ));
            return;
        }
        if !self.expand(count as u64, span) {
            return;
        }
        let mut i = start;
        let mut guards = Vec::new();
        for _ in 0..count {
            let before = self.diags.items.len();
            self.push_scope();
            self.bind_value(&var.name, Val::known(ty, Literal::Int(i)));
            self.frame().loops.push(LoopKind::Unrolled);
            self.body_block(body);
            self.frame().loops.pop();
            self.pop_scope();
            if self.diags.items.len() > before || self.reach() == Reach::Returned {
                break;
            }
            // Later iterations run only where no earlier one returned.
            if let Some(g) = self.after_maybe_return() {
                guards.push(g);
            }
            i += step;
        }
        while let Some(cond) = guards.pop() {
            self.close_guard(cond);
        }
    }

    /// Counts `amount` more unrolled iterations or inlined calls; false (and E0606, reported
    /// once) when the kernel grows past `MAX_EXPANSION`.
    pub(super) fn expand(&mut self, amount: u64, span: Span) -> bool {
        let before = self.expansion;
        self.expansion = self.expansion.saturating_add(amount);
        if self.expansion <= MAX_EXPANSION {
            return true;
        }
        if before <= MAX_EXPANSION {
            self.diags.push(diags::kernel_too_large(span));
        }
        false
    }

    pub(super) fn while_loop(&mut self, cond: &ast::Expr, body: &ast::Block, span: Span) {
        self.b.begin_region();
        self.condition_nesting(1);
        let c = self.expr(cond);
        self.condition_nesting(-1);
        let c = self.expect_scalar_bool(&c, cond.span, "a `while` condition");
        let cond_region = self.b.end_region();
        let Some(c) = c else { return };
        self.b.begin_region();
        self.runtime_loop_body(body);
        let region = self.b.end_region();
        self.b.span = span;
        self.b.push(
            InstKind::While {
                cond_region,
                cond: c,
                body: region,
            },
            None,
        );
    }

    pub(super) fn if_expr(
        &mut self,
        cond: &ast::Expr,
        then_block: &ast::Block,
        else_branch: Option<&ast::Expr>,
        span: Span,
    ) -> Val {
        let c = self.expr(cond);
        if let Val::Known {
            ty: Some(ScalarType::Bool),
            lit: Literal::Bool(taken),
        } = c
        {
            // A compile-time condition picks its branch during elaboration (Triton's constexpr if).
            return if taken {
                self.block(then_block, false)
            } else {
                match else_branch {
                    Some(e) => self.expr(e),
                    None => Val::Unit,
                }
            };
        }
        let Some(c) = self.expect_scalar_bool(&c, cond.span, "an `if` condition") else {
            return Val::Error;
        };
        let returns = self.return_count();
        self.runtime_nesting(1);
        self.b.begin_region();
        let then_val = self.block(then_block, false);
        let mut then_region = self.b.end_region();
        let then_reach = self.reach();
        self.set_reach(Reach::Live);
        self.b.begin_region();
        let else_val = match else_branch {
            Some(e) => self.expr(e),
            None => Val::Unit,
        };
        let mut else_region = self.b.end_region();
        let else_reach = self.reach();
        self.runtime_nesting(-1);
        self.set_reach(
            if then_reach == Reach::Returned && else_reach == Reach::Returned {
                Reach::Returned
            } else if self.return_count() > returns {
                Reach::Maybe
            } else {
                Reach::Live
            },
        );
        // A branch that always returns has no value: the `if` takes the other one's.
        let (then_val, else_val) = match (then_reach, else_reach) {
            (Reach::Returned, Reach::Returned) => (Val::Unit, Val::Unit),
            (Reach::Returned, _) => (else_val.clone(), else_val),
            (_, Reach::Returned) => (then_val.clone(), then_val),
            _ => (then_val, else_val),
        };
        let has_value = !matches!(then_val, Val::Unit | Val::Error)
            && !matches!(else_val, Val::Unit | Val::Error);
        let mut result = None;
        if has_value {
            let tspan = then_block.tail.as_ref().map_or(then_block.span, |t| t.span);
            let espan = else_branch.map_or(span, |e| e.span);
            let ts = self.shape_of(&then_val);
            let es = self.shape_of(&else_val);
            let unified = self.unify("if/else", &[(&then_val, tspan), (&else_val, espan)]);
            if let Some(unified) = unified {
                if ts != es {
                    self.diags.push(diags::if_branches_differ(
                        &self.describe(&then_val),
                        tspan,
                        &self.describe(&else_val),
                        espan,
                    ));
                } else {
                    let elem = match unified {
                        Ok(t) => t,
                        Err(OpTy::UntypedFloat) => ScalarType::F32,
                        Err(_) => ScalarType::I32,
                    };
                    let local = self.b.add_local("if_value", Type::tile(elem, ts.clone()));
                    for (val, region, vspan, reach) in [
                        (&then_val, &mut then_region, tspan, then_reach),
                        (&else_val, &mut else_region, espan, else_reach),
                    ] {
                        if reach == Reach::Returned {
                            continue;
                        }
                        self.b.begin_region();
                        if let Some(id) = self.materialize(val, elem, &ts, vspan) {
                            self.b.local_set(local, id);
                        }
                        let extra = self.b.end_region();
                        region.insts.extend(extra.insts);
                    }
                    result = Some(local);
                }
            }
        }
        self.b.span = span;
        self.b.push(
            InstKind::If {
                cond: c,
                then_region,
                else_region,
            },
            None,
        );
        match result {
            Some(local) => Val::Rt(self.b.local_get(local)),
            None if has_value => Val::Error,
            None => Val::Unit,
        }
    }
}
