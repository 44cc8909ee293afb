//! Launching: argument checks against the ABI (through `abi::bind`), push-constant encoding, grid
//! linearisation, per-launch buffers (device-local plus host-visible staging), dispatch, readback,
//! the safe-mode status buffer, and GPU-timestamp timing (the copy reference kernels are read
//! against: `copy_reference`).
use ash::vk;
use gpu_allocator::vulkan::{Allocation, AllocationCreateDesc, AllocationScheme, Allocator};
use gpu_allocator::MemoryLocation;

use super::device::{Context, Device, State};
use super::pipeline::Pipeline;
use super::{alloc_error, vk_error, LaunchReport, RuntimeError, Timing};
use crate::abi::bind::{BindError, Params};
use crate::abi::{self, device_elem_bytes, PushRepr, Status, STATUS_STORE_OOB, STATUS_WORDS};
use crate::base::{HostBuffer, KernelArg, Literal};

mod copy_reference;
mod submit;
mod timing;

use submit::submit;
#[cfg(test)]
pub(super) use submit::{SubmitStep, FAIL_AT};
use timing::{record_repetitions, summarise, Queries, Runs};

/// One buffer made for a launch; freed when the launch ends.
struct DeviceBuffer {
    buffer: vk::Buffer,
    allocation: Option<Allocation>,
    size: u64,
}

/// The buffers of one launch, freed together on every path out of it.
struct LaunchBuffers {
    buffers: Vec<DeviceBuffer>,
}

impl LaunchBuffers {
    fn create(
        &mut self,
        context: &Context,
        allocator: &mut Allocator,
        size: u64,
        usage: vk::BufferUsageFlags,
        location: MemoryLocation,
    ) -> Result<usize, RuntimeError> {
        let device = &context.device;
        let info = vk::BufferCreateInfo::default()
            .size(size)
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE);
        // SAFETY: buffer creation and binding on a live device; the buffer is recorded at once
        // so it is freed on every path.
        unsafe {
            let buffer = device
                .create_buffer(&info, None)
                .map_err(vk_error("vkCreateBuffer"))?;
            self.buffers.push(DeviceBuffer {
                buffer,
                allocation: None,
                size,
            });
            let requirements = device.get_buffer_memory_requirements(buffer);
            let allocation = allocator
                .allocate(&AllocationCreateDesc {
                    name: "tk launch buffer",
                    requirements,
                    location,
                    linear: true,
                    allocation_scheme: AllocationScheme::GpuAllocatorManaged,
                })
                .map_err(alloc_error("gpu_allocator::Allocator::allocate"))?;
            let (memory, offset) = (allocation.memory(), allocation.offset());
            let index = self.buffers.len() - 1;
            self.buffers[index].allocation = Some(allocation);
            device
                .bind_buffer_memory(buffer, memory, offset)
                .map_err(vk_error("vkBindBufferMemory"))?;
            Ok(index)
        }
    }

    fn mapped(&mut self, index: usize) -> Result<&mut [u8], RuntimeError> {
        let size = self.buffers[index].size as usize;
        self.buffers[index]
            .allocation
            .as_mut()
            .and_then(|allocation| allocation.mapped_slice_mut())
            .map(|slice| &mut slice[..size])
            .ok_or_else(|| RuntimeError::Vulkan {
                call: "vkMapMemory".to_string(),
                result: "staging memory is not host visible".to_string(),
            })
    }

    /// True when the buffer's memory is mapped and host coherent (every buffer on lavapipe and
    /// other unified-memory devices): the host then reads and writes it directly, no staging.
    fn host_coherent(&self, index: usize) -> bool {
        self.buffers[index]
            .allocation
            .as_ref()
            .is_some_and(|allocation| {
                allocation.mapped_ptr().is_some()
                    && allocation
                        .memory_properties()
                        .contains(vk::MemoryPropertyFlags::HOST_COHERENT)
            })
    }

    /// A device-local buffer of `size` bytes for a binding, plus a staging buffer unless the
    /// device buffer is host coherent.
    fn create_binding(
        &mut self,
        context: &Context,
        allocator: &mut Allocator,
        size: u64,
    ) -> Result<(usize, Option<usize>), RuntimeError> {
        let device = self.create(
            context,
            allocator,
            size,
            STORAGE_USAGE,
            MemoryLocation::GpuOnly,
        )?;
        if !context.always_stage && self.host_coherent(device) {
            return Ok((device, None));
        }
        let staging = self.create(
            context,
            allocator,
            size,
            STAGING_USAGE,
            MemoryLocation::GpuToCpu,
        )?;
        Ok((device, Some(staging)))
    }

    fn free(self, context: &Context, allocator: &mut Allocator) {
        for buffer in self.buffers {
            // SAFETY: the launch waited for its fence, so no work uses the buffer.
            unsafe { context.device.destroy_buffer(buffer.buffer, None) };
            if let Some(allocation) = buffer.allocation {
                // Freeing can only fail on a double free, which the ownership here rules out.
                let _ = allocator.free(allocation);
            }
        }
    }
}

