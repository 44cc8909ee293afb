//! Work across invocations through the workgroup scratch array (u32 words): reductions (first in
//! registers, then one partial per invocation combined in a fixed order, so every invocation of a
//! reduction group gets the same bits), inclusive scans (in registers when one invocation holds
//! the whole axis, else Hillis–Steele rounds through the scratch) and layout conversions (write
//! row-major, barrier, read), each as its plan in the schedule says (`ir::schedule`), within the
//! plan's scratch region.
//! No subgroup size is assumed here (a plan for a workgroup of exactly one subgroup reduces by
//! shuffles instead, `subgroup.rs`). Each use ends with a barrier so the next may reuse the
//! scratch.
use super::ctx::{ice, R};
use super::{Emitter, Val};
use crate::base::{Diagnostic, ScalarType};
use crate::ir::schedule::{ReducePlan, ScanPlan, Scratch};
use crate::ir::{BinaryOp, Elem, InstId, Layout, Plan, ReduceOp, ScanOp, ValueId};
use spirv::{Op, StorageClass, Word};

impl Emitter<'_> {
    pub(crate) fn barrier(&mut self) -> R<()> {
        let wg = self.cx.const_u32(spirv::Scope::Workgroup as u32);
        let mut semantics =
            spirv::MemorySemantics::ACQUIRE_RELEASE | spirv::MemorySemantics::WORKGROUP_MEMORY;
        if self.cx.vulkan_memory_model {
            semantics |=
                spirv::MemorySemantics::MAKE_AVAILABLE | spirv::MemorySemantics::MAKE_VISIBLE;
        }
        let sem = self.cx.const_u32(semantics.bits());
        self.cx.b.control_barrier(wg, wg, sem).map_err(ice)
    }

    pub(crate) fn scratch_ptr(&mut self, word_index: Word) -> R<Word> {
        let var = self
            .shared_var
            .ok_or_else(|| Diagnostic::internal("shared memory used but not sized"))?;
        let u = self.cx.u32();
        let ptr_ty = self.cx.pointer(StorageClass::Workgroup, u);
        self.cx.access_chain(ptr_ty, var, &[word_index])
    }

    /// The 32-bit words of a register of element type `ty` (`None`: a pointer index).
    pub(crate) fn register_words(&mut self, ty: Option<ScalarType>, x: Word) -> R<Vec<Word>> {
        let u = self.cx.u32();
        use ScalarType::*;
        let ty = match ty {
            Some(t) => t,
            None if self.idx64 => I64,
            None => I32,
        };
        Ok(match ty {
            Bool => {
                let one = self.cx.const_u32(1);
                let zero = self.cx.const_u32(0);
                vec![self.cx.op(Op::Select, u, &[x, one, zero])?]
            }
            I8 | I16 => {
                let i = self.cx.i32();
                let w = self.cx.op(Op::SConvert, i, &[x])?;
                vec![self.cx.op(Op::Bitcast, u, &[w])?]
            }
            U8 | U16 => vec![self.cx.op(Op::UConvert, u, &[x])?],
            F16 => {
                let f = self.cx.f32();
                let w = self.cx.op(Op::FConvert, f, &[x])?;
                vec![self.cx.op(Op::Bitcast, u, &[w])?]
            }
            I32 | F32 | BF16 => vec![self.cx.op(Op::Bitcast, u, &[x])?],
            U32 => vec![x],
            I64 | U64 | F64 => {
                let v2 = self.cx.vector(u, 2);
                let pair = self.cx.op(Op::Bitcast, v2, &[x])?;
                let mut out = Vec::new();
                for k in 0..2 {
                    out.push(
                        self.cx
                            .b
                            .composite_extract(u, None, pair, [k])
                            .map_err(ice)?,
                    );
                }
                out
            }
        })
    }

    pub(crate) fn words_register(&mut self, ty: Option<ScalarType>, words: &[Word]) -> R<Word> {
        use ScalarType::*;
        let ty = match ty {
            Some(t) => t,
            None if self.idx64 => I64,
            None => I32,
        };
        let t = self.cx.compute_ty(ty);
        let w = words[0];
        Ok(match ty {
            Bool => {
                let bool_ty = self.cx.bool_ty();
                let zero = self.cx.const_u32(0);
                self.cx.op(Op::INotEqual, bool_ty, &[w, zero])?
            }
            I8 | I16 => {
                let i = self.cx.i32();
                let s = self.cx.op(Op::Bitcast, i, &[w])?;
                self.cx.op(Op::SConvert, t, &[s])?
            }
            U8 | U16 => self.cx.op(Op::UConvert, t, &[w])?,
            F16 => {
                let f = self.cx.f32();
                let s = self.cx.op(Op::Bitcast, f, &[w])?;
                self.cx.op(Op::FConvert, t, &[s])?
            }
            I32 | F32 | BF16 => self.cx.op(Op::Bitcast, t, &[w])?,
            U32 => w,
            I64 | U64 | F64 => {
                let u = self.cx.u32();
                let v2 = self.cx.vector(u, 2);
                let pair = self
                    .cx
                    .b
                    .composite_construct(v2, None, [words[0], words[1]])
                    .map_err(ice)?;
                self.cx.op(Op::Bitcast, t, &[pair])?
            }
        })
    }

    pub(crate) fn words_of(&self, ty: Option<ScalarType>) -> u32 {
        match ty {
            Some(t) if t.bytes() == 8 => 2,
            Some(_) => 1,
            None if self.idx64 => 2,
            None => 1,
        }
    }

    /// Writes `words` at word `base` (a u32 value) onward.
    pub(crate) fn write_scratch(&mut self, base: Word, words: &[Word]) -> R<()> {
        let u = self.cx.u32();
        for (k, &w) in words.iter().enumerate() {
            let at = if k == 0 {
                base
            } else {
                let kc = self.cx.const_u32(k as u32);
                self.cx.op(Op::IAdd, u, &[base, kc])?
            };
            let p = self.scratch_ptr(at)?;
            self.cx.workgroup_store(p, w)?;
        }
        Ok(())
    }

    pub(crate) fn read_scratch(&mut self, base: Word, count: u32) -> R<Vec<Word>> {
        let u = self.cx.u32();
        let mut out = Vec::new();
        for k in 0..count {
            let at = if k == 0 {
                base
            } else {
                let kc = self.cx.const_u32(k);
                self.cx.op(Op::IAdd, u, &[base, kc])?
            };
            let p = self.scratch_ptr(at)?;
            out.push(self.cx.workgroup_load(u, p)?);
        }
        Ok(out)
    }

    /// Word `word` (u32) of `region` as a word index of the whole scratch array.
    pub(crate) fn region_word(&mut self, region: Scratch, word: Word) -> R<Word> {
        if region.offset == 0 {
            return Ok(word);
        }
        let u = self.cx.u32();
        let first = self.cx.const_u32(region.first_word());
        self.cx.op(Op::IAdd, u, &[word, first])
    }

    /// Row-major element index (u32) of coordinates in `shape`.
    pub(crate) fn linear_index(&mut self, coords: &[Word], shape: &[u32]) -> R<Word> {
        let i = self.cx.i32();
        let u = self.cx.u32();
        let mut acc = self.cx.const_i32(0);
        for (d, &c) in coords.iter().enumerate() {
            let stride: u32 = shape[d + 1..].iter().product();
            let s = self.cx.const_i32(stride as i32);
            let m = self.cx.op(Op::IMul, i, &[c, s])?;
            acc = self.cx.op(Op::IAdd, i, &[acc, m])?;
        }
        self.cx.op(Op::Bitcast, u, &[acc])
    }

    /// Moves `value` into `dst` through the scratch `region`.
    pub(crate) fn convert_through_shared(
        &mut self,
        value: ValueId,
        dst: &Layout,
        region: Scratch,
    ) -> R<Val> {
        let src = self.layout(value);
        let val = self.val(value)?;
        let ty = self.kernel.ty(value).clone();
        let sty = ty.scalar_type();
        let nwords = self.words_of(sty);
        let u = self.cx.u32();
        let primary = self.thread_primary(&src)?;
        let regs = val.regs().to_vec();
        self.barrier()?;
        for (r, &x) in regs.iter().enumerate() {
            let coords = self.coords(&src, r as u32)?;
            let idx = self.linear_index(&coords, &ty.shape)?;
            let wc = self.cx.const_u32(nwords);
            let base = self.cx.op(Op::IMul, u, &[idx, wc])?;
            let base = self.region_word(region, base)?;
            let words = self.register_words(sty, x)?;
            match primary {
                None => self.write_scratch(base, &words)?,
                Some(p) => self.guarded(p, &mut |e| e.write_scratch(base, &words))?,
            }
        }
        self.barrier()?;
        let mut out = Vec::new();
        for r in 0..dst.regs() {
            let coords = self.coords(dst, r)?;
            let idx = self.linear_index(&coords, &ty.shape)?;
            let wc = self.cx.const_u32(nwords);
            let base = self.cx.op(Op::IMul, u, &[idx, wc])?;
            let base = self.region_word(region, base)?;
            let words = self.read_scratch(base, nwords)?;
            out.push(self.words_register(sty, &words)?);
        }
        self.barrier()?;
        Ok(match val {
            Val::Ptr { param, .. } => Val::Ptr { param, idx: out },
            Val::Regs(_) => Val::Regs(out),
        })
    }

    /// Reduction `id` of `value` along `axis` (`None`: every dim) into `dst`, as its plan says.
    pub(crate) fn reduce(
        &mut self,
        id: InstId,
        op: ReduceOp,
        value: ValueId,
        axis: Option<u32>,
        dst: &Layout,
    ) -> R<Val> {
        let src = self.layout(value);
        let ty = match self.kernel.ty(value).elem {
            Elem::Scalar(s) => s,
            Elem::Ptr { .. } => return Err(Diagnostic::internal("reduction of pointers")),
        };
        let regs = self.regs(value)?;
        let base = src
            .base()
            .cloned()
            .ok_or_else(|| Diagnostic::internal("reduction of a scalar"))?;
        let u = self.cx.u32();
        let identity = self.reduce_identity(op, ty);

        // Which source dims are reduced (parent dim numbering).
        let src_dims = src.parent_dims();
        let reduced: Vec<usize> = match axis {
            Some(a) => vec![src_dims[a as usize]],
            None => src_dims.clone(),
        };

        // 1. In registers: only registers holding the first copy along the reduced dims count.
        let nres = dst.regs() as usize;
        let mut terms: Vec<Vec<Word>> = vec![Vec::new(); nres];
        for (r, &x) in regs.iter().enumerate() {
            let idx = src.register_indices(r as u32);
            let mut keep = true;
            let mut res_index = 0u32;
            for (&d, &r_d) in src_dims.iter().zip(&idx) {
                if reduced.contains(&d) {
                    keep &= base.is_primary_register(d, r_d);
                } else {
                    res_index = res_index * base.regs_per_dim(d) + r_d;
                }
            }
            if !keep {
                continue;
            }
            terms[res_index as usize].push(x);
        }
        // Pairwise, as a balanced tree: independent combines the device can overlap, where a
        // chain would wait on each one (a softmax row of 128 registers per invocation: 7
        // levels instead of 127 steps), and float sums that round less.
        let mut partial: Vec<Option<Word>> = Vec::with_capacity(nres);
        for mut level in terms {
            while level.len() > 1 {
                let mut next = Vec::with_capacity(level.len().div_ceil(2));
                for pair in level.chunks(2) {
                    next.push(match *pair {
                        [a, b] => self.reduce_combine(op, ty, a, b)?,
                        [a] => a,
                        _ => unreachable!("chunks of two"),
                    });
                }
                level = next;
            }
            partial.push(level.pop());
        }
        // Invocations holding replicas along a reduced dim contribute the identity.
        let mut conds = Vec::new();
        let bool_ty = self.cx.bool_ty();
        for &d in &reduced {
            if base.size_per_thread[d] * base.threads_per_dim[d] > base.shape[d] {
                let off = self.thread_offset(&base, d);
                let s = self.cx.const_i32(base.shape[d] as i32);
                conds.push(self.cx.op(Op::SLessThan, bool_ty, &[off, s])?);
            }
        }
        if let Layout::Slice { dim, .. } = &src {
            let d = *dim as usize;
            if axis.is_none() && base.threads_per_dim[d] > 1 {
                let t_d = self.thread_index(&base, d);
                let zero = self.cx.const_u32(0);
                conds.push(self.cx.op(Op::IEqual, bool_ty, &[t_d, zero])?);
            }
        }
        let thread_primary = self.all(&conds)?;
        let reg_ty = self.cx.compute_ty(ty);
        let mut partial: Vec<Word> = partial.into_iter().map(|p| p.unwrap_or(identity)).collect();
        if let Some(c) = thread_primary {
            for p in partial.iter_mut() {
                *p = self.cx.op(Op::Select, reg_ty, &[c, *p, identity])?;
            }
        }

        // 2. Across invocations: the invocations that differ only along the reduced dims.
        let group_dims = src.reduction_group_dims(axis);
        let (chunk, region) = match self.plan(id)? {
            Plan::Reduce(ReducePlan::Registers) => return Ok(Val::Regs(partial)),
            Plan::Reduce(ReducePlan::Subgroup) => {
                let out = self.subgroup_reduce(op, ty, &base, &group_dims, partial)?;
                return Ok(Val::Regs(out));
            }
            Plan::Reduce(ReducePlan::Subgroups { chunk, scratch }) => {
                let out = self.reduce_by_subgroups(op, ty, partial, *chunk as usize, *scratch)?;
                return Ok(Val::Regs(out));
            }
            Plan::Reduce(ReducePlan::Shared { chunk, scratch }) => (*chunk as usize, *scratch),
            other => return Err(plan_mismatch(id, other)),
        };
        let nwords = self.words_of(Some(ty));
        // Result registers go through the scratch `chunk` at a time, as planned.
        let slot_words = chunk as u32 * nwords;
        // This invocation's slot, and the invocation index with the group dims zeroed.
        let wc = self.cx.const_u32(slot_words);
        let mine = self.cx.op(Op::IMul, u, &[self.thread, wc])?;
        let mine = self.region_word(region, mine)?;
        let mut group_base = self.thread;
        for &d in &group_dims {
            let stride: u32 = base.threads_per_dim[d + 1..].iter().product();
            let t_d = self.thread_index(&base, d);
            let s = self.cx.const_u32(stride);
            let part = self.cx.op(Op::IMul, u, &[t_d, s])?;
            group_base = self.cx.op(Op::ISub, u, &[group_base, part])?;
        }
        let members = enumerate_group(&base, &group_dims);
        let mut out = Vec::new();
        for first in (0..nres).step_by(chunk) {
            let last = (first + chunk).min(nres);
            self.barrier()?;
            for (j, &p) in partial[first..last].iter().enumerate() {
                let off = self.cx.const_u32(j as u32 * nwords);
                let at = self.cx.op(Op::IAdd, u, &[mine, off])?;
                let words = self.register_words(Some(ty), p)?;
                self.write_scratch(at, &words)?;
            }
            self.barrier()?;
            // Every member of the group combines the partials in the same order.
            for j in 0..last - first {
                let mut acc: Option<Word> = None;
                for &m in &members {
                    let mc = self.cx.const_u32(m);
                    let t = self.cx.op(Op::IAdd, u, &[group_base, mc])?;
                    let start = self.cx.op(Op::IMul, u, &[t, wc])?;
                    let start = self.region_word(region, start)?;
                    let off = self.cx.const_u32(j as u32 * nwords);
                    let at = self.cx.op(Op::IAdd, u, &[start, off])?;
                    let words = self.read_scratch(at, nwords)?;
                    let v = self.words_register(Some(ty), &words)?;
                    acc = Some(match acc {
                        None => v,
                        Some(a) => self.reduce_combine(op, ty, a, v)?,
                    });
                }
                out.push(acc.unwrap_or(identity));
            }
        }
        self.barrier()?;
        Ok(Val::Regs(out))
    }
}

