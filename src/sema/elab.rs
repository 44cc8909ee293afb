//! The elaborator: type- and shape-checks expressions and statements of one kernel specialisation
//! and emits Lowered IR through `ir::builder::Builder`, inlining fns and unrolling `static_range`.
//! Compile-time values (consts, literals, `static_range` variables) stay `Val::Known` and are
//! folded until they meet a runtime value, where they become `Const` instructions.
use super::builtins::{self, Builtin};
use super::fold::{self, FoldError, FoldOp};
use super::{diags, suggest, Checked, ItemRef};
use crate::base::{Diagnostic, Diagnostics, Literal, ScalarType, Span};
use crate::ir::builder::Builder;
use crate::ir::{self, Elem, InstKind, LocalId, Type, ValueId};
use crate::syntax::ast;
use std::collections::HashMap;

mod atomics;
mod linalg;
mod scans;

/// Most unrolled iterations of one `static_range` loop.
pub const MAX_UNROLL: i128 = 4096;
/// Most nested fn calls being inlined at once (recursion is caught before this).
const MAX_INLINE_DEPTH: usize = 64;
/// Unrolled `static_range` iterations plus inlined fn calls per kernel: nested unrolls and fns
/// that call others twice grow exponentially, so the total is bounded (E0606).
const MAX_EXPANSION: u64 = 1 << 16;
/// Most elements of one block.
pub const MAX_ELEMENTS: u64 = 1 << 20;

/// The value of an expression during elaboration.
#[derive(Debug, Clone)]
pub enum Val {
    /// A compile-time scalar; `ty: None` is an untyped literal (an `Int` or `Float`).
    Known {
        ty: Option<ScalarType>,
        lit: Literal,
    },
    /// A runtime value: the result of an instruction.
    Rt(ValueId),
    /// No value (a statement-like call such as `store`).
    Unit,
    /// An error was already reported; stay silent.
    Error,
}

impl Val {
    fn known(ty: ScalarType, lit: Literal) -> Val {
        Val::Known { ty: Some(ty), lit }
    }
}

#[derive(Debug, Clone)]
enum Binding {
    Value(Val),
    Local { id: LocalId, mutable: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoopKind {
    Runtime,
    Unrolled,
}

/// One fn (or the kernel) being elaborated: its file's items are in scope, the caller's are not.
struct Frame {
    file: u32,
    scopes: Vec<HashMap<String, Binding>>,
    loops: Vec<LoopKind>,
    is_kernel: bool,
    /// How the fn being inlined returns (`None` for kernels and const expressions).
    ret: Option<FnReturn>,
}

/// Whether elaboration at this point can still be reached in the fn being inlined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Live,
    /// Some paths have returned (the `returned` flag says which at run time).
    Maybe,
    /// Every path has returned: what follows is dead and not elaborated.
    Returned,
}

/// The returns of one inlined fn. A `return` reached only through compile-time control flow
/// gives the fn's value directly (it may stay a compile-time value); one under a runtime `if`
/// or loop writes the `result` local and sets the `returned` flag, leaves runtime loops with
/// `break`, and the rest of the body runs under `if !returned`.
struct FnReturn {
    /// Where the fn's instructions start (`returned` is set to false there).
    entry: (usize, usize),
    /// `returned`, created by the first `return` under runtime control flow.
    flag: Option<LocalId>,
    /// The result local, created by the first `return` that needs one.
    slot: Option<LocalId>,
    /// The result when no local was needed.
    value: Option<Val>,
    /// The element type a `-> T` annotation gives untyped literal results.
    declared: Option<ScalarType>,
    /// While only untyped literals have been returned (and no `-> T`), the constants written to
    /// the result local: the first typed return retypes them and the local.
    provisional: Option<Vec<(ValueId, Literal, Span)>>,
    /// Whether the first return had a value, and where it was.
    first: Option<(bool, Span)>,
    reach: Reach,
    /// Runtime `if`s and loops of this fn being elaborated.
    runtime_depth: u32,
    /// `while` conditions being elaborated (no `return` there).
    in_condition: u32,
    /// `return`s elaborated so far.
    count: u32,
    /// A `return` did not match the others (reported); the call's value is an error.
    failed: bool,
}

/// The type of an operand for the literal typing rule.
#[derive(Debug, Clone, Copy, PartialEq)]
enum OpTy {
    Typed(ScalarType),
    UntypedInt,
    UntypedFloat,
}

pub struct Elab<'a> {
    pub checked: &'a Checked,
    pub b: Builder,
    pub diags: Diagnostics,
    frames: Vec<Frame>,
    /// Fns being inlined, for the recursion check: (file, item index, name, call span).
    call_stack: Vec<(u32, usize, String, Span)>,
    /// Global consts: `None` while being evaluated (a cycle) or after an error.
    pub global_consts: HashMap<(u32, String), Option<(ScalarType, Literal)>>,
    /// Unrolled iterations and inlined calls so far, against `MAX_EXPANSION`.
    expansion: u64,
}

fn err(code: &'static str, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(code, message)
}

fn shape_text(shape: &[u32]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

pub fn type_text(ty: &Type) -> String {
    let elem = match ty.elem {
        Elem::Scalar(t) => t.name().to_string(),
        Elem::Ptr {
            pointee, mutable, ..
        } => format!("*{}{}", if mutable { "mut " } else { "" }, pointee),
    };
    if ty.shape.is_empty() {
        elem
    } else {
        format!("{elem}{}", shape_text(&ty.shape))
    }
}

/// Numpy broadcasting of two shapes; `None` when they are incompatible.
pub fn broadcast_shapes(a: &[u32], b: &[u32]) -> Option<Vec<u32>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return None;
        };
    }
    Some(out)
}

fn fold_op_of(op: ast::BinaryOp) -> Option<FoldOp> {
    use ast::BinaryOp as B;
    Some(match op {
        B::Mul => FoldOp::Mul,
        B::Div => FoldOp::Div,
        B::Rem => FoldOp::Rem,
        B::Add => FoldOp::Add,
        B::Sub => FoldOp::Sub,
        B::Shl => FoldOp::Shl,
        B::Shr => FoldOp::Shr,
        B::BitAnd => FoldOp::And,
        B::BitXor => FoldOp::Xor,
        B::BitOr => FoldOp::Or,
        B::Eq => FoldOp::Eq,
        B::Ne => FoldOp::Ne,
        B::Lt => FoldOp::Lt,
        B::Le => FoldOp::Le,
        B::Gt => FoldOp::Gt,
        B::Ge => FoldOp::Ge,
        B::And | B::Or => return None,
    })
}

fn cmp_op_of(op: ast::BinaryOp) -> Option<ir::CmpOp> {
    use ast::BinaryOp as B;
    Some(match op {
        B::Eq => ir::CmpOp::Eq,
        B::Ne => ir::CmpOp::Ne,
        B::Lt => ir::CmpOp::Lt,
        B::Le => ir::CmpOp::Le,
        B::Gt => ir::CmpOp::Gt,
        B::Ge => ir::CmpOp::Ge,
        _ => return None,
    })
}

fn ir_binary_of(op: ast::BinaryOp) -> Option<ir::BinaryOp> {
    use ast::BinaryOp as B;
    Some(match op {
        B::Mul => ir::BinaryOp::Mul,
        B::Div => ir::BinaryOp::Div,
        B::Rem => ir::BinaryOp::Rem,
        B::Add => ir::BinaryOp::Add,
        B::Sub => ir::BinaryOp::Sub,
        B::Shl => ir::BinaryOp::Shl,
        B::Shr => ir::BinaryOp::Shr,
        B::BitAnd => ir::BinaryOp::And,
        B::BitXor => ir::BinaryOp::Xor,
        B::BitOr => ir::BinaryOp::Or,
        _ => return None,
    })
}

fn assign_to_binary(op: ast::AssignOp) -> Option<ast::BinaryOp> {
    use ast::AssignOp as A;
    use ast::BinaryOp as B;
    Some(match op {
        A::Assign => return None,
        A::Add => B::Add,
        A::Sub => B::Sub,
        A::Mul => B::Mul,
        A::Div => B::Div,
        A::Rem => B::Rem,
        A::And => B::BitAnd,
        A::Or => B::BitOr,
        A::Xor => B::BitXor,
        A::Shl => B::Shl,
        A::Shr => B::Shr,
    })
}

/// Bound call arguments: one slot per parameter.
type Slots<'e> = Vec<Option<&'e ast::Arg>>;

impl<'a> Elab<'a> {
    pub fn new(checked: &'a Checked, kernel_name: &str) -> Elab<'a> {
        Elab {
            checked,
            b: Builder::new(kernel_name),
            diags: Diagnostics::new(),
            frames: Vec::new(),
            call_stack: Vec::new(),
            expansion: 0,
            global_consts: checked
                .consts
                .iter()
                .map(|(k, v)| (k.clone(), Some(*v)))
                .collect(),
        }
    }

    fn error(&mut self, d: Diagnostic) -> Val {
        self.diags.push(d);
        Val::Error
    }

    // ---- frames and scopes ---------------------------------------------------------------------

    pub fn push_frame(&mut self, file: u32, is_kernel: bool) {
        self.frames.push(Frame {
            file,
            scopes: vec![HashMap::new()],
            loops: Vec::new(),
            is_kernel,
            ret: None,
        });
    }
    pub fn pop_frame(&mut self) {
        self.frames.pop();
    }
    fn frame(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("no frame")
    }
    fn file(&self) -> u32 {
        self.frames.last().map_or(0, |f| f.file)
    }
    fn push_scope(&mut self) {
        self.frame().scopes.push(HashMap::new());
    }
    fn pop_scope(&mut self) {
        self.frame().scopes.pop();
    }
    pub fn bind_value(&mut self, name: &str, val: Val) {
        let scope = self.frame().scopes.last_mut().expect("no scope");
        scope.insert(name.to_string(), Binding::Value(val));
    }
    fn bind_local(&mut self, name: &str, id: LocalId, mutable: bool) {
        let scope = self.frame().scopes.last_mut().expect("no scope");
        scope.insert(name.to_string(), Binding::Local { id, mutable });
    }
    fn lookup_binding(&self, name: &str) -> Option<&Binding> {
        let frame = self.frames.last()?;
        frame.scopes.iter().rev().find_map(|s| s.get(name))
    }

    /// Every name visible here, for "did you mean" helps.
    fn visible_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Some(frame) = self.frames.last() {
            for scope in &frame.scopes {
                names.extend(scope.keys().cloned());
            }
        }
        if let Some(scope) = self.checked.scopes.get(self.file() as usize) {
            names.extend(scope.items.keys().cloned());
        }
        names
    }

    /// A const parameter's value: compile-time and convertible to `ty` (literals take the type).
    pub fn const_value(&mut self, v: &Val, span: Span, ty: ScalarType) -> Option<Literal> {
        let (from, lit) = self.expect_known(v, span, "a const parameter's value")?;
        match from {
            Some(t) if t == ty => Some(lit),
            Some(t) => {
                self.diags.push(
                    err(
                        "E0301",
                        format!("const value is `{t}` but the parameter is `{ty}`"),
                    )
                    .with_label(span, format!("this is `{t}`"))
                    .with_help(format!("convert it with `as {ty}`")),
                );
                None
            }
            None => self.literal_as(lit, ty, span),
        }
    }

