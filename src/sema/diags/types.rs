//! E03xx: types: mismatches, literals, operators and builtins applied to types they do not take,
//! conditions and masks, pointers, returns and annotations.
use crate::base::{Diagnostic, ScalarType, Span};
use crate::syntax::ast;

/// E0301: a const parameter's value of another type.
pub fn const_value_type(found: ScalarType, param: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0301",
        format!("const value is `{found}` but the parameter is `{param}`"),
    )
    .with_label(span, format!("this is `{found}`"))
    .with_help(format!("convert it with `as {param}`"))
}

/// E0301: a global const whose value has another type than its declaration.
pub fn const_declared_type(
    name: &str,
    declared: ScalarType,
    found: ScalarType,
    value: Span,
    ty: Span,
) -> Diagnostic {
    Diagnostic::error(
        "E0301",
        format!("const `{name}` is declared `{declared}` but its value is `{found}`"),
    )
    .with_label(value, format!("this is `{found}`"))
    .with_label(ty, "declared type")
    .with_help(format!("convert the value with `as {declared}`"))
}

/// E0301: a fill value (`full`, `full_like`) of another type than the block.
pub fn fill_value_type(found: ScalarType, block: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0301",
        format!("fill value is `{found}` but the block is `{block}`"),
    )
    .with_label(span, format!("this is `{found}`"))
    .with_help(format!("convert it with `as {block}`"))
}

/// E0301: the two block operands of builtin `name` have different element types (`a`, `b`:
/// their types).
fn operand_types(name: &str, a: &str, a_span: Span, b: &str, b_span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0301",
        format!("`{name}` operands have different element types"),
    )
    .with_label(a_span, format!("this is `{a}`"))
    .with_label(b_span, format!("this is `{b}`"))
}

/// E0301: `dot` of blocks with different element types (`a`, `b`: their types).
pub fn dot_operand_types(a: &str, a_span: Span, b: &str, b_span: Span) -> Diagnostic {
    operand_types("dot", a, a_span, b, b_span)
        .with_help("convert one operand with `as` so both have the same type")
}

/// E0301: a `dot` accumulator that is not f32 (`acc`: its type).
pub fn dot_accumulator_type(acc: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0301", "the `dot` accumulator must be `f32`")
        .with_label(span, format!("this is `{acc}`"))
        .with_help("accumulate in f32, e.g. `zeros([BM, BN], f32)`")
}

/// E0301: `join` of blocks with different element types (`a`, `b`: their types).
pub fn join_operand_types(a: &str, a_span: Span, b: &str, b_span: Span) -> Diagnostic {
    operand_types("join", a, a_span, b, b_span).with_help("convert one operand with `as`")
}

/// E0301: a `load`'s `other` of another type than the pointee.
pub fn load_other_type(
    found: ScalarType,
    pointee: ScalarType,
    other: Span,
    ptr: Span,
) -> Diagnostic {
    Diagnostic::error(
        "E0301",
        format!("`other` is `{found}` but the pointer loads `{pointee}`"),
    )
    .with_label(other, format!("this is `{found}`"))
    .with_label(ptr, format!("this points to `{pointee}`"))
    .with_help(format!("convert it with `as {pointee}`"))
}

/// E0301: a literal that cannot take the type the context requires.
pub fn literal_type(expected: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error("E0301", format!("mismatched types: expected `{expected}`"))
        .with_label(span, format!("this literal cannot be `{expected}`"))
        .with_help("write a literal of the expected type")
}

/// E0301: operands of two different types (`left`, `right`: their descriptions; `target`: the
/// type to convert to in the help).
pub fn mixed_types(
    op: &str,
    left: &str,
    left_span: Span,
    right: &str,
    right_span: Span,
    target: &str,
) -> Diagnostic {
    Diagnostic::error("E0301", format!("mismatched types: {left} {op} {right}"))
        .with_label(right_span, format!("this is {right}"))
        .with_label(left_span, format!("this is {left}"))
        .with_help(format!(
            "tk has no implicit conversions; convert one operand with `as`, e.g. `(…) as {target}`"
        ))
}

