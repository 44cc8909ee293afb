//! E05xx and E06xx: compile-time evaluation (`static_assert`, const values, division by zero,
//! `#[grid]`, loop steps, `#[threads]`/`#[autotune]`) and the limits of what compiles
//! (unsupported builtins, early returns, unrolling, inlining, kernel size).
use crate::base::{Diagnostic, ScalarType, Span};
use crate::sema::elab::{MAX_EXPANSION, MAX_INLINE_DEPTH, MAX_UNROLL};

/// E0501: a `static_assert` whose condition is false (`context`: the const values it used).
pub fn static_assert_failed(message: &str, span: Span, context: String) -> Diagnostic {
    Diagnostic::error("E0501", format!("static assertion failed: {message}"))
        .with_label(span, "this is false")
        .with_help(context)
}

/// E0502: a const parameter with neither a default nor a given value.
pub fn const_without_value(name: &str, ty: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error("E0502", format!("const parameter `{name}` has no value"))
        .with_label(span, "no default and none given")
        .with_help(format!(
            "give it a value with `-D {name}=…` or a default `const {name}: {ty} = …`"
        ))
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

/// E0505: a `#[grid]` entry outside the launch-time expression language (`what` says why).
pub fn invalid_grid(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0505", format!("invalid `#[grid]` expression: {what}"))
        .with_label(span, what.to_string())
        .with_help(
            "grid entries use integer scalar params, consts, literals, `+ - * / %`, `cdiv`, \
             `minimum` and `maximum`",
        )
}

/// E0507: a loop step of zero.
pub fn zero_step(span: Span) -> Diagnostic {
    Diagnostic::error("E0507", "loop step is zero")
        .with_label(span, "this is zero")
        .with_help("use a non-zero step (negative steps count down)")
}

/// E0508: an invalid `#[autotune]` (`message` says what is wrong, `help` how to write it).
pub fn invalid_autotune(message: String, span: Span, help: &str) -> Diagnostic {
    Diagnostic::error("E0508", message)
        .with_label(span, "here")
        .with_help(help.to_string())
}

/// E0508: a `#[threads]` count that is not a power of two in 1..=1024.
pub fn invalid_threads(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0508",
        "`#[threads]` must be a power of two from 1 to 1024",
    )
    .with_label(span, "invalid thread count")
    .with_help("write e.g. `#[threads(128)]`")
}

/// E0508: a `#[stages]` value that is not a number of buffers from 1 to 4.
pub fn invalid_stages(span: Span) -> Diagnostic {
    Diagnostic::error("E0508", "`#[stages]` must be a number from 1 to 4")
        .with_label(span, "invalid number of stages")
        .with_help("write e.g. `#[stages(2)]`: two buffers per staged `dot` (double buffering)")
}

/// E0601: a builtin of the language that the IR cannot express yet.
pub fn not_supported_yet(name: &str, signature: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0601", format!("`{name}` is not supported yet"))
        .with_label(span, "cannot be compiled yet")
        .with_help(format!(
            "`{signature}` is part of the language but the IR cannot express it yet; write it \
             with loads, stores and elementwise operations for now"
        ))
}

/// E0602: a pointer as the value of a block that follows an early `return`.
pub fn pointer_after_return(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0602",
        "a block that follows an early `return` cannot yield a pointer",
    )
    .with_label(span, "this pointer is the block's value")
    .with_help("bind the pointer with `let` before the `return`")
}

/// E0602: `return` in a const expression.
pub fn return_in_const(span: Span) -> Diagnostic {
    Diagnostic::error("E0602", "`return` outside of a fn or kernel")
        .with_label(span, "in a const expression")
        .with_help("a const is a single expression")
}

/// E0602: `return` in a `while` condition.
pub fn return_in_while_condition(span: Span) -> Diagnostic {
    Diagnostic::error("E0602", "`return` inside a `while` condition")
        .with_label(span, "returns from the loop's condition")
        .with_help("compute the condition first, then `return` in the loop body")
}

/// E0603: a `static_range` of more than `MAX_UNROLL` iterations.
pub fn unroll_too_long(count: i128, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0603",
        format!("`static_range` would unroll {count} iterations"),
    )
    .with_label(span, format!("more than {MAX_UNROLL} iterations"))
    .with_help("use `range` for a runtime loop")
}

/// E0604: `break`/`continue` (`word`) in an unrolled loop.
pub fn loop_control_in_static_range(word: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0604",
        format!("`{word}` inside `static_range` is not supported"),
    )
    .with_label(span, "in an unrolled loop")
    .with_help("use `range` for a runtime loop, or guard the body with `if`")
}

/// E0605: fn calls nested deeper than `MAX_INLINE_DEPTH`.
pub fn calls_nest_too_deeply(span: Span) -> Diagnostic {
    Diagnostic::error("E0605", "fn calls nest too deeply")
        .with_label(span, format!("more than {MAX_INLINE_DEPTH} nested calls"))
        .with_help("flatten the fns")
}

/// E0606: a kernel past `MAX_EXPANSION` unrolled iterations and inlined calls.
pub fn kernel_too_large(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0606",
        "the kernel grows too large when unrolled and inlined",
    )
    .with_label(
        span,
        format!("here it passes {MAX_EXPANSION} unrolled iterations and fn calls"),
    )
    .with_help("use `range` for runtime loops, and fewer nested `static_range`s")
}
