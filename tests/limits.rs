//! Device limits: scalar parameters past `maxPushConstantsSize` travel in a uniform buffer;
//! kernels needing more threads or shared memory than the target are compile errors at the
//! source that asks for them; buffers past `maxStorageBufferRange` and grids past the dispatch
//! limit are clear runtime errors; an out-of-bounds access to an empty buffer reports the same
//! index on the device and on the interpreter.
mod common;

use common::*;
use tk::abi::Target;
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};
use tk::driver::{self, Build, BuildError, BuildOptions, Source};
use tk::runtime::RuntimeError;

/// A kernel with `n` i32 scalar parameters (plus an f32, a bool and an i64) that stores each
/// one (`out[i] = p_i * (i + 1)`), so that a field read from the wrong offset shows.
fn many_params_source(n: usize) -> String {
    let mut params = vec!["out: *mut i32".to_string(), "fout: *mut f32".to_string()];
    params.extend((0..n).map(|i| format!("p{i}: i32")));
    params.extend(["f: f32", "flag: bool", "big: i64"].map(String::from));
    let mut body = String::new();
    for i in 0..n {
        body.push_str(&format!("    store(out + {i}, p{i} * {});\n", i + 1));
    }
    body.push_str(&format!(
        "    store(out + {n}, if flag {{ 7 }} else {{ 3 }});\n    store(out + {}, (big / 1000000 / 1000000) as i32);\n    store(fout, f * 2.0);\n",
        n + 1
    ));
    format!(
        "#[grid(1)]\nkernel many({}) {{\n{body}}}\n",
        params.join(", ")
    )
}

fn many_params_args(n: usize) -> Vec<KernelArg> {
    let mut args = vec![zeros(ScalarType::I32, n + 2), zeros(ScalarType::F32, 1)];
    args.extend((0..n).map(|i| int(1000 + 17 * i as i64 - 300)));
    args.push(float(1.25));
    args.push(KernelArg::Scalar(Literal::Bool(true)));
    args.push(int(42_000_000_000_000));
    args
}

fn many_params_expected(n: usize) -> Vec<i32> {
    let mut expected: Vec<i32> = (0..n)
        .map(|i| (1000 + 17 * i as i32 - 300) * (i as i32 + 1))
        .collect();
    expected.extend([7, 42]);
    expected
}

