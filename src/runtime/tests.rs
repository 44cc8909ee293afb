//! Runtime tests on the real Vulkan device (lavapipe here): hand-written SPIR-V assembly
//! shaders that follow the ABI, assembled with `spirv-as` at test time. They fail, not skip,
//! when no device is found.
use super::*;
use crate::abi::{Abi, Artifact, BufferBinding, Features, PushField, PushRepr, STATUS_STORE_OOB};
use crate::base::{HostBuffer, KernelArg, Literal, ScalarType};

/// The part every test shader shares: capabilities, the entry point with workgroup size
/// `{LOCAL}`, the push-constant header plus `{PUSH_MEMBERS}`, common types and constants, and
/// the program-id prologue. It defines `%pid` (the recomputed program id), `%live` (the program
/// is inside the logical grid, not dispatch padding) and `%lx` (local invocation x).
const PRELUDE: &str = r#"
               OpCapability Shader
               OpMemoryModel Logical GLSL450
               OpEntryPoint GLCompute %main "main" %wgid %lid
               OpExecutionMode %main LocalSize {LOCAL} 1 1
               OpDecorate %wgid BuiltIn WorkgroupId
               OpDecorate %lid BuiltIn LocalInvocationId
               OpMemberDecorate %push 0 Offset 0
               OpMemberDecorate %push 1 Offset 4
               OpMemberDecorate %push 2 Offset 8
               OpMemberDecorate %push 3 Offset 12
               OpMemberDecorate %push 4 Offset 16
               {PUSH_DECORATIONS}
               OpDecorate %push Block
               {DECORATIONS}
       %void = OpTypeVoid
         %fn = OpTypeFunction %void
       %bool = OpTypeBool
        %u32 = OpTypeInt 32 0
        %f32 = OpTypeFloat 32
        %v3u = OpTypeVector %u32 3
     %in_v3u = OpTypePointer Input %v3u
     %pc_u32 = OpTypePointer PushConstant %u32
     %pc_f32 = OpTypePointer PushConstant %f32
       %push = OpTypeStruct %u32 %u32 %u32 %u32 %u32 {PUSH_MEMBERS}
     %p_push = OpTypePointer PushConstant %push
         %pc = OpVariable %p_push PushConstant
       %wgid = OpVariable %in_v3u Input
        %lid = OpVariable %in_v3u Input
         %c0 = OpConstant %u32 0
         %c1 = OpConstant %u32 1
         %c2 = OpConstant %u32 2
         %c3 = OpConstant %u32 3
         %c4 = OpConstant %u32 4
         %c5 = OpConstant %u32 5
         %c6 = OpConstant %u32 6
      %local = OpConstant %u32 {LOCAL}
               {GLOBALS}
       %main = OpFunction %void None %fn
      %entry = OpLabel
         %wg = OpLoad %v3u %wgid
        %wgx = OpCompositeExtract %u32 %wg 0
        %wgy = OpCompositeExtract %u32 %wg 1
        %wgz = OpCompositeExtract %u32 %wg 2
       %p_gx = OpAccessChain %pc_u32 %pc %c0
         %gx = OpLoad %u32 %p_gx
       %p_gy = OpAccessChain %pc_u32 %pc %c1
         %gy = OpLoad %u32 %p_gy
       %p_gz = OpAccessChain %pc_u32 %pc %c2
         %gz = OpLoad %u32 %p_gz
       %p_dx = OpAccessChain %pc_u32 %pc %c3
         %dx = OpLoad %u32 %p_dx
       %p_dy = OpAccessChain %pc_u32 %pc %c4
         %dy = OpLoad %u32 %p_dy
       %yz_0 = OpIMul %u32 %dy %wgz
       %yz_1 = OpIAdd %u32 %wgy %yz_0
       %yz_2 = OpIMul %u32 %dx %yz_1
        %pid = OpIAdd %u32 %wgx %yz_2
        %gxy = OpIMul %u32 %gx %gy
      %total = OpIMul %u32 %gxy %gz
       %live = OpULessThan %bool %pid %total
         %lv = OpLoad %v3u %lid
         %lx = OpCompositeExtract %u32 %lv 0
               {BODY}
               OpFunctionEnd
"#;

