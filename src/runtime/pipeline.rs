//! Loading an artifact: feature and limit checks against the device, then the shader module,
//! descriptor set layout, pipeline layout and compute pipeline.
use std::ffi::CString;
use std::sync::Arc;

use ash::vk;

use super::device::{Context, Device};
use super::{vk_error, RuntimeError};
use crate::abi::{Abi, Artifact, Features};

/// A loaded kernel: its compute pipeline and the descriptor set its launches fill in.
pub struct Pipeline {
    pub(crate) context: Arc<Context>,
    pub(crate) abi: Abi,
    /// One binding per buffer plus the status buffer; sorted by binding number.
    pub(crate) bindings: Vec<u32>,
    /// The push-constant range: `abi.push_bytes` rounded up to whole words, as Vulkan needs.
    pub(crate) push_bytes: u32,
    module: vk::ShaderModule,
    set_layout: vk::DescriptorSetLayout,
    pub(crate) layout: vk::PipelineLayout,
    pub(crate) pipeline: vk::Pipeline,
    descriptor_pool: vk::DescriptorPool,
    pub(crate) descriptor_set: vk::DescriptorSet,
}

impl Pipeline {
    pub fn abi(&self) -> &Abi {
        &self.abi
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let device = &self.context.device;
        // Launches wait for their fence before returning, but hold the state lock so no launch
        // of another thread is recording with this pipeline while it goes.
        let _state = self.context.lock_state();
        // SAFETY: all handles were created from this device and no submitted work uses them.
        unsafe {
            device.destroy_pipeline(self.pipeline, None);
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_descriptor_pool(self.descriptor_pool, None);
            device.destroy_descriptor_set_layout(self.set_layout, None);
            device.destroy_shader_module(self.module, None);
        }
    }
}

/// The features an artifact needs that the device lacks, by Vulkan name.
pub(super) fn missing_features(needed: Features, offered: Features) -> Vec<&'static str> {
    let checks = [
        (needed.float16, offered.float16, "shaderFloat16"),
        (needed.float64, offered.float64, "shaderFloat64"),
        (needed.int8, offered.int8, "shaderInt8"),
        (needed.int16, offered.int16, "shaderInt16"),
        (needed.int64, offered.int64, "shaderInt64"),
        (needed.storage8, offered.storage8, "storageBuffer8BitAccess"),
        (
            needed.storage16,
            offered.storage16,
            "storageBuffer16BitAccess",
        ),
        (
            needed.subgroup_arithmetic,
            offered.subgroup_arithmetic,
            "subgroup arithmetic",
        ),
        (
            needed.subgroup_shuffle,
            offered.subgroup_shuffle,
            "subgroup shuffle",
        ),
        (
            needed.float_atomic_add,
            offered.float_atomic_add,
            "shaderBufferFloat32AtomicAdd (VK_EXT_shader_atomic_float)",
        ),
        (
            needed.cooperative_matrix,
            offered.cooperative_matrix,
            "cooperativeMatrix (VK_KHR_cooperative_matrix)",
        ),
        (
            needed.float_controls,
            offered.float_controls,
            "shaderSignedZeroInfNanPreserve and shaderRoundingModeRTE (VK_KHR_shader_float_controls)",
        ),
    ];
    checks
        .iter()
        .filter(|(need, has, _)| *need && !*has)
        .map(|(_, _, name)| *name)
        .collect()
}

impl Device {
    /// Checks the artifact against the device and builds its compute pipeline.
    pub fn load(&self, artifact: &Artifact) -> Result<Pipeline, RuntimeError> {
        let context = &self.context;
        let abi = &artifact.abi;
        let limits = &context.limits;
        let device_name = &context.info.name;
        if let Some(feature) = missing_features(abi.features, context.target.features).first() {
            // A feature the device has but tk left out for the validation layer says so.
            let left_out = context
                .left_out()
                .iter()
                .find(|left| feature.contains(left.extension.as_str()));
            return Err(RuntimeError::MissingFeature {
                feature: match left_out {
                    Some(left) => format!("{feature}; {left}"),
                    None => feature.to_string(),
                },
                device: device_name.clone(),
            });
        }
        let limit = |what: &str, requested: u64, limit: u64| {
            if requested > limit {
                Err(RuntimeError::LimitExceeded {
                    what: what.to_string(),
                    requested,
                    limit,
                    device: device_name.clone(),
                })
            } else {
                Ok(())
            }
        };
        let push_bytes = abi.push_bytes.next_multiple_of(4);
        let [wx, wy, wz] = abi.workgroup_size;
        let [max_x, max_y, max_z] = limits.max_compute_work_group_size;
        limit("workgroup size x", wx as u64, max_x as u64)?;
        limit("workgroup size y", wy as u64, max_y as u64)?;
        limit("workgroup size z", wz as u64, max_z as u64)?;
        let invocations = wx as u64 * wy as u64 * wz as u64;
        limit(
            "workgroup invocations",
            invocations,
            limits.max_compute_work_group_invocations as u64,
        )?;
        limit(
            "shared memory bytes",
            abi.shared_bytes as u64,
            limits.max_compute_shared_memory_size as u64,
        )?;
        limit(
            "push constant bytes",
            push_bytes as u64,
            limits.max_push_constants_size as u64,
        )?;
        if artifact.words.is_empty() {
            return Err(RuntimeError::BadArguments {
                kernel: abi.kernel.clone(),
                message: "the artifact holds no SPIR-V words".to_string(),
            });
        }
        let entry_point =
            CString::new(abi.entry_point.clone()).map_err(|_| RuntimeError::BadArguments {
                kernel: abi.kernel.clone(),
                message: "the entry point name contains a NUL byte".to_string(),
            })?;

        let mut bindings: Vec<u32> = abi.buffers.iter().map(|b| b.binding).collect();
        bindings.extend(abi.status_binding);
        bindings.sort_unstable();
        if bindings.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(RuntimeError::BadArguments {
                kernel: abi.kernel.clone(),
                message: "two buffers share one binding".to_string(),
            });
        }
        let max_storage = limits.max_per_stage_descriptor_storage_buffers as u64;
        limit("storage buffer count", bindings.len() as u64, max_storage)?;
        if let Some(binding) = abi.uniform_binding {
            if bindings.contains(&binding) {
                return Err(RuntimeError::BadArguments {
                    kernel: abi.kernel.clone(),
                    message: "the parameter uniform buffer shares a storage buffer's binding"
                        .to_string(),
                });
            }
            limit(
                "scalar parameter bytes (uniform buffer)",
                abi.uniform_bytes as u64,
                limits.max_uniform_buffer_range as u64,
            )?;
        }

