//! The choices for `dot`, recorded in each `dot`'s `ir::schedule::DotPlan` (filled by the
//! planning pass, `shared`, and `place_staging`): the layout of its result (chosen here for the
//! layout pass), how the operands reach the FMAs, and the shared memory they are staged in. The
//! SPIR-V emitter reads the plans; a tuning pass may change them without touching emission.
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
//! GPUs and portable output stage the operands in shared memory (`DotPlan::Staged`) and give
//! each invocation a register tile (`tile_result_layout`: 4×4 blocks, as square a tile as the
//! invocations allow; 8×8 for a 128×128 result over 256): `a` is staged transposed so that the
//! rows of a tile are consecutive, the K loop reads them and the tile's columns of `b` with
//! 128-bit reads (`read_vector`) and does one FMA per register and k, all of K unrolled while the
//! body stays modest (`k_unroll`). The staging rotates through `stages` buffers in a dot array of
//! its own (`place_staging`): with two, one barrier per execution instead of two.
//!
//! Where the device offers cooperative matrices (`VK_KHR_cooperative_matrix`), a `dot` of f16
//! operands runs on them instead (`coop_plan`, `spirv::coop`).

use crate::abi::Target;
use crate::base::{Diagnostic, ScalarType};
use crate::ir::layout::{register_dot_operands, Blocked};
use crate::ir::schedule::{CoopPlan, DotPlan, DotStaging, Scratch};
use crate::ir::{self, Elem, InstId, InstKind, Kernel, Layout, Plan, ValueId};

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

/// The register tile a staged `dot`'s result takes (GPUs and portable output): four
/// consecutive rows and columns per invocation block (so each k reads them with 128-bit reads
/// from the staged `a_t` and `b`), the invocations split between M and N so that each one's tile
/// is as square as the split allows (the most reuse per value read; ties go to more invocations
/// along N). `None` when the result is too small to give every invocation a 4×4 block without
/// replicas; the `dot` then takes the layout its users want.
pub fn tile_result_layout(m: u32, n: u32, threads: u32) -> Option<Blocked> {
    let mut best: Option<(u32, Blocked)> = None;
    let mut along_n = 1;
    while along_n <= threads {
        let along_m = threads / along_n;
        if along_m * 4 <= m && along_n * 4 <= n {
            let (rows, cols) = (m / along_m, n / along_n);
            let skew = rows.max(cols) / rows.min(cols);
            if best.as_ref().is_none_or(|(s, _)| skew <= *s) {
                best = Some((
                    skew,
                    Blocked {
                        shape: vec![m, n],
                        size_per_thread: vec![4, 4],
                        threads_per_dim: vec![along_m, along_n],
                    },
                ));
            }
        }
        along_n *= 2;
    }
    best.map(|(_, layout)| layout)
}

/// Padding (in elements) of each staged row of `a_t` that is `width` elements long: four (one
/// 16-byte vector, keeping rows aligned for 128-bit reads) when the rows are a multiple of the
/// 32 banks apart, so that the transposing writes of the invocations along K land in different
/// banks. The reads need none: an invocation reads consecutive elements of one row.
pub fn row_pad(width: u32) -> u32 {
    if width >= 32 && width.is_multiple_of(32) {
        4
    } else {
        0
    }
}

/// How many k steps one iteration of the emitted K loop does (the loop body is unrolled this
/// many times): all of K while the body stays within 2,048 FMAs per invocation (a GPU's 8×8
/// register tile unrolls a K of 32), fewer for large register tiles so that LLVM-based drivers
/// compile quickly.
pub fn k_unroll(k: u32, regs: u32) -> u32 {
    let mut u = 1;
    while u * 2 <= k && regs.max(1) * u * 2 <= 2048 {
        u *= 2;
    }
    u
}

