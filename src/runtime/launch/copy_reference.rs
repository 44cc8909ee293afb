//! The copy reference a kernel's bandwidth is read against: the device's copy bandwidth between
//! two device-local buffers, measured by `vkCmdCopyBuffer` and by a copy shader, each warmed up
//! and timed by the loop that times kernels (`record_repetitions`, median of timestamp pairs).
use ash::vk;
use gpu_allocator::vulkan::Allocator;
use gpu_allocator::MemoryLocation;
use rspirv::binary::Assemble;
use rspirv::dr::{self, Operand};
use rspirv::spirv::{
    AddressingModel, BuiltIn, Capability, Decoration, ExecutionMode, ExecutionModel,
    FunctionControl, MemoryModel, SelectionControl, StorageClass,
};

use super::super::{CopyBandwidth, RuntimeError};
use super::{
    bind_pipeline, dispatch_pieces, linearise, memory_barrier, pieces, record_repetitions, submit,
    summarise, with_buffers, Context, Device, LaunchBuffers, Queries, Runs, State,
    SHADER_READ_WRITE, SHADER_WRITE, STORAGE_USAGE, TRANSFER_READ_WRITE, TRANSFER_WRITE,
};
use crate::abi::{self, Abi, Artifact, BufferBinding, Features};
use crate::base::ScalarType;

/// Invocations per workgroup of the copy shader, at most (the device's limits may cap it; 256 is
/// what CUDA and HIP copy kernels use).
const COPY_WORKGROUP: u32 = 256;
/// 16-byte vectors each invocation copies: several loads in flight per invocation before the
/// stores, as in PyTorch's vectorised copy kernel.
const VECTORS_PER_INVOCATION: u32 = 4;
const VECTOR_BYTES: u64 = 16;
/// The most bytes on each side of a copy: past a few hundred MiB every device's copy runs at its
/// DRAM bandwidth (far beyond its caches), and two such buffers fit every device tk runs on
/// (lavapipe's heap is 2 GiB), whatever `--bytes` a kernel claims.
const MAX_COPY_SIDE: u64 = 512 << 20;

/// The copy shader's workgroup size on a device: `COPY_WORKGROUP` within its limits (Vulkan
/// guarantees at least 128).
pub(in crate::runtime) fn copy_workgroup(limits: &vk::PhysicalDeviceLimits) -> u32 {
    COPY_WORKGROUP
        .min(limits.max_compute_work_group_invocations)
        .min(limits.max_compute_work_group_size[0])
        .max(1)
}

/// Bytes one copy workgroup moves each way; both buffers are whole multiples of it.
fn granule(workgroup: u32) -> u64 {
    VECTOR_BYTES * (workgroup * VECTORS_PER_INVOCATION) as u64
}

/// The bytes on each side of a copy that reads and writes `bytes` in all, as a kernel's `bytes`
/// count its reads and its writes: half of them, rounded up to whole copy workgroups, and at most
/// `limit` (what one storage buffer and one allocation may hold, and `MAX_COPY_SIDE`), rounded
/// down to them.
pub(in crate::runtime) fn copy_side_bytes(bytes: u64, granule: u64, limit: u64) -> u64 {
    let most = (limit / granule).max(1) * granule;
    bytes
        .div_ceil(2)
        .next_multiple_of(granule)
        .clamp(granule, most)
}

