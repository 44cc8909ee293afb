//! Probing physical devices: what each offers that the runtime cares about (kind, limits,
//! features, subgroup size, cooperative-matrix tiles), the optional extensions and which of them
//! a validation layer predates, and the choice among devices.
use std::ffi::CStr;

use ash::vk;

use super::super::{
    vk_error, DeviceChoice, DeviceInfo, DeviceKind, LeftOutExtension, RuntimeError,
};
use super::NewInstance;
use crate::abi::Features;

/// The device extensions tk enables when a device offers them, each with the Vulkan header
/// version that introduced it. A validation layer built against an older header does not know
/// the extension's structures and rejects them (Debian's 1.3.239 layer and
/// `VK_KHR_cooperative_matrix`: "unknown sType 1000506000"), so under validation tk leaves out
/// what the installed layer predates.
const OPTIONAL_EXTENSIONS: [(&CStr, u32); 5] = [
    (
        ash::khr::_8bit_storage::NAME,
        vk::make_api_version(0, 1, 1, 80),
    ),
    (
        ash::khr::shader_float16_int8::NAME,
        vk::make_api_version(0, 1, 1, 95),
    ),
    (
        ash::khr::shader_float_controls::NAME,
        vk::make_api_version(0, 1, 1, 109),
    ),
    (
        ash::ext::shader_atomic_float::NAME,
        vk::make_api_version(0, 1, 2, 148),
    ),
    (
        ash::khr::cooperative_matrix::NAME,
        vk::make_api_version(0, 1, 3, 255),
    ),
];

/// The extensions among `offered` that a validation layer whose `specVersion` is `layer` (the
/// Vulkan header it was built against) predates.
pub(in crate::runtime) fn predated_by_layer(
    layer: u32,
    offered: &[&CStr],
) -> Vec<LeftOutExtension> {
    OPTIONAL_EXTENSIONS
        .iter()
        .filter(|(name, introduced)| offered.contains(name) && *introduced > layer)
        .map(|(name, introduced)| LeftOutExtension {
            extension: name.to_string_lossy().into_owned(),
            introduced: version_triple(*introduced),
            layer: version_triple(layer),
        })
        .collect()
}

/// Everything a physical device offers that the runtime cares about.
#[derive(Clone)]
pub(super) struct Probe {
    pub(super) info: DeviceInfo,
    pub(super) physical: vk::PhysicalDevice,
    pub(super) queue_family: u32,
    pub(super) timestamp_bits: u32,
    pub(super) limits: vk::PhysicalDeviceLimits,
    /// `maxMemoryAllocationSize` (VkPhysicalDeviceMaintenance3Properties, core in Vulkan 1.1).
    pub(super) max_memory_allocation: u64,
    /// Some(size) when every dispatch runs with this subgroup size.
    pub(super) fixed_subgroup_size: Option<u32>,
    /// min(instance version, device version) >= 1.2: the Vulkan11/12 feature structs apply.
    pub(super) core_12: bool,
    pub(super) support: Support,
    /// The f16 × f16 + f32 subgroup-scope cooperative-matrix tile `dot` uses, when offered.
    pub(super) coop_shape: Option<crate::abi::CoopShape>,
    /// What a pipeline cache's header must match (`pipeline_cache.rs`).
    pub(super) cache_identity: super::super::pipeline_cache::CacheIdentity,
}

/// Device features in plain bools, as queried; the same struct says what to enable.
#[derive(Clone, Copy, Default)]
pub(super) struct Support {
    pub(super) float16: bool,
    pub(super) int8: bool,
    pub(super) int16: bool,
    pub(super) int64: bool,
    pub(super) float64: bool,
    pub(super) storage8: bool,
    pub(super) uniform_storage8: bool,
    pub(super) storage16: bool,
    pub(super) uniform_storage16: bool,
    pub(super) vulkan_memory_model: bool,
    pub(super) vulkan_memory_model_device_scope: bool,
    pub(super) subgroup_arithmetic: bool,
    pub(super) subgroup_shuffle: bool,
    pub(super) float_atomic_add: bool,
    /// `VK_KHR_cooperative_matrix` with its `cooperativeMatrix` feature, for compute.
    pub(super) cooperative_matrix: bool,
    pub(super) ext_8bit_storage: bool,
    pub(super) ext_float16_int8: bool,
    pub(super) ext_atomic_float: bool,
    /// `VK_KHR_shader_float_controls` to enable (a Vulkan 1.1 device; core from 1.2).
    pub(super) ext_float_controls: bool,
    /// NaN/infinity/signed-zero preservation and round-to-nearest-even declarable for f32 and
    /// for each other float width the device has.
    pub(super) float_controls: bool,
}

