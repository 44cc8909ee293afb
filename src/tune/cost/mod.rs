//! The cost model of the schedule search: how long a Scheduled kernel should take on a device,
//! read from what its schedule says (threads, layouts, plans) and the launch's scalar arguments.
//! It ranks candidates; the device times the best few, so it needs to order them, not to predict
//! to the microsecond.
//!
//! # What it counts, per program (one workgroup)
//!
//! Work is counted in *lane operations*: one operation on one register of one invocation. A value
//! with layout `L` in a workgroup of `T` invocations costs `L.regs() × T'` lanes, where `T'` is `T`
//! rounded up to whole SIMD groups (the subgroup: a CPU runs a subgroup as one SIMD loop, a GPU
//! as one warp, so a workgroup of 4 invocations costs as much as one of 8 on lavapipe). Replicated
//! layouts therefore cost what they compute.
//!
//! - **ALU**: each elementwise instruction costs its lanes (transcendental functions 8×, square
//!   roots and divisions 4×); a `dot` in registers `regs(acc) × T' × K` fused multiply-adds.
//!   Masked loads add a select per lane.
//! - **Device memory**: each load, store and atomic costs one *access* per lane and vector (a
//!   vec4 access serves four registers). Bytes moved count each tile element once (replicas
//!   read the same addresses: caches serve them), masked lanes included.
//! - **Shared memory**: lane accesses of the scratch, from the plans: a shared reduction writes
//!   its partials and every member of a group reads the group's; a staged `dot` writes both
//!   operands and reads a row of `a` and a column of `b` per k; a conversion, reshape, permute or
//!   atomic writes the tile and reads it back; a shared scan does log2(n) rounds of both.
//! - **Barriers**: two per use of the scratch (`spirv::shared`); a barrier costs per SIMD group
//!   (a CPU device switches between the groups of a workgroup at each one).
//! - **Loops**: a `for` multiplies its body by its trip count, evaluated from constants and the
//!   launch's scalar arguments; an unknown trip count (or a `while`) counts once and makes the
//!   estimate inexact. An `if` whose condition is unknown counts the costlier branch per kind of
//!   work.
//!
//! # How counts become time (`Machine`)
//!
//! A program costs `alu + memory_access × accesses + shared_access × scratch accesses +
//! dot_shared_access × staged-dot reads + barrier × barriers × groups + program_overhead` units
//! (`groups`: SIMD groups per workgroup). A device runs `units × resident` programs at once
//! (a CPU: one per core; a GPU: as many per unit as its invocation slots, registers and shared
//! memory allow). The kernel takes `waves × resident × units-per-program × ns_per_unit /
//! efficiency`, or the time its bytes take at the memory bandwidth if that is longer; `efficiency`
//! is 1 from half the invocation slots filled and falls in proportion below (memory latency is
//! no longer hidden). The constants are in `Machine::for_target`, with where they come from.
//!
//! # Registers
//!
//! Registers per invocation are estimated as the 32-bit words of every local (they live across
//! loops) plus the largest value (the working set of the operation under way). Past the
//! machine's `max_registers` a candidate is pruned.
//!
//! # A lower bound before scheduling
//!
//! `lower_bound` counts the same work on the Lowered kernel with its knobs set, as if every tile
//! were spread without replicas and every access were a vec4, with no data exchange and no
//! barrier: scheduling only adds work, so it never passes `estimate`, and the search schedules
//! candidates in order of it. `registers` bounds the registers the same way.
use crate::abi::{Processor, Target};
use crate::base::KernelArg;
use crate::ir::layout::Layout;
use crate::ir::schedule::{ConvertPlan, DotPlan, Plan, ReducePlan, ScanPlan};
use crate::ir::{BinaryOp, InstId, InstKind, Kernel, Region, UnaryOp, ValueId};

mod scalar;
pub use scalar::scalar;
use scalar::trip_count;

