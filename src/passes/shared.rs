//! Pass 4: the plans of the work across invocations (`ir::schedule`): how each reduction, scan,
//! `dot` and layout conversion runs (in registers, by subgroup shuffles, through shared memory or
//! on cooperative matrices), and the scratch region of each plan that moves data through the
//! workgroup scratch array. Every use of the scratch ends with a barrier, so all regions start at
//! 0 and the kernel needs the largest; over the device limit is a diagnostic at the instruction
//! that needs the most.
use super::layouts::for_each_inst;
use crate::abi::Target;
use crate::base::Diagnostic;
use crate::ir::layout::{local_map, Projection};
use crate::ir::schedule::{
    scratch_needed, scratch_words, subgroup_reducible, ConvertPlan, Plan, ReducePlan, ScanPlan,
    Scratch,
};
use crate::ir::{InstId, InstKind, Kernel, Layout, ValueId};

/// How many result registers of a reduction go through the scratch at once: all of them when
/// they fit in `budget` bytes, else as many as fit (at least one).
pub fn reduce_chunk(result_regs: u32, threads: u32, words: u32, budget: u32) -> u32 {
    let per_register = threads * words * 4;
    (budget / per_register).clamp(1, result_regs.max(1))
}

/// True when a workgroup of `threads` invocations fits in one subgroup of `target` (of a fixed
/// size) that can shuffle: reductions and scans across its invocations then go through subgroup
/// shuffles and need no scratch (`spirv::subgroup`). A workgroup smaller than the subgroup (CPU
/// devices give tiny tiles fewer invocations) is one partial subgroup whose lanes are its
/// invocations; shuffles only read lanes below `threads`.
pub fn one_subgroup(threads: u32, target: &Target) -> bool {
    threads > 1
        && target.subgroup_size.is_some_and(|s| threads <= s)
        && target.features.subgroup_shuffle
}

/// True when reductions over a workgroup of several subgroups of `target` may combine each
/// subgroup's partials with one `OpGroupNonUniform` reduction and move one value per subgroup
/// through the scratch (`ReducePlan::Subgroups`): GPUs with subgroup arithmetic. Portable
/// output keeps every partial in the scratch (naga and other translators read fewer subgroup
/// operations), and CPU devices run one subgroup per workgroup anyway.
pub fn reduce_by_subgroups(target: &Target) -> bool {
    target.processor == crate::abi::Processor::Gpu && target.features.subgroup_arithmetic
}

/// How instruction `plan_inst` plans work across invocations on a target: one subgroup per
/// workgroup (shuffles), subgroup reductions across several subgroups, the scratch budget.
#[derive(Debug, Clone, Copy)]
pub struct Across {
    /// The workgroup's invocations.
    pub threads: u32,
    /// Bytes of scratch a reduction may fill at once.
    pub budget: u32,
    /// The workgroup is one subgroup (`one_subgroup`).
    pub one_subgroup: bool,
    /// Reductions over the whole workgroup may go through subgroup reductions
    /// (`reduce_by_subgroups`).
    pub subgroups: bool,
}