/// An untyped literal (`literal`: its description) beside an operand (`other`) of type `ty`
/// that it cannot take, under `code`.
fn literal_beside(
    code: &'static str,
    literal: &str,
    ty: ScalarType,
    span: Span,
    other: &str,
    other_span: Span,
) -> Diagnostic {
    Diagnostic::error(
        code,
        format!("{literal} cannot be used with an operand of type `{ty}`"),
    )
    .with_label(span, format!("this literal cannot be `{ty}`"))
    .with_label(other_span, format!("this is {other}"))
}

/// E0301: an int or bool literal beside an operand of type `ty` that it cannot take.
pub fn literal_for_operand(
    literal: &str,
    ty: ScalarType,
    span: Span,
    other: &str,
    other_span: Span,
) -> Diagnostic {
    literal_beside("E0301", literal, ty, span, other, other_span)
        .with_help(format!("write a value of type `{ty}`"))
}

/// E0302: a float literal beside an integer operand of type `ty`.
pub fn float_literal_for_int_operand(
    literal: &str,
    ty: ScalarType,
    span: Span,
    other: &str,
    other_span: Span,
) -> Diagnostic {
    literal_beside("E0302", literal, ty, span, other, other_span)
        .with_help("write an integer literal, or convert the other operand with `as f32`")
}

/// E0302: a float literal where the integer type `ty` is required.
pub fn float_literal_as_int(ty: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0302",
        format!("a float literal cannot have integer type `{ty}`"),
    )
    .with_label(span, format!("expected `{ty}` here"))
    .with_help("write an integer literal, or convert the other operand with `as f32`")
}

/// E0303: an integer literal wider than 64 bits.
pub fn integer_literal_too_large(span: Span) -> Diagnostic {
    Diagnostic::error("E0303", "integer literal is too large")
        .with_label(span, "does not fit in 64 bits")
        .with_help("the widest integer types are `i64` and `u64`")
}

/// E0303: an integer literal outside the range of the type it takes.
pub fn integer_literal_out_of_range(value: i128, ty: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0303",
        format!("integer literal `{value}` does not fit in `{ty}`"),
    )
    .with_label(span, format!("out of range for `{ty}`"))
    .with_help(format!(
        "use a value in the range of `{ty}`, or a wider type with `as`"
    ))
}

/// E0304: an expression without a value used as one.
pub fn no_value(span: Span, used_as: &str) -> Diagnostic {
    Diagnostic::error("E0304", "this expression has no value")
        .with_label(span, format!("used as {used_as} here"))
        .with_help(
            "only expressions with a value (not `store(…)` or statement-like calls) fit here",
        )
}

/// E0304: a string literal used as a value.
pub fn string_as_value(span: Span) -> Diagnostic {
    Diagnostic::error("E0304", "a string is not a value")
        .with_label(span, "string used as a value")
        .with_help("strings appear only in `static_assert`, `device_assert`, `print` and `use`")
}

/// E0304: a list used as a value.
pub fn list_as_value(span: Span) -> Diagnostic {
    Diagnostic::error("E0304", "a list is not a value")
        .with_label(span, "list used as a value")
        .with_help("lists appear only as shapes, e.g. `zeros([64, 64], f32)`")
}

/// E0304: a unary operator applied to something without a number type (`found`: what it is).
pub fn unary_operand(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0304", format!("this unary operator cannot take {found}"))
        .with_label(span, format!("this is {found}"))
        .with_help("unary `-` takes numbers, `!` bools or ints, `~` ints")
}

/// E0304: a unary operator applied to a type it does not take.
pub fn unary_operator_type(op: ast::UnaryOp, found: &str, span: Span) -> Diagnostic {
    let (sym, help) = match op {
        ast::UnaryOp::Neg => ("-", "negate numbers only; for a bool use `!`"),
        ast::UnaryOp::Not => ("!", "`!` takes bools (logical) or ints (bitwise)"),
        ast::UnaryOp::BitNot => ("~", "`~` takes ints; for a bool use `!`"),
    };
    Diagnostic::error("E0304", format!("`{sym}` cannot be applied to {found}"))
        .with_label(span, format!("this is {found}"))
        .with_help(help)
}

