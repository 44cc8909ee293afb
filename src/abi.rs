//! The ABI artifact: a SPIR-V module plus everything the runtime must know to launch it. This is
//! the only type the runtime shares with the compiler.
//!
//! Binding model: descriptor set 0; pointer parameter `k` (k-th pointer in declaration order) is
//! storage buffer binding `k`, a runtime array of its element type (`bool` is stored as `u32` on
//! the device: 0 or 1; the runtime converts from and to the 1-byte host form). In safe mode one
//! more binding, `status_binding`, holds the `STATUS_WORDS` u32 status words written by the first
//! out-of-bounds access or failed `device_assert` (see `Status`; `Abi::asserts` names the assert).
//!
//! Push constants: a fixed header (`PUSH_HEADER_BYTES`) holds the logical grid and the dispatch
//! shape, then one field per scalar parameter at the offsets in `push_fields`. When the header and
//! the scalars do not fit the target's `max_push_bytes`, the scalars move to a uniform buffer at
//! `uniform_binding` (after the storage buffers and the status buffer), at std140-compatible
//! offsets from 0 (every field is a 4- or 8-byte scalar aligned to its size); the push constants
//! then hold the header alone.
//!
//! In safe mode an access the compiler proved inside its buffer carries no check; its launch
//! contract (`Abi::contracts`, `contract::Contract`) is verified by the runtime before dispatch.
//!
//! `bind` checks and orders a launch's arguments against a kernel's parameters (from this ABI or
//! from the compiler's signature), for every caller: the CLI, the Rust API and the runtime.
use crate::base::{HostBuffer, ScalarType, Span};

pub mod bind;
pub mod contract;

/// Bytes one element of a storage buffer takes on the device: its size on the host, except for
/// `bool`, which the device stores as a u32 (0 or 1) where the host has one byte.
pub fn device_elem_bytes(elem: ScalarType) -> u32 {
    match elem {
        ScalarType::Bool => 4,
        _ => elem.bytes(),
    }
}

/// Writes the elements of `host` in their device form to the start of `device`, which holds at
/// least `host.len() * device_elem_bytes(host.elem)` bytes.
pub fn write_device_elems(host: &HostBuffer, device: &mut [u8]) {
    if host.elem == ScalarType::Bool {
        for (word, &byte) in device.chunks_exact_mut(4).zip(&host.data) {
            word.copy_from_slice(&((byte != 0) as u32).to_le_bytes());
        }
    } else {
        device[..host.data.len()].copy_from_slice(&host.data);
    }
}

/// Reads the elements of `host` back from their device form at the start of `device`.
pub fn read_device_elems(device: &[u8], host: &mut HostBuffer) {
    if host.elem == ScalarType::Bool {
        for (byte, word) in host.data.iter_mut().zip(device.chunks_exact(4)) {
            *byte = (word != [0, 0, 0, 0]) as u8;
        }
    } else {
        let len = host.data.len();
        host.data.copy_from_slice(&device[..len]);
    }
}

/// Byte offsets of the push-constant header fields (all u32).
pub const PUSH_GRID_X: u32 = 0;
pub const PUSH_GRID_Y: u32 = 4;
pub const PUSH_GRID_Z: u32 = 8;
/// Workgroups along x of the actual dispatch (the grid is linearised over the dispatch so that
/// grids beyond `maxComputeWorkGroupCount` per dimension still run): program
/// `x + y * dx + z * dx * dy` for workgroup `(x, y, z)`. A launch dispatches exactly the grid's
/// programs (the last ones from a base workgroup, `vkCmdDispatchBase`; pipelines are created with
/// `DISPATCH_BASE`): the shader has no check for a workgroup past the grid.
pub const PUSH_DISPATCH_X: u32 = 12;
/// Workgroups along y of the actual dispatch.
pub const PUSH_DISPATCH_Y: u32 = 16;
/// Bit `k % 32` of the u32 at `PUSH_EMPTY_BUFFERS + 4 * (k / 32)` is set when the buffer at binding
/// `k` (k < 64) is empty. Vulkan has no zero-sized buffers, so an empty argument is bound to a
/// small one; safe mode reads these bits to treat its length as 0.
pub const PUSH_EMPTY_BUFFERS: u32 = 20;
/// Buffers whose emptiness the header can record (two u32 words of bits).
pub const PUSH_EMPTY_BUFFER_BITS: u32 = 64;
pub const PUSH_HEADER_BYTES: u32 = 32;