/// The plan of instruction `id` (`None` for instructions without a choice, and for loads and
/// stores, which the access pass plans), its scratch region sized: reductions are chunked to fit
/// `across.budget` bytes when they can. In a workgroup of one subgroup, reductions and scans
/// across invocations shuffle; a reduction over a whole workgroup of several subgroups reduces
/// within each subgroup first where the target allows; `cooperative` puts a `dot` on the
/// cooperative arrays.
pub fn plan_inst(
    kernel: &Kernel,
    layouts: &[Option<Layout>],
    id: InstId,
    across: Across,
    cooperative: bool,
) -> Option<Plan> {
    let Across {
        threads,
        budget,
        one_subgroup,
        subgroups,
    } = across;
    let layout_of = |v: ValueId| layouts[v.index()].clone().unwrap_or(Layout::Uniform);
    let staged = Scratch {
        offset: 0,
        bytes: 0,
    };
    let mut plan = match &kernel.insts[id].kind {
        InstKind::Reduce { value, axis, .. } => {
            let src = layout_of(*value);
            let group = src.reduction_group_dims(*axis);
            // Invocations in one reduction group: the whole workgroup when they span it.
            let spanned: u32 = src
                .base()
                .map_or(1, |b| group.iter().map(|&d| b.threads_per_dim[d]).product());
            let words = scratch_words(kernel.ty(*value));
            let chunk = reduce_chunk(layout_of(id).regs(), src.threads(), words, budget);
            Plan::Reduce(if group.is_empty() {
                ReducePlan::Registers
            } else if one_subgroup {
                ReducePlan::Subgroup
            } else if subgroups && spanned == threads && subgroup_reducible(kernel.ty(*value)) {
                ReducePlan::Subgroups {
                    chunk,
                    scratch: staged,
                }
            } else {
                ReducePlan::Shared {
                    chunk,
                    scratch: staged,
                }
            })
        }
        // A scan along a dim spread over invocations stages the whole tile (`spirv::shared`).
        InstKind::Scan { value, axis, .. } => {
            Plan::Scan(if !layout_of(*value).scan_crosses_invocations(*axis) {
                ScanPlan::Registers
            } else if one_subgroup {
                ScanPlan::Subgroup
            } else {
                ScanPlan::Shared(staged)
            })
        }
        InstKind::ConvertLayout(value) => Plan::Convert(
            if local_map(&layout_of(*value), &layout_of(id), &Projection::Identity).is_some() {
                ConvertPlan::Registers
            } else {
                ConvertPlan::Shared(staged)
            },
        ),
        InstKind::Dot { .. } => Plan::Dot(super::dot::dot_plan(
            kernel,
            layouts,
            id,
            cooperative,
            one_subgroup,
        )?),
        // The old values of an atomic travel from each element's primary copy to all its
        // copies; reshapes and permutes move the whole tile.
        InstKind::Atomic { .. } | InstKind::Reshape(_) | InstKind::Permute { .. } => {
            Plan::Staged(staged)
        }
        _ => return None,
    };
    let needed = scratch_needed(kernel, layouts, id, &plan);
    if let Some(scratch) = plan.scratch_mut() {
        scratch.bytes = needed;
    }
    Some(plan)
}

/// Plans every instruction that has a choice (keeping the access pass's plans of loads and
/// stores) and sizes the scratch for the largest region: afterwards every instruction that
/// needs a plan has one.
pub fn plan_shared_memory(kernel: &mut Kernel, target: &Target) -> Result<(), Diagnostic> {
    let Some(schedule) = kernel.schedule.as_ref() else {
        return Err(Diagnostic::internal("planning a kernel without a schedule"));
    };
    let layouts = schedule.layouts.clone();
    let threads = schedule.threads;
    let across = Across {
        threads,
        budget: target.max_shared_bytes,
        one_subgroup: schedule.one_subgroup,
        subgroups: reduce_by_subgroups(target),
    };
    let mut plans = schedule.plans.clone();
    plans.resize(kernel.insts.len(), None);
    // Plans every instruction, the `dot`s in `cooperative` on the cooperative arrays; returns
    // the largest scratch region and the instruction that needs it.
    let mut plan_all = |cooperative: &[InstId]| {
        let mut largest = (0u32, None);
        for_each_inst(&kernel.body, kernel, &mut |id| {
            let Some(plan) = plan_inst(kernel, &layouts, id, across, cooperative.contains(&id))
            else {
                return;
            };
            let bytes = plan.scratch().map_or(0, |s| s.end());
            if bytes > largest.0 {
                largest = (bytes, Some(id));
            }
            plans[id.index()] = Some(plan);
        });
        largest
    };
    // `dot`s on cooperative matrices stage in arrays of their own instead of the scratch; the
    // plan stands when both fit, else those `dot`s stage in the scratch like the others.
    let mut coop = super::dot::coop_plan(kernel, threads, target);
    let mut needed = plan_all(coop.as_ref().map_or(&[], |(_, dots)| &dots[..]));
    if let Some((arrays, _)) = &coop {
        if needed.0 + arrays.bytes() > target.max_shared_bytes {
            coop = None;
            needed = plan_all(&[]);
        }
    }
    if needed.0 > target.max_shared_bytes {
        let id = needed
            .1
            .ok_or_else(|| Diagnostic::internal("shared memory needed by no instruction"))?;
        return Err(too_much_shared_memory(
            kernel, &layouts, id, needed.0, target,
        ));
    }
    if let Some(s) = kernel.schedule.as_mut() {
        s.plans = plans;
        s.shared_bytes = needed.0;
        s.coop = coop.map(|(arrays, _)| arrays);
    }
    Ok(())
}

