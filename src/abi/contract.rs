//! Launch contracts: what the compiler proved of a buffer access in safe mode, for the runtime to
//! verify once per launch instead of checking every element (docs/decisions.md, "Bounds checks
//! proven away").
//!
//! A proven access reaches its parameter's buffer at the sum of `offsets`, integer expressions
//! over the launch's scalar arguments, the program coordinates, the lanes of a tile (`arange`)
//! and counted loop variables, each computed in its own signed type. Its mask's conjuncts
//! `lhs < limit` (`bounds`) hold wherever the access happens, so wherever a subexpression of the
//! offsets is such an `lhs`, it stays below its limit there. Before dispatch the runtime
//! evaluates every expression's range exactly (`Contract::check`): when no value the kernel
//! computes for an access that happens can wrap, the lowest index is not negative and the highest
//! is below the buffer's length, no access of any program can leave the buffer, so the kernel
//! carries no check for it.
use crate::base::{KernelArg, Literal};
use std::fmt;

/// An integer expression as the kernel computes it: every arithmetic node in a signed type of
/// `bits` bits (it wraps there; the runtime refuses a launch where it could).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Expr {
    Const(i64),
    /// The value of scalar parameter `param` (its index among all parameters), a signed integer.
    Scalar {
        param: u32,
        name: String,
    },
    /// `program_id(dim)`: from 0 to the grid's size along `dim` less one.
    ProgramId(u32),
    /// `num_programs(dim)`.
    NumPrograms(u32),
    /// The values of `arange(start, end)` laid along `dim` of the access's tile (the dim tells
    /// two lanes of a 2-d tile apart when the compiler compares expressions; the range is all
    /// the runtime needs).
    Arange {
        dim: u32,
        start: i64,
        end: i64,
    },
    Binary {
        op: Op,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        bits: u32,
    },
    /// The variable `local` (the compiler's number for it) of `for v in range(start, end, step)`
    /// with a constant `step` > 0, in a signed type of `bits` bits, that nothing else assigns:
    /// from `start` to `end - 1` in the body, as long as the last increment does not wrap.
    Loop {
        local: u32,
        start: Box<Expr>,
        end: Box<Expr>,
        step: i64,
        bits: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Add,
    Sub,
    Mul,
    /// Division truncating toward zero; by zero it gives 0 (tk's integer `/`).
    Div,
    /// The remainder of `Div`, with the sign of the dividend; by zero it gives 0.
    Rem,
    Min,
    Max,
}

/// A mask conjunct `lhs < limit` that holds wherever the access happens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaskBound {
    pub lhs: Expr,
    pub limit: Expr,
}

/// What must hold of a launch for one proven access to stay inside its buffer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Contract {
    /// The pointer parameter (its index among all parameters) and its name.
    pub param: u32,
    pub name: String,
    /// Whether the access stores (for the report).
    pub store: bool,
    /// The element offsets added to the parameter's first element, in order, summed in the
    /// kernel's index type (`index_bits` bits, signed).
    pub offsets: Vec<Expr>,
    /// The mask's conjuncts whose `lhs` is a subexpression of the offsets (or of
    /// `rearranged.index`).
    pub bounds: Vec<MaskBound>,
    pub index_bits: u32,
    /// Where the bounds were found by rearranging the index (a limit that moves with the loop,
    /// `k < K - k0`): see `Rearranged`.
    pub rearranged: Option<Rearranged>,
}

/// The index of an access rewritten so that each bound's `lhs` is a subexpression of it.
///
/// A mask `offs < K - k * BLOCK` bounds `offs + k * BLOCK`, which the kernel never computes:
/// the compiler writes the index, a sum of products, as `rest + scale * (offs + k * BLOCK)`
/// (`index`, exact integer arithmetic) and the bound as `offs + k * BLOCK < K`. The two are
/// equal to what the kernel computes wherever no value the kernel computes wraps, which the
/// runtime checks of the offsets and of each conjunct's own sides (`computed`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rearranged {
    pub index: Expr,
    /// The sides of the mask's conjuncts as the kernel computes them.
    pub computed: Vec<Expr>,
}

/// Why a launch breaks a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breach {
    /// The buffer holds `len` elements and the access may reach `index`.
    TooShort { len: u64 },
    /// The access may reach the negative `index`.
    Negative,
    /// A value of the index's computation may leave its `bits`-bit type and wrap.
    Wraps { bits: u32 },
}

