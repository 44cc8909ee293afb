//! Emission tests: kernels built with the IR builder, scheduled, emitted, and validated with
//! `spirv-val` for Vulkan 1.1 and 1.2.
use super::*;
use crate::base::ScalarType::{self, *};
use crate::ir::builder::Builder;
use crate::ir::{BinaryOp, CmpOp, ParamKind, ReduceOp, Type, UnaryOp};
use std::process::Command;

/// Runs `spirv-val` for both target environments; panics with its output on any error.
pub fn validate(words: &[u32], name: &str) {
    let dir = std::env::temp_dir().join("tk-spirv-tests");
    std::fs::create_dir_all(&dir).unwrap();
    // Unique per call: tests in this process validate modules of the same name concurrently.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{name}-{}-{call}.spv", std::process::id()));
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&path, bytes).unwrap();
    for env in ["vulkan1.1", "vulkan1.2"] {
        let out = Command::new("spirv-val")
            .arg("--target-env")
            .arg(env)
            .arg(&path)
            .output()
            .expect("spirv-val is installed");
        if !out.status.success() {
            let dis = Command::new("spirv-dis").arg(&path).output().unwrap();
            panic!(
                "spirv-val ({env}) rejected {name}:\n{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&dis.stdout)
            );
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Schedules and emits a kernel (safe and unchecked), validating both.
pub fn compile(kernel: crate::ir::Kernel, safe: bool) -> Artifact {
    let name = kernel.name.clone();
    let module =
        crate::driver::schedule(ir::Module { kernel }, &Target::portable()).expect("schedule");
    let unchecked = emit(
        &module,
        &Target::portable(),
        &EmitOptions {
            safe: !safe,
            vector_views: true,
        },
    )
    .expect("emit");
    validate(&unchecked.words, &format!("{name}-alt"));
    let art = emit(
        &module,
        &Target::portable(),
        &EmitOptions {
            safe,
            vector_views: true,
        },
    )
    .expect("emit");
    validate(&art.words, &name);
    art
}

fn ptr(b: &mut Builder, name: &str, ty: ScalarType, mutable: bool) -> u32 {
    b.add_param(
        name,
        ParamKind::Pointer {
            pointee: ty,
            mutable,
        },
    )
}

/// `z[i] = x[i] + y[i]` for `i < n`, BLOCK elements per program.
pub fn vector_add(block: u32) -> crate::ir::Kernel {
    let mut b = Builder::new("vector_add");
    let x = ptr(&mut b, "x", F32, false);
    let y = ptr(&mut b, "y", F32, false);
    let z = ptr(&mut b, "z", F32, true);
    let n = b.add_param("n", ParamKind::Scalar(I32));
    let pid = b.program_id(0);
    let bs = b.const_i32(block as i32);
    let start = b.binary(BinaryOp::Mul, pid, bs);
    let ar = b.arange(0, block);
    let st = b.splat(start, vec![block]);
    let offs = b.binary(BinaryOp::Add, st, ar);
    let nv = b.param(n);
    let ns = b.splat(nv, vec![block]);
    let mask = b.compare(CmpOp::Lt, offs, ns);
    let load = |b: &mut Builder, p: u32| {
        let base = b.param(p);
        let bp = b.splat(base, vec![block]);
        let ptrs = b.ptr_offset(bp, offs);
        (ptrs, b.load(ptrs, Some(mask), None))
    };
    let (_, xv) = load(&mut b, x);
    let (_, yv) = load(&mut b, y);
    let sum = b.binary(BinaryOp::Add, xv, yv);
    let zb = b.param(z);
    let zs = b.splat(zb, vec![block]);
    let zp = b.ptr_offset(zs, offs);
    b.store(zp, sum, Some(mask));
    b.finish()
}

#[test]
fn vector_add_validates() {
    let art = compile(vector_add(1024), true);
    assert_eq!(art.abi.buffers.len(), 3);
    assert_eq!(art.abi.status_binding, Some(3));
    assert_eq!(art.abi.push_fields[0].offset, 32);
    assert_eq!(art.abi.push_bytes, 36);
    assert_eq!(art.abi.workgroup_size, [128, 1, 1]);
    let _ = (UnaryOp::Exp, ReduceOp::Sum, Type::scalar(F32));
}

// ---- kernels -------------------------------------------------------------------------------

/// Pointers `base + offs` for a tile of offsets.
fn ptrs(b: &mut Builder, param: u32, offs: ValueId) -> ValueId {
    let shape = b.ty(offs).shape.clone();
    let base = b.param(param);
    let bp = b.splat(base, shape);
    b.ptr_offset(bp, offs)
}

/// `pid * block + arange(block)`.
fn block_offsets(b: &mut Builder, block: u32) -> ValueId {
    let pid = b.program_id(0);
    let bs = b.const_i32(block as i32);
    let start = b.binary(BinaryOp::Mul, pid, bs);
    let ar = b.arange(0, block);
    let st = b.splat(start, vec![block]);
    b.binary(BinaryOp::Add, st, ar)
}

fn lt_scalar(b: &mut Builder, offs: ValueId, n: ValueId) -> ValueId {
    let shape = b.ty(offs).shape.clone();
    let ns = b.splat(n, shape);
    b.compare(CmpOp::Lt, offs, ns)
}

/// `out[pid] = reduce(x[pid*B .. pid*B+B] masked by n)` with `other` for masked lanes.
pub fn reduce_1d(op: ReduceOp, block: u32, other: f32, threads: Option<u32>) -> crate::ir::Kernel {
    let mut b = Builder::new(format!("reduce_{op:?}_{block}").to_lowercase());
    let x = ptr(&mut b, "x", F32, false);
    let out = ptr(&mut b, "out", F32, true);
    let n = b.add_param("n", ParamKind::Scalar(I32));
    let offs = block_offsets(&mut b, block);
    let nv = b.param(n);
    let mask = lt_scalar(&mut b, offs, nv);
    let p = ptrs(&mut b, x, offs);
    let o = b.const_f32(other);
    let os = b.splat(o, vec![block]);
    let v = b.load(p, Some(mask), Some(os));
    let r = b.reduce(op, v, None);
    let ob = b.param(out);
    let pid = b.program_id(0);
    let op_ = b.ptr_offset(ob, pid);
    b.store(op_, r, None);
    let mut k = b.finish();
    k.threads = threads;
    k
}

/// Row softmax of an `[rows, C]` matrix, `BM` rows per program.
pub fn softmax(bm: u32, c: u32) -> crate::ir::Kernel {
    let mut b = Builder::new("softmax");
    let x = ptr(&mut b, "x", F32, false);
    let y = ptr(&mut b, "y", F32, true);
    let offs_m = block_offsets(&mut b, bm);
    let offs_n = b.arange(0, c);
    let om = b.expand_dims(offs_m, 1);
    let cc = b.const_i32(c as i32);
    let ccs = b.splat(cc, vec![bm, 1]);
    let rows = b.binary(BinaryOp::Mul, om, ccs);
    let rows = b.broadcast(rows, vec![bm, c]);
    let on = b.expand_dims(offs_n, 0);
    let cols = b.broadcast(on, vec![bm, c]);
    let offs = b.binary(BinaryOp::Add, rows, cols);
    let px = ptrs(&mut b, x, offs);
    let v = b.load(px, None, None);
    let m = b.reduce(ReduceOp::Max, v, Some(1));
    let m = b.expand_dims(m, 1);
    let m = b.broadcast(m, vec![bm, c]);
    let d = b.binary(BinaryOp::Sub, v, m);
    let e = b.unary(UnaryOp::Exp, d);
    let s = b.reduce(ReduceOp::Sum, e, Some(1));
    let s = b.expand_dims(s, 1);
    let s = b.broadcast(s, vec![bm, c]);
    let r = b.binary(BinaryOp::Div, e, s);
    let py = ptrs(&mut b, y, offs);
    b.store(py, r, None);
    b.finish()
}

/// `out[c] = sum_r x[r, c]` over an `[R, C]` matrix in one program.
pub fn column_sums(r: u32, c: u32) -> crate::ir::Kernel {
    let mut b = Builder::new("column_sums");
    let x = ptr(&mut b, "x", F32, false);
    let out = ptr(&mut b, "out", F32, true);
    let ar = b.arange(0, r);
    let ac = b.arange(0, c);
    let ar = b.expand_dims(ar, 1);
    let cc = b.const_i32(c as i32);
    let ccs = b.splat(cc, vec![r, 1]);
    let rows = b.binary(BinaryOp::Mul, ar, ccs);
    let rows = b.broadcast(rows, vec![r, c]);
    let ac2 = b.expand_dims(ac, 0);
    let cols = b.broadcast(ac2, vec![r, c]);
    let offs = b.binary(BinaryOp::Add, rows, cols);
    let px = ptrs(&mut b, x, offs);
    let v = b.load(px, None, None);
    let s = b.reduce(ReduceOp::Sum, v, Some(0));
    let po = ptrs(&mut b, out, ac);
    b.store(po, s, None);
    b.finish()
}

/// `out[i] = sum_k x[k * B + i]` for `k < K` (runtime), with a loop-carried tile local.
pub fn loop_sum(block: u32) -> crate::ir::Kernel {
    let mut b = Builder::new("loop_sum");
    let x = ptr(&mut b, "x", F32, false);
    let out = ptr(&mut b, "out", F32, true);
    let kp = b.add_param("k", ParamKind::Scalar(I32));
    let acc = b.add_local("acc", Type::tile(F32, vec![block]));
    let kv = b.add_local("kk", Type::scalar(I32));
    let zero = b.const_f32(0.0);
    let zs = b.splat(zero, vec![block]);
    b.local_set(acc, zs);
    let start = b.const_i32(0);
    let end = b.param(kp);
    let step = b.const_i32(1);
    b.begin_region();
    let k = b.local_get(kv);
    let bs = b.const_i32(block as i32);
    let base = b.binary(BinaryOp::Mul, k, bs);
    let bases = b.splat(base, vec![block]);
    let ar = b.arange(0, block);
    let offs = b.binary(BinaryOp::Add, bases, ar);
    let p = ptrs(&mut b, x, offs);
    let v = b.load(p, None, None);
    let a = b.local_get(acc);
    let s = b.binary(BinaryOp::Add, a, v);
    b.local_set(acc, s);
    let body = b.end_region();
    b.push(
        InstKind::For {
            var: kv,
            start,
            end,
            step,
            body,
        },
        None,
    );
    let a = b.local_get(acc);
    let ar = b.arange(0, block);
    let p = ptrs(&mut b, out, ar);
    b.store(p, a, None);
    b.finish()
}

/// Control flow on scalars: `i` counts with while/continue/break, an if/else picks, and an
/// early return skips the last store for odd programs.
/// out[pid*4 + 0] = sum of even i < 10 (while + continue), [1] = first i with i*i > 30 (break),
/// [2] = pid even ? 100 : 200, [3] = 7 only for even pids.
pub fn control_flow() -> crate::ir::Kernel {
    let mut b = Builder::new("control_flow");
    let out = ptr(&mut b, "out", I32, true);
    let i = b.add_local("i", Type::scalar(I32));
    let acc = b.add_local("acc", Type::scalar(I32));
    let pid = b.program_id(0);
    let four = b.const_i32(4);
    let base = b.binary(BinaryOp::Mul, pid, four);
    let c0 = b.const_i32(0);
    b.local_set(i, c0);
    b.local_set(acc, c0);
    // while i < 10 { i += 1; if i % 2 == 1 { continue } acc += i }
    b.begin_region();
    let iv = b.local_get(i);
    let ten = b.const_i32(10);
    let cond = b.compare(CmpOp::Lt, iv, ten);
    let cond_region = b.end_region();
    b.begin_region();
    let iv = b.local_get(i);
    let one = b.const_i32(1);
    let next = b.binary(BinaryOp::Add, iv, one);
    b.local_set(i, next);
    let two = b.const_i32(2);
    let rem = b.binary(BinaryOp::Rem, next, two);
    let odd = b.compare(CmpOp::Eq, rem, one);
    b.begin_region();
    b.push(InstKind::Continue, None);
    let then_region = b.end_region();
    b.push(
        InstKind::If {
            cond: odd,
            then_region,
            else_region: Region::default(),
        },
        None,
    );
    let a = b.local_get(acc);
    let s = b.binary(BinaryOp::Add, a, next);
    b.local_set(acc, s);
    let body = b.end_region();
    b.push(
        InstKind::While {
            cond_region,
            cond,
            body,
        },
        None,
    );
    let a = b.local_get(acc);
    let p0 = b.param(out);
    let p = b.ptr_offset(p0, base);
    b.store(p, a, None);
    // for j in 0..100 { if j*j > 30 { acc = j; break } }
    let j = b.add_local("j", Type::scalar(I32));
    let start = b.const_i32(0);
    let end = b.const_i32(100);
    let step = b.const_i32(1);
    b.begin_region();
    let jv = b.local_get(j);
    let sq = b.binary(BinaryOp::Mul, jv, jv);
    let thirty = b.const_i32(30);
    let big = b.compare(CmpOp::Gt, sq, thirty);
    b.begin_region();
    b.local_set(acc, jv);
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
    let body = b.end_region();
    b.push(
        InstKind::For {
            var: j,
            start,
            end,
            step,
            body,
        },
        None,
    );
    let a = b.local_get(acc);
    let one = b.const_i32(1);
    let at = b.binary(BinaryOp::Add, base, one);
    let p0 = b.param(out);
    let p = b.ptr_offset(p0, at);
    b.store(p, a, None);
    // if pid % 2 == 0 { acc = 100 } else { acc = 200 }
    let two = b.const_i32(2);
    let pr = b.binary(BinaryOp::Rem, pid, two);
    let even = b.compare(CmpOp::Eq, pr, c0);
    b.begin_region();
    let h = b.const_i32(100);
    b.local_set(acc, h);
    let then_region = b.end_region();
    b.begin_region();
    let h = b.const_i32(200);
    b.local_set(acc, h);
    let else_region = b.end_region();
    b.push(
        InstKind::If {
            cond: even,
            then_region,
            else_region,
        },
        None,
    );
    let a = b.local_get(acc);
    let at = b.binary(BinaryOp::Add, base, two);
    let p0 = b.param(out);
    let p = b.ptr_offset(p0, at);
    b.store(p, a, None);
    // if pid is odd { return }; out[base + 3] = 7
    let odd = b.compare(CmpOp::Ne, pr, c0);
    b.begin_region();
    b.push(InstKind::Return, None);
    let then_region = b.end_region();
    b.push(
        InstKind::If {
            cond: odd,
            then_region,
            else_region: Region::default(),
        },
        None,
    );
    let seven = b.const_i32(7);
    let three = b.const_i32(3);
    let at = b.binary(BinaryOp::Add, base, three);
    let p0 = b.param(out);
    let p = b.ptr_offset(p0, at);
    b.store(p, seven, None);
    b.finish()
}

/// `out[i] = x[i] as to` over one block.
pub fn cast_kernel(from: ScalarType, to: ScalarType, block: u32) -> crate::ir::Kernel {
    let mut b = Builder::new(format!("cast_{from}_{to}"));
    let x = ptr(&mut b, "x", from, false);
    let out = ptr(&mut b, "out", to, true);
    let offs = block_offsets(&mut b, block);
    let p = ptrs(&mut b, x, offs);
    let v = b.load(p, None, None);
    let c = b.cast(v, to);
    let q = ptrs(&mut b, out, offs);
    b.store(q, c, None);
    b.finish()
}

/// `out[i] = x[i] * 2 + 1` (ints) or `x[i] * 2 + 1` (floats), or `!x[i]` for bool.
pub fn typed_kernel(ty: ScalarType, block: u32) -> crate::ir::Kernel {
    let mut b = Builder::new(format!("typed_{ty}"));
    let x = ptr(&mut b, "x", ty, false);
    let out = ptr(&mut b, "out", ty, true);
    let offs = block_offsets(&mut b, block);
    let p = ptrs(&mut b, x, offs);
    let v = b.load(p, None, None);
    let r = if ty.is_bool() {
        b.unary(UnaryOp::Not, v)
    } else {
        let two = b.constant(ty, Literal::Int(2));
        let one = b.constant(ty, Literal::Int(1));
        let twos = b.splat(two, vec![block]);
        let ones = b.splat(one, vec![block]);
        let m = b.binary(BinaryOp::Mul, v, twos);
        b.binary(BinaryOp::Add, m, ones)
    };
    let q = ptrs(&mut b, out, offs);
    b.store(q, r, None);
    b.finish()
}

use crate::base::Literal;
use crate::ir::{InstKind, Region, ValueId};

// ---- validation tests ------------------------------------------------------------------------

#[test]
fn reductions_validate() {
    for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod] {
        for block in [16, 128, 1024] {
            compile(reduce_1d(op, block, 0.0, None), true);
        }
    }
}

#[test]
fn softmax_validates_without_shared_conversions() {
    let art = compile(softmax(4, 64), true);
    // Two row reductions across invocations, nothing else.
    assert!(art.abi.shared_bytes > 0);
}

#[test]
fn column_sums_validate() {
    compile(column_sums(32, 16), true);
    compile(column_sums(8, 256), true);
}

#[test]
fn loop_and_control_flow_validate() {
    compile(loop_sum(256), true);
    compile(control_flow(), true);
}

#[test]
fn every_cast_validates() {
    for from in ScalarType::ALL {
        for to in ScalarType::ALL {
            compile(cast_kernel(from, to, 64), false);
        }
    }
}

#[test]
fn typed_buffers_validate_with_features() {
    let art = compile(typed_kernel(F16, 64), true);
    assert!(art.abi.features.float16 && art.abi.features.storage16);
    assert!(!art.abi.features.int64);
    let art = compile(typed_kernel(I64, 64), true);
    assert!(art.abi.features.int64 && !art.abi.features.float16);
    let art = compile(typed_kernel(U8, 64), true);
    assert!(art.abi.features.int8 && art.abi.features.storage8);
    let art = compile(typed_kernel(Bool, 64), true);
    assert_eq!(art.abi.features, crate::abi::Features::default());
    compile(typed_kernel(BF16, 64), true);
    compile(typed_kernel(F64, 64), true);
}

/// `out[i] = op(x[i])` over one block of `ty`.
pub fn unary_kernel(op: UnaryOp, ty: ScalarType, block: u32) -> crate::ir::Kernel {
    let mut b = Builder::new(format!("unary_{op:?}_{ty}").to_lowercase());
    let x = ptr(&mut b, "x", ty, false);
    let out = ptr(&mut b, "out", ty, true);
    let offs = block_offsets(&mut b, block);
    let p = ptrs(&mut b, x, offs);
    let v = b.load(p, None, None);
    let r = b.unary(op, v);
    let q = ptrs(&mut b, out, offs);
    b.store(q, r, None);
    b.finish()
}

/// `out[i] = op(x[i], y[i])` over one block of `ty`.
pub fn binary_kernel(op: BinaryOp, ty: ScalarType, block: u32) -> crate::ir::Kernel {
    let mut b = Builder::new(format!("binary_{op:?}_{ty}").to_lowercase());
    let x = ptr(&mut b, "x", ty, false);
    let y = ptr(&mut b, "y", ty, false);
    let out = ptr(&mut b, "out", ty, true);
    let offs = block_offsets(&mut b, block);
    let p = ptrs(&mut b, x, offs);
    let a = b.load(p, None, None);
    let p = ptrs(&mut b, y, offs);
    let c = b.load(p, None, None);
    let r = b.binary(op, a, c);
    let q = ptrs(&mut b, out, offs);
    b.store(q, r, None);
    b.finish()
}

/// `out[i] = x[i] * s + t` with scalar parameters `s`, `t` of `ty` and a bool flag that negates.
pub fn scalar_params_kernel(ty: ScalarType, block: u32) -> crate::ir::Kernel {
    let mut b = Builder::new(format!("params_{ty}"));
    let x = ptr(&mut b, "x", ty, false);
    let out = ptr(&mut b, "out", ty, true);
    let s = b.add_param("s", ParamKind::Scalar(ty));
    let flag = b.add_param("flag", ParamKind::Scalar(Bool));
    let t = b.add_param("t", ParamKind::Scalar(ty));
    let offs = block_offsets(&mut b, block);
    let p = ptrs(&mut b, x, offs);
    let v = b.load(p, None, None);
    let sv = b.param(s);
    let ss = b.splat(sv, vec![block]);
    let tv = b.param(t);
    let ts = b.splat(tv, vec![block]);
    let m = b.binary(BinaryOp::Mul, v, ss);
    let r = b.binary(BinaryOp::Add, m, ts);
    let fv = b.param(flag);
    let fs = b.splat(fv, vec![block]);
    let zero = b.constant(ty, Literal::Int(0));
    let zs = b.splat(zero, vec![block]);
    let neg = b.binary(BinaryOp::Sub, zs, r);
    let sel = b.select(fs, neg, r);
    let q = ptrs(&mut b, out, offs);
    b.store(q, sel, None);
    b.finish()
}

#[test]
fn unary_and_binary_ops_validate() {
    use UnaryOp::*;
    for ty in [F32, F16, F64, BF16] {
        for op in [
            Neg, Abs, Exp, Exp2, Log, Log2, Sqrt, Rsqrt, Sin, Cos, Tanh, Erf, Floor, Ceil, Round,
            Sigmoid,
        ] {
            compile(unary_kernel(op, ty, 64), false);
        }
        for op in [
            BinaryOp::Add,
            BinaryOp::Sub,
            BinaryOp::Mul,
            BinaryOp::Div,
            BinaryOp::Rem,
            BinaryOp::Min,
            BinaryOp::Max,
            BinaryOp::Pow,
        ] {
            compile(binary_kernel(op, ty, 64), false);
        }
    }
    for ty in [I8, I16, I32, I64, U8, U16, U32, U64] {
        for op in [Neg, Abs, BitNot] {
            compile(unary_kernel(op, ty, 64), false);
        }
        for op in [
            BinaryOp::Add,
            BinaryOp::Sub,
            BinaryOp::Mul,
            BinaryOp::Div,
            BinaryOp::Rem,
            BinaryOp::And,
            BinaryOp::Or,
            BinaryOp::Xor,
            BinaryOp::Shl,
            BinaryOp::Shr,
            BinaryOp::Min,
            BinaryOp::Max,
            BinaryOp::MulHi,
        ] {
            compile(binary_kernel(op, ty, 64), false);
        }
    }
    for ty in [F32, F16, I32, I64, U32, U64] {
        compile(scalar_params_kernel(ty, 64), true);
    }
}

/// `z[i] = x[i] + x[0]` with i64 offsets; tiles of 256 go through a tile `if`/`while` that
/// doubles the sum `reps` times (a runtime count) and negates it when `flip` is set.
pub fn wide_offsets_kernel(block: u32) -> crate::ir::Kernel {
    let mut b = Builder::new("wide_offsets");
    let x = ptr(&mut b, "x", F32, false);
    let z = ptr(&mut b, "z", F32, true);
    let reps = b.add_param("reps", ParamKind::Scalar(I32));
    let flip = b.add_param("flip", ParamKind::Scalar(Bool));
    let acc = b.add_local("acc", Type::tile(F32, vec![block]));
    let count = b.add_local("count", Type::scalar(I32));
    let offs = block_offsets(&mut b, block);
    let offs64 = b.cast(offs, I64);
    let p = ptrs(&mut b, x, offs64);
    let v = b.load(p, None, None);
    // A scalar load through a scalar pointer.
    let x0 = b.param(x);
    let first = b.load(x0, None, None);
    let fs = b.splat(first, vec![block]);
    let s = b.binary(BinaryOp::Add, v, fs);
    b.local_set(acc, s);
    let c0 = b.const_i32(0);
    b.local_set(count, c0);
    b.begin_region();
    let c = b.local_get(count);
    let r = b.param(reps);
    let cond = b.compare(CmpOp::Lt, c, r);
    let cond_region = b.end_region();
    b.begin_region();
    let a = b.local_get(acc);
    let d = b.binary(BinaryOp::Add, a, a);
    b.local_set(acc, d);
    let c = b.local_get(count);
    let one = b.const_i32(1);
    let n = b.binary(BinaryOp::Add, c, one);
    b.local_set(count, n);
    let body = b.end_region();
    b.push(
        InstKind::While {
            cond_region,
            cond,
            body,
        },
        None,
    );
    let f = b.param(flip);
    b.begin_region();
    let a = b.local_get(acc);
    let na = b.unary(UnaryOp::Neg, a);
    b.local_set(acc, na);
    let then_region = b.end_region();
    b.push(
        InstKind::If {
            cond: f,
            then_region,
            else_region: Region::default(),
        },
        None,
    );
    let a = b.local_get(acc);
    let q = ptrs(&mut b, z, offs64);
    b.store(q, a, None);
    b.finish()
}

#[test]
fn wide_offsets_and_tile_control_flow_validate() {
    let art = compile(wide_offsets_kernel(256), true);
    assert!(art.abi.features.int64);
}

#[test]
fn missing_device_feature_is_a_diagnostic() {
    let module = crate::driver::schedule(
        ir::Module {
            kernel: typed_kernel(F64, 64),
        },
        &Target::portable(),
    )
    .unwrap();
    let mut target = Target::portable();
    target.features.float64 = false;
    let err = emit(
        &module,
        &target,
        &EmitOptions {
            safe: true,
            vector_views: true,
        },
    )
    .unwrap_err();
    assert_eq!(err.code, "E0609");
    assert!(err.message.contains("64-bit floats"));
}

/// The `OpExecutionMode` instructions of a module: (mode, its first literal).
fn execution_modes(words: &[u32]) -> Vec<(u32, u32)> {
    let module = rspirv::dr::load_words(words).expect("a readable module");
    module
        .execution_modes
        .iter()
        .filter_map(|i| match (i.operands.get(1), i.operands.get(2)) {
            (
                Some(rspirv::dr::Operand::ExecutionMode(mode)),
                Some(rspirv::dr::Operand::LiteralBit32(value)),
            ) => Some((*mode as u32, *value)),
            _ => None,
        })
        .collect()
}

#[test]
fn float_controls_are_declared_for_each_float_width_the_target_offers_them_for() {
    use spirv::ExecutionMode::{RoundingModeRTE, SignedZeroInfNanPreserve};
    let source = "kernel k(x: *f16, out: *mut f32) {
        let r = arange(0, 64);
        store(out + r, max(load(x + r), axis: 0) as f32 + 0.0 * (r as f32));
    }";
    let program = crate::driver::check_source("k.tk", source, &crate::driver::DiskLoader);
    assert!(!program.has_errors());
    let lowered = crate::driver::lower(&program, "k", &[]).unwrap();
    let modes = |target: &Target| {
        let (_, artifact) = crate::driver::compile(lowered.clone(), target, true).unwrap();
        validate(&artifact.words, "float-controls");
        (execution_modes(&artifact.words), artifact)
    };
    let (gpu, artifact) = modes(&Target::gpu());
    for bits in [16, 32] {
        for mode in [SignedZeroInfNanPreserve, RoundingModeRTE] {
            assert!(
                gpu.contains(&(mode as u32, bits)),
                "{mode:?} {bits}: {gpu:?}"
            );
        }
    }
    assert!(
        !gpu.iter().any(|&(_, bits)| bits == 64),
        "no f64 here: {gpu:?}"
    );
    assert!(artifact.abi.features.float_controls);
    // naga cannot read the declarations: the export takes them out (a portable module, which
    // naga can represent, with the declarations forced on).
    let mut declaring = Target::portable();
    declaring.features.float_controls = true;
    let (declared, artifact) = modes(&declaring);
    assert!(declared.contains(&(SignedZeroInfNanPreserve as u32, 32)));
    let wgsl = crate::export::export(&artifact, crate::export::Language::Wgsl)
        .unwrap_or_else(|d| panic!("{d:?}"));
    assert!(wgsl.contains("@compute"));

    // The portable target (any Vulkan 1.1 device) promises none, and a device without them
    // gets none.
    let (portable, artifact) = modes(&Target::portable());
    let declares = |modes: &[(u32, u32)]| {
        modes
            .iter()
            .any(|&(mode, _)| mode == SignedZeroInfNanPreserve as u32)
    };
    assert!(!declares(&portable) && !artifact.abi.features.float_controls);
    let mut without = Target::gpu();
    without.features.float_controls = false;
    assert!(!declares(&modes(&without).0));
}
