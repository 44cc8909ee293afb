//! `dot` and the data-moving shape instructions (`Reshape`, `Permute`) on the device.
//!
//! A `dot` planned in registers (`ir::schedule::DotPlan::Registers`, CPU devices) has its operands
//! in register layouts and the product is FMAs on registers only; one planned
//! `DotPlan::Broadcast` takes each `a[m, k]` from the lane holding it by a subgroup shuffle, then
//! does the same FMAs.
//!
//! Otherwise both stage their operands in their plan's region of the workgroup scratch array. A
//! staged `dot` follows its `DotStaging`: operands stored row-major with padded rows, a barrier,
//! then each invocation walks K in a runtime loop (unrolled `k_unroll` times) keeping its register
//! tile of accumulators in Function variables, one FMA per register and k. The shape instructions
//! write their operand row-major and read each result register from the element its coordinates
//! map to.
use super::ctx::{ice, R};
use super::{Emitter, Val};
use crate::base::{Diagnostic, ScalarType};
use crate::ir::schedule::DotStaging;
use crate::ir::{InstId, Layout, Plan, ValueId};
use spirv::{Op, Word};

impl Emitter<'_> {
    /// Writes every register of `value` at `base + linear(coords with row stride)`: `row_stride`
    /// replaces the last dim's extent in the row-major index (padding).
    fn stage(&mut self, value: ValueId, base: u32, row_stride: Option<u32>) -> R<()> {
        let layout = self.layout(value);
        let ty = self.kernel.ty(value).clone();
        let sty = ty.scalar_type();
        let nwords = self.words_of(sty);
        let mut shape = ty.shape.clone();
        if let Some(s) = row_stride {
            *shape.last_mut().expect("a tile") = s;
        }
        let regs = self.regs(value)?;
        let primary = self.thread_primary(&layout)?;
        let u = self.cx.u32();
        let mut writes = Vec::new();
        for (r, &x) in regs.iter().enumerate() {
            let coords = self.coords(&layout, r as u32)?;
            let idx = self.linear_index(&coords, &shape)?;
            let wc = self.cx.const_u32(nwords);
            let scaled = self.cx.op(Op::IMul, u, &[idx, wc])?;
            let bc = self.cx.const_u32(base);
            let at = self.cx.op(Op::IAdd, u, &[scaled, bc])?;
            let words = self.register_words(sty, x)?;
            writes.push((at, words));
        }
        let mut write_all = |e: &mut Self| -> R<()> {
            for (at, words) in &writes {
                e.write_scratch(*at, words)?;
            }
            Ok(())
        };
        match primary {
            None => write_all(self),
            Some(p) => self.guarded(p, &mut write_all),
        }
    }

    /// `Reshape` (`perm: None`) or `Permute` `id` of `value` into `dst`, through its plan's
    /// region of the scratch array.
    pub(crate) fn reorder(
        &mut self,
        id: InstId,
        value: ValueId,
        perm: Option<&[u32]>,
        dst: &Layout,
    ) -> R<Val> {
        let region = match self.plan(id)? {
            Plan::Staged(region) => *region,
            other => return Err(super::shared::plan_mismatch(id, other)),
        };
        let src_ty = self.kernel.ty(value).clone();
        let sty = src_ty.scalar_type();
        let nwords = self.words_of(sty);
        let dst_shape = dst.shape();
        let u = self.cx.u32();
        self.barrier()?;
        self.stage(value, region.first_word(), None)?;
        self.barrier()?;
        let mut out = Vec::new();
        for r in 0..dst.regs() {
            let coords = self.coords(dst, r)?;
            let idx = match perm {
                None => self.linear_index(&coords, &dst_shape)?,
                Some(perm) => {
                    let mut src = coords.clone();
                    for (i, &p) in perm.iter().enumerate() {
                        src[p as usize] = coords[i];
                    }
                    self.linear_index(&src, &src_ty.shape)?
                }
            };
            let wc = self.cx.const_u32(nwords);
            let at = self.cx.op(Op::IMul, u, &[idx, wc])?;
            let at = self.region_word(region, at)?;
            let words = self.read_scratch(at, nwords)?;
            out.push(self.words_register(sty, &words)?);
        }
        self.barrier()?;
        let val = self.val(value)?;
        Ok(match val {
            Val::Ptr { param, .. } => Val::Ptr { param, idx: out },
            Val::Regs(_) => Val::Regs(out),
        })
    }

    /// Reads the f32 at word `at` (a u32 value) of the scratch array.
    fn scratch_f32(&mut self, at: Word) -> R<Word> {
        let w = self.read_scratch(at, 1)?[0];
        self.words_register(Some(ScalarType::F32), &[w])
    }

    /// A staged `dot(a, b, acc)` into `dst` (the module doc).
    pub(crate) fn dot(
        &mut self,
        a: ValueId,
        b: ValueId,
        acc: ValueId,
        dst: &Layout,
        staging: &DotStaging,
    ) -> R<Val> {
        let sa = self.kernel.ty(a).shape.clone();
        let k = sa[1];
        let (stride_a, stride_b) = (staging.a_row_stride, staging.b_row_stride);
        let region = staging.scratch;
        let a_base = region.first_word();
        let b_base = a_base + sa[0] * stride_a;
        let acc_regs = self.regs(acc)?;
        if acc_regs.len() != dst.regs() as usize || dst.shape().len() != 2 {
            return Err(Diagnostic::internal("dot accumulator in another layout"));
        }
        self.barrier()?;
        self.stage(a, a_base, Some(stride_a))?;
        self.stage(b, b_base, Some(stride_b))?;
        self.barrier()?;

        // Word offsets of this invocation's rows in `a` and columns in `b`, per register index.
        let u = self.cx.u32();
        let f32_ty = self.cx.f32();
        let per_dim = dst.regs_per_dim();
        let mut row_at = vec![None; per_dim[0] as usize];
        let mut col_at = vec![None; per_dim[1] as usize];
        for r in 0..dst.regs() {
            let idx = dst.register_indices(r);
            let coords = self.coords(dst, r)?;
            if row_at[idx[0] as usize].is_none() {
                let m = self.cx.op(Op::Bitcast, u, &[coords[0]])?;
                let s = self.cx.const_u32(stride_a);
                let row = self.cx.op(Op::IMul, u, &[m, s])?;
                row_at[idx[0] as usize] = Some(self.region_word(region, row)?);
            }
            if col_at[idx[1] as usize].is_none() {
                let c = self.cx.op(Op::Bitcast, u, &[coords[1]])?;
                let base = self.cx.const_u32(b_base);
                col_at[idx[1] as usize] = Some(self.cx.op(Op::IAdd, u, &[c, base])?);
            }
        }
        let row_at: Vec<Word> = row_at.into_iter().flatten().collect();
        let col_at: Vec<Word> = col_at.into_iter().flatten().collect();

        let vars: Vec<Word> = (0..acc_regs.len())
            .map(|_| self.cx.function_var(f32_ty))
            .collect();
        for (&v, &x) in vars.iter().zip(&acc_regs) {
            self.cx.store(v, x)?;
        }
        let unroll = staging.k_unroll;
        let mut step = |e: &mut Self, k0: Word| -> R<()> {
            let mut accs = Vec::new();
            for &v in &vars {
                accs.push(e.cx.load(f32_ty, v)?);
            }
            for j in 0..unroll {
                let jc = e.cx.const_u32(j);
                let kk = e.cx.op(Op::IAdd, u, &[k0, jc])?;
                let mut a_vals = Vec::new();
                for &ra in &row_at {
                    let at = e.cx.op(Op::IAdd, u, &[ra, kk])?;
                    a_vals.push(e.scratch_f32(at)?);
                }
                let sbc = e.cx.const_u32(stride_b);
                let krow = e.cx.op(Op::IMul, u, &[kk, sbc])?;
                let mut b_vals = Vec::new();
                for &cb in &col_at {
                    let at = e.cx.op(Op::IAdd, u, &[krow, cb])?;
                    b_vals.push(e.scratch_f32(at)?);
                }
                for (r, acc) in accs.iter_mut().enumerate() {
                    let idx = dst.register_indices(r as u32);
                    let (x, y) = (a_vals[idx[0] as usize], b_vals[idx[1] as usize]);
                    *acc = e.fma(ScalarType::F32, x, y, *acc)?;
                }
            }
            for (&v, &x) in vars.iter().zip(&accs) {
                e.cx.store(v, x)?;
            }
            Ok(())
        };
        if unroll == k {
            let zero = self.cx.const_u32(0);
            step(self, zero)?;
        } else {
            self.counted_loop(k, unroll, &mut step)?;
        }
        let mut out = Vec::new();
        for &v in &vars {
            out.push(self.cx.load(f32_ty, v)?);
        }
        self.barrier()?;
        Ok(Val::Regs(out))
    }

    /// `dot` with operands in `ir::layout::register_dot_operands`: every invocation already holds
    /// the rows and columns its accumulator registers need, so it is FMAs only.
    pub(crate) fn dot_in_registers(
        &mut self,
        a: ValueId,
        b: ValueId,
        acc: ValueId,
        dst: &Layout,
    ) -> R<Val> {
        let k = self.kernel.ty(a).shape[1] as usize;
        let a_regs = self.regs(a)?;
        self.register_fmas(b, acc, dst, &mut |_, i| {
            Ok(a_regs[i as usize * k..(i as usize + 1) * k].to_vec())
        })
    }

    /// `dot` planned `DotPlan::Broadcast`: `b` in its register layout, `a` spread over the lanes
    /// of the one subgroup and every row of the result in every lane. Each `a[m, k]` of a row
    /// comes from the lane holding it (a shuffle from a constant lane).
    pub(crate) fn dot_broadcast(
        &mut self,
        a: ValueId,
        b: ValueId,
        acc: ValueId,
        dst: &Layout,
    ) -> R<Val> {
        let k = self.kernel.ty(a).shape[1];
        let (Layout::Blocked(la), Layout::Blocked(r)) = (self.layout(a), dst.clone()) else {
            return Err(Diagnostic::internal(
                "a broadcast dot of non-blocked layouts",
            ));
        };
        let a_regs = self.regs(a)?;
        self.register_fmas(b, acc, dst, &mut |e, i| {
            // Every lane holds the same rows (one invocation along M), so the lane and the
            // register holding `a[m, k]` are the same for all of them.
            let m = r.coord(0, 0, i);
            (0..k)
                .map(|kk| {
                    let (lane, register) = la.owner(&[m, kk]);
                    e.from_lane(ScalarType::F32, a_regs[register as usize], lane)
                })
                .collect()
        })
    }

    /// The FMAs of a `dot` whose `b` is in its register layout (`register_dot_operands`) and
    /// whose result is `dst`: row by row of the result (`row_values(i)` gives the K values of
    /// `a` that row index `i` needs, asked once per row), each register takes its FMAs along k,
    /// the accumulator innermost.
    fn register_fmas(
        &mut self,
        b: ValueId,
        acc: ValueId,
        dst: &Layout,
        row_values: &mut dyn FnMut(&mut Self, u32) -> R<Vec<Word>>,
    ) -> R<Val> {
        let (b_regs, acc_regs) = (self.regs(b)?, self.regs(acc)?);
        let cols = dst.regs_per_dim()[1] as usize;
        let mut row: Option<(u32, Vec<Word>)> = None;
        let mut out = Vec::with_capacity(acc_regs.len());
        for (at, &start) in acc_regs.iter().enumerate() {
            let idx = dst.register_indices(at as u32);
            let (i, j) = (idx[0], idx[1] as usize);
            if row.as_ref().is_none_or(|(held, _)| *held != i) {
                row = Some((i, row_values(self, i)?));
            }
            let a_row = &row.as_ref().expect("the row's values").1;
            let mut sum = start;
            for (kk, &x) in a_row.iter().enumerate() {
                sum = self.fma(ScalarType::F32, x, b_regs[kk * cols + j], sum)?;
            }
            out.push(sum);
        }
        Ok(Val::Regs(out))
    }

    /// `for i in (0..count).step_by(step) { body(i) }` with a u32 counter, as a structured loop.
    fn counted_loop(
        &mut self,
        count: u32,
        step: u32,
        body: &mut dyn FnMut(&mut Self, Word) -> R<()>,
    ) -> R<()> {
        let zero = self.cx.const_u32(0);
        let step = self.cx.const_u32(step);
        self.strided_loop(zero, count, step, body)
    }

    /// `i = start; while i < end { body(i); i += step }` with u32 values, as a structured loop.
    pub(crate) fn strided_loop(
        &mut self,
        start: Word,
        end: u32,
        step: Word,
        body: &mut dyn FnMut(&mut Self, Word) -> R<()>,
    ) -> R<()> {
        let u = self.cx.u32();
        let bool_ty = self.cx.bool_ty();
        let counter = self.cx.function_var(u);
        self.cx.store(counter, start)?;
        let header = self.cx.id();
        let check = self.cx.id();
        let body_label = self.cx.id();
        let cont = self.cx.id();
        let merge = self.cx.id();
        self.cx.branch(header)?;
        self.cx.begin_block(header)?;
        self.cx
            .b
            .loop_merge(merge, cont, spirv::LoopControl::NONE, [])
            .map_err(ice)?;
        self.cx.branch(check)?;
        self.cx.begin_block(check)?;
        let i = self.cx.load(u, counter)?;
        let end = self.cx.const_u32(end);
        let go = self.cx.op(Op::ULessThan, bool_ty, &[i, end])?;
        self.cx
            .b
            .branch_conditional(go, body_label, merge, [])
            .map_err(ice)?;
        self.cx.begin_block(body_label)?;
        body(self, i)?;
        self.cx.branch(cont)?;
        self.cx.begin_block(cont)?;
        let i = self.cx.load(u, counter)?;
        let next = self.cx.op(Op::IAdd, u, &[i, step])?;
        self.cx.store(counter, next)?;
        self.cx.branch(header)?;
        self.cx.begin_block(merge)?;
        Ok(())
    }
}
