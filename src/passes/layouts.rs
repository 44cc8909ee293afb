//! Pass 2: a layout for every value and local, with `ConvertLayout` where an operand's layout is
//! not what its user needs.
//!
//! Two walks. The backward walk (users before producers) records the layout each value's users
//! want: elementwise operands want the result's layout, a broadcast operand wants the result's
//! layout collapsed along the broadcast dims, an `ExpandDims` operand wants the slice of the
//! result's layout, a reduction operand wants the slice's parent. The forward walk then fixes each
//! value's layout: producers free to choose (arange, splat, loads, elementwise) take the wanted
//! layout unless their operands' layouts are cheaper; reductions give `Slice`, `ExpandDims` of a
//! slice gives the parent with a size-1 dim, and a broadcast from that is local. Where an operand's
//! layout still differs, a `ConvertLayout` is inserted before the user.
use crate::ir::layout::{local_map, register_dot_operands, Blocked, Projection};
use crate::ir::{Inst, InstId, InstKind, Kernel, Layout, LocalId, Region, Type, ValueId};

/// Calls `f` on every instruction of `region` and its nested regions, in program order.
pub fn for_each_inst(region: &Region, kernel: &Kernel, f: &mut dyn FnMut(InstId)) {
    for &id in &region.insts {
        f(id);
        for nested in kernel.insts[id].kind.regions() {
            for_each_inst(nested, kernel, f);
        }
    }
}

/// The default layout of a shape over `threads` invocations: up to 4 contiguous elements along the
/// last dim (the vector width), invocations spread from the last dim outward, and leftover
/// invocations along dim 0, where they hold replicas.
pub fn default_layout(shape: &[u32], threads: u32) -> Blocked {
    default_layout_with_run(shape, threads, 4)
}

/// `default_layout` with runs of `run` contiguous elements per invocation along the last dim
/// where that dim has room for a run in every invocation (`run` is the target's widest vector
/// access: 8 elements through a CPU device's 64-bit views, which lavapipe moves at a cost per
/// component and per SIMD lane; 4 elsewhere).
pub fn default_layout_with_run(shape: &[u32], threads: u32, run: u32) -> Blocked {
    let rank = shape.len();
    let mut size_per_thread = vec![1; rank];
    let last = shape[rank - 1];
    size_per_thread[rank - 1] = if run > 4 && last >= run.saturating_mul(threads) {
        run
    } else {
        last.clamp(1, 4)
    };
    let mut threads_per_dim = vec![1; rank];
    let mut left = threads;
    for d in (0..rank).rev() {
        let room = (shape[d] / size_per_thread[d]).max(1);
        let take = room.min(left);
        threads_per_dim[d] = take;
        left /= take;
    }
    threads_per_dim[0] *= left;
    Blocked {
        shape: shape.to_vec(),
        size_per_thread,
        threads_per_dim,
    }
}

/// The layout of a value after broadcasting dims away: size 1 and one element per invocation along
/// `dims` (invocations along them then hold replicas).
pub fn collapse(layout: &Layout, dims: &[usize]) -> Layout {
    let fix = |b: &Blocked, parent_dims: &[usize]| {
        let mut b = b.clone();
        for &d in dims {
            let pd = parent_dims[d];
            b.shape[pd] = 1;
            b.size_per_thread[pd] = 1;
        }
        b
    };
    match layout {
        // Cooperative layouts are given after the layout pass (`passes::coop`).
        Layout::Uniform | Layout::Cooperative(_) => Layout::Uniform,
        Layout::Blocked(b) => Layout::Blocked(fix(b, &layout.parent_dims())),
        Layout::Slice { parent, dim } => Layout::Slice {
            parent: fix(parent, &layout.parent_dims()),
            dim: *dim,
        },
    }
}

