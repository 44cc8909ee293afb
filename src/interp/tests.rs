//! Tests of the interpreter on kernels built by hand with `ir::builder::Builder`. Every kernel is
//! verified before it runs, so these also check that the verifier accepts good IR.
use super::*;
use crate::ir::builder::Builder;
use crate::ir::{BinaryOp, CmpOp, Module, ParamKind, ReduceOp, Type, UnaryOp, ValueId};

fn pointer(b: &mut Builder, name: &str, pointee: ScalarType, mutable: bool) -> ValueId {
    let index = b.add_param(name, ParamKind::Pointer { pointee, mutable });
    b.param(index)
}

fn scalar_param(b: &mut Builder, name: &str, ty: ScalarType) -> ValueId {
    let index = b.add_param(name, ParamKind::Scalar(ty));
    b.param(index)
}

fn finish(b: Builder) -> Module {
    let module = Module { kernel: b.finish() };
    if let Err(message) = ir::verify::verify(&module) {
        panic!(
            "verifier rejected a good kernel: {message}\n{}",
            ir::print::print(&module)
        );
    }
    module
}

fn run_ok(module: &Module, args: &mut [KernelArg], grid: [u32; 3]) {
    run(module, args, grid).expect("run failed");
}

fn buffer(arg: &KernelArg) -> &HostBuffer {
    match arg {
        KernelArg::Buffer(b) => b,
        KernelArg::Scalar(_) => panic!("not a buffer"),
    }
}

fn f32_buffer(values: &[f32]) -> KernelArg {
    KernelArg::Buffer(HostBuffer::from_f32(values, vec![values.len()]))
}

fn i32_buffer(values: &[i32]) -> KernelArg {
    KernelArg::Buffer(HostBuffer::from_i32(values, vec![values.len()]))
}

/// `ptr + offsets` where `offsets` is a tile: splats the pointer first.
fn tile_ptr(b: &mut Builder, ptr: ValueId, offsets: ValueId) -> ValueId {
    let shape = b.ty(offsets).shape.clone();
    let ptrs = b.splat(ptr, shape);
    b.ptr_offset(ptrs, offsets)
}

fn vector_add(block: u32) -> Module {
    let mut b = Builder::new("vector_add");
    let x = pointer(&mut b, "x", ScalarType::F32, false);
    let y = pointer(&mut b, "y", ScalarType::F32, false);
    let out = pointer(&mut b, "out", ScalarType::F32, true);
    let n = scalar_param(&mut b, "n", ScalarType::I32);
    let pid = b.program_id(0);
    let block_size = b.const_i32(block as i32);
    let start = b.binary(BinaryOp::Mul, pid, block_size);
    let start = b.splat(start, vec![block]);
    let lanes = b.arange(0, block);
    let offsets = b.binary(BinaryOp::Add, start, lanes);
    let n_tile = b.splat(n, vec![block]);
    let mask = b.compare(CmpOp::Lt, offsets, n_tile);
    let px = tile_ptr(&mut b, x, offsets);
    let py = tile_ptr(&mut b, y, offsets);
    let a = b.load(px, Some(mask), None);
    let c = b.load(py, Some(mask), None);
    let sum = b.binary(BinaryOp::Add, a, c);
    let po = tile_ptr(&mut b, out, offsets);
    b.store(po, sum, Some(mask));
    finish(b)
}

#[test]
fn vector_add_with_masked_tail() {
    let module = vector_add(256);
    let n = 1000;
    let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let y: Vec<f32> = (0..n).map(|i| 1.0 / (i as f32 + 1.0)).collect();
    let mut args = vec![
        f32_buffer(&x),
        f32_buffer(&y),
        f32_buffer(&vec![-1.0; n]),
        KernelArg::Scalar(Literal::Int(n as i128)),
    ];
    run_ok(&module, &mut args, [4, 1, 1]);
    let out = buffer(&args[2]).to_f32();
    for i in 0..n {
        assert_eq!(out[i].to_bits(), (x[i] + y[i]).to_bits(), "element {i}");
    }
}

#[test]
fn vector_add_large_grid_is_fast_enough() {
    // 4096 programs of 256 lanes: a smoke test that per-program overhead stays small.
    let module = vector_add(256);
    let n = 4096 * 256;
    let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let mut args = vec![
        f32_buffer(&x),
        f32_buffer(&x),
        f32_buffer(&vec![0.0; n]),
        KernelArg::Scalar(Literal::Int(n as i128)),
    ];
    let started = std::time::Instant::now();
    run_ok(&module, &mut args, [4096, 1, 1]);
    let out = buffer(&args[2]).to_f32();
    assert_eq!(out[n - 1], 2.0 * (n - 1) as f32);
    assert!(started.elapsed().as_secs_f64() < 10.0);
}

#[test]
fn bad_arguments_are_reported() {
    let module = vector_add(16);
    let mut args = vec![
        i32_buffer(&[1]),
        f32_buffer(&[1.0]),
        f32_buffer(&[1.0]),
        KernelArg::Scalar(Literal::Int(1)),
    ];
    assert!(matches!(
        run(&module, &mut args, [1, 1, 1]),
        Err(RunError::BadArguments(_))
    ));
    let mut too_few = vec![f32_buffer(&[1.0])];
    assert!(matches!(
        run(&module, &mut too_few, [1, 1, 1]),
        Err(RunError::BadArguments(_))
    ));
}

/// Offsets `row * cols + col` of a `[rows, cols]` tile.
fn offsets_2d(b: &mut Builder, rows: u32, cols: u32) -> ValueId {
    let r = b.arange(0, rows);
    let r = b.expand_dims(r, 1);
    let stride = b.const_i32(cols as i32);
    let stride = b.splat(stride, vec![rows, 1]);
    let r = b.binary(BinaryOp::Mul, r, stride);
    let r = b.broadcast(r, vec![rows, cols]);
    let c = b.arange(0, cols);
    let c = b.expand_dims(c, 0);
    let c = b.broadcast(c, vec![rows, cols]);
    b.binary(BinaryOp::Add, r, c)
}

