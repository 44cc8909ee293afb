//! Tests of the cost model against what lavapipe measured and against its own bounds.
use super::*;
use crate::base::{HostBuffer, Literal};
use crate::driver::{self, DiskLoader, Program};
use crate::ir;
use crate::tune::{lower_config, Config};

const MATMUL: &str = include_str!("../../../benches/kernels/matmul_autotune.tk");
const SOFTMAX: &str = include_str!("../../../benches/kernels/softmax_autotune.tk");

fn program(source: &str) -> Program {
    let program = driver::check_source("kernel.tk", source, &DiskLoader);
    assert!(!program.has_errors(), "{:?}", program.diagnostics);
    program
}

/// The kernel lowered with `consts` and `threads`.
fn lowered(program: &Program, consts: &[(&str, i128)], threads: u32) -> ir::Module {
    let kernel = &program.checked.kernels[0].name;
    let config = Config {
        consts: consts
            .iter()
            .map(|(n, v)| (n.to_string(), Literal::Int(*v)))
            .collect(),
        knobs: vec![("threads".into(), threads)],
    };
    lower_config(program, kernel, &[], &config).unwrap()
}

/// Arguments for `kernel`: one-element buffers, and the scalars named in `scalars` (others 1).
fn args(kernel: &Kernel, scalars: &[(&str, i128)]) -> Vec<KernelArg> {
    kernel
        .params
        .iter()
        .map(|p| match p.kind {
            ir::ParamKind::Pointer { pointee, .. } => {
                KernelArg::Buffer(HostBuffer::zeros(pointee, vec![1]))
            }
            ir::ParamKind::Scalar(_) => {
                let value = scalars
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .map_or(1, |s| s.1);
                KernelArg::Scalar(Literal::Int(value))
            }
        })
        .collect()
}

const MATMUL_512: &[(&str, i128)] = &[
    ("M", 512),
    ("N", 512),
    ("K", 512),
    ("stride_am", 512),
    ("stride_ak", 1),
    ("stride_bk", 512),
    ("stride_bn", 1),
    ("stride_cm", 512),
    ("stride_cn", 1),
];

/// The estimate of matmul 512³ with tiles `m×n×k` and `threads` on `target`.
fn matmul(target: &Target, (m, n, k): (i128, i128, i128), threads: u32) -> Estimate {
    let program = program(MATMUL);
    let module = lowered(
        &program,
        &[("BLOCK_M", m), ("BLOCK_N", n), ("BLOCK_K", k)],
        threads,
    );
    let programs = (512 / m * (512 / n)) as u64;
    let scheduled = driver::schedule(module, target).unwrap();
    let args = args(&scheduled.kernel, MATMUL_512);
    estimate(
        &scheduled.kernel,
        &Machine::for_target(target),
        &args,
        programs,
    )
    .unwrap()
}

fn softmax(target: &Target, block: i128, threads: u32) -> Estimate {
    let program = program(SOFTMAX);
    let module = lowered(&program, &[("BLOCK", block)], threads);
    let scheduled = driver::schedule(module, target).unwrap();
    let args = args(&scheduled.kernel, &[("n_rows", 4096), ("n_cols", 1024)]);
    estimate(&scheduled.kernel, &Machine::for_target(target), &args, 4096).unwrap()
}

#[test]
fn larger_matmul_tiles_move_less_and_rank_first_on_a_cpu() {
    let cpu = Target::cpu();
    // Measured on lavapipe (BENCHMARKS.md): 64×64×8 about 2.4× faster than 16×16×16, and
    // 32×64×16 about 1.8× faster than 32×32×16.
    let big = matmul(&cpu, (64, 64, 8), 8);
    let small = matmul(&cpu, (16, 16, 16), 8);
    assert!(big.ns * 1.5 < small.ns, "{big:?}\n{small:?}");
    assert!(matmul(&cpu, (32, 64, 16), 8).ns < matmul(&cpu, (32, 32, 16), 8).ns);
    // The FLOPs are the problem's; the bytes each tile moves shrink with the tile.
    assert_eq!(big.flops(), 2.0 * 512f64.powi(3));
    assert_eq!(small.flops(), big.flops());
    assert!(big.bytes() < small.bytes() / 2.0);
    assert!(big.exact);
}

#[test]
fn one_simd_group_ranks_above_several_for_a_cpu_reduction() {
    // Measured on lavapipe: 8 invocations 42.7 ms, 32 invocations 84.0 ms.
    let cpu = Target::cpu();
    let one = softmax(&cpu, 1024, 8);
    let four = softmax(&cpu, 1024, 32);
    assert!(one.ns < four.ns, "{one:?}\n{four:?}");
    assert_eq!(one.per_program.barriers, 0.0);
    assert!(four.per_program.barriers > 0.0 && four.per_program.shared > 0.0);
    // Fewer invocations than a SIMD group leave lanes idle: slower, not faster.
    assert!(softmax(&cpu, 1024, 4).ns > one.ns);
}

