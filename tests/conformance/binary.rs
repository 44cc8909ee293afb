//! Binary operators × dtypes × operand forms: tile–tile, tile–scalar, scalar–tile and the
//! broadcast `[N, 1] op [1, M]`. Every result is exact (floats: the correctly rounded result of
//! the exact operation; bf16 rounded through f32 as the spec says).
use super::harness::*;

/// An operator: surface template (`{a}`, `{b}`), whether it yields bool, and its reference.
struct Op {
    name: &'static str,
    template: &'static str,
    compare: bool,
    reference: fn(ScalarType, V, V) -> V,
}

fn arith(t: ScalarType, a: V, b: V, i: fn(i128, i128) -> i128, f: fn(f64, f64) -> f64) -> V {
    match (a, b) {
        (V::I(x), V::I(y)) => V::I(wrap(t, i(x, y))),
        _ => V::F(round_to(t, f(a.f(), b.f()))),
    }
}

fn cmp(a: V, b: V, f: fn(std::cmp::Ordering) -> bool) -> V {
    let ord = match (a, b) {
        (V::I(x), V::I(y)) => x.cmp(&y),
        _ => a.f().partial_cmp(&b.f()).expect("no NaN operands"),
    };
    V::I(f(ord) as i128)
}

fn shift_count(t: ScalarType, b: V) -> u32 {
    (b.i() & (t.bits() as i128 - 1)) as u32
}

fn ops(t: ScalarType) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut op = |name, template, compare, reference: fn(ScalarType, V, V) -> V| {
        ops.push(Op {
            name,
            template,
            compare,
            reference,
        })
    };
    if t == Bool {
        op("and", "{a} & {b}", false, |_, a, b| V::I(a.i() & b.i()));
        op("or", "{a} | {b}", false, |_, a, b| V::I(a.i() | b.i()));
        op("xor", "{a} ^ {b}", false, |_, a, b| V::I(a.i() ^ b.i()));
        op("eq", "{a} == {b}", true, |_, a, b| V::I((a == b) as i128));
        op("ne", "{a} != {b}", true, |_, a, b| V::I((a != b) as i128));
        return ops;
    }
    op("add", "{a} + {b}", false, |t, a, b| {
        arith(t, a, b, i128::wrapping_add, |x, y| x + y)
    });
    op("sub", "{a} - {b}", false, |t, a, b| {
        arith(t, a, b, i128::wrapping_sub, |x, y| x - y)
    });
    op("mul", "{a} * {b}", false, |t, a, b| {
        arith(t, a, b, i128::wrapping_mul, |x, y| x * y)
    });
    op("div", "{a} / {b}", false, |t, a, b| {
        arith(t, a, b, |x, y| x / y, |x, y| x / y)
    });
    op("rem", "{a} % {b}", false, |t, a, b| {
        arith(t, a, b, |x, y| x % y, |x, y| x % y)
    });
    op("eq", "{a} == {b}", true, |_, a, b| cmp(a, b, |o| o.is_eq()));
    op("ne", "{a} != {b}", true, |_, a, b| cmp(a, b, |o| o.is_ne()));
    op("lt", "{a} < {b}", true, |_, a, b| cmp(a, b, |o| o.is_lt()));
    op("le", "{a} <= {b}", true, |_, a, b| cmp(a, b, |o| o.is_le()));
    op("gt", "{a} > {b}", true, |_, a, b| cmp(a, b, |o| o.is_gt()));
    op("ge", "{a} >= {b}", true, |_, a, b| cmp(a, b, |o| o.is_ge()));
    op("maximum", "maximum({a}, {b})", false, |_, a, b| {
        match (a, b) {
            (V::I(x), V::I(y)) => V::I(x.max(y)),
            _ => V::F(a.f().max(b.f())),
        }
    });
    op("minimum", "minimum({a}, {b})", false, |_, a, b| {
        match (a, b) {
            (V::I(x), V::I(y)) => V::I(x.min(y)),
            _ => V::F(a.f().min(b.f())),
        }
    });
    if t.is_int() {
        op("bitand", "{a} & {b}", false, |_, a, b| V::I(a.i() & b.i()));
        op("bitor", "{a} | {b}", false, |_, a, b| V::I(a.i() | b.i()));
        op("bitxor", "{a} ^ {b}", false, |_, a, b| V::I(a.i() ^ b.i()));
        op("shl", "{a} << {b}", false, |t, a, b| {
            V::I(wrap(t, a.i() << shift_count(t, b)))
        });
        op("shr", "{a} >> {b}", false, |t, a, b| {
            V::I(a.i() >> shift_count(t, b))
        });
    }
    ops
}

/// Right operands avoid 0 (division) and -1 (`MIN / -1` overflows).
fn divisor_safe(t: ScalarType, values: Vec<V>) -> Vec<V> {
    if t == Bool {
        return values;
    }
    values
        .into_iter()
        .map(|v| match v {
            V::I(0) | V::I(-1) => V::I(2),
            V::F(f) if f == 0.0 => V::F(round_to(t, 1.5)),
            v => v,
        })
        .collect()
}