#[test]
fn row_softmax() {
    let (rows, cols) = (4u32, 8u32);
    let mut b = Builder::new("softmax");
    let x = pointer(&mut b, "x", ScalarType::F32, false);
    let out = pointer(&mut b, "out", ScalarType::F32, true);
    let offsets = offsets_2d(&mut b, rows, cols);
    let px = tile_ptr(&mut b, x, offsets);
    let v = b.load(px, None, None);
    let row_max = b.reduce(ReduceOp::Max, v, Some(1));
    let row_max = b.expand_dims(row_max, 1);
    let row_max = b.broadcast(row_max, vec![rows, cols]);
    let shifted = b.binary(BinaryOp::Sub, v, row_max);
    let e = b.unary(UnaryOp::Exp, shifted);
    let total = b.reduce(ReduceOp::Sum, e, Some(1));
    let total = b.expand_dims(total, 1);
    let total = b.broadcast(total, vec![rows, cols]);
    let result = b.binary(BinaryOp::Div, e, total);
    let po = tile_ptr(&mut b, out, offsets);
    b.store(po, result, None);
    let module = finish(b);

    let input: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7) % 11) as f32 * 0.3 - 1.0)
        .collect();
    let mut args = vec![f32_buffer(&input), f32_buffer(&vec![0.0; input.len()])];
    run_ok(&module, &mut args, [1, 1, 1]);
    let out = buffer(&args[1]).to_f32();
    for r in 0..rows as usize {
        let row = &input[r * 8..r * 8 + 8];
        let max = row.iter().cloned().fold(f64::MIN, |m, v| m.max(v as f64));
        let total: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
        for c in 0..8 {
            let expected = (row[c] as f64 - max).exp() / total;
            assert!((out[r * 8 + c] as f64 - expected).abs() < 1e-6);
        }
        let sum: f32 = out[r * 8..r * 8 + 8].iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
    }
}

#[test]
fn column_sums_and_whole_reductions() {
    let (rows, cols) = (4u32, 8u32);
    let mut b = Builder::new("column_sums");
    let x = pointer(&mut b, "x", ScalarType::I32, false);
    let out = pointer(&mut b, "out", ScalarType::I32, true);
    let total_out = pointer(&mut b, "total", ScalarType::I32, true);
    let offsets = offsets_2d(&mut b, rows, cols);
    let px = tile_ptr(&mut b, x, offsets);
    let v = b.load(px, None, None);
    let sums = b.reduce(ReduceOp::Sum, v, Some(0));
    let lanes = b.arange(0, cols);
    let po = tile_ptr(&mut b, out, lanes);
    b.store(po, sums, None);
    let total = b.reduce(ReduceOp::Sum, v, None);
    let min = b.reduce(ReduceOp::Min, v, None);
    let max = b.reduce(ReduceOp::Max, v, None);
    b.store(total_out, total, None);
    let one = b.const_i32(1);
    let p1 = b.ptr_offset(total_out, one);
    b.store(p1, min, None);
    let two = b.const_i32(2);
    let p2 = b.ptr_offset(total_out, two);
    b.store(p2, max, None);
    let module = finish(b);

    let input: Vec<i32> = (0..32).map(|i| i * i - 100).collect();
    let mut args = vec![i32_buffer(&input), i32_buffer(&[0; 8]), i32_buffer(&[0; 3])];
    run_ok(&module, &mut args, [1, 1, 1]);
    let expected: Vec<i32> = (0..8)
        .map(|c| (0..4).map(|r| input[r * 8 + c]).sum())
        .collect();
    assert_eq!(buffer(&args[1]).to_i32(), expected);
    assert_eq!(
        buffer(&args[2]).to_i32(),
        vec![input.iter().sum(), -100, 31 * 31 - 100]
    );
}

#[test]
fn max_reduction_propagates_nan_and_maximum_ignores_it() {
    let mut b = Builder::new("nan");
    let x = pointer(&mut b, "x", ScalarType::F32, false);
    let out = pointer(&mut b, "out", ScalarType::F32, true);
    let lanes = b.arange(0, 4);
    let px = tile_ptr(&mut b, x, lanes);
    let v = b.load(px, None, None);
    let m = b.reduce(ReduceOp::Max, v, None);
    b.store(out, m, None);
    let zero = b.const_f32(0.0);
    let zeros = b.splat(zero, vec![4]);
    let nm = b.binary(BinaryOp::Max, v, zeros);
    let one = b.const_i32(1);
    let out1 = b.ptr_offset(out, one);
    let po = tile_ptr(&mut b, out1, lanes);
    b.store(po, nm, None);
    let module = finish(b);
    let mut args = vec![
        f32_buffer(&[1.0, f32::NAN, 3.0, -2.0]),
        f32_buffer(&[0.0; 5]),
    ];
    run_ok(&module, &mut args, [1, 1, 1]);
    let out = buffer(&args[1]).to_f32();
    assert!(out[0].is_nan());
    assert_eq!(&out[1..], &[1.0, 0.0, 3.0, 0.0]);
}

/// A kernel that sums `x[start..end step]` with a runtime for-loop into a local accumulator and
/// counts the iterations.
fn strided_sum() -> Module {
    let mut b = Builder::new("strided_sum");
    let x = pointer(&mut b, "x", ScalarType::F32, false);
    let out = pointer(&mut b, "out", ScalarType::F32, true);
    let start = scalar_param(&mut b, "start", ScalarType::I32);
    let end = scalar_param(&mut b, "end", ScalarType::I32);
    let step = scalar_param(&mut b, "step", ScalarType::I32);
    let acc = b.add_local("acc", Type::scalar(ScalarType::F32));
    let count = b.add_local("count", Type::scalar(ScalarType::F32));
    let i = b.add_local("i", Type::scalar(ScalarType::I32));
    let zero = b.const_f32(0.0);
    b.local_set(acc, zero);
    b.local_set(count, zero);
    b.begin_region();
    let iv = b.local_get(i);
    let p = b.ptr_offset(x, iv);
    let v = b.load(p, None, None);
    let a = b.local_get(acc);
    let a = b.binary(BinaryOp::Add, a, v);
    b.local_set(acc, a);
    let c = b.local_get(count);
    let one = b.const_f32(1.0);
    let c = b.binary(BinaryOp::Add, c, one);
    b.local_set(count, c);
    let body = b.end_region();
    b.push(
        InstKind::For {
            var: i,
            start,
            end,
            step,
            body,
        },
        None,
    );
    let a = b.local_get(acc);
    b.store(out, a, None);
    let one = b.const_i32(1);
    let out1 = b.ptr_offset(out, one);
    let c = b.local_get(count);
    b.store(out1, c, None);
    finish(b)
}

