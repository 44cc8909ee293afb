//! The pass after `vectors`: bounds checks proven away. Safe mode checks every element of an
//! access against its buffer's length; where this pass can write the access's index as a sum of
//! offsets over the launch's scalar arguments, the program coordinates, `arange` lanes and
//! counted loop variables (`abi::contract::Expr`, with `/`, `%`, `minimum` and `maximum`), and
//! find conjuncts `part < limit` of its mask whose `part` is one of the offsets or a piece of
//! one, it marks the access `proven` and records a launch contract (`abi::contract::Contract`)
//! that the runtime checks once before dispatch: no value of the computation leaves its type,
//! the lowest index is not negative and the highest (each bounded part below its limit) is below
//! the buffer's length.
//!
//! Triton's matmul walks K with pointers carried by the loop (`a_ptrs += BLOCK_K * stride_ak`)
//! under a mask whose limit moves with it (`offs_k < K - k * BLOCK_K`). A pointer local set once
//! before a `for k in range(0, n)` loop and advanced by a loop-invariant step once at the end of
//! its body is, wherever the body reads it before the step, its first value plus `k` steps. A
//! limit that moves is moved to the other side (`offs_k + k * BLOCK_K < K`), and the index,
//! expanded into a sum of products (`sums::Sum`), is rewritten around that part
//! (`rest + stride_ak * (offs_k + k * BLOCK_K)`, `contract::Rearranged`).
//!
//! Anything else (unmasked accesses, loads of indices, other loop-carried values, subtraction in
//! an offset, unsigned or narrow arithmetic, a mask of another form) keeps its per-element
//! check.
//!
//! Why a contract and not a proof alone: whether `offs < n` keeps an access inside `x` depends on
//! the buffer bound to `x` holding `n` elements, which only the launch knows; checking it once
//! per launch costs nothing beside the kernel (docs/decisions.md, "Bounds checks proven away").
mod sums;

use super::layouts::for_each_inst;
use crate::abi::contract::{Contract, Expr, MaskBound, Op, Rearranged};
use crate::base::{Literal, ParamKind, ScalarType};
use crate::ir::{BinaryOp, CmpOp, Elem, InstKind, Kernel, LocalId, Plan, Region, ValueId};
use std::collections::HashMap;
use sums::Sum;