impl Device {
    /// Measures the device's copy bandwidth on at least `bytes` bytes read and written in all
    /// (half of them copied one way), counted like a kernel's bytes, between two device-local
    /// buffers: by `vkCmdCopyBuffer` and by a copy shader (16-byte loads and stores, dispatched
    /// like a kernel). Each runs `warmup` untimed and `iterations` timed repetitions in one
    /// submission with a timestamp pair around each, the way `bench` times a kernel. Both
    /// timings carry the bytes actually moved (`bytes` rounded up to whole copy workgroups, at
    /// most twice what one buffer may hold and twice `MAX_COPY_SIDE`).
    pub fn copy_bandwidth(
        &self,
        bytes: u64,
        warmup: u32,
        iterations: u32,
    ) -> Result<CopyBandwidth, RuntimeError> {
        self.require_timestamps()?;
        let context = &*self.context;
        let limits = &context.limits;
        let workgroup = copy_workgroup(limits);
        let granule = granule(workgroup);
        let mut limit = MAX_COPY_SIDE.min(limits.max_storage_buffer_range as u64);
        if context.max_memory_allocation > 0 {
            limit = limit.min(context.max_memory_allocation);
        }
        let side = copy_side_bytes(bytes, granule, limit);
        let programs = side / granule;
        let dispatch =
            linearise(programs, limits.max_compute_work_group_count).ok_or_else(|| {
                RuntimeError::LimitExceeded {
                    what: "copy reference workgroups".to_string(),
                    requested: programs,
                    limit: limits.max_compute_work_group_count[0] as u64,
                    device: context.info.name.clone(),
                }
            })?;
        let pipeline = self.load(&copy_artifact(workgroup))?;
        let runs = Runs {
            warmup,
            timed: iterations.max(1),
            read_back: false,
        };
        let mut push = vec![0u8; abi::PUSH_HEADER_BYTES as usize];
        let header = [
            (abi::PUSH_GRID_X, programs as u32),
            (abi::PUSH_GRID_Y, 1),
            (abi::PUSH_GRID_Z, 1),
            (abi::PUSH_DISPATCH_X, dispatch[0]),
            (abi::PUSH_DISPATCH_Y, dispatch[1]),
        ];
        for (offset, value) in header {
            let at = offset as usize;
            push[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }

        let timed = runs.timed;
        let mut state = context.lock_state();
        let (copy_buffer, shader) =
            with_buffers(context, &mut state, |state, allocator, buffers| {
                let copy = CopyRun {
                    context,
                    state,
                    side,
                    runs,
                };
                copy.time_both(
                    allocator,
                    buffers,
                    &pipeline,
                    &push,
                    &pieces(programs, dispatch),
                )
            })?;
        let moved = Some(2 * side);
        Ok(CopyBandwidth {
            copy_buffer: summarise(copy_buffer, timed, moved),
            shader: summarise(shader, timed, moved),
        })
    }
}

/// One measurement of the copy reference: its device, sizes and repetitions.
struct CopyRun<'a> {
    context: &'a Context,
    state: &'a State,
    /// Bytes on each side of the copy.
    side: u64,
    runs: Runs,
}