fn run_strided_sum(start: i32, end: i32, step: i32) -> Vec<f32> {
    let module = strided_sum();
    let x: Vec<f32> = (0..10).map(|i| (1 << i) as f32).collect();
    let mut args = vec![
        f32_buffer(&x),
        f32_buffer(&[0.0; 2]),
        KernelArg::Scalar(Literal::Int(start as i128)),
        KernelArg::Scalar(Literal::Int(end as i128)),
        KernelArg::Scalar(Literal::Int(step as i128)),
    ];
    run_ok(&module, &mut args, [1, 1, 1]);
    buffer(&args[1]).to_f32()
}

#[test]
fn runtime_for_loop_with_accumulator() {
    assert_eq!(run_strided_sum(0, 10, 1), vec![1023.0, 10.0]);
    assert_eq!(run_strided_sum(1, 10, 3), vec![2.0 + 16.0 + 128.0, 3.0]);
    // A negative step counts down while `i > end`.
    assert_eq!(run_strided_sum(9, 0, -4), vec![512.0 + 32.0 + 2.0, 3.0]);
    assert_eq!(run_strided_sum(5, 5, 1), vec![0.0, 0.0]);
    assert_eq!(run_strided_sum(0, 10, -1), vec![0.0, 0.0]);
    // A zero runtime step runs no iteration.
    assert_eq!(run_strided_sum(0, 10, 0), vec![0.0, 0.0]);
}

#[test]
fn while_with_break_and_continue() {
    // i = 0; s = 0; while i < 100 { i += 1; if i % 2 == 0 { continue } if i > 9 { break } s += i }
    let mut b = Builder::new("odd_sum");
    let out = pointer(&mut b, "out", ScalarType::I32, true);
    let i = b.add_local("i", Type::scalar(ScalarType::I32));
    let s = b.add_local("s", Type::scalar(ScalarType::I32));
    let zero = b.const_i32(0);
    b.local_set(i, zero);
    b.local_set(s, zero);
    b.begin_region();
    let iv = b.local_get(i);
    let limit = b.const_i32(100);
    let cond = b.compare(CmpOp::Lt, iv, limit);
    let cond_region = b.end_region();
    b.begin_region();
    let iv = b.local_get(i);
    let one = b.const_i32(1);
    let iv = b.binary(BinaryOp::Add, iv, one);
    b.local_set(i, iv);
    let two = b.const_i32(2);
    let rem = b.binary(BinaryOp::Rem, iv, two);
    let zero = b.const_i32(0);
    let even = b.compare(CmpOp::Eq, rem, zero);
    b.begin_region();
    b.push(InstKind::Continue, None);
    let then_region = b.end_region();
    b.push(
        InstKind::If {
            cond: even,
            then_region,
            else_region: Region::default(),
        },
        None,
    );
    let nine = b.const_i32(9);
    let big = b.compare(CmpOp::Gt, iv, nine);
    b.begin_region();
    b.push(InstKind::Break, None);
    let then_region = b.end_region();
    b.push(
        InstKind::If {
            cond: big,
            then_region,
            else_region: Region::default(),
        },
        None,
    );
    let sv = b.local_get(s);
    let sv = b.binary(BinaryOp::Add, sv, iv);
    b.local_set(s, sv);
    let body = b.end_region();
    b.push(
        InstKind::While {
            cond_region,
            cond,
            body,
        },
        None,
    );
    let sv = b.local_get(s);
    b.store(out, sv, None);
    let one = b.const_i32(1);
    let out1 = b.ptr_offset(out, one);
    let iv = b.local_get(i);
    b.store(out1, iv, None);
    let module = finish(b);
    let mut args = vec![i32_buffer(&[0, 0])];
    run_ok(&module, &mut args, [1, 1, 1]);
    assert_eq!(buffer(&args[0]).to_i32(), vec![25, 11]);
}

#[test]
fn early_return_ends_only_that_program() {
    // if program_id(0) == 1 { return } out[pid] = pid + 10 (grid 3 x 2: index pid0 + 3 * pid1)
    let mut b = Builder::new("early");
    let out = pointer(&mut b, "out", ScalarType::I32, true);
    let pid = b.program_id(0);
    let pid1 = b.program_id(1);
    let one = b.const_i32(1);
    let is_one = b.compare(CmpOp::Eq, pid, one);
    b.begin_region();
    b.push(InstKind::Return, None);
    let then_region = b.end_region();
    b.push(
        InstKind::If {
            cond: is_one,
            then_region,
            else_region: Region::default(),
        },
        None,
    );
    let n0 = b.push(
        InstKind::NumPrograms(0),
        Some(Type::scalar(ScalarType::I32)),
    );
    let row = b.binary(BinaryOp::Mul, pid1, n0);
    let index = b.binary(BinaryOp::Add, row, pid);
    let ten = b.const_i32(10);
    let v = b.binary(BinaryOp::Add, index, ten);
    let p = b.ptr_offset(out, index);
    b.store(p, v, None);
    let module = finish(b);
    let mut args = vec![i32_buffer(&[0; 6])];
    run_ok(&module, &mut args, [3, 2, 1]);
    assert_eq!(buffer(&args[0]).to_i32(), vec![10, 0, 12, 13, 0, 15]);
}

/// Runs a one-program kernel that stores the scalar that `make` builds into a one-element buffer
/// of its type, and returns the buffer.
fn eval_scalar(make: impl FnOnce(&mut Builder) -> ValueId) -> HostBuffer {
    let mut b = Builder::new("scalar");
    // The pointer parameter is added after `make` knows the type, so reserve index 0 now.
    let index = b.add_param(
        "out",
        ParamKind::Pointer {
            pointee: ScalarType::Bool,
            mutable: true,
        },
    );
    let value = make(&mut b);
    let ty = b.ty(value).scalar_type().unwrap();
    b.kernel.params[index as usize].kind = ParamKind::Pointer {
        pointee: ty,
        mutable: true,
    };
    let out = b.param(index);
    b.store(out, value, None);
    let module = finish(b);
    let mut args = vec![KernelArg::Buffer(HostBuffer::zeros(ty, vec![1]))];
    run_ok(&module, &mut args, [1, 1, 1]);
    buffer(&args[0]).clone()
}

