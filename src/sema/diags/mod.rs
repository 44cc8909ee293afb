//! The checker's diagnostics: one constructor per diagnostic, each with its stable code (the
//! table is in the `sema` module docs), message, labels and help as data, so a call site is one
//! line and every wording of a code is found in one file. A code raised in several situations
//! (E0304 for each operator and builtin that refuses a type) has one constructor per situation,
//! under that code in its file:
//! - `names`: E02xx (names, paths, `use`s, calls, arguments, attributes, assignment targets);
//! - `types`: E03xx (type mismatches, literals, operand types, conditions, pointers, returns);
//! - `shapes`: E04xx (powers of two, broadcasting, ranks, sizes, axes, `dot`/`reshape`/`permute`);
//! - `limits`: E05xx and E06xx (compile-time evaluation, attributes' values, unsupported builtins,
//!   early returns, unrolling and inlining limits).
mod limits;
mod names;
mod shapes;
mod types;

pub use limits::*;
pub use names::*;
pub use shapes::*;
pub use types::*;

/// `did you mean `similar`?` when a close name exists, else `otherwise`.
fn did_you_mean(similar: Option<String>, otherwise: impl Into<String>) -> String {
    match similar {
        Some(s) => format!("did you mean `{s}`?"),
        None => otherwise.into(),
    }
}

/// A shape as written in messages: `[64, 32]`.
pub fn shape_text(shape: &[u32]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}