/// What the model assumes of a device: its parallelism, what each kind of work costs, and its
/// limits. Units are lane operations (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub processor: Processor,
    /// Invocations that run as one SIMD group (the subgroup): workgroups occupy whole groups.
    pub simd: u32,
    /// Programs that run side by side when each takes a whole unit: CPU cores, GPU compute units.
    pub units: u32,
    /// Invocation slots, 32-bit registers and shared-memory bytes of one unit (GPU occupancy).
    pub unit_threads: u32,
    pub unit_registers: u32,
    pub unit_shared_bytes: u32,
    /// Cost of one lane access of device memory, of the scratch, of one barrier per SIMD group,
    /// and the fixed cost of starting a program, in lane operations.
    pub memory_access: f64,
    pub shared_access: f64,
    /// Cost of one lane read of a staged `dot`'s operands.
    pub dot_shared_access: f64,
    pub barrier: f64,
    pub program_overhead: f64,
    /// Nanoseconds one unit takes per lane operation.
    pub ns_per_unit: f64,
    /// Device memory bandwidth, bytes per nanosecond (GB/s).
    pub bytes_per_ns: f64,
    /// 32-bit registers an invocation may use before the candidate is pruned.
    pub max_registers: u32,
    /// The device offers cooperative matrices (`dot`s of f16 may run on them).
    pub cooperative: bool,
    /// Elements the widest vector access moves (`passes::vectors::widest_vector`).
    pub widest_vector: u32,
}

impl Machine {
    /// The model of `target`'s kind of processor.
    ///
    /// CPU (lavapipe, SwiftShader): one program per core at a time, invocations in SIMD groups
    /// of the subgroup size. The costs were fitted on lavapipe (LLVM 15, AVX2, subgroup 8, two
    /// cores) to device timings of the matmul (eight tile shapes, 512³) and the softmax (three
    /// workgroup sizes, 4096×1024) of `benches/kernels` (BENCHMARKS.md, "Schedule search"): a
    /// lane operation takes about 0.1 ns on one core (eight lanes per SIMD instruction); a lane
    /// of a device-memory access costs about 74 of them (each lane gathers its own address, with
    /// the bounds check, mask and select it carries: these dominate, the FMAs of a `dot` are
    /// nearly free); a lane of a scratch access about 19, but a lane read of a staged `dot`'s
    /// operands about 100; a barrier about 7,900 per SIMD group (the driver switches between
    /// the groups of a workgroup at each one). Registers: LLVM keeps tiles in SSA values and
    /// spills, and compiles for longer the more there are (about 25 s for the 1,600 of a 64×64
    /// f32 accumulator with its operands, on two busy cores): past 2,048 words per invocation
    /// a candidate could not be timed within a search's budget.
    ///
    /// GPU (and targets of unknown kind): an assumed mid-range discrete GPU, since Vulkan does not
    /// report these: 64 units of 2,048 invocation slots, 65,536 registers and twice the
    /// workgroup shared-memory limit each; 128 lane operations per ns per unit; coalesced memory
    /// (an access costs 2 lane operations, the bandwidth of 1 TB/s bounds the bytes); cheap
    /// barriers (16 per warp); at most 255 registers per invocation.
    pub fn for_target(target: &Target) -> Machine {
        let simd = target.subgroup_size.unwrap_or(32).max(1);
        match target.processor {
            Processor::Cpu => Machine {
                processor: Processor::Cpu,
                simd,
                units: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
                unit_threads: target.max_threads.max(1),
                unit_registers: u32::MAX,
                unit_shared_bytes: target.max_shared_bytes,
                memory_access: 74.0,
                shared_access: 19.0,
                dot_shared_access: 100.0,
                barrier: 7900.0,
                program_overhead: 500.0,
                ns_per_unit: 0.1,
                bytes_per_ns: 10.0,
                max_registers: 2048,
                cooperative: target.cooperative_matrix.is_some(),
                widest_vector: crate::passes::vectors::widest_vector(target),
            },
            Processor::Gpu | Processor::Unknown => Machine {
                processor: target.processor,
                simd,
                units: 64,
                unit_threads: 2048,
                unit_registers: 65536,
                unit_shared_bytes: target.max_shared_bytes.saturating_mul(2),
                memory_access: 2.0,
                shared_access: 1.0,
                dot_shared_access: 1.0,
                barrier: 16.0,
                program_overhead: 200.0,
                ns_per_unit: 1.0 / 128.0,
                bytes_per_ns: 1000.0,
                max_registers: 255,
                cooperative: target.cooperative_matrix.is_some(),
                widest_vector: crate::passes::vectors::widest_vector(target),
            },
        }
    }
}