impl CopyRun<'_> {
    /// Makes the two buffers and times the two copies between them; returns the durations of
    /// `vkCmdCopyBuffer`'s timed repetitions and the shader's.
    fn time_both(
        &self,
        allocator: &mut Allocator,
        buffers: &mut LaunchBuffers,
        pipeline: &super::Pipeline,
        push: &[u8],
        pieces: &[([u32; 3], [u32; 3])],
    ) -> Result<(Vec<f64>, Vec<f64>), RuntimeError> {
        let context = self.context;
        // Device-local on a discrete GPU, like a kernel's buffers; nothing is staged, since
        // the bytes copied do not matter.
        let mut device_local = || {
            buffers
                .create(
                    context,
                    allocator,
                    self.side,
                    STORAGE_USAGE,
                    MemoryLocation::GpuOnly,
                )
                .map(|index| buffers.buffers[index].buffer)
        };
        let (source, target) = (device_local()?, device_local()?);
        let region = [vk::BufferCopy::default().size(self.side)];
        let copy_buffer = self.time(|device, command_buffer, queries| {
            // SAFETY: recording valid commands on handles that outlive the submission.
            unsafe {
                device.cmd_fill_buffer(command_buffer, source, 0, vk::WHOLE_SIZE, 0x3f80_0000);
                memory_barrier(device, command_buffer, TRANSFER_WRITE, TRANSFER_READ_WRITE);
                record_repetitions(
                    device,
                    command_buffer,
                    Some(queries),
                    &self.runs,
                    (TRANSFER_WRITE, TRANSFER_READ_WRITE),
                    || device.cmd_copy_buffer(command_buffer, source, target, &region),
                );
            }
        })?;

        let infos = [source, target].map(|buffer| {
            [vk::DescriptorBufferInfo::default()
                .buffer(buffer)
                .offset(0)
                .range(vk::WHOLE_SIZE)]
        });
        let writes: Vec<vk::WriteDescriptorSet> = infos
            .iter()
            .zip(0u32..)
            .map(|(info, binding)| {
                vk::WriteDescriptorSet::default()
                    .dst_set(pipeline.descriptor_set)
                    .dst_binding(binding)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(info)
            })
            .collect();
        // SAFETY: the pipeline was made for this call, so no submitted work uses its set.
        unsafe { context.device.update_descriptor_sets(&writes, &[]) };
        let shader = self.time(|device, command_buffer, queries| {
            // The source was filled and both buffers written by the copies above.
            memory_barrier(device, command_buffer, TRANSFER_WRITE, SHADER_READ_WRITE);
            bind_pipeline(device, command_buffer, pipeline, push);
            record_repetitions(
                device,
                command_buffer,
                Some(queries),
                &self.runs,
                (SHADER_WRITE, SHADER_READ_WRITE),
                || dispatch_pieces(device, command_buffer, pieces),
            );
        })?;
        Ok((copy_buffer, shader))
    }

    /// Submits what `record` records (after resetting a fresh query pool) and returns the
    /// durations of its timestamp pairs.
    fn time(
        &self,
        record: impl FnOnce(&ash::Device, vk::CommandBuffer, &Queries),
    ) -> Result<Vec<f64>, RuntimeError> {
        let queries = Queries::new(self.context, 2 * self.runs.timed)?;
        submit(self.context, self.state, |device, command_buffer| {
            // SAFETY: recording into a command buffer in the recording state.
            unsafe { device.cmd_reset_query_pool(command_buffer, queries.pool, 0, queries.count) };
            record(device, command_buffer, &queries);
        })?;
        self.context.check_validation()?;
        queries.durations(self.context)
    }
}

/// The copy shader as an artifact with tk's ABI (binding 0 the source, binding 1 the
/// destination, both u32; the push-constant header and no scalar parameter), so that it loads
/// and launches like a kernel. Each program copies `granule(workgroup)` bytes; the buffers are
/// whole multiples of that, so the shader checks only the grid.
pub(in crate::runtime) fn copy_artifact(workgroup: u32) -> Artifact {
    let buffer = |binding: u32, param: &str, writable: bool| BufferBinding {
        binding,
        param: param.to_string(),
        param_index: binding,
        elem: ScalarType::U32,
        writable,
    };
    Artifact {
        words: copy_shader(workgroup),
        abi: Abi {
            kernel: "tk_copy_reference".to_string(),
            entry_point: "main".to_string(),
            workgroup_size: [workgroup, 1, 1],
            buffers: vec![buffer(0, "source", false), buffer(1, "target", true)],
            push_fields: Vec::new(),
            push_bytes: abi::PUSH_HEADER_BYTES,
            status_binding: None,
            uniform_binding: None,
            uniform_bytes: 0,
            shared_bytes: 0,
            features: Features::default(),
            asserts: Vec::new(),
            contracts: Vec::new(),
        },
    }
}

