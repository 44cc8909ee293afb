//! The Vulkan runtime (ash + gpu-allocator): device choice, buffers, pipelines, dispatch, readback
//! and timing. It knows nothing of the compiler: it sees only `abi::Artifact`.
