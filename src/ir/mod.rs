//! The block IR: one specialised kernel as typed instructions in an arena, grouped into structured
//! regions (`If`, `For`, `While`), with mutable variables as explicit locals (naga style), so that
//! `break`, `continue` and `return` need no block arguments.
//!
//! Values are scalars (uniform across the program instance) or tiles (`shape` non-empty). Elementwise
//! instructions take operands of identical type and shape: the checker inserts `Splat` and
//! `Broadcast` explicitly. A value is visible in the region that defines it and in regions nested in
//! it. The IR knows nothing of the surface syntax; spans live in a side table for late errors.
//!
//! Stages: `Lowered` (no layouts) is what the checker produces and the interpreter runs;
//! `LaidOut` adds a `Schedule` with threads and a layout per value while the planning passes run;
//! `Scheduled` has every plan the emitter reads (`schedule`: how each reduction, scan, `dot`,
//! conversion and memory access runs, and the shared memory each uses), made by `passes`.
pub mod builder;
pub mod layout;
pub mod print;
pub mod schedule;
#[cfg(test)]
pub(crate) mod test_kernels;
pub mod verify;
mod verify_schedule;

use crate::base::{Arena, Id, ScalarType, Span};
pub use crate::base::{Literal, Param, ParamKind};
pub use layout::Layout;
pub use schedule::{Plan, Schedule};

pub type InstId = Id<Inst>;
/// A value is the result of an instruction.
pub type ValueId = InstId;
pub type LocalId = Id<Local>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Lowered,
    /// Threads and layouts assigned; plans may be missing (the planning passes are under way).
    LaidOut,
    Scheduled,
}

/// Element type of a value: a scalar type or a pointer into one pointer parameter's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Elem {
    Scalar(ScalarType),
    /// Every pointer value derives from exactly one pointer parameter (`param` indexes
    /// `Kernel::params`), which keeps bounds checks and bindings static.
    Ptr {
        pointee: ScalarType,
        mutable: bool,
        param: u32,
    },
}

/// A value's type: scalars have an empty shape; tiles have 1 to 4 dims, powers of two from the
/// `LaidOut` stage on (`passes::pad` rounds the checker's up and masks the padding).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Type {
    pub elem: Elem,
    pub shape: Vec<u32>,
}

impl Type {
    pub fn scalar(ty: ScalarType) -> Type {
        Type {
            elem: Elem::Scalar(ty),
            shape: Vec::new(),
        }
    }
    pub fn tile(ty: ScalarType, shape: Vec<u32>) -> Type {
        Type {
            elem: Elem::Scalar(ty),
            shape,
        }
    }
    pub fn is_scalar(&self) -> bool {
        self.shape.is_empty()
    }
    pub fn num_elements(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product()
    }
    /// The scalar element type, or `None` for pointers.
    pub fn scalar_type(&self) -> Option<ScalarType> {
        match self.elem {
            Elem::Scalar(t) => Some(t),
            Elem::Ptr { .. } => None,
        }
    }
    pub fn with_shape(&self, shape: Vec<u32>) -> Type {
        Type {
            elem: self.elem,
            shape,
        }
    }
}

/// A mutable variable (`let mut`, loop induction variables, `if`-expression results).
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    pub name: String,
    pub ty: Type,
}

/// A straight-line list of instructions executed in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Region {
    pub insts: Vec<InstId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inst {
    pub kind: InstKind,
    /// The result type; `None` for instructions that produce no value (stores, control flow).
    pub ty: Option<Type>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// Arithmetic negation (ints wrap).
    Neg,
    /// Logical not on bool.
    Not,
    /// Bitwise not on ints.
    BitNot,
    Abs,
    Exp,
    Exp2,
    Log,
    Log2,
    Sqrt,
    Rsqrt,
    Sin,
    Cos,
    Tanh,
    Erf,
    Floor,
    Ceil,
    /// Round half to even.
    Round,
    Sigmoid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// Ints truncate toward zero (C); division by zero gives 0 in the interpreter and is
    /// undefined on devices (documented).
    Div,
    /// Ints: sign follows the dividend (C). Floats: fmod.
    Rem,
    /// Bitwise on ints, logical on bools.
    And,
    Or,
    Xor,
    /// The count is masked by the bit width.
    Shl,
    /// Arithmetic for signed, logical for unsigned; the count is masked by the bit width.
    Shr,
    /// `minimum`/`maximum`: for floats a NaN operand yields the other operand (IEEE minNum/maxNum,
    /// SPIR-V `NMin`/`NMax`); the reductions `max`/`min` propagate NaN instead.
    Min,
    Max,
    Pow,
    /// High half of the full product (ints).
    MulHi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Prod,
    /// Propagates NaN.
    Max,
    /// Propagates NaN.
    Min,
}

