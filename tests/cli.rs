//! The `tkc` command line as a user meets it: real runs with .npy files on the device and the
//! interpreter, exit codes, and diagnostics for malformed programs and command lines.
mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use tk::base::HostBuffer;

fn tkc(args: &[&str]) -> (i32, String, String) {
    tkc_with_env(args, &[])
}

fn tkc_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tkc"))
        .args(args)
        .envs(env.iter().copied())
        .env("XDG_RUNTIME_DIR", "/tmp")
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run tkc");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tk-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(path: &Path) -> String {
    path.display().to_string()
}

/// Writes `text` to `file` in the scratch directory `name`; returns the file's path.
fn scratch_file(name: &str, file: &str, text: &str) -> String {
    let path = scratch(name).join(file);
    std::fs::write(&path, text).unwrap();
    s(&path)
}

#[test]
fn vector_add_with_npy_files_on_device_and_interpreter() {
    let dir = scratch("vadd");
    let n = 10_000;
    let x = random_f32(n, 5);
    let y = random_f32(n, 6);
    tk::npy::write(&dir.join("x.npy"), &HostBuffer::from_f32(&x, vec![n])).unwrap();
    tk::npy::write(&dir.join("y.npy"), &HostBuffer::from_f32(&y, vec![n])).unwrap();
    let expected: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    for device in ["auto", "interp"] {
        let out = dir.join(format!("out-{device}.npy"));
        let (code, _, stderr) = tkc(&[
            "run",
            "examples/vector_add.tk",
            "--arg",
            &format!("x={}", s(&dir.join("x.npy"))),
            "--arg",
            &format!("y={}", s(&dir.join("y.npy"))),
            "--arg",
            &format!("out=zeros:{n}"),
            "--arg",
            &format!("n={n}"),
            "--out",
            &format!("out={}", s(&out)),
            "--device",
            device,
        ]);
        assert_eq!(code, 0, "tkc run --device {device} failed:\n{stderr}");
        if device == "auto" {
            assert!(
                !stderr.contains("interpreter"),
                "auto fell back to the interpreter although lavapipe is installed:\n{stderr}"
            );
        }
        let result = tk::npy::read(&out).unwrap();
        assert_eq!(result.shape, vec![n]);
        assert_close(&result.to_f32(), &expected, 0.0).unwrap();
    }
}