impl Machine {
    /// Units of work of one program with `counts` in a workgroup of `padded` invocations.
    fn units_per_program(&self, counts: &Counts, padded: u32) -> f64 {
        let groups = padded.div_ceil(self.simd.max(1)) as f64;
        counts.alu
            + self.memory_access * counts.accesses
            + self.shared_access * counts.shared
            + self.dot_shared_access * counts.dot_shared
            + self.barrier * counts.barriers * groups
            + self.program_overhead
    }
}

/// Work of one program, by kind (see the module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// Lane operations of arithmetic.
    pub alu: f64,
    /// Lane accesses of device memory (a vector access counts once).
    pub accesses: f64,
    /// Bytes of device memory loaded and stored, each tile element once.
    pub bytes: f64,
    /// Lane accesses of the workgroup scratch.
    pub shared: f64,
    /// Lane reads of a staged `dot`'s operands from the scratch (they feed the FMAs one by one).
    pub dot_shared: f64,
    pub barriers: f64,
    /// Floating-point operations (a multiply-add is two), each tile element once.
    pub flops: f64,
    /// Elements stored (stores and atomics, masked lanes included).
    pub stored: f64,
}

impl Counts {
    fn add(&mut self, other: &Counts, times: f64) {
        self.alu += other.alu * times;
        self.accesses += other.accesses * times;
        self.bytes += other.bytes * times;
        self.shared += other.shared * times;
        self.dot_shared += other.dot_shared * times;
        self.barriers += other.barriers * times;
        self.flops += other.flops * times;
        self.stored += other.stored * times;
    }
    fn max(&self, other: &Counts) -> Counts {
        Counts {
            alu: self.alu.max(other.alu),
            accesses: self.accesses.max(other.accesses),
            bytes: self.bytes.max(other.bytes),
            shared: self.shared.max(other.shared),
            dot_shared: self.dot_shared.max(other.dot_shared),
            barriers: self.barriers.max(other.barriers),
            flops: self.flops.max(other.flops),
            stored: self.stored.max(other.stored),
        }
    }
}

/// The model's estimate for one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Work of one program.
    pub per_program: Counts,
    pub programs: u64,
    pub threads: u32,
    /// 32-bit registers per invocation (see the module doc).
    pub registers: u32,
    /// Bytes of workgroup shared memory.
    pub shared_bytes: u32,
    /// Workgroups one unit holds at once, and the fraction of its invocation slots they fill.
    pub resident: u32,
    pub occupancy: f64,
    /// Predicted time of one launch.
    pub ns: f64,
    /// False when a loop's trip count was unknown (counted once).
    pub exact: bool,
}

impl Estimate {
    /// Bytes one launch moves.
    pub fn bytes(&self) -> f64 {
        self.per_program.bytes * self.programs as f64
    }
    /// Floating-point operations of one launch.
    pub fn flops(&self) -> f64 {
        self.per_program.flops * self.programs as f64
    }
}

/// Why the model rejects a candidate before timing it.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejected {
    /// More registers per invocation than the machine allows.
    Registers { needed: u32, limit: u32 },
    /// Not even one workgroup fits a unit (GPU).
    NoRoom,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Registers { needed, limit } => write!(
                f,
                "needs about {needed} registers per invocation, more than the {limit} allowed"
            ),
            Rejected::NoRoom => write!(f, "one workgroup does not fit a compute unit"),
        }
    }
}

