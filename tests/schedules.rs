//! The schedules chosen per device kind (docs/decisions.md, "Scheduling decisions"), read off
//! the compiled examples: on a CPU device reductions shuffle within the one-subgroup workgroup and
//! `dot` runs in registers, `a` shuffled from the lanes that load it (no barrier, no layout
//! conversion), and vectorised accesses move 64-bit
//! components; GPUs and portable output stage through shared memory. The device tests
//! (tests/tutorials.rs, tests/linalg.rs) run the same kernels on lavapipe, a CPU device.
mod common;

use rspirv::binary::Disassemble;
use tk::abi::{Artifact, Target};
use tk::base::{KernelArg, Literal, ScalarType};
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
        assert!(module.kernel.schedule.as_ref().unwrap().dot_bytes > 0);
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

/// The launch arguments of `examples/softmax.tk` for `rows` × `cols` f32.
fn softmax_args(rows: usize, cols: usize) -> Vec<KernelArg> {
    vec![
        common::zeros(ScalarType::F32, rows * cols),
        common::zeros(ScalarType::F32, rows * cols),
        common::int(rows as i64),
        common::int(cols as i64),
    ]
}

/// The launch arguments of `examples/vector_add.tk` for `n` f32.
fn vector_add_args(n: usize) -> Vec<KernelArg> {
    vec![
        common::zeros(ScalarType::F32, n),
        common::zeros(ScalarType::F32, n),
        common::zeros(ScalarType::F32, n),
        common::int(n as i64),
    ]
}

