//! Opening Vulkan: the instance (with optional validation), the logical device with its compute
//! queue on the physical device `probe` chose, its per-device state, and teardown.
use std::ffi::{c_void, CStr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ash::vk;
use gpu_allocator::vulkan::{Allocator, AllocatorCreateDesc};

use super::{
    alloc_error, vk_error, DeviceChoice, DeviceInfo, DeviceKind, LeftOutExtension, RuntimeError,
};
use crate::abi::Target;

mod probe;

#[cfg(test)]
pub(super) use probe::predated_by_layer;
use probe::{choose, probe_all, Probe};

const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

/// Held while any thread of the process creates or destroys a Vulkan instance or device (and
/// while ash resolves the new device's functions). The Vulkan spec lets independent instances and
/// devices be made and torn down from several threads at once, but the loader keeps every
/// instance's devices in process-wide lists, and its releases have walked those lists under one
/// lock while creation and destruction changed them under another (KhronosGroup/Vulkan-Loader
/// issue 2018: a use after free between `vkCreateDevice` and `vkDestroyDevice` of different
/// instances). Opening and closing are rare and short next to launches, so tk keeps them apart.
static LIFECYCLE: Mutex<()> = Mutex::new(());

fn lifecycle() -> MutexGuard<'static, ()> {
    // The guarded data is `()`: a panic while it was held leaves nothing inconsistent.
    LIFECYCLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How to open a device beyond which one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceOptions {
    /// Enable VK_LAYER_KHRONOS_validation; any validation error then fails the call that
    /// caused it.
    pub validation: bool,
    /// Copy through staging buffers even where device memory is host visible, as on a
    /// discrete GPU (so unified-memory devices such as lavapipe can test that path).
    pub always_stage: bool,
}

impl DeviceOptions {
    /// Options from the environment: `TK_VALIDATION=1` turns validation on.
    pub fn from_env() -> DeviceOptions {
        DeviceOptions {
            validation: std::env::var("TK_VALIDATION").is_ok_and(|v| v == "1"),
            always_stage: false,
        }
    }
}

/// An open Vulkan device ready to load and launch kernels.
pub struct Device {
    pub(crate) context: Arc<Context>,
}

/// One validation message and the thread whose Vulkan call produced it.
struct Message {
    thread: u64,
    text: String,
}

/// The messages the validation layer sent to our callback; in an `Arc` so its address is stable
/// and `Device::close` can read what arrives during teardown.
type MessageLog = Mutex<Vec<Message>>;

/// A number for the current thread, to tell whose call a validation message belongs to (the
/// layer reports from inside the call that broke a rule, on the thread that made it). 0 where
/// the thread's storage is already gone.
fn thread_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TAG: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TAG.try_with(|tag| *tag).unwrap_or(0)
}

struct Validation {
    loader: ash::ext::debug_utils::Instance,
    messenger: vk::DebugUtilsMessengerEXT,
    messages: Arc<MessageLog>,
}

/// Per-device mutable state: one launch at a time records into the single command buffer.
pub(crate) struct State {
    /// `None` only during teardown (the allocator must be dropped before the device), and while
    /// a launch has it on loan.
    pub(crate) allocator: Option<Allocator>,
    pub(crate) command_pool: vk::CommandPool,
    pub(crate) command_buffer: vk::CommandBuffer,
    pub(crate) fence: vk::Fence,
    /// True from a successful `vkQueueSubmit` until its fence has been waited for and reset: a
    /// failed wait leaves it set, and the next submission waits for that work first. The fence
    /// is only ever waited for while this is set, so no wait is for a submission never made. A
    /// `Cell` because `submit` sees the state through the lock guard shared.
    pub(crate) fence_pending: std::cell::Cell<bool>,
}

/// The shared device object; pipelines hold an `Arc` to it so it outlives them.
pub(crate) struct Context {
    /// Keeps the loader library open until the instance is destroyed (fields drop after
    /// `Drop::drop` has run).
    _entry: ash::Entry,
    instance: ash::Instance,
    validation: Option<Validation>,
    pub(crate) device: ash::Device,
    pub(crate) queue: vk::Queue,
    pub(crate) queue_family: u32,
    pub(crate) limits: vk::PhysicalDeviceLimits,
    /// `maxMemoryAllocationSize`: the largest single allocation (0 when the device does not say).
    pub(crate) max_memory_allocation: u64,
    pub(crate) info: DeviceInfo,
    pub(crate) target: Target,
    pub(crate) always_stage: bool,
    /// The bits of a timestamp that count (`timestampValidBits` of the queue family).
    pub(crate) timestamp_mask: u64,
    pub(crate) state: Mutex<State>,
    /// The device-wide VkPipelineCache every pipeline is created through (persisted by
    /// `pipeline_cache.rs`). Pipeline creation may share it (Vulkan synchronizes that
    /// internally) and takes the read lock; merging into it must exclude every other use and
    /// takes the write lock.
    pub(crate) pipeline_cache: RwLock<vk::PipelineCache>,
    pub(crate) cache_identity: super::pipeline_cache::CacheIdentity,
}

