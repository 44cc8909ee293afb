//! A structure-aware generator of well-typed tk kernels for differential fuzzing (interpreter vs
//! device). Every value is a `[BLOCK]` tile of f32, i32 or bool; floats stay exact (multiples of
//! 1/4 below 2^18 in magnitude: products, reductions and casts go through `q`, which clamps and
//! rounds to a quarter), so the two backends must agree bit for bit whatever order they sum in.
//! Integer division only by positive literals (division by zero is backend-defined).
use arbitrary::Arbitrary;
use std::fmt::Write;

#[derive(Arbitrary, Debug, Clone)]
pub struct Kernel {
    pub block_log2: u8,
    pub n: u8,
    pub s: i8,
    pub xs: [i8; 8],
    pub ys: [i16; 8],
    pub stmts: Vec<Stmt>,
    pub out_f: F,
    pub out_i: I,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Stmt {
    LetF(F),
    LetI(I),
    AccF(F),
    AccI(I),
    /// `if s > 0.0 { .. } else { .. }` (a uniform condition).
    If(Vec<Stmt>, Vec<Stmt>),
    /// `for i in range(0, count % 4) { .. }`.
    For(u8, Vec<Stmt>),
    /// `for i in static_range(0, count % 3) { .. }`.
    StaticFor(u8, Vec<Stmt>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FBin {
    Add,
    Sub,
    Mul,
    Max,
    Min,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum IBin {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Max,
    Min,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum F {
    X,
    S,
    Var(u8),
    Acc,
    Lit(i8),
    Bin(FBin, Box<F>, Box<F>),
    Neg(Box<F>),
    Abs(Box<F>),
    Floor(Box<F>),
    Where(Box<B>, Box<F>, Box<F>),
    FromI(Box<I>),
    Sum(Box<F>),
    MaxOf(Box<F>),
    Cumsum(Box<F>),
    Clamp(Box<F>, i8),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum I {
    Y,
    Offs,
    N,
    Pid,
    LoopVar,
    Var(u8),
    Acc,
    Lit(i16),
    Bin(IBin, Box<I>, Box<I>),
    DivLit(Box<I>, u8),
    RemLit(Box<I>, u8),
    Neg(Box<I>),
    Not(Box<I>),
    Where(Box<B>, Box<I>, Box<I>),
    FromF(Box<F>),
    Sum(Box<I>),
    Cumsum(Box<I>),
    ArgMax(Box<F>),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum B {
    Mask,
    CmpF(Cmp, Box<F>, Box<F>),
    CmpI(Cmp, Box<I>, Box<I>),
    Not(Box<B>),
    And(Box<B>, Box<B>),
    Or(Box<B>, Box<B>),
}

/// A rendered case: the source and the launch it expects.
#[derive(Debug, Clone)]
pub struct Case {
    pub source: String,
    pub block: u32,
    pub n: i32,
    pub s: f32,
    pub x: Vec<f32>,
    pub y: Vec<i32>,
}

/// Elements in each buffer of a generated case.
pub const LEN: usize = 64;
const MAX_DEPTH: u32 = 5;
const MAX_STMTS: usize = 12;

struct Scope {
    f_vars: usize,
    i_vars: usize,
}

struct Render {
    out: String,
    /// Visible variable counts, innermost scope last; names are `vf{k}`/`vi{k}` (plain `i8`,
    /// `f16`, … would be type names), numbered globally.
    scopes: Vec<Scope>,
    next_f: usize,
    next_i: usize,
    visible_f: Vec<usize>,
    visible_i: Vec<usize>,
    loop_depth: usize,
    stmts: usize,
}

fn cmp(op: Cmp) -> &'static str {
    match op {
        Cmp::Lt => "<",
        Cmp::Le => "<=",
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
        Cmp::Eq => "==",
        Cmp::Ne => "!=",
    }
}

/// `q(e)`: clamp to ±4096 and round down to a quarter, keeping every float exact.
fn q(e: String) -> String {
    format!("(floor(clamp({e}, -4096.0, 4096.0) * 4.0) * 0.25)")
}

fn float_lit(v: i8) -> String {
    format!("{:.2}", v as f32 * 0.25)
}

impl Render {
    fn f(&self, e: &F, depth: u32) -> String {
        if depth > MAX_DEPTH {
            return "a".into();
        }
        let d = depth + 1;
        match e {
            F::X => "a".into(),
            F::S => "full_like(a, s)".into(),
            F::Var(k) if !self.visible_f.is_empty() => {
                format!("vf{}", self.visible_f[*k as usize % self.visible_f.len()])
            }
            F::Var(_) => "a".into(),
            F::Acc => "accf".into(),
            F::Lit(v) => format!("full_like(a, {})", float_lit(*v)),
            F::Bin(op, l, r) => {
                let (l, r) = (self.f(l, d), self.f(r, d));
                match op {
                    FBin::Add => format!("({l} + {r})"),
                    FBin::Sub => format!("({l} - {r})"),
                    FBin::Mul => q(format!("{l} * {r}")),
                    FBin::Max => format!("maximum({l}, {r})"),
                    FBin::Min => format!("minimum({l}, {r})"),
                }
            }
            F::Neg(x) => format!("(-{})", self.f(x, d)),
            F::Abs(x) => format!("abs({})", self.f(x, d)),
            F::Floor(x) => format!("floor({})", self.f(x, d)),
            F::Where(c, t, f) => format!(
                "where({}, {}, {})",
                self.b(c, d),
                self.f(t, d),
                self.f(f, d)
            ),
            F::FromI(x) => q(format!("({} as f32)", self.i(x, d))),
            F::Sum(x) => format!("full_like(a, {})", q(format!("sum({})", q(self.f(x, d))))),
            F::MaxOf(x) => format!("full_like(a, max({}))", self.f(x, d)),
            F::Cumsum(x) => q(format!("cumsum({}, axis: 0)", q(self.f(x, d)))),
            F::Clamp(x, hi) => {
                let hi = (*hi as f32 * 0.25).abs();
                format!("clamp({}, {:.2}, {:.2})", self.f(x, d), -hi, hi)
            }
        }
    }

    fn i(&self, e: &I, depth: u32) -> String {
        if depth > MAX_DEPTH {
            return "b".into();
        }
        let d = depth + 1;
        match e {
            I::Y => "b".into(),
            I::Offs => "offs".into(),
            I::N => "full_like(b, n)".into(),
            I::Pid => "full_like(b, program_id(0))".into(),
            I::LoopVar if self.loop_depth > 0 => "full_like(b, i)".into(),
            I::LoopVar => "offs".into(),
            I::Var(k) if !self.visible_i.is_empty() => {
                format!("vi{}", self.visible_i[*k as usize % self.visible_i.len()])
            }
            I::Var(_) => "b".into(),
            I::Acc => "acci".into(),
            I::Lit(v) => format!("full_like(b, {v})"),
            I::Bin(op, l, r) => {
                let (l, r) = (self.i(l, d), self.i(r, d));
                let op = match op {
                    IBin::Add => "+",
                    IBin::Sub => "-",
                    IBin::Mul => "*",
                    IBin::And => "&",
                    IBin::Or => "|",
                    IBin::Xor => "^",
                    IBin::Shl => "<<",
                    IBin::Shr => ">>",
                    IBin::Max => return format!("maximum({l}, {r})"),
                    IBin::Min => return format!("minimum({l}, {r})"),
                };
                format!("({l} {op} {r})")
            }
            I::DivLit(x, k) => format!("({} / {})", self.i(x, d), *k % 100 + 1),
            I::RemLit(x, k) => format!("({} % {})", self.i(x, d), *k % 100 + 1),
            I::Neg(x) => format!("(-{})", self.i(x, d)),
            I::Not(x) => format!("(~{})", self.i(x, d)),
            I::Where(c, t, f) => format!(
                "where({}, {}, {})",
                self.b(c, d),
                self.i(t, d),
                self.i(f, d)
            ),
            I::FromF(x) => format!("({} as i32)", self.f(x, d)),
            I::Sum(x) => format!("full_like(b, sum({}))", self.i(x, d)),
            I::Cumsum(x) => format!("cumsum({}, axis: 0)", self.i(x, d)),
            I::ArgMax(x) => format!("full_like(b, argmax({}))", self.f(x, d)),
        }
    }

    fn b(&self, e: &B, depth: u32) -> String {
        if depth > MAX_DEPTH {
            return "mask".into();
        }
        let d = depth + 1;
        match e {
            B::Mask => "mask".into(),
            B::CmpF(op, l, r) => format!("({} {} {})", self.f(l, d), cmp(*op), self.f(r, d)),
            B::CmpI(op, l, r) => format!("({} {} {})", self.i(l, d), cmp(*op), self.i(r, d)),
            B::Not(x) => format!("(!{})", self.b(x, d)),
            B::And(l, r) => format!("({} & {})", self.b(l, d), self.b(r, d)),
            B::Or(l, r) => format!("({} | {})", self.b(l, d), self.b(r, d)),
        }
    }

    fn line(&mut self, indent: usize, text: &str) {
        let _ = writeln!(self.out, "{}{text}", "    ".repeat(indent));
    }

    fn block(&mut self, stmts: &[Stmt], indent: usize) {
        self.scopes.push(Scope {
            f_vars: self.visible_f.len(),
            i_vars: self.visible_i.len(),
        });
        for stmt in stmts {
            if self.stmts >= MAX_STMTS {
                break;
            }
            self.stmts += 1;
            self.stmt(stmt, indent);
        }
        let scope = self.scopes.pop().expect("pushed above");
        self.visible_f.truncate(scope.f_vars);
        self.visible_i.truncate(scope.i_vars);
    }

    fn stmt(&mut self, stmt: &Stmt, indent: usize) {
        match stmt {
            Stmt::LetF(e) => {
                let text = self.f(e, 0);
                let k = self.next_f;
                self.next_f += 1;
                self.line(indent, &format!("let vf{k} = {text};"));
                self.visible_f.push(k);
            }
            Stmt::LetI(e) => {
                let text = self.i(e, 0);
                let k = self.next_i;
                self.next_i += 1;
                self.line(indent, &format!("let vi{k} = {text};"));
                self.visible_i.push(k);
            }
            Stmt::AccF(e) => {
                let text = q(format!("accf + {}", self.f(e, 0)));
                self.line(indent, &format!("accf = {text};"));
            }
            Stmt::AccI(e) => {
                let text = self.i(e, 0);
                self.line(indent, &format!("acci = acci + {text};"));
            }
            Stmt::If(then, otherwise) => {
                self.line(indent, "if s > 0.0 {");
                self.block(then, indent + 1);
                self.line(indent, "} else {");
                self.block(otherwise, indent + 1);
                self.line(indent, "}");
            }
            // Loops nest at most two deep, so a case stays small.
            Stmt::For(_, body) | Stmt::StaticFor(_, body) if self.loop_depth >= 2 => {
                self.block(body, indent);
            }
            Stmt::For(count, body) | Stmt::StaticFor(count, body) => {
                let (range, count) = match stmt {
                    Stmt::For(..) => ("range", count % 4),
                    _ => ("static_range", count % 3),
                };
                // Nested loops shadow `i`, which is what the source means.
                self.line(indent, &format!("for i in {range}(0, {count}) {{"));
                self.loop_depth += 1;
                self.block(body, indent + 1);
                self.loop_depth -= 1;
                self.line(indent, "}");
            }
        }
    }
}

/// Renders a generated kernel to source with the launch it expects.
pub fn render(kernel: &Kernel) -> Case {
    let block = 1u32 << (kernel.block_log2 % 7);
    let n = (kernel.n as usize % (LEN + 1)) as i32;
    let s = kernel.s as f32 * 0.5;
    let mut r = Render {
        out: String::new(),
        scopes: Vec::new(),
        next_f: 0,
        next_i: 0,
        visible_f: Vec::new(),
        visible_i: Vec::new(),
        loop_depth: 0,
        stmts: 0,
    };
    r.line(0, "#[grid(cdiv(n, BLOCK))]");
    r.line(
        0,
        &format!(
            "kernel gen(x: *f32, y: *i32, out: *mut f32, outi: *mut i32, n: i32, s: f32, \
             const BLOCK: i32 = {block}) {{"
        ),
    );
    for line in [
        "let offs = program_id(0) * BLOCK + arange(0, BLOCK);",
        "let mask = offs < n;",
        "let a = load(x + offs, mask: mask);",
        "let b = load(y + offs, mask: mask);",
        "let mut accf = zeros([BLOCK], f32);",
        "let mut acci = zeros([BLOCK], i32);",
    ] {
        r.line(1, line);
    }
    r.block(&kernel.stmts, 1);
    let out_f = r.f(&kernel.out_f, 0);
    let out_i = r.i(&kernel.out_i, 0);
    r.line(
        1,
        &format!(
            "store(out + offs, {}, mask: mask);",
            q(format!("{out_f} + accf"))
        ),
    );
    r.line(
        1,
        &format!("store(outi + offs, {out_i} + acci, mask: mask);"),
    );
    r.line(0, "}");
    Case {
        source: r.out,
        block,
        n,
        s,
        x: (0..LEN).map(|i| kernel.xs[i % 8] as f32 * 0.25).collect(),
        y: (0..LEN).map(|i| kernel.ys[i % 8] as i32).collect(),
    }
}