/// Marks every load and store of `kernel` that a launch contract proves inside its buffer and
/// records the contracts in the schedule (after `vectors::plan_accesses`).
pub fn prove_accesses(kernel: &mut Kernel) {
    let index_bits = index_bits(kernel);
    let loops = counted_loops(kernel);
    let cx = Cx {
        kernel,
        inductions: pointer_inductions(kernel, &loops),
        loops,
        index_bits,
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

/// What the pass reads of a kernel: the kernel, its counted loops and the pointers they carry.
struct Cx<'a> {
    kernel: &'a Kernel,
    /// Per local: `(start, end, step)` of the `for` loop whose variable it is, when nothing
    /// else assigns it and `step` is a positive constant.
    loops: Vec<Option<(ValueId, ValueId, i64)>>,
    /// Per read of a pointer local inside a loop that advances it: how (`pointer_inductions`).
    inductions: HashMap<ValueId, Induction>,
    index_bits: u32,
}

/// A pointer local that a `for var in range(0, n)` loop advances by `step` at the end of its
/// body, read earlier in the body: there it is `init + var * step`.
#[derive(Debug, Clone, Copy)]
struct Induction {
    init: ValueId,
    step: ValueId,
    var: LocalId,
}

/// Where an assignment of a local is: its region, position there, and the loop or branch whose
/// region that is (none at the top of the kernel).
struct Site {
    id: ValueId,
    region: *const Region,
    index: usize,
    owner: Option<ValueId>,
}

/// The reads of pointer locals that counted loops advance (see `Induction`): the local is
/// assigned twice, once before the loop in the loop's own region and once as
/// `ptr_offset(local, step)` at the top of the loop's body; the loop counts from 0 by 1 and
/// nothing else assigns its variable. Every read of the local in the body before that
/// assignment (nested regions included) is an induction.
fn pointer_inductions(
    kernel: &Kernel,
    loops: &[Option<(ValueId, ValueId, i64)>],
) -> HashMap<ValueId, Induction> {
    fn walk(
        kernel: &Kernel,
        region: &Region,
        owner: Option<ValueId>,
        sets: &mut HashMap<LocalId, Vec<Site>>,
        places: &mut HashMap<ValueId, Site>,
    ) {
        for (index, &id) in region.insts.iter().enumerate() {
            let site = Site {
                id,
                region: region as *const Region,
                index,
                owner,
            };
            match kernel.insts[id].kind {
                InstKind::LocalSet { local, .. } => sets.entry(local).or_default().push(site),
                InstKind::For { .. } => {
                    places.insert(id, site);
                }
                _ => {}
            }
            for nested in kernel.insts[id].kind.regions() {
                walk(kernel, nested, Some(id), sets, places);
            }
        }
    }
    let mut sets = HashMap::new();
    let mut fors = HashMap::new();
    walk(kernel, &kernel.body, None, &mut sets, &mut fors);
    let mut inductions = HashMap::new();
    for (local, sites) in &sets {
        if sites.len() != 2 || !matches!(kernel.locals[*local].ty.elem, Elem::Ptr { .. }) {
            continue;
        }
        for (advance, first) in [(&sites[0], &sites[1]), (&sites[1], &sites[0])] {
            let Some(looped) = advance.owner else {
                continue;
            };
            let InstKind::For {
                var, start, body, ..
            } = &kernel.insts[looped].kind
            else {
                continue;
            };
            // The loop counts 0, 1, 2, … and the first value is set before it, beside it.
            let counted = matches!(loops.get(var.index()), Some(Some((_, _, 1))))
                && matches!(kernel.insts[*start].kind, InstKind::Const(Literal::Int(0)));
            let Some(place) = fors.get(&looped) else {
                continue;
            };
            if !counted || first.region != place.region || first.index >= place.index {
                continue;
            }
            let InstKind::LocalSet { value: init, .. } = kernel.insts[first.id].kind else {
                continue;
            };
            let InstKind::LocalSet { value: next, .. } = kernel.insts[advance.id].kind else {
                continue;
            };
            let InstKind::PtrOffset { ptr, offset: step } = kernel.insts[next].kind else {
                continue;
            };
            if !matches!(kernel.insts[ptr].kind, InstKind::LocalGet(l) if l == *local) {
                continue;
            }
            let induction = Induction {
                init,
                step,
                var: *var,
            };
            let before = Region {
                insts: body.insts[..advance.index].to_vec(),
            };
            // A `continue` before the step skips it: the pointer falls behind the count.
            if continues(kernel, &before) {
                continue;
            }
            for_each_inst(&before, kernel, &mut |id| {
                if matches!(kernel.insts[id].kind, InstKind::LocalGet(l) if l == *local) {
                    inductions.insert(id, induction);
                }
            });
        }
    }
    inductions
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
    // A limit that moves with the program or the loop (`cols < K - k * BLOCK_K`) usually
    // cancels another part of the index, which ranges cannot see: the index is rewritten
    // around it. Otherwise the conjuncts that bound a part of the index are the bounds.
    let moving = conjuncts_found
        .iter()
        .any(|(_, limit)| !launch_constant(limit));
    let (bounds, rearranged) = if moving {
        let (index, bounds, computed) = rearranged(&offsets, &conjuncts_found)?;
        (bounds, Some(Rearranged { index, computed }))
    } else {
        let bounds: Vec<MaskBound> = conjuncts_found
            .into_iter()
            .filter(|(lhs, _)| offsets.iter().any(|o| contains(o, lhs)))
            .map(|(lhs, limit)| MaskBound { lhs, limit })
            .collect();
        (bounds, None)
    };
    // Without a bound the access keeps its check.
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
        rearranged,
    })
}