/// Rendered diagnostics with miette's line wrapping undone, for `contains` checks.
fn flat(rendered: &str) -> String {
    rendered
        .lines()
        .map(|line| line.trim_start_matches([' ', '│']).trim_end())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds `kernel` of `source` (named `test.tk` in diagnostics) for `target` in safe mode.
fn build(source: &str, kernel: &str, target: &Target) -> Result<Build, BuildError> {
    driver::build(
        &Source::new("test.tk", source),
        kernel,
        &[],
        target,
        &BuildOptions::default(),
    )
}

#[test]
fn forty_scalar_parameters_run_through_a_uniform_buffer() {
    let device = device();
    let target = device.target();
    let n = 40;
    let source = many_params_source(n);
    // 40 i32 + f32 + bool + i64 after the 32-byte header is far past 128 bytes.
    let artifact = build(&source, "many", &target).unwrap().artifact;
    assert!(artifact.abi.push_bytes <= target.max_push_bytes);
    // 42 four-byte fields, then the i64 at byte 168.
    if target.max_push_bytes < 32 + 4 * 42 + 8 {
        assert_eq!(artifact.abi.uniform_binding, Some(3), "{:?}", artifact.abi);
        assert_eq!(artifact.abi.push_bytes, tk::abi::PUSH_HEADER_BYTES);
        assert_eq!(artifact.abi.push_fields.last().unwrap().offset, 168);
        assert_eq!(artifact.abi.uniform_bytes, 176);
    }
    validate_spirv(&artifact.words).unwrap();
    for backend in [Backend::Interp, Backend::Vulkan(&device)] {
        let name = match backend {
            Backend::Interp => "interp",
            Backend::Vulkan(_) => "device",
        };
        let args = run_source(
            &source,
            "many",
            &[],
            &many_params_args(n),
            [1, 1, 1],
            &backend,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(buffer(&args, 0).to_i32(), many_params_expected(n), "{name}");
        assert_eq!(buffer(&args, 1).to_f32(), vec![2.5], "{name}");
    }
}

#[test]
fn few_scalar_parameters_stay_in_push_constants_and_a_small_limit_moves_them() {
    let source = many_params_source(2);
    let mut target = Target::portable();
    let artifact = build(&source, "many", &target).unwrap().artifact;
    assert_eq!(artifact.abi.uniform_binding, None);
    assert_eq!(
        artifact.abi.push_fields[0].offset,
        tk::abi::PUSH_HEADER_BYTES
    );
    // A device with only the header's room: the scalars go to a uniform buffer after the two
    // storage buffers and the status buffer, at offsets from 0 aligned to their size (std140).
    target.max_push_bytes = tk::abi::PUSH_HEADER_BYTES;
    let artifact = build(&source, "many", &target).unwrap().artifact;
    assert_eq!(artifact.abi.uniform_binding, Some(3));
    let offsets: Vec<u32> = artifact.abi.push_fields.iter().map(|f| f.offset).collect();
    assert_eq!(offsets, vec![0, 4, 8, 12, 16]);
    assert_eq!(artifact.abi.uniform_bytes, 32);
    validate_spirv(&artifact.words).unwrap();
}

/// Runs `source` on both backends and returns the out-of-bounds (index, store) each reports.
fn oob_on_both(source: &str, args: &[KernelArg]) -> [(i64, bool); 2] {
    let lowered = driver::lower_source(&Source::new("test.tk", source), "k", &[]).unwrap();
    let mut interp_args = args.to_vec();
    let interp = match tk::interp::run(&lowered.module, &mut interp_args, [1, 1, 1]) {
        Err(tk::interp::RunError::OutOfBounds { index, store, .. }) => (index, store),
        other => panic!("interpreter: expected out of bounds, got {other:?}"),
    };
    let device = device();
    let build = driver::build_lowered(&lowered, &device.target(), &BuildOptions::default());
    let pipeline = device.load(&build.unwrap().artifact).unwrap();
    let mut device_args = args.to_vec();
    let on_device = match device.launch(&pipeline, &mut device_args, [1, 1, 1]) {
        Err(RuntimeError::OutOfBounds { index, store, .. }) => (index, store),
        other => panic!("device: expected out of bounds, got {other:?}"),
    };
    [interp, on_device]
}

#[test]
fn out_of_bounds_on_empty_buffers_reports_index_zero_on_both_backends() {
    let empty_f32 = || KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![0]));
    let empty_i32 = || KernelArg::Buffer(HostBuffer::zeros(ScalarType::I32, vec![0]));
    let cases: Vec<(&str, Vec<KernelArg>, (i64, bool))> = vec![
        (
            "#[grid(1)]\nkernel k(x: *f32, out: *mut f32) {\n    store(out + arange(0, 8), load(x + arange(0, 8)));\n}\n",
            vec![empty_f32(), zeros(ScalarType::F32, 8)],
            (0, false),
        ),
        (
            "#[grid(1)]\nkernel k(out: *mut f32) {\n    store(out + arange(0, 8), 1.0);\n}\n",
            vec![empty_f32()],
            (0, true),
        ),
        (
            "#[grid(1)]\nkernel k(x: *f32, out: *mut f32) {\n    store(out, load(x));\n}\n",
            vec![empty_f32(), zeros(ScalarType::F32, 1)],
            (0, false),
        ),
        (
            "#[grid(1)]\nkernel k(c: *mut i32) {\n    atomic_add(c + arange(0, 4), 1);\n}\n",
            vec![empty_i32()],
            (0, true),
        ),
        // Buffers under 4 bytes are padded on the device; the padding is not in bounds either.
        (
            "#[grid(1)]\nkernel k(x: *i8, out: *mut i8) {\n    store(out + arange(0, 4), load(x + arange(0, 4)));\n}\n",
            vec![
                KernelArg::Buffer(HostBuffer::zeros(ScalarType::I8, vec![2])),
                KernelArg::Buffer(HostBuffer::zeros(ScalarType::I8, vec![4])),
            ],
            (2, false),
        ),
    ];
    for (source, args, expected) in cases {
        let [interp, on_device] = oob_on_both(source, &args);
        assert_eq!(interp, expected, "interpreter on\n{source}");
        assert_eq!(on_device, expected, "device on\n{source}");
    }
}

