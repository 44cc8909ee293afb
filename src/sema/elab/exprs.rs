//! Expressions: literals, names and paths, unary and binary operators (with compile-time
//! folding and pointer arithmetic), short-circuit logic, casts and indexing with `None`.
use super::{type_text, Binding, Elab, OpTy, Val};
use crate::base::{Literal, ScalarType, Span};
use crate::ir::{self, InstKind, Type, ValueId};
use crate::sema::fold::{FoldError, FoldOp};
use crate::sema::{diags, fold, suggest, ItemRef};
use crate::syntax::ast;

fn fold_op_of(op: ast::BinaryOp) -> Option<FoldOp> {
    use ast::BinaryOp as B;
    Some(match op {
        B::Mul => FoldOp::Mul,
        B::Div => FoldOp::Div,
        B::Rem => FoldOp::Rem,
        B::Add => FoldOp::Add,
        B::Sub => FoldOp::Sub,
        B::Shl => FoldOp::Shl,
        B::Shr => FoldOp::Shr,
        B::BitAnd => FoldOp::And,
        B::BitXor => FoldOp::Xor,
        B::BitOr => FoldOp::Or,
        B::Eq => FoldOp::Eq,
        B::Ne => FoldOp::Ne,
        B::Lt => FoldOp::Lt,
        B::Le => FoldOp::Le,
        B::Gt => FoldOp::Gt,
        B::Ge => FoldOp::Ge,
        B::And | B::Or => return None,
    })
}

fn cmp_op_of(op: ast::BinaryOp) -> Option<ir::CmpOp> {
    use ast::BinaryOp as B;
    Some(match op {
        B::Eq => ir::CmpOp::Eq,
        B::Ne => ir::CmpOp::Ne,
        B::Lt => ir::CmpOp::Lt,
        B::Le => ir::CmpOp::Le,
        B::Gt => ir::CmpOp::Gt,
        B::Ge => ir::CmpOp::Ge,
        _ => return None,
    })
}

fn ir_binary_of(op: ast::BinaryOp) -> Option<ir::BinaryOp> {
    use ast::BinaryOp as B;
    Some(match op {
        B::Mul => ir::BinaryOp::Mul,
        B::Div => ir::BinaryOp::Div,
        B::Rem => ir::BinaryOp::Rem,
        B::Add => ir::BinaryOp::Add,
        B::Sub => ir::BinaryOp::Sub,
        B::Shl => ir::BinaryOp::Shl,
        B::Shr => ir::BinaryOp::Shr,
        B::BitAnd => ir::BinaryOp::And,
        B::BitXor => ir::BinaryOp::Xor,
        B::BitOr => ir::BinaryOp::Or,
        _ => return None,
    })
}