/// The tile operands of an instruction that must share its (elementwise) layout: elementwise
/// arithmetic, pointer offsets, memory accesses and scans (a scan keeps its operand's layout,
/// like an elementwise operation).
fn elementwise_operands(kind: &InstKind) -> Option<Vec<ValueId>> {
    matches!(
        kind,
        InstKind::Unary { .. }
            | InstKind::Cast(_)
            | InstKind::Bitcast(_)
            | InstKind::Binary { .. }
            | InstKind::Compare { .. }
            | InstKind::Select { .. }
            | InstKind::Fma { .. }
            | InstKind::PtrOffset { .. }
            | InstKind::Scan { .. }
            | InstKind::Load { .. }
            | InstKind::Store { .. }
            | InstKind::Atomic { .. }
    )
    .then(|| kind.operands())
}

fn is_tile(kernel: &Kernel, v: ValueId) -> bool {
    kernel.insts[v].ty.as_ref().is_some_and(|t| !t.is_scalar())
}

struct State {
    threads: u32,
    /// `dot` runs in registers: its operands take `ir::layout::register_dot_operands`.
    register_dot: bool,
    /// Contiguous elements per invocation along the last dim (`default_layout_with_run`).
    run: u32,
    /// The `dot`s that run on cooperative matrices: their results keep the layout their users
    /// want (the register tile of a staged `dot` would serve no FMA).
    cooperative: Vec<InstId>,
    want: Vec<Option<Layout>>,
    local_want: Vec<Option<Layout>>,
    local_layouts: Vec<Layout>,
    layouts: Vec<Option<Layout>>,
    /// Values that may take any layout at no cost (arange, splat, elementwise math on them).
    free: Vec<bool>,
    /// Per local: the layout of the last anchored value stored into it, before conversion.
    last_set: Vec<Option<Layout>>,
}

impl State {
    fn default_for(&self, ty: &Type) -> Layout {
        if ty.is_scalar() {
            Layout::Uniform
        } else {
            Layout::Blocked(default_layout_with_run(&ty.shape, self.threads, self.run))
        }
    }
    fn target(&self, kernel: &Kernel, v: ValueId) -> Layout {
        if let InstKind::LocalGet(local) = kernel.insts[v].kind {
            if let Some(l) = self.local_layouts.get(local.index()) {
                return l.clone();
            }
        }
        match &kernel.insts[v].ty {
            Some(ty) if !ty.is_scalar() => self.want[v.index()]
                .clone()
                .unwrap_or_else(|| self.default_for(ty)),
            _ => Layout::Uniform,
        }
    }
    fn suggest(&mut self, kernel: &Kernel, v: ValueId, layout: Layout) {
        if is_tile(kernel, v) && self.want[v.index()].is_none() {
            self.want[v.index()] = Some(layout);
        }
    }
    fn layout(&self, v: ValueId) -> Layout {
        self.layouts[v.index()]
            .clone()
            .expect("operand layout assigned before its use")
    }
}

/// What a first solve learned: the layout of every anchored value and of each local.
struct Seeds {
    want: Vec<Option<Layout>>,
    local_want: Vec<Option<Layout>>,
}

/// Assigns layouts and inserts conversions; fills `schedule.layouts` and `local_layouts`.
///
/// Solved twice. The first solve (on a copy) places the anchored values: loads, reductions and
/// what derives from them. The second starts from those layouts, gives each local the layout of
/// the last value stored into it (the loop-carried update), and lets the free producers (arange,
/// splat and elementwise math on them) take what their users want. `run` is the target's
/// widest vector access in elements (`default_layout_with_run`).
pub fn assign_layouts(
    kernel: &mut Kernel,
    threads: u32,
    register_dot: bool,
    run: u32,
    cooperative: &[InstId],
) {
    let n = kernel.insts.len();
    let mut trial = kernel.clone();
    let first = solve(
        &mut trial,
        threads,
        register_dot,
        run,
        cooperative,
        Seeds {
            want: vec![None; n],
            local_want: vec![None; kernel.locals.len()],
        },
    );
    let mut seeds = Seeds {
        want: vec![None; n],
        local_want: first.last_set.clone(),
    };
    for (i, inst) in kernel.insts.iter() {
        let i = i.index();
        // A local's readers take the local's (new) layout.
        if !first.free[i] && !matches!(inst.kind, InstKind::LocalGet(_)) {
            seeds.want[i] = first.layouts[i].clone();
        }
    }
    let state = solve(kernel, threads, register_dot, run, cooperative, seeds);

    let schedule = kernel
        .schedule
        .get_or_insert_with(|| crate::ir::Schedule::new(threads, 0, false));
    let mut layouts = state.layouts;
    layouts.resize(kernel.insts.len(), None);
    schedule.layouts = layouts;
    schedule.local_layouts = state.local_layouts;
}

