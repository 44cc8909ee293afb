//! The choices for `dot`: how the operands are staged in shared memory (row padding against bank
//! conflicts) and how the K loop is unrolled, recorded in each `dot`'s `ir::schedule::DotPlan`
//! by the planning pass (`shared`). The SPIR-V emitter reads the plans; a tuning pass may change
//! them without touching emission.
//!
//! On CPU devices `dot` runs in registers instead. The `dot` chooses its result's layout
//! (`lanes_result_layout`: every row in every lane, the columns spread over the lanes), `b`
//! arrives in its register layout (`ir::layout::register_dot_operands`: each lane's columns, all
//! of K) and `a` spread over the lanes (`lanes_a_layout`: rows over the lanes, all of K in each),
//! so the lanes load `a` once between them and each `a[m, k]` reaches them by a subgroup shuffle
//! (`DotPlan::Broadcast`). On lavapipe every load is a loop over the SIMD lanes while a shuffle
//! from a constant lane is a vector permute: 1024³ f32 went from 2.3 GFLOP/s (both operands
//! replicated into register layouts, `DotPlan::Registers`, still the plan where the result's
//! rows cannot be in every lane) to 10–15 (BENCHMARKS.md).
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
use crate::ir::layout::{register_dot_operands, Blocked};
use crate::ir::schedule::{CoopPlan, DotPlan, DotStaging, Scratch};
use crate::ir::{Elem, InstId, InstKind, Kernel, Layout, ValueId};

/// True when `a` and `b` arrive in the register layouts of the product layout `acc`: the
/// emitter then computes the `dot` with FMAs only and it needs no shared memory.
pub fn in_registers(acc: &Layout, a: &Layout, b: &Layout, k: u32) -> bool {
    match acc {
        Layout::Blocked(r) => {
            let (la, lb) = register_dot_operands(r, k);
            *a == Layout::Blocked(la) && *b == Layout::Blocked(lb)
        }
        _ => false,
    }
}

/// True when the layouts make `DotPlan::Broadcast` possible: the result has every row in every
/// invocation, `b` is in its register layout and `a` is spread over the same invocations with
/// each element held once.
pub fn broadcasts(acc: &Layout, a: &Layout, b: &Layout, k: u32) -> bool {
    match (acc, a) {
        (Layout::Blocked(r), Layout::Blocked(la)) => {
            let (_, lb) = register_dot_operands(r, k);
            r.threads_per_dim[0] == 1
                && la.is_distributed()
                && la.threads() == r.threads()
                && *b == Layout::Blocked(lb)
        }
        _ => false,
    }
}

/// The register dot when it stays modest for the device compiler (lavapipe compiles the fully
/// unrolled FMAs with LLVM; a 32×32 register tile unrolled takes seconds to compile there):
/// operands within 1,024 registers per invocation and at most 4,096 FMAs per `dot`. Larger
/// products stage through shared memory.
pub fn register_dot_layouts(acc: &Blocked, k: u32) -> Option<(Blocked, Blocked)> {
    let (a, b) = register_dot_operands(acc, k);
    (a.regs() + b.regs() <= 1024 && acc.regs() * k <= 4096).then_some((a, b))
}

/// The layout a `dot`'s result takes on a CPU device (a one-subgroup workgroup of `threads`):
/// every row in every lane and the columns spread over the lanes, up to 4 consecutive per lane,
/// so that `a` can be spread over the lanes and shuffled to them (`DotPlan::Broadcast`). `None`
/// when N is narrower than the workgroup.
pub fn lanes_result_layout(m: u32, n: u32, threads: u32) -> Option<Blocked> {
    (n >= threads).then(|| Blocked {
        shape: vec![m, n],
        size_per_thread: vec![1, (n / threads).min(4)],
        threads_per_dim: vec![1, threads],
    })
}

/// The layout `a: [M, K]` of a CPU `dot` is loaded in when nothing else wants it: its rows
/// spread over the lanes, each holding all of K for its rows. All of K in every lane, like `b`'s
/// register layout, lets the two operands share the `arange` along K (and its masks) without
/// moving data. `None` when M is shorter than the workgroup.
pub fn lanes_a_layout(m: u32, k: u32, threads: u32) -> Option<Blocked> {
    (m >= threads).then(|| Blocked {
        shape: vec![m, k],
        size_per_thread: vec![1, k],
        threads_per_dim: vec![threads, 1],
    })
}