/// A runtime array of u32 (also bool, stored as u32) or f32 in a `Block` struct.
const BUFFER_TYPES: &str = r#"
       %uarr = OpTypeRuntimeArray %u32
       %ubuf = OpTypeStruct %uarr
     %p_ubuf = OpTypePointer StorageBuffer %ubuf
      %p_u32 = OpTypePointer StorageBuffer %u32
       %farr = OpTypeRuntimeArray %f32
       %fbuf = OpTypeStruct %farr
     %p_fbuf = OpTypePointer StorageBuffer %fbuf
      %p_f32 = OpTypePointer StorageBuffer %f32
"#;

const BUFFER_DECORATIONS: &str = r#"
               OpDecorate %uarr ArrayStride 4
               OpMemberDecorate %ubuf 0 Offset 0
               OpDecorate %ubuf Block
               OpDecorate %farr ArrayStride 4
               OpMemberDecorate %fbuf 0 Offset 0
               OpDecorate %fbuf Block
"#;

struct ShaderText<'a> {
    local: u32,
    /// (type id, byte offset) of the scalar push fields after the header.
    push: &'a [(&'a str, u32)],
    decorations: &'a str,
    globals: &'a str,
    body: &'a str,
}

fn shader_text(shader: &ShaderText) -> String {
    let push_members: Vec<&str> = shader.push.iter().map(|(ty, _)| *ty).collect();
    let push_decorations: Vec<String> = shader
        .push
        .iter()
        .enumerate()
        .map(|(i, (_, offset))| format!("OpMemberDecorate %push {} Offset {offset}", i + 5))
        .collect();
    PRELUDE
        .replace("{LOCAL}", &shader.local.to_string())
        .replace("{PUSH_MEMBERS}", &push_members.join(" "))
        .replace("{PUSH_DECORATIONS}", &push_decorations.join("\n"))
        .replace(
            "{DECORATIONS}",
            &format!("{BUFFER_DECORATIONS}{}", shader.decorations),
        )
        .replace("{GLOBALS}", &format!("{BUFFER_TYPES}{}", shader.globals))
        .replace("{BODY}", shader.body)
}

/// `out[i] = x[i] + s` for `i < n`, 64 invocations per program.
fn add_shader() -> String {
    shader_text(&ShaderText {
        local: 64,
        push: &[("%f32", 32), ("%u32", 36)],
        decorations: r#"
               OpDecorate %x DescriptorSet 0
               OpDecorate %x Binding 0
               OpDecorate %out DescriptorSet 0
               OpDecorate %out Binding 1
"#,
        globals: r#"
          %x = OpVariable %p_fbuf StorageBuffer
        %out = OpVariable %p_fbuf StorageBuffer
"#,
        body: r#"
       %base = OpIMul %u32 %pid %local
          %i = OpIAdd %u32 %base %lx
        %p_n = OpAccessChain %pc_u32 %pc %c6
          %n = OpLoad %u32 %p_n
      %in_n = OpULessThan %bool %i %n
         %go = OpLogicalAnd %bool %live %in_n
               OpSelectionMerge %end None
               OpBranchConditional %go %body %end
       %body = OpLabel
        %p_x = OpAccessChain %p_f32 %x %c0 %i
         %xv = OpLoad %f32 %p_x
        %p_s = OpAccessChain %pc_f32 %pc %c5
          %s = OpLoad %f32 %p_s
        %sum = OpFAdd %f32 %xv %s
      %p_out = OpAccessChain %p_f32 %out %c0 %i
               OpStore %p_out %sum
               OpBranch %end
        %end = OpLabel
               OpReturn
"#,
    })
}

/// `out[i] = !x[i]` over bool buffers (u32 words on the device), `i < arrayLength(x)`.
fn not_shader() -> String {
    shader_text(&ShaderText {
        local: 64,
        push: &[],
        decorations: r#"
               OpDecorate %x DescriptorSet 0
               OpDecorate %x Binding 0
               OpDecorate %out DescriptorSet 0
               OpDecorate %out Binding 1
"#,
        globals: r#"
          %x = OpVariable %p_ubuf StorageBuffer
        %out = OpVariable %p_ubuf StorageBuffer
"#,
        body: r#"
       %base = OpIMul %u32 %pid %local
          %i = OpIAdd %u32 %base %lx
          %n = OpArrayLength %u32 %x 0
       %in_n = OpULessThan %bool %i %n
         %go = OpLogicalAnd %bool %live %in_n
               OpSelectionMerge %end None
               OpBranchConditional %go %body %end
       %body = OpLabel
        %p_x = OpAccessChain %p_u32 %x %c0 %i
         %xv = OpLoad %u32 %p_x
       %zero = OpIEqual %bool %xv %c0
        %not = OpSelect %u32 %zero %c1 %c0
      %p_out = OpAccessChain %p_u32 %out %c0 %i
               OpStore %p_out %not
               OpBranch %end
        %end = OpLabel
               OpReturn
"#,
    })
}

