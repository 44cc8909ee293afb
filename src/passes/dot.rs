//! The schedule of `dot` as data: how the operands are staged in shared memory (row padding
//! against bank conflicts) and how the K loop is unrolled. The SPIR-V emitter reads these; a
//! tuning pass may change them without touching emission.
//!
//! On CPU devices `dot` runs in registers instead (`register_operand_layouts`): the layout pass
//! gives the operands layouts that hold what each invocation's accumulator registers need.
//!
//! Staging: `a: [M, K]` is stored row-major with row stride `K + pad(K)`, `b: [K, N]` after it with
//! row stride `N + pad(N)`. Each invocation computes the output registers of the product's layout
//! (its register tile) with one FMA per register and k, reading `a[m, k]` once per distinct row
//! and `b[k, n]` once per distinct column of its tile.
//!
//! Where the device offers cooperative matrices (`VK_KHR_cooperative_matrix`), a `dot` of f16
//! operands runs on them instead (`coop_plan`, `spirv::coop`).

use crate::abi::Target;
use crate::base::ScalarType;
use crate::ir::layout::{Blocked, CoopPlan};
use crate::ir::{Elem, InstKind, Kernel, Layout, ValueId};

/// The operand layouts of a `dot` computed in registers (CPU devices, where barriers and
/// shared memory are dear): for an accumulator layout `acc` of `[M, N]` and depth `k`, each
/// invocation holds the rows of `a: [M, K]` and the columns of `b: [K, N]` that its accumulator
/// registers need, all of K, replicated across the invocations that share them. The product
/// then needs no data movement: register `(i, j)` of the result is
/// `fma(a[(i, k)], b[(k, j)], ·)` over k in order.
pub fn register_operand_layouts(acc: &Blocked, k: u32) -> (Blocked, Blocked) {
    let a = Blocked {
        shape: vec![acc.shape[0], k],
        size_per_thread: vec![acc.size_per_thread[0], k],
        threads_per_dim: acc.threads_per_dim.clone(),
    };
    let b = Blocked {
        shape: vec![k, acc.shape[1]],
        size_per_thread: vec![k, acc.size_per_thread[1]],
        threads_per_dim: acc.threads_per_dim.clone(),
    };
    (a, b)
}

/// True when `a` and `b` arrive in the register layouts of the product layout `acc`: the
/// emitter then computes the `dot` with FMAs only and it needs no shared memory.
pub fn in_registers(acc: &Layout, a: &Layout, b: &Layout, k: u32) -> bool {
    match acc {
        Layout::Blocked(r) => {
            let (la, lb) = register_operand_layouts(r, k);
            *a == Layout::Blocked(la) && *b == Layout::Blocked(lb)
        }
        _ => false,
    }
}

/// The register dot when it stays modest for the device compiler (lavapipe compiles the fully
/// unrolled FMAs with LLVM; VULKAN-NOTES.md: a 32×32 register tile unrolled takes seconds):
/// operands within 1,024 registers per invocation and at most 4,096 FMAs per `dot`. Larger
/// products stage through shared memory.
pub fn register_dot_layouts(acc: &Blocked, k: u32) -> Option<(Blocked, Blocked)> {
    let (a, b) = register_operand_layouts(acc, k);
    (a.regs() + b.regs() <= 1024 && acc.regs() * k <= 4096).then_some((a, b))
}

/// Padding (in words) added to each staged row of `width` words: one word when rows are a
/// multiple of the 32 banks apart, so that a column walk hits different banks.
pub fn row_pad(width: u32) -> u32 {
    if width >= 32 && width % 32 == 0 {
        1
    } else {
        0
    }
}

/// Words of shared memory that staging both operands takes (f32 words).
pub fn staging_words(a: &[u32], b: &[u32]) -> u32 {
    let (m, k, n) = (a[0], a[1], b[1]);
    m * (k + row_pad(k)) + k * (n + row_pad(n))
}

/// How many k steps one iteration of the emitted K loop does (the loop body is unrolled this
/// many times); kept small so that LLVM-based drivers compile quickly.
pub fn k_unroll(k: u32, regs: u32) -> u32 {
    let budget = (64 / regs.max(1)).max(1);
    let mut u = 1;
    while u * 2 <= budget && u * 2 <= k && u < 8 {
        u *= 2;
    }
    u
}

/// The `dot`s of `kernel` that can run on the target's cooperative matrices, and the workgroup
/// arrays they need (`ir::layout::CoopPlan`): the target offers f16 × f16 + f32 tiles, its
/// workgroups are whole subgroups (cooperative operations need every invocation of the
/// subgroup), both operands were converted from f16 (so staging them as f16 is exact) and the
/// tile divides M, N and K. `None` when no `dot` qualifies.
pub fn coop_plan(kernel: &Kernel, threads: u32, target: &Target) -> Option<CoopPlan> {
    let shape = target.cooperative_matrix?;
    let subgroup = target.subgroup_size?;
    if !target.features.cooperative_matrix || threads % subgroup != 0 {
        return None;
    }
    let mut plan = CoopPlan {
        m: shape.m,
        n: shape.n,
        k: shape.k,
        dots: Vec::new(),
        halves: 0,
        floats: 0,
    };
    super::layouts::for_each_inst(&kernel.body, kernel, &mut |id| {
        let InstKind::Dot { a, b, .. } = kernel.insts[id].kind else {
            return;
        };
        let (sa, sb) = (&kernel.ty(a).shape, &kernel.ty(b).shape);
        let (m, k, n) = (sa[0], sa[1], sb[1]);
        if m % shape.m == 0
            && n % shape.n == 0
            && k % shape.k == 0
            && from_f16(kernel, a)
            && from_f16(kernel, b)
        {
            plan.dots.push(id);
            plan.halves = plan.halves.max(m * k + k * n);
            plan.floats = plan.floats.max(m * n);
        }
    });
    (!plan.dots.is_empty()).then_some(plan)
}

/// True when `value` is an f16 tile converted to f32 (through layout conversions).
fn from_f16(kernel: &Kernel, value: ValueId) -> bool {
    match kernel.insts[value].kind {
        InstKind::Cast(x) => kernel.ty(x).elem == Elem::Scalar(ScalarType::F16),
        InstKind::ConvertLayout(x) => from_f16(kernel, x),
        _ => false,
    }
}
