//! SPIR-V emission with rspirv: Scheduled IR to a compute shader plus its ABI.
//!
//! One program instance is one workgroup; every invocation holds `layout.regs()` SPIR-V values per
//! tile (fully unrolled registers) whose coordinates are functions of `LocalInvocationIndex` (see
//! `ir::layout`). Scalars are computed redundantly by every invocation and control flow is
//! uniform, so `if`/loops become structured selections and loops over Function variables.
//!
//! Every lowering decision comes from the kernel's `ir::Schedule`: the layouts, and each
//! instruction's plan (vector widths, how reductions, scans, `dot`s and conversions run, the
//! scratch region each uses). The emitter follows the plans and decides none of them itself.
mod atomics;
mod body;
mod coop;
mod ctx;
mod linalg;
mod math;
mod memory;
mod shared;
mod subgroup;

#[cfg(test)]
mod device_tests;
#[cfg(test)]
pub(crate) mod tests;

use crate::abi::{self, Abi, Artifact, BufferBinding, PushField, PushRepr, Target};
use crate::base::{Diagnostic, ScalarType};
use crate::ir::{self, Elem, Kernel, Layout, ParamKind, ValueId};
use ctx::{ice, Ctx, R};
use spirv::{BuiltIn, Decoration, Op, StorageClass, Word};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone)]
pub struct EmitOptions {
    /// Bounds-check every access and report the first violation (the default; `--unchecked` off).
    pub safe: bool,
    /// Access buffers through aliased vec2/vec4 views where the axis analysis proves it safe.
    /// Off for portable output (`tkc build` without a device, naga export): naga and some
    /// translators reject two variables at one binding.
    pub vector_views: bool,
}

pub fn emit(
    module: &ir::Module,
    target: &Target,
    options: &EmitOptions,
) -> Result<Artifact, Diagnostic> {
    let kernel = &module.kernel;
    if kernel.stage != ir::Stage::Scheduled {
        return Err(Diagnostic::internal("spirv::emit needs a scheduled kernel"));
    }
    let schedule = kernel
        .schedule
        .as_ref()
        .ok_or_else(|| Diagnostic::internal("scheduled kernel without a schedule"))?;
    let mut e = Emitter::new(kernel, schedule, options);
    e.packed_views =
        options.vector_views && target.processor == abi::Processor::Cpu && target.features.int64;
    e.float_controls = target.features.float_controls;
    e.declare_interface(target.max_push_bytes)?;
    e.begin_main()?;
    e.prelude()?;
    let body = kernel.body.clone();
    e.region(&body)?;
    if e.cx.block_open() {
        e.cx.b.ret().map_err(ice)?;
    }
    let artifact = e.finish()?;
    check_features(&artifact.abi.features, target)?;
    Ok(artifact)
}

/// Refuses a kernel that needs a device feature the target lacks.
fn check_features(needed: &abi::Features, target: &Target) -> Result<(), Diagnostic> {
    let have = &target.features;
    let pairs = [
        (
            needed.float16,
            have.float16,
            "16-bit floats (shaderFloat16)",
        ),
        (
            needed.float64,
            have.float64,
            "64-bit floats (shaderFloat64)",
        ),
        (needed.int8, have.int8, "8-bit integers (shaderInt8)"),
        (needed.int16, have.int16, "16-bit integers (shaderInt16)"),
        (needed.int64, have.int64, "64-bit integers (shaderInt64)"),
        (
            needed.storage8,
            have.storage8,
            "8-bit storage buffer access",
        ),
        (
            needed.storage16,
            have.storage16,
            "16-bit storage buffer access",
        ),
        (
            needed.float_atomic_add,
            have.float_atomic_add,
            "f32 atomic add (shaderBufferFloat32AtomicAdd)",
        ),
        (
            needed.cooperative_matrix,
            have.cooperative_matrix,
            "cooperative matrices (VK_KHR_cooperative_matrix)",
        ),
        (
            needed.float_controls,
            have.float_controls,
            "float controls (VK_KHR_shader_float_controls)",
        ),
    ];
    for (need, has, what) in pairs {
        if need && !has {
            return Err(Diagnostic::error(
                "E0609",
                format!(
                    "this kernel needs {what}, which `{}` does not offer",
                    target.name
                ),
            )
            .with_help("use element types the device supports (for example f32 and i32)"));
        }
    }
    Ok(())
}