#[test]
fn a_buffer_past_max_storage_buffer_range_is_refused_by_name() {
    let device = device();
    let source = "#[grid(1)]\nkernel k(x: *f32, out: *mut f32) {\n    store(out, load(x));\n}\n";
    let artifact = build(source, "k", &device.target()).unwrap().artifact;
    let pipeline = device.load(&artifact).unwrap();
    // One element past lavapipe's 128 MiB (the check comes before any upload); on a device with
    // a larger range the launch runs and the test only checks that it does.
    let elements = 128 * 1024 * 1024 / 4 + 1;
    let mut args = vec![
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![elements])),
        zeros(ScalarType::F32, 1),
    ];
    match device.launch(&pipeline, &mut args, [1, 1, 1]) {
        Err(RuntimeError::BufferTooLarge {
            param,
            bytes,
            limit,
            limit_name,
            ..
        }) => {
            assert_eq!(param, "x");
            assert_eq!(bytes, elements as u64 * 4);
            assert!(limit < bytes);
            assert_eq!(limit_name, "maxStorageBufferRange");
            let message = RuntimeError::BufferTooLarge {
                kernel: "k".into(),
                param,
                bytes,
                limit,
                limit_name,
                device: "d".into(),
            }
            .to_string();
            assert!(message.contains("`x`") && message.contains(&limit.to_string()));
        }
        Ok(_) => assert!(!device.target().name.contains("llvmpipe")),
        Err(other) => panic!("expected BufferTooLarge, got {other}"),
    }
}

#[test]
fn a_grid_past_the_dispatch_limit_names_the_grid() {
    let device = device();
    let source = "#[grid(1)]\nkernel k(out: *mut i32) {\n    store(out, 1);\n}\n";
    let artifact = build(source, "k", &device.target()).unwrap().artifact;
    let pipeline = device.load(&artifact).unwrap();
    let mut args = vec![zeros(ScalarType::I32, 1)];
    let error = device
        .launch(&pipeline, &mut args, [65536, 65536, 2])
        .unwrap_err();
    assert!(
        matches!(error, RuntimeError::GridTooLarge { programs, .. } if programs == 1 << 33),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("[65536, 65536, 2]"), "{message}");
    assert!(message.contains("maxComputeWorkGroupCount"), "{message}");
}

#[test]
fn too_many_threads_for_the_target_points_at_the_attribute() {
    let source = "#[threads(256)]\n#[grid(1)]\nkernel k(out: *mut f32) {\n    store(out + arange(0, 256), 1.0);\n}\n";
    let mut target = Target::portable();
    target.max_threads = 128;
    let rendered = flat(&build(source, "k", &target).unwrap_err().render(false));
    assert!(rendered.contains("error[E0607]"), "{rendered}");
    assert!(rendered.contains("256 invocations"), "{rendered}");
    assert!(rendered.contains("more than the 128"), "{rendered}");
    assert!(rendered.contains("#[threads(128)]"), "{rendered}");
    // The label sits on the attribute's line (line 1).
    assert!(rendered.contains("test.tk:1:1"), "{rendered}");
}

#[test]
fn too_much_shared_memory_points_at_the_op() {
    let source = "#[grid(1)]\nkernel k(x: *f32, out: *mut f32) {\n    let v = load(x + arange(0, 4096));\n    store(out, sum(v, axis: 0));\n}\n";
    let mut target = Target::portable();
    target.max_shared_bytes = 64;
    let rendered = flat(&build(source, "k", &target).unwrap_err().render(false));
    assert!(rendered.contains("error[E0608]"), "{rendered}");
    assert!(rendered.contains("this reduction needs"), "{rendered}");
    assert!(rendered.contains("more than the 64 bytes"), "{rendered}");
    assert!(rendered.contains("fewer threads"), "{rendered}");
    // The label is on the `sum` on line 4.
    assert!(rendered.contains("test.tk:4:"), "{rendered}");

    let dot = "#[grid(1)]\nkernel k(a: *f32, b: *f32, c: *mut f32) {\n    let r = arange(0, 64);\n    let x = load(a + r[:, None] * 64 + r[None, :]);\n    let y = load(b + r[:, None] * 64 + r[None, :]);\n    store(c + r[:, None] * 64 + r[None, :], dot(x, y));\n}\n";
    target.max_shared_bytes = 16384;
    let rendered = flat(&build(dot, "k", &target).unwrap_err().render(false));
    assert!(rendered.contains("error[E0608]"), "{rendered}");
    assert!(rendered.contains("this `dot` needs"), "{rendered}");
    assert!(rendered.contains("smaller tiles"), "{rendered}");
    assert!(rendered.contains("test.tk:6:"), "{rendered}");
}