impl Context {
    /// Takes the validation errors the calling thread's Vulkan calls caused since its last check;
    /// an error if there were any. Messages of other threads stay for those threads: a launch
    /// on a shared device is not blamed for another thread's load.
    pub(crate) fn check_validation(&self) -> Result<(), RuntimeError> {
        let Some(validation) = &self.validation else {
            return Ok(());
        };
        let thread = thread_tag();
        let mut log = validation
            .messages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (mine, others): (Vec<Message>, Vec<Message>) = std::mem::take(&mut *log)
            .into_iter()
            .partition(|message| message.thread == thread);
        *log = others;
        drop(log);
        if mine.is_empty() {
            Ok(())
        } else {
            Err(RuntimeError::Validation {
                messages: mine.into_iter().map(|message| message.text).collect(),
            })
        }
    }

    /// The extensions this device was opened without because the validation layer predates
    /// them (empty without validation).
    pub(crate) fn left_out(&self) -> &[LeftOutExtension] {
        if self.validation.is_some() {
            &self.info.left_out_under_validation
        } else {
            &[]
        }
    }

    /// The pipeline cache for making pipelines or reading its data, which several threads may
    /// do at once.
    pub(crate) fn share_pipeline_cache(&self) -> RwLockReadGuard<'_, vk::PipelineCache> {
        // The guarded handle never changes after opening: a poisoned lock is still usable.
        self.pipeline_cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The pipeline cache for merging into it, which Vulkan requires no other thread to use
    /// meanwhile (`vkMergePipelineCaches`: `dstCache` is externally synchronized).
    pub(crate) fn own_pipeline_cache(&self) -> RwLockWriteGuard<'_, vk::PipelineCache> {
        self.pipeline_cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave Vulkan objects half made: every call that
        // records waits on the fence before returning, and a launch gives the allocator back on
        // every path, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: every object was created from this device/instance, and nothing else can use
        // them: the last Arc is being dropped, so no pipeline or launch is alive.
        unsafe {
            let _ = self.device.device_wait_idle();
            let state = self
                .state
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.device.destroy_fence(state.fence, None);
            let cache = self
                .pipeline_cache
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.device.destroy_pipeline_cache(*cache, None);
            self.device.destroy_command_pool(state.command_pool, None);
            drop(state.allocator.take());
            let _lifecycle = lifecycle();
            self.device.destroy_device(None);
            if let Some(validation) = &self.validation {
                validation
                    .loader
                    .destroy_debug_utils_messenger(validation.messenger, None);
            }
            self.instance.destroy_instance(None);
        }
    }
}

/// Loads the Vulkan loader library.
fn load_entry() -> Result<ash::Entry, RuntimeError> {
    // SAFETY: loading the system Vulkan loader runs its initialisers, which is the documented
    // way to use it.
    unsafe { ash::Entry::load() }.map_err(|error| RuntimeError::NoVulkan {
        reason: error.to_string(),
    })
}

unsafe extern "system" fn debug_callback(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user_data: *mut c_void,
) -> vk::Bool32 {
    if severity.contains(vk::DebugUtilsMessageSeverityFlagsEXT::ERROR)
        && !data.is_null()
        && !user_data.is_null()
    {
        // SAFETY: user_data is the Arc<MessageLog> address we registered; the Arc lives at least
        // as long as the messenger. `data` is valid for the duration of the callback.
        let log = &*(user_data as *const MessageLog);
        let message = (*data)
            .message_as_c_str()
            .map(|text| text.to_string_lossy().into_owned())
            .unwrap_or_else(|| "(no message)".to_string());
        if let Ok(mut log) = log.lock() {
            log.push(Message {
                thread: thread_tag(),
                text: message,
            });
        }
    }
    vk::FALSE
}

/// A new instance and what was learnt while making it.
struct NewInstance {
    instance: ash::Instance,
    validation: Option<Validation>,
    /// The Vulkan version the instance was made for.
    version: u32,
    /// The installed validation layer's `specVersion` (the Vulkan header it was built against),
    /// whether or not it is enabled.
    layer: Option<u32>,
}