impl Elab<'_> {
    pub fn expr(&mut self, e: &ast::Expr) -> Val {
        let saved = self.b.span;
        self.b.span = e.span;
        let v = self.expr_inner(e);
        self.b.span = saved;
        v
    }

    pub(super) fn expr_inner(&mut self, e: &ast::Expr) -> Val {
        match &e.kind {
            ast::ExprKind::Int(v) => match i128::try_from(*v) {
                Ok(v) if v <= u64::MAX as i128 => Val::Known {
                    ty: None,
                    lit: Literal::Int(v),
                },
                _ => self.error(diags::integer_literal_too_large(e.span)),
            },
            ast::ExprKind::Float(f) => Val::Known {
                ty: None,
                lit: Literal::Float(*f),
            },
            ast::ExprKind::Bool(b) => Val::known(ScalarType::Bool, Literal::Bool(*b)),
            ast::ExprKind::Str(_) => self.error(diags::string_as_value(e.span)),
            ast::ExprKind::Path(path) => self.path(path, e.span),
            ast::ExprKind::Unary { op, operand } => {
                let v = self.expr(operand);
                self.unary(*op, v, operand.span, e.span)
            }
            ast::ExprKind::Binary { op, lhs, rhs } => self.binary_expr(*op, lhs, rhs, e.span),
            ast::ExprKind::Call { callee, args } => self.call(callee, args, e.span),
            ast::ExprKind::Index { base, slices } => {
                let v = self.expr(base);
                self.index(v, base.span, slices, e.span)
            }
            ast::ExprKind::Cast { value, ty } => {
                let v = self.expr(value);
                self.cast(v, ty.ty, value.span, e.span)
            }
            ast::ExprKind::List(_) => self.error(diags::list_as_value(e.span)),
            ast::ExprKind::Block(block) => self.block(block, false),
            ast::ExprKind::If {
                cond,
                then_block,
                else_branch,
            } => self.if_expr(cond, then_block, else_branch.as_deref(), e.span),
            ast::ExprKind::Error => Val::Error,
        }
    }

    pub(super) fn path(&mut self, path: &[ast::Ident], span: Span) -> Val {
        if path.len() == 1 {
            let name = &path[0].name;
            match self.lookup_binding(name).cloned() {
                Some(Binding::Value(v)) => return v,
                Some(Binding::Local { id, .. }) => return Val::Rt(self.b.local_get(id)),
                None => {}
            }
            let file = self.file();
            return self.global_name(file, &path[0], span);
        }
        if path.len() == 2 {
            let file = self.file();
            let Some(&target) = self.checked.scopes[file as usize]
                .modules
                .get(&path[0].name)
            else {
                return self.unknown_module(&path[0]);
            };
            return self.global_name(target, &path[1], span);
        }
        self.error(diags::value_path_too_long(span))
    }

    pub(super) fn unknown_module(&mut self, ident: &ast::Ident) -> Val {
        let file = self.file();
        if self.checked.scopes[file as usize]
            .failed_modules
            .contains(&ident.name)
        {
            // Its `use` already failed with a diagnostic.
            return Val::Error;
        }
        let names: Vec<String> = self.checked.scopes[file as usize]
            .modules
            .keys()
            .cloned()
            .collect();
        let similar = suggest(&ident.name, names.iter().map(String::as_str));
        self.error(diags::unknown_module(&ident.name, ident.span, similar))
    }

    pub(super) fn global_name(&mut self, file: u32, ident: &ast::Ident, span: Span) -> Val {
        match self.checked.scopes[file as usize].items.get(&ident.name) {
            Some(ItemRef::Const(_)) => match self.global_const(file, &ident.name, span) {
                Some((t, lit)) => Val::known(t, lit),
                None => Val::Error,
            },
            Some(ItemRef::Fn(_)) | Some(ItemRef::Kernel(_)) => {
                self.error(diags::function_as_value(&ident.name, span))
            }
            None => {
                let mut names = self.visible_names();
                names.extend(["inf".to_string(), "nan".to_string()]);
                let similar = suggest(&ident.name, names.iter().map(String::as_str));
                self.error(diags::unknown_name(&ident.name, ident.span, similar))
            }
        }
    }

    pub(super) fn unary(&mut self, op: ast::UnaryOp, v: Val, vspan: Span, span: Span) -> Val {
        let Some(t) = self.op_ty(&v) else {
            if matches!(v, Val::Error) {
                return Val::Error;
            }
            return self.error(diags::unary_operand(&self.describe(&v), vspan));
        };
        let (is_bool, is_int, is_float) = match t {
            OpTy::Typed(t) => (t.is_bool(), t.is_int(), t.is_float()),
            OpTy::UntypedInt => (false, true, false),
            OpTy::UntypedFloat => (false, false, true),
        };
        let ir_op = match op {
            ast::UnaryOp::Neg if is_int || is_float => ir::UnaryOp::Neg,
            ast::UnaryOp::Not if is_bool => ir::UnaryOp::Not,
            ast::UnaryOp::Not | ast::UnaryOp::BitNot if is_int => ir::UnaryOp::BitNot,
            _ => return self.error(diags::unary_operator_type(op, &self.describe(&v), vspan)),
        };
        if let Val::Known { ty, lit } = v {
            let folded = match (ir_op, lit) {
                (ir::UnaryOp::Neg, Literal::Int(i)) => {
                    Some(Literal::Int(ty.map_or(-i, |t| fold::wrap_int(-i, t))))
                }
                (ir::UnaryOp::Neg, Literal::Float(f)) => Some(Literal::Float(-f)),
                (ir::UnaryOp::Not, Literal::Bool(b)) => Some(Literal::Bool(!b)),
                (ir::UnaryOp::BitNot, Literal::Int(i)) => {
                    Some(Literal::Int(ty.map_or(!i, |t| fold::wrap_int(!i, t))))
                }
                _ => None,
            };
            if let Some(lit) = folded {
                return Val::Known { ty, lit };
            }
        }
        let Some(id) = self.runtime_value(&v, vspan) else {
            return Val::Error;
        };
        self.b.span = span;
        Val::Rt(self.b.unary(ir_op, id))
    }

    pub(super) fn binary_expr(
        &mut self,
        op: ast::BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: Span,
    ) -> Val {
        if matches!(op, ast::BinaryOp::And | ast::BinaryOp::Or) {
            return self.short_circuit(op, lhs, rhs, span);
        }
        let l = self.expr(lhs);
        let r = self.expr(rhs);
        self.b.span = span;
        self.binary(op, l, lhs.span, r, rhs.span, span)
    }

    pub fn binary(
        &mut self,
        op: ast::BinaryOp,
        l: Val,
        ls: Span,
        r: Val,
        rs: Span,
        span: Span,
    ) -> Val {
        if matches!(l, Val::Error) || matches!(r, Val::Error) {
            return Val::Error;
        }
        let sym = op.symbol();
        // Pointer arithmetic.
        if self.is_pointer(&l) || self.is_pointer(&r) {
            return self.pointer_arith(op, l, ls, r, rs, span);
        }
        let Some(unified) = self.unify(sym, &[(&l, ls), (&r, rs)]) else {
            return Val::Error;
        };
        let (is_bool, is_int, is_float) = match unified {
            Ok(t) => (t.is_bool(), t.is_int(), t.is_float()),
            Err(OpTy::UntypedFloat) => (false, false, true),
            Err(_) => (false, true, false),
        };
        use ast::BinaryOp as B;
        let allowed = match op {
            B::Add | B::Sub | B::Mul | B::Div | B::Rem => is_int || is_float,
            B::Shl | B::Shr => is_int,
            B::BitAnd | B::BitOr | B::BitXor => is_int || is_bool,
            B::Eq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge => true,
            B::And | B::Or => is_bool,
        };
        if !allowed {
            let ty = match unified {
                Ok(t) => t.name().to_string(),
                Err(OpTy::UntypedFloat) => "float".into(),
                Err(_) => "int".into(),
            };
            return self.error(diags::binary_operator_type(op, &ty, is_bool, span));
        }
        // Fold compile-time operands.
        if let (Val::Known { lit: a, .. }, Val::Known { lit: b, .. }) = (&l, &r) {
            let ty = unified.ok();
            let (a, b) = match unified {
                Err(OpTy::UntypedFloat) => (
                    fold::convert(*a, ScalarType::F64),
                    fold::convert(*b, ScalarType::F64),
                ),
                Ok(t) => (fold::convert(*a, t), fold::convert(*b, t)),
                Err(_) => (*a, *b),
            };
            if let Some(fop) = fold_op_of(op) {
                match fold::fold_binary(fop, ty, a, b) {
                    Ok(lit) => {
                        let ty = if op.is_comparison() {
                            Some(ScalarType::Bool)
                        } else {
                            ty
                        };
                        return Val::Known { ty, lit };
                    }
                    Err(FoldError::DivisionByZero) => {
                        return self.error(diags::division_by_zero(rs))
                    }
                    Err(FoldError::NotFoldable) => {}
                }
            }
        }
        let elem = match unified {
            Ok(t) => t,
            Err(OpTy::UntypedFloat) => ScalarType::F32,
            Err(_) => ScalarType::I32,
        };
        let Some(shape) = self.broadcast_all(&[(&l, ls), (&r, rs)]) else {
            return Val::Error;
        };
        let (Some(a), Some(b)) = (
            self.materialize(&l, elem, &shape, ls),
            self.materialize(&r, elem, &shape, rs),
        ) else {
            return Val::Error;
        };
        self.b.span = span;
        if let Some(cmp) = cmp_op_of(op) {
            return Val::Rt(self.b.compare(cmp, a, b));
        }
        let ir_op = ir_binary_of(op).expect("arithmetic op");
        Val::Rt(self.b.binary(ir_op, a, b))
    }

    pub(super) fn pointer_arith(
        &mut self,
        op: ast::BinaryOp,
        l: Val,
        ls: Span,
        r: Val,
        rs: Span,
        span: Span,
    ) -> Val {
        let (ptr, ps, off, os) = match op {
            ast::BinaryOp::Add | ast::BinaryOp::Sub
                if self.is_pointer(&l) && !self.is_pointer(&r) =>
            {
                (l, ls, r, rs)
            }
            ast::BinaryOp::Add if self.is_pointer(&r) && !self.is_pointer(&l) => (r, rs, l, ls),
            _ => {
                return self.error(diags::pointer_operands(
                    op.symbol(),
                    &self.describe(&l),
                    &self.describe(&r),
                    span,
                ))
            }
        };
        if matches!(off, Val::Error) {
            return Val::Error;
        }
        let off_elem = match self.op_ty(&off) {
            Some(OpTy::Typed(t)) if t.is_int() => t,
            Some(OpTy::UntypedInt) => ScalarType::I32,
            _ => return self.error(diags::pointer_offset_type(&self.describe(&off), os, ps)),
        };
        let Some(shape) = self.broadcast_all(&[(&ptr, ps), (&off, os)]) else {
            return Val::Error;
        };
        let Val::Rt(p) = ptr else { return Val::Error };
        let Some(mut o) = self.materialize(&off, off_elem, &shape, os) else {
            return Val::Error;
        };
        self.b.span = span;
        if op == ast::BinaryOp::Sub {
            o = self.b.unary(ir::UnaryOp::Neg, o);
        }
        let p = self.reshape_to(p, &shape);
        Val::Rt(self.b.ptr_offset(p, o))
    }

    pub(super) fn expect_scalar_bool(
        &mut self,
        v: &Val,
        span: Span,
        what: &str,
    ) -> Option<ValueId> {
        match self.op_ty(v) {
            Some(OpTy::Typed(ScalarType::Bool)) => {
                let shape = self.shape_of(v);
                if !shape.is_empty() {
                    self.diags.push(diags::block_condition(
                        what,
                        &self.describe(v),
                        &shape,
                        span,
                    ));
                    return None;
                }
                self.materialize(v, ScalarType::Bool, &[], span)
            }
            None if matches!(v, Val::Error) => None,
            _ => {
                self.diags
                    .push(diags::condition_not_bool(what, &self.describe(v), span));
                None
            }
        }
    }

    pub(super) fn short_circuit(
        &mut self,
        op: ast::BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: Span,
    ) -> Val {
        let l = self.expr(lhs);
        if let Val::Known {
            ty: Some(ScalarType::Bool),
            lit: Literal::Bool(a),
        } = l
        {
            // Compile-time left side: short-circuit at compile time too.
            if (op == ast::BinaryOp::And) != a {
                return Val::known(ScalarType::Bool, Literal::Bool(a));
            }
            let r = self.expr(rhs);
            if let Val::Known { .. } = r {
                if self
                    .expect_scalar_bool(&r, rhs.span, "the right side of a logic operator")
                    .is_none()
                {
                    return Val::Error;
                }
                return r;
            }
            return match self.check_logic_operand(&r, rhs.span, op) {
                Some(id) => Val::Rt(id),
                None => Val::Error,
            };
        }
        let Some(a) = self.check_logic_operand(&l, lhs.span, op) else {
            return Val::Error;
        };
        self.b.span = span;
        let local = self.b.add_local(
            if op == ast::BinaryOp::And {
                "and"
            } else {
                "or"
            },
            Type::scalar(ScalarType::Bool),
        );
        self.b.local_set(local, a);
        self.b.begin_region();
        let r = self.expr(rhs);
        let rv = self.check_logic_operand(&r, rhs.span, op);
        if let Some(rv) = rv {
            self.b.span = span;
            self.b.local_set(local, rv);
        }
        let region = self.b.end_region();
        self.b.span = span;
        let (then_region, else_region) = if op == ast::BinaryOp::And {
            (region, ir::Region::default())
        } else {
            (ir::Region::default(), region)
        };
        self.b.push(
            InstKind::If {
                cond: a,
                then_region,
                else_region,
            },
            None,
        );
        if rv.is_none() {
            return Val::Error;
        }
        Val::Rt(self.b.local_get(local))
    }

    pub(super) fn check_logic_operand(
        &mut self,
        v: &Val,
        span: Span,
        op: ast::BinaryOp,
    ) -> Option<ValueId> {
        if let (Some(OpTy::Typed(ScalarType::Bool)), false) =
            (self.op_ty(v), self.shape_of(v).is_empty())
        {
            self.diags
                .push(diags::logic_on_block(op, &self.describe(v), span));
            return None;
        }
        self.expect_scalar_bool(v, span, &format!("an operand of `{}`", op.symbol()))
    }

    pub(super) fn cast(&mut self, v: Val, to: ScalarType, vspan: Span, span: Span) -> Val {
        match &v {
            Val::Error => Val::Error,
            Val::Known { lit, .. } => Val::known(to, fold::convert(*lit, to)),
            Val::Rt(id) if !self.is_pointer(&v) => {
                if self.b.ty(*id).scalar_type() == Some(to) {
                    return v;
                }
                self.b.span = span;
                Val::Rt(self.b.cast(*id, to))
            }
            _ => self.error(diags::cannot_cast(&self.describe(&v), to, vspan)),
        }
    }

    pub(super) fn index(&mut self, v: Val, vspan: Span, slices: &[ast::Slice], span: Span) -> Val {
        if matches!(v, Val::Error) {
            return Val::Error;
        }
        let Some(id) = self.runtime_value(&v, vspan) else {
            return self.error(diags::no_value(vspan, "an indexed value"));
        };
        let rank = self.b.ty(id).shape.len();
        let full = slices
            .iter()
            .filter(|s| matches!(s, ast::Slice::Full(_)))
            .count();
        if full != rank {
            return self.error(diags::index_colons(
                full,
                rank,
                span,
                &type_text(&self.rt_type(id)),
                vspan,
            ));
        }
        if rank + slices.len() - full > 4 {
            return self.error(diags::index_too_many_dims(span));
        }
        self.b.span = span;
        let mut id = id;
        for (i, s) in slices.iter().enumerate() {
            if let ast::Slice::NewAxis(_) = s {
                id = if self.b.ty(id).shape.is_empty() {
                    self.b.splat(id, vec![1])
                } else {
                    self.b.expand_dims(id, i as u32)
                };
            }
        }
        Val::Rt(id)
    }
}