const N: usize = 64;
const ROWS: usize = 8;
const COLS: usize = 16;

pub fn batches() -> Vec<Batch> {
    let mut batches = Vec::new();
    let mut dtypes = vec![Bool];
    dtypes.extend(NUMERIC);
    for (k, &t) in dtypes.iter().enumerate() {
        let mut rng = Rng::new(100 + k as u64);
        let (lo, hi) = (-50.0, 50.0);
        let gen = |rng: &mut Rng, n| {
            if t == Bool {
                (0..n).map(|_| V::I(rng.int(0, 1))).collect::<Vec<_>>()
            } else {
                rng.values(t, n, lo, hi)
            }
        };
        let x = gen(&mut rng, N);
        let mut y = divisor_safe(t, gen(&mut rng, N));
        // Equal operands in some lanes, so == and <= see both outcomes.
        for i in (0..N).step_by(4) {
            if t == Bool || !matches!(x[i], V::I(0) | V::I(-1)) && x[i] != V::F(0.0) {
                y[i] = x[i];
            }
        }
        let s = divisor_safe(t, gen(&mut rng, 1))[0];
        let col = gen(&mut rng, ROWS);
        let mut row = divisor_safe(t, gen(&mut rng, COLS));
        if !matches!(col[0], V::I(0) | V::I(-1)) && col[0] != V::F(0.0) {
            row[0] = col[0];
        }
        let mut batch = Batch::new(format!("binary {t}"));
        let px = batch.input(t, &x);
        let py = batch.input(t, &y);
        let ps = batch.input(t, &[s]);
        let pc = batch.input(t, &col);
        let pr = batch.input(t, &row);
        let loads = format!(
            "let x = load({px} + arange(0, {N})); let y = load({py} + arange(0, {N})); \
             let s = load({ps});"
        );
        let broadcast_loads = format!(
            "let c = load({pc} + arange(0, {ROWS})); let r = load({pr} + arange(0, {COLS}));"
        );
        for op in ops(t) {
            let out_t = if op.compare { Bool } else { t };
            let expr = |a: &str, b: &str| op.template.replace("{a}", a).replace("{b}", b);
            let forms: [(&str, String, Vec<V>, usize); 4] = [
                ("tile-tile", expr("x", "y"), pairs(&x, &y), N),
                ("tile-scalar", expr("x", "s"), pairs(&x, &[s; N]), N),
                ("scalar-tile", expr("s", "y"), pairs(&[s; N], &y), N),
                (
                    "broadcast",
                    expr("c[:, None]", "r[None, :]"),
                    (0..ROWS * COLS)
                        .flat_map(|i| [col[i / COLS], row[i % COLS]])
                        .collect(),
                    ROWS * COLS,
                ),
            ];
            // `s op y` only where the operands' order matters; for the commutative ops it is
            // `y op s` again.
            let commutative = matches!(
                op.name,
                "add"
                    | "mul"
                    | "eq"
                    | "ne"
                    | "maximum"
                    | "minimum"
                    | "and"
                    | "or"
                    | "xor"
                    | "bitand"
                    | "bitor"
                    | "bitxor"
            );
            for (form, expr, operands, len) in forms {
                if form == "scalar-tile" && commutative {
                    continue;
                }
                let (out, slot) = batch.output(out_t, len);
                let expected = operands
                    .chunks(2)
                    .map(|p| (op.reference)(t, p[0], p[1]))
                    .collect();
                // Vulkan defines float `OpFRem` as `x - y * trunc(x / y)` with that formula's
                // precision, not the exact remainder: allow 4 ulps of `|x|` (absolute).
                let tols = (op.name == "rem" && t.is_float()).then(|| {
                    operands
                        .chunks(2)
                        .map(|p| Tol::Abs(4.0 * p[0].f().abs() * mantissa_ulp(t)))
                        .collect()
                });
                let (loads, index) = if form == "broadcast" {
                    (
                        broadcast_loads.clone(),
                        format!("arange(0, {ROWS})[:, None] * {COLS} + arange(0, {COLS})[None, :]"),
                    )
                } else {
                    (loads.clone(), format!("arange(0, {N})"))
                };
                batch.case(
                    "binary",
                    format!("binary/{}/{t}/{form}", op.name),
                    format!("{loads}\nstore({out} + {index}, {expr});"),
                    vec![Check {
                        slot,
                        expected,
                        tol: Tol::Exact,
                        tols,
                    }],
                );
            }
        }
        batches.push(batch);
    }
    batches
}

/// 2^-p for a float type with p stored mantissa bits: one ulp of a value in [1, 2).
fn mantissa_ulp(t: ScalarType) -> f64 {
    match t {
        F16 => 2f64.powi(-10),
        BF16 => 2f64.powi(-7),
        F32 => 2f64.powi(-23),
        _ => 2f64.powi(-52),
    }
}

fn pairs(a: &[V], b: &[V]) -> Vec<V> {
    a.iter().zip(b).flat_map(|(&x, &y)| [x, y]).collect()
}
