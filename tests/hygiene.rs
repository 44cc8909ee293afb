//! Resource hygiene and safe mode on the Vulkan device: 10,000 launches keep host memory flat;
//! the validation layer reports nothing, leaked objects included, when the device closes; an
//! out-of-bounds store is stopped and reported with kernel, parameter and index while the
//! buffers around the target (guards) stay exactly as they were. And the SPIR-V emitter's sources
//! reach nothing of the scheduling passes: every lowering decision comes from the schedule.
mod common;

use common::*;
use std::process::Command;
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};
use tk::driver::{self, BuildOptions, Source};
use tk::runtime::{Device, DeviceChoice, DeviceOptions, RuntimeError};

const ADD_ONE: &str = "
kernel add_one(x: *mut f32, n: i32) {
    let offs = program_id(0) * 64 + arange(0, 64);
    let mask = offs < n;
    store(x + offs, load(x + offs, mask: mask) + 1.0, mask: mask);
}
";

/// Builds `kernel` of `source` in safe mode for `device`, validated with spirv-val.
fn build(source: &str, kernel: &str, device: &Device) -> tk::abi::Artifact {
    let source = Source::new("test.tk", source);
    let options = BuildOptions::default();
    let build = driver::build(&source, kernel, &[], &device.target(), &options)
        .unwrap_or_else(|e| panic!("{e}"));
    validate_spirv(&build.artifact.words).expect("spirv-val");
    build.artifact
}

/// Resident set size of this process in KiB, from /proc/self/status.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[test]
fn ten_thousand_launches_keep_host_memory_flat() {
    // Without the validation layer: its own per-object bookkeeping is not what this measures
    // (the teardown test below runs under it).
    let device = Device::open_with(DeviceChoice::Auto, DeviceOptions::default())
        .expect("a Vulkan device (lavapipe) for the hygiene tests");
    let pipeline = device
        .load(&build(ADD_ONE, "add_one", &device))
        .expect("load");
    let n = 100;
    let mut args = vec![
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![n])),
        KernelArg::Scalar(Literal::Int(n as i128)),
    ];
    let launches = 10_000;
    let warm_up = 500;
    let mut after_warm_up = 0;
    let started = std::time::Instant::now();
    for i in 0..launches {
        device
            .launch(&pipeline, &mut args, [2, 1, 1])
            .unwrap_or_else(|e| panic!("launch {i}: {e}"));
        if i + 1 == warm_up {
            after_warm_up = rss_kib();
        }
    }
    let elapsed = started.elapsed();
    let end = rss_kib();
    // Every launch added one to every element.
    assert_eq!(buffer(&args, 0).to_f32(), vec![launches as f32; n]);
    let growth = end.saturating_sub(after_warm_up);
    assert!(
        growth < 10 * 1024,
        "host RSS grew by {growth} KiB over {} launches after warm-up ({after_warm_up} -> {end} KiB)",
        launches - warm_up
    );
    eprintln!(
        "{launches} launches in {elapsed:?}; RSS {after_warm_up} KiB after warm-up, {end} KiB at the end"
    );
}

#[test]
fn validation_layer_reports_nothing_at_teardown() {
    let device = device();
    let pipeline = device
        .load(&build(ADD_ONE, "add_one", &device))
        .expect("load");
    let mut args = vec![
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![100])),
        KernelArg::Scalar(Literal::Int(100)),
    ];
    for _ in 0..20 {
        device
            .launch(&pipeline, &mut args, [2, 1, 1])
            .expect("launch");
    }
    let timing = device.bench(&pipeline, &mut args, [2, 1, 1], 1, 3);
    assert!(timing.is_ok() || matches!(timing, Err(RuntimeError::MissingFeature { .. })));
    // A device with a live pipeline cannot close; dropping the pipeline lets it.
    drop(pipeline);
    device
        .close()
        .expect("no validation messages, leaks included, at teardown");
}

/// A kernel that stores past both ends of `target`, which sits between two guard buffers.
const OVERRUN: &str = "
kernel overrun(below: *mut i32, target: *mut i32, above: *mut i32, n: i32) {
    let offs = arange(0, 32) - 8;               // -8 .. 23: 8 below and 8 above a 16-long buffer
    store(target + offs, offs * 10 + 7);
}
";