fn solve(
    kernel: &mut Kernel,
    threads: u32,
    register_dot: bool,
    run: u32,
    cooperative: &[InstId],
    seeds: Seeds,
) -> State {
    let n = kernel.insts.len();
    let mut state = State {
        threads,
        register_dot,
        run,
        cooperative: cooperative.to_vec(),
        want: vec![None; n],
        local_want: seeds.local_want,
        local_layouts: Vec::new(),
        layouts: vec![None; n],
        free: vec![false; n],
        last_set: vec![None; kernel.locals.len()],
    };
    let mut order = Vec::new();
    for_each_inst(&kernel.body, kernel, &mut |id| order.push(id));

    // Backward walk, twice: the first round learns what the readers of each local want.
    for round in 0..2 {
        state.want = seeds.want.clone();
        state.local_layouts = kernel
            .locals
            .iter()
            .map(|(id, local)| {
                state.local_want[id.index()]
                    .clone()
                    .unwrap_or_else(|| state.default_for(&local.ty))
            })
            .collect();
        for &id in order.iter().rev() {
            backward(kernel, &mut state, id, round == 0);
        }
    }

    // Forward walk with conversions.
    let mut body = std::mem::take(&mut kernel.body);
    forward_region(kernel, &mut state, &mut body);
    kernel.body = body;
    state
}

