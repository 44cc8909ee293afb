//! The last pass: `dot`s on cooperative matrices whose accumulator stays in them
//! (`ir::schedule::DotPlan::CooperativeTiles`, `ir::layout::Cooperative`).
//!
//! A `dot` planned `Cooperative` by the planning pass stages its accumulator and reads its
//! result back through shared memory at every execution. Here, where the subgroups can each hold
//! whole matrices of the result (`tiles_layout`), the result takes a cooperative layout and:
//!
//! - the local that carries the accumulator across a loop (`acc = dot(x, y, acc: acc)`) takes it
//!   too, when every value written to it is that `dot`'s result or a splat (its start) and some
//!   read of it is the `dot`'s accumulator: its matrices then stay in the subgroups' registers
//!   for the whole loop;
//! - a splat accumulator (`dot(x, y)`, `zeros` before a loop) is made as matrices directly;
//! - everywhere else a value crosses between the layouts, a `ConvertLayout` planned
//!   `ConvertPlan::Cooperative` moves it through the cooperative f32 array: where an operation
//!   needs elements (a cast or a masked store after the loop, attention's softmax), once.
//!
//! The operands are staged as f16 in a staging array of f16 four-vectors (`CoopStaging`), each
//! `dot` in `stages` buffers like a staged `dot`'s (`passes::dot::place_staging`): two by default,
//! one when two do not fit, and the old plan kept when one does not fit either.
use super::layouts::for_each_inst;
use crate::abi::Target;
use crate::base::Diagnostic;
use crate::ir::layout::Cooperative;
use crate::ir::schedule::{ConvertPlan, CoopStaging, DotPlan, Plan, Scratch};
use crate::ir::{Elem, Inst, InstId, InstKind, Kernel, Layout, LocalId, Region, ValueId};
use std::collections::HashMap;

/// The cooperative layout of a `dot`'s `[m, n]` result in `tile` matrices over the `subgroups`
/// subgroups of `subgroup_size` invocations: the subgroups split between M and N so that each
/// one's block of matrices is as square as the split allows (each fragment of `a` it loads then
/// serves a row of its matrices and each of `b` a column). `None` when some subgroup would hold
/// no whole matrix.
pub fn tiles_layout(
    shape: [u32; 2],
    tile: [u32; 2],
    subgroups: u32,
    subgroup_size: u32,
) -> Option<Cooperative> {
    let [m, n] = shape;
    let mut best: Option<(u32, Cooperative)> = None;
    let mut along_n = 1;
    while along_n <= subgroups {
        let along_m = subgroups / along_n;
        let layout = Cooperative {
            shape: vec![m, n],
            tile,
            subgroups: [along_m, along_n],
            subgroup_size,
        };
        if along_m * along_n == subgroups && layout.fits() {
            let [rows, cols] = layout.tiles();
            let skew = rows.max(cols) / rows.min(cols);
            if best.as_ref().is_none_or(|(s, _)| skew <= *s) {
                best = Some((skew, layout));
            }
        }
        along_n *= 2;
    }
    best.map(|(_, layout)| layout)
}

/// Halves of padding after each staged row: 16 bytes, which keeps the rows 16-byte aligned for
/// the matrix loads and shifts consecutive rows across the shared-memory banks.
pub const ROW_PAD: u32 = 8;

/// A kernel being rewritten: new instructions, where they go, and their layouts and plans.
struct Rewrite<'k> {
    kernel: &'k mut Kernel,
    layouts: Vec<Option<Layout>>,
    plans: Vec<Option<Plan>>,
    /// Instructions to place right before (`false`) or after (`true`) an existing one.
    placed: HashMap<(InstId, bool), Vec<InstId>>,
    /// F32 elements of the cooperative array the conversions made so far need.
    floats: u32,
}

