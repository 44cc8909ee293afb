//! The formatter (`tkc fmt`, LSP formatting): one canonical layout for a file that parses
//! cleanly. The AST gives the structure; the lexer's tokens give the comments (everything in
//! the gaps between tokens), the spelling of literals and the parentheses the AST drops.
//!
//! Layout: 4-space indents, 100 columns; a call, list, attribute or parameter list that does not
//! fit is broken one element per line with a trailing comma; blocks of items and statements
//! keep at most one blank line of the source, and fns and kernels are always separated by one;
//! trailing comments of consecutive lines are aligned. Redundant parentheses are removed only
//! where an expression stands alone (a `let` value, an argument); around operands they are kept
//! as written.
//!
//! Safety net: the result is parsed again and must give the same tree (spans aside) and the
//! same comments in the same order; otherwise `format` returns an error and nothing changes.
use super::ast::{self, Expr, ExprKind};
use super::lexer::{self, Tok};
use crate::base::{Diagnostics, FileId};

/// The line width the layout aims for.
pub const WIDTH: usize = 100;
const INDENT: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub enum FormatError {
    /// The file does not parse; it is left alone.
    Syntax(Diagnostics),
    /// The formatter would have changed the program or lost a comment (a bug in the formatter).
    Internal(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Syntax(d) => write!(f, "the file has {} syntax error(s)", d.items.len()),
            FormatError::Internal(m) => write!(f, "the formatter failed: {m}"),
        }
    }
}

/// Formats a whole file.
pub fn format(text: &str) -> Result<String, FormatError> {
    let (tree, diagnostics) = super::parse(text, FileId(0));
    if diagnostics.has_errors() {
        return Err(FormatError::Syntax(diagnostics));
    }
    let tokens = lexer::lex(text, FileId(0)).tokens;
    let comments = comments(text, &tokens);
    let mut printer = Printer {
        text,
        tokens: &tokens,
        comments: &comments,
        next_comment: 0,
    };
    let doc = printer.file(&tree);
    let out = align_trailing_comments(&render(&doc));
    verify(text, &tree, &comments, &out)?;
    Ok(out)
}

/// Checks that `out` parses to the same tree as the original and keeps every comment.
fn verify(
    original: &str,
    tree: &ast::File,
    comments: &[Comment],
    out: &str,
) -> Result<(), FormatError> {
    let (again, diagnostics) = super::parse(out, FileId(0));
    if diagnostics.has_errors() {
        return Err(FormatError::Internal(format!(
            "the result does not parse: {}",
            diagnostics.items[0]
        )));
    }
    if without_spans(&format!("{tree:?}")) != without_spans(&format!("{again:?}")) {
        return Err(FormatError::Internal(
            "the result parses to a different program".into(),
        ));
    }
    let tokens = lexer::lex(out, FileId(0)).tokens;
    let before: Vec<&str> = comments.iter().map(|c| &original[c.start..c.end]).collect();
    let after_comments = self::comments(out, &tokens);
    let after: Vec<&str> = after_comments
        .iter()
        .map(|c| &out[c.start..c.end])
        .collect();
    if before != after {
        return Err(FormatError::Internal(
            "a comment would be lost or moved".into(),
        ));
    }
    Ok(())
}

