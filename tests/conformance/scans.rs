//! Scans and arg-reductions: `cumsum cumprod argmax argmin` × dtypes × 1-d and 2-d tiles × axes,
//! full and masked ragged (masked lanes load the op's neutral element through `other:`), ties
//! (small integer values, the lowest index wins) and NaN (the first NaN wins). Ints and
//! argmax/argmin are exact; float scans may differ from the exact prefix by the rounding bound
//! of any evaluation order: cumsum `(ceil(log2 n) + 2) · u · Σ|x|` over the prefix, cumprod
//! `(n + 1) · u · |Π x|`, with `u` the dtype's unit roundoff.
use super::harness::*;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Cumsum,
    Cumprod,
    Argmax,
    Argmin,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Cumsum => "cumsum",
            Op::Cumprod => "cumprod",
            Op::Argmax => "argmax",
            Op::Argmin => "argmin",
        }
    }
    /// The value masked lanes load: it never changes the result.
    fn neutral(self, t: ScalarType) -> V {
        match (self, t.is_float()) {
            (Op::Cumsum, true) => V::F(0.0),
            (Op::Cumsum, false) => V::I(0),
            (Op::Cumprod, true) => V::F(1.0),
            (Op::Cumprod, false) => V::I(1),
            (Op::Argmax, true) => V::F(f64::NEG_INFINITY),
            (Op::Argmax, false) => V::I(int_range(t).0),
            (Op::Argmin, true) => V::F(f64::INFINITY),
            (Op::Argmin, false) => V::I(int_range(t).1),
        }
    }
}

fn unit_roundoff(t: ScalarType) -> f64 {
    match t {
        F16 => 2f64.powi(-11),
        BF16 => 2f64.powi(-8),
        F32 => 2f64.powi(-24),
        _ => 2f64.powi(-53),
    }
}

/// The inclusive scan of one line, with a tolerance per element.
fn scan(op: Op, t: ScalarType, xs: &[V]) -> Vec<(V, Tol)> {
    let mut out = Vec::new();
    if !t.is_float() {
        let mut acc = if op == Op::Cumsum { 0 } else { 1 };
        for x in xs {
            acc = match op {
                Op::Cumsum => wrap(t, acc + x.i()),
                _ => wrap(t, acc.wrapping_mul(x.i())),
            };
            out.push((V::I(acc), Tol::Exact));
        }
        return out;
    }
    let u = unit_roundoff(t);
    let n = xs.len() as f64;
    let (mut acc, mut abs) = if op == Op::Cumsum {
        (0.0, 0.0)
    } else {
        (1.0, 0.0)
    };
    for x in xs {
        let x = x.f();
        let bound = if op == Op::Cumsum {
            acc += x;
            abs += x.abs();
            (n.log2().ceil() + 2.0) * u * abs
        } else {
            acc *= x;
            (n + 1.0) * u * acc.abs()
        };
        out.push((V::F(round_to(t, acc)), Tol::Abs(bound)));
    }
    out
}

/// The lowest index of the extreme element of one line; a NaN is the extreme of everything.
fn arg(op: Op, xs: &[V]) -> i128 {
    let mut best = 0;
    for (i, x) in xs.iter().enumerate() {
        let (b, v) = (xs[best], *x);
        let better = match (b, v) {
            (V::I(b), V::I(v)) => (op == Op::Argmax && v > b) || (op == Op::Argmin && v < b),
            _ => {
                let (b, v) = (b.f(), v.f());
                !b.is_nan()
                    && (v.is_nan() || (op == Op::Argmax && v > b) || (op == Op::Argmin && v < b))
            }
        };
        if better {
            best = i;
        }
    }
    best as i128
}

/// One case: an `[rows, cols]` tile (`rows == 0`: 1-d of `cols`), the axis (`None`: the whole
/// tile, arg-reductions only) and the valid extent.
struct Shape {
    rows: usize,
    cols: usize,
    axis: Option<usize>,
    valid: (usize, usize),
}

/// Ragged tiles only (the full ones are covered by tests/scans.rs). On lavapipe (one subgroup of
/// 8 per workgroup) scans go through shuffles: 16 elements are fewer than the layout's pattern
/// (replicas), 512 repeat it, `[32, 16]` spreads both axes over invocations.
fn shapes(op: Op) -> Vec<Shape> {
    let s = |rows, cols, axis, valid| Shape {
        rows,
        cols,
        axis,
        valid,
    };
    match op {
        Op::Cumsum | Op::Cumprod => vec![
            s(0, 64, Some(0), (1, 45)),
            s(8, 16, Some(0), (5, 11)),
            s(8, 16, Some(1), (5, 11)),
            s(0, 16, Some(0), (1, 13)),
            s(0, 512, Some(0), (1, 389)),
            s(32, 16, Some(0), (29, 16)),
            s(32, 16, Some(1), (32, 15)),
        ],
        Op::Argmax => vec![
            s(0, 64, Some(0), (1, 45)),
            s(8, 16, Some(1), (5, 11)),
            s(8, 16, None, (8, 16)),
        ],
        Op::Argmin => vec![
            s(0, 64, Some(0), (1, 64)),
            s(8, 16, Some(0), (5, 11)),
            s(8, 16, None, (6, 13)),
        ],
    }
}

const DTYPES: [ScalarType; 4] = [I32, U8, F16, F32];

