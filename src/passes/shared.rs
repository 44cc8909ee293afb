//! Pass 3: workgroup shared memory. Reductions across invocations and layout conversions that
//! move data each use one scratch array (reused, so the kernel needs the largest of them); over
//! the device limit is a diagnostic at the instruction that needs the most.
use super::layouts::{for_each_inst, local_map, Projection};
use crate::abi::Target;
use crate::base::Diagnostic;
use crate::ir::{Elem, InstKind, Kernel, Layout, Type};

/// 32-bit words one element occupies in the scratch array.
pub fn scratch_words(ty: &Type) -> u32 {
    match ty.elem {
        Elem::Scalar(s) if s.bytes() == 8 => 2,
        Elem::Ptr { .. } => 2,
        Elem::Scalar(_) => 1,
    }
}

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

/// Bytes of scratch memory an instruction needs (0 when it needs none); reductions are chunked
/// to fit `budget` when they can. In a workgroup of `one_subgroup`, reductions and scans need
/// none.
pub fn scratch_bytes(
    kernel: &Kernel,
    layouts: &[Option<Layout>],
    id: crate::ir::InstId,
    budget: u32,
    one_subgroup: bool,
) -> u32 {
    let layout_of = |v: crate::ir::ValueId| layouts[v.index()].clone().unwrap_or(Layout::Uniform);
    match &kernel.insts[id].kind {
        InstKind::Reduce { .. } | InstKind::Scan { .. } if one_subgroup => 0,
        InstKind::Reduce { value, axis, .. } => {
            let src = layout_of(*value);
            let words = scratch_words(kernel.ty(*value));
            let threads = src.threads();
            match (axis, &src) {
                (None, _) if threads > 1 => threads * words * 4,
                (Some(a), Layout::Blocked(b)) if b.threads_per_dim[*a as usize] > 1 => {
                    let chunk = reduce_chunk(layout_of(id).regs(), threads, words, budget);
                    threads * chunk * words * 4
                }
                _ => 0,
            }
        }
        InstKind::ConvertLayout(value) => {
            let src = layout_of(*value);
            let dst = layout_of(id);
            if local_map(&src, &dst, &Projection::Identity).is_some() {
                0
            } else {
                let ty = kernel.ty(id);
                ty.num_elements() as u32 * scratch_words(ty) * 4
            }
        }
        // A scan along a dim spread over invocations stages the whole tile (`spirv::shared`).
        InstKind::Scan { value, axis, .. } => {
            let src = layout_of(*value);
            let spread = src.base().is_some_and(|b| {
                let d = src.parent_dims()[*axis as usize];
                b.threads_per_dim[d] > 1 && b.size_per_thread[d] < b.shape[d]
            });
            if spread {
                let ty = kernel.ty(*value);
                ty.num_elements() as u32 * scratch_words(ty) * 4
            } else {
                0
            }
        }
        // The old values travel from each element's primary copy to all its copies.
        InstKind::Atomic { .. } => {
            let ty = kernel.ty(id);
            ty.num_elements().max(1) as u32 * scratch_words(ty) * 4
        }
        InstKind::Dot { a, b, .. } => {
            // Operands already in register layouts need no staging (`passes::dot`).
            let k = kernel.ty(*a).shape[1];
            if super::dot::in_registers(&layout_of(id), &layout_of(*a), &layout_of(*b), k) {
                0
            } else {
                super::dot::staging_words(&kernel.ty(*a).shape, &kernel.ty(*b).shape) * 4
            }
        }
        InstKind::Reshape(value) | InstKind::Permute { value, .. } => {
            let ty = kernel.ty(*value);
            ty.num_elements() as u32 * scratch_words(ty) * 4
        }
        _ => 0,
    }
}

pub fn size_shared_memory(kernel: &mut Kernel, target: &Target) -> Result<(), Diagnostic> {
    let layouts = kernel
        .schedule
        .as_ref()
        .map(|s| s.layouts.clone())
        .unwrap_or_default();
    let threads = kernel.schedule.as_ref().map_or(1, |s| s.threads);
    let one_subgroup = one_subgroup(threads, target);
    // The largest scratch any instruction needs, leaving out the `dot`s in `skip`.
    let largest = |skip: &[crate::ir::InstId]| {
        let mut largest = (0u32, None);
        for_each_inst(&kernel.body, kernel, &mut |id| {
            if skip.contains(&id) {
                return;
            }
            let bytes = scratch_bytes(kernel, &layouts, id, target.max_shared_bytes, one_subgroup);
            if bytes > largest.0 {
                largest = (bytes, Some(id));
            }
        });
        largest
    };
    // `dot`s on cooperative matrices stage in arrays of their own instead of the scratch; the
    // plan stands when both fit, else those `dot`s stage in the scratch like the others.
    let mut coop = super::dot::coop_plan(kernel, threads, target);
    let mut needed = largest(coop.as_ref().map_or(&[], |c| &c.dots[..]));
    if let Some(plan) = &coop {
        if needed.0 + plan.bytes() > target.max_shared_bytes {
            coop = None;
            needed = largest(&[]);
        }
    }
    if needed.0 > target.max_shared_bytes {
        let id = needed.1.expect("an instruction needs the shared memory");
        return Err(too_much_shared_memory(
            kernel, &layouts, id, needed.0, target,
        ));
    }
    if let Some(s) = kernel.schedule.as_mut() {
        s.shared_bytes = needed.0;
        s.coop = coop;
    }
    Ok(())
}

/// E0608: the instruction `id` needs `bytes` of shared memory, more than the target has. The
/// help names what to shrink for that kind of instruction, and a note the const values of this
/// specialisation.
fn too_much_shared_memory(
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