#[test]
fn softmax_grid_expression_and_defines() {
    let dir = scratch("softmax");
    let (rows, cols) = (6, 300);
    let x = random_f32(rows * cols, 8);
    tk::npy::write(
        &dir.join("x.npy"),
        &HostBuffer::from_f32(&x, vec![rows, cols]),
    )
    .unwrap();
    let out = dir.join("out.npy");
    let (code, _, stderr) = tkc(&[
        "run",
        "examples/softmax.tk",
        "-D",
        "BLOCK=512",
        "--grid",
        "n_rows",
        "--arg",
        &format!("x={}", s(&dir.join("x.npy"))),
        "--arg",
        &format!("out=zeros:{rows}x{cols}"),
        "--arg",
        &format!("n_rows={rows}"),
        "--arg",
        &format!("n_cols={cols}"),
        "--out",
        &format!("out={}", s(&out)),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let result = tk::npy::read(&out).unwrap();
    assert_eq!(result.shape, vec![rows, cols]);
    for r in 0..rows {
        let row_sum: f32 = result.to_f32()[r * cols..(r + 1) * cols].iter().sum();
        assert!((row_sum - 1.0).abs() < 1e-5, "row {r} sums to {row_sum}");
    }
}

#[test]
fn check_and_build_every_example() {
    let dir = scratch("build");
    for example in ["vector_add", "softmax", "col_sum"] {
        let file = format!("examples/{example}.tk");
        let (code, _, stderr) = tkc(&["check", &file]);
        assert_eq!(code, 0, "check {file}: {stderr}");
        let spv = dir.join(format!("{example}.spv"));
        let (code, _, stderr) = tkc(&["build", &file, "-o", &s(&spv)]);
        assert_eq!(code, 0, "build {file}: {stderr}");
        let bytes = std::fs::read(&spv).unwrap();
        let words: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        validate_spirv(&words).unwrap();
        let (code, ir, _) = tkc(&["build", &file, "--emit", "ir"]);
        assert_eq!(code, 0);
        assert!(
            ir.contains(&format!("kernel {example}")),
            "IR of {example}:\n{ir}"
        );
        let (code, asm, _) = tkc(&["build", &file, "--emit", "spvasm"]);
        assert_eq!(code, 0);
        assert!(asm.contains("OpEntryPoint"), "{asm}");
    }
}

/// Malformed programs: exit 1, `file:line:col`, a code and a help for each; never a panic.
#[test]
fn malformed_programs_get_diagnostics() {
    let dir = scratch("bad");
    let cases = [
        ("missing_semicolon", "kernel k(x: *f32) {\n    let a = 1\n    let b = 2;\n}\n"),
        ("unknown_name", "kernel k(x: *f32) {\n    let a = load(x + arange(0, 16));\n    let b = a + c;\n}\n"),
        ("mixed_types", "kernel k(x: *f32, n: i32) {\n    let a = load(x + arange(0, 16));\n    let b = a + n;\n}\n"),
        ("empty_arange", "kernel k(x: *f32) {\n    let a = arange(100, 0);\n}\n"),
        ("store_to_readonly", "kernel k(x: *f32) {\n    store(x + arange(0, 16), 1.0);\n}\n"),
        ("bad_char", "kernel k(x: *f32) {\n    let a = 1 @ 2;\n}\n"),
        ("half_literal", "kernel k(x: *f32) {\n    let a = .5;\n}\n"),
        ("unterminated_comment", "kernel k(x: *f32) {\n    /* never closed\n}\n"),
        ("tile_condition", "kernel k(x: *f32) {\n    let a = load(x + arange(0, 16));\n    if a > 0.0 { return; }\n}\n"),
        ("shape_mismatch", "kernel k(x: *f32) {\n    let a = arange(0, 16) + arange(0, 32);\n}\n"),
        ("assign_immutable", "kernel k(x: *f32) {\n    let a = 1;\n    a = 2;\n}\n"),
        ("empty_kernel_name", "kernel (x: *f32) {}\n"),
        ("chained_comparison", "kernel k(n: i32) {\n    let a = 1 < n < 3;\n}\n"),
        ("recursion", "fn f(x) { f(x) }\nkernel k(n: i32) {\n    let a = f(n);\n}\n"),
        ("wrong_arg_count", "kernel k(x: *f32) {\n    let a = load();\n}\n"),
    ];
    for (name, source) in cases {
        let path = dir.join(format!("{name}.tk"));
        std::fs::write(&path, source).unwrap();
        let (code, _, stderr) = tkc(&["check", &s(&path)]);
        assert_eq!(code, 1, "{name}: expected exit 1, got {code}:\n{stderr}");
        assert!(
            stderr.contains(&format!("{}:", s(&path))),
            "{name}: no file:line:col in\n{stderr}"
        );
        assert!(stderr.contains("error[E"), "{name}: no code in\n{stderr}");
        assert!(stderr.contains("help"), "{name}: no help in\n{stderr}");
        assert!(!stderr.contains("panicked"), "{name}: panic\n{stderr}");
    }
}

#[test]
fn bad_command_lines_exit_2_with_codes() {
    let dir = scratch("badcli");
    tk::npy::write(
        &dir.join("ints.npy"),
        &HostBuffer::from_i32(&[1, 2, 3], vec![3]),
    )
    .unwrap();
    let ints = format!("x={}", s(&dir.join("ints.npy")));
    std::fs::write(dir.join("none.tk"), "fn f(x) { x }\n").unwrap();
    std::fs::write(
        dir.join("two.tk"),
        "kernel a(n: i32) {}\nkernel b(n: i32) {}\n",
    )
    .unwrap();
    std::fs::write(dir.join("nogrid.tk"), "kernel a(n: i32) {}\n").unwrap();
    let none = s(&dir.join("none.tk"));
    let two = s(&dir.join("two.tk"));
    let nogrid = s(&dir.join("nogrid.tk"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "examples/vector_add.tk"], "E0909"),
        (
            vec![
                "run",
                "examples/vector_add.tk",
                "--arg",
                &ints,
                "--arg",
                "y=zeros:3",
                "--arg",
                "out=zeros:3",
                "--arg",
                "n=3",
            ],
            "E0912",
        ),
        (
            vec!["run", "examples/vector_add.tk", "--kernel", "nope"],
            "E0902",
        ),
        (
            vec!["run", "examples/vector_add.tk", "-D", "BLOK=3"],
            "E0906",
        ),
        (
            vec!["run", "examples/vector_add.tk", "--arg", "n=abc"],
            "E0907",
        ),
        (
            vec!["run", "examples/vector_add.tk", "--arg", "x=zeros:4xq"],
            "E0910",
        ),
        (
            vec![
                "run",
                "examples/vector_add.tk",
                "--arg",
                "x=/nonexistent.npy",
            ],
            "E0911",
        ),
        (vec!["run", "no/such/file.tk"], "E0901"),
        (
            vec!["run", "examples/vector_add.tk", "--frobnicate"],
            "E0900",
        ),
        (vec!["run", &none], "E0903"),
        (vec!["run", &two], "E0904"),
        (
            vec!["run", "examples/vector_add.tk", "-D", "BLOCK"],
            "E0905",
        ),
        (vec!["run", &nogrid, "--arg", "n=1"], "E0914"),
        (
            vec!["run", &nogrid, "--arg", "n=1", "--out", "n=x.npy"],
            "E0915",
        ),
        (
            vec![
                "run", &nogrid, "--arg", "n=1", "--grid", "1", "--device", "gpu",
            ],
            "E0916",
        ),
        (
            vec![
                "run",
                "examples/vector_add.tk",
                "--arg",
                "x=zeros:8",
                "--arg",
                "y=zeros:8",
                "--arg",
                "out=zeros:8",
                "--arg",
                "n=8",
                "--grid",
                "cdiv(n,",
            ],
            "E0913",
        ),
    ];
    for (args, code) in cases {
        let (exit, _, stderr) = tkc(&args);
        assert_eq!(exit, 2, "{args:?}: expected exit 2, got {exit}:\n{stderr}");
        assert!(
            stderr.contains(&format!("[{code}]")),
            "{args:?}: expected {code} in\n{stderr}"
        );
        assert!(stderr.contains("help"), "{args:?}: no help in\n{stderr}");
    }
}

#[test]
fn out_of_bounds_store_stops_with_exit_3() {
    let dir = scratch("oob");
    let path = dir.join("oob.tk");
    std::fs::write(
        &path,
        "#[grid(1)]\nkernel k(out: *mut f32) {\n    store(out + arange(0, 64), 1.0);\n}\n",
    )
    .unwrap();
    for device in ["auto", "interp"] {
        let (code, _, stderr) = tkc(&[
            "run",
            &s(&path),
            "--arg",
            "out=zeros:10",
            "--device",
            device,
        ]);
        assert_eq!(code, 3, "{device}: {stderr}");
        assert!(
            stderr.contains("out of bounds") && stderr.contains("`out`"),
            "{device}: {stderr}"
        );
    }
}

/// A report as one line of words (the renderer wraps it and draws a margin).
fn one_line(report: &str) -> String {
    report
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn n_past_the_buffers_breaks_the_launch_contract_with_exit_3() {
    // vector_add's accesses are masked by `offs < n`: safe mode proves them inside buffers of n
    // elements and checks that contract before dispatch, naming the access, the index and the
    // contract. The interpreter still checks every element and stops at the first.
    let args = |device: &'static str| {
        vec![
            "run",
            "examples/vector_add.tk",
            "--arg",
            "x=zeros:1000",
            "--arg",
            "y=zeros:1000",
            "--arg",
            "out=zeros:1000",
            "--arg",
            "n=2000",
            "--device",
            device,
        ]
    };
    let (code, _, stderr) = tkc(&args("auto"));
    assert_eq!(code, 3, "{stderr}");
    let words = one_line(&stderr);
    for part in [
        "error[E0951]",
        "kernel `vector_add` would load from `x` out of bounds at index 1999",
        "the launch breaks the contract `x: n elements` (`x` holds 1000 elements)",
        "nothing ran",
    ] {
        assert!(words.contains(part), "{part}: {stderr}");
    }
    let (code, _, stderr) = tkc(&args("interp"));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("kernel `vector_add` loaded from `x` out of bounds at index 1000"),
        "{stderr}"
    );
}

