//! The `Schedule`: every lowering decision the scheduling passes make for one kernel, as data.
//! The passes fill it, the verifier checks it (`verify_schedule`), `--emit ir-scheduled` prints
//! it, and the SPIR-V emitter only reads it: it re-derives none of these choices, so shared memory
//! is sized and used by the same plan.
//!
//! Besides the workgroup size and a layout per value and local, every instruction that has a
//! choice of how to run carries a `Plan`:
//!
//! - a load or store: the width of its vector accesses and what is proven of each vector
//!   (aligned, one mask, inside the buffer or outside it whole), and whether the access is
//!   proven inside its buffer under a launch contract (`AccessPlan`, `Schedule::contracts`);
//! - a reduction: in registers, by subgroup shuffles, by subgroup reductions and one value per
//!   subgroup through the scratch, or every partial through the scratch in chunks of result
//!   registers (`ReducePlan`);
//! - a scan: in registers, by subgroup shuffles, or staged whole through the scratch (`ScanPlan`);
//! - a `dot`: in registers (`a` replicated, or shuffled from the lanes that hold it), staged in
//!   the dot array for a register tile (its buffers, read width and K unrolling), or on
//!   cooperative matrices, whole or keeping its accumulator in them (`DotPlan`; the cooperative
//!   arrays are the schedule's `CoopPlan`);
//! - a layout conversion: a register renaming, a move through the scratch, or into or out of
//!   cooperative matrices through their f32 array (`ConvertPlan`);
//! - an atomic, reshape or permute: always through the scratch (`Plan::Staged`).
//!
//! On CPU devices, runs of elementwise instructions with their loads and stores are `Stream`s,
//! emitted a few registers at a time.
//!
//! The scratch is one workgroup array of u32 words, `shared_bytes` long; every plan that uses it
//! names its region (`Scratch`, offset and size in bytes). Each use ends with a barrier, so the
//! regions of different instructions may overlap (today they all start at 0).
use super::layout::Layout;
use super::{Elem, InstId, InstKind, Kernel, Type, ValueId};
use crate::base::ScalarType;

/// What the scheduling passes decided for one kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Invocations per workgroup (one program instance).
    pub threads: u32,
    /// The layout of each value, indexed like `Kernel::insts` (`None` for instructions without a
    /// result).
    pub layouts: Vec<Option<Layout>>,
    /// The layout of each local, indexed like `Kernel::locals`.
    pub local_layouts: Vec<Layout>,
    /// The plan of each instruction, indexed like `Kernel::insts` (`None` where there is no
    /// choice to make); empty until the planning passes run.
    pub plans: Vec<Option<Plan>>,
    /// Bytes of the workgroup scratch array: every plan's `Scratch` lies within it.
    pub shared_bytes: u32,
    /// The target's limit on workgroup shared memory (`maxComputeSharedMemorySize`), which the
    /// scratch, the cooperative arrays and the dot array together must fit.
    pub max_shared_bytes: u32,
    /// The workgroup is one subgroup of the target that can shuffle: work across invocations may
    /// use subgroup operations, and the invocation index is the subgroup lane.
    pub one_subgroup: bool,
    /// The workgroup arrays of the `dot`s planned on cooperative matrices.
    pub coop: Option<CoopPlan>,
    /// Runs of instructions emitted a few registers at a time (CPU devices), in no order.
    pub streams: Vec<Stream>,
    /// Bytes of the dot array, the workgroup array of f32 four-vectors that the staged `dot`s
    /// use (`DotStaging::region`); 0 when no `dot` is staged.
    pub dot_bytes: u32,
    /// The launch contracts of the proven accesses (`AccessPlan::proven`), without repeats.
    pub contracts: Vec<crate::abi::contract::Contract>,
}

impl Schedule {
    /// A schedule of `threads` invocations with nothing assigned yet.
    pub fn new(threads: u32, max_shared_bytes: u32, one_subgroup: bool) -> Schedule {
        Schedule {
            threads,
            layouts: Vec::new(),
            local_layouts: Vec::new(),
            plans: Vec::new(),
            shared_bytes: 0,
            max_shared_bytes,
            one_subgroup,
            coop: None,
            streams: Vec::new(),
            dot_bytes: 0,
            contracts: Vec::new(),
        }
    }

