//! A small builder for kernels: appends instructions to the current region, with nested regions
//! for control flow. Used by the checker and by tests that build IR by hand.
use super::*;
use crate::base::Span;

pub struct Builder {
    pub kernel: Kernel,
    /// The stack of regions being filled; the last is current.
    regions: Vec<Region>,
    /// Span given to the next instructions.
    pub span: Span,
}

impl Builder {
    pub fn new(name: impl Into<String>) -> Builder {
        Builder {
            kernel: Kernel::new(name),
            regions: vec![Region::default()],
            span: Span::default(),
        }
    }

    pub fn add_param(&mut self, name: impl Into<String>, kind: ParamKind) -> u32 {
        self.kernel.params.push(Param {
            name: name.into(),
            kind,
        });
        self.kernel.params.len() as u32 - 1
    }

    pub fn add_local(&mut self, name: impl Into<String>, ty: Type) -> LocalId {
        self.kernel.locals.alloc(Local {
            name: name.into(),
            ty,
        })
    }

    /// Appends an instruction to the current region.
    pub fn push(&mut self, kind: InstKind, ty: Option<Type>) -> InstId {
        let id = self.kernel.insts.alloc(Inst { kind, ty });
        self.kernel.spans.push(self.span);
        self.regions
            .last_mut()
            .expect("builder region stack empty")
            .insts
            .push(id);
        id
    }

    pub fn ty(&self, value: ValueId) -> &Type {
        self.kernel.ty(value)
    }

    /// Starts a nested region; finish it with `end_region`.
    pub fn begin_region(&mut self) {
        self.regions.push(Region::default());
    }
    pub fn end_region(&mut self) -> Region {
        assert!(self.regions.len() > 1, "end_region without begin_region");
        self.regions.pop().unwrap()
    }

    /// The point where the next instruction of the current region goes, for `insert_at`.
    pub fn mark(&self) -> (usize, usize) {
        let depth = self.regions.len() - 1;
        (depth, self.regions[depth].insts.len())
    }

    /// Builds instructions with `f` and inserts them at `mark`, which must be in a region still
    /// being filled (the current one or one it is nested in).
    pub fn insert_at<R>(&mut self, mark: (usize, usize), f: impl FnOnce(&mut Builder) -> R) -> R {
        self.begin_region();
        let out = f(self);
        let insts = self.end_region().insts;
        let (depth, index) = mark;
        self.regions[depth].insts.splice(index..index, insts);
        out
    }

    pub fn finish(mut self) -> Kernel {
        assert_eq!(self.regions.len(), 1, "unbalanced regions");
        self.kernel.body = self.regions.pop().unwrap();
        self.kernel
    }

    // ---- convenience constructors ------------------------------------------------------------