impl ReduceOp {
    /// The value this reduction combines without changing its result, on `ty` (`-inf` for a
    /// float `Max`, the smallest int for an int one, `true` for a bool `Prod` or `Min`).
    pub fn identity(self, ty: ScalarType) -> Literal {
        use ReduceOp::*;
        if ty.is_bool() {
            return Literal::Bool(matches!(self, Prod | Min));
        }
        if ty.is_float() {
            return Literal::Float(match self {
                Sum => 0.0,
                Prod => 1.0,
                Max => f64::NEG_INFINITY,
                Min => f64::INFINITY,
            });
        }
        let bits = ty.bits();
        let (min, max) = if ty.is_signed_int() {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        };
        Literal::Int(match self {
            Sum => 0,
            Prod => 1,
            Max => min,
            Min => max,
        })
    }
}

/// The combining operation of an inclusive `Scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOp {
    /// Ints wrap.
    Sum,
    Prod,
}

/// The read-modify-write of an `Atomic` instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomicOp {
    /// Ints wrap; f32 needs the device's float atomics.
    Add,
    Max,
    Min,
    And,
    Or,
    Xor,
    Xchg,
    /// Stores `value` where the element equals `cmp`.
    Cas,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InstKind {
    // ---- sources -------------------------------------------------------------------------
    /// A scalar constant of the result type.
    Const(Literal),
    /// The value of parameter `n`: a scalar param's value, or a pointer param's base pointer
    /// (result type `Elem::Ptr` with empty shape).
    Param(u32),
    /// `program_id(axis)`, i32.
    ProgramId(u32),
    /// `num_programs(axis)`, i32.
    NumPrograms(u32),
    /// `arange(start, start + len)`: i32 tile `[len]`.
    Arange {
        start: i64,
    },
    /// A scalar broadcast to every element of the result tile.
    Splat(ValueId),

    // ---- shape ---------------------------------------------------------------------------
    /// Numpy broadcast of a tile of the same rank whose dims are equal or 1 to the result shape.
    Broadcast(ValueId),
    /// Inserts a dim of size 1 at `axis` (`x[:, None]`).
    ExpandDims {
        value: ValueId,
        axis: u32,
    },

    /// The same elements (row-major order) in the result's shape (`reshape`, `ravel`).
    Reshape(ValueId),
    /// Result dim `i` is operand dim `perm[i]` (`permute`, `trans`).
    Permute {
        value: ValueId,
        perm: Vec<u32>,
    },

    // ---- linear algebra --------------------------------------------------------------------
    /// `dot(a, b, acc: acc)`: `a` f32 `[M, K]`, `b` f32 `[K, N]`, `acc` and the result f32
    /// `[M, N]`; each element is `acc[m, n]` updated by `fma(a[m, k], b[k, n], ·)` for k = 0, 1,
    /// … in order (the checker converts f16/bf16 inputs to f32, exactly, and supplies zeros
    /// when `acc` is absent).
    Dot {
        a: ValueId,
        b: ValueId,
        acc: ValueId,
    },

    // ---- elementwise ---------------------------------------------------------------------
    Unary {
        op: UnaryOp,
        value: ValueId,
    },
    Binary {
        op: BinaryOp,
        lhs: ValueId,
        rhs: ValueId,
    },
    /// Result is bool of the operands' shape.
    Compare {
        op: CmpOp,
        lhs: ValueId,
        rhs: ValueId,
    },
    /// `where(cond, a, b)`: all three of the result's shape; `cond` bool.
    Select {
        cond: ValueId,
        on_true: ValueId,
        on_false: ValueId,
    },
    /// `x as T`: float→int truncates toward zero and saturates (NaN→0); int→int wraps;
    /// float→float rounds to nearest-even; bool→number gives 0/1; number→bool is `!= 0`.
    Cast(ValueId),
    /// Reinterprets bits; same width.
    Bitcast(ValueId),
    Fma {
        a: ValueId,
        b: ValueId,
        c: ValueId,
    },

    // ---- memory --------------------------------------------------------------------------
    /// `ptr + offset`: `ptr` and `offset` have the result's shape (or both are scalars); the
    /// offset counts elements and is any int type.
    PtrOffset {
        ptr: ValueId,
        offset: ValueId,
    },
    /// Masked lanes give `other` (0 when absent). `mask` and `other` have `ptr`'s shape.
    Load {
        ptr: ValueId,
        mask: Option<ValueId>,
        other: Option<ValueId>,
    },
    /// A scalar `ptr` stores once per program; a tile stores each element once.
    Store {
        ptr: ValueId,
        value: ValueId,
        mask: Option<ValueId>,
    },

    /// A relaxed, device-scope read-modify-write of each unmasked element, done exactly once per
    /// element (the primary copy of a replicated layout performs it and the other copies receive
    /// the old value); the result is the old values (0 on masked lanes), shaped like `ptr`.
    /// `value`, `cmp` (only for `Cas`) and `mask` have `ptr`'s shape. Element types: i32, u32,
    /// and f32 for `Add`. Out-of-bounds lanes are dropped (and reported in safe mode).
    Atomic {
        op: AtomicOp,
        ptr: ValueId,
        value: ValueId,
        cmp: Option<ValueId>,
        mask: Option<ValueId>,
    },

    // ---- reductions ----------------------------------------------------------------------
    /// Reduces along `axis` (the result drops that dim), or over every element to a scalar
    /// when `axis` is `None`.
    Reduce {
        op: ReduceOp,
        value: ValueId,
        axis: Option<u32>,
    },

    /// Inclusive scan along `axis`: result element `i` combines operand elements `0..=i` along
    /// that dim (`cumsum`, `cumprod`). Same type and shape as the operand (numbers, not bool).
    Scan {
        op: ScanOp,
        value: ValueId,
        axis: u32,
    },

    // ---- layouts (Scheduled stage only) ------------------------------------------------------
    /// Moves a tile into the layout recorded for this instruction (through shared memory).
    ConvertLayout(ValueId),

    // ---- locals --------------------------------------------------------------------------
    LocalGet(LocalId),
    LocalSet {
        local: LocalId,
        value: ValueId,
    },

    // ---- control flow (conditions are uniform scalars) -------------------------------------
    If {
        cond: ValueId,
        then_region: Region,
        else_region: Region,
    },
    /// `for var in range(start, end, step)`: `var` (a local of the bounds' int type) takes
    /// `start, start + step, …` while `var < end` (`var > end` for a negative step). `step` is
    /// never zero (checked by the checker when constant; a zero runtime step runs no iteration).
    For {
        var: LocalId,
        start: ValueId,
        end: ValueId,
        step: ValueId,
        body: Region,
    },
    /// Evaluates `cond_region`, then leaves the loop unless `cond` (defined in `cond_region`)
    /// is true, then runs `body`.
    While {
        cond_region: Region,
        cond: ValueId,
        body: Region,
    },
    /// Leaves the innermost loop.
    Break,
    /// Goes to the next iteration of the innermost loop.
    Continue,
    /// Ends the program instance.
    Return,

    // ---- debugging -----------------------------------------------------------------------
    /// `device_assert(cond, message)`: checked by the interpreter and, in safe mode, on devices
    /// (every element of a tile `cond` must hold).
    Assert {
        cond: ValueId,
        message: String,
    },
    /// `print(label, value)`: printed by the interpreter.
    Print {
        label: String,
        value: Option<ValueId>,
    },
}