    /// The plan of instruction `id`, if it has one.
    pub fn plan(&self, id: InstId) -> Option<&Plan> {
        self.plans.get(id.index()).and_then(|p| p.as_ref())
    }

    /// Bytes of workgroup memory the kernel declares: the scratch, the cooperative arrays and
    /// the dot array.
    pub fn workgroup_bytes(&self) -> u32 {
        self.shared_bytes
            .saturating_add(self.coop.as_ref().map_or(0, |c| c.bytes()))
            .saturating_add(self.dot_bytes)
    }

    /// The `dot`s planned on cooperative matrices, in instruction order.
    pub fn cooperative_dots(&self) -> Vec<InstId> {
        self.plans
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                matches!(
                    p,
                    Some(Plan::Dot(
                        DotPlan::Cooperative | DotPlan::CooperativeTiles(_)
                    ))
                )
            })
            .map(|(i, _)| InstId::new(i))
            .collect()
    }
}

/// A run of consecutive instructions of one region, from `first` to `last`, that the emitter
/// emits `registers` registers at a time: every instruction of the run for the first registers
/// of its tile, then every one for the next, and so on (instructions on scalars once, in the
/// first pass). Its tiles share one layout and every instruction is elementwise
/// (`streamable`), so each register depends only on the same register of its operands.
///
/// Why: a CPU device such as lavapipe runs every buffer access as a loop over its SIMD lanes
/// that its compiler cannot move other work across, so the program order of the loads decides
/// how many registers are live; a vector add emitted instruction by instruction keeps both whole
/// input tiles live (spilled) before the first add, streamed it keeps one vector of each.
///
/// The run stores to no buffer it loads from and to no buffer twice, so the new order moves no
/// access past another access to the same memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    pub first: InstId,
    pub last: InstId,
    /// Registers per pass: a multiple of the vector width of every access in the run.
    pub registers: u32,
}

/// How an instruction may take part in a `Stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streamable {
    /// Elementwise on tiles (or a load or store): emitted one window of registers at a time.
    Tile,
    /// Without side effects and on scalars: emitted once.
    Scalar,
    /// Ends a stream.
    No,
}

/// How instruction `id` of `kernel` may take part in a stream.
pub fn streamable(kernel: &Kernel, id: InstId) -> Streamable {
    let inst = &kernel.insts[id];
    let tile = match &inst.kind {
        InstKind::Store { ptr, .. } => !kernel.ty(*ptr).is_scalar(),
        _ => inst.ty.as_ref().is_some_and(|t| !t.is_scalar()),
    };
    match &inst.kind {
        InstKind::Arange { .. } | InstKind::Splat(_) => Streamable::Tile,
        InstKind::Load { .. } | InstKind::Store { .. } if tile => Streamable::Tile,
        kind if kind.is_lanewise() || matches!(kind, InstKind::PtrOffset { .. }) => {
            if tile {
                Streamable::Tile
            } else {
                Streamable::Scalar
            }
        }
        InstKind::Const(_)
        | InstKind::Param(_)
        | InstKind::ProgramId(_)
        | InstKind::NumPrograms(_) => Streamable::Scalar,
        _ => Streamable::No,
    }
}

/// How one instruction runs, where there is a choice.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// A load or store: how its registers go to the buffer.
    Access(AccessPlan),
    Reduce(ReducePlan),
    Scan(ScanPlan),
    Dot(DotPlan),
    Convert(ConvertPlan),
    /// An atomic (the old values reach every copy), a reshape or a permute: the data moves
    /// through the scratch.
    Staged(Scratch),
}

/// How a load or store accesses its buffer: groups of `vector` consecutive registers (proven
/// consecutive by the axis analysis) as one vector access each, with what is proven of every
/// group. The emitter accesses one element at a time when vector views are off (portable
/// output).
///
/// A group goes as one vector when all its elements are wanted (their masks, and in safe mode
/// their bounds, hold) and, unless `aligned`, its first index is a multiple of `vector` at run
/// time; otherwise element by element. With `one_mask` and (in safe mode) `whole_vectors`,
/// every element of a group is wanted or none is: one condition per group and no
/// element-by-element path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessPlan {
    /// Elements per buffer access: 1, 2 or 4 (8 through a CPU device's 64-bit views).
    pub vector: u32,
    /// The first index of every group is proven a multiple of `vector`.
    pub aligned: bool,
    /// The mask is proven the same across every group (or there is none).
    pub one_mask: bool,
    /// The buffer's element count is proven a non-zero multiple of `vector` (the launch
    /// promised it), so an aligned group lies inside the buffer whole or outside it whole, and
    /// the buffer's first vector can stand in for a group that loads nothing.
    pub whole_vectors: bool,
    /// Proven inside the buffer wherever the access happens, given the launch contract the
    /// kernel records for it (`Schedule::contracts`): safe mode checks it once per launch,
    /// not per element (`passes::bounds`).
    pub proven: bool,
    /// A load whose masked-off lanes reach nothing but stores under the same mask (through
    /// lane-wise arithmetic): what `other` would put there is never observed, so a vector that
    /// loads nothing may keep whatever the stand-in vector holds.
    pub other_unobserved: bool,
}