/// A launch that breaks contract `contract` of kernel parameter `param` at `index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub param: String,
    pub store: bool,
    /// The index the access may reach (for `Wraps`, the value that leaves its type).
    pub index: i64,
    /// The contract as `Contract::to_string` writes it.
    pub contract: String,
    pub breach: Breach,
}

/// An exact range of values, both ends included.
type Range = (i128, i128);

/// The value ranges of one launch's atoms.
struct Launch<'a> {
    args: &'a [KernelArg],
    grid: [u32; 3],
    /// Per mask conjunct: its `lhs` and the highest value that takes where the access happens.
    bounds: Vec<(&'a Expr, i128)>,
}

impl Launch<'_> {
    /// The exact range of `e` over every program and lane, or the value that leaves its type
    /// (`Err((value, bits))`) when some node may wrap.
    fn range(&self, e: &Expr) -> Result<Range, (i128, u32)> {
        self.range_where(e, false)
    }

    /// The range of `e` over the lanes where the access happens (`masked`: every conjunct of
    /// `bounds` holds) or over every lane.
    fn range_where(&self, e: &Expr, masked: bool) -> Result<Range, (i128, u32)> {
        let mut r = match e {
            Expr::Const(v) => (*v as i128, *v as i128),
            Expr::Scalar { param, .. } => match self.args.get(*param as usize) {
                Some(KernelArg::Scalar(Literal::Int(v))) => fits((*v, *v), 64)?,
                // The binder checked the argument's type; anything else proves nothing.
                _ => return Err((0, 0)),
            },
            Expr::ProgramId(d) => {
                let g = self.grid.get(*d as usize).copied().unwrap_or(1) as i128;
                fits((0, g - 1), 32)?
            }
            Expr::NumPrograms(d) => {
                let g = self.grid.get(*d as usize).copied().unwrap_or(1) as i128;
                fits((g, g), 32)?
            }
            Expr::Arange { start, end, .. } => (*start as i128, *end as i128 - 1),
            Expr::Binary { op, lhs, rhs, bits } => {
                let a = self.range_where(lhs, masked)?;
                let b = self.range_where(rhs, masked)?;
                let r = match op {
                    Op::Add => (a.0 + b.0, a.1 + b.1),
                    Op::Sub => (a.0 - b.1, a.1 - b.0),
                    Op::Mul => {
                        let p = [a.0 * b.0, a.0 * b.1, a.1 * b.0, a.1 * b.1];
                        (*p.iter().min().unwrap(), *p.iter().max().unwrap())
                    }
                    Op::Div => quotients(a, b),
                    Op::Rem => remainders(a, b),
                    Op::Min => (a.0.min(b.0), a.1.min(b.1)),
                    Op::Max => (a.0.max(b.0), a.1.max(b.1)),
                };
                fits(r, *bits)?
            }
            Expr::Loop {
                start,
                end,
                step,
                bits,
                ..
            } => {
                let (start, end) = (self.range(start)?, self.range(end)?);
                // The increment after the last pass must not wrap back below `end`.
                fits((end.1 - 1, end.1 - 1 + *step as i128), *bits)?;
                (start.0, (end.1 - 1).max(start.0))
            }
        };
        if masked {
            for &(lhs, highest) in &self.bounds {
                if lhs == e {
                    r.1 = r.1.min(highest);
                }
            }
        }
        Ok(r)
    }
}

/// The range of `a / b` (truncating, 0 where `b` is 0) over `a` and `b` in their ranges: at
/// the corners of each sign's part of `b`, where the quotient is monotonic in both operands.
fn quotients(a: Range, b: Range) -> Range {
    let mut values = Vec::with_capacity(9);
    if b.0 <= 0 && b.1 >= 0 {
        values.push(0);
    }
    for (lo, hi) in [(b.0.max(1), b.1), (b.0, b.1.min(-1))] {
        if lo <= hi {
            for d in [lo, hi] {
                values.extend([a.0 / d, a.1 / d]);
            }
        }
    }
    (
        *values.iter().min().unwrap_or(&0),
        *values.iter().max().unwrap_or(&0),
    )
}

