//! Syntax: the logos lexer, the lalrpop grammar (`grammar/tk.lalrpop`) and the AST.
//! `parse` never fails: it returns a tree (with `Error` nodes where recovery happened) and
//! diagnostics.
//!
//! Diagnostic codes of this stage (constructors in `errors.rs`):
//!
//! | code  | meaning |
//! |-------|---------|
//! | E0101 | unexpected character(s) |
//! | E0102 | unterminated string or block comment |
//! | E0103 | malformed number: no digits (`0x`), bad digit (`0b12`), `1.`, or too large for 128 bits |
//! | E0104 | unknown escape in a string (only `\"`, `\\`, `\n` exist) |
//! | E0110 | unexpected token ("expected one of `;`, `}`, found `let`") |
//! | E0111 | unexpected end of file |
//! | E0112 | chained comparison (`a < b < c`) |
//! | E0113 | positional argument after a named one |
//! | E0114 | `None` outside an index |
//! | E0115 | float literal without a leading digit (`.5`) |
//! | E0116 | `for` over something other than `range` / `static_range` |
//! | E0117 | `range(...)` with other than 2 or 3 arguments |
//! | E0118 | nesting too deep (expressions and blocks: `MAX_EXPR_DEPTH`; brackets: `MAX_BRACKET_DEPTH`) |
//! | E0119 | indexing with a value (`x[i]`); only `:` and `None` index |
//!
//! Recovery: a statement that fails to parse becomes `StmtKind::Error` (a broken `let x = …;`
//! becomes a `Let` of `x` with an `Error` value, so `x` stays declared) and parsing resumes at the
//! next statement; an item that fails becomes `ItemKind::Error` and parsing resumes at the next
//! item. At an unexpected end of file the open brackets are closed and the parse retried, so an
//! unclosed kernel keeps its body. Errors with no `;` or `}` between them (or between them and a
//! lexical error) are one mistake, so only the first is reported. Expressions with a syntax
//! diagnostic (chained comparisons, misplaced `None`, misordered arguments, indexing by value,
//! too deep) become `ExprKind::Error`, so later stages add nothing about them.
//!
//! Doc comments (`///`) attach to the item whose header they are in; anywhere else they are
//! ordinary comments.
pub mod ast;
mod errors;
pub mod format;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use crate::base::{Diagnostics, FileId};

pub use parser::{MAX_BRACKET_DEPTH, MAX_EXPR_DEPTH};

/// Parses one source file. Never fails and never panics: syntax errors become diagnostics
/// (codes E01xx) and `Error` nodes, and parsing resumes at the next statement or item.
pub fn parse(text: &str, file: FileId) -> (ast::File, Diagnostics) {
    let lexed = lexer::lex(text, file);
    let mut diagnostics = lexed.diagnostics;
    let lex_errors: Vec<usize> = diagnostics
        .iter()
        .filter_map(|d| d.primary_span())
        .map(|s| s.start as usize)
        .collect();
    let mut tree = parser::run(lexed.tokens, text, &lex_errors, file, &mut diagnostics);
    attach_docs(&mut tree, lexed.docs);
    // Lexing and parsing report separately; present them in source order.
    diagnostics
        .items
        .sort_by_key(|d| d.primary_span().map_or(u32::MAX, |s| s.start));
    (tree, diagnostics)
}

/// Gives each item the `///` lines in its header: before its attributes, between them, or just
/// before its keyword. Doc comments anywhere else are ordinary comments.
fn attach_docs(file: &mut ast::File, docs: Vec<(usize, Vec<String>)>) {
    // `docs` is in source order, keyed by the offset of the token after each group.
    let mut groups = docs.into_iter().peekable();
    for item in &mut file.items {
        let start = item.span.start as usize;
        let header_end = match &item.kind {
            ast::ItemKind::Use(ast::UseItem::Module(name)) => name.span.start,
            ast::ItemKind::Use(ast::UseItem::File { span, .. }) => span.start,
            ast::ItemKind::Const(c) => c.name.span.start,
            ast::ItemKind::Fn(f) => f.name.span.start,
            ast::ItemKind::Kernel(k) => k.name.span.start,
            ast::ItemKind::Error => item.span.start,
        } as usize;
        while let Some((offset, lines)) = groups.next_if(|(offset, _)| *offset <= header_end) {
            if offset >= start {
                item.docs.extend(lines);
            }
        }
    }
}
