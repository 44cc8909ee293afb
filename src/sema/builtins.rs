//! THE table of builtins: one entry per builtin function with its name, docs, signature and shape
//! rule, read by the checker, the language server's hovers and the docs.
//!
//! The checker binds call arguments against `params` (positional first, then `name: value`) and
//! then elaborates the builtin by name. `lowered` says whether the IR can express it today; calling
//! one that cannot gives diagnostic E0601 instead of wrong code.

/// One parameter of a builtin, for argument binding and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinParam {
    pub name: &'static str,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Grid,
    Creation,
    Memory,
    Math,
    Reduction,
    Scan,
    LinearAlgebra,
    Shape,
    Hint,
    Debug,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    pub name: &'static str,
    pub group: Group,
    /// The signature as shown in hovers and help messages.
    pub signature: &'static str,
    /// One line of documentation.
    pub docs: &'static str,
    /// How the result's type and shape follow from the arguments.
    pub shape_rule: &'static str,
    pub params: &'static [BuiltinParam],
    /// Whether the checker can lower a call to IR today.
    pub lowered: bool,
}

const fn req(name: &'static str) -> BuiltinParam {
    BuiltinParam {
        name,
        required: true,
    }
}
const fn opt(name: &'static str) -> BuiltinParam {
    BuiltinParam {
        name,
        required: false,
    }
}

const X: &[BuiltinParam] = &[req("x")];
const AB: &[BuiltinParam] = &[req("a"), req("b")];
const REDUCE: &[BuiltinParam] = &[req("x"), opt("axis"), opt("keep_dims")];
const ATOMIC: &[BuiltinParam] = &[req("ptr"), req("value"), opt("mask")];

const ELEMENTWISE_FLOAT: &str = "same type and shape as `x` (float element types)";
const BROADCAST: &str = "numpy broadcast of the operands' shapes; operands share one element type";
const REDUCE_RULE: &str = "drops dim `axis` (kept as 1 with `keep_dims: true`); no axis: a scalar";

macro_rules! b {
    ($name:expr, $group:ident, $sig:expr, $docs:expr, $rule:expr, $params:expr, $lowered:expr) => {
        Builtin {
            name: $name,
            group: Group::$group,
            signature: $sig,
            docs: $docs,
            shape_rule: $rule,
            params: $params,
            lowered: $lowered,
        }
    };
}

macro_rules! unary_math {
    ($name:expr, $docs:expr) => {
        b!(
            $name,
            Math,
            concat!($name, "(x)"),
            $docs,
            ELEMENTWISE_FLOAT,
            X,
            true
        )
    };
}

macro_rules! reduction {
    ($name:expr, $docs:expr, $lowered:expr) => {
        b!(
            $name,
            Reduction,
            concat!($name, "(x, axis: k, keep_dims: false)"),
            $docs,
            REDUCE_RULE,
            REDUCE,
            $lowered
        )
    };
}

macro_rules! atomic {
    ($name:expr, $docs:expr) => {
        b!(
            $name,
            Memory,
            concat!($name, "(ptr, value, mask: m)"),
            $docs,
            "the old values, shaped like `ptr`",
            ATOMIC,
            true
        )
    };
}