/// The range of `a % b` (the sign of `a`, below `|b|` in magnitude, 0 where `b` is 0) over `a`
/// and `b` in their ranges.
fn remainders(a: Range, b: Range) -> Range {
    let largest = b.0.abs().max(b.1.abs()) - 1;
    if largest <= 0 {
        return (0, 0);
    }
    // A dividend already below every divisor is its own remainder.
    if a.0 >= 0 && b.0 > a.1 {
        return a;
    }
    (a.0.max(-largest).min(0), a.1.min(largest).max(0))
}

/// `r` when every value of it fits a signed `bits`-bit integer, else the one furthest out.
fn fits(r: Range, bits: u32) -> Result<Range, (i128, u32)> {
    // A width no integer type has (a damaged artifact) fits nothing.
    if !(1..=64).contains(&bits) {
        return Err((r.1, bits));
    }
    let max = (1i128 << (bits - 1)) - 1;
    if r.0 < -max - 1 {
        Err((r.0, bits))
    } else if r.1 > max {
        Err((r.1, bits))
    } else {
        Ok(r)
    }
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

impl Contract {
    /// Checks the contract against a launch over `grid` (at least one program) with `args`
    /// (already checked against the kernel's parameters).
    pub fn check(&self, args: &[KernelArg], grid: [u32; 3]) -> Result<(), Broken> {
        let mut launch = Launch {
            args,
            grid,
            bounds: Vec::new(),
        };
        let broken = |index: i128, breach: Breach| Broken {
            param: self.name.clone(),
            store: self.store,
            index: clamp_i64(index),
            contract: self.to_string(),
            breach,
        };
        let wraps = |(value, bits): (i128, u32)| broken(value, Breach::Wraps { bits });
        // Each conjunct compares exact values (neither side wraps on any lane).
        for bound in &self.bounds {
            let lhs = launch.range(&bound.lhs).map_err(wraps)?;
            let limit = launch.range(&bound.limit).map_err(wraps)?;
            // Every lane is at or above every limit: the mask never holds, nothing is
            // accessed.
            if lhs.0 >= limit.1 {
                return Ok(());
            }
            launch.bounds.push((&bound.lhs, limit.1 - 1));
        }
        // The running sum of the offsets, as the kernel adds them in its index type, over the
        // lanes where the access happens.
        let (mut low, mut high) = (0i128, 0i128);
        for offset in &self.offsets {
            let r = launch.range_where(offset, true).map_err(wraps)?;
            (low, high) = fits((low + r.0, high + r.1), self.index_bits).map_err(wraps)?;
        }
        if let Some(rearranged) = &self.rearranged {
            // The mask compares what the kernel computes: neither side may wrap.
            for e in &rearranged.computed {
                launch.range(e).map_err(wraps)?;
            }
            // The same index, with the bounds where they apply.
            (low, high) = launch.range_where(&rearranged.index, true).map_err(wraps)?;
        }
        if low < 0 {
            return Err(broken(low, Breach::Negative));
        }
        let len = match args.get(self.param as usize) {
            Some(KernelArg::Buffer(buffer)) => buffer.len() as u64,
            _ => 0,
        };
        if high >= len as i128 {
            return Err(broken(high, Breach::TooShort { len }));
        }
        Ok(())
    }
}

/// Checks every contract of a launch; the first broken one is the error.
pub fn check_all(contracts: &[Contract], args: &[KernelArg], grid: [u32; 3]) -> Result<(), Broken> {
    contracts.iter().try_for_each(|c| c.check(args, grid))
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Const(v) => write!(f, "{v}"),
            Expr::Scalar { name, .. } => write!(f, "{name}"),
            Expr::ProgramId(d) => write!(f, "program_id({d})"),
            Expr::NumPrograms(d) => write!(f, "num_programs({d})"),
            Expr::Arange { start, end, .. } => write!(f, "arange({start}, {end})"),
            Expr::Loop {
                start, end, step, ..
            } => write!(f, "range({start}, {end}, {step})"),
            Expr::Binary {
                op: op @ (Op::Min | Op::Max),
                lhs,
                rhs,
                ..
            } => {
                let name = if *op == Op::Min { "minimum" } else { "maximum" };
                write!(f, "{name}({lhs}, {rhs})")
            }
            Expr::Binary { op, lhs, rhs, .. } => {
                let operand = |f: &mut fmt::Formatter<'_>, e: &Expr| match (op, e) {
                    (Op::Div | Op::Rem, Expr::Binary { op: inner, .. })
                        if !matches!(inner, Op::Min | Op::Max) =>
                    {
                        write!(f, "({e})")
                    }
                    (Op::Mul | Op::Sub, Expr::Binary { op: inner, .. })
                        if !matches!(inner, Op::Mul | Op::Min | Op::Max) =>
                    {
                        write!(f, "({e})")
                    }
                    _ => write!(f, "{e}"),
                };
                operand(f, lhs)?;
                let sign = match op {
                    Op::Add => "+",
                    Op::Sub => "-",
                    Op::Mul => "*",
                    Op::Div => "/",
                    Op::Rem => "%",
                    Op::Min | Op::Max => unreachable!("written as calls above"),
                };
                write!(f, " {sign} ")?;
                operand(f, rhs)
            }
        }
    }
}

