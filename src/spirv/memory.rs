//! Pointers, loads and stores. A pointer value is (parameter, element index per register). Masked
//! loads are branch free (load from index 0 when masked off, then select `other`); masked stores
//! branch. In safe mode an index outside `[0, OpArrayLength)` loads 0 or drops the store and the
//! first violation is written to the status buffer, except for an access the schedule proved inside
//! its buffer under a launch contract (`AccessPlan::proven`), which the runtime checks once before
//! dispatch. Stores are done by the primary copy of each
//! element only (a scalar pointer: invocation 0). Where the access's plan gives a vector width
//! (`Plan::Access`: the axis analysis proved each group of registers consecutive and aligned),
//! the group is one vec2/vec4 access through a vector view of the same binding, with one branch
//! per vector when masked (a partial vector goes element-wise).
use super::ctx::{ice, R};
use super::{Emitter, Val};
use crate::abi;
use crate::base::{Diagnostic, ScalarType};
use crate::ir::schedule::AccessPlan;
use crate::ir::{InstId, Plan, ValueId};
use rspirv::dr::Operand;
use spirv::{Decoration, Op, StorageClass, Word};

impl Emitter<'_> {
    pub(crate) fn ptr_offset(&mut self, ptr: ValueId, offset: ValueId) -> R<Val> {
        let Val::Ptr { param, idx } = self.val(ptr)? else {
            return Err(Diagnostic::internal("ptr offset of a non-pointer"));
        };
        let off_ty = self.scalar_type(offset)?;
        let offs = self.window_regs(offset)?;
        let idx = &idx[self.span(idx.len())];
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
    /// The condition under which a side-effecting access at index `i` happens: `wanted` (its mask
    /// and primary copy) and, in safe mode (`len` given), being in bounds. A wanted access out of
    /// bounds is recorded in `violations` for the status buffer.
    pub(crate) fn guarded_condition(
        &mut self,
        wanted: Option<Word>,
        len: Option<Word>,
        i: Word,
        violations: &mut Vec<(Word, Word)>,
    ) -> R<Option<Word>> {
        let bool_ty = self.cx.bool_ty();
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
        self.all(&wanted.into_iter().chain(inb).collect::<Vec<_>>())
    }

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
            .access_chain(buffer.elem_ptr, buffer.var, &[zero, idx])
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

    /// The element count of pointer parameter `param`'s buffer: `OpArrayLength`, or 0 when the
    /// launch's header marks the buffer empty (an empty argument is bound to a small buffer,
    /// since Vulkan has none of size 0).
    pub(crate) fn array_length(&mut self, param: u32) -> R<Word> {
        // Within a stream, the first pass's length serves the later passes.
        if let Some(&length) = self.lengths.get(&param) {
            return Ok(length);
        }
        let length = self.buffer_length(param)?;
        if self.window.is_some() {
            self.lengths.insert(param, length);
        }
        Ok(length)
    }

    fn buffer_length(&mut self, param: u32) -> R<Word> {
        let buffer = self.buffer_of(param)?;
        let u = self.cx.u32();
        let length = self
            .cx
            .b
            .array_length(u, None, buffer.var, 0)
            .map_err(ice)?;
        let Some(binding) = self
            .abi_buffers
            .iter()
            .find(|b| b.param_index == param)
            .map(|b| b.binding)
            .filter(|&b| b < abi::PUSH_EMPTY_BUFFER_BITS)
        else {
            return Ok(length);
        };
        // Header members 5 and 6 are the words at PUSH_EMPTY_BUFFERS and the one after.
        let bits = self.push_member(5 + binding / 32, u)?;
        let bit = self.cx.const_u32(1 << (binding % 32));
        let masked = self.cx.op(Op::BitwiseAnd, u, &[bits, bit])?;
        let zero = self.cx.const_u32(0);
        let bool_ty = self.cx.bool_ty();
        let present = self.cx.op(Op::IEqual, bool_ty, &[masked, zero])?;
        self.cx.op(Op::Select, u, &[present, length, zero])
    }

    /// How load or store `id` accesses its buffer: its plan, with one element per access when
    /// vector views are off (portable output).
    fn access_plan(&self, id: InstId, registers: usize) -> R<AccessPlan> {
        let plan = match self.plan(id)? {
            Plan::Access(access) => *access,
            other => return Err(super::shared::plan_mismatch(id, other)),
        };
        if !self.options.vector_views || plan.vector == 1 {
            return Ok(AccessPlan {
                proven: plan.proven,
                other_unobserved: plan.other_unobserved,
                ..AccessPlan::scalar()
            });
        }
        if !registers.is_multiple_of(plan.vector as usize) {
            return Err(Diagnostic::internal(format!(
                "%{}: {registers} registers in vectors of {}",
                id.index(),
                plan.vector
            )));
        }
        Ok(plan)
    }

    /// The condition under which a group starting at index `first` goes as one vector: `wanted`
    /// (every element's mask and bounds), and, when the plan has not proven it, the index being
    /// a multiple of `width` at run time.
    fn whole_vector_condition(
        &mut self,
        plan: &AccessPlan,
        wanted: &[Word],
        first: Word,
    ) -> R<Option<Word>> {
        let mut conds = wanted.to_vec();
        if !plan.aligned {
            let idx_ty = self.idx_ty();
            let bool_ty = self.cx.bool_ty();
            let low = self
                .cx
                .const_bits(idx_ty, plan.vector as u64 - 1, self.idx64);
            let zero = self.cx.const_bits(idx_ty, 0, self.idx64);
            let rest = self.cx.op(Op::BitwiseAnd, idx_ty, &[first, low])?;
            conds.push(self.cx.op(Op::IEqual, bool_ty, &[rest, zero])?);
        }
        self.all(&conds)
    }

    /// Emits `if cond { then() } else { otherwise() }` where both produce as many values of
    /// type `ty` (none for stores), and returns the values through phis.
    fn select_paths(
        &mut self,
        cond: Word,
        ty: Word,
        then: &mut dyn FnMut(&mut Self) -> R<Vec<Word>>,
        otherwise: &mut dyn FnMut(&mut Self) -> R<Vec<Word>>,
    ) -> R<Vec<Word>> {
        let then_label = self.cx.id();
        let else_label = self.cx.id();
        let merge = self.cx.id();
        self.cx
            .b
            .selection_merge(merge, spirv::SelectionControl::NONE)
            .map_err(ice)?;
        self.cx
            .b
            .branch_conditional(cond, then_label, else_label, [])
            .map_err(ice)?;
        self.cx.begin_block(then_label)?;
        let a = then(self)?;
        let then_end = self.current_label()?;
        self.cx.branch(merge)?;
        self.cx.begin_block(else_label)?;
        let b = otherwise(self)?;
        let else_end = self.current_label()?;
        self.cx.branch(merge)?;
        self.cx.begin_block(merge)?;
        a.into_iter()
            .zip(b)
            .map(|(x, y)| {
                self.cx
                    .b
                    .phi(ty, None, [(x, then_end), (y, else_end)])
                    .map_err(ice)
            })
            .collect()
    }

    /// The vec`width` view of a pointer parameter's buffer: a second variable at the same
    /// binding whose runtime array has `width`-element vectors.
    fn vector_view(&mut self, param: u32, width: u32) -> R<super::Buffer> {
        if let Some(view) = self.vector_views.get(&(param, width)) {
            return Ok(view.clone());
        }
        let scalar = self.buffer_of(param)?;
        let binding = self
            .abi_buffers
            .iter()
            .find(|b| b.param_index == param)
            .ok_or_else(|| Diagnostic::internal("vector view of a parameter without a binding"))?;
        let (binding, writable) = (binding.binding, binding.writable);
        let (vec_ty, unpacked_ty) = if self.packed_views {
            // Up to four elements bitcast as one vector; eight (no 8-element vectors in
            // shaders) as a pair per 64-bit component.
            let u64_ty = self.cx.int(64, false);
            let lanes = self.cx.vector(scalar.storage_ty, width.min(4));
            let pair = self.cx.vector(scalar.storage_ty, 2);
            match width {
                2 => (u64_ty, Some(lanes)),
                4 => (self.cx.vector(u64_ty, 2), Some(lanes)),
                8 => (self.cx.vector(u64_ty, 4), Some(pair)),
                _ => return Err(Diagnostic::internal(format!("a view of {width} elements"))),
            }
        } else if width <= 4 {
            (self.cx.vector(scalar.storage_ty, width), None)
        } else {
            return Err(Diagnostic::internal(format!(
                "a view of {width} elements without 64-bit components"
            )));
        };
        let arr = self.cx.b.type_runtime_array(vec_ty);
        let st = self.cx.b.type_struct([arr]);
        if self.view_types_decorated.insert(arr) {
            let stride = scalar.elem.bytes() * width;
            self.cx.b.decorate(
                arr,
                Decoration::ArrayStride,
                [Operand::LiteralBit32(stride)],
            );
        }
        if self.view_types_decorated.insert(st) {
            self.cx.b.decorate(st, Decoration::Block, []);
            self.cx
                .b
                .member_decorate(st, 0, Decoration::Offset, [Operand::LiteralBit32(0)]);
        }
        let ptr = self.cx.pointer(StorageClass::StorageBuffer, st);
        // Made during the body, so placed among the globals by hand (rspirv's `variable` would
        // put it in the current block).
        let var = self.cx.id();
        self.cx
            .b
            .module_mut()
            .types_global_values
            .push(rspirv::dr::Instruction::new(
                Op::Variable,
                Some(ptr),
                Some(var),
                vec![Operand::StorageClass(StorageClass::StorageBuffer)],
            ));
        self.cx
            .b
            .decorate(var, Decoration::DescriptorSet, [Operand::LiteralBit32(0)]);
        self.cx
            .b
            .decorate(var, Decoration::Binding, [Operand::LiteralBit32(binding)]);
        if writable {
            // Both views of a written buffer may touch the same memory.
            self.cx.b.decorate(var, Decoration::Aliased, []);
            self.cx.b.decorate(scalar.var, Decoration::Aliased, []);
        } else {
            self.cx.b.decorate(var, Decoration::NonWritable, []);
        }
        let elem_ptr = self.cx.pointer(StorageClass::StorageBuffer, vec_ty);
        let view = super::Buffer {
            var,
            elem: scalar.elem,
            elem_ptr,
            storage_ty: vec_ty,
            unpacked_ty,
        };
        self.vector_views.insert((param, width), view.clone());
        Ok(view)
    }

    /// The `width` elements of vector `v` loaded through `view`, as registers of type `reg_ty`.
    fn unpack_vector(
        &mut self,
        view: &super::Buffer,
        v: Word,
        width: u32,
        reg_ty: Word,
    ) -> R<Vec<Word>> {
        let extract = |e: &mut Self, from: Word, count: u32| -> R<Vec<Word>> {
            (0..count)
                .map(|k| {
                    e.cx.b
                        .composite_extract(reg_ty, None, from, [k])
                        .map_err(ice)
                })
                .collect()
        };
        match view.unpacked_ty {
            None => extract(self, v, width),
            Some(lanes) if width <= 4 => {
                let lanes = self.cx.op(Op::Bitcast, lanes, &[v])?;
                extract(self, lanes, width)
            }
            // A pair of elements per 64-bit component.
            Some(pair) => {
                let u64_ty = self.cx.int(64, false);
                let mut out = Vec::with_capacity(width as usize);
                for c in 0..width / 2 {
                    let component = self
                        .cx
                        .b
                        .composite_extract(u64_ty, None, v, [c])
                        .map_err(ice)?;
                    let two = self.cx.op(Op::Bitcast, pair, &[component])?;
                    out.extend(extract(self, two, 2)?);
                }
                Ok(out)
            }
        }
    }

    /// The vector of `view` holding the registers `parts`, to store.
    fn pack_vector(&mut self, view: &super::Buffer, parts: &[Word]) -> R<Word> {
        let construct = |e: &mut Self, ty: Word, parts: Vec<Word>| {
            e.cx.b.composite_construct(ty, None, parts).map_err(ice)
        };
        match view.unpacked_ty {
            None => construct(self, view.storage_ty, parts.to_vec()),
            Some(lanes) if parts.len() <= 4 => {
                let lanes = construct(self, lanes, parts.to_vec())?;
                self.cx.op(Op::Bitcast, view.storage_ty, &[lanes])
            }
            Some(pair) => {
                let u64_ty = self.cx.int(64, false);
                let mut components = Vec::with_capacity(parts.len() / 2);
                for two in parts.chunks(2) {
                    let two = construct(self, pair, two.to_vec())?;
                    components.push(self.cx.op(Op::Bitcast, u64_ty, &[two])?);
                }
                construct(self, view.storage_ty, components)
            }
        }
    }

    /// The vector index of an element index divisible by `width`.
    fn vector_index(&mut self, idx: Word, width: u32) -> R<Word> {
        let idx_ty = self.idx_ty();
        let shift = self
            .cx
            .const_bits(idx_ty, width.trailing_zeros() as u64, self.idx64);
        self.cx.op(Op::ShiftRightArithmetic, idx_ty, &[idx, shift])
    }

    /// `cond ? idx : 0`: an index that is safe to access whatever `cond` (every buffer holds at
    /// least one element).
    fn safe_index(&mut self, cond: Word, idx: Word) -> R<Word> {
        let idx_ty = self.idx_ty();
        let zero = self.cx.const_bits(idx_ty, 0, self.idx64);
        self.cx.op(Op::Select, idx_ty, &[cond, idx, zero])
    }

    /// One element, masked without a branch: load from a safe index, then select `other`.
    fn masked_element(
        &mut self,
        buffer: &super::Buffer,
        cond: Option<Word>,
        idx: Word,
        other: Word,
        reg_ty: Word,
    ) -> R<Word> {
        match cond {
            None => self.load_element(buffer, idx),
            Some(c) => {
                let at = self.safe_index(c, idx)?;
                let v = self.load_element(buffer, at)?;
                self.cx.op(Op::Select, reg_ty, &[c, v, other])
            }
        }
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
        // Within a stream only the window's registers (`span`).
        let idx = idx[self.span(idx.len())].to_vec();
        let masks = match mask {
            Some(m) => Some(self.window_regs(m)?),
            None => None,
        };
        let others = match other {
            Some(o) => self.window_regs(o)?,
            None => {
                let z = self.cx.const_scalar(elem, 0, 0.0);
                vec![z; idx.len()]
            }
        };
        let safe = self.options.safe;
        let plan = self.access_plan(id, idx.len())?;
        // A proven access is checked once per launch by its contract, not here.
        let len = if plan.checked(safe) {
            Some(self.array_length(param)?)
        } else {
            None
        };
        let width = plan.vector as usize;
        let one_condition = width > 1 && plan.one_condition(safe);
        // Per register: the condition under which it really loads (mask and bounds), `None`
        // for an unconditional load. With one condition per group only the groups' first
        // registers need one.
        let mut conds = vec![None; idx.len()];
        let mut violations = Vec::new();
        for (r, &i) in idx.iter().enumerate() {
            if one_condition && r % width != 0 {
                continue;
            }
            let m = masks.as_ref().map(|m| m[r]);
            conds[r] = self.guarded_condition(m, len, i, &mut violations)?;
        }
        let mut out = Vec::new();
        if width == 1 {
            for (r, &i) in idx.iter().enumerate() {
                out.push(self.masked_element(&buffer, conds[r], i, others[r], reg_ty)?);
            }
        } else {
            let view = self.vector_view(param, width as u32)?;
            let vec_ty = view.storage_ty;
            for group in 0..idx.len() / width {
                let range = group * width..(group + 1) * width;
                let vi = self.vector_index(idx[range.start], width as u32)?;
                // The group's vector, or the one at another index.
                let load_at = |e: &mut Self, at: Word| -> R<Vec<Word>> {
                    let p = e.element_ptr(&view, at)?;
                    let v = e.cx.load(vec_ty, p)?;
                    e.unpack_vector(&view, v, width as u32, reg_ty)
                };
                let load_vector = |e: &mut Self| load_at(e, vi);
                let others = others[range.clone()].to_vec();
                if one_condition {
                    // Every element of the group is wanted or none is.
                    match conds[range.start] {
                        None => out.extend(load_vector(self)?),
                        // Without a branch: a group that loads nothing reads the buffer's first
                        // vector and keeps `other` (a CPU device runs both sides of a branch).
                        Some(c) if plan.whole_vectors => {
                            let at = self.safe_index(c, vi)?;
                            if plan.other_unobserved {
                                out.extend(load_at(self, at)?);
                                continue;
                            }
                            for (k, x) in load_at(self, at)?.into_iter().enumerate() {
                                out.push(self.cx.op(Op::Select, reg_ty, &[c, x, others[k]])?);
                            }
                        }
                        Some(c) => out.extend(self.select_paths(
                            c,
                            reg_ty,
                            &mut |e| load_vector(e),
                            &mut |_| Ok(others.clone()),
                        )?),
                    }
                    continue;
                }
                let wanted: Vec<Word> = conds[range.clone()].iter().flatten().copied().collect();
                match self.whole_vector_condition(&plan, &wanted, idx[range.start])? {
                    None => out.extend(load_vector(self)?),
                    // One branch per vector: whole vectors load at once, a partial or
                    // unaligned one element by element.
                    Some(all) => {
                        let buffer = buffer.clone();
                        let (idx, conds) = (&idx, &conds);
                        out.extend(self.select_paths(
                            all,
                            reg_ty,
                            &mut |e| load_vector(e),
                            &mut |e| {
                                range
                                    .clone()
                                    .map(|r| {
                                        e.masked_element(
                                            &buffer,
                                            conds[r],
                                            idx[r],
                                            others[r - range.start],
                                            reg_ty,
                                        )
                                    })
                                    .collect()
                            },
                        )?);
                    }
                }
            }
        }
        self.record_violation(&violations, abi::STATUS_LOAD_OOB, param)?;
        Ok(Val::Regs(out))
    }

    pub(crate) fn store_inst(
        &mut self,
        id: InstId,
        ptr: ValueId,
        value: ValueId,
        mask: Option<ValueId>,
    ) -> R<()> {
        let Val::Ptr { param, idx } = self.val(ptr)? else {
            return Err(Diagnostic::internal("store through a non-pointer"));
        };
        let layout = self.layout(ptr);
        // Within a stream only the window's registers (`span`), from register `first` on.
        let window = self.span(idx.len());
        let first = window.start;
        let idx = idx[window].to_vec();
        let values = self.window_regs(value)?;
        let buffer = self.buffer_of(param)?;
        let masks = match mask {
            Some(m) => Some(self.window_regs(m)?),
            None => None,
        };
        let primary = self.thread_primary(&layout)?;
        let plan = self.access_plan(id, idx.len())?;
        let len = if plan.checked(self.options.safe) {
            Some(self.array_length(param)?)
        } else {
            None
        };
        let width = plan.vector as usize;
        let one_condition = width > 1 && plan.one_condition(self.options.safe);
        // A group whose registers all hold their element's first copy; only those may go as
        // one vector.
        let primary_register = |r: usize| register_is_primary(&layout, (first + r) as u32);
        let whole_group = |r: usize| {
            let start = r - r % width;
            (start..start + width).all(primary_register)
        };
        let mut violations = Vec::new();
        // Per register: `None` when it never stores, else the condition under which it does.
        // With one condition per group only the first register of a group of primary
        // registers needs one.
        let mut conds: Vec<Option<Option<Word>>> = Vec::new();
        for (r, &i) in idx.iter().enumerate() {
            // Registers repeating an earlier register's element never store.
            if !primary_register(r) || (one_condition && r % width != 0 && whole_group(r)) {
                conds.push(None);
                continue;
            }
            let m = masks.as_ref().map(|m| m[r]);
            let wanted = self.all(&m.into_iter().chain(primary).collect::<Vec<_>>())?;
            conds.push(Some(self.guarded_condition(
                wanted,
                len,
                i,
                &mut violations,
            )?));
        }
        let store_elements = |e: &mut Self, range: std::ops::Range<usize>| -> R<()> {
            for r in range {
                let Some(cond) = conds[r] else { continue };
                let (i, v) = (idx[r], values[r]);
                let buf = buffer.clone();
                match cond {
                    None => e.store_element(&buffer, i, v)?,
                    Some(c) => e.guarded(c, &mut |e| e.store_element(&buf, i, v))?,
                }
            }
            Ok(())
        };
        if width == 1 {
            store_elements(self, 0..idx.len())?;
        } else {
            let view = self.vector_view(param, width as u32)?;
            for group in 0..idx.len() / width {
                let range = group * width..(group + 1) * width;
                if !whole_group(range.start) {
                    store_elements(self, range)?;
                    continue;
                }
                let vi = self.vector_index(idx[range.start], width as u32)?;
                let vector = self.pack_vector(&view, &values[range.clone()])?;
                let view = view.clone();
                let mut store_vector = |e: &mut Self| -> R<()> {
                    let p = e.element_ptr(&view, vi)?;
                    e.cx.store(p, vector)
                };
                if one_condition {
                    // Every element of the group is wanted or none is.
                    match conds[range.start].flatten() {
                        None => store_vector(self)?,
                        Some(c) => self.guarded(c, &mut store_vector)?,
                    }
                    continue;
                }
                let wanted: Vec<Word> = conds[range.clone()]
                    .iter()
                    .flatten()
                    .flatten()
                    .copied()
                    .collect();
                match self.whole_vector_condition(&plan, &wanted, idx[range.start])? {
                    None => store_vector(self)?,
                    Some(all) => {
                        // One branch per vector; a partial or unaligned vector stores element
                        // by element.
                        let u = self.cx.u32();
                        self.select_paths(
                            all,
                            u,
                            &mut |e| store_vector(e).map(|()| Vec::new()),
                            &mut |e| store_elements(e, range.clone()).map(|()| Vec::new()),
                        )?;
                    }
                }
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

    /// `device_assert(cond, message)` in safe mode: every register whose condition is false is a
    /// violation at its element's row-major index in the tile, recorded like an out-of-bounds
    /// access with the assert's index into `Abi::asserts`. The program goes on (a workgroup cannot
    /// stop some invocations and not others before a barrier); the runtime reports the failure.
    /// With `--unchecked` nothing is emitted.
    pub(crate) fn assert_inst(&mut self, id: InstId, cond: ValueId, message: &str) -> R<()> {
        if self.status.is_none() {
            return Ok(());
        }
        let layout = self.layout(cond);
        let shape = self.kernel.ty(cond).shape.clone();
        let regs = self.regs(cond)?;
        let bool_ty = self.cx.bool_ty();
        let idx_ty = self.idx_ty();
        let mut violations = Vec::new();
        for (r, &c) in regs.iter().enumerate() {
            let bad = self.cx.op(Op::LogicalNot, bool_ty, &[c])?;
            let at = if shape.is_empty() {
                self.cx.const_bits(idx_ty, 0, self.idx64)
            } else {
                let coords = self.coords(&layout, r as u32)?;
                let at = self.linear_index(&coords, &shape)?;
                if self.idx64 {
                    self.cx.uconvert(64, true, at)?
                } else {
                    self.cx.op(Op::Bitcast, idx_ty, &[at])?
                }
            };
            violations.push((bad, at));
        }
        let site = self.asserts.len() as u32;
        self.asserts.push(abi::AssertSite {
            message: message.to_string(),
            span: self.kernel.span(id),
            tile: !shape.is_empty(),
        });
        self.record_violation(&violations, abi::STATUS_ASSERT, site)
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
        // Within a stream, every pass's violations are recorded once, after the last.
        if let Some(deferred) = self.deferred.as_mut() {
            let at = self.stream_position;
            match deferred.iter_mut().find(|(p, ..)| *p == at) {
                Some((_, _, _, list)) => list.extend_from_slice(violations),
                None => deferred.push((at, kind, param, violations.to_vec())),
            }
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
