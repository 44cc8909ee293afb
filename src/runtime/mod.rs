//! The Vulkan runtime (ash + gpu-allocator): device choice, buffers, pipelines, dispatch, readback
//! and timing. It knows nothing of the compiler: it sees only `abi::Artifact`.
//!
//! Layout of the module: `device.rs` opens the instance and device and reads their limits and
//! features; `pipeline.rs` turns an artifact into a compute pipeline; `launch.rs` moves arguments
//! to and from the device, dispatches, and times; `launch/copy_reference.rs` measures the copy
//! bandwidth kernels are read against, with its own copy shader (built with rspirv here, so
//! the runtime still needs nothing of the compiler). Every Vulkan failure becomes a
//! `RuntimeError` value; nothing here panics on user input.
use std::fmt;

mod device;
mod launch;
mod pipeline;
mod pipeline_cache;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod thread_tests;

pub use device::{list_devices, Device, DeviceOptions};
pub use pipeline::Pipeline;

/// Which physical device to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The best device by kind (discrete > integrated > virtual > cpu); the `TK_DEVICE`
    /// environment variable (a device index) overrides it.
    Auto,
    /// The device at this index of `list_devices()`.
    Index(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Discrete,
    Integrated,
    Virtual,
    Cpu,
    Other,
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::Discrete => "discrete GPU",
            DeviceKind::Integrated => "integrated GPU",
            DeviceKind::Virtual => "virtual GPU",
            DeviceKind::Cpu => "CPU",
            DeviceKind::Other => "other",
        })
    }
}

/// What `list_devices` reports of one physical device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    pub index: usize,
    pub name: String,
    pub kind: DeviceKind,
    /// The device's Vulkan version (major, minor, patch).
    pub api_version: (u32, u32, u32),
    /// Driver name and version text (from VkPhysicalDeviceDriverProperties when available).
    pub driver: String,
    pub subgroup_size: u32,
    /// Whether the queue family used for compute can write timestamps (`bench` needs them).
    pub timestamps: bool,
    /// Extensions the device offers that the installed validation layer predates. A device
    /// opened with validation goes without them (and the features they bring), so that the
    /// layer stays on; without validation they are used. Empty when no layer is installed.
    pub left_out_under_validation: Vec<LeftOutExtension>,
}

/// A device extension tk leaves out under validation: the installed validation layer was built
/// against an older Vulkan header and would reject the extension's structures as unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOutExtension {
    pub extension: String,
    /// The Vulkan header version that introduced the extension.
    pub introduced: (u32, u32, u32),
    /// The validation layer's `specVersion`: the header it was built against.
    pub layer: (u32, u32, u32),
}

impl fmt::Display for LeftOutExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lm, ln, lp) = self.layer;
        let (im, in_, ip) = self.introduced;
        write!(
            f,
            "validation layer {lm}.{ln}.{lp} predates {} (Vulkan {im}.{in_}.{ip}): left out under \
             validation",
            self.extension
        )
    }
}

/// What one launch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchReport {
    /// The logical grid's program count (gx * gy * gz).
    pub programs: u64,
    /// The workgroup counts actually dispatched (the grid linearised over x, y, z).
    pub dispatch: [u32; 3],
    /// GPU time of the dispatch alone, from timestamps, when the device has them.
    pub gpu_ns: Option<u64>,
}

/// GPU-timestamp timing over several iterations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub median_ns: f64,
    pub min_ns: f64,
    /// 20th and 80th percentiles of the timed iterations (nearest rank).
    pub p20_ns: f64,
    pub p80_ns: f64,
    pub iterations: u32,
    /// Bytes moved per iteration, when known (`copy_bandwidth` sets it).
    pub bytes: Option<u64>,
}

impl Timing {
    /// Bytes per nanosecond = GB/s (decimal), for the median iteration.
    pub fn gb_per_s(&self) -> Option<f64> {
        let bytes = self.bytes? as f64;
        if self.median_ns > 0.0 {
            Some(bytes / self.median_ns)
        } else {
            None
        }
    }
}

