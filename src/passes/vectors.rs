//! Pass 3: how every load and store accesses its buffer (`ir::schedule::AccessPlan`). Where the
//! axis analysis proves the pointer indices of a group of consecutive registers consecutive, and
//! the layout keeps each group in one invocation's contiguous run along the last dim, one
//! vec2/vec4 access serves the group. Only 32-bit elements qualify (bool and bf16 are stored
//! differently).
//!
//! What else is proven of each group decides the code around the vector: its first index a
//! multiple of the width (else checked at run time), its mask the same for every element (the
//! axis analysis's constancy of the mask), and the buffer holding whole vectors (the launch
//! promised its element count divisible, `driver::specialize`). With all three, one condition
//! serves a group and there is no element-by-element path: the accesses Triton makes for
//! arguments divisible by 16.
use super::axis::{analyze, AxisInfo};
use super::layouts::for_each_inst;
use crate::base::ScalarType;
use crate::ir::schedule::AccessPlan;
use crate::ir::{InstKind, Kernel, Layout, Plan, ValueId};

/// The widest vector access of `target`, in 32-bit elements: 8 on CPU devices with 64-bit
/// integers, whose vector views carry two elements per 64-bit component (`spirv::memory`):
/// lavapipe moves every buffer access in a loop over its SIMD lanes with a step per component,
/// so four u64 components move eight elements for the price of four (BENCHMARKS.md); 4 (128
/// bits) elsewhere.
pub fn widest_vector(target: &crate::abi::Target) -> u32 {
    if target.processor == crate::abi::Processor::Cpu && target.features.int64 {
        8
    } else {
        4
    }
}

/// Records a `Plan::Access` for every load and store of `kernel`, with vectors of at most
/// `widest` elements.
pub fn plan_accesses(kernel: &mut Kernel, widest: u32) {
    let axis = analyze(kernel);
    let Some(schedule) = kernel.schedule.as_ref() else {
        return;
    };
    let layout_of = |v: ValueId| {
        schedule.layouts[v.index()]
            .clone()
            .unwrap_or(Layout::Uniform)
    };
    let mut plans = schedule.plans.clone();
    plans.resize(kernel.insts.len(), None);
    let mut uses: Vec<Vec<ValueId>> = vec![Vec::new(); kernel.insts.len()];
    for_each_inst(&kernel.body, kernel, &mut |id| {
        for operand in kernel.insts[id].kind.operands() {
            uses[operand.index()].push(id);
        }
    });
    for_each_inst(&kernel.body, kernel, &mut |id| {
        // The layout the access's registers follow, its element type, pointer and mask.
        let (layout, elem, ptr, mask) = match kernel.insts[id].kind {
            InstKind::Load { ptr, mask, .. } => {
                (layout_of(id), kernel.ty(id).scalar_type(), ptr, mask)
            }
            InstKind::Store {
                ptr, value, mask, ..
            } => (layout_of(ptr), kernel.ty(value).scalar_type(), ptr, mask),
            _ => return,
        };
        let one_register_per_pointer = layout.regs() == layout_of(ptr).regs();
        let plan = match (elem, axis[ptr.index()].as_ref()) {
            (Some(elem), Some(info)) if one_register_per_pointer => {
                let mask_info = mask.and_then(|m| axis[m.index()].as_ref());
                let buffer = kernel.param_divisibility(pointer_param(kernel, ptr));
                access_plan(
                    info,
                    mask.is_some(),
                    mask_info,
                    buffer,
                    &layout,
                    elem,
                    widest,
                )
            }
            _ => AccessPlan::scalar(),
        };
        let other_unobserved = match kernel.insts[id].kind {
            InstKind::Load {
                mask: Some(mask), ..
            } => only_stored_under(kernel, &uses, id, mask),
            _ => false,
        };
        plans[id.index()] = Some(Plan::Access(AccessPlan {
            other_unobserved,
            ..plan
        }));
    });
    if let Some(schedule) = kernel.schedule.as_mut() {
        schedule.plans = plans;
    }
}

/// True when every value computed lane by lane from `load` reaches only stores masked by `mask`
/// (as the value stored): then its masked-off lanes are never observed (vector add's
/// `store(out + offs, load(x + offs, mask: m) + load(y + offs, mask: m), mask: m)`). Anything
/// else — a reduction, a local, an address, another mask — observes them.
fn only_stored_under(kernel: &Kernel, uses: &[Vec<ValueId>], load: ValueId, mask: ValueId) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![load];
    while let Some(v) = stack.pop() {
        if !seen.insert(v) {
            continue;
        }
        for &user in &uses[v.index()] {
            match kernel.insts[user].kind {
                InstKind::Store {
                    value,
                    mask: Some(m),
                    ..
                } if value == v && m == mask => {}
                ref kind if kind.is_lanewise() => stack.push(user),
                _ => return false,
            }
        }
    }
    true
}

/// The pointer parameter a pointer value derives from (every pointer derives from exactly one).
fn pointer_param(kernel: &Kernel, ptr: ValueId) -> u32 {
    match kernel.ty(ptr).elem {
        crate::ir::Elem::Ptr { param, .. } => param,
        crate::ir::Elem::Scalar(_) => u32::MAX,
    }
}

/// The vector (up to `widest`: 8, 4, 2 or 1 elements) that serves groups of consecutive
/// registers of an access through a pointer with axis facts `info` in `layout` — the widest the
/// contiguity allows, or the widest the proven alignment allows when that is narrower and at
/// least 2 — and what is proven of each group: `mask_info` the facts of its mask (`masked` without facts: nothing known), `buffer`
/// what divides the buffer's element count.
fn access_plan(
    info: &AxisInfo,
    masked: bool,
    mask_info: Option<&AxisInfo>,
    buffer: u64,
    layout: &Layout,
    elem: ScalarType,
    widest: u32,
) -> AccessPlan {
    if elem.bytes() != 4 || elem == ScalarType::Bool || elem == ScalarType::BF16 {
        return AccessPlan::scalar();
    }
    let (Some(b), Some(&d)) = (layout.base(), layout.parent_dims().last()) else {
        return AccessPlan::scalar();
    };
    let (contiguity, divisibility) = info.last();
    let spt = b.size_per_thread[d];
    let Some(contiguous) = [8u32, 4, 2]
        .into_iter()
        .find(|&v| v <= widest && spt % v == 0 && b.shape[d] % v == 0 && contiguity >= v as u64)
    else {
        return AccessPlan::scalar();
    };
    // Where the first index is proven a multiple of a narrower width only (rows of 1,020 f32 are
    // 4-aligned; half of them 8-aligned), the narrower aligned vector serves every group the
    // same way: the wider one would check the alignment at run time and move the groups that
    // miss it element by element. Nothing proven (a launch not specialised): the wider vector,
    // checked at run time.
    let vector = [contiguous, contiguous / 2, contiguous / 4]
        .into_iter()
        .find(|&v| v >= 2 && divisibility >= v as u64)
        .unwrap_or(contiguous);
    let wide = vector as u64;
    let one_mask = match (masked, mask_info) {
        (false, _) => true,
        (true, Some(m)) => m.constancy.last().is_some_and(|&c| c >= wide),
        (true, None) => false,
    };
    AccessPlan {
        vector,
        aligned: divisibility >= wide,
        one_mask,
        whole_vectors: buffer >= wide,
        proven: false,
        other_unobserved: false,
    }
}