#[test]
fn loop_trip_counts_come_from_the_arguments() {
    let cpu = Target::cpu();
    let program = program(MATMUL);
    let module = lowered(&program, &[], 8);
    let scheduled = driver::schedule(module, &cpu).unwrap();
    let machine = Machine::for_target(&cpu);
    let mut long = MATMUL_512.to_vec();
    long[2] = ("K", 1024);
    let short = estimate(
        &scheduled.kernel,
        &machine,
        &args(&scheduled.kernel, MATMUL_512),
        1,
    );
    let long = estimate(
        &scheduled.kernel,
        &machine,
        &args(&scheduled.kernel, &long),
        1,
    );
    let (short, long) = (short.unwrap(), long.unwrap());
    assert!(short.exact && long.exact);
    let ratio = long.per_program.flops / short.per_program.flops;
    assert_eq!(ratio, 2.0, "twice the K, twice the dot FLOPs");

    let program = program_with_while();
    let module = lowered(&program, &[], 8);
    let scheduled = driver::schedule(module, &cpu).unwrap();
    let args = args(&scheduled.kernel, &[("n", 100)]);
    let guess = estimate(&scheduled.kernel, &machine, &args, 1).unwrap();
    assert!(!guess.exact, "a while loop's trip count is unknown");
}

fn program_with_while() -> Program {
    program(
        "#[grid(1)]
        kernel halve(out: *mut i32, n: i32, const BLOCK: i32 = 64) {
            let mut x = n;
            while x > 1 { x = x / 2; }
            store(out + arange(0, BLOCK), x + zeros([BLOCK], i32), mask: arange(0, BLOCK) < 1);
        }",
    )
}

#[test]
fn the_lower_bound_never_passes_the_estimate() {
    for target in [Target::cpu(), Target::gpu()] {
        let machine = Machine::for_target(&target);
        let mut compared = 0;
        for (tiles, threads) in [
            ((64, 64, 8), 8),
            ((16, 16, 16), 32),
            ((32, 32, 32), 8),
            ((128, 32, 8), 64),
            ((8, 8, 8), 128),
        ] {
            let program = program(MATMUL);
            let (m, n, k) = tiles;
            let module = lowered(
                &program,
                &[("BLOCK_M", m), ("BLOCK_N", n), ("BLOCK_K", k)],
                threads,
            );
            let args = args(&module.kernel, MATMUL_512);
            let programs = (512 / m * (512 / n)) as u64;
            let bound = lower_bound(&module.kernel, &machine, &args, programs);
            let at_least = registers(&module.kernel);
            let scheduled = driver::schedule(module, &target).unwrap();
            assert!(at_least <= registers(&scheduled.kernel), "{tiles:?}");
            // Candidates over the GPU's registers are rejected; the others are compared.
            let Ok(estimate) = estimate(&scheduled.kernel, &machine, &args, programs) else {
                continue;
            };
            compared += 1;
            assert!(
                bound <= estimate.ns,
                "{tiles:?} × {threads}: {bound} > {estimate:?}"
            );
        }
        for threads in [8, 32, 256] {
            let program = program(SOFTMAX);
            let module = lowered(&program, &[("BLOCK", 1024)], threads);
            let args = args(&module.kernel, &[("n_rows", 4096), ("n_cols", 1024)]);
            let bound = lower_bound(&module.kernel, &machine, &args, 4096);
            let scheduled = driver::schedule(module, &target).unwrap();
            let estimate = estimate(&scheduled.kernel, &machine, &args, 4096).unwrap();
            assert!(bound <= estimate.ns, "softmax × {threads}");
            compared += 1;
        }
        assert!(compared >= 5, "{}: {compared} compared", target.name);
    }
}

#[test]
fn occupancy_falls_with_shared_memory_and_large_workgroups_on_a_gpu() {
    let gpu = Target::gpu();
    let small = softmax(&gpu, 1024, 128);
    let large = softmax(&gpu, 1024, 1024);
    assert!(small.resident > large.resident, "{small:?}\n{large:?}");
    assert!(large.occupancy <= 1.0 && large.occupancy > 0.0);
    assert!(large.shared_bytes > small.shared_bytes);
}

#[test]
fn stored_elements_count_whole_tiles() {
    let program = program(SOFTMAX);
    for (block, expected) in [(512, 512.0), (1024, 1024.0), (2048, 2048.0)] {
        let module = lowered(&program, &[("BLOCK", block)], 8);
        let args = args(&module.kernel, &[("n_rows", 4), ("n_cols", 1024)]);
        assert_eq!(
            stored_elements(&module.kernel, &args, 4),
            Some(4.0 * expected)
        );
    }
    let program = program_with_while();
    let module = lowered(&program, &[], 8);
    assert_eq!(stored_elements(&module.kernel, &[], 1), None);
}

#[test]
fn scalars_fold_from_constants_and_arguments() {
    let program = program(MATMUL);
    let module = lowered(&program, &[], 8);
    let kernel = &module.kernel;
    let args = args(kernel, MATMUL_512);
    // The K loop's end, cdiv(K, BLOCK_K), folds to 512 / 16.
    let mut ends = Vec::new();
    for (_, inst) in kernel.insts.iter() {
        if let InstKind::For { end, .. } = inst.kind {
            ends.push(scalar(kernel, &args, end));
        }
    }
    assert_eq!(ends, [Some(32)]);
}