#[test]
fn a_matmul_operand_short_of_its_k_columns_breaks_the_contract_with_exit_3() {
    // Matmul's operands go through pointers the K loop advances, masked by the K left: the
    // contract asks `a` for room for M rows of K; a 64 × 32 `a` with K = 64 is refused before
    // anything runs, and the interpreter stops at the first element past it.
    let args = |device: &'static str| {
        let mut args = vec!["run", "examples/matmul.tk", "--device", device];
        for arg in [
            "a=zeros:64x32",
            "b=zeros:64x64",
            "c=zeros:64x64",
            "M=64",
            "N=64",
            "K=64",
            "stride_am=64",
            "stride_ak=1",
            "stride_bk=64",
            "stride_bn=1",
            "stride_cm=64",
            "stride_cn=1",
        ] {
            args.extend(["--arg", arg]);
        }
        args
    };
    let (code, _, stderr) = tkc(&args("auto"));
    assert_eq!(code, 3, "{stderr}");
    let words = one_line(&stderr);
    assert!(
        words.contains(
            "kernel `matmul` would load from `a` out of bounds at index 4095: the launch breaks \
             the contract `a: stride_am * (M - 1) + stride_ak * (K - 1) + 1 elements` (`a` holds \
             2048 elements)"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = tkc(&args("interp"));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("kernel `matmul` loaded from `a` out of bounds at index 2048"),
        "{stderr}"
    );
}