fn backward(kernel: &Kernel, state: &mut State, id: InstId, learn_locals: bool) {
    let inst = &kernel.insts[id];
    let result = state.target(kernel, id);
    match &inst.kind {
        InstKind::Store { ptr, value, mask } => {
            let local_value = matches!(kernel.insts[*value].kind, InstKind::LocalGet(_));
            let chosen = [*ptr, *value]
                .iter()
                .find_map(|v| state.want[v.index()].clone())
                .or_else(|| local_value.then(|| state.target(kernel, *value)))
                .unwrap_or_else(|| state.default_for(kernel.ty(*ptr)));
            if is_tile(kernel, *ptr) {
                for v in [Some(*ptr), Some(*value), *mask].into_iter().flatten() {
                    state.suggest(kernel, v, chosen.clone());
                }
            }
        }
        kind if elementwise_operands(kind).is_some() => {
            if is_tile(kernel, id) {
                for v in elementwise_operands(kind).unwrap() {
                    state.suggest(kernel, v, result.clone());
                }
            }
        }
        InstKind::Broadcast(x) => {
            let from = &kernel.ty(*x).shape;
            let to = &kernel.ty(id).shape;
            let dims: Vec<usize> = (0..to.len()).filter(|&d| from[d] != to[d]).collect();
            state.suggest(kernel, *x, collapse(&result, &dims));
        }
        InstKind::ExpandDims { value, axis } => {
            if let Layout::Blocked(b) = &result {
                state.suggest(
                    kernel,
                    *value,
                    Layout::Slice {
                        parent: b.clone(),
                        dim: *axis,
                    },
                );
            }
        }
        InstKind::Reduce {
            value,
            axis: Some(axis),
            ..
        } => {
            let a = *axis as usize;
            let full = kernel.ty(*value).shape[a];
            let wanted = match &result {
                Layout::Slice { parent, dim } if *dim as usize == a => {
                    let mut p = parent.clone();
                    p.shape[a] = full;
                    p.size_per_thread[a] = p.size_per_thread[a].min(full);
                    Some(p)
                }
                // A blocked result would make the operand hold whole rows per invocation:
                // let the operand keep its own layout and convert the result instead.
                _ => None,
            };
            if let Some(p) = wanted {
                state.suggest(kernel, *value, Layout::Blocked(p));
            }
        }
        InstKind::LocalSet { local, value } => {
            let l = state.local_layouts[local.index()].clone();
            state.suggest(kernel, *value, l);
        }
        // The accumulator is read in the product's layout (it stays in registers across a loop).
        InstKind::Dot { a, b, acc } => {
            let k = kernel.ty(*a).shape[1];
            let mut result = result;
            // The `dot` chooses its result's layout (`passes::dot`: every row in every lane on
            // a CPU device, a register tile elsewhere), and its accumulator follows.
            let [m, n] = kernel.ty(id).shape[..] else {
                unreachable!("a dot is 2-d")
            };
            let chosen = if state.register_dot {
                super::dot::lanes_result_layout(m, n, state.threads)
            } else if state.cooperative.contains(&id) {
                None
            } else {
                super::dot::tile_result_layout(m, n, state.threads)
            };
            if let Some(l) = chosen {
                result = Layout::Blocked(l);
                state.want[id.index()] = Some(result.clone());
            }
            state.suggest(kernel, *acc, result.clone());
            if let (true, Layout::Blocked(r)) = (state.register_dot, &result) {
                if let Some((la, lb)) = super::dot::cpu_operand_layouts(r, k, None, state.threads) {
                    // A computed `a` (attention's probabilities) keeps the layout it is computed
                    // in when that is spread over the lanes; a loaded one is loaded spread.
                    if super::dot::loaded(kernel, *a) || la == register_dot_operands(r, k).0 {
                        state.suggest(kernel, *a, Layout::Blocked(la));
                    }
                    state.suggest(kernel, *b, Layout::Blocked(lb));
                }
            }
        }
        InstKind::LocalGet(local) => {
            if learn_locals && is_tile(kernel, id) {
                // A want that only echoes the local's own layout (a loop-carried update such as
                // `p = p + step` feeds it back) gives way to what a real reader wants.
                let own = &state.local_layouts[local.index()];
                let wanted = state.want[id.index()].clone().unwrap_or(result);
                let slot = &mut state.local_want[local.index()];
                if slot.is_none() || (slot.as_ref() == Some(own) && wanted != *own) {
                    *slot = Some(wanted);
                }
            }
        }
        _ => {}
    }
}

/// The cost of reading `from` as `to`: free when equal or a register renaming, dear otherwise.
fn conversion_cost(from: &Layout, to: &Layout) -> u32 {
    if from == to {
        0
    } else if local_map(from, to, &Projection::Identity).is_some() {
        1
    } else {
        100
    }
}

/// Inserts `ConvertLayout(value)` to `layout` into `out` and returns the new value.
fn convert(
    kernel: &mut Kernel,
    state: &mut State,
    out: &mut Vec<InstId>,
    span_of: InstId,
    value: ValueId,
    layout: Layout,
) -> ValueId {
    let ty = kernel.ty(value).clone();
    // A value computed from `arange`s and splats alone is computed again in the new layout
    // rather than moved: moving it through shared memory costs two barriers (the matmul's K
    // offsets, read along K by both operands, would cost them in every iteration).
    let moves = local_map(&state.layout(value), &layout, &Projection::Identity).is_none();
    let mut kind = kernel.insts[value].kind.clone();
    let recompute = moves && recomputable(kernel, state, value);
    if recompute {
        for operand in kind.operands_mut() {
            if is_tile(kernel, *operand) {
                *operand = convert(kernel, state, out, span_of, *operand, layout.clone());
            }
        }
    }
    let id = kernel.insts.alloc(Inst {
        kind: if recompute {
            kind
        } else {
            InstKind::ConvertLayout(value)
        },
        ty: Some(ty),
    });
    let span = kernel.span(span_of);
    kernel.spans.resize(id.index(), Default::default());
    kernel.spans.push(span);
    state.layouts.resize(id.index() + 1, None);
    state.layouts[id.index()] = Some(layout);
    state.free.resize(id.index() + 1, false);
    state.free[id.index()] = recompute;
    out.push(id);
    id
}

