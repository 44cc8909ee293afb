//! The abstract syntax tree: a plain owned tree with a span on every node. Every expression also
//! carries an `ExprId` (unique within one parsed file) so later stages can keep side tables.
use crate::base::{ScalarType, Span};

#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `///` doc comment lines, without the slashes.
    pub docs: Vec<String>,
    pub attrs: Vec<Attr>,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    Use(UseItem),
    Const(ConstItem),
    Fn(FnItem),
    Kernel(KernelItem),
    /// An item that failed to parse; its diagnostic has already been reported.
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UseItem {
    /// `use math;` — a module of the standard library.
    Module(Ident),
    /// `use "common/act.tk";` — a file relative to the using file.
    File { path: String, span: Span },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConstItem {
    pub name: Ident,
    pub ty: ScalarTy,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FnItem {
    pub name: Ident,
    pub params: Vec<FnParam>,
    pub ret: Option<Ty>,
    pub body: Block,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FnParam {
    /// `x` (generic) or `x: f32` (element type fixed, any shape) or `x: f32[4]`.
    Value { name: Ident, ty: Option<Ty> },
    /// `const N: i32`.
    Const { name: Ident, ty: ScalarTy },
}

#[derive(Debug, Clone, PartialEq)]
pub struct KernelItem {
    pub name: Ident,
    pub params: Vec<KernelParam>,
    pub body: Block,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KernelParam {
    /// A pointer or scalar runtime parameter.
    Value { name: Ident, ty: Ty },
    /// `const NAME: T [= default]`.
    Const {
        name: Ident,
        ty: ScalarTy,
        default: Option<Expr>,
    },
}

/// A scalar type name with its span.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalarTy {
    pub ty: ScalarType,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ty {
    pub kind: TyKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TyKind {
    Scalar(ScalarType),
    /// `f32[BM, BN]`
    Block {
        elem: ScalarType,
        dims: Vec<Expr>,
    },
    /// `*f32` or `*mut f32`
    Ptr {
        mutable: bool,
        pointee: ScalarType,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub name: Ident,
    pub args: Vec<AttrArg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttrArg {
    Expr(Expr),
    Named { name: Ident, value: AttrVal },
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttrVal {
    Expr(Expr),
    List {
        items: Vec<AttrVal>,
        span: Span,
    },
    Record {
        fields: Vec<(Ident, Expr)>,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    /// The value of the block: a last expression without `;`. A trailing `if` without `;` is the
    /// tail too (it may or may not produce a value; the checker decides).
    pub tail: Option<Box<Expr>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    Let {
        mutable: bool,
        name: Ident,
        ty: Option<Ty>,
        value: Expr,
    },
    /// `place op= value`; `place` is an expression (the checker requires a mutable variable).
    Assign {
        place: Expr,
        op: AssignOp,
        value: Expr,
    },
    For {
        var: Ident,
        kind: LoopKind,
        args: Vec<Expr>,
        body: Block,
    },
    While {
        cond: Expr,
        body: Block,
    },
    Return(Option<Expr>),
    Break,
    Continue,
    /// An expression statement: `f(x);`, or a block-like expression (`if`, `{…}`) not in tail position.
    Expr(Expr),
    /// A statement that failed to parse; its diagnostic has already been reported.
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    Range,
    StaticRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Assign,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExprId(pub u32);

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub id: ExprId,
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer literal's value (always non-negative; `-1` is `Neg(1)`).
    Int(u128),
    /// A float literal; also `inf` and `nan`.
    Float(f64),
    Bool(bool),
    Str(String),
    /// `x` or `math::gelu`.
    Path(Vec<Ident>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Call {
        callee: Vec<Ident>,
        args: Vec<Arg>,
    },
    /// `x[:, None]`
    Index {
        base: Box<Expr>,
        slices: Vec<Slice>,
    },
    Cast {
        value: Box<Expr>,
        ty: ScalarTy,
    },
    /// `[a, b]` — shapes and lists.
    List(Vec<Expr>),
    Block(Block),
    If {
        cond: Box<Expr>,
        then_block: Block,
        else_branch: Option<Box<Expr>>,
    },
    /// An expression that failed to parse; its diagnostic has already been reported.
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// `mask: m` — named arguments follow positional ones.
    pub name: Option<Ident>,
    pub value: ArgValue,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    Expr(Expr),
    /// A type as an argument: `zeros([4], f16)`.
    Type(Ty),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice {
    /// `:` keeps a dim.
    Full(Span),
    /// `None` inserts a dim of size 1.
    NewAxis(Span),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    /// `!` logical not on bools (bitwise not on ints is also accepted by the checker with a help).
    Not,
    /// `~` bitwise not on ints.
    BitNot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Shr,
    BitAnd,
    BitXor,
    BitOr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `&&`, scalar bools only, short-circuit.
    And,
    /// `||`, scalar bools only, short-circuit.
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Mul => "*",
            Div => "/",
            Rem => "%",
            Add => "+",
            Sub => "-",
            Shl => "<<",
            Shr => ">>",
            BitAnd => "&",
            BitXor => "^",
            BitOr => "|",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            And => "&&",
            Or => "||",
        }
    }
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Eq | Ne | Lt | Le | Gt | Ge)
    }
}
