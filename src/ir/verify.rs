//! The IR verifier: checks types, shapes, dominance and stage invariants. Run after lowering and
//! after every pass; a failure is an internal compiler error.
//!
//! Visibility: a value is visible after its definition in its own region and in the regions nested
//! in it. The values of a `While`'s `cond_region` are also visible in its `body`, which they
//! dominate. `Break` and `Continue` must sit in a loop body (not in a `cond_region`).
use super::*;

/// Checks `module`; the error names the first offending instruction (`%12: …`).
pub fn verify(module: &Module) -> Result<(), String> {
    let kernel = &module.kernel;
    let mut ctx = Ctx {
        kernel,
        visible: vec![false; kernel.insts.len()],
        placed: vec![false; kernel.insts.len()],
        loop_depth: 0,
    };
    for (index, param) in kernel.params.iter().enumerate() {
        if let ParamKind::Scalar(ty) = param.kind {
            if !matches!(
                ty,
                ScalarType::I32
                    | ScalarType::U32
                    | ScalarType::I64
                    | ScalarType::U64
                    | ScalarType::F32
                    | ScalarType::F16
                    | ScalarType::Bool
            ) {
                return Err(format!(
                    "parameter {index} `{}`: {ty} is not a kernel scalar type",
                    param.name
                ));
            }
        }
    }
    for (id, local) in kernel.locals.iter() {
        ctx.check_type(&local.ty)
            .map_err(|m| format!("local ${}: {m}", id.index()))?;
    }
    ctx.region(&kernel.body)?;
    check_stage(kernel, &ctx.placed)
}

struct Ctx<'a> {
    kernel: &'a Kernel,
    /// Values visible at the current point.
    visible: Vec<bool>,
    /// Instructions already met in some region (each may appear once).
    placed: Vec<bool>,
    loop_depth: u32,
}

fn fail<T>(id: InstId, message: impl Into<String>) -> Result<T, String> {
    Err(format!("%{}: {}", id.index(), message.into()))
}

fn show(ty: &Type) -> String {
    super::print::type_text(ty)
}

fn is_pow2_shape(shape: &[u32]) -> bool {
    shape.iter().all(|&d| d.is_power_of_two())
}

impl<'a> Ctx<'a> {
    /// Verifies a region's instructions in order and hides its values afterwards.
    fn region(&mut self, region: &Region) -> Result<(), String> {
        let defined = self.region_keep(region)?;
        self.hide(&defined);
        Ok(())
    }

    /// Verifies a region and returns the values it defined, still visible.
    fn region_keep(&mut self, region: &Region) -> Result<Vec<InstId>, String> {
        let mut defined = Vec::new();
        for &id in &region.insts {
            if id.index() >= self.kernel.insts.len() {
                return fail(id, "instruction id out of range");
            }
            if self.placed[id.index()] {
                return fail(id, "instruction appears in more than one place");
            }
            self.placed[id.index()] = true;
            self.inst(id)?;
            if self.kernel.insts[id].ty.is_some() {
                self.visible[id.index()] = true;
                defined.push(id);
            }
        }
        Ok(defined)
    }

    fn hide(&mut self, defined: &[InstId]) {
        for id in defined {
            self.visible[id.index()] = false;
        }
    }

    fn check_type(&self, ty: &Type) -> Result<(), String> {
        if ty.shape.len() > 4 {
            return Err(format!("{} has more than 4 dims", show(ty)));
        }
        // The checker allows any dim; `passes::pad` rounds them up before scheduling.
        if self.kernel.stage != Stage::Lowered && !is_pow2_shape(&ty.shape) {
            return Err(format!("{} has a dim that is not a power of two", show(ty)));
        }
        if ty.num_elements() > 1 << 20 {
            return Err(format!("{} has more than 2^20 elements", show(ty)));
        }
        if let Elem::Ptr {
            pointee,
            mutable,
            param,
        } = ty.elem
        {
            match self.kernel.params.get(param as usize).map(|p| p.kind) {
                Some(ParamKind::Pointer {
                    pointee: p,
                    mutable: m,
                }) if p == pointee && m == mutable => {}
                _ => {
                    return Err(format!(
                        "{} does not match pointer parameter {param}",
                        show(ty)
                    ))
                }
            }
        }
        Ok(())
    }