/// A value while emitting: registers of scalars/tiles, or a pointer as per-register element
/// indices into one parameter's buffer.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Regs(Vec<Word>),
    Ptr { param: u32, idx: Vec<Word> },
}

impl Val {
    fn regs(&self) -> &[Word] {
        match self {
            Val::Regs(r) => r,
            Val::Ptr { idx, .. } => idx,
        }
    }
}

/// A storage buffer as declared: its variable, element type and pointer type of one element.
#[derive(Debug, Clone)]
pub(crate) struct Buffer {
    var: Word,
    elem: ScalarType,
    elem_ptr: Word,
    storage_ty: Word,
    /// For a packed vector view (`storage_ty` is u64, u64vec2 or u64vec4), the vector of
    /// 32-bit elements loads bitcast to and stores bitcast from: the whole view's (2 or 4
    /// elements), or for u64vec4 the pair of elements of each component.
    unpacked_ty: Option<Word>,
}

pub(crate) struct LoopLabels {
    merge: Word,
    cont: Word,
}

pub(crate) struct Emitter<'a> {
    kernel: &'a Kernel,
    schedule: &'a ir::Schedule,
    options: &'a EmitOptions,
    cx: Ctx,
    /// Per kernel parameter: its buffer (pointer params).
    buffers: HashMap<u32, Buffer>,
    status: Option<Buffer>,
    push_var: Word,
    /// The uniform buffer holding the scalar parameters when they do not fit in push constants.
    uniform_var: Option<Word>,
    uniform_binding: Option<u32>,
    uniform_bytes: u32,
    /// Per scalar parameter: (member index, push repr); the member is of the push block, or of
    /// the uniform block when `uniform_var` is set.
    push_members: HashMap<u32, (u32, PushRepr)>,
    push_fields: Vec<PushField>,
    push_bytes: u32,
    abi_buffers: Vec<BufferBinding>,
    builtin_wg: Word,
    builtin_lii: Word,
    /// `SubgroupLocalInvocationId`, declared when the workgroup is one subgroup.
    builtin_lane: Option<Word>,
    /// `SubgroupId` and `NumSubgroups`, declared when a reduction goes through subgroups
    /// (`ReducePlan::Subgroups`) or cooperative matrices use them.
    subgroup_ids: Option<(Word, Word)>,
    /// The cooperative-matrix arrays and builtins, declared when the schedule has a `CoopPlan`.
    coop: Option<coop::Coop>,
    /// The dot array (`tk_dot`), declared when the schedule stages `dot`s.
    dot_array: Option<Word>,
    /// Per staged `dot` (instruction index) with several buffers: the Function variable
    /// counting which buffer its next execution uses.
    dot_counters: HashMap<usize, Word>,
    shared_var: Option<Word>,
    main: Word,
    /// Pointer indices are i64 when some offset is 64-bit.
    idx64: bool,
    vals: Vec<Option<Val>>,
    local_vars: Vec<Vec<Word>>,
    loops: Vec<LoopLabels>,
    // Prelude values.
    thread: Word,
    linear: Word,
    pids: [Word; 3],
    grid: [Word; 3],
    /// Per blocked layout, per dim: this invocation's index along the dim and its offset.
    thread_dims: ctx::FastMap<ir::layout::Blocked, Vec<ThreadDim>>,
    /// Vector views (vec2/vec4 runtime arrays aliasing a pointer parameter's binding), made on
    /// first use, per (parameter, width).
    vector_views: HashMap<(u32, u32), Buffer>,
    /// Vector view types already decorated (rspirv merges identical types).
    view_types_decorated: HashSet<Word>,
    /// Vector views carry 32-bit elements in 64-bit components (u64 for two, u64vec2 for
    /// four): on CPU devices every buffer access costs per component and per SIMD lane, so
    /// 64-bit components halve the accesses (BENCHMARKS.md, vector add).
    packed_views: bool,
    /// Declare `SignedZeroInfNanPreserve` and `RoundingModeRTE` for the float widths the module
    /// uses (the target offers them).
    float_controls: bool,
    /// The `device_assert`s emitted so far (safe mode), for `Abi::asserts`.
    asserts: Vec<abi::AssertSite>,
    /// While a stream (`ir::schedule::Stream`) is emitted: the registers of its tiles that this
    /// pass emits (`Emitter::span`).
    window: Option<std::ops::Range<usize>>,
    /// While a stream is emitted: the bounds violations of its accesses per (position in the
    /// run, status kind, parameter), recorded once after its last pass, in program order.
    deferred: Option<Vec<(usize, u32, u32, Vec<(Word, Word)>)>>,
    /// While a stream is emitted: the position in the run of the instruction being emitted.
    stream_position: usize,
    /// While a stream is emitted: each buffer's element count, computed in its first pass.
    lengths: HashMap<u32, Word>,
}

