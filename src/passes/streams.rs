//! Pass 5 (CPU devices): the streams of the schedule (`ir::schedule::Stream`): maximal runs of
//! elementwise instructions on one layout, with their loads and stores, that the emitter emits
//! a few registers at a time instead of instruction by instruction. Lavapipe's compiler cannot
//! schedule across the per-lane loop of a buffer access, so the program order of the loads
//! decides how many registers stay live (BENCHMARKS.md: a vector add emitted in phases, all of
//! `x`, then all of `y`, then the sums, ran at two thirds of the speed of the same vectors
//! loaded, added and stored one at a time). GPUs' compilers schedule loads themselves, so they
//! get no streams.
use super::layouts::for_each_inst;
use crate::abi::{Processor, Target};
use crate::ir::schedule::{streamable, Stream, Streamable};
use crate::ir::{Elem, InstId, InstKind, Kernel, Layout, Plan, Region};

/// Records the streams of `kernel` for `target` (none off CPU devices).
pub fn plan_streams(kernel: &mut Kernel, target: &Target) {
    if target.processor != Processor::Cpu {
        return;
    }
    let mut streams = Vec::new();
    streams_in(&kernel.body, kernel, &mut streams);
    for_each_inst(&kernel.body, kernel, &mut |id| {
        for region in kernel.insts[id].kind.regions() {
            streams_in(region, kernel, &mut streams);
        }
    });
    if let Some(schedule) = kernel.schedule.as_mut() {
        schedule.streams = streams;
    }
}

/// The streams among the instructions of one region (not its nested regions).
fn streams_in(region: &Region, kernel: &Kernel, out: &mut Vec<Stream>) {
    let mut run: Vec<InstId> = Vec::new();
    for &id in &region.insts {
        let joins = match streamable(kernel, id) {
            Streamable::No => false,
            Streamable::Scalar => true,
            Streamable::Tile => {
                run_layout(kernel, &run).is_none_or(|l| tile_layout(kernel, id) == Some(l))
            }
        };
        if joins {
            run.push(id);
            continue;
        }
        out.extend(stream_of(kernel, &run));
        run.clear();
        // A tile in another layout starts the next run.
        if streamable(kernel, id) == Streamable::Tile {
            run.push(id);
        }
    }
    out.extend(stream_of(kernel, &run));
}

/// The layout of the tile instruction `id` computes (a store: of its pointer).
fn tile_layout(kernel: &Kernel, id: InstId) -> Option<Layout> {
    let schedule = kernel.schedule.as_ref()?;
    let of = match kernel.insts[id].kind {
        InstKind::Store { ptr, .. } => ptr,
        _ => id,
    };
    schedule.layouts.get(of.index()).cloned().flatten()
}

/// The layout of the run's tiles, if it has any.
fn run_layout(kernel: &Kernel, run: &[InstId]) -> Option<Layout> {
    run.iter()
        .find(|&&id| streamable(kernel, id) == Streamable::Tile)
        .and_then(|&id| tile_layout(kernel, id))
}

/// The stream a run makes, if it is worth one: a store or at least two loads, at least two
/// passes, no store to a buffer the run loads and no two stores to one buffer. One store is
/// enough: the values it stores are then computed one window at a time just before it, instead
/// of all of them before the first store's per-lane loop (the tail of a softmax after its row
/// sum: 3.6 → 3.15 ms on lavapipe, BENCHMARKS.md). A run with one load and no store feeds
/// something outside it that needs the whole tile anyway.
fn stream_of(kernel: &Kernel, run: &[InstId]) -> Option<Stream> {
    let layout = run_layout(kernel, run)?;
    let schedule = kernel.schedule.as_ref()?;
    let param = |ptr| match kernel.ty(ptr).elem {
        Elem::Ptr { param, .. } => Some(param),
        Elem::Scalar(_) => None,
    };
    let (mut loaded, mut stored) = (Vec::new(), Vec::new());
    let mut registers = 1;
    for &id in run {
        match kernel.insts[id].kind {
            InstKind::Load { ptr, .. } => loaded.push(param(ptr)?),
            InstKind::Store { ptr, .. } => {
                let p = param(ptr)?;
                if stored.contains(&p) {
                    return None;
                }
                stored.push(p);
            }
            _ => continue,
        }
        if let Some(Plan::Access(access)) = schedule.plan(id) {
            registers = registers.max(access.vector);
        }
    }
    let passes = layout.regs() / registers;
    let disjoint = stored.iter().all(|p| !loaded.contains(p));
    let worth = !stored.is_empty() || loaded.len() >= 2;
    (worth && passes >= 2 && layout.regs() % registers == 0 && disjoint).then_some(Stream {
        first: run[0],
        last: run[run.len() - 1],
        registers,
    })
}
