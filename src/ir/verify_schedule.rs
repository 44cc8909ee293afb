//! The verifier's half for the `Schedule` (`verify` calls it from the `LaidOut` stage on): every
//! value and local has a layout that fits it; every plan belongs to an instruction that has that
//! choice and agrees with its layouts (a plan in registers only where the layouts make it
//! possible, subgroup plans only in a one-subgroup workgroup); every scratch region lies within
//! `shared_bytes` and holds what its plan stages; the scratch and the cooperative arrays fit the
//! target's limit. In the `Scheduled` stage every instruction that has a choice has its plan.
//! Every stream is a run of one region whose new order keeps the meaning (`check_stream`).
use super::layout::{local_map, register_dot_operands, Layout, Projection};
use super::schedule::{
    scratch_needed, streamable, subgroup_reducible, ConvertPlan, CoopStaging, DotPlan, DotStaging,
    Plan, ReducePlan, ScanPlan, Schedule, Stream, Streamable,
};
use super::*;

/// Checks `schedule` against `kernel`; `placed` marks the instructions in the body.
pub(super) fn check(kernel: &Kernel, schedule: &Schedule, placed: &[bool]) -> Result<(), String> {
    if schedule.layouts.len() != kernel.insts.len() {
        return Err(format!(
            "the schedule has {} layouts for {} instructions",
            schedule.layouts.len(),
            kernel.insts.len()
        ));
    }
    if schedule.local_layouts.len() != kernel.locals.len() {
        return Err(format!(
            "the schedule has {} local layouts for {} locals",
            schedule.local_layouts.len(),
            kernel.locals.len()
        ));
    }
    for (id, inst) in kernel.insts.iter() {
        let Some(ty) = inst.ty.as_ref().filter(|_| placed[id.index()]) else {
            continue;
        };
        let check = match &schedule.layouts[id.index()] {
            None if ty.is_scalar() => Ok(()),
            None => Err(format!("tile {} has no layout", show(ty))),
            Some(layout) => check_fits(layout, ty, schedule.threads),
        };
        check.map_err(|m| format!("%{}: {m}", id.index()))?;
    }
    for (id, local) in kernel.locals.iter() {
        check_fits(
            &schedule.local_layouts[id.index()],
            &local.ty,
            schedule.threads,
        )
        .map_err(|m| format!("local ${}: {m}", id.index()))?;
    }
    check_cooperative_uses(kernel, schedule, placed)?;
    check_plans(kernel, schedule, placed)
}

