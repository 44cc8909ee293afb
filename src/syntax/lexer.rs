//! The lexer: logos turns source text into `Tok`s; `lex` collects them into a vector, turns
//! lexical problems into diagnostics, and sets `///` doc comments aside for the items they document.
use crate::base::{Diagnostics, FileId, ScalarType, Span};
use crate::syntax::errors;
use logos::{Filter, Logos};
use std::ops::Range;

/// A lexical problem found inside a token callback. Callbacks still produce a token (with a
/// best-effort value) so the parser sees a well-formed stream and reports nothing further.
#[derive(Debug, Clone, PartialEq)]
pub enum LexProblem {
    UnterminatedString,
    UnterminatedComment,
    /// An integer literal that does not fit in 128 bits.
    IntOverflow,
    /// `0x`, `0b12`, `1.` and friends; the text says what is wrong.
    MalformedNumber(String),
    /// `.5`: the value it was meant to have.
    LeadingDotFloat(String),
    /// `\q` inside a string; the escape as written.
    BadEscape(String),
}

/// Problems found by callbacks, with their byte ranges.
#[derive(Debug, Default)]
pub struct LexExtras {
    pub problems: Vec<(Range<usize>, LexProblem)>,
}

#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(extras = LexExtras)]
#[logos(skip r"[ \t\r\n\f]+")]
pub enum Tok {
    // Keywords.
    #[token("kernel")]
    Kernel,
    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("mut")]
    Mut,
    #[token("const")]
    Const,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("while")]
    While,
    #[token("return")]
    Return,
    #[token("break")]
    Break,
    #[token("continue")]
    Continue,
    #[token("use")]
    Use,
    #[token("as")]
    As,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("None")]
    None,

    #[token("bool", |_| ScalarType::Bool)]
    #[token("i8", |_| ScalarType::I8)]
    #[token("i16", |_| ScalarType::I16)]
    #[token("i32", |_| ScalarType::I32)]
    #[token("i64", |_| ScalarType::I64)]
    #[token("u8", |_| ScalarType::U8)]
    #[token("u16", |_| ScalarType::U16)]
    #[token("u32", |_| ScalarType::U32)]
    #[token("u64", |_| ScalarType::U64)]
    #[token("f16", |_| ScalarType::F16)]
    #[token("bf16", |_| ScalarType::BF16)]
    #[token("f32", |_| ScalarType::F32)]
    #[token("f64", |_| ScalarType::F64)]
    Scalar(ScalarType),

    #[regex("[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),

    #[regex("[0-9][0-9_]*", |lex| int_value(lex, 10, 0))]
    #[regex("0[xX][0-9A-Fa-f_]*", |lex| int_value(lex, 16, 2))]
    #[regex("0[bB][0-9_]*", |lex| int_value(lex, 2, 2))]
    Int(u128),

    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9_]+)?", float_value)]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9_]+", float_value)]
    #[regex(r"[0-9][0-9_]*\.", trailing_dot_float)]
    #[regex(r"\.[0-9][0-9_]*([eE][+-]?[0-9_]+)?", leading_dot_float)]
    #[token("inf", |_| f64::INFINITY)]
    #[token("nan", |_| f64::NAN)]
    Float(f64),

    #[token("\"", string_literal)]
    Str(String),

    /// One `///` line, without the slashes and one leading space.
    DocComment(String),
    /// `//` starts a comment; its callback skips it or turns it into a `DocComment`.
    #[token("//", line_comment)]
    LineComment,
    #[token("/*", block_comment)]
    BlockComment,

    // Punctuation.
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("#[")]
    HashBracket,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("::")]
    ColonColon,
    #[token("->")]
    Arrow,
    #[token("=")]
    Assign,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("&")]
    Amp,
    #[token("|")]
    Pipe,
    #[token("^")]
    Caret,
    #[token("!")]
    Bang,
    #[token("~")]
    Tilde,
    #[token("<<")]
    Shl,
    #[token(">>")]
    Shr,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("+=")]
    PlusAssign,
    #[token("-=")]
    MinusAssign,
    #[token("*=")]
    StarAssign,
    #[token("/=")]
    SlashAssign,
    #[token("%=")]
    PercentAssign,
    #[token("&=")]
    AmpAssign,
    #[token("|=")]
    PipeAssign,
    #[token("^=")]
    CaretAssign,
    #[token("<<=")]
    ShlAssign,
    #[token(">>=")]
    ShrAssign,
}

type Lexer<'s> = logos::Lexer<'s, Tok>;

fn problem(lex: &mut Lexer, range: Range<usize>, problem: LexProblem) {
    lex.extras.problems.push((range, problem));
}

