//! Builtin calls: binding the arguments against the table's parameters and elaborating each
//! builtin.
use super::{broadcast_shapes, err, shape_text, Elab, OpTy, Slots, Val, MAX_ELEMENTS};
use crate::base::{Diagnostic, Literal, ScalarType, Span};
use crate::ir::{Elem, InstKind, Type};
use crate::sema::builtins::Builtin;
use crate::syntax::ast;

impl Elab<'_> {
    pub(super) fn builtin(
        &mut self,
        builtin: &'static Builtin,
        args: &[ast::Arg],
        span: Span,
    ) -> Val {
        let params: Vec<(&str, bool)> = builtin
            .params
            .iter()
            .map(|p| (p.name, p.required))
            .collect();
        let Some(slots) = self.bind_args(&params, args, builtin.signature, span) else {
            return Val::Error;
        };
        if builtin.name.starts_with("atomic_") {
            // A read-only pointer is the user's error whether or not atomics lower yet.
            if let Some((_, pointee, false, param, ps)) = self.pointer_arg(slots[0], builtin.name) {
                return self.read_only_store(param, pointee, ps);
            }
        }
        if !builtin.lowered {
            return self.error(
                err("E0601", format!("`{}` is not supported yet", builtin.name))
                    .with_label(span, "cannot be compiled yet")
                    .with_help(format!(
                        "`{}` is part of the language but the IR cannot express it yet; write it \
                            with loads, stores and elementwise operations for now",
                        builtin.signature
                    )),
            );
        }
        let v = self.builtin_body(builtin, &slots, span);
        self.b.span = span;
        v
    }

    pub(super) fn const_axis(
        &mut self,
        arg: Option<&ast::Arg>,
        what: &str,
    ) -> Option<(i128, Span)> {
        let (v, s) = self.arg_val(arg);
        if matches!(v, Val::Error) {
            return None;
        }
        Some((self.expect_const_int(&v, s, what)?, s))
    }

    pub(super) fn builtin_body(
        &mut self,
        builtin: &'static Builtin,
        slots: &Slots<'_>,
        span: Span,
    ) -> Val {
        let name = builtin.name;
        match name {
            "program_id" | "num_programs" => {
                let Some((axis, s)) = self.const_axis(slots[0], "the grid axis") else {
                    return Val::Error;
                };
                if !(0..=2).contains(&axis) {
                    return self.error(
                        err("E0406", format!("grid axis {axis} is out of range"))
                            .with_label(s, "must be 0, 1 or 2")
                            .with_help("the grid has 3 axes: 0, 1 and 2"),
                    );
                }
                self.b.span = span;
                let kind = if name == "program_id" {
                    InstKind::ProgramId(axis as u32)
                } else {
                    InstKind::NumPrograms(axis as u32)
                };
                Val::Rt(self.b.push(kind, Some(Type::scalar(ScalarType::I32))))
            }
            "arange" => {
                let Some((start, _)) = self.const_axis(slots[0], "`arange` start") else {
                    return Val::Error;
                };
                let Some((end, es)) = self.const_axis(slots[1], "`arange` end") else {
                    return Val::Error;
                };
                let len = end.saturating_sub(start);
                if len <= 0 || (len & (len - 1)) != 0 || len > MAX_ELEMENTS as i128 {
                    return self.error(
                        err(
                            "E0407",
                            format!(
                                "`arange({start}, {end})` has length {len}, not a \
                            power of two"
                            ),
                        )
                        .with_label(span, format!("length {len}"))
                        .with_label(es, "end")
                        .with_help(
                            "`end - start` must be a power of two (at most 2^20); mask \
                                off extra lanes with a comparison",
                        ),
                    );
                }
                self.b.span = span;
                Val::Rt(self.b.arange(start as i64, len as u32))
            }
            "zeros" | "full" => {
                let shape_expr = slots[0].and_then(|a| self.arg_expr(a));
                let Some(shape) = shape_expr.and_then(|e| self.shape_arg(e)) else {
                    return Val::Error;
                };
                let type_slot = if name == "zeros" { 1 } else { 2 };
                let Some(ty) = slots[type_slot].and_then(|a| self.type_arg(a)) else {
                    return Val::Error;
                };
                let (v, vs) = if name == "zeros" {
                    (
                        Val::Known {
                            ty: None,
                            lit: Literal::Int(0),
                        },
                        span,
                    )
                } else {
                    self.arg_val(slots[1])
                };
                self.fill(v, vs, ty, &shape, span)
            }
            "zeros_like" | "full_like" => {
                let (x, xs) = self.arg_val(slots[0]);
                let Some(Elem::Scalar(ty)) = self.val_elem(&x) else {
                    return self.not_a_number(&x, xs, name);
                };
                let shape = self.shape_of(&x);
                let (v, vs) = if name == "zeros_like" {
                    (
                        Val::Known {
                            ty: None,
                            lit: Literal::Int(0),
                        },
                        span,
                    )
                } else {
                    self.arg_val(slots[1])
                };
                if ty.is_bool() && name == "zeros_like" {
                    return self.fill(
                        Val::known(ScalarType::Bool, Literal::Bool(false)),
                        vs,
                        ty,
                        &shape,
                        span,
                    );
                }
                self.fill(v, vs, ty, &shape, span)
            }
            "load" => self.load(slots, span),
            "store" => self.store(slots, span),
            _ if name.starts_with("atomic_") => self.atomic(name, slots, span),
            "abs" | "exp" | "exp2" | "log" | "log2" | "sqrt" | "rsqrt" | "sin" | "cos" | "tanh"
            | "erf" | "floor" | "ceil" | "round" | "sigmoid" => {
                let (x, xs) = self.arg_val(slots[0]);
                self.math_unary(name, x, xs, span)
            }
            "maximum" | "minimum" | "pow" | "umulhi" | "cdiv" => {
                let (a, as_) = self.arg_val(slots[0]);
                let (b, bs) = self.arg_val(slots[1]);
                self.math_binary(name, a, as_, b, bs, span)
            }
            "clamp" => {
                let (x, xs) = self.arg_val(slots[0]);
                let (lo, ls) = self.arg_val(slots[1]);
                let (hi, hs) = self.arg_val(slots[2]);
                let m = self.math_binary("maximum", x, xs, lo, ls, span);
                self.math_binary("minimum", m, span, hi, hs, span)
            }
            "fma" => {
                let vals: Vec<(Val, Span)> = (0..3).map(|i| self.arg_val(slots[i])).collect();
                let pairs: Vec<(&Val, Span)> = vals.iter().map(|(v, s)| (v, *s)).collect();
                if pairs.iter().any(|(v, _)| matches!(v, Val::Error)) {
                    return Val::Error;
                }
                let Some(unified) = self.unify("fma", &pairs) else {
                    return Val::Error;
                };
                let elem = match unified {
                    Ok(t) if t.is_float() => t,
                    Err(_) => ScalarType::F32,
                    Ok(t) => return self.float_required("fma", t, vals[0].1),
                };
                let Some(shape) = self.broadcast_all(&pairs) else {
                    return Val::Error;
                };
                let mut ids = Vec::new();
                for (v, s) in &vals {
                    let Some(id) = self.materialize(v, elem, &shape, *s) else {
                        return Val::Error;
                    };
                    ids.push(id);
                }
                self.b.span = span;
                let ty = Type::tile(elem, shape);
                Val::Rt(self.b.push(
                    InstKind::Fma {
                        a: ids[0],
                        b: ids[1],
                        c: ids[2],
                    },
                    Some(ty),
                ))
            }
            "where" => {
                let (c, cs) = self.arg_val(slots[0]);
                let (a, as_) = self.arg_val(slots[1]);
                let (b, bs) = self.arg_val(slots[2]);
                if [&c, &a, &b].iter().any(|v| matches!(v, Val::Error)) {
                    return Val::Error;
                }
                if self.op_ty(&c) != Some(OpTy::Typed(ScalarType::Bool)) {
                    return self.error(
                        err(
                            "E0305",
                            format!(
                                "the condition of `where` must be `bool`, found {}",
                                self.describe(&c)
                            ),
                        )
                        .with_label(cs, format!("this is {}", self.describe(&c)))
                        .with_help("compare to get a mask, e.g. `x > 0`"),
                    );
                }
                let Some(unified) = self.unify("where", &[(&a, as_), (&b, bs)]) else {
                    return Val::Error;
                };
                let elem = match unified {
                    Ok(t) => t,
                    Err(OpTy::UntypedFloat) => ScalarType::F32,
                    Err(_) => ScalarType::I32,
                };
                let Some(shape) = self.broadcast_all(&[(&c, cs), (&a, as_), (&b, bs)]) else {
                    return Val::Error;
                };
                let (Some(ci), Some(ai), Some(bi)) = (
                    self.materialize(&c, ScalarType::Bool, &shape, cs),
                    self.materialize(&a, elem, &shape, as_),
                    self.materialize(&b, elem, &shape, bs),
                ) else {
                    return Val::Error;
                };
                self.b.span = span;
                Val::Rt(self.b.select(ci, ai, bi))
            }
            "bitcast" => {
                let (x, xs) = self.arg_val(slots[0]);
                let Some(to) = slots[1].and_then(|a| self.type_arg(a)) else {
                    return Val::Error;
                };
                let Some(Elem::Scalar(from)) = self.val_elem(&x) else {
                    return self.not_a_number(&x, xs, name);
                };
                if from.bits() != to.bits() || from.is_bool() || to.is_bool() {
                    return self.error(
                        err(
                            "E0304",
                            format!("cannot bitcast `{from}` to `{to}`: sizes differ"),
                        )
                        .with_label(xs, format!("this is `{from}` ({} bits)", from.bits()))
                        .with_help(format!(
                            "`bitcast` needs types of the same width; `{to}` has {} bits",
                            to.bits()
                        )),
                    );
                }
                let shape = self.shape_of(&x);
                let Some(id) = self.materialize(&x, from, &shape, xs) else {
                    return Val::Error;
                };
                self.b.span = span;
                Val::Rt(
                    self.b
                        .push(InstKind::Bitcast(id), Some(Type::tile(to, shape))),
                )
            }
            "sum" | "prod" | "max" | "min" | "argmax" | "argmin" => self.reduce(name, slots, span),
            "cumsum" | "cumprod" => self.scan(name, slots, span),
            "dot" => self.dot(slots, span),
            "reshape" | "ravel" | "trans" | "permute" | "join" => {
                self.shape_builtin(name, slots, span)
            }
            "broadcast_to" => {
                let (x, xs) = self.arg_val(slots[0]);
                let shape_expr = slots[1].and_then(|a| self.arg_expr(a));
                let Some(shape) = shape_expr.and_then(|e| self.shape_arg(e)) else {
                    return Val::Error;
                };
                let Some(Elem::Scalar(ty)) = self.val_elem(&x) else {
                    return self.not_a_number(&x, xs, name);
                };
                let have = self.shape_of(&x);
                if broadcast_shapes(&have, &shape).as_deref() != Some(&shape[..]) {
                    return self.error(
                        err(
                            "E0402",
                            format!(
                                "cannot broadcast shape {} to {}",
                                shape_text(&have),
                                shape_text(&shape)
                            ),
                        )
                        .with_label(xs, format!("this has shape {}", shape_text(&have)))
                        .with_help("dims must be equal or 1 (numpy broadcasting)"),
                    );
                }
                match self.materialize(&x, ty, &shape, xs) {
                    Some(id) => Val::Rt(id),
                    None => Val::Error,
                }
            }
            "expand_dims" => {
                let (x, xs) = self.arg_val(slots[0]);
                let Some((axis, s)) = self.const_axis(slots[1], "the axis") else {
                    return Val::Error;
                };
                let Some(id) = self.runtime_value(&x, xs) else {
                    return Val::Error;
                };
                let rank = self.b.ty(id).shape.len() as i128;
                let a = if axis < 0 { axis + rank + 1 } else { axis };
                if !(0..=rank).contains(&a) || rank >= 4 {
                    return self.error(
                        err(
                            "E0406",
                            format!("axis {axis} is out of range for rank {rank}"),
                        )
                        .with_label(s, format!("must be in {}..={rank}", -rank - 1))
                        .with_help("blocks have at most 4 dims"),
                    );
                }
                self.b.span = span;
                Val::Rt(if rank == 0 {
                    self.b.splat(id, vec![1])
                } else {
                    self.b.expand_dims(id, a as u32)
                })
            }
            "multiple_of" | "max_contiguous" => {
                let (x, _) = self.arg_val(slots[0]);
                let (n, ns) = self.arg_val(slots[1]);
                if self.expect_const_int(&n, ns, "the hint value").is_none() {
                    return Val::Error;
                }
                x
            }
            "static_assert" => {
                let (c, cs) = self.arg_val(slots[0]);
                let msg = self.arg_str(slots[1]);
                match self.expect_known(&c, cs, "a `static_assert` condition") {
                    Some((_, Literal::Bool(true))) => Val::Unit,
                    Some((_, Literal::Bool(false))) => self.error(
                        err(
                            "E0501",
                            format!("static assertion failed: {}", msg.unwrap_or_default()),
                        )
                        .with_label(cs, "this is false")
                        .with_help(self.const_context()),
                    ),
                    Some(_) => self.error(
                        err("E0305", "a `static_assert` condition must be `bool`")
                            .with_label(cs, format!("this is {}", self.describe(&c)))
                            .with_help("compare to get a bool, e.g. `BLOCK % 16 == 0`"),
                    ),
                    None => Val::Error,
                }
            }
            "device_assert" => {
                let (c, cs) = self.arg_val(slots[0]);
                let msg = self.arg_str(slots[1]);
                if matches!(c, Val::Error) {
                    return Val::Error;
                }
                if self.op_ty(&c) != Some(OpTy::Typed(ScalarType::Bool)) {
                    return self.error(
                        err("E0305", "a `device_assert` condition must be `bool`")
                            .with_label(cs, format!("this is {}", self.describe(&c)))
                            .with_help("compare to get a bool"),
                    );
                }
                let shape = self.shape_of(&c);
                let Some(id) = self.materialize(&c, ScalarType::Bool, &shape, cs) else {
                    return Val::Error;
                };
                self.b.span = span;
                self.b.push(
                    InstKind::Assert {
                        cond: id,
                        message: msg.unwrap_or_default(),
                    },
                    None,
                );
                Val::Unit
            }
            "print" => {
                let Some(label) = self.arg_str(slots[0]) else {
                    return Val::Error;
                };
                let value = match slots[1] {
                    Some(_) => {
                        let (v, vs) = self.arg_val(slots[1]);
                        match self.runtime_value(&v, vs) {
                            Some(id) => Some(id),
                            None => return Val::Error,
                        }
                    }
                    None => None,
                };
                self.b.span = span;
                self.b.push(InstKind::Print { label, value }, None);
                Val::Unit
            }
            _ => self.error(
                Diagnostic::internal(format!("builtin `{name}` has no elaboration"))
                    .with_label(span, "here"),
            ),
        }
    }

    /// A note naming the const values of this specialisation.
    pub(super) fn const_context(&self) -> String {
        let consts = &self.b.kernel.consts;
        if consts.is_empty() {
            return "the condition is evaluated at compile time".into();
        }
        let parts: Vec<String> = consts
            .iter()
            .map(|(n, l)| match l {
                Literal::Int(i) => format!("{n} = {i}"),
                Literal::Float(f) => format!("{n} = {f}"),
                Literal::Bool(b) => format!("{n} = {b}"),
            })
            .collect();
        format!("evaluated with {}", parts.join(", "))
    }

    pub(super) fn not_a_number(&mut self, v: &Val, span: Span, name: &str) -> Val {
        if matches!(v, Val::Error) {
            return Val::Error;
        }
        self.error(
            err(
                "E0304",
                format!("`{name}` cannot take {}", self.describe(v)),
            )
            .with_label(span, format!("this is {}", self.describe(v)))
            .with_help("pass a number or a block of numbers"),
        )
    }

    pub(super) fn float_required(&mut self, name: &str, t: ScalarType, span: Span) -> Val {
        self.error(
            err("E0317", format!("`{name}` takes floats, found `{t}`"))
                .with_label(span, format!("this is `{t}`"))
                .with_help("convert with `as f32`"),
        )
    }
}
