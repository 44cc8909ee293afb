//! The pass after `vectors`: bounds checks proven away. Safe mode checks every element of an
//! access against its buffer's length; where this pass can write the access's index as a sum of
//! offsets over the launch's scalar arguments, the program coordinates, `arange` lanes and
//! counted loop variables (`abi::contract::Expr`), and find conjuncts `part < limit` of its mask
//! whose `part` is one of the offsets or a piece of one, it marks the access `proven` and records
//! a launch contract (`abi::contract::Contract`) that the runtime checks once before dispatch:
//! no value of the computation leaves its type, the lowest index is not negative and the highest
//! (each bounded part below its limit) is below the buffer's length. Anything else (unmasked
//! accesses, loads of indices, loop-carried pointers, subtraction, unsigned or narrow arithmetic,
//! division, a mask of another form) keeps its per-element check.
//!
//! Why a contract and not a proof alone: whether `offs < n` keeps an access inside `x` depends on
//! the buffer bound to `x` holding `n` elements, which only the launch knows; checking it once
//! per launch costs nothing beside the kernel (docs/decisions.md, "Bounds checks proven away").
use super::layouts::for_each_inst;
use crate::abi::contract::{Contract, Expr, MaskBound, Op};
use crate::base::{Literal, ParamKind, ScalarType};
use crate::ir::{BinaryOp, CmpOp, Elem, InstKind, Kernel, Plan, ValueId};

/// Marks every load and store of `kernel` that a launch contract proves inside its buffer and
/// records the contracts in the schedule (after `vectors::plan_accesses`).
pub fn prove_accesses(kernel: &mut Kernel) {
    let index_bits = index_bits(kernel);
    let cx = Cx {
        kernel,
        loops: counted_loops(kernel),
    };
    let mut proven = Vec::new();
    for_each_inst(&kernel.body, kernel, &mut |id| {
        let (ptr, mask, store) = match kernel.insts[id].kind {
            InstKind::Load { ptr, mask, .. } => (ptr, mask, false),
            InstKind::Store { ptr, mask, .. } => (ptr, mask, true),
            _ => return,
        };
        if let Some(contract) = contract(&cx, ptr, mask, store, index_bits) {
            proven.push((id, contract));
        }
    });
    let Some(schedule) = kernel.schedule.as_mut() else {
        return;
    };
    for (id, contract) in proven {
        let Some(Some(Plan::Access(plan))) = schedule.plans.get_mut(id.index()) else {
            continue;
        };
        plan.proven = true;
        if !schedule.contracts.contains(&contract) {
            schedule.contracts.push(contract);
        }
    }
}

/// What the pass reads of a kernel: the kernel and its counted loops.
struct Cx<'a> {
    kernel: &'a Kernel,
    /// Per local: `(start, end, step)` of the `for` loop whose variable it is, when nothing
    /// else assigns it and `step` is a positive constant.
    loops: Vec<Option<(ValueId, ValueId, i64)>>,
}

/// The counted loops of `kernel`, per local (see `Cx::loops`).
fn counted_loops(kernel: &Kernel) -> Vec<Option<(ValueId, ValueId, i64)>> {
    let mut assigned = vec![false; kernel.locals.len()];
    let mut loops = vec![None; kernel.locals.len()];
    for_each_inst(
        &kernel.body,
        kernel,
        &mut |id| match kernel.insts[id].kind {
            InstKind::LocalSet { local, .. } => assigned[local.index()] = true,
            InstKind::For {
                var,
                start,
                end,
                step,
                ..
            } => {
                if let InstKind::Const(Literal::Int(s)) = kernel.insts[step].kind {
                    if s > 0 && s <= i64::MAX as i128 {
                        loops[var.index()] = Some((start, end, s as i64));
                    }
                }
            }
            _ => {}
        },
    );
    for (l, a) in loops.iter_mut().zip(&assigned) {
        if *a {
            *l = None;
        }
    }
    loops
}

/// The bits of the kernel's index type: 64 when some pointer offset is a 64-bit integer (as
/// the SPIR-V emitter decides), else 32.
fn index_bits(kernel: &Kernel) -> u32 {
    let wide = kernel.insts.iter().any(|(_, inst)| match &inst.kind {
        InstKind::PtrOffset { offset, .. } => kernel
            .ty(*offset)
            .scalar_type()
            .is_some_and(|t| t.bits() == 64),
        _ => false,
    });
    if wide {
        64
    } else {
        32
    }
}

