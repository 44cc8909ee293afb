//! Call arguments: binding positional and named arguments to parameters, and the shape, type and
//! string arguments some builtins take.
use super::{padded_count, Elab, Slots, Val, MAX_ELEMENTS};
use crate::base::{ScalarType, Span};
use crate::sema::diags;
use crate::sema::suggest;
use crate::syntax::ast;

impl Elab<'_> {
    /// Evaluates a list of dims (each a positive compile-time integer).
    pub(super) fn shape_dims(&mut self, dims: &[ast::Expr], span: Span) -> Option<Vec<u32>> {
        if dims.is_empty() || dims.len() > 4 {
            self.diags.push(diags::shape_rank(dims.len(), span));
            return None;
        }
        let mut shape = Vec::new();
        for d in dims {
            let v = self.expr(d);
            let n = self.expect_const_int(&v, d.span, "a block dim")?;
            if n <= 0 || n > MAX_ELEMENTS as i128 {
                self.diags.push(diags::dim_out_of_range(n, d.span));
                return None;
            }
            shape.push(n as u32);
        }
        let count = padded_count(&shape);
        if count > MAX_ELEMENTS {
            self.diags.push(diags::shape_too_large(count, &shape, span));
            return None;
        }
        Some(shape)
    }

    pub(super) fn shape_arg(&mut self, e: &ast::Expr) -> Option<Vec<u32>> {
        match &e.kind {
            ast::ExprKind::List(items) => self.shape_dims(items, e.span),
            _ => self.shape_dims(std::slice::from_ref(e), e.span),
        }
    }

    pub(super) fn type_arg(&mut self, arg: &ast::Arg) -> Option<ScalarType> {
        match &arg.value {
            ast::ArgValue::Type(ast::Ty {
                kind: ast::TyKind::Scalar(t),
                ..
            }) => Some(*t),
            ast::ArgValue::Expr(ast::Expr {
                kind: ast::ExprKind::Path(p),
                ..
            }) if p.len() == 1 && ScalarType::from_name(&p[0].name).is_some() => {
                ScalarType::from_name(&p[0].name)
            }
            _ => {
                self.diags.push(diags::expected_scalar_type(arg.span));
                None
            }
        }
    }

    pub(super) fn arg_expr<'e>(&mut self, arg: &'e ast::Arg) -> Option<&'e ast::Expr> {
        match &arg.value {
            ast::ArgValue::Expr(e) => Some(e),
            ast::ArgValue::Type(t) => {
                self.diags.push(diags::type_as_value(t.span));
                None
            }
        }
    }

    pub(super) fn arg_val(&mut self, arg: Option<&ast::Arg>) -> (Val, Span) {
        let Some(arg) = arg else {
            return (Val::Unit, Span::default());
        };
        match self.arg_expr(arg) {
            Some(e) => (self.expr(e), e.span),
            None => (Val::Error, arg.span),
        }
    }

    pub(super) fn arg_str(&mut self, arg: Option<&ast::Arg>) -> Option<String> {
        let arg = arg?;
        match &arg.value {
            ast::ArgValue::Expr(ast::Expr {
                kind: ast::ExprKind::Str(s),
                ..
            }) => Some(s.clone()),
            _ => {
                self.diags.push(diags::expected_string(arg.span));
                None
            }
        }
    }

    /// Matches positional and named arguments to parameters.
    pub(super) fn bind_args<'e>(
        &mut self,
        params: &[(&str, bool)],
        args: &'e [ast::Arg],
        signature: &str,
        call_span: Span,
    ) -> Option<Slots<'e>> {
        let mut slots: Slots<'e> = vec![None; params.len()];
        let mut positional = 0;
        let mut ok = true;
        for arg in args {
            match &arg.name {
                None => {
                    if positional >= params.len() {
                        self.diags.push(diags::too_many_arguments(
                            signature,
                            params.len(),
                            args.len(),
                            arg.span,
                        ));
                        return None;
                    }
                    slots[positional] = Some(arg);
                    positional += 1;
                }
                Some(name) => match params.iter().position(|(p, _)| *p == name.name) {
                    Some(i) if slots[i].is_some() => {
                        self.diags.push(diags::argument_given_twice(
                            &name.name,
                            arg.span,
                            slots[i].unwrap().span,
                            signature,
                        ));
                        ok = false;
                    }
                    Some(i) => slots[i] = Some(arg),
                    None => {
                        let similar = suggest(&name.name, params.iter().map(|p| p.0));
                        self.diags.push(diags::unknown_named_argument(
                            &name.name, name.span, signature, similar,
                        ));
                        ok = false;
                    }
                },
            }
        }
        for (i, (p, required)) in params.iter().enumerate() {
            if *required && slots[i].is_none() {
                self.diags
                    .push(diags::missing_argument(p, signature, call_span));
                ok = false;
            }
        }
        ok.then_some(slots)
    }
}
