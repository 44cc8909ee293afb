//! Work across invocations through subgroup operations.
//!
//! A workgroup that is exactly one subgroup (CPU devices run workgroups of one subgroup,
//! docs/decisions.md, "Scheduling decisions"): reductions combine through
//! `OpGroupNonUniformShuffleXor` butterflies and scans through `OpGroupNonUniformShuffle`, with
//! no shared memory and no barrier. On lavapipe a barrier suspends every invocation (a coroutine
//! switch) and each shared-memory access is a loop over the SIMD lanes, while a shuffle is a
//! vector permute. The invocation index is the subgroup lane (`SubgroupLocalInvocationId`) so
//! that the lanes a shuffle pairs are the invocations the layout math expects.
//!
//! A reduction over a whole workgroup of several subgroups (`ReducePlan::Subgroups`, GPUs): one
//! `OpGroupNonUniform…` reduction per subgroup, then one value per subgroup through the scratch,
//! combined by every invocation in subgroup order: two barriers and `NumSubgroups` scratch reads
//! per invocation, where every partial through the scratch costs one read per invocation of the
//! workgroup. Nothing here assumes a subgroup size or which invocations form a subgroup.
use super::ctx::{ice, R};
use super::Emitter;
use crate::base::Diagnostic;
use crate::base::ScalarType;
use crate::ir::layout::Blocked;
use crate::ir::schedule::{ReducePlan, Scratch};
use crate::ir::{BinaryOp, Layout, Plan, ReduceOp};
use rspirv::dr::Operand;
use spirv::{BuiltIn, Capability, Decoration, GroupOperation, Op, StorageClass, Word};

