//! Scalars the cost model folds from constants and the launch's scalar arguments: loop trip
//! counts and `if` conditions.
use crate::base::{KernelArg, Literal};
use crate::ir::{BinaryOp, CmpOp, InstKind, Kernel, ValueId};

/// The trip count of `for _ in range(start, end, step)` when its bounds are known.
pub(super) fn trip_count(
    kernel: &Kernel,
    args: &[KernelArg],
    start: ValueId,
    end: ValueId,
    step: ValueId,
) -> Option<u64> {
    let (start, end, step) = (
        scalar(kernel, args, start)?,
        scalar(kernel, args, end)?,
        scalar(kernel, args, step)?,
    );
    let ceil_div = |a: i128, b: i128| (a.max(0) + b - 1) / b;
    let trips = match step {
        0 => 0,
        s if s > 0 => ceil_div(end - start, s),
        s => ceil_div(start - end, -s),
    };
    u64::try_from(trips).ok()
}

/// The value of an integer or bool scalar computed from constants and the launch's scalar
/// arguments only; `None` for anything else (program ids, locals, loads, floats).
pub fn scalar(kernel: &Kernel, args: &[KernelArg], value: ValueId) -> Option<i128> {
    scalar_at(kernel, args, value, 64)
}

fn scalar_at(kernel: &Kernel, args: &[KernelArg], value: ValueId, depth: u32) -> Option<i128> {
    let depth = depth.checked_sub(1)?;
    if value.index() >= kernel.insts.len() {
        return None;
    }
    let inst = &kernel.insts[value];
    if !inst.ty.as_ref()?.is_scalar() {
        return None;
    }
    let get = |v: ValueId| scalar_at(kernel, args, v, depth);
    Some(match &inst.kind {
        InstKind::Const(Literal::Int(i)) => *i,
        InstKind::Const(Literal::Bool(b)) => *b as i128,
        InstKind::Param(n) => match args.get(*n as usize)? {
            KernelArg::Scalar(Literal::Int(i)) => *i,
            KernelArg::Scalar(Literal::Bool(b)) => *b as i128,
            _ => return None,
        },
        InstKind::Cast(x) => {
            let ty = inst.ty.as_ref()?.scalar_type()?;
            if ty.is_float() {
                return None;
            }
            get(*x)?
        }
        InstKind::Binary { op, lhs, rhs } => {
            if inst.ty.as_ref()?.scalar_type()?.is_float() {
                return None;
            }
            let (a, b) = (get(*lhs)?, get(*rhs)?);
            match op {
                BinaryOp::Add => a.checked_add(b)?,
                BinaryOp::Sub => a.checked_sub(b)?,
                BinaryOp::Mul => a.checked_mul(b)?,
                BinaryOp::Div => a.checked_div(b)?,
                BinaryOp::Rem => a.checked_rem(b)?,
                BinaryOp::Min => a.min(b),
                BinaryOp::Max => a.max(b),
                BinaryOp::And => a & b,
                BinaryOp::Or => a | b,
                BinaryOp::Xor => a ^ b,
                BinaryOp::Shl => a.checked_shl(u32::try_from(b).ok()?)?,
                BinaryOp::Shr => a.checked_shr(u32::try_from(b).ok()?)?,
                BinaryOp::Pow | BinaryOp::MulHi => return None,
            }
        }
        InstKind::Compare { op, lhs, rhs } => {
            if kernel.ty(*lhs).scalar_type()?.is_float() {
                return None;
            }
            let (a, b) = (get(*lhs)?, get(*rhs)?);
            (match op {
                CmpOp::Eq => a == b,
                CmpOp::Ne => a != b,
                CmpOp::Lt => a < b,
                CmpOp::Le => a <= b,
                CmpOp::Gt => a > b,
                CmpOp::Ge => a >= b,
            }) as i128
        }
        InstKind::Select {
            cond,
            on_true,
            on_false,
        } => {
            if get(*cond)? != 0 {
                get(*on_true)?
            } else {
                get(*on_false)?
            }
        }
        _ => return None,
    })
}