impl AccessPlan {
    /// One element per access.
    pub fn scalar() -> AccessPlan {
        AccessPlan {
            vector: 1,
            aligned: true,
            one_mask: true,
            whole_vectors: true,
            proven: false,
            other_unobserved: false,
        }
    }
    /// Every element of a group is wanted or none is, so one condition serves the group
    /// (`safe`: bounds are checked too).
    pub fn one_condition(&self, safe: bool) -> bool {
        self.aligned && self.one_mask && (self.whole_vectors || !self.checked(safe))
    }
    /// Whether each element's bounds are checked (safe mode, unless proven).
    pub fn checked(&self, safe: bool) -> bool {
        safe && !self.proven
    }
}

/// A reduction across the invocations that hold its reduced dims.
#[derive(Debug, Clone, PartialEq)]
pub enum ReducePlan {
    /// Every invocation holds whole reduced groups: registers only.
    Registers,
    /// Butterflies of subgroup shuffles (the workgroup is one subgroup).
    Subgroup,
    /// The reduction group is the whole workgroup: each subgroup reduces its partials with one
    /// `OpGroupNonUniform…` reduction (any subgroup size, any assignment of invocations to
    /// subgroups), one invocation per subgroup writes the subgroup's value to the scratch, and
    /// every invocation combines the `NumSubgroups` values in subgroup order, `chunk` result
    /// registers at a time. The scratch holds a slot per invocation, the most subgroups there
    /// can be.
    Subgroups { chunk: u32, scratch: Scratch },
    /// One partial per invocation through the scratch, `chunk` result registers at a time.
    Shared { chunk: u32, scratch: Scratch },
}

/// An inclusive scan along an axis.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanPlan {
    /// One invocation holds the whole axis: prefixes in registers.
    Registers,
    /// Shuffles within the one subgroup.
    Subgroup,
    /// Hillis–Steele rounds over the whole tile staged in the scratch.
    Shared(Scratch),
}

/// A `dot(a: [M, K], b: [K, N], acc: [M, N])`.
#[derive(Debug, Clone, PartialEq)]
pub enum DotPlan {
    /// The operands arrive in `layout::register_dot_operands` of the result's layout: FMAs on
    /// registers only.
    Registers,
    /// In a one-subgroup workgroup whose result layout puts every row in every lane (one
    /// invocation along M): `b` arrives in its register layout, `a` spread over the lanes with
    /// each element held once (`Blocked::is_distributed`), and each `a[m, k]` reaches every lane
    /// by a subgroup shuffle from the lane that holds it. The lanes then load `a` once between
    /// them instead of once each, and the product is FMAs on registers.
    Broadcast,
    /// Both operands staged in the schedule's dot array, then a K loop of FMAs on a register
    /// tile (`DotStaging`).
    Staged(DotStaging),
    /// On the target's cooperative matrices, in the schedule's `CoopPlan` arrays, the
    /// accumulator and the result in registers: staged as f32, multiplied tile by tile, read
    /// back (the plan where the subgroups cannot each hold whole matrices of the result).
    Cooperative,
    /// On the target's cooperative matrices with the accumulator and the result held in them
    /// (`Layout::Cooperative`, kept across a loop by the local that carries them): the operands
    /// staged as f16 (`CoopStaging`), then each subgroup loads the fragments of `a` for its rows
    /// and of `b` for its columns once per K step and multiplies them into each of its matrices.
    CooperativeTiles(CoopStaging),
}