/// Parses an integer literal of the given radix after a prefix of `prefix_len` characters.
/// Every problem is recorded and the value becomes 0, so parsing continues undisturbed.
fn int_value(lex: &mut Lexer, radix: u32, prefix_len: usize) -> u128 {
    let span = lex.span();
    let digits: String = lex.slice()[prefix_len..]
        .chars()
        .filter(|&c| c != '_')
        .collect();
    let kind = match radix {
        16 => "hexadecimal",
        2 => "binary",
        _ => "decimal",
    };
    if digits.is_empty() {
        let text = format!("{kind} literal `{}` has no digits", lex.slice());
        problem(lex, span, LexProblem::MalformedNumber(text));
        return 0;
    }
    if let Some(bad) = digits.chars().find(|c| !c.is_digit(radix)) {
        let text = format!("invalid digit `{bad}` in {kind} literal `{}`", lex.slice());
        problem(lex, span, LexProblem::MalformedNumber(text));
        return 0;
    }
    match u128::from_str_radix(&digits, radix) {
        Ok(value) => value,
        Err(_) => {
            problem(lex, span, LexProblem::IntOverflow);
            0
        }
    }
}

fn parse_float(text: &str) -> Option<f64> {
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    cleaned.parse::<f64>().ok()
}

fn float_value(lex: &mut Lexer) -> f64 {
    match parse_float(lex.slice()) {
        Some(value) => value,
        None => {
            let text = format!("malformed float literal `{}`", lex.slice());
            let span = lex.span();
            problem(lex, span, LexProblem::MalformedNumber(text));
            0.0
        }
    }
}

fn trailing_dot_float(lex: &mut Lexer) -> f64 {
    let text = format!(
        "float literal `{}` needs a digit after the `.`",
        lex.slice()
    );
    let value = parse_float(lex.slice().trim_end_matches('.')).unwrap_or(0.0);
    let span = lex.span();
    problem(lex, span, LexProblem::MalformedNumber(text));
    value
}

fn leading_dot_float(lex: &mut Lexer) -> f64 {
    let fixed = format!("0{}", lex.slice());
    let value = parse_float(&fixed).unwrap_or(0.0);
    let span = lex.span();
    problem(lex, span, LexProblem::LeadingDotFloat(fixed));
    value
}

/// Reads a string literal after its opening quote. Only `\"`, `\\` and `\n` are escapes; a
/// string ends on its line.
fn string_literal(lex: &mut Lexer) -> String {
    let start = lex.span().start;
    let rest = lex.remainder();
    let mut value = String::new();
    let mut chars = rest.char_indices();
    let mut escapes = Vec::new();
    let mut end = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                end = Some(i + 1);
                break;
            }
            // Strings hold one line; ending an unclosed one here keeps the next lines intact.
            '\n' => break,
            '\\' => match chars.next() {
                Some((_, '"')) => value.push('"'),
                Some((_, '\\')) => value.push('\\'),
                Some((_, 'n')) => value.push('\n'),
                Some((j, other)) => {
                    let from = start + 1 + i;
                    let to = start + 1 + j + other.len_utf8();
                    escapes.push((from..to, format!("\\{other}")));
                }
                None => {}
            },
            _ => value.push(c),
        }
    }
    for (range, text) in escapes {
        problem(lex, range, LexProblem::BadEscape(text));
    }
    match end {
        Some(consumed) => lex.bump(consumed),
        None => {
            let len = rest.find('\n').unwrap_or(rest.len());
            lex.bump(len);
            let range = start..start + 1;
            problem(lex, range, LexProblem::UnterminatedString);
        }
    }
    value
}

/// `// …` is skipped; `/// …` (but not `//// …`) becomes a doc comment token.
fn line_comment(lex: &mut Lexer) -> Filter<Tok> {
    let rest = lex.remainder();
    let len = rest.find('\n').unwrap_or(rest.len());
    let body = &rest[..len];
    lex.bump(len);
    match body.strip_prefix('/') {
        Some(doc) if !doc.starts_with('/') => {
            let doc = doc.strip_prefix(' ').unwrap_or(doc);
            Filter::Emit(Tok::DocComment(doc.trim_end_matches('\r').to_string()))
        }
        _ => Filter::Skip,
    }
}

/// Skips a `/* … */` comment; comments nest.
fn block_comment(lex: &mut Lexer) -> logos::Skip {
    let start = lex.span().start;
    let bytes = lex.remainder().as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                lex.bump(i);
                return logos::Skip;
            }
        } else {
            i += 1;
        }
    }
    let len = bytes.len();
    lex.bump(len);
    problem(lex, start..start + 2, LexProblem::UnterminatedComment);
    logos::Skip
}

