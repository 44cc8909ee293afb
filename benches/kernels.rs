//! The kernel suite of issue 4 on the Vulkan device: vector add, softmax, layer norm forward,
//! f32 and f16 matmul, fused attention in f16 and f32 (tile sizes per kind of device; on a GPU
//! the memory-bound kernels at the sizes of the Triton reference, `cases`). Each kernel is timed (device timestamps, median of
//! `TK_BENCH_REPS` launches after 3 warm-ups) and read against the device's copy bandwidth
//! measured in the same process the same way on at least the same number of bytes (the faster of
//! `vkCmdCopyBuffer` and the runtime's copy shader, device-local). Bytes and `dot` flops are
//! counted as `tkc bench` counts them: the interpreter runs the first and the last program and
//! the first stands for the others. Run with `cargo bench --bench kernels [-- FILTER]`.
#[path = "common/mod.rs"]
mod common;
use tk::abi::Processor;
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};
use tk::driver::{self, DiskLoader};
use tk::ir;
use tk::runtime::{Device, DeviceChoice};

/// Untimed launches before the timed ones, for each kernel and its copy reference.
const WARMUP: u32 = 3;

struct Case {
    name: &'static str,
    file: &'static str,
    kernel: &'static str,
    consts: Vec<(&'static str, i128)>,
    args: Vec<KernelArg>,
}

fn buf(ty: ScalarType, shape: &[usize]) -> KernelArg {
    KernelArg::Buffer(HostBuffer::zeros(ty, shape.to_vec()))
}
fn int(v: usize) -> KernelArg {
    KernelArg::Scalar(Literal::Int(v as i128))
}
fn float(v: f64) -> KernelArg {
    KernelArg::Scalar(Literal::Float(v))
}

fn matmul(
    name: &'static str,
    file: &'static str,
    ty: ScalarType,
    n: usize,
    tiles: [i128; 3],
) -> Case {
    let [bm, bn, bk] = tiles;
    Case {
        name,
        file,
        kernel: "matmul",
        consts: vec![("BLOCK_M", bm), ("BLOCK_N", bn), ("BLOCK_K", bk)],
        args: [buf(ty, &[n, n]), buf(ty, &[n, n]), buf(ty, &[n, n])]
            .into_iter()
            .chain(common::square_matmul_scalars(n))
            .collect(),
    }
}

/// An attention case: `heads` heads of `ctx` positions and `head` dims, `tile` query rows and keys
/// per step, from `file` (f16 or f32 tensors).
fn attention(
    name: &'static str,
    file: &'static str,
    ty: ScalarType,
    [heads, ctx, head]: [usize; 3],
    tile: i128,
) -> Case {
    Case {
        name,
        file,
        kernel: "attention_fwd",
        consts: vec![
            ("HEAD_DIM", head as i128),
            ("BLOCK_M", tile),
            ("BLOCK_N", tile),
        ],
        args: vec![
            buf(ty, &[heads, ctx, head]),
            buf(ty, &[heads, ctx, head]),
            buf(ty, &[heads, ctx, head]),
            buf(ty, &[heads, ctx, head]),
            float(1.0 / (head as f64).sqrt()),
            int(heads),
            int(ctx),
        ],
    }
}

/// The suite for `processor`: the same kernels everywhere at the sizes and tiles each kind of
/// device runs best. A GPU runs the memory-bound kernels at the sizes of the Triton reference
/// (`triton_ref.py`: vector add 2^26, softmax and layer norm 16384 x 4096, the rows one block
/// of 4096) so that the figures compare one to one, 128×128 register tiles and
/// cooperative-matrix blocks, and attention at PyTorch's f32 SDPA problem; a CPU device tiles
/// its one-subgroup register `dot` keeps in registers.
fn cases(processor: Processor) -> Vec<Case> {
    use ScalarType::{F16, F32};
    let gpu = processor == Processor::Gpu;
    let (n, rows, cols, block) = if gpu {
        (1 << 26, 16384, 4096, 4096)
    } else {
        (1 << 24, 4096, 1024, 1024)
    };
    let mm: usize = std::env::var("TK_BENCH_MATMUL_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let (f32_tiles, f16_tiles) = if gpu {
        ([128, 128, 16], [128, 128, 32])
    } else {
        ([64, 64, 8], [64, 64, 8])
    };
    let (attention_f16, attention_f32, attention_tile) = if gpu {
        ([1, 8192, 64], [1, 8192, 64], 64)
    } else {
        ([8, 1024, 32], [1, 1024, 64], 32)
    };
    vec![
        Case {
            name: if gpu {
                "vector add 2^26 f32"
            } else {
                "vector add 2^24 f32"
            },
            file: "examples/vector_add.tk",
            kernel: "vector_add",
            consts: vec![],
            args: vec![buf(F32, &[n]), buf(F32, &[n]), buf(F32, &[n]), int(n)],
        },
        Case {
            name: if gpu {
                "softmax 16384x4096 f32"
            } else {
                "softmax 4096x1024 f32"
            },
            file: "examples/softmax.tk",
            kernel: "softmax",
            consts: vec![("BLOCK", block)],
            args: vec![
                buf(F32, &[rows, cols]),
                buf(F32, &[rows, cols]),
                int(rows),
                int(cols),
            ],
        },
        Case {
            name: if gpu {
                "layer norm fwd 16384x4096 f32"
            } else {
                "layer norm fwd 4096x1024 f32"
            },
            file: "examples/layer_norm.tk",
            kernel: "layer_norm_fwd",
            consts: vec![("BLOCK", block)],
            args: vec![
                buf(F32, &[rows, cols]),
                buf(F32, &[rows, cols]),
                buf(F32, &[cols]),
                buf(F32, &[cols]),
                buf(F32, &[rows]),
                buf(F32, &[rows]),
                int(cols),
                int(rows),
                int(cols),
                float(1e-5),
            ],
        },
        matmul(
            "matmul f32",
            "benches/kernels/matmul_autotune.tk",
            F32,
            mm,
            f32_tiles.map(|t| t as i128),
        ),
        matmul(
            "matmul f16",
            "examples/matmul.tk",
            F16,
            mm,
            f16_tiles.map(|t| t as i128),
        ),
        attention(
            "attention fwd f16",
            "examples/attention.tk",
            F16,
            attention_f16,
            attention_tile,
        ),
        attention(
            "attention fwd f32",
            "benches/kernels/attention_f32.tk",
            F32,
            attention_f32,
            attention_tile,
        ),
    ]
}

/// Bytes and flops of one launch: the first program stands for all but the last.
fn traffic(module: &ir::Module, args: &[KernelArg], grid: [u32; 3]) -> (u64, u64) {
    let programs = grid.iter().map(|&g| g as u64).product::<u64>();
    let last = [grid[0] - 1, grid[1] - 1, grid[2] - 1];
    let first = tk::interp::measure_traffic(module, args, grid, &[[0, 0, 0]]).expect("count");
    if programs == 1 {
        return (first.bytes, first.flops);
    }
    let tail = tk::interp::measure_traffic(module, args, grid, &[last]).expect("count");
    (
        first.bytes * (programs - 1) + tail.bytes,
        first.flops * (programs - 1) + tail.flops,
    )
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let reps: u32 = std::env::var("TK_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let device = match Device::open(DeviceChoice::Auto) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("the kernel suite needs a Vulkan device: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "device: {} (median of {reps} launches, safe mode)",
        device.info().name
    );
    println!(
        "{:<40} {:>10} {:>9} {:>9} {:>10} {:>7}  copy by",
        "kernel", "median ms", "GB/s", "GFLOP/s", "copy GB/s", "ratio"
    );
    let root = env!("CARGO_MANIFEST_DIR");
    for case in cases(device.target().processor) {
        if filter.as_deref().is_some_and(|f| !case.name.contains(f)) {
            continue;
        }
        let path = format!("{root}/{}", case.file);
        let source = std::fs::read_to_string(&path).expect(case.file);
        let program = driver::check_source(case.file, &source, &DiskLoader);
        assert!(!program.has_errors(), "{}", case.file);
        let consts: Vec<(String, Literal)> = case
            .consts
            .iter()
            .map(|(k, v)| (k.to_string(), Literal::Int(*v)))
            .collect();
        let lowered = driver::lower(&program, case.kernel, &consts).expect("lower");
        let mut args = case.args;
        let grid = tk::interp::launch_grid(&lowered.kernel, &args)
            .expect("#[grid]")
            .expect("grid");
        let (bytes, flops) = traffic(&lowered, &args, grid);
        // Specialised for the arguments' divisibility, as `tkc run` and Triton launch.
        let mut lowered = lowered;
        driver::specialize(&mut lowered, &args);
        let (_, artifact) = driver::compile(lowered, &device.target(), true).expect("compile");
        let pipeline = device.load(&artifact).expect("load");
        let timing = device
            .bench(&pipeline, &mut args, grid, WARMUP, reps)
            .expect("bench");
        let (copy_gbps, copy_method) = common::copy_reference(&device, bytes, WARMUP, reps);
        let gbps = bytes as f64 / timing.median_ns;
        if gbps > 1.10 * copy_gbps {
            eprintln!(
                "warning: {} ran at {:.2}x its copy reference: the reference is wrong on this \
                 device, or the kernel's bytes count re-reads its caches served",
                case.name,
                gbps / copy_gbps
            );
        }
        let gflops = if flops > 0 {
            format!("{:.3}", flops as f64 / timing.median_ns)
        } else {
            "-".into()
        };
        let consts: Vec<String> = case.consts.iter().map(|(_, v)| v.to_string()).collect();
        let name = match consts.is_empty() {
            true => case.name.to_string(),
            false => format!("{} ({})", case.name, consts.join("x")),
        };
        println!(
            "{:<40} {:>10.3} {gbps:>9.3} {gflops:>9} {copy_gbps:>10.3} {:>7.3}  {copy_method}",
            name,
            timing.median_ns / 1e6,
            gbps / copy_gbps
        );
    }
}
