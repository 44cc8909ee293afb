//! E04xx: shapes: dim sizes, broadcasting, ranks, sizes, axes, and the shape rules of `dot`,
//! `reshape` and `permute`.
use super::shape_text;
use crate::base::{Diagnostic, Span};
use crate::sema::elab::MAX_ELEMENTS;

/// E0401: a block dim that is not positive or past `MAX_ELEMENTS`.
pub fn dim_out_of_range(n: i128, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0401",
        format!("block dims must be from 1 to {MAX_ELEMENTS}, found {n}"),
    )
    .with_label(span, format!("this is {n}"))
    .with_help("a block dim is a positive compile-time integer (any size, not only powers of two)")
}

/// E0401: a `reshape` between shapes whose padding (each dim rounded up to a power of two)
/// would move elements: past leading dims of 1, every dim but the first must be a power of two.
pub fn reshape_padded(have: &[u32], shape: &[u32], span: Span, value: Span) -> Diagnostic {
    Diagnostic::error(
        "E0401",
        format!(
            "cannot reshape {} to {}: a dim after the first is not a power of two",
            shape_text(have),
            shape_text(shape)
        ),
    )
    .with_label(span, format!("to {}", shape_text(shape)))
    .with_label(value, format!("this has shape {}", shape_text(have)))
    .with_help(
        "blocks are padded to powers of two per dim, so `reshape` needs every dim after the \
         first (past leading 1s) of both shapes to be a power of two; pad the block yourself \
         and mask, or reshape a power-of-two block",
    )
}

/// E0402: operands whose shapes do not broadcast (`shape`: the operands' so far, from `from`
/// when one of them has it; `other`: the next operand's, at `span`).
pub fn shapes_not_broadcastable(
    shape: &[u32],
    from: Option<Span>,
    other: &[u32],
    span: Span,
) -> Diagnostic {
    let mut d = Diagnostic::error(
        "E0402",
        format!(
            "shapes {} and {} cannot be broadcast together",
            shape_text(shape),
            shape_text(other)
        ),
    )
    .with_label(span, format!("this has shape {}", shape_text(other)));
    if let Some(f) = from {
        d = d.with_label(f, format!("this has shape {}", shape_text(shape)));
    }
    d.with_help(
        "dims must be equal or 1 (numpy broadcasting); insert dims with `x[:, None]` or \
         `x[None, :]`",
    )
}

/// E0402: a `mask`, `other` or stored value (`what`) that does not broadcast to the pointer's
/// shape.
pub fn not_broadcastable_to_pointer(
    what: &str,
    have: &[u32],
    span: Span,
    pointer: &[u32],
    ptr: Span,
) -> Diagnostic {
    Diagnostic::error(
        "E0402",
        format!(
            "`{what}` of shape {} does not broadcast to the pointer shape {}",
            shape_text(have),
            shape_text(pointer)
        ),
    )
    .with_label(span, format!("this has shape {}", shape_text(have)))
    .with_label(
        ptr,
        format!("the pointer has shape {}", shape_text(pointer)),
    )
    .with_help("dims must be equal or 1 (numpy broadcasting) and cannot exceed the pointer's")
}

/// E0402: `join` of blocks of different shapes.
pub fn join_shapes(a: &[u32], a_span: Span, b: &[u32], b_span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0402",
        format!(
            "`join` operands have shapes {} and {}",
            shape_text(a),
            shape_text(b)
        ),
    )
    .with_label(a_span, shape_text(a))
    .with_label(b_span, shape_text(b))
    .with_help("`join` stacks two blocks of the same shape; use `broadcast_to` first")
}

/// E0402: `broadcast_to` a shape the value does not broadcast to.
pub fn cannot_broadcast_to(have: &[u32], shape: &[u32], span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0402",
        format!(
            "cannot broadcast shape {} to {}",
            shape_text(have),
            shape_text(shape)
        ),
    )
    .with_label(span, format!("this has shape {}", shape_text(have)))
    .with_help("dims must be equal or 1 (numpy broadcasting)")
}

