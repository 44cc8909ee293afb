//! `dot` and the data-moving shape instructions (`Reshape`, `Permute`) on the device.
//!
//! A `dot` planned in registers (`ir::schedule::DotPlan::Registers`, CPU devices) has its operands
//! in register layouts and the product is FMAs on registers only; one planned
//! `DotPlan::Broadcast` takes each `a[m, k]` from the lane holding it by a subgroup shuffle, then
//! does the same FMAs.
//!
//! A staged `dot` (`DotStaging`) writes `a` transposed and `b` into its buffer of the dot array
//! (`tk_dot`, f32 four-vectors), waits at a barrier, then each invocation walks K (unrolled
//! `k_unroll` times) reading the rows and columns of its register tile four at a time where the
//! tile's blocks come in fours, one FMA per register and k. With several buffers, successive
//! executions use them in turn (a Function-variable counter per `dot`) and only the barrier
//! after writing remains; with one, a barrier before writing waits for the previous readers.
//!
//! The shape instructions write their operand row-major to the scratch and read each result
//! register from the element its coordinates map to.
use super::ctx::{ice, R};
use super::{Emitter, Val};
use crate::base::{Diagnostic, ScalarType};
use crate::ir::schedule::DotStaging;
use crate::ir::{InstId, Layout, Plan, ValueId};
use spirv::{Op, StorageClass, Word};

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

    /// Declares the dot array (`tk_dot`, f32 four-vectors) when the schedule stages `dot`s.
    pub(crate) fn declare_dot_array(&mut self) -> R<()> {
        if self.schedule.dot_bytes == 0 {
            return Ok(());
        }
        let f32_ty = self.cx.f32();
        let vec4 = self.cx.vector(f32_ty, 4);
        let len = self.cx.const_u32(self.schedule.dot_bytes.div_ceil(16));
        let arr = self.cx.b.type_array(vec4, len);
        let ptr = self.cx.pointer(StorageClass::Workgroup, arr);
        let var = self.cx.b.variable(ptr, None, StorageClass::Workgroup, None);
        self.cx.b.name(var, "tk_dot");
        self.dot_array = Some(var);
        Ok(())
    }

    /// A pointer to element `at` (u32, counted in f32s) of the dot array: the four-vector
    /// `at / 4` when `vector`, else its component `at % 4`.
    fn dot_element(&mut self, at: Word, vector: bool) -> R<Word> {
        let array = self
            .dot_array
            .ok_or_else(|| Diagnostic::internal("a staged dot without the dot array"))?;
        let u = self.cx.u32();
        let f32_ty = self.cx.f32();
        let two = self.cx.const_u32(2);
        let quad = self.cx.op(Op::ShiftRightLogical, u, &[at, two])?;
        if vector {
            let vec4 = self.cx.vector(f32_ty, 4);
            let ptr = self.cx.pointer(StorageClass::Workgroup, vec4);
            return self.cx.access_chain(ptr, array, &[quad]);
        }
        let three = self.cx.const_u32(3);
        let lane = self.cx.op(Op::BitwiseAnd, u, &[at, three])?;
        let ptr = self.cx.pointer(StorageClass::Workgroup, f32_ty);
        self.cx.access_chain(ptr, array, &[quad, lane])
    }

    /// The element index (u32) where this execution of `dot` `id` finds its buffer, among the
    /// `stages` buffers of `size` elements from element `first`: the first with one stage, else
    /// the buffer after the one the previous execution used (a counter per `dot`, starting at 0
    /// in every invocation).
    pub(crate) fn buffer_start(
        &mut self,
        id: InstId,
        stages: u32,
        first: u32,
        size: u32,
    ) -> R<Word> {
        if stages <= 1 {
            return Ok(self.cx.const_u32(first));
        }
        let u = self.cx.u32();
        let counter = match self.dot_counters.get(&id.index()) {
            Some(&c) => c,
            None => {
                let zero = self.cx.const_u32(0);
                let c = self.cx.function_var_initialized(u, zero);
                self.dot_counters.insert(id.index(), c);
                c
            }
        };
        let used = self.cx.load(u, counter)?;
        let one = self.cx.const_u32(1);
        let next = self.cx.op(Op::IAdd, u, &[used, one])?;
        let stages = self.cx.const_u32(stages);
        let next = self.cx.op(Op::UMod, u, &[next, stages])?;
        self.cx.store(counter, next)?;
        let size = self.cx.const_u32(size);
        let offset = self.cx.op(Op::IMul, u, &[used, size])?;
        let first = self.cx.const_u32(first);
        self.cx.op(Op::IAdd, u, &[first, offset])
    }

    /// Writes every register of the 2-d tile `value` into the dot array: the element at
    /// coordinates `(c0, c1)` goes to `base + row * row_stride + col`, where `(row, col)` is
    /// `(c1, c0)` when `transpose`d, else `(c0, c1)`. Four registers consecutive along the
    /// column dim (the layout's blocks along it come in fours) go as one four-vector. Only
    /// primary copies write.
    fn stage_dot_operand(
        &mut self,
        value: ValueId,
        base: Word,
        row_stride: u32,
        transpose: bool,
    ) -> R<()> {
        let layout = self.layout(value);
        let regs = self.regs(value)?;
        let (row_dim, col_dim) = if transpose { (1, 0) } else { (0, 1) };
        let grouped = layout
            .base()
            .is_some_and(|b| b.size_per_thread[col_dim] % 4 == 0);
        let per_dim = layout.regs_per_dim();
        let u = self.cx.u32();
        let f32_ty = self.cx.f32();
        let vec4 = self.cx.vector(f32_ty, 4);
        let stride = self.cx.const_u32(row_stride);
        let mut writes: Vec<(Word, Word, bool)> = Vec::new();
        for r in 0..regs.len() as u32 {
            let idx = layout.register_indices(r);
            if grouped && !idx[col_dim].is_multiple_of(4) {
                continue;
            }
            let coords = self.coords(&layout, r)?;
            let row = self.cx.op(Op::Bitcast, u, &[coords[row_dim]])?;
            let col = self.cx.op(Op::Bitcast, u, &[coords[col_dim]])?;
            let at = self.cx.op(Op::IMul, u, &[row, stride])?;
            let at = self.cx.op(Op::IAdd, u, &[at, col])?;
            let at = self.cx.op(Op::IAdd, u, &[at, base])?;
            if grouped {
                // The registers of the next three columns of this block.
                let members: Vec<Word> = (0..4)
                    .map(|c| {
                        let mut next = idx.clone();
                        next[col_dim] += c;
                        let flat = next[0] * per_dim[1] + next[1];
                        regs[flat as usize]
                    })
                    .collect();
                let v = self.cx.op(Op::CompositeConstruct, vec4, &members)?;
                writes.push((at, v, true));
            } else {
                writes.push((at, regs[r as usize], false));
            }
        }
        let mut stores = Vec::with_capacity(writes.len());
        for (at, x, vector) in writes {
            stores.push((self.dot_element(at, vector)?, x));
        }
        self.store_primary(&layout, &stores)
    }

    /// Stores each `(pointer, value)` of `stores` (workgroup memory) in the invocations that
    /// hold the primary copies of `layout`'s elements: a replicated element is written once.
    pub(crate) fn store_primary(&mut self, layout: &Layout, stores: &[(Word, Word)]) -> R<()> {
        let primary = self.thread_primary(layout)?;
        let mut write_all = |e: &mut Self| -> R<()> {
            for &(ptr, x) in stores {
                e.cx.workgroup_store(ptr, x)?;
            }
            Ok(())
        };
        match primary {
            None => write_all(self),
            Some(p) => self.guarded(p, &mut write_all),
        }
    }

    /// The coordinates (u32) along dim `d` of the result layout `dst` where this invocation's
    /// reads of a staged operand start: one per register index along `d`, or one per four when
    /// the reads are four-vectors (the tile's blocks along `d` come in fours).
    fn tile_offsets(&mut self, dst: &Layout, d: usize, vector: u32) -> R<Vec<Word>> {
        let u = self.cx.u32();
        let per_dim = dst.regs_per_dim();
        let mut out = Vec::new();
        for i in (0..per_dim[d]).step_by(vector as usize) {
            let mut idx = [0, 0];
            idx[d] = i;
            let coord = self.coords(dst, idx[0] * per_dim[1] + idx[1])?[d];
            out.push(self.cx.op(Op::Bitcast, u, &[coord])?);
        }
        Ok(out)
    }

    /// The values at `offsets` (from `tile_offsets`) of the staged row starting at element `row`
    /// (u32), `vector` consecutive ones per offset.
    fn staged_row(&mut self, row: Word, offsets: &[Word], vector: u32) -> R<Vec<Word>> {
        let u = self.cx.u32();
        let f32_ty = self.cx.f32();
        let vec4 = self.cx.vector(f32_ty, 4);
        let mut out = Vec::with_capacity(offsets.len() * vector as usize);
        for &offset in offsets {
            let at = self.cx.op(Op::IAdd, u, &[row, offset])?;
            if vector == 4 {
                let ptr = self.dot_element(at, true)?;
                let v = self.cx.workgroup_load(vec4, ptr)?;
                for c in 0..4 {
                    out.push(
                        self.cx
                            .b
                            .composite_extract(f32_ty, None, v, [c])
                            .map_err(ice)?,
                    );
                }
            } else {
                let ptr = self.dot_element(at, false)?;
                out.push(self.cx.workgroup_load(f32_ty, ptr)?);
            }
        }
        Ok(out)
    }

    /// A staged `dot(a, b, acc)` into `dst` (`ir::schedule::DotStaging`): pick this execution's
    /// buffer (a barrier first with a single one), write `a` transposed and `b`, a barrier, then
    /// a K loop of FMAs on this invocation's register tile, its operands read from the buffer.
    pub(crate) fn dot(
        &mut self,
        id: InstId,
        a: ValueId,
        b: ValueId,
        acc: ValueId,
        dst: &Layout,
        staging: &DotStaging,
    ) -> R<Val> {
        let (m, k) = (self.kernel.ty(a).shape[0], self.kernel.ty(a).shape[1]);
        let (stride_a, stride_b) = (staging.a_row_stride, staging.b_row_stride);
        let acc_regs = self.regs(acc)?;
        if acc_regs.len() != dst.regs() as usize || dst.shape().len() != 2 {
            return Err(Diagnostic::internal("dot accumulator in another layout"));
        }
        if stride_a < m {
            return Err(Diagnostic::internal("staged rows shorter than M"));
        }
        let u = self.cx.u32();
        let f32_ty = self.cx.f32();
        if staging.stages <= 1 {
            // Every invocation has read the previous execution's operands.
            self.barrier()?;
        }
        let a_base = self.buffer_start(
            id,
            staging.stages,
            staging.region.offset / 4,
            staging.buffer_elements(k),
        )?;
        let b_offset = self.cx.const_u32(k * stride_a);
        let b_base = self.cx.op(Op::IAdd, u, &[a_base, b_offset])?;
        self.stage_dot_operand(a, a_base, stride_a, true)?;
        self.stage_dot_operand(b, b_base, stride_b, false)?;
        self.barrier()?;

        let cols = dst.regs_per_dim()[1] as usize;
        let unroll = staging.k_unroll;
        let vector = staging.vector;
        let rows_at = self.tile_offsets(dst, 0, vector)?;
        let cols_at = self.tile_offsets(dst, 1, vector)?;
        // One k: read this invocation's rows of `a_t[k]` and columns of `b[k]`, then the FMAs.
        let step = |e: &mut Self, kk: Word, accs: &mut [Word]| -> R<()> {
            let sa = e.cx.const_u32(stride_a);
            let a_row = e.cx.op(Op::IMul, u, &[kk, sa])?;
            let a_row = e.cx.op(Op::IAdd, u, &[a_row, a_base])?;
            let a_vals = e.staged_row(a_row, &rows_at, vector)?;
            let sb = e.cx.const_u32(stride_b);
            let b_row = e.cx.op(Op::IMul, u, &[kk, sb])?;
            let b_row = e.cx.op(Op::IAdd, u, &[b_row, b_base])?;
            let b_vals = e.staged_row(b_row, &cols_at, vector)?;
            for (r, acc) in accs.iter_mut().enumerate() {
                let (i, j) = (r / cols, r % cols);
                *acc = e.fma(ScalarType::F32, a_vals[i], b_vals[j], *acc)?;
            }
            Ok(())
        };
        if unroll == k {
            // All of K unrolled: the accumulators stay SSA values.
            let mut accs = acc_regs;
            for kk in 0..k {
                let kc = self.cx.const_u32(kk);
                step(self, kc, &mut accs)?;
            }
            return Ok(Val::Regs(accs));
        }
        let vars: Vec<Word> = (0..acc_regs.len())
            .map(|_| self.cx.function_var(f32_ty))
            .collect();
        for (&v, &x) in vars.iter().zip(&acc_regs) {
            self.cx.store(v, x)?;
        }
        self.counted_loop(k, unroll, &mut |e, k0| {
            let mut accs = Vec::with_capacity(vars.len());
            for &v in &vars {
                accs.push(e.cx.load(f32_ty, v)?);
            }
            for j in 0..unroll {
                let jc = e.cx.const_u32(j);
                let kk = e.cx.op(Op::IAdd, u, &[k0, jc])?;
                step(e, kk, &mut accs)?;
            }
            for (&v, &x) in vars.iter().zip(&accs) {
                e.cx.store(v, x)?;
            }
            Ok(())
        })?;
        let mut out = Vec::with_capacity(vars.len());
        for &v in &vars {
            out.push(self.cx.load(f32_ty, v)?);
        }
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