    /// The type of an operand of `user`, which must be visible.
    fn operand(&self, user: InstId, value: ValueId) -> Result<&'a Type, String> {
        let kernel = self.kernel;
        if value.index() >= kernel.insts.len() {
            return fail(user, format!("operand %{} does not exist", value.index()));
        }
        if !self.visible[value.index()] {
            return fail(
                user,
                format!("operand %{} is not defined before use here", value.index()),
            );
        }
        match &kernel.insts[value].ty {
            Some(ty) => Ok(ty),
            None => fail(user, format!("operand %{} has no value", value.index())),
        }
    }

    fn scalar_operand(&self, user: InstId, value: ValueId) -> Result<ScalarType, String> {
        let ty = self.operand(user, value)?;
        match ty.elem {
            Elem::Scalar(t) => Ok(t),
            Elem::Ptr { .. } => fail(user, format!("%{} is a pointer", value.index())),
        }
    }

    fn expect_scalar_bool(&self, user: InstId, value: ValueId) -> Result<(), String> {
        let ty = self.operand(user, value)?;
        if *ty != Type::scalar(ScalarType::Bool) {
            return fail(
                user,
                format!(
                    "condition %{} is {}, not a scalar bool",
                    value.index(),
                    show(ty)
                ),
            );
        }
        Ok(())
    }

    fn expect_same(&self, user: InstId, what: &str, got: &Type, want: &Type) -> Result<(), String> {
        if got != want {
            return fail(
                user,
                format!("{what} is {}, expected {}", show(got), show(want)),
            );
        }
        Ok(())
    }

    fn inst(&mut self, id: InstId) -> Result<(), String> {
        let kernel = self.kernel;
        let inst = &kernel.insts[id];
        let produces_value = !matches!(
            inst.kind,
            InstKind::Store { .. }
                | InstKind::LocalSet { .. }
                | InstKind::If { .. }
                | InstKind::For { .. }
                | InstKind::While { .. }
                | InstKind::Break
                | InstKind::Continue
                | InstKind::Return
                | InstKind::Assert { .. }
                | InstKind::Print { .. }
        );
        let result = match (&inst.ty, produces_value) {
            (Some(ty), true) => {
                self.check_type(ty).or_else(|m| fail(id, m))?;
                Some(ty)
            }
            (None, false) => None,
            (Some(_), false) => return fail(id, "this instruction produces no value"),
            (None, true) => return fail(id, "missing result type"),
        };
        // Shorthands for value-producing instructions.
        let ty = || result.expect("value instruction");
        let result_scalar = || ty().scalar_type();
        match &inst.kind {
            InstKind::Const(lit) => {
                let ok = match (ty().elem, lit) {
                    (_, _) if !ty().is_scalar() => false,
                    (Elem::Scalar(t), Literal::Bool(_)) => t.is_bool(),
                    (Elem::Scalar(t), Literal::Int(_)) => t.is_int() || t.is_float(),
                    (Elem::Scalar(t), Literal::Float(_)) => t.is_float(),
                    (Elem::Ptr { .. }, _) => false,
                };
                if !ok {
                    return fail(
                        id,
                        format!("constant {lit:?} cannot have type {}", show(ty())),
                    );
                }
            }
            InstKind::Param(n) => {
                let want = match kernel.params.get(*n as usize).map(|p| p.kind) {
                    None => return fail(id, format!("no parameter {n}")),
                    Some(ParamKind::Pointer { pointee, mutable }) => Type {
                        elem: Elem::Ptr {
                            pointee,
                            mutable,
                            param: *n,
                        },
                        shape: Vec::new(),
                    },
                    Some(ParamKind::Scalar(t)) => Type::scalar(t),
                };
                self.expect_same(id, "parameter value", ty(), &want)?;
            }
            InstKind::ProgramId(axis) | InstKind::NumPrograms(axis) => {
                if *axis > 2 {
                    return fail(id, format!("grid axis {axis} is not 0, 1 or 2"));
                }
                self.expect_same(id, "result", ty(), &Type::scalar(ScalarType::I32))?;
            }
            InstKind::Arange { .. } => {
                if ty().elem != Elem::Scalar(ScalarType::I32) || ty().shape.len() != 1 {
                    return fail(id, format!("arange gives i32[N], not {}", show(ty())));
                }
            }
            InstKind::Splat(value) => {
                let operand = self.operand(id, *value)?;
                if !operand.is_scalar() || ty().is_scalar() || operand.elem != ty().elem {
                    return fail(
                        id,
                        format!("cannot splat {} to {}", show(operand), show(ty())),
                    );
                }
            }
            InstKind::Broadcast(value) => {
                let operand = self.operand(id, *value)?;
                let fits = operand.elem == ty().elem
                    && operand.shape.len() == ty().shape.len()
                    && operand
                        .shape
                        .iter()
                        .zip(&ty().shape)
                        .all(|(&from, &to)| from == to || from == 1);
                if !fits {
                    return fail(
                        id,
                        format!("cannot broadcast {} to {}", show(operand), show(ty())),
                    );
                }
            }
            InstKind::ExpandDims { value, axis } => {
                let operand = self.operand(id, *value)?;
                if *axis as usize > operand.shape.len() {
                    return fail(
                        id,
                        format!("axis {axis} out of range for {}", show(operand)),
                    );
                }
                let mut shape = operand.shape.clone();
                shape.insert(*axis as usize, 1);
                self.expect_same(id, "result", ty(), &operand.with_shape(shape))?;
            }
            InstKind::Unary { op, value } => {
                let operand = self.operand(id, *value)?;
                self.expect_same(id, "result", ty(), operand)?;
                let t = self.scalar_operand(id, *value)?;
                let ok = match op {
                    UnaryOp::Not => t.is_bool(),
                    UnaryOp::BitNot => t.is_int(),
                    UnaryOp::Neg | UnaryOp::Abs => t.is_int() || t.is_float(),
                    _ => t.is_float(),
                };
                if !ok {
                    return fail(id, format!("{op:?} is not defined on {t}"));
                }
            }
            InstKind::Binary { op, lhs, rhs } => {
                let a = self.operand(id, *lhs)?;
                let b = self.operand(id, *rhs)?;
                self.expect_same(id, "right operand", b, a)?;
                self.expect_same(id, "result", ty(), a)?;
                let t = self.scalar_operand(id, *lhs)?;
                let ok = match op {
                    BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => t.is_int() || t.is_bool(),
                    BinaryOp::Shl | BinaryOp::Shr | BinaryOp::MulHi => t.is_int(),
                    _ => t.is_int() || t.is_float(),
                };
                if !ok {
                    return fail(id, format!("{op:?} is not defined on {t}"));
                }
            }
            InstKind::Compare { lhs, rhs, .. } => {
                let a = self.operand(id, *lhs)?;
                let b = self.operand(id, *rhs)?;
                self.expect_same(id, "right operand", b, a)?;
                self.scalar_operand(id, *lhs)?;
                let want = Type::tile(ScalarType::Bool, a.shape.clone());
                self.expect_same(id, "result", ty(), &want)?;
            }
            InstKind::Select {
                cond,
                on_true,
                on_false,
            } => {
                let c = self.operand(id, *cond)?;
                let a = self.operand(id, *on_true)?;
                let b = self.operand(id, *on_false)?;
                let want_cond = mask_type(ty());
                self.expect_same(id, "condition", c, &want_cond)?;
                self.expect_same(id, "true operand", a, ty())?;
                self.expect_same(id, "false operand", b, ty())?;
            }
            InstKind::Cast(value) => {
                let operand = self.operand(id, *value)?;
                self.scalar_operand(id, *value)?;
                if result_scalar().is_none() || operand.shape != ty().shape {
                    return fail(
                        id,
                        format!("cannot cast {} to {}", show(operand), show(ty())),
                    );
                }
            }
            InstKind::Bitcast(value) => {
                let operand = self.operand(id, *value)?;
                let from = self.scalar_operand(id, *value)?;
                let same_width = result_scalar().is_some_and(|to| to.bits() == from.bits());
                if !same_width || operand.shape != ty().shape {
                    return fail(
                        id,
                        format!("cannot bitcast {} to {}", show(operand), show(ty())),
                    );
                }
            }
            InstKind::Reshape(value) => {
                let operand = self.operand(id, *value)?;
                if operand.elem != ty().elem || operand.num_elements() != ty().num_elements() {
                    return fail(
                        id,
                        format!("cannot reshape {} to {}", show(operand), show(ty())),
                    );
                }
            }
            InstKind::Permute { value, perm } => {
                let operand = self.operand(id, *value)?;
                let mut seen = perm.clone();
                seen.sort();
                let is_perm = seen.iter().enumerate().all(|(i, &p)| p as usize == i)
                    && perm.len() == operand.shape.len();
                if !is_perm {
                    return fail(
                        id,
                        format!("{perm:?} is not a permutation of {}", show(operand)),
                    );
                }
                let shape = perm.iter().map(|&p| operand.shape[p as usize]).collect();
                self.expect_same(id, "result", ty(), &operand.with_shape(shape))?;
            }
            InstKind::Dot { a, b, acc } => {
                let (ta, tb, tc) = (
                    self.operand(id, *a)?,
                    self.operand(id, *b)?,
                    self.operand(id, *acc)?,
                );
                let f32_tile =
                    |t: &Type| t.elem == Elem::Scalar(ScalarType::F32) && t.shape.len() == 2;
                let fits = [ta, tb, tc, ty()].iter().all(|t| f32_tile(t))
                    && ta.shape[1] == tb.shape[0]
                    && tc.shape == vec![ta.shape[0], tb.shape[1]]
                    && ty().shape == tc.shape;
                if !fits {
                    return fail(
                        id,
                        format!(
                            "dot of {} and {} into {} cannot give {}",
                            show(ta),
                            show(tb),
                            show(tc),
                            show(ty())
                        ),
                    );
                }
            }
            InstKind::Fma { a, b, c } => {
                for (what, v) in [("a", a), ("b", b), ("c", c)] {
                    let operand = self.operand(id, *v)?;
                    self.expect_same(id, what, operand, ty())?;
                }
                if !result_scalar().is_some_and(|t| t.is_float() || t.is_int()) {
                    return fail(id, format!("fma is not defined on {}", show(ty())));
                }
            }
            InstKind::PtrOffset { ptr, offset } => {
                let p = self.operand(id, *ptr)?;
                let o = self.operand(id, *offset)?;
                if !matches!(p.elem, Elem::Ptr { .. }) {
                    return fail(id, format!("offset of a non-pointer {}", show(p)));
                }
                if !o.scalar_type().is_some_and(|t| t.is_int()) || o.shape != p.shape {
                    return fail(
                        id,
                        format!("offset {} does not fit pointer {}", show(o), show(p)),
                    );
                }
                self.expect_same(id, "result", ty(), p)?;
            }
            InstKind::Load { ptr, mask, other } => {
                let p = self.operand(id, *ptr)?;
                let Elem::Ptr { pointee, .. } = p.elem else {
                    return fail(id, format!("load from a non-pointer {}", show(p)));
                };
                let want = Type::tile(pointee, p.shape.clone());
                self.expect_same(id, "result", ty(), &want)?;
                if let Some(m) = mask {
                    let m = self.operand(id, *m)?;
                    self.expect_same(id, "mask", m, &mask_type(p))?;
                }
                if let Some(o) = other {
                    let o = self.operand(id, *o)?;
                    self.expect_same(id, "other", o, &want)?;
                }
            }
            InstKind::Store { ptr, value, mask } => {
                let p = self.operand(id, *ptr)?;
                let Elem::Ptr {
                    pointee, mutable, ..
                } = p.elem
                else {
                    return fail(id, format!("store to a non-pointer {}", show(p)));
                };
                if !mutable {
                    return fail(id, format!("store through a read-only pointer {}", show(p)));
                }
                let want = Type::tile(pointee, p.shape.clone());
                let v = self.operand(id, *value)?;
                self.expect_same(id, "stored value", v, &want)?;
                if let Some(m) = mask {
                    let m = self.operand(id, *m)?;
                    self.expect_same(id, "mask", m, &mask_type(p))?;
                }
            }
            InstKind::Atomic {
                op,
                ptr,
                value,
                cmp,
                mask,
            } => {
                let p = self.operand(id, *ptr)?;
                let Elem::Ptr {
                    pointee, mutable, ..
                } = p.elem
                else {
                    return fail(id, format!("atomic on a non-pointer {}", show(p)));
                };
                if !mutable {
                    return fail(
                        id,
                        format!("atomic through a read-only pointer {}", show(p)),
                    );
                }
                let ok = match pointee {
                    ScalarType::I32 | ScalarType::U32 => true,
                    ScalarType::F32 => *op == crate::ir::AtomicOp::Add,
                    _ => false,
                };
                if !ok {
                    return fail(id, format!("atomic {op:?} on `{pointee}` elements"));
                }
                let want = Type::tile(pointee, p.shape.clone());
                self.expect_same(id, "result", ty(), &want)?;
                let v = self.operand(id, *value)?;
                self.expect_same(id, "atomic value", v, &want)?;
                if (*op == crate::ir::AtomicOp::Cas) != cmp.is_some() {
                    return fail(id, "`cmp` is present exactly for cas");
                }
                if let Some(c) = cmp {
                    let c = self.operand(id, *c)?;
                    self.expect_same(id, "cmp", c, &want)?;
                }
                if let Some(m) = mask {
                    let m = self.operand(id, *m)?;
                    self.expect_same(id, "mask", m, &mask_type(p))?;
                }
            }
            InstKind::Reduce { value, axis, .. } => {
                let operand = self.operand(id, *value)?;
                self.scalar_operand(id, *value)?;
                if operand.is_scalar() {
                    return fail(id, "reduction of a scalar");
                }
                let mut shape = operand.shape.clone();
                match axis {
                    Some(a) if (*a as usize) < shape.len() => {
                        shape.remove(*a as usize);
                    }
                    Some(a) => {
                        return fail(id, format!("axis {a} out of range for {}", show(operand)))
                    }
                    None => shape.clear(),
                }
                self.expect_same(id, "result", ty(), &operand.with_shape(shape))?;
            }
            InstKind::Scan { value, axis, .. } => {
                let operand = self.operand(id, *value)?;
                self.scalar_operand(id, *value)?;
                if operand.scalar_type().is_some_and(|t| t.is_bool()) {
                    return fail(id, "scan of bools");
                }
                if *axis as usize >= operand.shape.len() {
                    return fail(
                        id,
                        format!("axis {axis} out of range for {}", show(operand)),
                    );
                }
                self.expect_same(id, "result", ty(), operand)?;
            }
            InstKind::ConvertLayout(value) => {
                if kernel.stage == Stage::Lowered {
                    return fail(id, "convert_layout before scheduling");
                }
                let operand = self.operand(id, *value)?;
                self.expect_same(id, "result", ty(), operand)?;
            }
            InstKind::LocalGet(local) => {
                let Some(l) = self.local(*local) else {
                    return fail(id, format!("local ${} does not exist", local.index()));
                };
                self.expect_same(id, "result", ty(), &l.ty)?;
            }
            InstKind::LocalSet { local, value } => {
                let Some(l) = self.local(*local) else {
                    return fail(id, format!("local ${} does not exist", local.index()));
                };
                let v = self.operand(id, *value)?;
                self.expect_same(id, &format!("value for ${}", local.index()), v, &l.ty)?;
            }
            InstKind::If {
                cond,
                then_region,
                else_region,
            } => {
                self.expect_scalar_bool(id, *cond)?;
                self.region(then_region)?;
                self.region(else_region)?;
            }
            InstKind::For {
                var,
                start,
                end,
                step,
                body,
            } => {
                let Some(l) = self.local(*var) else {
                    return fail(id, format!("local ${} does not exist", var.index()));
                };
                if !l.ty.is_scalar() || !l.ty.scalar_type().is_some_and(|t| t.is_int()) {
                    return fail(id, format!("loop variable has type {}", show(&l.ty)));
                }
                for (what, v) in [("start", start), ("end", end), ("step", step)] {
                    let operand = self.operand(id, *v)?;
                    self.expect_same(id, what, operand, &l.ty)?;
                }
                self.loop_depth += 1;
                self.region(body)?;
                self.loop_depth -= 1;
            }
            InstKind::While {
                cond_region,
                cond,
                body,
            } => {
                // Break and continue belong to the body, not to the condition.
                let depth = std::mem::replace(&mut self.loop_depth, 0);
                let defined = self.region_keep(cond_region)?;
                self.loop_depth = depth;
                if !defined.contains(cond) {
                    return fail(
                        id,
                        format!(
                            "condition %{} is not defined in the condition region",
                            cond.index()
                        ),
                    );
                }
                self.expect_scalar_bool(id, *cond)?;
                self.loop_depth += 1;
                let result = self.region(body);
                self.loop_depth -= 1;
                self.hide(&defined);
                result?;
            }
            InstKind::Break | InstKind::Continue => {
                if self.loop_depth == 0 {
                    return fail(id, "break or continue outside a loop body");
                }
            }
            InstKind::Return => {}
            InstKind::Assert { cond, .. } => {
                let c = self.scalar_operand(id, *cond)?;
                if !c.is_bool() {
                    return fail(id, "assert condition is not bool");
                }
            }
            InstKind::Print { value, .. } => {
                if let Some(v) = value {
                    self.scalar_operand(id, *v)?;
                }
            }
        }
        Ok(())
    }

    fn local(&self, local: LocalId) -> Option<&'a Local> {
        (local.index() < self.kernel.locals.len()).then(|| &self.kernel.locals[local])
    }
}

