//! The Rust API (`tk::api`): the `rust_api` example's softmax on the device and the
//! interpreter, typed buffers, argument checking by name, and timing.
mod common;
#[path = "../examples/rust_api.rs"]
mod rust_api;

use tk::api::{Buffer, Context, Error, Kernel};

fn device_context(cache: &std::path::Path) -> Context {
    Context::with_device(common::device()).with_cache_dir(cache)
}

fn reference_softmax(x: &[f32], cols: usize) -> Vec<f32> {
    x.chunks(cols)
        .flat_map(|row| {
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
            row.iter().map(move |v| (v - max).exp() / sum)
        })
        .collect()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tk-api-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 + 1e-4 * w.abs(), "at {i}: {g} vs {w}");
    }
}

#[test]
fn example_softmax_runs_on_the_device_and_the_interpreter() {
    let (rows, cols) = (5, 300);
    let x = common::random_f32(rows * cols, 7);
    let want = reference_softmax(&x, cols);
    let ctx = device_context(&temp_dir("softmax"));
    assert!(!ctx.is_interpreter());
    assert_close(
        &rust_api::softmax_rows(&ctx, &x, rows, cols).unwrap(),
        &want,
    );
    let interp = Context::interpreter();
    assert_close(
        &rust_api::softmax_rows(&interp, &x, rows, cols).unwrap(),
        &want,
    );
}

const SCALE: &str = "
#[grid(cdiv(n, BLOCK))]
kernel scale(x: *f32, out: *mut f32, n: i32, s: f32, const BLOCK: i32 = 64) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    store(out + offs, load(x + offs, mask: offs < n) * s, mask: offs < n);
}
kernel ints(x: *mut i32, v: i64) { store(x + program_id(0), v as i32); }
";

fn arguments_error(result: Result<tk::api::LaunchInfo, Error>) -> String {
    match result {
        Err(Error::Arguments { message, .. }) => message,
        Err(other) => panic!("expected an argument error, got {other}"),
        Ok(_) => panic!("expected an argument error, the launch ran"),
    }
}

#[test]
fn arguments_are_checked_by_name_and_type() {
    let ctx = Context::interpreter();
    let kernel = Kernel::from_source(&ctx, "scale.tk", SCALE, "scale", &[]).unwrap();
    let x = Buffer::from_slice(&[1.0f32, 2.0]);
    let mut out = Buffer::<f32>::zeros(2);
    let message = arguments_error(kernel.launch(&ctx).arg("x", &x).arg("nn", 2).run());
    assert!(message.contains("no parameter `nn`"), "{message}");
    let message = arguments_error(kernel.launch(&ctx).arg("BLOCK", 64).run());
    assert!(
        message.starts_with("`BLOCK` is a const: give it when compiling the kernel"),
        "{message}"
    );
    let message = arguments_error(
        kernel
            .launch(&ctx)
            .arg("x", &x)
            .arg("out", &mut out)
            .arg("n", 2.0f32)
            .arg("s", 1.0f32)
            .run(),
    );
    assert_eq!(
        message,
        "`n` is a i32 scalar, but the launch passes a f32 scalar"
    );
    let ints = Buffer::from_slice(&[1i32, 2]);
    let message = arguments_error(
        kernel
            .launch(&ctx)
            .arg("x", &ints)
            .arg("out", &mut out)
            .arg("n", 2)
            .arg("s", 1.0f32)
            .run(),
    );
    assert_eq!(
        message,
        "`x` is a *f32, but the launch passes a read-only buffer of i32"
    );
    let message = arguments_error(
        kernel
            .launch(&ctx)
            .arg("x", &x)
            .arg("out", &out)
            .arg("n", 2)
            .arg("s", 1.0f32)
            .run(),
    );
    assert!(message.contains("pass it as `&mut`"), "{message}");
    let message = arguments_error(kernel.launch(&ctx).arg("x", &x).run());
    assert_eq!(message, "missing arguments `out`, `n`, `s`");
    // A value that fits converts: an i32 literal for an i64 parameter.
    let ints_kernel = Kernel::from_source(&ctx, "scale.tk", SCALE, "ints", &[]).unwrap();
    let mut slots = Buffer::from_slice(&[0i32; 3]);
    ints_kernel
        .launch(&ctx)
        .arg("x", &mut slots)
        .arg("v", 9)
        .grid([3, 1, 1])
        .run()
        .unwrap();
    assert_eq!(slots.to_vec(), [9, 9, 9]);
}

