//! Glue between the lalrpop grammar and the AST: `Ctx` is the state the grammar's actions share
//! (file id, expression ids, nesting depths, diagnostics), and `run` drives the generated parser
//! with error recovery, including the retries that recover from an unexpected end of file.
use crate::base::{Diagnostic, Diagnostics, FileId, Span};
use crate::syntax::ast::*;
use crate::syntax::errors;
use crate::syntax::lexer::{Spanned, Tok};
use lalrpop_util::{ErrorRecovery, ParseError};
use std::collections::{HashMap, HashSet};

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, unused_parens, dead_code)]
    grammar,
    "/tk.rs"
);

/// Expressions (and the blocks inside them) may nest this deep; deeper trees are replaced by
/// `ExprKind::Error` so that no later recursive pass can overflow its stack.
pub const MAX_EXPR_DEPTH: usize = 128;
/// Brackets may nest this deep in the token stream.
pub const MAX_BRACKET_DEPTH: usize = 256;

pub type Recovery = ErrorRecovery<usize, Tok, ()>;

/// State shared by the grammar's actions.
pub struct Ctx {
    pub file: FileId,
    next_expr: u32,
    /// Nesting depth of each expression, indexed by `ExprId`.
    depths: Vec<u16>,
    /// Nesting depth of each block, keyed by the offset of its `{`.
    block_depths: HashMap<u32, u16>,
    /// `None` expressions not (yet) claimed by an index; reported at the end.
    pending_none: HashSet<u32>,
    depth_reported: bool,
    pub recoveries: Vec<Recovery>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Ctx {
    pub fn new(file: FileId) -> Ctx {
        Ctx {
            file,
            next_expr: 0,
            depths: Vec::new(),
            block_depths: HashMap::new(),
            pending_none: HashSet::new(),
            depth_reported: false,
            recoveries: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn depth(&self, expr: &Expr) -> u16 {
        self.depths.get(expr.id.0 as usize).copied().unwrap_or(0)
    }

    fn block_depth(&self, block: &Block) -> u16 {
        self.block_depths
            .get(&block.span.start)
            .copied()
            .unwrap_or(0)
    }

    fn ty_depth(&self, ty: &Ty) -> u16 {
        match &ty.kind {
            TyKind::Block { dims, .. } => dims.iter().map(|d| self.depth(d)).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Makes an expression with a fresh id. Trees deeper than `MAX_EXPR_DEPTH` are cut off here.
    pub fn expr(&mut self, kind: ExprKind, start: usize, end: usize) -> Expr {
        let span = self.span(start, end);
        let children = match &kind {
            ExprKind::Unary { operand, .. } => self.depth(operand),
            ExprKind::Binary { lhs, rhs, .. } => self.depth(lhs).max(self.depth(rhs)),
            ExprKind::Call { args, .. } => args
                .iter()
                .map(|a| match &a.value {
                    ArgValue::Expr(e) => self.depth(e),
                    ArgValue::Type(t) => self.ty_depth(t),
                })
                .max()
                .unwrap_or(0),
            ExprKind::Index { base, .. } => self.depth(base),
            ExprKind::Cast { value, .. } => self.depth(value),
            ExprKind::List(items) => items.iter().map(|e| self.depth(e)).max().unwrap_or(0),
            ExprKind::Block(block) => self.block_depth(block),
            ExprKind::If {
                cond,
                then_block,
                else_branch,
            } => self
                .depth(cond)
                .max(self.block_depth(then_block))
                .max(else_branch.as_ref().map_or(0, |e| self.depth(e))),
            _ => 0,
        };
        let mut depth = children + 1;
        let kind = if depth as usize > MAX_EXPR_DEPTH {
            if !self.depth_reported {
                self.depth_reported = true;
                self.diagnostics
                    .push(errors::nesting_too_deep(span, MAX_EXPR_DEPTH));
            }
            depth = 1;
            ExprKind::Error
        } else {
            kind
        };
        let id = ExprId(self.next_expr);
        self.next_expr += 1;
        self.depths.push(depth);
        Expr { id, kind, span }
    }

    pub fn error_expr(&mut self, start: usize, end: usize) -> Expr {
        self.expr(ExprKind::Error, start, end)
    }

    pub fn binary(&mut self, lhs: Expr, op: BinaryOp, rhs: Expr, start: usize, end: usize) -> Expr {
        let kind = ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
        self.expr(kind, start, end)
    }

    /// `a < b < c`: reported, and the whole chain becomes an error expression.
    pub fn chained_comparison(
        &mut self,
        lhs: Expr,
        op: BinaryOp,
        op_start: usize,
        rhs: Expr,
        start: usize,
        end: usize,
    ) -> Expr {
        if let ExprKind::Binary { op: first, .. } = &lhs.kind {
            let span = self.span(start, op_start + op.symbol().len());
            self.diagnostics.push(errors::chained_comparison(
                span,
                first.symbol(),
                op.symbol(),
            ));
        }
        drop((lhs, rhs));
        self.error_expr(start, end)
    }

    /// `None` as a value: valid only as an index slice, which claims it.
    pub fn none_expr(&mut self, start: usize, end: usize) -> Expr {
        let expr = self.error_expr(start, end);
        self.pending_none.insert(expr.id.0);
        expr
    }

    pub fn index(&mut self, base: Expr, items: Vec<IndexItem>, start: usize, end: usize) -> Expr {
        let mut slices = Vec::new();
        let mut valid = true;
        for item in items {
            match item {
                IndexItem::Full(span) => slices.push(Slice::Full(span)),
                IndexItem::Expr(e) if self.pending_none.remove(&e.id.0) => {
                    slices.push(Slice::NewAxis(e.span))
                }
                IndexItem::Expr(e) => {
                    valid = false;
                    if !matches!(e.kind, ExprKind::Error) {
                        self.diagnostics.push(errors::index_by_value(e.span));
                    }
                }
            }
        }
        if !valid {
            return self.error_expr(start, end);
        }
        let kind = ExprKind::Index {
            base: Box::new(base),
            slices,
        };
        self.expr(kind, start, end)
    }

    pub fn call(&mut self, callee: Vec<Ident>, args: Vec<Arg>, start: usize, end: usize) -> Expr {
        let mut first_named: Option<Span> = None;
        let mut valid = true;
        for arg in &args {
            match (&arg.name, first_named) {
                (Some(name), None) => first_named = Some(name.span),
                (None, Some(named)) => {
                    valid = false;
                    self.diagnostics
                        .push(errors::named_before_positional(arg.span, named));
                }
                _ => {}
            }
        }
        if !valid {
            return self.error_expr(start, end);
        }
        self.expr(ExprKind::Call { callee, args }, start, end)
    }

    /// A block from its statements (each flagged when it is a block-like expression without `;`)
    /// and an optional tail: a trailing block-like expression becomes the tail (Rust's rule).
    pub fn block(
        &mut self,
        stmts: Vec<(Stmt, bool)>,
        tail: Option<Expr>,
        start: usize,
        end: usize,
    ) -> Block {
        let last_is_block_like = stmts.last().is_some_and(|(_, block_like)| *block_like);
        let mut stmts: Vec<Stmt> = stmts.into_iter().map(|(s, _)| s).collect();
        let mut tail = tail;
        if tail.is_none() && last_is_block_like {
            if let Some(Stmt {
                kind: StmtKind::Expr(e),
                ..
            }) = stmts.pop()
            {
                tail = Some(e);
            }
        }
        let mut depth = tail.as_ref().map_or(0, |e| self.depth(e));
        for stmt in &stmts {
            let d = match &stmt.kind {
                StmtKind::Let { ty, value, .. } => self
                    .depth(value)
                    .max(ty.as_ref().map_or(0, |t| self.ty_depth(t))),
                StmtKind::Assign { place, value, .. } => self.depth(place).max(self.depth(value)),
                StmtKind::For { args, body, .. } => args
                    .iter()
                    .map(|a| self.depth(a))
                    .max()
                    .unwrap_or(0)
                    .max(self.block_depth(body)),
                StmtKind::While { cond, body } => self.depth(cond).max(self.block_depth(body)),
                StmtKind::Return(Some(e)) | StmtKind::Expr(e) => self.depth(e),
                _ => 0,
            };
            depth = depth.max(d);
        }
        let span = self.span(start, end);
        self.block_depths.insert(span.start, depth + 1);
        Block {
            stmts,
            tail: tail.map(Box::new),
            span,
        }
    }

    /// A `for` statement; the iterator must be `range` or `static_range` with 2 or 3 arguments.
    pub fn for_stmt(
        &mut self,
        var: Ident,
        iter: Ident,
        args: Vec<Expr>,
        args_span: Span,
        body: Block,
    ) -> StmtKind {
        let kind = match iter.name.as_str() {
            "range" => LoopKind::Range,
            "static_range" => LoopKind::StaticRange,
            _ => {
                self.diagnostics
                    .push(errors::bad_loop_kind(iter.span, &iter.name));
                return StmtKind::Error;
            }
        };
        if !(2..=3).contains(&args.len()) {
            self.diagnostics
                .push(errors::bad_loop_args(args_span, args.len()));
            return StmtKind::Error;
        }
        StmtKind::For {
            var,
            kind,
            args,
            body,
        }
    }

    /// Remembers a recovered syntax error; the span covers what recovery skipped.
    pub fn recover(&mut self, recovery: Recovery) -> Span {
        let (start, mut end) = match &recovery.error {
            ParseError::UnrecognizedToken {
                token: (l, _, r), ..
            }
            | ParseError::ExtraToken { token: (l, _, r) } => (*l, *r),
            ParseError::UnrecognizedEof { location, .. }
            | ParseError::InvalidToken { location } => (*location, *location),
            ParseError::User { .. } => (0, 0),
        };
        if let Some((_, _, r)) = recovery.dropped_tokens.last() {
            end = end.max(*r);
        }
        self.recoveries.push(recovery);
        self.span(start, end)
    }

    /// `None`s that never became an index slice.
    fn finish(&mut self, spans: &HashMap<u32, Span>) {
        let mut ids: Vec<u32> = self.pending_none.drain().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(span) = spans.get(&id) {
                self.diagnostics.push(errors::none_outside_index(*span));
            }
        }
    }
}

/// One entry of `x[...]` as parsed: `:` or an expression (valid only when it is `None`).
pub enum IndexItem {
    Full(Span),
    Expr(Expr),
}

/// Collects the spans of the given expression ids (for `None`s reported after parsing).
fn collect_spans(file: &File, wanted: &HashSet<u32>, out: &mut HashMap<u32, Span>) {
    // An explicit stack keeps this walk free of recursion.
    enum Node<'a> {
        Expr(&'a Expr),
        Block(&'a Block),
        Ty(&'a Ty),
    }
    let mut stack: Vec<Node> = Vec::new();
    for item in &file.items {
        for attr in &item.attrs {
            for arg in &attr.args {
                let mut values: Vec<&AttrVal> = Vec::new();
                match arg {
                    AttrArg::Expr(e) => stack.push(Node::Expr(e)),
                    AttrArg::Named { value, .. } => values.push(value),
                }
                while let Some(value) = values.pop() {
                    match value {
                        AttrVal::Expr(e) => stack.push(Node::Expr(e)),
                        AttrVal::List { items, .. } => values.extend(items),
                        AttrVal::Record { fields, .. } => {
                            stack.extend(fields.iter().map(|(_, e)| Node::Expr(e)))
                        }
                    }
                }
            }
        }
        match &item.kind {
            ItemKind::Const(c) => stack.push(Node::Expr(&c.value)),
            ItemKind::Fn(f) => {
                for p in &f.params {
                    if let FnParam::Value { ty: Some(ty), .. } = p {
                        stack.push(Node::Ty(ty));
                    }
                }
                if let Some(ty) = &f.ret {
                    stack.push(Node::Ty(ty));
                }
                stack.push(Node::Block(&f.body));
            }
            ItemKind::Kernel(k) => {
                for p in &k.params {
                    match p {
                        KernelParam::Value { ty, .. } => stack.push(Node::Ty(ty)),
                        KernelParam::Const {
                            default: Some(e), ..
                        } => stack.push(Node::Expr(e)),
                        _ => {}
                    }
                }
                stack.push(Node::Block(&k.body));
            }
            _ => {}
        }
    }
    while let Some(node) = stack.pop() {
        match node {
            Node::Ty(ty) => {
                if let TyKind::Block { dims, .. } = &ty.kind {
                    stack.extend(dims.iter().map(Node::Expr));
                }
            }
            Node::Block(block) => {
                for stmt in &block.stmts {
                    match &stmt.kind {
                        StmtKind::Let { ty, value, .. } => {
                            stack.push(Node::Expr(value));
                            if let Some(ty) = ty {
                                stack.push(Node::Ty(ty));
                            }
                        }
                        StmtKind::Assign { place, value, .. } => {
                            stack.push(Node::Expr(place));
                            stack.push(Node::Expr(value));
                        }
                        StmtKind::For { args, body, .. } => {
                            stack.extend(args.iter().map(Node::Expr));
                            stack.push(Node::Block(body));
                        }
                        StmtKind::While { cond, body } => {
                            stack.push(Node::Expr(cond));
                            stack.push(Node::Block(body));
                        }
                        StmtKind::Return(Some(e)) | StmtKind::Expr(e) => stack.push(Node::Expr(e)),
                        _ => {}
                    }
                }
                if let Some(tail) = &block.tail {
                    stack.push(Node::Expr(tail));
                }
            }
            Node::Expr(expr) => {
                if wanted.contains(&expr.id.0) {
                    out.insert(expr.id.0, expr.span);
                }
                match &expr.kind {
                    ExprKind::Unary { operand, .. } => stack.push(Node::Expr(operand)),
                    ExprKind::Binary { lhs, rhs, .. } => {
                        stack.push(Node::Expr(lhs));
                        stack.push(Node::Expr(rhs));
                    }
                    ExprKind::Call { args, .. } => {
                        for arg in args {
                            match &arg.value {
                                ArgValue::Expr(e) => stack.push(Node::Expr(e)),
                                ArgValue::Type(t) => stack.push(Node::Ty(t)),
                            }
                        }
                    }
                    ExprKind::Index { base, .. } => stack.push(Node::Expr(base)),
                    ExprKind::Cast { value, .. } => stack.push(Node::Expr(value)),
                    ExprKind::List(items) => stack.extend(items.iter().map(Node::Expr)),
                    ExprKind::Block(block) => stack.push(Node::Block(block)),
                    ExprKind::If {
                        cond,
                        then_block,
                        else_branch,
                    } => {
                        stack.push(Node::Expr(cond));
                        stack.push(Node::Block(then_block));
                        if let Some(e) = else_branch {
                            stack.push(Node::Expr(e));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The outcome of one parser run over a token stream.
struct Attempt {
    result: Result<File, ParseError<usize, Tok, ()>>,
    ctx: Ctx,
}

fn attempt(tokens: &[Spanned], file: FileId) -> Attempt {
    let mut ctx = Ctx::new(file);
    let stream = tokens.iter().cloned().map(Ok::<Spanned, ()>);
    let result = grammar::FileParser::new().parse(&mut ctx, stream);
    Attempt { result, ctx }
}

fn is_opener(tok: &Tok) -> Option<Tok> {
    match tok {
        Tok::LParen => Some(Tok::RParen),
        Tok::LBracket | Tok::HashBracket => Some(Tok::RBracket),
        Tok::LBrace => Some(Tok::RBrace),
        _ => None,
    }
}

fn is_closer(tok: &Tok) -> bool {
    matches!(tok, Tok::RParen | Tok::RBracket | Tok::RBrace)
}

/// The brackets still open at the end of `tokens`, innermost last: (open span, closer).
fn unclosed_brackets(tokens: &[Spanned]) -> Vec<(usize, usize, Tok)> {
    let mut stack: Vec<(usize, usize, Tok)> = Vec::new();
    for (l, tok, r) in tokens {
        if let Some(closer) = is_opener(tok) {
            stack.push((*l, *r, closer));
        } else if is_closer(tok) {
            // Pop to the matching opener if there is one; a stray closer changes nothing.
            if let Some(pos) = stack.iter().rposition(|(_, _, c)| c == tok) {
                stack.truncate(pos);
            }
        }
    }
    stack
}

/// Cuts the token stream at the first bracket nested deeper than `MAX_BRACKET_DEPTH`.
fn limit_nesting(tokens: &mut Vec<Spanned>, file: FileId, diags: &mut Diagnostics) -> bool {
    let mut depth = 0usize;
    for (i, (l, tok, r)) in tokens.iter().enumerate() {
        if is_opener(tok).is_some() {
            depth += 1;
            if depth > MAX_BRACKET_DEPTH {
                diags.push(errors::nesting_too_deep(
                    Span::new(file, *l, *r),
                    MAX_BRACKET_DEPTH,
                ));
                tokens.truncate(i);
                return true;
            }
        } else if is_closer(tok) {
            depth = depth.saturating_sub(1);
        }
    }
    false
}

/// True when a `;` or `}` lies between the two offsets: errors with no statement boundary between
/// them are one mistake seen twice, so only the first is reported.
fn boundary_between(tokens: &[Spanned], from: usize, to: usize) -> bool {
    let first = tokens.partition_point(|(l, _, _)| *l < from);
    tokens[first..]
        .iter()
        .take_while(|(l, _, _)| *l < to)
        .any(|(_, tok, _)| matches!(tok, Tok::Semi | Tok::RBrace))
}

fn eof_diagnostic(
    text_len: usize,
    tokens: &[Spanned],
    file: FileId,
    expected: &[String],
) -> Diagnostic {
    let unclosed = unclosed_brackets(tokens).pop().map(|(l, r, _)| l..r);
    let unclosed = unclosed.map(|range| {
        let symbol = match &tokens.iter().find(|(l, _, _)| *l == range.start) {
            Some((_, tok, _)) => tok.symbol().unwrap_or("{"),
            None => "{",
        };
        (Span::new(file, range.start, range.end), symbol)
    });
    errors::unexpected_eof(Span::new(file, text_len, text_len), expected, unclosed)
}

/// Parses a token stream into a file. Recovered errors become diagnostics; an unrecoverable error
/// (an unexpected end of file) is reported, and the parse is retried with the open brackets
/// closed, then with the unfinished last item cut off, so the rest of the file is still seen.
pub fn run(
    mut tokens: Vec<Spanned>,
    text_len: usize,
    file: FileId,
    diags: &mut Diagnostics,
) -> File {
    let truncated = limit_nesting(&mut tokens, file, diags);
    let first = attempt(&tokens, file);
    let eof_reported = first.result.is_err();
    let (result, ctx) = match first.result {
        Ok(_) => (first.result, first.ctx),
        Err(error) => {
            if !truncated {
                let diagnostic = match &error {
                    ParseError::UnrecognizedEof { expected, .. } => {
                        eof_diagnostic(text_len, &tokens, file, expected)
                    }
                    ParseError::UnrecognizedToken {
                        token: (l, tok, r),
                        expected,
                    } => errors::unexpected_token(Span::new(file, *l, *r), tok, expected),
                    ParseError::ExtraToken { token: (l, tok, r) } => {
                        errors::extra_token(Span::new(file, *l, *r), tok)
                    }
                    _ => Diagnostic::internal("the parser stopped without a syntax error"),
                };
                diags.push(diagnostic);
            }
            // Retry 1: close every open bracket at the end of the file.
            let mut closed = tokens.clone();
            for (_, _, closer) in unclosed_brackets(&tokens).into_iter().rev() {
                closed.push((text_len, closer, text_len));
            }
            let second = attempt(&closed, file);
            if second.result.is_ok() {
                (second.result, second.ctx)
            } else {
                // Retry 2: drop the last top-level item, which is the unfinished one.
                let cut = last_item_start(&tokens);
                let third = attempt(&tokens[..cut], file);
                (third.result, third.ctx)
            }
        }
    };
    let mut ctx = ctx;
    let file_ast = result.unwrap_or(File { items: Vec::new() });
    // `None`s never claimed by an index.
    if !ctx.pending_none.is_empty() {
        let mut spans = HashMap::new();
        collect_spans(&file_ast, &ctx.pending_none, &mut spans);
        ctx.finish(&spans);
    }
    // Recovered errors, first of each cluster only; errors on synthetic tokens are not reported.
    let mut last: Option<usize> = None;
    for recovery in std::mem::take(&mut ctx.recoveries) {
        let (position, diagnostic) = match recovery.error {
            ParseError::UnrecognizedToken {
                token: (l, tok, r),
                expected,
            } => (
                l,
                errors::unexpected_token(Span::new(file, l, r), &tok, &expected),
            ),
            ParseError::UnrecognizedEof { location, expected } => {
                (location, eof_diagnostic(text_len, &tokens, file, &expected))
            }
            ParseError::ExtraToken { token: (l, tok, r) } => {
                (l, errors::extra_token(Span::new(file, l, r), &tok))
            }
            _ => continue,
        };
        // Errors at the end of the file were already reported by the failed first attempt.
        let at_end_reported = position >= text_len && (eof_reported || truncated);
        let repeated = last.is_some_and(|prev| !boundary_between(&tokens, prev, position));
        if !at_end_reported && !repeated {
            diags.push(diagnostic);
        }
        last = Some(position);
    }
    for diagnostic in ctx.diagnostics {
        diags.push(diagnostic);
    }
    file_ast
}

/// The index of the token starting the last top-level item (its attributes included), or 0.
fn last_item_start(tokens: &[Spanned]) -> usize {
    let mut depth = 0usize;
    let mut last = 0;
    let mut attrs_start: Option<usize> = None;
    for (i, (_, tok, _)) in tokens.iter().enumerate() {
        if depth == 0 {
            match tok {
                Tok::HashBracket => {
                    attrs_start.get_or_insert(i);
                }
                Tok::Use | Tok::Const | Tok::Fn | Tok::Kernel => {
                    last = attrs_start.take().unwrap_or(i);
                }
                _ => attrs_start = None,
            }
        }
        if is_opener(tok).is_some() {
            depth += 1;
        } else if is_closer(tok) {
            depth = depth.saturating_sub(1);
        }
    }
    last
}