/// Creates the instance (Vulkan 1.2 when the loader has it, else 1.1; under validation no newer
/// than the layer), with validation when asked.
fn create_instance(entry: &ash::Entry, validate: bool) -> Result<NewInstance, RuntimeError> {
    // SAFETY: plain queries and object creation through a loaded entry, with valid structs.
    unsafe {
        let loader_version = entry
            .try_enumerate_instance_version()
            .map_err(vk_error("vkEnumerateInstanceVersion"))?
            .unwrap_or(vk::API_VERSION_1_0);
        if loader_version < vk::API_VERSION_1_1 {
            return Err(RuntimeError::NoVulkan {
                reason: "the Vulkan loader only offers Vulkan 1.0; tk needs 1.1".to_string(),
            });
        }
        let layer = entry
            .enumerate_instance_layer_properties()
            .map_err(vk_error("vkEnumerateInstanceLayerProperties"))?
            .iter()
            .find(|layer| layer.layer_name_as_c_str() == Ok(VALIDATION_LAYER))
            .map(|layer| layer.spec_version);
        let mut api_version = loader_version.min(vk::API_VERSION_1_2);
        let mut layers = Vec::new();
        let mut extensions = Vec::new();
        if validate {
            let Some(layer) = layer else {
                return Err(RuntimeError::ValidationLayerMissing);
            };
            // A layer older than Vulkan 1.2 would not know the 1.2 feature structures either.
            let layer_api = vk::make_api_version(
                0,
                vk::api_version_major(layer),
                vk::api_version_minor(layer),
                0,
            );
            api_version = api_version.min(layer_api.max(vk::API_VERSION_1_1));
            layers.push(VALIDATION_LAYER.as_ptr());
            extensions.push(ash::ext::debug_utils::NAME.as_ptr());
        }
        let app = vk::ApplicationInfo::default()
            .application_name(c"tk")
            .engine_name(c"tk")
            .api_version(api_version);
        let create_info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_layer_names(&layers)
            .enabled_extension_names(&extensions);
        let instance = entry
            .create_instance(&create_info, None)
            .map_err(|result| {
                if result == vk::Result::ERROR_INCOMPATIBLE_DRIVER {
                    RuntimeError::NoDevice
                } else {
                    vk_error("vkCreateInstance")(result)
                }
            })?;
        let validation = if validate {
            let loader = ash::ext::debug_utils::Instance::new(entry, &instance);
            let messages: Arc<MessageLog> = Arc::new(Mutex::new(Vec::new()));
            let messenger_info = vk::DebugUtilsMessengerCreateInfoEXT::default()
                .message_severity(
                    vk::DebugUtilsMessageSeverityFlagsEXT::ERROR
                        | vk::DebugUtilsMessageSeverityFlagsEXT::WARNING,
                )
                .message_type(
                    vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                        | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                        | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
                )
                .pfn_user_callback(Some(debug_callback))
                .user_data(Arc::as_ptr(&messages) as *mut c_void);
            match loader.create_debug_utils_messenger(&messenger_info, None) {
                Ok(messenger) => Some(Validation {
                    loader,
                    messenger,
                    messages,
                }),
                Err(result) => {
                    instance.destroy_instance(None);
                    return Err(vk_error("vkCreateDebugUtilsMessengerEXT")(result));
                }
            }
        } else {
            None
        };
        Ok(NewInstance {
            instance,
            validation,
            version: api_version,
            layer,
        })
    }
}

/// Every Vulkan device with a compute queue, in the order `DeviceChoice::Index` uses.
pub fn list_devices() -> Result<Vec<DeviceInfo>, RuntimeError> {
    let entry = load_entry()?;
    let _lifecycle = lifecycle();
    let new = create_instance(&entry, false)?;
    let probes = probe_all(&entry, &new);
    // SAFETY: the instance has no children left.
    unsafe { new.instance.destroy_instance(None) };
    Ok(probes?.into_iter().map(|probe| probe.info).collect())
}

impl Device {
    /// Opens a device; validation follows `TK_VALIDATION=1`.
    pub fn open(choice: DeviceChoice) -> Result<Device, RuntimeError> {
        Device::open_with(choice, DeviceOptions::from_env())
    }

