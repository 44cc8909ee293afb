//! Emission of regions and instructions: sources, shapes, locals and structured control flow.
//! Elementwise math lives in `math`, memory in `memory`, cross-invocation work in `shared`.
use super::ctx::{ice, R};
use super::{Emitter, LoopLabels, Val};
use crate::base::{Diagnostic, Literal, ScalarType};
use crate::ir::layout::{local_map, Projection};
use crate::ir::schedule::{streamable, ConvertPlan, DotPlan, Streamable};
use crate::ir::{Elem, InstId, InstKind, Layout, Plan, Region, ValueId};
use spirv::{Op, Word};

impl Emitter<'_> {
    /// Emits a region; stops after a `break`/`continue`/`return` (the rest is unreachable).
    /// The schedule's streams in it are emitted a few registers at a time (`stream`).
    pub(crate) fn region(&mut self, region: &Region) -> R<()> {
        let mut i = 0;
        while i < region.insts.len() {
            if !self.cx.block_open() {
                break;
            }
            let id = region.insts[i];
            let stream = self
                .schedule
                .streams
                .iter()
                .find(|s| s.first == id)
                .copied();
            match stream.and_then(|s| {
                let last = region.insts[i..].iter().position(|&x| x == s.last)?;
                Some((s.registers as usize, i + last))
            }) {
                Some((registers, last)) => {
                    self.stream(&region.insts[i..=last], registers)?;
                    i = last + 1;
                }
                None => {
                    self.inst(id)?;
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Emits the run `run` (a `Stream`) `registers` registers at a time: every tile instruction
    /// for the window of registers of each pass, scalars in the first pass; the bounds
    /// violations of its accesses are recorded after the last pass.
    fn stream(&mut self, run: &[InstId], registers: usize) -> R<()> {
        let kernel = self.kernel;
        let tiles = run
            .iter()
            .find(|&&id| streamable(kernel, id) == Streamable::Tile)
            .map(|&id| match kernel.insts[id].kind {
                InstKind::Store { ptr, .. } => self.layout(ptr).regs(),
                _ => self.layout(id).regs(),
            })
            .ok_or_else(|| Diagnostic::internal("a stream without tiles"))?
            as usize;
        self.deferred = Some(Vec::new());
        for pass in 0..tiles / registers {
            self.window = Some(pass * registers..(pass + 1) * registers);
            for (position, &id) in run.iter().enumerate() {
                if pass == 0 || streamable(kernel, id) == Streamable::Tile {
                    self.stream_position = position;
                    self.inst(id)?;
                }
            }
        }
        self.window = None;
        self.lengths.clear();
        let mut deferred = self.deferred.take().unwrap_or_default();
        deferred.sort_by_key(|(position, ..)| *position);
        for (_, kind, param, violations) in deferred {
            self.record_violation(&violations, kind, param)?;
        }
        Ok(())
    }

    /// The registers of a value of `n` registers that this instruction emits: the window of
    /// the stream being emitted (for tiles), or all of them.
    pub(crate) fn span(&self, n: usize) -> std::ops::Range<usize> {
        match &self.window {
            Some(window) if n > 1 => window.clone(),
            _ => 0..n,
        }
    }

    /// The registers of `v` in the current window (`span`).
    pub(crate) fn window_regs(&self, v: ValueId) -> R<Vec<Word>> {
        let regs = self.regs(v)?;
        let span = self.span(regs.len());
        Ok(regs[span].to_vec())
    }

    pub(crate) fn val(&self, v: ValueId) -> R<Val> {
        self.vals[v.index()].clone().ok_or_else(|| {
            Diagnostic::internal(format!("value %{} used before emission", v.index()))
        })
    }
    pub(crate) fn regs(&self, v: ValueId) -> R<Vec<Word>> {
        Ok(self.val(v)?.regs().to_vec())
    }
    /// Records the value of `id`; within a stream, the window's registers of a tile join those
    /// of the earlier passes.
    fn set(&mut self, id: InstId, val: Val) {
        let n = self.layout(id).regs() as usize;
        let span = self.span(n);
        if span.len() == n {
            self.vals[id.index()] = Some(val);
            return;
        }
        let mut full = match self.vals[id.index()].take() {
            Some(earlier) => earlier.regs().to_vec(),
            None => vec![0; n],
        };
        full[span].copy_from_slice(val.regs());
        self.vals[id.index()] = Some(Self::with_regs(&val, full));
    }
    pub(crate) fn scalar_type(&self, v: ValueId) -> R<ScalarType> {
        self.kernel
            .ty(v)
            .scalar_type()
            .ok_or_else(|| Diagnostic::internal("pointer used as a number"))
    }

    /// Rebuilds `val` with new registers (keeping a pointer's parameter).
    fn with_regs(val: &Val, regs: Vec<Word>) -> Val {
        match val {
            Val::Regs(_) => Val::Regs(regs),
            Val::Ptr { param, .. } => Val::Ptr {
                param: *param,
                idx: regs,
            },
        }
    }

    /// Registers of `value` rearranged for `dst` when every invocation already holds them.
    fn gather_local(
        &self,
        value: ValueId,
        dst: &Layout,
        projection: &Projection,
    ) -> R<Option<Val>> {
        let src_layout = self.layout(value);
        let val = self.val(value)?;
        let Some(map) = local_map(&src_layout, dst, projection) else {
            return Ok(None);
        };
        let regs = val.regs();
        let out = map.iter().map(|&s| regs[s as usize]).collect();
        Ok(Some(Self::with_regs(&val, out)))
    }

    /// The coordinate (i32) along each dim of register `r` of `layout` in this invocation.
    pub(crate) fn coords(&mut self, layout: &Layout, r: u32) -> R<Vec<Word>> {
        let Some(b) = layout.base() else {
            return Ok(Vec::new());
        };
        let i32_ty = self.cx.i32();
        let idx = layout.register_indices(r);
        let mut out = Vec::with_capacity(idx.len());
        for (&d, r_d) in layout.parent_dims().iter().zip(idx) {
            let s = b.shape[d];
            let base = b.register_base(d, r_d);
            let c = if s == 1 {
                self.cx.const_i32(0)
            } else if b.threads_per_dim[d] == 1 {
                self.cx.const_i32((base % s) as i32)
            } else {
                let off = self.thread_offset(b, d);
                let sum = if base == 0 {
                    off
                } else {
                    let base = self.cx.const_i32(base as i32);
                    self.cx.op(Op::IAdd, i32_ty, &[off, base])?
                };
                // The last invocation's offset is (threads - 1) · size_per_thread: without
                // wrapping past the shape, no modulo is needed.
                let last = (b.threads_per_dim[d] - 1) * b.size_per_thread[d];
                if base + last < s {
                    sum
                } else {
                    let mask = self.cx.const_i32(s as i32 - 1);
                    self.cx.op(Op::BitwiseAnd, i32_ty, &[sum, mask])?
                }
            };
            out.push(c);
        }
        Ok(out)
    }

    /// A bool that is true in the invocations holding the primary copies of `layout`'s elements
    /// (`None` when every invocation does).
    pub(crate) fn thread_primary(&mut self, layout: &Layout) -> R<Option<Word>> {
        let Some(b) = layout.base() else {
            // A scalar: invocation 0.
            let bool_ty = self.cx.bool_ty();
            let zero = self.cx.const_u32(0);
            return Ok(Some(self.cx.op(
                Op::IEqual,
                bool_ty,
                &[self.thread, zero],
            )?));
        };
        let bool_ty = self.cx.bool_ty();
        let mut conds = Vec::new();
        if let Layout::Slice { dim, .. } = layout {
            let d = *dim as usize;
            if b.threads_per_dim[d] > 1 {
                let t_d = self.thread_index(b, d);
                let zero = self.cx.const_u32(0);
                conds.push(self.cx.op(Op::IEqual, bool_ty, &[t_d, zero])?);
            }
        }
        for d in layout.parent_dims() {
            if b.size_per_thread[d] * b.threads_per_dim[d] > b.shape[d] {
                let off = self.thread_offset(b, d);
                let s = self.cx.const_i32(b.shape[d] as i32);
                conds.push(self.cx.op(Op::SLessThan, bool_ty, &[off, s])?);
            }
        }
        self.all(&conds)
    }

    /// The conjunction of some bools (`None` when empty).
    pub(crate) fn all(&mut self, conds: &[Word]) -> R<Option<Word>> {
        let bool_ty = self.cx.bool_ty();
        let mut acc: Option<Word> = None;
        for &c in conds {
            acc = Some(match acc {
                None => c,
                Some(a) => self.cx.op(Op::LogicalAnd, bool_ty, &[a, c])?,
            });
        }
        Ok(acc)
    }

    fn literal(&mut self, ty: ScalarType, lit: &Literal) -> Word {
        match *lit {
            Literal::Bool(b) => self.cx.const_scalar(ty, b as i128, b as u8 as f64),
            Literal::Int(i) => self.cx.const_scalar(ty, i, i as f64),
            Literal::Float(f) => self.cx.const_scalar(ty, f as i128, f),
        }
    }

    fn inst(&mut self, id: InstId) -> R<()> {
        let kernel = self.kernel;
        let inst = &kernel.insts[id];
        let layout = self.layout(id);
        let nregs = layout.regs();
        match &inst.kind {
            InstKind::Const(lit) => {
                let ty = self.scalar_type(id)?;
                let c = self.literal(ty, lit);
                self.set(id, Val::Regs(vec![c]));
            }
            InstKind::Param(n) => {
                let val = match kernel.params[*n as usize].kind {
                    crate::ir::ParamKind::Pointer { .. } => {
                        let idx_ty = self.idx_ty();
                        let zero = self.cx.const_bits(idx_ty, 0, self.idx64);
                        Val::Ptr {
                            param: *n,
                            idx: vec![zero],
                        }
                    }
                    crate::ir::ParamKind::Scalar(ty) => Val::Regs(vec![self.scalar_param(*n, ty)?]),
                };
                self.set(id, val);
            }
            InstKind::ProgramId(axis) => {
                let v = self.pids[(*axis as usize).min(2)];
                self.set(id, Val::Regs(vec![v]));
            }
            InstKind::NumPrograms(axis) => {
                let v = self.grid[(*axis as usize).min(2)];
                self.set(id, Val::Regs(vec![v]));
            }
            InstKind::Arange { start } => {
                let i32_ty = self.cx.i32();
                let from_zero = *start == 0;
                let start = self.cx.const_i32(*start as i32);
                let mut regs = Vec::new();
                for r in self.span(nregs as usize) {
                    let c = self.coords(&layout, r as u32)?[0];
                    regs.push(if from_zero {
                        c
                    } else {
                        self.cx.op(Op::IAdd, i32_ty, &[c, start])?
                    });
                }
                self.set(id, Val::Regs(regs));
            }
            InstKind::Splat(s) => {
                let val = self.val(*s)?;
                let w = val.regs()[0];
                match &layout {
                    Layout::Cooperative(tiles) => {
                        let matrices = self.coop_splat(w, tiles)?;
                        self.set(id, matrices);
                    }
                    _ => {
                        let n = self.span(nregs as usize).len();
                        self.set(id, Self::with_regs(&val, vec![w; n]));
                    }
                }
            }
            InstKind::Broadcast(x) => {
                let from = &kernel.ty(*x).shape;
                let to = &kernel.ty(id).shape;
                let dims = (0..to.len()).filter(|&d| from[d] != to[d]).collect();
                let val = self
                    .gather_local(*x, &layout, &Projection::ZeroDims(dims))?
                    .ok_or_else(|| Diagnostic::internal("broadcast needs data movement"))?;
                self.set(id, val);
            }
            InstKind::ExpandDims { value, axis } => {
                let val = self
                    .gather_local(*value, &layout, &Projection::RemoveDim(*axis as usize))?
                    .ok_or_else(|| Diagnostic::internal("expand_dims needs data movement"))?;
                self.set(id, val);
            }
            InstKind::ConvertLayout(value) => {
                let val = match self.plan(id)? {
                    Plan::Convert(ConvertPlan::Registers) => self
                        .gather_local(*value, &layout, &Projection::Identity)?
                        .ok_or_else(|| {
                            Diagnostic::internal("a register conversion needs data movement")
                        })?,
                    Plan::Convert(ConvertPlan::Shared(region)) => {
                        self.convert_through_shared(*value, &layout, *region)?
                    }
                    Plan::Convert(ConvertPlan::Cooperative { rows }) => {
                        self.coop_convert(*value, &layout, *rows)?
                    }
                    other => return Err(super::shared::plan_mismatch(id, other)),
                };
                self.set(id, val);
            }
            InstKind::Unary { op, value } => {
                let ty = self.scalar_type(*value)?;
                let xs = self.window_regs(*value)?;
                let mut regs = Vec::new();
                for x in xs {
                    regs.push(self.unary(*op, ty, x)?);
                }
                self.set(id, Val::Regs(regs));
            }
            InstKind::Binary { op, lhs, rhs } => {
                let ty = self.scalar_type(*lhs)?;
                let (a, b) = (self.window_regs(*lhs)?, self.window_regs(*rhs)?);
                let mut regs = Vec::new();
                for (x, y) in a.into_iter().zip(b) {
                    regs.push(self.binary(*op, ty, x, y)?);
                }
                self.set(id, Val::Regs(regs));
            }
            InstKind::Compare { op, lhs, rhs } => {
                let (a, b) = (self.window_regs(*lhs)?, self.window_regs(*rhs)?);
                let ty = match kernel.ty(*lhs).elem {
                    Elem::Scalar(s) => s,
                    Elem::Ptr { .. } => {
                        if self.idx64 {
                            ScalarType::I64
                        } else {
                            ScalarType::I32
                        }
                    }
                };
                let mut regs = Vec::new();
                for (x, y) in a.into_iter().zip(b) {
                    regs.push(self.compare(*op, ty, x, y)?);
                }
                self.set(id, Val::Regs(regs));
            }
            InstKind::Select {
                cond,
                on_true,
                on_false,
            } => {
                let c = self.window_regs(*cond)?;
                let a = self.val(*on_true)?;
                let (x, y) = (self.window_regs(*on_true)?, self.window_regs(*on_false)?);
                let ty = match kernel.ty(id).elem {
                    Elem::Scalar(s) => self.cx.compute_ty(s),
                    Elem::Ptr { .. } => self.idx_ty(),
                };
                let mut regs = Vec::new();
                for (i, &ci) in c.iter().enumerate() {
                    regs.push(self.cx.op(Op::Select, ty, &[ci, x[i], y[i]])?);
                }
                self.set(id, Self::with_regs(&a, regs));
            }
            InstKind::Cast(value) => {
                let from = self.scalar_type(*value)?;
                let to = self.scalar_type(id)?;
                let xs = self.window_regs(*value)?;
                let mut regs = Vec::new();
                for x in xs {
                    regs.push(self.cast(from, to, x)?);
                }
                self.set(id, Val::Regs(regs));
            }
            InstKind::Bitcast(value) => {
                let from = self.scalar_type(*value)?;
                let to = self.scalar_type(id)?;
                let xs = self.window_regs(*value)?;
                let mut regs = Vec::new();
                for x in xs {
                    regs.push(self.bitcast(from, to, x)?);
                }
                self.set(id, Val::Regs(regs));
            }
            InstKind::Fma { a, b, c } => {
                let ty = self.scalar_type(id)?;
                let (a, b, c) = (
                    self.window_regs(*a)?,
                    self.window_regs(*b)?,
                    self.window_regs(*c)?,
                );
                let mut regs = Vec::new();
                for i in 0..a.len() {
                    regs.push(self.fma(ty, a[i], b[i], c[i])?);
                }
                self.set(id, Val::Regs(regs));
            }
            InstKind::PtrOffset { ptr, offset } => {
                let val = self.ptr_offset(*ptr, *offset)?;
                self.set(id, val);
            }
            InstKind::Load { ptr, mask, other } => {
                let val = self.load_inst(*ptr, *mask, *other, id)?;
                self.set(id, val);
            }
            InstKind::Store { ptr, value, mask } => {
                self.store_inst(id, *ptr, *value, *mask)?;
            }
            InstKind::Atomic {
                op,
                ptr,
                value,
                cmp,
                mask,
            } => {
                let val = self.atomic_inst(id, *op, *ptr, *value, *cmp, *mask)?;
                self.set(id, val);
            }
            InstKind::Reshape(value) => {
                let val = self.reorder(id, *value, None, &layout)?;
                self.set(id, val);
            }
            InstKind::Permute { value, perm } => {
                let val = self.reorder(id, *value, Some(perm), &layout)?;
                self.set(id, val);
            }
            InstKind::Dot { a, b, acc } => {
                let val = match self.plan(id)? {
                    Plan::Dot(DotPlan::Cooperative) => self.coop_dot(*a, *b, *acc, &layout)?,
                    Plan::Dot(DotPlan::CooperativeTiles(staging)) => {
                        let Layout::Cooperative(tiles) = &layout else {
                            return Err(Diagnostic::internal(
                                "a dot on cooperative tiles with another layout",
                            ));
                        };
                        self.coop_tiles_dot(id, *a, *b, *acc, tiles, staging)?
                    }
                    Plan::Dot(DotPlan::Registers) => {
                        self.dot_in_registers(*a, *b, *acc, &layout)?
                    }
                    Plan::Dot(DotPlan::Broadcast) => self.dot_broadcast(*a, *b, *acc, &layout)?,
                    Plan::Dot(DotPlan::Staged(staging)) => {
                        self.dot(id, *a, *b, *acc, &layout, staging)?
                    }
                    other => return Err(super::shared::plan_mismatch(id, other)),
                };
                self.set(id, val);
            }
            InstKind::Reduce { op, value, axis } => {
                let val = self.reduce(id, *op, *value, *axis, &layout)?;
                self.set(id, val);
            }
            InstKind::Scan { op, value, axis } => {
                let val = self.scan(id, *op, *value, *axis, &layout)?;
                self.set(id, val);
            }
            InstKind::LocalGet(local) => {
                let ty = match (
                    self.register_matrix_type(&layout)?,
                    kernel.locals[*local].ty.elem,
                ) {
                    (Some(matrix), _) => matrix,
                    (None, Elem::Scalar(s)) => self.cx.compute_ty(s),
                    (None, Elem::Ptr { .. }) => self.idx_ty(),
                };
                let vars = self.local_vars[local.index()].clone();
                let mut regs = Vec::new();
                for v in vars {
                    regs.push(self.cx.load(ty, v)?);
                }
                let val = match kernel.locals[*local].ty.elem {
                    Elem::Ptr { param, .. } => Val::Ptr { param, idx: regs },
                    Elem::Scalar(_) => Val::Regs(regs),
                };
                self.set(id, val);
            }
            InstKind::LocalSet { local, value } => {
                let regs = self.regs(*value)?;
                let vars = self.local_vars[local.index()].clone();
                if regs.len() != vars.len() {
                    return Err(Diagnostic::internal("local set with a different layout"));
                }
                for (v, r) in vars.into_iter().zip(regs) {
                    self.cx.store(v, r)?;
                }
            }
            InstKind::If {
                cond,
                then_region,
                else_region,
            } => self.emit_if(*cond, then_region, else_region)?,
            InstKind::For {
                var,
                start,
                end,
                step,
                body,
            } => self.emit_for(*var, *start, *end, *step, body)?,
            InstKind::While {
                cond_region,
                cond,
                body,
            } => self.emit_while(cond_region, *cond, body)?,
            InstKind::Break => {
                let target = self.innermost_loop()?.merge;
                self.cx.branch(target)?;
            }
            InstKind::Continue => {
                let target = self.innermost_loop()?.cont;
                self.cx.branch(target)?;
            }
            InstKind::Return => self.cx.b.ret().map_err(ice)?,
            InstKind::Assert { cond, message } => self.assert_inst(id, *cond, message)?,
            // Printed by the interpreter only; devices skip it.
            InstKind::Print { .. } => {}
        }
        Ok(())
    }

    fn innermost_loop(&self) -> R<&LoopLabels> {
        self.loops
            .last()
            .ok_or_else(|| Diagnostic::internal("break or continue outside a loop"))
    }

    /// A scalar parameter from push constants, converted to its register type.
    fn scalar_param(&mut self, n: u32, ty: ScalarType) -> R<Word> {
        let (member, repr) = self.push_members[&n];
        let member_ty = self.repr_ty(repr);
        let raw = self.param_member(member, member_ty)?;
        let target = self.cx.compute_ty(ty);
        use ScalarType::*;
        Ok(match ty {
            Bool => {
                let zero = self.cx.const_u32(0);
                let bool_ty = self.cx.bool_ty();
                self.cx.op(Op::INotEqual, bool_ty, &[raw, zero])?
            }
            U8 | U16 => self.cx.op(Op::UConvert, target, &[raw])?,
            I8 | I16 => self.cx.op(Op::SConvert, target, &[raw])?,
            F16 => self.cx.op(Op::FConvert, target, &[raw])?,
            _ => raw,
        })
    }

    fn emit_if(&mut self, cond: ValueId, then_region: &Region, else_region: &Region) -> R<()> {
        let c = self.regs(cond)?[0];
        let merge = self.cx.id();
        let then_label = self.cx.id();
        let else_label = if else_region.insts.is_empty() {
            merge
        } else {
            self.cx.id()
        };
        self.cx
            .b
            .selection_merge(merge, spirv::SelectionControl::NONE)
            .map_err(ice)?;
        self.cx
            .b
            .branch_conditional(c, then_label, else_label, [])
            .map_err(ice)?;
        self.cx.begin_block(then_label)?;
        self.region(then_region)?;
        let mut reaches_merge = else_label == merge;
        if self.cx.block_open() {
            self.cx.branch(merge)?;
            reaches_merge = true;
        }
        if else_label != merge {
            self.cx.begin_block(else_label)?;
            self.region(else_region)?;
            if self.cx.block_open() {
                self.cx.branch(merge)?;
                reaches_merge = true;
            }
        }
        self.cx.begin_block(merge)?;
        if !reaches_merge {
            self.cx.b.unreachable().map_err(ice)?;
        }
        Ok(())
    }

    /// The loop skeleton: header (with the merge instruction) → `check` → body → continue block
    /// → header. `check` emits the condition and returns it.
    fn emit_loop(
        &mut self,
        check: &mut dyn FnMut(&mut Self) -> R<Word>,
        body: &Region,
        step: &mut dyn FnMut(&mut Self) -> R<()>,
    ) -> R<()> {
        self.structured_loop(check, &mut |e| e.region(body), step)
    }

    /// A structured loop: header (with the merge instruction) → `check` → `body` → continue
    /// block (`step`) → header. `check` emits the condition and returns it; `body` may end its
    /// block itself (a `break` or `continue` to the innermost loop's labels).
    pub(crate) fn structured_loop(
        &mut self,
        check: &mut dyn FnMut(&mut Self) -> R<Word>,
        body: &mut dyn FnMut(&mut Self) -> R<()>,
        step: &mut dyn FnMut(&mut Self) -> R<()>,
    ) -> R<()> {
        let header = self.cx.id();
        let check_label = self.cx.id();
        let body_label = self.cx.id();
        let cont = self.cx.id();
        let merge = self.cx.id();
        self.cx.branch(header)?;
        self.cx.begin_block(header)?;
        self.cx
            .b
            .loop_merge(merge, cont, spirv::LoopControl::NONE, [])
            .map_err(ice)?;
        self.cx.branch(check_label)?;
        self.cx.begin_block(check_label)?;
        let c = check(self)?;
        self.cx
            .b
            .branch_conditional(c, body_label, merge, [])
            .map_err(ice)?;
        self.cx.begin_block(body_label)?;
        self.loops.push(LoopLabels { merge, cont });
        body(self)?;
        self.loops.pop();
        if self.cx.block_open() {
            self.cx.branch(cont)?;
        }
        self.cx.begin_block(cont)?;
        step(self)?;
        self.cx.branch(header)?;
        self.cx.begin_block(merge)?;
        Ok(())
    }

    fn emit_for(
        &mut self,
        var: crate::ir::LocalId,
        start: ValueId,
        end: ValueId,
        step: ValueId,
        body: &Region,
    ) -> R<()> {
        let ty = self.scalar_type(start)?;
        let reg_ty = self.cx.compute_ty(ty);
        let var_ptr = self.local_vars[var.index()][0];
        let start_v = self.regs(start)?[0];
        let end_v = self.regs(end)?[0];
        let step_v = self.regs(step)?[0];
        self.cx.store(var_ptr, start_v)?;
        // The direction is known when the step is a constant.
        let step_sign = match &self.kernel.insts[step].kind {
            InstKind::Const(Literal::Int(s)) => Some(s.signum()),
            _ if ty.is_unsigned_int() => Some(1),
            _ => None,
        };
        let mut check = |e: &mut Self| -> R<Word> {
            let bool_ty = e.cx.bool_ty();
            let i = e.cx.load(reg_ty, var_ptr)?;
            let (lt, gt) = if ty.is_unsigned_int() {
                (Op::ULessThan, Op::UGreaterThan)
            } else {
                (Op::SLessThan, Op::SGreaterThan)
            };
            match step_sign {
                Some(1) => e.cx.op(lt, bool_ty, &[i, end_v]),
                Some(-1) => e.cx.op(gt, bool_ty, &[i, end_v]),
                Some(_) => Ok(e.cx.const_bool(false)),
                None => {
                    let zero = e.cx.const_scalar(ty, 0, 0.0);
                    let up = e.cx.op(Op::SGreaterThan, bool_ty, &[step_v, zero])?;
                    let down = e.cx.op(Op::SLessThan, bool_ty, &[step_v, zero])?;
                    let below = e.cx.op(lt, bool_ty, &[i, end_v])?;
                    let above = e.cx.op(gt, bool_ty, &[i, end_v])?;
                    let a = e.cx.op(Op::LogicalAnd, bool_ty, &[up, below])?;
                    let b = e.cx.op(Op::LogicalAnd, bool_ty, &[down, above])?;
                    e.cx.op(Op::LogicalOr, bool_ty, &[a, b])
                }
            }
        };
        let mut advance = |e: &mut Self| -> R<()> {
            let i = e.cx.load(reg_ty, var_ptr)?;
            let next = e.cx.op(Op::IAdd, reg_ty, &[i, step_v])?;
            e.cx.store(var_ptr, next)
        };
        self.emit_loop(&mut check, body, &mut advance)
    }

    fn emit_while(&mut self, cond_region: &Region, cond: ValueId, body: &Region) -> R<()> {
        let mut check = |e: &mut Self| -> R<Word> {
            e.region(cond_region)?;
            if !e.cx.block_open() {
                return Err(Diagnostic::internal(
                    "while condition region does not fall through",
                ));
            }
            Ok(e.regs(cond)?[0])
        };
        self.emit_loop(&mut check, body, &mut |_| Ok(()))
    }
}