/// An invocation's place along one dim of a blocked layout (prelude values).
#[derive(Clone, Copy)]
struct ThreadDim {
    /// `t_d` (u32).
    index: Word,
    /// `t_d * size_per_thread[d]` (i32).
    offset: Word,
}

impl<'a> Emitter<'a> {
    /// This invocation's index `t_d` (u32) along dim `d` of `b`.
    pub(crate) fn thread_index(&self, b: &ir::layout::Blocked, d: usize) -> Word {
        self.thread_dims[b][d].index
    }
    /// This invocation's offset `t_d * size_per_thread[d]` (i32) along dim `d` of `b`.
    pub(crate) fn thread_offset(&self, b: &ir::layout::Blocked, d: usize) -> Word {
        self.thread_dims[b][d].offset
    }

    fn new(kernel: &'a Kernel, schedule: &'a ir::Schedule, options: &'a EmitOptions) -> Self {
        let idx64 = kernel.insts.iter().any(|(_, inst)| match &inst.kind {
            ir::InstKind::PtrOffset { offset, .. } => kernel
                .ty(*offset)
                .scalar_type()
                .is_some_and(|t| t.bits() == 64),
            _ => false,
        });
        Emitter {
            kernel,
            schedule,
            options,
            cx: Ctx::new(),
            buffers: HashMap::new(),
            status: None,
            push_var: 0,
            uniform_var: None,
            uniform_binding: None,
            uniform_bytes: 0,
            push_members: HashMap::new(),
            push_fields: Vec::new(),
            push_bytes: abi::PUSH_HEADER_BYTES,
            abi_buffers: Vec::new(),
            builtin_wg: 0,
            builtin_lii: 0,
            builtin_lane: None,
            subgroup_ids: None,
            coop: None,
            dot_array: None,
            dot_counters: HashMap::new(),
            shared_var: None,
            main: 0,
            idx64,
            vals: vec![None; kernel.insts.len()],
            local_vars: Vec::new(),
            loops: Vec::new(),
            thread: 0,
            linear: 0,
            pids: [0; 3],
            grid: [0; 3],
            thread_dims: ctx::FastMap::default(),
            vector_views: HashMap::new(),
            view_types_decorated: HashSet::new(),
            packed_views: false,
            float_controls: false,
            asserts: Vec::new(),
            window: None,
            deferred: None,
            stream_position: 0,
            lengths: HashMap::new(),
        }
    }