#[test]
fn compile_errors_render_with_codes() {
    let ctx = Context::interpreter();
    let error = Kernel::from_source(
        &ctx,
        "bad.tk",
        "kernel k(x: *f32) { let y = zz; }",
        "k",
        &[],
    )
    .err()
    .expect("an error");
    let text = error.to_string();
    assert!(text.contains("E0201"), "{text}");
    assert!(text.contains("bad.tk"), "{text}");
}

#[test]
fn typed_buffers_round_trip() {
    let values = [half::f16::from_f32(1.5), half::f16::from_f32(-2.0)];
    assert_eq!(Buffer::from_slice(&values).to_vec(), values);
    let flags = Buffer::from_slice(&[true, false, true]);
    assert_eq!(flags.to_vec(), [true, false, true]);
    assert_eq!(flags.host().data, [1, 0, 1]);
    let wide = Buffer::from_slice(&[u64::MAX, 3]);
    assert_eq!(wide.to_vec(), [u64::MAX, 3]);
    assert_eq!(Buffer::<i16>::zeros(4).to_vec(), [0; 4]);
}

#[test]
fn device_launch_reports_times_and_benches() {
    let dir = temp_dir("bench");
    let ctx = device_context(&dir);
    let kernel =
        Kernel::from_source(&ctx, "scale.tk", SCALE, "scale", &[("BLOCK", 128.into())]).unwrap();
    assert_eq!(kernel.cache_outcome(), tk::cache::CacheOutcome::Miss);
    let x = Buffer::from_slice(&(0..1000).map(|i| i as f32).collect::<Vec<_>>());
    let mut out = Buffer::<f32>::zeros(1000);
    let info = kernel
        .launch(&ctx)
        .arg("x", &x)
        .arg("out", &mut out)
        .arg("n", 1000)
        .arg("s", 2.0f32)
        .run()
        .unwrap();
    assert_eq!(info.grid, [8, 1, 1]);
    assert!(info.gpu_time.is_some());
    assert_eq!(out.to_vec()[999], 1998.0);
    let timing = kernel
        .launch(&ctx)
        .arg("x", &x)
        .arg("out", &mut out)
        .arg("n", 1000)
        .arg("s", 2.0f32)
        .bench(1, 5)
        .unwrap();
    assert_eq!(timing.iterations, 5);
    assert!(timing.median_ns > 0.0 && timing.min_ns <= timing.median_ns);
    // The same kernel again comes from the cache.
    let again =
        Kernel::from_source(&ctx, "scale.tk", SCALE, "scale", &[("BLOCK", 128.into())]).unwrap();
    assert_eq!(again.cache_outcome(), tk::cache::CacheOutcome::Hit);
    assert_eq!(again.artifact(), kernel.artifact());
}

/// A failed `device_assert` is the same `Error::AssertFailed` from the device (also after a
/// kernel-cache hit, which must keep the assert table) and from the interpreter.
#[test]
fn failed_asserts_read_the_same_on_both_backends() {
    let source = "
#[grid(cdiv(n, 32))]
kernel k(x: *mut f32, n: i32) {
    let offs = program_id(0) * 32 + arange(0, 32);
    device_assert(load(x + offs, mask: offs < n) >= 0.0, \"x must be non-negative\");
}
";
    let cache = temp_dir("assert");
    let mut values = vec![1.0f32; 100];
    values[70] = -1.0;
    let mut errors = Vec::new();
    let outcomes = [
        tk::cache::CacheOutcome::Miss,
        tk::cache::CacheOutcome::Hit,
        tk::cache::CacheOutcome::Bypassed,
    ];
    for (ctx, outcome) in [
        device_context(&cache),
        device_context(&cache),
        Context::interpreter(),
    ]
    .into_iter()
    .zip(outcomes)
    {
        let kernel = Kernel::from_source(&ctx, "check.tk", source, "k", &[]).unwrap();
        assert_eq!(kernel.cache_outcome(), outcome);
        let mut x = Buffer::from_slice(&values);
        let error = kernel
            .launch(&ctx)
            .arg("x", &mut x)
            .arg("n", 100)
            .run()
            .unwrap_err();
        errors.push(error.to_string());
        let Error::AssertFailed {
            message,
            location,
            element,
            program,
            ..
        } = error
        else {
            panic!("expected a failed assert, got {error}");
        };
        assert_eq!(message, "x must be non-negative");
        assert_eq!(location, "check.tk:5:5");
        assert_eq!((element, program), (Some(6), [2, 0, 0]));
    }
    assert_eq!(errors[0], errors[2]);
    assert_eq!(
        errors[0],
        "device_assert failed in kernel `k` at check.tk:5:5 (program [2, 0, 0], element 6): \
         x must be non-negative"
    );
}
