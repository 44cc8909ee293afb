//! Checking `argmax`/`argmin` (lowered to two reductions) and the inclusive scans
//! `cumsum`/`cumprod` (one `Scan` instruction).
//!
//! `argmax(x, axis: k)` is the reduction `max` (which propagates NaN) followed by the lowest index
//! whose element equals that maximum, or is NaN when the maximum is NaN: the lowest index wins
//! ties and the first NaN wins over everything, as numpy's `argmax` does. Building it from the
//! existing reductions keeps one reduction machinery in the layouts pass and the SPIR-V emitter.
use super::{Elab, Slots, Val};
use crate::base::Span;
use crate::ir::{BinaryOp, CmpOp, Elem, ReduceOp, ScanOp, ValueId};
use crate::sema::diags;

impl Elab<'_> {
    /// The i32 index of the extreme element (`op` is `Max` or `Min`) of tile `x` along `axis`, or
    /// its row-major flat index over the whole tile when `axis` is `None`.
    pub(super) fn arg_reduce(&mut self, op: ReduceOp, x: ValueId, axis: Option<u32>) -> ValueId {
        let ty = self.b.ty(x).clone();
        let shape = ty.shape.clone();
        let is_float = ty.scalar_type().is_some_and(|t| t.is_float());
        let best = self.b.reduce(op, x, axis);
        let best = match axis {
            Some(a) => {
                let kept = self.b.expand_dims(best, a);
                self.b.broadcast(kept, shape.clone())
            }
            None => self.b.splat(best, shape.clone()),
        };
        let mut hit = self.b.compare(CmpOp::Eq, x, best);
        if is_float {
            // `v != v` is the NaN test: a NaN extreme is found at the NaN elements.
            let x_nan = self.b.compare(CmpOp::Ne, x, x);
            let best_nan = self.b.compare(CmpOp::Ne, best, best);
            let both_nan = self.b.binary(BinaryOp::And, x_nan, best_nan);
            hit = self.b.binary(BinaryOp::Or, hit, both_nan);
        }
        let (index, count) = match axis {
            Some(a) => (
                self.index_along(&shape, a as usize),
                shape[a as usize] as i32,
            ),
            None => {
                let mut flat: Option<ValueId> = None;
                let mut stride = 1i32;
                for d in (0..shape.len()).rev() {
                    let along = self.index_along(&shape, d);
                    let scaled = if stride == 1 {
                        along
                    } else {
                        let s = self.b.const_i32(stride);
                        let s = self.b.splat(s, shape.clone());
                        self.b.binary(BinaryOp::Mul, along, s)
                    };
                    flat = Some(match flat {
                        None => scaled,
                        Some(f) => self.b.binary(BinaryOp::Add, f, scaled),
                    });
                    stride *= shape[d] as i32;
                }
                (flat.expect("a tile has a dim"), stride)
            }
        };
        // Elements that are not the extreme offer an index past the end, which never wins.
        let past_end = self.b.const_i32(count);
        let past_end = self.b.splat(past_end, shape.clone());
        let candidates = self.b.select(hit, index, past_end);
        self.b.reduce(ReduceOp::Min, candidates, axis)
    }

    /// An i32 tile of `shape` whose elements are their coordinate along dim `d`.
    fn index_along(&mut self, shape: &[u32], d: usize) -> ValueId {
        let mut v = self.b.arange(0, shape[d]);
        for _ in 0..d {
            v = self.b.expand_dims(v, 0);
        }
        for k in d + 1..shape.len() {
            v = self.b.expand_dims(v, k as u32);
        }
        if self.b.ty(v).shape == shape {
            v
        } else {
            self.b.broadcast(v, shape.to_vec())
        }
    }

    /// `cumsum(x, axis: k)` / `cumprod(x, axis: k)`: same type and shape as `x`, a block of
    /// numbers; `axis` may be left out only for a 1-d block.
    pub(super) fn scan(&mut self, name: &str, op: ScanOp, slots: &Slots<'_>, span: Span) -> Val {
        let (x, xs) = self.arg_val(slots[0]);
        if matches!(x, Val::Error) {
            return Val::Error;
        }
        if !matches!(self.val_elem(&x), Some(Elem::Scalar(t)) if !t.is_bool()) {
            return self.not_a_number(&x, xs, name);
        }
        let shape = self.shape_of(&x);
        if shape.is_empty() {
            return self.error(diags::scan_of_scalar(name, &self.describe(&x), xs));
        }
        let axis = match slots[1] {
            Some(_) => match self.axis_arg(slots[1], &shape, xs, "the scan axis") {
                Some(a) => a,
                None => return Val::Error,
            },
            None if shape.len() == 1 => 0,
            None => return self.error(diags::scan_needs_axis(name, &shape, xs)),
        };
        let Some(id) = self.runtime_value(&x, xs) else {
            return Val::Error;
        };
        self.b.span = span;
        Val::Rt(self.b.scan(op, id, axis))
    }
}