/// True when `value` is an `arange`, a splat, or elementwise arithmetic whose tile operands are
/// such values: cheaper to compute again in another layout than to move.
fn recomputable(kernel: &Kernel, state: &State, value: ValueId) -> bool {
    if !state.free.get(value.index()).copied().unwrap_or(false) {
        return false;
    }
    let kind = &kernel.insts[value].kind;
    match kind {
        InstKind::Arange { .. } | InstKind::Splat(_) => true,
        InstKind::Unary { .. }
        | InstKind::Binary { .. }
        | InstKind::Compare { .. }
        | InstKind::Cast(_)
        | InstKind::Select { .. } => kind
            .operands()
            .into_iter()
            .all(|v| !is_tile(kernel, v) || recomputable(kernel, state, v)),
        _ => false,
    }
}

fn forward_region(kernel: &mut Kernel, state: &mut State, region: &mut Region) {
    let mut out = Vec::with_capacity(region.insts.len());
    for &id in &region.insts.clone() {
        forward(kernel, state, id, &mut out);
        out.push(id);
    }
    region.insts = out;
}

fn forward(kernel: &mut Kernel, state: &mut State, id: InstId, out: &mut Vec<InstId>) {
    let target = state.target(kernel, id);
    let mut kind = kernel.insts[id].kind.clone();
    let scalar_store = matches!(&kind, InstKind::Store { ptr, .. } if !is_tile(kernel, *ptr));
    let layout: Option<Layout> = match &mut kind {
        InstKind::If {
            then_region,
            else_region,
            ..
        } => {
            forward_region(kernel, state, then_region);
            forward_region(kernel, state, else_region);
            None
        }
        InstKind::For { body, .. } => {
            forward_region(kernel, state, body);
            None
        }
        InstKind::While {
            cond_region, body, ..
        } => {
            forward_region(kernel, state, cond_region);
            forward_region(kernel, state, body);
            None
        }
        InstKind::Store { .. } if scalar_store => None,
        InstKind::Store { ptr, value, mask } => {
            let mut ops = vec![ptr, value];
            if let Some(m) = mask {
                ops.push(m);
            }
            choose_elementwise(kernel, state, id, out, ops, None);
            None
        }
        InstKind::LocalSet { local, value } => {
            let wanted = state.local_layouts[local.index()].clone();
            if is_tile(kernel, *value) && !state.free[value.index()] {
                state.last_set[local.index()] = Some(state.layout(*value));
            }
            if is_tile(kernel, *value) && state.layout(*value) != wanted {
                *value = convert(kernel, state, out, id, *value, wanted);
            }
            None
        }
        _ if !is_tile(kernel, id) => kernel.insts[id].ty.as_ref().map(|_| Layout::Uniform),
        InstKind::Arange { .. } | InstKind::Splat(_) => Some(target),
        InstKind::Unary { value, .. }
        | InstKind::Cast(value)
        | InstKind::Bitcast(value)
        | InstKind::Scan { value, .. } => Some(choose_elementwise(
            kernel,
            state,
            id,
            out,
            vec![value],
            Some(target),
        )),
        InstKind::Binary { lhs, rhs, .. } | InstKind::Compare { lhs, rhs, .. } => Some(
            choose_elementwise(kernel, state, id, out, vec![lhs, rhs], Some(target)),
        ),
        InstKind::Select {
            cond,
            on_true,
            on_false,
        } => Some(choose_elementwise(
            kernel,
            state,
            id,
            out,
            vec![cond, on_true, on_false],
            Some(target),
        )),
        InstKind::Fma { a, b, c } => Some(choose_elementwise(
            kernel,
            state,
            id,
            out,
            vec![a, b, c],
            Some(target),
        )),
        InstKind::PtrOffset { ptr, offset } => Some(choose_elementwise(
            kernel,
            state,
            id,
            out,
            vec![ptr, offset],
            Some(target),
        )),
        access @ (InstKind::Atomic { .. } | InstKind::Load { .. }) => Some(choose_elementwise(
            kernel,
            state,
            id,
            out,
            access.operands_mut(),
            Some(target),
        )),
        InstKind::Broadcast(x) => {
            let from = kernel.ty(*x).shape.clone();
            let to = kernel.ty(id).shape.clone();
            let dims: Vec<usize> = (0..to.len()).filter(|&d| from[d] != to[d]).collect();
            let projection = Projection::ZeroDims(dims.clone());
            let src = state.layout(*x);
            let mut candidates = vec![target.clone()];
            if let Layout::Blocked(b) = &src {
                let mut e = b.clone();
                e.shape = to.clone();
                candidates.push(Layout::Blocked(e));
            }
            match candidates
                .into_iter()
                .find(|c| local_map(&src, c, &projection).is_some())
            {
                Some(c) => Some(c),
                None => {
                    *x = convert(kernel, state, out, id, *x, collapse(&target, &dims));
                    Some(target)
                }
            }
        }
        InstKind::ExpandDims { value, axis } => {
            let a = *axis as usize;
            let projection = Projection::RemoveDim(a);
            let src = state.layout(*value);
            let mut candidates = vec![target.clone()];
            match &src {
                Layout::Slice { parent, dim } if *dim as usize == a => {
                    let mut p = parent.clone();
                    p.shape[a] = 1;
                    p.size_per_thread[a] = 1;
                    candidates.push(Layout::Blocked(p));
                }
                Layout::Blocked(b) => {
                    let mut p = b.clone();
                    p.shape.insert(a, 1);
                    p.size_per_thread.insert(a, 1);
                    p.threads_per_dim.insert(a, 1);
                    candidates.push(Layout::Blocked(p));
                }
                _ => {}
            }
            match candidates
                .into_iter()
                .find(|c| local_map(&src, c, &projection).is_some())
            {
                Some(c) => Some(c),
                None => {
                    let Layout::Blocked(b) = &target else {
                        unreachable!("a tile with a dim inserted has a blocked target")
                    };
                    let wanted = Layout::Slice {
                        parent: b.clone(),
                        dim: *axis,
                    };
                    *value = convert(kernel, state, out, id, *value, wanted);
                    Some(target)
                }
            }
        }
        InstKind::Reduce { value, axis, .. } => {
            let src = state.layout(*value);
            match axis {
                None => Some(Layout::Uniform),
                Some(a) => {
                    let parent = match src {
                        Layout::Blocked(b) => b,
                        _ => {
                            let shape = kernel.ty(*value).shape.clone();
                            let b = default_layout_with_run(&shape, state.threads, state.run);
                            *value =
                                convert(kernel, state, out, id, *value, Layout::Blocked(b.clone()));
                            b
                        }
                    };
                    Some(Layout::Slice { parent, dim: *a })
                }
            }
        }
        InstKind::LocalGet(local) => Some(state.local_layouts[local.index()].clone()),
        InstKind::ConvertLayout(_) => state.layouts[id.index()].clone(),
        InstKind::Dot { a, b, acc } => {
            if state.layout(*acc) != target {
                *acc = convert(kernel, state, out, id, *acc, target.clone());
            }
            let register = match (state.register_dot, &target) {
                (true, Layout::Blocked(r)) => super::dot::cpu_operand_layouts(
                    r,
                    kernel.ty(*a).shape[1],
                    Some(&state.layout(*a)),
                    state.threads,
                ),
                _ => None,
            };
            if let Some((la, lb)) = register {
                for (x, l) in [(a, la), (b, lb)] {
                    let l = Layout::Blocked(l);
                    if state.layout(*x) != l {
                        *x = convert(kernel, state, out, id, *x, l);
                    }
                }
            }
            Some(target)
        }
        _ => Some(target),
    };
    let free = match &kind {
        InstKind::Arange { .. } | InstKind::Splat(_) => true,
        k if k.is_lanewise()
            || matches!(
                k,
                InstKind::Broadcast(_) | InstKind::ExpandDims { .. } | InstKind::PtrOffset { .. }
            ) =>
        {
            tile_operands(&kind)
                .iter()
                .filter(|v| is_tile(kernel, **v))
                .all(|v| state.free.get(v.index()).copied().unwrap_or(false))
        }
        _ => false,
    };
    kernel.insts[id].kind = kind;
    if state.layouts.len() <= id.index() {
        state.layouts.resize(id.index() + 1, None);
    }
    if state.free.len() <= id.index() {
        state.free.resize(id.index() + 1, false);
    }
    state.layouts[id.index()] = layout;
    state.free[id.index()] = free;
}

