//! Call arguments: binding positional and named arguments to parameters, and the shape, type and
//! string arguments some builtins take.
use super::{err, shape_text, Elab, Slots, Val, MAX_ELEMENTS};
use crate::base::{ScalarType, Span};
use crate::sema::suggest;
use crate::syntax::ast;

impl Elab<'_> {
    /// Evaluates a list of dims (each a compile-time power of two).
    pub(super) fn shape_dims(&mut self, dims: &[ast::Expr], span: Span) -> Option<Vec<u32>> {
        if dims.is_empty() || dims.len() > 4 {
            self.diags.push(
                err(
                    "E0403",
                    format!("blocks have 1 to 4 dims, found {}", dims.len()),
                )
                .with_label(span, "in this shape")
                .with_help("use a shape like `[64]` or `[32, 32]`"),
            );
            return None;
        }
        let mut shape = Vec::new();
        for d in dims {
            let v = self.expr(d);
            let n = self.expect_const_int(&v, d.span, "a block dim")?;
            if n <= 0 || (n & (n - 1)) != 0 || n > MAX_ELEMENTS as i128 {
                self.diags.push(
                    err(
                        "E0401",
                        format!("block dims must be powers of two, found {n}"),
                    )
                    .with_label(d.span, format!("this is {n}"))
                    .with_help(format!(
                        "use a power of two such as {}, and mask off the extra lanes",
                        if n > 0 {
                            (n.min(MAX_ELEMENTS as i128) as u64).next_power_of_two()
                        } else {
                            1
                        }
                    )),
                );
                return None;
            }
            shape.push(n as u32);
        }
        let count: u64 = shape.iter().map(|&d| d as u64).product();
        if count > MAX_ELEMENTS {
            self.diags.push(
                err("E0404", format!("block of {count} elements is too large"))
                    .with_label(span, format!("shape {}", shape_text(&shape)))
                    .with_help(format!(
                        "blocks hold at most {MAX_ELEMENTS} (2^20) elements"
                    )),
            );
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
                self.diags.push(
                    err("E0316", "expected a scalar type")
                        .with_label(arg.span, "not a scalar type")
                        .with_help("write an element type such as `f32`, `i32` or `f16`"),
                );
                None
            }
        }
    }

    pub(super) fn arg_expr<'e>(&mut self, arg: &'e ast::Arg) -> Option<&'e ast::Expr> {
        match &arg.value {
            ast::ArgValue::Expr(e) => Some(e),
            ast::ArgValue::Type(t) => {
                self.diags.push(
                    err("E0316", "a type is not a value")
                        .with_label(t.span, "type given where a value is expected")
                        .with_help("only `zeros`, `full` and `bitcast` take a type argument"),
                );
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
                self.diags.push(
                    err("E0316", "expected a string literal")
                        .with_label(arg.span, "not a string")
                        .with_help(
                            "write a message in double quotes, e.g. \"BLOCK must be at least 16\"",
                        ),
                );
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
                        self.diags.push(
                            err(
                                "E0204",
                                format!(
                                    "`{signature}` takes {} argument{} but {} were given",
                                    params.len(),
                                    if params.len() == 1 { "" } else { "s" },
                                    args.len()
                                ),
                            )
                            .with_label(arg.span, "unexpected argument")
                            .with_help(format!("the signature is `{signature}`")),
                        );
                        return None;
                    }
                    slots[positional] = Some(arg);
                    positional += 1;
                }
                Some(name) => match params.iter().position(|(p, _)| *p == name.name) {
                    Some(i) if slots[i].is_some() => {
                        self.diags.push(
                            err("E0212", format!("argument `{}` given twice", name.name))
                                .with_label(arg.span, "given again here")
                                .with_label(slots[i].unwrap().span, "first given here")
                                .with_help(format!("the signature is `{signature}`")),
                        );
                        ok = false;
                    }
                    Some(i) => slots[i] = Some(arg),
                    None => {
                        let mut help = format!("the signature is `{signature}`");
                        if let Some(s) = suggest(&name.name, params.iter().map(|p| p.0)) {
                            help = format!("did you mean `{s}`? the signature is `{signature}`");
                        }
                        self.diags.push(
                            err("E0205", format!("unknown named argument `{}`", name.name))
                                .with_label(name.span, "no parameter has this name")
                                .with_help(help),
                        );
                        ok = false;
                    }
                },
            }
        }
        for (i, (p, required)) in params.iter().enumerate() {
            if *required && slots[i].is_none() {
                self.diags.push(
                    err("E0206", format!("missing argument `{p}`"))
                        .with_label(call_span, format!("`{p}` is required"))
                        .with_help(format!("the signature is `{signature}`")),
                );
                ok = false;
            }
        }
        ok.then_some(slots)
    }
}
