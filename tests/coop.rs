//! `dot` on cooperative matrices (`VK_KHR_cooperative_matrix`): which `dot`s the scheduler
//! gives them, SPIR-V that a validator knowing `SPV_KHR_cooperative_matrix` accepts, and on the
//! device: the product against a reference where the device offers them, else the launch
//! refused for the missing feature.
mod common;

use common::*;
use tk::abi::{CoopShape, Target};
use tk::base::{Literal, ScalarType};
use tk::driver::{self, Build, BuildOptions, Source};
use tk::ir;

const TILE: CoopShape = CoopShape {
    m: 16,
    n: 16,
    k: 16,
};

/// A GPU target (subgroup 32) that offers cooperative matrices of `shape`.
fn coop_gpu(shape: CoopShape) -> Target {
    let mut target = Target::gpu();
    target.cooperative_matrix = Some(shape);
    target
}

fn consts(m: usize, n: usize, k: usize) -> Vec<(&'static str, Literal)> {
    vec![
        ("M", Literal::Int(m as i128)),
        ("N", Literal::Int(n as i128)),
        ("K", Literal::Int(k as i128)),
    ]
}

/// Builds `kernel` of `source` for `target`, safe or unchecked.
fn build(
    source: &str,
    kernel: &str,
    consts: &[(&str, Literal)],
    target: &Target,
    safe: bool,
) -> Build {
    let source = Source::new("test.tk", source);
    driver::build(&source, kernel, consts, target, &BuildOptions { safe }).expect("builds")
}

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/examples/{name}.tk", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn coop_dots(module: &ir::Module) -> usize {
    let schedule = module.kernel.schedule.as_ref().unwrap();
    schedule.cooperative_dots().len()
}

