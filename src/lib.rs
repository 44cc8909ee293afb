//! tk: a block-level kernel language compiled to SPIR-V and run on any Vulkan device.
pub mod abi;
pub mod base;
pub mod interp;
pub mod ir;
pub mod passes;
pub mod runtime;
pub mod sema;
pub mod spirv;
pub mod syntax;