/// E0403: a written shape without 1 to 4 dims.
pub fn shape_rank(dims: usize, span: Span) -> Diagnostic {
    Diagnostic::error("E0403", format!("blocks have 1 to 4 dims, found {dims}"))
        .with_label(span, "in this shape")
        .with_help("use a shape like `[64]` or `[32, 32]`")
}

/// E0403: a block as the fill value of `full`/`full_like`.
pub fn fill_not_scalar(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0403", "the fill value must be a scalar")
        .with_label(span, format!("this is {found}"))
        .with_help("use `broadcast_to` for blocks")
}

/// E0403: an index with another number of `:` than the value has dims (`ty`: its type).
pub fn index_colons(full: usize, rank: usize, span: Span, ty: &str, value: Span) -> Diagnostic {
    Diagnostic::error(
        "E0403",
        format!("index has {full} `:` but the value has rank {rank}"),
    )
    .with_label(span, format!("expected {rank} `:`"))
    .with_label(value, format!("this is `{ty}`"))
    .with_help("write one `:` per dim of the value and `None` where a new dim of size 1 goes")
}

/// E0403: an index whose `None`s make more than 4 dims.
pub fn index_too_many_dims(span: Span) -> Diagnostic {
    Diagnostic::error("E0403", "blocks have at most 4 dims")
        .with_label(span, "this makes more than 4 dims")
        .with_help("use fewer `None`s")
}

/// E0403: a scan of a scalar.
pub fn scan_of_scalar(name: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0403", format!("`{name}` scans a block, found {found}"))
        .with_label(span, format!("this is {found}"))
        .with_help("a scan runs along an axis of a block; a scalar is its own scan")
}

/// E0403: a builtin that takes `rank`-D blocks given a block of another rank.
pub fn tile_rank(name: &str, rank: usize, have: usize, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0403",
        format!("`{name}` takes {rank}-D blocks, not rank {have}"),
    )
    .with_label(span, format!("this is {found}"))
    .with_help(format!(
        "`{name}` works on {rank}-D blocks; use `reshape` or `x[None, :]` to change the rank"
    ))
}

/// E0403: `join` of 4-D blocks.
pub fn join_too_many_dims(span: Span) -> Diagnostic {
    Diagnostic::error("E0403", "`join` of 4-D blocks would give 5 dims")
        .with_label(span, "blocks have at most 4 dims")
        .with_help("reshape to fewer dims first")
}

/// A block of `count` elements, more than `MAX_ELEMENTS`, labelled at `span`.
fn too_large(count: u64, span: Span, label: String) -> Diagnostic {
    Diagnostic::error("E0404", format!("block of {count} elements is too large"))
        .with_label(span, label)
        .with_help(format!(
            "blocks hold at most {MAX_ELEMENTS} (2^20) elements"
        ))
}

/// E0404: a written shape of too many elements.
pub fn shape_too_large(count: u64, shape: &[u32], span: Span) -> Diagnostic {
    too_large(count, span, format!("shape {}", shape_text(shape)))
}

/// E0404: operands that broadcast to a block of too many elements.
pub fn broadcast_too_large(count: u64, shape: &[u32], span: Span) -> Diagnostic {
    too_large(count, span, format!("this has shape {}", shape_text(shape)))
}

/// E0405: a block where a scalar bool condition (`what`) is required.
pub fn block_condition(what: &str, found: &str, shape: &[u32], span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0405",
        format!("{what} must be a scalar `bool`, found {found}"),
    )
    .with_label(
        span,
        format!("this is a block of shape {}", shape_text(shape)),
    )
    .with_help("use `where(cond, a, b)` for a block condition, or reduce it first")
}

/// E0406: a grid axis other than 0, 1 and 2.
pub fn grid_axis_out_of_range(axis: i128, span: Span) -> Diagnostic {
    Diagnostic::error("E0406", format!("grid axis {axis} is out of range"))
        .with_label(span, "must be 0, 1 or 2")
        .with_help("the grid has 3 axes: 0, 1 and 2")
}