#[test]
fn f16_dots_compile_to_cooperative_matrices_that_validate() {
    let validator = coop_spirv_val();
    let mut cases: Vec<(String, String, Vec<(&str, Literal)>, CoopShape, usize)> = vec![
        (
            matmul_source("f16"),
            "mm".into(),
            consts(32, 32, 32),
            TILE,
            1,
        ),
        (
            matmul_source("f16"),
            "mm".into(),
            consts(64, 16, 128),
            TILE,
            1,
        ),
        (
            matmul_source("f16"),
            "mm".into(),
            consts(32, 64, 32),
            CoopShape { m: 16, n: 8, k: 16 },
            1,
        ),
    ];
    for (file, kernel, dots) in [
        ("matmul", "matmul", 1),
        ("grouped_gemm", "grouped_matmul_tile", 1),
        ("attention", "attention_fwd", 2),
    ] {
        cases.push((example(file), kernel.into(), Vec::new(), TILE, dots));
    }
    for (source, kernel, consts, shape, dots) in &cases {
        for safe in [true, false] {
            let Build {
                scheduled: module,
                artifact,
                ..
            } = build(source, kernel, consts, &coop_gpu(*shape), safe);
            let what = format!("{kernel} {consts:?} on {shape} (safe {safe})");
            assert_eq!(
                coop_dots(&module),
                *dots,
                "{what}: dots on cooperative matrices"
            );
            assert!(
                ir::print::print(&module).contains(&format!("cooperative_matrix = {shape}")),
                "{what}: the schedule shows the tile"
            );
            // One multiply-add per K step of each dot's tile loop body.
            assert!(
                count_op(&artifact.words, spirv::Op::CooperativeMatrixMulAddKHR) >= *dots,
                "{what}: multiply-adds"
            );
            assert!(artifact.abi.features.cooperative_matrix && artifact.abi.features.float16);
            validate_spirv_with(
                &validator,
                &artifact.words,
                &["vulkan1.1", "vulkan1.2", "vulkan1.3"],
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
}

#[test]
fn cooperative_matrices_are_taken_only_where_they_apply() {
    let f16 = matmul_source("f16");
    let f32 = matmul_source("f32");
    let none = |source: &str, consts: Vec<(&str, Literal)>, target: Target, why: &str| {
        let build = build(source, "mm", &consts, &target, true);
        let artifact = &build.artifact;
        assert_eq!(coop_dots(&build.scheduled), 0, "{why}");
        assert_eq!(
            count_op(&artifact.words, spirv::Op::CooperativeMatrixMulAddKHR),
            0,
            "{why}"
        );
        assert!(!artifact.abi.features.cooperative_matrix, "{why}");
        validate_spirv(&artifact.words).unwrap_or_else(|e| panic!("{why}: {e}"));
    };
    none(&f32, consts(32, 32, 32), coop_gpu(TILE), "f32 operands");
    none(
        &f16,
        consts(8, 32, 32),
        coop_gpu(TILE),
        "M = 8 under a 16-row tile",
    );
    none(
        &f16,
        consts(32, 32, 8),
        coop_gpu(TILE),
        "K = 8 under a 16-deep tile",
    );
    none(
        &f16,
        consts(32, 32, 32),
        Target::gpu(),
        "a device without them",
    );
    let mut portable = Target::portable();
    portable.cooperative_matrix = Some(TILE);
    none(&f16, consts(32, 32, 32), portable, "no fixed subgroup size");
    let mut lacking = coop_gpu(TILE);
    lacking.features.cooperative_matrix = false;
    none(&f16, consts(32, 32, 32), lacking, "the feature off");
}

#[test]
fn cooperative_matrix_dot_on_the_device() {
    let device = device();
    let source = matmul_source("f16");
    match device.target().cooperative_matrix {
        Some(shape) => {
            // The device offers them: the products match the reference on several shapes.
            let mut failures = Vec::new();
            for (m, n, k) in [(32, 32, 32), (64, 64, 32), (16, 64, 64)] {
                let (m, n, k) = (m.max(shape.m as usize), n.max(shape.n as usize), k);
                let k = k.max(shape.k as usize);
                let a = f16_values(&random_f32(m * k, 11));
                let b = f16_values(&random_f32(k * n, 12));
                let expected = matmul_f64(&a, &b, m, n, k);
                let build = build(&source, "mm", &consts(m, n, k), &device.target(), true);
                let artifact = build.artifact;
                assert_eq!(coop_dots(&build.scheduled), 1, "{m}x{n}x{k} on {shape}");
                validate_spirv(&artifact.words).unwrap();
                let pipeline = device.load(&artifact).expect("loads");
                let mut args = vec![
                    f16_buffer(&a),
                    f16_buffer(&b),
                    zeros(ScalarType::F32, m * n),
                ];
                device
                    .launch(&pipeline, &mut args, [1, 1, 1])
                    .expect("runs");
                if let Err(e) = assert_close(&buffer(&args, 2).to_f32(), &expected, 1e-4) {
                    failures.push(format!("{m}x{n}x{k}: {e}"));
                }
            }
            assert!(failures.is_empty(), "{}", failures.join("\n"));
        }
        None => {
            // It does not, or it does but the validation layer predates them and they were left
            // out so that validation stays on: a module compiled for them is refused at load,
            // naming the feature (and why it is missing).
            let left_out = device
                .info()
                .left_out_under_validation
                .iter()
                .any(|left| left.extension == "VK_KHR_cooperative_matrix");
            let mut target = device.target();
            target.cooperative_matrix = Some(TILE);
            target.features.cooperative_matrix = true;
            target.subgroup_size = target.subgroup_size.or(Some(32));
            let build = build(&source, "mm", &consts(32, 32, 32), &target, true);
            let artifact = build.artifact;
            assert_eq!(coop_dots(&build.scheduled), 1);
            let error = device.load(&artifact).err().expect("refused");
            assert!(
                error.to_string().contains("cooperativeMatrix"),
                "unexpected error: {error}"
            );
            if left_out {
                assert!(
                    error.to_string().contains("left out under validation"),
                    "unexpected error: {error}"
                );
            }
        }
    }
}

/// The words of each instruction of a module, in order (after the header).
fn instructions(words: &[u32]) -> Vec<&[u32]> {
    let mut at = 5;
    let mut out = Vec::new();
    while at < words.len() {
        let len = ((words[at] >> 16) as usize).max(1);
        out.push(&words[at..(at + len).min(words.len())]);
        at += len;
    }
    out
}

/// Result-type ids of the cooperative matrix types of `usage` (0: A, 1: B, 2: accumulator).
fn matrix_types(words: &[u32], usage: u32) -> Vec<u32> {
    // OpConstant's values, to read the Use operand (an id of a constant).
    let constants: std::collections::HashMap<u32, u32> = instructions(words)
        .iter()
        .filter(|i| i[0] & 0xffff == spirv::Op::Constant as u32 && i.len() == 4)
        .map(|i| (i[2], i[3]))
        .collect();
    instructions(words)
        .iter()
        .filter(|i| i[0] & 0xffff == spirv::Op::TypeCooperativeMatrixKHR as u32)
        .filter(|i| constants.get(&i[6]) == Some(&usage))
        .map(|i| i[1])
        .collect()
}

/// The instructions inside loops: from each `OpLoopMerge` to the label of its merge block.
fn in_loops(words: &[u32]) -> Vec<&[u32]> {
    let all = instructions(words);
    let mut out = Vec::new();
    let mut merges: Vec<u32> = Vec::new();
    for i in all {
        let op = i[0] & 0xffff;
        if op == spirv::Op::Label as u32 && merges.last() == Some(&i[1]) {
            merges.pop();
        }
        if !merges.is_empty() {
            out.push(i);
        }
        if op == spirv::Op::LoopMerge as u32 {
            merges.push(i[1]);
        }
    }
    out
}

fn compiled_example(
    file: &str,
    kernel: &str,
    consts: &[(&str, i128)],
    target: &Target,
) -> (ir::Module, tk::abi::Artifact) {
    let consts: Vec<(&str, Literal)> = consts.iter().map(|&(n, v)| (n, Literal::Int(v))).collect();
    let build = build(&example(file), kernel, &consts, target, true);
    (build.scheduled, build.artifact)
}

/// The f16 matmul at 128x128x32 tiles over 256 invocations (8 subgroups of 32): the accumulator
/// stays in cooperative matrices for the whole K loop (2x4 subgroups, 4x2 matrices of 16x16
/// each), each subgroup loads its 4 fragments of `a` and 2 of `b` once per K step and does 8
/// multiply-adds with them, the operands fill a double buffer of f16 four-vectors, and the
/// result leaves the matrices once, after the loop.
#[test]
fn cooperative_accumulators_stay_in_matrices_across_the_loop() {
    use tk::ir::layout::{Cooperative, Layout};
    use tk::ir::schedule::{DotPlan, Plan};
    let validator = coop_spirv_val();
    for safe in [true, false] {
        let consts = [("BLOCK_M", 128), ("BLOCK_N", 128), ("BLOCK_K", 32)];
        let consts: Vec<(&str, Literal)> =
            consts.iter().map(|&(n, v)| (n, Literal::Int(v))).collect();
        let Build {
            scheduled: module,
            artifact,
            ..
        } = build(&example("matmul"), "matmul", &consts, &coop_gpu(TILE), safe);
        let schedule = module.kernel.schedule.as_ref().unwrap();
        assert_eq!(schedule.threads, 256);
        let matrices = Layout::Cooperative(Cooperative {
            shape: vec![128, 128],
            tile: [16, 16],
            subgroups: [2, 4],
            subgroup_size: 32,
        });
        assert_eq!(matrices.regs(), 8);
        // The loop-carried accumulator is the matrices.
        let acc = module
            .kernel
            .locals
            .iter()
            .find(|(_, l)| l.name == "acc")
            .map(|(id, _)| id)
            .unwrap();
        assert_eq!(schedule.local_layouts[acc.index()], matrices);
        let dots: Vec<_> = schedule.cooperative_dots();
        assert_eq!(dots.len(), 1);
        let Some(Plan::Dot(DotPlan::CooperativeTiles(staging))) = schedule.plan(dots[0]) else {
            panic!("{}", ir::print::print(&module))
        };
        assert_eq!(schedule.layouts[dots[0].index()], Some(matrices.clone()));
        // Two buffers of 128 x (32 + 8) + 32 x (128 + 8) halves.
        assert_eq!(staging.stages, 2);
        assert_eq!((staging.a_row_stride, staging.b_row_stride), (40, 136));
        let buffer = 128 * 40 + 32 * 136;
        assert_eq!(staging.region.bytes, 2 * buffer * 2);
        let coop = schedule.coop.as_ref().unwrap();
        assert_eq!(coop.vectors * 8, staging.region.bytes);
        // The old plan's arrays are not needed; the f32 array takes 16 rows at a time.
        assert_eq!(coop.halves, 0);
        assert_eq!(coop.floats, 16 * 128);
        assert!(schedule.workgroup_bytes() <= 49152);

        let words = &artifact.words;
        let ops = |list: &[&[u32]], op: spirv::Op| {
            list.iter().filter(|i| i[0] & 0xffff == op as u32).count()
        };
        let all = instructions(words);
        let looped = in_loops(words);
        let (ty_a, ty_b, ty_acc) = (
            matrix_types(words, 0),
            matrix_types(words, 1),
            matrix_types(words, 2),
        );
        let loads_of = |list: &[&[u32]], types: &[u32]| {
            list.iter()
                .filter(|i| {
                    i[0] & 0xffff == spirv::Op::CooperativeMatrixLoadKHR as u32
                        && types.contains(&i[1])
                })
                .count()
        };
        // Inside the K loop: 2 K steps x (4 fragments of `a`, 2 of `b`, 8 multiply-adds); the
        // accumulator is neither loaded nor stored there, nor anywhere else loaded.
        assert_eq!(loads_of(&looped, &ty_a), 2 * 4);
        assert_eq!(loads_of(&looped, &ty_b), 2 * 2);
        assert_eq!(ops(&looped, spirv::Op::CooperativeMatrixMulAddKHR), 2 * 8);
        assert_eq!(ops(&all, spirv::Op::CooperativeMatrixMulAddKHR), 2 * 8);
        assert_eq!(loads_of(&all, &ty_acc), 0);
        assert_eq!(ops(&looped, spirv::Op::CooperativeMatrixStoreKHR), 0);
        assert!(ops(&all, spirv::Op::CooperativeMatrixStoreKHR) >= 8);
        // One barrier per K iteration (double buffering), the buffer chosen by a counter that
        // starts at 0 in every invocation.
        assert_eq!(ops(&looped, spirv::Op::ControlBarrier), 1);
        assert!(all.iter().any(|i| {
            i[0] & 0xffff == spirv::Op::Variable as u32
                && i.len() == 5
                && i[3] == spirv::StorageClass::Function as u32
        }));
        // The staging fills are four halves at a time: every invocation builds 128 x 32 / 256
        // halves of `a` and as many of `b` into four-vectors (4 of them) in each iteration.
        let half = all
            .iter()
            .find(|i| i[0] & 0xffff == spirv::Op::TypeFloat as u32 && i[2] == 16)
            .map(|i| i[1])
            .unwrap();
        let half4 = all
            .iter()
            .find(|i| i[0] & 0xffff == spirv::Op::TypeVector as u32 && i[2] == half && i[3] == 4)
            .map(|i| i[1])
            .unwrap();
        let fills = looped
            .iter()
            .filter(|i| i[0] & 0xffff == spirv::Op::CompositeConstruct as u32 && i[1] == half4)
            .count();
        assert_eq!(fills, 2 * 128 * 32 / 256 / 4);
        validate_spirv_with(&validator, words, &["vulkan1.1", "vulkan1.2", "vulkan1.3"])
            .unwrap_or_else(|e| panic!("safe {safe}: {e}"));
    }
}

/// The f16 attention example at 64x64 tiles and a head of 64: both `dot`s keep their results
/// in cooperative matrices (`q kᵀ` from a splat of zeros, `p v` into the carried
/// accumulator), the softmax reads their elements through conversions, and every module
/// validates.
#[test]
fn cooperative_attention_validates() {
    use tk::ir::schedule::{DotPlan, Plan};
    let validator = coop_spirv_val();
    {
        let (module, artifact) = compiled_example(
            "attention",
            "attention_fwd",
            &[("HEAD_DIM", 64), ("BLOCK_M", 64), ("BLOCK_N", 64)],
            &coop_gpu(TILE),
        );
        let schedule = module.kernel.schedule.as_ref().unwrap();
        let dots = schedule.cooperative_dots();
        assert_eq!(dots.len(), 2, "{}", ir::print::print(&module));
        for dot in dots {
            assert!(
                matches!(
                    schedule.plan(dot),
                    Some(Plan::Dot(DotPlan::CooperativeTiles(_)))
                ),
                "{}",
                ir::print::print(&module)
            );
        }
        assert!(schedule.workgroup_bytes() <= 49152);
        validate_spirv_with(
            &validator,
            &artifact.words,
            &["vulkan1.1", "vulkan1.2", "vulkan1.3"],
        )
        .unwrap();
    }
}
