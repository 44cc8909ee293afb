//! Device tests: the kernels of `tests` compiled for the Vulkan device (lavapipe here) with the
//! validation layer on, launched, and compared with plain Rust references and the interpreter.
//! They fail, not skip, when no device is found.
use super::tests::*;
use super::*;
use crate::base::{HostBuffer, KernelArg, Literal, ScalarType};
use crate::ir::ReduceOp;
use crate::runtime::{Device, DeviceChoice, DeviceOptions};
use std::sync::OnceLock;

fn device() -> &'static Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE.get_or_init(|| {
        let options = DeviceOptions {
            validation: true,
            ..DeviceOptions::from_env()
        };
        Device::open_with(DeviceChoice::Auto, options)
            .expect("a Vulkan device (lavapipe) is required for these tests")
    })
}

/// Schedules for the device, emits (safe mode unless told), launches; returns the arguments
/// after the launch.
fn launch_with(
    kernel: crate::ir::Kernel,
    args: Vec<KernelArg>,
    grid: [u32; 3],
    safe: bool,
) -> Result<Vec<KernelArg>, crate::runtime::RuntimeError> {
    launch_for(kernel, args, grid, safe, device().target())
}

/// Like `launch_with`, compiling for `target` (the device's, possibly with tighter limits).
fn launch_for(
    kernel: crate::ir::Kernel,
    args: Vec<KernelArg>,
    grid: [u32; 3],
    safe: bool,
    target: Target,
) -> Result<Vec<KernelArg>, crate::runtime::RuntimeError> {
    let module = crate::driver::schedule(ir::Module { kernel }, &target).expect("schedule");
    launch_scheduled(&module, args, grid, safe, &target)
}

/// Emits a scheduled module for `target` and launches it.
fn launch_scheduled(
    module: &ir::Module,
    mut args: Vec<KernelArg>,
    grid: [u32; 3],
    safe: bool,
    target: &Target,
) -> Result<Vec<KernelArg>, crate::runtime::RuntimeError> {
    let dev = device();
    let art = emit(
        module,
        target,
        &EmitOptions {
            safe,
            vector_views: true,
        },
    )
    .expect("emit");
    validate(&art.words, &module.kernel.name);
    let pipeline = dev.load(&art).expect("load");
    dev.launch(&pipeline, &mut args, grid)?;
    Ok(args)
}

fn launch(kernel: crate::ir::Kernel, args: Vec<KernelArg>, grid: [u32; 3]) -> Vec<KernelArg> {
    launch_with(kernel, args, grid, true).expect("launch")
}

/// Runs the interpreter on the same (lowered) kernel.
fn interpret(
    kernel: crate::ir::Kernel,
    mut args: Vec<KernelArg>,
    grid: [u32; 3],
) -> Vec<KernelArg> {
    crate::interp::run(&ir::Module { kernel }, &mut args, grid).expect("interpreter");
    args
}

fn buf(arg: &KernelArg) -> &HostBuffer {
    match arg {
        KernelArg::Buffer(b) => b,
        KernelArg::Scalar(_) => panic!("not a buffer"),
    }
}

fn f32s(values: impl IntoIterator<Item = f32>) -> KernelArg {
    let v: Vec<f32> = values.into_iter().collect();
    let n = v.len();
    KernelArg::Buffer(HostBuffer::from_f32(&v, vec![n]))
}

fn zeros(ty: ScalarType, n: usize) -> KernelArg {
    KernelArg::Buffer(HostBuffer::zeros(ty, vec![n]))
}

fn int(v: i64) -> KernelArg {
    KernelArg::Scalar(Literal::Int(v as i128))
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let ok = (x - y).abs() <= tol * (1.0 + y.abs()) || (x.is_nan() && y.is_nan());
        assert!(ok, "element {i}: got {x}, want {y}");
    }
}

#[test]
fn vector_add_runs() {
    let n = 1000usize;
    let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let y: Vec<f32> = (0..n).map(|i| 1000.0 - i as f32).collect();
    // The output is one element longer: the masked tail must stay untouched.
    let args = vec![
        f32s(x.clone()),
        f32s(y.clone()),
        f32s(vec![-1.0; n + 24]),
        int(n as i64),
    ];
    let out = launch(vector_add(256), args.clone(), [4, 1, 1]);
    let got = buf(&out[2]).to_f32();
    let mut want: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
    want.extend(vec![-1.0; 24]);
    assert_eq!(got, want);
    let reference = interpret(vector_add(256), args, [4, 1, 1]);
    assert_eq!(buf(&reference[2]).to_f32(), got);
}