#[test]
fn a_strided_access_breaks_its_contract_and_a_subtraction_is_checked_per_element() {
    // `x + offs * 2` under `offs < n` is proven for buffers of 2n - 1 elements; a launch with
    // fewer breaks the contract before it runs. `x + (offs - 1)` may be negative by its form:
    // it keeps its per-element check, which stops at the access as before.
    let run = |name: &str, index: &str| {
        let path = scratch_file(
            name,
            "k.tk",
            &format!(
                "#[grid(1)]\nkernel k(x: *f32, out: *mut f32, n: i32) {{\n    let offs = \
                 arange(0, 64);\n    store(out + offs, load(x + {index}, mask: offs < n), \
                 mask: offs < n);\n}}\n"
            ),
        );
        let (code, _, stderr) = tkc(&[
            "run",
            &path,
            "--arg",
            "x=zeros:64",
            "--arg",
            "out=zeros:64",
            "--arg",
            "n=64",
            "--device",
            "auto",
        ]);
        assert_eq!(code, 3, "{stderr}");
        let (code, ir, err) = tkc(&["build", &path, "--emit", "ir-scheduled"]);
        assert_eq!(code, 0, "{err}");
        let words = one_line(&stderr);
        (words, ir)
    };
    let (stderr, ir) = run("stride", "offs * 2");
    assert!(
        stderr.contains(
            "kernel `k` would load from `x` out of bounds at index 126: the launch breaks the \
             contract `x: (n - 1) * 2 + 1 elements` (`x` holds 64 elements)"
        ),
        "{stderr}"
    );
    // `tkc build --emit ir-scheduled` shows the proven accesses and their contracts.
    assert!(ir.contains("contract(x: (n - 1) * 2 + 1 elements)"), "{ir}");
    assert!(ir.contains("contract(out: n elements)"), "{ir}");
    assert_eq!(ir.matches("!proven").count(), 2, "{ir}");
    let (stderr, ir) = run("minus", "(offs - 1)");
    assert!(
        stderr.contains("kernel `k` loaded from `x` out of bounds at index -1 (program 0)"),
        "{stderr}"
    );
    assert!(!stderr.contains("contract"), "{stderr}");
    assert_eq!(ir.matches("!proven").count(), 1, "{ir}");
}