impl Emitter<'_> {
    /// Combines each of `partial` across the invocations that differ only along `group_dims`
    /// of `base`: one butterfly step per bit of those dims' thread indices. At each step both
    /// partners combine (lower lane's value, higher lane's value) in that order, so every member
    /// ends with the same bits even where the combine is not commutative bit for bit (signed
    /// zeros in `max`, NaN payloads).
    pub(crate) fn subgroup_reduce(
        &mut self,
        op: ReduceOp,
        ty: ScalarType,
        base: &Blocked,
        group_dims: &[usize],
        partial: Vec<Word>,
    ) -> R<Vec<Word>> {
        let u = self.cx.u32();
        let bool_ty = self.cx.bool_ty();
        let reg_ty = self.cx.compute_ty(ty);
        let zero = self.cx.const_u32(0);
        let mut masks = Vec::new();
        for &d in group_dims {
            let stride: u32 = base.threads_per_dim[d + 1..].iter().product();
            let mut step = 1;
            while step < base.threads_per_dim[d] {
                masks.push(stride * step);
                step *= 2;
            }
        }
        let mut values = partial;
        for mask in masks {
            let m = self.cx.const_u32(mask);
            let bit = self.cx.op(Op::BitwiseAnd, u, &[self.thread, m])?;
            let lower = self.cx.op(Op::IEqual, bool_ty, &[bit, zero])?;
            for v in values.iter_mut() {
                let other = self.shuffle(ty, *v, Partner::Xor(m))?;
                let first = self.cx.op(Op::Select, reg_ty, &[lower, *v, other])?;
                let second = self.cx.op(Op::Select, reg_ty, &[lower, other, *v])?;
                *v = self.reduce_combine(op, ty, first, second)?;
            }
        }
        Ok(values)
    }

    /// The inclusive scan along `axis` of a layout whose axis is spread over the invocations of
    /// the subgroup, each holding blocks of `spt` consecutive elements (docs/decisions.md, "Scheduling decisions"):
    ///
    /// 1. each block's prefixes in registers, in index order; the last is the block's total;
    /// 2. an inclusive Hillis–Steele scan of the totals over the `m` invocations along the axis
    ///    (a shuffle from the invocation `2^k` positions before, earlier operand first);
    /// 3. each element is `carry ⊕ (exclusive total) ⊕ (its prefix)`, where the exclusive total
    ///    comes from the invocation one position before and `carry` combines the totals of the
    ///    earlier repetitions of the pattern (shuffled from the last position).
    ///
    /// Invocations holding replicas (the pattern is longer than the axis) repeat the same
    /// operations on the same values, so every copy of an element gets the same bits.
    pub(crate) fn subgroup_scan(
        &mut self,
        op: BinaryOp,
        ty: ScalarType,
        layout: &Layout,
        axis: usize,
        regs: &[Word],
    ) -> R<Vec<Word>> {
        let base = layout
            .base()
            .cloned()
            .ok_or_else(|| Diagnostic::internal("scan of a scalar"))?;
        let pa = layout.parent_dims()[axis];
        let (n, spt, tpd) = (
            base.shape[pa],
            base.size_per_thread[pa],
            base.threads_per_dim[pa],
        );
        if spt >= n || tpd == 1 {
            return Err(Diagnostic::internal(
                "a subgroup scan of an axis held in registers",
            ));
        }
        // Positions along the axis (invocations past them hold replicas) and repetitions.
        let positions = tpd.min(n / spt);
        let reps = (n / (spt * tpd)).max(1);
        let stride: u32 = base.threads_per_dim[pa + 1..].iter().product();
        let u = self.cx.u32();
        let bool_ty = self.cx.bool_ty();
        let reg_ty = self.cx.compute_ty(ty);
        let t_d = self.thread_index(&base, pa);
        let pos = if positions < tpd {
            let m = self.cx.const_u32(positions);
            self.cx.op(Op::UMod, u, &[t_d, m])?
        } else {
            t_d
        };
        // The lane `d` positions before this one (this lane where there is none), and whether
        // it exists.
        let before = |e: &mut Self, d: u32| -> R<(Word, Word)> {
            let dc = e.cx.const_u32(d);
            let exists = e.cx.op(Op::UGreaterThanEqual, bool_ty, &[pos, dc])?;
            let back = e.cx.const_u32(d * stride);
            let earlier = e.cx.op(Op::ISub, u, &[e.thread, back])?;
            let lane = e.cx.op(Op::Select, u, &[exists, earlier, e.thread])?;
            Ok((exists, lane))
        };
        let mut rounds = Vec::new();
        let mut d = 1;
        while d < positions {
            rounds.push(before(self, d)?);
            d *= 2;
        }
        // Positions are at least two (the axis is spread), so the first round is the lane one
        // position before.
        let (has_prev, prev_lane) = rounds[0];
        let last_lane = if reps > 1 {
            let last = self.cx.const_u32(positions - 1);
            let ahead = self.cx.op(Op::ISub, u, &[last, pos])?;
            let s = self.cx.const_u32(stride);
            let ahead = self.cx.op(Op::IMul, u, &[ahead, s])?;
            Some(self.cx.op(Op::IAdd, u, &[self.thread, ahead])?)
        } else {
            None
        };

        // Registers by row (the other dims' register indices), in order along the axis: register
        // index `j * spt + k` along the axis is element `k` of repetition `j`'s block.
        let per_axis = layout.regs_per_dim()[axis];
        let mut rows: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
        for r in 0..regs.len() as u32 {
            let mut idx = layout.register_indices(r);
            let along = idx[axis] as usize;
            idx[axis] = 0;
            let row = match rows.iter().position(|(key, _)| *key == idx) {
                Some(i) => i,
                None => {
                    rows.push((idx, vec![0; per_axis as usize]));
                    rows.len() - 1
                }
            };
            rows[row].1[along] = r;
        }
        let mut out = regs.to_vec();
        for (_, members) in &rows {
            let mut carry: Option<Word> = None;
            for j in 0..reps as usize {
                let block = &members[j * spt as usize..(j + 1) * spt as usize];
                let mut prefix = Vec::with_capacity(block.len());
                for &r in block {
                    let x = regs[r as usize];
                    prefix.push(match prefix.last() {
                        None => x,
                        Some(&a) => self.binary(op, ty, a, x)?,
                    });
                }
                let mut total = *prefix.last().expect("a block has registers");
                for &(exists, lane) in &rounds {
                    let other = self.shuffle(ty, total, Partner::Lane(lane))?;
                    let combined = self.binary(op, ty, other, total)?;
                    total = self.cx.op(Op::Select, reg_ty, &[exists, combined, total])?;
                }
                let exclusive = self.shuffle(ty, total, Partner::Lane(prev_lane))?;
                // What comes before this invocation's block: `None` at the start of the axis.
                let earlier = match carry {
                    None => None,
                    Some(c) => {
                        let with = self.binary(op, ty, c, exclusive)?;
                        Some(self.cx.op(Op::Select, reg_ty, &[has_prev, with, c])?)
                    }
                };
                for (&r, &p) in block.iter().zip(&prefix) {
                    out[r as usize] = match earlier {
                        Some(e) => self.binary(op, ty, e, p)?,
                        None => {
                            let with = self.binary(op, ty, exclusive, p)?;
                            self.cx.op(Op::Select, reg_ty, &[has_prev, with, p])?
                        }
                    };
                }
                if j + 1 < reps as usize {
                    let lane = last_lane.expect("several repetitions");
                    let rep_total = self.shuffle(ty, total, Partner::Lane(lane))?;
                    carry = Some(match carry {
                        None => rep_total,
                        Some(c) => self.binary(op, ty, c, rep_total)?,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Declares `SubgroupId` and `NumSubgroups` when a reduction goes through subgroups (the
    /// cooperative path's, when it declared them).
    pub(crate) fn declare_subgroup_ids(&mut self) -> R<()> {
        if let Some(coop) = &self.coop {
            self.subgroup_ids = Some((coop.subgroup_id, coop.num_subgroups));
            return Ok(());
        }
        let needed = self
            .schedule
            .plans
            .iter()
            .any(|p| matches!(p, Some(Plan::Reduce(ReducePlan::Subgroups { .. }))));
        if !needed {
            return Ok(());
        }
        self.cx.capability(Capability::GroupNonUniform);
        let u = self.cx.u32();
        let input = self.cx.pointer(StorageClass::Input, u);
        let builtin = |e: &mut Self, which: BuiltIn| {
            let var = e.cx.b.variable(input, None, StorageClass::Input, None);
            e.cx.b
                .decorate(var, Decoration::BuiltIn, [Operand::BuiltIn(which)]);
            var
        };
        let id = builtin(self, BuiltIn::SubgroupId);
        let count = builtin(self, BuiltIn::NumSubgroups);
        self.subgroup_ids = Some((id, count));
        Ok(())
    }

    /// Reduces `partial` (one register per result) over the whole workgroup as
    /// `ReducePlan::Subgroups` says: within each subgroup by `OpGroupNonUniform…` reductions,
    /// then one value per subgroup through the scratch `region`, `chunk` results at a time,
    /// combined by every invocation in subgroup order so that all of them get the same bits.
    pub(crate) fn reduce_by_subgroups(
        &mut self,
        op: ReduceOp,
        ty: ScalarType,
        partial: Vec<Word>,
        chunk: usize,
        region: Scratch,
    ) -> R<Vec<Word>> {
        let (id_var, count_var) = self
            .subgroup_ids
            .ok_or_else(|| Diagnostic::internal("a reduction by subgroups without SubgroupId"))?;
        let u = self.cx.u32();
        let bool_ty = self.cx.bool_ty();
        let reg_ty = self.cx.compute_ty(ty);
        let subgroup = self.cx.load(u, id_var)?;
        let subgroups = self.cx.load(u, count_var)?;
        let mut reduced = Vec::with_capacity(partial.len());
        for p in partial {
            reduced.push(self.group_reduce(op, ty, p)?);
        }
        let scope = self.cx.const_u32(spirv::Scope::Subgroup as u32);
        let elected = self
            .cx
            .b
            .group_non_uniform_elect(bool_ty, None, scope)
            .map_err(ice)?;
        let chunk_words = self.cx.const_u32(chunk as u32);
        let mut out = Vec::with_capacity(reduced.len());
        for (c, values) in reduced.chunks(chunk).enumerate() {
            if c > 0 {
                // The previous chunk's reads are done before its slots are overwritten.
                self.barrier()?;
            }
            // This subgroup's slot: `chunk` words from word `subgroup * chunk`.
            let slot = self.cx.op(Op::IMul, u, &[subgroup, chunk_words])?;
            let slot = self.region_word(region, slot)?;
            let values = values.to_vec();
            self.guarded(elected, &mut |e| {
                for (j, &v) in values.iter().enumerate() {
                    let at = e.word_after(slot, j as u32)?;
                    let words = e.register_words(Some(ty), v)?;
                    e.write_scratch(at, &words)?;
                }
                Ok(())
            })?;
            self.barrier()?;
            // Subgroup 0's values, then every later subgroup's in order.
            let zero = self.cx.const_u32(0);
            let first = self.region_word(region, zero)?;
            let mut accs = Vec::with_capacity(values.len());
            for j in 0..values.len() {
                let at = self.word_after(first, j as u32)?;
                let words = self.read_scratch(at, 1)?;
                let v = self.words_register(Some(ty), &words)?;
                let var = self.cx.function_var(reg_ty);
                self.cx.store(var, v)?;
                accs.push(var);
            }
            self.loop_below(1, subgroups, &mut |e, s| {
                let start = e.cx.op(Op::IMul, u, &[s, chunk_words])?;
                let start = e.region_word(region, start)?;
                for (j, &var) in accs.iter().enumerate() {
                    let at = e.word_after(start, j as u32)?;
                    let words = e.read_scratch(at, 1)?;
                    let v = e.words_register(Some(ty), &words)?;
                    let acc = e.cx.load(reg_ty, var)?;
                    let combined = e.reduce_combine(op, ty, acc, v)?;
                    e.cx.store(var, combined)?;
                }
                Ok(())
            })?;
            for var in accs {
                out.push(self.cx.load(reg_ty, var)?);
            }
        }
        // The next use of the scratch may overwrite the slots.
        self.barrier()?;
        Ok(out)
    }

    /// The u32 word index `offset` words after `base`.
    fn word_after(&mut self, base: Word, offset: u32) -> R<Word> {
        if offset == 0 {
            return Ok(base);
        }
        let u = self.cx.u32();
        let k = self.cx.const_u32(offset);
        self.cx.op(Op::IAdd, u, &[base, k])
    }

    /// Emits `for s in start..end { body(s) }` over u32 values as a structured loop, `end` a
    /// uniform value known only at run time.
    fn loop_below(
        &mut self,
        start: u32,
        end: Word,
        body: &mut dyn FnMut(&mut Self, Word) -> R<()>,
    ) -> R<()> {
        let u = self.cx.u32();
        let counter = self.cx.function_var(u);
        let first = self.cx.const_u32(start);
        self.cx.store(counter, first)?;
        let mut check = |e: &mut Self| {
            let bool_ty = e.cx.bool_ty();
            let s = e.cx.load(u, counter)?;
            e.cx.op(Op::ULessThan, bool_ty, &[s, end])
        };
        let mut run = |e: &mut Self| {
            let s = e.cx.load(u, counter)?;
            body(e, s)
        };
        let mut step = |e: &mut Self| {
            let s = e.cx.load(u, counter)?;
            let one = e.cx.const_u32(1);
            let next = e.cx.op(Op::IAdd, u, &[s, one])?;
            e.cx.store(counter, next)
        };
        self.structured_loop(&mut check, &mut run, &mut step)
    }

    /// `x` reduced over the active invocations of the subgroup with one `OpGroupNonUniform…`
    /// reduction. Float `max`/`min` propagate NaN like `reduce_combine`: the subgroup's
    /// reduction skips NaNs, so a second one (the largest bit pattern of the NaNs, 0 when there
    /// are none) brings back one of them.
    fn group_reduce(&mut self, op: ReduceOp, ty: ScalarType, x: Word) -> R<Word> {
        self.cx.capability(Capability::GroupNonUniform);
        self.cx.capability(Capability::GroupNonUniformArithmetic);
        self.cx.features.subgroup_arithmetic = true;
        let t = self.cx.compute_ty(ty);
        let scope = self.cx.const_u32(spirv::Scope::Subgroup as u32);
        let reduce = GroupOperation::Reduce;
        let b = &mut self.cx.b;
        use ReduceOp::*;
        let r = match (op, ty.is_float(), ty.is_signed_int()) {
            (Sum, true, _) => b.group_non_uniform_f_add(t, None, scope, reduce, x, None),
            (Prod, true, _) => b.group_non_uniform_f_mul(t, None, scope, reduce, x, None),
            (Max, true, _) => b.group_non_uniform_f_max(t, None, scope, reduce, x, None),
            (Min, true, _) => b.group_non_uniform_f_min(t, None, scope, reduce, x, None),
            (Sum, false, _) => b.group_non_uniform_i_add(t, None, scope, reduce, x, None),
            (Prod, false, _) => b.group_non_uniform_i_mul(t, None, scope, reduce, x, None),
            (Max, false, true) => b.group_non_uniform_s_max(t, None, scope, reduce, x, None),
            (Min, false, true) => b.group_non_uniform_s_min(t, None, scope, reduce, x, None),
            (Max, false, false) => b.group_non_uniform_u_max(t, None, scope, reduce, x, None),
            (Min, false, false) => b.group_non_uniform_u_min(t, None, scope, reduce, x, None),
        }
        .map_err(ice)?;
        if !(ty.is_float() && matches!(op, Max | Min)) {
            return Ok(r);
        }
        let u = self.cx.u32();
        let bool_ty = self.cx.bool_ty();
        let zero = self.cx.const_u32(0);
        let nan = self.cx.op(Op::IsNan, bool_ty, &[x])?;
        let bits = self.cx.op(Op::Bitcast, u, &[x])?;
        let nan_bits = self.cx.op(Op::Select, u, &[nan, bits, zero])?;
        let some_nan = self
            .cx
            .b
            .group_non_uniform_u_max(u, None, scope, reduce, nan_bits, None)
            .map_err(ice)?;
        let any = self.cx.op(Op::INotEqual, bool_ty, &[some_nan, zero])?;
        let nan_value = self.cx.op(Op::Bitcast, t, &[some_nan])?;
        self.cx.op(Op::Select, t, &[any, nan_value, r])
    }

    /// `x` of lane `lane` (the same for every invocation) of the subgroup.
    pub(crate) fn from_lane(&mut self, ty: ScalarType, x: Word, lane: u32) -> R<Word> {
        let lane = self.cx.const_u32(lane);
        self.shuffle(ty, x, Partner::Lane(lane))
    }

    /// `x` of the partner invocation in the subgroup.
    fn shuffle(&mut self, ty: ScalarType, x: Word, partner: Partner) -> R<Word> {
        self.cx.capability(Capability::GroupNonUniformShuffle);
        self.cx.features.subgroup_shuffle = true;
        let u = self.cx.u32();
        let scope = self.cx.const_u32(spirv::Scope::Subgroup as u32);
        let words = self.register_words(Some(ty), x)?;
        let mut theirs = Vec::with_capacity(words.len());
        for w in words {
            let b = &mut self.cx.b;
            theirs.push(
                match partner {
                    Partner::Xor(mask) => b.group_non_uniform_shuffle_xor(u, None, scope, w, mask),
                    Partner::Lane(lane) => b.group_non_uniform_shuffle(u, None, scope, w, lane),
                }
                .map_err(ice)?,
            );
        }
        self.words_register(Some(ty), &theirs)
    }
}

/// Which invocation a shuffle reads from: this lane's index xor a mask, or a lane index.
#[derive(Clone, Copy)]
enum Partner {
    Xor(Word),
    Lane(Word),
}
