//! Axis analysis (Triton's `AxisInfo`): per integer or pointer value and per dim, the
//! contiguity (length of aligned runs of consecutive values), divisibility (the largest power of
//! two dividing the first value of each run) and constancy (length of aligned runs of equal
//! values). Loads and stores use it to prove that a group of registers touches consecutive,
//! aligned elements, so one vec2/vec4 access can serve the group.
//!
//! Every figure is a power of two. The facts come from `arange`, constants, splats, broadcasts,
//! additions and multiplications, and from what the launch promises about its integer arguments
//! (`ir::Kernel::divisibility`, `driver::specialize`); anything else (loads, locals) knows
//! nothing (all ones), which is always safe. Bool values (masks) carry constancy: a comparison
//! `x < m` of a run of consecutive values against a value constant over it is constant over
//! aligned blocks as wide as what divides both, so a vector access can take one mask per vector.
use super::layouts::for_each_inst;
use crate::base::Literal;
use crate::ir::{BinaryOp, InstKind, Kernel};

/// The cap on divisibility: "divisible by everything that matters" (an index of 0).
pub const MAX_DIVISIBILITY: u64 = 1 << 30;

/// What is known of one value along each of its dims (scalars have one entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxisInfo {
    pub contiguity: Vec<u64>,
    pub divisibility: Vec<u64>,
    pub constancy: Vec<u64>,
}

impl AxisInfo {
    fn unknown(rank: usize) -> AxisInfo {
        AxisInfo {
            contiguity: vec![1; rank],
            divisibility: vec![1; rank],
            constancy: vec![1; rank],
        }
    }
    /// A value that is the same everywhere along every dim of `shape`.
    fn uniform(shape: &[u32], divisibility: u64) -> AxisInfo {
        let rank = shape.len().max(1);
        AxisInfo {
            contiguity: vec![1; rank],
            divisibility: vec![divisibility; rank],
            constancy: (0..rank)
                .map(|d| shape.get(d).copied().unwrap_or(1) as u64)
                .collect(),
        }
    }
    /// What divides every element along `d` (within a run of consecutive values only the first
    /// is aligned).
    pub fn element_divisibility(&self, d: usize) -> u64 {
        if self.contiguity[d] > 1 {
            1
        } else {
            self.divisibility[d]
        }
    }
    /// The figures along the last dim (the one vector accesses run along).
    pub fn last(&self) -> (u64, u64) {
        let d = self.contiguity.len() - 1;
        (self.contiguity[d], self.divisibility[d])
    }
}

/// The largest power of two dividing `v` (capped; 0 is divisible by everything).
pub fn power_of_two_divisor(v: i128) -> u64 {
    if v == 0 {
        return MAX_DIVISIBILITY;
    }
    let tz = v.unsigned_abs().trailing_zeros().min(30);
    1u64 << tz
}

