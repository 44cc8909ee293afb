//! Shared by the device benches.
use tk::base::{KernelArg, Literal};

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
