//! The memory-bound kernels (vector add, softmax, layer norm forward) under every schedule the
//! test device can run, against a plain Rust reference: the device's own (lavapipe: a CPU
//! device, one subgroup per workgroup, 64-bit vector views) and the GPU schedule (workgroups of
//! many subgroups reducing through `OpGroupNonUniform` reductions and one shared round, vec4
//! views), each specialised for its launch (`driver::specialize`: one condition per vector, no
//! element-by-element path) and general (vectors checked at run time, an element-by-element
//! path for partial or unaligned vectors). Sizes divisible by 16 and not, rows that start
//! unaligned, and NaNs in `max` cover each path.
mod common;

use common::*;
use tk::abi::{Processor, Target};
use tk::base::{KernelArg, Literal, ScalarType};
use tk::driver::{self, BuildOptions, Source};
use tk::runtime::Device;

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The device's own target, and the GPU schedule within the device's limits (the runtime runs
/// a module for any target whose features and limits the device has).
fn targets(device: &Device) -> Vec<(&'static str, Target)> {
    let own = device.target();
    let gpu = Target {
        processor: Processor::Gpu,
        ..own.clone()
    };
    vec![("own schedule", own), ("GPU schedule", gpu)]
}

/// Compiles kernel `kernel` of `source` for `target`, specialised for `args` when `specialize`,
/// validates the module and runs it on `device`; returns the arguments after the launch.
fn run(
    device: &Device,
    target: &Target,
    specialize: bool,
    source: &str,
    kernel: &str,
    consts: &[(&str, i128)],
    args: &[KernelArg],
) -> Vec<KernelArg> {
    let consts: Vec<(&str, Literal)> = consts.iter().map(|&(n, v)| (n, Literal::Int(v))).collect();
    let mut lowered =
        driver::lower_source(&Source::new("test.tk", source), kernel, &consts).unwrap();
    if specialize {
        driver::specialize(&mut lowered.module, args);
    }
    let grid = tk::interp::launch_grid(&lowered.module.kernel, args)
        .unwrap()
        .unwrap();
    let build = driver::build_lowered(&lowered, target, &BuildOptions::default()).unwrap();
    validate_spirv(&build.artifact.words).unwrap();
    let pipeline = device.load(&build.artifact).unwrap();
    let mut args = args.to_vec();
    device.launch(&pipeline, &mut args, grid).unwrap();
    args
}

/// Runs `check` under every target of the device, specialised and general.
fn each_schedule(mut check: impl FnMut(&Device, &Target, bool) -> Result<(), String>) {
    let device = device();
    let mut failures = Vec::new();
    for (name, target) in targets(&device) {
        for specialize in [true, false] {
            if let Err(e) = check(&device, &target, specialize) {
                let how = if specialize { "specialised" } else { "general" };
                failures.push(format!("{name}, {how}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn vector_add_under_every_schedule() {
    let source = example("vector_add.tk");
    each_schedule(|device, target, specialize| {
        for n in [4096, 4099, 1000, 7] {
            let x = random_f32(n, 1);
            let y = random_f32(n, 2);
            let expected: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
            let args = [
                f32_buffer(&x),
                f32_buffer(&y),
                zeros(ScalarType::F32, n),
                int(n as i64),
            ];
            let out = run(
                device,
                target,
                specialize,
                &source,
                "vector_add",
                &[("BLOCK", 1024)],
                &args,
            );
            assert_close(&buffer(&out, 2).to_f32(), &expected, 0.0)
                .map_err(|e| format!("n = {n}: {e}"))?;
        }
        Ok(())
    });
}

/// Row softmax in f64.
fn softmax_reference(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
        for c in 0..cols {
            out[r * cols + c] = ((row[c] as f64 - max).exp() / sum) as f32;
        }
    }
    out
}

/// `examples/softmax.tk` (BLOCK 1024) over `rows` × `cols` values `x`: the output.
fn softmax(
    device: &Device,
    target: &Target,
    specialize: bool,
    x: &[f32],
    rows: usize,
    cols: usize,
) -> Vec<f32> {
    let args = [
        f32_buffer(x),
        zeros(ScalarType::F32, rows * cols),
        int(rows as i64),
        int(cols as i64),
    ];
    let source = example("softmax.tk");
    let out = run(
        device,
        target,
        specialize,
        &source,
        "softmax",
        &[("BLOCK", 1024)],
        &args,
    );
    buffer(&out, 1).to_f32()
}

#[test]
fn softmax_under_every_schedule() {
    each_schedule(|device, target, specialize| {
        // 1024 columns: rows aligned and whole vectors; 1000: rows start at multiples of 8;
        // 1020 and 1022: at multiples of 4 and of 2 only (specialised, narrower aligned vectors:
        // u64vec2 and u64 views on a CPU device); 1003: rows start anywhere and end inside a
        // vector.
        for (rows, cols) in [(6, 1024), (5, 1000), (5, 1020), (5, 1022), (4, 1003)] {
            let x: Vec<f32> = random_f32(rows * cols, 3).iter().map(|v| v * 8.0).collect();
            let expected = softmax_reference(&x, rows, cols);
            let out = softmax(device, target, specialize, &x, rows, cols);
            assert_close(&out, &expected, 1e-6).map_err(|e| format!("{rows}x{cols}: {e}"))?;
        }
        Ok(())
    });
}

#[test]
fn softmax_max_propagates_nan_under_every_schedule() {
    // A NaN in a row makes its whole row NaN (`max` propagates NaN); the other rows are exact.
    each_schedule(|device, target, specialize| {
        let (rows, cols) = (3, 1024);
        let mut x = random_f32(rows * cols, 4);
        x[cols + 517] = f32::NAN;
        let out = softmax(device, target, specialize, &x, rows, cols);
        if !out[cols..2 * cols].iter().all(|v| v.is_nan()) {
            return Err("the row with a NaN is not all NaN".into());
        }
        let expected = softmax_reference(&x, rows, cols);
        assert_close(&out[..cols], &expected[..cols], 1e-6)?;
        assert_close(&out[2 * cols..], &expected[2 * cols..], 1e-6)
    });
}

#[test]
fn layer_norm_forward_under_every_schedule() {
    let source = example("layer_norm.tk");
    each_schedule(|device, target, specialize| {
        for (rows, cols, block) in [(4, 2048, 1024), (3, 1000, 256), (2, 777, 512)] {
            let x = random_f32(rows * cols, 5);
            let w = random_f32(cols, 6);
            let b = random_f32(cols, 7);
            let eps = 1e-5;
            let mut y = vec![0.0; rows * cols];
            let mut means = vec![0.0; rows];
            let mut rstds = vec![0.0; rows];
            for r in 0..rows {
                let row = &x[r * cols..(r + 1) * cols];
                let mean = row.iter().map(|&v| v as f64).sum::<f64>() / cols as f64;
                let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / cols as f64;
                let rstd = 1.0 / (var + eps).sqrt();
                means[r] = mean as f32;
                rstds[r] = rstd as f32;
                for c in 0..cols {
                    y[r * cols + c] =
                        ((row[c] as f64 - mean) * rstd * w[c] as f64 + b[c] as f64) as f32;
                }
            }
            let args = [
                f32_buffer(&x),
                zeros(ScalarType::F32, rows * cols),
                f32_buffer(&w),
                f32_buffer(&b),
                zeros(ScalarType::F32, rows),
                zeros(ScalarType::F32, rows),
                int(cols as i64),
                int(rows as i64),
                int(cols as i64),
                float(eps),
            ];
            let out = run(
                device,
                target,
                specialize,
                &source,
                "layer_norm_fwd",
                &[("BLOCK", block)],
                &args,
            );
            let what = format!("{rows}x{cols} BLOCK={block}");
            assert_close(&buffer(&out, 1).to_f32(), &y, 2e-5)
                .map_err(|e| format!("{what} y: {e}"))?;
            assert_close(&buffer(&out, 4).to_f32(), &means, 1e-6)
                .map_err(|e| format!("{what} mean: {e}"))?;
            assert_close(&buffer(&out, 5).to_f32(), &rstds, 2e-5)
                .map_err(|e| format!("{what} rstd: {e}"))?;
        }
        Ok(())
    });
}

fn u32_buffer(values: &[u32]) -> KernelArg {
    KernelArg::Buffer(tk::base::HostBuffer {
        elem: ScalarType::U32,
        shape: vec![values.len()],
        data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    })
}

#[test]
fn integer_reductions_by_subgroups() {
    // i32 sum, max and min and u32 max and sum over whole workgroups of several subgroups (the GPU
    // schedule) and one subgroup (the device's own), against exact results.
    let source = "
        #[grid(1)]
        kernel k(x: *i32, u: *u32, out: *mut i32, uout: *mut u32, n: i32, const B: i32 = 2048) {
            let offs = arange(0, B);
            let m = offs < n;
            let v = load(x + offs, mask: m, other: 0);
            let w = load(u + offs, mask: m, other: 0);
            store(out, sum(v, axis: 0));
            store(out + 1, max(where(m, v, -2147483647 - 1), axis: 0));
            store(out + 2, min(where(m, v, 2147483647), axis: 0));
            store(uout, max(w, axis: 0));
            store(uout + 1, sum(w, axis: 0));
        }";
    each_schedule(|device, target, specialize| {
        for n in [2048, 1999] {
            let x = random_i32(n, 8, -100_000, 100_000);
            let u: Vec<u32> = random_i32(n, 9, 0, i32::MAX)
                .iter()
                .map(|&v| v as u32 * 2)
                .collect();
            let args = [
                i32_buffer(&x),
                u32_buffer(&u),
                zeros(ScalarType::I32, 3),
                zeros(ScalarType::U32, 2),
                int(n as i64),
            ];
            let out = run(device, target, specialize, source, "k", &[], &args);
            let got = buffer(&out, 2).to_i32();
            let expected = [
                x.iter().fold(0i32, |a, &b| a.wrapping_add(b)),
                *x.iter().max().unwrap(),
                *x.iter().min().unwrap(),
            ];
            if got != expected {
                return Err(format!("n = {n}: i32 {got:?}, expected {expected:?}"));
            }
            let got: Vec<u32> = buffer(&out, 3)
                .data
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let expected = [
                *u.iter().max().unwrap(),
                u.iter().fold(0u32, |a, &b| a.wrapping_add(b)),
            ];
            if got != expected {
                return Err(format!("n = {n}: u32 {got:?}, expected {expected:?}"));
            }
        }
        Ok(())
    });
}

#[test]
fn row_sums_and_maxima_under_every_schedule() {
    // Reductions along the last dim of a [4, 1024] tile: under the GPU schedule the row of
    // every result spans the whole workgroup, so each invocation carries four results through
    // the subgroups' slots at once.
    let source = "
        #[grid(1)]
        kernel k(x: *f32, sums: *mut f32, maxima: *mut f32, const R: i32 = 4, const C: i32 = 1024) {
            let rows = arange(0, R);
            let t = load(x + rows[:, None] * C + arange(0, C)[None, :]);
            store(sums + rows, sum(t, axis: 1));
            store(maxima + rows, max(t, axis: 1));
        }";
    each_schedule(|device, target, specialize| {
        let (r, c) = (4, 1024);
        let x = random_f32(r * c, 10);
        let args = [
            f32_buffer(&x),
            zeros(ScalarType::F32, r),
            zeros(ScalarType::F32, r),
        ];
        let out = run(device, target, specialize, source, "k", &[], &args);
        let sums: Vec<f32> = x
            .chunks(c)
            .map(|row| row.iter().map(|&v| v as f64).sum::<f64>() as f32)
            .collect();
        let maxima: Vec<f32> = x
            .chunks(c)
            .map(|row| row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)))
            .collect();
        assert_close(&buffer(&out, 1).to_f32(), &sums, 1e-4)?;
        assert_close(&buffer(&out, 2).to_f32(), &maxima, 0.0)
    });
}
