//! Blocks and statements: `let` (with annotations), assignment to `let mut` variables, `return`,
//! `break` and `continue`.
use super::{type_text, Binding, Elab, LoopKind, OpTy, Reach, Val};
use crate::base::Span;
use crate::ir::{Elem, InstKind, Type};
use crate::sema::diags;
use crate::syntax::ast;

fn assign_to_binary(op: ast::AssignOp) -> Option<ast::BinaryOp> {
    use ast::AssignOp as A;
    use ast::BinaryOp as B;
    Some(match op {
        A::Assign => return None,
        A::Add => B::Add,
        A::Sub => B::Sub,
        A::Mul => B::Mul,
        A::Div => B::Div,
        A::Rem => B::Rem,
        A::And => B::BitAnd,
        A::Or => B::BitOr,
        A::Xor => B::BitXor,
        A::Shl => B::Shl,
        A::Shr => B::Shr,
    })
}

impl Elab<'_> {
    /// Elaborates a block in a new scope; `fn_body`: the block is an inlined fn's body, whose
    /// tail is a return (the fn's value is collected in its `FnReturn`, not returned here).
    pub fn block(&mut self, block: &ast::Block, fn_body: bool) -> Val {
        self.push_scope();
        let mut guards = Vec::new();
        for stmt in &block.stmts {
            if self.reach() == Reach::Returned {
                break;
            }
            self.stmt(stmt);
            if let Some(g) = self.after_maybe_return() {
                guards.push(g);
            }
        }
        let mut value = Val::Unit;
        if self.reach() != Reach::Returned {
            let tail = block.tail.as_ref().map(|t| (self.expr(t), t.span));
            if fn_body {
                if self.reach() != Reach::Returned {
                    let (v, span) = tail.unwrap_or((Val::Unit, block.span));
                    self.fn_return(v, span);
                }
            } else if let Some((v, span)) = tail {
                value = v;
                if !guards.is_empty() && !matches!(value, Val::Unit | Val::Error) {
                    // The value leaves the `if !returned` regions through a local.
                    value = self.carry_out(value, span);
                }
            }
        }
        while let Some(cond) = guards.pop() {
            self.close_guard(cond);
        }
        self.pop_scope();
        value
    }

    pub(super) fn stmt(&mut self, stmt: &ast::Stmt) {
        self.b.span = stmt.span;
        match &stmt.kind {
            ast::StmtKind::Let {
                mutable,
                name,
                ty,
                value,
            } => self.let_stmt(*mutable, name, ty.as_ref(), value),
            ast::StmtKind::Assign { place, op, value } => self.assign(place, *op, value, stmt.span),
            ast::StmtKind::For {
                var,
                kind,
                args,
                body,
            } => match kind {
                ast::LoopKind::Range => self.range_loop(var, args, body, stmt.span),
                ast::LoopKind::StaticRange => self.static_loop(var, args, body, stmt.span),
            },
            ast::StmtKind::While { cond, body } => self.while_loop(cond, body, stmt.span),
            ast::StmtKind::Return(value) => {
                let is_kernel = self.frames.last().is_some_and(|f| f.is_kernel);
                match (is_kernel, value) {
                    (true, None) => {
                        self.b.push(InstKind::Return, None);
                    }
                    (true, Some(e)) => {
                        self.diags.push(diags::kernel_returns_value(e.span));
                    }
                    (false, value) => {
                        let in_condition = match self.frame().ret.as_ref() {
                            None => {
                                self.diags.push(diags::return_in_const(stmt.span));
                                return;
                            }
                            Some(r) => r.in_condition > 0,
                        };
                        if in_condition {
                            self.diags.push(diags::return_in_while_condition(stmt.span));
                            // The branch yields nothing; no second error about its value.
                            self.set_reach(Reach::Returned);
                            return;
                        }
                        let v = value.as_ref().map_or(Val::Unit, |e| self.expr(e));
                        let span = value.as_ref().map_or(stmt.span, |e| e.span);
                        if self.reach() != Reach::Returned {
                            self.fn_return(v, span);
                        }
                    }
                }
            }
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                let word = if matches!(stmt.kind, ast::StmtKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                match self.frame().loops.last().copied() {
                    Some(LoopKind::Runtime) => {
                        let kind = if word == "break" {
                            InstKind::Break
                        } else {
                            InstKind::Continue
                        };
                        self.b.push(kind, None);
                    }
                    Some(LoopKind::Unrolled) => {
                        self.diags
                            .push(diags::loop_control_in_static_range(word, stmt.span));
                    }
                    None => {
                        self.diags.push(diags::outside_loop(word, stmt.span));
                    }
                }
            }
            ast::StmtKind::Expr(e) => {
                self.expr(e);
            }
            ast::StmtKind::Error => {}
        }
    }

    /// Converts a type annotation to an IR type (shapes evaluated).
    pub(super) fn annotation(&mut self, ty: &ast::Ty) -> Option<(Elem, Option<Vec<u32>>)> {
        match &ty.kind {
            ast::TyKind::Scalar(t) => Some((Elem::Scalar(*t), None)),
            ast::TyKind::Block { elem, dims } => {
                let shape = self.shape_dims(dims, ty.span)?;
                Some((Elem::Scalar(*elem), Some(shape)))
            }
            ast::TyKind::Ptr { mutable, pointee } => Some((
                Elem::Ptr {
                    pointee: *pointee,
                    mutable: *mutable,
                    param: u32::MAX,
                },
                None,
            )),
        }
    }

    /// Checks `v` against an annotation (`exact_shape`: scalar annotation means scalar); returns
    /// the value with untyped literals given the type.
    pub(super) fn check_annotation(
        &mut self,
        v: Val,
        vspan: Span,
        ty: &ast::Ty,
        exact_shape: bool,
        mismatch: diags::AnnotationMismatch,
        what: &str,
    ) -> Val {
        if matches!(v, Val::Error) {
            return v;
        }
        let Some((elem, shape)) = self.annotation(ty) else {
            return Val::Error;
        };
        let ty_text = self.b_ty_text(ty);
        let mismatch = |this: &mut Self, v: &Val| {
            let found = this.describe(v);
            this.error(mismatch(what, &ty_text, &found, vspan, ty.span))
        };
        match (elem, &v) {
            (Elem::Scalar(t), Val::Known { ty: None, lit }) => {
                if shape.as_ref().is_some_and(|s| !s.is_empty()) {
                    return mismatch(self, &v);
                }
                match self.literal_as(*lit, t, vspan) {
                    Some(lit) => Val::known(t, lit),
                    None => Val::Error,
                }
            }
            (Elem::Scalar(t), _) => {
                if self.op_ty(&v) != Some(OpTy::Typed(t)) {
                    return mismatch(self, &v);
                }
                let have = self.shape_of(&v);
                let want_ok = match &shape {
                    Some(s) => *s == have,
                    None => !exact_shape || have.is_empty(),
                };
                if !want_ok {
                    return mismatch(self, &v);
                }
                v
            }
            (
                Elem::Ptr {
                    pointee, mutable, ..
                },
                Val::Rt(id),
            ) => match self.b.ty(*id).elem {
                Elem::Ptr {
                    pointee: p,
                    mutable: m,
                    ..
                } if p == pointee && (m || !mutable) => v,
                _ => mismatch(self, &v),
            },
            _ => mismatch(self, &v),
        }
    }

    pub(super) fn b_ty_text(&mut self, ty: &ast::Ty) -> String {
        match self.annotation(ty) {
            Some((Elem::Scalar(t), Some(s))) => format!("{t}{}", diags::shape_text(&s)),
            Some((Elem::Scalar(t), None)) => t.name().to_string(),
            Some((
                Elem::Ptr {
                    pointee, mutable, ..
                },
                _,
            )) => {
                format!("*{}{pointee}", if mutable { "mut " } else { "" })
            }
            None => "?".into(),
        }
    }

    pub(super) fn let_stmt(
        &mut self,
        mutable: bool,
        name: &ast::Ident,
        ty: Option<&ast::Ty>,
        value: &ast::Expr,
    ) {
        let mut v = self.expr(value);
        if matches!(v, Val::Unit) {
            self.diags.push(diags::no_value(
                value.span,
                &format!("the value of `{}`", name.name),
            ));
            v = Val::Error;
        }
        if let Some(ty) = ty {
            v = self.check_annotation(
                v,
                value.span,
                ty,
                true,
                diags::let_annotation,
                &format!("mismatched types for `{}`", name.name),
            );
        }
        if !mutable || matches!(v, Val::Error) {
            self.bind_value(&name.name, v);
            return;
        }
        let Some(elem) = self
            .default_scalar(&v)
            .map(Elem::Scalar)
            .or_else(|| match &v {
                Val::Rt(id) => Some(self.b.ty(*id).elem),
                _ => None,
            })
        else {
            self.bind_value(&name.name, Val::Error);
            return;
        };
        let shape = self.shape_of(&v);
        let id = match (&v, elem) {
            (Val::Rt(id), _) => *id,
            (_, Elem::Scalar(t)) => match self.materialize(&v, t, &[], value.span) {
                Some(id) => id,
                None => return self.bind_value(&name.name, Val::Error),
            },
            _ => return self.bind_value(&name.name, Val::Error),
        };
        self.b.span = name.span;
        let local = self.b.add_local(name.name.clone(), Type { elem, shape });
        self.b.local_set(local, id);
        self.bind_local(&name.name, local, true);
    }

    pub(super) fn assign(
        &mut self,
        place: &ast::Expr,
        op: ast::AssignOp,
        value: &ast::Expr,
        span: Span,
    ) {
        let ast::ExprKind::Path(path) = &place.kind else {
            self.diags.push(diags::assign_to_non_variable(place.span));
            return;
        };
        let name = &path[0].name;
        let local = match (path.len(), self.lookup_binding(name).cloned()) {
            (1, Some(Binding::Local { id, mutable: true })) => id,
            (1, Some(_)) => {
                self.diags
                    .push(diags::assign_to_immutable(name, place.span));
                self.expr(value);
                return;
            }
            _ => {
                self.path(path, place.span);
                self.expr(value);
                return;
            }
        };
        let v = self.expr(value);
        let v = match assign_to_binary(op) {
            Some(bop) => {
                self.b.span = span;
                let cur = Val::Rt(self.b.local_get(local));
                self.binary(bop, cur, place.span, v, value.span, span)
            }
            None => v,
        };
        if matches!(v, Val::Error) {
            return;
        }
        let lty = self.b.kernel.locals[local].ty.clone();
        let ok_elem = match (lty.elem, self.op_ty(&v)) {
            (Elem::Scalar(t), Some(OpTy::Typed(u))) => t == u,
            (Elem::Scalar(t), Some(OpTy::UntypedInt)) => !t.is_bool(),
            (Elem::Scalar(t), Some(OpTy::UntypedFloat)) => t.is_float(),
            // A pointer variable keeps pointing into the same parameter.
            (Elem::Ptr { .. }, None) => {
                matches!(&v, Val::Rt(id) if self.b.ty(*id).elem == lty.elem)
            }
            _ => false,
        };
        // A pointer into another parameter: say so (the types print the same).
        if let (Elem::Ptr { param: want, .. }, Val::Rt(id)) = (lty.elem, &v) {
            if let Elem::Ptr { param: got, .. } = self.b.ty(*id).elem {
                if got != want {
                    let params = &self.b.kernel.params;
                    let (want, got) = (&params[want as usize].name, &params[got as usize].name);
                    self.diags
                        .push(diags::pointer_into_other_param(name, want, got, value.span));
                    return;
                }
            }
        }
        let vshape = self.shape_of(&v);
        if !ok_elem || !(vshape == lty.shape || vshape.is_empty()) {
            let found = self.describe(&v);
            let report = if ok_elem {
                diags::assignment_changes_shape
            } else {
                diags::assignment_changes_type
            };
            self.diags
                .push(report(name, &type_text(&lty), &found, value.span));
            return;
        }
        let id = match (lty.elem, &v) {
            (Elem::Scalar(t), _) => self.materialize(&v, t, &lty.shape, value.span),
            (_, Val::Rt(id)) => Some(self.reshape_to(*id, &lty.shape)),
            _ => None,
        };
        if let Some(id) = id {
            self.b.span = span;
            self.b.local_set(local, id);
        }
    }
}