/// E0304: a binary operator applied to operands of a type it does not take (`ty`: the type's
/// name, or `int`/`float` for untyped literals).
pub fn binary_operator_type(op: ast::BinaryOp, ty: &str, bools: bool, span: Span) -> Diagnostic {
    use ast::BinaryOp as B;
    let sym = op.symbol();
    let help = match op {
        B::Shl | B::Shr => "shifts take integers".to_string(),
        B::BitAnd | B::BitOr | B::BitXor => "`&`, `|`, `^` take integers or bools".to_string(),
        _ if bools => "arithmetic takes numbers; convert a bool with `as i32`".to_string(),
        _ => format!("`{sym}` does not take `{ty}`"),
    };
    Diagnostic::error(
        "E0304",
        format!("`{sym}` cannot be applied to `{ty}` operands"),
    )
    .with_label(span, format!("`{ty}` {sym} `{ty}`"))
    .with_help(help)
}

/// E0304: `as` applied to a pointer (or something without a type).
pub fn cannot_cast(found: &str, to: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error("E0304", format!("cannot cast {found} to `{to}`"))
        .with_label(span, format!("this is {found}"))
        .with_help("`as` converts numbers and bools; pointers cannot be cast")
}

/// E0304: a builtin that takes numbers given something else.
pub fn not_a_number(name: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0304", format!("`{name}` cannot take {found}"))
        .with_label(span, format!("this is {found}"))
        .with_help("pass a number or a block of numbers")
}

/// E0304: `dot` of blocks of an element type it does not multiply (`block`: the block's type).
pub fn dot_input_type(elem: ScalarType, block: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0304", format!("`dot` does not take `{elem}` inputs"))
        .with_label(span, format!("this is `{block}`"))
        .with_help("`dot` multiplies f16, bf16 or f32 blocks; convert with `as`")
}

/// E0304: `bitcast` between types of different widths (or bool).
pub fn bitcast_width(from: ScalarType, to: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0304",
        format!("cannot bitcast `{from}` to `{to}`: sizes differ"),
    )
    .with_label(span, format!("this is `{from}` ({} bits)", from.bits()))
    .with_help(format!(
        "`bitcast` needs types of the same width; `{to}` has {} bits",
        to.bits()
    ))
}

/// E0304: an atomic on a buffer of an element type it does not support.
pub fn atomic_element_type(name: &str, pointee: ScalarType, ptr: Span) -> Diagnostic {
    let help = if pointee == ScalarType::F32 {
        "on f32 only `atomic_add` exists; use an i32 or u32 buffer for the others"
    } else {
        "atomics work on `i32` and `u32` buffers (and `atomic_add` on `f32`)"
    };
    Diagnostic::error(
        "E0304",
        format!("`{name}` cannot operate on `{pointee}` elements"),
    )
    .with_label(ptr, format!("this points to `{pointee}`"))
    .with_help(help)
}

/// E0305: a condition (`what`) that is not a bool.
pub fn condition_not_bool(what: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0305", format!("{what} must be `bool`, found {found}"))
        .with_label(span, format!("this is {found}"))
        .with_help("compare to get a bool, e.g. `x != 0`")
}

/// E0305: a `where` condition that is not bool.
pub fn where_condition_not_bool(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0305",
        format!("the condition of `where` must be `bool`, found {found}"),
    )
    .with_label(span, format!("this is {found}"))
    .with_help("compare to get a mask, e.g. `x > 0`")
}

/// E0305: a `mask` that is not bool.
pub fn mask_not_bool(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0305", format!("`mask` must be `bool`, found {found}"))
        .with_label(span, format!("this is {found}"))
        .with_help("build a mask with a comparison, e.g. `offs < n`")
}

/// E0305: a `static_assert` condition that is not bool.
pub fn static_assert_not_bool(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0305", "a `static_assert` condition must be `bool`")
        .with_label(span, format!("this is {found}"))
        .with_help("compare to get a bool, e.g. `BLOCK % 16 == 0`")
}

/// E0305: a `device_assert` condition that is not bool.
pub fn device_assert_not_bool(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0305", "a `device_assert` condition must be `bool`")
        .with_label(span, format!("this is {found}"))
        .with_help("compare to get a bool")
}

/// E0305: a `keep_dims` that is not a bool.
pub fn keep_dims_not_bool(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0305", "`keep_dims` must be `bool`")
        .with_label(span, format!("this is {found}"))
        .with_help("write `keep_dims: true` or `keep_dims: false`")
}