/// Elements per read of the staged operands for a result in layout `acc`: 4 when its blocks of
/// consecutive rows and columns come in fours (`tile_result_layout`), else 1.
pub fn read_vector(acc: &Layout) -> u32 {
    match acc {
        Layout::Blocked(r) if r.rank() == 2 && r.size_per_thread.iter().all(|&s| s % 4 == 0) => 4,
        _ => 1,
    }
}

/// The plan of `dot` instruction `id` whose values have `layouts` (`cooperative`: it is one of
/// `coop_plan`'s): in registers when its operands arrive in register layouts, shuffled from the
/// lanes in a one-subgroup workgroup whose layouts allow it, else staged (`stages` buffers, its
/// region of the dot array still to be placed by `place_staging`).
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
    let (m, k, n) = (
        kernel.ty(a).shape[0],
        kernel.ty(a).shape[1],
        kernel.ty(b).shape[1],
    );
    let acc = layout_of(id);
    if in_registers(&acc, &layout_of(a), &layout_of(b), k) {
        return Some(DotPlan::Registers);
    }
    if one_subgroup && broadcasts(&acc, &layout_of(a), &layout_of(b), k) {
        return Some(DotPlan::Broadcast);
    }
    let vector = read_vector(&acc);
    let align = |x: u32| x.next_multiple_of(vector);
    Some(DotPlan::Staged(DotStaging {
        a_row_stride: align(m + row_pad(m)),
        b_row_stride: align(n),
        k_unroll: k_unroll(k, acc.regs()),
        vector,
        stages: kernel.stages.unwrap_or(DEFAULT_STAGES),
        region: Scratch {
            offset: 0,
            bytes: 0,
        },
    }))
}

/// Buffers a staged `dot` rotates through unless `#[stages(N)]` says otherwise: two (double
/// buffering), reduced to one when the dot array would not fit the shared memory.
pub const DEFAULT_STAGES: u32 = 2;

/// Places the regions of the staged `dot`s in the dot array and sizes the array. A `dot` with
/// several buffers gets a region of its own: it writes without waiting first, so nothing else
/// may use its buffers. The single-buffered ones share one region after those (each waits at
/// a barrier before writing, so the previous user of the region has finished reading). When the
/// array does not fit beside the scratch and the cooperative arrays, the `dot`s that
/// double-buffer by default stage once instead (`#[stages(N)]` given is kept); when that does
/// not fit either, E0608 at the `dot` that needs the most.
pub fn place_staging(kernel: &mut Kernel, target: &Target) -> Result<(), Diagnostic> {
    let Some(mut schedule) = kernel.schedule.take() else {
        return Err(Diagnostic::internal("placing dots without a schedule"));
    };
    let others = schedule.workgroup_bytes() - schedule.dot_bytes;
    let dots: Vec<(InstId, u32)> = schedule
        .plans
        .iter()
        .enumerate()
        .filter_map(|(i, plan)| match plan {
            Some(Plan::Dot(DotPlan::Staged(_))) => {
                let id = InstId::new(i);
                let InstKind::Dot { a, .. } = kernel.insts[id].kind else {
                    return None;
                };
                Some((id, kernel.ty(a).shape[1]))
            }
            _ => None,
        })
        .collect();
    let stages_given = kernel.stages.is_some();
    let place = |schedule: &mut ir::Schedule, single: bool| -> u32 {
        let mut end = 0u32;
        let mut shared = 0u32;
        for &(id, k) in &dots {
            if let Some(Plan::Dot(DotPlan::Staged(s))) = schedule.plans[id.index()].as_mut() {
                if single && !stages_given {
                    s.stages = 1;
                }
                s.region.bytes = s.bytes_needed(k);
                if s.stages > 1 {
                    s.region.offset = end;
                    end = end.saturating_add(s.region.bytes);
                } else {
                    shared = shared.max(s.region.bytes);
                }
            }
        }
        for &(id, _) in &dots {
            if let Some(Plan::Dot(DotPlan::Staged(s))) = schedule.plans[id.index()].as_mut() {
                if s.stages <= 1 {
                    s.region.offset = end;
                }
            }
        }
        end.saturating_add(shared)
    };
    let mut bytes = place(&mut schedule, false);
    if others.saturating_add(bytes) > target.max_shared_bytes {
        bytes = place(&mut schedule, true);
    }
    schedule.dot_bytes = bytes;
    let fits = others.saturating_add(bytes) <= target.max_shared_bytes;
    let largest = dots
        .iter()
        .filter_map(|&(id, _)| match schedule.plan(id) {
            Some(Plan::Dot(DotPlan::Staged(s))) => Some((id, s.region.bytes)),
            _ => None,
        })
        .max_by_key(|&(_, bytes)| bytes);
    let layouts = schedule.layouts.clone();
    kernel.schedule = Some(schedule);
    if fits {
        return Ok(());
    }
    // The `dot` whose region is the largest.
    let (id, needed) =
        largest.ok_or_else(|| Diagnostic::internal("shared memory needed by no instruction"))?;
    let needed = needed.max(others.saturating_add(bytes));
    Err(super::shared::too_much_shared_memory(
        kernel, &layouts, id, needed, target,
    ))
}