/// Values held in cooperative matrices (`Layout::Cooperative`) are made only by a `dot`, a
/// local's read, a splat or a conversion, and read only as a `dot`'s accumulator, by a local's
/// write or by a conversion: no other instruction can name their elements. A local's reads and
/// writes have its layout.
fn check_cooperative_uses(
    kernel: &Kernel,
    schedule: &Schedule,
    placed: &[bool],
) -> Result<(), String> {
    let cooperative = |v: ValueId| {
        matches!(
            schedule.layouts.get(v.index()),
            Some(Some(Layout::Cooperative(_)))
        )
    };
    for (id, inst) in kernel.insts.iter() {
        if !placed[id.index()] {
            continue;
        }
        let at = |m: &str| format!("%{}: {m}", id.index());
        let made = matches!(
            inst.kind,
            InstKind::Dot { .. }
                | InstKind::LocalGet(_)
                | InstKind::Splat(_)
                | InstKind::ConvertLayout(_)
        );
        if cooperative(id) && !made {
            return Err(at(
                "a value in cooperative matrices made by an instruction that cannot",
            ));
        }
        let read_whole = match &inst.kind {
            InstKind::Dot { a, b, .. } => !cooperative(*a) && !cooperative(*b),
            InstKind::LocalSet { .. } | InstKind::ConvertLayout(_) => true,
            kind => kind.operands().into_iter().all(|v| !cooperative(v)),
        };
        if !read_whole {
            return Err(at("reads the elements of a value in cooperative matrices"));
        }
        let local_layout = |local: LocalId| schedule.local_layouts.get(local.index());
        match &inst.kind {
            InstKind::LocalGet(local) if cooperative(id) => {
                if local_layout(*local) != schedule.layouts[id.index()].as_ref() {
                    return Err(at("reads a local in another layout than the local's"));
                }
            }
            InstKind::LocalSet { local, value } if cooperative(*value) => {
                if local_layout(*local) != schedule.layouts[value.index()].as_ref() {
                    return Err(at("writes a local in another layout than the local's"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The plans, their scratch regions and the shared-memory totals.
fn check_plans(kernel: &Kernel, schedule: &Schedule, placed: &[bool]) -> Result<(), String> {
    let complete = kernel.stage == Stage::Scheduled;
    if schedule.plans.len() != kernel.insts.len() && (complete || !schedule.plans.is_empty()) {
        return Err(format!(
            "the schedule has {} plans for {} instructions",
            schedule.plans.len(),
            kernel.insts.len()
        ));
    }
    if schedule.one_subgroup && schedule.threads < 2 {
        return Err(format!(
            "a workgroup of {} invocation is marked as one subgroup",
            schedule.threads
        ));
    }
    let mut cooperative = false;
    for (id, inst) in kernel.insts.iter() {
        if !placed[id.index()] {
            continue;
        }
        let plan = schedule.plan(id);
        let at = |m: String| format!("%{}: {m}", id.index());
        match plan {
            None if complete && needs_plan(&inst.kind) => {
                return Err(at("has no plan".into()));
            }
            None => continue,
            Some(_) if !needs_plan(&inst.kind) => {
                return Err(at("has a plan but no choice to make".into()));
            }
            Some(plan) => {
                check_plan(kernel, schedule, id, plan).map_err(at)?;
                check_scratch(kernel, schedule, id, plan).map_err(at)?;
                cooperative |= matches!(
                    plan,
                    Plan::Dot(DotPlan::Cooperative | DotPlan::CooperativeTiles(_))
                );
            }
        }
    }
    if complete && schedule.coop.is_some() && !cooperative {
        return Err("the schedule plans cooperative arrays that no dot uses".into());
    }
    if schedule.workgroup_bytes() > schedule.max_shared_bytes {
        return Err(format!(
            "the schedule declares {} bytes of workgroup memory, more than the target's {}",
            schedule.workgroup_bytes(),
            schedule.max_shared_bytes
        ));
    }
    for stream in &schedule.streams {
        check_stream(kernel, schedule, stream).map_err(|m| {
            format!(
                "the stream %{}..%{}: {m}",
                stream.first.index(),
                stream.last.index()
            )
        })?;
    }
    Ok(())
}

/// The instructions of `region` and of every region nested in it, region by region.
fn regions<'k>(kernel: &'k Kernel, region: &'k Region, out: &mut Vec<&'k [InstId]>) {
    out.push(&region.insts);
    for &id in &region.insts {
        for nested in kernel.insts[id].kind.regions() {
            regions(kernel, nested, out);
        }
    }
}

/// A stream is a run of consecutive instructions of one region, each elementwise on the one
/// layout of its tiles or on scalars, whose registers per pass divide the tiles and are a
/// multiple of every access's vector, and whose new order moves no store past an access to the
/// same buffer (no store to a buffer it loads, no buffer stored twice).
fn check_stream(kernel: &Kernel, schedule: &Schedule, stream: &Stream) -> Result<(), String> {
    let mut all = Vec::new();
    regions(kernel, &kernel.body, &mut all);
    let run = all
        .iter()
        .find_map(|insts| {
            let a = insts.iter().position(|&i| i == stream.first)?;
            let b = insts.iter().position(|&i| i == stream.last)?;
            (a <= b).then(|| &insts[a..=b])
        })
        .ok_or("not a run of one region")?;
    let layout_of = |v: ValueId| schedule.layouts[v.index()].clone();
    let mut layout: Option<Layout> = None;
    let (mut loaded, mut stored) = (Vec::new(), Vec::new());
    let param = |ptr: ValueId| match kernel.ty(ptr).elem {
        Elem::Ptr { param, .. } => param,
        Elem::Scalar(_) => u32::MAX,
    };
    for &id in run {
        match streamable(kernel, id) {
            Streamable::No => return Err(format!("%{} cannot be streamed", id.index())),
            Streamable::Scalar => continue,
            Streamable::Tile => {}
        }
        let of = match kernel.insts[id].kind {
            InstKind::Store { ptr, .. } => ptr,
            _ => id,
        };
        let this = layout_of(of);
        if layout.is_some() && layout != this {
            return Err(format!("%{} has another layout", id.index()));
        }
        layout = this;
        let vector = match (&kernel.insts[id].kind, schedule.plan(id)) {
            (InstKind::Load { ptr, .. }, Some(Plan::Access(access))) => {
                loaded.push(param(*ptr));
                access.vector
            }
            (InstKind::Store { ptr, .. }, Some(Plan::Access(access))) => {
                if stored.contains(&param(*ptr)) {
                    return Err(format!("%{} stores to a buffer stored before", id.index()));
                }
                stored.push(param(*ptr));
                access.vector
            }
            _ => 1,
        };
        if stream.registers % vector != 0 {
            return Err(format!(
                "passes of {} registers split the vectors of %{}",
                stream.registers,
                id.index()
            ));
        }
    }
    if stored.iter().any(|p| loaded.contains(p)) {
        return Err("it stores to a buffer it loads".into());
    }
    let registers = layout.as_ref().map_or(1, |l| l.regs());
    if stream.registers == 0 || registers % stream.registers != 0 {
        return Err(format!(
            "passes of {} registers do not divide tiles of {registers}",
            stream.registers
        ));
    }
    Ok(())
}

/// The instructions that have a choice of how to run, so a plan.
fn needs_plan(kind: &InstKind) -> bool {
    matches!(
        kind,
        InstKind::Load { .. }
            | InstKind::Store { .. }
            | InstKind::Atomic { .. }
            | InstKind::Reduce { .. }
            | InstKind::Scan { .. }
            | InstKind::Dot { .. }
            | InstKind::ConvertLayout(_)
            | InstKind::Reshape(_)
            | InstKind::Permute { .. }
    )
}

/// The plan agrees with the instruction and its layouts.
fn check_plan(kernel: &Kernel, schedule: &Schedule, id: InstId, plan: &Plan) -> Result<(), String> {
    let layout_of = |v: ValueId| {
        schedule.layouts[v.index()]
            .clone()
            .unwrap_or(Layout::Uniform)
    };
    let subgroup = || {
        if schedule.one_subgroup {
            Ok(())
        } else {
            Err("a subgroup plan in a workgroup that is not one subgroup".to_string())
        }
    };
    match (&kernel.insts[id].kind, plan) {
        (InstKind::Load { ptr, .. }, Plan::Access(access)) => {
            let elem = kernel.ty(id).scalar_type();
            check_vector(access.vector, elem, &layout_of(id), &layout_of(*ptr))
        }
        (InstKind::Store { ptr, value, .. }, Plan::Access(access)) => {
            let elem = kernel.ty(*value).scalar_type();
            check_vector(access.vector, elem, &layout_of(*ptr), &layout_of(*ptr))
        }
        (InstKind::Reduce { value, axis, .. }, Plan::Reduce(reduce)) => {
            let across = !layout_of(*value).reduction_group_dims(*axis).is_empty();
            match reduce {
                ReducePlan::Registers if across => {
                    Err("a reduction across invocations is planned in registers".into())
                }
                ReducePlan::Registers => Ok(()),
                _ if !across => Err("a reduction within each invocation leaves registers".into()),
                ReducePlan::Subgroup => subgroup(),
                ReducePlan::Subgroups { chunk, .. } => {
                    let src = layout_of(*value);
                    let spanned: u32 = match src.base() {
                        Some(b) => src
                            .reduction_group_dims(*axis)
                            .iter()
                            .map(|&d| b.threads_per_dim[d])
                            .product(),
                        None => 1,
                    };
                    check_chunk(*chunk, layout_of(id).regs())?;
                    if spanned != schedule.threads {
                        Err(format!(
                            "a reduction by subgroups over {spanned} of the workgroup's {} \
                             invocations (it needs them all)",
                            schedule.threads
                        ))
                    } else if !subgroup_reducible(kernel.ty(*value)) {
                        Err(format!(
                            "a reduction of {} by subgroup operations",
                            show(kernel.ty(*value))
                        ))
                    } else {
                        Ok(())
                    }
                }
                ReducePlan::Shared { chunk, .. } => check_chunk(*chunk, layout_of(id).regs()),
            }
        }
        (InstKind::Scan { value, axis, .. }, Plan::Scan(scan)) => {
            let across = layout_of(*value).scan_crosses_invocations(*axis);
            match scan {
                ScanPlan::Registers if across => {
                    Err("a scan across invocations is planned in registers".into())
                }
                ScanPlan::Registers => Ok(()),
                _ if !across => Err("a scan within each invocation leaves registers".into()),
                ScanPlan::Subgroup => subgroup(),
                ScanPlan::Shared(_) => Ok(()),
            }
        }
        (InstKind::Dot { a, b, acc }, Plan::Dot(dot)) => {
            let (sa, sb) = (&kernel.ty(*a).shape, &kernel.ty(*b).shape);
            let (m, k, n) = (sa[0], sa[1], sb[1]);
            let registers = match layout_of(id) {
                Layout::Blocked(r) => {
                    let (la, lb) = register_dot_operands(&r, k);
                    layout_of(*a) == Layout::Blocked(la) && layout_of(*b) == Layout::Blocked(lb)
                }
                _ => false,
            };
            match dot {
                DotPlan::Registers if registers => Ok(()),
                DotPlan::Registers => {
                    Err("a dot in registers whose operands are not in register layouts".into())
                }
                _ if registers => Err("a dot with register operands is staged".into()),
                DotPlan::Broadcast => {
                    subgroup()?;
                    let spread = match (layout_of(id), layout_of(*a)) {
                        (Layout::Blocked(r), Layout::Blocked(la)) => {
                            let (_, lb) = register_dot_operands(&r, k);
                            r.threads_per_dim[0] == 1
                                && la.is_distributed()
                                && la.threads() == r.threads()
                                && layout_of(*b) == Layout::Blocked(lb)
                        }
                        _ => false,
                    };
                    if !spread {
                        Err(
                            "a broadcast dot whose result rows are not in every lane, or whose \
                             `a` is not spread over the lanes, or whose `b` is not in its \
                             register layout"
                                .into(),
                        )
                    } else if layout_of(*acc) != layout_of(id) {
                        Err("a broadcast dot's accumulator is in another layout".into())
                    } else {
                        Ok(())
                    }
                }
                DotPlan::Staged(s) => check_staging(s, &layout_of(id), &layout_of(*acc), m, k, n)
                    .and_then(|()| check_dot_region(kernel, schedule, id, s, k)),
                DotPlan::CooperativeTiles(c) => check_cooperative_tiles(
                    schedule,
                    c,
                    &layout_of(id),
                    &layout_of(*acc),
                    [m, k, n],
                )
                .and_then(|()| check_coop_region(schedule, id, c, m, k)),
                DotPlan::Cooperative => match &schedule.coop {
                    None => Err("a cooperative dot without cooperative arrays".into()),
                    // The arrays are sized for the plans the dots end with: those that keep
                    // their accumulators in matrices change plan in the last pass.
                    Some(c)
                        if m % c.m == 0
                            && n % c.n == 0
                            && k % c.k == 0
                            && (kernel.stage != Stage::Scheduled
                                || (m * k + k * n <= c.halves && m * n <= c.floats)) =>
                    {
                        Ok(())
                    }
                    Some(c) => Err(format!(
                        "planned on {}x{}x{} cooperative matrices but not a dot they tile \
                         within the planned arrays",
                        c.m, c.n, c.k
                    )),
                },
            }
        }
        (InstKind::ConvertLayout(value), Plan::Convert(ConvertPlan::Cooperative { rows })) => {
            check_cooperative_conversion(schedule, &layout_of(*value), &layout_of(id), *rows)
        }
        (InstKind::ConvertLayout(value), Plan::Convert(convert)) => {
            let local =
                local_map(&layout_of(*value), &layout_of(id), &Projection::Identity).is_some();
            match convert {
                ConvertPlan::Registers if !local => {
                    Err("a conversion that moves data is planned in registers".into())
                }
                ConvertPlan::Shared(_) if local => {
                    Err("a register renaming is planned through shared memory".into())
                }
                _ => Ok(()),
            }
        }
        (
            InstKind::Atomic { .. } | InstKind::Reshape(_) | InstKind::Permute { .. },
            Plan::Staged(_),
        ) => Ok(()),
        (_, plan) => Err(format!(
            "has a plan for another kind of instruction: {plan:?}"
        )),
    }
}

/// `chunk` result registers at a time, between 1 and all `results` of them.
fn check_chunk(chunk: u32, results: u32) -> Result<(), String> {
    let results = results.max(1);
    if (1..=results).contains(&chunk) {
        Ok(())
    } else {
        Err(format!(
            "chunks of {chunk} result registers, not between 1 and {results}"
        ))
    }
}

/// A vector width of 1, 2, 4 or 8 elements (8 only through a CPU device's 64-bit views, which
/// the emitter checks); wider than 1 only for 32-bit elements (not bool or
/// bf16, which are stored differently) whose layout keeps each vector in one invocation's run
/// along the last dim, with one register per pointer.
fn check_vector(
    vector: u32,
    elem: Option<ScalarType>,
    layout: &Layout,
    ptr: &Layout,
) -> Result<(), String> {
    if vector == 1 {
        return Ok(());
    }
    if !matches!(vector, 2 | 4 | 8) {
        return Err(format!("accesses of {vector} elements (1, 2, 4 or 8)"));
    }
    let wide =
        elem.is_some_and(|e| e.bytes() == 4 && e != ScalarType::Bool && e != ScalarType::BF16);
    let runs = match (layout.base(), layout.parent_dims().last()) {
        (Some(b), Some(&d)) => b.size_per_thread[d] % vector == 0 && b.shape[d] % vector == 0,
        _ => false,
    };
    if wide && runs && layout.regs() == ptr.regs() {
        Ok(())
    } else {
        Err(format!(
            "accesses of {vector} elements that its element type or layout do not allow"
        ))
    }
}

/// The plan's scratch region is word-aligned, within `shared_bytes`, and holds what it stages.
fn check_scratch(
    kernel: &Kernel,
    schedule: &Schedule,
    id: InstId,
    plan: &Plan,
) -> Result<(), String> {
    let Some(scratch) = plan.scratch() else {
        return Ok(());
    };
    let needed = scratch_needed(kernel, &schedule.layouts, id, plan);
    if scratch.offset % 4 != 0 {
        Err(format!(
            "scratch at byte {} is not word-aligned",
            scratch.offset
        ))
    } else if scratch.bytes < needed {
        Err(format!(
            "its plan stages {needed} bytes in a scratch region of {}",
            scratch.bytes
        ))
    } else if scratch.end() > schedule.shared_bytes {
        Err(format!(
            "its plan needs scratch bytes {}..{}, more than the {} the schedule declares",
            scratch.offset,
            scratch.end(),
            schedule.shared_bytes
        ))
    } else {
        Ok(())
    }
}

/// A staged `dot`'s plan against its shape and result layout: rows long enough, four-vector
/// reads only where the register tile's blocks come in fours and the rows stay aligned, a K loop
/// unrolled a divisor of K times, at least one buffer.
fn check_staging(
    s: &DotStaging,
    result: &Layout,
    acc: &Layout,
    m: u32,
    k: u32,
    n: u32,
) -> Result<(), String> {
    let blocks_of_four = match result {
        Layout::Blocked(r) => r.size_per_thread.iter().all(|&x| x % 4 == 0),
        _ => false,
    };
    if acc.regs() != result.regs() {
        Err("a staged dot's accumulator is in another layout".into())
    } else if s.a_row_stride < m || s.b_row_stride < n {
        Err(format!(
            "staged rows {} and {} elements apart are shorter than M = {m} and N = {n}",
            s.a_row_stride, s.b_row_stride
        ))
    } else if s.k_unroll == 0 || k % s.k_unroll != 0 {
        Err(format!(
            "a K loop unrolled {} times does not divide K = {k}",
            s.k_unroll
        ))
    } else if s.vector != 1 && s.vector != 4 {
        Err(format!("staged reads of {} elements (1 or 4)", s.vector))
    } else if s.vector == 4
        && (!blocks_of_four || s.a_row_stride % 4 != 0 || s.b_row_stride % 4 != 0)
    {
        Err("four-element staged reads of a register tile or rows that do not come in fours".into())
    } else if s.stages == 0 {
        Err("a staged dot with no buffer".into())
    } else {
        Ok(())
    }
}

/// A staged `dot`'s region of the dot array: 16-byte aligned, large enough for its `stages`
/// buffers, within the array, and shared with no other `dot` unless both have one buffer (a
/// `dot` with several writes without waiting first; one with a single buffer waits at a barrier
/// before writing).
fn check_dot_region(
    kernel: &Kernel,
    schedule: &Schedule,
    id: InstId,
    s: &DotStaging,
    k: u32,
) -> Result<(), String> {
    let region = s.region;
    // Regions are placed once every plan is made.
    if kernel.stage != Stage::Scheduled {
        return Ok(());
    }
    let needed = s.bytes_needed(k);
    if region.offset % 16 != 0 {
        return Err(format!(
            "a dot region at byte {} is not 16-byte aligned",
            region.offset
        ));
    }
    if region.bytes < needed {
        return Err(format!(
            "its {} buffers need {needed} bytes of the dot array, its region has {}",
            s.stages, region.bytes
        ));
    }
    if region.end() > schedule.dot_bytes {
        return Err(format!(
            "its dot region {}..{} ends past the {} bytes of the dot array",
            region.offset,
            region.end(),
            schedule.dot_bytes
        ));
    }
    for (i, plan) in schedule.plans.iter().enumerate() {
        if let Some(Plan::Dot(DotPlan::Staged(other))) = plan {
            let o = other.region;
            let overlap = o.offset < region.end() && region.offset < o.end();
            if i != id.index() && overlap && (s.stages > 1 || other.stages > 1) {
                return Err(format!("its dot region overlaps the region of %{i}"));
            }
        }
    }
    Ok(())
}

/// A `CooperativeTiles` `dot`: the result and the accumulator in the same cooperative layout
/// of the schedule's matrix shape, K a multiple of the matrix depth, rows long enough and
/// 16-byte aligned for the matrix loads, at least one buffer.
fn check_cooperative_tiles(
    schedule: &Schedule,
    c: &CoopStaging,
    result: &Layout,
    acc: &Layout,
    [m, k, n]: [u32; 3],
) -> Result<(), String> {
    let Some(coop) = &schedule.coop else {
        return Err("a cooperative dot without cooperative arrays".into());
    };
    let Layout::Cooperative(tiles) = result else {
        return Err(
            "a dot on cooperative tiles whose result is not in cooperative matrices".into(),
        );
    };
    if acc != result {
        Err("a dot on cooperative tiles whose accumulator is in another layout".into())
    } else if tiles.tile != [coop.m, coop.n] || k % coop.k != 0 || tiles.shape != [m, n] {
        Err(format!(
            "cooperative tiles of {}x{} for a {m}x{k}x{n} dot on {}x{}x{} matrices",
            tiles.tile[0], tiles.tile[1], coop.m, coop.n, coop.k
        ))
    } else if c.a_row_stride < k || c.b_row_stride < n {
        Err(format!(
            "staged rows {} and {} halves apart are shorter than K = {k} and N = {n}",
            c.a_row_stride, c.b_row_stride
        ))
    } else if c.a_row_stride % 8 != 0 || c.b_row_stride % 8 != 0 {
        Err(format!(
            "staged rows {} and {} halves apart are not 16-byte aligned",
            c.a_row_stride, c.b_row_stride
        ))
    } else if c.stages == 0 {
        Err("a staged dot with no buffer".into())
    } else {
        Ok(())
    }
}

/// A `CooperativeTiles` `dot`'s region of the cooperative staging array: aligned, large enough,
/// within the array, and shared only between single-buffered `dot`s (as `check_dot_region`).
fn check_coop_region(
    schedule: &Schedule,
    id: InstId,
    c: &CoopStaging,
    m: u32,
    k: u32,
) -> Result<(), String> {
    let region = c.region;
    let capacity = schedule.coop.as_ref().map_or(0, |p| p.vectors * 8);
    let needed = c.bytes_needed(m, k);
    if region.offset % 16 != 0 {
        return Err(format!(
            "a cooperative staging region at byte {} is not 16-byte aligned",
            region.offset
        ));
    }
    if region.bytes < needed {
        return Err(format!(
            "its {} buffers need {needed} bytes of the cooperative staging array, its region \
             has {}",
            c.stages, region.bytes
        ));
    }
    if region.end() > capacity {
        return Err(format!(
            "its cooperative staging region {}..{} ends past the {capacity} bytes of the array",
            region.offset,
            region.end()
        ));
    }
    for (i, plan) in schedule.plans.iter().enumerate() {
        if let Some(Plan::Dot(DotPlan::CooperativeTiles(other))) = plan {
            let o = other.region;
            let overlap = o.offset < region.end() && region.offset < o.end();
            if i != id.index() && overlap && (c.stages > 1 || other.stages > 1) {
                return Err(format!(
                    "its cooperative staging region overlaps the region of %{i}"
                ));
            }
        }
    }
    Ok(())
}

/// A conversion into or out of cooperative matrices: one side cooperative, the other a blocked
/// layout of the same 2-d shape; its chunks of `rows` rows made of whole matrices and whole
/// repetitions of the blocked side's pattern, within the cooperative f32 array.
fn check_cooperative_conversion(
    schedule: &Schedule,
    from: &Layout,
    to: &Layout,
    rows: u32,
) -> Result<(), String> {
    let (tiles, other) = match (from, to) {
        (Layout::Cooperative(c), Layout::Blocked(b))
        | (Layout::Blocked(b), Layout::Cooperative(c)) => (c, b),
        _ => return Err("a conversion through cooperative matrices between other layouts".into()),
    };
    let floats = schedule.coop.as_ref().map_or(0, |p| p.floats);
    let m = tiles.shape[0];
    let pattern = other.size_per_thread[0] * other.threads_per_dim[0];
    if tiles.shape != other.shape {
        Err("a conversion through cooperative matrices changes the shape".into())
    } else if rows == 0
        || m % rows != 0
        || rows % tiles.tile[0] != 0
        || (rows % pattern != 0 && rows != m)
    {
        Err(format!(
            "a conversion through cooperative matrices {rows} rows at a time, not whole \
             matrices of {} rows and whole repetitions of {pattern} rows",
            tiles.tile[0]
        ))
    } else if floats < rows * tiles.shape[1] {
        Err(format!(
            "a conversion of {rows} rows of a {:?} tile at a time through a cooperative f32 \
             array of {floats} elements",
            tiles.shape
        ))
    } else {
        Ok(())
    }
}

fn show(ty: &Type) -> String {
    super::print::type_text(ty)
}

/// The shape a layout describes (`None` for `Uniform`, which fits any scalar).
fn layout_shape(layout: &Layout) -> Option<Vec<u32>> {
    match layout {
        Layout::Uniform => None,
        Layout::Blocked(b) => Some(b.shape.clone()),
        Layout::Cooperative(c) => Some(c.shape.clone()),
        Layout::Slice { parent, dim } => {
            let mut shape = parent.shape.clone();
            if (*dim as usize) < shape.len() {
                shape.remove(*dim as usize);
            }
            Some(shape)
        }
    }
}

fn check_layout(layout: &Layout, threads: u32) -> Result<(), String> {
    let blocked = match layout {
        Layout::Uniform => return Ok(()),
        Layout::Cooperative(c) if !c.fits() => {
            return Err(format!(
                "cooperative matrices of {}x{} over {}x{} subgroups do not tile {:?}",
                c.tile[0], c.tile[1], c.subgroups[0], c.subgroups[1], c.shape
            ))
        }
        Layout::Cooperative(c) if c.threads() != threads => {
            return Err(format!(
                "layout spreads over {} invocations, the workgroup has {threads}",
                c.threads()
            ))
        }
        Layout::Cooperative(_) => return Ok(()),
        Layout::Blocked(b) => b,
        Layout::Slice { parent, dim } => {
            if *dim as usize >= parent.rank() {
                return Err(format!("slice dim {dim} out of range"));
            }
            parent
        }
    };
    let rank = blocked.rank();
    if blocked.size_per_thread.len() != rank || blocked.threads_per_dim.len() != rank {
        return Err("layout vectors differ in length from its rank".into());
    }
    if blocked.size_per_thread.contains(&0)
        || !blocked.threads_per_dim.iter().all(|d| d.is_power_of_two())
    {
        return Err("layout has a zero size per thread or a non-power-of-two thread count".into());
    }
    if blocked.threads() != threads {
        return Err(format!(
            "layout spreads over {} invocations, the workgroup has {threads}",
            blocked.threads()
        ));
    }
    Ok(())
}

fn check_fits(layout: &Layout, ty: &Type, threads: u32) -> Result<(), String> {
    check_layout(layout, threads)?;
    match layout_shape(layout) {
        None if ty.is_scalar() => Ok(()),
        None => Err(format!("tile {} has a uniform layout", show(ty))),
        Some(shape) if shape == ty.shape => Ok(()),
        Some(shape) => Err(format!(
            "layout of shape {shape:?} does not fit {}",
            show(ty)
        )),
    }
}

#[cfg(test)]
mod tests;