    /// The plan the schedule recorded for instruction `id` (the verifier makes sure every
    /// instruction that needs one has it).
    pub(crate) fn plan(&self, id: ir::InstId) -> R<&'a ir::Plan> {
        let schedule: &'a ir::Schedule = self.schedule;
        schedule
            .plan(id)
            .ok_or_else(|| Diagnostic::internal(format!("%{} has no plan", id.index())))
    }

    pub(crate) fn layout(&self, v: ValueId) -> Layout {
        self.schedule
            .layouts
            .get(v.index())
            .cloned()
            .flatten()
            .unwrap_or(Layout::Uniform)
    }

    /// The index type of pointer values.
    pub(crate) fn idx_ty(&mut self) -> Word {
        self.cx.int(if self.idx64 { 64 } else { 32 }, true)
    }

    /// Storage buffers, the status buffer, push constants, builtins and shared memory.
    fn declare_interface(&mut self, max_push_bytes: u32) -> R<()> {
        let kernel = self.kernel;
        let mut decorated: HashSet<Word> = HashSet::new();
        let mut binding = 0;
        for (index, param) in kernel.params.iter().enumerate() {
            if let ParamKind::Pointer { pointee, mutable } = param.kind {
                let buffer = self.declare_buffer(pointee, binding, !mutable, &mut decorated);
                self.cx.b.name(buffer.var, param.name.clone());
                self.buffers.insert(index as u32, buffer);
                self.abi_buffers.push(BufferBinding {
                    binding,
                    param: param.name.clone(),
                    param_index: index as u32,
                    elem: pointee,
                    writable: mutable,
                });
                binding += 1;
            }
        }
        if self.options.safe {
            let buffer = self.declare_buffer(ScalarType::U32, binding, false, &mut decorated);
            self.cx.b.name(buffer.var, "tk_status");
            self.status = Some(buffer);
        }
        // Vector views made later must not decorate a shared type twice.
        self.view_types_decorated.extend(decorated);

        // Push constants: the header, then scalar parameters at aligned offsets; or the header
        // alone and the scalars in a uniform buffer when both do not fit the device's limit.
        let u32_ty = self.cx.u32();
        let header_offsets = [
            abi::PUSH_GRID_X,
            abi::PUSH_GRID_Y,
            abi::PUSH_GRID_Z,
            abi::PUSH_DISPATCH_X,
            abi::PUSH_DISPATCH_Y,
            abi::PUSH_EMPTY_BUFFERS,
            abi::PUSH_EMPTY_BUFFERS + 4,
        ];
        let scalars_at = |start: u32| {
            let mut offset = start;
            for param in &kernel.params {
                if let ParamKind::Scalar(ty) = param.kind {
                    let bytes = PushRepr::for_scalar(ty).bytes();
                    offset = offset.div_ceil(bytes) * bytes + bytes;
                }
            }
            offset
        };
        let in_uniform = scalars_at(abi::PUSH_HEADER_BYTES) > max_push_bytes;
        let mut members = vec![u32_ty; header_offsets.len()];
        let mut offsets = header_offsets.to_vec();
        let mut scalar_members = Vec::new();
        let mut scalar_offsets = Vec::new();
        let mut offset = if in_uniform {
            0
        } else {
            abi::PUSH_HEADER_BYTES
        };
        for (index, param) in kernel.params.iter().enumerate() {
            if let ParamKind::Scalar(ty) = param.kind {
                let repr = PushRepr::for_scalar(ty);
                offset = offset.div_ceil(repr.bytes()) * repr.bytes();
                let member_ty = self.repr_ty(repr);
                let (block, block_offsets) = if in_uniform {
                    (&mut scalar_members, &mut scalar_offsets)
                } else {
                    (&mut members, &mut offsets)
                };
                self.push_members
                    .insert(index as u32, (block.len() as u32, repr));
                block.push(member_ty);
                block_offsets.push(offset);
                self.push_fields.push(PushField {
                    param: param.name.clone(),
                    param_index: index as u32,
                    offset,
                    ty,
                    repr,
                });
                offset += repr.bytes();
            }
        }
        if in_uniform {
            self.push_bytes = abi::PUSH_HEADER_BYTES;
            // std140: a struct's size rounds up to 16 bytes.
            self.uniform_bytes = offset.next_multiple_of(16);
            let uniform_struct = self.block_struct(scalar_members, &scalar_offsets);
            let uniform_ptr = self.cx.pointer(StorageClass::Uniform, uniform_struct);
            let var = self
                .cx
                .b
                .variable(uniform_ptr, None, StorageClass::Uniform, None);
            self.cx.b.name(var, "tk_params");
            let binding = binding + self.options.safe as u32;
            self.cx.b.decorate(
                var,
                Decoration::DescriptorSet,
                [rspirv::dr::Operand::LiteralBit32(0)],
            );
            self.cx.b.decorate(
                var,
                Decoration::Binding,
                [rspirv::dr::Operand::LiteralBit32(binding)],
            );
            self.uniform_var = Some(var);
            self.uniform_binding = Some(binding);
        } else {
            self.push_bytes = offset;
        }
        let push_struct = self.block_struct(members, &offsets);
        let push_ptr = self.cx.pointer(StorageClass::PushConstant, push_struct);
        self.push_var = self
            .cx
            .b
            .variable(push_ptr, None, StorageClass::PushConstant, None);
        self.cx.b.name(self.push_var, "tk_push");

        // Builtins.
        let uvec3 = self.cx.vector(u32_ty, 3);
        let uvec3_ptr = self.cx.pointer(StorageClass::Input, uvec3);
        self.builtin_wg = self
            .cx
            .b
            .variable(uvec3_ptr, None, StorageClass::Input, None);
        self.cx.b.decorate(
            self.builtin_wg,
            Decoration::BuiltIn,
            [rspirv::dr::Operand::BuiltIn(BuiltIn::WorkgroupId)],
        );
        let u32_ptr = self.cx.pointer(StorageClass::Input, u32_ty);
        self.builtin_lii = self.cx.b.variable(u32_ptr, None, StorageClass::Input, None);
        self.cx.b.decorate(
            self.builtin_lii,
            Decoration::BuiltIn,
            [rspirv::dr::Operand::BuiltIn(BuiltIn::LocalInvocationIndex)],
        );
        // A workgroup of one subgroup numbers its invocations by subgroup lane, so that the
        // lanes a shuffle pairs are the invocations the layout math expects (`subgroup.rs`).
        if self.schedule.one_subgroup {
            self.cx.capability(spirv::Capability::GroupNonUniform);
            let lane = self.cx.b.variable(u32_ptr, None, StorageClass::Input, None);
            self.cx.b.decorate(
                lane,
                Decoration::BuiltIn,
                [rspirv::dr::Operand::BuiltIn(
                    BuiltIn::SubgroupLocalInvocationId,
                )],
            );
            self.builtin_lane = Some(lane);
        }

        // Shared scratch (u32 words), sized by the schedule.
        if self.schedule.shared_bytes > 0 {
            let words = self.schedule.shared_bytes.div_ceil(4);
            let len = self.cx.const_u32(words);
            let arr = self.cx.b.type_array(u32_ty, len);
            let ptr = self.cx.pointer(StorageClass::Workgroup, arr);
            let var = self.cx.b.variable(ptr, None, StorageClass::Workgroup, None);
            self.cx.b.name(var, "tk_scratch");
            self.shared_var = Some(var);
        }
        self.declare_dot_array()?;
        self.declare_coop()?;
        self.declare_subgroup_ids()
    }

    /// The SPIR-V type of a push or uniform field.
    pub(crate) fn repr_ty(&mut self, repr: PushRepr) -> Word {
        match repr {
            PushRepr::U32 => self.cx.u32(),
            PushRepr::I32 => self.cx.i32(),
            PushRepr::F32 => self.cx.f32(),
            PushRepr::U64 => self.cx.int(64, false),
            PushRepr::I64 => self.cx.int(64, true),
            PushRepr::F64 => self.cx.float(64),
        }
    }

    /// A `Block` struct of `members` at byte `offsets`.
    fn block_struct(&mut self, members: Vec<Word>, offsets: &[u32]) -> Word {
        let st = self.cx.b.type_struct(members);
        self.cx.b.decorate(st, Decoration::Block, []);
        for (i, off) in offsets.iter().enumerate() {
            self.cx.b.member_decorate(
                st,
                i as u32,
                Decoration::Offset,
                [rspirv::dr::Operand::LiteralBit32(*off)],
            );
        }
        st
    }

    fn declare_buffer(
        &mut self,
        elem: ScalarType,
        binding: u32,
        readonly: bool,
        decorated: &mut HashSet<Word>,
    ) -> Buffer {
        let storage_ty = self.cx.storage_ty(elem);
        let arr = self.cx.b.type_runtime_array(storage_ty);
        let st = self.cx.b.type_struct([arr]);
        if decorated.insert(arr) {
            let stride = crate::abi::device_elem_bytes(elem);
            self.cx.b.decorate(
                arr,
                Decoration::ArrayStride,
                [rspirv::dr::Operand::LiteralBit32(stride)],
            );
        }
        if decorated.insert(st) {
            self.cx.b.decorate(st, Decoration::Block, []);
            self.cx.b.member_decorate(
                st,
                0,
                Decoration::Offset,
                [rspirv::dr::Operand::LiteralBit32(0)],
            );
        }
        let ptr = self.cx.pointer(StorageClass::StorageBuffer, st);
        let var = self
            .cx
            .b
            .variable(ptr, None, StorageClass::StorageBuffer, None);
        self.cx.b.decorate(
            var,
            Decoration::DescriptorSet,
            [rspirv::dr::Operand::LiteralBit32(0)],
        );
        self.cx.b.decorate(
            var,
            Decoration::Binding,
            [rspirv::dr::Operand::LiteralBit32(binding)],
        );
        if readonly {
            self.cx.b.decorate(var, Decoration::NonWritable, []);
        }
        let elem_ptr = self.cx.pointer(StorageClass::StorageBuffer, storage_ty);
        Buffer {
            var,
            elem,
            elem_ptr,
            storage_ty,
            unpacked_ty: None,
        }
    }

    fn begin_main(&mut self) -> R<()> {
        let void = self.cx.void();
        let fn_ty = self.cx.b.type_function(void, vec![]);
        self.main = self
            .cx
            .b
            .begin_function(void, None, spirv::FunctionControl::NONE, fn_ty)
            .map_err(ice)?;
        self.cx.b.begin_block(None).map_err(ice)?;
        Ok(())
    }

    /// Loads a scalar parameter's field: from the uniform buffer when the scalars live there,
    /// else from the push-constant block.
    pub(crate) fn param_member(&mut self, member: u32, ty: Word) -> R<Word> {
        let Some(var) = self.uniform_var else {
            return self.push_member(member, ty);
        };
        let ptr_ty = self.cx.pointer(StorageClass::Uniform, ty);
        let index = self.cx.const_u32(member);
        let ptr = self
            .cx
            .b
            .access_chain(ptr_ty, None, var, [index])
            .map_err(ice)?;
        self.cx.load(ty, ptr)
    }

    /// Loads a member of the push-constant block.
    pub(crate) fn push_member(&mut self, member: u32, ty: Word) -> R<Word> {
        let ptr_ty = self.cx.pointer(StorageClass::PushConstant, ty);
        let index = self.cx.const_u32(member);
        let ptr = self
            .cx
            .b
            .access_chain(ptr_ty, None, self.push_var, [index])
            .map_err(ice)?;
        self.cx.load(ty, ptr)
    }

    /// Program ids from the linearised dispatch (which covers exactly the grid's programs).
    fn prelude(&mut self) -> R<()> {
        let u32_ty = self.cx.u32();
        let i32_ty = self.cx.i32();
        let uvec3 = self.cx.vector(u32_ty, 3);
        let wg = self.cx.load(uvec3, self.builtin_wg)?;
        let mut w = [0; 3];
        for (i, slot) in w.iter_mut().enumerate() {
            *slot = self
                .cx
                .b
                .composite_extract(u32_ty, None, wg, [i as u32])
                .map_err(ice)?;
        }
        // A workgroup of one invocation leaves the invocation index out, so that the device's
        // compiler sees every address as uniform (lavapipe then loads one scalar per component
        // instead of looping over SIMD lanes).
        self.thread = if self.schedule.threads == 1 {
            self.cx.const_u32(0)
        } else if let Some(lane) = self.builtin_lane {
            self.cx.load(u32_ty, lane)?
        } else {
            self.cx.load(u32_ty, self.builtin_lii)?
        };
        let gx = self.push_member(0, u32_ty)?;
        let gy = self.push_member(1, u32_ty)?;
        let gz = self.push_member(2, u32_ty)?;
        let dx = self.push_member(3, u32_ty)?;
        let dy = self.push_member(4, u32_ty)?;
        let dxy = self.cx.op(Op::IMul, u32_ty, &[dx, dy])?;
        let y = self.cx.op(Op::IMul, u32_ty, &[w[1], dx])?;
        let z = self.cx.op(Op::IMul, u32_ty, &[w[2], dxy])?;
        let xy = self.cx.op(Op::IAdd, u32_ty, &[w[0], y])?;
        self.linear = self.cx.op(Op::IAdd, u32_ty, &[xy, z])?;
        // The runtime dispatches exactly the grid's programs (`runtime::launch::pieces`), so no
        // workgroup falls past it and none needs to exit early.
        let gxy = self.cx.op(Op::IMul, u32_ty, &[gx, gy])?;
        let p0 = self.cx.op(Op::UMod, u32_ty, &[self.linear, gx])?;
        let q = self.cx.op(Op::UDiv, u32_ty, &[self.linear, gx])?;
        let p1 = self.cx.op(Op::UMod, u32_ty, &[q, gy])?;
        let p2 = self.cx.op(Op::UDiv, u32_ty, &[self.linear, gxy])?;
        for (i, p) in [p0, p1, p2].into_iter().enumerate() {
            self.pids[i] = self.cx.op(Op::Bitcast, i32_ty, &[p])?;
        }
        for (i, g) in [gx, gy, gz].into_iter().enumerate() {
            self.grid[i] = self.cx.op(Op::Bitcast, i32_ty, &[g])?;
        }

        // Per-layout thread indices, computed once here so that they dominate every use.
        let mut bases: Vec<ir::layout::Blocked> = Vec::new();
        for layout in self
            .schedule
            .layouts
            .iter()
            .flatten()
            .chain(self.schedule.local_layouts.iter())
        {
            if let Some(b) = layout.base() {
                if !bases.contains(b) {
                    bases.push(b.clone());
                }
            }
        }
        for b in bases {
            let mut dims = Vec::with_capacity(b.rank());
            for d in 0..b.rank() {
                let tpd = b.threads_per_dim[d];
                let t_d = if tpd == 1 {
                    self.cx.const_u32(0)
                } else {
                    let stride: u32 = b.threads_per_dim[d + 1..].iter().product();
                    let s = self.cx.const_u32(stride);
                    let q = self.cx.op(Op::UDiv, u32_ty, &[self.thread, s])?;
                    let m = self.cx.const_u32(tpd);
                    self.cx.op(Op::UMod, u32_ty, &[q, m])?
                };
                let spt = self.cx.const_u32(b.size_per_thread[d]);
                let off = self.cx.op(Op::IMul, u32_ty, &[t_d, spt])?;
                let off = self.cx.op(Op::Bitcast, i32_ty, &[off])?;
                dims.push(ThreadDim {
                    index: t_d,
                    offset: off,
                });
            }
            self.thread_dims.insert(b, dims);
        }

        // Local variables: one Function variable per register.
        for (id, local) in self.kernel.locals.iter() {
            let layout = self
                .schedule
                .local_layouts
                .get(id.index())
                .cloned()
                .unwrap_or(Layout::Uniform);
            let ty = match (self.register_matrix_type(&layout)?, local.ty.elem) {
                (Some(matrix), _) => matrix,
                (None, Elem::Scalar(s)) => self.cx.compute_ty(s),
                (None, Elem::Ptr { .. }) => self.idx_ty(),
            };
            let vars = (0..layout.regs())
                .map(|_| self.cx.function_var(ty))
                .collect();
            self.local_vars.push(vars);
        }
        Ok(())
    }

    /// Vulkan lets a driver assume that float operands and results are never NaN or infinite,
    /// ignore the sign of zero, and round arithmetic and conversions either way, unless the entry
    /// point declares otherwise per width: tk's semantics (NaN-propagating `max`, `isnan` in the
    /// sequences of `math/`, round-to-nearest-even) need both declarations.
    fn declare_float_controls(&mut self) {
        let widths = self.cx.float_widths();
        if widths.is_empty() {
            return;
        }
        self.cx.extension("SPV_KHR_float_controls");
        self.cx
            .capability(spirv::Capability::SignedZeroInfNanPreserve);
        self.cx.capability(spirv::Capability::RoundingModeRTE);
        for bits in widths {
            for mode in [
                spirv::ExecutionMode::SignedZeroInfNanPreserve,
                spirv::ExecutionMode::RoundingModeRTE,
            ] {
                self.cx.b.execution_mode(self.main, mode, [bits]);
            }
        }
        self.cx.features.float_controls = true;
    }

    fn finish(mut self) -> R<Artifact> {
        self.cx.b.end_function().map_err(ice)?;
        let mut interface = vec![self.builtin_wg, self.builtin_lii];
        interface.extend(self.builtin_lane);
        if let Some((id, count)) = self.subgroup_ids {
            interface.extend([id, count]);
        }
        interface.sort();
        let threads = self.schedule.threads;
        self.cx.b.entry_point(
            spirv::ExecutionModel::GLCompute,
            self.main,
            "main",
            interface,
        );
        self.cx
            .b
            .execution_mode(self.main, spirv::ExecutionMode::LocalSize, [threads, 1, 1]);
        if self.float_controls {
            self.declare_float_controls();
        }
        let vars = std::mem::take(&mut self.cx.function_vars);
        let mut module = std::mem::replace(&mut self.cx.b, rspirv::dr::Builder::new()).module();
        let entry = &mut module.functions[0].blocks[0].instructions;
        for (i, v) in vars.into_iter().enumerate() {
            entry.insert(i, v);
        }
        use rspirv::binary::Assemble;
        let words = module.assemble();
        let abi = Abi {
            kernel: self.kernel.name.clone(),
            entry_point: "main".to_string(),
            workgroup_size: [threads, 1, 1],
            buffers: self.abi_buffers,
            push_fields: self.push_fields,
            push_bytes: self.push_bytes,
            status_binding: self.status.as_ref().map(|_| {
                self.kernel
                    .params
                    .iter()
                    .filter(|p| matches!(p.kind, ParamKind::Pointer { .. }))
                    .count() as u32
            }),
            uniform_binding: self.uniform_binding,
            uniform_bytes: self.uniform_bytes,
            shared_bytes: self.schedule.workgroup_bytes(),
            features: self.cx.features,
            asserts: self.asserts,
            // The proven accesses went unchecked: their launch must keep the contracts.
            contracts: if self.options.safe {
                self.schedule.contracts.clone()
            } else {
                Vec::new()
            },
        };
        Ok(Artifact { words, abi })
    }
}
