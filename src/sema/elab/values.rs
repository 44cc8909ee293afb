//! The value model's helpers: operand types for the literal typing rule, descriptions for
//! messages, giving untyped literals a type, materialising values as instructions of a type and
//! shape, and numpy broadcasting of several operands.
use super::{broadcast_shapes, padded_count, type_text, Elab, OpTy, Val, MAX_ELEMENTS};
use crate::base::{Literal, ScalarType, Span};
use crate::ir::{Elem, Type, ValueId};
use crate::sema::{diags, fold};

impl Elab<'_> {
    pub(super) fn rt_type(&self, id: ValueId) -> Type {
        self.b.ty(id).clone()
    }

    /// The element of a value for the typing rule; `None` for pointers, units and errors.
    pub(super) fn op_ty(&self, v: &Val) -> Option<OpTy> {
        match v {
            Val::Known { ty: Some(t), .. } => Some(OpTy::Typed(*t)),
            Val::Known {
                ty: None,
                lit: Literal::Float(_),
            } => Some(OpTy::UntypedFloat),
            Val::Known { ty: None, .. } => Some(OpTy::UntypedInt),
            Val::Rt(id) => self.rt_type(*id).scalar_type().map(OpTy::Typed),
            _ => None,
        }
    }

    pub(super) fn shape_of(&self, v: &Val) -> Vec<u32> {
        match v {
            Val::Rt(id) => self.b.ty(*id).shape.clone(),
            _ => Vec::new(),
        }
    }

    pub(super) fn is_pointer(&self, v: &Val) -> bool {
        matches!(v, Val::Rt(id) if matches!(self.b.ty(*id).elem, Elem::Ptr { .. }))
    }

    /// A short description of a value's type for messages.
    pub(super) fn describe(&self, v: &Val) -> String {
        match v {
            Val::Known { ty: Some(t), .. } => format!("`{t}`"),
            Val::Known {
                ty: None,
                lit: Literal::Float(_),
            } => "a float literal".into(),
            Val::Known { ty: None, .. } => "an integer literal".into(),
            Val::Rt(id) => format!("`{}`", type_text(self.b.ty(*id))),
            Val::Unit => "no value".into(),
            Val::Error => "{error}".into(),
        }
    }

    /// Gives an untyped literal the type `to`, checking that it fits.
    pub(super) fn literal_as(
        &mut self,
        lit: Literal,
        to: ScalarType,
        span: Span,
    ) -> Option<Literal> {
        match lit {
            Literal::Int(v) if to.is_int() => {
                if fold::int_fits(v, to) {
                    Some(Literal::Int(v))
                } else {
                    self.diags
                        .push(diags::integer_literal_out_of_range(v, to, span));
                    None
                }
            }
            Literal::Int(v) if to.is_float() => {
                Some(Literal::Float(fold::round_float(v as f64, to)))
            }
            Literal::Float(f) if to.is_float() => Some(Literal::Float(fold::round_float(f, to))),
            Literal::Bool(b) if to.is_bool() => Some(Literal::Bool(b)),
            Literal::Float(_) if to.is_int() => {
                self.diags.push(diags::float_literal_as_int(to, span));
                None
            }
            _ => {
                self.diags.push(diags::literal_type(to, span));
                None
            }
        }
    }

    /// The scalar type a value gets when nothing else decides (untyped literals default).
    pub(super) fn default_scalar(&self, v: &Val) -> Option<ScalarType> {
        match self.op_ty(v)? {
            OpTy::Typed(t) => Some(t),
            OpTy::UntypedInt => Some(ScalarType::I32),
            OpTy::UntypedFloat => Some(ScalarType::F32),
        }
    }

    /// Emits a value as an instruction of element `elem` and exactly `shape` (splat, expand,
    /// broadcast as numpy would). The caller has checked types and broadcast compatibility.
    pub(super) fn materialize(
        &mut self,
        v: &Val,
        elem: ScalarType,
        shape: &[u32],
        span: Span,
    ) -> Option<ValueId> {
        let saved = self.b.span;
        self.b.span = span;
        let out = match v {
            Val::Known { ty, lit } => {
                let lit = match ty {
                    Some(t) if *t == elem => *lit,
                    Some(_) => fold::convert(*lit, elem),
                    None => self.literal_as(*lit, elem, span)?,
                };
                let c = self.b.constant(elem, lit);
                Some(if shape.is_empty() {
                    c
                } else {
                    self.b.splat(c, shape.to_vec())
                })
            }
            Val::Rt(id) => Some(self.reshape_to(*id, shape)),
            Val::Unit | Val::Error => None,
        };
        self.b.span = saved;
        out
    }

    /// Splat / expand_dims / broadcast a runtime value to `shape` (numpy rules, checked before).
    pub(super) fn reshape_to(&mut self, id: ValueId, shape: &[u32]) -> ValueId {
        let ty = self.rt_type(id);
        if ty.shape == shape {
            return id;
        }
        if ty.shape.is_empty() {
            return self.b.splat(id, shape.to_vec());
        }
        let mut id = id;
        let mut rank = ty.shape.len();
        while rank < shape.len() {
            id = self.b.expand_dims(id, 0);
            rank += 1;
        }
        if self.b.ty(id).shape != shape {
            id = self.b.broadcast(id, shape.to_vec());
        }
        id
    }

    /// The value as a runtime instruction of its own (defaulted) type.
    pub(super) fn runtime_value(&mut self, v: &Val, span: Span) -> Option<ValueId> {
        match v {
            Val::Rt(id) => Some(*id),
            Val::Known { .. } => {
                let t = self.default_scalar(v)?;
                self.materialize(v, t, &[], span)
            }
            _ => None,
        }
    }

    pub(super) fn mixed_types(&mut self, op: &str, l: &Val, ls: Span, r: &Val, rs: Span) -> Val {
        let (lt, rt) = (self.describe(l), self.describe(r));
        let target = match self.op_ty(l) {
            Some(OpTy::Typed(t)) => t.name().to_string(),
            _ => lt.clone(),
        };
        self.error(diags::mixed_types(op, &lt, ls, &rt, rs, &target))
    }

    /// The literal typing rule over several operands: `Some(None)` when all are untyped literals
    /// (with the float-ness of the result), `None` after reporting an error.
    pub(super) fn unify(
        &mut self,
        op: &str,
        vals: &[(&Val, Span)],
    ) -> Option<Result<ScalarType, OpTy>> {
        let mut typed: Option<(ScalarType, usize)> = None;
        for (i, (v, span)) in vals.iter().enumerate() {
            let Some(t) = self.op_ty(v) else {
                if matches!(v, Val::Unit) {
                    self.diags.push(diags::no_value(*span, "an operand"));
                } else if self.is_pointer(v) {
                    self.diags
                        .push(diags::pointer_operand(op, &self.describe(v), *span));
                }
                return None;
            };
            if let OpTy::Typed(t) = t {
                match typed {
                    None => typed = Some((t, i)),
                    Some((t0, i0)) if t0 != t => {
                        let (l, ls) = vals[i0];
                        self.mixed_types(op, l, ls, v, *span);
                        return None;
                    }
                    _ => {}
                }
            }
        }
        match typed {
            Some((t, i0)) => {
                for (v, span) in vals.iter() {
                    if let Val::Known { ty: None, lit } = v {
                        let ok = match lit {
                            Literal::Int(x) => {
                                if t.is_bool() {
                                    false
                                } else if t.is_int() {
                                    if !fold::int_fits(*x, t) {
                                        self.literal_as(*lit, t, *span);
                                        return None;
                                    }
                                    true
                                } else {
                                    true
                                }
                            }
                            Literal::Float(_) => t.is_float(),
                            Literal::Bool(_) => t.is_bool(),
                        };
                        if !ok {
                            let (other, other_span) = vals[i0];
                            let report = if matches!(lit, Literal::Float(_)) {
                                diags::float_literal_for_int_operand
                            } else {
                                diags::literal_for_operand
                            };
                            let (literal, other) = (self.describe(v), self.describe(other));
                            self.diags
                                .push(report(&literal, t, *span, &other, other_span));
                            return None;
                        }
                    }
                }
                Some(Ok(t))
            }
            None => {
                let float = vals
                    .iter()
                    .any(|(v, _)| self.op_ty(v) == Some(OpTy::UntypedFloat));
                Some(Err(if float {
                    OpTy::UntypedFloat
                } else {
                    OpTy::UntypedInt
                }))
            }
        }
    }

    /// Broadcast shapes of several values, reporting a mismatch with both shapes.
    pub(super) fn broadcast_all(&mut self, vals: &[(&Val, Span)]) -> Option<Vec<u32>> {
        let mut shape: Vec<u32> = Vec::new();
        let mut from: Option<Span> = None;
        for (v, span) in vals {
            let s = self.shape_of(v);
            match broadcast_shapes(&shape, &s) {
                Some(out) => {
                    if !s.is_empty() && out == s {
                        from = Some(*span);
                    }
                    shape = out;
                }
                None => {
                    self.diags
                        .push(diags::shapes_not_broadcastable(&shape, from, &s, *span));
                    return None;
                }
            }
        }
        let count = padded_count(&shape);
        if count > MAX_ELEMENTS {
            self.diags
                .push(diags::broadcast_too_large(count, &shape, self.b.span));
            return None;
        }
        Some(shape)
    }

    pub(super) fn val_elem(&self, v: &Val) -> Option<Elem> {
        match v {
            Val::Rt(id) => Some(self.b.ty(*id).elem),
            Val::Known { .. } => self.default_scalar(v).map(Elem::Scalar),
            _ => None,
        }
    }
}