/// The value operands of a shape or elementwise instruction.
fn tile_operands(kind: &InstKind) -> Vec<ValueId> {
    match kind {
        InstKind::Broadcast(v) | InstKind::ExpandDims { value: v, .. } => vec![*v],
        other => elementwise_operands(other).unwrap_or_default(),
    }
}

/// Picks the layout for an elementwise instruction among the wanted one and its operands' layouts
/// (fewest conversions), then converts the operands that differ.
fn choose_elementwise(
    kernel: &mut Kernel,
    state: &mut State,
    id: InstId,
    out: &mut Vec<InstId>,
    mut operands: Vec<&mut ValueId>,
    target: Option<Layout>,
) -> Layout {
    let tiles: Vec<usize> = (0..operands.len())
        .filter(|&i| is_tile(kernel, *operands[i]))
        .collect();
    // Ties go to the layouts of anchored operands, then to the wanted layout.
    let mut candidates: Vec<Layout> = Vec::new();
    for &i in &tiles {
        let v = *operands[i];
        // Readers of locals follow too: the local takes what is stored into it next round.
        let soft = state.free.get(v.index()).copied().unwrap_or(false)
            || matches!(kernel.insts[v].kind, InstKind::LocalGet(_));
        if !soft {
            candidates.push(state.layout(*operands[i]));
        }
    }
    candidates.extend(target);
    for &i in &tiles {
        candidates.push(state.layout(*operands[i]));
    }
    let mut best: Option<(u32, Layout)> = None;
    for c in candidates {
        let cost: u32 = tiles
            .iter()
            .map(|&i| conversion_cost(&state.layout(*operands[i]), &c))
            .sum();
        if best.as_ref().is_none_or(|(b, _)| cost < *b) {
            best = Some((cost, c));
        }
    }
    let chosen = best
        .expect("an elementwise instruction has a tile operand")
        .1;
    for i in tiles {
        let v = *operands[i];
        if state.layout(v) != chosen {
            *operands[i] = convert(kernel, state, out, id, v, chosen.clone());
        }
    }
    chosen
}

/// Layout of a local (for the emitter and tests).
pub fn local_layout(kernel: &Kernel, local: LocalId) -> Option<&Layout> {
    kernel
        .schedule
        .as_ref()
        .and_then(|s| s.local_layouts.get(local.index()))
}