fn int_op(ty: ScalarType, op: BinaryOp, a: i128, c: i128) -> i64 {
    let out = eval_scalar(|b| {
        let x = b.constant(ty, Literal::Int(a));
        let y = b.constant(ty, Literal::Int(c));
        b.binary(op, x, y)
    });
    let mut raw = [0u8; 8];
    raw[..out.data.len()].copy_from_slice(&out.data);
    value::wrap_int(ty, i64::from_le_bytes(raw))
}

#[test]
fn integer_semantics() {
    use BinaryOp::*;
    use ScalarType::*;
    assert_eq!(int_op(I32, Div, -7, 2), -3);
    assert_eq!(int_op(I32, Rem, -7, 2), -1);
    assert_eq!(int_op(I32, Rem, 7, -2), 1);
    assert_eq!(int_op(I32, Div, 7, 0), 0);
    assert_eq!(int_op(I32, Rem, 7, 0), 0);
    assert_eq!(int_op(I32, Div, i32::MIN as i128, -1), i32::MIN as i64);
    assert_eq!(int_op(I32, Add, i32::MAX as i128, 1), i32::MIN as i64);
    assert_eq!(int_op(I32, Mul, 65536, 65536), 0);
    assert_eq!(int_op(U8, Add, 250, 10), 4);
    assert_eq!(int_op(U8, Sub, 0, 1), 255);
    assert_eq!(int_op(I8, Mul, 100, 2), -56);
    assert_eq!(int_op(I32, Shl, 1, 33), 2);
    assert_eq!(int_op(I32, Shr, -8, 1), -4);
    assert_eq!(int_op(I32, Shr, -8, 33), -4);
    assert_eq!(int_op(U32, Shr, 0x8000_0000, 1), 0x4000_0000);
    assert_eq!(int_op(U32, Div, 0xFFFF_FFFE, 2), 0x7FFF_FFFF);
    assert_eq!(int_op(U64, Div, u64::MAX as i128, 2), (u64::MAX / 2) as i64);
    assert_eq!(int_op(U64, Max, u64::MAX as i128, 1), -1);
    assert_eq!(int_op(I64, Shl, 1, 64), 1);
    assert_eq!(int_op(U32, MulHi, 0x8000_0000, 4), 2);
    assert_eq!(int_op(I32, MulHi, -2, 0x4000_0000), -1);
    assert_eq!(int_op(I32, Min, -3, 2), -3);
    assert_eq!(int_op(I32, Pow, 3, 4), 81);
    assert_eq!(int_op(I32, Xor, 0b1100, 0b1010), 0b0110);
}

fn cast_scalar(from: ScalarType, lit: Literal, to: ScalarType) -> HostBuffer {
    eval_scalar(|b| {
        let x = b.constant(from, lit);
        b.cast(x, to)
    })
}

fn cast_f32_to_i32(v: f32) -> i32 {
    cast_scalar(ScalarType::F32, Literal::Float(v as f64), ScalarType::I32).to_i32()[0]
}

#[test]
fn float_to_int_truncates_and_saturates() {
    assert_eq!(cast_f32_to_i32(-3.7), -3);
    assert_eq!(cast_f32_to_i32(3.7), 3);
    assert_eq!(cast_f32_to_i32(1e10), i32::MAX);
    assert_eq!(cast_f32_to_i32(-1e10), i32::MIN);
    assert_eq!(cast_f32_to_i32(f32::NAN), 0);
    assert_eq!(cast_f32_to_i32(f32::INFINITY), i32::MAX);
    let u8_of = |v: f64| cast_scalar(ScalarType::F64, Literal::Float(v), ScalarType::U8).data[0];
    assert_eq!(u8_of(300.0), 255);
    assert_eq!(u8_of(-1.0), 0);
    assert_eq!(u8_of(254.9), 254);
    // int → int wraps; number ↔ bool.
    let wrapped = cast_scalar(ScalarType::I32, Literal::Int(300), ScalarType::I8);
    assert_eq!(wrapped.data, vec![44]);
    let truth = cast_scalar(ScalarType::F32, Literal::Float(0.5), ScalarType::Bool);
    assert_eq!(truth.data, vec![1]);
    let number = cast_scalar(ScalarType::Bool, Literal::Bool(true), ScalarType::F32);
    assert_eq!(number.to_f32(), vec![1.0]);
    // u32 → f32 reads the value as unsigned.
    let big = cast_scalar(ScalarType::U32, Literal::Int(0xFFFF_FFFF), ScalarType::F32);
    assert_eq!(big.to_f32(), vec![4294967296.0]);
}

fn f16_bits(buffer: &HostBuffer) -> u16 {
    u16::from_le_bytes([buffer.data[0], buffer.data[1]])
}

#[test]
fn f16_and_bf16_round_to_nearest_even() {
    let add = |ty: ScalarType, a: f64, c: f64| {
        eval_scalar(|b| {
            let x = b.constant(ty, Literal::Float(a));
            let y = b.constant(ty, Literal::Float(c));
            b.binary(BinaryOp::Add, x, y)
        })
    };
    // f16 has 10 fraction bits: 1 + 2^-11 is a tie that goes to the even 1.0; 1 + 3 * 2^-11 is a
    // tie that goes up to 1 + 2^-9.
    let tie_down = add(ScalarType::F16, 1.0, 2f64.powi(-11));
    assert_eq!(f16_bits(&tie_down), f16::from_f32(1.0).to_bits());
    let tie_up = add(ScalarType::F16, 1.0 + 2f64.powi(-10), 2f64.powi(-11));
    assert_eq!(
        f16_bits(&tie_up),
        f16::from_f64(1.0 + 2f64.powi(-9)).to_bits()
    );
    // 65504 is f16's max; adding 32 rounds to infinity.
    let overflow = add(ScalarType::F16, 65504.0, 32.0);
    assert_eq!(f16_bits(&overflow), f16::INFINITY.to_bits());
    // bf16 has 7 fraction bits.
    let tie_down = add(ScalarType::BF16, 1.0, 2f64.powi(-8));
    assert_eq!(f16_bits(&tie_down), bf16::from_f32(1.0).to_bits());
    let tie_up = add(ScalarType::BF16, 1.0 + 2f64.powi(-7), 2f64.powi(-8));
    assert_eq!(
        f16_bits(&tie_up),
        bf16::from_f64(1.0 + 2f64.powi(-6)).to_bits()
    );
    // f32 → f16 cast rounds to nearest-even as well.
    let cast = cast_scalar(
        ScalarType::F32,
        Literal::Float(1.0 + 2f64.powi(-11)),
        ScalarType::F16,
    );
    assert_eq!(f16_bits(&cast), f16::from_f32(1.0).to_bits());
}