/// One invocation per program: `out[pid] = pid`.
fn program_id_shader() -> String {
    shader_text(&ShaderText {
        local: 1,
        push: &[],
        decorations: r#"
               OpDecorate %out DescriptorSet 0
               OpDecorate %out Binding 0
"#,
        globals: r#"
        %out = OpVariable %p_ubuf StorageBuffer
"#,
        body: r#"
               OpSelectionMerge %end None
               OpBranchConditional %live %body %end
       %body = OpLabel
      %p_out = OpAccessChain %p_u32 %out %c0 %pid
               OpStore %p_out %pid
               OpBranch %end
        %end = OpLabel
               OpReturn
"#,
    })
}

/// Program 3 records a store out of bounds of parameter 0 at index 2^32 + 17 in the status
/// buffer (binding 1), as the compiler's safe mode does.
fn status_shader() -> String {
    shader_text(&ShaderText {
        local: 1,
        push: &[],
        decorations: r#"
               OpDecorate %data DescriptorSet 0
               OpDecorate %data Binding 0
               OpDecorate %status DescriptorSet 0
               OpDecorate %status Binding 1
"#,
        globals: r#"
       %data = OpVariable %p_ubuf StorageBuffer
     %status = OpVariable %p_ubuf StorageBuffer
        %c17 = OpConstant %u32 17
"#,
        body: r#"
      %three = OpIEqual %bool %pid %c3
               OpSelectionMerge %end None
               OpBranchConditional %three %body %end
       %body = OpLabel
         %w0 = OpAccessChain %p_u32 %status %c0 %c0
               OpStore %w0 %c1
         %w1 = OpAccessChain %p_u32 %status %c0 %c1
               OpStore %w1 %c2
         %w2 = OpAccessChain %p_u32 %status %c0 %c2
               OpStore %w2 %c0
         %w3 = OpAccessChain %p_u32 %status %c0 %c3
               OpStore %w3 %c17
         %w4 = OpAccessChain %p_u32 %status %c0 %c4
               OpStore %w4 %c1
         %w5 = OpAccessChain %p_u32 %status %c0 %c5
               OpStore %w5 %pid
               OpBranch %end
        %end = OpLabel
               OpReturn
"#,
    })
}