    pub fn open_with(choice: DeviceChoice, options: DeviceOptions) -> Result<Device, RuntimeError> {
        let entry = load_entry()?;
        let (new, probe, device) = {
            let _lifecycle = lifecycle();
            let new = create_instance(&entry, options.validation)?;
            let destroy_instance = |new: NewInstance| {
                // SAFETY: called only on failure paths, when no device was made from the
                // instance.
                unsafe {
                    if let Some(validation) = new.validation {
                        validation
                            .loader
                            .destroy_debug_utils_messenger(validation.messenger, None);
                    }
                    new.instance.destroy_instance(None);
                }
            };
            let probe = match probe_all(&entry, &new)
                .and_then(|probes| choose(&probes, choice).map(|index| probes[index].clone()))
            {
                Ok(probe) => probe,
                Err(error) => {
                    destroy_instance(new);
                    return Err(error);
                }
            };
            match create_device(&new.instance, &probe) {
                Ok(device) => (new, probe, device),
                Err(error) => {
                    destroy_instance(new);
                    return Err(error);
                }
            }
        };
        let NewInstance {
            instance,
            validation,
            ..
        } = new;
        let features = probe.support.features();
        let limits = probe.limits;
        let target = Target {
            name: probe.info.name.clone(),
            subgroup_size: probe.fixed_subgroup_size,
            max_threads: limits.max_compute_work_group_invocations,
            max_shared_bytes: limits.max_compute_shared_memory_size,
            max_push_bytes: limits.max_push_constants_size,
            max_workgroups: limits.max_compute_work_group_count,
            features,
            processor: match probe.info.kind {
                DeviceKind::Cpu => crate::abi::Processor::Cpu,
                DeviceKind::Discrete | DeviceKind::Integrated => crate::abi::Processor::Gpu,
                DeviceKind::Virtual | DeviceKind::Other => crate::abi::Processor::Unknown,
            },
            cooperative_matrix: probe.coop_shape,
        };
        // From here on the Context owns everything and its Drop tears down what exists; the
        // command objects start null (destroying a null handle is a no-op).
        // SAFETY: the queue family and index were requested at device creation.
        let queue = unsafe { device.get_device_queue(probe.queue_family, 0) };
        let mut context = Context {
            _entry: entry,
            instance,
            validation,
            device,
            queue,
            queue_family: probe.queue_family,
            limits,
            max_memory_allocation: probe.max_memory_allocation,
            info: probe.info.clone(),
            target,
            always_stage: options.always_stage,
            timestamp_mask: u64::MAX >> 64u32.saturating_sub(probe.timestamp_bits).min(63),
            state: Mutex::new(State {
                allocator: None,
                command_pool: vk::CommandPool::null(),
                command_buffer: vk::CommandBuffer::null(),
                fence: vk::Fence::null(),
                fence_pending: std::cell::Cell::new(false),
            }),
            pipeline_cache: RwLock::new(vk::PipelineCache::null()),
            cache_identity: probe.cache_identity,
        };
        init_state(&mut context, probe.physical)?;
        // SAFETY: object creation on a live device; stored at once so Drop frees it.
        let cache = unsafe {
            context
                .device
                .create_pipeline_cache(&vk::PipelineCacheCreateInfo::default(), None)
        }
        .map_err(vk_error("vkCreatePipelineCache"))?;
        *context
            .pipeline_cache
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = cache;
        context.check_validation()?;
        Ok(Device {
            context: Arc::new(context),
        })
    }

    pub fn info(&self) -> &DeviceInfo {
        &self.context.info
    }