/// Runs `tkc` (validation layer on for device runs) and returns (exit code, stderr with
/// miette's line wrapping undone).
fn tkc(args: &[&str]) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tkc"))
        .args(args)
        .env("XDG_RUNTIME_DIR", "/tmp")
        .env("NO_COLOR", "1")
        .env("TK_VALIDATION", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run tkc");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked at"), "tkc {args:?}:\n{stderr}");
    (output.status.code().unwrap_or(-1), flat(&stderr))
}

fn scratch_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("tk-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn cli_reports_device_limits_with_codes_spans_and_help() {
    // `tkc build` compiles for the portable target: 128 invocations at most.
    let threads = scratch_file(
        "threads.tk",
        "#[threads(256)]\n#[grid(1)]\nkernel k(out: *mut f32) {\n    store(out + arange(0, 256), 1.0);\n}\n",
    );
    let (code, stderr) = tkc(&["build", &threads, "-o", &format!("{threads}.spv")]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("error[E0607]"), "{stderr}");
    assert!(stderr.contains("#[threads(256)]"), "{stderr}");
    assert!(
        stderr.contains("256 invocations asked for here"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: use `#[threads(128)]` or fewer"),
        "{stderr}"
    );

    // A 64×64 `dot` stages 64 × (64 + 4) words of `a` transposed and 64 × 64 of `b` (one
    // buffer), past lavapipe's 32 KiB of shared memory with what else the kernel stages.
    let dot = scratch_file(
        "dot.tk",
        "#[grid(1)]\nkernel k(a: *f32, b: *f32, c: *mut f32) {\n    let r = arange(0, 64);\n    let x = load(a + r[:, None] * 64 + r[None, :]);\n    let y = load(b + r[:, None] * 64 + r[None, :]);\n    store(c + r[:, None] * 64 + r[None, :], dot(x, y));\n}\n",
    );
    let target = device().target();
    let (code, stderr) = tkc(&[
        "run",
        &dot,
        "--arg",
        "a=zeros:4096",
        "--arg",
        "b=zeros:4096",
        "--arg",
        "c=zeros:4096",
    ]);
    if target.max_shared_bytes < 64 * (68 + 64) * 4 {
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("error[E0608]"), "{stderr}");
        // At least the staged operands; the count includes the scratch of the kernel's layout
        // conversions (here the column offsets `r`, shared by rows and columns).
        let needed: u32 = stderr
            .split("this `dot` needs ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no byte count: {stderr}"));
        assert!(needed >= 64 * (68 + 64) * 4, "{stderr}");
        assert!(needed > target.max_shared_bytes, "{stderr}");
        assert!(stderr.contains("dot(x, y)"), "{stderr}");
        assert!(stderr.contains("smaller tiles"), "{stderr}");
    } else {
        assert_eq!(code, 0, "{stderr}");
    }

    // A buffer one element past lavapipe's maxStorageBufferRange (128 MiB).
    let (code, stderr) = tkc(&[
        "run",
        "examples/vector_add.tk",
        "--arg",
        "x=zeros:33554433",
        "--arg",
        "y=zeros:4",
        "--arg",
        "out=zeros:4",
        "--arg",
        "n=4",
    ]);
    if target.name.contains("llvmpipe") {
        assert_eq!(code, 3, "{stderr}");
        assert!(stderr.contains("error[E0958]"), "{stderr}");
        assert!(stderr.contains("buffer `x`"), "{stderr}");
        assert!(stderr.contains("134217732 bytes"), "{stderr}");
        assert!(stderr.contains("maxStorageBufferRange"), "{stderr}");
        assert!(stderr.contains("help: split the data"), "{stderr}");
    }
}