/// Number of u32 words of the status buffer: `[flag, kind, param, index_lo, index_hi, program_lo, 0, 0]`.
/// For a failed assert `param` is the index into `Abi::asserts` and `index` the element's row-major
/// index in the condition's tile (0 for a scalar condition).
pub const STATUS_WORDS: u32 = 8;

/// How a scalar parameter is stored in push constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRepr {
    /// bool as 0/1.
    U32,
    I32,
    F32,
    U64,
    I64,
    F64,
}

impl PushRepr {
    pub fn bytes(self) -> u32 {
        match self {
            PushRepr::U32 | PushRepr::I32 | PushRepr::F32 => 4,
            PushRepr::U64 | PushRepr::I64 | PushRepr::F64 => 8,
        }
    }
    /// The push representation of a scalar parameter type: bool → u32, f16/bf16 → f32 (converted
    /// in the shader), narrow ints widen to 32 bits.
    pub fn for_scalar(ty: ScalarType) -> PushRepr {
        use ScalarType::*;
        match ty {
            Bool | U8 | U16 | U32 => PushRepr::U32,
            I8 | I16 | I32 => PushRepr::I32,
            F16 | BF16 | F32 => PushRepr::F32,
            U64 => PushRepr::U64,
            I64 => PushRepr::I64,
            F64 => PushRepr::F64,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BufferBinding {
    pub binding: u32,
    /// The parameter's name (for error messages).
    pub param: String,
    /// Index of the parameter among all kernel parameters.
    pub param_index: u32,
    pub elem: ScalarType,
    pub writable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PushField {
    pub param: String,
    pub param_index: u32,
    pub offset: u32,
    pub ty: ScalarType,
    pub repr: PushRepr,
}

/// Device features a module needs; the runtime refuses to launch on a device that lacks one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    pub float16: bool,
    pub float64: bool,
    pub int8: bool,
    pub int16: bool,
    pub int64: bool,
    /// 8-bit storage buffer access.
    pub storage8: bool,
    /// 16-bit storage buffer access.
    pub storage16: bool,
    pub subgroup_arithmetic: bool,
    /// `OpGroupNonUniformShuffleXor` in compute shaders (reductions within one subgroup).
    pub subgroup_shuffle: bool,
    pub float_atomic_add: bool,
    /// `VK_KHR_cooperative_matrix` (`dot` on subgroup-scope matrix tiles), with the Vulkan
    /// memory model at device scope that such modules declare.
    pub cooperative_matrix: bool,
    /// `SignedZeroInfNanPreserve` and `RoundingModeRTE` for every float width the device has
    /// (`VK_KHR_shader_float_controls`, core in Vulkan 1.2, its properties per width). Without
    /// them Vulkan lets a driver assume no NaN or infinity, ignore the sign of zero and round
    /// arithmetic either way, so a module declares them wherever the device offers them.
    pub float_controls: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Abi {
    pub kernel: String,
    pub entry_point: String,
    pub workgroup_size: [u32; 3],
    pub buffers: Vec<BufferBinding>,
    pub push_fields: Vec<PushField>,
    /// Total push-constant bytes (header included; the header alone when the scalars are in the
    /// uniform buffer).
    pub push_bytes: u32,
    /// The safe-mode status buffer's binding, absent with `--unchecked`.
    pub status_binding: Option<u32>,
    /// Set when the scalar parameters live in a uniform buffer at this binding instead of the
    /// push constants (they did not fit `Target::max_push_bytes`); `push_fields` offsets are then
    /// offsets into that buffer.
    pub uniform_binding: Option<u32>,
    /// Bytes of the uniform buffer (0 without one).
    pub uniform_bytes: u32,
    pub shared_bytes: u32,
    pub features: Features,
    /// The kernel's `device_assert`s, indexed by the status buffer's `param` word when its kind is
    /// `STATUS_ASSERT` (empty with `--unchecked`: asserts are compiled out there).
    pub asserts: Vec<AssertSite>,
    /// What a launch must promise for the accesses whose checks the compiler proved away (safe
    /// mode), verified by the runtime before dispatch (`contract`; empty with `--unchecked`).
    pub contracts: Vec<contract::Contract>,
}

/// One `device_assert` of a compiled kernel, for the runtime's report.
#[derive(Debug, Clone, PartialEq)]
pub struct AssertSite {
    pub message: String,
    /// The `device_assert(..)` call; resolved to `file:line:col` with the program's source map.
    pub span: Span,
    /// Whether the condition is a tile (the report names the failing element) or a scalar.
    pub tile: bool,
}

/// A compiled kernel ready for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub words: Vec<u32>,
    pub abi: Abi,
}

/// Kinds of safety violation recorded in the status buffer's `kind` word.
pub const STATUS_LOAD_OOB: u32 = 1;
pub const STATUS_STORE_OOB: u32 = 2;
/// A `device_assert` condition was false.
pub const STATUS_ASSERT: u32 = 3;

/// The decoded status buffer after a launch in safe mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub kind: u32,
    pub param_index: u32,
    pub index: i64,
    pub program: u32,
}

impl Status {
    /// Decodes the status words; `None` when no violation happened.
    pub fn decode(words: &[u32]) -> Option<Status> {
        if words.len() < STATUS_WORDS as usize || words[0] == 0 {
            return None;
        }
        let index = (words[3] as u64 | ((words[4] as u64) << 32)) as i64;
        Some(Status {
            kind: words[1],
            param_index: words[2],
            index,
            program: words[5],
        })
    }
}

/// What the compiler knows of the device it compiles for (made by the runtime from the device's
/// properties, or `Target::portable()` when compiling without a device).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Device name for diagnostics.
    pub name: String,
    /// The subgroup size when known and fixed; `None` means the code must work for any size.
    pub subgroup_size: Option<u32>,
    pub max_threads: u32,
    pub max_shared_bytes: u32,
    pub max_push_bytes: u32,
    /// `maxComputeWorkGroupCount`.
    pub max_workgroups: [u32; 3],
    /// Features the device offers.
    pub features: Features,
    /// What kind of processor runs the kernels; schedules differ (docs/decisions.md,
    /// "Scheduling decisions").
    pub processor: Processor,
    /// The cooperative-matrix tile `dot` uses when the device offers one for f16 operands and
    /// f32 accumulators at subgroup scope (`VK_KHR_cooperative_matrix`); `None`: FMAs only.
    pub cooperative_matrix: Option<CoopShape>,
}

/// An `M×K · K×N + M×N` cooperative-matrix multiply-add the device offers: A and B f16, C and
/// the result f32, subgroup scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoopShape {
    pub m: u32,
    pub n: u32,
    pub k: u32,
}