/// The layouts a CPU `dot` with result layout `acc` and depth `k` needs its operands in, given
/// the layout `a` arrives in (`None`: not known yet): `b` in its register layout and `a` spread
/// over the lanes (its own layout when it is, else the default one), when the result has every
/// row in every lane; else both in register layouts (`register_dot_layouts`); `None` when the
/// FMAs would be too many to unroll (the `dot` stages through shared memory).
pub fn cpu_operand_layouts(
    acc: &Blocked,
    k: u32,
    a: Option<&Layout>,
    threads: u32,
) -> Option<(Blocked, Blocked)> {
    let (_, lb) = register_dot_operands(acc, k);
    let spread = match a {
        Some(Layout::Blocked(la)) if la.is_distributed() && la.threads() == threads => {
            Some(la.clone())
        }
        _ => lanes_a_layout(acc.shape[0], k, threads),
    };
    match spread {
        Some(la)
            if acc.threads_per_dim[0] == 1
                && threads > 1
                && la.regs() + lb.regs() <= 1024
                && acc.regs() * k <= 4096 =>
        {
            Some((la, lb))
        }
        _ => register_dot_layouts(acc, k),
    }
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

/// The plan of `dot` instruction `id` whose values have `layouts` (`cooperative`: it is one of
/// `coop_plan`'s): in registers when its operands arrive in register layouts, else staged with
/// padded rows, its scratch region still to be sized.
pub fn dot_plan(
    kernel: &Kernel,
    layouts: &[Option<Layout>],
    id: InstId,
    cooperative: bool,
    one_subgroup: bool,
) -> Option<DotPlan> {
    let InstKind::Dot { a, b, .. } = kernel.insts[id].kind else {
        return None;
    };
    if cooperative {
        return Some(DotPlan::Cooperative);
    }
    let layout_of = |v: ValueId| layouts[v.index()].clone().unwrap_or(Layout::Uniform);
    let (k, n) = (kernel.ty(a).shape[1], kernel.ty(b).shape[1]);
    let acc = layout_of(id);
    if in_registers(&acc, &layout_of(a), &layout_of(b), k) {
        return Some(DotPlan::Registers);
    }
    if one_subgroup && broadcasts(&acc, &layout_of(a), &layout_of(b), k) {
        return Some(DotPlan::Broadcast);
    }
    Some(DotPlan::Staged(DotStaging {
        a_row_stride: k + row_pad(k),
        b_row_stride: n + row_pad(n),
        k_unroll: k_unroll(k, acc.regs()),
        scratch: Scratch {
            offset: 0,
            bytes: 0,
        },
    }))
}

/// The `dot`s of `kernel` that can run on the target's cooperative matrices, and the workgroup
/// arrays they need (`ir::schedule::CoopPlan`): the target offers f16 × f16 + f32 tiles, its
/// workgroups are whole subgroups (cooperative operations need every invocation of the
/// subgroup), both operands were converted from f16 (so staging them as f16 is exact) and the
/// tile divides M, N and K. `None` when no `dot` qualifies.
pub fn coop_plan(
    kernel: &Kernel,
    threads: u32,
    target: &Target,
) -> Option<(CoopPlan, Vec<InstId>)> {
    let shape = target.cooperative_matrix?;
    let subgroup = target.subgroup_size?;
    if !target.features.cooperative_matrix || threads % subgroup != 0 {
        return None;
    }
    let mut dots = Vec::new();
    let mut plan = CoopPlan {
        m: shape.m,
        n: shape.n,
        k: shape.k,
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
            dots.push(id);
            plan.halves = plan.halves.max(m * k + k * n);
            plan.floats = plan.floats.max(m * n);
        }
    });
    (!dots.is_empty()).then_some((plan, dots))
}

/// True when `value` is a loaded tile (through casts and layout conversions).
pub fn loaded(kernel: &Kernel, value: ValueId) -> bool {
    match kernel.insts[value].kind {
        InstKind::Load { .. } => true,
        InstKind::Cast(x) | InstKind::ConvertLayout(x) => loaded(kernel, x),
        _ => false,
    }
}

/// True when `value` is an f16 tile converted to f32 (through layout conversions).
fn from_f16(kernel: &Kernel, value: ValueId) -> bool {
    match kernel.insts[value].kind {
        InstKind::Cast(x) => kernel.ty(x).elem == Elem::Scalar(ScalarType::F16),
        InstKind::ConvertLayout(x) => from_f16(kernel, x),
        _ => false,
    }
}