/// The checked, encoded form of one launch's arguments.
struct Plan {
    /// The logical grid (to turn a reported linear program back into its ids).
    grid: [u32; 3],
    programs: u64,
    dispatch: [u32; 3],
    push: Vec<u8>,
    /// The uniform buffer's bytes when the scalar parameters live there (`Abi::uniform_binding`).
    uniform: Option<Vec<u8>>,
}

fn bad_arguments(abi: &abi::Abi, message: String) -> RuntimeError {
    RuntimeError::BadArguments {
        kernel: abi.kernel.clone(),
        message,
    }
}

/// Arguments the binder refused, in the runtime's words.
fn bind_failure(error: BindError) -> RuntimeError {
    RuntimeError::BadArguments {
        message: error.message(),
        kernel: error.kernel,
    }
}

/// Bytes a buffer argument takes on the device.
fn device_bytes(host: &HostBuffer) -> u64 {
    host.len() as u64 * device_elem_bytes(host.elem) as u64
}

/// Encodes a scalar argument by its push representation, little endian. The binder has checked
/// that the value fits the parameter (a bool for bool, an integer in range, a float or an
/// integer for a float).
fn encode_scalar(repr: PushRepr, value: Literal) -> Vec<u8> {
    let (int, float) = match value {
        Literal::Bool(b) => (b as i128, b as u8 as f64),
        Literal::Int(i) => (i, i as f64),
        Literal::Float(f) => (f as i128, f),
    };
    match repr {
        PushRepr::U32 => (int as u32).to_le_bytes().to_vec(),
        PushRepr::I32 => (int as i32).to_le_bytes().to_vec(),
        PushRepr::F32 => (float as f32).to_le_bytes().to_vec(),
        PushRepr::U64 => (int as u64).to_le_bytes().to_vec(),
        PushRepr::I64 => (int as i64).to_le_bytes().to_vec(),
        PushRepr::F64 => float.to_le_bytes().to_vec(),
    }
}

/// The dispatches that run exactly `programs` workgroups of the extent `dispatch` (from
/// `linearise`), in the order of the linear program id, as `(base, count)`: the whole z-slices,
/// then the whole rows of the next slice, then the start of the next row (through
/// `vkCmdDispatchBase`, whose base the workgroup id includes). No workgroup falls past the
/// grid, so the shader needs no check for one: on lavapipe such an early exit costs every
/// kernel a few percent (it runs the whole body under a condition).
pub(super) fn pieces(programs: u64, dispatch: [u32; 3]) -> Vec<([u32; 3], [u32; 3])> {
    let (dx, dy) = (dispatch[0].max(1) as u64, dispatch[1].max(1) as u64);
    let slices = programs / (dx * dy);
    let rows = programs % (dx * dy) / dx;
    let rest = programs % dx;
    let mut pieces = Vec::with_capacity(3);
    if slices > 0 {
        pieces.push(([0, 0, 0], [dx as u32, dy as u32, slices as u32]));
    }
    if rows > 0 {
        pieces.push(([0, 0, slices as u32], [dx as u32, rows as u32, 1]));
    }
    if rest > 0 {
        pieces.push(([0, rows as u32, slices as u32], [rest as u32, 1, 1]));
    }
    pieces
}

/// Records the dispatches of `pieces`.
fn dispatch_pieces(
    device: &ash::Device,
    command_buffer: vk::CommandBuffer,
    pieces: &[([u32; 3], [u32; 3])],
) {
    for &([bx, by, bz], [cx, cy, cz]) in pieces {
        // SAFETY: recording into a command buffer in the recording state with a compute
        // pipeline bound that was created with `DISPATCH_BASE`; base plus count stays within
        // the device's workgroup counts (`linearise`).
        unsafe {
            if [bx, by, bz] == [0, 0, 0] {
                device.cmd_dispatch(command_buffer, cx, cy, cz);
            } else {
                device.cmd_dispatch_base(command_buffer, bx, by, bz, cx, cy, cz);
            }
        }
    }
}