/// The index (the sum of `offsets`) rewritten around the mask's conjuncts, with the bounds that
/// apply to it and the conjuncts' sides as the kernel computes them (`contract::Rearranged`).
///
/// A conjunct `lhs < limit` whose limit has parts that move becomes `part < fixed` with
/// `part = lhs - moving` (`offs_k + k * BLOCK_K < K`). The index, a sum of products, holds
/// `part` times some launch-constant factor when one of its terms is a term of `part` (one
/// with a factor that moves: a lane, a loop variable) times such factors (`stride_ak *
/// offs_k`); the index is then `rest + scale * part`, exactly, and `part`'s bound applies to it.
fn rearranged(
    offsets: &[Expr],
    conjuncts: &[(Expr, Expr)],
) -> Option<(Expr, Vec<MaskBound>, Vec<Expr>)> {
    let mut rest = Sum::default();
    for offset in offsets {
        rest = rest.plus(&Sum::of(offset)?, 1)?;
    }
    let (mut parts, mut bounds, mut computed) = (Vec::new(), Vec::new(), Vec::new());
    for (lhs, limit) in conjuncts {
        let (Some(lhs_sum), Some(limit_sum)) = (Sum::of(lhs), Sum::of(limit)) else {
            continue;
        };
        let (fixed, moving) = limit_sum.split(launch_constant);
        let Some(part) = lhs_sum.plus(&moving, -1) else {
            continue;
        };
        // A term of the part with a factor that moves, found in the index times factors that
        // do not.
        let scale = part
            .terms()
            .filter(|(p, _)| p.iter().any(|f| !launch_constant(f)))
            .find_map(|(pivot, unit)| {
                rest.terms().find_map(|(p, c)| {
                    let factors = sums::without(p, pivot)?;
                    (factors.iter().all(launch_constant) && c % unit == 0)
                        .then(|| (factors, c / unit))
                })
            });
        let Some((factors, times)) = scale else {
            continue;
        };
        let Some(left) = part
            .scaled(&factors, times)
            .and_then(|scaled| rest.plus(&scaled, -1))
        else {
            continue;
        };
        rest = left;
        let part = part.to_expr();
        let scale = sums::product_expr(&factors, times);
        parts.push(if scale == Expr::Const(1) {
            part.clone()
        } else {
            sums::binary(Op::Mul, scale, part.clone())
        });
        bounds.push(MaskBound {
            lhs: part,
            limit: fixed.to_expr(),
        });
        computed.extend([lhs.clone(), limit.clone()]);
    }
    // Every term must be non-negative by its form, as the offsets are (`contract`): a negative
    // rest (the index is `offs`, the mask `offs < n - k`) would refuse launches that keep
    // inside the buffer.
    let terms: Vec<Expr> = rest.term_exprs().chain(parts).collect();
    if bounds.is_empty() || !terms.iter().all(non_negative_form) {
        return None;
    }
    Some((sums::sum_expr(terms.into_iter())?, bounds, computed))
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
        // A pointer the loop advances: its first value plus `var` steps.
        InstKind::LocalGet(_) => {
            let induction = cx.inductions.get(&ptr)?;
            let (param, mut offsets) = pointer(cx, induction.init)?;
            let step = expr(cx, induction.step)?;
            if mentions_loop(&step, induction.var) {
                return None;
            }
            let scalar = cx.kernel.locals[induction.var].ty.scalar_type()?;
            offsets.push(Expr::Binary {
                op: Op::Mul,
                lhs: Box::new(loop_var(cx, induction.var, scalar)?),
                rhs: Box::new(step),
                bits: cx.index_bits,
            });
            Some((param, offsets))
        }
        _ => None,
    }
}

/// Whether `region` holds a `continue` of the loop it is in (not of a loop nested in it).
fn continues(kernel: &Kernel, region: &Region) -> bool {
    region.insts.iter().any(|&id| match &kernel.insts[id].kind {
        InstKind::Continue => true,
        InstKind::For { .. } | InstKind::While { .. } => false,
        kind => kind.regions().into_iter().any(|r| continues(kernel, r)),
    })
}

/// The counted loop variable `local` of type `scalar` as an expression.
fn loop_var(cx: &Cx, local: LocalId, scalar: ScalarType) -> Option<Expr> {
    let (start, end, step) = cx.loops.get(local.index()).copied().flatten()?;
    Some(Expr::Loop {
        local: local.index() as u32,
        start: Box::new(expr(cx, start)?),
        end: Box::new(expr(cx, end)?),
        step,
        bits: scalar.bits(),
    })
}