        // Build step by step into a Pipeline with null handles, so that an error on any step
        // drops it and frees what was made so far.
        let mut pipeline = Pipeline {
            context: Arc::clone(context),
            abi: abi.clone(),
            bindings,
            push_bytes,
            module: vk::ShaderModule::null(),
            set_layout: vk::DescriptorSetLayout::null(),
            layout: vk::PipelineLayout::null(),
            pipeline: vk::Pipeline::null(),
            descriptor_pool: vk::DescriptorPool::null(),
            descriptor_set: vk::DescriptorSet::null(),
        };
        let device = &context.device;
        // SAFETY: object creation on a live device with well-formed create infos.
        unsafe {
            pipeline.module = device
                .create_shader_module(
                    &vk::ShaderModuleCreateInfo::default().code(&artifact.words),
                    None,
                )
                .map_err(vk_error("vkCreateShaderModule"))?;
            let mut layout_bindings: Vec<vk::DescriptorSetLayoutBinding> = pipeline
                .bindings
                .iter()
                .map(|&binding| {
                    vk::DescriptorSetLayoutBinding::default()
                        .binding(binding)
                        .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                        .descriptor_count(1)
                        .stage_flags(vk::ShaderStageFlags::COMPUTE)
                })
                .collect();
            if let Some(binding) = abi.uniform_binding {
                layout_bindings.push(
                    vk::DescriptorSetLayoutBinding::default()
                        .binding(binding)
                        .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                        .descriptor_count(1)
                        .stage_flags(vk::ShaderStageFlags::COMPUTE),
                );
            }
            pipeline.set_layout = device
                .create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&layout_bindings),
                    None,
                )
                .map_err(vk_error("vkCreateDescriptorSetLayout"))?;
            let set_layouts = [pipeline.set_layout];
            let push_ranges = [vk::PushConstantRange::default()
                .stage_flags(vk::ShaderStageFlags::COMPUTE)
                .offset(0)
                .size(push_bytes)];
            let mut layout_info = vk::PipelineLayoutCreateInfo::default().set_layouts(&set_layouts);
            if push_bytes > 0 {
                layout_info = layout_info.push_constant_ranges(&push_ranges);
            }
            pipeline.layout = device
                .create_pipeline_layout(&layout_info, None)
                .map_err(vk_error("vkCreatePipelineLayout"))?;
            let stage = vk::PipelineShaderStageCreateInfo::default()
                .stage(vk::ShaderStageFlags::COMPUTE)
                .module(pipeline.module)
                .name(&entry_point);
            // Launches may start their last dispatches at a base workgroup (`launch::pieces`).
            let create_info = [vk::ComputePipelineCreateInfo::default()
                .flags(vk::PipelineCreateFlags::DISPATCH_BASE)
                .stage(stage)
                .layout(pipeline.layout)];
            let cache = context.share_pipeline_cache();
            pipeline.pipeline = device
                .create_compute_pipelines(*cache, &create_info, None)
                .map_err(|(_, result)| vk_error("vkCreateComputePipelines")(result))?[0];
            drop(cache);
            // The pool size must not be zero even for a kernel without buffers.
            let mut pool_sizes = vec![vk::DescriptorPoolSize::default()
                .ty(vk::DescriptorType::STORAGE_BUFFER)
                .descriptor_count(pipeline.bindings.len().max(1) as u32)];
            if abi.uniform_binding.is_some() {
                pool_sizes.push(
                    vk::DescriptorPoolSize::default()
                        .ty(vk::DescriptorType::UNIFORM_BUFFER)
                        .descriptor_count(1),
                );
            }
            pipeline.descriptor_pool = device
                .create_descriptor_pool(
                    &vk::DescriptorPoolCreateInfo::default()
                        .max_sets(1)
                        .pool_sizes(&pool_sizes),
                    None,
                )
                .map_err(vk_error("vkCreateDescriptorPool"))?;
            pipeline.descriptor_set = device
                .allocate_descriptor_sets(
                    &vk::DescriptorSetAllocateInfo::default()
                        .descriptor_pool(pipeline.descriptor_pool)
                        .set_layouts(&set_layouts),
                )
                .map_err(vk_error("vkAllocateDescriptorSets"))?[0];
        }
        context.check_validation()?;
        Ok(pipeline)
    }
}
