//! The elaborator: type- and shape-checks expressions and statements of one kernel specialisation
//! and emits Lowered IR through `ir::builder::Builder`, inlining fns and unrolling `static_range`.
//! Compile-time values (consts, literals, `static_range` variables) stay `Val::Known` and are
//! folded until they meet a runtime value, where they become `Const` instructions.
use super::diags::shape_text;
use super::Checked;
use crate::base::{Diagnostic, Diagnostics, Literal, ScalarType, Span};
use crate::ir::builder::Builder;
use crate::ir::{Elem, LocalId, Type, ValueId};
use crate::syntax::ast;
use std::collections::HashMap;

mod args;
mod atomics;
mod builtin_calls;
mod calls;
mod consts;
mod control;
mod creation;
mod debug;
mod exprs;
mod linalg;
mod math;
mod memory;
mod reductions;
mod returns;
mod scans;
mod shape;
mod stmts;
mod values;

/// Most unrolled iterations of one `static_range` loop.
pub const MAX_UNROLL: i128 = 4096;
/// Most nested fn calls being inlined at once (recursion is caught before this).
pub const MAX_INLINE_DEPTH: usize = 64;
/// Unrolled `static_range` iterations plus inlined fn calls per kernel: nested unrolls and fns
/// that call others twice grow exponentially, so the total is bounded (E0606).
pub const MAX_EXPANSION: u64 = 1 << 16;
/// Most elements of one block, counted once its dims are rounded up to powers of two
/// (`padded_count`).
pub const MAX_ELEMENTS: u64 = 1 << 20;

/// The elements a block of `shape` occupies once scheduled: the scheduler rounds every dim up to
/// a power of two and masks the padding (`passes::pad`), so this, not the plain product, is what
/// `MAX_ELEMENTS` bounds.
pub fn padded_count(shape: &[u32]) -> u64 {
    shape
        .iter()
        .map(|&d| (d as u64).next_power_of_two())
        .product()
}

/// True when `reshape` of (or to) `shape` keeps every element at the same row-major position
/// once padded: past its leading dims of 1, only the first dim may be rounded up (every later
/// dim is already a power of two), so padding only adds elements after the real ones.
pub fn reshape_keeps_padding_last(shape: &[u32]) -> bool {
    shape
        .iter()
        .skip_while(|&&d| d == 1)
        .skip(1)
        .all(|d| d.is_power_of_two())
}

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
}
