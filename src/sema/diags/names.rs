//! E02xx: names, paths, `use`s, calls and their arguments, attributes and assignment targets.
use super::{did_you_mean, shape_text};
use crate::base::{Diagnostic, Span};

/// E0201: a value path of more than two parts.
pub fn value_path_too_long(span: Span) -> Diagnostic {
    Diagnostic::error("E0201", "paths have at most two parts")
        .with_label(span, "expected `name` or `module::name`")
        .with_help("write `module::name`")
}

/// E0201: a name found nowhere in scope (`similar`: a close name that is).
pub fn unknown_name(name: &str, span: Span, similar: Option<String>) -> Diagnostic {
    Diagnostic::error("E0201", format!("unknown name `{name}`"))
        .with_label(span, "not found in this scope")
        .with_help(did_you_mean(
            similar,
            "declare it with `let`, or as a parameter or a global `const`",
        ))
}

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

/// E0203: a callee path of more than two parts.
pub fn call_path_too_long(span: Span) -> Diagnostic {
    Diagnostic::error("E0203", "paths have at most two parts")
        .with_label(span, "expected `f(…)` or `module::f(…)`")
        .with_help("write `module::f(…)`")
}

/// E0203: a call of neither a fn nor a builtin.
pub fn unknown_function(name: &str, span: Span, similar: Option<String>) -> Diagnostic {
    Diagnostic::error("E0203", format!("unknown function `{name}`"))
        .with_label(span, "not found")
        .with_help(did_you_mean(
            similar,
            "define it with `fn`, or `use` the module that has it",
        ))
}

/// E0204: more positional arguments than `signature` has parameters (`count`).
pub fn too_many_arguments(signature: &str, count: usize, given: usize, extra: Span) -> Diagnostic {
    let plural = if count == 1 { "" } else { "s" };
    Diagnostic::error(
        "E0204",
        format!("`{signature}` takes {count} argument{plural} but {given} were given"),
    )
    .with_label(extra, "unexpected argument")
    .with_help(format!("the signature is `{signature}`"))
}

/// E0204: `range`/`static_range` (`word`) without 2 or 3 bounds.
pub fn loop_arity(word: &str, given: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0204",
        format!("`{word}` takes 2 or 3 arguments but {given} were given"),
    )
    .with_label(span, "wrong number of arguments")
    .with_help(format!(
        "write `{word}(start, end)` or `{word}(start, end, step)`"
    ))
}

/// E0205: `name: value` where no parameter has that name.
pub fn unknown_named_argument(
    name: &str,
    span: Span,
    signature: &str,
    similar: Option<String>,
) -> Diagnostic {
    let help = match similar {
        Some(s) => format!("did you mean `{s}`? the signature is `{signature}`"),
        None => format!("the signature is `{signature}`"),
    };
    Diagnostic::error("E0205", format!("unknown named argument `{name}`"))
        .with_label(span, "no parameter has this name")
        .with_help(help)
}

/// E0206: a required parameter without an argument.
pub fn missing_argument(param: &str, signature: &str, call: Span) -> Diagnostic {
    Diagnostic::error("E0206", format!("missing argument `{param}`"))
        .with_label(call, format!("`{param}` is required"))
        .with_help(format!("the signature is `{signature}`"))
}

/// E0206: a scan of a block of rank 2 or more without `axis`.
pub fn scan_needs_axis(name: &str, shape: &[u32], span: Span) -> Diagnostic {
    let rank = shape.len();
    Diagnostic::error(
        "E0206",
        format!("`{name}` of a block of rank {rank} needs `axis`"),
    )
    .with_label(span, format!("this has shape {}", shape_text(shape)))
    .with_help(format!(
        "name the dim to scan along, e.g. `{name}(x, axis: {})` for each row",
        rank - 1
    ))
}

/// E0207: a fn that calls itself, with the chain of calls that leads back to it.
pub fn recursive_call(name: &str, span: Span, chain: &[String]) -> Diagnostic {
    Diagnostic::error("E0207", format!("recursive call of fn `{name}`"))
        .with_label(span, "this call recurses")
        .with_help("fns are inlined at every call, so they cannot call themselves; use a loop")
        .with_note(format!("call chain: {} -> {name}", chain.join(" -> ")))
}

/// E0207: a global const whose value uses itself.
pub fn const_cycle(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0207",
        format!("the value of const `{name}` depends on itself"),
    )
    .with_label(span, "cycle reaches back here")
    .with_help("break the cycle: a const may use only consts that do not use it")
}

/// E0208: `module::name` with a module this file does not `use`.
pub fn unknown_module(name: &str, span: Span, similar: Option<String>) -> Diagnostic {
    Diagnostic::error("E0208", format!("unknown module `{name}`"))
        .with_label(span, "not found in this file's `use`s")
        .with_help(did_you_mean(
            similar,
            format!("add `use {name};` at the top of the file if it is a standard module"),
        ))
}