    /// Tears the device down now and reports what the validation layer said while it did (with
    /// validation on, objects left alive show up here as errors), along with any message no
    /// call has reported yet, whichever thread caused it. Pipelines still alive keep the device
    /// open; that is a `BadArguments` error and nothing is torn down.
    pub fn close(self) -> Result<(), RuntimeError> {
        let context = Arc::try_unwrap(self.context).map_err(|_| RuntimeError::BadArguments {
            kernel: String::new(),
            message: "the device cannot close while pipelines made on it are alive".into(),
        })?;
        let log = context.validation.as_ref().map(|v| v.messages.clone());
        drop(context);
        let messages: Vec<String> = match log {
            Some(log) => std::mem::take(&mut *log.lock().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .map(|message| message.text)
                .collect(),
            None => Vec::new(),
        };
        if messages.is_empty() {
            Ok(())
        } else {
            Err(RuntimeError::Validation { messages })
        }
    }

    /// The limits and features the compiler should target on this device.
    pub fn target(&self) -> Target {
        self.context.target.clone()
    }
}

fn init_state(context: &mut Context, physical: vk::PhysicalDevice) -> Result<(), RuntimeError> {
    let device = context.device.clone();
    let allocator = Allocator::new(&AllocatorCreateDesc {
        instance: context.instance.clone(),
        device: device.clone(),
        physical_device: physical,
        debug_settings: Default::default(),
        buffer_device_address: false,
        allocation_sizes: Default::default(),
    })
    .map_err(alloc_error("gpu_allocator::Allocator::new"))?;
    let queue_family = context.queue_family;
    let state = context
        .state
        .get_mut()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    state.allocator = Some(allocator);
    // SAFETY: object creation on a live device; each handle is stored at once so Drop frees it.
    unsafe {
        let pool_info = vk::CommandPoolCreateInfo::default()
            .queue_family_index(queue_family)
            .flags(vk::CommandPoolCreateFlags::RESET_COMMAND_BUFFER);
        state.command_pool = device
            .create_command_pool(&pool_info, None)
            .map_err(vk_error("vkCreateCommandPool"))?;
        let buffer_info = vk::CommandBufferAllocateInfo::default()
            .command_pool(state.command_pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        state.command_buffer = device
            .allocate_command_buffers(&buffer_info)
            .map_err(vk_error("vkAllocateCommandBuffers"))?[0];
        state.fence = device
            .create_fence(&vk::FenceCreateInfo::default(), None)
            .map_err(vk_error("vkCreateFence"))?;
    }
    Ok(())
}

/// Creates the logical device with one compute queue and every feature tk may use that the
/// device offers (the artifact's needs are checked against them in `load`).
fn create_device(instance: &ash::Instance, probe: &Probe) -> Result<ash::Device, RuntimeError> {
    let support = &probe.support;
    let priorities = [1.0f32];
    let queues = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(probe.queue_family)
        .queue_priorities(&priorities)];
    let mut extensions = Vec::new();
    if support.ext_8bit_storage {
        extensions.push(ash::khr::_8bit_storage::NAME.as_ptr());
    }
    if support.ext_float16_int8 {
        extensions.push(ash::khr::shader_float16_int8::NAME.as_ptr());
    }
    if support.ext_atomic_float && support.float_atomic_add {
        extensions.push(ash::ext::shader_atomic_float::NAME.as_ptr());
    }
    if support.cooperative_matrix {
        extensions.push(ash::khr::cooperative_matrix::NAME.as_ptr());
    }
    if support.ext_float_controls && support.float_controls {
        extensions.push(ash::khr::shader_float_controls::NAME.as_ptr());
    }
    let basic = vk::PhysicalDeviceFeatures::default()
        .shader_int16(support.int16)
        .shader_int64(support.int64)
        .shader_float64(support.float64);
    let mut vulkan11 = vk::PhysicalDeviceVulkan11Features::default()
        .storage_buffer16_bit_access(support.storage16)
        .uniform_and_storage_buffer16_bit_access(support.uniform_storage16);
    let mut vulkan12 = vk::PhysicalDeviceVulkan12Features::default()
        .shader_float16(support.float16)
        .shader_int8(support.int8)
        .storage_buffer8_bit_access(support.storage8)
        .uniform_and_storage_buffer8_bit_access(support.uniform_storage8)
        .vulkan_memory_model(support.vulkan_memory_model)
        .vulkan_memory_model_device_scope(support.vulkan_memory_model_device_scope);
    let mut storage16 = vk::PhysicalDevice16BitStorageFeatures::default()
        .storage_buffer16_bit_access(support.storage16)
        .uniform_and_storage_buffer16_bit_access(support.uniform_storage16);
    let mut storage8 = vk::PhysicalDevice8BitStorageFeatures::default()
        .storage_buffer8_bit_access(support.storage8)
        .uniform_and_storage_buffer8_bit_access(support.uniform_storage8);
    let mut float16_int8 = vk::PhysicalDeviceShaderFloat16Int8Features::default()
        .shader_float16(support.float16)
        .shader_int8(support.int8);
    let mut atomic_float = vk::PhysicalDeviceShaderAtomicFloatFeaturesEXT::default()
        .shader_buffer_float32_atomic_add(support.float_atomic_add);
    let mut coop =
        vk::PhysicalDeviceCooperativeMatrixFeaturesKHR::default().cooperative_matrix(true);
    let mut features = vk::PhysicalDeviceFeatures2::default().features(basic);
    if probe.core_12 {
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
    if support.ext_atomic_float && support.float_atomic_add {
        features = features.push_next(&mut atomic_float);
    }
    if support.cooperative_matrix {
        features = features.push_next(&mut coop);
    }
    let create_info = vk::DeviceCreateInfo::default()
        .queue_create_infos(&queues)
        .enabled_extension_names(&extensions)
        .push_next(&mut features);
    // SAFETY: the physical device belongs to this instance; the chain holds only features the
    // device reported.
    unsafe { instance.create_device(probe.physical, &create_info, None) }
        .map_err(vk_error("vkCreateDevice"))
}