/// A debug dump of a tree with spans and expression ids removed, for comparisons.
fn without_spans(dump: &str) -> String {
    let mut out = String::with_capacity(dump.len());
    let mut rest = dump;
    loop {
        let span = rest.find("Span {");
        let id = rest.find("ExprId(");
        let (at, close) = match (span, id) {
            (Some(s), Some(i)) if s < i => (s, '}'),
            (Some(s), None) => (s, '}'),
            (_, Some(i)) => (i, ')'),
            (None, None) => break,
        };
        out.push_str(&rest[..at]);
        let end = rest[at..].find(close).map_or(rest.len(), |e| at + e + 1);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A comment found between two tokens.
#[derive(Debug, Clone)]
struct Comment {
    start: usize,
    end: usize,
    /// A `//` comment, which must end its line.
    line: bool,
    /// Only whitespace precedes it on its line.
    own_line: bool,
}

/// Every comment of the text: whatever is not whitespace in the gaps between tokens.
fn comments(text: &str, tokens: &[lexer::Spanned]) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut gap_start = 0;
    let gaps = tokens
        .iter()
        .map(|(start, _, end)| (*start, *end))
        .chain(std::iter::once((text.len(), text.len())));
    for (start, end) in gaps {
        let gap = &text[gap_start..start];
        let bytes = gap.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let at = gap_start + i;
            if gap[i..].starts_with("//") {
                let len = gap[i..].find('\n').unwrap_or(gap.len() - i);
                let body_end = at + gap[i..i + len].trim_end().len();
                out.push(Comment {
                    start: at,
                    end: body_end,
                    line: true,
                    own_line: own_line(text, at),
                });
                i += len;
            } else if gap[i..].starts_with("/*") {
                let mut depth = 0;
                let mut j = i;
                while j < bytes.len() {
                    if gap[j..].starts_with("/*") {
                        depth += 1;
                        j += 2;
                    } else if gap[j..].starts_with("*/") {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                out.push(Comment {
                    start: at,
                    end: gap_start + j,
                    line: false,
                    own_line: own_line(text, at),
                });
                i = j;
            } else {
                i += gap[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
        gap_start = end;
    }
    out
}

fn own_line(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at]
        .trim_start_matches('\u{feff}')
        .trim()
        .is_empty()
}

/// Whether the whitespace right before `at` holds a blank line.
fn blank_before(text: &str, at: usize) -> bool {
    let before = &text[..at];
    let ws = before.len() - before.trim_end().len();
    before[before.len() - ws..].matches('\n').count() >= 2
}

// ---- documents and their rendering (Wadler's "prettier printer") ----

#[derive(Debug, Clone)]
enum Doc {
    Text(String),
    /// A space, or a line break when the enclosing group breaks.
    Line,
    /// Nothing, or a line break when the enclosing group breaks.
    SoftLine,
    /// Always a line break; a group holding one always breaks.
    HardLine,
    /// Forces the enclosing group to break without printing anything.
    BreakParent,
    /// Text printed only when the enclosing group breaks (trailing commas).
    IfBreak(&'static str),
    Nest(Vec<Doc>),
    Group(Vec<Doc>),
    Seq(Vec<Doc>),
}

fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

/// Marks a trailing comment for the alignment pass.
const TRAILING_MARK: char = '\u{1}';

fn render(doc: &Doc) -> String {
    let mut out = String::new();
    let mut column = 0usize;
    let mut stack: Vec<(usize, bool, &Doc)> = vec![(0, false, doc)];
    while let Some((indent, flat, doc)) = stack.pop() {
        match doc {
            Doc::Text(s) => {
                out.push_str(s);
                column += s.chars().count();
            }
            Doc::Line | Doc::SoftLine | Doc::HardLine if flat && !matches!(doc, Doc::HardLine) => {
                if matches!(doc, Doc::Line) {
                    out.push(' ');
                    column += 1;
                }
            }
            Doc::Line | Doc::SoftLine | Doc::HardLine => {
                let trimmed = out.trim_end_matches(' ').len();
                out.truncate(trimmed);
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', indent));
                column = indent;
            }
            Doc::BreakParent => {}
            Doc::IfBreak(s) => {
                if !flat {
                    out.push_str(s);
                    column += s.len();
                }
            }
            Doc::Nest(docs) => {
                stack.extend(docs.iter().rev().map(|d| (indent + INDENT, flat, d)));
            }
            Doc::Seq(docs) => stack.extend(docs.iter().rev().map(|d| (indent, flat, d))),
            Doc::Group(docs) => {
                let flat = flat || fits(WIDTH.saturating_sub(column), docs, &stack);
                stack.extend(docs.iter().rev().map(|d| (indent, flat, d)));
            }
        }
    }
    out
}

/// Whether `docs` laid out flat, followed by the rest of the line, fit in `width` columns.
fn fits(width: usize, docs: &[Doc], rest: &[(usize, bool, &Doc)]) -> bool {
    let mut width = width as isize;
    let mut work: Vec<(bool, &Doc)> = docs.iter().rev().map(|d| (true, d)).collect();
    let mut rest = rest.iter().rev();
    loop {
        let (flat, doc) = match work.pop() {
            Some(item) => item,
            None => match rest.next() {
                Some((_, flat, doc)) => (*flat, *doc),
                None => return true,
            },
        };
        match doc {
            Doc::Text(s) => width -= s.chars().count() as isize,
            Doc::Line if flat => width -= 1,
            Doc::SoftLine | Doc::IfBreak(_) if flat => {}
            Doc::HardLine | Doc::BreakParent if flat => return false,
            Doc::Line | Doc::SoftLine | Doc::HardLine => return true,
            Doc::BreakParent | Doc::IfBreak(_) => {}
            Doc::Nest(docs) | Doc::Seq(docs) => work.extend(docs.iter().rev().map(|d| (flat, d))),
            // A later group is measured as if it broke: only its first line counts.
            Doc::Group(docs) => work.extend(docs.iter().rev().map(|d| (flat, d))),
        }
        if width < 0 {
            return false;
        }
    }
}

/// Aligns the trailing comments of consecutive lines one space after the longest code, and
/// trims trailing whitespace.
fn align_trailing_comments(rendered: &str) -> String {
    let lines: Vec<&str> = rendered.lines().collect();
    let mut out = String::with_capacity(rendered.len());
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].contains(TRAILING_MARK) {
            out.push_str(lines[i].trim_end());
            out.push('\n');
            i += 1;
            continue;
        }
        let mut j = i;
        while j < lines.len() && lines[j].contains(TRAILING_MARK) {
            j += 1;
        }
        let split = |line: &str| {
            let (code, comment) = line.split_once(TRAILING_MARK).unwrap_or((line, ""));
            (code.trim_end().to_string(), comment.to_string())
        };
        let column = lines[i..j]
            .iter()
            .map(|l| split(l).0.chars().count())
            .max()
            .unwrap_or(0);
        for line in &lines[i..j] {
            let (code, comment) = split(line);
            let pad = column + 1 - code.chars().count();
            out.push_str(&code);
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(comment.trim_end());
            out.push('\n');
        }
        i = j;
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    if out.trim().is_empty() {
        return String::new();
    }
    out
}

// ---- the printer: AST to documents ----

struct Printer<'a> {
    text: &'a str,
    tokens: &'a [lexer::Spanned],
    comments: &'a [Comment],
    next_comment: usize,
}

/// One element of a vertical list (items, statements): whether a blank line precedes it.
struct Part {
    blank: bool,
    doc: Doc,
}

fn join_parts(parts: Vec<Part>) -> Vec<Doc> {
    let mut out = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(Doc::HardLine);
            if part.blank {
                out.push(Doc::HardLine);
            }
        }
        out.push(part.doc);
    }
    out
}

impl Printer<'_> {
    fn slice(&self, start: u32, end: u32) -> &str {
        &self.text[start as usize..end as usize]
    }

    /// The comments before `at` as their own lines.
    fn comment_parts(&mut self, at: u32, parts: &mut Vec<Part>) {
        while let Some(c) = self.comments.get(self.next_comment) {
            if c.start >= at as usize {
                break;
            }
            self.next_comment += 1;
            parts.push(Part {
                blank: blank_before(self.text, c.start),
                doc: text(&self.text[c.start..c.end]),
            });
        }
    }

    /// Comments before `at` inside an expression: kept in line, breaking the group for a `//`.
    fn inline_comments(&mut self, at: u32) -> Vec<Doc> {
        let mut out = Vec::new();
        while let Some(c) = self.comments.get(self.next_comment) {
            if c.start >= at as usize {
                break;
            }
            self.next_comment += 1;
            out.push(text(&self.text[c.start..c.end]));
            if c.line || c.own_line {
                out.push(Doc::BreakParent);
                out.push(Doc::HardLine);
            } else {
                out.push(text(" "));
            }
        }
        out
    }

    /// Comments that follow `end` on the same line, as a trailing comment.
    fn trailing(&mut self, end: u32) -> Vec<Doc> {
        let mut out = Vec::new();
        let mut from = end as usize;
        while let Some(c) = self.comments.get(self.next_comment) {
            if c.start < from || self.text[from..c.start].contains('\n') {
                break;
            }
            // Only what is left on the line after a comment is a trailing comment: a comment
            // followed by more code on its line belongs to that code.
            let rest_of_line = self.text[c.end..].split('\n').next().unwrap_or("");
            if !c.line && !rest_of_line.trim().is_empty() {
                break;
            }
            self.next_comment += 1;
            let mark = if out.is_empty() {
                TRAILING_MARK.to_string()
            } else {
                " ".to_string()
            };
            out.push(text(format!("{mark}{}", &self.text[c.start..c.end])));
            from = c.end;
            if c.line {
                out.push(Doc::BreakParent);
                break;
            }
        }
        out
    }

    fn file(&mut self, file: &ast::File) -> Doc {
        let mut parts = Vec::new();
        let mut previous_big = false;
        for (i, item) in file.items.iter().enumerate() {
            let big = matches!(item.kind, ast::ItemKind::Fn(_) | ast::ItemKind::Kernel(_));
            let first = parts.len();
            self.comment_parts(item.span.start, &mut parts);
            let blank = blank_before(self.text, item.span.start as usize);
            let mut doc = vec![self.item(item)];
            doc.extend(self.trailing(item.span.end));
            parts.push(Part {
                blank,
                doc: Doc::Seq(doc),
            });
            if i > 0 && (big || previous_big) {
                parts[first].blank = true;
            }
            previous_big = big;
        }
        self.comment_parts(self.text.len() as u32 + 1, &mut parts);
        if let Some(first) = parts.first_mut() {
            first.blank = false;
        }
        Doc::Seq(join_parts(parts))
    }

    fn item(&mut self, item: &ast::Item) -> Doc {
        let mut out = Vec::new();
        for attr in &item.attrs {
            out.extend(self.inline_comments(attr.span.start));
            out.push(self.attr(attr));
            out.extend(self.trailing(attr.span.end));
            out.push(Doc::HardLine);
        }
        match &item.kind {
            ast::ItemKind::Use(ast::UseItem::Module(name)) => {
                out.push(text(format!("use {};", name.name)));
            }
            ast::ItemKind::Use(ast::UseItem::File { span, .. }) => {
                out.push(text(format!("use {};", self.slice(span.start, span.end))));
            }
            ast::ItemKind::Const(c) => {
                out.push(text(format!(
                    "const {}: {} = ",
                    c.name.name,
                    lexer::scalar_name(c.ty.ty)
                )));
                out.push(self.expr(&c.value));
                out.push(text(";"));
            }
            ast::ItemKind::Fn(f) => {
                out.push(text(format!("fn {}", f.name.name)));
                let params: Vec<(u32, Doc)> = f
                    .params
                    .iter()
                    .map(|p| match p {
                        ast::FnParam::Value { name, ty } => {
                            let mut doc = vec![text(&name.name)];
                            if let Some(ty) = ty {
                                doc.push(text(": "));
                                doc.push(self.ty(ty));
                            }
                            (name.span.start, Doc::Seq(doc))
                        }
                        ast::FnParam::Const { name, ty } => (
                            name.span.start,
                            text(format!(
                                "const {}: {}",
                                name.name,
                                lexer::scalar_name(ty.ty)
                            )),
                        ),
                    })
                    .collect();
                out.push(self.delimited("(", params, ")", f.body.span.start));
                if let Some(ret) = &f.ret {
                    out.push(text(" -> "));
                    out.push(self.ty(ret));
                }
                out.push(text(" "));
                out.push(self.block(&f.body, true));
            }
            ast::ItemKind::Kernel(k) => {
                out.push(text(format!("kernel {}", k.name.name)));
                let mut params = Vec::new();
                for p in &k.params {
                    params.push(match p {
                        ast::KernelParam::Value { name, ty } => (
                            name.span.start,
                            Doc::Seq(vec![text(format!("{}: ", name.name)), self.ty(ty)]),
                        ),
                        ast::KernelParam::Const { name, ty, default } => {
                            let mut doc = vec![text(format!(
                                "const {}: {}",
                                name.name,
                                lexer::scalar_name(ty.ty)
                            ))];
                            if let Some(default) = default {
                                doc.push(text(" = "));
                                doc.push(self.expr(default));
                            }
                            // `const` comes before the name.
                            (name.span.start.saturating_sub(6), Doc::Seq(doc))
                        }
                    });
                }
                out.push(self.delimited("(", params, ")", k.body.span.start));
                out.push(text(" "));
                out.push(self.block(&k.body, true));
            }
            ast::ItemKind::Error => {
                out.push(text(self.slice(item.span.start, item.span.end)));
            }
        }
        Doc::Seq(out)
    }

    fn attr(&mut self, attr: &ast::Attr) -> Doc {
        let mut out = vec![text(format!("#[{}", attr.name.name))];
        // `#[grid]` and `#[grid()]` differ in the tree only by the parentheses.
        let has_parens = self.slice(attr.name.span.end, attr.span.end).contains('(');
        if has_parens {
            let args: Vec<(u32, Doc)> = attr
                .args
                .iter()
                .map(|arg| match arg {
                    ast::AttrArg::Expr(e) => (e.span.start, self.expr(e)),
                    ast::AttrArg::Named { name, value } => (
                        name.span.start,
                        Doc::Seq(vec![
                            text(format!("{} = ", name.name)),
                            self.attr_val(value),
                        ]),
                    ),
                })
                .collect();
            out.push(self.delimited("(", args, ")", attr.span.end - 1));
        }
        out.push(text("]"));
        Doc::Seq(out)
    }

    fn attr_val(&mut self, value: &ast::AttrVal) -> Doc {
        match value {
            ast::AttrVal::Expr(e) => self.expr(e),
            ast::AttrVal::List { items, span } => {
                let items: Vec<(u32, Doc)> = items
                    .iter()
                    .map(|v| (attr_val_start(v), self.attr_val(v)))
                    .collect();
                self.delimited("[", items, "]", span.end - 1)
            }
            ast::AttrVal::Record { fields, span } => {
                if fields.is_empty() {
                    return text("{}");
                }
                let fields: Vec<(u32, Doc)> = fields
                    .iter()
                    .map(|(name, e)| {
                        (
                            name.span.start,
                            Doc::Seq(vec![text(format!("{} = ", name.name)), self.expr(e)]),
                        )
                    })
                    .collect();
                let mut doc = self.delimited_with("{", fields, "}", span.end - 1, true);
                if let Doc::Group(inner) = &mut doc {
                    inner[1] = Doc::Nest(match std::mem::replace(&mut inner[1], text("")) {
                        Doc::Nest(mut v) => {
                            v[0] = Doc::Line;
                            v
                        }
                        other => vec![other],
                    });
                }
                doc
            }
        }
    }

    /// `open a, b, c close` on one line if it fits, else one element per line with a trailing
    /// comma. `close_at` is where the closing delimiter is, for the comments before it.
    fn delimited(&mut self, open: &str, items: Vec<(u32, Doc)>, close: &str, close_at: u32) -> Doc {
        self.delimited_with(open, items, close, close_at, false)
    }

    fn delimited_with(
        &mut self,
        open: &str,
        items: Vec<(u32, Doc)>,
        close: &str,
        close_at: u32,
        spaced: bool,
    ) -> Doc {
        // Items were built before their comments are placed; comments go by position.
        let count = items.len();
        let mut inner = vec![if spaced { Doc::Line } else { Doc::SoftLine }];
        for (i, (start, doc)) in items.into_iter().enumerate() {
            inner.extend(self.inline_comments(start));
            inner.push(doc);
            if i + 1 < count {
                inner.push(text(","));
                inner.extend(self.trailing_in_list(start));
                inner.push(Doc::Line);
            } else {
                inner.push(Doc::IfBreak(","));
            }
        }
        let before_close = self.inline_comments(close_at);
        if !before_close.is_empty() {
            inner.push(Doc::BreakParent);
            inner.push(Doc::HardLine);
            inner.extend(before_close);
        }
        if count == 0 && inner.len() == 1 {
            return text(format!("{open}{close}"));
        }
        Doc::Group(vec![
            text(open),
            Doc::Nest(inner),
            if spaced { Doc::Line } else { Doc::SoftLine },
            text(close),
        ])
    }

    /// A comment after an element's comma on the same line.
    fn trailing_in_list(&mut self, element_start: u32) -> Vec<Doc> {
        let Some(c) = self.comments.get(self.next_comment) else {
            return Vec::new();
        };
        // A `//` comment after the element's comma, on the same line.
        let line_start = self.text[..c.start].rfind('\n').map_or(0, |i| i + 1);
        let after_comma = self.text[line_start..c.start].trim_end().ends_with(',');
        if !c.line || c.own_line || !after_comma || c.start < element_start as usize {
            return Vec::new();
        }
        self.next_comment += 1;
        vec![
            text(format!(" {}", &self.text[c.start..c.end])),
            Doc::BreakParent,
        ]
    }

    /// A block: statements on their own lines. `always_break` for item bodies and statements;
    /// a block of only a short tail expression may otherwise stay on one line (`{ x }`).
    fn block(&mut self, block: &ast::Block, always_break: bool) -> Doc {
        let close_at = block.span.end - 1;
        let has_comments = self
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.start < close_at as usize);
        if block.stmts.is_empty() && block.tail.is_none() && !has_comments {
            return text("{}");
        }
        let mut parts = Vec::new();
        for stmt in &block.stmts {
            self.comment_parts(stmt.span.start, &mut parts);
            let blank = blank_before(self.text, stmt.span.start as usize);
            let mut doc = vec![self.stmt(stmt)];
            doc.extend(self.trailing(stmt.span.end));
            parts.push(Part {
                blank,
                doc: Doc::Seq(doc),
            });
        }
        if let Some(tail) = &block.tail {
            self.comment_parts(tail.span.start, &mut parts);
            let blank = blank_before(self.text, tail.span.start as usize);
            let mut doc = vec![self.expr(tail)];
            doc.extend(self.trailing(tail.span.end));
            parts.push(Part {
                blank,
                doc: Doc::Seq(doc),
            });
        }
        self.comment_parts(close_at, &mut parts);
        if let Some(first) = parts.first_mut() {
            first.blank = false;
        }
        let simple = !always_break && block.stmts.is_empty() && parts.len() == 1;
        let mut inner = vec![if simple { Doc::Line } else { Doc::HardLine }];
        inner.extend(join_parts(parts));
        let docs = vec![
            text("{"),
            Doc::Nest(inner),
            if simple { Doc::Line } else { Doc::HardLine },
            text("}"),
        ];
        if simple {
            Doc::Group(docs)
        } else {
            Doc::Seq(docs)
        }
    }

    fn stmt(&mut self, stmt: &ast::Stmt) -> Doc {
        match &stmt.kind {
            ast::StmtKind::Let {
                mutable,
                name,
                ty,
                value,
            } => {
                let mut out = vec![text(format!(
                    "let {}{}",
                    if *mutable { "mut " } else { "" },
                    name.name
                ))];
                if let Some(ty) = ty {
                    out.push(text(": "));
                    out.push(self.ty(ty));
                }
                out.push(text(" = "));
                out.push(self.expr(value));
                out.push(text(";"));
                Doc::Seq(out)
            }
            ast::StmtKind::Assign { place, op, value } => Doc::Seq(vec![
                self.expr(place),
                text(format!(" {} ", assign_symbol(*op))),
                self.expr(value),
                text(";"),
            ]),
            ast::StmtKind::For {
                var,
                kind,
                args,
                body,
            } => {
                let name = match kind {
                    ast::LoopKind::Range => "range",
                    ast::LoopKind::StaticRange => "static_range",
                };
                let args: Vec<(u32, Doc)> =
                    args.iter().map(|a| (a.span.start, self.expr(a))).collect();
                Doc::Seq(vec![
                    text(format!("for {} in {name}", var.name)),
                    self.delimited("(", args, ")", body.span.start),
                    text(" "),
                    self.block(body, true),
                ])
            }
            ast::StmtKind::While { cond, body } => Doc::Seq(vec![
                text("while "),
                self.expr(cond),
                text(" "),
                self.block(body, true),
            ]),
            ast::StmtKind::Return(None) => text("return;"),
            ast::StmtKind::Return(Some(e)) => {
                Doc::Seq(vec![text("return "), self.expr(e), text(";")])
            }
            ast::StmtKind::Break => text("break;"),
            ast::StmtKind::Continue => text("continue;"),
            ast::StmtKind::Expr(e) => match &e.kind {
                ExprKind::If { .. } => self.if_expr(e, true),
                ExprKind::Block(b) => self.block(b, true),
                _ => Doc::Seq(vec![self.expr(e), text(";")]),
            },
            ast::StmtKind::Error => text(self.slice(stmt.span.start, stmt.span.end)),
        }
    }

    fn ty(&mut self, ty: &ast::Ty) -> Doc {
        match &ty.kind {
            ast::TyKind::Scalar(t) => text(lexer::scalar_name(*t)),
            ast::TyKind::Ptr { mutable, pointee } => text(format!(
                "*{}{}",
                if *mutable { "mut " } else { "" },
                lexer::scalar_name(*pointee)
            )),
            ast::TyKind::Block { elem, dims } => {
                let dims: Vec<(u32, Doc)> =
                    dims.iter().map(|d| (d.span.start, self.expr(d))).collect();
                Doc::Seq(vec![
                    text(lexer::scalar_name(*elem)),
                    self.delimited("[", dims, "]", ty.span.end - 1),
                ])
            }
        }
    }

    /// Whether the source wrote parentheses right around `e`.
    fn parenthesized(&self, e: &Expr) -> bool {
        let before = self
            .tokens
            .partition_point(|(_, _, end)| *end <= e.span.start as usize);
        let after = self
            .tokens
            .partition_point(|(start, _, _)| *start < e.span.end as usize);
        before > 0
            && matches!(self.tokens[before - 1].1, Tok::LParen)
            && matches!(self.tokens.get(after).map(|t| &t.1), Some(Tok::RParen))
    }

    /// An operand: parentheses kept as written.
    fn operand(&mut self, e: &Expr) -> Doc {
        let doc = self.expr(e);
        if self.parenthesized(e) {
            Doc::Seq(vec![text("("), doc, text(")")])
        } else {
            doc
        }
    }

    fn expr(&mut self, e: &Expr) -> Doc {
        let mut lead = self.inline_comments(e.span.start);
        let doc = match &e.kind {
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Str(_) => {
                text(self.slice(e.span.start, e.span.end))
            }
            ExprKind::Path(path) => text(path_text(path)),
            ExprKind::Unary { op, operand } => {
                let symbol = match op {
                    ast::UnaryOp::Neg => "-",
                    ast::UnaryOp::Not => "!",
                    ast::UnaryOp::BitNot => "~",
                };
                Doc::Seq(vec![text(symbol), self.operand(operand)])
            }
            ExprKind::Binary { op, lhs, rhs } => Doc::Seq(vec![
                self.operand(lhs),
                text(format!(" {} ", op.symbol())),
                self.operand(rhs),
            ]),
            ExprKind::Call { callee, args } => {
                let args: Vec<(u32, Doc)> = args
                    .iter()
                    .map(|arg| {
                        let value = match &arg.value {
                            ast::ArgValue::Expr(e) => self.expr(e),
                            ast::ArgValue::Type(t) => self.ty(t),
                        };
                        let doc = match &arg.name {
                            Some(name) => Doc::Seq(vec![text(format!("{}: ", name.name)), value]),
                            None => value,
                        };
                        (arg.span.start, doc)
                    })
                    .collect();
                Doc::Seq(vec![
                    text(path_text(callee)),
                    self.delimited("(", args, ")", e.span.end - 1),
                ])
            }
            ExprKind::Index { base, slices } => {
                let slices: Vec<&str> = slices
                    .iter()
                    .map(|s| match s {
                        ast::Slice::Full(_) => ":",
                        ast::Slice::NewAxis(_) => "None",
                    })
                    .collect();
                Doc::Seq(vec![
                    self.operand(base),
                    text(format!("[{}]", slices.join(", "))),
                ])
            }
            ExprKind::Cast { value, ty } => Doc::Seq(vec![
                self.operand(value),
                text(format!(" as {}", lexer::scalar_name(ty.ty))),
            ]),
            ExprKind::List(items) => {
                let items: Vec<(u32, Doc)> =
                    items.iter().map(|i| (i.span.start, self.expr(i))).collect();
                self.delimited("[", items, "]", e.span.end - 1)
            }
            ExprKind::Block(b) => self.block(b, false),
            ExprKind::If { .. } => self.if_expr(e, false),
            ExprKind::Error => text(self.slice(e.span.start, e.span.end)),
        };
        if lead.is_empty() {
            doc
        } else {
            lead.push(doc);
            Doc::Seq(lead)
        }
    }

    fn if_expr(&mut self, e: &Expr, statement: bool) -> Doc {
        let ExprKind::If {
            cond,
            then_block,
            else_branch,
        } = &e.kind
        else {
            return self.expr(e);
        };
        let mut out = vec![
            text("if "),
            self.expr(cond),
            text(" "),
            self.block(then_block, statement),
        ];
        if let Some(other) = else_branch {
            out.push(text(" else "));
            out.push(match &other.kind {
                ExprKind::If { .. } => self.if_expr(other, statement),
                ExprKind::Block(b) => self.block(b, statement),
                _ => self.expr(other),
            });
        }
        if statement {
            Doc::Seq(out)
        } else {
            Doc::Group(out)
        }
    }
}

