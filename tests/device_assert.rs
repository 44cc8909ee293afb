//! `device_assert` on the Vulkan device and the interpreter: a failed assert is reported with the
//! same kernel, message, source span, program and element on both; a passing one changes nothing;
//! any false element of a tile condition fails; `--unchecked` compiles asserts out on devices; every
//! module passes spirv-val.
mod common;

use common::*;
use tk::base::{KernelArg, Literal, ScalarType, SourceMap, Span};
use tk::driver::{self, BuildOptions, Source};
use tk::runtime::{Device, RuntimeError};

/// What a run ended with, the same shape for both backends.
#[derive(Debug, PartialEq)]
enum Outcome {
    Finished(Vec<KernelArg>),
    /// (message, `line:col` of the assert, element, program).
    AssertFailed(String, String, Option<u64>, [u32; 3]),
}

fn line_col(sources: &SourceMap, span: Span) -> String {
    let (line, col) = sources.line_col(span.file, span.start);
    format!("{line}:{col}")
}

/// Runs `kernel` of `source` on the interpreter and on the device (safe mode); both outcomes.
fn run_both(
    device: &Device,
    source: &str,
    kernel: &str,
    consts: &[(&str, i64)],
    args: &[KernelArg],
    grid: [u32; 3],
) -> (Outcome, Outcome) {
    let consts: Vec<(&str, Literal)> = consts
        .iter()
        .map(|(n, v)| (*n, Literal::Int(*v as i128)))
        .collect();
    let build = driver::build(
        &Source::new("assert.tk", source),
        kernel,
        &consts,
        &device.target(),
        &BuildOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut interp_args = args.to_vec();
    let interp = match tk::interp::run(&build.lowered, &mut interp_args, grid) {
        Ok(()) => Outcome::Finished(interp_args),
        Err(tk::interp::RunError::AssertFailed {
            message,
            span,
            element,
            program: pid,
            ..
        }) => Outcome::AssertFailed(message, line_col(&build.sources, span), element, pid),
        Err(e) => panic!("interpreter: {e}"),
    };
    validate_spirv(&build.artifact.words).expect("spirv-val");
    let pipeline = device.load(&build.artifact).expect("loads");
    let mut device_args = args.to_vec();
    let vulkan = match device.launch(&pipeline, &mut device_args, grid) {
        Ok(_) => Outcome::Finished(device_args),
        Err(RuntimeError::AssertFailed {
            message,
            span,
            element,
            program: pid,
            ..
        }) => Outcome::AssertFailed(message, line_col(&build.sources, span), element, pid),
        Err(e) => panic!("device: {e}"),
    };
    (interp, vulkan)
}

const ROWS: &str = "
#[grid(n_programs)]
kernel k(out: *mut i32, bad: i32, n_programs: i32, const R: i32 = 8, const C: i32 = 16) {
    let rows = arange(0, R);
    let cols = arange(0, C);
    let flat = rows[:, None] * C + cols[None, :];
    let here = program_id(0) * R * C + flat;
    device_assert(here != bad, \"hit the bad element\");
    store(out + here, here * 2);
}
";

/// Any one false element of a 2-D tile fails, and both backends name its row-major index.
#[test]
fn a_false_element_of_a_tile_fails_on_both_backends() {
    let device = device();
    for (bad, threads) in [(0i64, 128i64), (37, 128), (127, 128), (200, 128), (255, 32)] {
        let args = [
            zeros(ScalarType::I32, 256),
            KernelArg::Scalar(Literal::Int(bad as i128)),
            int(2),
        ];
        let source = format!("#[threads({threads})]{ROWS}");
        let (interp, vulkan) = run_both(&device, &source, "k", &[], &args, [2, 1, 1]);
        let expected = Outcome::AssertFailed(
            "hit the bad element".into(),
            "8:5".into(),
            Some(bad as u64 % 128),
            [bad as u32 / 128, 0, 0],
        );
        assert_eq!(interp, expected, "interpreter, bad = {bad}");
        assert_eq!(vulkan, expected, "device, bad = {bad}, threads = {threads}");
    }
}

/// A passing assert changes nothing: the buffers are the same as without it.
#[test]
fn a_passing_assert_changes_nothing() {
    let device = device();
    let args = [zeros(ScalarType::I32, 256), int(-1), int(2)];
    let (interp, vulkan) = run_both(&device, ROWS, "k", &[], &args, [2, 1, 1]);
    let expected: Vec<i32> = (0..256).map(|i| i * 2).collect();
    for (label, outcome) in [("interp", interp), ("vulkan", vulkan)] {
        let Outcome::Finished(out) = outcome else {
            panic!("{label}: {outcome:?}");
        };
        assert_eq!(buffer(&out, 0).to_i32(), expected, "{label}");
    }
}

/// Scalar conditions, conditions in a slice layout (a reduction's result), and asserts inside an
/// `if` and a loop.
#[test]
fn scalar_sliced_and_nested_conditions() {
    let source = "
kernel k(x: *f32, out: *mut f32, limit: f32, n: i32) {
    device_assert(n > 0, \"n must be positive\");
    let rows = arange(0, 4);
    let cols = arange(0, 32);
    let tile = load(x + rows[:, None] * 32 + cols[None, :]);
    let row_sums = sum(tile, axis: 1);
    if n > 1 {
        device_assert(row_sums < limit, \"row sum over the limit\");
    }
    for i in range(0, n) {
        device_assert(max(tile, axis: 0) < limit + i as f32, \"column max over the limit\");
    }
    store(out + rows, row_sums);
}
";
    let device = device();
    // Row r holds r + 1 in every column except x[1][5] = 50: row sums 32, 112, 96, 128; column
    // maxima 4 except column 5's 50. Each failing case below has exactly one false element, as
    // a device reports whichever false element its scheduling records first.
    let mut x: Vec<f32> = (0..128).map(|i| (i / 32 + 1) as f32).collect();
    x[32 + 5] = 50.0;
    let run = |limit: f64, n: i64| {
        let args = [
            f32_buffer(&x),
            zeros(ScalarType::F32, 4),
            float(limit),
            int(n),
        ];
        run_both(&device, source, "k", &[], &args, [1, 1, 1])
    };
    let expect_both = |(interp, vulkan): (Outcome, Outcome), expected: Outcome| {
        assert_eq!(interp, expected, "interpreter");
        assert_eq!(vulkan, expected, "device");
    };
    expect_both(
        run(1000.0, 0),
        Outcome::AssertFailed("n must be positive".into(), "3:5".into(), None, [0, 0, 0]),
    );
    // Only row 3's sum (128) is not below 120.
    expect_both(
        run(120.0, 2),
        Outcome::AssertFailed(
            "row sum over the limit".into(),
            "9:9".into(),
            Some(3),
            [0, 0, 0],
        ),
    );
    // n = 1 skips the `if`; in the loop only column 5's max (50) is not below 10.
    expect_both(
        run(10.0, 1),
        Outcome::AssertFailed(
            "column max over the limit".into(),
            "12:9".into(),
            Some(5),
            [0, 0, 0],
        ),
    );
    let (interp, vulkan) = run(1000.0, 3);
    for outcome in [interp, vulkan] {
        let Outcome::Finished(out) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(buffer(&out, 1).to_f32(), vec![32.0, 112.0, 96.0, 128.0]);
    }
}

/// 64-bit pointer offsets make the device's element indices 64-bit too.
#[test]
fn asserts_next_to_64_bit_offsets() {
    let source = "
kernel k(out: *mut i32, bad: i32) {
    let offs = arange(0, 64);
    device_assert(offs != bad, \"bad offset\");
    store(out + (offs as i64), offs);
}
";
    let device = device();
    let args = [zeros(ScalarType::I32, 64), int(42)];
    let (interp, vulkan) = run_both(&device, source, "k", &[], &args, [1, 1, 1]);
    let expected = Outcome::AssertFailed("bad offset".into(), "4:5".into(), Some(42), [0, 0, 0]);
    assert_eq!(interp, expected);
    assert_eq!(vulkan, expected);
}

/// `--unchecked` (safe = false) compiles asserts out on devices: no assert table, no report, and
/// the kernel's stores all happen.
#[test]
fn unchecked_builds_skip_asserts() {
    let device = device();
    let lowered = driver::lower_source(&Source::new("assert.tk", ROWS), "k", &[]).expect("lowers");
    let build = |safe| driver::build_lowered(&lowered, &device.target(), &BuildOptions { safe });
    let safe = build(true).expect("compiles").artifact;
    assert_eq!(safe.abi.asserts.len(), 1);
    assert_eq!(safe.abi.asserts[0].message, "hit the bad element");
    assert!(safe.abi.asserts[0].tile);
    let unchecked = build(false).expect("compiles").artifact;
    validate_spirv(&unchecked.words).expect("spirv-val");
    assert!(unchecked.abi.asserts.is_empty());
    let pipeline = device.load(&unchecked).expect("loads");
    let mut args = vec![zeros(ScalarType::I32, 256), int(5), int(2)];
    device
        .launch(&pipeline, &mut args, [2, 1, 1])
        .expect("an unchecked build does not check asserts");
    let expected: Vec<i32> = (0..256).map(|i| i * 2).collect();
    assert_eq!(buffer(&args, 0).to_i32(), expected);
}