/// The launch contract under which the access through `ptr` with `mask` stays inside its
/// buffer, if the pass can write one.
fn contract(
    cx: &Cx,
    ptr: ValueId,
    mask: Option<ValueId>,
    store: bool,
    index_bits: u32,
) -> Option<Contract> {
    let (param, offsets) = pointer(cx, ptr)?;
    // An offset that may be negative by its form is left to its per-element check: a launch
    // could well keep every access inside the buffer and yet break the contract.
    if !offsets.iter().all(non_negative_form) {
        return None;
    }
    // An unmasked access keeps its check too: its index leaves the buffer only through a
    // mistake, which the per-element check reports where it happens.
    let mut conjuncts_found = Vec::new();
    conjuncts(cx, mask?, &mut conjuncts_found);
    // The conjuncts that bound a part of the index; without one the access keeps its check.
    // A limit must be the same for the whole launch: one that moves with the program or the
    // loop (`cols < K - k * BLOCK_K`) usually cancels another part of the index, which ranges
    // cannot see, so its contract would refuse launches that stay inside the buffer.
    let bounds: Vec<MaskBound> = conjuncts_found
        .into_iter()
        .filter(|(lhs, limit)| launch_constant(limit) && offsets.iter().any(|o| contains(o, lhs)))
        .map(|(lhs, limit)| MaskBound { lhs, limit })
        .collect();
    if bounds.is_empty() {
        return None;
    }
    Some(Contract {
        param,
        name: cx.kernel.params[param as usize].name.clone(),
        store,
        offsets,
        bounds,
        index_bits,
    })
}

/// Whether `e` has one value for the whole launch (scalar arguments, constants, grid sizes).
fn launch_constant(e: &Expr) -> bool {
    match e {
        Expr::Const(_) | Expr::Scalar { .. } | Expr::NumPrograms(_) => true,
        Expr::ProgramId(_) | Expr::Arange { .. } | Expr::Loop { .. } => false,
        Expr::Binary { lhs, rhs, .. } => launch_constant(lhs) && launch_constant(rhs),
    }
}

/// Whether `part` is `e` or one of its subexpressions.
fn contains(e: &Expr, part: &Expr) -> bool {
    e == part
        || match e {
            Expr::Binary { lhs, rhs, .. } => contains(lhs, part) || contains(rhs, part),
            _ => false,
        }
}

/// The pointer parameter `ptr` derives from and the offsets added to it, in order.
fn pointer(cx: &Cx, ptr: ValueId) -> Option<(u32, Vec<Expr>)> {
    let kernel = cx.kernel;
    match &kernel.insts[ptr].kind {
        InstKind::Param(n) => match kernel.params[*n as usize].kind {
            ParamKind::Pointer { .. } => Some((*n, Vec::new())),
            ParamKind::Scalar(_) => None,
        },
        InstKind::PtrOffset { ptr, offset } => {
            let (param, mut offsets) = pointer(cx, *ptr)?;
            offsets.push(expr(cx, *offset)?);
            Some((param, offsets))
        }
        // The same elements in a tile (a broadcast keeps its dims, a new dim shifts the lanes'
        // dims past it, a layout conversion moves them between invocations).
        InstKind::Splat(p) | InstKind::Broadcast(p) | InstKind::ConvertLayout(p) => pointer(cx, *p),
        InstKind::ExpandDims { value, axis } => {
            let (param, offsets) = pointer(cx, *value)?;
            Some((
                param,
                offsets.iter().map(|o| shift_dims(o, *axis)).collect(),
            ))
        }
        _ => None,
    }
}

/// The conjuncts `lhs < limit` of a mask, as expressions (others are left out: fewer conjuncts
/// prove less, never something false).
fn conjuncts(cx: &Cx, mask: ValueId, out: &mut Vec<(Expr, Expr)>) {
    let kernel = cx.kernel;
    match &kernel.insts[mask].kind {
        InstKind::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
        } => {
            conjuncts(cx, *lhs, out);
            conjuncts(cx, *rhs, out);
        }
        InstKind::Compare { op, lhs, rhs } => {
            let (below, limit) = match op {
                CmpOp::Lt => (*lhs, *rhs),
                CmpOp::Gt => (*rhs, *lhs),
                _ => return,
            };
            if let (Some(b), Some(l)) = (expr(cx, below), expr(cx, limit)) {
                out.push((b, l));
            }
        }
        InstKind::Splat(m) | InstKind::Broadcast(m) | InstKind::ConvertLayout(m) => {
            conjuncts(cx, *m, out)
        }
        InstKind::ExpandDims { value, axis } => {
            let mut inner = Vec::new();
            conjuncts(cx, *value, &mut inner);
            out.extend(
                inner
                    .iter()
                    .map(|(b, l)| (shift_dims(b, *axis), shift_dims(l, *axis))),
            );
        }
        _ => {}
    }
}

