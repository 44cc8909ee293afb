//! THE table of builtins: one entry per builtin function with its name, docs, signature and shape
//! rule, read by the checker, the language server's hovers and the docs.
//!
//! The checker binds call arguments against `params` (positional first, then `name: value`) and
//! then elaborates the builtin by its `lowering`, which names the IR operation the call becomes.
//! The elaborator matches on `Lowering` exhaustively, so a new builtin cannot reach the IR through
//! a default case; one the IR cannot express yet is `Lowering::NotYet`, and calling it gives
//! diagnostic E0601 instead of wrong code.
use crate::ir::{AtomicOp, BinaryOp, ReduceOp, ScanOp, UnaryOp};

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

/// How a call of a builtin reaches the IR. Builtins that share an elaboration carry the operation
/// it emits (`exp` is `Unary(UnaryOp::Exp)`); the others have a variant of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lowering {
    /// `ProgramId(axis)`.
    ProgramId,
    /// `NumPrograms(axis)`.
    NumPrograms,
    /// `Arange` of a compile-time length.
    Arange,
    /// A splatted constant zero of the given shape and type.
    Zeros,
    /// A splatted scalar of the given shape and type.
    Full,
    /// A splatted zero of the argument's type and shape.
    ZerosLike,
    /// A splatted scalar of the argument's type and shape.
    FullLike,
    /// `Load`, masked, with `other` for masked-off lanes.
    Load,
    /// `Store`, masked, through a `*mut` pointer.
    Store,
    /// `Atomic` with this read-modify-write.
    Atomic(AtomicOp),
    /// An elementwise `Unary` with this operation.
    Unary(UnaryOp),
    /// An elementwise `Binary` with this operation, after broadcasting the operands.
    Binary(BinaryOp),
    /// `Fma` of three broadcast float operands.
    Fma,
    /// `Binary(Max)` then `Binary(Min)`.
    Clamp,
    /// `Select` of three broadcast operands.
    Where,
    /// `(a + b - 1) / b` with `Binary` adds, subtracts and divides.
    CeilDiv,
    /// `Bitcast` to a type of the same width.
    Bitcast,
    /// `Reduce` with this operation.
    Reduce(ReduceOp),
    /// The index of the extreme element: this `Reduce` (`Max` or `Min`), then a `Reduce(Min)` of
    /// the indices where it is found.
    ArgReduce(ReduceOp),
    /// An inclusive `Scan` with this operation.
    Scan(ScanOp),
    /// `Dot` of f32 blocks (f16/bf16 inputs converted), accumulated in f32.
    Dot,
    /// A data-moving shape change of a block.
    Rearrange(Rearrange),
    /// `Broadcast` (with `Splat`/`ExpandDims`) to a given shape.
    BroadcastTo,
    /// `ExpandDims` (a `Splat` for a scalar).
    ExpandDims,
    /// No instruction: the value passes through and the hint is checked.
    Hint,
    /// No instruction: checked at compile time.
    StaticAssert,
    /// `Assert`, checked at run time.
    DeviceAssert,
    /// `Print` in the interpreter.
    Print,
    /// Part of the language, but the IR cannot express it yet: a call gives E0601.
    NotYet,
}

/// The shape builtins that move the elements of one tile argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rearrange {
    /// `Reshape` (a `Splat` for a scalar).
    Reshape,
    /// `Reshape` to one dim.
    Ravel,
    /// `Permute` with `[1, 0]`.
    Trans,
    /// `Permute` with the given dims.
    Permute,
    /// Two `Broadcast`s joined by a `Select` on the new last index.
    Join,
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
    /// The IR operation a call becomes.
    pub lowering: Lowering,
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
    ($name:expr, $group:ident, $sig:expr, $docs:expr, $rule:expr, $params:expr, $lowering:expr) => {
        Builtin {
            name: $name,
            group: Group::$group,
            signature: $sig,
            docs: $docs,
            shape_rule: $rule,
            params: $params,
            lowering: $lowering,
        }
    };
}

macro_rules! unary_math {
    ($name:expr, $op:ident, $docs:expr) => {
        b!(
            $name,
            Math,
            concat!($name, "(x)"),
            $docs,
            ELEMENTWISE_FLOAT,
            X,
            Lowering::Unary(UnaryOp::$op)
        )
    };
}