/// The value operands of an instruction kind, by reference or by mutable reference (the match
/// binds by the scrutinee's reference kind).
macro_rules! operands_of {
    ($kind:expr) => {
        match $kind {
            InstKind::Const(_)
            | InstKind::Param(_)
            | InstKind::ProgramId(_)
            | InstKind::NumPrograms(_)
            | InstKind::Arange { .. }
            | InstKind::LocalGet(_)
            | InstKind::Break
            | InstKind::Continue
            | InstKind::Return => Vec::new(),
            InstKind::Splat(v)
            | InstKind::Broadcast(v)
            | InstKind::ExpandDims { value: v, .. }
            | InstKind::Reshape(v)
            | InstKind::Permute { value: v, .. }
            | InstKind::Unary { value: v, .. }
            | InstKind::Cast(v)
            | InstKind::Bitcast(v)
            | InstKind::Reduce { value: v, .. }
            | InstKind::Scan { value: v, .. }
            | InstKind::ConvertLayout(v)
            | InstKind::LocalSet { value: v, .. }
            | InstKind::If { cond: v, .. }
            | InstKind::While { cond: v, .. }
            | InstKind::Assert { cond: v, .. } => vec![v],
            InstKind::Print { value, .. } => value.into_iter().collect(),
            InstKind::Dot { a, b, acc } => vec![a, b, acc],
            InstKind::Binary { lhs, rhs, .. } | InstKind::Compare { lhs, rhs, .. } => {
                vec![lhs, rhs]
            }
            InstKind::Select {
                cond,
                on_true,
                on_false,
            } => vec![cond, on_true, on_false],
            InstKind::Fma { a, b, c } => vec![a, b, c],
            InstKind::PtrOffset { ptr, offset } => vec![ptr, offset],
            InstKind::Load { ptr, mask, other } => {
                let mut v = vec![ptr];
                v.extend(mask);
                v.extend(other);
                v
            }
            InstKind::Store { ptr, value, mask } => {
                let mut v = vec![ptr, value];
                v.extend(mask);
                v
            }
            InstKind::Atomic {
                ptr,
                value,
                cmp,
                mask,
                ..
            } => {
                let mut v = vec![ptr, value];
                v.extend(cmp);
                v.extend(mask);
                v
            }
            InstKind::For {
                start, end, step, ..
            } => vec![start, end, step],
        }
    };
}