/// How a copy reference moved its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMethod {
    /// `vkCmdCopyBuffer` from one device-local buffer to another.
    CopyBuffer,
    /// The runtime's own copy shader (16-byte loads and stores), dispatched like a kernel.
    Shader,
}

impl fmt::Display for CopyMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CopyMethod::CopyBuffer => "vkCmdCopyBuffer",
            CopyMethod::Shader => "copy shader",
        })
    }
}

/// The device's copy bandwidth, measured two ways between the same two device-local buffers,
/// each warmed up and timed like a kernel (`Device::copy_bandwidth`). Both timings carry the
/// bytes one copy reads and writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CopyBandwidth {
    pub copy_buffer: Timing,
    pub shader: Timing,
}

impl CopyBandwidth {
    /// The faster copy (shorter median over the same bytes): the reference a kernel is read
    /// against, since neither way is the device's best everywhere: on lavapipe
    /// `vkCmdCopyBuffer` is a memcpy several times faster than any shader, while on an NVIDIA
    /// H200 it read 180-852 GB/s where a tk vector add ran at 4,304.
    pub fn best(&self) -> (CopyMethod, Timing) {
        if self.shader.median_ns < self.copy_buffer.median_ns {
            (CopyMethod::Shader, self.shader)
        } else {
            (CopyMethod::CopyBuffer, self.copy_buffer)
        }
    }
}