macro_rules! reduction {
    ($name:expr, $docs:expr, $lowering:expr) => {
        b!(
            $name,
            Reduction,
            concat!($name, "(x, axis: k, keep_dims: false)"),
            $docs,
            REDUCE_RULE,
            REDUCE,
            $lowering
        )
    };
}

macro_rules! atomic {
    ($name:expr, $op:ident, $docs:expr) => {
        b!(
            $name,
            Memory,
            concat!($name, "(ptr, value, mask: m)"),
            $docs,
            "the old values, shaped like `ptr`",
            ATOMIC,
            Lowering::Atomic(AtomicOp::$op)
        )
    };
}

/// Every builtin of the language (documented in `docs/language.md`).
pub static BUILTINS: &[Builtin] = &[
    // ---- grid ----
    b!(
        "program_id",
        Grid,
        "program_id(axis)",
        "The index of this program instance along grid axis 0, 1 or 2.",
        "i32 scalar",
        &[req("axis")],
        Lowering::ProgramId
    ),
    b!(
        "num_programs",
        Grid,
        "num_programs(axis)",
        "The number of program instances along grid axis 0, 1 or 2.",
        "i32 scalar",
        &[req("axis")],
        Lowering::NumPrograms
    ),
    // ---- creation ----
    b!(
        "arange",
        Creation,
        "arange(start, end)",
        "The i32 values start, start+1, …, end-1; `end - start` a positive compile-time integer.",
        "i32[end - start]",
        &[req("start"), req("end")],
        Lowering::Arange
    ),
    b!(
        "zeros",
        Creation,
        "zeros(shape, T)",
        "A block of zeros of element type `T`.",
        "T[shape]",
        &[req("shape"), req("dtype")],
        Lowering::Zeros
    ),
    b!(
        "full",
        Creation,
        "full(shape, value, T)",
        "A block filled with the scalar `value` of element type `T`.",
        "T[shape]",
        &[req("shape"), req("value"), req("dtype")],
        Lowering::Full
    ),
    b!(
        "zeros_like",
        Creation,
        "zeros_like(x)",
        "Zeros with the type and shape of `x`.",
        "like `x`",
        X,
        Lowering::ZerosLike
    ),
    b!(
        "full_like",
        Creation,
        "full_like(x, value)",
        "`value` with the type and shape of `x`.",
        "like `x`",
        &[req("x"), req("value")],
        Lowering::FullLike
    ),
    // ---- memory ----
    b!(
        "load",
        Memory,
        "load(ptr, mask: m, other: v)",
        "Loads through a pointer or pointer block; masked-off lanes give `other` (default 0).",
        "pointee type, shaped like `ptr`",
        &[req("ptr"), opt("mask"), opt("other")],
        Lowering::Load
    ),
    b!(
        "store",
        Memory,
        "store(ptr, value, mask: m)",
        "Stores `value` (broadcast to the shape of `ptr`) through a `*mut` pointer.",
        "no value",
        &[req("ptr"), req("value"), opt("mask")],
        Lowering::Store
    ),
    atomic!(
        "atomic_add",
        Add,
        "Atomically adds `value`; returns the old values."
    ),
    atomic!(
        "atomic_max",
        Max,
        "Atomically takes the maximum; returns the old values."
    ),
    atomic!(
        "atomic_min",
        Min,
        "Atomically takes the minimum; returns the old values."
    ),
    atomic!("atomic_and", And, "Atomic bitwise and; returns the old values."),
    atomic!("atomic_or", Or, "Atomic bitwise or; returns the old values."),
    atomic!("atomic_xor", Xor, "Atomic bitwise xor; returns the old values."),
    atomic!(
        "atomic_xchg",
        Xchg,
        "Atomically exchanges with `value`; returns the old values."
    ),
    b!(
        "atomic_cas",
        Memory,
        "atomic_cas(ptr, cmp, value)",
        "Atomic compare-and-swap; returns the old values.",
        "the old values, shaped like `ptr`",
        &[req("ptr"), req("cmp"), req("value")],
        Lowering::Atomic(AtomicOp::Cas)
    ),
    // ---- math ----
    b!(
        "abs",
        Math,
        "abs(x)",
        "Absolute value (ints and floats).",
        "same type and shape as `x`",
        X,
        Lowering::Unary(UnaryOp::Abs)
    ),
    unary_math!("exp", Exp, "e raised to `x`."),
    unary_math!("exp2", Exp2, "2 raised to `x`."),
    unary_math!("log", Log, "Natural logarithm."),
    unary_math!("log2", Log2, "Base-2 logarithm."),
    unary_math!("sqrt", Sqrt, "Square root."),
    unary_math!("rsqrt", Rsqrt, "Reciprocal square root."),
    unary_math!("sin", Sin, "Sine."),
    unary_math!("cos", Cos, "Cosine."),
    unary_math!("tanh", Tanh, "Hyperbolic tangent."),
    unary_math!("erf", Erf, "The error function."),
    unary_math!("floor", Floor, "Rounds toward negative infinity."),
    unary_math!("ceil", Ceil, "Rounds toward positive infinity."),
    unary_math!("round", Round, "Rounds half to even."),
    unary_math!("sigmoid", Sigmoid, "1 / (1 + exp(-x))."),
    b!(
        "fma",
        Math,
        "fma(a, b, c)",
        "a * b + c with one rounding.",
        BROADCAST,
        &[req("a"), req("b"), req("c")],
        Lowering::Fma
    ),
    b!(
        "pow",
        Math,
        "pow(a, b)",
        "`a` raised to `b` (floats).",
        BROADCAST,
        AB,
        Lowering::Binary(BinaryOp::Pow)
    ),
    b!(
        "maximum",
        Math,
        "maximum(a, b)",
        "Elementwise maximum; a NaN operand yields the other.",
        BROADCAST,
        AB,
        Lowering::Binary(BinaryOp::Max)
    ),
    b!(
        "minimum",
        Math,
        "minimum(a, b)",
        "Elementwise minimum; a NaN operand yields the other.",
        BROADCAST,
        AB,
        Lowering::Binary(BinaryOp::Min)
    ),
    b!(
        "clamp",
        Math,
        "clamp(x, lo, hi)",
        "minimum(maximum(x, lo), hi).",
        BROADCAST,
        &[req("x"), req("lo"), req("hi")],
        Lowering::Clamp
    ),
    b!(
        "where",
        Math,
        "where(cond, a, b)",
        "Picks `a` where `cond` is true, else `b`.",
        "numpy broadcast of all three; `cond` bool",
        &[req("cond"), req("a"), req("b")],
        Lowering::Where
    ),
    b!(
        "cdiv",
        Math,
        "cdiv(a, b)",
        "Ceiling division of ints: (a + b - 1) / b.",
        BROADCAST,
        AB,
        Lowering::CeilDiv
    ),
    b!(
        "umulhi",
        Math,
        "umulhi(a, b)",
        "The high half of the full product of two ints.",
        BROADCAST,
        AB,
        Lowering::Binary(BinaryOp::MulHi)
    ),
    b!(
        "bitcast",
        Math,
        "bitcast(x, T)",
        "Reinterprets the bits of `x` as `T` (same width).",
        "like `x` with element type `T`",
        &[req("x"), req("dtype")],
        Lowering::Bitcast
    ),
    // ---- reductions ----
    reduction!(
        "sum",
        "Sum along `axis` (or of every element).",
        Lowering::Reduce(ReduceOp::Sum)
    ),
    reduction!(
        "prod",
        "Product along `axis` (or of every element).",
        Lowering::Reduce(ReduceOp::Prod)
    ),
    reduction!(
        "max",
        "Maximum along `axis` (or of every element); propagates NaN.",
        Lowering::Reduce(ReduceOp::Max)
    ),
    reduction!(
        "min",
        "Minimum along `axis` (or of every element); propagates NaN.",
        Lowering::Reduce(ReduceOp::Min)
    ),
    reduction!(
        "argmax",
        "The i32 index of the maximum along `axis` (flat without); lowest index on ties, first NaN wins.",
        Lowering::ArgReduce(ReduceOp::Max)
    ),
    reduction!(
        "argmin",
        "The i32 index of the minimum along `axis` (flat without); lowest index on ties, first NaN wins.",
        Lowering::ArgReduce(ReduceOp::Min)
    ),
    // ---- scans ----
    b!(
        "cumsum",
        Scan,
        "cumsum(x, axis: k)",
        "Inclusive prefix sum along `axis` (optional for a 1-d block); ints wrap.",
        "like `x`",
        &[req("x"), opt("axis")],
        Lowering::Scan(ScanOp::Sum)
    ),
    b!(
        "cumprod",
        Scan,
        "cumprod(x, axis: k)",
        "Inclusive prefix product along `axis` (optional for a 1-d block); ints wrap.",
        "like `x`",
        &[req("x"), opt("axis")],
        Lowering::Scan(ScanOp::Prod)
    ),
    // ---- linear algebra ----
    b!(
        "dot",
        LinearAlgebra,
        "dot(a, b, acc: c, input_precision: \"ieee\")",
        "Matrix product [M, K] × [K, N] → [M, N], optionally added into `acc`.",
        "[M, N]",
        &[req("a"), req("b"), opt("acc"), opt("input_precision")],
        Lowering::Dot
    ),
    // ---- shape ----
    b!(
        "reshape",
        Shape,
        "reshape(x, [..])",
        "The same elements in a new shape.",
        "the given shape",
        &[req("x"), req("shape")],
        Lowering::Rearrange(Rearrange::Reshape)
    ),
    b!(
        "trans",
        Shape,
        "trans(x)",
        "Transposes a 2-D block.",
        "[N, M] for [M, N]",
        X,
        Lowering::Rearrange(Rearrange::Trans)
    ),
    b!(
        "permute",
        Shape,
        "permute(x, [..])",
        "Reorders the dims of `x`.",
        "dims of `x` in the given order",
        &[req("x"), req("dims")],
        Lowering::Rearrange(Rearrange::Permute)
    ),
    b!(
        "broadcast_to",
        Shape,
        "broadcast_to(x, [..])",
        "Numpy-broadcasts `x` to the given shape.",
        "the given shape",
        &[req("x"), req("shape")],
        Lowering::BroadcastTo
    ),
    b!(
        "expand_dims",
        Shape,
        "expand_dims(x, axis)",
        "Inserts a dim of size 1 at `axis`.",
        "rank + 1",
        &[req("x"), req("axis")],
        Lowering::ExpandDims
    ),
    b!(
        "join",
        Shape,
        "join(a, b)",
        "Stacks two blocks along a new last dim of size 2.",
        "shape of `a` + [2]",
        AB,
        Lowering::Rearrange(Rearrange::Join)
    ),
    b!(
        "ravel",
        Shape,
        "ravel(x)",
        "Flattens to one dim.",
        "[number of elements]",
        X,
        Lowering::Rearrange(Rearrange::Ravel)
    ),
    // ---- hints ----
    b!(
        "multiple_of",
        Hint,
        "multiple_of(x, n)",
        "Promises every element of `x` is a multiple of `n`.",
        "like `x`",
        &[req("x"), req("n")],
        Lowering::Hint
    ),
    b!(
        "max_contiguous",
        Hint,
        "max_contiguous(x, n)",
        "Promises runs of `n` contiguous values in `x`.",
        "like `x`",
        &[req("x"), req("n")],
        Lowering::Hint
    ),
    // ---- debug ----
    b!(
        "static_assert",
        Debug,
        "static_assert(cond, \"msg\")",
        "Fails compilation with `msg` when the compile-time `cond` is false.",
        "no value",
        &[req("cond"), req("msg")],
        Lowering::StaticAssert
    ),
    b!(
        "device_assert",
        Debug,
        "device_assert(cond, \"msg\")",
        "Checks `cond` at run time (interpreter and debug builds).",
        "no value",
        &[req("cond"), req("msg")],
        Lowering::DeviceAssert
    ),
    b!(
        "print",
        Debug,
        "print(\"label\", x)",
        "Prints `x` with a label in the interpreter.",
        "no value",
        &[req("label"), opt("value")],
        Lowering::Print
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
        assert_eq!(lookup("dot").map(|b| b.lowering), Some(Lowering::Dot));
        assert_eq!(lookup("load").map(|b| b.lowering), Some(Lowering::Load));
        assert_eq!(lookup("nope"), None);
    }
}
