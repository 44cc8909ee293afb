//! IR kernels built by hand that the tests of several modules share (the passes' layout tests,
//! the SPIR-V emission and device tests): each is a small pattern that once needed care.
use super::builder::Builder;
use super::layout::{Blocked, Layout};
use super::schedule::{Plan, ReducePlan, Schedule, Scratch};
use super::{BinaryOp, InstKind, Kernel, Module, ParamKind, ReduceOp, Stage, Type, UnaryOp};
use crate::base::ScalarType::*;

/// Adds an f32 buffer parameter.
fn f32_pointer(b: &mut Builder, name: &str, mutable: bool) -> u32 {
    b.add_param(
        name,
        ParamKind::Pointer {
            pointee: F32,
            mutable,
        },
    )
}

/// `p[i] = exp(x[i] + sum_j x[i])`: the reduction's slice layout meets the load's layout.
pub fn conflict_kernel() -> Kernel {
    let mut b = Builder::new("conflict");
    let p = f32_pointer(&mut b, "p", true);
    let a = b.arange(0, 64);
    let base = b.param(p);
    let bp = b.splat(base, vec![64]);
    let ptrs = b.ptr_offset(bp, a);
    let x = b.load(ptrs, None, None);
    // A transposed use: [64] as columns of a [64, 64] tile, reduced over rows → Slice(dim 0).
    let e = b.expand_dims(x, 1);
    let bc = b.broadcast(e, vec![64, 64]);
    let r = b.reduce(ReduceOp::Sum, bc, Some(1));
    let s = b.binary(BinaryOp::Add, x, r);
    let q = b.unary(UnaryOp::Exp, s);
    b.store(ptrs, q, None);
    b.finish()
}

/// Running row max over column blocks: `m = maximum(m, max(x_k, 1))` in a loop, then stored
/// through `arange` pointers.
pub fn running_max_kernel(bm: u32, bn: u32) -> Kernel {
    let mut b = Builder::new("running_max");
    let x = f32_pointer(&mut b, "x", false);
    let out = f32_pointer(&mut b, "out", true);
    let blocks = b.add_param("blocks", ParamKind::Scalar(I32));
    let m = b.add_local("m", Type::tile(F32, vec![bm]));
    let k = b.add_local("k", Type::scalar(I32));
    let ninf = b.const_f32(f32::NEG_INFINITY);
    let init = b.splat(ninf, vec![bm]);
    b.local_set(m, init);
    let start = b.const_i32(0);
    let end = b.param(blocks);
    let step = b.const_i32(1);
    b.begin_region();
    // offs = rows[:, None] * (blocks * bn) + (k * bn + cols)[None, :]
    let rows = b.arange(0, bm);
    let rows = b.expand_dims(rows, 1);
    let e = b.param(blocks);
    let bnc = b.const_i32(bn as i32);
    let width = b.binary(BinaryOp::Mul, e, bnc);
    let ws = b.splat(width, vec![bm, 1]);
    let rows = b.binary(BinaryOp::Mul, rows, ws);
    let rows = b.broadcast(rows, vec![bm, bn]);
    let kv = b.local_get(k);
    let col0 = b.binary(BinaryOp::Mul, kv, bnc);
    let c0s = b.splat(col0, vec![bn]);
    let cols = b.arange(0, bn);
    let cols = b.binary(BinaryOp::Add, c0s, cols);
    let cols = b.expand_dims(cols, 0);
    let cols = b.broadcast(cols, vec![bm, bn]);
    let offs = b.binary(BinaryOp::Add, rows, cols);
    let base = b.param(x);
    let bp = b.splat(base, vec![bm, bn]);
    let p = b.ptr_offset(bp, offs);
    let v = b.load(p, None, None);
    let r = b.reduce(ReduceOp::Max, v, Some(1));
    let mv = b.local_get(m);
    let nm = b.binary(BinaryOp::Max, mv, r);
    b.local_set(m, nm);
    let body = b.end_region();
    b.push(
        InstKind::For {
            var: k,
            start,
            end,
            step,
            body,
        },
        None,
    );
    let mv = b.local_get(m);
    let rows = b.arange(0, bm);
    let ob = b.param(out);
    let os = b.splat(ob, vec![bm]);
    let op = b.ptr_offset(os, rows);
    b.store(op, mv, None);
    b.finish()
}

/// `out[i] = sum(x[i, :])` for an `[r, c]` matrix in one program.
pub fn row_sums_kernel(r: u32, c: u32) -> Kernel {
    let mut b = Builder::new("row_sums");
    let x = f32_pointer(&mut b, "x", false);
    let out = f32_pointer(&mut b, "out", true);
    let rows = b.arange(0, r);
    let r2 = b.expand_dims(rows, 1);
    let cc = b.const_i32(c as i32);
    let cs = b.splat(cc, vec![r, 1]);
    let r2 = b.binary(BinaryOp::Mul, r2, cs);
    let r2 = b.broadcast(r2, vec![r, c]);
    let cols = b.arange(0, c);
    let c2 = b.expand_dims(cols, 0);
    let c2 = b.broadcast(c2, vec![r, c]);
    let offs = b.binary(BinaryOp::Add, r2, c2);
    let base = b.param(x);
    let bp = b.splat(base, vec![r, c]);
    let p = b.ptr_offset(bp, offs);
    let v = b.load(p, None, None);
    let s = b.reduce(ReduceOp::Sum, v, Some(1));
    let rows = b.arange(0, r);
    let ob = b.param(out);
    let os = b.splat(ob, vec![r]);
    let op = b.ptr_offset(os, rows);
    b.store(op, s, None);
    b.finish()
}

/// `sum(arange(0, 512))` over 128 invocations, its partials through a scratch region of 512
/// bytes: a schedule built by hand.
pub fn hand_scheduled_sum() -> Module {
    let mut b = Builder::new("k");
    let lanes = b.arange(0, 512);
    b.reduce(ReduceOp::Sum, lanes, None);
    let mut kernel = b.finish();
    kernel.stage = Stage::Scheduled;
    let scratch = Scratch {
        offset: 0,
        bytes: 512,
    };
    kernel.schedule = Some(Schedule {
        layouts: vec![
            Some(Layout::Blocked(Blocked {
                shape: vec![512],
                size_per_thread: vec![4],
                threads_per_dim: vec![128],
            })),
            Some(Layout::Uniform),
        ],
        plans: vec![
            None,
            Some(Plan::Reduce(ReducePlan::Shared { chunk: 1, scratch })),
        ],
        shared_bytes: 512,
        ..Schedule::new(128, 16384, false)
    });
    Module { kernel }
}