impl Tok {
    /// How the token is named in "expected …, found …" messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(name) => format!("identifier `{name}`"),
            Tok::Int(_) | Tok::Float(_) => "number".to_string(),
            Tok::Str(_) => "string".to_string(),
            Tok::Scalar(ty) => format!("type `{}`", scalar_name(*ty)),
            Tok::DocComment(_) => "doc comment".to_string(),
            other => match other.symbol() {
                Some(symbol) => format!("`{symbol}`"),
                None => format!("{other:?}"),
            },
        }
    }

    /// The fixed spelling of a keyword or punctuation token.
    pub fn symbol(&self) -> Option<&'static str> {
        use Tok::*;
        Some(match self {
            Kernel => "kernel",
            Fn => "fn",
            Let => "let",
            Mut => "mut",
            Const => "const",
            If => "if",
            Else => "else",
            For => "for",
            In => "in",
            While => "while",
            Return => "return",
            Break => "break",
            Continue => "continue",
            Use => "use",
            As => "as",
            True => "true",
            False => "false",
            None => "None",
            LParen => "(",
            RParen => ")",
            LBracket => "[",
            RBracket => "]",
            LBrace => "{",
            RBrace => "}",
            HashBracket => "#[",
            Comma => ",",
            Semi => ";",
            Colon => ":",
            ColonColon => "::",
            Arrow => "->",
            Assign => "=",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Percent => "%",
            Amp => "&",
            Pipe => "|",
            Caret => "^",
            Bang => "!",
            Tilde => "~",
            Shl => "<<",
            Shr => ">>",
            AndAnd => "&&",
            OrOr => "||",
            EqEq => "==",
            NotEq => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            PlusAssign => "+=",
            MinusAssign => "-=",
            StarAssign => "*=",
            SlashAssign => "/=",
            PercentAssign => "%=",
            AmpAssign => "&=",
            PipeAssign => "|=",
            CaretAssign => "^=",
            ShlAssign => "<<=",
            ShrAssign => ">>=",
            _ => return Option::None,
        })
    }
}

/// The spelling of a scalar type.
pub fn scalar_name(ty: ScalarType) -> &'static str {
    match ty {
        ScalarType::Bool => "bool",
        ScalarType::I8 => "i8",
        ScalarType::I16 => "i16",
        ScalarType::I32 => "i32",
        ScalarType::I64 => "i64",
        ScalarType::U8 => "u8",
        ScalarType::U16 => "u16",
        ScalarType::U32 => "u32",
        ScalarType::U64 => "u64",
        ScalarType::F16 => "f16",
        ScalarType::BF16 => "bf16",
        ScalarType::F32 => "f32",
        ScalarType::F64 => "f64",
    }
}

/// A token with its byte range, as the lalrpop parser wants it.
pub type Spanned = (usize, Tok, usize);

/// The result of lexing one file.
#[derive(Debug, Default)]
pub struct Lexed {
    /// Tokens without comments, doc comments or invalid characters.
    pub tokens: Vec<Spanned>,
    /// Doc comment groups, keyed by the byte offset of the token that follows them.
    pub docs: Vec<(usize, Vec<String>)>,
    pub diagnostics: Diagnostics,
}

/// Lexes a whole file. Never fails: invalid characters are reported and dropped, malformed
/// literals are reported and kept with a best-effort value.
pub fn lex(text: &str, file: FileId) -> Lexed {
    let mut lexer = Tok::lexer(text);
    // A byte order mark, as some editors write, is not part of the program.
    if text.starts_with('\u{feff}') {
        lexer.bump('\u{feff}'.len_utf8());
    }
    let mut out = Lexed::default();
    let mut pending_docs: Vec<String> = Vec::new();
    // Consecutive invalid characters form one diagnostic.
    let mut invalid: Option<Range<usize>> = None;
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        match result {
            Err(()) => {
                invalid = match invalid {
                    Some(prev) if prev.end == range.start => Some(prev.start..range.end),
                    Some(prev) => {
                        let span = Span::new(file, prev.start, prev.end);
                        out.diagnostics
                            .push(errors::unexpected_character(span, &text[prev]));
                        Some(range)
                    }
                    None => Some(range),
                };
            }
            Ok(Tok::DocComment(line)) => pending_docs.push(line),
            Ok(Tok::LineComment | Tok::BlockComment) => {}
            Ok(tok) => {
                if !pending_docs.is_empty() {
                    out.docs
                        .push((range.start, std::mem::take(&mut pending_docs)));
                }
                out.tokens.push((range.start, tok, range.end));
            }
        }
    }
    if let Some(prev) = invalid {
        let span = Span::new(file, prev.start, prev.end);
        out.diagnostics
            .push(errors::unexpected_character(span, &text[prev]));
    }
    for (range, problem) in std::mem::take(&mut lexer.extras.problems) {
        let span = Span::new(file, range.start, range.end);
        out.diagnostics.push(errors::lex_problem(span, problem));
    }
    out
}
