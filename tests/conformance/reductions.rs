//! Reductions `sum prod max min` × dtypes × shapes × axes (none, 0, 1, keep_dims), full and
//! masked ragged tiles (masked lanes load the op's neutral element through `other:`), and NaN
//! propagation of max/min. Ints are exact (wrapping); max/min are exact; float sums and
//! products may differ from the exact result by the rounding bound of a tree-shaped
//! evaluation: sum `(ceil(log2 n) + 2) · u · Σ|x|`, prod `(n + 1) · u · |Π x|`, with `u` the
//! unit roundoff of the dtype (f16 2^-11, bf16 2^-8, f32 2^-24, f64 2^-53).
use super::harness::*;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Sum,
    Prod,
    Max,
    Min,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Sum => "sum",
            Op::Prod => "prod",
            Op::Max => "max",
            Op::Min => "min",
        }
    }
    fn neutral(self, t: ScalarType) -> V {
        match (self, t.is_float()) {
            (Op::Sum, true) => V::F(0.0),
            (Op::Sum, false) => V::I(0),
            (Op::Prod, true) => V::F(1.0),
            (Op::Prod, false) => V::I(1),
            (Op::Max, true) => V::F(f64::NEG_INFINITY),
            (Op::Max, false) => V::I(int_range(t).0),
            (Op::Min, true) => V::F(f64::INFINITY),
            (Op::Min, false) => V::I(int_range(t).1),
        }
    }
    /// The exact reduction and its tolerance.
    fn reduce(self, t: ScalarType, xs: &[V]) -> (V, Tol) {
        if !t.is_float() {
            let v = match self {
                Op::Sum => xs.iter().fold(0, |a, x| wrap(t, a + x.i())),
                Op::Prod => xs.iter().fold(1i128, |a, x| wrap(t, a.wrapping_mul(x.i()))),
                Op::Max => xs.iter().map(|x| x.i()).max().unwrap(),
                Op::Min => xs.iter().map(|x| x.i()).min().unwrap(),
            };
            return (V::I(v), Tol::Exact);
        }
        let u = match t {
            F16 => 2f64.powi(-11),
            BF16 => 2f64.powi(-8),
            F32 => 2f64.powi(-24),
            _ => 2f64.powi(-53),
        };
        let fs: Vec<f64> = xs.iter().map(|x| x.f()).collect();
        let n = fs.len() as f64;
        let nan = fs.iter().any(|x| x.is_nan());
        match self {
            Op::Sum => {
                let s: f64 = fs.iter().sum();
                let abs: f64 = fs.iter().map(|x| x.abs()).sum();
                let bound = (n.log2().ceil() + 2.0) * u * abs;
                (V::F(round_to(t, s)), Tol::Abs(bound))
            }
            Op::Prod => {
                let p: f64 = fs.iter().product();
                (V::F(round_to(t, p)), Tol::Abs((n + 1.0) * u * p.abs()))
            }
            Op::Max if nan => (V::F(f64::NAN), Tol::Exact),
            Op::Min if nan => (V::F(f64::NAN), Tol::Exact),
            Op::Max => (
                V::F(fs.iter().cloned().fold(f64::NEG_INFINITY, f64::max)),
                Tol::Exact,
            ),
            Op::Min => (
                V::F(fs.iter().cloned().fold(f64::INFINITY, f64::min)),
                Tol::Exact,
            ),
        }
    }
}

fn values(op: Op, t: ScalarType, rng: &mut Rng, n: usize) -> Vec<V> {
    match (op, t.is_float()) {
        (Op::Prod, true) => (0..n)
            .map(|_| {
                let sign = if rng.int(0, 1) == 0 { -1.0 } else { 1.0 };
                V::F(round_to(t, sign * rng.float(0.9, 1.1)))
            })
            .collect(),
        (_, true) => rng.values(t, n, -1.0, 1.0),
        (Op::Prod, false) => (0..n)
            .map(|_| {
                if rng.int(0, 7) == 0 {
                    rng.values(t, 1, 0.0, 0.0)[0]
                } else {
                    V::I(wrap(t, rng.int(-2, 3)))
                }
            })
            .collect(),
        (_, false) => rng.values(t, n, 0.0, 0.0),
    }
}

/// One reduction case over an `[rows, cols]` tile (`rows == 0` means a 1-D tile of `cols`).
struct Shape {
    rows: usize,
    cols: usize,
    /// `None`: the whole tile to a scalar.
    axis: Option<usize>,
    keep_dims: bool,
    /// Valid extent (rows, cols); the rest is masked off.
    valid: (usize, usize),
}

