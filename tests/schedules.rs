//! The schedules chosen per device kind (docs/decisions.md, "Scheduling decisions"), read off
//! the compiled examples: on a CPU device reductions shuffle within the one-subgroup workgroup and
//! `dot` runs in registers, `a` shuffled from the lanes that load it (no barrier, no layout
//! conversion), and vectorised accesses move 64-bit
//! components; GPUs and portable output stage through shared memory. The device tests
//! (tests/tutorials.rs, tests/linalg.rs) run the same kernels on lavapipe, a CPU device.
mod common;

use rspirv::binary::Disassemble;
use tk::abi::{Artifact, Target};
use tk::driver::{self, DiskLoader};
use tk::ir::InstKind;

fn compile(file: &str, kernel: &str, target: &Target) -> (tk::ir::Module, Artifact) {
    let path = format!("{}/examples/{file}.tk", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let program = driver::check_source(&path, &text, &DiskLoader);
    assert!(!program.has_errors(), "{:?}", program.diagnostics);
    let lowered = driver::lower(&program, kernel, &[]).unwrap();
    let (scheduled, artifact) = driver::compile(lowered, target, true).unwrap();
    common::validate_spirv(&artifact.words).unwrap();
    (scheduled, artifact)
}

fn assembly(artifact: &Artifact) -> String {
    rspirv::dr::load_words(&artifact.words)
        .unwrap()
        .disassemble()
}

fn conversions(module: &tk::ir::Module) -> usize {
    module
        .kernel
        .insts
        .iter()
        .filter(|(_, inst)| matches!(inst.kind, InstKind::ConvertLayout(_)))
        .count()
}

#[test]
fn cpu_matmul_runs_dot_in_registers() {
    let (module, artifact) = compile("matmul", "matmul", &Target::cpu());
    assert_eq!(conversions(&module), 0, "{}", tk::ir::print::print(&module));
    let asm = assembly(&artifact);
    assert!(
        !asm.contains("OpControlBarrier"),
        "no staging on a CPU device"
    );
    assert_eq!(module.kernel.schedule.as_ref().unwrap().threads, 8);
}

#[test]
fn gpu_matmul_stages_dot_in_shared_memory() {
    for target in [Target::gpu(), Target::portable()] {
        let (module, artifact) = compile("matmul", "matmul", &target);
        assert!(module.kernel.schedule.as_ref().unwrap().dot_bytes > 0);
        assert!(assembly(&artifact).contains("OpControlBarrier"));
    }
}

#[test]
fn cpu_softmax_reduces_by_subgroup_shuffles() {
    let (module, artifact) = compile("softmax", "softmax", &Target::cpu());
    assert_eq!(conversions(&module), 0);
    let asm = assembly(&artifact);
    assert!(!asm.contains("OpControlBarrier"), "{asm}");
    // Two reductions over 8 lanes: three butterfly steps each.
    assert_eq!(asm.matches("OpGroupNonUniformShuffleXor").count(), 6);
    assert!(asm.contains("SubgroupLocalInvocationId"));
    assert!(artifact.abi.features.subgroup_shuffle);
    // Portable output assumes no subgroup size.
    let (_, portable) = compile("softmax", "softmax", &Target::portable());
    let asm = assembly(&portable);
    assert!(!asm.contains("ShuffleXor") && asm.contains("OpControlBarrier"));
}

#[test]
fn cpu_vector_add_moves_64_bit_components() {
    let (_, artifact) = compile("vector_add", "vector_add", &Target::cpu());
    let asm = assembly(&artifact);
    assert!(asm.contains("OpTypeInt 64 0"), "packed u64 views: {asm}");
    assert!(artifact.abi.features.int64);
    let (_, portable) = compile("vector_add", "vector_add", &Target::portable());
    assert!(!assembly(&portable).contains("OpTypeInt 64"));
}

/// The first `dot` of a scheduled module and its plan.
fn first_dot(module: &tk::ir::Module) -> (&tk::ir::Inst, tk::ir::Plan) {
    let schedule = module.kernel.schedule.as_ref().unwrap();
    let (id, inst) = module
        .kernel
        .insts
        .iter()
        .find(|(_, inst)| matches!(inst.kind, InstKind::Dot { .. }))
        .expect("a dot");
    (inst, schedule.plan(id).cloned().expect("the dot's plan"))
}

#[test]
fn cpu_dot_shuffles_a_from_the_lanes_that_load_it() {
    use tk::ir::layout::{Blocked, Layout};
    use tk::ir::schedule::DotPlan;
    // examples/matmul.tk at its defaults: a 32x32 result from [32, 16] x [16, 32] per step.
    let (module, artifact) = compile("matmul", "matmul", &Target::cpu());
    let (dot, plan) = first_dot(&module);
    assert_eq!(plan, tk::ir::Plan::Dot(DotPlan::Broadcast));
    let schedule = module.kernel.schedule.as_ref().unwrap();
    let InstKind::Dot { a, b, .. } = dot.kind else {
        unreachable!()
    };
    // `a` is loaded once between the 8 lanes (4 rows each, all of K), not once per lane.
    assert_eq!(
        schedule.layouts[a.index()],
        Some(Layout::Blocked(Blocked {
            shape: vec![32, 16],
            size_per_thread: vec![1, 16],
            threads_per_dim: vec![8, 1],
        }))
    );
    assert_eq!(schedule.layouts[a.index()].as_ref().unwrap().regs(), 64);
    // `b` holds each lane's own columns; every row of the result is in every lane.
    let Some(Layout::Blocked(lb)) = &schedule.layouts[b.index()] else {
        panic!("a blocked b")
    };
    assert_eq!(lb.threads_per_dim, vec![1, 8]);
    assert_eq!(lb.size_per_thread, vec![16, 4]);
    assert_eq!(conversions(&module), 0, "{}", tk::ir::print::print(&module));
    let asm = assembly(&artifact);
    assert!(
        !asm.contains("OpControlBarrier"),
        "no staging on a CPU device"
    );
    // One shuffle per element of `a` (32 rows x 16), from a constant lane.
    assert_eq!(asm.matches("OpGroupNonUniformShuffle ").count(), 32 * 16);
    assert!(artifact.abi.features.subgroup_shuffle);
    // 32 x 32 results over 8 lanes, 16 FMAs each.
    assert_eq!(asm.matches("Fma").count(), 32 * 4 * 16);
}

#[test]
fn gpu_f32_dot_reads_a_register_tile_with_vectors_and_double_buffers() {
    use tk::ir::layout::{Blocked, Layout};
    use tk::ir::schedule::DotPlan;
    let path = format!(
        "{}/benches/kernels/matmul_autotune.tk",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let program = driver::check_source(&path, &text, &DiskLoader);
    let consts = [
        ("BLOCK_M".to_string(), tk::base::Literal::Int(128)),
        ("BLOCK_N".to_string(), tk::base::Literal::Int(128)),
        ("BLOCK_K".to_string(), tk::base::Literal::Int(16)),
    ];
    let lowered = driver::lower(&program, "matmul", &consts).unwrap();
    let (module, artifact) = driver::compile(lowered, &Target::gpu(), true).unwrap();
    common::validate_spirv(&artifact.words).unwrap();
    let schedule = module.kernel.schedule.as_ref().unwrap();
    assert_eq!(schedule.threads, 256);
    let (dot, plan) = first_dot(&module);
    let tk::ir::Plan::Dot(DotPlan::Staged(staging)) = plan else {
        panic!("a staged dot: {plan:?}")
    };
    // An 8x8 register tile per invocation: blocks of 4x4, invocations 16 x 16.
    let InstKind::Dot { acc, .. } = dot.kind else {
        unreachable!()
    };
    let tile = Layout::Blocked(Blocked {
        shape: vec![128, 128],
        size_per_thread: vec![4, 4],
        threads_per_dim: vec![16, 16],
    });
    assert_eq!(schedule.layouts[acc.index()], Some(tile.clone()));
    assert_eq!(tile.regs(), 64);
    // `a` transposed with rows padded by one four-vector, reads of four, all of K unrolled,
    // two buffers of 16 x (132 + 128) f32.
    assert_eq!((staging.a_row_stride, staging.b_row_stride), (132, 128));
    assert_eq!(
        (staging.vector, staging.k_unroll, staging.stages),
        (4, 16, 2)
    );
    assert_eq!(schedule.dot_bytes, 2 * 16 * (132 + 128) * 4);
    // Nothing moves between layouts, so the only barrier is the dot's one per K step.
    assert_eq!(conversions(&module), 0, "{}", tk::ir::print::print(&module));
    let asm = assembly(&artifact);
    assert_eq!(asm.matches("OpControlBarrier").count(), 1, "{asm}");
    // Per k: two four-vectors of `a_t` and two of `b` (8 rows and 8 columns), 64 FMAs.
    let float = asm
        .lines()
        .find_map(|l| l.strip_suffix(" = OpTypeFloat 32"))
        .expect("f32");
    let vec4 = asm
        .lines()
        .find_map(|l| l.strip_suffix(&format!(" = OpTypeVector {float} 4")))
        .expect("an f32 four-vector");
    let vec4_loads = asm
        .lines()
        .filter(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.get(2) == Some(&"OpLoad") && words.get(3) == Some(&vec4)
        })
        .count();
    assert_eq!(vec4_loads, 16 * 4, "{asm}");
    assert!(asm.matches("Fma").count() >= 16 * 64);
}