/// SPIR-V 1.3 of the copy shader, what a Vulkan user would write: program
/// `p = x + dispatch_x * (y + dispatch_y * z)` (the ABI's linearised grid) copies
/// `VECTORS_PER_INVOCATION` 16-byte vectors per invocation, `workgroup` vectors apart so that
/// each load and store of a workgroup is contiguous, all loads before the stores.
fn copy_shader(workgroup: u32) -> Vec<u32> {
    let mut b = dr::Builder::new();
    b.set_version(1, 3);
    b.capability(Capability::Shader);
    b.memory_model(AddressingModel::Logical, MemoryModel::GLSL450);
    let void = b.type_void();
    let function_type = b.type_function(void, vec![]);
    let bool_type = b.type_bool();
    let u32_type = b.type_int(32, 0);
    let uvec3 = b.type_vector(u32_type, 3);
    let uvec4 = b.type_vector(u32_type, 4);
    let array = b.type_runtime_array(uvec4);
    b.decorate(
        array,
        Decoration::ArrayStride,
        [literal(VECTOR_BYTES as u32)],
    );
    let block = b.type_struct([array]);
    b.decorate(block, Decoration::Block, []);
    b.member_decorate(block, 0, Decoration::Offset, [literal(0)]);
    let block_pointer = b.type_pointer(None, StorageClass::StorageBuffer, block);
    let vector_pointer = b.type_pointer(None, StorageClass::StorageBuffer, uvec4);
    let mut storage_buffer = |binding: u32, access: Decoration| {
        let variable = b.variable(block_pointer, None, StorageClass::StorageBuffer, None);
        b.decorate(variable, Decoration::DescriptorSet, [literal(0)]);
        b.decorate(variable, Decoration::Binding, [literal(binding)]);
        b.decorate(variable, access, []);
        variable
    };
    let source = storage_buffer(0, Decoration::NonWritable);
    let target = storage_buffer(1, Decoration::NonReadable);

    // The push-constant header's grid x and dispatch x, y (ABI.md).
    let header = [
        abi::PUSH_GRID_X,
        abi::PUSH_GRID_Y,
        abi::PUSH_GRID_Z,
        abi::PUSH_DISPATCH_X,
        abi::PUSH_DISPATCH_Y,
    ];
    let push = b.type_struct(header.map(|_| u32_type));
    b.decorate(push, Decoration::Block, []);
    for (member, offset) in (0u32..).zip(header) {
        b.member_decorate(push, member, Decoration::Offset, [literal(offset)]);
    }
    let push_pointer = b.type_pointer(None, StorageClass::PushConstant, push);
    let push_u32_pointer = b.type_pointer(None, StorageClass::PushConstant, u32_type);
    let push_block = b.variable(push_pointer, None, StorageClass::PushConstant, None);
    let input_uvec3 = b.type_pointer(None, StorageClass::Input, uvec3);
    let builtin = |b: &mut dr::Builder, which: BuiltIn| {
        let variable = b.variable(input_uvec3, None, StorageClass::Input, None);
        b.decorate(variable, Decoration::BuiltIn, [Operand::BuiltIn(which)]);
        variable
    };
    let workgroup_id = builtin(&mut b, BuiltIn::WorkgroupId);
    let local_id = builtin(&mut b, BuiltIn::LocalInvocationId);
    let constant = |b: &mut dr::Builder, value: u32| b.constant_bit32(u32_type, value);
    let zero = constant(&mut b, 0);

    let main = b
        .begin_function(void, None, FunctionControl::NONE, function_type)
        .and_then(|main| {
            b.begin_block(None)?;
            let group = b.load(uvec3, None, workgroup_id, None, [])?;
            let [x, y, z] = [0, 1, 2].map(|i| b.composite_extract(u32_type, None, group, [i]));
            let mut header_field = |member: u32| {
                let index = constant(&mut b, member);
                let pointer = b.access_chain(push_u32_pointer, None, push_block, [index])?;
                b.load(u32_type, None, pointer, None, [])
            };
            let grid_x = header_field(0)?;
            let dispatch_x = header_field(3)?;
            let dispatch_y = header_field(4)?;
            let yz = b.i_mul(u32_type, None, z?, dispatch_y)?;
            let yz = b.i_add(u32_type, None, yz, y?)?;
            let program = b.i_mul(u32_type, None, yz, dispatch_x)?;
            let program = b.i_add(u32_type, None, program, x?)?;
            let live = b.u_less_than(bool_type, None, program, grid_x)?;
            let (body, end) = (b.id(), b.id());
            b.selection_merge(end, SelectionControl::NONE)?;
            b.branch_conditional(live, body, end, [])?;

            b.begin_block(Some(body))?;
            let local = b.load(uvec3, None, local_id, None, [])?;
            let local_x = b.composite_extract(u32_type, None, local, [0])?;
            let per_program = constant(&mut b, workgroup * VECTORS_PER_INVOCATION);
            let first = b.i_mul(u32_type, None, program, per_program)?;
            let first = b.i_add(u32_type, None, first, local_x)?;
            let mut indices = Vec::new();
            let mut values = Vec::new();
            for k in 0..VECTORS_PER_INVOCATION {
                let step = constant(&mut b, k * workgroup);
                let index = b.i_add(u32_type, None, first, step)?;
                let pointer = b.access_chain(vector_pointer, None, source, [zero, index])?;
                values.push(b.load(uvec4, None, pointer, None, [])?);
                indices.push(index);
            }
            for (index, value) in indices.into_iter().zip(values) {
                let pointer = b.access_chain(vector_pointer, None, target, [zero, index])?;
                b.store(pointer, value, None, [])?;
            }
            b.branch(end)?;

            b.begin_block(Some(end))?;
            b.ret()?;
            b.end_function()?;
            Ok(main)
        })
        .expect("the copy shader is built in a fixed, well-formed order");
    b.entry_point(
        ExecutionModel::GLCompute,
        main,
        "main",
        [workgroup_id, local_id],
    );
    b.execution_mode(main, ExecutionMode::LocalSize, [workgroup, 1, 1]);
    b.module().assemble()
}