    pub fn constant(&mut self, ty: ScalarType, value: Literal) -> ValueId {
        self.push(InstKind::Const(value), Some(Type::scalar(ty)))
    }
    pub fn const_i32(&mut self, value: i32) -> ValueId {
        self.constant(ScalarType::I32, Literal::Int(value as i128))
    }
    pub fn const_f32(&mut self, value: f32) -> ValueId {
        self.constant(ScalarType::F32, Literal::Float(value as f64))
    }
    pub fn param(&mut self, index: u32) -> ValueId {
        let ty = match self.kernel.params[index as usize].kind {
            ParamKind::Pointer { pointee, mutable } => Type {
                elem: Elem::Ptr {
                    pointee,
                    mutable,
                    param: index,
                },
                shape: Vec::new(),
            },
            ParamKind::Scalar(t) => Type::scalar(t),
        };
        self.push(InstKind::Param(index), Some(ty))
    }
    pub fn program_id(&mut self, axis: u32) -> ValueId {
        self.push(
            InstKind::ProgramId(axis),
            Some(Type::scalar(ScalarType::I32)),
        )
    }
    pub fn arange(&mut self, start: i64, len: u32) -> ValueId {
        self.push(
            InstKind::Arange { start },
            Some(Type::tile(ScalarType::I32, vec![len])),
        )
    }
    pub fn splat(&mut self, scalar: ValueId, shape: Vec<u32>) -> ValueId {
        let ty = self.ty(scalar).with_shape(shape);
        self.push(InstKind::Splat(scalar), Some(ty))
    }
    pub fn broadcast(&mut self, value: ValueId, shape: Vec<u32>) -> ValueId {
        let ty = self.ty(value).with_shape(shape);
        self.push(InstKind::Broadcast(value), Some(ty))
    }
    pub fn expand_dims(&mut self, value: ValueId, axis: u32) -> ValueId {
        let mut ty = self.ty(value).clone();
        ty.shape.insert(axis as usize, 1);
        self.push(InstKind::ExpandDims { value, axis }, Some(ty))
    }
    pub fn unary(&mut self, op: UnaryOp, value: ValueId) -> ValueId {
        let ty = self.ty(value).clone();
        self.push(InstKind::Unary { op, value }, Some(ty))
    }
    pub fn binary(&mut self, op: BinaryOp, lhs: ValueId, rhs: ValueId) -> ValueId {
        let ty = self.ty(lhs).clone();
        self.push(InstKind::Binary { op, lhs, rhs }, Some(ty))
    }
    pub fn compare(&mut self, op: CmpOp, lhs: ValueId, rhs: ValueId) -> ValueId {
        let ty = Type::tile(ScalarType::Bool, self.ty(lhs).shape.clone());
        self.push(InstKind::Compare { op, lhs, rhs }, Some(ty))
    }
    pub fn select(&mut self, cond: ValueId, on_true: ValueId, on_false: ValueId) -> ValueId {
        let ty = self.ty(on_true).clone();
        self.push(
            InstKind::Select {
                cond,
                on_true,
                on_false,
            },
            Some(ty),
        )
    }
    pub fn cast(&mut self, value: ValueId, to: ScalarType) -> ValueId {
        let ty = Type::tile(to, self.ty(value).shape.clone());
        self.push(InstKind::Cast(value), Some(ty))
    }
    pub fn ptr_offset(&mut self, ptr: ValueId, offset: ValueId) -> ValueId {
        let ty = self.ty(ptr).clone();
        self.push(InstKind::PtrOffset { ptr, offset }, Some(ty))
    }
    pub fn load(&mut self, ptr: ValueId, mask: Option<ValueId>, other: Option<ValueId>) -> ValueId {
        let ptr_ty = self.ty(ptr).clone();
        let pointee = match ptr_ty.elem {
            Elem::Ptr { pointee, .. } => pointee,
            Elem::Scalar(_) => panic!("load from a non-pointer"),
        };
        self.push(
            InstKind::Load { ptr, mask, other },
            Some(Type::tile(pointee, ptr_ty.shape)),
        )
    }
    pub fn store(&mut self, ptr: ValueId, value: ValueId, mask: Option<ValueId>) -> InstId {
        self.push(InstKind::Store { ptr, value, mask }, None)
    }
    pub fn reduce(&mut self, op: ReduceOp, value: ValueId, axis: Option<u32>) -> ValueId {
        let mut ty = self.ty(value).clone();
        match axis {
            Some(a) => {
                ty.shape.remove(a as usize);
            }
            None => ty.shape.clear(),
        }
        self.push(InstKind::Reduce { op, value, axis }, Some(ty))
    }
    pub fn scan(&mut self, op: ScanOp, value: ValueId, axis: u32) -> ValueId {
        let ty = self.ty(value).clone();
        self.push(InstKind::Scan { op, value, axis }, Some(ty))
    }
    pub fn local_get(&mut self, local: LocalId) -> ValueId {
        let ty = self.kernel.locals[local].ty.clone();
        self.push(InstKind::LocalGet(local), Some(ty))
    }
    pub fn local_set(&mut self, local: LocalId, value: ValueId) -> InstId {
        self.push(InstKind::LocalSet { local, value }, None)
    }
}
