//! The syntax stage's diagnostics: one small constructor per code (the table is in `syntax/mod.rs`),
//! and the translation of lalrpop's expected-token lists into readable names.
use crate::base::{Diagnostic, Span};
use crate::syntax::lexer::{LexProblem, Tok};

pub fn unexpected_character(span: Span, text: &str) -> Diagnostic {
    let shown: String = text.chars().take(16).collect();
    let (message, help) = match text.chars().next() {
        Some('.') => (
            "unexpected `.`".to_string(),
            "tk has no field access or ranges; write a float as `0.5`, a range as `range(a, b)`",
        ),
        Some('#') => (
            "unexpected `#`".to_string(),
            "attributes are written `#[name(...)]` directly before an item",
        ),
        Some('\'') => (
            "unexpected `'`".to_string(),
            "strings use double quotes: \"text\"",
        ),
        _ if text.chars().count() == 1 => (
            format!("unexpected character `{}`", shown.escape_debug()),
            "remove this character; tk source uses ASCII identifiers, numbers and operators",
        ),
        _ => (
            format!("unexpected characters `{}`", shown.escape_debug()),
            "remove these characters; tk source uses ASCII identifiers, numbers and operators",
        ),
    };
    Diagnostic::error("E0101", message)
        .with_label(span, "not valid here")
        .with_help(help)
}

pub fn lex_problem(span: Span, problem: LexProblem) -> Diagnostic {
    match problem {
        LexProblem::UnterminatedString => Diagnostic::error("E0102", "unterminated string")
            .with_label(span, "this string is never closed")
            .with_help("add a closing `\"`; a string ends on the line it starts (write a line break as `\\n`)"),
        LexProblem::UnterminatedComment => {
            Diagnostic::error("E0102", "unterminated block comment")
                .with_label(span, "this comment is never closed")
                .with_help("add a closing `*/`; block comments nest, so every `/*` needs its own `*/`")
        }
        LexProblem::IntOverflow => Diagnostic::error("E0103", "integer literal is too large")
            .with_label(span, "does not fit in 128 bits")
            .with_help("integer literals must be below 2^128; the checker limits them further to their type"),
        LexProblem::MalformedNumber(text) => Diagnostic::error("E0103", text)
            .with_label(span, "malformed number")
            .with_help("numbers are written `42`, `1_000`, `0x1F`, `0b1010`, `1.0`, `1e-5` or `2.5E3`"),
        LexProblem::LeadingDotFloat(fixed) => {
            Diagnostic::error("E0115", "a float literal needs a digit before the `.`")
                .with_label(span, "not a literal in tk")
                .with_help(format!("write {fixed}"))
        }
        LexProblem::BadEscape(escape) => {
            Diagnostic::error("E0104", format!("unknown escape `{escape}` in string"))
                .with_label(span, "unknown escape")
                .with_help("the escapes are `\\\"`, `\\\\` and `\\n`")
        }
    }
}

/// Readable names of the tokens lalrpop expected, most useful first, capped at six.
pub fn humanise_expected(expected: &[String]) -> Vec<String> {
    let names: Vec<&str> = expected.iter().map(|s| s.trim_matches('"')).collect();
    let has = |n: &str| names.contains(&n);
    // Operators that may continue an expression are summarised as one entry.
    const OPERATORS: [&str; 22] = [
        "+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "&&", "||", "==", "!=", "<", "<=", ">",
        ">=", "as", "[", "(", "::",
    ];
    const EXPR_STARTS: [&str; 14] = [
        "Ident", "Int", "Float", "Str", "true", "false", "None", "(", "[", "-", "!", "~", "if", "{",
    ];
    let expects_expr = has("Int");
    // Any binary operator means the expression so far could continue.
    let expects_operator = names
        .iter()
        .any(|n| *n != "-" && *n != "[" && *n != "(" && OPERATORS.contains(n));
    let mut out = Vec::new();
    let push = |s: String, out: &mut Vec<String>| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for name in &names {
        if expects_expr && EXPR_STARTS.contains(name) {
            continue;
        }
        if expects_operator && OPERATORS.contains(name) {
            continue;
        }
        let readable = match *name {
            "Ident" => "identifier".to_string(),
            "Int" => "integer".to_string(),
            "Float" => "float".to_string(),
            "Str" => "string".to_string(),
            "ScalarTy" => "type".to_string(),
            other => format!("`{other}`"),
        };
        push(readable, &mut out);
    }
    if expects_expr {
        push("expression".to_string(), &mut out);
    }
    if expects_operator {
        push("operator".to_string(), &mut out);
    }
    // Closing tokens and separators are the likeliest fixes; put them first.
    let rank = |s: &String| match s.as_str() {
        "`;`" | "`)`" | "`]`" | "`}`" | "`,`" => 0,
        "expression" | "identifier" | "type" => 1,
        "operator" => 3,
        _ => 2,
    };
    out.sort_by_key(rank);
    out
}

fn expected_list(names: &[String]) -> String {
    const CAP: usize = 6;
    let shown: Vec<&str> = names.iter().take(CAP).map(String::as_str).collect();
    let mut text = match shown.len() {
        0 => String::new(),
        1 => shown[0].to_string(),
        2 => format!("{} or {}", shown[0], shown[1]),
        _ => format!(
            "one of {} or {}",
            shown[..shown.len() - 1].join(", "),
            shown[shown.len() - 1]
        ),
    };
    if names.len() > CAP {
        text.push_str(&format!(" (or {} more)", names.len() - CAP));
    }
    text
}