fn attr_val_start(v: &ast::AttrVal) -> u32 {
    match v {
        ast::AttrVal::Expr(e) => e.span.start,
        ast::AttrVal::List { span, .. } | ast::AttrVal::Record { span, .. } => span.start,
    }
}

fn path_text(path: &[ast::Ident]) -> String {
    path.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join("::")
}

fn assign_symbol(op: ast::AssignOp) -> &'static str {
    use ast::AssignOp::*;
    match op {
        Assign => "=",
        Add => "+=",
        Sub => "-=",
        Mul => "*=",
        Div => "/=",
        Rem => "%=",
        And => "&=",
        Or => "|=",
        Xor => "^=",
        Shl => "<<=",
        Shr => ">>=",
    }
}

#[cfg(test)]
mod tests {
    use super::format;

    fn check(input: &str, expected: &str) {
        let out = format(input).unwrap();
        assert_eq!(out, expected);
        assert_eq!(format(&out).unwrap(), out, "not idempotent");
    }

    #[test]
    fn normalises_spacing_and_keeps_comments() {
        check(
            "// head\nkernel k(x:*f32,out:*mut f32,n:i32,const B:i32=4){\n  let a=load(x+arange(0,B));// a\n\n\n  let bb = (a+1.0)*2.0; /* b */\n  // before store\n  store(out+arange(0,B),bb);\n}\n",
            "// head\nkernel k(x: *f32, out: *mut f32, n: i32, const B: i32 = 4) {\n    let a = load(x + arange(0, B)); // a\n\n    let bb = (a + 1.0) * 2.0; /* b */\n    // before store\n    store(out + arange(0, B), bb);\n}\n",
        );
    }