#[test]
fn f32_arithmetic_is_done_in_f32() {
    // 0.1 + 0.2 in f32 differs from the f64 sum rounded to f32 only if computed wrongly; check the
    // exact f32 bits along with a product whose f64 value would round differently.
    let result = eval_scalar(|b| {
        let x = b.const_f32(0.1);
        let y = b.const_f32(0.2);
        b.binary(BinaryOp::Add, x, y)
    });
    assert_eq!(result.to_f32()[0].to_bits(), (0.1f32 + 0.2f32).to_bits());
    let fused = eval_scalar(|b| {
        let x = b.const_f32(1.0 + f32::EPSILON);
        let y = b.const_f32(1.0 - f32::EPSILON);
        let z = b.const_f32(-1.0);
        let ty = b.ty(x).clone();
        b.push(InstKind::Fma { a: x, b: y, c: z }, Some(ty))
    });
    assert_eq!(
        fused.to_f32()[0],
        (1.0 + f32::EPSILON).mul_add(1.0 - f32::EPSILON, -1.0)
    );
}

#[test]
fn math_functions() {
    let unary = |op: UnaryOp, v: f32| {
        eval_scalar(|b| {
            let x = b.const_f32(v);
            b.unary(op, x)
        })
        .to_f32()[0]
    };
    assert_eq!(unary(UnaryOp::Round, 2.5), 2.0);
    assert_eq!(unary(UnaryOp::Round, 3.5), 4.0);
    assert_eq!(unary(UnaryOp::Round, -2.5), -2.0);
    assert_eq!(unary(UnaryOp::Floor, -1.5), -2.0);
    assert_eq!(unary(UnaryOp::Ceil, -1.5), -1.0);
    assert_eq!(unary(UnaryOp::Sqrt, 16.0), 4.0);
    assert_eq!(unary(UnaryOp::Rsqrt, 4.0), 0.5);
    assert_eq!(unary(UnaryOp::Sigmoid, 0.0), 0.5);
    assert_eq!(unary(UnaryOp::Abs, -3.0), 3.0);
    assert_eq!(unary(UnaryOp::Neg, 3.0), -3.0);
    // erf against high-precision reference values.
    let reference = [
        (0.0, 0.0),
        (1e-4, 1.1283791633342487e-4),
        (0.1, 0.1124629160182849),
        (0.5, 0.5204998778130465),
        (1.0, 0.8427007929497149),
        (2.0, 0.9953222650189527),
        (2.9, 0.9999589021219005),
        (3.0, 0.9999779095030014),
        (3.5, 0.9999992569016276),
        (5.0, 0.9999999999984626),
        (-1.5, -0.9661051464753108),
    ];
    for (x, expected) in reference {
        let got = value::erf(x);
        assert!(
            (got - expected).abs() <= 1e-13 * expected.abs(),
            "erf({x}) = {got}, want {expected}"
        );
        let got32 = unary(UnaryOp::Erf, x as f32) as f64;
        let want32 = value::erf(x as f32 as f64) as f32 as f64;
        assert_eq!(got32, want32);
    }
    let min_nan = eval_scalar(|b| {
        let x = b.const_f32(f32::NAN);
        let y = b.const_f32(2.0);
        b.binary(BinaryOp::Min, x, y)
    });
    assert_eq!(min_nan.to_f32(), vec![2.0]);
}

#[test]
fn bitcast_reinterprets_bits() {
    let bits = eval_scalar(|b| {
        let x = b.const_f32(1.0);
        let ty = Type::scalar(ScalarType::I32);
        b.push(InstKind::Bitcast(x), Some(ty))
    });
    assert_eq!(bits.to_i32(), vec![0x3F80_0000]);
}

#[test]
fn out_of_bounds_load_reads_zero_and_is_reported() {
    let mut b = Builder::new("oob_load");
    let x = pointer(&mut b, "x", ScalarType::F32, false);
    let out = pointer(&mut b, "out", ScalarType::F32, true);
    let lanes = b.arange(0, 8);
    let px = tile_ptr(&mut b, x, lanes);
    let v = b.load(px, None, None);
    let po = tile_ptr(&mut b, out, lanes);
    b.store(po, v, None);
    let module = finish(b);
    let mut args = vec![f32_buffer(&[1.0, 2.0, 3.0, 4.0]), f32_buffer(&[9.0; 8])];
    let error = run(&module, &mut args, [2, 1, 1]).unwrap_err();
    assert_eq!(
        error,
        RunError::OutOfBounds {
            kernel: "oob_load".into(),
            param: "x".into(),
            index: 4,
            store: false,
            program: [0, 0, 0],
        }
    );
    // The run went on: every program stored its lanes, zeros past the end of `x`.
    assert_eq!(
        buffer(&args[1]).to_f32(),
        vec![1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0]
    );
}

#[test]
fn out_of_bounds_store_is_dropped_and_reported() {
    // out[pid * 4 + lane] = lane + 1 for a buffer of 6; program 1 writes past the end.
    let mut b = Builder::new("oob_store");
    let out = pointer(&mut b, "out", ScalarType::I32, true);
    let pid = b.program_id(0);
    let four = b.const_i32(4);
    let base = b.binary(BinaryOp::Mul, pid, four);
    let base = b.splat(base, vec![4]);
    let lanes = b.arange(0, 4);
    let offsets = b.binary(BinaryOp::Add, base, lanes);
    let one = b.const_i32(1);
    let ones = b.splat(one, vec![4]);
    let values = b.binary(BinaryOp::Add, lanes, ones);
    let po = tile_ptr(&mut b, out, offsets);
    b.store(po, values, None);
    let module = finish(b);
    let mut args = vec![i32_buffer(&[0; 6])];
    let error = run(&module, &mut args, [2, 1, 1]).unwrap_err();
    assert_eq!(
        error,
        RunError::OutOfBounds {
            kernel: "oob_store".into(),
            param: "out".into(),
            index: 6,
            store: true,
            program: [1, 0, 0],
        }
    );
    assert_eq!(buffer(&args[0]).to_i32(), vec![1, 2, 3, 4, 1, 2]);
}