/// E0306: a compile-time value (`what`) that must be an integer.
pub fn not_an_integer(what: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0306", format!("{what} must be an integer"))
        .with_label(span, format!("this is {found}"))
        .with_help("use an integer constant")
}

/// E0306: a `range`/`static_range` (`word`) bound that is not an integer.
pub fn loop_bound_not_int(word: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0306",
        format!("`{word}` bounds must be integers, found {found}"),
    )
    .with_label(span, format!("this is {found}"))
    .with_help("convert with `as i32`")
}

/// E0306: a `range`/`static_range` (`word`) bound that is a block.
pub fn loop_bound_not_scalar(word: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0306",
        format!("`{word}` bounds must be scalars, found {found}"),
    )
    .with_label(span, "this is a block")
    .with_help("reduce the block to a scalar first, e.g. with `max(x)`")
}

/// E0307: a write through a pointer into the read-only parameter `param`.
pub fn read_only_write(param: &str, pointee: ScalarType, ptr: Span) -> Diagnostic {
    Diagnostic::error(
        "E0307",
        format!("cannot write through `{param}`: it is a read-only pointer `*{pointee}`"),
    )
    .with_label(ptr, format!("points into `{param}`"))
    .with_help(format!(
        "declare it `*mut {pointee}` in the kernel's parameters"
    ))
}

/// E0308: a memory builtin given something that is not a pointer.
pub fn not_a_pointer(name: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0308", format!("`{name}` needs a pointer, found {found}"))
        .with_label(span, format!("this is {found}"))
        .with_help("pass a pointer parameter plus offsets, e.g. `x + offs`")
}

/// E0309: a value written through a `pointee` pointer (`message` says by what) of another type:
/// `found` describes it (`None`: a float literal, for an integer pointer).
fn pointee_type(
    message: String,
    found: Option<&str>,
    value: Span,
    pointee: ScalarType,
    ptr: Span,
) -> Diagnostic {
    let (label, help) = match found {
        Some(found) => (
            format!("this is {found}"),
            format!("convert the value with `as {pointee}`"),
        ),
        None => (
            "a float literal".to_string(),
            "write an integer literal".to_string(),
        ),
    };
    Diagnostic::error("E0309", message)
        .with_label(value, label)
        .with_label(ptr, format!("this points to `{pointee}`"))
        .with_help(help)
}

/// E0309: a stored value of another type than the pointee.
pub fn store_value_type(
    ty: ScalarType,
    pointee: ScalarType,
    found: &str,
    value: Span,
    ptr: Span,
) -> Diagnostic {
    let message = format!("cannot store `{ty}` values through a `{pointee}` pointer");
    pointee_type(message, Some(found), value, pointee, ptr)
}

/// E0309: a float literal stored through an integer pointer.
pub fn store_float_literal(pointee: ScalarType, value: Span, ptr: Span) -> Diagnostic {
    let message = format!("cannot store a float literal through a `{pointee}` pointer");
    pointee_type(message, None, value, pointee, ptr)
}

/// E0309: an atomic operand of another type than the pointee.
pub fn atomic_value_type(
    name: &str,
    ty: ScalarType,
    pointee: ScalarType,
    found: &str,
    value: Span,
    ptr: Span,
) -> Diagnostic {
    let message = format!("`{name}` on a `{pointee}` pointer cannot take `{ty}` values");
    pointee_type(message, Some(found), value, pointee, ptr)
}

/// E0309: a float literal as the operand of an atomic on an integer pointer.
pub fn atomic_float_literal(name: &str, pointee: ScalarType, value: Span, ptr: Span) -> Diagnostic {
    let message = format!("`{name}` on a `{pointee}` pointer cannot take a float literal");
    pointee_type(message, None, value, pointee, ptr)
}

/// A value that does not match a type annotation (`what` says whose), under `code`.
fn annotation_mismatch(
    code: &'static str,
    what: &str,
    expected: &str,
    found: &str,
    value: Span,
    ty: Span,
) -> Diagnostic {
    Diagnostic::error(
        code,
        format!("{what}: expected `{expected}`, found {found}"),
    )
    .with_label(value, format!("this is {found}"))
    .with_label(ty, "expected because of this type")
    .with_help(
        "element types and shapes must match exactly; convert with `as` or reshape the value",
    )
}