    #[test]
    fn breaks_long_parameter_lists() {
        check(
            "kernel col_sum(x: *f32, out: *mut f32, n_rows: i32, n_cols: i32, const BLOCK_R: i32 = 32, const BLOCK_C: i32 = 64) {\n}\n",
            "kernel col_sum(\n    x: *f32,\n    out: *mut f32,\n    n_rows: i32,\n    n_cols: i32,\n    const BLOCK_R: i32 = 32,\n    const BLOCK_C: i32 = 64,\n) {}\n",
        );
    }

    #[test]
    fn items_are_separated_and_docs_stay() {
        check(
            "use math;\nconst A: f32 = 1.0;\n/// doc\n#[grid(1)]\nkernel k(x: *mut f32) { store(x, if true { 1.0 } else { 2.0 }); }\nfn f(x) -> f32 { x }\n",
            "use math;\nconst A: f32 = 1.0;\n\n/// doc\n#[grid(1)]\nkernel k(x: *mut f32) {\n    store(x, if true { 1.0 } else { 2.0 });\n}\n\nfn f(x) -> f32 {\n    x\n}\n",
        );
    }

    #[test]
    fn refuses_files_with_syntax_errors() {
        assert!(matches!(
            format("kernel k( {"),
            Err(super::FormatError::Syntax(_))
        ));
    }
}