#[test]
fn masked_load_uses_other_and_masked_lanes_are_not_out_of_bounds() {
    let mut b = Builder::new("masked");
    let x = pointer(&mut b, "x", ScalarType::I32, false);
    let out = pointer(&mut b, "out", ScalarType::I32, true);
    let lanes = b.arange(0, 8);
    let two = b.const_i32(2);
    let twos = b.splat(two, vec![8]);
    let mask = b.compare(CmpOp::Lt, lanes, twos);
    let minus = b.const_i32(-5);
    let other = b.splat(minus, vec![8]);
    let px = tile_ptr(&mut b, x, lanes);
    let v = b.load(px, Some(mask), Some(other));
    let po = tile_ptr(&mut b, out, lanes);
    b.store(po, v, None);
    let module = finish(b);
    let mut args = vec![i32_buffer(&[7, 8]), i32_buffer(&[0; 8])];
    run_ok(&module, &mut args, [1, 1, 1]);
    assert_eq!(
        buffer(&args[1]).to_i32(),
        vec![7, 8, -5, -5, -5, -5, -5, -5]
    );
}

#[test]
fn assert_and_print() {
    let mut b = Builder::new("debug");
    let pid = b.program_id(0);
    let lanes = b.arange(0, 2);
    b.push(
        InstKind::Print {
            label: "lanes".into(),
            value: Some(lanes),
        },
        None,
    );
    let two = b.const_i32(2);
    let ok = b.compare(CmpOp::Lt, pid, two);
    let assert_id = b.push(
        InstKind::Assert {
            cond: ok,
            message: "pid < 2".into(),
        },
        None,
    );
    let module = finish(b);
    let mut output = RunOutput::default();
    run_with_output(&module, &mut [], [2, 1, 1], &mut output).unwrap();
    assert_eq!(
        output.printed,
        vec!["pid (0, 0, 0) lanes: [0, 1]", "pid (1, 0, 0) lanes: [0, 1]"]
    );
    output.printed.clear();
    let error = run_with_output(&module, &mut [], [4, 1, 1], &mut output).unwrap_err();
    assert_eq!(
        error,
        RunError::AssertFailed {
            kernel: "debug".into(),
            message: "pid < 2".into(),
            span: module.kernel.span(assert_id),
            element: None,
            program: [2, 0, 0],
        }
    );
    assert_eq!(output.printed.len(), 3);
}

#[test]
fn bool_buffers_hold_one_byte_per_element() {
    let mut b = Builder::new("flags");
    let x = pointer(&mut b, "x", ScalarType::I32, false);
    let flags = pointer(&mut b, "flags", ScalarType::Bool, true);
    let lanes = b.arange(0, 4);
    let px = tile_ptr(&mut b, x, lanes);
    let v = b.load(px, None, None);
    let zero = b.const_i32(0);
    let zeros = b.splat(zero, vec![4]);
    let positive = b.compare(CmpOp::Gt, v, zeros);
    let pf = tile_ptr(&mut b, flags, lanes);
    b.store(pf, positive, None);
    let module = finish(b);
    let mut args = vec![
        i32_buffer(&[3, -1, 0, 8]),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::Bool, vec![4])),
    ];
    run_ok(&module, &mut args, [1, 1, 1]);
    assert_eq!(buffer(&args[1]).data, vec![1, 0, 0, 1]);
}

#[test]
fn large_tiles_run_quickly() {
    // A [256, 256] tile (2^16 elements): load, exp, row sums broadcast back, divide, store.
    let (rows, cols) = (256u32, 256u32);
    let mut b = Builder::new("big");
    let x = pointer(&mut b, "x", ScalarType::F32, false);
    let out = pointer(&mut b, "out", ScalarType::F32, true);
    let offsets = offsets_2d(&mut b, rows, cols);
    let px = tile_ptr(&mut b, x, offsets);
    let v = b.load(px, None, None);
    let e = b.unary(UnaryOp::Exp, v);
    let total = b.reduce(ReduceOp::Sum, e, Some(1));
    let total = b.expand_dims(total, 1);
    let total = b.broadcast(total, vec![rows, cols]);
    let result = b.binary(BinaryOp::Div, e, total);
    let po = tile_ptr(&mut b, out, offsets);
    b.store(po, result, None);
    let module = finish(b);
    let n = (rows * cols) as usize;
    let mut args = vec![f32_buffer(&vec![0.0; n]), f32_buffer(&vec![0.0; n])];
    let started = std::time::Instant::now();
    run_ok(&module, &mut args, [8, 1, 1]);
    let elapsed = started.elapsed().as_secs_f64();
    assert!(buffer(&args[1]).to_f32().iter().all(|&v| v == 1.0 / 256.0));
    assert!(
        elapsed < 5.0,
        "8 programs of 2^16 elements took {elapsed} s"
    );
}

