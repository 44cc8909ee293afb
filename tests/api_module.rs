//! What the Rust API gained for the Python bindings: `Module` (a file checked once, kernels
//! compiled lazily once per const set), arguments by position and untyped scalars, safe mode off,
//! out-of-bounds errors with the same fields from the device and the interpreter, `tkc bench`'s
//! measurement through `Launch::measure`, and the device facts of `tkc devices`.
mod common;

use std::sync::Arc;
use tk::api::{Buffer, Context, Error, Module};
use tk::base::Literal;

const SOURCE: &str = "
#[grid(cdiv(n, BLOCK))]
kernel scale(x: *f32, out: *mut f32, n: i32, s: f32, const BLOCK: i32 = 64) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    store(out + offs, load(x + offs, mask: offs < n) * s, mask: offs < n);
}
kernel oob(out: *mut f32) { store(out + program_id(0) * 8, 0.0); }
";

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tk-api-module-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn device_context(name: &str) -> Arc<Context> {
    Arc::new(Context::with_device(common::device()).with_cache_dir(temp_dir(name)))
}

fn compiles() -> u64 {
    tk::driver::SPIRV_COMPILES.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn modules_compile_each_const_set_once() {
    let module = Module::from_source(device_context("lazy"), "scale.tk", SOURCE).unwrap();
    assert_eq!(
        module
            .kernels()
            .iter()
            .map(|k| k.name.as_str())
            .collect::<Vec<_>>(),
        ["scale", "oob"]
    );
    assert!(module.has_grid("scale") && !module.has_grid("oob"));
    let first = module.kernel("scale", &[("BLOCK", 128.into())]).unwrap();
    let before = compiles();
    let again = module.kernel("scale", &[("BLOCK", 128.into())]).unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(compiles(), before, "the same consts compile nothing");
    let other = module.kernel("scale", &[("BLOCK", 32.into())]).unwrap();
    assert!(!Arc::ptr_eq(&first, &other));
    assert_eq!(other.consts(), [("BLOCK".to_string(), Literal::Int(32))]);
    // A kernel that does not exist is a compile error naming it.
    assert!(matches!(
        module.kernel("nope", &[]),
        Err(Error::Compile { .. })
    ));
}

#[test]
fn arguments_by_position_with_untyped_scalars() {
    let ctx = Arc::new(Context::interpreter());
    let module = Module::from_source(ctx.clone(), "scale.tk", SOURCE).unwrap();
    let kernel = module.kernel("scale", &[]).unwrap();
    let x = Buffer::from_slice(&[1.0f32, 2.0, 3.0]);
    let mut out = Buffer::<f32>::zeros(3);
    // An untyped integer for the f32 `s`, positions for the buffers, a name for `n`.
    kernel
        .launch(&ctx)
        .arg(0usize, &x)
        .arg(1usize, &mut out)
        .arg("n", Literal::Int(3))
        .arg(3usize, Literal::Int(2))
        .run()
        .unwrap();
    assert_eq!(out.to_vec(), [2.0, 4.0, 6.0]);
    let error = kernel
        .launch(&ctx)
        .arg(0usize, &x)
        .arg(1usize, &mut out)
        .arg(2usize, Literal::Int(1 << 40))
        .arg(3usize, 1.0f32)
        .run()
        .unwrap_err();
    let Error::Arguments {
        kernel: name,
        problem: Some(tk::abi::bind::Problem::OutOfRange { param, .. }),
        ..
    } = error
    else {
        panic!("expected an out-of-range argument, got {error}");
    };
    assert_eq!((name.as_str(), param.as_str()), ("scale", "n"));
    let error = kernel.launch(&ctx).arg(4usize, 1.0f32).run().unwrap_err();
    assert!(
        error.to_string().contains("no parameter at position 4"),
        "{error}"
    );
}

#[test]
fn out_of_bounds_reads_the_same_on_both_backends_and_unchecked_turns_it_off() {
    let mut errors = Vec::new();
    for ctx in [device_context("oob"), Arc::new(Context::interpreter())] {
        let module = Module::from_source(ctx.clone(), "oob.tk", SOURCE).unwrap();
        let kernel = module.kernel("oob", &[]).unwrap();
        assert!(kernel.is_safe());
        let mut out = Buffer::<f32>::zeros(6);
        let error = kernel
            .launch(&ctx)
            .arg("out", &mut out)
            .grid([2, 1, 1])
            .run()
            .unwrap_err();
        let Error::OutOfBounds {
            ref kernel,
            ref param,
            index,
            store,
            program,
        } = error
        else {
            panic!("expected an out-of-bounds error, got {error}");
        };
        assert_eq!(
            (kernel.as_str(), param.as_str(), index, store, program),
            ("oob", "out", 8, true, [1, 0, 0])
        );
        errors.push(error.to_string());
        if !ctx.is_interpreter() {
            let unchecked = Module::from_source(ctx.clone(), "oob.tk", SOURCE)
                .unwrap()
                .unchecked();
            let kernel = unchecked.kernel("oob", &[]).unwrap();
            assert!(!kernel.is_safe());
            let mut big = Buffer::<f32>::zeros(9);
            kernel
                .launch(&ctx)
                .arg("out", &mut big)
                .grid([2, 1, 1])
                .run()
                .unwrap();
        }
    }
    assert_eq!(errors[0], errors[1]);
    assert_eq!(
        errors[0],
        "kernel `oob` stored to `out` out of bounds at index 8 (program [1, 0, 0])"
    );
}

#[test]
fn measure_is_tkc_bench_measurement() {
    let ctx = device_context("measure");
    let module = Module::from_source(ctx.clone(), "scale.tk", SOURCE).unwrap();
    let kernel = module.kernel("scale", &[]).unwrap();
    let n = 4096;
    let x = Buffer::from_slice(&vec![1.0f32; n]);
    let mut out = Buffer::<f32>::zeros(n);
    let options = tk::bench::BenchOptions {
        iterations: 3,
        ..Default::default()
    };
    let m = kernel
        .launch(&ctx)
        .arg("x", &x)
        .arg("out", &mut out)
        .arg("n", n as i32)
        .arg("s", 2.0f32)
        .measure(&options)
        .unwrap();
    assert_eq!(
        (m.kernel.as_str(), m.grid, m.iterations),
        ("scale", [64, 1, 1], 3)
    );
    // x read and out written once each, counted by the interpreter.
    assert_eq!(m.bytes, 2 * 4 * n as u64);
    assert!(m.median_us > 0.0 && m.copy_gbps > 0.0);
    let json = m.json(None);
    assert!(
        json.starts_with("{\"kernel\": \"scale\", \"device\": "),
        "{json}"
    );
    assert!(json.contains("\"mode\": \"safe\""), "{json}");
    assert_eq!(
        out.to_vec()[0],
        0.0,
        "a measurement leaves the buffers as they were"
    );
}

#[test]
fn devices_report_what_tkc_devices_prints() {
    let devices = tk::api::devices().unwrap();
    assert!(!devices.is_empty(), "no Vulkan device");
    let target = devices[0].target.as_ref().unwrap();
    assert!(target.max_threads >= 128);
    let features = tk::api::feature_list(target.features);
    assert_eq!(features[0].0, "f16");
    assert_eq!(features.len(), 12);
}

/// A launch of a kernel without `#[autotune]` picks up the config a schedule search stored for
/// its key values on this device (`tkc tune`, `tune::search_or_reuse`), for the consts it leaves
/// free; a launch never searches by itself.
#[test]
fn a_stored_search_choice_is_what_a_launch_runs() {
    use tk::api::ArgValue;
    use tk::base::{HostBuffer, KernelArg, ScalarType};
    use tk::tune::{self, Config, Tuned};
    let dir = temp_dir("searched");
    let ctx = Arc::new(Context::with_device(common::device()).with_cache_dir(&dir));
    let module = Module::from_source(ctx.clone(), "scale.tk", SOURCE).unwrap();
    let n = 100;
    let x = HostBuffer::zeros(ScalarType::F32, vec![n]);
    let mut out = HostBuffer::zeros(ScalarType::F32, vec![n]);
    let blocks = |module: &Module, out: &mut HostBuffer| {
        let args = [
            ("x".into(), ArgValue::Input(&x)),
            ("out".into(), ArgValue::Output(out)),
            ("n".into(), ArgValue::Untyped(Literal::Int(n as i128))),
            ("s".into(), ArgValue::Untyped(Literal::Float(2.0))),
        ];
        let kernel = module.select("scale", &[], &args, None).unwrap();
        kernel.consts().to_vec()
    };
    // Nothing stored: the defaults.
    assert_eq!(
        blocks(&module, &mut out),
        [("BLOCK".into(), Literal::Int(64))]
    );

    // A search's record for these key values, as `tkc tune` writes it, choosing BLOCK = 32.
    let program = tk::driver::check_source("scale.tk", SOURCE, &tk::driver::DiskLoader);
    let lowered = tk::driver::lower(&program, "scale", &[]).unwrap();
    let Some(device) = ctx.vulkan_device() else {
        panic!("a device context")
    };
    let bound = [
        KernelArg::Buffer(x.clone()),
        KernelArg::Buffer(out.clone()),
        KernelArg::Scalar(Literal::Int(n as i128)),
        KernelArg::Scalar(Literal::Float(2.0)),
    ];
    let (_, record) = tune::search_record(
        device,
        &program,
        &lowered.kernel,
        &[],
        &bound,
        true,
        Some(&dir.join("tune")),
    );
    let record = record.unwrap();
    std::fs::create_dir_all(record.parent().unwrap()).unwrap();
    let chosen = Config {
        consts: vec![("BLOCK".into(), Literal::Int(32))],
        knobs: vec![],
    };
    let tuned = Tuned {
        times: vec![Ok(1000.0)],
        choice: 0,
    };
    tune::save(&record, "scale", &[chosen], &tuned, true).unwrap();
    let module = Module::from_source(ctx, "scale.tk", SOURCE).unwrap();
    assert_eq!(
        blocks(&module, &mut out),
        [("BLOCK".into(), Literal::Int(32))]
    );
}

#[test]
fn a_launch_past_its_buffers_is_refused_by_the_contract_before_it_runs() {
    // `scale` reads and writes under `offs < n`: safe mode checks `x: n elements` and
    // `out: n elements` once, before dispatch; `out` is left untouched.
    let ctx = device_context("contract");
    let module = Module::from_source(ctx.clone(), "scale.tk", SOURCE).unwrap();
    let kernel = module.kernel("scale", &[]).unwrap();
    let x = Buffer::from_slice(&[1.0f32; 100]);
    let mut out = Buffer::<f32>::from_slice(&[7.0f32; 64]);
    let error = kernel
        .launch(&ctx)
        .arg("x", &x)
        .arg("out", &mut out)
        .arg("n", 100)
        .arg("s", 2.0f32)
        .run()
        .unwrap_err();
    let Error::Runtime(tk::runtime::RuntimeError::ContractBroken {
        kernel: ref name,
        ref param,
        index,
        store,
        ref contract,
        ..
    }) = error
    else {
        panic!("expected a broken contract, got {error}");
    };
    assert_eq!(
        (name.as_str(), param.as_str(), index, store),
        ("scale", "out", 99, true)
    );
    assert_eq!(contract, "out: n elements");
    assert_eq!(
        error.to_string(),
        "kernel `scale` would store to `out` out of bounds at index 99: the launch breaks the \
         contract `out: n elements` (`out` holds 64 elements)"
    );
    assert_eq!(out.to_vec(), vec![7.0f32; 64], "nothing ran");
    // Within the contract the launch runs.
    kernel
        .launch(&ctx)
        .arg("x", &x)
        .arg("out", &mut out)
        .arg("n", 64)
        .arg("s", 2.0f32)
        .run()
        .unwrap();
    assert_eq!(out.to_vec(), vec![2.0f32; 64]);
}