impl Rewrite<'_> {
    /// A new instruction of `kind` with `ty`, `layout` and `plan`, placed before or `after`
    /// `anchor` (and sharing its span).
    fn add(
        &mut self,
        kind: InstKind,
        ty: crate::ir::Type,
        layout: Layout,
        plan: Option<Plan>,
        anchor: InstId,
        after: bool,
    ) -> InstId {
        let id = self.kernel.insts.alloc(Inst { kind, ty: Some(ty) });
        let span = self.kernel.span(anchor);
        self.kernel.spans.resize(id.index(), Default::default());
        self.kernel.spans.push(span);
        self.layouts.resize(id.index() + 1, None);
        self.layouts[id.index()] = Some(layout);
        self.plans.resize(id.index() + 1, None);
        self.plans[id.index()] = plan;
        // Several around the same anchor keep the order they were made in.
        self.placed.entry((anchor, after)).or_default().push(id);
        id
    }

    /// `value` moved into `layout` through the cooperative array, placed before or `after`
    /// `anchor`; one of the two layouts is cooperative. Also returns the f32 elements the
    /// conversion needs at a time.
    fn convert(&mut self, value: ValueId, layout: Layout, anchor: InstId, after: bool) -> InstId {
        let ty = self.kernel.ty(value).clone();
        let from = self.layouts[value.index()]
            .clone()
            .unwrap_or(Layout::Uniform);
        let (tiles, other) = match (&from, &layout) {
            (Layout::Cooperative(c), other) | (other, Layout::Cooperative(c)) => {
                (c.clone(), other.clone())
            }
            _ => unreachable!("a cooperative conversion has a cooperative side"),
        };
        let rows = super::dot::conversion_rows(tiles.shape[0], tiles.tile[0], &other);
        self.floats = self.floats.max(rows * tiles.shape[1]);
        self.add(
            InstKind::ConvertLayout(value),
            ty,
            layout,
            Some(Plan::Convert(ConvertPlan::Cooperative { rows })),
            anchor,
            after,
        )
    }

    /// Rewrites every use of `old` by the instructions `users` into `new`.
    fn replace_uses(&mut self, users: &[InstId], old: ValueId, new: ValueId) {
        for &u in users {
            for operand in self.kernel.insts[u].kind.operands_mut() {
                if *operand == old {
                    *operand = new;
                }
            }
        }
    }

    /// Places the new instructions in their regions and drops the conversions left unused.
    fn finish(mut self) {
        let mut body = std::mem::take(&mut self.kernel.body);
        self.place(&mut body);
        // Conversions that fed only other dropped conversions go too.
        loop {
            let mut used = vec![false; self.kernel.insts.len()];
            for_each_inst(&body, self.kernel, &mut |id| {
                for v in self.kernel.insts[id].kind.operands() {
                    used[v.index()] = true;
                }
            });
            let before = count(self.kernel, &body);
            drop_unused_conversions(self.kernel, &mut body, &used);
            if count(self.kernel, &body) == before {
                break;
            }
        }
        self.kernel.body = body;
        if let Some(s) = self.kernel.schedule.as_mut() {
            s.layouts = self.layouts;
            s.plans = self.plans;
        }
    }

    fn place(&mut self, region: &mut Region) {
        let mut out = Vec::with_capacity(region.insts.len());
        for &id in &region.insts {
            out.extend(self.placed.remove(&(id, false)).unwrap_or_default());
            let mut kind = std::mem::replace(&mut self.kernel.insts[id].kind, InstKind::Break);
            for nested in kind.regions_mut() {
                self.place(nested);
            }
            self.kernel.insts[id].kind = kind;
            out.push(id);
            out.extend(self.placed.remove(&(id, true)).unwrap_or_default());
        }
        region.insts = out;
    }
}

/// Instructions in `region` and its nested regions.
fn count(kernel: &Kernel, region: &Region) -> usize {
    let mut n = 0;
    for_each_inst(region, kernel, &mut |_| n += 1);
    n
}

/// Removes the `ConvertLayout`s whose results nothing reads (a rewrite bypassed them).
fn drop_unused_conversions(kernel: &mut Kernel, region: &mut Region, used: &[bool]) {
    region.insts.retain(|&id| {
        !matches!(kernel.insts[id].kind, InstKind::ConvertLayout(_)) || used[id.index()]
    });
    for &id in &region.insts.clone() {
        let mut kind = std::mem::replace(&mut kernel.insts[id].kind, InstKind::Break);
        for nested in kind.regions_mut() {
            drop_unused_conversions(kernel, nested, used);
        }
        kernel.insts[id].kind = kind;
    }
}

