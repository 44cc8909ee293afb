//! Glue between the lalrpop grammar and the AST: `Ctx` is the state the grammar's actions share
//! (file id, expression ids, nesting depths, diagnostics), and `run` drives the generated parser
//! with error recovery, including the retries that recover from an unexpected end of file.
use crate::base::{Diagnostic, Diagnostics, FileId, Span};
use crate::syntax::ast::*;
use crate::syntax::errors;
use crate::syntax::lexer::{Spanned, Tok};
use lalrpop_util::{ErrorRecovery, ParseError};
use std::collections::HashMap;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, unused_parens, dead_code)]
    grammar,
    "/tk.rs"
);

/// FNV-1a, the same hash `build.rs` computes over the grammar it generated the parser from.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const fn parse_decimal(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut value: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        value = value
            .wrapping_mul(10)
            .wrapping_add((bytes[i] - b'0') as u64);
        i += 1;
    }
    value
}

const fn parser_is_current() -> bool {
    let grammar = fnv1a(include_bytes!("../../grammar/tk.lalrpop"));
    match option_env!("TK_GRAMMAR_HASH") {
        Some(hash) => parse_decimal(hash) == grammar,
        // A build script from before the hash existed: nothing to compare.
        None => true,
    }
}

// Several checkouts may share one target directory and hence one build-script output, and cargo
// decides by file times whether to rerun `build.rs`; refuse to compile a parser generated from
// another checkout's (different) grammar.
const _: () = assert!(
    parser_is_current(),
    "the generated parser does not match grammar/tk.lalrpop (another checkout sharing this \
     target directory ran its build script last): run `touch build.rs grammar/tk.lalrpop`, \
     or build with a separate CARGO_TARGET_DIR"
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
    /// `None` expressions not (yet) claimed by an index, by id; reported at the end.
    pending_none: HashMap<u32, Span>,
    depth_reported: bool,
    /// `let [mut] name` at each offset where a `let` starts, so that a broken `let` statement
    /// still declares its name (sparing the checker errors about every later use).
    let_heads: HashMap<usize, (bool, Ident)>,
    pub recoveries: Vec<Recovery>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Ctx {
    pub fn new(file: FileId, tokens: &[Spanned]) -> Ctx {
        let mut let_heads = HashMap::new();
        for window in tokens.windows(3) {
            let (mutable, name) = match window {
                [(_, Tok::Let, _), (_, Tok::Mut, _), (l, Tok::Ident(name), r)] => {
                    (true, (name, *l, *r))
                }
                [(_, Tok::Let, _), (l, Tok::Ident(name), r), _] => (false, (name, *l, *r)),
                _ => continue,
            };
            let (name, l, r) = name;
            let ident = Ident {
                name: name.clone(),
                span: Span::new(file, l, r),
            };
            let_heads.insert(window[0].0, (mutable, ident));
        }
        Ctx {
            let_heads,
            file,
            next_expr: 0,
            depths: Vec::new(),
            block_depths: HashMap::new(),
            pending_none: HashMap::new(),
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
            self.report_too_deep(span);
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

    /// Nesting over the limit is reported once per file; the tree is cut off where it happens.
    fn report_too_deep(&mut self, span: Span) {
        if !self.depth_reported {
            self.depth_reported = true;
            self.diagnostics
                .push(errors::nesting_too_deep(span, MAX_EXPR_DEPTH));
        }
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
        self.pending_none.insert(expr.id.0, expr.span);
        expr
    }

    pub fn index(&mut self, base: Expr, items: Vec<IndexItem>, start: usize, end: usize) -> Expr {
        let mut slices = Vec::new();
        let mut valid = true;
        for item in items {
            match item {
                IndexItem::Full(span) => slices.push(Slice::Full(span)),
                IndexItem::Expr(e) if self.pending_none.remove(&e.id.0).is_some() => {
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
        if depth as usize >= MAX_EXPR_DEPTH {
            // Blocks nest through statements (`for`, `while`) without any expression between.
            self.report_too_deep(span);
            depth = 0;
            stmts = vec![Stmt {
                kind: StmtKind::Error,
                span,
            }];
            tail = None;
        }
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

    /// Remembers a recovered syntax error; it is reported after parsing (see `run`).
    pub fn recover(&mut self, recovery: Recovery, start: usize, end: usize) -> Span {
        self.recoveries.push(recovery);
        self.span(start, end)
    }

    /// A statement that failed to parse. A broken `let x = …;` still declares `x`, with an
    /// `Error` value, so that later uses of `x` are not reported as unknown names.
    pub fn recover_stmt(&mut self, recovery: Recovery, start: usize, end: usize) -> Stmt {
        let span = self.recover(recovery, start, end);
        let kind = match self.let_heads.get(&start).cloned() {
            Some((mutable, name)) => StmtKind::Let {
                mutable,
                value: self.error_expr(name.span.end as usize, end.max(name.span.end as usize)),
                name,
                ty: None,
            },
            None => StmtKind::Error,
        };
        Stmt { kind, span }
    }

    /// Reports the `None`s that never became an index slice.
    fn report_stray_nones(&mut self) {
        let mut stray: Vec<Span> = self.pending_none.drain().map(|(_, span)| span).collect();
        stray.sort_by_key(|span| span.start);
        for span in stray {
            self.diagnostics.push(errors::none_outside_index(span));
        }
    }
}

/// One entry of `x[...]` as parsed: `:` or an expression (valid only when it is `None`).
pub enum IndexItem {
    Full(Span),
    Expr(Expr),
}

/// The outcome of one parser run over a token stream.
struct Attempt {
    result: Result<File, ParseError<usize, Tok, ()>>,
    ctx: Ctx,
}

fn attempt(tokens: &[Spanned], file: FileId) -> Attempt {
    let mut ctx = Ctx::new(file, tokens);
    let stream = tokens.iter().cloned().map(Ok::<Spanned, ()>);
    let result = grammar::FileParser::new().parse(&mut ctx, stream);
    Attempt { result, ctx }
}

/// The closing token of an opening bracket.
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

/// The brackets still open at the end of `tokens`, innermost last, as (start, end, opener).
fn unclosed_brackets(tokens: &[Spanned]) -> Vec<(usize, usize, Tok)> {
    let mut stack: Vec<(usize, usize, Tok)> = Vec::new();
    for (l, tok, r) in tokens {
        if is_opener(tok).is_some() {
            stack.push((*l, *r, tok.clone()));
        } else if is_closer(tok) {
            // Pop to the matching opener if there is one; a stray closer changes nothing.
            if let Some(pos) = stack
                .iter()
                .rposition(|(_, _, opener)| is_opener(opener).as_ref() == Some(tok))
            {
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

fn eof_diagnostic(tokens: &[Spanned], file: FileId, expected: &[String]) -> Diagnostic {
    let unclosed = unclosed_brackets(tokens)
        .pop()
        .map(|(l, r, opener)| (Span::new(file, l, r), opener.symbol().unwrap_or("{")));
    // Point just after the last token: the end of the text may be blank lines or comments.
    let end = tokens.last().map_or(0, |(_, _, r)| *r);
    errors::unexpected_eof(Span::new(file, end, end), expected, unclosed)
}

/// An unexpected token; when a `;` would have been accepted and the token starts a new line,
/// the end of the previous token is labelled too, since that is where the `;` is missing.
fn unexpected_token_diagnostic(
    text: &str,
    tokens: &[Spanned],
    file: FileId,
    (l, tok, r): (usize, &Tok, usize),
    expected: &[String],
) -> Diagnostic {
    let source = text.get(l..r).unwrap_or("");
    let mut diagnostic = errors::unexpected_token(Span::new(file, l, r), tok, source, expected);
    let wants_semicolon = expected.iter().any(|e| e == "\";\"");
    let previous = tokens[..tokens.partition_point(|t| t.0 < l)].last();
    if let Some((_, _, prev_end)) = previous {
        let between = text.get(*prev_end..l).unwrap_or("");
        if wants_semicolon && between.contains('\n') {
            diagnostic =
                diagnostic.with_label(Span::new(file, *prev_end, *prev_end), "`;` missing here?");
        }
    }
    diagnostic
}

/// Takes the recovered "unexpected end of file" error out of an attempt, if there is one.
fn take_eof_error(attempt: &mut Attempt) -> Option<ParseError<usize, Tok, ()>> {
    if let Err(error) = &attempt.result {
        return Some(error.clone());
    }
    let index = attempt
        .ctx
        .recoveries
        .iter()
        .position(|r| matches!(r.error, ParseError::UnrecognizedEof { .. }))?;
    Some(attempt.ctx.recoveries.remove(index).error)
}

/// Parses a token stream into a file. Recovered errors become diagnostics. An unexpected end of
/// file is reported once, and the parse is retried with the open brackets closed (so an unclosed
/// kernel keeps its statements), then with the unfinished last item cut off.
///
/// `lex_errors` are the offsets of lexical errors: a syntax error with no `;` or `}` between it
/// and an earlier error is a consequence of that error and is not reported.
pub fn run(
    mut tokens: Vec<Spanned>,
    text: &str,
    lex_errors: &[usize],
    file: FileId,
    diags: &mut Diagnostics,
) -> File {
    let truncated = limit_nesting(&mut tokens, file, diags);
    let mut earlier_errors: Vec<usize> = lex_errors.to_vec();
    if truncated {
        earlier_errors.push(tokens.last().map_or(0, |t| t.2));
    }
    let mut first = attempt(&tokens, file);
    let mut found_eof = None;
    let chosen = match take_eof_error(&mut first) {
        None => first,
        Some(error) => {
            found_eof = Some(error);
            let mut closed = tokens.clone();
            for (_, _, opener) in unclosed_brackets(&tokens).into_iter().rev() {
                if let Some(closer) = is_opener(&opener) {
                    closed.push((text.len(), closer, text.len()));
                }
            }
            let mut second = attempt(&closed, file);
            if take_eof_error(&mut second).is_none() {
                second
            } else {
                let cut = last_item_start(&tokens);
                let mut third = attempt(&tokens[..cut], file);
                take_eof_error(&mut third);
                third
            }
        }
    };
    let Attempt { result, mut ctx } = chosen;
    let file_ast = result.unwrap_or(File { items: Vec::new() });
    ctx.report_stray_nones();
    let mut found: Vec<(usize, Diagnostic)> = Vec::new();
    for recovery in std::mem::take(&mut ctx.recoveries) {
        match recovery.error {
            // Tokens at the end of the text are the closers added for a retry.
            ParseError::UnrecognizedToken {
                token: (l, tok, r),
                expected,
            } if l < text.len() || found_eof.is_none() => {
                let token = (l, &tok, r);
                let d = unexpected_token_diagnostic(text, &tokens, file, token, &expected);
                found.push((l, d));
            }
            ParseError::ExtraToken { token: (l, tok, r) } => {
                found.push((l, errors::extra_token(Span::new(file, l, r), &tok)))
            }
            _ => {}
        }
    }
    match found_eof {
        Some(ParseError::UnrecognizedEof { expected, .. }) => {
            found.push((text.len(), eof_diagnostic(&tokens, file, &expected)))
        }
        Some(ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        }) => {
            let token = (l, &tok, r);
            let d = unexpected_token_diagnostic(text, &tokens, file, token, &expected);
            found.push((l, d))
        }
        _ => {}
    }
    found.sort_by_key(|(position, _)| *position);
    // Report the first error of each cluster only.
    earlier_errors.sort_unstable();
    let mut last_parse_error: Option<usize> = None;
    for (position, diagnostic) in found {
        let before = earlier_errors.partition_point(|&e| e <= position);
        let last_lex_error = before.checked_sub(1).map(|i| earlier_errors[i]);
        let previous = last_parse_error.max(last_lex_error);
        if previous.is_none_or(|prev| boundary_between(&tokens, prev, position)) {
            diags.push(diagnostic);
        }
        last_parse_error = Some(position);
    }
    diags.items.extend(ctx.diagnostics);
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