/// `x: n elements`: the buffer holds at least one past the highest index an access reaches,
/// written as the offsets with each bounded subexpression at its limit less one, and with
/// `program_id` and loop variables at their largest, a remainder at its divisor less one (an
/// offset that is itself bounded is written as its limit, and then nothing is added). A
/// rearranged index is written by the terms of its sum.
impl fmt::Display for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = match &self.rearranged {
            Some(r) => self.summands(&r.index),
            None => self.offsets.iter().collect(),
        };
        let whole = parts
            .iter()
            .position(|o| self.bounds.iter().any(|b| b.lhs == **o));
        let mut terms: Vec<String> = Vec::new();
        for (k, offset) in parts.into_iter().enumerate() {
            if Some(k) == whole {
                let bound = self.bounds.iter().find(|b| b.lhs == *offset);
                terms.extend(bound.map(|b| b.limit.to_string()));
            } else {
                terms.push(self.substituted(offset).to_string());
            }
        }
        if whole.is_none() {
            terms.push("1".to_string());
        }
        let terms: Vec<String> = terms.into_iter().filter(|t| t != "0").collect();
        let bound = if terms.is_empty() {
            "0".to_string()
        } else {
            terms.join(" + ")
        };
        write!(f, "{}: {bound} elements", self.name)
    }
}

impl Contract {
    /// `e` with every bounded subexpression replaced by its limit less one (for the text).
    fn substituted(&self, e: &Expr) -> Expr {
        if let Some(b) = self.bounds.iter().find(|b| b.lhs == *e) {
            return Expr::Binary {
                op: Op::Sub,
                lhs: Box::new(b.limit.clone()),
                rhs: Box::new(Expr::Const(1)),
                bits: 64,
            };
        }
        match e {
            Expr::Binary {
                op: Op::Rem, rhs, ..
            } => Expr::Binary {
                op: Op::Sub,
                lhs: Box::new(self.substituted(rhs)),
                rhs: Box::new(Expr::Const(1)),
                bits: 64,
            },
            Expr::Binary { op, lhs, rhs, bits } => Expr::Binary {
                op: *op,
                lhs: Box::new(self.substituted(lhs)),
                rhs: Box::new(self.substituted(rhs)),
                bits: *bits,
            },
            other => other.clone(),
        }
    }

    /// The terms of a sum (`e` itself when it is not an addition or is a bounded part).
    fn summands<'e>(&self, e: &'e Expr) -> Vec<&'e Expr> {
        match e {
            Expr::Binary {
                op: Op::Add,
                lhs,
                rhs,
                ..
            } if !self.bounds.iter().any(|b| b.lhs == *e) => {
                let mut terms = self.summands(lhs);
                terms.extend(self.summands(rhs));
                terms
            }
            other => vec![other],
        }
    }
}