fn unexpected_help(expected: &[String], found: Option<&Tok>) -> String {
    let wants = |s: &str| expected.iter().any(|e| e == s);
    match found {
        Some(Tok::Else) => "`else` must follow the `}` of an `if` block directly".to_string(),
        Some(_) if wants("`kernel`") => {
            "a file holds items: `use`, `const`, `fn` and `kernel`; statements go inside a body"
                .to_string()
        }
        Some(Tok::Fn | Tok::Kernel | Tok::Use) if wants("`}`") => {
            "a `}` is missing before this item".to_string()
        }
        _ if wants("`;`") => {
            "a statement ends with `;`; check the end of the previous line".to_string()
        }
        _ if wants("`)`") => "check that every `(` has a matching `)`".to_string(),
        _ if wants("`]`") => "check that every `[` has a matching `]`".to_string(),
        _ if wants("`}`") => "check that every `{` has a matching `}`".to_string(),
        _ => "see the grammar in docs/language.md, Appendix A".to_string(),
    }
}

/// `source` is the token's text, shown for literals (`found number `2``).
pub fn unexpected_token(span: Span, found: &Tok, source: &str, expected: &[String]) -> Diagnostic {
    let names = humanise_expected(expected);
    let found_text = match found {
        Tok::Int(_) | Tok::Float(_) if source.len() <= 24 => format!("number `{source}`"),
        _ => found.describe(),
    };
    let message = if names.is_empty() {
        format!("unexpected {found_text}")
    } else {
        format!("expected {}, found {found_text}", expected_list(&names))
    };
    Diagnostic::error("E0110", message)
        .with_label(span, "unexpected here")
        .with_help(unexpected_help(&names, Some(found)))
}

pub fn unexpected_eof(
    span: Span,
    expected: &[String],
    unclosed: Option<(Span, &str)>,
) -> Diagnostic {
    let names = humanise_expected(expected);
    let message = match (&unclosed, names.is_empty()) {
        (Some((_, symbol)), _) => format!("unexpected end of file: a `{symbol}` is not closed"),
        (None, true) => "unexpected end of file".to_string(),
        (None, false) => format!("unexpected end of file, expected {}", expected_list(&names)),
    };
    let mut diagnostic = Diagnostic::error("E0111", message).with_label(span, "the file ends here");
    match unclosed {
        Some((open, symbol)) => {
            diagnostic = diagnostic
                .with_label(open, format!("this `{symbol}` is not closed"))
                .with_help(format!("close the `{symbol}`"));
        }
        None => diagnostic = diagnostic.with_help(unexpected_help(&names, None)),
    }
    diagnostic
}

pub fn chained_comparison(span: Span, first: &str, second: &str) -> Diagnostic {
    Diagnostic::error("E0112", "comparison operators cannot be chained")
        .with_label(span, format!("`{first}` followed by `{second}`"))
        .with_help("combine comparisons with &&: `a < b && b < c`")
}

pub fn named_before_positional(span: Span, named: Span) -> Diagnostic {
    Diagnostic::error("E0113", "positional argument after a named argument")
        .with_label(span, "positional argument")
        .with_label(named, "named argument before it")
        .with_help("write positional arguments first, then `name: value` arguments")
}

pub fn none_outside_index(span: Span) -> Diagnostic {
    Diagnostic::error("E0114", "`None` is only valid inside an index")
        .with_label(span, "not inside `x[...]`")
        .with_help("`x[:, None]` inserts a dim of size 1; tk has no null value")
}

pub fn bad_loop_kind(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error(
        "E0116",
        format!("a `for` loop iterates over `range` or `static_range`, not `{name}`"),
    )
    .with_label(span, "expected `range` or `static_range`")
    .with_help("write `for i in range(start, end)` or `for i in static_range(start, end)`")
}

pub fn bad_loop_args(span: Span, count: usize) -> Diagnostic {
    Diagnostic::error(
        "E0117",
        format!("a loop range takes 2 or 3 arguments, found {count}"),
    )
    .with_label(span, "expected `(start, end)` or `(start, end, step)`")
    .with_help("write `range(start, end)` or `range(start, end, step)`")
}

pub fn nesting_too_deep(span: Span, limit: usize) -> Diagnostic {
    Diagnostic::error("E0118", "nesting is too deep")
        .with_label(span, format!("more than {limit} levels deep"))
        .with_help("split the expression with `let` bindings")
}

pub fn index_by_value(span: Span) -> Diagnostic {
    Diagnostic::error("E0119", "blocks can only be indexed with `:` and `None`")
        .with_label(span, "indexing by value is not supported")
        .with_help("read memory with `load(ptr + offsets)`; use `x[:, None]` to insert a dim")
}

pub fn extra_token(span: Span, found: &Tok) -> Diagnostic {
    Diagnostic::error("E0110", format!("unexpected {}", found.describe()))
        .with_label(span, "unexpected here")
        .with_help("see the grammar in docs/language.md, Appendix A")
}