/// Axis facts for every value of `kernel`, indexed like `Kernel::insts` (`None` for values that
/// are neither integers nor pointers, and for instructions without a result).
pub fn analyze(kernel: &Kernel) -> Vec<Option<AxisInfo>> {
    let mut info: Vec<Option<AxisInfo>> = vec![None; kernel.insts.len()];
    // Locals something other than their loop assigns: nothing is known of them.
    let mut assigned = vec![false; kernel.locals.len()];
    for_each_inst(&kernel.body, kernel, &mut |id| {
        if let InstKind::LocalSet { local, .. } = kernel.insts[id].kind {
            assigned[local.index()] = true;
        }
    });
    // Per local that only its `for` loop sets: what divides every value it takes (the start
    // and the step divide it).
    let mut loop_divisibility: Vec<Option<u64>> = vec![None; kernel.locals.len()];
    for_each_inst(&kernel.body, kernel, &mut |id| {
        let inst = &kernel.insts[id];
        if let InstKind::For {
            var, start, step, ..
        } = inst.kind
        {
            if !assigned[var.index()] {
                let scalar = |v: crate::ir::ValueId| {
                    info[v.index()]
                        .as_ref()
                        .map_or(1, |i| i.element_divisibility(0))
                };
                loop_divisibility[var.index()] = Some(scalar(start).min(scalar(step)));
            }
            return;
        }
        let Some(ty) = &inst.ty else {
            return;
        };
        let tracked = ty.scalar_type().is_none_or(|s| s.is_int() || s.is_bool());
        if !tracked {
            return;
        }
        let shape = &ty.shape;
        let rank = shape.len().max(1);
        let get = |v: crate::ir::ValueId| -> AxisInfo {
            info[v.index()]
                .clone()
                .filter(|i| i.contiguity.len() == rank)
                .unwrap_or_else(|| AxisInfo::unknown(rank))
        };
        let result = match &inst.kind {
            InstKind::Const(Literal::Int(v)) => AxisInfo::uniform(shape, power_of_two_divisor(*v)),
            InstKind::Const(_) => AxisInfo::uniform(shape, 1),
            // A pointer parameter starts at element 0 of its buffer; an integer parameter is
            // divisible by what the launch promises.
            InstKind::Param(n) => match kernel.params[*n as usize].kind {
                crate::ir::ParamKind::Pointer { .. } => AxisInfo::uniform(shape, MAX_DIVISIBILITY),
                crate::ir::ParamKind::Scalar(_) => {
                    AxisInfo::uniform(shape, kernel.param_divisibility(*n))
                }
            },
            InstKind::ProgramId(_) | InstKind::NumPrograms(_) => AxisInfo::uniform(shape, 1),
            InstKind::LocalGet(local) => match loop_divisibility[local.index()] {
                Some(d) if ty.is_scalar() => AxisInfo::uniform(shape, d),
                _ => AxisInfo::unknown(rank),
            },
            InstKind::Arange { start } => AxisInfo {
                contiguity: vec![shape[0] as u64],
                divisibility: vec![power_of_two_divisor(*start as i128)],
                constancy: vec![1],
            },
            InstKind::Splat(s) => {
                let d = info[s.index()]
                    .as_ref()
                    .map_or(1, |i| i.divisibility.iter().copied().min().unwrap_or(1));
                AxisInfo::uniform(shape, d)
            }
            InstKind::Broadcast(x) => {
                let from = kernel.ty(*x).shape.clone();
                let src = get(*x);
                let mut out = src.clone();
                for d in 0..shape.len() {
                    if from[d] != shape[d] {
                        out.contiguity[d] = 1;
                        out.constancy[d] = shape[d] as u64;
                    }
                }
                out
            }
            InstKind::ExpandDims { value, axis } => {
                let src_rank = kernel.ty(*value).shape.len();
                let src = info[value.index()]
                    .clone()
                    .unwrap_or_else(|| AxisInfo::unknown(src_rank.max(1)));
                // Along the new dim every element starts a run: what divides all of them.
                let min_div = (0..src.contiguity.len())
                    .map(|d| src.element_divisibility(d))
                    .min()
                    .unwrap_or(1);
                if src_rank == 0 {
                    AxisInfo::uniform(shape, min_div)
                } else {
                    let mut out = src;
                    let a = *axis as usize;
                    out.contiguity.insert(a, 1);
                    out.divisibility.insert(a, min_div);
                    out.constancy.insert(a, 1);
                    out
                }
            }
            InstKind::Cast(x) => {
                // Widening keeps every fact (values are unchanged); narrowing may wrap.
                let from = kernel.ty(*x).scalar_type();
                let to = ty.scalar_type();
                match (from, to) {
                    (Some(f), Some(t)) if f.is_int() && t.bits() >= f.bits() => get(*x),
                    _ => AxisInfo::unknown(rank),
                }
            }
            InstKind::PtrOffset { ptr, offset } => add(&get(*ptr), &get(*offset)),
            InstKind::Binary { op, lhs, rhs } => {
                let (a, b) = (get(*lhs), get(*rhs));
                match op {
                    BinaryOp::Add => add(&a, &b),
                    BinaryOp::Sub => {
                        let mut out = add(&a, &b);
                        for d in 0..rank {
                            out.contiguity[d] = a.contiguity[d].min(b.constancy[d]);
                        }
                        out
                    }
                    BinaryOp::Mul => AxisInfo {
                        contiguity: vec![1; rank],
                        divisibility: (0..rank)
                            .map(|d| {
                                (a.element_divisibility(d)
                                    .saturating_mul(b.element_divisibility(d)))
                                .min(MAX_DIVISIBILITY)
                            })
                            .collect(),
                        constancy: (0..rank)
                            .map(|d| a.constancy[d].min(b.constancy[d]))
                            .collect(),
                    },
                    _ => elementwise(rank, &[&a, &b]),
                }
            }
            InstKind::Select {
                cond,
                on_true,
                on_false,
            } => elementwise(rank, &[&get(*cond), &get(*on_true), &get(*on_false)]),
            InstKind::Compare { op, lhs, rhs } => compare(*op, &get(*lhs), &get(*rhs)),
            _ => AxisInfo::unknown(rank),
        };
        info[id.index()] = Some(clamp(result, shape));
    });
    info
}