/// The operands of a `CooperativeTiles` `dot(a: [M, K], b: [K, N])`, staged as f16 in its region
/// of the cooperative staging array (f16 four-vectors, `CoopPlan::vectors`): a buffer holds `a`
/// row-major with rows `a_row_stride` halves apart, then `b` row-major with rows `b_row_stride`
/// apart (both multiples of 8 halves: 16-byte rows for the matrix loads, and padded against bank
/// conflicts). Its `stages` buffers are used in turn, as a staged `dot`'s (`DotStaging`).
#[derive(Debug, Clone, PartialEq)]
pub struct CoopStaging {
    pub a_row_stride: u32,
    pub b_row_stride: u32,
    pub stages: u32,
    /// Bytes of the cooperative staging array: all `stages` buffers.
    pub region: Scratch,
}

impl CoopStaging {
    /// Halves of one buffer for a `dot` of shape `m×k · k×n`.
    pub fn buffer_halves(&self, m: u32, k: u32) -> u32 {
        m.saturating_mul(self.a_row_stride)
            .saturating_add(k.saturating_mul(self.b_row_stride))
    }
    /// Bytes of the region: `stages` buffers.
    pub fn bytes_needed(&self, m: u32, k: u32) -> u32 {
        self.buffer_halves(m, k)
            .saturating_mul(2)
            .saturating_mul(self.stages)
    }
}

/// A staged `dot(a: [M, K], b: [K, N])`, in its region of the schedule's dot array (a workgroup
/// array of f32 four-vectors of its own, `Schedule::dot_bytes`; each staged `dot` has a region
/// of its own). A buffer holds `a` transposed (`a_t[k][m]`, rows `a_row_stride` elements apart:
/// the rows of the result an invocation holds are then consecutive along a row) and after it
/// `b` (`b[k][n]`, rows `b_row_stride` apart). Each invocation computes the registers of the
/// result's layout with one FMA per register and k, reading the values of `a` and `b` its
/// register tile needs `vector` at a time (4: one 128-bit read per four consecutive rows or
/// columns of its tile), in a K loop unrolled `k_unroll` times.
///
/// The region holds `stages` buffers, used in turn by successive executions of the `dot`. With
/// one, each execution waits (a barrier) until every invocation has read the previous
/// execution's operands, writes, and waits again before reading. With two or more, an execution
/// writes the buffer that the execution `stages` before it read, which every invocation finished
/// before passing the barrier of the execution after that one: one barrier (after writing) per
/// execution (double buffering).
#[derive(Debug, Clone, PartialEq)]
pub struct DotStaging {
    pub a_row_stride: u32,
    pub b_row_stride: u32,
    pub k_unroll: u32,
    pub vector: u32,
    pub stages: u32,
    /// Bytes of the dot array: all `stages` buffers.
    pub region: Scratch,
}

impl DotStaging {
    /// Elements (f32) of one buffer for a `dot` of depth `k`.
    pub fn buffer_elements(&self, k: u32) -> u32 {
        k.saturating_mul(self.a_row_stride.saturating_add(self.b_row_stride))
    }
    /// Bytes of the region for a `dot` of depth `k`: `stages` buffers.
    pub fn bytes_needed(&self, k: u32) -> u32 {
        self.buffer_elements(k)
            .saturating_mul(4)
            .saturating_mul(self.stages)
    }
}

/// A layout conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvertPlan {
    /// Every invocation already holds what it needs: a register renaming.
    Registers,
    /// Written row-major to the scratch, then read back in the new layout.
    Shared(Scratch),
    /// Into or out of cooperative matrices (`Layout::Cooperative`): through the cooperative f32
    /// array (`CoopPlan::floats`), stored or loaded there by each subgroup's matrices, `rows`
    /// rows of the tile at a time (whole matrices, and whole repetitions of the blocked side's
    /// pattern, so each register's chunk is known when compiling).
    Cooperative { rows: u32 },
}

/// The region of the scratch array that one instruction uses: `bytes` from byte `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scratch {
    pub offset: u32,
    pub bytes: u32,
}

impl Scratch {
    /// The first byte after the region.
    pub fn end(&self) -> u32 {
        self.offset.saturating_add(self.bytes)
    }
    /// The region's first 32-bit word.
    pub fn first_word(&self) -> u32 {
        self.offset / 4
    }
}