/// Compiles an example kernel with `consts` for `target`, specialised for `args` when given (as
/// `tkc run` compiles a launch), and validates it.
fn compile_for(
    file: &str,
    kernel: &str,
    consts: &[(&str, i128)],
    target: &Target,
    args: Option<&[KernelArg]>,
) -> (tk::ir::Module, Artifact) {
    let path = format!("{}/examples/{file}.tk", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let consts: Vec<(&str, Literal)> = consts.iter().map(|&(n, v)| (n, Literal::Int(v))).collect();
    let mut lowered = driver::lower_source(&Source::new(&path, &text), kernel, &consts).unwrap();
    if let Some(args) = args {
        driver::specialize(&mut lowered.module, args);
    }
    let build = driver::build_lowered(&lowered, target, &BuildOptions::default()).unwrap();
    common::validate_spirv(&build.artifact.words).unwrap();
    (build.scheduled, build.artifact)
}

/// What one invocation's code does with memory, counted in the module's instructions.
#[derive(Debug, Default)]
struct MemoryOps {
    /// Loads from workgroup memory.
    workgroup_loads: usize,
    /// Loads and stores of storage buffers by the type they move (`f32`, `f32x4`, `u64x2`;
    /// `u32` includes the status buffer of safe mode).
    buffer_loads: std::collections::BTreeMap<String, usize>,
    buffer_stores: std::collections::BTreeMap<String, usize>,
}

fn memory_ops(artifact: &Artifact) -> MemoryOps {
    use rspirv::dr::Operand;
    use rspirv::spirv::{Op, StorageClass};
    let module = rspirv::dr::load_words(&artifact.words).unwrap();
    // The text of every scalar and vector type, the storage class and pointee of every pointer
    // type, and the type of every value.
    let mut names = std::collections::HashMap::new();
    let mut pointers = std::collections::HashMap::new();
    let mut types = std::collections::HashMap::new();
    let word = |op: &Operand| match op {
        Operand::IdRef(id) => *id,
        Operand::LiteralBit32(n) => *n,
        _ => 0,
    };
    for inst in &module.types_global_values {
        let id = inst.result_id.unwrap_or(0);
        match inst.class.opcode {
            Op::TypeInt => {
                let signed = word(&inst.operands[1]) == 1;
                let kind = if signed { "i" } else { "u" };
                names.insert(id, format!("{kind}{}", word(&inst.operands[0])));
            }
            Op::TypeFloat => {
                names.insert(id, format!("f{}", word(&inst.operands[0])));
            }
            Op::TypeVector => {
                let elem = names[&word(&inst.operands[0])].clone();
                names.insert(id, format!("{elem}x{}", word(&inst.operands[1])));
            }
            Op::TypePointer => {
                let Operand::StorageClass(class) = inst.operands[0] else {
                    continue;
                };
                pointers.insert(id, (class, word(&inst.operands[1])));
            }
            _ => {}
        }
        if let (Some(ty), Some(id)) = (inst.result_type, inst.result_id) {
            types.insert(id, ty);
        }
    }
    let mut ops = MemoryOps::default();
    for function in &module.functions {
        for block in &function.blocks {
            for inst in &block.instructions {
                if let (Some(ty), Some(id)) = (inst.result_type, inst.result_id) {
                    types.insert(id, ty);
                }
                let pointer = match inst.class.opcode {
                    Op::Load | Op::Store => word(&inst.operands[0]),
                    _ => continue,
                };
                let Some(&(class, pointee)) = types.get(&pointer).and_then(|t| pointers.get(t))
                else {
                    continue;
                };
                let name = names.get(&pointee).cloned().unwrap_or_default();
                match (inst.class.opcode, class) {
                    (Op::Load, StorageClass::Workgroup) => ops.workgroup_loads += 1,
                    (Op::Load, StorageClass::StorageBuffer) => {
                        *ops.buffer_loads.entry(name).or_default() += 1
                    }
                    (Op::Store, StorageClass::StorageBuffer) => {
                        *ops.buffer_stores.entry(name).or_default() += 1
                    }
                    _ => {}
                }
            }
        }
    }
    ops
}

/// `examples/softmax.tk` at BLOCK 4096 for a GPU, specialised for `args` when given.
fn gpu_softmax(args: Option<&[KernelArg]>) -> (tk::ir::Module, Artifact) {
    compile_for(
        "softmax",
        "softmax",
        &[("BLOCK", 4096)],
        &Target::gpu(),
        args,
    )
}

#[test]
fn gpu_softmax_reduces_by_subgroups_with_one_shared_round() {
    let (module, artifact) = gpu_softmax(None);
    let schedule = module.kernel.schedule.as_ref().unwrap();
    assert_eq!(schedule.threads, 256);
    let asm = assembly(&artifact);
    // max then sum: one subgroup reduction each (max adds one for NaNs).
    assert_eq!(asm.matches("OpGroupNonUniformFMax").count(), 1, "{asm}");
    assert_eq!(asm.matches("OpGroupNonUniformFAdd").count(), 1);
    assert!(asm.contains("BuiltIn SubgroupId") && asm.contains("BuiltIn NumSubgroups"));
    assert!(!asm.contains("ShuffleXor"), "no subgroup size is assumed");
    // One value per subgroup through shared memory: per reduction, subgroup 0's value and one
    // load in the loop over the other subgroups (was 256 loads per reduction, one per
    // invocation of the workgroup), and two barriers.
    let ops = memory_ops(&artifact);
    assert_eq!(ops.workgroup_loads, 4, "{ops:?}");
    assert_eq!(asm.matches("OpControlBarrier").count(), 4);
    assert!(artifact.abi.features.subgroup_arithmetic);
    // The scratch holds a slot per invocation: the most subgroups there can be.
    assert_eq!(schedule.shared_bytes, 1024);
}

#[test]
fn gpu_layer_norm_reduces_by_subgroups_and_moves_128_bit_vectors() {
    let (_, artifact) = compile_for(
        "layer_norm",
        "layer_norm_fwd",
        &[("BLOCK", 4096)],
        &Target::gpu(),
        None,
    );
    let asm = assembly(&artifact);
    assert_eq!(asm.matches("OpGroupNonUniformFAdd").count(), 2, "{asm}");
    assert_eq!(memory_ops(&artifact).workgroup_loads, 4);
    // Specialised for a row of 4096 (as the kernel suite launches it): the loop variable is a
    // multiple of BLOCK, so every row access in the three loops is a vec4 under one condition.
    let (rows, cols) = (16, 4096);
    let args = [
        common::zeros(ScalarType::F32, rows * cols),
        common::zeros(ScalarType::F32, rows * cols),
        common::zeros(ScalarType::F32, cols),
        common::zeros(ScalarType::F32, cols),
        common::zeros(ScalarType::F32, rows),
        common::zeros(ScalarType::F32, rows),
        common::int(cols as i64),
        common::int(rows as i64),
        common::int(cols as i64),
        common::float(1e-5),
    ];
    let (module, artifact) = compile_for(
        "layer_norm",
        "layer_norm_fwd",
        &[("BLOCK", 1024)],
        &Target::gpu(),
        Some(&args),
    );
    let printed = tk::ir::print::print(&module);
    assert_eq!(
        printed.matches("!vector(4, one mask, whole)").count(),
        6,
        "{printed}"
    );
    let ops = memory_ops(&artifact);
    // x three times, w and b: one vec4 each per invocation; y as a vec4, mean and rstd alone.
    assert_eq!(ops.buffer_loads.get("f32x4"), Some(&5), "{ops:?}");
    assert_eq!(ops.buffer_loads.get("f32"), None, "{ops:?}");
    assert_eq!(ops.buffer_stores.get("f32x4"), Some(&1), "{ops:?}");
    assert_eq!(ops.buffer_stores.get("f32"), Some(&2), "{ops:?}");
}

#[test]
fn gpu_softmax_rows_move_in_128_bit_vectors() {
    // Specialised for 4096 columns (divisible by 16, as Triton specialises): every row access
    // is a vec4 of f32 under one condition, with no element-by-element path.
    let (module, artifact) = gpu_softmax(Some(&softmax_args(16, 4096)));
    let printed = tk::ir::print::print(&module);
    assert!(printed.contains("divisible(x.len % 16, out.len % 16, n_rows % 16, n_cols % 16)"));
    assert_eq!(
        printed.matches("!vector(4, one mask, whole)").count(),
        2,
        "{printed}"
    );
    let ops = memory_ops(&artifact);
    // 16 elements per invocation: four vec4 loads and four vec4 stores, no f32 alone.
    assert_eq!(ops.buffer_loads.get("f32x4"), Some(&4), "{ops:?}");
    assert_eq!(ops.buffer_stores.get("f32x4"), Some(&4), "{ops:?}");
    assert_eq!(ops.buffer_loads.get("f32"), None, "{ops:?}");
    assert_eq!(ops.buffer_stores.get("f32"), None, "{ops:?}");
    // Without the promise each vec4 checks its alignment at run time and keeps an
    // element-by-element path.
    let (module, artifact) = gpu_softmax(None);
    let printed = tk::ir::print::print(&module);
    assert_eq!(
        printed.matches("!vector(4, unaligned)").count(),
        2,
        "{printed}"
    );
    let ops = memory_ops(&artifact);
    assert_eq!(ops.buffer_loads.get("f32x4"), Some(&4), "{ops:?}");
    assert_eq!(ops.buffer_loads.get("f32"), Some(&16), "{ops:?}");
}

#[test]
fn vector_add_specialised_has_no_element_path() {
    let args = vector_add_args(1 << 20);
    for target in [Target::gpu(), Target::cpu()] {
        let (module, artifact) = compile_for(
            "vector_add",
            "vector_add",
            &[("BLOCK", 1024)],
            &target,
            Some(&args),
        );
        let printed = tk::ir::print::print(&module);
        assert_eq!(
            printed.matches(", one mask, whole)").count(),
            3,
            "{printed}"
        );
        let ops = memory_ops(&artifact);
        // GPU: vec4 of f32; CPU: u64vec4 (lavapipe costs per component); nothing narrower
        // but the status words of safe mode.
        let wide = if target.processor == tk::abi::Processor::Cpu {
            "u64x4"
        } else {
            "f32x4"
        };
        assert_eq!(
            ops.buffer_loads.keys().collect::<Vec<_>>(),
            [wide],
            "{ops:?}"
        );
        let mut stored: Vec<&str> = ops.buffer_stores.keys().map(|k| k.as_str()).collect();
        stored.retain(|&k| k != "u32");
        assert_eq!(stored, [wide], "{ops:?}");
    }
    // An odd n: the mask may change within a vector, so each vector keeps its
    // element-by-element path for the tail.
    let args = vector_add_args((1 << 20) + 3);
    let (module, _) = compile_for(
        "vector_add",
        "vector_add",
        &[("BLOCK", 1024)],
        &Target::gpu(),
        Some(&args),
    );
    let printed = tk::ir::print::print(&module);
    assert_eq!(printed.matches("!vector(4)").count(), 3, "{printed}");
}

/// `L` and `S` for each load and store of a storage-buffer u64vec4 (a CPU device's 8-element
/// vector), in the order of the instructions.
fn u64x4_accesses(artifact: &Artifact) -> String {
    u64x4_accesses_and(artifact, &[])
}

/// `u64x4_accesses` with each instruction of an opcode of `marks` shown by its letter.
fn u64x4_accesses_and(artifact: &Artifact, marks: &[(rspirv::spirv::Op, char)]) -> String {
    let module = rspirv::dr::load_words(&artifact.words).unwrap();
    use rspirv::dr::Operand;
    use rspirv::spirv::{Op, StorageClass};
    let word = |op: &Operand| match op {
        Operand::IdRef(id) => *id,
        Operand::LiteralBit32(n) => *n,
        _ => 0,
    };
    let (mut u64_ty, mut wanted) = (0, 0);
    let mut pointers = std::collections::HashSet::new();
    for inst in &module.types_global_values {
        let id = inst.result_id.unwrap_or(0);
        match inst.class.opcode {
            Op::TypeInt if word(&inst.operands[0]) == 64 => u64_ty = id,
            Op::TypeVector if word(&inst.operands[0]) == u64_ty && word(&inst.operands[1]) == 4 => {
                wanted = id
            }
            Op::TypePointer
                if inst.operands[0] == Operand::StorageClass(StorageClass::StorageBuffer)
                    && word(&inst.operands[1]) == wanted =>
            {
                pointers.insert(id);
            }
            _ => {}
        }
    }
    let mut typed = std::collections::HashMap::new();
    let mut out = String::new();
    for block in module.functions.iter().flat_map(|f| &f.blocks) {
        for inst in &block.instructions {
            if let (Some(t), Some(id)) = (inst.result_type, inst.result_id) {
                typed.insert(id, t);
            }
            if let Some(&(_, mark)) = marks.iter().find(|(op, _)| *op == inst.class.opcode) {
                out.push(mark);
                continue;
            }
            let kind = match inst.class.opcode {
                Op::Load => 'L',
                Op::Store => 'S',
                _ => continue,
            };
            let pointer = word(&inst.operands[0]);
            if typed.get(&pointer).is_some_and(|t| pointers.contains(t)) {
                out.push(kind);
            }
        }
    }
    out
}

#[test]
fn cpu_vector_add_streams_one_vector_at_a_time() {
    // On a CPU device each 8-element vector of x and y is loaded, added and stored before the
    // next (a stream), instead of every vector of x, then of y, then the stores.
    let args = vector_add_args(1 << 20);
    let (module, artifact) = compile_for(
        "vector_add",
        "vector_add",
        &[("BLOCK", 1024)],
        &Target::cpu(),
        Some(&args),
    );
    let schedule = module.kernel.schedule.as_ref().unwrap();
    assert_eq!(schedule.streams.len(), 1, "{:?}", schedule.streams);
    assert_eq!(schedule.streams[0].registers, 8);
    assert_eq!(u64x4_accesses(&artifact), "LLS".repeat(16));
    // GPUs schedule loads themselves: no streams there.
    let (module, _) = compile_for(
        "vector_add",
        "vector_add",
        &[("BLOCK", 1024)],
        &Target::gpu(),
        Some(&args),
    );
    assert!(module.kernel.schedule.unwrap().streams.is_empty());
}

#[test]
fn cpu_softmax_computes_each_stored_vector_just_before_its_store() {
    // After the row sum, each 8-element vector is divided, packed and stored before the next
    // (a stream of one store), as a hand-written shader would: emitted as all 128 quotients
    // first, the kernel ran 3.6 ms on lavapipe against 3.15 (BENCHMARKS.md, "Softmax against
    // hand-written shaders").
    let args = softmax_args(64, 1024);
    let (module, artifact) = compile_for(
        "softmax",
        "softmax",
        &[("BLOCK", 1024)],
        &Target::cpu(),
        Some(&args),
    );
    let streams = &module.kernel.schedule.as_ref().unwrap().streams;
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert!(
        matches!(
            module.kernel.insts[streams[0].last].kind,
            InstKind::Store { .. }
        ),
        "{streams:?}"
    );
    let order = u64x4_accesses_and(&artifact, &[(rspirv::spirv::Op::FDiv, 'D')]);
    assert_eq!(order, "L".repeat(16) + &"DDDDDDDDS".repeat(16), "{order}");
}

#[test]
fn rows_aligned_to_fewer_elements_than_the_widest_vector_take_narrower_aligned_vectors() {
    // A specialised launch proves rows of 1,020 f32 start at multiples of 4 and rows of 1,022 at
    // multiples of 2: every row then moves in aligned 4- or 2-element vectors instead of
    // 8-element ones checked at run time, which half or three quarters of the rows would miss
    // and move element by element (lavapipe: 9.6 -> 4.3 ms for 4096 rows of 1,020).
    for (cols, cpu, gpu) in [(1024, 8, 4), (1020, 4, 4), (1022, 2, 2)] {
        let args = softmax_args(64, cols);
        for (target, vector) in [(Target::cpu(), cpu), (Target::gpu(), gpu)] {
            let (module, _) = compile_for(
                "softmax",
                "softmax",
                &[("BLOCK", 1024)],
                &target,
                Some(&args),
            );
            let printed = tk::ir::print::print(&module);
            let wanted = format!("!vector({vector}, one mask, whole)");
            assert_eq!(printed.matches(&wanted).count(), 2, "{cols}: {printed}");
        }
    }
    // Nothing proven (no specialisation): the widest vector, its alignment checked at run time.
    let (module, _) = compile_for(
        "softmax",
        "softmax",
        &[("BLOCK", 1024)],
        &Target::cpu(),
        None,
    );
    let printed = tk::ir::print::print(&module);
    assert_eq!(
        printed.matches("!vector(8, unaligned)").count(),
        2,
        "{printed}"
    );
}

#[test]
fn a_run_storing_to_a_buffer_it_loads_is_not_streamed() {
    // In place: streamed, the store of one vector would come before the load of the next, which
    // a shifted access could read.
    let source = "kernel k(x: *mut f32, n: i32) {
        let offs = program_id(0) * 1024 + arange(0, 1024);
        store(x + offs + 1, load(x + offs, mask: offs < n) + 1.0, mask: offs + 1 < n);
    }";
    let build = driver::build(
        &Source::new("k.tk", source),
        "k",
        &[],
        &Target::cpu(),
        &BuildOptions::default(),
    )
    .unwrap();
    assert!(build.scheduled.kernel.schedule.unwrap().streams.is_empty());
}