#[test]
fn reductions_run() {
    let n = 1000usize;
    let x: Vec<f32> = (0..n).map(|i| ((i * 37) % 101) as f32 - 50.0).collect();
    for (op, other) in [
        (ReduceOp::Sum, 0.0),
        (ReduceOp::Max, f32::NEG_INFINITY),
        (ReduceOp::Min, f32::INFINITY),
    ] {
        // Tiles larger than the workgroup (1024 over at most 256), equal, and smaller (16:
        // replicated, so replicas must not be counted twice).
        for (block, threads) in [(1024u32, None), (128, Some(128)), (16, Some(64))] {
            let programs = n.div_ceil(block as usize);
            let args = vec![
                f32s(x.clone()),
                zeros(ScalarType::F32, programs),
                int(n as i64),
            ];
            let out = launch(
                reduce_1d(op, block, other, threads),
                args,
                [programs as u32, 1, 1],
            );
            let got = buf(&out[1]).to_f32();
            let want: Vec<f32> = x
                .chunks(block as usize)
                .map(|c| match op {
                    ReduceOp::Sum => c.iter().sum(),
                    ReduceOp::Max => c.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                    _ => c.iter().copied().fold(f32::INFINITY, f32::min),
                })
                .collect();
            assert_eq!(got, want, "{op:?} block {block}");
        }
    }
}

#[test]
fn max_propagates_nan() {
    let mut x = vec![1.0f32; 64];
    x[17] = f32::NAN;
    let args = vec![f32s(x), zeros(ScalarType::F32, 1), int(64)];
    let out = launch(reduce_1d(ReduceOp::Max, 64, 0.0, None), args, [1, 1, 1]);
    assert!(buf(&out[1]).to_f32()[0].is_nan());
}

#[test]
fn softmax_runs() {
    let (rows, c, bm) = (16usize, 64usize, 4u32);
    let x: Vec<f32> = (0..rows * c)
        .map(|i| ((i * 13) % 29) as f32 * 0.25)
        .collect();
    let args = vec![f32s(x.clone()), zeros(ScalarType::F32, rows * c)];
    let out = launch(softmax(bm, c as u32), args, [rows as u32 / bm, 1, 1]);
    let got = buf(&out[1]).to_f32();
    let mut want = Vec::new();
    for row in x.chunks(c) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f32> = row.iter().map(|v| (v - m).exp()).collect();
        let s: f32 = e.iter().sum();
        want.extend(e.iter().map(|v| v / s));
    }
    close(&got, &want, 1e-5);
}

#[test]
fn column_sums_run() {
    for (r, c) in [(32usize, 16usize), (8, 256)] {
        let x: Vec<f32> = (0..r * c)
            .map(|i| (i % 7) as f32 + (i / c) as f32)
            .collect();
        let args = vec![f32s(x.clone()), zeros(ScalarType::F32, c)];
        let out = launch(column_sums(r as u32, c as u32), args, [1, 1, 1]);
        let want: Vec<f32> = (0..c).map(|j| (0..r).map(|i| x[i * c + j]).sum()).collect();
        assert_eq!(buf(&out[1]).to_f32(), want, "{r}x{c}");
    }
}

#[test]
fn loop_with_tile_local_runs() {
    let (block, k) = (256usize, 5usize);
    let x: Vec<f32> = (0..block * k).map(|i| i as f32).collect();
    let args = vec![
        f32s(x.clone()),
        zeros(ScalarType::F32, block),
        int(k as i64),
    ];
    let out = launch(loop_sum(block as u32), args, [1, 1, 1]);
    let want: Vec<f32> = (0..block)
        .map(|i| (0..k).map(|j| x[j * block + i]).sum())
        .collect();
    assert_eq!(buf(&out[1]).to_f32(), want);
}

