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
