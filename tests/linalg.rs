//! `dot` and the shape builtins (`reshape trans permute broadcast_to expand_dims join ravel`) on
//! the interpreter and on the Vulkan device, each compared with a plain Rust reference.
mod common;

use common::*;
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};

fn both(name: &str, run: impl Fn(&Backend) -> Result<(), String>) -> Vec<String> {
    let device = device();
    let mut failures = Vec::new();
    for (label, backend) in [
        ("interp", Backend::Interp),
        ("vulkan", Backend::Vulkan(&device)),
    ] {
        if let Err(e) = run(&backend) {
            failures.push(format!("{name} on {label}: {e}"));
        }
    }
    failures
}

fn matmul_ref(a: &[f32], b: &[f32], c: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    let mut out = c.to_vec();
    for i in 0..m {
        for j in 0..n {
            let mut s = out[i * n + j] as f64;
            for kk in 0..k {
                s += a[i * k + kk] as f64 * b[kk * n + j] as f64;
            }
            out[i * n + j] = s as f32;
        }
    }
    out
}

const DOT: &str = r#"
kernel mm(a: *f32, b: *f32, c: *f32, out: *mut f32, const M: i32, const N: i32, const K: i32) {
    let rm = arange(0, M);
    let rn = arange(0, N);
    let rk = arange(0, K);
    let x = load(a + rm[:, None] * K + rk[None, :]);
    let y = load(b + rk[:, None] * N + rn[None, :]);
    let z = load(c + rm[:, None] * N + rn[None, :]);
    store(out + rm[:, None] * N + rn[None, :], dot(x, y, acc: z, input_precision: "ieee"));
}
"#;