fn literal(value: u32) -> Operand {
    Operand::LiteralBit32(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::{HostBuffer, KernelArg};
    use crate::runtime::{DeviceChoice, DeviceOptions};

    #[test]
    fn copy_shader_passes_spirv_val() {
        for workgroup in [1, 128, 256] {
            crate::spirv::tests::validate(&copy_shader(workgroup), "copy_reference");
        }
    }

    /// Launches the copy shader as a kernel over `programs` programs and checks the target
    /// holds the source's every word.
    fn check_copy(device: &Device, workgroup: u32, programs: u64) {
        let words = (programs * granule(workgroup) / 4) as usize;
        let source: Vec<u32> = (0..words as u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        let mut args = vec![
            KernelArg::Buffer(HostBuffer {
                elem: ScalarType::U32,
                shape: vec![words],
                data: source.iter().flat_map(|w| w.to_le_bytes()).collect(),
            }),
            KernelArg::Buffer(HostBuffer::zeros(ScalarType::U32, vec![words])),
        ];
        let pipeline = device.load(&copy_artifact(workgroup)).expect("load");
        let report = device
            .launch(&pipeline, &mut args, [programs as u32, 1, 1])
            .expect("launch");
        assert_eq!(report.programs, programs);
        let KernelArg::Buffer(target) = &args[1] else {
            unreachable!("argument 1 is the target buffer")
        };
        let copied: Vec<u32> = target
            .data
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let wrong = copied.iter().zip(&source).position(|(a, b)| a != b);
        assert_eq!(wrong, None, "workgroup {workgroup}, {programs} programs");
    }

    #[test]
    fn copy_shader_copies_every_word() {
        let options = DeviceOptions {
            validation: true,
            always_stage: false,
        };
        let device = Device::open_with(DeviceChoice::Auto, options)
            .expect("the runtime tests need a Vulkan device (lavapipe)");
        check_copy(&device, copy_workgroup(&device.context.limits), 3);
        // One-invocation workgroups: more programs than one dispatch row holds, so the grid is
        // linearised over x and y with padding programs that must copy nothing.
        let programs = device.context.limits.max_compute_work_group_count[0] as u64 + 9;
        check_copy(&device, 1, programs);
    }

    #[test]
    fn copy_sides_hold_half_the_bytes_in_whole_workgroups() {
        let granule = granule(256);
        assert_eq!(granule, 16 * 1024);
        // A kernel moving 3 × 64 MiB: 96 MiB each way, already whole workgroups.
        assert_eq!(copy_side_bytes(3 << 26, granule, u32::MAX as u64), 3 << 25);
        // A tiny kernel still copies one workgroup's bytes; an odd count rounds up.
        assert_eq!(copy_side_bytes(48, granule, u32::MAX as u64), granule);
        assert_eq!(copy_side_bytes(4 * granule, granule, 1 << 30), 2 * granule);
        assert_eq!(
            copy_side_bytes(4 * granule + 2, granule, 1 << 30),
            3 * granule
        );
        // No side exceeds what one buffer may hold.
        assert_eq!(copy_side_bytes(1 << 34, granule, (1 << 30) + 5), 1 << 30);
    }
}