/// The constructor `check_annotation` reports a mismatch with: (`what`, expected, found,
/// value span, annotation span).
pub type AnnotationMismatch = fn(&str, &str, &str, Span, Span) -> Diagnostic;

/// E0310: a `let` value that does not match its annotation.
pub fn let_annotation(
    what: &str,
    expected: &str,
    found: &str,
    value: Span,
    ty: Span,
) -> Diagnostic {
    annotation_mismatch("E0310", what, expected, found, value, ty)
}

/// A `let mut` variable (`name`, of type `ty`) assigned a value of another type or shape.
fn assignment_changes(
    code: &'static str,
    name: &str,
    ty: &str,
    found: &str,
    value: Span,
) -> Diagnostic {
    Diagnostic::error(
        code,
        format!("`{name}` is `{ty}` but the assigned value is {found}"),
    )
    .with_label(value, format!("this is {found}"))
    .with_help(
        "a `let mut` variable keeps its type and shape; convert with `as` or broadcast the value",
    )
}

/// E0311: an assignment that changes a `let mut` variable's element type.
pub fn assignment_changes_type(name: &str, ty: &str, found: &str, value: Span) -> Diagnostic {
    assignment_changes("E0311", name, ty, found, value)
}

/// E0402: an assignment of a value whose shape does not fit a `let mut` variable's.
pub fn assignment_changes_shape(name: &str, ty: &str, found: &str, value: Span) -> Diagnostic {
    assignment_changes("E0402", name, ty, found, value)
}

/// E0312: a fn result that does not match its `-> T`.
pub fn fn_result_annotation(
    what: &str,
    expected: &str,
    found: &str,
    value: Span,
    ty: Span,
) -> Diagnostic {
    annotation_mismatch("E0312", what, expected, found, value, ty)
}

/// E0312: a fn that returns a value on some paths only.
pub fn returns_value_on_some_paths(with: Span, without: Span) -> Diagnostic {
    Diagnostic::error(
        "E0312",
        "this fn returns a value on some paths but not on others",
    )
    .with_label(with, "a value is returned here")
    .with_label(without, "no value is returned here")
    .with_help("return a value on every path, or on none")
}

/// E0312: `return`s of one fn with different types or shapes (`ty`: the first one's).
pub fn returns_differ(ty: &str, found: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0312", format!("this fn returns `{ty}` and {found}"))
        .with_label(span, format!("this is {found}"))
        .with_label(first, format!("this is `{ty}`"))
        .with_help(
            "every `return` of a fn must give the same type and shape; convert with `as`, or \
             annotate the fn's result type (`-> T`)",
        )
}

/// E0312: `return value;` in a kernel.
pub fn kernel_returns_value(span: Span) -> Diagnostic {
    Diagnostic::error("E0312", "a kernel returns no value")
        .with_label(span, "this value cannot be returned")
        .with_help("write results with `store`, and end the program with `return;`")
}

/// E0312: a kernel body that ends in a value.
pub fn kernel_body_value(span: Span) -> Diagnostic {
    Diagnostic::error("E0312", "a kernel body has no value")
        .with_label(span, "this value is discarded")
        .with_help("end the expression with `;`, and write results with `store`")
}

/// E0313: an `if` expression whose branches have different types or shapes.
pub fn if_branches_differ(then: &str, then_span: Span, other: &str, else_span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0313",
        format!("`if` branches have different types: {then} and {other}"),
    )
    .with_label(else_span, format!("this is {other}"))
    .with_label(then_span, format!("this is {then}"))
    .with_help("both branches of an `if` expression must have the same type and shape")
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

/// E0314: a const parameter of a type consts cannot have.
pub fn bad_const_param(name: &str, ty: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0314",
        format!("const parameter `{name}` cannot be `{ty}`"),
    )
    .with_label(span, "not a const type")
    .with_help("const parameters are `i32`, `bool` or `f32`")
}

/// E0315: an arithmetic operator other than `+`/`-` with integer offsets on pointers.
pub fn pointer_operands(op: &str, left: &str, right: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0315",
        format!("`{op}` cannot be applied to these pointer operands"),
    )
    .with_label(span, format!("{left} {op} {right}"))
    .with_help(
        "pointers support `ptr + offsets`, `offsets + ptr` and `ptr - offsets` with integer \
         offsets",
    )
}