/// Assembles SPIR-V text with `spirv-as` for Vulkan 1.1.
fn assemble(name: &str, text: &str) -> Vec<u32> {
    let dir = std::env::temp_dir().join(format!("tk-runtime-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Tests run in parallel and assemble the same shaders: every call gets its own files.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let source = dir.join(format!("{name}-{call}.spvasm"));
    let binary = dir.join(format!("{name}-{call}.spv"));
    std::fs::write(&source, text).expect("write spvasm");
    let output = std::process::Command::new("spirv-as")
        .args(["--target-env", "vulkan1.1"])
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .output()
        .expect("spirv-as must be installed");
    assert!(
        output.status.success(),
        "spirv-as failed on {name}: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(&binary).expect("read spv");
    let _ = std::fs::remove_file(&source);
    let _ = std::fs::remove_file(&binary);
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn buffer(
    binding: u32,
    param: &str,
    param_index: u32,
    elem: ScalarType,
    writable: bool,
) -> BufferBinding {
    BufferBinding {
        binding,
        param: param.to_string(),
        param_index,
        elem,
        writable,
    }
}

fn abi(
    kernel: &str,
    workgroup: u32,
    buffers: Vec<BufferBinding>,
    push_fields: Vec<PushField>,
) -> Abi {
    let push_bytes = push_fields
        .iter()
        .map(|f| f.offset + f.repr.bytes())
        .max()
        .unwrap_or(crate::abi::PUSH_HEADER_BYTES);
    Abi {
        kernel: kernel.to_string(),
        entry_point: "main".to_string(),
        workgroup_size: [workgroup, 1, 1],
        buffers,
        push_fields,
        push_bytes,
        status_binding: None,
        uniform_binding: None,
        uniform_bytes: 0,
        shared_bytes: 0,
        features: Features::default(),
        asserts: Vec::new(),
        contracts: Vec::new(),
    }
}

/// add(x: *f32, out: *f32, s: f32, n: u32)
pub(super) fn add_artifact() -> Artifact {
    let push_fields = vec![
        PushField {
            param: "s".into(),
            param_index: 2,
            offset: 32,
            ty: ScalarType::F32,
            repr: PushRepr::F32,
        },
        PushField {
            param: "n".into(),
            param_index: 3,
            offset: 36,
            ty: ScalarType::U32,
            repr: PushRepr::U32,
        },
    ];
    let buffers = vec![
        buffer(0, "x", 0, ScalarType::F32, false),
        buffer(1, "out", 1, ScalarType::F32, true),
    ];
    Artifact {
        words: assemble("add", &add_shader()),
        abi: abi("add", 64, buffers, push_fields),
    }
}

/// Every test opens the device with validation on, so any misuse of Vulkan fails the test.
fn open_with(always_stage: bool) -> Device {
    let options = DeviceOptions {
        validation: true,
        always_stage,
    };
    match Device::open_with(DeviceChoice::Auto, options) {
        Ok(device) => device,
        Err(error) => panic!("the runtime tests need a Vulkan device (lavapipe): {error}"),
    }
}

pub(super) fn open() -> Device {
    open_with(false)
}

/// The device twice: moving data directly where memory is host visible, and through staging
/// buffers as on a discrete GPU.
fn both_paths() -> [Device; 2] {
    [open_with(false), open_with(true)]
}

pub(super) fn add_args(x: &[f32], s: f32) -> Vec<KernelArg> {
    vec![
        KernelArg::Buffer(HostBuffer::from_f32(x, vec![x.len()])),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![x.len()])),
        KernelArg::Scalar(Literal::Float(s as f64)),
        KernelArg::Scalar(Literal::Int(x.len() as i128)),
    ]
}

pub(super) fn output_f32(args: &[KernelArg], index: usize) -> Vec<f32> {
    match &args[index] {
        KernelArg::Buffer(buffer) => buffer.to_f32(),
        KernelArg::Scalar(_) => panic!("argument {index} is not a buffer"),
    }
}

#[test]
fn lists_devices_and_reports_a_target() {
    let devices = list_devices().expect("list_devices");
    assert!(!devices.is_empty());
    for (index, info) in devices.iter().enumerate() {
        assert_eq!(info.index, index);
        assert!(!info.name.is_empty());
        assert!(info.api_version >= (1, 1, 0));
        assert!(info.subgroup_size >= 1);
    }
    let device = open();
    let target = device.target();
    assert_eq!(target.name, device.info().name);
    assert!(target.max_threads >= 128);
    assert!(target.max_push_bytes >= 128);
    assert!(target.max_shared_bytes >= 16384);
    assert!(target.max_workgroups.iter().all(|&m| m >= 65535));
    assert_eq!(
        target.subgroup_size.unwrap_or(device.info().subgroup_size),
        device.info().subgroup_size
    );
}

#[test]
fn bad_device_index_is_an_error() {
    let count = list_devices().expect("list_devices").len();
    let error = Device::open(DeviceChoice::Index(count + 5))
        .err()
        .expect("must fail");
    assert_eq!(
        error,
        RuntimeError::BadDeviceIndex {
            index: count + 5,
            count
        }
    );
    assert!(error.to_string().contains("does not exist"), "{error}");
    assert!(!error.is_unavailable());
}

#[test]
fn add_scalar_to_vector() {
    for device in both_paths() {
        let pipeline = device.load(&add_artifact()).expect("load");
        let x: Vec<f32> = (0..1000).map(|i| i as f32 * 0.25).collect();
        let mut args = add_args(&x, 1.5);
        let report = device
            .launch(&pipeline, &mut args, [16, 1, 1])
            .expect("launch");
        assert_eq!(report.programs, 16);
        assert_eq!(report.dispatch, [16, 1, 1]);
        let out = output_f32(&args, 1);
        let expected: Vec<f32> = x.iter().map(|v| v + 1.5).collect();
        assert_eq!(out, expected);
        // The read-only input is not copied back but stays as it was.
        assert_eq!(output_f32(&args, 0), x);
    }
}

#[test]
fn multi_dimensional_grid_covers_every_program() {
    let device = open();
    let pipeline = device.load(&add_artifact()).expect("load");
    let x: Vec<f32> = (0..1000).map(|i| i as f32).collect();
    let mut args = add_args(&x, -1.0);
    // 4 * 2 * 2 = 16 programs of 64 invocations cover the 1000 elements.
    let report = device
        .launch(&pipeline, &mut args, [4, 2, 2])
        .expect("launch");
    assert_eq!(report.programs, 16);
    let out = output_f32(&args, 1);
    assert!(out.iter().enumerate().all(|(i, &v)| v == i as f32 - 1.0));
}

#[test]
fn zero_sized_grid_runs_nothing() {
    let device = open();
    let pipeline = device.load(&add_artifact()).expect("load");
    let mut args = add_args(&[1.0, 2.0], 1.0);
    let report = device
        .launch(&pipeline, &mut args, [0, 1, 1])
        .expect("launch");
    assert_eq!(report.programs, 0);
    assert_eq!(report.dispatch, [0, 0, 0]);
    assert_eq!(output_f32(&args, 1), vec![0.0, 0.0]);
}

#[test]
fn empty_buffers_are_allowed() {
    let device = open();
    let pipeline = device.load(&add_artifact()).expect("load");
    let mut args = add_args(&[], 1.0);
    device
        .launch(&pipeline, &mut args, [1, 1, 1])
        .expect("launch");
    assert_eq!(output_f32(&args, 1), Vec::<f32>::new());
}

#[test]
fn bool_buffers_round_trip_as_u32_words() {
    for device in both_paths() {
        let buffers = vec![
            buffer(0, "x", 0, ScalarType::Bool, false),
            buffer(1, "out", 1, ScalarType::Bool, true),
        ];
        let artifact = Artifact {
            words: assemble("not", &not_shader()),
            abi: abi("not", 64, buffers, vec![]),
        };
        let pipeline = device.load(&artifact).expect("load");
        let input: Vec<u8> = (0..100).map(|i| (i % 3 == 0) as u8).collect();
        let mut args = vec![
            KernelArg::Buffer(HostBuffer {
                elem: ScalarType::Bool,
                shape: vec![100],
                data: input.clone(),
            }),
            KernelArg::Buffer(HostBuffer {
                elem: ScalarType::Bool,
                shape: vec![100],
                data: vec![7; 100],
            }),
        ];
        device
            .launch(&pipeline, &mut args, [2, 1, 1])
            .expect("launch");
        let KernelArg::Buffer(out) = &args[1] else {
            panic!("out is a buffer")
        };
        assert_eq!(out.shape, vec![100]);
        let expected: Vec<u8> = input.iter().map(|&b| (b == 0) as u8).collect();
        assert_eq!(out.data, expected);
    }
}

fn program_id_artifact() -> Artifact {
    let buffers = vec![buffer(0, "out", 0, ScalarType::U32, true)];
    Artifact {
        words: assemble("program_id", &program_id_shader()),
        abi: abi("ids", 1, buffers, vec![]),
    }
}

fn u32_values(args: &[KernelArg], index: usize) -> Vec<u32> {
    let KernelArg::Buffer(buffer) = &args[index] else {
        panic!("argument {index} is a buffer")
    };
    buffer
        .data
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn pieces_cover_exactly_the_programs_in_linear_order() {
    let max = [10, 3, 3];
    for programs in 1..=90u64 {
        let dispatch = launch::linearise(programs, max).unwrap();
        let pieces = launch::pieces(programs, dispatch);
        let [dx, dy] = [dispatch[0] as u64, dispatch[1] as u64];
        let mut linear: Vec<u64> = Vec::new();
        for (base, count) in &pieces {
            for i in 0..3 {
                assert!(base[i] + count[i] <= max[i], "{programs}: {pieces:?}");
            }
            for z in base[2]..base[2] + count[2] {
                for y in base[1]..base[1] + count[1] {
                    for x in base[0]..base[0] + count[0] {
                        linear.push(x as u64 + y as u64 * dx + z as u64 * dx * dy);
                    }
                }
            }
        }
        linear.sort_unstable();
        assert_eq!(
            linear,
            (0..programs).collect::<Vec<_>>(),
            "{programs}: {pieces:?}"
        );
        assert!(pieces.len() <= 3);
    }
    assert_eq!(launch::pieces(0, [1, 1, 1]), vec![]);
}

#[test]
fn grid_beyond_the_dispatch_limit_is_linearised() {
    for device in both_paths() {
        let pipeline = device.load(&program_id_artifact()).expect("load");
        let programs = 70_000u32;
        let mut args = vec![KernelArg::Buffer(HostBuffer::zeros(
            ScalarType::U32,
            vec![programs as usize],
        ))];
        let report = device
            .launch(&pipeline, &mut args, [programs, 1, 1])
            .expect("launch");
        let max_x = device.target().max_workgroups[0];
        assert_eq!(report.programs, programs as u64);
        assert_eq!(report.dispatch[0], programs.min(max_x));
        assert!(report.dispatch.iter().map(|&d| d as u64).product::<u64>() >= programs as u64);
        let ids = u32_values(&args, 0);
        assert!(
            ids.iter().enumerate().all(|(i, &id)| id == i as u32),
            "program ids differ"
        );
    }
}

#[test]
fn linearise_spreads_over_y_and_z() {
    let max = [65535, 65535, 65535];
    assert_eq!(launch::linearise(70_000, max), Some([65535, 2, 1]));
    assert_eq!(launch::linearise(5, max), Some([5, 1, 1]));
    assert_eq!(
        launch::linearise(65535 * 65535 + 1, max),
        Some([65535, 65535, 2])
    );
    assert_eq!(launch::linearise(100, [10, 3, 3]), None);
    assert_eq!(launch::linearise(90, [10, 3, 3]), Some([10, 3, 3]));
}

#[test]
fn grid_too_large_even_after_linearisation_is_an_error() {
    let device = open();
    let pipeline = device.load(&program_id_artifact()).expect("load");
    let mut args = vec![KernelArg::Buffer(HostBuffer::zeros(
        ScalarType::U32,
        vec![4],
    ))];
    let error = device
        .launch(&pipeline, &mut args, [u32::MAX, 4, 1])
        .expect_err("must fail");
    assert!(
        matches!(&error, RuntimeError::GridTooLarge { grid, programs, .. }
            if *grid == [u32::MAX, 4, 1] && *programs == u32::MAX as u64 * 4),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("the grid [{}, 4, 1]", u32::MAX))
            && message.contains("maxComputeWorkGroupCount"),
        "{message}"
    );
}

#[test]
fn status_buffer_reports_out_of_bounds() {
    for device in both_paths() {
        let buffers = vec![buffer(0, "data", 0, ScalarType::U32, true)];
        let mut abi = abi("oob", 1, buffers, vec![]);
        abi.status_binding = Some(1);
        let artifact = Artifact {
            words: assemble("status", &status_shader()),
            abi,
        };
        let pipeline = device.load(&artifact).expect("load");
        let mut args = vec![KernelArg::Buffer(HostBuffer::zeros(
            ScalarType::U32,
            vec![8],
        ))];
        let error = device.launch(&pipeline, &mut args, [2, 1, 1]).err();
        assert_eq!(
            error, None,
            "programs 0 and 1 do not touch the status buffer"
        );
        let error = device
            .launch(&pipeline, &mut args, [8, 1, 1])
            .expect_err("must fail");
        assert_eq!(
            error,
            RuntimeError::OutOfBounds {
                kernel: "oob".into(),
                param: "data".into(),
                index: (1i64 << 32) + 17,
                store: true,
                program: 3,
            }
        );
        assert_eq!(STATUS_STORE_OOB, 2);
        assert_eq!(
            error.to_string(),
            "kernel `oob` stored to `data` out of bounds at index 4294967313 (program 3)"
        );
        // The status buffer is zeroed for every launch.
        device
            .launch(&pipeline, &mut args, [3, 1, 1])
            .expect("a clean launch after a failed one");
    }
}

#[test]
fn argument_mismatches_are_errors() {
    let device = open();
    let pipeline = device.load(&add_artifact()).expect("load");
    let bad = |args: &mut Vec<KernelArg>| match device.launch(&pipeline, args, [1, 1, 1]) {
        Err(RuntimeError::BadArguments { kernel, message }) => {
            assert_eq!(kernel, "add");
            message
        }
        other => panic!("expected BadArguments, got {other:?}"),
    };
    let mut args = add_args(&[1.0; 4], 1.0);
    args[0] = KernelArg::Buffer(HostBuffer::from_i32(&[1; 4], vec![4]));
    assert_eq!(
        bad(&mut args),
        "`x` is a *f32, but the launch passes a buffer of i32"
    );

    let mut args = add_args(&[1.0; 4], 1.0);
    args.pop();
    assert_eq!(bad(&mut args), "expected 4 arguments, got 3");

    let mut args = add_args(&[1.0; 4], 1.0);
    args[3] = KernelArg::Scalar(Literal::Float(2.5));
    assert_eq!(
        bad(&mut args),
        "`n` is a u32 scalar, but the launch passes the float 2.5"
    );

    let mut args = add_args(&[1.0; 4], 1.0);
    args[1] = KernelArg::Scalar(Literal::Int(3));
    assert_eq!(
        bad(&mut args),
        "`out` is a *mut f32, but the launch passes the integer 3"
    );
}

#[test]
fn limits_and_features_are_checked_at_load() {
    let device = open();
    let mut artifact = add_artifact();
    artifact.abi.workgroup_size = [1 << 20, 1, 1];
    let error = device.load(&artifact).err().expect("must fail");
    assert!(
        matches!(&error, RuntimeError::LimitExceeded { what, requested, .. }
            if what == "workgroup size x" && *requested == 1 << 20),
        "{error:?}"
    );
    let mut artifact = add_artifact();
    artifact.abi.shared_bytes = u32::MAX;
    assert!(matches!(
        device.load(&artifact),
        Err(RuntimeError::LimitExceeded { what, .. }) if what == "shared memory bytes"
    ));
    let mut artifact = add_artifact();
    artifact.abi.push_bytes = 4096;
    assert!(matches!(
        device.load(&artifact),
        Err(RuntimeError::LimitExceeded { what, .. }) if what == "push constant bytes"
    ));
    let needed = Features {
        float64: true,
        storage8: true,
        ..Features::default()
    };
    let offered = Features {
        storage8: true,
        ..Features::default()
    };
    assert_eq!(
        pipeline::missing_features(needed, offered),
        vec!["shaderFloat64"]
    );
}

#[test]
fn validation_errors_fail_the_call() {
    let device = open();
    let mut artifact = add_artifact();
    // The shader reads push bytes 32..40, which the layout no longer covers.
    artifact.abi.push_bytes = 32;
    artifact.abi.push_fields.clear();
    match device.load(&artifact) {
        Err(RuntimeError::Validation { messages }) => assert!(!messages.is_empty()),
        other => panic!("expected a validation error, got {:?}", other.err()),
    }
}

#[test]
fn bench_and_copy_bandwidth_time_with_timestamps() {
    let device = open();
    let pipeline = device.load(&add_artifact()).expect("load");
    let x = vec![1.0f32; 4096];
    let mut args = add_args(&x, 1.0);
    let timing = device
        .bench(&pipeline, &mut args, [64, 1, 1], 2, 5)
        .expect("bench");
    assert_eq!(timing.iterations, 5);
    assert!(timing.median_ns > 0.0 && timing.min_ns > 0.0 && timing.min_ns <= timing.median_ns);
    // bench leaves the arguments as they were.
    assert_eq!(output_f32(&args, 1), vec![0.0; 4096]);

    // 8 MiB read and written in all: 4 MiB copied one way, both ways of copying.
    let copy = device
        .copy_bandwidth(8 << 20, 2, 5)
        .expect("copy_bandwidth");
    for timing in [copy.copy_buffer, copy.shader] {
        assert_eq!(timing.bytes, Some(8 << 20));
        assert_eq!(timing.iterations, 5);
        assert!(timing.p20_ns <= timing.median_ns && timing.median_ns <= timing.p80_ns);
        let gb_per_s = timing.gb_per_s().expect("bandwidth");
        assert!(gb_per_s > 0.01 && gb_per_s < 10_000.0, "{gb_per_s} GB/s");
    }
    let (method, best) = copy.best();
    assert_eq!(
        best.median_ns,
        copy.copy_buffer.median_ns.min(copy.shader.median_ns)
    );
    assert_eq!(
        method == CopyMethod::Shader,
        copy.shader.median_ns < copy.copy_buffer.median_ns
    );
}

#[test]
fn thousands_of_launches_do_not_leak() {
    // Without validation: the layer's own bookkeeping is not what this test measures.
    let device = Device::open_with(DeviceChoice::Auto, DeviceOptions::default())
        .expect("the runtime tests need a Vulkan device");
    let pipeline = device.load(&add_artifact()).expect("load");
    let x: Vec<f32> = (0..256).map(|i| i as f32).collect();
    let mut args = add_args(&x, 2.0);
    for _ in 0..100 {
        device
            .launch(&pipeline, &mut args, [4, 1, 1])
            .expect("launch");
    }
    let blocks_before = device.tests_allocator_blocks();
    for round in 0..2000 {
        let report = device
            .launch(&pipeline, &mut args, [4, 1, 1])
            .expect("launch");
        assert_eq!(report.programs, 4, "round {round}");
        assert_eq!(
            device.tests_allocated_bytes(),
            0,
            "buffers freed after round {round}"
        );
    }
    assert_eq!(device.tests_allocator_blocks(), blocks_before);
    assert_eq!(output_f32(&args, 1)[255], 257.0);
}

#[test]
fn devices_and_pipelines_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Device>();
    send_sync::<Pipeline>();
    let device = open();
    let pipeline = device.load(&add_artifact()).expect("load");
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (device, pipeline) = (&device, &pipeline);
            scope.spawn(move || {
                for _ in 0..10 {
                    let x: Vec<f32> = (0..300).map(|i| (i * t) as f32).collect();
                    let mut args = add_args(&x, t as f32);
                    device
                        .launch(pipeline, &mut args, [5, 1, 1])
                        .expect("launch");
                    let expected: Vec<f32> = x.iter().map(|v| v + t as f32).collect();
                    assert_eq!(output_f32(&args, 1), expected);
                }
            });
        }
    });
}

