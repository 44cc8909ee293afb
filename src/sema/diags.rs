//! Constructors for the checker's diagnostics that are raised from more than one place; each
//! has a stable code (the table is in the `sema` module docs), a primary label and a help.
use crate::base::{Diagnostic, Span};

/// E0202: a name defined twice in one scope (`what`: "`f` is defined" / "parameter `x` is declared").
pub fn duplicate(what: &str, again: Span, first: Span) -> Diagnostic {
    let (verb, noun) = if what.starts_with("parameter") {
        ("declared", "parameters")
    } else {
        ("defined", "definitions")
    };
    Diagnostic::error("E0202", format!("{what} more than once"))
        .with_label(again, format!("{verb} again here"))
        .with_label(first, format!("first {verb} here"))
        .with_help(format!("rename one of the {noun}"))
}

/// E0314: a kernel parameter whose type is neither a pointer nor a runtime scalar.
pub fn bad_kernel_param(name: &str, ty_span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0314",
        format!("kernel parameter `{name}` cannot have this type"),
    )
    .with_label(ty_span, "not a pointer or a runtime scalar")
    .with_help(
        "kernel parameters are pointers `*T`/`*mut T` or scalars \
             `i32 u32 i64 u64 f32 f16 bool`; blocks are loaded inside the kernel",
    )
}

/// E0503: a compile-time division (or `cdiv`, `%`) by zero.
pub fn division_by_zero(divisor: Span) -> Diagnostic {
    Diagnostic::error("E0503", "division by zero in a compile-time expression")
        .with_label(divisor, "this is zero")
        .with_help("make the divisor non-zero")
}

/// E0504: a runtime value where a compile-time one is required.
pub fn not_compile_time(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0504", format!("{what} must be known at compile time"))
        .with_label(span, "this depends on runtime values")
        .with_help("use literals, `const` parameters and global `const`s here")
}

/// E0304: an expression without a value used as one.
pub fn no_value(span: Span, used_as: &str) -> Diagnostic {
    Diagnostic::error("E0304", "this expression has no value")
        .with_label(span, format!("used as {used_as} here"))
        .with_help(
            "only expressions with a value (not `store(…)` or statement-like calls) fit here",
        )
}
