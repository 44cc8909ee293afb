//! Pointers, loads and stores. A pointer value is (parameter, element index per register). Masked
//! lanes skip the access; in safe mode an index outside `[0, OpArrayLength)` loads 0 or drops the
//! store and the first violation is written to the status buffer. Stores are done by the primary
//! copy of each element only (a scalar pointer: invocation 0).
use super::ctx::{ice, R};
use super::{Emitter, Val};
use crate::abi;
use crate::base::{Diagnostic, ScalarType};
use crate::ir::{InstId, ValueId};
use spirv::{Op, Word};

impl Emitter<'_> {
    pub(crate) fn ptr_offset(&mut self, ptr: ValueId, offset: ValueId) -> R<Val> {
        let Val::Ptr { param, idx } = self.val(ptr)? else {
            return Err(Diagnostic::internal("ptr offset of a non-pointer"));
        };
        let off_ty = self.scalar_type(offset)?;
        let offs = self.regs(offset)?;
        let idx_ty = self.idx_ty();
        let width = if self.idx64 { 64 } else { 32 };
        let mut out = Vec::new();
        for (i, o) in idx.iter().zip(offs) {
            let o = if off_ty.bits() == width {
                if off_ty.is_signed_int() {
                    o
                } else {
                    self.cx.op(Op::Bitcast, idx_ty, &[o])?
                }
            } else if off_ty.is_signed_int() {
                self.cx.op(Op::SConvert, idx_ty, &[o])?
            } else {
                self.cx.uconvert(width, true, o)?
            };
            out.push(self.cx.op(Op::IAdd, idx_ty, &[*i, o])?);
        }
        Ok(Val::Ptr { param, idx: out })
    }

    /// `index < OpArrayLength` (unsigned, so negative indices fail too).
    pub(crate) fn in_bounds(&mut self, len: Word, idx: Word) -> R<Word> {
        let bool_ty = self.cx.bool_ty();
        if self.idx64 {
            let u64t = self.cx.int(64, false);
            let i = self.cx.op(Op::Bitcast, u64t, &[idx])?;
            let l = self.cx.op(Op::UConvert, u64t, &[len])?;
            self.cx.op(Op::ULessThan, bool_ty, &[i, l])
        } else {
            let u = self.cx.u32();
            let i = self.cx.op(Op::Bitcast, u, &[idx])?;
            self.cx.op(Op::ULessThan, bool_ty, &[i, len])
        }
    }

    /// Emits `if cond { f() }` as a structured selection.
    pub(crate) fn guarded(&mut self, cond: Word, f: &mut dyn FnMut(&mut Self) -> R<()>) -> R<()> {
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
        f(self)?;
        self.cx.branch(merge)?;
        self.cx.begin_block(merge)?;
        Ok(())
    }

    pub(crate) fn buffer_of(&self, param: u32) -> R<super::Buffer> {
        self.buffers
            .get(&param)
            .cloned()
            .ok_or_else(|| Diagnostic::internal("pointer to a parameter without a buffer"))
    }

    pub(crate) fn element_ptr(&mut self, buffer: &super::Buffer, idx: Word) -> R<Word> {
        let zero = self.cx.const_u32(0);
        self.cx
            .b
            .access_chain(buffer.elem_ptr, None, buffer.var, [zero, idx])
            .map_err(ice)
    }

    /// Loads one element and converts it to its register type.
    fn load_element(&mut self, buffer: &super::Buffer, idx: Word) -> R<Word> {
        let p = self.element_ptr(buffer, idx)?;
        let raw = self.cx.load(buffer.storage_ty, p)?;
        match buffer.elem {
            ScalarType::Bool => {
                let bool_ty = self.cx.bool_ty();
                let zero = self.cx.const_u32(0);
                self.cx.op(Op::INotEqual, bool_ty, &[raw, zero])
            }
            ScalarType::BF16 => {
                let u = self.cx.u32();
                let f = self.cx.f32();
                let wide = self.cx.op(Op::UConvert, u, &[raw])?;
                let sixteen = self.cx.const_u32(16);
                let s = self.cx.op(Op::ShiftLeftLogical, u, &[wide, sixteen])?;
                self.cx.op(Op::Bitcast, f, &[s])
            }
            _ => Ok(raw),
        }
    }

    fn store_element(&mut self, buffer: &super::Buffer, idx: Word, value: Word) -> R<()> {
        let raw = match buffer.elem {
            ScalarType::Bool => {
                let u = self.cx.u32();
                let one = self.cx.const_u32(1);
                let zero = self.cx.const_u32(0);
                self.cx.op(Op::Select, u, &[value, one, zero])?
            }
            ScalarType::BF16 => {
                let bits = self.bf16_bits_u32(value)?;
                self.cx.op(Op::UConvert, buffer.storage_ty, &[bits])?
            }
            _ => value,
        };
        let p = self.element_ptr(buffer, idx)?;
        self.cx.store(p, raw)
    }

    pub(crate) fn array_length(&mut self, buffer: &super::Buffer) -> R<Word> {
        let u = self.cx.u32();
        self.cx.b.array_length(u, None, buffer.var, 0).map_err(ice)
    }

    pub(crate) fn load_inst(
        &mut self,
        ptr: ValueId,
        mask: Option<ValueId>,
        other: Option<ValueId>,
        id: InstId,
    ) -> R<Val> {
        let Val::Ptr { param, idx } = self.val(ptr)? else {
            return Err(Diagnostic::internal("load through a non-pointer"));
        };
        let elem = self.scalar_type(id)?;
        let reg_ty = self.cx.compute_ty(elem);
        let buffer = self.buffer_of(param)?;
        let masks = match mask {
            Some(m) => Some(self.regs(m)?),
            None => None,
        };
        let others = match other {
            Some(o) => self.regs(o)?,
            None => {
                let z = self.cx.const_scalar(elem, 0, 0.0);
                vec![z; idx.len()]
            }
        };
        let safe = self.options.safe;
        let len = if safe {
            Some(self.array_length(&buffer)?)
        } else {
            None
        };
        let bool_ty = self.cx.bool_ty();
        let mut out = Vec::new();
        let mut violations = Vec::new();
        for (r, &i) in idx.iter().enumerate() {
            let m = masks.as_ref().map(|m| m[r]);
            let inb = match len {
                Some(l) => Some(self.in_bounds(l, i)?),
                None => None,
            };
            if let Some(inb) = inb {
                let bad = self.cx.op(Op::LogicalNot, bool_ty, &[inb])?;
                let bad = match m {
                    Some(m) => self.cx.op(Op::LogicalAnd, bool_ty, &[m, bad])?,
                    None => bad,
                };
                violations.push((bad, i));
            }
            let cond = self.all(&m.into_iter().chain(inb).collect::<Vec<_>>())?;
            let v = match cond {
                None => self.load_element(&buffer, i)?,
                Some(c) => {
                    let header = self.current_label()?;
                    let then_label = self.cx.id();
                    let merge = self.cx.id();
                    self.cx
                        .b
                        .selection_merge(merge, spirv::SelectionControl::NONE)
                        .map_err(ice)?;
                    self.cx
                        .b
                        .branch_conditional(c, then_label, merge, [])
                        .map_err(ice)?;
                    self.cx.begin_block(then_label)?;
                    let loaded = self.load_element(&buffer, i)?;
                    let end = self.current_label()?;
                    self.cx.branch(merge)?;
                    self.cx.begin_block(merge)?;
                    self.cx
                        .b
                        .phi(reg_ty, None, [(loaded, end), (others[r], header)])
                        .map_err(ice)?
                }
            };
            out.push(v);
        }
        self.record_violation(&violations, abi::STATUS_LOAD_OOB, param)?;
        Ok(Val::Regs(out))
    }

    pub(crate) fn store_inst(
        &mut self,
        ptr: ValueId,
        value: ValueId,
        mask: Option<ValueId>,
    ) -> R<()> {
        let Val::Ptr { param, idx } = self.val(ptr)? else {
            return Err(Diagnostic::internal("store through a non-pointer"));
        };
        let layout = self.layout(ptr);
        let values = self.regs(value)?;
        let buffer = self.buffer_of(param)?;
        let masks = match mask {
            Some(m) => Some(self.regs(m)?),
            None => None,
        };
        let primary = self.thread_primary(&layout)?;
        let len = if self.options.safe {
            Some(self.array_length(&buffer)?)
        } else {
            None
        };
        let bool_ty = self.cx.bool_ty();
        let mut violations = Vec::new();
        for (r, &i) in idx.iter().enumerate() {
            // Registers repeating an earlier register's element never store.
            if !register_is_primary(&layout, r as u32) {
                continue;
            }
            let m = masks.as_ref().map(|m| m[r]);
            let wanted = self.all(&m.into_iter().chain(primary).collect::<Vec<_>>())?;
            let inb = match len {
                Some(l) => Some(self.in_bounds(l, i)?),
                None => None,
            };
            if let Some(inb) = inb {
                let bad = self.cx.op(Op::LogicalNot, bool_ty, &[inb])?;
                let bad = match wanted {
                    Some(w) => self.cx.op(Op::LogicalAnd, bool_ty, &[w, bad])?,
                    None => bad,
                };
                violations.push((bad, i));
            }
            let cond = self.all(&wanted.into_iter().chain(inb).collect::<Vec<_>>())?;
            let v = values[r];
            let buf = buffer.clone();
            match cond {
                None => self.store_element(&buffer, i, v)?,
                Some(c) => self.guarded(c, &mut |e| e.store_element(&buf, i, v))?,
            }
        }
        self.record_violation(&violations, abi::STATUS_STORE_OOB, param)
    }

    pub(crate) fn current_label(&self) -> R<Word> {
        let f = self
            .cx
            .b
            .selected_function()
            .ok_or_else(|| Diagnostic::internal("no function"))?;
        let b = self
            .cx
            .b
            .selected_block()
            .ok_or_else(|| Diagnostic::internal("no block"))?;
        self.cx.b.module_ref().functions[f].blocks[b]
            .label_id()
            .ok_or_else(|| Diagnostic::internal("block without a label"))
    }

    /// Safe mode: when any of `violations` holds, records the first (kind, parameter, index,
    /// program) in the status buffer unless an earlier violation was recorded.
    pub(crate) fn record_violation(
        &mut self,
        violations: &[(Word, Word)],
        kind: u32,
        param: u32,
    ) -> R<()> {
        let Some(status) = self.status.clone() else {
            return Ok(());
        };
        if violations.is_empty() {
            return Ok(());
        }
        let bool_ty = self.cx.bool_ty();
        let idx_ty = self.idx_ty();
        // The first violating register's index: a select chain from the last register back.
        let (mut any, mut first) = *violations.last().unwrap();
        for &(bad, i) in violations.iter().rev().skip(1) {
            first = self.cx.op(Op::Select, idx_ty, &[bad, i, first])?;
            any = self.cx.op(Op::LogicalOr, bool_ty, &[bad, any])?;
        }
        let u = self.cx.u32();
        let (lo, hi) = if self.idx64 {
            let u64t = self.cx.int(64, false);
            let bits = self.cx.op(Op::Bitcast, u64t, &[first])?;
            let lo = self.cx.op(Op::UConvert, u, &[bits])?;
            let c32 = self.cx.const_int(64, false, 32);
            let h = self.cx.op(Op::ShiftRightLogical, u64t, &[bits, c32])?;
            (lo, self.cx.op(Op::UConvert, u, &[h])?)
        } else {
            let lo = self.cx.op(Op::Bitcast, u, &[first])?;
            let zero = self.cx.const_i32(0);
            let neg = self.cx.op(Op::SLessThan, bool_ty, &[first, zero])?;
            let ones = self.cx.const_u32(u32::MAX);
            let zu = self.cx.const_u32(0);
            (lo, self.cx.op(Op::Select, u, &[neg, ones, zu])?)
        };
        let linear = self.linear;
        let words = [
            self.cx.const_u32(kind),
            self.cx.const_u32(param),
            lo,
            hi,
            linear,
        ];
        self.guarded(any, &mut |e| {
            let zero = e.cx.const_u32(0);
            let one = e.cx.const_u32(1);
            let device = e.cx.const_u32(spirv::Scope::Device as u32);
            let relaxed = e.cx.const_u32(0);
            let p0 = e.element_ptr(&status, zero)?;
            let old =
                e.cx.b
                    .atomic_compare_exchange(u, None, p0, device, relaxed, relaxed, one, zero)
                    .map_err(ice)?;
            let bool_ty = e.cx.bool_ty();
            let won = e.cx.op(Op::IEqual, bool_ty, &[old, zero])?;
            let status = status.clone();
            e.guarded(won, &mut |e| {
                for (k, &w) in words.iter().enumerate() {
                    let at = e.cx.const_u32(k as u32 + 1);
                    let p = e.element_ptr(&status, at)?;
                    e.cx.store(p, w)?;
                }
                Ok(())
            })
        })?;
        Ok(())
    }
}

/// Compile-time part of "primary copy": register `r` is the first of its invocation holding its
/// element.
pub(crate) fn register_is_primary(layout: &crate::ir::Layout, r: u32) -> bool {
    let Some(b) = layout.base() else {
        return true;
    };
    let idx = layout.register_indices(r);
    layout
        .parent_dims()
        .iter()
        .zip(idx)
        .all(|(&d, r_d)| b.is_primary_register(d, r_d))
}
