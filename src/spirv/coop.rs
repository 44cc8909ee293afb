//! `dot` on cooperative matrices (`SPV_KHR_cooperative_matrix`), for the `dot`s the schedule
//! lists in `ir::layout::CoopPlan`:
//!
//! 1. every invocation writes its registers of `a` and `b` as f16 (exact: they were converted
//!    from f16) into the workgroup array `tk_coop_h` (`a` row-major `[M, K]`, then `b` row-major
//!    `[K, N]`) and of the accumulator as f32 into `tk_coop_f` (`[M, N]`); barrier;
//! 2. each subgroup takes the `m×n` result tiles `SubgroupId, SubgroupId + NumSubgroups, …`: it
//!    loads the tile of the accumulator, multiplies-adds the `m×k` and `k×n` tiles along K
//!    (`OpCooperativeMatrixMulAddKHR`) and stores the tile back; barrier;
//! 3. every invocation reads its result registers from `tk_coop_f`; barrier.
//!
//! The tiles' loop bounds depend on the subgroup only, so every cooperative operation runs in
//! subgroup-uniform control flow, as the extension requires.
use super::ctx::{ice, R};
use super::{Emitter, Val};
use crate::base::{Diagnostic, ScalarType};
use crate::ir::{Layout, ValueId};
use rspirv::dr::Operand;
use spirv::{BuiltIn, Capability, Decoration, Op, StorageClass, Word};

/// `MatrixAKHR`, `MatrixBKHR` and `MatrixAccumulatorKHR` (the `Use` operand of the type).
const USE_A: u32 = 0;
const USE_B: u32 = 1;
const USE_ACC: u32 = 2;
/// `RowMajorKHR`.
const ROW_MAJOR: u32 = 0;

/// The module-level state of the cooperative path: the two arrays and the subgroup builtins.
pub(crate) struct Coop {
    halves: Word,
    floats: Word,
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
        let halves = array(self, f16, plan.halves, "tk_coop_h");
        let floats = array(self, f32, plan.floats, "tk_coop_f");
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
        let plan = self
            .schedule
            .coop
            .clone()
            .ok_or_else(|| Diagnostic::internal("a cooperative dot without a plan"))?;
        let (halves, floats, subgroup_id, num_subgroups) = match &self.coop {
            Some(c) => (c.halves, c.floats, c.subgroup_id, c.num_subgroups),
            None => return Err(Diagnostic::internal("cooperative arrays not declared")),
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
            writes.push((at, x));
        }
        let primary = self.thread_primary(&layout)?;
        let mut write_all = |e: &mut Self| -> R<()> {
            for &(at, x) in &writes {
                let ptr = e.array_element(var, elem, at)?;
                e.cx.workgroup_store(ptr, x)?;
            }
            Ok(())
        };
        match primary {
            None => write_all(self),
            Some(p) => self.guarded(p, &mut write_all),
        }
    }
}