/// E0406: a reduction or scan axis outside a block of `shape`.
pub fn axis_out_of_range(axis: i128, shape: &[u32], span: Span, block: Span) -> Diagnostic {
    let rank = shape.len() as i128;
    let help = if rank == 0 {
        "a scalar has no axes; drop `axis`".to_string()
    } else {
        format!(
            "use an axis in {}..{rank} (negative counts from the end)",
            -rank
        )
    };
    Diagnostic::error(
        "E0406",
        format!("axis {axis} is out of range for a block of rank {rank}"),
    )
    .with_label(span, format!("this is {axis}"))
    .with_label(block, format!("this has shape {}", shape_text(shape)))
    .with_help(help)
}

/// E0406: an `expand_dims` axis outside `-rank - 1..=rank` (or of a 4-D block).
pub fn expand_axis_out_of_range(axis: i128, rank: i128, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0406",
        format!("axis {axis} is out of range for rank {rank}"),
    )
    .with_label(span, format!("must be in {}..={rank}", -rank - 1))
    .with_help("blocks have at most 4 dims")
}

/// E0407: an `arange` whose length is not positive or past `MAX_ELEMENTS`.
pub fn arange_length(start: i128, end: i128, len: i128, span: Span, end_span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0407",
        format!("`arange({start}, {end})` has length {len}, not from 1 to {MAX_ELEMENTS}"),
    )
    .with_label(span, format!("length {len}"))
    .with_label(end_span, "end")
    .with_help("`end` must be greater than `start`, by at most 2^20")
}

/// E0420: `dot` of blocks whose inner dims differ.
pub fn dot_inner_dims(a: &[u32], a_span: Span, b: &[u32], b_span: Span) -> Diagnostic {
    let (k, k2) = (a[1], b[0]);
    Diagnostic::error(
        "E0420",
        format!(
            "`dot` of {} and {}: the inner dims differ ({k} and {k2})",
            shape_text(a),
            shape_text(b)
        ),
    )
    .with_label(a_span, format!("this has K = {k}"))
    .with_label(b_span, format!("this has K = {k2}"))
    .with_help("`dot(a, b)` takes `a: [M, K]` and `b: [K, N]`; `trans(b)` may help")
}

/// E0421: a `dot` accumulator whose shape is not the product's.
pub fn dot_accumulator_shape(acc: &[u32], product: &[u32], span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0421",
        format!(
            "the `dot` accumulator has shape {}, the product {}",
            shape_text(acc),
            shape_text(product)
        ),
    )
    .with_label(span, format!("this is {}", shape_text(acc)))
    .with_help("`acc` must have the product's shape [M, N]")
}

/// E0422: a `dot` `input_precision` other than "ieee".
pub fn unknown_input_precision(precision: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0422",
        format!("unknown `input_precision` \"{precision}\""),
    )
    .with_label(span, "not supported")
    .with_help("the only precision is \"ieee\" (exact f32 products)")
}

/// E0423: `reshape` to another number of elements (`shape` written at `span`).
pub fn reshape_count(have: &[u32], shape: &[u32], span: Span, value: Span) -> Diagnostic {
    let have_count: u64 = have.iter().map(|&d| d as u64).product();
    let count: u64 = shape.iter().map(|&d| d as u64).product();
    Diagnostic::error(
        "E0423",
        format!(
            "cannot reshape {} ({have_count} elements) to {} ({count} elements)",
            shape_text(have),
            shape_text(shape)
        ),
    )
    .with_label(span, format!("{count} elements"))
    .with_label(value, format!("{have_count} elements"))
    .with_help("`reshape` keeps every element; the sizes must match")
}

/// E0424: `permute` dims that are not a permutation of the block's.
pub fn not_a_permutation(perm: &[i128], shape: &[u32], span: Span, value: Span) -> Diagnostic {
    let rank = shape.len();
    Diagnostic::error(
        "E0424",
        format!("{perm:?} is not a permutation of the {rank} dims of `x`"),
    )
    .with_label(span, "not a permutation")
    .with_label(value, format!("this has shape {}", shape_text(shape)))
    .with_help(format!(
        "list each dim index 0..{rank} exactly once, e.g. {:?}",
        (0..rank).rev().collect::<Vec<_>>()
    ))
}