/// The buffer-size check with small fake limits: the storage range and the allocation limit
/// each refuse a buffer one element past them and name the parameter; 0 means "not reported".
#[test]
fn buffer_sizes_are_checked_against_both_limits() {
    use super::launch::{check_buffer_sizes, BufferLimits};
    let abi = add_artifact().abi;
    let args = |n: usize| add_args(&vec![0.0; n], 1.0);
    let limits = BufferLimits {
        storage_range: 64,
        allocation: 1024,
    };
    assert_eq!(check_buffer_sizes(&abi, &args(16), limits, "fake"), Ok(()));
    let error = check_buffer_sizes(&abi, &args(17), limits, "fake").unwrap_err();
    assert_eq!(
        error,
        RuntimeError::BufferTooLarge {
            kernel: "add".into(),
            param: "x".into(),
            bytes: 68,
            limit: 64,
            limit_name: "maxStorageBufferRange".into(),
            device: "fake".into(),
        }
    );
    assert_eq!(
        error.to_string(),
        "buffer `x` of kernel `add` holds 68 bytes, more than the 64 bytes one buffer may have \
         on the device `fake` (maxStorageBufferRange)"
    );
    let limits = BufferLimits {
        storage_range: 1 << 20,
        allocation: 32,
    };
    match check_buffer_sizes(&abi, &args(9), limits, "fake") {
        Err(RuntimeError::BufferTooLarge {
            limit_name, limit, ..
        }) => assert_eq!(
            (limit_name.as_str(), limit),
            ("maxMemoryAllocationSize", 32)
        ),
        other => panic!("{other:?}"),
    }
    let unreported = BufferLimits {
        storage_range: 1 << 20,
        allocation: 0,
    };
    assert_eq!(
        check_buffer_sizes(&abi, &args(9), unreported, "fake"),
        Ok(())
    );
}