/// E0608: the instruction `id` needs `bytes` of shared memory, more than the target has. The
/// help names what to shrink for that kind of instruction, and a note the const values of this
/// specialisation.
pub(super) fn too_much_shared_memory(
    kernel: &Kernel,
    layouts: &[Option<Layout>],
    id: crate::ir::InstId,
    bytes: u32,
    target: &Target,
) -> Diagnostic {
    let threads = kernel.schedule.as_ref().map_or(1, |s| s.threads);
    let (what, help) = match &kernel.insts[id].kind {
        InstKind::Reduce { value, .. } => {
            let src = layouts[value.index()].clone().unwrap_or(Layout::Uniform);
            (
                "this reduction",
                format!(
                    "its {} invocations each stage partial results: use fewer threads \
                     (`#[threads(N)]`) or a smaller tile",
                    src.threads().max(threads)
                ),
            )
        }
        InstKind::Dot { a, b, .. } => {
            let (sa, sb) = (&kernel.ty(*a).shape, &kernel.ty(*b).shape);
            (
                "this `dot`",
                format!(
                    "both operands ({:?} and {:?}) are staged in shared memory: use smaller \
                     tiles (a smaller BLOCK_M, BLOCK_N or BLOCK_K)",
                    sa, sb
                ),
            )
        }
        InstKind::Atomic { .. } => (
            "this atomic",
            "the old values of the whole tile go through shared memory: use a smaller tile \
             (a smaller BLOCK)"
                .to_string(),
        ),
        InstKind::Scan { .. } => (
            "this scan",
            "the whole tile moves through shared memory along the scanned axis: use a smaller \
             tile (a smaller BLOCK) or fewer threads"
                .to_string(),
        ),
        InstKind::Reshape(_) | InstKind::Permute { .. } => (
            "this reshape or permute",
            "the whole tile moves through shared memory: use a smaller tile (a smaller BLOCK)"
                .to_string(),
        ),
        _ => (
            "this layout conversion",
            "the whole tile moves through shared memory: use a smaller tile (a smaller BLOCK)"
                .to_string(),
        ),
    };
    let mut diag = Diagnostic::error(
        "E0608",
        format!(
            "{what} needs {bytes} bytes of workgroup shared memory, more than the {} bytes of \
             the device `{}`",
            target.max_shared_bytes, target.name
        ),
    )
    .with_label(
        kernel.span(id),
        format!("needs {bytes} bytes of shared memory"),
    )
    .with_help(help);
    if !kernel.consts.is_empty() {
        let consts: Vec<String> = kernel
            .consts
            .iter()
            .map(|(name, value)| match value {
                crate::base::Literal::Int(i) => format!("{name} = {i}"),
                crate::base::Literal::Float(f) => format!("{name} = {f}"),
                crate::base::Literal::Bool(b) => format!("{name} = {b}"),
            })
            .collect();
        diag = diag.with_note(format!("compiled with {}", consts.join(", ")));
    }
    diag
}
