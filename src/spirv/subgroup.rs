//! Work across the invocations of a workgroup that is exactly one subgroup (CPU devices run
//! workgroups of one subgroup, DESIGN.md §3): reductions combine through
//! `OpGroupNonUniformShuffleXor` butterflies, with no shared memory and no barrier. On lavapipe
//! a barrier suspends every invocation (a coroutine switch) and each shared-memory access is a
//! loop over the SIMD lanes, while a shuffle is a vector permute.
//!
//! The invocation index is the subgroup lane (`SubgroupLocalInvocationId`) so that the lanes a
//! shuffle pairs are the invocations the layout math expects.
use super::ctx::{ice, R};
use super::Emitter;
use crate::base::ScalarType;
use crate::ir::layout::Blocked;
use crate::ir::ReduceOp;
use spirv::{Capability, Op, Word};

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
        self.cx.capability(Capability::GroupNonUniformShuffle);
        self.cx.features.subgroup_shuffle = true;
        let u = self.cx.u32();
        let bool_ty = self.cx.bool_ty();
        let reg_ty = self.cx.compute_ty(ty);
        let scope = self.cx.const_u32(spirv::Scope::Subgroup as u32);
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
                let words = self.register_words(Some(ty), *v)?;
                let mut theirs = Vec::with_capacity(words.len());
                for w in words {
                    theirs.push(
                        self.cx
                            .b
                            .group_non_uniform_shuffle_xor(u, None, scope, w, m)
                            .map_err(ice)?,
                    );
                }
                let other = self.words_register(Some(ty), &theirs)?;
                let first = self.cx.op(Op::Select, reg_ty, &[lower, *v, other])?;
                let second = self.cx.op(Op::Select, reg_ty, &[lower, other, *v])?;
                *v = self.reduce_combine(op, ty, first, second)?;
            }
        }
        Ok(values)
    }
}