/// E0208: `use name;` of a standard module that does not exist (`modules`: the ones that do).
pub fn unknown_std_module(
    name: &str,
    span: Span,
    modules: &[&str],
    similar: Option<String>,
) -> Diagnostic {
    Diagnostic::error("E0208", format!("unknown standard module `{name}`"))
        .with_label(span, "no such module")
        .with_help(did_you_mean(
            similar,
            format!("the standard modules are: {}", modules.join(", ")),
        ))
}

/// E0208: a `use` that leads back to a file being loaded.
pub fn use_cycle(key: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0208",
        format!("`use` cycle: `{key}` is already being loaded"),
    )
    .with_label(span, "this `use` leads back to a file that uses it")
    .with_help("move the shared items into a third file that both can `use`")
}

/// E0208: a `use`d file that cannot be read.
pub fn unreadable_use(key: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0208", format!("cannot read `{key}`"))
        .with_label(span, "used here")
        .with_help("the path is relative to the file that has the `use`")
}

/// E0209: `break`/`continue` (`word`) outside of a loop.
pub fn outside_loop(word: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0209", format!("`{word}` outside of a loop"))
        .with_label(span, "not inside `for` or `while`")
        .with_help(format!("`{word}` is allowed only inside a loop body"))
}

/// E0210: an assignment whose left side is not a variable.
pub fn assign_to_non_variable(span: Span) -> Diagnostic {
    Diagnostic::error("E0210", "only variables can be assigned to")
        .with_label(span, "not a variable")
        .with_help("assign to a variable declared with `let mut`")
}

/// E0210: an assignment to a variable declared without `mut`.
pub fn assign_to_immutable(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0210",
        format!("cannot assign twice to immutable variable `{name}`"),
    )
    .with_label(span, "cannot assign")
    .with_help(format!("declare it with `let mut {name}`"))
}

/// E0211: `lower` asked for a kernel the main file does not have (`kernels`: the ones it has).
pub fn unknown_kernel(name: &str, kernels: &[&str], similar: Option<String>) -> Diagnostic {
    Diagnostic::error("E0211", format!("no kernel named `{name}`")).with_help(did_you_mean(
        similar,
        format!("the kernels are: {}", kernels.join(", ")),
    ))
}

/// E0212: a named argument for a parameter that already has one.
pub fn argument_given_twice(name: &str, again: Span, first: Span, signature: &str) -> Diagnostic {
    Diagnostic::error("E0212", format!("argument `{name}` given twice"))
        .with_label(again, "given again here")
        .with_label(first, "first given here")
        .with_help(format!("the signature is `{signature}`"))
}

/// E0214: `#[grid]` without 1 to 3 expressions.
pub fn malformed_grid(span: Span) -> Diagnostic {
    Diagnostic::error("E0214", "`#[grid]` takes 1 to 3 expressions")
        .with_label(span, "malformed grid")
        .with_help("write e.g. `#[grid(cdiv(n, BLOCK))]` or `#[grid(m, n)]`")
}

/// E0214: `#[threads]` without exactly one expression.
pub fn malformed_threads(span: Span) -> Diagnostic {
    Diagnostic::error("E0214", "`#[threads]` takes one number")
        .with_label(span, "malformed attribute")
        .with_help("write e.g. `#[threads(128)]`")
}

/// E0214: `#[stages]` without exactly one argument.
pub fn malformed_stages(span: Span) -> Diagnostic {
    Diagnostic::error("E0214", "`#[stages]` takes one number")
        .with_label(span, "malformed attribute")
        .with_help("write e.g. `#[stages(2)]`")
}

/// E0214: an attribute kernels do not have.
pub fn unknown_attribute(name: &str, span: Span, similar: Option<String>) -> Diagnostic {
    Diagnostic::error("E0214", format!("unknown attribute `{name}`"))
        .with_label(span, "not a kernel attribute")
        .with_help(did_you_mean(
            similar,
            "the kernel attributes are `grid`, `threads`, `stages` and `autotune`",
        ))
}

/// E0215: a call of a kernel.
pub fn kernel_called(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0215", format!("kernel `{name}` cannot be called"))
        .with_label(span, "a kernel")
        .with_help("kernels are launched from the host; move shared code into a `fn`")
}

/// E0215: a call of a global const.
pub fn const_called(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0215", format!("`{name}` is a const, not a function"))
        .with_label(span, "not callable")
        .with_help("use it as a value")
}

/// E0215: a call of a local variable.
pub fn variable_called(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0215", format!("`{name}` is a variable, not a function"))
        .with_label(span, "not callable")
        .with_help("only fns and builtins can be called")
}

/// E0215: a fn or kernel named where a value is expected.
pub fn function_as_value(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0215", format!("`{name}` is a function, not a value"))
        .with_label(span, "used as a value")
        .with_help(format!("call it: `{name}(…)`"))
}

/// E0216: a specialisation request for a const parameter the kernel does not have.
pub fn unknown_const_param(
    given: &str,
    kernel: &str,
    kernel_span: Span,
    similar: Option<String>,
) -> Diagnostic {
    Diagnostic::error("E0216", format!("unknown const parameter `{given}`"))
        .with_label(kernel_span, "this kernel")
        .with_help(did_you_mean(
            similar,
            format!("kernel `{kernel}` has no const parameter `{given}`"),
        ))
}