/// Why the contract is broken, in a clause (the index and the access are reported beside it).
impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.breach {
            Breach::TooShort { len } => write!(f, "`{}` holds {len} elements", self.param),
            Breach::Negative => write!(f, "the index may be negative"),
            Breach::Wraps { bits } => write!(
                f,
                "a value of the index's computation reaches {}, past its {bits}-bit type",
                self.index
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::{HostBuffer, ScalarType};

    fn scalar(param: u32, name: &str) -> Expr {
        Expr::Scalar {
            param,
            name: name.to_string(),
        }
    }

    fn binary(op: Op, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            bits: 32,
        }
    }

    /// vector add's `x + offs` masked by `offs < n`, offs = program_id(0) * 4 + arange(0, 4).
    fn vector_add() -> Contract {
        let offs = binary(
            Op::Add,
            binary(Op::Mul, Expr::ProgramId(0), Expr::Const(4)),
            Expr::Arange {
                dim: 0,
                start: 0,
                end: 4,
            },
        );
        Contract {
            param: 0,
            name: "x".to_string(),
            store: false,
            offsets: vec![offs.clone()],
            bounds: vec![MaskBound {
                lhs: offs,
                limit: scalar(1, "n"),
            }],
            index_bits: 32,
            rearranged: None,
        }
    }

    fn args(len: usize, n: i128) -> Vec<KernelArg> {
        buffer_and_ints(len, &[n])
    }

    /// An f32 buffer of `len` elements (parameter 0), then the integer scalars `ints`.
    fn buffer_and_ints(len: usize, ints: &[i128]) -> Vec<KernelArg> {
        let mut args = vec![KernelArg::Buffer(HostBuffer::zeros(
            ScalarType::F32,
            vec![len],
        ))];
        args.extend(ints.iter().map(|&v| KernelArg::Scalar(Literal::Int(v))));
        args
    }

    #[test]
    fn a_buffer_of_n_elements_keeps_the_contract() {
        let c = vector_add();
        assert_eq!(c.to_string(), "x: n elements");
        assert_eq!(c.check(&args(10, 10), [3, 1, 1]), Ok(()));
        // More programs than needed are fine: the mask stops them.
        assert_eq!(c.check(&args(10, 10), [100, 1, 1]), Ok(()));
        // A mask that never holds accesses nothing.
        assert_eq!(c.check(&args(0, -5), [3, 1, 1]), Ok(()));
    }

    #[test]
    fn n_past_the_buffer_breaks_it_at_the_last_index() {
        let err = vector_add().check(&args(10, 12), [3, 1, 1]).unwrap_err();
        assert_eq!(err.breach, Breach::TooShort { len: 10 });
        assert_eq!(err.index, 11);
        assert_eq!(err.contract, "x: n elements");
    }

    #[test]
    fn a_grid_whose_offsets_wrap_breaks_it() {
        // program_id * 4 passes 2^31 with 2^30 programs.
        let err = vector_add()
            .check(&args(10, 10), [1 << 30, 1, 1])
            .unwrap_err();
        assert_eq!(err.breach, Breach::Wraps { bits: 32 });
    }

    #[test]
    fn a_loop_variable_runs_below_its_end_unless_its_increment_wraps() {
        // cols = off + arange(0, 4) for off in range(0, n, 4), masked by cols < n.
        let off = Expr::Loop {
            local: 0,
            start: Box::new(Expr::Const(0)),
            end: Box::new(scalar(1, "n")),
            step: 4,
            bits: 32,
        };
        let cols = binary(
            Op::Add,
            off,
            Expr::Arange {
                dim: 0,
                start: 0,
                end: 4,
            },
        );
        let c = Contract {
            offsets: vec![cols.clone()],
            bounds: vec![MaskBound {
                lhs: cols,
                limit: scalar(1, "n"),
            }],
            ..vector_add()
        };
        assert_eq!(c.check(&args(10, 10), [1, 1, 1]), Ok(()));
        assert_eq!(
            c.check(&args(10, 11), [1, 1, 1]).unwrap_err().breach,
            Breach::TooShort { len: 10 }
        );
        let near_max = i32::MAX as i128 - 1;
        assert_eq!(
            c.check(&args(10, near_max), [1, 1, 1]).unwrap_err().breach,
            Breach::Wraps { bits: 32 }
        );
    }

    #[test]
    fn every_conjunct_bounds_its_own_part_of_the_index() {
        // col_sum's x + rows[:, None] * n_cols + cols[None, :] under rows < n_rows and
        // cols < n_cols, rows = r0 + arange(0, 4) for r0 in range(0, n_rows, 4).
        let rows = binary(
            Op::Add,
            Expr::Loop {
                local: 0,
                start: Box::new(Expr::Const(0)),
                end: Box::new(scalar(2, "n_rows")),
                step: 4,
                bits: 32,
            },
            Expr::Arange {
                dim: 0,
                start: 0,
                end: 4,
            },
        );
        let cols = Expr::Arange {
            dim: 1,
            start: 0,
            end: 8,
        };
        let c = Contract {
            offsets: vec![
                binary(Op::Mul, rows.clone(), scalar(1, "n_cols")),
                cols.clone(),
            ],
            bounds: vec![
                MaskBound {
                    lhs: rows,
                    limit: scalar(2, "n_rows"),
                },
                MaskBound {
                    lhs: cols,
                    limit: scalar(1, "n_cols"),
                },
            ],
            ..vector_add()
        };
        assert_eq!(c.to_string(), "x: (n_rows - 1) * n_cols + n_cols elements");
        let args = |len: usize, rows: i128, cols: i128| buffer_and_ints(len, &[cols, rows]);
        // 1 × 1: the row mask keeps rows 1..3 of the tile away.
        assert_eq!(c.check(&args(1, 1, 1), [1, 1, 1]), Ok(()));
        assert_eq!(c.check(&args(15, 3, 5), [1, 1, 1]), Ok(()));
        let err = c.check(&args(14, 3, 5), [1, 1, 1]).unwrap_err();
        assert_eq!((err.index, err.breach), (14, Breach::TooShort { len: 14 }));
    }

    #[test]
    fn a_negative_offset_breaks_it() {
        let mut c = vector_add();
        c.offsets.insert(0, Expr::Const(-1));
        let err = c.check(&args(10, 10), [3, 1, 1]).unwrap_err();
        assert_eq!(err.breach, Breach::Negative);
        assert_eq!(err.index, -1);
    }

    #[test]
    fn quotients_and_remainders_take_their_exact_ranges() {
        assert_eq!(quotients((0, 10), (1, 3)), (0, 10));
        assert_eq!(quotients((7, 10), (2, 3)), (2, 5));
        // A divisor that may be 0 (quotient 0) or negative.
        assert_eq!(quotients((0, 10), (-2, 2)), (-10, 10));
        assert_eq!(quotients((-9, -3), (3, 3)), (-3, -1));
        assert_eq!(remainders((0, 100), (1, 4)), (0, 3));
        assert_eq!(remainders((0, 2), (5, 7)), (0, 2));
        assert_eq!(remainders((-7, 7), (-3, 2)), (-2, 2));
        assert_eq!(remainders((5, 9), (0, 0)), (0, 0));
    }

    #[test]
    fn a_rearranged_index_is_bounded_where_ranges_alone_would_refuse() {
        // offs = arange(0, 16) and k in range(0, n_k): the kernel computes `offs + k * 16`
        // masked by `offs < K - k * 16`; rearranged, `offs + k * 16 < K`.
        let offs = Expr::Arange {
            dim: 0,
            start: 0,
            end: 16,
        };
        let k = Expr::Loop {
            local: 0,
            start: Box::new(Expr::Const(0)),
            end: Box::new(scalar(2, "n_k")),
            step: 1,
            bits: 32,
        };
        let steps = binary(Op::Mul, k, Expr::Const(16));
        let part = binary(Op::Add, offs.clone(), steps.clone());
        let c = Contract {
            offsets: vec![offs.clone(), steps.clone()],
            bounds: vec![MaskBound {
                lhs: part.clone(),
                limit: scalar(1, "K"),
            }],
            rearranged: Some(Rearranged {
                index: part,
                computed: vec![offs, binary(Op::Sub, scalar(1, "K"), steps)],
            }),
            ..vector_add()
        };
        assert_eq!(c.to_string(), "x: K elements");
        let args = |len: usize, k: i128, n_k: i128| buffer_and_ints(len, &[k, n_k]);
        // K = 20 in two steps of 16: the second step's lanes 4..16 are masked off.
        assert_eq!(c.check(&args(20, 20, 2), [1, 1, 1]), Ok(()));
        let err = c.check(&args(19, 20, 2), [1, 1, 1]).unwrap_err();
        assert_eq!((err.index, err.breach), (19, Breach::TooShort { len: 19 }));
        // `K - k * 16` as the kernel computes it must not wrap.
        let err = c.check(&args(20, 20, 1 << 28), [1, 1, 1]).unwrap_err();
        assert_eq!(err.breach, Breach::Wraps { bits: 32 });
    }
}