/// `value` with the conversions the layout pass put in front of it looked through.
fn through_conversions(kernel: &Kernel, value: ValueId) -> ValueId {
    match kernel.insts[value].kind {
        InstKind::ConvertLayout(v) => through_conversions(kernel, v),
        _ => value,
    }
}

/// Keeps the accumulators of the cooperative `dot`s in cooperative matrices where the subgroups
/// can each hold whole matrices (the module doc); the others keep `DotPlan::Cooperative`.
pub fn keep_in_matrices(kernel: &mut Kernel, target: &Target) -> Result<(), Diagnostic> {
    let Some(schedule) = kernel.schedule.as_ref() else {
        return Err(Diagnostic::internal("cooperative tiles without a schedule"));
    };
    let (Some(coop), Some(subgroup)) = (schedule.coop.clone(), target.subgroup_size) else {
        return Ok(());
    };
    let subgroups = schedule.threads / subgroup;
    // The candidates and their layouts, in program order.
    let mut order = Vec::new();
    for_each_inst(&kernel.body, kernel, &mut |id| order.push(id));
    let mut dots: Vec<(InstId, Cooperative, [u32; 3])> = Vec::new();
    for &id in &order {
        let (InstKind::Dot { a, b, .. }, Some(Plan::Dot(DotPlan::Cooperative))) =
            (&kernel.insts[id].kind, schedule.plan(id))
        else {
            continue;
        };
        let (m, k, n) = (
            kernel.ty(*a).shape[0],
            kernel.ty(*a).shape[1],
            kernel.ty(*b).shape[1],
        );
        if let Some(layout) = tiles_layout([m, n], [coop.m, coop.n], subgroups, subgroup) {
            dots.push((id, layout, [m, k, n]));
        }
    }
    if dots.is_empty() {
        return Ok(());
    }
    // The arrays: old-plan `dot`s keep the f16 array, every cooperative `dot` and conversion
    // the f32 one, and the staging array holds the new buffers (own regions for several
    // buffers, one shared region for single ones).
    let stagings = |stages: u32| -> (Vec<CoopStaging>, u32) {
        let mut end = 0;
        let mut shared = 0;
        let mut out: Vec<CoopStaging> = dots
            .iter()
            .map(|&(_, _, [m, k, n])| {
                let mut s = CoopStaging {
                    a_row_stride: k + ROW_PAD,
                    b_row_stride: n + ROW_PAD,
                    stages,
                    region: Scratch {
                        offset: 0,
                        bytes: 0,
                    },
                };
                s.region.bytes = s.bytes_needed(m, k).next_multiple_of(16);
                if stages > 1 {
                    s.region.offset = end;
                    end += s.region.bytes;
                } else {
                    shared = shared.max(s.region.bytes);
                }
                s
            })
            .collect();
        for s in out.iter_mut().filter(|s| s.stages <= 1) {
            s.region.offset = end;
        }
        (out, end + shared)
    };
    let mut arrays = coop.clone();
    arrays.halves = 0;
    for &id in &order {
        let promoted = dots.iter().any(|(d, _, _)| *d == id);
        if let (false, InstKind::Dot { a, b, .. }, Some(Plan::Dot(DotPlan::Cooperative))) =
            (promoted, &kernel.insts[id].kind, schedule.plan(id))
        {
            let (sa, sb) = (&kernel.ty(*a).shape, &kernel.ty(*b).shape);
            arrays.halves = arrays.halves.max(sa[0] * sa[1] + sb[0] * sb[1]);
            arrays.floats = arrays.floats.max(sa[0] * sb[1]);
        }
    }
    let others = schedule.shared_bytes + schedule.dot_bytes;
    let fits = |arrays: &crate::ir::schedule::CoopPlan| {
        others.saturating_add(arrays.bytes()) <= target.max_shared_bytes
    };
    let mut chosen = None;
    for stages in [
        kernel.stages.unwrap_or(super::dot::DEFAULT_STAGES),
        kernel.stages.unwrap_or(1),
    ] {
        let (list, bytes) = stagings(stages);
        let mut candidate = arrays.clone();
        candidate.vectors = bytes / 8;
        if fits(&candidate) {
            chosen = Some((list, candidate));
            break;
        }
    }
    let Some((stagings, arrays)) = chosen else {
        return Ok(());
    };

    let old_layouts = schedule.layouts.clone();
    let mut local_layouts = schedule.local_layouts.clone();
    let mut rewrite = Rewrite {
        layouts: schedule.layouts.clone(),
        plans: schedule.plans.clone(),
        kernel,
        placed: HashMap::new(),
        floats: 0,
    };
    let users = users_of(rewrite.kernel);
    let (gets, sets) = local_accesses(rewrite.kernel);
    for ((id, layout, _), staging) in dots.iter().zip(stagings) {
        let (id, matrices) = (*id, Layout::Cooperative(layout.clone()));
        let InstKind::Dot { acc, .. } = rewrite.kernel.insts[id].kind else {
            continue;
        };
        let result_was = old_layouts[id.index()].clone().unwrap_or(Layout::Uniform);
        rewrite.layouts[id.index()] = Some(matrices.clone());
        rewrite.plans[id.index()] = Some(Plan::Dot(DotPlan::CooperativeTiles(staging)));
        let acc_source = through_conversions(rewrite.kernel, acc);

        // The local that carries the accumulator, when it can stay in the matrices.
        let carried = match rewrite.kernel.insts[acc_source].kind {
            InstKind::LocalGet(local) => Some(local),
            _ => None,
        }
        .filter(|&local| {
            sets.get(&local).is_some_and(|writes| {
                writes.iter().all(|&(_, value)| {
                    let value = through_conversions(rewrite.kernel, value);
                    value == id || matches!(rewrite.kernel.insts[value].kind, InstKind::Splat(_))
                })
            })
        });
        match carried {
            Some(local) => {
                let local_was = local_layouts[local.index()].clone();
                local_layouts[local.index()] = matrices.clone();
                for &(set, value) in &sets[&local] {
                    let source = through_conversions(rewrite.kernel, value);
                    let new = if source == id {
                        id
                    } else {
                        let InstKind::Splat(scalar) = rewrite.kernel.insts[source].kind else {
                            continue;
                        };
                        let ty = rewrite.kernel.ty(source).clone();
                        rewrite.add(
                            InstKind::Splat(scalar),
                            ty,
                            matrices.clone(),
                            None,
                            set,
                            false,
                        )
                    };
                    rewrite.replace_uses(&[set], value, new);
                }
                for &get in gets.get(&local).into_iter().flatten() {
                    rewrite.layouts[get.index()] = Some(matrices.clone());
                    let readers: Vec<InstId> = users
                        .get(&get)
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|&u| u != id)
                        .collect();
                    // The dot reads the matrices through whatever conversion was in between.
                    if acc_source == get {
                        rewrite.replace_uses(&[id], acc, get);
                    }
                    let elements: Vec<InstId> = readers
                        .into_iter()
                        .filter(|&u| !is_conversion_into_dot(rewrite.kernel, u, id))
                        .collect();
                    if !elements.is_empty() {
                        let moved = rewrite.convert(get, local_was.clone(), get, true);
                        rewrite.replace_uses(&elements, get, moved);
                    }
                }
            }
            None => {
                let new = match rewrite.kernel.insts[acc_source].kind {
                    InstKind::Splat(scalar) => {
                        let ty = rewrite.kernel.ty(acc_source).clone();
                        rewrite.add(
                            InstKind::Splat(scalar),
                            ty,
                            matrices.clone(),
                            None,
                            id,
                            false,
                        )
                    }
                    _ => rewrite.convert(acc, matrices.clone(), id, false),
                };
                rewrite.replace_uses(&[id], acc, new);
            }
        }
        // Readers of the result other than the carrying local get its elements.
        let readers: Vec<InstId> = users
            .get(&id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&u| match rewrite.kernel.insts[u].kind {
                InstKind::LocalSet { local, .. } => Some(local) != carried,
                InstKind::ConvertLayout(_) => !feeds_carrier(&sets, carried, u),
                _ => true,
            })
            .collect();
        if !readers.is_empty() {
            let moved = rewrite.convert(id, result_was, id, true);
            rewrite.replace_uses(&readers, id, moved);
        }
        // A conversion between the result and the carrying local is no longer needed.
        if let Some(local) = carried {
            for &(set, value) in &sets[&local] {
                if through_conversions(rewrite.kernel, value) == id && value != id {
                    rewrite.replace_uses(&[set], value, id);
                }
            }
        }
    }
    let mut arrays = arrays;
    arrays.floats = arrays.floats.max(rewrite.floats);
    rewrite.finish();
    let Some(s) = kernel.schedule.as_mut() else {
        return Err(Diagnostic::internal("cooperative tiles without a schedule"));
    };
    s.local_layouts = local_layouts;
    s.coop = Some(arrays);
    whole_conversions(s, target.max_shared_bytes);
    let bytes = s.workgroup_bytes();
    if bytes > target.max_shared_bytes {
        let (id, _, _) = &dots[0];
        let layouts = s.layouts.clone();
        return Err(super::shared::too_much_shared_memory(
            kernel, &layouts, *id, bytes, target,
        ));
    }
    Ok(())
}

