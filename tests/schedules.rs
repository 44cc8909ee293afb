//! The schedules chosen per device kind (docs/decisions.md, "Scheduling decisions"), read off
//! the compiled examples: on a CPU device reductions shuffle within the one-subgroup workgroup and
//! `dot` runs in registers (no barrier, no layout conversion), and vectorised accesses move 64-bit
//! components; GPUs and portable output stage through shared memory. The device tests
//! (tests/tutorials.rs, tests/linalg.rs) run the same kernels on lavapipe, a CPU device.
mod common;

use rspirv::binary::Disassemble;
use tk::abi::{Artifact, Target};
use tk::driver::{self, BuildOptions, Source};
use tk::ir::InstKind;

/// The scheduled module and the artifact of example `file`'s `kernel` for `target` (validated).
fn build_example(file: &str, kernel: &str, target: &Target) -> (tk::ir::Module, Artifact) {
    let path = format!("{}/examples/{file}.tk", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let source = Source::new(&path, &text);
    let build = driver::build(&source, kernel, &[], target, &BuildOptions::default()).unwrap();
    common::validate_spirv(&build.artifact.words).unwrap();
    (build.scheduled, build.artifact)
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
    let (module, artifact) = build_example("matmul", "matmul", &Target::cpu());
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
        let (module, artifact) = build_example("matmul", "matmul", &target);
        assert!(module.kernel.schedule.as_ref().unwrap().shared_bytes > 0);
        assert!(assembly(&artifact).contains("OpControlBarrier"));
    }
}

#[test]
fn cpu_softmax_reduces_by_subgroup_shuffles() {
    let (module, artifact) = build_example("softmax", "softmax", &Target::cpu());
    assert_eq!(conversions(&module), 0);
    let asm = assembly(&artifact);
    assert!(!asm.contains("OpControlBarrier"), "{asm}");
    // Two reductions over 8 lanes: three butterfly steps each.
    assert_eq!(asm.matches("OpGroupNonUniformShuffleXor").count(), 6);
    assert!(asm.contains("SubgroupLocalInvocationId"));
    assert!(artifact.abi.features.subgroup_shuffle);
    // Portable output assumes no subgroup size.
    let (_, portable) = build_example("softmax", "softmax", &Target::portable());
    let asm = assembly(&portable);
    assert!(!asm.contains("ShuffleXor") && asm.contains("OpControlBarrier"));
}

#[test]
fn cpu_vector_add_moves_64_bit_components() {
    let (_, artifact) = build_example("vector_add", "vector_add", &Target::cpu());
    let asm = assembly(&artifact);
    assert!(asm.contains("OpTypeInt 64 0"), "packed u64 views: {asm}");
    assert!(artifact.abi.features.int64);
    let (_, portable) = build_example("vector_add", "vector_add", &Target::portable());
    assert!(!assembly(&portable).contains("OpTypeInt 64"));
}