pub fn batches() -> Vec<Batch> {
    let mut batches = Vec::new();
    for (k, &t) in DTYPES.iter().enumerate() {
        let mut rng = Rng::new(900 + k as u64);
        let mut batch = Batch::new(format!("scans {t}"));
        for op in [Op::Cumsum, Op::Cumprod, Op::Argmax, Op::Argmin] {
            for shape in shapes(op) {
                add_case(&mut batch, &mut rng, op, t, &shape, false);
            }
            if t.is_float() && matches!(op, Op::Argmax | Op::Argmin) {
                let line = Shape {
                    rows: 0,
                    cols: 64,
                    axis: Some(0),
                    valid: (1, 64),
                };
                add_case(&mut batch, &mut rng, op, t, &line, true);
            }
        }
        batches.push(batch);
    }
    batches
}

fn values(op: Op, t: ScalarType, rng: &mut Rng, n: usize) -> Vec<V> {
    match (op, t.is_float()) {
        (Op::Cumsum, true) => rng.values(t, n, -1.0, 1.0),
        (Op::Cumprod, true) => (0..n)
            .map(|_| {
                let sign = if rng.int(0, 1) == 0 { -1.0 } else { 1.0 };
                V::F(round_to(t, sign * rng.float(0.9, 1.1)))
            })
            .collect(),
        (Op::Cumsum, false) => rng.values(t, n, 0.0, 0.0),
        (Op::Cumprod, false) => (0..n).map(|_| V::I(wrap(t, rng.int(-2, 3)))).collect(),
        // Few distinct values, so that ties are common.
        (_, true) => (0..n).map(|_| V::F(rng.int(-6, 6) as f64)).collect(),
        (_, false) => (0..n).map(|_| V::I(wrap(t, rng.int(-6, 6)))).collect(),
    }
}

fn add_case(batch: &mut Batch, rng: &mut Rng, op: Op, t: ScalarType, s: &Shape, nan: bool) {
    let rows = s.rows.max(1);
    let n = rows * s.cols;
    let mut data = values(op, t, rng, n);
    if nan {
        data[n / 3] = V::F(f64::NAN);
        data[n / 2] = V::F(f64::NAN);
    }
    let p = batch.input(t, &data);
    let pn = batch.input(t, &[op.neutral(t)]);
    let tile: Vec<V> = (0..n)
        .map(|i| {
            if i / s.cols < s.valid.0 && i % s.cols < s.valid.1 {
                data[i]
            } else {
                op.neutral(t)
            }
        })
        .collect();
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
            "let r = arange(0, {rows}); let c = arange(0, {cols}); \
             let x = load({p} + r[:, None] * {cols} + c[None, :]{mask});",
            cols = s.cols
        )
    };
    // Lines along the axis, as lists of flat indices into the tile.
    let line = |start: usize, stride: usize, len: usize| -> Vec<usize> {
        (0..len).map(|j| start + j * stride).collect()
    };
    let lines: Vec<Vec<usize>> = match (s.rows, s.axis) {
        (0, _) | (_, None) => vec![(0..n).collect()],
        (_, Some(0)) => (0..s.cols).map(|c| line(c, s.cols, rows)).collect(),
        _ => (0..rows).map(|r| line(r * s.cols, 1, s.cols)).collect(),
    };
    let axis_arg = match (s.rows, s.axis) {
        (0, _) | (_, None) => String::new(),
        (_, Some(a)) => format!(", axis: {a}"),
    };
    let (statement, check) = if matches!(op, Op::Cumsum | Op::Cumprod) {
        let (out, slot) = batch.output(t, n);
        let mut expected = vec![V::I(0); n];
        let mut tols = vec![Tol::Exact; n];
        for l in &lines {
            let xs: Vec<V> = l.iter().map(|&i| tile[i]).collect();
            for (&i, (v, tol)) in l.iter().zip(scan(op, t, &xs)) {
                expected[i] = v;
                tols[i] = tol;
            }
        }
        let index = if s.rows == 0 {
            "i".to_string()
        } else {
            format!("r[:, None] * {} + c[None, :]", s.cols)
        };
        (
            format!("store({out} + {index}, {}(x{axis_arg}));", op.name()),
            Check {
                slot,
                expected,
                tol: Tol::Exact,
                tols: Some(tols),
            },
        )
    } else {
        let (out, slot) = batch.output(I32, lines.len());
        let expected = lines
            .iter()
            .map(|l| {
                let xs: Vec<V> = l.iter().map(|&i| tile[i]).collect();
                V::I(arg(op, &xs))
            })
            .collect();
        let index = match (s.rows, s.axis) {
            (0, _) | (_, None) => String::new(),
            (_, Some(0)) => " + c".to_string(),
            _ => " + r".to_string(),
        };
        (
            format!("store({out}{index}, {}(x{axis_arg}));", op.name()),
            Check {
                slot,
                expected,
                tol: Tol::Exact,
                tols: None,
            },
        )
    };
    let shape = if s.rows == 0 {
        format!("[{}]", s.cols)
    } else {
        format!("[{rows},{}]", s.cols)
    };
    let axis = s.axis.map_or("all".to_string(), |a| format!("axis{a}"));
    let variant = match (nan, masked) {
        (true, _) => "/nan",
        (_, true) => "/ragged",
        _ => "",
    };
    batch.case(
        "scans",
        format!("{}/{t}/{shape}/{axis}{variant}", op.name()),
        format!("{load}\n{statement}"),
        vec![check],
    );
}