/// The `dot`s of `kernel` that can run on the target's cooperative matrices, and the workgroup
/// arrays they need (`ir::schedule::CoopPlan`): the target offers f16 × f16 + f32 tiles, its
/// workgroups are whole subgroups (cooperative operations need every invocation of the
/// subgroup), both operands were converted from f16 (so staging them as f16 is exact) and the
/// tile divides M, N and K. `None` when no `dot` qualifies.
///
/// The arrays are those of the plans the `dot`s end with: a `dot` whose subgroups can each hold
/// whole matrices of the result keeps them (`passes::coop`: its operands in the staging array,
/// one buffer counted here, and the f32 array only for the conversions out of the matrices, a
/// chunk of rows at a time, `conversion_rows`); the others stage their operands as f16 and the
/// accumulator as f32 whole.
pub fn coop_plan(
    kernel: &Kernel,
    threads: u32,
    target: &Target,
) -> Option<(CoopPlan, Vec<InstId>)> {
    let shape = target.cooperative_matrix?;
    let subgroup = target.subgroup_size?;
    if !target.features.cooperative_matrix || !threads.is_multiple_of(subgroup) {
        return None;
    }
    let mut dots = Vec::new();
    let mut plan = CoopPlan {
        m: shape.m,
        n: shape.n,
        k: shape.k,
        halves: 0,
        floats: 0,
        vectors: 0,
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
            let kept =
                super::coop::tiles_layout([m, n], [shape.m, shape.n], threads / subgroup, subgroup)
                    .is_some();
            if kept {
                let default = super::layouts::default_layout(&[m, n], threads);
                let rows = conversion_rows(m, shape.m, &Layout::Blocked(default));
                plan.floats = plan.floats.max(rows * n);
                let halves = m * (k + super::coop::ROW_PAD) + k * (n + super::coop::ROW_PAD);
                plan.vectors = plan.vectors.max(halves.div_ceil(4).next_multiple_of(2));
            } else {
                plan.halves = plan.halves.max(m * k + k * n);
                plan.floats = plan.floats.max(m * n);
            }
        }
    });
    (!dots.is_empty()).then_some((plan, dots))
}

/// Rows of an `[m, n]` tile moved at a time between cooperative matrices of `tile_rows` rows
/// and the blocked layout `other`: whole matrices, and whole repetitions of `other`'s pattern
/// along M (so that which chunk holds each register is known when compiling), the fewest
/// rows that allows; all of them when `other` is not blocked.
pub fn conversion_rows(m: u32, tile_rows: u32, other: &Layout) -> u32 {
    match other {
        Layout::Blocked(b) => {
            let pattern = (b.size_per_thread[0] * b.threads_per_dim[0]).min(m);
            pattern.max(tile_rows).min(m)
        }
        _ => m,
    }
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
