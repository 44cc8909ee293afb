//! Shared by the device benches.
use tk::base::{KernelArg, Literal};
use tk::runtime::{CopyMethod, Device};

/// The copy reference of a launch that reads and writes `bytes` in all: the faster of
/// `vkCmdCopyBuffer` and the runtime's copy shader between two device-local buffers, with
/// `warmup` untimed and `reps` timed repetitions like the kernel. Its GB/s (read + write) and
/// which copy it was.
pub fn copy_reference(device: &Device, bytes: u64, warmup: u32, reps: u32) -> (f64, CopyMethod) {
    let copy = device
        .copy_bandwidth(bytes, warmup, reps)
        .expect("copy bandwidth");
    let (method, timing) = copy.best();
    (timing.gb_per_s().expect("a copy counts its bytes"), method)
}

/// The scalar arguments of an n × n × n row-major matmul (`M, N, K` and the six strides), in the
/// order of the `matmul` kernels' parameters after `a, b, c`.
pub fn square_matmul_scalars(n: usize) -> Vec<KernelArg> {
    let int = |v: usize| KernelArg::Scalar(Literal::Int(v as i128));
    vec![
        int(n),
        int(n),
        int(n),
        int(n),
        int(1),
        int(n),
        int(1),
        int(n),
        int(1),
    ]
}