impl std::fmt::Display for CoopShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.m, self.n, self.k)
    }
}

/// The processor kind a target's schedules are made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processor {
    /// A CPU device (lavapipe, SwiftShader): SIMD lanes run across invocations and memory
    /// accesses are per lane, so it wants one subgroup per workgroup, much work per invocation
    /// and vector accesses, and no barriers.
    Cpu,
    /// A GPU: coalesced accesses and many invocations.
    Gpu,
    /// Not known (compiling without a device): GPU-style schedules.
    Unknown,
}

impl Target {
    /// Compiling without a device (`tkc build`): Vulkan 1.1 minimum limits, any subgroup size, and
    /// every feature assumed (the runtime refuses a launch whose `Abi::features` the device lacks)
    /// except float controls, which Vulkan 1.1 devices may lack and naga cannot read.
    pub fn portable() -> Target {
        Target {
            name: "portable Vulkan 1.1".to_string(),
            subgroup_size: None,
            max_threads: 128,
            max_shared_bytes: 16384,
            max_push_bytes: 128,
            max_workgroups: [65535, 65535, 65535],
            features: Features {
                float16: true,
                float64: true,
                int8: true,
                int16: true,
                int64: true,
                storage8: true,
                storage16: true,
                subgroup_arithmetic: true,
                subgroup_shuffle: true,
                float_atomic_add: true,
                cooperative_matrix: true,
                float_controls: false,
            },
            processor: Processor::Unknown,
            cooperative_matrix: None,
        }
    }

    /// A CPU device like lavapipe (subgroup 8, 32 KiB shared memory): what `tkc build --target
    /// cpu` compiles for, the schedule a launch on lavapipe gets.
    pub fn cpu() -> Target {
        Target {
            name: "a CPU device (subgroup 8)".to_string(),
            subgroup_size: Some(8),
            max_threads: 1024,
            max_shared_bytes: 32768,
            processor: Processor::Cpu,
            features: Features {
                float_controls: true,
                ..Target::portable().features
            },
            ..Target::portable()
        }
    }

    /// A typical GPU (subgroup 32, 48 KiB shared memory): `tkc build --target gpu`.
    pub fn gpu() -> Target {
        Target {
            name: "a GPU (subgroup 32)".to_string(),
            subgroup_size: Some(32),
            max_threads: 1024,
            max_shared_bytes: 49152,
            processor: Processor::Gpu,
            features: Features {
                float_controls: true,
                ..Target::portable().features
            },
            ..Target::portable()
        }
    }
}