/// E0315: pointer offsets that are not integers.
pub fn pointer_offset_type(found: &str, offsets: Span, ptr: Span) -> Diagnostic {
    Diagnostic::error(
        "E0315",
        format!("pointer offsets must be integers, found {found}"),
    )
    .with_label(offsets, format!("this is {found}"))
    .with_label(ptr, "pointer")
    .with_help("offsets count elements; convert with `as i32`")
}

/// E0315: a pointer variable (into `want`) set to a pointer into another parameter (`got`).
pub fn pointer_into_other_param(name: &str, want: &str, got: &str, value: Span) -> Diagnostic {
    Diagnostic::error(
        "E0315",
        format!("`{name}` points into `{want}`; it cannot be set to a pointer into `{got}`"),
    )
    .with_label(value, format!("this points into `{got}`"))
    .with_help(
        "every pointer value derives from one pointer parameter; keep one variable per \
         parameter and choose with `if` or a mask",
    )
}

/// E0315: a pointer operand of an operator or builtin that takes none.
pub fn pointer_operand(op: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0315", format!("`{op}` cannot take a pointer operand"))
        .with_label(span, format!("this is {found}"))
        .with_help("pointers support only `+`/`-` with integer offsets, `load` and `store`")
}

/// E0316: a type argument that is not a scalar type.
pub fn expected_scalar_type(span: Span) -> Diagnostic {
    Diagnostic::error("E0316", "expected a scalar type")
        .with_label(span, "not a scalar type")
        .with_help("write an element type such as `f32`, `i32` or `f16`")
}

/// E0316: a type given where a value is expected.
pub fn type_as_value(span: Span) -> Diagnostic {
    Diagnostic::error("E0316", "a type is not a value")
        .with_label(span, "type given where a value is expected")
        .with_help("only `zeros`, `full` and `bitcast` take a type argument")
}

/// E0316: a message argument that is not a string literal.
pub fn expected_string(span: Span) -> Diagnostic {
    Diagnostic::error("E0316", "expected a string literal")
        .with_label(span, "not a string")
        .with_help("write a message in double quotes, e.g. \"BLOCK must be at least 16\"")
}

/// E0317: a math builtin that takes floats given the type `ty`.
pub fn float_required(name: &str, ty: ScalarType, span: Span) -> Diagnostic {
    Diagnostic::error("E0317", format!("`{name}` takes floats, found `{ty}`"))
        .with_label(span, format!("this is `{ty}`"))
        .with_help("convert with `as f32`")
}

/// E0317: a binary math builtin given operands of a type it does not take (`want`: what it
/// takes; `found`: the first operand's description).
pub fn math_operand_type(
    name: &str,
    want: &str,
    elem: ScalarType,
    found: &str,
    span: Span,
) -> Diagnostic {
    Diagnostic::error("E0317", format!("`{name}` takes {want}, found `{elem}`"))
        .with_label(span, format!("this is {found}"))
        .with_help("convert the operands with `as`")
}

/// E0318: an fn argument that does not match the parameter's declared type.
pub fn fn_argument_annotation(
    what: &str,
    expected: &str,
    found: &str,
    value: Span,
    ty: Span,
) -> Diagnostic {
    annotation_mismatch("E0318", what, expected, found, value, ty)
}

/// E0318: a const argument of an fn of another type than the const parameter.
pub fn const_argument_type(expected: ScalarType, found: &str, value: Span, ty: Span) -> Diagnostic {
    Diagnostic::error(
        "E0318",
        format!("const argument: expected `{expected}`, found {found}"),
    )
    .with_label(value, format!("this is {found}"))
    .with_label(ty, "expected because of this type")
    .with_help(format!("convert with `as {expected}`"))
}

/// E0319: `&&`/`||` with a block operand.
pub fn logic_on_block(op: ast::BinaryOp, found: &str, span: Span) -> Diagnostic {
    let elementwise = if op == ast::BinaryOp::And { "&" } else { "|" };
    Diagnostic::error(
        "E0319",
        format!("`{}` takes scalar bools, found {found}", op.symbol()),
    )
    .with_label(span, "this is a block")
    .with_help(format!(
        "use `{elementwise}` for elementwise logic on masks"
    ))
}