fn div_ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b.max(1))
}

/// Spreads `programs` workgroups over x, then y, then z within the per-dimension limits: the
/// extent whose x and y the shader recomputes the program id with (`x + y * dx + z * dx * dy`).
/// `pieces` covers exactly the programs of it.
pub(super) fn linearise(programs: u64, max: [u32; 3]) -> Option<[u32; 3]> {
    let dx = programs.min(max[0] as u64).max(1);
    let dy = div_ceil(programs, dx).min(max[1] as u64).max(1);
    let dz = div_ceil(programs, dx * dy).max(1);
    if dz > max[2] as u64 {
        return None;
    }
    Some([dx as u32, dy as u32, dz as u32])
}

/// Checks the arguments against the ABI (through the binder) and encodes the push constants.
fn plan(
    context: &Context,
    pipeline: &Pipeline,
    args: &[KernelArg],
    grid: [u32; 3],
) -> Result<Plan, RuntimeError> {
    let abi = &pipeline.abi;
    Params::from_abi(abi)
        .and_then(|params| params.check(args))
        .map_err(bind_failure)?;

    check_buffer_sizes(
        abi,
        args,
        BufferLimits {
            storage_range: context.limits.max_storage_buffer_range as u64,
            allocation: context.max_memory_allocation,
        },
        &context.info.name,
    )?;

    // Saturating: a grid of three huge dimensions overflows u64 and is too large all the same.
    let programs = grid.iter().fold(1u64, |a, &g| a.saturating_mul(g as u64));
    // The accesses proven in bounds carry no check of their own: their contracts are checked
    // here, once, before anything runs.
    if programs > 0 {
        abi::contract::check_all(&abi.contracts, args, grid).map_err(|broken| {
            RuntimeError::ContractBroken {
                kernel: abi.kernel.clone(),
                reason: broken.to_string(),
                param: broken.param,
                index: broken.index,
                store: broken.store,
                contract: broken.contract,
            }
        })?;
    }
    let max = context.limits.max_compute_work_group_count;
    let dispatch = if programs == 0 {
        [0, 0, 0]
    } else {
        let capacity = max
            .iter()
            .fold(1u64, |a, &m| a.saturating_mul(m as u64))
            .min(u32::MAX as u64);
        match linearise(programs, max) {
            Some(dispatch) if programs <= u32::MAX as u64 => dispatch,
            _ => {
                return Err(RuntimeError::GridTooLarge {
                    grid,
                    programs,
                    limit: capacity,
                    max_workgroups: max,
                    device: context.info.name.clone(),
                })
            }
        }
    };

    let mut push = vec![0u8; pipeline.push_bytes.max(abi::PUSH_HEADER_BYTES) as usize];
    let mut uniform = abi
        .uniform_binding
        .map(|_| vec![0u8; abi.uniform_bytes as usize]);
    let put = |block: &mut Vec<u8>, offset: u32, bytes: &[u8]| -> Result<(), RuntimeError> {
        let start = offset as usize;
        let end = start + bytes.len();
        let target = block.get_mut(start..end).ok_or_else(|| {
            bad_arguments(
                abi,
                format!("parameter field at byte {offset} lies beyond its block"),
            )
        })?;
        target.copy_from_slice(bytes);
        Ok(())
    };
    put(&mut push, abi::PUSH_GRID_X, &grid[0].to_le_bytes())?;
    put(&mut push, abi::PUSH_GRID_Y, &grid[1].to_le_bytes())?;
    put(&mut push, abi::PUSH_GRID_Z, &grid[2].to_le_bytes())?;
    put(&mut push, abi::PUSH_DISPATCH_X, &dispatch[0].to_le_bytes())?;
    put(&mut push, abi::PUSH_DISPATCH_Y, &dispatch[1].to_le_bytes())?;
    put(
        &mut push,
        abi::PUSH_EMPTY_BUFFERS,
        &empty_buffers(abi, args).to_le_bytes(),
    )?;
    for field in &abi.push_fields {
        let KernelArg::Scalar(value) = args[field.param_index as usize] else {
            unreachable!("the binder checked that scalar parameters get scalars")
        };
        let bytes = encode_scalar(field.repr, value);
        match uniform.as_mut() {
            Some(block) => put(block, field.offset, &bytes)?,
            None => put(&mut push, field.offset, &bytes)?,
        }
    }
    push.resize(pipeline.push_bytes as usize, 0);
    Ok(Plan {
        grid,
        programs,
        dispatch,
        push,
        uniform,
    })
}