#[test]
fn dot_f32_all_power_of_two_shapes() {
    let mut failures = Vec::new();
    let shapes = [
        (1, 1, 1),
        (1, 16, 8),
        (16, 1, 8),
        (8, 8, 1),
        (2, 4, 8),
        (16, 16, 16),
        (32, 64, 16),
        (64, 32, 64),
        (128, 4, 2),
    ];
    for (m, n, k) in shapes {
        let a = random_f32(m * k, 1);
        let b = random_f32(k * n, 2);
        let c = random_f32(m * n, 3);
        let expected = matmul_ref(&a, &b, &c, m, n, k);
        let consts = [
            ("M", Literal::Int(m as i128)),
            ("N", Literal::Int(n as i128)),
            ("K", Literal::Int(k as i128)),
        ];
        failures.extend(both(&format!("dot {m}x{k} * {k}x{n}"), |backend| {
            let args = [
                f32_buffer(&a),
                f32_buffer(&b),
                f32_buffer(&c),
                zeros(ScalarType::F32, m * n),
            ];
            let out = run_source(DOT, "mm", &consts, &args, [1, 1, 1], backend)?;
            assert_close(&buffer(&out, 3).to_f32(), &expected, 1e-5)
        }));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn half_buffer(values: &[f32], elem: ScalarType) -> KernelArg {
    let data = values
        .iter()
        .flat_map(|&v| match elem {
            ScalarType::F16 => half::f16::from_f32(v).to_le_bytes(),
            _ => half::bf16::from_f32(v).to_le_bytes(),
        })
        .collect();
    KernelArg::Buffer(HostBuffer {
        elem,
        shape: vec![values.len()],
        data,
    })
}

fn round_half(values: &[f32], elem: ScalarType) -> Vec<f32> {
    values
        .iter()
        .map(|&v| match elem {
            ScalarType::F16 => half::f16::from_f32(v).to_f32(),
            _ => half::bf16::from_f32(v).to_f32(),
        })
        .collect()
}

#[test]
fn dot_half_inputs_accumulate_in_f32() {
    let mut failures = Vec::new();
    for elem in [ScalarType::F16, ScalarType::BF16] {
        let src = matmul_source(elem);
        let (m, n, k) = (16, 32, 64);
        let a = round_half(&random_f32(m * k, 4), elem);
        let b = round_half(&random_f32(k * n, 5), elem);
        let expected = matmul_ref(&a, &b, &vec![0.0; m * n], m, n, k);
        let consts = [
            ("M", Literal::Int(m as i128)),
            ("N", Literal::Int(n as i128)),
            ("K", Literal::Int(k as i128)),
        ];
        failures.extend(both(&format!("dot {elem}"), |backend| {
            let args = [
                half_buffer(&a, elem),
                half_buffer(&b, elem),
                zeros(ScalarType::F32, m * n),
            ];
            let out = run_source(&src, "mm", &consts, &args, [1, 1, 1], backend)?;
            assert_close(&buffer(&out, 2).to_f32(), &expected, 1e-5)
        }));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs a kernel `k(x: *f32, out: *mut f32)` over `n` inputs and `out_len` outputs.
fn run_unary(src: &str, x: &[f32], out_len: usize, backend: &Backend) -> Result<Vec<f32>, String> {
    let args = [f32_buffer(x), zeros(ScalarType::F32, out_len)];
    let out = run_source(src, "k", &[], &args, [1, 1, 1], backend)?;
    Ok(buffer(&out, 1).to_f32())
}

/// Row-major flat index from coordinates.
fn flat(coords: &[usize], shape: &[usize]) -> usize {
    coords
        .iter()
        .zip(shape)
        .fold(0, |acc, (&c, &s)| acc * s + c)
}

fn unflat(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        out[d] = i % shape[d];
        i /= shape[d];
    }
    out
}

#[test]
fn shape_ops_match_numpy() {
    let x: Vec<f32> = (0..64).map(|i| i as f32 * 0.5 - 3.0).collect();
    let mut failures = Vec::new();
    // (name, source, expected)
    let mut cases: Vec<(&str, String, Vec<f32>)> = Vec::new();

    // trans of [8, 8] loaded row-major.
    let t: Vec<f32> = (0..64).map(|i| x[(i % 8) * 8 + i / 8]).collect();
    cases.push((
        "trans",
        r#"kernel k(x: *f32, out: *mut f32) {
            let r = arange(0, 8);
            let v = load(x + r[:, None] * 8 + r[None, :]);
            store(out + r[:, None] * 8 + r[None, :], trans(v));
        }"#
        .into(),
        t,
    ));
    // reshape [64] -> [4, 16] then store row-major: the same order.
    cases.push((
        "reshape",
        r#"kernel k(x: *f32, out: *mut f32) {
            let v = reshape(load(x + arange(0, 64)), [4, 16]);
            store(out + arange(0, 4)[:, None] * 16 + arange(0, 16)[None, :], v * 2.0);
        }"#
        .into(),
        x.iter().map(|v| v * 2.0).collect(),
    ));
    // ravel of a [8, 8] transposed view: out[i] = x^T flat.
    cases.push((
        "ravel",
        r#"kernel k(x: *f32, out: *mut f32) {
            let r = arange(0, 8);
            let v = load(x + r[None, :] * 8 + r[:, None]);
            store(out + arange(0, 64), ravel(v));
        }"#
        .into(),
        (0..64).map(|i| x[(i % 8) * 8 + i / 8]).collect(),
    ));
    // permute [2, 4, 8] by [2, 0, 1] -> [8, 2, 4].
    let src_shape = [2, 4, 8];
    let dst_shape = [8, 2, 4];
    let perm = [2, 0, 1];
    let p: Vec<f32> = (0..64)
        .map(|i| {
            let dc = unflat(i, &dst_shape);
            let mut sc = [0; 3];
            for (d, &pd) in perm.iter().enumerate() {
                sc[pd] = dc[d];
            }
            x[flat(&sc, &src_shape)]
        })
        .collect();
    cases.push((
        "permute",
        r#"kernel k(x: *f32, out: *mut f32) {
            let v = reshape(load(x + arange(0, 64)), [2, 4, 8]);
            store(out + arange(0, 64), ravel(permute(v, [2, 0, 1])));
        }"#
        .into(),
        p,
    ));
    // join two [32] halves -> [32, 2] interleaved.
    cases.push((
        "join",
        r#"kernel k(x: *f32, out: *mut f32) {
            let r = arange(0, 32);
            let j = join(load(x + r), load(x + 32 + r));
            store(out + r[:, None] * 2 + arange(0, 2)[None, :], j);
        }"#
        .into(),
        (0..64)
            .map(|i| if i % 2 == 0 { x[i / 2] } else { x[32 + i / 2] })
            .collect(),
    ));
    // broadcast_to and expand_dims: out[i, j] = x[j] + x[i].
    cases.push((
        "broadcast_to+expand_dims",
        r#"kernel k(x: *f32, out: *mut f32) {
            let r = arange(0, 8);
            let v = load(x + r);
            let rows = broadcast_to(expand_dims(v, 0), [8, 8]);
            let cols = broadcast_to(expand_dims(v, 1), [8, 8]);
            store(out + r[:, None] * 8 + r[None, :], rows + cols);
        }"#
        .into(),
        (0..64).map(|i| x[i % 8] + x[i / 8]).collect(),
    ));
    for (name, src, expected) in &cases {
        failures.extend(both(name, |backend| {
            let got = run_unary(src, &x, 64, backend)?;
            assert_close(&got, expected, 0.0)
        }));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The GPU schedule's staged `dot` (a register tile per invocation read from shared memory with
/// four-vector reads, double-buffered) run on the device: lavapipe runs any schedule, so a GPU
/// target made from its own properties executes the plan a GPU gets. The f32 matmul of
/// benches/kernels/matmul_autotune.tk (masked edges, runtime strides, a K loop of `dot`s) at
/// shapes no tile divides, with one and two buffers, against a reference.
#[test]
fn gpu_staged_dot_runs_on_the_device() {
    use tk::driver::{self, BuildOptions, Source};
    use tk::ir::schedule::DotPlan;
    let device = device();
    let mut target = device.target();
    target.processor = tk::abi::Processor::Gpu;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/kernels/matmul_autotune.tk"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let source = Source::new(path, &text);
    let mut failures = Vec::new();
    // (BLOCK_M, BLOCK_N, BLOCK_K, threads, stages, four-vector reads)
    for (bm, bn, bk, threads, stages, vector) in [
        (64, 64, 16, 64, 2, 4),
        (64, 64, 16, 64, 1, 4),
        (32, 64, 8, 32, 2, 4),
        (32, 32, 8, 128, 2, 1),
    ] {
        let consts = [
            ("BLOCK_M", Literal::Int(bm)),
            ("BLOCK_N", Literal::Int(bn)),
            ("BLOCK_K", Literal::Int(bk)),
        ];
        let mut lowered = driver::lower_source(&source, "matmul", &consts).unwrap();
        lowered.module.kernel.threads = Some(threads);
        lowered.module.kernel.stages = Some(stages);
        let build = driver::build_lowered(&lowered, &target, &BuildOptions::default()).unwrap();
        let (module, artifact) = (build.scheduled, build.artifact);
        validate_spirv(&artifact.words).unwrap();
        let what = format!("{bm}x{bn}x{bk}, {threads} threads, {stages} stages");
        let schedule = module.kernel.schedule.as_ref().unwrap();
        let staged: Vec<_> = schedule
            .plans
            .iter()
            .filter_map(|p| match p {
                Some(tk::ir::Plan::Dot(DotPlan::Staged(s))) => Some(s.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(staged.len(), 1, "{what}");
        assert_eq!(staged[0].stages, stages, "{what}");
        assert_eq!(staged[0].vector, vector, "{what}");
        let pipeline = device.load(&artifact).unwrap();
        for (m, n, k) in [(100, 72, 40), (64, 64, 16)] {
            let a = random_f32(m * k, 21);
            let b = random_f32(k * n, 22);
            let expected = matmul_ref(&a, &b, &vec![0.0; m * n], m, n, k);
            let int = |v: usize| KernelArg::Scalar(Literal::Int(v as i128));
            let mut args = vec![
                f32_buffer(&a),
                f32_buffer(&b),
                zeros(ScalarType::F32, m * n),
            ];
            args.extend([m, n, k, k, 1, n, 1, n, 1].map(int));
            let grid = [
                (m.div_ceil(bm as usize) * n.div_ceil(bn as usize)) as u32,
                1,
                1,
            ];
            device.launch(&pipeline, &mut args, grid).unwrap();
            if let Err(e) = assert_close(&buffer(&args, 2).to_f32(), &expected, 1e-4) {
                failures.push(format!("{what}, {m}x{n}x{k}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// benches/kernels/attention_f32.tk (examples/attention.tk in f32, the problem of PyTorch's f32
/// SDPA) against a reference on the interpreter and the device, and attention in f32 and f16
/// under the GPU schedule on the device (staged dots with register tiles, the softmax's
/// reductions across invocations through shared memory).
#[test]
fn attention_f32_and_the_gpu_schedule_of_attention() {
    use tk::driver::{self, BuildOptions, Source};
    let device = device();
    let mut gpu = device.target();
    gpu.processor = tk::abi::Processor::Gpu;
    let root = env!("CARGO_MANIFEST_DIR");
    let mut failures = Vec::new();
    for (file, half) in [
        ("benches/kernels/attention_f32.tk", false),
        ("examples/attention.tk", true),
    ] {
        let source = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        for (zh, ctx, d, tile) in [(2usize, 64usize, 32usize, 32i128), (1, 72, 64, 32)] {
            let scale = 1.0 / (d as f32).sqrt();
            let round = |x: Vec<f32>| if half { f16_values(&x) } else { x };
            let q = round(random_f32(zh * ctx * d, 61));
            let k = round(random_f32(zh * ctx * d, 62));
            let v = round(random_f32(zh * ctx * d, 63));
            let expected = attention_ref(&q, &k, &v, zh, ctx, d, scale);
            let buffer_of = |x: &[f32]| if half { f16_buffer(x) } else { f32_buffer(x) };
            let elem = if half {
                ScalarType::F16
            } else {
                ScalarType::F32
            };
            let args = vec![
                buffer_of(&q),
                buffer_of(&k),
                buffer_of(&v),
                zeros(elem, zh * ctx * d),
                KernelArg::Scalar(Literal::Float(scale as f64)),
                KernelArg::Scalar(Literal::Int(zh as i128)),
                KernelArg::Scalar(Literal::Int(ctx as i128)),
            ];
            let consts = [
                ("HEAD_DIM", Literal::Int(d as i128)),
                ("BLOCK_M", Literal::Int(tile)),
                ("BLOCK_N", Literal::Int(tile)),
            ];
            let grid = [ctx.div_ceil(tile as usize) as u32, zh as u32, 1];
            // The probabilities are rounded to f16 before the second dot in the f16 kernel.
            let tolerance = if half { 1e-2 } else { 1e-4 };
            let what = format!("{file} zh={zh} ctx={ctx} d={d}");
            let check = |out: &[KernelArg]| -> Result<(), String> {
                let got = buffer(out, 3);
                let got: Vec<f32> = if half {
                    got.data
                        .chunks_exact(2)
                        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                        .collect()
                } else {
                    got.to_f32()
                };
                assert_close(&got, &expected, tolerance)
            };
            if !half {
                failures.extend(both(&what, |backend| {
                    check(&run_source(
                        &source,
                        "attention_fwd",
                        &consts,
                        &args,
                        grid,
                        backend,
                    )?)
                }));
            }
            let build = driver::build(
                &Source::new(file, &source),
                "attention_fwd",
                &consts,
                &gpu,
                &BuildOptions::default(),
            )
            .unwrap();
            let (module, artifact) = (build.scheduled, build.artifact);
            validate_spirv(&artifact.words).unwrap();
            assert!(module.kernel.schedule.as_ref().unwrap().dot_bytes > 0);
            let pipeline = device.load(&artifact).unwrap();
            let mut out = args.clone();
            device.launch(&pipeline, &mut out, grid).unwrap();
            if let Err(e) = check(&out) {
                failures.push(format!("{what} on the GPU schedule: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