/// Moves every conversion through the cooperative array in one chunk when the array of the
/// largest tile still fits: two barriers per conversion instead of two per chunk.
fn whole_conversions(schedule: &mut crate::ir::Schedule, max_shared_bytes: u32) {
    let mut largest = 0;
    for (i, plan) in schedule.plans.iter().enumerate() {
        if let Some(Plan::Convert(ConvertPlan::Cooperative { .. })) = plan {
            let shape = schedule.layouts[i]
                .as_ref()
                .map(|l| l.shape())
                .unwrap_or_default();
            largest = largest.max(shape.iter().product::<u32>());
        }
    }
    let Some(coop) = schedule.coop.as_mut() else {
        return;
    };
    let before = coop.floats;
    coop.floats = coop.floats.max(largest);
    if schedule.workgroup_bytes() > max_shared_bytes {
        if let Some(coop) = schedule.coop.as_mut() {
            coop.floats = before;
        }
        return;
    }
    for (i, plan) in schedule.plans.iter_mut().enumerate() {
        if let Some(Plan::Convert(ConvertPlan::Cooperative { rows })) = plan {
            if let Some(shape) = schedule.layouts[i].as_ref().map(|l| l.shape()) {
                *rows = shape[0];
            }
        }
    }
}

/// True when `u` is a conversion whose only purpose is to feed the accumulator of `dot`.
fn is_conversion_into_dot(kernel: &Kernel, u: InstId, dot: InstId) -> bool {
    matches!(kernel.insts[u].kind, InstKind::ConvertLayout(_))
        && matches!(kernel.insts[dot].kind, InstKind::Dot { acc, .. } if acc == u)
}