/// A small table (every reduction is LLVM time in lavapipe): 1-d full and ragged, 1×N and N×1,
/// both axes with and without `keep_dims`, and ragged 2-d tiles on every axis.
fn shapes() -> Vec<Shape> {
    let s = |rows, cols, axis, keep_dims, valid| Shape {
        rows,
        cols,
        axis,
        keep_dims,
        valid,
    };
    vec![
        s(0, 64, None, false, (1, 64)),
        s(0, 256, Some(0), false, (1, 191)),
        s(1, 16, Some(1), false, (1, 16)),
        s(16, 1, Some(0), false, (16, 1)),
        s(4, 8, Some(1), true, (4, 8)),
        s(8, 4, Some(0), true, (8, 4)),
        s(8, 16, None, false, (5, 11)),
        s(8, 16, Some(0), false, (5, 11)),
        s(8, 16, Some(1), false, (5, 11)),
    ]
}

pub fn batches() -> Vec<Batch> {
    let mut batches = Vec::new();
    for (k, &t) in NUMERIC.iter().enumerate() {
        for op in [Op::Sum, Op::Prod, Op::Max, Op::Min] {
            let mut rng = Rng::new(700 + k as u64 * 8 + op as u64);
            let mut batch = Batch::new(format!("{} {t}", op.name()));
            let neutral = op.neutral(t);
            let pn = batch.input(t, &[neutral]);
            for shape in shapes() {
                add_case(&mut batch, &mut rng, op, t, &shape, &pn, false);
            }
            if t.is_float() && matches!(op, Op::Max | Op::Min) {
                add_case(&mut batch, &mut rng, op, t, &shapes()[6], &pn, true);
                let rows = Shape {
                    rows: 4,
                    cols: 8,
                    axis: Some(1),
                    keep_dims: false,
                    valid: (4, 8),
                };
                add_case(&mut batch, &mut rng, op, t, &rows, &pn, true);
            }
            batches.push(batch);
        }
    }
    batches
}

fn add_case(
    batch: &mut Batch,
    rng: &mut Rng,
    op: Op,
    t: ScalarType,
    s: &Shape,
    pn: &str,
    nan: bool,
) {
    let rows = s.rows.max(1);
    let n = rows * s.cols;
    let mut data = values(op, t, rng, n);
    if nan {
        data[n / 3] = V::F(f64::NAN);
    }
    let p = batch.input(t, &data);
    // The tile as the kernel sees it: masked lanes hold the neutral element.
    let tile: Vec<V> = (0..n)
        .map(|i| {
            if i / s.cols < s.valid.0 && i % s.cols < s.valid.1 {
                data[i]
            } else {
                op.neutral(t)
            }
        })
        .collect();
    let (groups, out_index): (Vec<Vec<V>>, String) = match s.axis {
        None => (vec![tile.clone()], String::new()),
        Some(0) if s.rows == 0 => (vec![tile.clone()], String::new()),
        Some(0) => (
            (0..s.cols)
                .map(|c| (0..rows).map(|r| tile[r * s.cols + c]).collect())
                .collect(),
            format!(" + arange(0, {})", s.cols),
        ),
        Some(_) => (
            tile.chunks(s.cols).map(|c| c.to_vec()).collect(),
            format!(" + arange(0, {rows})"),
        ),
    };
    let out_index = match (s.keep_dims, s.axis) {
        (true, Some(0)) => format!(" + arange(0, {})[None, :]", s.cols),
        (true, _) => format!(" + arange(0, {rows})[:, None]"),
        _ => out_index,
    };
    let (out, slot) = batch.output(t, groups.len());
    let (expected, tols): (Vec<V>, Vec<Tol>) = groups.iter().map(|g| op.reduce(t, g)).unzip();
    let masked = s.valid != (rows, s.cols);
    let load = if s.rows == 0 {
        let mask = if masked {
            format!(", mask: i < {}, other: load({pn})", s.valid.1)
        } else {
            String::new()
        };
        format!(
            "let i = arange(0, {}); let x = load({p} + i{mask});",
            s.cols
        )
    } else {
        let mask = if masked {
            format!(
                ", mask: (r[:, None] < {}) & (c[None, :] < {}), other: load({pn})",
                s.valid.0, s.valid.1
            )
        } else {
            String::new()
        };
        format!(
            "let r = arange(0, {rows}); let c = arange(0, {}); \
             let x = load({p} + r[:, None] * {} + c[None, :]{mask});",
            s.cols, s.cols
        )
    };
    let args = match (s.axis, s.keep_dims) {
        (None, _) => String::new(),
        (Some(a), false) => format!(", axis: {a}"),
        (Some(a), true) => format!(", axis: {a}, keep_dims: true"),
    };
    let shape = if s.rows == 0 {
        format!("[{}]", s.cols)
    } else {
        format!("[{rows},{}]", s.cols)
    };
    let axis = s.axis.map_or("all".to_string(), |a| format!("axis{a}"));
    let variant = match (nan, masked, s.keep_dims) {
        (true, _, _) => "/nan",
        (_, true, _) => "/ragged",
        (_, _, true) => "/keep_dims",
        _ => "",
    };
    batch.case(
        "reductions",
        format!("reduce/{}/{t}/{shape}/{axis}{variant}", op.name()),
        format!("{load}\nstore({out}{out_index}, {}(x{args}));", op.name()),
        vec![Check {
            slot,
            expected,
            tol: Tol::Exact,
            tols: Some(tols),
        }],
    );
}