/// A failed `device_assert` stops `tkc run` with exit 3 on the device and on the interpreter, and
/// both name the kernel, the message, `file:line:col`, the program and the element in the same
/// words; a passing run writes the same buffer as without the assert; `--unchecked` skips it on
/// the device.
#[test]
fn failed_device_assert_stops_with_exit_3() {
    let dir = scratch("assert");
    let path = dir.join("assert.tk");
    std::fs::write(
        &path,
        "#[grid(cdiv(n, 16))]\nkernel k(out: *mut i32, n: i32, bad: i32) {\n    \
         let offs = program_id(0) * 16 + arange(0, 16);\n    \
         device_assert(offs != bad, \"offs hit bad\");\n    \
         store(out + offs, offs, mask: offs < n);\n}\n",
    )
    .unwrap();
    let file = s(&path);
    let run = |device: &str, bad: &str, extra: &[&str]| {
        let out = dir.join(format!("out-{device}-{bad}.npy"));
        // One line per diagnostic, so no wrapping splits the expected text.
        let mut args = vec![
            "--error-format".to_string(),
            "short".into(),
            "run".into(),
            file.clone(),
            "--arg".into(),
            "out=zeros:64".into(),
            "--arg".into(),
            "n=64".into(),
            "--arg".into(),
            format!("bad={bad}"),
            "--out".into(),
            format!("out={}", s(&out)),
            "--device".into(),
            device.into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, stderr) = tkc(&args);
        (code, stderr, out)
    };
    let mut reports = Vec::new();
    for device in ["auto", "interp"] {
        let (code, stderr, _) = run(device, "37", &[]);
        assert_eq!(code, 3, "{device}: {stderr}");
        let expected = format!(
            "{file}:4:5: error[E0952]: device_assert failed in kernel `k` at {file}:4:5 \
             (program [2, 0, 0], element 5): offs hit bad"
        );
        assert!(stderr.contains(&expected), "{device}: {stderr}");
        reports.push(stderr);
        // A passing assert: exit 0 and the buffer a run without it would write.
        let (code, stderr, out) = run(device, "-1", &[]);
        assert_eq!(code, 0, "{device}: {stderr}");
        let written = tk::npy::read(&out).unwrap().to_i32();
        assert_eq!(written, (0..64).collect::<Vec<i32>>(), "{device}");
    }
    assert_eq!(
        reports[0], reports[1],
        "the device and the interpreter report differently"
    );
    // `--unchecked` compiles the assert out on the device.
    let (code, stderr, out) = run("auto", "37", &["--unchecked"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        tk::npy::read(&out).unwrap().to_i32(),
        (0..64).collect::<Vec<i32>>()
    );
}

/// `print` on the interpreter writes `pid (x, y, z) label: value` lines to stdout in program
/// order (before the buffer previews, and before a failure's report); on a device it is dropped
/// and stderr says where it runs.
#[test]
fn print_lines_appear_on_the_interpreter() {
    let file = scratch_file(
        "print",
        "print.tk",
        "#[grid(2)]\nkernel k(out: *mut i32, n: i32) {\n    let pid = program_id(0);\n    \
         print(\"start\");\n    print(\"pid\", pid);\n    print(\"row\", arange(0, 4) + pid);\n    \
         device_assert(pid < n, \"pid past n\");\n    store(out + pid, pid * 10);\n}\n",
    );
    let run = |device: &str, n: &str| {
        let n = format!("n={n}");
        tkc(&[
            "run",
            &file,
            "--arg",
            "out=zeros:2",
            "--arg",
            &n,
            "--device",
            device,
        ])
    };
    let printed = [
        "pid (0, 0, 0) start",
        "pid (0, 0, 0) pid: 0",
        "pid (0, 0, 0) row: [0, 1, 2, 3]",
        "pid (1, 0, 0) start",
        "pid (1, 0, 0) pid: 1",
        "pid (1, 0, 0) row: [1, 2, 3, 4]",
    ];
    let (code, stdout, stderr) = run("interp", "2");
    assert_eq!(code, 0, "{stderr}");
    let mut expected = printed.join("\n");
    expected.push_str("\nout: i32[2] [0, 10]\n");
    assert_eq!(stdout, expected);
    // The lines printed before a failed assert still appear.
    let (code, stdout, stderr) = run("interp", "1");
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(stdout, printed.join("\n") + "\n");
    assert!(stderr.contains("error[E0952]"), "{stderr}");
    // On the device the kernel runs, prints nothing, and stderr says where `print` works.
    let (code, stdout, stderr) = run("auto", "2");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "out: i32[2] [0, 10]\n");
    assert!(
        stderr.contains("kernel `k` prints, but `print` runs only on the interpreter"),
        "{stderr}"
    );
}