#[test]
fn control_flow_runs() {
    let programs = 3usize;
    let args = vec![KernelArg::Buffer(HostBuffer::from_i32(
        &vec![-1; programs * 4],
        vec![programs * 4],
    ))];
    let out = launch(control_flow(), args.clone(), [programs as u32, 1, 1]);
    let got = buf(&out[0]).to_i32();
    let mut want = Vec::new();
    for pid in 0..programs {
        want.extend([2 + 4 + 6 + 8 + 10, 6, if pid % 2 == 0 { 100 } else { 200 }]);
        want.push(if pid % 2 == 0 { 7 } else { -1 });
    }
    assert_eq!(got, want);
    let reference = interpret(control_flow(), args, [programs as u32, 1, 1]);
    assert_eq!(buf(&reference[0]).to_i32(), got);
}

#[test]
fn n_past_the_buffers_breaks_the_launch_contract() {
    // n larger than the buffers: the accesses masked by `offs < n` carry no check of their own;
    // their contract `x: n elements` refuses the launch before it runs.
    let args = vec![
        f32s(vec![1.0; 100]),
        f32s(vec![2.0; 100]),
        f32s(vec![0.0; 100]),
        int(200),
    ];
    let err = launch_with(vector_add(256), args, [1, 1, 1], true).unwrap_err();
    match err {
        crate::runtime::RuntimeError::ContractBroken {
            param,
            index,
            contract,
            store,
            ..
        } => {
            assert_eq!((param.as_str(), index, store), ("x", 199, false));
            assert_eq!(contract, "x: n elements");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn layout_conversion_through_shared_memory_runs() {
    let n = 64usize;
    let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.001).collect();
    let out = launch(
        crate::ir::test_kernels::conflict_kernel(),
        vec![f32s(x.clone())],
        [1, 1, 1],
    );
    let want: Vec<f32> = x.iter().map(|v| (v + 64.0 * v).exp()).collect();
    close(&buf(&out[0]).to_f32(), &want, 1e-5);
}

/// Encodes numbers as a buffer of `ty` (ints wrap, floats round).
fn typed(ty: ScalarType, values: &[f64]) -> KernelArg {
    use ScalarType::*;
    let mut data = Vec::new();
    for &v in values {
        match ty {
            Bool => data.push((v != 0.0) as u8),
            I8 | U8 => data.push(v as i64 as u8),
            I16 | U16 => data.extend((v as i64 as u16).to_le_bytes()),
            I32 | U32 => data.extend((v as i64 as u32).to_le_bytes()),
            I64 | U64 => data.extend((v as i128 as u64).to_le_bytes()),
            F16 => data.extend(half::f16::from_f64(v).to_bits().to_le_bytes()),
            BF16 => data.extend(half::bf16::from_f64(v).to_bits().to_le_bytes()),
            F32 => data.extend((v as f32).to_le_bytes()),
            F64 => data.extend(v.to_le_bytes()),
        }
    }
    KernelArg::Buffer(HostBuffer {
        elem: ty,
        shape: vec![values.len()],
        data,
    })
}

/// Decodes a buffer to f64 (ints exactly up to 2^53; 64-bit ints as their i128 bits via f64).
fn decode(buffer: &HostBuffer) -> Vec<f64> {
    use ScalarType::*;
    let n = buffer.elem.bytes() as usize;
    buffer
        .data
        .chunks_exact(n)
        .map(|c| match buffer.elem {
            Bool => c[0] as f64,
            I8 => c[0] as i8 as f64,
            U8 => c[0] as f64,
            I16 => i16::from_le_bytes([c[0], c[1]]) as f64,
            U16 => u16::from_le_bytes([c[0], c[1]]) as f64,
            I32 => i32::from_le_bytes(c.try_into().unwrap()) as f64,
            U32 => u32::from_le_bytes(c.try_into().unwrap()) as f64,
            I64 => i64::from_le_bytes(c.try_into().unwrap()) as f64,
            U64 => u64::from_le_bytes(c.try_into().unwrap()) as f64,
            F16 => half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f64(),
            BF16 => half::bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f64(),
            F32 => f32::from_le_bytes(c.try_into().unwrap()) as f64,
            F64 => f64::from_le_bytes(c.try_into().unwrap()),
        })
        .collect()
}

/// Rust's `as` for a float into `to`, which has the language's cast semantics (saturating,
/// NaN → 0), as f64.
fn float_to_int_reference(v: f64, to: ScalarType) -> f64 {
    use ScalarType::*;
    match to {
        I8 => v as i8 as f64,
        I16 => v as i16 as f64,
        I32 => v as i32 as f64,
        I64 => v as i64 as f64,
        U8 => v as u8 as f64,
        U16 => v as u16 as f64,
        U32 => v as u32 as f64,
        U64 => v as u64 as f64,
        _ => unreachable!(),
    }
}

#[test]
fn float_to_int_casts_saturate() {
    use ScalarType::*;
    let values = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e10,
        -1e10,
        3.7,
        -3.7,
        255.5,
        256.0,
        -0.5,
        127.9,
        -128.9,
        65535.9,
        2147483520.0,
        -2147483648.0,
        0.0,
    ];
    for from in [F32, F64, F16] {
        for to in [I8, I16, I32, I64, U8, U16, U32, U64] {
            let block = 16u32;
            let input = typed(from, &values);
            // What the device sees after rounding to `from`.
            let seen = decode(buf(&input));
            let args = vec![input, zeros(to, block as usize)];
            let out = launch(cast_kernel(from, to, block), args, [1, 1, 1]);
            let got = decode(buf(&out[1]));
            let want: Vec<f64> = seen
                .iter()
                .map(|&v| float_to_int_reference(v, to))
                .collect();
            assert_eq!(got, want, "{from} -> {to}");
        }
    }
}

#[test]
fn int_and_float_casts_run() {
    use ScalarType::*;
    let values = [0.0, 1.0, -1.0, 127.0, -128.0, 300.0, -300.0, 70000.0];
    let cases = [
        (I32, I8),
        (I32, U8),
        (I32, I64),
        (I8, I32),
        (U8, I32),
        (I32, U32),
        (I64, I32),
        (I32, F32),
        (I32, F16),
        (F32, F16),
        (F32, BF16),
        (F32, F64),
        (F32, Bool),
        (Bool, F32),
        (I32, Bool),
        (U16, I64),
    ];
    for (from, to) in cases {
        let input = typed(from, &values);
        let seen = decode(buf(&input));
        let args = vec![input.clone(), zeros(to, 8)];
        let out = launch(cast_kernel(from, to, 8), args.clone(), [1, 1, 1]);
        let got = decode(buf(&out[1]));
        // Reference: the interpreter on the same kernel.
        let reference = interpret(cast_kernel(from, to, 8), args, [1, 1, 1]);
        assert_eq!(
            got,
            decode(buf(&reference[1])),
            "{from} -> {to} of {seen:?}"
        );
    }
}

#[test]
fn typed_buffers_run() {
    use ScalarType::*;
    for ty in [F16, BF16, F64, I64, U8, I8, I16, U16, U64, Bool] {
        // Unsigned buffers hold small non-negative values (wrapping is tested with u8).
        let shift = if matches!(ty, U16 | U64) { 0.0 } else { 20.0 };
        let values: Vec<f64> = (0..64).map(|i| (i as f64) - shift).collect();
        let input = typed(ty, &values);
        let seen = decode(buf(&input));
        let args = vec![input, zeros(ty, 64)];
        let out = launch(typed_kernel(ty, 64), args, [1, 1, 1]);
        let got = decode(buf(&out[1]));
        let want: Vec<f64> = seen
            .iter()
            .map(|&v| match ty {
                Bool => (v == 0.0) as u8 as f64,
                U8 => ((v as i64 * 2 + 1) as u8) as f64,
                U16 => ((v as i64 * 2 + 1) as u16) as f64,
                I8 => ((v as i64 * 2 + 1) as i8) as f64,
                U64 => ((v as i128 as u64).wrapping_mul(2).wrapping_add(1)) as f64,
                _ => v * 2.0 + 1.0,
            })
            .collect();
        assert_eq!(got, want, "{ty}");
    }
}

/// erf in f64: the Taylor series below 3 (no cancellation there), the asymptotic series of
/// erfc beyond (erfc(3) is 2e-5, so its few terms are far below f32 precision).
fn erf_reference(x: f64) -> f64 {
    if x.abs() >= 3.0 {
        let a = x.abs();
        let t = 1.0 / (2.0 * a * a);
        let series = 1.0 - t + 3.0 * t * t - 15.0 * t * t * t;
        let erfc = (-a * a).exp() / (a * std::f64::consts::PI.sqrt()) * series;
        return x.signum() * (1.0 - erfc);
    }
    let mut term = x;
    let mut sum = x;
    for n in 1..200 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn float_math_runs() {
    use crate::ir::UnaryOp::*;
    let n = 64usize;
    let x: Vec<f32> = (0..n).map(|i| (i as f32 - 32.0) * 0.37).collect();
    let pos: Vec<f32> = (0..n).map(|i| 0.01 + i as f32 * 0.7).collect();
    type Case = (crate::ir::UnaryOp, fn(f64) -> f64, bool, f32);
    let cases: [Case; 15] = [
        (Neg, |v| -v, false, 0.0),
        (Abs, f64::abs, false, 0.0),
        (Exp, f64::exp, false, 1e-6),
        (Exp2, f64::exp2, false, 1e-6),
        (Log, f64::ln, true, 1e-6),
        (Log2, f64::log2, true, 1e-6),
        (Sqrt, f64::sqrt, true, 1e-6),
        (Rsqrt, |v| 1.0 / v.sqrt(), true, 1e-5),
        (Sin, f64::sin, false, 1e-5),
        (Cos, f64::cos, false, 1e-5),
        (Tanh, f64::tanh, false, 1e-6),
        (Erf, erf_reference, false, 1e-6),
        (Floor, f64::floor, false, 0.0),
        (Round, |v| v.round_ties_even(), false, 0.0),
        (Sigmoid, |v| 1.0 / (1.0 + (-v).exp()), false, 1e-6),
    ];
    for (op, reference, positive, tol) in cases {
        let input = if positive { &pos } else { &x };
        let args = vec![f32s(input.clone()), zeros(ScalarType::F32, n)];
        let out = launch(unary_kernel(op, ScalarType::F32, n as u32), args, [1, 1, 1]);
        let want: Vec<f32> = input.iter().map(|&v| reference(v as f64) as f32).collect();
        close(&buf(&out[1]).to_f32(), &want, tol.max(1e-7));
    }
    // Large inputs: tanh and sigmoid saturate without NaN.
    let big = vec![100.0f32, -100.0, 1e30, -1e30];
    let args = vec![f32s(big.clone()), zeros(ScalarType::F32, 4)];
    let out = launch(unary_kernel(Tanh, ScalarType::F32, 4), args, [1, 1, 1]);
    assert_eq!(buf(&out[1]).to_f32(), vec![1.0, -1.0, 1.0, -1.0]);
    let args = vec![f32s(big), zeros(ScalarType::F32, 4)];
    let out = launch(unary_kernel(Sigmoid, ScalarType::F32, 4), args, [1, 1, 1]);
    assert_eq!(buf(&out[1]).to_f32(), vec![1.0, 0.0, 1.0, 0.0]);
}

#[test]
fn int_ops_run() {
    use crate::ir::BinaryOp::*;
    let a: Vec<i32> = (0..64).map(|i| (i * 7919 % 2001) - 1000).collect();
    let b: Vec<i32> = (0..64)
        .map(|i| if i % 5 == 0 { -(i + 3) } else { i % 37 + 1 })
        .collect();
    type Case = (crate::ir::BinaryOp, fn(i32, i32) -> i32);
    let cases: [Case; 11] = [
        (Add, i32::wrapping_add),
        (Sub, i32::wrapping_sub),
        (Mul, i32::wrapping_mul),
        (Div, |x, y| x / y),
        (Rem, |x, y| x % y),
        (And, |x, y| x & y),
        (Xor, |x, y| x ^ y),
        (Shl, |x, y| x.wrapping_shl(y as u32)),
        (Shr, |x, y| x.wrapping_shr(y as u32)),
        (Max, std::cmp::max),
        (MulHi, |x, y| ((x as i64 * y as i64) >> 32) as i32),
    ];
    for (op, reference) in cases {
        let args = vec![
            KernelArg::Buffer(HostBuffer::from_i32(&a, vec![64])),
            KernelArg::Buffer(HostBuffer::from_i32(&b, vec![64])),
            zeros(ScalarType::I32, 64),
        ];
        let out = launch(binary_kernel(op, ScalarType::I32, 64), args, [1, 1, 1]);
        let want: Vec<i32> = a.iter().zip(&b).map(|(&x, &y)| reference(x, y)).collect();
        assert_eq!(buf(&out[2]).to_i32(), want, "{op:?}");
    }
}

#[test]
fn scalar_params_run() {
    use ScalarType::*;
    let values: Vec<f64> = (0..64).map(|i| i as f64).collect();
    for ty in [F32, F16, I32, I64, U32, U64] {
        for flag in [false, true] {
            let input = typed(ty, &values);
            let (s, t) = if ty.is_float() {
                (
                    KernelArg::Scalar(Literal::Float(1.5)),
                    KernelArg::Scalar(Literal::Float(0.25)),
                )
            } else {
                (int(3), int(5))
            };
            let args = vec![
                input,
                zeros(ty, 64),
                s,
                KernelArg::Scalar(Literal::Bool(flag)),
                t,
            ];
            let out = launch(scalar_params_kernel(ty, 64), args.clone(), [1, 1, 1]);
            let reference = interpret(scalar_params_kernel(ty, 64), args, [1, 1, 1]);
            assert_eq!(
                decode(buf(&out[1])),
                decode(buf(&reference[1])),
                "{ty} flag {flag}"
            );
        }
    }
}

#[test]
fn grids_beyond_the_dispatch_limit_run() {
    // 70 000 programs of 32 elements: more than 65 535 workgroups along x.
    let block = 32usize;
    let programs = 70_000usize;
    let n = block * programs;
    let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let y = vec![1.0f32; n];
    let args = vec![
        f32s(x.clone()),
        f32s(y),
        zeros(ScalarType::F32, n),
        int(n as i64),
    ];
    let out = launch(vector_add(block as u32), args, [programs as u32, 1, 1]);
    let got = buf(&out[2]).to_f32();
    assert!(got.iter().zip(&x).all(|(g, v)| *g == v + 1.0));
}

#[test]
fn unchecked_mode_runs_without_status() {
    let n = 300usize;
    let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let args = vec![
        f32s(x.clone()),
        f32s(x.clone()),
        zeros(ScalarType::F32, n),
        int(n as i64),
    ];
    let out = launch_with(vector_add(128), args, [3, 1, 1], false).expect("launch");
    let want: Vec<f32> = x.iter().map(|v| v * 2.0).collect();
    assert_eq!(buf(&out[2]).to_f32(), want);
}

#[test]
fn running_max_over_column_blocks_runs() {
    let (bm, bn, blocks) = (8usize, 64usize, 3usize);
    let width = bn * blocks;
    let x: Vec<f32> = (0..bm * width)
        .map(|i| ((i * 7919) % 1013) as f32)
        .collect();
    let args = vec![
        f32s(x.clone()),
        zeros(ScalarType::F32, bm),
        int(blocks as i64),
    ];
    let out = launch(
        crate::ir::test_kernels::running_max_kernel(bm as u32, bn as u32),
        args.clone(),
        [1, 1, 1],
    );
    let want: Vec<f32> = x
        .chunks(width)
        .map(|row| row.iter().copied().fold(f32::NEG_INFINITY, f32::max))
        .collect();
    assert_eq!(buf(&out[1]).to_f32(), want);
    let reference = interpret(
        crate::ir::test_kernels::running_max_kernel(bm as u32, bn as u32),
        args,
        [1, 1, 1],
    );
    assert_eq!(buf(&reference[1]).to_f32(), want);
}

#[test]
fn wide_offsets_and_tile_control_flow_run() {
    let n = 512usize;
    let x: Vec<f32> = (0..n).map(|i| i as f32 + 1.0).collect();
    for (reps, flip) in [(0, false), (3, true)] {
        let args = vec![
            f32s(x.clone()),
            zeros(ScalarType::F32, n),
            int(reps),
            KernelArg::Scalar(Literal::Bool(flip)),
        ];
        let out = launch(wide_offsets_kernel(256), args, [2, 1, 1]);
        let sign = if flip { -1.0 } else { 1.0 };
        let want: Vec<f32> = x
            .iter()
            .map(|v| sign * (v + x[0]) * 2f32.powi(reps as i32))
            .collect();
        assert_eq!(buf(&out[1]).to_f32(), want, "reps {reps} flip {flip}");
    }
}

#[test]
fn reductions_chunked_to_fit_shared_memory_run() {
    // Row sums of a [64, 512] tile: 256 invocations hold 32 partial rows each, which needs
    // 32 KiB of scratch at once; a 4 KiB budget makes it go in chunks of 4 rows.
    let (r, c) = (64usize, 512usize);
    let x: Vec<f32> = (0..r * c).map(|i| ((i * 31) % 17) as f32).collect();
    let mut target = device().target();
    target.max_shared_bytes = 4096;
    let mut kernel = crate::ir::test_kernels::row_sums_kernel(r as u32, c as u32);
    kernel.threads = Some(256);
    let args = vec![f32s(x.clone()), zeros(ScalarType::F32, r)];
    let out = launch_for(kernel, args, [1, 1, 1], true, target).expect("launch");
    let want: Vec<f32> = x.chunks(c).map(|row| row.iter().sum()).collect();
    assert_eq!(buf(&out[1]).to_f32(), want);
}

/// Row sums, row prefix sums, a product and a transposition of 16 × 16 tiles: on a GPU schedule
/// each moves data through its own region of the scratch array.
const SCRATCH_USERS: &str = "kernel k(x: *f32, y: *f32, sums: *mut f32, scans: *mut f32,
        products: *mut f32, transposed: *mut f32) {
    let r = arange(0, 16);
    let c = arange(0, 16);
    let offs = r[:, None] * 16 + c[None, :];
    let v = load(x + offs);
    let w = load(y + offs);
    store(sums + r, sum(v, axis: 1));
    store(scans + offs, cumsum(v, axis: 1));
    store(products + offs, dot(v, w));
    store(transposed + offs, trans(v));
}";

/// The emitter addresses each plan's scratch region where the schedule puts it: with every
/// region moved up the scratch array the kernel computes the same bits.
#[test]
fn scratch_regions_away_from_the_start_run() {
    let program =
        crate::driver::check_source("scratch.tk", SCRATCH_USERS, &crate::driver::DiskLoader);
    assert!(!program.has_errors(), "{:?}", program.diagnostics);
    let lowered = crate::driver::lower(&program, "k", &[]).expect("lowers");
    // A GPU schedule on the device: reductions, scans and `dot` stage through shared memory.
    let mut target = device().target();
    target.processor = crate::abi::Processor::Gpu;
    target.features.subgroup_shuffle = false;
    let module = crate::driver::schedule(lowered, &target).expect("schedules");
    let mut moved = module.clone();
    let schedule = moved.kernel.schedule.as_mut().expect("a schedule");
    let shift = 256;
    let mut regions = 0;
    for plan in schedule.plans.iter_mut().flatten() {
        if let Some(scratch) = plan.scratch_mut() {
            scratch.offset += shift;
            regions += 1;
        }
        // The staged `dot`'s buffers, in the dot array.
        if let crate::ir::Plan::Dot(crate::ir::schedule::DotPlan::Staged(s)) = plan {
            s.region.offset += shift;
            regions += 1;
        }
    }
    schedule.shared_bytes += shift;
    schedule.dot_bytes += shift;
    assert!(regions >= 4, "{}", crate::ir::print::print(&module));
    assert_eq!(crate::ir::verify::verify(&moved), Ok(()));
    let options = EmitOptions {
        safe: true,
        vector_views: true,
    };
    let words = |m: &ir::Module| emit(m, &target, &options).expect("emits").words;
    assert_ne!(
        words(&module),
        words(&moved),
        "the regions' offsets reach the code"
    );

    let x: Vec<f32> = (0..256).map(|i| ((i * 37) % 23) as f32 - 11.0).collect();
    let y: Vec<f32> = (0..256).map(|i| ((i * 11) % 7) as f32 * 0.5).collect();
    let args = vec![
        f32s(x.clone()),
        f32s(y),
        zeros(ScalarType::F32, 16),
        zeros(ScalarType::F32, 256),
        zeros(ScalarType::F32, 256),
        zeros(ScalarType::F32, 256),
    ];
    let at_start = launch_scheduled(&module, args.clone(), [1, 1, 1], true, &target).unwrap();
    let away = launch_scheduled(&moved, args, [1, 1, 1], true, &target).unwrap();
    for output in 2..6 {
        assert_eq!(
            buf(&at_start[output]).data,
            buf(&away[output]).data,
            "output {output}"
        );
    }
    let sums: Vec<f32> = x.chunks(16).map(|row| row.iter().sum()).collect();
    assert_eq!(buf(&away[2]).to_f32(), sums);
    let transposed: Vec<f32> = (0..256).map(|i| x[(i % 16) * 16 + i / 16]).collect();
    assert_eq!(buf(&away[5]).to_f32(), transposed);
}