/// Signed integer types whose arithmetic the contract models (each wraps at its own width on
/// the device; narrower types compute in 32 bits there, so they are left out).
fn modelled(ty: ScalarType) -> bool {
    matches!(ty, ScalarType::I32 | ScalarType::I64)
}

/// Value `v` as a contract expression, if it is one the runtime can bound.
fn expr(cx: &Cx, v: ValueId) -> Option<Expr> {
    let kernel = cx.kernel;
    let ty = kernel.ty(v);
    let Elem::Scalar(scalar) = ty.elem else {
        return None;
    };
    let inst = &kernel.insts[v];
    match &inst.kind {
        InstKind::Const(Literal::Int(c)) if scalar.is_signed_int() => {
            Some(Expr::Const(i64::try_from(*c).ok()?))
        }
        InstKind::Param(n) => match kernel.params[*n as usize].kind {
            ParamKind::Scalar(t) if t.is_signed_int() => Some(Expr::Scalar {
                param: *n,
                name: kernel.params[*n as usize].name.clone(),
            }),
            _ => None,
        },
        InstKind::ProgramId(d) => Some(Expr::ProgramId(*d)),
        InstKind::LocalGet(local) if modelled(scalar) && ty.shape.is_empty() => {
            let (start, end, step) = cx.loops.get(local.index()).copied().flatten()?;
            Some(Expr::Loop {
                local: local.index() as u32,
                start: Box::new(expr(cx, start)?),
                end: Box::new(expr(cx, end)?),
                step,
                bits: scalar.bits(),
            })
        }
        InstKind::NumPrograms(d) => Some(Expr::NumPrograms(*d)),
        InstKind::Arange { start } => Some(Expr::Arange {
            dim: 0,
            start: *start,
            end: start.checked_add(*ty.shape.first()? as i64)?,
        }),
        InstKind::Splat(x) | InstKind::Broadcast(x) | InstKind::ConvertLayout(x) => expr(cx, *x),
        InstKind::ExpandDims { value, axis } => Some(shift_dims(&expr(cx, *value)?, *axis)),
        // A widening cast between signed integers keeps every value.
        InstKind::Cast(x) => {
            let from = kernel.ty(*x).scalar_type()?;
            (from.is_signed_int() && scalar.is_signed_int() && scalar.bits() >= from.bits())
                .then(|| expr(cx, *x))?
        }
        InstKind::Binary { op, lhs, rhs } if modelled(scalar) => {
            let op = match op {
                BinaryOp::Add => Op::Add,
                BinaryOp::Sub => Op::Sub,
                BinaryOp::Mul => Op::Mul,
                _ => return None,
            };
            Some(Expr::Binary {
                op,
                lhs: Box::new(expr(cx, *lhs)?),
                rhs: Box::new(expr(cx, *rhs)?),
                bits: scalar.bits(),
            })
        }
        _ => None,
    }
}

/// Whether `e` is a sum of products of values that are not negative when the launch passes no
/// negative size: no subtraction, no negative constant or `arange` start (scalar arguments and
/// the program coordinates are checked by the contract).
fn non_negative_form(e: &Expr) -> bool {
    match e {
        Expr::Const(v) => *v >= 0,
        Expr::Arange { start, .. } => *start >= 0,
        Expr::Scalar { .. } | Expr::ProgramId(_) | Expr::NumPrograms(_) => true,
        Expr::Binary { op, lhs, rhs, .. } => {
            *op != Op::Sub && non_negative_form(lhs) && non_negative_form(rhs)
        }
        Expr::Loop { start, .. } => non_negative_form(start),
    }
}