/// Whether `e` reads the variable `local` of a loop (in its bounds too).
fn mentions_loop(e: &Expr, local: LocalId) -> bool {
    match e {
        Expr::Loop {
            local: l,
            start,
            end,
            ..
        } => *l == local.index() as u32 || mentions_loop(start, local) || mentions_loop(end, local),
        Expr::Binary { lhs, rhs, .. } => mentions_loop(lhs, local) || mentions_loop(rhs, local),
        _ => false,
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
            loop_var(cx, *local, scalar)
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
                BinaryOp::Div => Op::Div,
                BinaryOp::Rem => Op::Rem,
                BinaryOp::Min => Op::Min,
                BinaryOp::Max => Op::Max,
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

/// Whether `e` is not negative by its form when the launch passes no negative size (scalar
/// arguments and program coordinates are checked by the contract): a launch could otherwise
/// keep every access inside the buffer (a mask of another form keeping the negative lanes
/// away) and yet break the contract.
fn non_negative_form(e: &Expr) -> bool {
    lowest(e).is_some_and(|v| v >= 0)
}

/// The lowest value `e` takes by its form, with every scalar argument and program coordinate at
/// 0 or more, if the form tells. A quotient or remainder of a dividend that is not negative is
/// not negative either, unless its divisor is: the contract checks the divisor's range at
/// launch with the rest of the index, so the form counts it as not negative (Triton's grouped
/// program order divides by `minimum(num_pid_m - first_pid_m, GROUP_SIZE_M)`).
fn lowest(e: &Expr) -> Option<i128> {
    match e {
        Expr::Const(v) => Some(*v as i128),
        Expr::Arange { start, .. } => Some(*start as i128),
        Expr::Scalar { .. } | Expr::ProgramId(_) => Some(0),
        Expr::NumPrograms(_) => Some(1),
        Expr::Loop { start, .. } => lowest(start),
        Expr::Binary { op, lhs, rhs, .. } => match op {
            Op::Add => Some(lowest(lhs)? + lowest(rhs)?),
            Op::Mul => {
                let (a, b) = (lowest(lhs)?, lowest(rhs)?);
                (a >= 0 && b >= 0).then_some(a * b)
            }
            // Only a constant taken off leaves a lowest value.
            Op::Sub => match **rhs {
                Expr::Const(c) => Some(lowest(lhs)? - c as i128),
                _ => None,
            },
            Op::Div | Op::Rem => (lowest(lhs)? >= 0).then_some(0),
            Op::Min => Some(lowest(lhs)?.min(lowest(rhs)?)),
            Op::Max => match (lowest(lhs), lowest(rhs)) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
        },
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
                // A limit that moves with the loop, over a part of the index it does not
                // hold: the index is the bounded part less the loop's.
                for k in range(0, n, 64) {
                    store(out + offs, b, mask: offs < n - k);
                }
                store(out + offs, c, mask: offs + 1 < n);
                store(out + cols, a, mask: rows[:, None] < n);
                // A pointer the loop advances by a step that changes with it.
                let mut p = x + offs;
                for k in range(0, n) {
                    store(out + offs, load(p, mask: offs < n - k * 64), mask: offs < n);
                    p = p + k;
                }
                // A pointer whose step a `continue` may skip.
                let mut q = x + offs;
                for k in range(0, n) {
                    let v = load(q, mask: offs < n - k * 64);
                    if k == 2 {
                        continue;
                    }
                    q = q + 64;
                }
            }",
            "k",
        );
        assert_eq!(c, vec!["out: n elements"]);
        assert_eq!(
            proven,
            vec![false, false, false, false, false, false, false, false, false, true, false]
        );
    }

    #[test]
    fn a_step_that_reads_a_wide_loop_variable_keeps_the_checks() {
        let (c, proven) = contracts(
            "kernel k(x: *f32, out: *mut f32, n: i64) {
                let offs = arange(0, 64) as i64;
                let mut p = x + offs;
                for k in range(0, n) {
                    store(out + offs, load(p, mask: offs < n - k * 64), mask: offs < n);
                    p = p + k;
                }
            }",
            "k",
        );
        assert_eq!(c, vec!["out: n elements"]);
        assert_eq!(proven, vec![false, true]);
    }

    #[test]
    fn a_limit_that_moves_with_the_loop_bounds_the_sum_it_cancels() {
        let (c, proven) = contracts(
            "kernel k(x: *f32, out: *mut f32, n: i32) {
                let offs = arange(0, 64);
                for k in range(0, n, 64) {
                    let v = load(x + k + offs, mask: offs < n - k);
                    store(out + k + offs, v, mask: offs < n - k);
                    // The part of the index the mask does not bound stays as it is.
                    store(out + 2 * k + offs, v, mask: offs < n - k);
                }
            }",
            "k",
        );
        assert_eq!(
            c,
            vec![
                "x: n elements",
                "out: n elements",
                "out: range(0, n, 64) + n elements"
            ]
        );
        assert_eq!(proven, vec![true, true, true]);
    }

    #[test]
    fn pointers_the_loop_advances_are_bounded_by_the_mask_that_moves_with_them() {
        // Triton's matmul: pointers advanced by BLOCK_K rows or columns per step, masked by
        // the K left, program ids mapped in groups through `/`, `%` and `minimum`.
        let src = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/kernels/matmul_autotune.tk"
        ))
        .unwrap();
        let (c, proven) = contracts(&src, "matmul");
        assert_eq!(
            c,
            vec![
                "a: stride_am * (M - 1) + stride_ak * (K - 1) + 1 elements",
                "b: stride_bn * (N - 1) + stride_bk * (K - 1) + 1 elements",
                "c: stride_cm * (M - 1) + stride_cn * (N - 1) + 1 elements",
            ]
        );
        assert_eq!(proven, vec![true; 3]);
    }
}
