//! Compile-time values outside a kernel body's expressions: const parameter values, global
//! consts (evaluated once, with the cycle check) and `#[grid]` launch expressions.
use super::{Binding, Elab, Val};
use crate::base::{Literal, ScalarType, Span};
use crate::ir::{self, InstKind};
use crate::sema::builtins::{self, Lowering};
use crate::sema::fold::FoldOp;
use crate::sema::{diags, fold, ItemRef};
use crate::syntax::ast;

/// A `#[grid]` expression node of two operands (`GridExpr::Add` and the like).
type GridNode = fn(Box<ir::GridExpr>, Box<ir::GridExpr>) -> ir::GridExpr;

impl Elab<'_> {
    /// A const parameter's value: compile-time and convertible to `ty` (literals take the type).
    pub fn const_value(&mut self, v: &Val, span: Span, ty: ScalarType) -> Option<Literal> {
        let (from, lit) = self.expect_known(v, span, "a const parameter's value")?;
        match from {
            Some(t) if t == ty => Some(lit),
            Some(t) => {
                self.diags.push(diags::const_value_type(t, ty, span));
                None
            }
            None => self.literal_as(lit, ty, span),
        }
    }

    /// A `#[grid]` entry as a launch-time expression over scalar params and consts.
    pub fn grid_expr(&mut self, e: &ast::Expr) -> Option<ir::GridExpr> {
        use ir::GridExpr as G;
        let bad = |this: &mut Self, span: Span, what: &str| {
            this.diags.push(diags::invalid_grid(what, span));
            None
        };
        match &e.kind {
            ast::ExprKind::Int(_) | ast::ExprKind::Path(_) | ast::ExprKind::Unary { .. } => {
                if let ast::ExprKind::Path(p) = &e.kind {
                    if let (1, Some(Binding::Value(Val::Rt(id)))) =
                        (p.len(), self.lookup_binding(&p[0].name))
                    {
                        let id = *id;
                        return match (&self.b.kernel.insts[id].kind, self.b.ty(id).scalar_type()) {
                            (InstKind::Param(i), Some(t)) if t.is_int() => Some(G::Param(*i)),
                            _ => bad(self, e.span, "not an integer scalar parameter"),
                        };
                    }
                }
                let v = self.expr(e);
                match v {
                    Val::Known {
                        lit: Literal::Int(i),
                        ..
                    } => Some(G::Const(i as i64)),
                    Val::Error => None,
                    _ => bad(self, e.span, "not an integer"),
                }
            }
            ast::ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.grid_expr(lhs)?, self.grid_expr(rhs)?);
                let (fop, node): (FoldOp, GridNode) = match op {
                    ast::BinaryOp::Add => (FoldOp::Add, G::Add),
                    ast::BinaryOp::Sub => (FoldOp::Sub, G::Sub),
                    ast::BinaryOp::Mul => (FoldOp::Mul, G::Mul),
                    ast::BinaryOp::Div => (FoldOp::Div, G::Div),
                    ast::BinaryOp::Rem => (FoldOp::Rem, G::Rem),
                    _ => return bad(self, e.span, "unsupported operator"),
                };
                self.grid_combine(fop, node, l, r, rhs.span)
            }
            ast::ExprKind::Call { callee, args } if callee.len() == 1 => {
                // The builtins whose table entry lowers to an operation the grid has.
                let lowering = builtins::lookup(&callee[0].name).map(|b| b.lowering);
                let (fop, node): (FoldOp, GridNode) = match lowering {
                    Some(Lowering::CeilDiv) => (FoldOp::CeilDiv, G::CeilDiv),
                    Some(Lowering::Binary(ir::BinaryOp::Min)) => (FoldOp::Min, G::Min),
                    Some(Lowering::Binary(ir::BinaryOp::Max)) => (FoldOp::Max, G::Max),
                    _ => return bad(self, e.span, "unsupported function"),
                };
                let exprs: Vec<&ast::Expr> = args
                    .iter()
                    .filter_map(|a| match (&a.name, &a.value) {
                        (None, ast::ArgValue::Expr(e)) => Some(e),
                        _ => None,
                    })
                    .collect();
                if exprs.len() != 2 || args.len() != 2 {
                    return bad(self, e.span, "takes two arguments");
                }
                let (l, r) = (self.grid_expr(exprs[0])?, self.grid_expr(exprs[1])?);
                self.grid_combine(fop, node, l, r, exprs[1].span)
            }
            _ => bad(self, e.span, "unsupported expression"),
        }
    }

    /// `node(l, r)`, or its value folded with `op` when both sides are constants.
    pub(super) fn grid_combine(
        &mut self,
        op: FoldOp,
        node: GridNode,
        l: ir::GridExpr,
        r: ir::GridExpr,
        rspan: Span,
    ) -> Option<ir::GridExpr> {
        use ir::GridExpr as G;
        if let (G::Const(a), G::Const(b)) = (&l, &r) {
            return match fold::fold_binary(
                op,
                Some(ScalarType::I64),
                Literal::Int(*a as i128),
                Literal::Int(*b as i128),
            ) {
                Ok(Literal::Int(v)) => Some(G::Const(v as i64)),
                _ => {
                    self.diags.push(diags::division_by_zero(rspan));
                    None
                }
            };
        }
        Some(node(Box::new(l), Box::new(r)))
    }

    /// Evaluates (once) the global const `name` of `file`.
    pub fn global_const(
        &mut self,
        file: u32,
        name: &str,
        use_span: Span,
    ) -> Option<(ScalarType, Literal)> {
        let key = (file, name.to_string());
        if let Some(v) = self.global_consts.get(&key) {
            if v.is_none()
                && self
                    .call_stack
                    .iter()
                    .all(|c| c.2 != format!("const {name}"))
            {
                return None;
            }
            if let Some(v) = v {
                return Some(*v);
            }
            self.diags.push(diags::const_cycle(name, use_span));
            return None;
        }
        let Some(ItemRef::Const(index)) =
            self.checked.scopes[file as usize].items.get(name).copied()
        else {
            return None;
        };
        let ast::ItemKind::Const(item) = &self.checked.files[file as usize].items[index].kind
        else {
            return None;
        };
        self.global_consts.insert(key.clone(), None);
        self.call_stack
            .push((file, index, format!("const {name}"), use_span));
        self.push_frame(file, false);
        let v = self.expr(&item.value);
        self.pop_frame();
        self.call_stack.pop();
        let result = self
            .expect_known(&v, item.value.span, "a global const's value")
            .and_then(|(ty, lit)| match ty {
                Some(t) if t != item.ty.ty => {
                    self.diags.push(diags::const_declared_type(
                        name,
                        item.ty.ty,
                        t,
                        item.value.span,
                        item.ty.span,
                    ));
                    None
                }
                Some(t) => Some((t, lit)),
                None => self
                    .literal_as(lit, item.ty.ty, item.value.span)
                    .map(|l| (item.ty.ty, l)),
            });
        self.global_consts.insert(key, result);
        result
    }

    /// Requires a compile-time value.
    pub(super) fn expect_known(
        &mut self,
        v: &Val,
        span: Span,
        what: &str,
    ) -> Option<(Option<ScalarType>, Literal)> {
        match v {
            Val::Known { ty, lit } => Some((*ty, *lit)),
            Val::Error => None,
            _ => {
                self.diags.push(diags::not_compile_time(what, span));
                None
            }
        }
    }

    pub(super) fn expect_const_int(&mut self, v: &Val, span: Span, what: &str) -> Option<i128> {
        match self.expect_known(v, span, what)? {
            (ty, Literal::Int(i)) if ty.is_none_or(|t| t.is_int()) => Some(i),
            _ => {
                self.diags
                    .push(diags::not_an_integer(what, &self.describe(v), span));
                None
            }
        }
    }
}
