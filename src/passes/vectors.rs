//! Pass 3: the vector width of every load and store (`ir::schedule::Plan::Access`). Where the
//! axis analysis proves the pointer indices of a group of consecutive registers consecutive and
//! aligned, and the layout keeps each group in one invocation's contiguous run along the last
//! dim, one vec2/vec4 access serves the group. Only 32-bit elements qualify (bool and bf16 are
//! stored differently).
use super::axis::{analyze, AxisInfo};
use super::layouts::for_each_inst;
use crate::base::ScalarType;
use crate::ir::{InstKind, Kernel, Layout, Plan, ValueId};

/// Records a `Plan::Access` for every load and store of `kernel`.
pub fn plan_accesses(kernel: &mut Kernel) {
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
    for_each_inst(&kernel.body, kernel, &mut |id| {
        // The layout the access's registers follow, its element type and its pointer.
        let (layout, elem, ptr) = match kernel.insts[id].kind {
            InstKind::Load { ptr, .. } => (layout_of(id), kernel.ty(id).scalar_type(), ptr),
            InstKind::Store { ptr, value, .. } => {
                (layout_of(ptr), kernel.ty(value).scalar_type(), ptr)
            }
            _ => return,
        };
        let one_register_per_pointer = layout.regs() == layout_of(ptr).regs();
        let vector = match (elem, axis[ptr.index()].as_ref()) {
            (Some(elem), Some(info)) if one_register_per_pointer => {
                vector_width(info, &layout, elem)
            }
            _ => 1,
        };
        plans[id.index()] = Some(Plan::Access { vector });
    });
    if let Some(schedule) = kernel.schedule.as_mut() {
        schedule.plans = plans;
    }
}

/// The widest vector (4, 2 or 1 elements) that serves groups of consecutive registers of an
/// access through a pointer with axis facts `info` in `layout`.
fn vector_width(info: &AxisInfo, layout: &Layout, elem: ScalarType) -> u32 {
    if elem.bytes() != 4 || elem == ScalarType::Bool || elem == ScalarType::BF16 {
        return 1;
    }
    let (Some(b), Some(&d)) = (layout.base(), layout.parent_dims().last()) else {
        return 1;
    };
    let (contiguity, divisibility) = info.last();
    let spt = b.size_per_thread[d];
    [4u32, 2]
        .into_iter()
        .find(|&v| {
            spt % v == 0
                && b.shape[d] % v == 0
                && contiguity >= v as u64
                && divisibility >= v as u64
        })
        .unwrap_or(1)
}