impl Support {
    pub(super) fn features(&self) -> Features {
        Features {
            float16: self.float16,
            float64: self.float64,
            int8: self.int8,
            int16: self.int16,
            int64: self.int64,
            storage8: self.storage8,
            storage16: self.storage16,
            subgroup_arithmetic: self.subgroup_arithmetic,
            subgroup_shuffle: self.subgroup_shuffle,
            float_atomic_add: self.float_atomic_add,
            cooperative_matrix: self.cooperative_matrix,
            float_controls: self.float_controls,
        }
    }
}

fn c_text(text: Result<&CStr, std::ffi::FromBytesUntilNulError>) -> String {
    text.map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn version_triple(version: u32) -> (u32, u32, u32) {
    (
        vk::api_version_major(version),
        vk::api_version_minor(version),
        vk::api_version_patch(version),
    )
}

/// Probes every physical device with a compute queue, numbered in enumeration order.
pub(super) fn probe_all(entry: &ash::Entry, new: &NewInstance) -> Result<Vec<Probe>, RuntimeError> {
    // SAFETY: queries on handles enumerated from this live instance.
    let physicals = unsafe { new.instance.enumerate_physical_devices() }
        .map_err(vk_error("vkEnumeratePhysicalDevices"))?;
    let mut probes = Vec::new();
    for physical in physicals {
        if let Some(probe) = probe(entry, new, physical, probes.len())? {
            probes.push(probe);
        }
    }
    Ok(probes)
}

/// Probes one physical device. Under validation, extensions the layer predates count as not
/// offered (their feature structures are not even queried); either way `DeviceInfo` lists them.
fn probe(
    entry: &ash::Entry,
    new: &NewInstance,
    physical: vk::PhysicalDevice,
    index: usize,
) -> Result<Option<Probe>, RuntimeError> {
    let instance = &new.instance;
    let instance_version = new.version;
    // SAFETY: queries on a physical device of this live instance, with well-formed chains.
    unsafe {
        let families = instance.get_physical_device_queue_family_properties(physical);
        // Prefer a compute-only family (an async compute queue), else any with compute.
        let compute = |family: &vk::QueueFamilyProperties| {
            family.queue_flags.contains(vk::QueueFlags::COMPUTE) && family.queue_count > 0
        };
        let queue_family = families
            .iter()
            .position(|f| compute(f) && !f.queue_flags.contains(vk::QueueFlags::GRAPHICS))
            .or_else(|| families.iter().position(compute));
        let Some(queue_family) = queue_family else {
            return Ok(None);
        };
        let timestamp_bits = families[queue_family].timestamp_valid_bits;

        let basic = instance.get_physical_device_properties(physical);
        // tk's shaders are SPIR-V 1.3 at least, which a Vulkan 1.0 device cannot run.
        if basic.api_version < vk::API_VERSION_1_1 {
            return Ok(None);
        }
        let core_12 = basic.api_version.min(instance_version) >= vk::API_VERSION_1_2;
        let core_13 = basic.api_version.min(instance_version) >= vk::API_VERSION_1_3;

        let mut subgroup = vk::PhysicalDeviceSubgroupProperties::default();
        let mut driver = vk::PhysicalDeviceDriverProperties::default();
        let mut vulkan13 = vk::PhysicalDeviceVulkan13Properties::default();
        let mut maintenance3 = vk::PhysicalDeviceMaintenance3Properties::default();
        {
            let mut properties = vk::PhysicalDeviceProperties2::default()
                .push_next(&mut subgroup)
                .push_next(&mut maintenance3);
            if core_12 {
                properties = properties.push_next(&mut driver);
            }
            if core_13 {
                properties = properties.push_next(&mut vulkan13);
            }
            instance.get_physical_device_properties2(physical, &mut properties);
        }
        let driver_text = if core_12 {
            format!(
                "{} ({})",
                c_text(driver.driver_name_as_c_str()),
                c_text(driver.driver_info_as_c_str())
            )
        } else {
            format!("driver version {:#x}", basic.driver_version)
        };
        let fixed_subgroup_size = if core_13
            && vulkan13.min_subgroup_size != 0
            && vulkan13.min_subgroup_size != vulkan13.max_subgroup_size
        {
            None
        } else {
            Some(subgroup.subgroup_size)
        };

        let extensions = instance
            .enumerate_device_extension_properties(physical)
            .map_err(vk_error("vkEnumerateDeviceExtensionProperties"))?;
        let offered: Vec<&CStr> = extensions
            .iter()
            .filter_map(|e| e.extension_name_as_c_str().ok())
            .collect();
        let left_out = new
            .layer
            .map_or_else(Vec::new, |layer| predated_by_layer(layer, &offered));
        let has = |name: &CStr| {
            offered.contains(&name)
                && !(new.validation.is_some()
                    && left_out
                        .iter()
                        .any(|left| name.to_str() == Ok(left.extension.as_str())))
        };
        // Subgroup operations of a kind, offered to compute shaders.
        let in_compute = |operations: vk::SubgroupFeatureFlags| {
            subgroup.supported_operations.contains(operations)
                && subgroup
                    .supported_stages
                    .contains(vk::ShaderStageFlags::COMPUTE)
        };
        let mut support = Support {
            ext_8bit_storage: !core_12 && has(ash::khr::_8bit_storage::NAME),
            ext_float16_int8: !core_12 && has(ash::khr::shader_float16_int8::NAME),
            ext_atomic_float: has(ash::ext::shader_atomic_float::NAME),
            ext_float_controls: !core_12 && has(ash::khr::shader_float_controls::NAME),
            subgroup_arithmetic: in_compute(vk::SubgroupFeatureFlags::ARITHMETIC),
            subgroup_shuffle: in_compute(vk::SubgroupFeatureFlags::SHUFFLE),
            ..Support::default()
        };

        let mut vulkan11 = vk::PhysicalDeviceVulkan11Features::default();
        let mut vulkan12 = vk::PhysicalDeviceVulkan12Features::default();
        let mut storage16 = vk::PhysicalDevice16BitStorageFeatures::default();
        let mut storage8 = vk::PhysicalDevice8BitStorageFeatures::default();
        let mut float16_int8 = vk::PhysicalDeviceShaderFloat16Int8Features::default();
        let mut atomic_float = vk::PhysicalDeviceShaderAtomicFloatFeaturesEXT::default();
        let mut coop = vk::PhysicalDeviceCooperativeMatrixFeaturesKHR::default();
        let ext_coop = has(ash::khr::cooperative_matrix::NAME);
        let basic_features;
        {
            let mut features = vk::PhysicalDeviceFeatures2::default();
            if core_12 {
                features = features.push_next(&mut vulkan11).push_next(&mut vulkan12);
            } else {
                features = features.push_next(&mut storage16);
                if support.ext_8bit_storage {
                    features = features.push_next(&mut storage8);
                }
                if support.ext_float16_int8 {
                    features = features.push_next(&mut float16_int8);
                }
            }
            if support.ext_atomic_float {
                features = features.push_next(&mut atomic_float);
            }
            if ext_coop {
                features = features.push_next(&mut coop);
            }
            instance.get_physical_device_features2(physical, &mut features);
            basic_features = features.features;
        }
        support.int16 = basic_features.shader_int16 != 0;
        support.int64 = basic_features.shader_int64 != 0;
        support.float64 = basic_features.shader_float64 != 0;
        support.float_atomic_add = atomic_float.shader_buffer_float32_atomic_add != 0;
        if core_12 {
            support.float16 = vulkan12.shader_float16 != 0;
            support.int8 = vulkan12.shader_int8 != 0;
            support.storage8 = vulkan12.storage_buffer8_bit_access != 0;
            support.uniform_storage8 = vulkan12.uniform_and_storage_buffer8_bit_access != 0;
            support.storage16 = vulkan11.storage_buffer16_bit_access != 0;
            support.uniform_storage16 = vulkan11.uniform_and_storage_buffer16_bit_access != 0;
            support.vulkan_memory_model = vulkan12.vulkan_memory_model != 0;
            support.vulkan_memory_model_device_scope =
                vulkan12.vulkan_memory_model_device_scope != 0;
        } else {
            support.float16 = float16_int8.shader_float16 != 0;
            support.int8 = float16_int8.shader_int8 != 0;
            support.storage8 = storage8.storage_buffer8_bit_access != 0;
            support.uniform_storage8 = storage8.uniform_and_storage_buffer8_bit_access != 0;
            support.storage16 = storage16.storage_buffer16_bit_access != 0;
            support.uniform_storage16 = storage16.uniform_and_storage_buffer16_bit_access != 0;
        }
        // Cooperative matrices need the Vulkan memory model (device scope for tk's atomics).
        let coop_shape = if ext_coop
            && coop.cooperative_matrix != 0
            && support.vulkan_memory_model
            && support.vulkan_memory_model_device_scope
        {
            coop_shape(entry, instance, physical)
        } else {
            None
        };
        support.cooperative_matrix = coop_shape.is_some();
        if core_12 || support.ext_float_controls {
            let mut controls = vk::PhysicalDeviceFloatControlsProperties::default();
            let mut properties = vk::PhysicalDeviceProperties2::default().push_next(&mut controls);
            instance.get_physical_device_properties2(physical, &mut properties);
            let width = |preserve: vk::Bool32, rte: vk::Bool32| preserve != 0 && rte != 0;
            support.float_controls = width(
                controls.shader_signed_zero_inf_nan_preserve_float32,
                controls.shader_rounding_mode_rte_float32,
            ) && (!support.float16
                || width(
                    controls.shader_signed_zero_inf_nan_preserve_float16,
                    controls.shader_rounding_mode_rte_float16,
                ))
                && (!support.float64
                    || width(
                        controls.shader_signed_zero_inf_nan_preserve_float64,
                        controls.shader_rounding_mode_rte_float64,
                    ));
        }

        let kind = match basic.device_type {
            vk::PhysicalDeviceType::DISCRETE_GPU => DeviceKind::Discrete,
            vk::PhysicalDeviceType::INTEGRATED_GPU => DeviceKind::Integrated,
            vk::PhysicalDeviceType::VIRTUAL_GPU => DeviceKind::Virtual,
            vk::PhysicalDeviceType::CPU => DeviceKind::Cpu,
            _ => DeviceKind::Other,
        };
        let info = DeviceInfo {
            index,
            name: c_text(basic.device_name_as_c_str()),
            kind,
            api_version: version_triple(basic.api_version),
            driver: driver_text,
            subgroup_size: subgroup.subgroup_size,
            timestamps: timestamp_bits > 0,
            left_out_under_validation: left_out,
        };
        Ok(Some(Probe {
            info,
            physical,
            queue_family: queue_family as u32,
            timestamp_bits,
            limits: basic.limits,
            max_memory_allocation: maintenance3.max_memory_allocation_size,
            fixed_subgroup_size,
            coop_shape,
            core_12,
            support,
            cache_identity: super::super::pipeline_cache::CacheIdentity {
                vendor_id: basic.vendor_id,
                device_id: basic.device_id,
                uuid: basic.pipeline_cache_uuid,
            },
        }))
    }
}

/// The first cooperative-matrix configuration the device lists (its preferred) that `dot` can
/// use: f16 A and B, f32 C and result, subgroup scope, no saturation, in compute shaders.
///
/// # Safety
/// `physical` belongs to `instance`, which offers `VK_KHR_cooperative_matrix` on it.
unsafe fn coop_shape(
    entry: &ash::Entry,
    instance: &ash::Instance,
    physical: vk::PhysicalDevice,
) -> Option<crate::abi::CoopShape> {
    let mut stages = vk::PhysicalDeviceCooperativeMatrixPropertiesKHR::default();
    let mut properties = vk::PhysicalDeviceProperties2::default().push_next(&mut stages);
    instance.get_physical_device_properties2(physical, &mut properties);
    if !stages
        .cooperative_matrix_supported_stages
        .contains(vk::ShaderStageFlags::COMPUTE)
    {
        return None;
    }
    let loader = ash::khr::cooperative_matrix::Instance::new(entry, instance);
    let configurations = loader
        .get_physical_device_cooperative_matrix_properties(physical)
        .ok()?;
    let f16 = vk::ComponentTypeKHR::FLOAT16;
    let f32 = vk::ComponentTypeKHR::FLOAT32;
    configurations
        .iter()
        .find(|c| {
            (c.a_type, c.b_type, c.c_type, c.result_type) == (f16, f16, f32, f32)
                && c.scope == vk::ScopeKHR::SUBGROUP
                && c.saturating_accumulation == vk::FALSE
                && [c.m_size, c.n_size, c.k_size]
                    .iter()
                    .all(|&d| d.is_power_of_two() && d <= 64)
        })
        .map(|c| crate::abi::CoopShape {
            m: c.m_size,
            n: c.n_size,
            k: c.k_size,
        })
}

fn kind_rank(kind: DeviceKind) -> u32 {
    match kind {
        DeviceKind::Discrete => 0,
        DeviceKind::Integrated => 1,
        DeviceKind::Virtual => 2,
        DeviceKind::Cpu => 3,
        DeviceKind::Other => 4,
    }
}

pub(super) fn choose(probes: &[Probe], choice: DeviceChoice) -> Result<usize, RuntimeError> {
    if probes.is_empty() {
        return Err(RuntimeError::NoDevice);
    }
    let index = match choice {
        DeviceChoice::Index(index) => index,
        DeviceChoice::Auto => match std::env::var("TK_DEVICE").ok().map(|v| v.trim().parse()) {
            Some(Ok(index)) => index,
            // An unreadable TK_DEVICE is treated like an index that does not exist.
            Some(Err(_)) => usize::MAX,
            None => {
                let best = probes.iter().min_by_key(|probe| kind_rank(probe.info.kind));
                return Ok(best.map(|probe| probe.info.index).unwrap_or(0));
            }
        },
    };
    if index >= probes.len() {
        return Err(RuntimeError::BadDeviceIndex {
            index,
            count: probes.len(),
        });
    }
    Ok(index)
}
