//! Atomics: each element's read-modify-write is done once, by its primary copy (a scalar pointer:
//! invocation 0), relaxed and device scope. The old values then reach every copy through the
//! atomic's region of the workgroup scratch array (`Plan::Staged`; write by the primary copy,
//! barrier, read, barrier), so replicated layouts never repeat the side effect. Masked lanes give
//! 0; in safe mode out-of-bounds lanes are dropped and recorded like stores. f32 `add` uses
//! SPV_EXT_shader_atomic_float_add.
use super::ctx::{ice, R};
use super::memory::register_is_primary;
use super::{Emitter, Val};
use crate::abi;
use crate::base::{Diagnostic, ScalarType};
use crate::ir::{AtomicOp, InstId, Plan, ValueId};
use spirv::{Capability, Op, Word};

impl Emitter<'_> {
    pub(crate) fn atomic_inst(
        &mut self,
        id: InstId,
        op: AtomicOp,
        ptr: ValueId,
        value: ValueId,
        cmp: Option<ValueId>,
        mask: Option<ValueId>,
    ) -> R<Val> {
        let Val::Ptr { param, idx } = self.val(ptr)? else {
            return Err(Diagnostic::internal("atomic through a non-pointer"));
        };
        let region = match self.plan(id)? {
            Plan::Staged(region) => *region,
            other => return Err(super::shared::plan_mismatch(id, other)),
        };
        let layout = self.layout(ptr);
        let elem = self.scalar_type(id)?;
        let reg_ty = self.cx.compute_ty(elem);
        let values = self.regs(value)?;
        let cmps = match cmp {
            Some(c) => Some(self.regs(c)?),
            None => None,
        };
        let masks = match mask {
            Some(m) => Some(self.regs(m)?),
            None => None,
        };
        let buffer = self.buffer_of(param)?;
        let primary = self.thread_primary(&layout)?;
        let len = if self.options.safe {
            Some(self.array_length(param)?)
        } else {
            None
        };
        if elem == ScalarType::F32 {
            self.cx.capability(Capability::AtomicFloat32AddEXT);
            self.cx.extension("SPV_EXT_shader_atomic_float_add");
            self.cx.features.float_atomic_add = true;
        }
        let zero = self.cx.const_scalar(elem, 0, 0.0);
        let shape = self.kernel.ty(id).shape.clone();
        let u = self.cx.u32();
        let words = if elem.bytes() == 8 { 2 } else { 1 };
        let mut violations = Vec::new();
        self.barrier()?;
        for (r, &i) in idx.iter().enumerate() {
            if !register_is_primary(&layout, r as u32) {
                continue;
            }
            let m = masks.as_ref().map(|m| m[r]);
            let wanted = self.all(&m.into_iter().chain(primary).collect::<Vec<_>>())?;
            let cond = self.guarded_condition(wanted, len, i, &mut violations)?;
            let v = values[r];
            let c = cmps.as_ref().map(|c| c[r]);
            let old = match cond {
                None => self.atomic_element(op, elem, &buffer, i, v, c)?,
                Some(cond) => {
                    let header = self.current_label()?;
                    let then_label = self.cx.id();
                    let merge = self.cx.id();
                    self.cx
                        .b
                        .selection_merge(merge, spirv::SelectionControl::NONE)
                        .map_err(ice)?;
                    self.cx
                        .b
                        .branch_conditional(cond, then_label, merge, [])
                        .map_err(ice)?;
                    self.cx.begin_block(then_label)?;
                    let old = self.atomic_element(op, elem, &buffer, i, v, c)?;
                    let end = self.current_label()?;
                    self.cx.branch(merge)?;
                    self.cx.begin_block(merge)?;
                    self.cx
                        .b
                        .phi(reg_ty, None, [(old, end), (zero, header)])
                        .map_err(ice)?
                }
            };
            // The primary copy publishes the old value for every copy of the element.
            let coords = self.coords(&layout, r as u32)?;
            let at = self.linear_index(&coords, &shape)?;
            let wc = self.cx.const_u32(words);
            let base = self.cx.op(Op::IMul, u, &[at, wc])?;
            let base = self.region_word(region, base)?;
            let ws = self.register_words(Some(elem), old)?;
            match primary {
                None => self.write_scratch(base, &ws)?,
                Some(p) => self.guarded(p, &mut |e| e.write_scratch(base, &ws))?,
            }
        }
        self.record_violation(&violations, abi::STATUS_STORE_OOB, param)?;
        self.barrier()?;
        let mut out = Vec::new();
        for r in 0..layout.regs() {
            let coords = self.coords(&layout, r)?;
            let at = self.linear_index(&coords, &shape)?;
            let wc = self.cx.const_u32(words);
            let base = self.cx.op(Op::IMul, u, &[at, wc])?;
            let base = self.region_word(region, base)?;
            let ws = self.read_scratch(base, words)?;
            out.push(self.words_register(Some(elem), &ws)?);
        }
        self.barrier()?;
        Ok(Val::Regs(out))
    }

    /// One atomic on element `i` of `buffer`; returns the old value.
    fn atomic_element(
        &mut self,
        op: AtomicOp,
        elem: ScalarType,
        buffer: &super::Buffer,
        i: Word,
        v: Word,
        cmp: Option<Word>,
    ) -> R<Word> {
        let p = self.element_ptr(buffer, i)?;
        let ty = self.cx.compute_ty(elem);
        let scope = self.cx.const_u32(spirv::Scope::Device as u32);
        let relaxed = self.cx.const_u32(0);
        let signed = elem.is_signed_int();
        let b = &mut self.cx.b;
        let r = match op {
            AtomicOp::Add if elem == ScalarType::F32 => {
                b.atomic_f_add_ext(ty, None, p, scope, relaxed, v)
            }
            AtomicOp::Add => b.atomic_i_add(ty, None, p, scope, relaxed, v),
            AtomicOp::Max if signed => b.atomic_s_max(ty, None, p, scope, relaxed, v),
            AtomicOp::Max => b.atomic_u_max(ty, None, p, scope, relaxed, v),
            AtomicOp::Min if signed => b.atomic_s_min(ty, None, p, scope, relaxed, v),
            AtomicOp::Min => b.atomic_u_min(ty, None, p, scope, relaxed, v),
            AtomicOp::And => b.atomic_and(ty, None, p, scope, relaxed, v),
            AtomicOp::Or => b.atomic_or(ty, None, p, scope, relaxed, v),
            AtomicOp::Xor => b.atomic_xor(ty, None, p, scope, relaxed, v),
            AtomicOp::Xchg => b.atomic_exchange(ty, None, p, scope, relaxed, v),
            AtomicOp::Cas => {
                let c = cmp.ok_or_else(|| Diagnostic::internal("cas without cmp"))?;
                b.atomic_compare_exchange(ty, None, p, scope, relaxed, relaxed, v, c)
            }
        };
        r.map_err(ice)
    }
}