/// Estimates a Scheduled kernel launched over `programs` programs with `args` (the scalar
/// arguments give loop trip counts).
pub fn estimate(
    kernel: &Kernel,
    machine: &Machine,
    args: &[KernelArg],
    programs: u64,
) -> Result<Estimate, Rejected> {
    let walker = Walker::new(kernel, machine, args);
    let mut exact = true;
    let per_program = walker.region(&kernel.body, &mut exact);
    let threads = walker.threads;
    let registers = registers(kernel);
    if registers > machine.max_registers {
        return Err(Rejected::Registers {
            needed: registers,
            limit: machine.max_registers,
        });
    }
    let schedule = kernel.schedule.as_ref();
    let shared_bytes = schedule.map_or(0, |s| s.workgroup_bytes());
    let padded = walker.padded;
    let resident = match machine.processor {
        Processor::Cpu => 1,
        _ => {
            let by_slots = machine.unit_threads / padded.max(1);
            let by_shared = match shared_bytes {
                0 => u32::MAX,
                bytes => machine.unit_shared_bytes / bytes,
            };
            let by_registers =
                machine.unit_registers / registers.max(1).saturating_mul(padded).max(1);
            by_slots.min(by_shared).min(by_registers).min(32)
        }
    };
    if resident == 0 {
        return Err(Rejected::NoRoom);
    }
    let occupancy = (resident * padded) as f64 / machine.unit_threads.max(1) as f64;
    let efficiency = match machine.processor {
        Processor::Cpu => 1.0,
        _ => (occupancy / 0.5).min(1.0),
    };
    let units_per_program = machine.units_per_program(&per_program, padded);
    let side_by_side = machine.units as u64 * resident as u64;
    let waves = programs.div_ceil(side_by_side.max(1));
    let compute_ns =
        (waves * resident as u64) as f64 * units_per_program * machine.ns_per_unit / efficiency;
    let memory_ns = per_program.bytes * programs as f64 / machine.bytes_per_ns;
    Ok(Estimate {
        per_program,
        programs,
        threads,
        registers,
        shared_bytes,
        resident,
        occupancy,
        ns: compute_ns.max(memory_ns),
        exact,
    })
}

/// A lower bound of `estimate` for a Lowered kernel with its knobs set (`threads`), cheap to
/// compute: no layouts yet, so every tile counts its elements as if spread without replicas
/// (and at least one register per invocation), accesses as if all were vec4, reductions and
/// `dot`s with no data exchange, no barriers, and full occupancy without a partial last wave.
/// Scheduling only adds work, so the search schedules candidates in order of this bound and
/// stops when it passes the best estimates.
pub fn lower_bound(kernel: &Kernel, machine: &Machine, args: &[KernelArg], programs: u64) -> f64 {
    let walker = Walker::new(kernel, machine, args);
    let mut exact = true;
    let per_program = walker.region(&kernel.body, &mut exact);
    let units_per_program = machine.units_per_program(&per_program, walker.padded);
    let compute_ns =
        programs as f64 / machine.units.max(1) as f64 * units_per_program * machine.ns_per_unit;
    let memory_ns = per_program.bytes * programs as f64 / machine.bytes_per_ns;
    compute_ns.max(memory_ns)
}

/// Elements each tile instruction stores per launch of `programs` programs (whole tiles, masked
/// lanes included), from the Lowered or Scheduled IR: how much of the output a candidate can
/// reach. `None` when a loop's trip count is unknown.
pub fn stored_elements(kernel: &Kernel, args: &[KernelArg], programs: u64) -> Option<f64> {
    let machine = Machine::for_target(&Target::portable());
    let walker = Walker::new(kernel, &machine, args);
    let mut exact = true;
    let counts = walker.region(&kernel.body, &mut exact);
    exact.then_some(counts.stored * programs as f64)
}