/// The limits one buffer argument must respect on a device.
#[derive(Debug, Clone, Copy)]
pub(super) struct BufferLimits {
    /// `maxStorageBufferRange`: the most bytes one storage buffer descriptor can cover.
    pub(super) storage_range: u64,
    /// `maxMemoryAllocationSize` (0: not reported, not checked).
    pub(super) allocation: u64,
}

/// Refuses a buffer argument the device cannot bind or allocate in one piece, naming the
/// parameter, its size and the limit (the validation layer would otherwise complain, or the
/// shader would silently see a truncated buffer). Arguments must already match the ABI's types.
pub(super) fn check_buffer_sizes(
    abi: &abi::Abi,
    args: &[KernelArg],
    limits: BufferLimits,
    device: &str,
) -> Result<(), RuntimeError> {
    for binding in &abi.buffers {
        let Some(KernelArg::Buffer(buffer)) = args.get(binding.param_index as usize) else {
            continue;
        };
        let bytes = device_bytes(buffer);
        let checks = [
            (limits.storage_range, "maxStorageBufferRange"),
            (limits.allocation, "maxMemoryAllocationSize"),
        ];
        for (limit, limit_name) in checks {
            if limit > 0 && bytes > limit {
                return Err(RuntimeError::BufferTooLarge {
                    kernel: abi.kernel.clone(),
                    param: binding.param.clone(),
                    bytes,
                    limit,
                    limit_name: limit_name.to_string(),
                    device: device.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// The header's empty-buffer bits: bit k set when the buffer at binding k has no elements.
fn empty_buffers(abi: &abi::Abi, args: &[KernelArg]) -> u64 {
    let mut bits = 0u64;
    for binding in &abi.buffers {
        if binding.binding >= abi::PUSH_EMPTY_BUFFER_BITS {
            continue;
        }
        if let Some(KernelArg::Buffer(buffer)) = args.get(binding.param_index as usize) {
            if buffer.data.is_empty() {
                bits |= 1 << binding.binding;
            }
        }
    }
    bits
}

/// Device-local buffer and staging buffer indices of one binding.
struct Bound {
    binding: u32,
    device: usize,
    /// `None` when the device buffer is itself host coherent.
    staging: Option<usize>,
    /// Index into `args`, or `None` for the status buffer.
    param_index: Option<usize>,
    read_back: bool,
}

const STORAGE_USAGE: vk::BufferUsageFlags = vk::BufferUsageFlags::from_raw(
    vk::BufferUsageFlags::STORAGE_BUFFER.as_raw()
        | vk::BufferUsageFlags::TRANSFER_SRC.as_raw()
        | vk::BufferUsageFlags::TRANSFER_DST.as_raw(),
);
const STAGING_USAGE: vk::BufferUsageFlags = vk::BufferUsageFlags::from_raw(
    vk::BufferUsageFlags::TRANSFER_SRC.as_raw() | vk::BufferUsageFlags::TRANSFER_DST.as_raw(),
);

/// Makes the buffers of a launch, fills the staging buffers from the arguments and points the
/// pipeline's descriptor set at the device buffers.
fn bind_arguments(
    context: &Context,
    allocator: &mut Allocator,
    buffers: &mut LaunchBuffers,
    pipeline: &Pipeline,
    args: &[KernelArg],
    plan: &Plan,
) -> Result<Vec<Bound>, RuntimeError> {
    let mut bound = Vec::new();
    for binding in &pipeline.abi.buffers {
        let index = binding.param_index as usize;
        let KernelArg::Buffer(host) = &args[index] else {
            unreachable!("plan checked that buffer parameters get buffers")
        };
        // Vulkan forbids zero-sized buffers; an empty argument still gets 4 bytes.
        let size = device_bytes(host).max(4);
        let (device_buffer, staging) = buffers.create_binding(context, allocator, size)?;
        let mapped = buffers.mapped(staging.unwrap_or(device_buffer))?;
        // The 4 bytes behind an empty argument read as 0, like any out-of-bounds load. (Safe mode
        // sees the buffer as empty through the header's empty-buffer bits.)
        if host.data.is_empty() {
            mapped.fill(0);
        }
        abi::write_device_elems(host, mapped);
        bound.push(Bound {
            binding: binding.binding,
            device: device_buffer,
            staging,
            param_index: Some(index),
            read_back: binding.writable,
        });
    }
    if let Some(binding) = pipeline.abi.status_binding {
        let size = STATUS_WORDS as u64 * 4;
        let (device_buffer, staging) = buffers.create_binding(context, allocator, size)?;
        buffers.mapped(staging.unwrap_or(device_buffer))?.fill(0);
        bound.push(Bound {
            binding,
            device: device_buffer,
            staging,
            param_index: None,
            read_back: true,
        });
    }
    // The descriptor covers the argument's bytes exactly, so that OpArrayLength is its element
    // count even when the buffer was padded (arguments under 4 bytes).
    let infos: Vec<[vk::DescriptorBufferInfo; 1]> = bound
        .iter()
        .map(|b| {
            let range = match b.param_index {
                Some(index) => match &args[index] {
                    KernelArg::Buffer(host) if !host.data.is_empty() => device_bytes(host),
                    _ => vk::WHOLE_SIZE,
                },
                None => vk::WHOLE_SIZE,
            };
            [vk::DescriptorBufferInfo::default()
                .buffer(buffers.buffers[b.device].buffer)
                .offset(0)
                .range(range)]
        })
        .collect();
    let mut writes: Vec<vk::WriteDescriptorSet> = bound
        .iter()
        .zip(&infos)
        .map(|(b, info)| {
            vk::WriteDescriptorSet::default()
                .dst_set(pipeline.descriptor_set)
                .dst_binding(b.binding)
                .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                .buffer_info(info)
        })
        .collect();
    // The scalar parameters' uniform buffer, written directly by the host (never read back).
    let uniform_info;
    if let (Some(binding), Some(bytes)) = (pipeline.abi.uniform_binding, &plan.uniform) {
        let size = (bytes.len() as u64).max(16);
        let index = buffers.create(
            context,
            allocator,
            size,
            vk::BufferUsageFlags::UNIFORM_BUFFER,
            MemoryLocation::CpuToGpu,
        )?;
        let mapped = buffers.mapped(index)?;
        mapped.fill(0);
        mapped[..bytes.len()].copy_from_slice(bytes);
        uniform_info = [vk::DescriptorBufferInfo::default()
            .buffer(buffers.buffers[index].buffer)
            .offset(0)
            .range(vk::WHOLE_SIZE)];
        writes.push(
            vk::WriteDescriptorSet::default()
                .dst_set(pipeline.descriptor_set)
                .dst_binding(binding)
                .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                .buffer_info(&uniform_info),
        );
    }
    // SAFETY: the set is not in use: launches are serialised by the state lock and each waits
    // for its fence.
    unsafe { context.device.update_descriptor_sets(&writes, &[]) };
    Ok(bound)
}

fn memory_barrier(
    device: &ash::Device,
    command_buffer: vk::CommandBuffer,
    (src_stage, src_access): (vk::PipelineStageFlags, vk::AccessFlags),
    (dst_stage, dst_access): (vk::PipelineStageFlags, vk::AccessFlags),
) {
    let barrier = [vk::MemoryBarrier::default()
        .src_access_mask(src_access)
        .dst_access_mask(dst_access)];
    // SAFETY: recording into a command buffer in the recording state.
    unsafe {
        device.cmd_pipeline_barrier(
            command_buffer,
            src_stage,
            dst_stage,
            vk::DependencyFlags::empty(),
            &barrier,
            &[],
            &[],
        )
    };
}

/// Binds a pipeline, its descriptor set and `push` (the push constants, when there are any) for
/// the dispatches recorded next.
fn bind_pipeline(
    device: &ash::Device,
    command_buffer: vk::CommandBuffer,
    pipeline: &Pipeline,
    push: &[u8],
) {
    // SAFETY: recording into a command buffer in the recording state, with handles of a live
    // pipeline that outlives the submission.
    unsafe {
        device.cmd_bind_pipeline(
            command_buffer,
            vk::PipelineBindPoint::COMPUTE,
            pipeline.pipeline,
        );
        device.cmd_bind_descriptor_sets(
            command_buffer,
            vk::PipelineBindPoint::COMPUTE,
            pipeline.layout,
            0,
            &[pipeline.descriptor_set],
            &[],
        );
        if !push.is_empty() {
            device.cmd_push_constants(
                command_buffer,
                pipeline.layout,
                vk::ShaderStageFlags::COMPUTE,
                0,
                push,
            );
        }
    }
}

/// A synchronisation scope of a barrier: pipeline stages and the memory accesses in them.
type Scope = (vk::PipelineStageFlags, vk::AccessFlags);

const TRANSFER_WRITE: (vk::PipelineStageFlags, vk::AccessFlags) = (
    vk::PipelineStageFlags::TRANSFER,
    vk::AccessFlags::TRANSFER_WRITE,
);
const TRANSFER_READ: (vk::PipelineStageFlags, vk::AccessFlags) = (
    vk::PipelineStageFlags::TRANSFER,
    vk::AccessFlags::TRANSFER_READ,
);
const TRANSFER_READ_WRITE: Scope = (
    vk::PipelineStageFlags::TRANSFER,
    vk::AccessFlags::from_raw(
        vk::AccessFlags::TRANSFER_READ.as_raw() | vk::AccessFlags::TRANSFER_WRITE.as_raw(),
    ),
);
const SHADER_WRITE: (vk::PipelineStageFlags, vk::AccessFlags) = (
    vk::PipelineStageFlags::COMPUTE_SHADER,
    vk::AccessFlags::SHADER_WRITE,
);
const SHADER_READ_WRITE: (vk::PipelineStageFlags, vk::AccessFlags) = (
    vk::PipelineStageFlags::COMPUTE_SHADER,
    vk::AccessFlags::from_raw(
        vk::AccessFlags::SHADER_READ.as_raw() | vk::AccessFlags::SHADER_WRITE.as_raw(),
    ),
);
const SHADER_OR_TRANSFER_WRITE: (vk::PipelineStageFlags, vk::AccessFlags) = (
    vk::PipelineStageFlags::from_raw(
        vk::PipelineStageFlags::COMPUTE_SHADER.as_raw() | vk::PipelineStageFlags::TRANSFER.as_raw(),
    ),
    vk::AccessFlags::from_raw(
        vk::AccessFlags::SHADER_WRITE.as_raw() | vk::AccessFlags::TRANSFER_WRITE.as_raw(),
    ),
);
const HOST_READ: (vk::PipelineStageFlags, vk::AccessFlags) =
    (vk::PipelineStageFlags::HOST, vk::AccessFlags::HOST_READ);

/// Uploads, dispatches `runs.warmup + runs.timed` times, reads back, checks the status buffer.
/// Returns the timed dispatches' durations (empty without timestamps).
fn run(
    context: &Context,
    state: &mut State,
    pipeline: &Pipeline,
    args: &mut [KernelArg],
    plan: &Plan,
    runs: Runs,
) -> Result<Vec<f64>, RuntimeError> {
    with_buffers(context, state, |state, allocator, buffers| {
        run_with_buffers(
            context, state, allocator, buffers, pipeline, args, plan, runs,
        )
    })
}

/// Runs `work` with the device's allocator and an empty set of buffers; on every path out of
/// `work`, a panic included, an `AllocatorLoan` frees the buffers and puts the allocator back, so
/// that a panic in one thread's launch leaves a shared device usable by the others.
fn with_buffers<T>(
    context: &Context,
    state: &mut State,
    work: impl FnOnce(&State, &mut Allocator, &mut LaunchBuffers) -> Result<T, RuntimeError>,
) -> Result<T, RuntimeError> {
    let allocator = state.allocator.take().ok_or_else(|| RuntimeError::Vulkan {
        call: "gpu_allocator".to_string(),
        result: "the device's allocator was lost to a panic in an earlier launch".to_string(),
    })?;
    let mut loan = AllocatorLoan {
        context,
        state,
        allocator: Some(allocator),
        buffers: LaunchBuffers {
            buffers: Vec::new(),
        },
    };
    let allocator = loan
        .allocator
        .as_mut()
        .expect("the loan holds the allocator until it drops");
    work(loan.state, allocator, &mut loan.buffers)
}

/// A launch's loan of the device's allocator: when it drops it frees the launch's buffers and
/// gives the allocator back. (A panic cannot come between a submission and its wait, so the
/// buffers are never in use when freed.)
struct AllocatorLoan<'a> {
    context: &'a Context,
    state: &'a mut State,
    allocator: Option<Allocator>,
    buffers: LaunchBuffers,
}

impl Drop for AllocatorLoan<'_> {
    fn drop(&mut self) {
        if let Some(mut allocator) = self.allocator.take() {
            let buffers = std::mem::replace(
                &mut self.buffers,
                LaunchBuffers {
                    buffers: Vec::new(),
                },
            );
            buffers.free(self.context, &mut allocator);
            self.state.allocator = Some(allocator);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_with_buffers(
    context: &Context,
    state: &State,
    allocator: &mut Allocator,
    buffers: &mut LaunchBuffers,
    pipeline: &Pipeline,
    args: &mut [KernelArg],
    plan: &Plan,
    runs: Runs,
) -> Result<Vec<f64>, RuntimeError> {
    let bound = bind_arguments(context, allocator, buffers, pipeline, args, plan)?;
    let queries = if context.info.timestamps && runs.timed > 0 {
        Some(Queries::new(context, 2 * runs.timed)?)
    } else {
        None
    };
    submit(context, state, |device, command_buffer| {
        // SAFETY: recording valid commands on handles that outlive the submission.
        unsafe {
            if let Some(queries) = &queries {
                device.cmd_reset_query_pool(command_buffer, queries.pool, 0, queries.count);
            }
            for b in &bound {
                let Some(staging) = b.staging else { continue };
                let region = [vk::BufferCopy::default().size(buffers.buffers[b.device].size)];
                device.cmd_copy_buffer(
                    command_buffer,
                    buffers.buffers[staging].buffer,
                    buffers.buffers[b.device].buffer,
                    &region,
                );
            }
            memory_barrier(device, command_buffer, TRANSFER_WRITE, SHADER_READ_WRITE);
            bind_pipeline(device, command_buffer, pipeline, &plan.push);
            let pieces = pieces(plan.programs, plan.dispatch);
            record_repetitions(
                device,
                command_buffer,
                queries.as_ref(),
                &runs,
                (SHADER_WRITE, SHADER_READ_WRITE),
                || dispatch_pieces(device, command_buffer, &pieces),
            );
            memory_barrier(device, command_buffer, SHADER_WRITE, TRANSFER_READ);
            for b in bound.iter().filter(|b| b.read_back) {
                let Some(staging) = b.staging else { continue };
                if b.param_index.is_some() && !runs.read_back {
                    continue;
                }
                let region = [vk::BufferCopy::default().size(buffers.buffers[b.device].size)];
                device.cmd_copy_buffer(
                    command_buffer,
                    buffers.buffers[b.device].buffer,
                    buffers.buffers[staging].buffer,
                    &region,
                );
            }
            // Host reads see both the copies into staging and the shader's direct writes.
            memory_barrier(device, command_buffer, SHADER_OR_TRANSFER_WRITE, HOST_READ);
        }
    })?;
    context.check_validation()?;

    // The status buffer: the first out-of-bounds access is the launch's error. The buffers are
    // still read back, as the interpreter leaves them, so a caller can see that the dropped
    // stores touched nothing.
    let mut violation = None;
    for b in bound.iter().filter(|b| b.param_index.is_none()) {
        let words: Vec<u32> = buffers
            .mapped(b.staging.unwrap_or(b.device))?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(status) = Status::decode(&words) {
            violation = Some(violation_error(pipeline, status, plan.grid));
        }
    }
    if runs.read_back {
        for b in bound.iter().filter(|b| b.read_back) {
            let Some(index) = b.param_index else { continue };
            let mapped = buffers.mapped(b.staging.unwrap_or(b.device))?;
            let KernelArg::Buffer(host) = &mut args[index] else {
                unreachable!("plan checked that buffer parameters get buffers")
            };
            abi::read_device_elems(mapped, host);
        }
    }
    if let Some(violation) = violation {
        return Err(violation);
    }
    match &queries {
        Some(queries) => queries.durations(context),
        None => Ok(Vec::new()),
    }
}

/// The error for a recorded violation: a failed `device_assert` or an out-of-bounds access.
fn violation_error(pipeline: &Pipeline, status: Status, grid: [u32; 3]) -> RuntimeError {
    let abi = &pipeline.abi;
    if status.kind == abi::STATUS_ASSERT {
        let site = abi.asserts.get(status.param_index as usize);
        // Programs are linearised x fastest, then y, then z (as in the shader's prelude).
        let (gx, gy) = (grid[0].max(1), grid[1].max(1));
        let p = status.program;
        return RuntimeError::AssertFailed {
            kernel: abi.kernel.clone(),
            message: site
                .map(|s| s.message.clone())
                .unwrap_or_else(|| format!("assert #{}", status.param_index)),
            span: site.map(|s| s.span).unwrap_or_default(),
            element: site.is_some_and(|s| s.tile).then_some(status.index as u64),
            program: [p % gx, (p / gx) % gy, p / (gx * gy)],
        };
    }
    let param = abi
        .buffers
        .iter()
        .find(|b| b.param_index == status.param_index)
        .map(|b| b.param.clone())
        .unwrap_or_else(|| format!("parameter #{}", status.param_index));
    RuntimeError::OutOfBounds {
        kernel: abi.kernel.clone(),
        param,
        index: status.index,
        store: status.kind == STATUS_STORE_OOB,
        program: status.program,
    }
}

impl Device {
    fn check_same_device(&self, pipeline: &Pipeline) -> Result<(), RuntimeError> {
        if std::sync::Arc::ptr_eq(&self.context, &pipeline.context) {
            Ok(())
        } else {
            Err(bad_arguments(
                &pipeline.abi,
                "the pipeline was loaded on another device".to_string(),
            ))
        }
    }

    /// Runs the kernel once over `grid` programs: uploads every buffer argument, dispatches,
    /// and copies every writable buffer back into `args`.
    pub fn launch(
        &self,
        pipeline: &Pipeline,
        args: &mut [KernelArg],
        grid: [u32; 3],
    ) -> Result<LaunchReport, RuntimeError> {
        self.check_same_device(pipeline)?;
        let context = &*self.context;
        let plan = plan(context, pipeline, args, grid)?;
        let mut report = LaunchReport {
            programs: plan.programs,
            dispatch: plan.dispatch,
            gpu_ns: None,
        };
        if plan.programs == 0 {
            return Ok(report);
        }
        let mut state = context.lock_state();
        let durations = run(
            context,
            &mut state,
            pipeline,
            args,
            &plan,
            Runs {
                warmup: 0,
                timed: 1,
                read_back: true,
            },
        )?;
        report.gpu_ns = durations.first().map(|&ns| ns.round() as u64);
        Ok(report)
    }

    /// Times the kernel with GPU timestamps: `warmup` untimed dispatches, then `iterations`
    /// timed ones, all in one submission on the same arguments. `args` are left unchanged;
    /// the status buffer is still checked.
    pub fn bench(
        &self,
        pipeline: &Pipeline,
        args: &mut [KernelArg],
        grid: [u32; 3],
        warmup: u32,
        iterations: u32,
    ) -> Result<Timing, RuntimeError> {
        self.check_same_device(pipeline)?;
        let context = &*self.context;
        self.require_timestamps()?;
        let plan = plan(context, pipeline, args, grid)?;
        let iterations = iterations.max(1);
        if plan.programs == 0 {
            return Ok(Timing {
                median_ns: 0.0,
                min_ns: 0.0,
                p20_ns: 0.0,
                p80_ns: 0.0,
                iterations,
                bytes: None,
            });
        }
        let mut state = context.lock_state();
        let runs = Runs {
            warmup,
            timed: iterations,
            read_back: false,
        };
        let durations = run(context, &mut state, pipeline, args, &plan, runs)?;
        Ok(summarise(durations, iterations, None))
    }

    fn require_timestamps(&self) -> Result<(), RuntimeError> {
        if self.context.info.timestamps {
            Ok(())
        } else {
            Err(RuntimeError::MissingFeature {
                feature: "timestamp queries on the compute queue".to_string(),
                device: self.context.info.name.clone(),
            })
        }
    }
}

#[cfg(test)]
impl Device {
    /// Bytes the allocator holds for live allocations (0 between launches).
    pub(super) fn tests_allocated_bytes(&self) -> u64 {
        let state = self.context.lock_state();
        state
            .allocator
            .as_ref()
            .map_or(0, |a| a.generate_report().total_allocated_bytes)
    }

    /// Device memory blocks the allocator keeps.
    pub(super) fn tests_allocator_blocks(&self) -> usize {
        let state = self.context.lock_state();
        state
            .allocator
            .as_ref()
            .map_or(0, |a| a.generate_report().blocks.len())
    }
}