impl Plan {
    /// The scratch region the plan uses, if any.
    pub fn scratch(&self) -> Option<Scratch> {
        match self {
            Plan::Reduce(ReducePlan::Shared { scratch, .. })
            | Plan::Reduce(ReducePlan::Subgroups { scratch, .. })
            | Plan::Scan(ScanPlan::Shared(scratch))
            | Plan::Convert(ConvertPlan::Shared(scratch))
            | Plan::Staged(scratch) => Some(*scratch),
            _ => None,
        }
    }
    /// The scratch region, to size it.
    pub fn scratch_mut(&mut self) -> Option<&mut Scratch> {
        match self {
            Plan::Reduce(ReducePlan::Shared { scratch, .. })
            | Plan::Reduce(ReducePlan::Subgroups { scratch, .. })
            | Plan::Scan(ScanPlan::Shared(scratch))
            | Plan::Convert(ConvertPlan::Shared(scratch))
            | Plan::Staged(scratch) => Some(scratch),
            _ => None,
        }
    }
}

/// `dot`s computed with `VK_KHR_cooperative_matrix` tiles of `m×k · k×n` (f16 operands, f32
/// accumulators, subgroup scope): each stages `a` and `b` as f16 (exact: they were converted from
/// f16) and the accumulator as f32 in two workgroup arrays of their own (`halves` f16 and `floats`
/// f32 elements, sized for the largest of them); each subgroup then multiplies whole tiles. The
/// `dot`s that use them have `DotPlan::Cooperative`.
#[derive(Debug, Clone, PartialEq)]
pub struct CoopPlan {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub halves: u32,
    pub floats: u32,
    /// F16 four-vectors of the staging array of the `CooperativeTiles` `dot`s (0: none).
    pub vectors: u32,
}

impl CoopPlan {
    /// Bytes of workgroup memory the arrays take.
    pub fn bytes(&self) -> u32 {
        (self.halves * 2).next_multiple_of(4) + self.floats * 4 + self.vectors * 8
    }
}

/// Whether a reduction of `ty` elements can combine through `OpGroupNonUniform` reductions:
/// 32-bit floats and integers (narrower and wider types need `shaderSubgroupExtendedTypes`).
pub fn subgroup_reducible(ty: &Type) -> bool {
    matches!(
        ty.elem,
        Elem::Scalar(ScalarType::F32 | ScalarType::I32 | ScalarType::U32)
    )
}

/// 32-bit words one element of `ty` occupies in the scratch array.
pub fn scratch_words(ty: &Type) -> u32 {
    match ty.elem {
        Elem::Scalar(s) if s.bytes() == 8 => 2,
        Elem::Ptr { .. } => 2,
        Elem::Scalar(_) => 1,
    }
}

/// Bytes of scratch that `plan` needs for instruction `id` of `kernel` with value layouts
/// `layouts` (0 for a plan that uses none). The passes size each plan's region with it and the
/// verifier checks every region against it.
pub fn scratch_needed(kernel: &Kernel, layouts: &[Option<Layout>], id: InstId, plan: &Plan) -> u32 {
    let layout_of = |v: ValueId| {
        layouts
            .get(v.index())
            .cloned()
            .flatten()
            .unwrap_or(Layout::Uniform)
    };
    // The whole tile of `v`, `words` per element.
    let tile = |v: ValueId| {
        let ty = kernel.ty(v);
        (ty.num_elements().max(1) as u32)
            .saturating_mul(scratch_words(ty))
            .saturating_mul(4)
    };
    match (plan, &kernel.insts[id].kind) {
        (
            Plan::Reduce(ReducePlan::Shared { chunk, .. } | ReducePlan::Subgroups { chunk, .. }),
            InstKind::Reduce { value, .. },
        ) => layout_of(*value)
            .threads()
            .saturating_mul(*chunk)
            .saturating_mul(scratch_words(kernel.ty(*value)))
            .saturating_mul(4),
        (Plan::Scan(ScanPlan::Shared(_)), InstKind::Scan { value, .. }) => tile(*value),
        (Plan::Convert(ConvertPlan::Shared(_)), InstKind::ConvertLayout(_)) => tile(id),
        (Plan::Staged(_), InstKind::Atomic { .. }) => tile(id),
        (Plan::Staged(_), InstKind::Reshape(value) | InstKind::Permute { value, .. }) => {
            tile(*value)
        }
        _ => 0,
    }
}