    /// A `#[grid]` entry as a launch-time expression over scalar params and consts.
    pub fn grid_expr(&mut self, e: &ast::Expr) -> Option<ir::GridExpr> {
        use ir::GridExpr as G;
        let bad = |this: &mut Self, span: Span, what: &str| {
            this.diags.push(
                err("E0505", format!("invalid `#[grid]` expression: {what}"))
                    .with_label(span, what.to_string())
                    .with_help(
                        "grid entries use integer scalar params, consts, literals, `+ - * \
                        / %`, `cdiv`, `minimum` and `maximum`",
                    ),
            );
            None
        };
        match &e.kind {
            ast::ExprKind::Int(_) | ast::ExprKind::Path(_) | ast::ExprKind::Unary { .. } => {
                if let ast::ExprKind::Path(p) = &e.kind {
                    if let (1, Some(Binding::Value(Val::Rt(id)))) =
                        (p.len(), self.lookup_binding(&p[0].name))
                    {
                        let id = *id;
                        return match (&self.b.kernel.insts[id].kind, self.b.ty(id).scalar_type()) {
                            (InstKind::Param(i), Some(t)) if t.is_int() => Some(G::Param(*i)),
                            _ => bad(self, e.span, "not an integer scalar parameter"),
                        };
                    }
                }
                let v = self.expr(e);
                match v {
                    Val::Known {
                        lit: Literal::Int(i),
                        ..
                    } => Some(G::Const(i as i64)),
                    Val::Error => None,
                    _ => bad(self, e.span, "not an integer"),
                }
            }
            ast::ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.grid_expr(lhs)?, self.grid_expr(rhs)?);
                let fop = match op {
                    ast::BinaryOp::Add => FoldOp::Add,
                    ast::BinaryOp::Sub => FoldOp::Sub,
                    ast::BinaryOp::Mul => FoldOp::Mul,
                    ast::BinaryOp::Div => FoldOp::Div,
                    ast::BinaryOp::Rem => FoldOp::Rem,
                    _ => return bad(self, e.span, "unsupported operator"),
                };
                self.grid_combine(fop, l, r, rhs.span)
            }
            ast::ExprKind::Call { callee, args } if callee.len() == 1 => {
                let fop = match callee[0].name.as_str() {
                    "cdiv" => FoldOp::CeilDiv,
                    "minimum" => FoldOp::Min,
                    "maximum" => FoldOp::Max,
                    _ => return bad(self, e.span, "unsupported function"),
                };
                let exprs: Vec<&ast::Expr> = args
                    .iter()
                    .filter_map(|a| match (&a.name, &a.value) {
                        (None, ast::ArgValue::Expr(e)) => Some(e),
                        _ => None,
                    })
                    .collect();
                if exprs.len() != 2 || args.len() != 2 {
                    return bad(self, e.span, "takes two arguments");
                }
                let (l, r) = (self.grid_expr(exprs[0])?, self.grid_expr(exprs[1])?);
                self.grid_combine(fop, l, r, exprs[1].span)
            }
            _ => bad(self, e.span, "unsupported expression"),
        }
    }

    fn grid_combine(
        &mut self,
        op: FoldOp,
        l: ir::GridExpr,
        r: ir::GridExpr,
        rspan: Span,
    ) -> Option<ir::GridExpr> {
        use ir::GridExpr as G;
        if let (G::Const(a), G::Const(b)) = (&l, &r) {
            return match fold::fold_binary(
                op,
                Some(ScalarType::I64),
                Literal::Int(*a as i128),
                Literal::Int(*b as i128),
            ) {
                Ok(Literal::Int(v)) => Some(G::Const(v as i64)),
                _ => {
                    self.diags.push(diags::division_by_zero(rspan));
                    None
                }
            };
        }
        let (l, r) = (Box::new(l), Box::new(r));
        Some(match op {
            FoldOp::Add => G::Add(l, r),
            FoldOp::Sub => G::Sub(l, r),
            FoldOp::Mul => G::Mul(l, r),
            FoldOp::Div => G::Div(l, r),
            FoldOp::Rem => G::Rem(l, r),
            FoldOp::CeilDiv => G::CeilDiv(l, r),
            FoldOp::Min => G::Min(l, r),
            _ => G::Max(l, r),
        })
    }

    // ---- values --------------------------------------------------------------------------------

    fn rt_type(&self, id: ValueId) -> Type {
        self.b.ty(id).clone()
    }

    /// The element of a value for the typing rule; `None` for pointers, units and errors.
    fn op_ty(&self, v: &Val) -> Option<OpTy> {
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

    fn shape_of(&self, v: &Val) -> Vec<u32> {
        match v {
            Val::Rt(id) => self.b.ty(*id).shape.clone(),
            _ => Vec::new(),
        }
    }

    fn is_pointer(&self, v: &Val) -> bool {
        matches!(v, Val::Rt(id) if matches!(self.b.ty(*id).elem, Elem::Ptr { .. }))
    }

    /// A short description of a value's type for messages.
    fn describe(&self, v: &Val) -> String {
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
    fn literal_as(&mut self, lit: Literal, to: ScalarType, span: Span) -> Option<Literal> {
        match lit {
            Literal::Int(v) if to.is_int() => {
                if fold::int_fits(v, to) {
                    Some(Literal::Int(v))
                } else {
                    self.diags.push(
                        err(
                            "E0303",
                            format!("integer literal `{v}` does not fit in `{to}`"),
                        )
                        .with_label(span, format!("out of range for `{to}`"))
                        .with_help(format!(
                            "use a value in the range of `{to}`, or a wider type with `as`"
                        )),
                    );
                    None
                }
            }
            Literal::Int(v) if to.is_float() => {
                Some(Literal::Float(fold::round_float(v as f64, to)))
            }
            Literal::Float(f) if to.is_float() => Some(Literal::Float(fold::round_float(f, to))),
            Literal::Bool(b) if to.is_bool() => Some(Literal::Bool(b)),
            Literal::Float(_) if to.is_int() => {
                self.diags.push(
                    err(
                        "E0302",
                        format!("a float literal cannot have integer type `{to}`"),
                    )
                    .with_label(span, format!("expected `{to}` here"))
                    .with_help(
                        "write an integer literal, or convert the other operand with `as f32`",
                    ),
                );
                None
            }
            _ => {
                self.diags.push(
                    err("E0301", format!("mismatched types: expected `{to}`"))
                        .with_label(span, format!("this literal cannot be `{to}`"))
                        .with_help("write a literal of the expected type"),
                );
                None
            }
        }
    }

    /// The scalar type a value gets when nothing else decides (untyped literals default).
    fn default_scalar(&self, v: &Val) -> Option<ScalarType> {
        match self.op_ty(v)? {
            OpTy::Typed(t) => Some(t),
            OpTy::UntypedInt => Some(ScalarType::I32),
            OpTy::UntypedFloat => Some(ScalarType::F32),
        }
    }

    /// Emits a value as an instruction of element `elem` and exactly `shape` (splat, expand,
    /// broadcast as numpy would). The caller has checked types and broadcast compatibility.
    fn materialize(
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
    fn reshape_to(&mut self, id: ValueId, shape: &[u32]) -> ValueId {
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
    fn runtime_value(&mut self, v: &Val, span: Span) -> Option<ValueId> {
        match v {
            Val::Rt(id) => Some(*id),
            Val::Known { .. } => {
                let t = self.default_scalar(v)?;
                self.materialize(v, t, &[], span)
            }
            _ => None,
        }
    }

    fn mixed_types(&mut self, op: &str, l: &Val, ls: Span, r: &Val, rs: Span) -> Val {
        let (lt, rt) = (self.describe(l), self.describe(r));
        let target = match self.op_ty(l) {
            Some(OpTy::Typed(t)) => t.name().to_string(),
            _ => lt.clone(),
        };
        self.error(
            err("E0301", format!("mismatched types: {lt} {op} {rt}"))
                .with_label(rs, format!("this is {rt}"))
                .with_label(ls, format!("this is {lt}"))
                .with_help(format!(
                    "tk has no implicit conversions; convert one operand with `as`, e.g. `(…) as \
                        {target}`"
                )),
        )
    }

    /// The literal typing rule over several operands: `Some(None)` when all are untyped literals
    /// (with the float-ness of the result), `None` after reporting an error.
    fn unify(&mut self, op: &str, vals: &[(&Val, Span)]) -> Option<Result<ScalarType, OpTy>> {
        let mut typed: Option<(ScalarType, usize)> = None;
        for (i, (v, span)) in vals.iter().enumerate() {
            let Some(t) = self.op_ty(v) else {
                if matches!(v, Val::Unit) {
                    self.diags.push(diags::no_value(*span, "an operand"));
                } else if self.is_pointer(v) {
                    self.diags.push(
                        err("E0315", format!("`{op}` cannot take a pointer operand"))
                            .with_label(*span, format!("this is {}", self.describe(v)))
                            .with_help(
                                "pointers support only `+`/`-` with integer offsets, \
                                `load` and `store`",
                            ),
                    );
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
                            let code = if matches!(lit, Literal::Float(_)) {
                                "E0302"
                            } else {
                                "E0301"
                            };
                            let message = format!(
                                "{} cannot be used with an operand of type `{t}`",
                                self.describe(v)
                            );
                            let help = if code == "E0302" {
                                "write an integer literal, or convert the other operand with `as \
                                    f32`"
                                    .to_string()
                            } else {
                                format!("write a value of type `{t}`")
                            };
                            self.diags.push(
                                err(code, message)
                                    .with_label(*span, format!("this literal cannot be `{t}`"))
                                    .with_label(
                                        other_span,
                                        format!("this is {}", self.describe(other)),
                                    )
                                    .with_help(help),
                            );
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
    fn broadcast_all(&mut self, vals: &[(&Val, Span)]) -> Option<Vec<u32>> {
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
                    let mut d = err(
                        "E0402",
                        format!(
                            "shapes {} and {} cannot be broadcast together",
                            shape_text(&shape),
                            shape_text(&s)
                        ),
                    )
                    .with_label(*span, format!("this has shape {}", shape_text(&s)));
                    if let Some(f) = from {
                        d = d.with_label(f, format!("this has shape {}", shape_text(&shape)));
                    }
                    self.diags.push(d.with_help(
                        "dims must be equal or 1 (numpy broadcasting); insert dims with `x[:, \
                            None]` or `x[None, :]`",
                    ));
                    return None;
                }
            }
        }
        let count: u64 = shape.iter().map(|&d| d as u64).product();
        if count > MAX_ELEMENTS {
            self.diags.push(
                err("E0404", format!("block of {count} elements is too large"))
                    .with_label(
                        self.b.span,
                        format!("this has shape {}", shape_text(&shape)),
                    )
                    .with_help(format!(
                        "blocks hold at most {MAX_ELEMENTS} (2^20) elements"
                    )),
            );
            return None;
        }
        Some(shape)
    }

    // ---- expressions ---------------------------------------------------------------------------

    pub fn expr(&mut self, e: &ast::Expr) -> Val {
        let saved = self.b.span;
        self.b.span = e.span;
        let v = self.expr_inner(e);
        self.b.span = saved;
        v
    }

    fn expr_inner(&mut self, e: &ast::Expr) -> Val {
        match &e.kind {
            ast::ExprKind::Int(v) => match i128::try_from(*v) {
                Ok(v) if v <= u64::MAX as i128 => Val::Known {
                    ty: None,
                    lit: Literal::Int(v),
                },
                _ => self.error(
                    err("E0303", "integer literal is too large")
                        .with_label(e.span, "does not fit in 64 bits")
                        .with_help("the widest integer types are `i64` and `u64`"),
                ),
            },
            ast::ExprKind::Float(f) => Val::Known {
                ty: None,
                lit: Literal::Float(*f),
            },
            ast::ExprKind::Bool(b) => Val::known(ScalarType::Bool, Literal::Bool(*b)),
            ast::ExprKind::Str(_) => self.error(
                err("E0304", "a string is not a value")
                    .with_label(e.span, "string used as a value")
                    .with_help(
                        "strings appear only in `static_assert`, `device_assert`, `print` \
                        and `use`",
                    ),
            ),
            ast::ExprKind::Path(path) => self.path(path, e.span),
            ast::ExprKind::Unary { op, operand } => {
                let v = self.expr(operand);
                self.unary(*op, v, operand.span, e.span)
            }
            ast::ExprKind::Binary { op, lhs, rhs } => self.binary_expr(*op, lhs, rhs, e.span),
            ast::ExprKind::Call { callee, args } => self.call(callee, args, e.span),
            ast::ExprKind::Index { base, slices } => {
                let v = self.expr(base);
                self.index(v, base.span, slices, e.span)
            }
            ast::ExprKind::Cast { value, ty } => {
                let v = self.expr(value);
                self.cast(v, ty.ty, value.span, e.span)
            }
            ast::ExprKind::List(_) => self.error(
                err("E0304", "a list is not a value")
                    .with_label(e.span, "list used as a value")
                    .with_help("lists appear only as shapes, e.g. `zeros([64, 64], f32)`"),
            ),
            ast::ExprKind::Block(block) => self.block(block, false),
            ast::ExprKind::If {
                cond,
                then_block,
                else_branch,
            } => self.if_expr(cond, then_block, else_branch.as_deref(), e.span),
            ast::ExprKind::Error => Val::Error,
        }
    }

    fn path(&mut self, path: &[ast::Ident], span: Span) -> Val {
        if path.len() == 1 {
            let name = &path[0].name;
            match self.lookup_binding(name).cloned() {
                Some(Binding::Value(v)) => return v,
                Some(Binding::Local { id, .. }) => return Val::Rt(self.b.local_get(id)),
                None => {}
            }
            let file = self.file();
            return self.global_name(file, &path[0], span);
        }
        if path.len() == 2 {
            let file = self.file();
            let Some(&target) = self.checked.scopes[file as usize]
                .modules
                .get(&path[0].name)
            else {
                return self.unknown_module(&path[0]);
            };
            return self.global_name(target, &path[1], span);
        }
        self.error(
            err("E0201", "paths have at most two parts")
                .with_label(span, "expected `name` or `module::name`")
                .with_help("write `module::name`"),
        )
    }

    fn unknown_module(&mut self, ident: &ast::Ident) -> Val {
        let file = self.file();
        if self.checked.scopes[file as usize]
            .failed_modules
            .contains(&ident.name)
        {
            // Its `use` already failed with a diagnostic.
            return Val::Error;
        }
        let names: Vec<String> = self.checked.scopes[file as usize]
            .modules
            .keys()
            .cloned()
            .collect();
        let mut help = format!(
            "add `use {};` at the top of the file if it is a standard module",
            ident.name
        );
        if let Some(s) = suggest(&ident.name, names.iter().map(String::as_str)) {
            help = format!("did you mean `{s}`?");
        }
        self.error(
            err("E0208", format!("unknown module `{}`", ident.name))
                .with_label(ident.span, "not found in this file's `use`s")
                .with_help(help),
        )
    }

    fn global_name(&mut self, file: u32, ident: &ast::Ident, span: Span) -> Val {
        match self.checked.scopes[file as usize].items.get(&ident.name) {
            Some(ItemRef::Const(_)) => match self.global_const(file, &ident.name, span) {
                Some((t, lit)) => Val::known(t, lit),
                None => Val::Error,
            },
            Some(ItemRef::Fn(_)) | Some(ItemRef::Kernel(_)) => self.error(
                err(
                    "E0215",
                    format!("`{}` is a function, not a value", ident.name),
                )
                .with_label(span, "used as a value")
                .with_help(format!("call it: `{}(…)`", ident.name)),
            ),
            None => {
                let mut names = self.visible_names();
                names.extend(["inf".to_string(), "nan".to_string()]);
                let mut d = err("E0201", format!("unknown name `{}`", ident.name))
                    .with_label(ident.span, "not found in this scope");
                d = match suggest(&ident.name, names.iter().map(String::as_str)) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => {
                        d.with_help("declare it with `let`, or as a parameter or a global `const`")
                    }
                };
                self.error(d)
            }
        }
    }

    /// Evaluates (once) the global const `name` of `file`.
    pub fn global_const(
        &mut self,
        file: u32,
        name: &str,
        use_span: Span,
    ) -> Option<(ScalarType, Literal)> {
        let key = (file, name.to_string());
        if let Some(v) = self.global_consts.get(&key) {
            if v.is_none()
                && self
                    .call_stack
                    .iter()
                    .all(|c| c.2 != format!("const {name}"))
            {
                return None;
            }
            if let Some(v) = v {
                return Some(*v);
            }
            self.diags.push(
                err(
                    "E0207",
                    format!("the value of const `{name}` depends on itself"),
                )
                .with_label(use_span, "cycle reaches back here")
                .with_help("break the cycle: a const may use only consts that do not use it"),
            );
            return None;
        }
        let Some(ItemRef::Const(index)) =
            self.checked.scopes[file as usize].items.get(name).copied()
        else {
            return None;
        };
        let ast::ItemKind::Const(item) = &self.checked.files[file as usize].items[index].kind
        else {
            return None;
        };
        self.global_consts.insert(key.clone(), None);
        self.call_stack
            .push((file, index, format!("const {name}"), use_span));
        self.push_frame(file, false);
        let v = self.expr(&item.value);
        self.pop_frame();
        self.call_stack.pop();
        let result = self
            .expect_known(&v, item.value.span, "a global const's value")
            .and_then(|(ty, lit)| match ty {
                Some(t) if t != item.ty.ty => {
                    self.diags.push(
                        err(
                            "E0301",
                            format!(
                                "const `{name}` is declared `{}` but its value is `{t}`",
                                item.ty.ty
                            ),
                        )
                        .with_label(item.value.span, format!("this is `{t}`"))
                        .with_label(item.ty.span, "declared type")
                        .with_help(format!("convert the value with `as {}`", item.ty.ty)),
                    );
                    None
                }
                Some(t) => Some((t, lit)),
                None => self
                    .literal_as(lit, item.ty.ty, item.value.span)
                    .map(|l| (item.ty.ty, l)),
            });
        self.global_consts.insert(key, result);
        result
    }

    /// Requires a compile-time value.
    fn expect_known(
        &mut self,
        v: &Val,
        span: Span,
        what: &str,
    ) -> Option<(Option<ScalarType>, Literal)> {
        match v {
            Val::Known { ty, lit } => Some((*ty, *lit)),
            Val::Error => None,
            _ => {
                self.diags.push(diags::not_compile_time(what, span));
                None
            }
        }
    }

    fn expect_const_int(&mut self, v: &Val, span: Span, what: &str) -> Option<i128> {
        match self.expect_known(v, span, what)? {
            (ty, Literal::Int(i)) if ty.is_none_or(|t| t.is_int()) => Some(i),
            _ => {
                self.diags.push(
                    err("E0306", format!("{what} must be an integer"))
                        .with_label(span, format!("this is {}", self.describe(v)))
                        .with_help("use an integer constant"),
                );
                None
            }
        }
    }

    fn unary(&mut self, op: ast::UnaryOp, v: Val, vspan: Span, span: Span) -> Val {
        let Some(t) = self.op_ty(&v) else {
            if matches!(v, Val::Error) {
                return Val::Error;
            }
            return self.error(
                err(
                    "E0304",
                    format!("this unary operator cannot take {}", self.describe(&v)),
                )
                .with_label(vspan, format!("this is {}", self.describe(&v)))
                .with_help("unary `-` takes numbers, `!` bools or ints, `~` ints"),
            );
        };
        let (is_bool, is_int, is_float) = match t {
            OpTy::Typed(t) => (t.is_bool(), t.is_int(), t.is_float()),
            OpTy::UntypedInt => (false, true, false),
            OpTy::UntypedFloat => (false, false, true),
        };
        let ir_op = match op {
            ast::UnaryOp::Neg if is_int || is_float => ir::UnaryOp::Neg,
            ast::UnaryOp::Not if is_bool => ir::UnaryOp::Not,
            ast::UnaryOp::Not | ast::UnaryOp::BitNot if is_int => ir::UnaryOp::BitNot,
            _ => {
                let (sym, help) = match op {
                    ast::UnaryOp::Neg => ("-", "negate numbers only; for a bool use `!`"),
                    ast::UnaryOp::Not => ("!", "`!` takes bools (logical) or ints (bitwise)"),
                    ast::UnaryOp::BitNot => ("~", "`~` takes ints; for a bool use `!`"),
                };
                return self.error(
                    err(
                        "E0304",
                        format!("`{sym}` cannot be applied to {}", self.describe(&v)),
                    )
                    .with_label(vspan, format!("this is {}", self.describe(&v)))
                    .with_help(help),
                );
            }
        };
        if let Val::Known { ty, lit } = v {
            let folded = match (ir_op, lit) {
                (ir::UnaryOp::Neg, Literal::Int(i)) => {
                    Some(Literal::Int(ty.map_or(-i, |t| fold::wrap_int(-i, t))))
                }
                (ir::UnaryOp::Neg, Literal::Float(f)) => Some(Literal::Float(-f)),
                (ir::UnaryOp::Not, Literal::Bool(b)) => Some(Literal::Bool(!b)),
                (ir::UnaryOp::BitNot, Literal::Int(i)) => {
                    Some(Literal::Int(ty.map_or(!i, |t| fold::wrap_int(!i, t))))
                }
                _ => None,
            };
            if let Some(lit) = folded {
                return Val::Known { ty, lit };
            }
        }
        let Some(id) = self.runtime_value(&v, vspan) else {
            return Val::Error;
        };
        self.b.span = span;
        Val::Rt(self.b.unary(ir_op, id))
    }

    fn binary_expr(
        &mut self,
        op: ast::BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: Span,
    ) -> Val {
        if matches!(op, ast::BinaryOp::And | ast::BinaryOp::Or) {
            return self.short_circuit(op, lhs, rhs, span);
        }
        let l = self.expr(lhs);
        let r = self.expr(rhs);
        self.b.span = span;
        self.binary(op, l, lhs.span, r, rhs.span, span)
    }

    pub fn binary(
        &mut self,
        op: ast::BinaryOp,
        l: Val,
        ls: Span,
        r: Val,
        rs: Span,
        span: Span,
    ) -> Val {
        if matches!(l, Val::Error) || matches!(r, Val::Error) {
            return Val::Error;
        }
        let sym = op.symbol();
        // Pointer arithmetic.
        if self.is_pointer(&l) || self.is_pointer(&r) {
            return self.pointer_arith(op, l, ls, r, rs, span);
        }
        let Some(unified) = self.unify(sym, &[(&l, ls), (&r, rs)]) else {
            return Val::Error;
        };
        let (is_bool, is_int, is_float) = match unified {
            Ok(t) => (t.is_bool(), t.is_int(), t.is_float()),
            Err(OpTy::UntypedFloat) => (false, false, true),
            Err(_) => (false, true, false),
        };
        use ast::BinaryOp as B;
        let allowed = match op {
            B::Add | B::Sub | B::Mul | B::Div | B::Rem => is_int || is_float,
            B::Shl | B::Shr => is_int,
            B::BitAnd | B::BitOr | B::BitXor => is_int || is_bool,
            B::Eq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge => true,
            B::And | B::Or => is_bool,
        };
        if !allowed {
            let ty = match unified {
                Ok(t) => t.name().to_string(),
                Err(OpTy::UntypedFloat) => "float".into(),
                Err(_) => "int".into(),
            };
            let help = match op {
                B::Shl | B::Shr => "shifts take integers".to_string(),
                B::BitAnd | B::BitOr | B::BitXor => {
                    "`&`, `|`, `^` take integers or bools".to_string()
                }
                _ if is_bool => {
                    "arithmetic takes numbers; convert a bool with `as i32`".to_string()
                }
                _ => format!("`{sym}` does not take `{ty}`"),
            };
            return self.error(
                err(
                    "E0304",
                    format!("`{sym}` cannot be applied to `{ty}` operands"),
                )
                .with_label(span, format!("`{ty}` {sym} `{ty}`"))
                .with_help(help),
            );
        }
        // Fold compile-time operands.
        if let (Val::Known { lit: a, .. }, Val::Known { lit: b, .. }) = (&l, &r) {
            let ty = unified.ok();
            let (a, b) = match unified {
                Err(OpTy::UntypedFloat) => (
                    fold::convert(*a, ScalarType::F64),
                    fold::convert(*b, ScalarType::F64),
                ),
                Ok(t) => (fold::convert(*a, t), fold::convert(*b, t)),
                Err(_) => (*a, *b),
            };
            if let Some(fop) = fold_op_of(op) {
                match fold::fold_binary(fop, ty, a, b) {
                    Ok(lit) => {
                        let ty = if op.is_comparison() {
                            Some(ScalarType::Bool)
                        } else {
                            ty
                        };
                        return Val::Known { ty, lit };
                    }
                    Err(FoldError::DivisionByZero) => {
                        return self.error(diags::division_by_zero(rs))
                    }
                    Err(FoldError::NotFoldable) => {}
                }
            }
        }
        let elem = match unified {
            Ok(t) => t,
            Err(OpTy::UntypedFloat) => ScalarType::F32,
            Err(_) => ScalarType::I32,
        };
        let Some(shape) = self.broadcast_all(&[(&l, ls), (&r, rs)]) else {
            return Val::Error;
        };
        let (Some(a), Some(b)) = (
            self.materialize(&l, elem, &shape, ls),
            self.materialize(&r, elem, &shape, rs),
        ) else {
            return Val::Error;
        };
        self.b.span = span;
        if let Some(cmp) = cmp_op_of(op) {
            return Val::Rt(self.b.compare(cmp, a, b));
        }
        let ir_op = ir_binary_of(op).expect("arithmetic op");
        Val::Rt(self.b.binary(ir_op, a, b))
    }

    fn pointer_arith(
        &mut self,
        op: ast::BinaryOp,
        l: Val,
        ls: Span,
        r: Val,
        rs: Span,
        span: Span,
    ) -> Val {
        let (ptr, ps, off, os) = match op {
            ast::BinaryOp::Add | ast::BinaryOp::Sub
                if self.is_pointer(&l) && !self.is_pointer(&r) =>
            {
                (l, ls, r, rs)
            }
            ast::BinaryOp::Add if self.is_pointer(&r) && !self.is_pointer(&l) => (r, rs, l, ls),
            _ => {
                return self.error(
                    err(
                        "E0315",
                        format!(
                            "`{}` cannot be applied to these pointer operands",
                            op.symbol()
                        ),
                    )
                    .with_label(
                        span,
                        format!(
                            "{} {} {}",
                            self.describe(&l),
                            op.symbol(),
                            self.describe(&r)
                        ),
                    )
                    .with_help(
                        "pointers support `ptr + offsets`, `offsets + ptr` and `ptr - \
                            offsets` with integer offsets",
                    ),
                )
            }
        };
        if matches!(off, Val::Error) {
            return Val::Error;
        }
        let off_elem = match self.op_ty(&off) {
            Some(OpTy::Typed(t)) if t.is_int() => t,
            Some(OpTy::UntypedInt) => ScalarType::I32,
            _ => {
                return self.error(
                    err(
                        "E0315",
                        format!(
                            "pointer offsets must be integers, found {}",
                            self.describe(&off)
                        ),
                    )
                    .with_label(os, format!("this is {}", self.describe(&off)))
                    .with_label(ps, "pointer")
                    .with_help("offsets count elements; convert with `as i32`"),
                )
            }
        };
        let Some(shape) = self.broadcast_all(&[(&ptr, ps), (&off, os)]) else {
            return Val::Error;
        };
        let Val::Rt(p) = ptr else { return Val::Error };
        let Some(mut o) = self.materialize(&off, off_elem, &shape, os) else {
            return Val::Error;
        };
        self.b.span = span;
        if op == ast::BinaryOp::Sub {
            o = self.b.unary(ir::UnaryOp::Neg, o);
        }
        let p = self.reshape_to(p, &shape);
        Val::Rt(self.b.ptr_offset(p, o))
    }

    fn expect_scalar_bool(&mut self, v: &Val, span: Span, what: &str) -> Option<ValueId> {
        match self.op_ty(v) {
            Some(OpTy::Typed(ScalarType::Bool)) => {
                let shape = self.shape_of(v);
                if !shape.is_empty() {
                    self.diags.push(
                        err(
                            "E0405",
                            format!("{what} must be a scalar `bool`, found {}", self.describe(v)),
                        )
                        .with_label(
                            span,
                            format!("this is a block of shape {}", shape_text(&shape)),
                        )
                        .with_help(
                            "use `where(cond, a, b)` for a block condition, or reduce it first",
                        ),
                    );
                    return None;
                }
                self.materialize(v, ScalarType::Bool, &[], span)
            }
            None if matches!(v, Val::Error) => None,
            _ => {
                self.diags.push(
                    err(
                        "E0305",
                        format!("{what} must be `bool`, found {}", self.describe(v)),
                    )
                    .with_label(span, format!("this is {}", self.describe(v)))
                    .with_help("compare to get a bool, e.g. `x != 0`"),
                );
                None
            }
        }
    }

    fn short_circuit(
        &mut self,
        op: ast::BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: Span,
    ) -> Val {
        let l = self.expr(lhs);
        if let Val::Known {
            ty: Some(ScalarType::Bool),
            lit: Literal::Bool(a),
        } = l
        {
            // Compile-time left side: short-circuit at compile time too.
            if (op == ast::BinaryOp::And) != a {
                return Val::known(ScalarType::Bool, Literal::Bool(a));
            }
            let r = self.expr(rhs);
            if let Val::Known { .. } = r {
                if self
                    .expect_scalar_bool(&r, rhs.span, "the right side of a logic operator")
                    .is_none()
                {
                    return Val::Error;
                }
                return r;
            }
            return match self.check_logic_operand(&r, rhs.span, op) {
                Some(id) => Val::Rt(id),
                None => Val::Error,
            };
        }
        let Some(a) = self.check_logic_operand(&l, lhs.span, op) else {
            return Val::Error;
        };
        self.b.span = span;
        let local = self.b.add_local(
            if op == ast::BinaryOp::And {
                "and"
            } else {
                "or"
            },
            Type::scalar(ScalarType::Bool),
        );
        self.b.local_set(local, a);
        self.b.begin_region();
        let r = self.expr(rhs);
        let rv = self.check_logic_operand(&r, rhs.span, op);
        if let Some(rv) = rv {
            self.b.span = span;
            self.b.local_set(local, rv);
        }
        let region = self.b.end_region();
        self.b.span = span;
        let (then_region, else_region) = if op == ast::BinaryOp::And {
            (region, ir::Region::default())
        } else {
            (ir::Region::default(), region)
        };
        self.b.push(
            InstKind::If {
                cond: a,
                then_region,
                else_region,
            },
            None,
        );
        if rv.is_none() {
            return Val::Error;
        }
        Val::Rt(self.b.local_get(local))
    }

    fn check_logic_operand(&mut self, v: &Val, span: Span, op: ast::BinaryOp) -> Option<ValueId> {
        if let (Some(OpTy::Typed(ScalarType::Bool)), false) =
            (self.op_ty(v), self.shape_of(v).is_empty())
        {
            self.diags.push(
                err(
                    "E0319",
                    format!(
                        "`{}` takes scalar bools, found {}",
                        op.symbol(),
                        self.describe(v)
                    ),
                )
                .with_label(span, "this is a block")
                .with_help(format!(
                    "use `{}` for elementwise logic on masks",
                    if op == ast::BinaryOp::And { "&" } else { "|" }
                )),
            );
            return None;
        }
        self.expect_scalar_bool(v, span, &format!("an operand of `{}`", op.symbol()))
    }

    fn cast(&mut self, v: Val, to: ScalarType, vspan: Span, span: Span) -> Val {
        match &v {
            Val::Error => Val::Error,
            Val::Known { lit, .. } => Val::known(to, fold::convert(*lit, to)),
            Val::Rt(id) if !self.is_pointer(&v) => {
                if self.b.ty(*id).scalar_type() == Some(to) {
                    return v;
                }
                self.b.span = span;
                Val::Rt(self.b.cast(*id, to))
            }
            _ => self.error(
                err(
                    "E0304",
                    format!("cannot cast {} to `{to}`", self.describe(&v)),
                )
                .with_label(vspan, format!("this is {}", self.describe(&v)))
                .with_help("`as` converts numbers and bools; pointers cannot be cast"),
            ),
        }
    }

    fn index(&mut self, v: Val, vspan: Span, slices: &[ast::Slice], span: Span) -> Val {
        if matches!(v, Val::Error) {
            return Val::Error;
        }
        let Some(id) = self.runtime_value(&v, vspan) else {
            return self.error(diags::no_value(vspan, "an indexed value"));
        };
        let rank = self.b.ty(id).shape.len();
        let full = slices
            .iter()
            .filter(|s| matches!(s, ast::Slice::Full(_)))
            .count();
        if full != rank {
            return self.error(
                err(
                    "E0403",
                    format!("index has {full} `:` but the value has rank {rank}"),
                )
                .with_label(span, format!("expected {rank} `:`"))
                .with_label(vspan, format!("this is `{}`", type_text(&self.rt_type(id))))
                .with_help(
                    "write one `:` per dim of the value and `None` where a new dim of size 1 goes",
                ),
            );
        }
        if rank + slices.len() - full > 4 {
            return self.error(
                err("E0403", "blocks have at most 4 dims")
                    .with_label(span, "this makes more than 4 dims")
                    .with_help("use fewer `None`s"),
            );
        }
        self.b.span = span;
        let mut id = id;
        for (i, s) in slices.iter().enumerate() {
            if let ast::Slice::NewAxis(_) = s {
                id = if self.b.ty(id).shape.is_empty() {
                    self.b.splat(id, vec![1])
                } else {
                    self.b.expand_dims(id, i as u32)
                };
            }
        }
        Val::Rt(id)
    }

    // ---- blocks and statements -----------------------------------------------------------------

    /// Elaborates a block in a new scope; `fn_body`: the block is an inlined fn's body, whose
    /// tail is a return (the fn's value is collected in its `FnReturn`, not returned here).
    pub fn block(&mut self, block: &ast::Block, fn_body: bool) -> Val {
        self.push_scope();
        let mut guards = Vec::new();
        for stmt in &block.stmts {
            if self.reach() == Reach::Returned {
                break;
            }
            self.stmt(stmt);
            if let Some(g) = self.after_maybe_return() {
                guards.push(g);
            }
        }
        let mut value = Val::Unit;
        if self.reach() != Reach::Returned {
            let tail = block.tail.as_ref().map(|t| (self.expr(t), t.span));
            if fn_body {
                if self.reach() != Reach::Returned {
                    let (v, span) = tail.unwrap_or((Val::Unit, block.span));
                    self.fn_return(v, span);
                }
            } else if let Some((v, span)) = tail {
                value = v;
                if !guards.is_empty() && !matches!(value, Val::Unit | Val::Error) {
                    // The value leaves the `if !returned` regions through a local.
                    value = self.carry_out(value, span);
                }
            }
        }
        while let Some(cond) = guards.pop() {
            self.close_guard(cond);
        }
        self.pop_scope();
        value
    }

    /// How far the fn being inlined has returned (`Live` outside fns).
    fn reach(&self) -> Reach {
        self.frames
            .last()
            .and_then(|f| f.ret.as_ref())
            .map_or(Reach::Live, |r| r.reach)
    }

    fn set_reach(&mut self, reach: Reach) {
        if let Some(r) = self.frame().ret.as_mut() {
            r.reach = reach;
        }
    }

    /// `return`s elaborated so far in the fn being inlined.
    fn return_count(&self) -> u32 {
        self.frames
            .last()
            .and_then(|f| f.ret.as_ref())
            .map_or(0, |r| r.count)
    }

    /// Enters (`+1`) or leaves (`-1`) a runtime `if` branch or loop body of the fn being inlined.
    fn runtime_nesting(&mut self, delta: i32) {
        if let Some(r) = self.frame().ret.as_mut() {
            r.runtime_depth = r.runtime_depth.saturating_add_signed(delta);
        }
    }

    /// Enters (`+1`) or leaves (`-1`) a `while` condition.
    fn condition_nesting(&mut self, delta: i32) {
        if let Some(r) = self.frame().ret.as_mut() {
            r.in_condition = r.in_condition.saturating_add_signed(delta);
        }
    }

    /// After a statement some of whose paths returned, keeps the rest of the fn from running on
    /// those paths: inside a runtime loop with `if returned { break }`, elsewhere by opening
    /// `if !returned { … }` around the rest (its condition is returned; see `close_guard`).
    fn after_maybe_return(&mut self) -> Option<ValueId> {
        if self.reach() != Reach::Maybe {
            return None;
        }
        let flag = self.frame().ret.as_ref().and_then(|r| r.flag)?;
        let returned = self.b.local_get(flag);
        self.set_reach(Reach::Live);
        if self.frame().loops.contains(&LoopKind::Runtime) {
            self.b.begin_region();
            self.b.push(InstKind::Break, None);
            self.push_then(returned);
            return None;
        }
        let live = self.b.unary(ir::UnaryOp::Not, returned);
        self.b.begin_region();
        Some(live)
    }

    /// Closes a region opened by `after_maybe_return`.
    fn close_guard(&mut self, cond: ValueId) {
        self.push_then(cond);
        if self.reach() != Reach::Returned {
            self.set_reach(Reach::Maybe);
        }
    }

    /// Ends the region being filled as the body of `if cond { … }` (no else).
    fn push_then(&mut self, cond: ValueId) {
        let then_region = self.b.end_region();
        self.b.push(
            InstKind::If {
                cond,
                then_region,
                else_region: ir::Region::default(),
            },
            None,
        );
    }

    /// A block value computed under `if !returned`, moved out through a local.
    fn carry_out(&mut self, v: Val, span: Span) -> Val {
        let ty = match &v {
            Val::Rt(id) => self.rt_type(*id),
            _ => match self.default_scalar(&v) {
                Some(t) => Type::scalar(t),
                None => return Val::Error,
            },
        };
        let Elem::Scalar(elem) = ty.elem else {
            return self.error(
                err(
                    "E0602",
                    "a block that follows an early `return` cannot yield a pointer",
                )
                .with_label(span, "this pointer is the block's value")
                .with_help("bind the pointer with `let` before the `return`"),
            );
        };
        let local = self.b.add_local("block_value", ty.clone());
        if let Some(id) = self.materialize(&v, elem, &ty.shape, span) {
            self.b.local_set(local, id);
        }
        Val::Rt(self.b.local_get(local))
    }

    /// `return v` (or a fn body's tail) in the fn being inlined.
    fn fn_return(&mut self, v: Val, span: Span) {
        let Some(r) = self.frame().ret.as_mut() else {
            return;
        };
        r.count += 1;
        let runtime = r.runtime_depth > 0;
        let has_value = !matches!(v, Val::Unit);
        let first = *r.first.get_or_insert((has_value, span));
        let (slot, flag, declared) = (r.slot, r.flag, r.declared);
        r.reach = Reach::Returned;
        if matches!(v, Val::Error) {
            // Reported already; the call's value stays an error so nothing more is reported.
            if r.slot.is_none() {
                r.value = Some(Val::Error);
            }
            return;
        }
        if first.0 != has_value {
            let (with, without) = if has_value {
                (span, first.1)
            } else {
                (first.1, span)
            };
            self.diags.push(
                err(
                    "E0312",
                    "this fn returns a value on some paths but not on others",
                )
                .with_label(with, "a value is returned here")
                .with_label(without, "no value is returned here")
                .with_help("return a value on every path, or on none"),
            );
            self.return_failed();
            return;
        }
        if has_value && slot.is_none() && !runtime {
            // Reached through compile-time control flow only: the value is the fn's value.
            if let Some(r) = self.frame().ret.as_mut() {
                r.value = Some(v);
            }
        } else if has_value {
            let slot = match slot {
                Some(slot) => slot,
                None => {
                    let ty = match &v {
                        Val::Rt(id) => self.rt_type(*id),
                        _ => match declared.or_else(|| self.default_scalar(&v)) {
                            Some(t) => Type::scalar(t),
                            None => return,
                        },
                    };
                    let slot = self.b.add_local("fn_result", ty);
                    let untyped = matches!(v, Val::Known { ty: None, .. }) && declared.is_none();
                    if let Some(r) = self.frame().ret.as_mut() {
                        r.slot = Some(slot);
                        r.provisional = untyped.then(Vec::new);
                    }
                    slot
                }
            };
            self.write_result(slot, &v, span, first.1);
        }
        if runtime {
            let flag = match flag {
                Some(flag) => flag,
                None => self.returned_flag(),
            };
            let t = self.b.constant(ScalarType::Bool, Literal::Bool(true));
            self.b.local_set(flag, t);
            if self.frame().loops.contains(&LoopKind::Runtime) {
                self.b.push(InstKind::Break, None);
            }
        }
    }

    fn return_failed(&mut self) {
        if let Some(r) = self.frame().ret.as_mut() {
            r.failed = true;
        }
    }

    /// Creates the `returned` flag of the fn being inlined, set to false at its entry.
    fn returned_flag(&mut self) -> LocalId {
        let flag = self.b.add_local("returned", Type::scalar(ScalarType::Bool));
        let entry = self.frame().ret.as_ref().map_or((0, 0), |r| r.entry);
        self.b.insert_at(entry, |b| {
            let f = b.constant(ScalarType::Bool, Literal::Bool(false));
            b.local_set(flag, f);
        });
        if let Some(r) = self.frame().ret.as_mut() {
            r.flag = Some(flag);
        }
        flag
    }

    /// Writes a returned value into the result local, whose type the first such return fixed.
    fn write_result(&mut self, slot: LocalId, v: &Val, span: Span, first: Span) {
        self.settle_result_type(slot, v);
        let ty = self.b.kernel.locals[slot].ty.clone();
        let fits = match (v, ty.elem) {
            (Val::Rt(id), _) => *self.b.ty(*id) == ty,
            (Val::Known { ty: Some(t), .. }, Elem::Scalar(e)) => *t == e,
            (Val::Known { ty: None, lit }, Elem::Scalar(e)) => {
                !(matches!(lit, Literal::Float(_)) && e.is_int())
            }
            _ => false,
        };
        if !fits {
            let found = self.describe(v);
            self.diags.push(
                err(
                    "E0312",
                    format!("this fn returns `{}` and {found}", type_text(&ty)),
                )
                .with_label(span, format!("this is {found}"))
                .with_label(first, format!("this is `{}`", type_text(&ty)))
                .with_help(
                    "every `return` of a fn must give the same type and shape; convert with `as`, \
                    or annotate the fn's result type (`-> T`)",
                ),
            );
            self.return_failed();
            return;
        }
        let Elem::Scalar(elem) = ty.elem else {
            if let Val::Rt(id) = v {
                self.b.local_set(slot, *id);
            }
            return;
        };
        if let Some(id) = self.materialize(v, elem, &ty.shape, span) {
            self.b.local_set(slot, id);
            if let (Val::Known { ty: None, lit }, Some(Some(p))) =
                (v, self.frame().ret.as_mut().map(|r| r.provisional.as_mut()))
            {
                p.push((id, *lit, span));
            }
        }
    }

    /// While the result local's type comes only from untyped literals: a float literal makes an
    /// int result `f32`, and the first typed scalar return fixes the type (the literals already
    /// written are converted, with the usual literal errors at their spans).
    fn settle_result_type(&mut self, slot: LocalId, v: &Val) {
        let Some(Some(written)) = self.frame().ret.as_ref().map(|r| r.provisional.clone()) else {
            return;
        };
        let current = self.b.kernel.locals[slot].ty.scalar_type();
        let to = match v {
            Val::Known {
                ty: None,
                lit: Literal::Float(_),
            } if current.is_some_and(|t| t.is_int()) => ScalarType::F32,
            Val::Known { ty: None, .. } => return,
            Val::Known { ty: Some(t), .. } => *t,
            Val::Rt(id) => match self.b.ty(*id) {
                Type {
                    elem: Elem::Scalar(t),
                    shape,
                } if shape.is_empty() => *t,
                _ => return,
            },
            Val::Unit | Val::Error => return,
        };
        for &(id, lit, span) in &written {
            let lit = self.literal_as(lit, to, span).unwrap_or(lit);
            let inst = &mut self.b.kernel.insts[id];
            inst.kind = InstKind::Const(lit);
            inst.ty = Some(Type::scalar(to));
        }
        self.b.kernel.locals[slot].ty = Type::scalar(to);
        // Only a typed value fixes the type; after an untyped float it may still change.
        let still = matches!(v, Val::Known { ty: None, .. });
        if let Some(r) = self.frame().ret.as_mut() {
            r.provisional = still.then_some(written);
        }
    }

    fn stmt(&mut self, stmt: &ast::Stmt) {
        self.b.span = stmt.span;
        match &stmt.kind {
            ast::StmtKind::Let {
                mutable,
                name,
                ty,
                value,
            } => self.let_stmt(*mutable, name, ty.as_ref(), value),
            ast::StmtKind::Assign { place, op, value } => self.assign(place, *op, value, stmt.span),
            ast::StmtKind::For {
                var,
                kind,
                args,
                body,
            } => match kind {
                ast::LoopKind::Range => self.range_loop(var, args, body, stmt.span),
                ast::LoopKind::StaticRange => self.static_loop(var, args, body, stmt.span),
            },
            ast::StmtKind::While { cond, body } => self.while_loop(cond, body, stmt.span),
            ast::StmtKind::Return(value) => {
                let is_kernel = self.frames.last().is_some_and(|f| f.is_kernel);
                match (is_kernel, value) {
                    (true, None) => {
                        self.b.push(InstKind::Return, None);
                    }
                    (true, Some(e)) => {
                        self.diags.push(
                            err("E0312", "a kernel returns no value")
                                .with_label(e.span, "this value cannot be returned")
                                .with_help(
                                    "write results with `store`, and end the program with \
                                    `return;`",
                                ),
                        );
                    }
                    (false, value) => {
                        let in_condition = match self.frame().ret.as_ref() {
                            None => {
                                self.diags.push(
                                    err("E0602", "`return` outside of a fn or kernel")
                                        .with_label(stmt.span, "in a const expression")
                                        .with_help("a const is a single expression"),
                                );
                                return;
                            }
                            Some(r) => r.in_condition > 0,
                        };
                        if in_condition {
                            self.diags.push(
                                err("E0602", "`return` inside a `while` condition")
                                    .with_label(stmt.span, "returns from the loop's condition")
                                    .with_help(
                                        "compute the condition first, then `return` in the loop \
                                        body",
                                    ),
                            );
                            // The branch yields nothing; no second error about its value.
                            self.set_reach(Reach::Returned);
                            return;
                        }
                        let v = value.as_ref().map_or(Val::Unit, |e| self.expr(e));
                        let span = value.as_ref().map_or(stmt.span, |e| e.span);
                        if self.reach() != Reach::Returned {
                            self.fn_return(v, span);
                        }
                    }
                }
            }
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                let word = if matches!(stmt.kind, ast::StmtKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                match self.frame().loops.last().copied() {
                    Some(LoopKind::Runtime) => {
                        let kind = if word == "break" {
                            InstKind::Break
                        } else {
                            InstKind::Continue
                        };
                        self.b.push(kind, None);
                    }
                    Some(LoopKind::Unrolled) => {
                        self.diags.push(
                            err(
                                "E0604",
                                format!("`{word}` inside `static_range` is not supported"),
                            )
                            .with_label(stmt.span, "in an unrolled loop")
                            .with_help(
                                "use `range` for a runtime loop, or guard the body with `if`",
                            ),
                        );
                    }
                    None => {
                        self.diags.push(
                            err("E0209", format!("`{word}` outside of a loop"))
                                .with_label(stmt.span, "not inside `for` or `while`")
                                .with_help(format!("`{word}` is allowed only inside a loop body")),
                        );
                    }
                }
            }
            ast::StmtKind::Expr(e) => {
                self.expr(e);
            }
            ast::StmtKind::Error => {}
        }
    }

    /// Converts a type annotation to an IR type (shapes evaluated).
    fn annotation(&mut self, ty: &ast::Ty) -> Option<(Elem, Option<Vec<u32>>)> {
        match &ty.kind {
            ast::TyKind::Scalar(t) => Some((Elem::Scalar(*t), None)),
            ast::TyKind::Block { elem, dims } => {
                let shape = self.shape_dims(dims, ty.span)?;
                Some((Elem::Scalar(*elem), Some(shape)))
            }
            ast::TyKind::Ptr { mutable, pointee } => Some((
                Elem::Ptr {
                    pointee: *pointee,
                    mutable: *mutable,
                    param: u32::MAX,
                },
                None,
            )),
        }
    }

    /// Checks `v` against an annotation (`exact_shape`: scalar annotation means scalar); returns
    /// the value with untyped literals given the type.
    fn check_annotation(
        &mut self,
        v: Val,
        vspan: Span,
        ty: &ast::Ty,
        exact_shape: bool,
        code: &'static str,
        what: &str,
    ) -> Val {
        if matches!(v, Val::Error) {
            return v;
        }
        let Some((elem, shape)) = self.annotation(ty) else {
            return Val::Error;
        };
        let ty_text = self.b_ty_text(ty);
        let mismatch = |this: &mut Self, v: &Val| {
            let found = this.describe(v);
            this.error(
                err(code, format!("{what}: expected `{ty_text}`, found {found}"))
                    .with_label(vspan, format!("this is {found}"))
                    .with_label(ty.span, "expected because of this type")
                    .with_help(
                        "element types and shapes must match exactly; convert with `as` or \
                        reshape the value",
                    ),
            )
        };
        match (elem, &v) {
            (Elem::Scalar(t), Val::Known { ty: None, lit }) => {
                if shape.as_ref().is_some_and(|s| !s.is_empty()) {
                    return mismatch(self, &v);
                }
                match self.literal_as(*lit, t, vspan) {
                    Some(lit) => Val::known(t, lit),
                    None => Val::Error,
                }
            }
            (Elem::Scalar(t), _) => {
                if self.op_ty(&v) != Some(OpTy::Typed(t)) {
                    return mismatch(self, &v);
                }
                let have = self.shape_of(&v);
                let want_ok = match &shape {
                    Some(s) => *s == have,
                    None => !exact_shape || have.is_empty(),
                };
                if !want_ok {
                    return mismatch(self, &v);
                }
                v
            }
            (
                Elem::Ptr {
                    pointee, mutable, ..
                },
                Val::Rt(id),
            ) => match self.b.ty(*id).elem {
                Elem::Ptr {
                    pointee: p,
                    mutable: m,
                    ..
                } if p == pointee && (m || !mutable) => v,
                _ => mismatch(self, &v),
            },
            _ => mismatch(self, &v),
        }
    }

    fn b_ty_text(&mut self, ty: &ast::Ty) -> String {
        match self.annotation(ty) {
            Some((Elem::Scalar(t), Some(s))) => format!("{t}{}", shape_text(&s)),
            Some((Elem::Scalar(t), None)) => t.name().to_string(),
            Some((
                Elem::Ptr {
                    pointee, mutable, ..
                },
                _,
            )) => {
                format!("*{}{pointee}", if mutable { "mut " } else { "" })
            }
            None => "?".into(),
        }
    }

    fn let_stmt(
        &mut self,
        mutable: bool,
        name: &ast::Ident,
        ty: Option<&ast::Ty>,
        value: &ast::Expr,
    ) {
        let mut v = self.expr(value);
        if matches!(v, Val::Unit) {
            self.diags.push(diags::no_value(
                value.span,
                &format!("the value of `{}`", name.name),
            ));
            v = Val::Error;
        }
        if let Some(ty) = ty {
            v = self.check_annotation(
                v,
                value.span,
                ty,
                true,
                "E0310",
                &format!("mismatched types for `{}`", name.name),
            );
        }
        if !mutable || matches!(v, Val::Error) {
            self.bind_value(&name.name, v);
            return;
        }
        let Some(elem) = self
            .default_scalar(&v)
            .map(Elem::Scalar)
            .or_else(|| match &v {
                Val::Rt(id) => Some(self.b.ty(*id).elem),
                _ => None,
            })
        else {
            self.bind_value(&name.name, Val::Error);
            return;
        };
        let shape = self.shape_of(&v);
        let id = match (&v, elem) {
            (Val::Rt(id), _) => *id,
            (_, Elem::Scalar(t)) => match self.materialize(&v, t, &[], value.span) {
                Some(id) => id,
                None => return self.bind_value(&name.name, Val::Error),
            },
            _ => return self.bind_value(&name.name, Val::Error),
        };
        self.b.span = name.span;
        let local = self.b.add_local(name.name.clone(), Type { elem, shape });
        self.b.local_set(local, id);
        self.bind_local(&name.name, local, true);
    }

    fn assign(&mut self, place: &ast::Expr, op: ast::AssignOp, value: &ast::Expr, span: Span) {
        let ast::ExprKind::Path(path) = &place.kind else {
            self.diags.push(
                err("E0210", "only variables can be assigned to")
                    .with_label(place.span, "not a variable")
                    .with_help("assign to a variable declared with `let mut`"),
            );
            return;
        };
        let name = &path[0].name;
        let local = match (path.len(), self.lookup_binding(name).cloned()) {
            (1, Some(Binding::Local { id, mutable: true })) => id,
            (1, Some(_)) => {
                self.diags.push(
                    err(
                        "E0210",
                        format!("cannot assign twice to immutable variable `{name}`"),
                    )
                    .with_label(place.span, "cannot assign")
                    .with_help(format!("declare it with `let mut {name}`")),
                );
                self.expr(value);
                return;
            }
            _ => {
                self.path(path, place.span);
                self.expr(value);
                return;
            }
        };
        let v = self.expr(value);
        let v = match assign_to_binary(op) {
            Some(bop) => {
                self.b.span = span;
                let cur = Val::Rt(self.b.local_get(local));
                self.binary(bop, cur, place.span, v, value.span, span)
            }
            None => v,
        };
        if matches!(v, Val::Error) {
            return;
        }
        let lty = self.b.kernel.locals[local].ty.clone();
        let ok_elem = match (lty.elem, self.op_ty(&v)) {
            (Elem::Scalar(t), Some(OpTy::Typed(u))) => t == u,
            (Elem::Scalar(t), Some(OpTy::UntypedInt)) => !t.is_bool(),
            (Elem::Scalar(t), Some(OpTy::UntypedFloat)) => t.is_float(),
            // A pointer variable keeps pointing into the same parameter.
            (Elem::Ptr { .. }, None) => {
                matches!(&v, Val::Rt(id) if self.b.ty(*id).elem == lty.elem)
            }
            _ => false,
        };
        // A pointer into another parameter: say so (the types print the same).
        if let (Elem::Ptr { param: want, .. }, Val::Rt(id)) = (lty.elem, &v) {
            if let Elem::Ptr { param: got, .. } = self.b.ty(*id).elem {
                if got != want {
                    let params = &self.b.kernel.params;
                    let (want, got) = (&params[want as usize].name, &params[got as usize].name);
                    self.diags.push(
                        err(
                            "E0315",
                            format!("`{name}` points into `{want}`; it cannot be set to a pointer into `{got}`"),
                        )
                        .with_label(value.span, format!("this points into `{got}`"))
                        .with_help(
                            "every pointer value derives from one pointer parameter; keep one \
                                variable per parameter and choose with `if` or a mask",
                        ),
                    );
                    return;
                }
            }
        }
        let vshape = self.shape_of(&v);
        if !ok_elem || !(vshape == lty.shape || vshape.is_empty()) {
            let found = self.describe(&v);
            let code = if ok_elem { "E0402" } else { "E0311" };
            self.diags.push(
                err(
                    code,
                    format!(
                        "`{name}` is `{}` but the assigned value is {found}",
                        type_text(&lty)
                    ),
                )
                .with_label(value.span, format!("this is {found}"))
                .with_help(
                    "a `let mut` variable keeps its type and shape; convert with `as` \
                        or broadcast the value",
                ),
            );
            return;
        }
        let id = match (lty.elem, &v) {
            (Elem::Scalar(t), _) => self.materialize(&v, t, &lty.shape, value.span),
            (_, Val::Rt(id)) => Some(self.reshape_to(*id, &lty.shape)),
            _ => None,
        };
        if let Some(id) = id {
            self.b.span = span;
            self.b.local_set(local, id);
        }
    }

    /// The int type shared by loop bounds.
    fn loop_bounds(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        word: &str,
    ) -> Option<(Vec<Val>, ScalarType)> {
        if args.len() < 2 || args.len() > 3 {
            self.diags.push(
                err(
                    "E0204",
                    format!(
                        "`{word}` takes 2 or 3 arguments but {} were given",
                        args.len()
                    ),
                )
                .with_label(span, "wrong number of arguments")
                .with_help(format!(
                    "write `{word}(start, end)` or `{word}(start, end, step)`"
                )),
            );
            return None;
        }
        let vals: Vec<Val> = args.iter().map(|a| self.expr(a)).collect();
        if vals.iter().any(|v| matches!(v, Val::Error)) {
            return None;
        }
        let pairs: Vec<(&Val, Span)> = vals.iter().zip(args).map(|(v, a)| (v, a.span)).collect();
        let unified = self.unify(",", &pairs)?;
        let ty = match unified {
            Ok(t) if t.is_int() => t,
            Err(OpTy::UntypedInt) => ScalarType::I32,
            _ => {
                let bad = vals.iter().zip(args).find(|(v, _)| {
                    !matches!(self.op_ty(v), Some(OpTy::UntypedInt))
                        && !self
                            .op_ty(v)
                            .is_some_and(|t| matches!(t, OpTy::Typed(t) if t.is_int()))
                });
                let (v, a) = bad.unwrap_or((&vals[0], &args[0]));
                self.diags.push(
                    err(
                        "E0306",
                        format!(
                            "`{word}` bounds must be integers, found {}",
                            self.describe(v)
                        ),
                    )
                    .with_label(a.span, format!("this is {}", self.describe(v)))
                    .with_help("convert with `as i32`"),
                );
                return None;
            }
        };
        for (v, a) in vals.iter().zip(args) {
            if !self.shape_of(v).is_empty() {
                self.diags.push(
                    err(
                        "E0306",
                        format!(
                            "`{word}` bounds must be scalars, found {}",
                            self.describe(v)
                        ),
                    )
                    .with_label(a.span, "this is a block")
                    .with_help("reduce the block to a scalar first, e.g. with `max(x)`"),
                );
                return None;
            }
        }
        if let Some(Val::Known {
            lit: Literal::Int(0),
            ..
        }) = vals.get(2)
        {
            self.diags.push(
                err("E0507", "loop step is zero")
                    .with_label(args[2].span, "this is zero")
                    .with_help("use a non-zero step (negative steps count down)"),
            );
            return None;
        }
        Some((vals, ty))
    }

    fn range_loop(&mut self, var: &ast::Ident, args: &[ast::Expr], body: &ast::Block, span: Span) {
        let Some((vals, ty)) = self.loop_bounds(args, span, "range") else {
            return;
        };
        let one = Val::Known {
            ty: None,
            lit: Literal::Int(1),
        };
        let step_val = vals.get(2).cloned().unwrap_or(one);
        let step_span = args.get(2).map_or(span, |a| a.span);
        let (Some(start), Some(end), Some(step)) = (
            self.materialize(&vals[0], ty, &[], args[0].span),
            self.materialize(&vals[1], ty, &[], args[1].span),
            self.materialize(&step_val, ty, &[], step_span),
        ) else {
            return;
        };
        let local = self.b.add_local(var.name.clone(), Type::scalar(ty));
        self.b.begin_region();
        self.push_scope();
        self.bind_local(&var.name, local, false);
        self.runtime_loop_body(body);
        self.pop_scope();
        let region = self.b.end_region();
        self.b.span = span;
        self.b.push(
            InstKind::For {
                var: local,
                start,
                end,
                step,
                body: region,
            },
            None,
        );
    }

    /// A loop or branch body whose value is discarded.
    fn body_block(&mut self, body: &ast::Block) {
        self.block(body, false);
    }

    /// The body of a `range` or `while` loop: a `return` in it leaves the loop with `break`, and
    /// after the loop the fn may have returned.
    fn runtime_loop_body(&mut self, body: &ast::Block) {
        let returns = self.return_count();
        self.frame().loops.push(LoopKind::Runtime);
        self.runtime_nesting(1);
        self.body_block(body);
        self.runtime_nesting(-1);
        self.frame().loops.pop();
        let returned = self.return_count() > returns;
        self.set_reach(if returned { Reach::Maybe } else { Reach::Live });
    }

    fn static_loop(&mut self, var: &ast::Ident, args: &[ast::Expr], body: &ast::Block, span: Span) {
        let Some((vals, ty)) = self.loop_bounds(args, span, "static_range") else {
            return;
        };
        let mut ints = Vec::new();
        for (v, a) in vals.iter().zip(args) {
            match self.expect_const_int(v, a.span, "a `static_range` bound") {
                Some(i) => ints.push(i),
                None => return,
            }
        }
        let (start, end, step) = (ints[0], ints[1], ints.get(2).copied().unwrap_or(1));
        // Saturating: folded untyped ints may be huge, and a huge count is reported below.
        let count = if step > 0 {
            end.saturating_sub(start).saturating_add(step - 1).max(0) / step
        } else {
            start.saturating_sub(end).saturating_sub(step + 1).max(0) / step.saturating_neg()
        };
        if count > MAX_UNROLL {
            self.diags.push(
                err(
                    "E0603",
                    format!("`static_range` would unroll {count} iterations"),
                )
                .with_label(
                    args[0].span.to(args[args.len() - 1].span),
                    format!("more than {MAX_UNROLL} iterations"),
                )
                .with_help("use `range` for a runtime loop"),
            );
            return;
        }
        if !self.expand(count as u64, span) {
            return;
        }
        let mut i = start;
        let mut guards = Vec::new();
        for _ in 0..count {
            let before = self.diags.items.len();
            self.push_scope();
            self.bind_value(&var.name, Val::known(ty, Literal::Int(i)));
            self.frame().loops.push(LoopKind::Unrolled);
            self.body_block(body);
            self.frame().loops.pop();
            self.pop_scope();
            if self.diags.items.len() > before || self.reach() == Reach::Returned {
                break;
            }
            // Later iterations run only where no earlier one returned.
            if let Some(g) = self.after_maybe_return() {
                guards.push(g);
            }
            i += step;
        }
        while let Some(cond) = guards.pop() {
            self.close_guard(cond);
        }
    }

    /// Counts `amount` more unrolled iterations or inlined calls; false (and E0606, reported
    /// once) when the kernel grows past `MAX_EXPANSION`.
    fn expand(&mut self, amount: u64, span: Span) -> bool {
        let before = self.expansion;
        self.expansion = self.expansion.saturating_add(amount);
        if self.expansion <= MAX_EXPANSION {
            return true;
        }
        if before <= MAX_EXPANSION {
            self.diags.push(
                err(
                    "E0606",
                    "the kernel grows too large when unrolled and inlined",
                )
                .with_label(
                    span,
                    format!("here it passes {MAX_EXPANSION} unrolled iterations and fn calls"),
                )
                .with_help("use `range` for runtime loops, and fewer nested `static_range`s"),
            );
        }
        false
    }

    fn while_loop(&mut self, cond: &ast::Expr, body: &ast::Block, span: Span) {
        self.b.begin_region();
        self.condition_nesting(1);
        let c = self.expr(cond);
        self.condition_nesting(-1);
        let c = self.expect_scalar_bool(&c, cond.span, "a `while` condition");
        let cond_region = self.b.end_region();
        let Some(c) = c else { return };
        self.b.begin_region();
        self.runtime_loop_body(body);
        let region = self.b.end_region();
        self.b.span = span;
        self.b.push(
            InstKind::While {
                cond_region,
                cond: c,
                body: region,
            },
            None,
        );
    }

    fn if_expr(
        &mut self,
        cond: &ast::Expr,
        then_block: &ast::Block,
        else_branch: Option<&ast::Expr>,
        span: Span,
    ) -> Val {
        let c = self.expr(cond);
        if let Val::Known {
            ty: Some(ScalarType::Bool),
            lit: Literal::Bool(taken),
        } = c
        {
            // A compile-time condition picks its branch during elaboration (Triton's constexpr if).
            return if taken {
                self.block(then_block, false)
            } else {
                match else_branch {
                    Some(e) => self.expr(e),
                    None => Val::Unit,
                }
            };
        }
        let Some(c) = self.expect_scalar_bool(&c, cond.span, "an `if` condition") else {
            return Val::Error;
        };
        let returns = self.return_count();
        self.runtime_nesting(1);
        self.b.begin_region();
        let then_val = self.block(then_block, false);
        let mut then_region = self.b.end_region();
        let then_reach = self.reach();
        self.set_reach(Reach::Live);
        self.b.begin_region();
        let else_val = match else_branch {
            Some(e) => self.expr(e),
            None => Val::Unit,
        };
        let mut else_region = self.b.end_region();
        let else_reach = self.reach();
        self.runtime_nesting(-1);
        self.set_reach(
            if then_reach == Reach::Returned && else_reach == Reach::Returned {
                Reach::Returned
            } else if self.return_count() > returns {
                Reach::Maybe
            } else {
                Reach::Live
            },
        );
        // A branch that always returns has no value: the `if` takes the other one's.
        let (then_val, else_val) = match (then_reach, else_reach) {
            (Reach::Returned, Reach::Returned) => (Val::Unit, Val::Unit),
            (Reach::Returned, _) => (else_val.clone(), else_val),
            (_, Reach::Returned) => (then_val.clone(), then_val),
            _ => (then_val, else_val),
        };
        let has_value = !matches!(then_val, Val::Unit | Val::Error)
            && !matches!(else_val, Val::Unit | Val::Error);
        let mut result = None;
        if has_value {
            let tspan = then_block.tail.as_ref().map_or(then_block.span, |t| t.span);
            let espan = else_branch.map_or(span, |e| e.span);
            let ts = self.shape_of(&then_val);
            let es = self.shape_of(&else_val);
            let unified = self.unify("if/else", &[(&then_val, tspan), (&else_val, espan)]);
            if let Some(unified) = unified {
                if ts != es {
                    self.diags.push(
                        err(
                            "E0313",
                            format!(
                                "`if` branches have different types: {} and {}",
                                self.describe(&then_val),
                                self.describe(&else_val)
                            ),
                        )
                        .with_label(espan, format!("this is {}", self.describe(&else_val)))
                        .with_label(tspan, format!("this is {}", self.describe(&then_val)))
                        .with_help(
                            "both branches of an `if` expression must have the same type and shape",
                        ),
                    );
                } else {
                    let elem = match unified {
                        Ok(t) => t,
                        Err(OpTy::UntypedFloat) => ScalarType::F32,
                        Err(_) => ScalarType::I32,
                    };
                    let local = self.b.add_local("if_value", Type::tile(elem, ts.clone()));
                    for (val, region, vspan, reach) in [
                        (&then_val, &mut then_region, tspan, then_reach),
                        (&else_val, &mut else_region, espan, else_reach),
                    ] {
                        if reach == Reach::Returned {
                            continue;
                        }
                        self.b.begin_region();
                        if let Some(id) = self.materialize(val, elem, &ts, vspan) {
                            self.b.local_set(local, id);
                        }
                        let extra = self.b.end_region();
                        region.insts.extend(extra.insts);
                    }
                    result = Some(local);
                }
            }
        }
        self.b.span = span;
        self.b.push(
            InstKind::If {
                cond: c,
                then_region,
                else_region,
            },
            None,
        );
        match result {
            Some(local) => Val::Rt(self.b.local_get(local)),
            None if has_value => Val::Error,
            None => Val::Unit,
        }
    }

    // ---- shapes and type arguments ----------------------------------------------------------

    /// Evaluates a list of dims (each a compile-time power of two).
    fn shape_dims(&mut self, dims: &[ast::Expr], span: Span) -> Option<Vec<u32>> {
        if dims.is_empty() || dims.len() > 4 {
            self.diags.push(
                err(
                    "E0403",
                    format!("blocks have 1 to 4 dims, found {}", dims.len()),
                )
                .with_label(span, "in this shape")
                .with_help("use a shape like `[64]` or `[32, 32]`"),
            );
            return None;
        }
        let mut shape = Vec::new();
        for d in dims {
            let v = self.expr(d);
            let n = self.expect_const_int(&v, d.span, "a block dim")?;
            if n <= 0 || (n & (n - 1)) != 0 || n > MAX_ELEMENTS as i128 {
                self.diags.push(
                    err(
                        "E0401",
                        format!("block dims must be powers of two, found {n}"),
                    )
                    .with_label(d.span, format!("this is {n}"))
                    .with_help(format!(
                        "use a power of two such as {}, and mask off the extra lanes",
                        if n > 0 {
                            (n.min(MAX_ELEMENTS as i128) as u64).next_power_of_two()
                        } else {
                            1
                        }
                    )),
                );
                return None;
            }
            shape.push(n as u32);
        }
        let count: u64 = shape.iter().map(|&d| d as u64).product();
        if count > MAX_ELEMENTS {
            self.diags.push(
                err("E0404", format!("block of {count} elements is too large"))
                    .with_label(span, format!("shape {}", shape_text(&shape)))
                    .with_help(format!(
                        "blocks hold at most {MAX_ELEMENTS} (2^20) elements"
                    )),
            );
            return None;
        }
        Some(shape)
    }

    fn shape_arg(&mut self, e: &ast::Expr) -> Option<Vec<u32>> {
        match &e.kind {
            ast::ExprKind::List(items) => self.shape_dims(items, e.span),
            _ => self.shape_dims(std::slice::from_ref(e), e.span),
        }
    }

    fn type_arg(&mut self, arg: &ast::Arg) -> Option<ScalarType> {
        match &arg.value {
            ast::ArgValue::Type(ast::Ty {
                kind: ast::TyKind::Scalar(t),
                ..
            }) => Some(*t),
            ast::ArgValue::Expr(ast::Expr {
                kind: ast::ExprKind::Path(p),
                ..
            }) if p.len() == 1 && ScalarType::from_name(&p[0].name).is_some() => {
                ScalarType::from_name(&p[0].name)
            }
            _ => {
                self.diags.push(
                    err("E0316", "expected a scalar type")
                        .with_label(arg.span, "not a scalar type")
                        .with_help("write an element type such as `f32`, `i32` or `f16`"),
                );
                None
            }
        }
    }

    fn arg_expr<'e>(&mut self, arg: &'e ast::Arg) -> Option<&'e ast::Expr> {
        match &arg.value {
            ast::ArgValue::Expr(e) => Some(e),
            ast::ArgValue::Type(t) => {
                self.diags.push(
                    err("E0316", "a type is not a value")
                        .with_label(t.span, "type given where a value is expected")
                        .with_help("only `zeros`, `full` and `bitcast` take a type argument"),
                );
                None
            }
        }
    }

    fn arg_val(&mut self, arg: Option<&ast::Arg>) -> (Val, Span) {
        let Some(arg) = arg else {
            return (Val::Unit, Span::default());
        };
        match self.arg_expr(arg) {
            Some(e) => (self.expr(e), e.span),
            None => (Val::Error, arg.span),
        }
    }

    fn arg_str(&mut self, arg: Option<&ast::Arg>) -> Option<String> {
        let arg = arg?;
        match &arg.value {
            ast::ArgValue::Expr(ast::Expr {
                kind: ast::ExprKind::Str(s),
                ..
            }) => Some(s.clone()),
            _ => {
                self.diags.push(
                    err("E0316", "expected a string literal")
                        .with_label(arg.span, "not a string")
                        .with_help(
                            "write a message in double quotes, e.g. \"BLOCK must be at least 16\"",
                        ),
                );
                None
            }
        }
    }

    // ---- calls --------------------------------------------------------------------------------

    /// Matches positional and named arguments to parameters.
    fn bind_args<'e>(
        &mut self,
        params: &[(&str, bool)],
        args: &'e [ast::Arg],
        signature: &str,
        call_span: Span,
    ) -> Option<Slots<'e>> {
        let mut slots: Slots<'e> = vec![None; params.len()];
        let mut positional = 0;
        let mut ok = true;
        for arg in args {
            match &arg.name {
                None => {
                    if positional >= params.len() {
                        self.diags.push(
                            err(
                                "E0204",
                                format!(
                                    "`{signature}` takes {} argument{} but {} were given",
                                    params.len(),
                                    if params.len() == 1 { "" } else { "s" },
                                    args.len()
                                ),
                            )
                            .with_label(arg.span, "unexpected argument")
                            .with_help(format!("the signature is `{signature}`")),
                        );
                        return None;
                    }
                    slots[positional] = Some(arg);
                    positional += 1;
                }
                Some(name) => match params.iter().position(|(p, _)| *p == name.name) {
                    Some(i) if slots[i].is_some() => {
                        self.diags.push(
                            err("E0212", format!("argument `{}` given twice", name.name))
                                .with_label(arg.span, "given again here")
                                .with_label(slots[i].unwrap().span, "first given here")
                                .with_help(format!("the signature is `{signature}`")),
                        );
                        ok = false;
                    }
                    Some(i) => slots[i] = Some(arg),
                    None => {
                        let mut help = format!("the signature is `{signature}`");
                        if let Some(s) = suggest(&name.name, params.iter().map(|p| p.0)) {
                            help = format!("did you mean `{s}`? the signature is `{signature}`");
                        }
                        self.diags.push(
                            err("E0205", format!("unknown named argument `{}`", name.name))
                                .with_label(name.span, "no parameter has this name")
                                .with_help(help),
                        );
                        ok = false;
                    }
                },
            }
        }
        for (i, (p, required)) in params.iter().enumerate() {
            if *required && slots[i].is_none() {
                self.diags.push(
                    err("E0206", format!("missing argument `{p}`"))
                        .with_label(call_span, format!("`{p}` is required"))
                        .with_help(format!("the signature is `{signature}`")),
                );
                ok = false;
            }
        }
        ok.then_some(slots)
    }

    fn call(&mut self, callee: &[ast::Ident], args: &[ast::Arg], span: Span) -> Val {
        let file = self.file();
        let (target_file, ident) = match callee.len() {
            1 => (file, &callee[0]),
            2 => match self.checked.scopes[file as usize]
                .modules
                .get(&callee[0].name)
            {
                Some(&f) => (f, &callee[1]),
                None => return self.unknown_module(&callee[0]),
            },
            _ => {
                return self.error(
                    err("E0203", "paths have at most two parts")
                        .with_label(span, "expected `f(…)` or `module::f(…)`")
                        .with_help("write `module::f(…)`"),
                )
            }
        };
        match self.checked.scopes[target_file as usize]
            .items
            .get(&ident.name)
            .copied()
        {
            Some(ItemRef::Fn(index)) => return self.inline_fn(target_file, index, args, span),
            Some(ItemRef::Kernel(_)) => {
                return self.error(
                    err("E0215", format!("kernel `{}` cannot be called", ident.name))
                        .with_label(ident.span, "a kernel")
                        .with_help(
                            "kernels are launched from the host; move shared code into a `fn`",
                        ),
                )
            }
            Some(ItemRef::Const(_)) => {
                return self.error(
                    err(
                        "E0215",
                        format!("`{}` is a const, not a function", ident.name),
                    )
                    .with_label(ident.span, "not callable")
                    .with_help("use it as a value"),
                )
            }
            None => {}
        }
        if callee.len() == 1 {
            if let Some(builtin) = builtins::lookup(&ident.name) {
                return self.builtin(builtin, args, span);
            }
        }
        if callee.len() == 1 && self.lookup_binding(&ident.name).is_some() {
            return self.error(
                err(
                    "E0215",
                    format!("`{}` is a variable, not a function", ident.name),
                )
                .with_label(ident.span, "not callable")
                .with_help("only fns and builtins can be called"),
            );
        }
        let mut names: Vec<&str> = builtins::BUILTINS.iter().map(|b| b.name).collect();
        let scope = &self.checked.scopes[target_file as usize];
        names.extend(
            scope
                .items
                .iter()
                .filter(|(_, r)| matches!(r, ItemRef::Fn(_)))
                .map(|(n, _)| n.as_str()),
        );
        let help = match suggest(&ident.name, names.into_iter()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "define it with `fn`, or `use` the module that has it".to_string(),
        };
        self.error(
            err("E0203", format!("unknown function `{}`", ident.name))
                .with_label(ident.span, "not found")
                .with_help(help),
        )
    }

    fn fn_signature(item: &ast::FnItem) -> String {
        let params: Vec<String> = item
            .params
            .iter()
            .map(|p| match p {
                ast::FnParam::Value { name, ty: None } => name.name.clone(),
                ast::FnParam::Value { name, ty: Some(_) } => format!("{}: …", name.name),
                ast::FnParam::Const { name, ty } => format!("const {}: {}", name.name, ty.ty),
            })
            .collect();
        format!("{}({})", item.name.name, params.join(", "))
    }

    fn inline_fn(&mut self, file: u32, index: usize, args: &[ast::Arg], span: Span) -> Val {
        let checked = self.checked;
        let ast::ItemKind::Fn(item) = &checked.files[file as usize].items[index].kind else {
            return Val::Error;
        };
        if let Some(pos) = self
            .call_stack
            .iter()
            .position(|c| c.0 == file && c.1 == index)
        {
            let mut d = err(
                "E0207",
                format!("recursive call of fn `{}`", item.name.name),
            )
            .with_label(span, "this call recurses")
            .with_help("fns are inlined at every call, so they cannot call themselves; use a loop");
            let chain: Vec<String> = self.call_stack[pos..].iter().map(|c| c.2.clone()).collect();
            d = d.with_note(format!(
                "call chain: {} -> {}",
                chain.join(" -> "),
                item.name.name
            ));
            return self.error(d);
        }
        if !self.expand(1, span) {
            return Val::Error;
        }
        if self.call_stack.len() >= MAX_INLINE_DEPTH {
            return self.error(
                err("E0605", "fn calls nest too deeply")
                    .with_label(span, format!("more than {MAX_INLINE_DEPTH} nested calls"))
                    .with_help("flatten the fns"),
            );
        }
        let signature = Self::fn_signature(item);
        let params: Vec<(&str, bool)> = item
            .params
            .iter()
            .map(|p| match p {
                ast::FnParam::Value { name, .. } | ast::FnParam::Const { name, .. } => {
                    (name.name.as_str(), true)
                }
            })
            .collect();
        let Some(slots) = self.bind_args(&params, args, &signature, span) else {
            return Val::Error;
        };
        let mut bound = Vec::new();
        let mut failed = false;
        for (p, slot) in item.params.iter().zip(&slots) {
            let (v, vspan) = self.arg_val(*slot);
            let v = match p {
                ast::FnParam::Value { ty: Some(ty), name } => self.check_annotation(
                    v,
                    vspan,
                    ty,
                    false,
                    "E0318",
                    &format!("argument `{}` of `{}`", name.name, item.name.name),
                ),
                ast::FnParam::Value { ty: None, .. } => v,
                ast::FnParam::Const { ty, .. } => {
                    match self.expect_known(&v, vspan, "a const argument") {
                        Some((Some(t), _)) if t == ty.ty => v.clone(),
                        Some((None, lit)) => match self.literal_as(lit, ty.ty, vspan) {
                            Some(lit) => Val::known(ty.ty, lit),
                            None => Val::Error,
                        },
                        Some(_) => {
                            let found = self.describe(&v);
                            self.error(
                                err(
                                    "E0318",
                                    format!("const argument: expected `{}`, found {found}", ty.ty),
                                )
                                .with_label(vspan, format!("this is {found}"))
                                .with_label(ty.span, "expected because of this type")
                                .with_help(format!("convert with `as {}`", ty.ty)),
                            )
                        }
                        None => Val::Error,
                    }
                }
            };
            if matches!(v, Val::Error) {
                failed = true;
            }
            let name = match p {
                ast::FnParam::Value { name, .. } | ast::FnParam::Const { name, .. } => {
                    name.name.clone()
                }
            };
            bound.push((name, v));
        }
        if failed {
            return Val::Error;
        }
        self.call_stack
            .push((file, index, item.name.name.clone(), span));
        self.push_frame(file, false);
        let declared = item.ret.as_ref().and_then(|t| match &t.kind {
            ast::TyKind::Scalar(t) | ast::TyKind::Block { elem: t, .. } => Some(*t),
            ast::TyKind::Ptr { .. } => None,
        });
        let entry = self.b.mark();
        self.frame().ret = Some(FnReturn {
            entry,
            flag: None,
            slot: None,
            value: None,
            declared,
            provisional: None,
            first: None,
            reach: Reach::Live,
            runtime_depth: 0,
            in_condition: 0,
            count: 0,
            failed: false,
        });
        for (name, v) in bound {
            self.bind_value(&name, v);
        }
        self.block(&item.body, true);
        let ret = self.frame().ret.take();
        self.pop_frame();
        self.call_stack.pop();
        let mut v = match ret {
            Some(FnReturn { failed: true, .. }) => Val::Error,
            Some(FnReturn {
                slot: Some(slot), ..
            }) => Val::Rt(self.b.local_get(slot)),
            Some(FnReturn { value: Some(v), .. }) => v,
            _ => Val::Unit,
        };
        if let Some(ret) = &item.ret {
            let vspan = item.body.tail.as_ref().map_or(item.body.span, |t| t.span);
            v = self.check_annotation(
                v,
                vspan,
                ret,
                false,
                "E0312",
                &format!("return value of `{}`", item.name.name),
            );
        }
        self.b.span = span;
        v
    }

    fn builtin(&mut self, builtin: &'static Builtin, args: &[ast::Arg], span: Span) -> Val {
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

    fn const_axis(&mut self, arg: Option<&ast::Arg>, what: &str) -> Option<(i128, Span)> {
        let (v, s) = self.arg_val(arg);
        if matches!(v, Val::Error) {
            return None;
        }
        Some((self.expect_const_int(&v, s, what)?, s))
    }

    fn builtin_body(&mut self, builtin: &'static Builtin, slots: &Slots<'_>, span: Span) -> Val {
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
    fn const_context(&self) -> String {
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

    fn val_elem(&self, v: &Val) -> Option<Elem> {
        match v {
            Val::Rt(id) => Some(self.b.ty(*id).elem),
            Val::Known { .. } => self.default_scalar(v).map(Elem::Scalar),
            _ => None,
        }
    }

    fn not_a_number(&mut self, v: &Val, span: Span, name: &str) -> Val {
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

    fn float_required(&mut self, name: &str, t: ScalarType, span: Span) -> Val {
        self.error(
            err("E0317", format!("`{name}` takes floats, found `{t}`"))
                .with_label(span, format!("this is `{t}`"))
                .with_help("convert with `as f32`"),
        )
    }

    /// A block of `shape` filled with scalar `v` converted to `ty` (typed values must be `ty`).
    fn fill(&mut self, v: Val, vspan: Span, ty: ScalarType, shape: &[u32], span: Span) -> Val {
        if matches!(v, Val::Error) {
            return Val::Error;
        }
        match self.op_ty(&v) {
            Some(OpTy::Typed(t)) if t != ty => {
                return self.error(
                    err(
                        "E0301",
                        format!("fill value is `{t}` but the block is `{ty}`"),
                    )
                    .with_label(vspan, format!("this is `{t}`"))
                    .with_help(format!("convert it with `as {ty}`")),
                )
            }
            None => return self.not_a_number(&v, vspan, "full"),
            _ => {}
        }
        if !self.shape_of(&v).is_empty() {
            return self.error(
                err("E0403", "the fill value must be a scalar")
                    .with_label(vspan, format!("this is {}", self.describe(&v)))
                    .with_help("use `broadcast_to` for blocks"),
            );
        }
        let saved = self.b.span;
        self.b.span = span;
        let out = match self.materialize(&v, ty, shape, vspan) {
            Some(id) => Val::Rt(id),
            None => Val::Error,
        };
        self.b.span = saved;
        out
    }

    fn math_unary(&mut self, name: &str, x: Val, xs: Span, span: Span) -> Val {
        let elem = match self.op_ty(&x) {
            Some(OpTy::Typed(t)) if t.is_float() || (name == "abs" && t.is_int()) => t,
            Some(OpTy::UntypedFloat) | Some(OpTy::UntypedInt) if name != "abs" => ScalarType::F32,
            Some(OpTy::UntypedInt) => ScalarType::I32,
            Some(OpTy::UntypedFloat) => ScalarType::F32,
            Some(OpTy::Typed(t)) => return self.float_required(name, t, xs),
            None => return self.not_a_number(&x, xs, name),
        };
        let op = match name {
            "abs" => ir::UnaryOp::Abs,
            "exp" => ir::UnaryOp::Exp,
            "exp2" => ir::UnaryOp::Exp2,
            "log" => ir::UnaryOp::Log,
            "log2" => ir::UnaryOp::Log2,
            "sqrt" => ir::UnaryOp::Sqrt,
            "rsqrt" => ir::UnaryOp::Rsqrt,
            "sin" => ir::UnaryOp::Sin,
            "cos" => ir::UnaryOp::Cos,
            "tanh" => ir::UnaryOp::Tanh,
            "erf" => ir::UnaryOp::Erf,
            "floor" => ir::UnaryOp::Floor,
            "ceil" => ir::UnaryOp::Ceil,
            "round" => ir::UnaryOp::Round,
            _ => ir::UnaryOp::Sigmoid,
        };
        let shape = self.shape_of(&x);
        let Some(id) = self.materialize(&x, elem, &shape, xs) else {
            return Val::Error;
        };
        self.b.span = span;
        Val::Rt(self.b.unary(op, id))
    }

    fn math_binary(&mut self, name: &str, a: Val, as_: Span, b: Val, bs: Span, span: Span) -> Val {
        if matches!(a, Val::Error) || matches!(b, Val::Error) {
            return Val::Error;
        }
        let Some(unified) = self.unify(name, &[(&a, as_), (&b, bs)]) else {
            return Val::Error;
        };
        let (elem, untyped) = match unified {
            Ok(t) => (t, false),
            Err(OpTy::UntypedFloat) => (ScalarType::F32, true),
            Err(_) => (
                if name == "pow" {
                    ScalarType::F32
                } else {
                    ScalarType::I32
                },
                true,
            ),
        };
        let ok = match name {
            "pow" => elem.is_float(),
            "umulhi" | "cdiv" => elem.is_int(),
            _ => !elem.is_bool(),
        };
        if !ok {
            let want = if name == "pow" {
                "floats"
            } else if elem.is_bool() {
                "numbers"
            } else {
                "integers"
            };
            return self.error(
                err("E0317", format!("`{name}` takes {want}, found `{elem}`"))
                    .with_label(as_, format!("this is {}", self.describe(&a)))
                    .with_help("convert the operands with `as`"),
            );
        }
        // Compile-time folding (consts in shapes, grids and asserts).
        if let (Val::Known { lit: x, .. }, Val::Known { lit: y, .. }) = (&a, &b) {
            let fop = match name {
                "maximum" => Some(FoldOp::Max),
                "minimum" => Some(FoldOp::Min),
                "cdiv" => Some(FoldOp::CeilDiv),
                _ => None,
            };
            if let Some(fop) = fop {
                let (x, y) = if untyped && elem.is_int() {
                    (*x, *y)
                } else {
                    (fold::convert(*x, elem), fold::convert(*y, elem))
                };
                let ty = if untyped && elem.is_int() {
                    None
                } else {
                    Some(elem)
                };
                match fold::fold_binary(fop, ty, x, y) {
                    Ok(lit) => return Val::Known { ty, lit },
                    Err(FoldError::DivisionByZero) => {
                        return self.error(diags::division_by_zero(bs))
                    }
                    Err(FoldError::NotFoldable) => {}
                }
            }
        }
        let Some(shape) = self.broadcast_all(&[(&a, as_), (&b, bs)]) else {
            return Val::Error;
        };
        let (Some(x), Some(y)) = (
            self.materialize(&a, elem, &shape, as_),
            self.materialize(&b, elem, &shape, bs),
        ) else {
            return Val::Error;
        };
        self.b.span = span;
        let op = match name {
            "maximum" => ir::BinaryOp::Max,
            "minimum" => ir::BinaryOp::Min,
            "pow" => ir::BinaryOp::Pow,
            "umulhi" => ir::BinaryOp::MulHi,
            _ => {
                // cdiv(a, b) = (a + b - 1) / b
                let one = self.b.constant(elem, Literal::Int(1));
                let one = if shape.is_empty() {
                    one
                } else {
                    self.b.splat(one, shape.clone())
                };
                let sum = self.b.binary(ir::BinaryOp::Add, x, y);
                let num = self.b.binary(ir::BinaryOp::Sub, sum, one);
                return Val::Rt(self.b.binary(ir::BinaryOp::Div, num, y));
            }
        };
        Val::Rt(self.b.binary(op, x, y))
    }

    /// A compile-time axis of a block of `shape` (`xs` its span), negative counting from the end;
    /// `None` after reporting a mistake.
    pub(super) fn axis_arg(
        &mut self,
        arg: Option<&ast::Arg>,
        shape: &[u32],
        xs: Span,
        what: &str,
    ) -> Option<u32> {
        let rank = shape.len() as i128;
        let (axis, s) = self.const_axis(arg, what)?;
        let a = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&a) {
            self.diags.push(
                err(
                    "E0406",
                    format!("axis {axis} is out of range for a block of rank {rank}"),
                )
                .with_label(s, format!("this is {axis}"))
                .with_label(xs, format!("this has shape {}", shape_text(shape)))
                .with_help(if rank == 0 {
                    "a scalar has no axes; drop `axis`".to_string()
                } else {
                    format!(
                        "use an axis in {}..{rank} (negative counts from the end)",
                        -rank
                    )
                }),
            );
            return None;
        }
        Some(a as u32)
    }

    fn reduce(&mut self, name: &str, slots: &Slots<'_>, span: Span) -> Val {
        let (x, xs) = self.arg_val(slots[0]);
        if matches!(x, Val::Error) {
            return Val::Error;
        }
        if !matches!(self.val_elem(&x), Some(Elem::Scalar(t)) if !t.is_bool()) {
            return self.not_a_number(&x, xs, name);
        }
        let Some(id) = self.runtime_value(&x, xs) else {
            return Val::Error;
        };
        let shape = self.b.ty(id).shape.clone();
        let axis = match slots[1] {
            Some(_) => match self.axis_arg(slots[1], &shape, xs, "the reduction axis") {
                Some(a) => Some(a),
                None => return Val::Error,
            },
            None => None,
        };
        let keep_dims = match slots[2] {
            Some(_) => {
                let (k, ks) = self.arg_val(slots[2]);
                match self.expect_known(&k, ks, "`keep_dims`") {
                    Some((_, Literal::Bool(b))) => b,
                    Some(_) => {
                        return self.error(
                            err("E0305", "`keep_dims` must be `bool`")
                                .with_label(ks, format!("this is {}", self.describe(&k)))
                                .with_help("write `keep_dims: true` or `keep_dims: false`"),
                        )
                    }
                    None => return Val::Error,
                }
            }
            None => false,
        };
        let arg = matches!(name, "argmax" | "argmin");
        if shape.is_empty() {
            // A scalar is its own reduction, and its only index is 0.
            return if arg {
                Val::known(ScalarType::I32, Literal::Int(0))
            } else {
                Val::Rt(id)
            };
        }
        let op = match name {
            "sum" => ir::ReduceOp::Sum,
            "prod" => ir::ReduceOp::Prod,
            "max" | "argmax" => ir::ReduceOp::Max,
            _ => ir::ReduceOp::Min,
        };
        self.b.span = span;
        let r = if arg {
            self.arg_reduce(op, id, axis)
        } else {
            self.b.reduce(op, id, axis)
        };
        if !keep_dims {
            return Val::Rt(r);
        }
        Val::Rt(match axis {
            Some(a) => self.b.expand_dims(r, a),
            None => self.b.splat(r, vec![1; shape.len()]),
        })
    }

    fn pointer_arg(
        &mut self,
        arg: Option<&ast::Arg>,
        name: &str,
    ) -> Option<(ValueId, ScalarType, bool, u32, Span)> {
        let (p, ps) = self.arg_val(arg);
        if let Val::Rt(id) = p {
            if let Elem::Ptr {
                pointee,
                mutable,
                param,
            } = self.b.ty(id).elem
            {
                return Some((id, pointee, mutable, param, ps));
            }
        }
        if !matches!(p, Val::Error) {
            self.diags.push(
                err(
                    "E0308",
                    format!("`{name}` needs a pointer, found {}", self.describe(&p)),
                )
                .with_label(ps, format!("this is {}", self.describe(&p)))
                .with_help("pass a pointer parameter plus offsets, e.g. `x + offs`"),
            );
        }
        None
    }

    /// `mask`: a bool broadcast to `shape`.
    fn mask_arg(
        &mut self,
        arg: Option<&ast::Arg>,
        shape: &[u32],
        ptr_span: Span,
    ) -> Result<Option<ValueId>, ()> {
        if arg.is_none() {
            return Ok(None);
        }
        let (m, ms) = self.arg_val(arg);
        if matches!(m, Val::Error) {
            return Err(());
        }
        if self.op_ty(&m) != Some(OpTy::Typed(ScalarType::Bool)) {
            self.diags.push(
                err(
                    "E0305",
                    format!("`mask` must be `bool`, found {}", self.describe(&m)),
                )
                .with_label(ms, format!("this is {}", self.describe(&m)))
                .with_help("build a mask with a comparison, e.g. `offs < n`"),
            );
            return Err(());
        }
        self.fit_to(&m, ms, ScalarType::Bool, shape, ptr_span, "mask")
            .ok_or(())
            .map(Some)
    }

    /// Broadcasts `v` to exactly `shape` (the pointer's), reporting both shapes on failure.
    fn fit_to(
        &mut self,
        v: &Val,
        vs: Span,
        elem: ScalarType,
        shape: &[u32],
        ptr_span: Span,
        what: &str,
    ) -> Option<ValueId> {
        let have = self.shape_of(v);
        if broadcast_shapes(&have, shape).as_deref() != Some(shape) {
            self.diags.push(
                err(
                    "E0402",
                    format!(
                        "`{what}` of shape {} does not broadcast to the pointer shape {}",
                        shape_text(&have),
                        shape_text(shape)
                    ),
                )
                .with_label(vs, format!("this has shape {}", shape_text(&have)))
                .with_label(
                    ptr_span,
                    format!("the pointer has shape {}", shape_text(shape)),
                )
                .with_help(
                    "dims must be equal or 1 (numpy broadcasting) and cannot exceed the pointer's",
                ),
            );
            return None;
        }
        self.materialize(v, elem, shape, vs)
    }

    fn read_only_store(&mut self, param: u32, pointee: ScalarType, ptr_span: Span) -> Val {
        let params = &self.b.kernel.params;
        let name = params
            .get(param as usize)
            .map_or("?".to_string(), |p| p.name.clone());
        self.error(
            err(
                "E0307",
                format!("cannot write through `{name}`: it is a read-only pointer `*{pointee}`"),
            )
            .with_label(ptr_span, format!("points into `{name}`"))
            .with_help(format!(
                "declare it `*mut {pointee}` in the kernel's parameters"
            )),
        )
    }

    fn load(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let Some((ptr, pointee, _, _, ps)) = self.pointer_arg(slots[0], "load") else {
            return Val::Error;
        };
        let shape = self.b.ty(ptr).shape.clone();
        let Ok(mask) = self.mask_arg(slots[1], &shape, ps) else {
            return Val::Error;
        };
        let other = match slots[2] {
            None => None,
            Some(_) => {
                let (o, os) = self.arg_val(slots[2]);
                if matches!(o, Val::Error) {
                    return Val::Error;
                }
                match self.op_ty(&o) {
                    Some(OpTy::Typed(t)) if t != pointee => {
                        return self.error(
                            err(
                                "E0301",
                                format!("`other` is `{t}` but the pointer loads `{pointee}`"),
                            )
                            .with_label(os, format!("this is `{t}`"))
                            .with_label(ps, format!("this points to `{pointee}`"))
                            .with_help(format!("convert it with `as {pointee}`")),
                        )
                    }
                    None => return self.not_a_number(&o, os, "load"),
                    _ => {}
                }
                match self.fit_to(&o, os, pointee, &shape, ps, "other") {
                    Some(id) => Some(id),
                    None => return Val::Error,
                }
            }
        };
        self.b.span = span;
        Val::Rt(self.b.load(ptr, mask, other))
    }

    fn store(&mut self, slots: &Slots<'_>, span: Span) -> Val {
        let Some((ptr, pointee, mutable, param, ps)) = self.pointer_arg(slots[0], "store") else {
            return Val::Error;
        };
        if !mutable {
            return self.read_only_store(param, pointee, ps);
        }
        let shape = self.b.ty(ptr).shape.clone();
        let (v, vs) = self.arg_val(slots[1]);
        if matches!(v, Val::Error) {
            return Val::Error;
        }
        match self.op_ty(&v) {
            Some(OpTy::Typed(t)) if t != pointee => {
                return self.error(
                    err(
                        "E0309",
                        format!("cannot store `{t}` values through a `{pointee}` pointer"),
                    )
                    .with_label(vs, format!("this is {}", self.describe(&v)))
                    .with_label(ps, format!("this points to `{pointee}`"))
                    .with_help(format!("convert the value with `as {pointee}`")),
                )
            }
            Some(OpTy::UntypedFloat) if !pointee.is_float() => {
                return self.error(
                    err(
                        "E0309",
                        format!("cannot store a float literal through a `{pointee}` pointer"),
                    )
                    .with_label(vs, "a float literal")
                    .with_label(ps, format!("this points to `{pointee}`"))
                    .with_help("write an integer literal"),
                )
            }
            None => return self.not_a_number(&v, vs, "store"),
            _ => {}
        }
        let Some(value) = self.fit_to(&v, vs, pointee, &shape, ps, "value") else {
            return Val::Error;
        };
        let Ok(mask) = self.mask_arg(slots[2], &shape, ps) else {
            return Val::Error;
        };
        self.b.span = span;
        self.b.store(ptr, value, mask);
        Val::Unit
    }
}