/// Everything that can go wrong in the runtime, as data.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeError {
    /// The Vulkan loader (libvulkan.so.1 or the platform's equivalent) could not be loaded.
    NoVulkan {
        reason: String,
    },
    /// Vulkan is present but offers no physical device with a compute queue.
    NoDevice,
    BadDeviceIndex {
        index: usize,
        count: usize,
    },
    /// `TK_VALIDATION=1` (or `DeviceOptions::validation`) asked for the validation layer, which
    /// is not installed.
    ValidationLayerMissing,
    /// The device lacks a feature the kernel needs.
    MissingFeature {
        feature: String,
        device: String,
    },
    /// A launch or pipeline exceeds one of the device's limits.
    LimitExceeded {
        what: String,
        requested: u64,
        limit: u64,
        device: String,
    },
    /// A buffer argument is larger than one buffer may be on the device (`limit_name` says which
    /// limit: `maxStorageBufferRange` or `maxMemoryAllocationSize`).
    BufferTooLarge {
        kernel: String,
        param: String,
        bytes: u64,
        limit: u64,
        limit_name: String,
        device: String,
    },
    /// The grid has more programs than one dispatch can run, even linearised over the three
    /// dispatch dimensions.
    GridTooLarge {
        grid: [u32; 3],
        programs: u64,
        limit: u64,
        max_workgroups: [u32; 3],
        device: String,
    },
    /// The arguments do not match the kernel's parameters.
    BadArguments {
        kernel: String,
        message: String,
    },
    /// The safe-mode status buffer recorded an out-of-bounds access.
    OutOfBounds {
        kernel: String,
        param: String,
        index: i64,
        store: bool,
        program: u32,
    },
    /// Safe mode refused the launch before dispatch: it breaks the launch contract of an access
    /// the compiler proved inside its buffer (`abi::contract`), so that access could leave it.
    ContractBroken {
        kernel: String,
        param: String,
        /// The index the access may reach.
        index: i64,
        store: bool,
        /// The contract, as `x: n elements`.
        contract: String,
        /// What breaks it, in a sentence.
        reason: String,
    },
    /// The safe-mode status buffer recorded a failed `device_assert`.
    AssertFailed {
        kernel: String,
        message: String,
        /// The `device_assert(..)` call (resolve it with the program's source map).
        span: crate::base::Span,
        /// The row-major index of a false element of a tile condition (`None` for a scalar).
        element: Option<u64>,
        program: [u32; 3],
    },
    /// The validation layer reported errors during the call.
    Validation {
        messages: Vec<String>,
    },
    /// A Vulkan (or memory allocator) call failed.
    Vulkan {
        call: String,
        result: String,
    },
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::NoVulkan { reason } => {
                write!(f, "the Vulkan loader could not be loaded ({reason})")
            }
            RuntimeError::NoDevice => {
                write!(f, "Vulkan found no physical device with a compute queue")
            }
            RuntimeError::BadDeviceIndex { index, count } => write!(
                f,
                "device index {index} does not exist: there are {count} Vulkan device(s), \
                 numbered from 0"
            ),
            RuntimeError::ValidationLayerMissing => write!(
                f,
                "validation was requested but the layer VK_LAYER_KHRONOS_validation is not \
                 installed"
            ),
            RuntimeError::MissingFeature { feature, device } => {
                write!(
                    f,
                    "the kernel needs {feature}, which the device `{device}` does not offer"
                )
            }
            RuntimeError::LimitExceeded {
                what,
                requested,
                limit,
                device,
            } => write!(
                f,
                "{what} of {requested} exceeds the limit of {limit} on the device `{device}`"
            ),
            RuntimeError::BufferTooLarge {
                kernel,
                param,
                bytes,
                limit,
                limit_name,
                device,
            } => write!(
                f,
                "buffer `{param}` of kernel `{kernel}` holds {bytes} bytes, more than the {limit} \
                 bytes one buffer may have on the device `{device}` ({limit_name})"
            ),
            RuntimeError::GridTooLarge {
                grid: [gx, gy, gz],
                programs,
                limit,
                max_workgroups: [mx, my, mz],
                device,
            } => write!(
                f,
                "the grid [{gx}, {gy}, {gz}] has {programs} programs, more than the {limit} one \
                 dispatch can run on the device `{device}` (maxComputeWorkGroupCount is [{mx}, \
                 {my}, {mz}] and at most 2^32 - 1 programs are numbered)"
            ),
            RuntimeError::BadArguments { kernel, message } => {
                write!(f, "bad arguments for kernel `{kernel}`: {message}")
            }
            RuntimeError::OutOfBounds {
                kernel,
                param,
                index,
                store,
                program,
            } => write!(
                f,
                "kernel `{kernel}` {} `{param}` out of bounds at index {index} (program {program})",
                if *store { "stored to" } else { "loaded from" }
            ),
            RuntimeError::ContractBroken {
                kernel,
                param,
                index,
                store,
                contract,
                reason,
            } => {
                write!(
                    f,
                    "kernel `{kernel}` {} `{param}` out of bounds at index {index}: the launch \
                 breaks the contract `{contract}` ({reason})",
                    if *store {
                        "would store to"
                    } else {
                        "would load from"
                    }
                )
            }
            RuntimeError::AssertFailed {
                kernel,
                message,
                element,
                program,
                ..
            } => {
                write!(
                    f,
                    "kernel `{kernel}`: device_assert failed in program {program:?}"
                )?;
                if let Some(element) = element {
                    write!(f, " at element {element}")?;
                }
                write!(f, ": {message}")
            }
            RuntimeError::Validation { messages } => {
                write!(
                    f,
                    "the Vulkan validation layer reported {} error(s)",
                    messages.len()
                )?;
                for message in messages {
                    write!(f, "\n  {message}")?;
                }
                Ok(())
            }
            RuntimeError::Vulkan { call, result } => {
                write!(f, "Vulkan call {call} failed: {result}")
            }
        }
    }
}

impl std::error::Error for RuntimeError {}

impl RuntimeError {
    /// True for the two errors on which a caller should fall back to running without a device.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, RuntimeError::NoVulkan { .. } | RuntimeError::NoDevice)
    }
}

/// Turns a Vulkan result into a `RuntimeError::Vulkan` naming the call.
pub(crate) fn vk_error(call: &str) -> impl Fn(ash::vk::Result) -> RuntimeError + '_ {
    move |result| RuntimeError::Vulkan {
        call: call.to_string(),
        result: format!("{result:?}"),
    }
}

/// Turns a gpu-allocator failure into a `RuntimeError::Vulkan`.
pub(crate) fn alloc_error(
    call: &str,
) -> impl Fn(gpu_allocator::AllocationError) -> RuntimeError + '_ {
    move |error| RuntimeError::Vulkan {
        call: call.to_string(),
        result: error.to_string(),
    }
}