impl InstKind {
    /// The values this instruction reads (not those of its nested regions), to rewrite a use.
    pub fn operands_mut(&mut self) -> Vec<&mut ValueId> {
        operands_of!(self)
    }
    /// The values this instruction reads (not those of its nested regions).
    pub fn operands(&self) -> Vec<ValueId> {
        let refs: Vec<&ValueId> = operands_of!(self);
        refs.into_iter().copied().collect()
    }
}

/// A grid dimension as an expression over scalar parameters and constants, evaluated at launch.
#[derive(Debug, Clone, PartialEq)]
pub enum GridExpr {
    Const(i64),
    /// The value of scalar parameter `n` (index into `Kernel::params`).
    Param(u32),
    Add(Box<GridExpr>, Box<GridExpr>),
    Sub(Box<GridExpr>, Box<GridExpr>),
    Mul(Box<GridExpr>, Box<GridExpr>),
    Div(Box<GridExpr>, Box<GridExpr>),
    Rem(Box<GridExpr>, Box<GridExpr>),
    CeilDiv(Box<GridExpr>, Box<GridExpr>),
    Min(Box<GridExpr>, Box<GridExpr>),
    Max(Box<GridExpr>, Box<GridExpr>),
}

impl InstKind {
    /// The regions this instruction owns (`if` arms, loop bodies, a `while` condition), in
    /// program order.
    pub fn regions(&self) -> Vec<&Region> {
        match self {
            InstKind::If {
                then_region,
                else_region,
                ..
            } => vec![then_region, else_region],
            InstKind::For { body, .. } => vec![body],
            InstKind::While {
                cond_region, body, ..
            } => vec![cond_region, body],
            _ => Vec::new(),
        }
    }

    /// Arithmetic that computes each element from the elements at the same position of its
    /// operands (unary and binary ops, comparisons, `where`, casts, bitcasts, `fma`).
    pub fn is_lanewise(&self) -> bool {
        matches!(
            self,
            InstKind::Unary { .. }
                | InstKind::Binary { .. }
                | InstKind::Compare { .. }
                | InstKind::Select { .. }
                | InstKind::Cast(_)
                | InstKind::Bitcast(_)
                | InstKind::Fma { .. }
        )
    }

    /// `regions`, to change.
    pub fn regions_mut(&mut self) -> Vec<&mut Region> {
        match self {
            InstKind::If {
                then_region,
                else_region,
                ..
            } => vec![then_region, else_region],
            InstKind::For { body, .. } => vec![body],
            InstKind::While {
                cond_region, body, ..
            } => vec![cond_region, body],
            _ => Vec::new(),
        }
    }
}