/// 32-bit registers per invocation: every local, plus the largest value. Before scheduling
/// (no layouts) a lower bound: each tile spread evenly over the kernel's `threads` without
/// replicas.
pub fn registers(kernel: &Kernel) -> u32 {
    let schedule = kernel.schedule.as_ref();
    let threads = kernel.threads.unwrap_or(1).max(1) as u64;
    let words = |layout: Option<&Layout>, ty: &crate::ir::Type| -> u32 {
        let regs = match (schedule, layout) {
            (Some(_), Some(layout)) => layout.regs(),
            (Some(_), None) => 1,
            (None, _) => {
                u32::try_from(ty.num_elements().max(1).div_ceil(threads)).unwrap_or(u32::MAX)
            }
        };
        let words = match ty.scalar_type() {
            Some(t) if t.bytes() == 8 => 2,
            _ => 1,
        };
        regs.saturating_mul(words)
    };
    let local_layouts = schedule.map(|s| &s.local_layouts);
    let locals: u32 = kernel
        .locals
        .iter()
        .map(|(id, local)| words(local_layouts.and_then(|l| l.get(id.index())), &local.ty))
        .fold(0, u32::saturating_add);
    let largest = kernel
        .insts
        .iter()
        .filter(|(_, inst)| !matches!(inst.kind, InstKind::Param(_)))
        .filter_map(|(id, inst)| {
            let ty = inst.ty.as_ref()?;
            let layout = schedule.and_then(|s| s.layouts.get(id.index())?.as_ref());
            Some(words(layout, ty))
        })
        .max()
        .unwrap_or(0);
    locals.saturating_add(largest)
}

/// Walks a kernel's regions and counts the work of one program.
struct Walker<'a> {
    kernel: &'a Kernel,
    args: &'a [KernelArg],
    /// Invocations (the kernel's `threads` before scheduling), and invocations rounded up to
    /// whole SIMD groups.
    threads: u32,
    padded: u32,
    /// Before scheduling: count a lower bound of the work (see `lower_bound`).
    bound: bool,
    /// The device multiplies matrices on cooperative-matrix units.
    cooperative: bool,
    /// The widest vector access of the device, in elements.
    widest_vector: u32,
}