/// Without interpreter-counted traffic (every access masked off here) `tkc bench` counts the
/// buffers as the device holds them: 4 bytes per `bool`, not the host's 1.
#[test]
fn bench_counts_bool_buffers_at_their_device_size() {
    let file = scratch_file(
        "bench-bool",
        "flags.tk",
        "#[grid(1)]\nkernel k(flags: *mut bool, n: i32) {\n    let r = arange(0, 64);\n    \
         store(flags + r, true, mask: r < n);\n}\n",
    );
    let args = ["bench", &file, "--arg", "flags=zeros:64", "--arg", "n=0"];
    let (code, stdout, stderr) = tkc(&[&args[..], &["--json", "--reps", "3"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(v["bytes"].as_u64(), Some(64 * 4), "{stdout}");
}

/// The interpreter's traffic count (what `tkc bench` divides by when no `--bytes` is given) counts
/// bool elements at their device size too: 64 stored flags are 256 bytes.
#[test]
fn bench_counts_stored_bools_at_their_device_size() {
    let file = scratch_file(
        "bench-bool-traffic",
        "flags.tk",
        "#[grid(1)]\nkernel k(flags: *mut bool, n: i32) {\n    let r = arange(0, 64);\n    \
         store(flags + r, true, mask: r < n);\n}\n",
    );
    let args = ["bench", &file, "--arg", "flags=zeros:64", "--arg", "n=64"];
    let (code, stdout, stderr) = tkc(&[&args[..], &["--json", "--reps", "3"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(v["bytes"].as_u64(), Some(64 * 4), "{stdout}");
}

/// With no Vulkan driver at all, `--device auto` runs the interpreter and says so on stderr.
#[test]
fn no_vulkan_device_falls_back_to_the_interpreter() {
    let no_driver = [
        ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
        ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
    ];
    let (code, stdout, stderr) = tkc_with_env(
        &[
            "run",
            "examples/vector_add.tk",
            "--arg",
            "x=examples/data/x.npy",
            "--arg",
            "y=examples/data/y.npy",
            "--arg",
            "out=zeros:4096",
            "--arg",
            "n=4096",
        ],
        &no_driver,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("running on the reference interpreter"),
        "{stderr}"
    );
    assert!(
        stdout.contains("out: f32[4096] [0, 3, 6, 9, …, 12279, 12282, 12285]"),
        "{stdout}"
    );
    // An explicit device index is not silently replaced.
    let (code, _, stderr) = tkc_with_env(
        &[
            "run",
            "examples/vector_add.tk",
            "--device",
            "0",
            "--arg",
            "x=zeros:4",
            "--arg",
            "y=zeros:4",
            "--arg",
            "out=zeros:4",
            "--arg",
            "n=4",
        ],
        &no_driver,
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("[E0956]"), "{stderr}");
}

/// Grids beyond 65,535 programs per dimension run (the runtime linearises them).
#[test]
fn grid_beyond_the_dispatch_limit() {
    let dir = scratch("biggrid");
    let n = 100_000;
    let out = dir.join("out.npy");
    let (code, _, stderr) = tkc(&[
        "run",
        "examples/vector_add.tk",
        "-D",
        "BLOCK=1",
        "--arg",
        &format!("x=zeros:{n}"),
        "--arg",
        &format!("y=zeros:{n}"),
        "--arg",
        &format!("out=zeros:{n}"),
        "--arg",
        &format!("n={n}"),
        "--out",
        &format!("out={}", s(&out)),
    ]);
    assert_eq!(code, 0, "{stderr}");
    // x + y of zeros is zero everywhere; the kernel with BLOCK=1 needs 100,000 programs.
    let result = tk::npy::read(&out).unwrap();
    assert!(result.to_f32().iter().all(|&v| v == 0.0));
    let path = dir.join("iota.tk");
    std::fs::write(&path, "#[grid(n)]\nkernel iota(out: *mut i32, n: i32) {\n    store(out + program_id(0), program_id(0));\n}\n").unwrap();
    let (code, _, stderr) = tkc(&[
        "run",
        &s(&path),
        "--arg",
        &format!("out=zeros:{n}"),
        "--arg",
        &format!("n={n}"),
        "--out",
        &format!("out={}", s(&out)),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let result = tk::npy::read(&out).unwrap();
    assert_eq!(result.elem, tk::base::ScalarType::I32);
    assert!(
        result
            .to_i32()
            .iter()
            .enumerate()
            .all(|(i, &v)| v == i as i32),
        "program ids of a 100,000-program grid"
    );
}

#[test]
fn bench_reports_json_and_sweeps_with_a_plot() {
    let launch = [
        "examples/vector_add.tk",
        "--arg",
        "x=zeros:N",
        "--arg",
        "y=zeros:N",
        "--arg",
        "out=zeros:N",
        "--arg",
        "n=N",
    ];
    let at = |n: &str| -> Vec<String> { launch.iter().map(|a| a.replace('N', n)).collect() };
    let mut args: Vec<String> = vec!["bench".into()];
    args.extend(at("4096"));
    args.extend(["--json", "--reps", "3"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = tkc(&refs);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    for key in [
        "median_us",
        "p20_us",
        "p80_us",
        "gbps",
        "copy_gbps",
        "copy_buffer_gbps",
        "copy_shader_gbps",
    ] {
        assert!(
            v[key].as_f64().is_some_and(|x| x > 0.0),
            "{key} in {stdout}"
        );
    }
    assert!(v["device"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(v["gflops"].is_null(), "vector add has no dot");
    // 3 × 4096 f32 read or written once each, counted by the interpreter.
    assert_eq!(v["bytes"].as_u64(), Some(3 * 4096 * 4));
    assert!(v["p20_us"].as_f64() <= v["median_us"].as_f64());
    assert!(v["median_us"].as_f64() <= v["p80_us"].as_f64());

    let dir = scratch("sweep");
    let svg = dir.join("sweep.svg");
    let mut args: Vec<String> = vec!["bench".into()];
    args.extend(launch.map(String::from));
    args.extend(["--reps", "2", "--sweep", "N=1024..4096", "--plot", &s(&svg)].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = tkc(&refs);
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("plot:"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows.iter().map(|r| r[0]).collect::<Vec<_>>(),
        ["1024", "2048", "4096"],
        "{stdout}"
    );
    assert!(rows
        .iter()
        .all(|r| r.len() == 6 && r[1].parse::<f64>().is_ok_and(|t| t > 0.0)));
    let chart = std::fs::read_to_string(&svg).expect("the plot is written");
    assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
    assert_eq!(chart.matches("<polyline").count(), 2, "tk and copy lines");
    assert_eq!(chart.matches("<circle").count(), 6, "three points per line");
    assert!(chart.contains(">2^10<") && chart.contains(">2^12<"));

    let mut args: Vec<String> = vec!["bench".into()];
    args.extend(launch.map(String::from));
    args.extend(["--sweep", "N=1000..4000"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, stderr) = tkc(&refs);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("E0919") && stderr.contains("powers of two"),
        "{stderr}"
    );
    let mut args: Vec<String> = vec!["bench".into()];
    args.extend(at("4096"));
    args.extend(["--sweep", "M=1024..2048"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, stderr) = tkc(&refs);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("E0919") && stderr.contains("uses `M`"),
        "{stderr}"
    );
}

/// A copy-like kernel: each element read once and written once, nothing computed.
const COPY_KERNEL: &str = "
#[grid(cdiv(n, BLOCK))]
kernel copy(x: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 1024) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    let mask = offs < n;
    store(out + offs, load(x + offs, mask: mask), mask: mask);
}
";

/// `tkc bench --json` on the device; the one JSON object and stderr.
fn bench_json(args: &[String]) -> (serde_json::Value, String) {
    let mut all: Vec<&str> = vec!["bench"];
    all.extend(args.iter().map(String::as_str));
    all.extend(["--json", "--reps", "5"]);
    let (code, stdout, stderr) = tkc(&all);
    assert_eq!(code, 0, "{stderr}");
    let v = serde_json::from_str(stdout.trim()).expect("one JSON object");
    (v, stderr)
}

#[test]
fn no_kernel_outruns_its_copy_reference() {
    let dir = scratch("copyref");
    let copy = dir.join("copy.tk");
    std::fs::write(&copy, COPY_KERNEL).unwrap();
    let vector_add = |n: u64| {
        vec![
            "examples/vector_add.tk".to_string(),
            "--arg".into(),
            format!("x=zeros:{n}"),
            "--arg".into(),
            format!("y=zeros:{n}"),
            "--arg".into(),
            format!("out=zeros:{n}"),
            "--arg".into(),
            format!("n={n}"),
        ]
    };
    let n = 1 << 18;
    let copy_like = [
        s(&copy),
        "--arg".into(),
        format!("x=zeros:{n}"),
        "--arg".into(),
        format!("out=zeros:{n}"),
        "--arg".into(),
        format!("n={n}"),
    ];
    for (launch, buffers) in [(&vector_add(n)[..], 3), (&copy_like[..], 2)] {
        let (v, stderr) = bench_json(launch);
        let [gbps, copy_gbps, by_copy_buffer, by_shader] =
            ["gbps", "copy_gbps", "copy_buffer_gbps", "copy_shader_gbps"]
                .map(|key| v[key].as_f64().expect(key));
        assert_eq!(v["bytes"].as_u64(), Some(buffers * n * 4), "{v}");
        // The reference is the faster of the two copies, and the kernel cannot outrun it by
        // more than timing noise.
        assert_eq!(copy_gbps, by_copy_buffer.max(by_shader), "{v}");
        let by_method = match v["copy_method"].as_str() {
            Some("copy shader") => by_shader,
            Some("vkCmdCopyBuffer") => by_copy_buffer,
            other => panic!("copy_method {other:?} in {v}"),
        };
        assert_eq!(by_method, copy_gbps, "{v}");
        assert!(gbps <= 1.10 * copy_gbps, "{launch:?} outran its copy: {v}");
        assert!(!stderr.contains("warning"), "{stderr}");
    }

    // A byte count the kernel cannot have moved (64 MiB for 4096 elements) puts it past its
    // copy reference: `tkc bench` says so on stderr, naming both copies.
    let mut claimed = vector_add(4096);
    claimed.extend(["--bytes".into(), (1u64 << 26).to_string()]);
    let (v, stderr) = bench_json(&claimed);
    assert!(v["ratio_to_copy"].as_f64().is_some_and(|r| r > 1.10), "{v}");
    assert!(
        stderr.contains("warning")
            && stderr.contains("copy reference")
            && stderr.contains("vkCmdCopyBuffer")
            && stderr.contains("copy shader"),
        "{stderr}"
    );
}

#[test]
fn build_for_cooperative_matrices() {
    let matmul = "examples/matmul.tk".to_string();
    for (emit, needle) in [
        ("ir-scheduled", "cooperative_matrix = 16x16x16 for %"),
        ("spvasm", "OpCooperativeMatrixMulAddKHR"),
    ] {
        let (code, stdout, stderr) = tkc(&[
            "build",
            &matmul,
            "--target",
            "gpu",
            "--cooperative-matrix",
            "16x16x16",
            "--emit",
            emit,
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains(needle), "{stdout}");
    }
    for (args, why) in [
        (vec!["--cooperative-matrix", "16x16x16"], "portable target"),
        (
            vec!["--target", "gpu", "--cooperative-matrix", "16x16"],
            "MxNxK",
        ),
        (
            vec!["--target", "gpu", "--cooperative-matrix", "16x16x12"],
            "powers of two",
        ),
    ] {
        let mut all = vec!["build", matmul.as_str()];
        all.extend(args);
        let (code, _, stderr) = tkc(&all);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("E0920") && stderr.contains(why), "{stderr}");
    }
}

#[test]
fn build_divisible_specialises_like_a_launch() {
    // `--divisible 16` compiles as `tkc run` compiles a launch whose integers and buffer lengths
    // are multiples of 16: each vector access then has one condition.
    let softmax = format!("{}/examples/softmax.tk", env!("CARGO_MANIFEST_DIR"));
    let (code, stdout, stderr) = tkc(&[
        "build",
        &softmax,
        "--target",
        "gpu",
        "--divisible",
        "16",
        "--emit",
        "ir-scheduled",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("n_cols % 16"), "{stdout}");
    assert_eq!(
        stdout.matches("!vector(4, one mask, whole)").count(),
        2,
        "{stdout}"
    );
    let (code, _, stderr) = tkc(&["build", &softmax, "--divisible", "12"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("E0921"), "{stderr}");
}

#[test]
fn a_closed_output_pipe_is_not_an_internal_error() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tkc"))
        .args([
            "build",
            "--target",
            "cpu",
            "--emit",
            "spvasm",
            "examples/vector_add.tk",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one chunk of the assembly, then close the pipe like `head` does.
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!stderr.contains("ICE"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}