/// One kernel specialised for one set of const values.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    pub name: String,
    /// Runtime parameters in declaration order (consts are folded away).
    pub params: Vec<Param>,
    /// The const values this specialisation was made for, in declaration order (for printing,
    /// cache keys and diagnostics).
    pub consts: Vec<(String, Literal)>,
    /// `#[grid(..)]`, if given.
    pub grid: Option<Vec<GridExpr>>,
    /// `#[threads(N)]`, if given.
    pub threads: Option<u32>,
    /// Where `#[threads(N)]` is written, for diagnostics about the workgroup size.
    pub threads_span: Option<Span>,
    /// `#[stages(N)]`, if given: the buffers each staged `dot` rotates through
    /// (`ir::schedule::DotStaging::stages`).
    pub stages: Option<u32>,
    /// The most elements one memory access may move (an autotune config's or the search's
    /// `vector` knob); the target's widest when unset (`passes::vectors::widest_vector`).
    pub vector: Option<u32>,
    pub insts: Arena<Inst>,
    /// Source span of each instruction, indexed like `insts` (a side table).
    pub spans: Vec<Span>,
    pub locals: Arena<Local>,
    pub body: Region,
    pub stage: Stage,
    /// Present from the `LaidOut` stage on.
    pub schedule: Option<Schedule>,
    /// What the launch this module is specialised for promises (`driver::specialize`, like
    /// Triton's specialisation of integer arguments divisible by 16): per runtime parameter, a
    /// power of two that divides its value (integer scalars) or its buffer's element count
    /// (pointers). Empty when nothing is promised, as when compiling without arguments; the
    /// scheduling passes read it to prove vector accesses aligned and their masks uniform.
    pub divisibility: Vec<u64>,
}

impl Kernel {
    pub fn new(name: impl Into<String>) -> Kernel {
        Kernel {
            name: name.into(),
            params: Vec::new(),
            consts: Vec::new(),
            grid: None,
            threads: None,
            threads_span: None,
            stages: None,
            vector: None,
            insts: Arena::new(),
            spans: Vec::new(),
            locals: Arena::new(),
            body: Region::default(),
            stage: Stage::Lowered,
            schedule: None,
            divisibility: Vec::new(),
        }
    }
    /// The power of two the launch promises divides parameter `n`'s value or element count
    /// (1 when nothing is promised).
    pub fn param_divisibility(&self, n: u32) -> u64 {
        self.divisibility
            .get(n as usize)
            .copied()
            .unwrap_or(1)
            .max(1)
    }
    pub fn inst(&self, id: InstId) -> &Inst {
        &self.insts[id]
    }
    /// The type of a value (an instruction with a result).
    pub fn ty(&self, value: ValueId) -> &Type {
        self.insts[value].ty.as_ref().expect("value without a type")
    }
    pub fn span(&self, id: InstId) -> Span {
        self.spans.get(id.index()).copied().unwrap_or_default()
    }
}

/// A compiled unit: one kernel specialisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    pub kernel: Kernel,
}

impl GridExpr {
    /// Evaluates the expression; `scalar(n)` gives the value of scalar parameter `n` as an
    /// integer. Errors are sentences for the user (division by zero, a non-integer parameter).
    pub fn eval(&self, scalar: &dyn Fn(u32) -> Option<i64>) -> Result<i64, String> {
        let pair = |a: &GridExpr, b: &GridExpr| -> Result<(i64, i64), String> {
            Ok((a.eval(scalar)?, b.eval(scalar)?))
        };
        let nonzero = |b: i64| {
            if b == 0 {
                Err("division by zero in the grid".to_string())
            } else {
                Ok(b)
            }
        };
        Ok(match self {
            GridExpr::Const(v) => *v,
            GridExpr::Param(n) => scalar(*n)
                .ok_or_else(|| format!("parameter {n} of the grid has no integer value"))?,
            GridExpr::Add(a, b) => pair(a, b).map(|(a, b)| a.wrapping_add(b))?,
            GridExpr::Sub(a, b) => pair(a, b).map(|(a, b)| a.wrapping_sub(b))?,
            GridExpr::Mul(a, b) => pair(a, b).map(|(a, b)| a.wrapping_mul(b))?,
            GridExpr::Div(a, b) => {
                let (a, b) = pair(a, b)?;
                a.wrapping_div(nonzero(b)?)
            }
            GridExpr::Rem(a, b) => {
                let (a, b) = pair(a, b)?;
                a.wrapping_rem(nonzero(b)?)
            }
            GridExpr::CeilDiv(a, b) => {
                let (a, b) = pair(a, b)?;
                let b = nonzero(b)?;
                (a + b - 1).wrapping_div(b)
            }
            GridExpr::Min(a, b) => pair(a, b).map(|(a, b)| a.min(b))?,
            GridExpr::Max(a, b) => pair(a, b).map(|(a, b)| a.max(b))?,
        })
    }
}