impl<'a> Walker<'a> {
    fn new(kernel: &'a Kernel, machine: &Machine, args: &'a [KernelArg]) -> Walker<'a> {
        let threads = match &kernel.schedule {
            Some(s) => s.threads,
            None => kernel.threads.unwrap_or(1),
        }
        .max(1);
        let simd = machine.simd.max(1);
        Walker {
            kernel,
            args,
            threads,
            padded: threads.div_ceil(simd) * simd,
            bound: kernel.schedule.is_none(),
            cooperative: machine.cooperative,
            widest_vector: machine.widest_vector.max(1),
        }
    }

    fn layout(&self, value: ValueId) -> Option<&Layout> {
        self.kernel
            .schedule
            .as_ref()
            .and_then(|s| s.layouts.get(value.index()))
            .and_then(|l| l.as_ref())
    }

    /// Lane operations one instruction on `value` costs: its registers on every invocation.
    /// Before scheduling, at least its elements (every element is held somewhere) and at least
    /// one register per invocation.
    fn lanes(&self, value: ValueId) -> f64 {
        match self.layout(value) {
            Some(layout) => layout.regs() as f64 * self.padded as f64,
            None => self.elements(value).max(self.padded as f64),
        }
    }

    fn elements(&self, value: ValueId) -> f64 {
        self.kernel.ty(value).num_elements().max(1) as f64
    }

    fn element_bytes(&self, value: ValueId) -> f64 {
        self.kernel
            .ty(value)
            .scalar_type()
            .map_or(8.0, |t| t.bytes() as f64)
    }

    fn plan(&self, id: InstId) -> Option<&Plan> {
        self.kernel.schedule.as_ref().and_then(|s| s.plan(id))
    }

    fn region(&self, region: &Region, exact: &mut bool) -> Counts {
        let mut counts = Counts::default();
        for &id in &region.insts {
            self.inst(id, &mut counts, exact);
        }
        counts
    }

    fn inst(&self, id: InstId, counts: &mut Counts, exact: &mut bool) {
        let kernel = self.kernel;
        match &kernel.insts[id].kind {
            InstKind::For {
                start,
                end,
                step,
                body,
                ..
            } => {
                let body = self.region(body, exact);
                let trips = trip_count(kernel, self.args, *start, *end, *step);
                if trips.is_none() {
                    *exact = false;
                }
                counts.add(&body, trips.unwrap_or(1) as f64);
            }
            InstKind::While {
                cond_region, body, ..
            } => {
                *exact = false;
                counts.add(&self.region(cond_region, exact), 1.0);
                counts.add(&self.region(body, exact), 1.0);
            }
            InstKind::If {
                cond,
                then_region,
                else_region,
            } => match scalar(kernel, self.args, *cond) {
                Some(0) => counts.add(&self.region(else_region, exact), 1.0),
                Some(_) => counts.add(&self.region(then_region, exact), 1.0),
                None => {
                    let then = self.region(then_region, exact);
                    let other = self.region(else_region, exact);
                    counts.add(&then.max(&other), 1.0);
                }
            },
            kind => counts.add(&self.work(id, kind), 1.0),
        }
    }

    /// The work of one straight-line instruction.
    fn work(&self, id: InstId, kind: &InstKind) -> Counts {
        let mut c = Counts::default();
        let is_float = |v: ValueId| {
            self.kernel
                .ty(v)
                .scalar_type()
                .is_some_and(|t| t.is_float())
        };
        match kind {
            InstKind::Arange { .. } | InstKind::Splat(_) => c.alu = self.lanes(id),
            InstKind::Unary { op, .. } => {
                c.alu = self.lanes(id) * unary_weight(*op);
                if is_float(id) {
                    c.flops = self.elements(id);
                }
            }
            InstKind::Binary { op, .. } => {
                c.alu = self.lanes(id) * binary_weight(*op);
                if is_float(id) {
                    c.flops = self.elements(id);
                }
            }
            InstKind::Fma { .. } => {
                c.alu = self.lanes(id);
                c.flops = 2.0 * self.elements(id);
            }
            InstKind::Compare { .. }
            | InstKind::Select { .. }
            | InstKind::Cast(_)
            | InstKind::Bitcast(_)
            | InstKind::PtrOffset { .. } => c.alu = self.lanes(id),
            InstKind::Load { ptr, mask, .. } => {
                self.access(id, *ptr, &mut c);
                if mask.is_some() {
                    c.alu += self.lanes(id);
                }
            }
            InstKind::Store { ptr, value, .. } => {
                self.access(id, *ptr, &mut c);
                c.bytes = self.elements(*value) * self.element_bytes(*value);
                c.stored = self.elements(*value);
            }
            InstKind::Atomic { ptr, .. } => {
                c.accesses = self.lanes(*ptr);
                c.bytes = 2.0 * self.elements(id) * self.element_bytes(id);
                c.stored = self.elements(id);
                self.staged(*ptr, id, &mut c);
            }
            InstKind::Reshape(value) | InstKind::Permute { value, .. }
                if self.plan(id).is_some() =>
            {
                self.staged(*value, id, &mut c)
            }
            InstKind::ConvertLayout(value)
                if matches!(self.plan(id), Some(Plan::Convert(ConvertPlan::Shared(_)))) =>
            {
                self.staged(*value, id, &mut c)
            }
            InstKind::Dot { a, b, .. } => self.dot(id, *a, *b, &mut c),
            InstKind::Reduce { value, axis, .. } => self.reduce(id, *value, *axis, &mut c),
            InstKind::Scan { value, axis, .. } => {
                c.alu = self.lanes(*value);
                let n = self.kernel.ty(*value).shape.get(*axis as usize).copied();
                let rounds = n.unwrap_or(1).max(1).ilog2() as f64;
                match self.plan(id) {
                    Some(Plan::Scan(ScanPlan::Subgroup)) => {
                        c.alu += 2.0 * self.lanes(*value) * (self.threads.max(2).ilog2() as f64)
                    }
                    Some(Plan::Scan(ScanPlan::Shared(_))) => {
                        c.shared = 2.0 * self.lanes(*value) * rounds;
                        c.barriers = 2.0 * rounds;
                    }
                    _ => {}
                }
            }
            // Constants, parameters, program ids, renamings (broadcast, expand) and locals are
            // free; asserts and prints are checks, not work.
            _ => {}
        }
        c
    }

    /// A load or store through `ptr` whose registers follow `value`'s layout.
    fn access(&self, value: ValueId, ptr: ValueId, c: &mut Counts) {
        let vector = match self.plan(value) {
            Some(Plan::Access(access)) => access.vector.max(1) as f64,
            // Before scheduling: the widest vector an access may get.
            _ if self.bound => self.widest_vector as f64,
            _ => 1.0,
        };
        c.accesses = self.lanes(ptr) / vector;
        if self.kernel.insts[value].ty.is_some() {
            c.bytes = self.elements(value) * self.element_bytes(value);
        }
    }

    /// A tile written to the scratch from `from`'s layout and read back in `to`'s.
    fn staged(&self, from: ValueId, to: ValueId, c: &mut Counts) {
        c.shared += self.lanes(from) + self.lanes(to);
        c.barriers += 2.0;
    }

    fn dot(&self, id: InstId, a: ValueId, b: ValueId, c: &mut Counts) {
        let (shape_a, shape_b) = (&self.kernel.ty(a).shape, &self.kernel.ty(b).shape);
        let (m, k, n) = match (&shape_a[..], &shape_b[..]) {
            (&[m, k], &[_, n]) => (m as f64, k as f64, n as f64),
            _ => return,
        };
        c.flops = 2.0 * m * n * k;
        if self.bound {
            // The cheapest plan the scheduler could make.
            c.alu = if self.cooperative {
                m * n * k / 16.0
            } else {
                self.lanes(id) * k
            };
            return;
        }
        match self.plan(id) {
            Some(Plan::Dot(DotPlan::Cooperative)) => {
                // Matrix units do a subgroup's tile in a few instructions; the staging dominates.
                c.alu = m * n * k / 16.0;
                c.shared = m * k + k * n + 2.0 * m * n;
                c.barriers = 2.0;
            }
            Some(Plan::Dot(DotPlan::Staged(_))) => {
                c.alu = self.lanes(id) * k;
                let reads = match self.layout(id).and_then(Layout::base) {
                    Some(acc) if acc.rank() == 2 => {
                        (acc.regs_per_dim(0) + acc.regs_per_dim(1)) as f64 * k
                    }
                    _ => m * k + k * n,
                };
                c.shared = self.lanes(a) + self.lanes(b);
                c.dot_shared = reads * self.padded as f64;
                c.barriers = 2.0;
            }
            _ => c.alu = self.lanes(id) * k,
        }
    }

    fn reduce(&self, id: InstId, value: ValueId, axis: Option<u32>, c: &mut Counts) {
        c.alu = self.lanes(value);
        if self
            .kernel
            .ty(value)
            .scalar_type()
            .is_some_and(|t| t.is_float())
        {
            c.flops = self.elements(value);
        }
        let result = self.lanes(id);
        match self.plan(id) {
            Some(Plan::Reduce(ReducePlan::Subgroup)) => {
                c.alu += 2.0 * result * self.threads.max(2).ilog2() as f64;
            }
            Some(Plan::Reduce(ReducePlan::Shared { chunk, .. })) => {
                let members: u32 = match self.layout(value) {
                    Some(layout) => match layout.base() {
                        Some(base) => layout
                            .reduction_group_dims(axis)
                            .iter()
                            .map(|&d| base.threads_per_dim[d])
                            .product(),
                        None => 1,
                    },
                    None => 1,
                };
                let result_regs = (result / self.padded as f64).max(1.0);
                c.shared = result * (1.0 + members as f64);
                c.alu += result * members as f64;
                c.barriers = 2.0 * (result_regs / (*chunk).max(1) as f64).ceil() + 1.0;
            }
            _ => {}
        }
    }
}

fn unary_weight(op: UnaryOp) -> f64 {
    use UnaryOp::*;
    match op {
        Exp | Exp2 | Log | Log2 | Sin | Cos | Tanh | Erf | Sigmoid => 8.0,
        Sqrt | Rsqrt => 4.0,
        Neg | Not | BitNot | Abs | Floor | Ceil | Round => 1.0,
    }
}

fn binary_weight(op: BinaryOp) -> f64 {
    match op {
        BinaryOp::Div | BinaryOp::Rem => 4.0,
        BinaryOp::Pow => 16.0,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests;