impl Emitter<'_> {
    /// The inclusive scan of `value` along `axis`; the result keeps the operand's layout.
    ///
    /// When one invocation holds every coordinate along the axis, each row is combined in
    /// registers in index order (the interpreter's order). A workgroup of one subgroup scans
    /// through shuffles (`subgroup_scan`). Otherwise every invocation takes part
    /// in log2(n) Hillis–Steele rounds: write each element to the scratch, barrier, then combine
    /// each element with the one `2^k` before it along the axis (earlier operand first). Every copy
    /// of an element computes the same value, so only primary copies write.
    pub(crate) fn scan(
        &mut self,
        id: InstId,
        op: ScanOp,
        value: ValueId,
        axis: u32,
        dst: &Layout,
    ) -> R<Val> {
        let src = self.layout(value);
        if &src != dst {
            return Err(Diagnostic::internal("a scan changes its operand's layout"));
        }
        let ty = match self.kernel.ty(value).elem {
            Elem::Scalar(s) => s,
            Elem::Ptr { .. } => return Err(Diagnostic::internal("scan of pointers")),
        };
        let shape = self.kernel.ty(value).shape.clone();
        let regs = self.regs(value)?;
        if src.base().is_none() {
            return Err(Diagnostic::internal("scan of a scalar"));
        }
        let axis = axis as usize;
        let n = shape[axis];
        if n == 1 {
            return Ok(Val::Regs(regs));
        }
        let combine_op = match op {
            ScanOp::Sum => BinaryOp::Add,
            ScanOp::Prod => BinaryOp::Mul,
        };
        let region = match self.plan(id)? {
            Plan::Scan(ScanPlan::Registers) => {
                return self.scan_in_registers(combine_op, ty, &src, axis, &regs)
            }
            Plan::Scan(ScanPlan::Subgroup) => {
                let out = self.subgroup_scan(combine_op, ty, &src, axis, &regs)?;
                return Ok(Val::Regs(out));
            }
            Plan::Scan(ScanPlan::Shared(scratch)) => *scratch,
            other => return Err(plan_mismatch(id, other)),
        };

        let nwords = self.words_of(Some(ty));
        let u = self.cx.u32();
        let bool_ty = self.cx.bool_ty();
        let reg_ty = self.cx.compute_ty(ty);
        let primary = self.thread_primary(&src)?;
        // Per register: its element's word offset in the scratch and its coordinate on the axis.
        let mut at = Vec::new();
        let mut along = Vec::new();
        for r in 0..regs.len() {
            let coords = self.coords(&src, r as u32)?;
            let idx = self.linear_index(&coords, &shape)?;
            at.push(idx);
            along.push(coords[axis]);
        }
        let wc = self.cx.const_u32(nwords);
        let axis_stride: u32 = shape[axis + 1..].iter().product();
        let mut current = regs;
        let mut distance = 1u32;
        while distance < n {
            if distance > 1 {
                // The previous round's reads are done before its elements are overwritten.
                self.barrier()?;
            }
            for (r, &x) in current.clone().iter().enumerate() {
                let word = self.cx.op(Op::IMul, u, &[at[r], wc])?;
                let word = self.region_word(region, word)?;
                let words = self.register_words(Some(ty), x)?;
                match primary {
                    None => self.write_scratch(word, &words)?,
                    Some(p) => self.guarded(p, &mut |e| e.write_scratch(word, &words))?,
                }
            }
            self.barrier()?;
            let dc = self.cx.const_i32(distance as i32);
            let back = self.cx.const_u32(distance * axis_stride);
            for r in 0..current.len() {
                // Elements closer than `distance` to the start keep their value (and read their
                // own slot, so that the address stays inside the tile).
                let has_earlier = self
                    .cx
                    .op(Op::SGreaterThanEqual, bool_ty, &[along[r], dc])?;
                let earlier_at = self.cx.op(Op::ISub, u, &[at[r], back])?;
                let from = self
                    .cx
                    .op(Op::Select, u, &[has_earlier, earlier_at, at[r]])?;
                let word = self.cx.op(Op::IMul, u, &[from, wc])?;
                let word = self.region_word(region, word)?;
                let words = self.read_scratch(word, nwords)?;
                let earlier = self.words_register(Some(ty), &words)?;
                let combined = self.binary(combine_op, ty, earlier, current[r])?;
                current[r] =
                    self.cx
                        .op(Op::Select, reg_ty, &[has_earlier, combined, current[r]])?;
            }
            distance *= 2;
        }
        self.barrier()?;
        Ok(Val::Regs(current))
    }

    /// A scan along `axis` when this invocation holds every coordinate of it: per row, the
    /// prefixes in index order over one register per coordinate.
    fn scan_in_registers(
        &mut self,
        op: BinaryOp,
        ty: ScalarType,
        layout: &Layout,
        axis: usize,
        regs: &[Word],
    ) -> R<Val> {
        let base = layout
            .base()
            .cloned()
            .ok_or_else(|| Diagnostic::internal("scan of a scalar"))?;
        let parent_axis = layout.parent_dims()[axis];
        let n = base.shape[parent_axis];
        // The coordinate along the axis of each register is known here: the invocation's own
        // offset along it is zero.
        let along = |r: u32| base.register_base(parent_axis, layout.register_indices(r)[axis]) % n;
        let row_of = |r: u32| {
            let mut idx = layout.register_indices(r);
            idx[axis] = 0;
            idx
        };
        let mut out = regs.to_vec();
        let mut done = vec![false; regs.len()];
        for first in 0..regs.len() {
            if done[first] {
                continue;
            }
            let row = row_of(first as u32);
            let members: Vec<u32> = (0..regs.len() as u32)
                .filter(|&r| row_of(r) == row)
                .collect();
            // The first register holding each coordinate, in coordinate order.
            let mut holder: Vec<Option<u32>> = vec![None; n as usize];
            for &r in &members {
                holder[along(r) as usize].get_or_insert(r);
            }
            let mut prefix = Vec::with_capacity(n as usize);
            let mut acc: Option<Word> = None;
            for h in &holder {
                let r =
                    h.ok_or_else(|| Diagnostic::internal("a register scan misses a coordinate"))?;
                let x = regs[r as usize];
                acc = Some(match acc {
                    None => x,
                    Some(a) => self.binary(op, ty, a, x)?,
                });
                prefix.push(acc.expect("just set"));
            }
            for &r in &members {
                out[r as usize] = prefix[along(r) as usize];
                done[r as usize] = true;
            }
        }
        Ok(Val::Regs(out))
    }
}

/// The internal error for a plan of another kind than its instruction (the verifier rejects it).
pub(crate) fn plan_mismatch(id: InstId, plan: &Plan) -> Diagnostic {
    Diagnostic::internal(format!(
        "%{} has a plan for another instruction: {plan:?}",
        id.index()
    ))
}

/// Offsets (in invocation index) of the members of a reduction group spanning `dims`.
fn enumerate_group(base: &crate::ir::layout::Blocked, dims: &[usize]) -> Vec<u32> {
    let mut offsets = vec![0u32];
    for &d in dims {
        let stride: u32 = base.threads_per_dim[d + 1..].iter().product();
        let mut next = Vec::new();
        for &o in &offsets {
            for k in 0..base.threads_per_dim[d] {
                next.push(o + k * stride);
            }
        }
        offsets = next;
    }
    offsets.sort();
    offsets
}