#[test]
fn loop_carried_tile_accumulator() {
    // acc: f32[4] = 0; for i in range(0, n) { acc += x[i * 4 + arange(4)] } out[arange(4)] = acc
    let mut b = Builder::new("row_sums");
    let x = pointer(&mut b, "x", ScalarType::F32, false);
    let out = pointer(&mut b, "out", ScalarType::F32, true);
    let n = scalar_param(&mut b, "n", ScalarType::I32);
    let acc = b.add_local("acc", Type::tile(ScalarType::F32, vec![4]));
    let i = b.add_local("i", Type::scalar(ScalarType::I32));
    let zero = b.const_f32(0.0);
    let zeros = b.splat(zero, vec![4]);
    b.local_set(acc, zeros);
    let start = b.const_i32(0);
    let step = b.const_i32(1);
    b.begin_region();
    let iv = b.local_get(i);
    let four = b.const_i32(4);
    let base = b.binary(BinaryOp::Mul, iv, four);
    let base = b.splat(base, vec![4]);
    let lanes = b.arange(0, 4);
    let offsets = b.binary(BinaryOp::Add, base, lanes);
    let px = tile_ptr(&mut b, x, offsets);
    let v = b.load(px, None, None);
    let a = b.local_get(acc);
    let a = b.binary(BinaryOp::Add, a, v);
    b.local_set(acc, a);
    let body = b.end_region();
    b.push(
        InstKind::For {
            var: i,
            start,
            end: n,
            step,
            body,
        },
        None,
    );
    let a = b.local_get(acc);
    let lanes = b.arange(0, 4);
    let po = tile_ptr(&mut b, out, lanes);
    b.store(po, a, None);
    let module = finish(b);
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let mut args = vec![
        f32_buffer(&x),
        f32_buffer(&[0.0; 4]),
        KernelArg::Scalar(Literal::Int(3)),
    ];
    run_ok(&module, &mut args, [1, 1, 1]);
    assert_eq!(buffer(&args[1]).to_f32(), vec![12.0, 15.0, 18.0, 21.0]);
}

#[test]
fn f16_buffers_round_trip_and_compute_in_f32() {
    // out = x * 3 + 0.1 in f16, elementwise, each operation rounded to f16.
    let mut b = Builder::new("half");
    let x = pointer(&mut b, "x", ScalarType::F16, false);
    let out = pointer(&mut b, "out", ScalarType::F16, true);
    let lanes = b.arange(0, 4);
    let px = tile_ptr(&mut b, x, lanes);
    let v = b.load(px, None, None);
    let three = b.constant(ScalarType::F16, Literal::Float(3.0));
    let three = b.splat(three, vec![4]);
    let tenth = b.constant(ScalarType::F16, Literal::Float(0.1));
    let tenth = b.splat(tenth, vec![4]);
    let product = b.binary(BinaryOp::Mul, v, three);
    let result = b.binary(BinaryOp::Add, product, tenth);
    let po = tile_ptr(&mut b, out, lanes);
    b.store(po, result, None);
    let module = finish(b);
    let inputs = [1.0f32, 0.3, -7.25, 1000.0];
    let data: Vec<u8> = inputs
        .iter()
        .flat_map(|&v| f16::from_f32(v).to_le_bytes())
        .collect();
    let mut args = vec![
        KernelArg::Buffer(HostBuffer {
            elem: ScalarType::F16,
            shape: vec![4],
            data,
        }),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F16, vec![4])),
    ];
    run_ok(&module, &mut args, [1, 1, 1]);
    let got: Vec<u16> = buffer(&args[1])
        .data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let tenth = f16::from_f32(0.1);
    let expected: Vec<u16> = inputs
        .iter()
        .map(|&v| {
            let product = f16::from_f32(f16::from_f32(v).to_f32() * 3.0);
            f16::from_f32(product.to_f32() + tenth.to_f32()).to_bits()
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn scheduled_kernels_run_with_convert_layout_as_identity() {
    use crate::ir::layout::{Blocked, Layout};
    use crate::ir::schedule::{ConvertPlan, Scratch};
    use crate::ir::{Plan, Schedule, Stage};
    let mut b = Builder::new("scheduled");
    let out = pointer(&mut b, "out", ScalarType::I32, true);
    let lanes = b.arange(0, 8);
    let moved = b.push(
        InstKind::ConvertLayout(lanes),
        Some(Type::tile(ScalarType::I32, vec![8])),
    );
    let po = tile_ptr(&mut b, out, moved);
    b.store(po, moved, None);
    let mut kernel = b.finish();
    let blocked = |spt: u32| {
        Some(Layout::Blocked(Blocked {
            shape: vec![8],
            size_per_thread: vec![spt],
            threads_per_dim: vec![4],
        }))
    };
    let mut layouts = vec![None; kernel.insts.len()];
    layouts[lanes.index()] = blocked(1);
    layouts[moved.index()] = blocked(2);
    layouts[po.index() - 1] = blocked(2);
    layouts[po.index()] = blocked(2);
    kernel.stage = Stage::Scheduled;
    let mut plans = vec![None; kernel.insts.len()];
    plans[moved.index()] = Some(Plan::Convert(ConvertPlan::Shared(Scratch {
        offset: 0,
        bytes: 32,
    })));
    plans[po.index() + 1] = Some(Plan::Access(crate::ir::schedule::AccessPlan::scalar()));
    kernel.schedule = Some(Schedule {
        layouts,
        plans,
        shared_bytes: 32,
        ..Schedule::new(4, 16384, false)
    });
    let module = Module { kernel };
    assert_eq!(ir::verify::verify(&module), Ok(()));
    let mut args = vec![i32_buffer(&[0; 8])];
    run_ok(&module, &mut args, [1, 1, 1]);
    assert_eq!(buffer(&args[0]).to_i32(), (0..8).collect::<Vec<_>>());
}

#[test]
fn programs_run_x_fastest_then_y_then_z() {
    let mut b = Builder::new("order");
    let x = b.program_id(0);
    let y = b.program_id(1);
    let z = b.program_id(2);
    let ny = b.push(
        InstKind::NumPrograms(1),
        Some(Type::scalar(ScalarType::I32)),
    );
    let sum = b.binary(BinaryOp::Add, x, y);
    let sum = b.binary(BinaryOp::Add, sum, z);
    let sum = b.binary(BinaryOp::Add, sum, ny);
    b.push(
        InstKind::Print {
            label: "s".into(),
            value: Some(sum),
        },
        None,
    );
    let module = finish(b);
    let mut output = RunOutput::default();
    run_with_output(&module, &mut [], [2, 2, 2], &mut output).unwrap();
    let programs: Vec<&str> = output
        .printed
        .iter()
        .map(|line| line.split(" s:").next().unwrap())
        .collect();
    assert_eq!(
        programs,
        vec![
            "pid (0, 0, 0)",
            "pid (1, 0, 0)",
            "pid (0, 1, 0)",
            "pid (1, 1, 0)",
            "pid (0, 0, 1)",
            "pid (1, 0, 1)",
            "pid (0, 1, 1)",
            "pid (1, 1, 1)",
        ]
    );
    assert_eq!(output.printed[7], "pid (1, 1, 1) s: 5");
}

#[test]
fn unsigned_loop_counts_down_with_a_negative_step() {
    // for i in range(5u32, 0u32, -2 as u32) { out[i] = 1 }: visits 5, 3, 1.
    let mut b = Builder::new("countdown");
    let out = pointer(&mut b, "out", ScalarType::U8, true);
    let i = b.add_local("i", Type::scalar(ScalarType::U32));
    let start = b.constant(ScalarType::U32, Literal::Int(5));
    let end = b.constant(ScalarType::U32, Literal::Int(0));
    let step = b.constant(ScalarType::U32, Literal::Int(0xFFFF_FFFE));
    b.begin_region();
    let iv = b.local_get(i);
    let p = b.ptr_offset(out, iv);
    let one = b.constant(ScalarType::U8, Literal::Int(1));
    b.store(p, one, None);
    let body = b.end_region();
    b.push(
        InstKind::For {
            var: i,
            start,
            end,
            step,
            body,
        },
        None,
    );
    let module = finish(b);
    let mut args = vec![KernelArg::Buffer(HostBuffer::zeros(
        ScalarType::U8,
        vec![6],
    ))];
    run_ok(&module, &mut args, [1, 1, 1]);
    assert_eq!(buffer(&args[0]).data, vec![0, 1, 0, 1, 0, 1]);
}

#[test]
fn narrow_and_wide_integer_buffers() {
    // out_u64[k] = x_i8[k] as u64 * 3 (sign-extended then wrapped); out_i8[k] = x_i8[k] * 2.
    let mut b = Builder::new("ints");
    let x = pointer(&mut b, "x", ScalarType::I8, false);
    let wide = pointer(&mut b, "wide", ScalarType::U64, true);
    let narrow = pointer(&mut b, "narrow", ScalarType::I8, true);
    let lanes = b.arange(0, 4);
    let px = tile_ptr(&mut b, x, lanes);
    let v = b.load(px, None, None);
    let as_u64 = b.cast(v, ScalarType::U64);
    let three = b.constant(ScalarType::U64, Literal::Int(3));
    let three = b.splat(three, vec![4]);
    let tripled = b.binary(BinaryOp::Mul, as_u64, three);
    let pw = tile_ptr(&mut b, wide, lanes);
    b.store(pw, tripled, None);
    let two = b.constant(ScalarType::I8, Literal::Int(2));
    let two = b.splat(two, vec![4]);
    let doubled = b.binary(BinaryOp::Mul, v, two);
    let pn = tile_ptr(&mut b, narrow, lanes);
    b.store(pn, doubled, None);
    let module = finish(b);
    let input: [i8; 4] = [1, -1, 100, -128];
    let mut args = vec![
        KernelArg::Buffer(HostBuffer {
            elem: ScalarType::I8,
            shape: vec![4],
            data: input.iter().map(|&v| v as u8).collect(),
        }),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::U64, vec![4])),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::I8, vec![4])),
    ];
    run_ok(&module, &mut args, [1, 1, 1]);
    let wide: Vec<u64> = buffer(&args[1])
        .data
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let expected: Vec<u64> = input
        .iter()
        .map(|&v| (v as i64 as u64).wrapping_mul(3))
        .collect();
    assert_eq!(wide, expected);
    let narrow: Vec<i8> = buffer(&args[2]).data.iter().map(|&b| b as i8).collect();
    assert_eq!(narrow, vec![2, -2, -56, 0]);
}