/// Every builtin of LANGUAGE.md §7.
pub static BUILTINS: &[Builtin] = &[
    // ---- grid ----
    b!(
        "program_id",
        Grid,
        "program_id(axis)",
        "The index of this program instance along grid axis 0, 1 or 2.",
        "i32 scalar",
        &[req("axis")],
        true
    ),
    b!(
        "num_programs",
        Grid,
        "num_programs(axis)",
        "The number of program instances along grid axis 0, 1 or 2.",
        "i32 scalar",
        &[req("axis")],
        true
    ),
    // ---- creation ----
    b!(
        "arange",
        Creation,
        "arange(start, end)",
        "The i32 values start, start+1, …, end-1; `end - start` a compile-time power of two.",
        "i32[end - start]",
        &[req("start"), req("end")],
        true
    ),
    b!(
        "zeros",
        Creation,
        "zeros(shape, T)",
        "A block of zeros of element type `T`.",
        "T[shape]",
        &[req("shape"), req("dtype")],
        true
    ),
    b!(
        "full",
        Creation,
        "full(shape, value, T)",
        "A block filled with the scalar `value` of element type `T`.",
        "T[shape]",
        &[req("shape"), req("value"), req("dtype")],
        true
    ),
    b!(
        "zeros_like",
        Creation,
        "zeros_like(x)",
        "Zeros with the type and shape of `x`.",
        "like `x`",
        X,
        true
    ),
    b!(
        "full_like",
        Creation,
        "full_like(x, value)",
        "`value` with the type and shape of `x`.",
        "like `x`",
        &[req("x"), req("value")],
        true
    ),
    // ---- memory ----
    b!(
        "load",
        Memory,
        "load(ptr, mask: m, other: v)",
        "Loads through a pointer or pointer block; masked-off lanes give `other` (default 0).",
        "pointee type, shaped like `ptr`",
        &[req("ptr"), opt("mask"), opt("other")],
        true
    ),
    b!(
        "store",
        Memory,
        "store(ptr, value, mask: m)",
        "Stores `value` (broadcast to the shape of `ptr`) through a `*mut` pointer.",
        "no value",
        &[req("ptr"), req("value"), opt("mask")],
        true
    ),
    atomic!(
        "atomic_add",
        "Atomically adds `value`; returns the old values."
    ),
    atomic!(
        "atomic_max",
        "Atomically takes the maximum; returns the old values."
    ),
    atomic!(
        "atomic_min",
        "Atomically takes the minimum; returns the old values."
    ),
    atomic!("atomic_and", "Atomic bitwise and; returns the old values."),
    atomic!("atomic_or", "Atomic bitwise or; returns the old values."),
    atomic!("atomic_xor", "Atomic bitwise xor; returns the old values."),
    atomic!(
        "atomic_xchg",
        "Atomically exchanges with `value`; returns the old values."
    ),
    b!(
        "atomic_cas",
        Memory,
        "atomic_cas(ptr, cmp, value)",
        "Atomic compare-and-swap; returns the old values.",
        "the old values, shaped like `ptr`",
        &[req("ptr"), req("cmp"), req("value")],
        true
    ),
    // ---- math ----
    b!(
        "abs",
        Math,
        "abs(x)",
        "Absolute value (ints and floats).",
        "same type and shape as `x`",
        X,
        true
    ),
    unary_math!("exp", "e raised to `x`."),
    unary_math!("exp2", "2 raised to `x`."),
    unary_math!("log", "Natural logarithm."),
    unary_math!("log2", "Base-2 logarithm."),
    unary_math!("sqrt", "Square root."),
    unary_math!("rsqrt", "Reciprocal square root."),
    unary_math!("sin", "Sine."),
    unary_math!("cos", "Cosine."),
    unary_math!("tanh", "Hyperbolic tangent."),
    unary_math!("erf", "The error function."),
    unary_math!("floor", "Rounds toward negative infinity."),
    unary_math!("ceil", "Rounds toward positive infinity."),
    unary_math!("round", "Rounds half to even."),
    unary_math!("sigmoid", "1 / (1 + exp(-x))."),
    b!(
        "fma",
        Math,
        "fma(a, b, c)",
        "a * b + c with one rounding.",
        BROADCAST,
        &[req("a"), req("b"), req("c")],
        true
    ),
    b!(
        "pow",
        Math,
        "pow(a, b)",
        "`a` raised to `b` (floats).",
        BROADCAST,
        AB,
        true
    ),
    b!(
        "maximum",
        Math,
        "maximum(a, b)",
        "Elementwise maximum; a NaN operand yields the other.",
        BROADCAST,
        AB,
        true
    ),
    b!(
        "minimum",
        Math,
        "minimum(a, b)",
        "Elementwise minimum; a NaN operand yields the other.",
        BROADCAST,
        AB,
        true
    ),
    b!(
        "clamp",
        Math,
        "clamp(x, lo, hi)",
        "minimum(maximum(x, lo), hi).",
        BROADCAST,
        &[req("x"), req("lo"), req("hi")],
        true
    ),
    b!(
        "where",
        Math,
        "where(cond, a, b)",
        "Picks `a` where `cond` is true, else `b`.",
        "numpy broadcast of all three; `cond` bool",
        &[req("cond"), req("a"), req("b")],
        true
    ),
    b!(
        "cdiv",
        Math,
        "cdiv(a, b)",
        "Ceiling division of ints: (a + b - 1) / b.",
        BROADCAST,
        AB,
        true
    ),
    b!(
        "umulhi",
        Math,
        "umulhi(a, b)",
        "The high half of the full product of two ints.",
        BROADCAST,
        AB,
        true
    ),
    b!(
        "bitcast",
        Math,
        "bitcast(x, T)",
        "Reinterprets the bits of `x` as `T` (same width).",
        "like `x` with element type `T`",
        &[req("x"), req("dtype")],
        true
    ),
    // ---- reductions ----
    reduction!("sum", "Sum along `axis` (or of every element).", true),
    reduction!("prod", "Product along `axis` (or of every element).", true),
    reduction!(
        "max",
        "Maximum along `axis` (or of every element); propagates NaN.",
        true
    ),
    reduction!(
        "min",
        "Minimum along `axis` (or of every element); propagates NaN.",
        true
    ),
    reduction!(
        "argmax",
        "The i32 index of the maximum along `axis` (flat without); lowest index on ties, first NaN wins.",
        true
    ),
    reduction!(
        "argmin",
        "The i32 index of the minimum along `axis` (flat without); lowest index on ties, first NaN wins.",
        true
    ),
    // ---- scans ----
    b!(
        "cumsum",
        Scan,
        "cumsum(x, axis: k)",
        "Inclusive prefix sum along `axis` (optional for a 1-d block); ints wrap.",
        "like `x`",
        &[req("x"), opt("axis")],
        true
    ),
    b!(
        "cumprod",
        Scan,
        "cumprod(x, axis: k)",
        "Inclusive prefix product along `axis` (optional for a 1-d block); ints wrap.",
        "like `x`",
        &[req("x"), opt("axis")],
        true
    ),
    // ---- linear algebra ----
    b!(
        "dot",
        LinearAlgebra,
        "dot(a, b, acc: c, input_precision: \"ieee\")",
        "Matrix product [M, K] × [K, N] → [M, N], optionally added into `acc`.",
        "[M, N]",
        &[req("a"), req("b"), opt("acc"), opt("input_precision")],
        true
    ),
    // ---- shape ----
    b!(
        "reshape",
        Shape,
        "reshape(x, [..])",
        "The same elements in a new shape.",
        "the given shape",
        &[req("x"), req("shape")],
        true
    ),
    b!(
        "trans",
        Shape,
        "trans(x)",
        "Transposes a 2-D block.",
        "[N, M] for [M, N]",
        X,
        true
    ),
    b!(
        "permute",
        Shape,
        "permute(x, [..])",
        "Reorders the dims of `x`.",
        "dims of `x` in the given order",
        &[req("x"), req("dims")],
        true
    ),
    b!(
        "broadcast_to",
        Shape,
        "broadcast_to(x, [..])",
        "Numpy-broadcasts `x` to the given shape.",
        "the given shape",
        &[req("x"), req("shape")],
        true
    ),
    b!(
        "expand_dims",
        Shape,
        "expand_dims(x, axis)",
        "Inserts a dim of size 1 at `axis`.",
        "rank + 1",
        &[req("x"), req("axis")],
        true
    ),
    b!(
        "join",
        Shape,
        "join(a, b)",
        "Stacks two blocks along a new last dim of size 2.",
        "shape of `a` + [2]",
        AB,
        true
    ),
    b!(
        "ravel",
        Shape,
        "ravel(x)",
        "Flattens to one dim.",
        "[number of elements]",
        X,
        true
    ),
    // ---- hints ----
    b!(
        "multiple_of",
        Hint,
        "multiple_of(x, n)",
        "Promises every element of `x` is a multiple of `n`.",
        "like `x`",
        &[req("x"), req("n")],
        true
    ),
    b!(
        "max_contiguous",
        Hint,
        "max_contiguous(x, n)",
        "Promises runs of `n` contiguous values in `x`.",
        "like `x`",
        &[req("x"), req("n")],
        true
    ),
    // ---- debug ----
    b!(
        "static_assert",
        Debug,
        "static_assert(cond, \"msg\")",
        "Fails compilation with `msg` when the compile-time `cond` is false.",
        "no value",
        &[req("cond"), req("msg")],
        true
    ),
    b!(
        "device_assert",
        Debug,
        "device_assert(cond, \"msg\")",
        "Checks `cond` at run time (interpreter and debug builds).",
        "no value",
        &[req("cond"), req("msg")],
        true
    ),
    b!(
        "print",
        Debug,
        "print(\"label\", x)",
        "Prints `x` with a label in the interpreter.",
        "no value",
        &[req("label"), opt("value")],
        true
    ),
];

/// Looks a builtin up by name.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, a) in BUILTINS.iter().enumerate() {
            assert_eq!(lookup(a.name).map(|b| b.name), Some(a.name));
            assert!(
                BUILTINS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
            assert!(a.signature.starts_with(a.name));
        }
        assert!(lookup("dot").is_some_and(|b| b.lowered));
        assert!(lookup("load").is_some_and(|b| b.lowered));
        assert_eq!(lookup("nope"), None);
    }
}
