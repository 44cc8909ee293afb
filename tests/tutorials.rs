//! Ports of Triton's tutorials (examples/matmul.tk, layer_norm.tk, attention.tk,
//! grouped_gemm.tk, softmax.tk, dropout.tk): each runs on the interpreter and on the Vulkan device and is
//! compared with a plain Rust reference; one also runs through `tkc run` with .npy files.
mod common;

use common::*;
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn check_both(name: &str, run: impl Fn(&Backend) -> Result<(), String>) {
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
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn f16_out(buffer: &HostBuffer) -> Vec<f32> {
    buffer
        .data
        .chunks_exact(2)
        .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}

fn ints(values: &[(&str, i64)]) -> Vec<(String, Literal)> {
    values
        .iter()
        .map(|(n, v)| (n.to_string(), Literal::Int(*v as i128)))
        .collect()
}

fn consts_ref(c: &[(String, Literal)]) -> Vec<(&str, Literal)> {
    c.iter().map(|(n, v)| (n.as_str(), *v)).collect()
}

// ---- 03 matmul ----------------------------------------------------------------------------------

#[test]
fn tutorial_03_matmul_grouped_ordering() {
    let source = example("matmul.tk");
    for (m, n, k, bm, bn, bk, group) in [
        (100, 70, 50, 32, 32, 16, 4),
        (64, 64, 64, 16, 32, 16, 2),
        (1, 33, 7, 16, 16, 8, 1),
    ] {
        let a = f16_values(&random_f32(m * k, 11));
        let b = f16_values(&random_f32(k * n, 12));
        let expected = f16_values(&matmul_f64(&a, &b, m, n, k));
        let consts = ints(&[
            ("BLOCK_M", bm),
            ("BLOCK_N", bn),
            ("BLOCK_K", bk),
            ("GROUP_SIZE_M", group),
        ]);
        let grid = [
            (m.div_ceil(bm as usize) * n.div_ceil(bn as usize)) as u32,
            1,
            1,
        ];
        check_both(&format!("matmul {m}x{n}x{k}"), |backend| {
            let args = [
                f16_buffer(&a),
                f16_buffer(&b),
                KernelArg::Buffer(HostBuffer::zeros(ScalarType::F16, vec![m * n])),
                int(m as i64),
                int(n as i64),
                int(k as i64),
                int(k as i64),
                int(1),
                int(n as i64),
                int(1),
                int(n as i64),
                int(1),
            ];
            let out = run_source(
                &source,
                "matmul",
                &consts_ref(&consts),
                &args,
                grid,
                backend,
            )?;
            assert_close(&f16_out(buffer(&out, 2)), &expected, 2e-3)
        });
    }
}

// ---- 08 grouped GEMM ------------------------------------------------------------------------------

#[test]
fn tutorial_08_grouped_gemm_one_launch_per_problem() {
    let source = example("grouped_gemm.tk");
    let problems = [(64, 64, 64), (40, 96, 24), (128, 32, 16), (17, 5, 33)];
    for (g, &(m, n, k)) in problems.iter().enumerate() {
        let a = f16_values(&random_f32(m * k, 20 + g as u64));
        let b = f16_values(&random_f32(k * n, 40 + g as u64));
        let expected = f16_values(&matmul_f64(&a, &b, m, n, k));
        let grid = [(m.div_ceil(32) * n.div_ceil(32)) as u32, 1, 1];
        check_both(&format!("grouped gemm problem {g}"), |backend| {
            let args = [
                f16_buffer(&a),
                f16_buffer(&b),
                KernelArg::Buffer(HostBuffer::zeros(ScalarType::F16, vec![m * n])),
                int(m as i64),
                int(n as i64),
                int(k as i64),
                int(k as i64),
                int(n as i64),
                int(n as i64),
            ];
            let out = run_source(&source, "grouped_matmul_tile", &[], &args, grid, backend)?;
            assert_close(&f16_out(buffer(&out, 2)), &expected, 2e-3)
        });
    }
}

// ---- 05 layer norm --------------------------------------------------------------------------------

struct LayerNormRef {
    y: Vec<f32>,
    mean: Vec<f32>,
    rstd: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

#[allow(clippy::too_many_arguments)]
fn layer_norm_ref(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    dy: &[f32],
    m: usize,
    n: usize,
    eps: f32,
) -> LayerNormRef {
    let mut r = LayerNormRef {
        y: vec![0.0; m * n],
        mean: vec![0.0; m],
        rstd: vec![0.0; m],
        dx: vec![0.0; m * n],
        dw: vec![0.0; n],
        db: vec![0.0; n],
    };
    for i in 0..m {
        let row: Vec<f64> = x[i * n..(i + 1) * n].iter().map(|&v| v as f64).collect();
        let mean = row.iter().sum::<f64>() / n as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        let rstd = 1.0 / (var + eps as f64).sqrt();
        r.mean[i] = mean as f32;
        r.rstd[i] = rstd as f32;
        let x_hat: Vec<f64> = row.iter().map(|v| (v - mean) * rstd).collect();
        let wdy: Vec<f64> = (0..n).map(|j| w[j] as f64 * dy[i * n + j] as f64).collect();
        let c1 = (0..n).map(|j| x_hat[j] * wdy[j]).sum::<f64>() / n as f64;
        let c2 = wdy.iter().sum::<f64>() / n as f64;
        for j in 0..n {
            r.y[i * n + j] = (x_hat[j] * w[j] as f64 + b[j] as f64) as f32;
            r.dx[i * n + j] = ((wdy[j] - (x_hat[j] * c1 + c2)) * rstd) as f32;
            r.dw[j] += (dy[i * n + j] as f64 * x_hat[j]) as f32;
            r.db[j] += dy[i * n + j];
        }
    }
    r
}

#[test]
fn tutorial_05_layer_norm_forward_and_backward() {
    let source = example("layer_norm.tk");
    let (m, n, eps) = (37usize, 200usize, 1e-5f32);
    let (block_n, group) = (256i64, 8usize);
    let x = random_f32(m * n, 31);
    let w = random_f32(n, 32);
    let b = random_f32(n, 33);
    let dy = random_f32(m * n, 34);
    let r = layer_norm_ref(&x, &w, &b, &dy, m, n, eps);
    check_both("layer norm", |backend| {
        // Forward.
        let args = [
            f32_buffer(&x),
            zeros(ScalarType::F32, m * n),
            f32_buffer(&w),
            f32_buffer(&b),
            zeros(ScalarType::F32, m),
            zeros(ScalarType::F32, m),
            int(n as i64),
            int(m as i64),
            int(n as i64),
            float(eps as f64),
        ];
        let consts = ints(&[("BLOCK", 64)]);
        let fwd = run_source(
            &source,
            "layer_norm_fwd",
            &consts_ref(&consts),
            &args,
            [m as u32, 1, 1],
            backend,
        )?;
        assert_close(&buffer(&fwd, 1).to_f32(), &r.y, 1e-4).map_err(|e| format!("y: {e}"))?;
        assert_close(&buffer(&fwd, 4).to_f32(), &r.mean, 1e-5).map_err(|e| format!("mean: {e}"))?;
        assert_close(&buffer(&fwd, 5).to_f32(), &r.rstd, 1e-4).map_err(|e| format!("rstd: {e}"))?;
        // Backward: dx and per-group partial sums, then the column sums.
        let args = [
            zeros(ScalarType::F32, m * n),
            f32_buffer(&dy),
            zeros(ScalarType::F32, group * n),
            zeros(ScalarType::F32, group * n),
            f32_buffer(&x),
            f32_buffer(&w),
            fwd[4].clone(),
            fwd[5].clone(),
            int(n as i64),
            int(m as i64),
            int(n as i64),
        ];
        let consts = ints(&[("BLOCK_N", block_n), ("GROUP", group as i64)]);
        let bwd = run_source(
            &source,
            "layer_norm_bwd_dx",
            &consts_ref(&consts),
            &args,
            [group as u32, 1, 1],
            backend,
        )?;
        assert_close(&buffer(&bwd, 0).to_f32(), &r.dx, 1e-3).map_err(|e| format!("dx: {e}"))?;
        let args = [
            bwd[2].clone(),
            bwd[3].clone(),
            zeros(ScalarType::F32, n),
            zeros(ScalarType::F32, n),
            int(group as i64),
            int(n as i64),
        ];
        let consts = ints(&[("BLOCK_M", 4), ("BLOCK_N", 64)]);
        let sums = run_source(
            &source,
            "layer_norm_bwd_dwdb",
            &consts_ref(&consts),
            &args,
            [n.div_ceil(64) as u32, 1, 1],
            backend,
        )?;
        assert_close(&buffer(&sums, 2).to_f32(), &r.dw, 1e-3).map_err(|e| format!("dw: {e}"))?;
        assert_close(&buffer(&sums, 3).to_f32(), &r.db, 1e-4).map_err(|e| format!("db: {e}"))
    });
}

// ---- 06 fused attention -----------------------------------------------------------------------------

#[test]
fn tutorial_06_fused_attention_forward() {
    let source = example("attention.tk");
    for (zh, ctx, d, bm, bn) in [
        (2usize, 64usize, 32usize, 32i64, 32i64),
        (3, 40, 16, 16, 16),
    ] {
        let scale = 1.0 / (d as f32).sqrt();
        let q = f16_values(&random_f32(zh * ctx * d, 51));
        let k = f16_values(&random_f32(zh * ctx * d, 52));
        let v = f16_values(&random_f32(zh * ctx * d, 53));
        let expected = attention_ref(&q, &k, &v, zh, ctx, d, scale);
        let consts = ints(&[("HEAD_DIM", d as i64), ("BLOCK_M", bm), ("BLOCK_N", bn)]);
        let grid = [ctx.div_ceil(bm as usize) as u32, zh as u32, 1];
        check_both(&format!("attention zh={zh} ctx={ctx} d={d}"), |backend| {
            let args = [
                f16_buffer(&q),
                f16_buffer(&k),
                f16_buffer(&v),
                KernelArg::Buffer(HostBuffer::zeros(ScalarType::F16, vec![zh * ctx * d])),
                float(scale as f64),
                int(zh as i64),
                int(ctx as i64),
            ];
            let out = run_source(
                &source,
                "attention_fwd",
                &consts_ref(&consts),
                &args,
                grid,
                backend,
            )?;
            // p is rounded to f16 before the second dot, as in Triton.
            assert_close(&f16_out(buffer(&out, 3)), &expected, 1e-2)
        });
    }
}

// ---- 04 seeded dropout ------------------------------------------------------------------------------

/// `tl.rand(seed, offset)`: word 0 of Philox 4x32-10 (counter (offset, 0, 0, 0), key = seed as u64
/// split lo/hi) through Triton's `uint_to_uniform_float` (the same port as tests/random.rs).
fn triton_rand(seed: i64, offset: u32) -> f32 {
    let (a, b) = (0xD251_1F53u32, 0xCD9E_8D57u32);
    let seed = seed as u64;
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    let (mut c0, mut c1, mut c2, mut c3) = (offset, 0u32, 0u32, 0u32);
    for _ in 0..10 {
        let (old0, old2) = (c0, c2);
        c0 = ((b as u64 * old2 as u64) >> 32) as u32 ^ c1 ^ k0;
        c2 = ((a as u64 * old0 as u64) >> 32) as u32 ^ c3 ^ k1;
        c1 = b.wrapping_mul(old2);
        c3 = a.wrapping_mul(old0);
        k0 = k0.wrapping_add(0x9E37_79B9);
        k1 = k1.wrapping_add(0xBB67_AE85);
    }
    let i = c0 as i32;
    let i = if i < 0 { -i - 1 } else { i };
    i as f32 * 4.656_612_7e-10
}

/// The kept lanes of seeded dropout: `rand(seed, i) > p`.
fn dropout_mask(seed: i64, n: usize, p: f32) -> Vec<bool> {
    (0..n).map(|i| triton_rand(seed, i as u32) > p).collect()
}

fn run_dropout(
    backend: &Backend,
    x: &[f32],
    p: f32,
    seed: i64,
    block: i64,
) -> Result<Vec<f32>, String> {
    let n = x.len();
    let args = [
        f32_buffer(x),
        zeros(ScalarType::F32, n),
        int(n as i64),
        float(p as f64),
        int(seed),
    ];
    let out = run_source(
        &example("dropout.tk"),
        "seeded_dropout",
        &consts_ref(&ints(&[("BLOCK", block)])),
        &args,
        [n.div_ceil(block as usize) as u32, 1, 1],
        backend,
    )?;
    Ok(buffer(&out, 1).to_f32())
}

#[test]
fn tutorial_04_seeded_dropout() {
    // Non-zero inputs, so a zero output always means "dropped".
    let x: Vec<f32> = random_f32(1000, 41)
        .iter()
        .map(|v| if *v == 0.0 { 0.5 } else { *v })
        .collect();
    let p = 0.3f32;
    check_both("seeded dropout", |backend| {
        let out = run_dropout(backend, &x, p, 123, 256)?;
        let mask = dropout_mask(123, x.len(), p);
        let expected: Vec<f32> = x
            .iter()
            .zip(&mask)
            .map(|(&v, &keep)| if keep { v / (1.0 - p) } else { 0.0 })
            .collect();
        assert_close(&out, &expected, 1e-6)?;
        let kept: Vec<bool> = out.iter().map(|&v| v != 0.0).collect();
        if kept != mask {
            return Err("the kept lanes differ from rand(seed, offsets) > p".into());
        }
        // The same seed gives the same mask (and output), whatever the block size.
        if run_dropout(backend, &x, p, 123, 1024)? != out {
            return Err("the same seed gave a different output".into());
        }
        // Another seed gives another mask.
        let other: Vec<bool> = run_dropout(backend, &x, p, 124, 256)?
            .iter()
            .map(|&v| v != 0.0)
            .collect();
        if other != dropout_mask(124, x.len(), p) {
            return Err("seed 124: the kept lanes differ from the reference".into());
        }
        let differing = other.iter().zip(&kept).filter(|(a, b)| a != b).count();
        if differing < x.len() / 10 {
            return Err(format!(
                "seeds 123 and 124 differ in only {differing} of {} lanes",
                x.len()
            ));
        }
        Ok(())
    });
}

#[test]
fn tutorial_04_dropout_keeps_about_one_minus_p() {
    let n = 1 << 16;
    let x = vec![1.0f32; n];
    check_both("dropout kept fraction", |backend| {
        for p in [0.2f32, 0.7] {
            let out = run_dropout(backend, &x, p, 7, 1024)?;
            let kept = out.iter().filter(|&&v| v != 0.0).count() as f64 / n as f64;
            // The binomial standard deviation is at most 0.002 here; 0.01 is five of them.
            if (kept - (1.0 - p as f64)).abs() > 0.01 {
                return Err(format!("p = {p}: kept {kept}, expected about {}", 1.0 - p));
            }
            let scale = 1.0 / (1.0 - p);
            if let Some(bad) = out
                .iter()
                .find(|&&v| v != 0.0 && (v - scale).abs() > 1e-6 * scale)
            {
                return Err(format!(
                    "p = {p}: a kept 1.0 became {bad}, expected {scale}"
                ));
            }
        }
        Ok(())
    });
}

// ---- through the command line ------------------------------------------------------------------

#[test]
fn matmul_through_tkc_run() {
    let dir = std::env::temp_dir().join(format!("tk-tutorials-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (m, n, k) = (48usize, 40usize, 24usize);
    let a = f16_values(&random_f32(m * k, 61));
    let b = f16_values(&random_f32(k * n, 62));
    let expected = f16_values(&matmul_f64(&a, &b, m, n, k));
    tk::npy::write(&dir.join("a.npy"), &f16_host(&a, vec![m, k])).unwrap();
    tk::npy::write(&dir.join("b.npy"), &f16_host(&b, vec![k, n])).unwrap();
    for device in ["auto", "interp"] {
        let out = dir.join(format!("c-{device}.npy"));
        let arg = |s: String| s;
        let args = vec![
            "run".to_string(),
            "examples/matmul.tk".into(),
            "-D".into(),
            "BLOCK_M=16".into(),
            "--arg".into(),
            arg(format!("a={}", dir.join("a.npy").display())),
            "--arg".into(),
            arg(format!("b={}", dir.join("b.npy").display())),
            "--arg".into(),
            format!("c=zeros:{m}x{n}"),
            "--arg".into(),
            format!("M={m}"),
            "--arg".into(),
            format!("N={n}"),
            "--arg".into(),
            format!("K={k}"),
            "--arg".into(),
            format!("stride_am={k}"),
            "--arg".into(),
            "stride_ak=1".into(),
            "--arg".into(),
            format!("stride_bk={n}"),
            "--arg".into(),
            "stride_bn=1".into(),
            "--arg".into(),
            format!("stride_cm={n}"),
            "--arg".into(),
            "stride_cn=1".into(),
            "--out".into(),
            format!("c={}", out.display()),
            "--device".into(),
            device.into(),
        ];
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tkc"))
            .args(&args)
            .env("XDG_RUNTIME_DIR", "/tmp")
            .env("NO_COLOR", "1")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run tkc");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "tkc run --device {device}:\n{stderr}"
        );
        let result = tk::npy::read(&out).unwrap();
        assert_eq!(result.shape, vec![m, n]);
        assert_close(&f16_out(&result), &expected, 2e-3).unwrap();
    }
}