#[test]
fn bitcast_between_f16_and_i16() {
    let bits = eval_scalar(|b| {
        let x = b.constant(ScalarType::F16, Literal::Float(-2.0));
        b.push(InstKind::Bitcast(x), Some(Type::scalar(ScalarType::I16)))
    });
    assert_eq!(
        i16::from_le_bytes([bits.data[0], bits.data[1]]),
        f16::from_f32(-2.0).to_bits() as i16
    );
    let back = eval_scalar(|b| {
        let x = b.constant(ScalarType::U16, Literal::Int(0x3C00));
        b.push(InstKind::Bitcast(x), Some(Type::scalar(ScalarType::F16)))
    });
    assert_eq!(f16_bits(&back), 0x3C00);
}

#[test]
fn malformed_ir_is_an_error_not_a_panic() {
    let mut b = Builder::new("bad");
    let x = b.const_f32(1.0);
    let later = ValueId::new(5);
    b.binary(BinaryOp::Add, x, later);
    let module = Module { kernel: b.finish() };
    assert!(matches!(
        run(&module, &mut [], [1, 1, 1]),
        Err(RunError::InvalidIr { .. })
    ));
}

#[test]
fn launch_grid_evaluates_the_grid_attribute() {
    use crate::ir::GridExpr as G;
    let mut module = vector_add(256);
    assert_eq!(launch_grid(&module.kernel, &[]), None);
    module.kernel.grid = Some(vec![
        G::CeilDiv(Box::new(G::Param(3)), Box::new(G::Const(256))),
        G::Max(
            Box::new(G::Const(2)),
            Box::new(G::Rem(Box::new(G::Param(3)), Box::new(G::Const(7)))),
        ),
    ]);
    let args = |n: i128| {
        vec![
            f32_buffer(&[0.0]),
            f32_buffer(&[0.0]),
            f32_buffer(&[0.0]),
            KernelArg::Scalar(Literal::Int(n)),
        ]
    };
    assert_eq!(
        launch_grid(&module.kernel, &args(1000)),
        Some(Ok([4, 6, 1]))
    );
    assert_eq!(
        launch_grid(&module.kernel, &args(1024)),
        Some(Ok([4, 2, 1]))
    );
    assert_eq!(launch_grid(&module.kernel, &args(0)), Some(Ok([0, 2, 1])));
    assert!(matches!(
        launch_grid(&module.kernel, &args(-1000)),
        Some(Err(RunError::BadArguments(_)))
    ));
    module.kernel.grid = Some(vec![G::Div(Box::new(G::Const(1)), Box::new(G::Const(0)))]);
    assert!(matches!(
        launch_grid(&module.kernel, &args(1)),
        Some(Err(RunError::BadArguments(_)))
    ));
}
