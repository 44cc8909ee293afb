//! `dot` on cooperative matrices (`SPV_KHR_cooperative_matrix`), for the `dot`s the schedule
//! lists in its `CoopPlan`.
//!
//! A `dot` planned `CooperativeTiles` keeps its accumulator and result in matrices
//! (`ir::layout::Cooperative`: each subgroup holds a block of whole matrices, registers that are
//! matrix ids, carried across a loop by the local that holds the accumulator):
//!
//! 1. this execution's buffer of the staging array `tk_coop_v` (f16 four-vectors; a barrier
//!    first when the `dot` has one buffer) takes `a` and `b` row-major as f16 (exact: they were
//!    converted from f16), four halves per store where the layout gives four consecutive ones;
//!    barrier;
//! 2. for each K step the subgroup loads the fragments of `a` for its rows of matrices and of
//!    `b` for its columns, once each, and multiplies every pair into its matrices.
//!
//! Values enter or leave the matrices only through a conversion (`coop_convert`): through the
//! f32 array `tk_coop_f`, a chunk of rows at a time, each subgroup storing (or loading) its
//! matrices and each invocation reading (or writing) its registers, barriers around.
//!
//! A `dot` planned `Cooperative` (the subgroups cannot each hold whole matrices) runs whole:
//!
//! 1. every invocation writes its registers of `a` and `b` as f16 into `tk_coop_h` (`a`
//!    row-major `[M, K]`, then `b` row-major `[K, N]`) and of the accumulator as f32 into
//!    `tk_coop_f` (`[M, N]`); barrier;
//! 2. each subgroup takes the `m×n` result tiles `SubgroupId, SubgroupId + NumSubgroups, …`: it
//!    loads the tile of the accumulator, multiplies-adds the `m×k` and `k×n` tiles along K
//!    (`OpCooperativeMatrixMulAddKHR`) and stores the tile back; barrier;
//! 3. every invocation reads its result registers from `tk_coop_f`; barrier.
//!
//! Every cooperative operation runs in control flow uniform within its subgroup, as the
//! extension requires: the subgroup's matrices depend on `SubgroupId` only, and a conversion's
//! branch on which chunk holds a matrix is the same for the whole subgroup. The module uses the
//! Vulkan memory model: workgroup accesses are `NonPrivatePointer` and barriers make them
//! available and visible.
use super::ctx::{ice, R};
use super::{Emitter, Val};
use crate::base::{Diagnostic, ScalarType};
use crate::ir::layout::Cooperative;
use crate::ir::schedule::CoopStaging;
use crate::ir::{InstId, Layout, ValueId};
use rspirv::dr::Operand;
use spirv::{BuiltIn, Capability, Decoration, Op, StorageClass, Word};

/// `MatrixAKHR`, `MatrixBKHR` and `MatrixAccumulatorKHR` (the `Use` operand of the type).
const USE_A: u32 = 0;
const USE_B: u32 = 1;
const USE_ACC: u32 = 2;
/// `RowMajorKHR`.
const ROW_MAJOR: u32 = 0;

/// The module-level state of the cooperative path: the arrays and the subgroup builtins.
pub(crate) struct Coop {
    /// f16 elements (`dot`s planned `Cooperative`), when any.
    halves: Option<Word>,
    /// f32 elements: accumulators staged, results read back, conversions.
    floats: Word,
    /// f16 four-vectors: the operands of `CooperativeTiles` `dot`s, when any.
    vectors: Option<Word>,
    pub(crate) subgroup_id: Word,
    pub(crate) num_subgroups: Word,
}