/// `a + b`: runs stay runs where the other operand is constant over them.
fn add(a: &AxisInfo, b: &AxisInfo) -> AxisInfo {
    let rank = a.contiguity.len();
    let contiguity: Vec<u64> = (0..rank)
        .map(|d| (a.contiguity[d].min(b.constancy[d])).max(a.constancy[d].min(b.contiguity[d])))
        .collect();
    AxisInfo {
        divisibility: (0..rank)
            .map(|d| {
                if contiguity[d] > 1 {
                    a.divisibility[d].min(b.divisibility[d])
                } else {
                    a.element_divisibility(d).min(b.element_divisibility(d))
                }
            })
            .collect(),
        contiguity,
        constancy: (0..rank)
            .map(|d| a.constancy[d].min(b.constancy[d]))
            .collect(),
    }
}

/// A comparison: constant where both operands are, and over aligned blocks where a run of
/// consecutive values meets a value constant over the block and both are multiples of the
/// block's width: for `s` and `m` multiples of `k`, `x < m` is the same for every `x` in
/// `[s, s + k)` (all true when `m >= s + k`, all false when `m <= s`). Only `<` and `>=` (and
/// their mirrors) split at multiples of `k`; `<=` and `>` split one past them.
fn compare(op: crate::ir::CmpOp, lhs: &AxisInfo, rhs: &AxisInfo) -> AxisInfo {
    use crate::ir::CmpOp::*;
    let rank = lhs.contiguity.len();
    let mut out = elementwise(rank, &[lhs, rhs]);
    // Which operand runs and which stays constant, for the orders that split at multiples.
    let (run, constant) = match op {
        Lt | Ge => (lhs, rhs),
        Gt | Le => (rhs, lhs),
        Eq | Ne => return out,
    };
    for d in 0..rank {
        let block = run.contiguity[d]
            .min(run.divisibility[d])
            .min(constant.constancy[d])
            .min(constant.element_divisibility(d));
        if run.contiguity[d] > 1 {
            out.constancy[d] = out.constancy[d].max(block);
        }
    }
    out
}

/// Any other elementwise operation: only constancy survives.
fn elementwise(rank: usize, operands: &[&AxisInfo]) -> AxisInfo {
    AxisInfo {
        contiguity: vec![1; rank],
        divisibility: vec![1; rank],
        constancy: (0..rank)
            .map(|d| operands.iter().map(|o| o.constancy[d]).min().unwrap_or(1))
            .collect(),
    }
}