#[test]
fn out_of_bounds_stores_are_stopped_and_guards_stay_intact() {
    let device = device();
    let pipeline = device
        .load(&build(OVERRUN, "overrun", &device))
        .expect("load");
    let guard: Vec<i32> = (0..16).map(|i| 1000 + i).collect();
    let mut args = vec![
        i32_buffer(&guard),
        i32_buffer(&[-1; 16]),
        i32_buffer(&guard),
        KernelArg::Scalar(Literal::Int(16)),
    ];
    let error = device
        .launch(&pipeline, &mut args, [1, 1, 1])
        .expect_err("the overrun must be stopped");
    match &error {
        RuntimeError::OutOfBounds {
            kernel,
            param,
            index,
            store,
            program,
        } => {
            assert_eq!(kernel, "overrun");
            assert_eq!(param, "target");
            assert!(*store);
            assert_eq!(*program, 0);
            assert!(
                (-8..0).contains(index) || (16..24).contains(index),
                "reported index {index} is not one of the out-of-bounds ones"
            );
        }
        other => panic!("expected OutOfBounds, got {other}"),
    }
    // The in-bounds lanes were stored; the out-of-bounds ones touched nothing.
    let expected: Vec<i32> = (0..16).map(|i| i * 10 + 7).collect();
    assert_eq!(buffer(&args, 1).to_i32(), expected);
    assert_eq!(buffer(&args, 0).to_i32(), guard, "the guard below changed");
    assert_eq!(buffer(&args, 2).to_i32(), guard, "the guard above changed");

    // The interpreter agrees on all of it.
    let lowered =
        driver::lower_source(&Source::new("test.tk", OVERRUN), "overrun", &[]).expect("lower");
    let mut interp_args = vec![
        i32_buffer(&guard),
        i32_buffer(&[-1; 16]),
        i32_buffer(&guard),
        KernelArg::Scalar(Literal::Int(16)),
    ];
    let interp_error =
        tk::interp::run(&lowered.module, &mut interp_args, [1, 1, 1]).expect_err("stopped");
    assert!(
        matches!(&interp_error, tk::interp::RunError::OutOfBounds { param, store: true, .. } if param == "target"),
        "{interp_error}"
    );
    assert_eq!(interp_args, args);
}

#[test]
fn tkc_reports_the_overrun_with_exit_3() {
    let dir = std::env::temp_dir().join(format!("tk-hygiene-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("overrun.tk");
    std::fs::write(&file, OVERRUN).unwrap();
    for device in ["auto", "interp"] {
        let output = Command::new(env!("CARGO_BIN_EXE_tkc"))
            .args([
                "run",
                &file.display().to_string(),
                "--grid",
                "1",
                "--device",
                device,
            ])
            .args(["--arg", "below=zeros:16", "--arg", "target=zeros:16"])
            .args(["--arg", "above=zeros:16", "--arg", "n=16"])
            .env("XDG_RUNTIME_DIR", "/tmp")
            .env("NO_COLOR", "1")
            .env("TK_VALIDATION", "1")
            .output()
            .expect("run tkc");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(3),
            "--device {device}:\n{stderr}"
        );
        assert!(stderr.contains("error[E0951]"), "{stderr}");
        assert!(
            stderr.contains("kernel `overrun` stored to `target` out of bounds at index"),
            "{stderr}"
        );
    }
}

/// Every `.rs` file under `dir`, recursively, in name order.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// True when `code` names `passes` as an identifier (a path segment or an item of a `use` list).
fn names_passes(code: &str) -> bool {
    code.match_indices("passes").any(|(at, word)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        let part_of_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !part_of_word(before) && !part_of_word(after)
    })
}

/// The SPIR-V emitter only reads the schedule (`ir::schedule`): no file under src/spirv, its tests
/// included, imports or names the scheduling passes, so that no lowering decision is made twice.
#[test]
fn the_spirv_emitter_reaches_nothing_of_the_passes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/spirv");
    let files = rust_files(&root);
    assert!(files.len() > 5, "src/spirv has its files");
    let mut found = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if line.contains("crate::passes") || line.contains("passes::") || names_passes(code) {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "src/spirv uses the passes:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_passes_check_finds_the_identifier_only() {
    assert!(names_passes("use crate::{ir, passes};"));
    assert!(names_passes("let x = passes::shared::one_subgroup(t);"));
    assert!(!names_passes("let planned_passes = 3;"));
    assert!(!names_passes("let passes_run = true;"));
}