#[test]
fn a_vector_knob_caps_every_access() {
    // The autotune/search knob `vector`: vector add on a CPU device moves 8 elements per access
    // by default, at most what the knob allows when set.
    let path = format!("{}/examples/vector_add.tk", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let widest = |vector: Option<u32>| {
        let mut lowered =
            driver::lower_source(&Source::new(&path, &text), "vector_add", &[]).unwrap();
        lowered.module.kernel.vector = vector;
        let build =
            driver::build_lowered(&lowered, &Target::cpu(), &BuildOptions::default()).unwrap();
        common::validate_spirv(&build.artifact.words).unwrap();
        let schedule = build.scheduled.kernel.schedule.unwrap();
        schedule
            .plans
            .iter()
            .filter_map(|plan| match plan {
                Some(tk::ir::schedule::Plan::Access(access)) => Some(access.vector),
                _ => None,
            })
            .max()
            .unwrap()
    };
    assert_eq!(widest(None), 8);
    assert_eq!(widest(Some(4)), 4);
    assert_eq!(widest(Some(1)), 1);
}

/// The buffer loads and stores of `file`'s `kernel` compiled for `target`, safe or with
/// `--unchecked`, specialised for `args` when given, and the scheduled IR printed.
fn buffer_accesses(
    file: &str,
    kernel: &str,
    target: &Target,
    args: Option<&[KernelArg]>,
    safe: bool,
) -> (MemoryOps, String) {
    let path = format!("{}/examples/{file}.tk", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lowered = driver::lower_source(&Source::new(&path, &text), kernel, &[]).unwrap();
    if let Some(args) = args {
        driver::specialize(&mut lowered.module, args);
    }
    let build = driver::build_lowered(&lowered, target, &BuildOptions { safe }).unwrap();
    common::validate_spirv(&build.artifact.words).unwrap();
    (
        memory_ops(&build.artifact),
        tk::ir::print::print(&build.scheduled),
    )
}

/// The launch arguments of `examples/matmul.tk` for row-major f16 `m` × `k` and `k` × `n`.
fn matmul_args(m: i64, n: i64, k: i64) -> Vec<KernelArg> {
    let f16s = |len: i64| common::zeros(ScalarType::F16, len as usize);
    let mut args = vec![f16s(m * k), f16s(k * n), f16s(m * n)];
    args.extend([m, n, k, k, 1, n, 1, n, 1].map(common::int));
    args
}

/// The launch arguments of `examples/layer_norm.tk`'s forward kernel for `rows` × `cols` f32.
fn layer_norm_args(rows: usize, cols: usize) -> Vec<KernelArg> {
    let f32s = |n: usize| common::zeros(ScalarType::F32, n);
    vec![
        f32s(rows * cols),
        f32s(rows * cols),
        f32s(cols),
        f32s(cols),
        f32s(rows),
        f32s(rows),
        common::int(cols as i64),
        common::int(rows as i64),
        common::int(cols as i64),
        KernelArg::Scalar(Literal::Float(1e-5)),
    ]
}

#[test]
fn safe_mode_costs_no_memory_instructions_where_bounds_are_proven() {
    // Every masked access of these kernels is proven under a launch contract, so safe mode
    // emits the loads and stores `--unchecked` does (no per-element path), whatever the target
    // and whether or not the launch promised divisibility. Only layer_norm_fwd's unmasked
    // stores of one mean and one deviation per row keep their checks, which write the status
    // buffer (u32) when they fail. Matmul's operands go through pointers its K loop advances
    // under a mask whose limit moves with the loop.
    let softmax = softmax_args(16, 1000);
    let vector_add = vector_add_args(1000);
    let layer_norm = layer_norm_args(16, 1000);
    let matmul = matmul_args(96, 80, 64);
    let kernels: [(&str, &str, &[KernelArg]); 4] = [
        ("vector_add", "vector_add", &vector_add),
        ("softmax", "softmax", &softmax),
        ("layer_norm", "layer_norm_fwd", &layer_norm),
        ("matmul", "matmul", &matmul),
    ];
    for (file, kernel, args) in kernels {
        for target in [Target::cpu(), Target::gpu(), Target::portable()] {
            for args in [None, Some(args)] {
                let (mut safe, printed) = buffer_accesses(file, kernel, &target, args, true);
                let (unchecked, _) = buffer_accesses(file, kernel, &target, args, false);
                let status_stores = safe.buffer_stores.remove("u32");
                assert_eq!(
                    status_stores.is_some(),
                    kernel == "layer_norm_fwd",
                    "{printed}"
                );
                assert_eq!(
                    (&safe.buffer_loads, &safe.buffer_stores),
                    (&unchecked.buffer_loads, &unchecked.buffer_stores),
                    "{kernel} on {}: {printed}",
                    target.name
                );
                let masked = printed.lines().filter(|l| {
                    (l.contains(" load ") || l.contains("store ")) && l.contains("mask")
                });
                for access in masked {
                    assert!(access.contains("!proven"), "{access}");
                }
            }
        }
    }
}

#[test]
fn loads_whose_masked_lanes_only_reach_stores_under_their_mask_need_no_other() {
    // Vector add stores `x + y` under the mask both loads use: what `other` would put in the
    // masked-off lanes is never observed. Softmax reduces its row: `-inf` there matters.
    let plans = |file: &str, args: &[KernelArg]| -> Vec<bool> {
        let (module, _) = compile_for(file, file, &[], &Target::cpu(), Some(args));
        let schedule = module.kernel.schedule.unwrap();
        module
            .kernel
            .insts
            .iter()
            .filter(|(_, inst)| matches!(inst.kind, InstKind::Load { .. }))
            .filter_map(|(id, _)| match schedule.plans.get(id.index()) {
                Some(Some(tk::ir::schedule::Plan::Access(access))) => Some(access.other_unobserved),
                _ => None,
            })
            .collect()
    };
    assert_eq!(plans("vector_add", &vector_add_args(4096)), [true, true]);
    assert_eq!(plans("softmax", &softmax_args(4, 1024)), [false]);
}