/// `e` with a new dim inserted at `axis`: lanes along dims at or past it move one dim on.
fn shift_dims(e: &Expr, axis: u32) -> Expr {
    match e {
        Expr::Arange { dim, start, end } => Expr::Arange {
            dim: if *dim >= axis { dim + 1 } else { *dim },
            start: *start,
            end: *end,
        },
        Expr::Binary { op, lhs, rhs, bits } => Expr::Binary {
            op: *op,
            lhs: Box::new(shift_dims(lhs, axis)),
            rhs: Box::new(shift_dims(rhs, axis)),
            bits: *bits,
        },
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contracts(src: &str, kernel: &str) -> (Vec<String>, Vec<bool>) {
        let program = crate::driver::check_source("bounds.tk", src, &crate::driver::DiskLoader);
        assert!(!program.has_errors(), "{:?}", program.diagnostics);
        let module = crate::driver::lower(&program, kernel, &[]).expect("lowers");
        let module = crate::passes::run(module, &crate::abi::Target::cpu()).expect("schedules");
        let k = &module.kernel;
        let schedule = k.schedule.as_ref().unwrap();
        let proven = k
            .insts
            .iter()
            .filter_map(|(id, _)| match schedule.plan(id) {
                Some(Plan::Access(a)) => Some(a.proven),
                _ => None,
            })
            .collect();
        (
            schedule.contracts.iter().map(|c| c.to_string()).collect(),
            proven,
        )
    }

    #[test]
    fn a_mask_below_n_proves_the_access_under_n_elements() {
        let (c, proven) = contracts(
            "kernel k(x: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 64) {
                let offs = program_id(0) * BLOCK + arange(0, BLOCK);
                store(out + offs, load(x + offs, mask: offs < n), mask: offs < n);
            }",
            "k",
        );
        assert_eq!(c, vec!["x: n elements", "out: n elements"]);
        assert_eq!(proven, vec![true, true]);
    }

    #[test]
    fn a_row_of_a_matrix_is_bounded_by_the_rows_before_it() {
        let (c, _) = contracts(
            "kernel k(x: *f32, n_cols: i32) {
                let cols = arange(0, 64);
                let v = load(x + program_id(0) * n_cols + cols, mask: cols < n_cols);
                device_assert(v == v, \"read\");
            }",
            "k",
        );
        assert_eq!(c, vec!["x: program_id(0) * n_cols + n_cols elements"]);
    }

    #[test]
    fn every_conjunct_of_a_2d_mask_bounds_its_part_of_the_index() {
        let (c, proven) = contracts(
            "kernel k(x: *f32, out: *mut f32, n_rows: i32, n_cols: i32) {
                let cols = program_id(0) * 64 + arange(0, 64);
                let mut acc = zeros([64], f32);
                for r0 in range(0, n_rows, 8) {
                    let rows = r0 + arange(0, 8);
                    let mask = (rows < n_rows)[:, None] & (cols < n_cols)[None, :];
                    let tile = load(x + rows[:, None] * n_cols + cols[None, :], mask: mask);
                    acc += sum(tile, axis: 0);
                }
                store(out + cols, acc, mask: cols < n_cols);
            }",
            "k",
        );
        assert_eq!(
            c,
            vec![
                "x: (n_rows - 1) * n_cols + n_cols elements",
                "out: n_cols elements"
            ]
        );
        assert_eq!(proven, vec![true, true]);
    }

    #[test]
    fn unprovable_accesses_keep_their_checks() {
        let (c, proven) = contracts(
            "kernel k(x: *f32, idx: *i32, out: *mut f32, n: i32) {
                let offs = arange(0, 64);
                // The mask bounds another dim than the index.
                let rows = arange(0, 8);
                let cols = offs[None, :] + zeros([8, 64], i32);
                let a = load(x + cols, mask: rows[:, None] < n);
                // An index loaded from memory (and an unmasked load).
                let b = load(x + load(idx + offs), mask: offs < n);
                // A subtraction.
                let c = load(x + (offs - 1), mask: offs - 1 < n);
                // A mask that bounds something else.
                store(out + offs, b, mask: offs + 1 < n);
                // A limit that moves with the loop (Triton's `K - k * BLOCK_K`): it cancels
                // the loop's part of the index, which a contract on ranges could not see.
                for k in range(0, n, 64) {
                    let v = load(x + k + offs, mask: offs < n - k);
                    store(out + k + offs, v, mask: offs < n - k);
                }
                store(out + offs, c, mask: offs + 1 < n);
                store(out + cols, a, mask: rows[:, None] < n);
            }",
            "k",
        );
        assert!(c.is_empty(), "{c:?}");
        assert_eq!(proven, vec![false; 9]);
    }
}