/// A bool tile of `ty`'s shape (the type of a mask).
fn mask_type(ty: &Type) -> Type {
    Type::tile(ScalarType::Bool, ty.shape.clone())
}

/// Stage invariants; only instructions placed in the body count (passes may leave dead ones in
/// the arena).
fn check_stage(kernel: &Kernel, placed: &[bool]) -> Result<(), String> {
    match kernel.stage {
        Stage::Lowered => {
            if kernel.schedule.is_some() {
                return Err("a Lowered kernel has a schedule".into());
            }
            Ok(())
        }
        Stage::LaidOut | Stage::Scheduled => {
            let Some(schedule) = &kernel.schedule else {
                return Err(format!("a {:?} kernel has no schedule", kernel.stage));
            };
            super::verify_schedule::check(kernel, schedule, placed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::builder::Builder;

    fn module(b: Builder) -> Module {
        Module { kernel: b.finish() }
    }

    fn out_param(b: &mut Builder, mutable: bool) -> ValueId {
        let index = b.add_param(
            "out",
            ParamKind::Pointer {
                pointee: ScalarType::F32,
                mutable,
            },
        );
        b.param(index)
    }

    #[test]
    fn accepts_a_simple_kernel() {
        let mut b = Builder::new("k");
        let out = out_param(&mut b, true);
        let x = b.const_f32(1.0);
        b.store(out, x, None);
        assert_eq!(verify(&module(b)), Ok(()));
    }

    #[test]
    fn rejects_mismatched_operands() {
        let mut b = Builder::new("k");
        let x = b.const_f32(1.0);
        let y = b.const_i32(2);
        b.binary(BinaryOp::Add, x, y);
        assert_eq!(
            verify(&module(b)),
            Err("%2: right operand is i32, expected f32".into())
        );
    }

    #[test]
    fn rejects_store_through_read_only_pointer() {
        let mut b = Builder::new("k");
        let out = out_param(&mut b, false);
        let x = b.const_f32(1.0);
        b.store(out, x, None);
        let error = verify(&module(b)).unwrap_err();
        assert!(
            error.starts_with("%2: store through a read-only pointer"),
            "{error}"
        );
    }

    #[test]
    fn rejects_use_outside_the_defining_region() {
        let mut b = Builder::new("k");
        let cond = b.constant(ScalarType::Bool, Literal::Bool(true));
        b.begin_region();
        let inner = b.const_i32(1);
        let then_region = b.end_region();
        b.push(
            InstKind::If {
                cond,
                then_region,
                else_region: Region::default(),
            },
            None,
        );
        b.binary(BinaryOp::Add, inner, inner);
        assert_eq!(
            verify(&module(b)),
            Err("%3: operand %1 is not defined before use here".into())
        );
    }

    #[test]
    fn rejects_use_before_definition() {
        let mut b = Builder::new("k");
        let x = b.const_i32(1);
        let later = ValueId::new(2);
        b.binary(BinaryOp::Add, x, later);
        b.const_i32(2);
        let error = verify(&module(b)).unwrap_err();
        assert!(
            error.starts_with("%1: operand %2 is not defined"),
            "{error}"
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        // Any dim before scheduling; powers of two from the `LaidOut` stage on.
        let mut b = Builder::new("k");
        let x = b.const_f32(1.0);
        b.splat(x, vec![3]);
        let mut m = module(b);
        assert_eq!(verify(&m), Ok(()));
        m.kernel.stage = Stage::LaidOut;
        let error = verify(&m).unwrap_err();
        assert!(error.contains("not a power of two"), "{error}");

        let mut b = Builder::new("k");
        let x = b.arange(0, 4);
        b.broadcast(x, vec![8]);
        assert_eq!(
            verify(&module(b)),
            Err("%1: cannot broadcast i32[4] to i32[8]".into())
        );

        let mut b = Builder::new("k");
        let x = b.arange(0, 4);
        b.push(
            InstKind::Reduce {
                op: ReduceOp::Sum,
                value: x,
                axis: Some(0),
            },
            Some(Type::tile(ScalarType::I32, vec![4])),
        );
        assert_eq!(
            verify(&module(b)),
            Err("%1: result is i32[4], expected i32".into())
        );
    }

    #[test]
    fn rejects_tile_condition_and_break_outside_loop() {
        let mut b = Builder::new("k");
        let x = b.arange(0, 4);
        let c = b.compare(CmpOp::Lt, x, x);
        b.push(
            InstKind::If {
                cond: c,
                then_region: Region::default(),
                else_region: Region::default(),
            },
            None,
        );
        assert_eq!(
            verify(&module(b)),
            Err("%2: condition %1 is bool[4], not a scalar bool".into())
        );

        let mut b = Builder::new("k");
        b.push(InstKind::Break, None);
        assert_eq!(
            verify(&module(b)),
            Err("%0: break or continue outside a loop body".into())
        );
    }

    #[test]
    fn rejects_local_set_of_another_type() {
        let mut b = Builder::new("k");
        let local = b.add_local("acc", Type::scalar(ScalarType::F32));
        let x = b.const_i32(1);
        b.local_set(local, x);
        assert_eq!(
            verify(&module(b)),
            Err("%1: value for $0 is i32, expected f32".into())
        );
    }

    #[test]
    fn checks_stage_invariants() {
        let mut b = Builder::new("k");
        let x = b.arange(0, 4);
        b.push(
            InstKind::ConvertLayout(x),
            Some(Type::tile(ScalarType::I32, vec![4])),
        );
        assert_eq!(
            verify(&module(b)),
            Err("%1: convert_layout before scheduling".into())
        );

        let mut b = Builder::new("k");
        b.arange(0, 4);
        let mut m = module(b);
        m.kernel.stage = Stage::Scheduled;
        assert_eq!(verify(&m), Err("a Scheduled kernel has no schedule".into()));
        let blocked = layout::Blocked {
            shape: vec![4],
            size_per_thread: vec![1],
            threads_per_dim: vec![4],
        };
        m.kernel.schedule = Some(Schedule {
            layouts: vec![Some(Layout::Blocked(blocked.clone()))],
            plans: vec![None],
            ..Schedule::new(4, 16384, false)
        });
        assert_eq!(verify(&m), Ok(()));
        // An arange has no choice to make, so no plan.
        m.kernel.schedule.as_mut().unwrap().plans[0] =
            Some(schedule::Plan::Dot(schedule::DotPlan::Cooperative));
        assert_eq!(
            verify(&m),
            Err("%0: has a plan but no choice to make".into())
        );
        m.kernel.schedule.as_mut().unwrap().plans[0] = None;
        let wrong = layout::Blocked {
            shape: vec![8],
            ..blocked
        };
        m.kernel.schedule.as_mut().unwrap().layouts[0] = Some(Layout::Blocked(wrong));
        assert_eq!(
            verify(&m),
            Err("%0: layout of shape [8] does not fit i32[4]".into())
        );
    }

    #[test]
    fn rejects_mask_of_another_shape_and_float_offsets() {
        let mut b = Builder::new("k");
        let index = b.add_param(
            "x",
            ParamKind::Pointer {
                pointee: ScalarType::F32,
                mutable: false,
            },
        );
        let x = b.param(index);
        let lanes = b.arange(0, 4);
        let ptrs = b.splat(x, vec![4]);
        let ptrs = b.ptr_offset(ptrs, lanes);
        let wide = b.arange(0, 8);
        let mask = b.compare(CmpOp::Lt, wide, wide);
        b.load(ptrs, Some(mask), None);
        assert_eq!(
            verify(&module(b)),
            Err("%6: mask is bool[8], expected bool[4]".into())
        );

        let mut b = Builder::new("k");
        let index = b.add_param(
            "x",
            ParamKind::Pointer {
                pointee: ScalarType::F32,
                mutable: false,
            },
        );
        let x = b.param(index);
        let offset = b.const_f32(1.0);
        b.ptr_offset(x, offset);
        assert_eq!(
            verify(&module(b)),
            Err("%2: offset f32 does not fit pointer *f32".into())
        );
    }

    #[test]
    fn rejects_bitcast_of_another_width_and_while_condition_elsewhere() {
        let mut b = Builder::new("k");
        let x = b.const_f32(1.0);
        b.push(InstKind::Bitcast(x), Some(Type::scalar(ScalarType::I16)));
        assert_eq!(
            verify(&module(b)),
            Err("%1: cannot bitcast f32 to i16".into())
        );

        let mut b = Builder::new("k");
        let cond = b.constant(ScalarType::Bool, Literal::Bool(false));
        b.push(
            InstKind::While {
                cond_region: Region::default(),
                cond,
                body: Region::default(),
            },
            None,
        );
        assert_eq!(
            verify(&module(b)),
            Err("%1: condition %0 is not defined in the condition region".into())
        );
    }
}