/// True when the conversion `u` is the value written to the carrying local.
fn feeds_carrier(
    sets: &HashMap<LocalId, Vec<(InstId, ValueId)>>,
    carried: Option<LocalId>,
    u: InstId,
) -> bool {
    carried.is_some_and(|local| sets[&local].iter().any(|&(_, value)| value == u))
}

/// The instructions reading each value.
fn users_of(kernel: &Kernel) -> HashMap<ValueId, Vec<InstId>> {
    let mut users: HashMap<ValueId, Vec<InstId>> = HashMap::new();
    for_each_inst(&kernel.body, kernel, &mut |id| {
        for v in kernel.insts[id].kind.operands() {
            users.entry(v).or_default().push(id);
        }
    });
    users
}

/// Per f32 tile local: its reads, and its writes with the value written.
#[allow(clippy::type_complexity)]
fn local_accesses(
    kernel: &Kernel,
) -> (
    HashMap<LocalId, Vec<InstId>>,
    HashMap<LocalId, Vec<(InstId, ValueId)>>,
) {
    let mut gets: HashMap<LocalId, Vec<InstId>> = HashMap::new();
    let mut sets: HashMap<LocalId, Vec<(InstId, ValueId)>> = HashMap::new();
    for_each_inst(
        &kernel.body,
        kernel,
        &mut |id| match kernel.insts[id].kind {
            InstKind::LocalGet(local) => gets.entry(local).or_default().push(id),
            InstKind::LocalSet { local, value } => sets.entry(local).or_default().push((id, value)),
            _ => {}
        },
    );
    let tile_f32 = |local: &LocalId| {
        let ty = &kernel.locals[*local].ty;
        ty.shape.len() == 2 && ty.elem == Elem::Scalar(crate::base::ScalarType::F32)
    };
    gets.retain(|local, _| tile_f32(local));
    sets.retain(|local, _| tile_f32(local));
    (gets, sets)
}