/// Runs never exceed the dim.
fn clamp(mut info: AxisInfo, shape: &[u32]) -> AxisInfo {
    for d in 0..shape.len() {
        let s = shape[d] as u64;
        info.contiguity[d] = info.contiguity[d].min(s);
        info.constancy[d] = info.constancy[d].min(s);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Kernel;

    fn lower(src: &str, kernel: &str) -> Kernel {
        let program = crate::driver::check_source("axis.tk", src, &crate::driver::DiskLoader);
        assert!(!program.has_errors(), "{:?}", program.diagnostics);
        crate::driver::lower(&program, kernel, &[])
            .expect("lowers")
            .kernel
    }

    fn info_of_loads(kernel: &Kernel) -> Vec<AxisInfo> {
        let info = analyze(kernel);
        kernel
            .insts
            .iter()
            .filter_map(|(_, inst)| match inst.kind {
                InstKind::Load { ptr, .. } => info[ptr.index()].clone(),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn vector_add_pointers_are_contiguous_and_aligned() {
        let k = lower(
            "kernel k(x: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 256) {
                let offs = program_id(0) * BLOCK + arange(0, BLOCK);
                store(out + offs, load(x + offs, mask: offs < n), mask: offs < n);
            }",
            "k",
        );
        let loads = info_of_loads(&k);
        assert_eq!(loads.len(), 1);
        assert_eq!(loads[0].contiguity, vec![256]);
        assert_eq!(loads[0].divisibility, vec![256]);
        assert_eq!(loads[0].constancy, vec![1]);
    }

    #[test]
    fn a_runtime_row_stride_breaks_alignment_but_not_contiguity() {
        let k = lower(
            "kernel k(x: *f32, out: *mut f32, stride: i32) {
                let rows = arange(0, 4);
                let cols = arange(0, 8);
                let offs = rows[:, None] * stride + cols[None, :];
                store(out + offs, load(x + offs));
            }",
            "k",
        );
        let loads = info_of_loads(&k);
        assert_eq!(loads[0].contiguity, vec![1, 8]);
        assert_eq!(loads[0].divisibility[1], 1);
    }

    #[test]
    fn odd_start_and_loaded_offsets_give_no_alignment() {
        let k = lower(
            "kernel k(x: *f32, idx: *i32, out: *mut f32) {
                let a = load(x + arange(1, 17));
                let b = load(x + load(idx + arange(0, 16)));
                store(out + arange(0, 16), a + b);
            }",
            "k",
        );
        let loads = info_of_loads(&k);
        assert_eq!(loads[0].contiguity, vec![16]);
        assert_eq!(loads[0].divisibility, vec![1]);
        // The index load itself is aligned; the gather through it is not.
        assert_eq!(loads[1].divisibility, vec![MAX_DIVISIBILITY]);
        assert_eq!(loads[2].contiguity, vec![1]);
    }

    #[test]
    fn loop_variables_are_divisible_by_start_and_step() {
        let k = lower(
            "kernel k(x: *f32, out: *mut f32, n: i32) {
                for off in range(0, n, 256) {
                    let cols = off + arange(0, 256);
                    store(out + cols, load(x + cols));
                }
                let mut i = 0;
                for j in range(0, n, 256) {
                    let cols = i + arange(0, 256);
                    store(out + cols, load(x + cols));
                    i = i + 3;
                }
            }",
            "k",
        );
        let loads = info_of_loads(&k);
        assert_eq!(loads[0].divisibility, vec![256]);
        // A local the body assigns knows nothing.
        assert_eq!(loads[1].divisibility, vec![1]);
    }

    #[test]
    fn comparisons_against_divisible_bounds_are_constant_in_blocks() {
        let mut module = crate::driver::lower(
            &crate::driver::check_source(
                "axis.tk",
                "kernel k(x: *f32, out: *mut f32, n: i32) {
                    let offs = program_id(0) * 256 + arange(0, 256);
                    store(out + offs, load(x + offs, mask: offs < n), mask: offs <= n);
                }",
                &crate::driver::DiskLoader,
            ),
            "k",
            &[],
        )
        .expect("lowers");
        let masks = |k: &Kernel| -> Vec<u64> {
            let info = analyze(k);
            k.insts
                .iter()
                .filter_map(|(id, inst)| match inst.kind {
                    InstKind::Compare { .. } => Some(info[id.index()].as_ref()?.constancy[0]),
                    _ => None,
                })
                .collect()
        };
        // Nothing known of n: every element may differ.
        assert_eq!(masks(&module.kernel), vec![1, 1]);
        // n divisible by 8: `offs < n` is constant over aligned blocks of 8; `offs <= n` still
        // splits one past a multiple of 8.
        crate::driver::specialize_all(&mut module, 8);
        assert_eq!(masks(&module.kernel), vec![8, 1]);
    }
}