impl Emitter<'_> {
    /// Declares what the cooperative `dot`s use: capabilities, the extension, the two workgroup
    /// arrays and the `SubgroupId`/`NumSubgroups` inputs.
    pub(crate) fn declare_coop(&mut self) -> R<()> {
        let Some(plan) = self.schedule.coop.clone() else {
            return Ok(());
        };
        self.cx.capability(Capability::CooperativeMatrixKHR);
        self.cx.use_vulkan_memory_model();
        self.cx.capability(Capability::Float16);
        self.cx.capability(Capability::GroupNonUniform);
        self.cx.extension("SPV_KHR_cooperative_matrix");
        self.cx.features.cooperative_matrix = true;
        self.cx.features.float16 = true;
        let f16 = self.cx.compute_ty(ScalarType::F16);
        let f32 = self.cx.f32();
        let array = |e: &mut Self, elem: Word, len: u32, name: &str| {
            let len = e.cx.const_u32(len);
            let arr = e.cx.b.type_array(elem, len);
            let ptr = e.cx.pointer(StorageClass::Workgroup, arr);
            let var = e.cx.b.variable(ptr, None, StorageClass::Workgroup, None);
            e.cx.b.name(var, name);
            var
        };
        let halves = (plan.halves > 0).then(|| array(self, f16, plan.halves, "tk_coop_h"));
        let floats = array(self, f32, plan.floats, "tk_coop_f");
        let f16x4 = self.cx.vector(f16, 4);
        let vectors = (plan.vectors > 0).then(|| array(self, f16x4, plan.vectors, "tk_coop_v"));
        let u32_ty = self.cx.u32();
        let input = self.cx.pointer(StorageClass::Input, u32_ty);
        let builtin = |e: &mut Self, which: BuiltIn| {
            let var = e.cx.b.variable(input, None, StorageClass::Input, None);
            e.cx.b
                .decorate(var, Decoration::BuiltIn, [Operand::BuiltIn(which)]);
            var
        };
        let subgroup_id = builtin(self, BuiltIn::SubgroupId);
        let num_subgroups = builtin(self, BuiltIn::NumSubgroups);
        self.coop = Some(Coop {
            halves,
            floats,
            vectors,
            subgroup_id,
            num_subgroups,
        });
        Ok(())
    }

    /// `dot(a, b, acc)` into `dst` on cooperative matrices (the module doc's three steps).
    pub(crate) fn coop_dot(
        &mut self,
        a: ValueId,
        b: ValueId,
        acc: ValueId,
        dst: &Layout,
    ) -> R<Val> {
        let plan = self.coop_arrays()?;
        let (halves, floats, subgroup_id, num_subgroups) = match &self.coop {
            Some(Coop {
                halves: Some(halves),
                floats,
                subgroup_id,
                num_subgroups,
                ..
            }) => (*halves, *floats, *subgroup_id, *num_subgroups),
            _ => return Err(Diagnostic::internal("cooperative arrays not declared")),
        };
        let (sa, sb) = (
            self.kernel.ty(a).shape.clone(),
            self.kernel.ty(b).shape.clone(),
        );
        let (m, k, n) = (sa[0], sa[1], sb[1]);
        if dst.shape() != [m, n] || m % plan.m != 0 || n % plan.n != 0 || k % plan.k != 0 {
            return Err(Diagnostic::internal(
                "a cooperative dot the tile does not divide",
            ));
        }
        let u = self.cx.u32();
        let f16 = self.cx.compute_ty(ScalarType::F16);
        let f32 = self.cx.f32();

        // 1. Stage.
        self.barrier()?;
        self.stage_typed(a, halves, f16, 0)?;
        self.stage_typed(b, halves, f16, m * k)?;
        self.stage_typed(acc, floats, f32, 0)?;
        self.barrier()?;

        // 2. The subgroups' tiles.
        let scope = self.cx.const_u32(spirv::Scope::Subgroup as u32);
        let matrix = |e: &mut Self, elem: Word, rows: u32, cols: u32, usage: u32| {
            let (r, c, us) = (
                e.cx.const_u32(rows),
                e.cx.const_u32(cols),
                e.cx.const_u32(usage),
            );
            e.cx.b.type_cooperative_matrix_khr(elem, scope, r, c, us)
        };
        let ty_a = matrix(self, f16, plan.m, plan.k, USE_A);
        let ty_b = matrix(self, f16, plan.k, plan.n, USE_B);
        let ty_c = matrix(self, f32, plan.m, plan.n, USE_ACC);
        let first = self.cx.load(u, subgroup_id)?;
        let step = self.cx.load(u, num_subgroups)?;
        let tiles_n = n / plan.n;
        let tiles = (m / plan.m) * tiles_n;
        let mut tile = |e: &mut Self, t: Word| -> R<()> {
            let tn = e.cx.const_u32(tiles_n);
            let ti = e.cx.op(Op::UDiv, u, &[t, tn])?;
            let tj = e.cx.op(Op::UMod, u, &[t, tn])?;
            let row0 = e.scaled(ti, plan.m)?;
            let col0 = e.scaled(tj, plan.n)?;
            // Element offsets of the tile's corner in `a` (row `row0`), `b` (column `col0`) and
            // the accumulator.
            let a_row = e.scaled(row0, k)?;
            let c_row = e.scaled(row0, n)?;
            let c_at = e.cx.op(Op::IAdd, u, &[c_row, col0])?;
            let mut c = e.coop_load(ty_c, floats, f32, c_at, n)?;
            for kk in 0..k / plan.k {
                let ka = e.cx.const_u32(kk * plan.k);
                let a_at = e.cx.op(Op::IAdd, u, &[a_row, ka])?;
                let x = e.coop_load(ty_a, halves, f16, a_at, k)?;
                let kb = e.cx.const_u32(m * k + kk * plan.k * n);
                let b_at = e.cx.op(Op::IAdd, u, &[kb, col0])?;
                let y = e.coop_load(ty_b, halves, f16, b_at, n)?;
                c =
                    e.cx.b
                        .cooperative_matrix_mul_add_khr(ty_c, None, x, y, c, None)
                        .map_err(ice)?;
            }
            let ptr = e.array_element(floats, f32, c_at)?;
            let layout = e.cx.const_u32(ROW_MAJOR);
            let stride = e.cx.const_u32(n);
            let access = e.cx.workgroup_access();
            e.cx.b
                .cooperative_matrix_store_khr(ptr, c, layout, Some(stride), access, [])
                .map_err(ice)
        };
        self.strided_loop(first, tiles, step, &mut tile)?;
        self.barrier()?;

        // 3. Read the result registers.
        let mut out = Vec::with_capacity(dst.regs() as usize);
        for r in 0..dst.regs() {
            let coords = self.coords(dst, r)?;
            let at = self.linear_index(&coords, &[m, n])?;
            let ptr = self.array_element(floats, f32, at)?;
            out.push(self.cx.workgroup_load(f32, ptr)?);
        }
        self.barrier()?;
        Ok(Val::Regs(out))
    }

    /// The schedule's cooperative arrays (and matrix shape).
    fn coop_arrays(&self) -> R<crate::ir::schedule::CoopPlan> {
        self.schedule
            .coop
            .clone()
            .ok_or_else(|| Diagnostic::internal("a cooperative dot without a plan"))
    }

    /// The staging array of f16 four-vectors.
    fn staging_array(&self) -> R<Word> {
        self.coop
            .as_ref()
            .and_then(|c| c.vectors)
            .ok_or_else(|| Diagnostic::internal("the cooperative staging array is missing"))
    }

    /// A cooperative matrix type of the schedule's shape for `usage` (`USE_A`: m×k f16,
    /// `USE_B`: k×n f16, `USE_ACC`: m×n f32), subgroup scope.
    pub(crate) fn matrix_type(&mut self, usage: u32) -> R<Word> {
        let plan = self.coop_arrays()?;
        let (elem, rows, cols) = match usage {
            USE_A => (self.cx.compute_ty(ScalarType::F16), plan.m, plan.k),
            USE_B => (self.cx.compute_ty(ScalarType::F16), plan.k, plan.n),
            _ => (self.cx.f32(), plan.m, plan.n),
        };
        let scope = self.cx.const_u32(spirv::Scope::Subgroup as u32);
        let (r, c, us) = (
            self.cx.const_u32(rows),
            self.cx.const_u32(cols),
            self.cx.const_u32(usage),
        );
        Ok(self.cx.b.type_cooperative_matrix_khr(elem, scope, r, c, us))
    }

    /// The type of one register of a value in `layout`: an accumulator matrix for a cooperative
    /// layout, else `None` (the element type).
    pub(crate) fn register_matrix_type(&mut self, layout: &Layout) -> R<Option<Word>> {
        match layout {
            Layout::Cooperative(_) => Ok(Some(self.matrix_type(USE_ACC)?)),
            _ => Ok(None),
        }
    }

    /// A splat of the f32 `scalar` in cooperative matrices: one matrix of it, in every register.
    pub(crate) fn coop_splat(&mut self, scalar: Word, layout: &Cooperative) -> R<Val> {
        let ty = self.matrix_type(USE_ACC)?;
        let m = self.cx.op(Op::CompositeConstruct, ty, &[scalar])?;
        Ok(Val::Regs(vec![
            m;
            layout.tiles().iter().product::<u32>()
                as usize
        ]))
    }

    /// The first row and column (u32) of this subgroup's matrix `r` of `layout`
    /// (`ir::layout::Cooperative`).
    fn matrix_origin(&mut self, layout: &Cooperative, r: u32) -> R<(Word, Word)> {
        let u = self.cx.u32();
        let subgroup_id = self
            .coop
            .as_ref()
            .ok_or_else(|| Diagnostic::internal("cooperative arrays not declared"))?
            .subgroup_id;
        let s = self.cx.load(u, subgroup_id)?;
        let [rows, cols] = layout.tiles();
        let across = self.cx.const_u32(layout.subgroups[1]);
        let row = self.cx.op(Op::UDiv, u, &[s, across])?;
        let col = self.cx.op(Op::UMod, u, &[s, across])?;
        let (i, j) = (r / cols, r % cols);
        // (row * rows + i) * tile_m and (col * cols + j) * tile_n.
        let row = self.scaled(row, rows * layout.tile[0])?;
        let i = self.cx.const_u32(i * layout.tile[0]);
        let row = self.cx.op(Op::IAdd, u, &[row, i])?;
        let col = self.scaled(col, cols * layout.tile[1])?;
        let j = self.cx.const_u32(j * layout.tile[1]);
        let col = self.cx.op(Op::IAdd, u, &[col, j])?;
        Ok((row, col))
    }

    /// `ConvertLayout` into or out of cooperative matrices (`ConvertPlan::Cooperative`) through
    /// the f32 array, `rows` rows of the tile at a time (row-major `[rows, N]`). For each chunk:
    /// a barrier (the array's previous readers are done), the chunk's elements written (by each
    /// subgroup storing its matrices that lie in it, or by the primary copies of the registers
    /// that do), a barrier, and the chunk read back (the registers in it, or the matrices).
    /// Which chunk holds a register is known when compiling (the chunks are whole repetitions of
    /// the blocked layout's pattern); a matrix's depends on the subgroup, so its store or load
    /// sits in a branch that is uniform within the subgroup.
    pub(crate) fn coop_convert(&mut self, value: ValueId, to: &Layout, rows: u32) -> R<Val> {
        let floats = self
            .coop
            .as_ref()
            .ok_or_else(|| Diagnostic::internal("cooperative arrays not declared"))?
            .floats;
        let from = self.layout(value);
        let shape = self.kernel.ty(value).shape.clone();
        let (m, n) = (shape[0], shape[1]);
        let (tiles, blocked, into) = match (&from, to) {
            (Layout::Cooperative(t), Layout::Blocked(b)) => (t.clone(), b.clone(), false),
            (Layout::Blocked(b), Layout::Cooperative(t)) => (t.clone(), b.clone(), true),
            _ => {
                return Err(Diagnostic::internal(
                    "a cooperative conversion between other layouts",
                ))
            }
        };
        if rows == 0 || m % rows != 0 {
            return Err(Diagnostic::internal(
                "conversion chunks that do not divide M",
            ));
        }
        let chunks = m / rows;
        let u = self.cx.u32();
        let f32 = self.cx.f32();
        let bool_ty = self.cx.bool_ty();
        let blocked_layout = Layout::Blocked(blocked.clone());
        let matrices = tiles.tiles().iter().product::<u32>();
        // The chunk holding each register of the blocked side (its row's pattern repetition).
        let chunk_of = |r: u32| {
            let r0 = blocked_layout.register_indices(r)[0];
            (blocked.register_base(0, r0) % m) / rows
        };
        // Per matrix: its first row and column, and the chunk it lies in (u32 values).
        let mut corners = Vec::with_capacity(matrices as usize);
        for r in 0..matrices {
            let (row, col) = self.matrix_origin(&tiles, r)?;
            let rc = self.cx.const_u32(rows);
            let chunk = self.cx.op(Op::UDiv, u, &[row, rc])?;
            let within = self.cx.op(Op::UMod, u, &[row, rc])?;
            let at = self.scaled(within, n)?;
            let at = self.cx.op(Op::IAdd, u, &[at, col])?;
            corners.push((chunk, at));
        }
        let in_chunk = |e: &mut Self, chunk: Word, c: u32| -> R<Word> {
            let cc = e.cx.const_u32(c);
            e.cx.op(Op::IEqual, bool_ty, &[chunk, cc])
        };
        let layout_word = self.cx.const_u32(ROW_MAJOR);
        let stride = self.cx.const_u32(n);
        let access = self.cx.workgroup_access();
        let chunk_shape = [rows, n];
        let regs = self.regs(value)?;
        if !into {
            let mut out = vec![0; to.regs() as usize];
            for c in 0..chunks {
                self.barrier()?;
                for (r, &(chunk, at)) in corners.iter().enumerate() {
                    let matrix = regs[r];
                    let store = |e: &mut Self| -> R<()> {
                        let ptr = e.array_element(floats, f32, at)?;
                        e.cx.b
                            .cooperative_matrix_store_khr(
                                ptr,
                                matrix,
                                layout_word,
                                Some(stride),
                                access,
                                [],
                            )
                            .map_err(ice)
                    };
                    if chunks == 1 {
                        store(self)?;
                    } else {
                        let cond = in_chunk(self, chunk, c)?;
                        self.guarded(cond, &mut { store })?;
                    }
                }
                self.barrier()?;
                for (r, slot) in out.iter_mut().enumerate() {
                    if chunk_of(r as u32) != c {
                        continue;
                    }
                    let mut coords = self.coords(to, r as u32)?;
                    let first = self.cx.const_i32((c * rows) as i32);
                    let i32_ty = self.cx.i32();
                    coords[0] = self.cx.op(Op::ISub, i32_ty, &[coords[0], first])?;
                    let at = self.linear_index(&coords, &chunk_shape)?;
                    let ptr = self.array_element(floats, f32, at)?;
                    *slot = self.cx.workgroup_load(f32, ptr)?;
                }
            }
            return Ok(Val::Regs(out));
        }
        let ty = self.matrix_type(USE_ACC)?;
        // With several chunks each matrix is loaded in a branch: a variable carries it out.
        let vars: Vec<Word> = (0..matrices).map(|_| self.cx.function_var(ty)).collect();
        let mut loaded = vec![0; matrices as usize];
        for c in 0..chunks {
            self.barrier()?;
            let mut writes = Vec::new();
            for (r, &x) in regs.iter().enumerate() {
                if chunk_of(r as u32) != c {
                    continue;
                }
                let mut coords = self.coords(&blocked_layout, r as u32)?;
                let first = self.cx.const_i32((c * rows) as i32);
                let i32_ty = self.cx.i32();
                coords[0] = self.cx.op(Op::ISub, i32_ty, &[coords[0], first])?;
                let at = self.linear_index(&coords, &chunk_shape)?;
                writes.push((self.array_element(floats, f32, at)?, x));
            }
            self.store_primary(&blocked_layout, &writes)?;
            self.barrier()?;
            for (r, &(chunk, at)) in corners.iter().enumerate() {
                if chunks == 1 {
                    loaded[r] = self.coop_load(ty, floats, f32, at, n)?;
                    continue;
                }
                let var = vars[r];
                let cond = in_chunk(self, chunk, c)?;
                self.guarded(cond, &mut |e: &mut Self| {
                    let matrix = e.coop_load(ty, floats, f32, at, n)?;
                    e.cx.store(var, matrix)
                })?;
            }
        }
        if chunks > 1 {
            for (slot, &var) in loaded.iter_mut().zip(&vars) {
                *slot = self.cx.load(ty, var)?;
            }
        }
        Ok(Val::Regs(loaded))
    }

    /// Writes the 2-d tile `value` as f16 into the staging array of four-vectors at halves
    /// `base + row * row_stride + col` (u32 `base`): four registers consecutive along the row
    /// (the layout's blocks along it come in fours) as one four-vector, else one component at a
    /// time. Only primary copies write.
    fn stage_halves(&mut self, value: ValueId, base: Word, row_stride: u32) -> R<()> {
        let vectors = self.staging_array()?;
        let layout = self.layout(value);
        let regs = self.regs(value)?;
        let per_dim = layout.regs_per_dim();
        let grouped = layout.base().is_some_and(|b| b.size_per_thread[1] % 4 == 0);
        let u = self.cx.u32();
        let f16 = self.cx.compute_ty(ScalarType::F16);
        let f16x4 = self.cx.vector(f16, 4);
        let stride = self.cx.const_u32(row_stride);
        let two = self.cx.const_u32(2);
        let three = self.cx.const_u32(3);
        let mut writes: Vec<(Word, Option<Word>, Word)> = Vec::new();
        for r in 0..regs.len() as u32 {
            let idx = layout.register_indices(r);
            if grouped && !idx[1].is_multiple_of(4) {
                continue;
            }
            let coords = self.coords(&layout, r)?;
            let row = self.cx.op(Op::Bitcast, u, &[coords[0]])?;
            let col = self.cx.op(Op::Bitcast, u, &[coords[1]])?;
            let at = self.cx.op(Op::IMul, u, &[row, stride])?;
            let at = self.cx.op(Op::IAdd, u, &[at, col])?;
            let at = self.cx.op(Op::IAdd, u, &[at, base])?;
            let quad = self.cx.op(Op::ShiftRightLogical, u, &[at, two])?;
            if grouped {
                let mut halves = Vec::with_capacity(4);
                for c in 0..4 {
                    let x = regs[(idx[0] * per_dim[1] + idx[1] + c) as usize];
                    halves.push(self.cx.op(Op::FConvert, f16, &[x])?);
                }
                let v = self.cx.op(Op::CompositeConstruct, f16x4, &halves)?;
                writes.push((quad, None, v));
            } else {
                let lane = self.cx.op(Op::BitwiseAnd, u, &[at, three])?;
                let x = self.cx.op(Op::FConvert, f16, &[regs[r as usize]])?;
                writes.push((quad, Some(lane), x));
            }
        }
        let mut stores = Vec::with_capacity(writes.len());
        for (quad, lane, x) in writes {
            let ptr = match lane {
                None => {
                    let p = self.cx.pointer(StorageClass::Workgroup, f16x4);
                    self.cx.access_chain(p, vectors, &[quad])?
                }
                Some(lane) => {
                    let p = self.cx.pointer(StorageClass::Workgroup, f16);
                    self.cx.access_chain(p, vectors, &[quad, lane])?
                }
            };
            stores.push((ptr, x));
        }
        self.store_primary(&layout, &stores)
    }

    /// `dot(a, b, acc)` planned `CooperativeTiles`: the accumulator and the result are this
    /// subgroup's matrices (`dst`). This execution's buffer of the staging array (a barrier
    /// first with one buffer) takes `a` and `b` as f16, a barrier, then for each K step the
    /// subgroup loads the fragments of `a` for its rows of matrices and of `b` for its columns
    /// once each and multiplies every pair into its matrices. Nothing goes back to memory.
    pub(crate) fn coop_tiles_dot(
        &mut self,
        id: InstId,
        a: ValueId,
        b: ValueId,
        acc: ValueId,
        dst: &Cooperative,
        staging: &CoopStaging,
    ) -> R<Val> {
        let plan = self.coop_arrays()?;
        let vectors = self.staging_array()?;
        let (m, k) = (self.kernel.ty(a).shape[0], self.kernel.ty(a).shape[1]);
        let (sa, sb) = (staging.a_row_stride, staging.b_row_stride);
        let accs = self.regs(acc)?;
        let [rows, cols] = dst.tiles();
        if accs.len() != (rows * cols) as usize || k % plan.k != 0 || sa % 4 != 0 || sb % 4 != 0 {
            return Err(Diagnostic::internal(
                "a cooperative dot whose tiles do not fit its plan",
            ));
        }
        let u = self.cx.u32();
        if staging.stages <= 1 {
            self.barrier()?;
        }
        let a_base = self.buffer_start(
            id,
            staging.stages,
            staging.region.offset / 2,
            staging.buffer_halves(m, k),
        )?;
        let b_offset = self.cx.const_u32(m * sa);
        let b_base = self.cx.op(Op::IAdd, u, &[a_base, b_offset])?;
        self.stage_halves(a, a_base, sa)?;
        self.stage_halves(b, b_base, sb)?;
        self.barrier()?;

        let ty_a = self.matrix_type(USE_A)?;
        let ty_b = self.matrix_type(USE_B)?;
        let ty_c = self.matrix_type(USE_ACC)?;
        let f16 = self.cx.compute_ty(ScalarType::F16);
        let f16x4 = self.cx.vector(f16, 4);
        // Where this subgroup's first matrix starts: its first row of `a`, its first column of
        // `b` (halves from the buffers' starts).
        let (row, col) = self.matrix_origin(dst, 0)?;
        let a_rows = self.scaled(row, sa)?;
        let a_rows = self.cx.op(Op::IAdd, u, &[a_rows, a_base])?;
        let first_col = self.cx.op(Op::IAdd, u, &[col, b_base])?;
        let two = self.cx.const_u32(2);
        let quad = |e: &mut Self, halves: Word| e.cx.op(Op::ShiftRightLogical, u, &[halves, two]);
        let mut out = accs;
        for kk in 0..k / plan.k {
            let mut a_frags = Vec::with_capacity(rows as usize);
            for i in 0..rows {
                let off = self.cx.const_u32(i * plan.m * sa + kk * plan.k);
                let at = self.cx.op(Op::IAdd, u, &[a_rows, off])?;
                let at = quad(self, at)?;
                a_frags.push(self.coop_load(ty_a, vectors, f16x4, at, sa / 4)?);
            }
            let mut b_frags = Vec::with_capacity(cols as usize);
            for j in 0..cols {
                let off = self.cx.const_u32(kk * plan.k * sb + j * plan.n);
                let at = self.cx.op(Op::IAdd, u, &[first_col, off])?;
                let at = quad(self, at)?;
                b_frags.push(self.coop_load(ty_b, vectors, f16x4, at, sb / 4)?);
            }
            for (r, c) in out.iter_mut().enumerate() {
                let (i, j) = (r / cols as usize, r % cols as usize);
                *c = self
                    .cx
                    .b
                    .cooperative_matrix_mul_add_khr(ty_c, None, a_frags[i], b_frags[j], *c, None)
                    .map_err(ice)?;
            }
        }
        Ok(Val::Regs(out))
    }

    /// `x * factor` (u32).
    fn scaled(&mut self, x: Word, factor: u32) -> R<Word> {
        let u = self.cx.u32();
        let f = self.cx.const_u32(factor);
        self.cx.op(Op::IMul, u, &[x, f])
    }

    /// A pointer to element `at` of the workgroup array `var` of `elem`s.
    fn array_element(&mut self, var: Word, elem: Word, at: Word) -> R<Word> {
        let ptr_ty = self.cx.pointer(StorageClass::Workgroup, elem);
        self.cx.access_chain(ptr_ty, var, &[at])
    }

    /// The cooperative matrix of type `ty` at element `at` of `var`, rows `stride` apart.
    fn coop_load(&mut self, ty: Word, var: Word, elem: Word, at: Word, stride: u32) -> R<Word> {
        let ptr = self.array_element(var, elem, at)?;
        let layout = self.cx.const_u32(ROW_MAJOR);
        let stride = self.cx.const_u32(stride);
        let access = self.cx.workgroup_access();
        self.cx
            .b
            .cooperative_matrix_load_khr(ty, None, ptr, layout, Some(stride), access, [])
            .map_err(ice)
    }

    /// Writes every register of the 2-d tile `value` (converted to `elem`) at
    /// `base + row * cols + col` of the workgroup array `var`; only primary copies write.
    fn stage_typed(&mut self, value: ValueId, var: Word, elem: Word, base: u32) -> R<()> {
        let layout = self.layout(value);
        let shape = self.kernel.ty(value).shape.clone();
        let regs = self.regs(value)?;
        let f32 = self.cx.f32();
        let u = self.cx.u32();
        let mut writes = Vec::with_capacity(regs.len());
        for (r, &x) in regs.iter().enumerate() {
            let coords = self.coords(&layout, r as u32)?;
            let idx = self.linear_index(&coords, &shape)?;
            let bc = self.cx.const_u32(base);
            let at = self.cx.op(Op::IAdd, u, &[idx, bc])?;
            let x = if elem == f32 {
                x
            } else {
                self.cx.op(Op::FConvert, elem, &[x])?
            };
            writes.push((self.array_element(var, elem, at)?, x));
        }
        self.store_primary(&layout, &writes)
    }
}
