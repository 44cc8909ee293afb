//! Binary operators × dtypes × operand forms: tile–tile, tile–scalar, scalar–tile and the
//! broadcast `[N, 1] op [1, M]`. The reference is exact (floats: the correctly rounded result of
//! the exact operation; bf16 rounded through f32 as the spec says). The interpreter must match it
//! exactly and so must ints on the device, zero divisors and `MIN / -1` included; float results
//! on the device get the bounds of Vulkan's precision table (`device_tolerance`).
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
        arith(t, a, b, int_div, |x, y| x / y)
    });
    op("rem", "{a} % {b}", false, |t, a, b| {
        arith(t, a, b, int_rem, |x, y| x % y)
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

/// Integer `/` as the interpreter and every device compute it (spec §6, docs/decisions.md):
/// truncation toward zero, 0 for a zero divisor; the caller wraps (`MIN / -1` is MIN).
pub fn int_div(x: i128, y: i128) -> i128 {
    if y == 0 {
        0
    } else {
        x / y
    }
}

/// Integer `%`: the remainder of `int_div`, with the sign of `x`; 0 for a zero divisor.
pub fn int_rem(x: i128, y: i128) -> i128 {
    if y == 0 {
        0
    } else {
        x % y
    }
}

/// Float right operands avoid 0: float division by zero (infinities, NaN) has its own cases in
/// `division.rs`. Int divisors keep 0 and -1, whose results are defined and exact.
fn divisor_safe(t: ScalarType, values: Vec<V>) -> Vec<V> {
    values
        .into_iter()
        .map(|v| match v {
            V::F(f) if f == 0.0 => V::F(round_to(t, 1.5)),
            v => v,
        })
        .collect()
}

/// The tolerance of operator `name` on `t` for operands `x`, `y` and the exact (correctly
/// rounded) result `want`: ints and the interpreter exactly; float results on the device within
/// the bound of Vulkan's table "Precision and Operation of SPIR-V Instructions" (spec §6).
pub fn device_tolerance(name: &str, t: ScalarType, x: V, y: V, want: V) -> Tol {
    if !t.is_float() {
        return Tol::Exact;
    }
    let (x, y, want) = (x.f(), y.f(), want.f());
    if !want.is_finite() {
        // Infinities and NaN (division by zero, overflow) are compared as they are.
        return Tol::Exact;
    }
    match name {
        // OpFAdd, OpFSub, OpFMul: "correctly rounded", which Vulkan defines as either float next
        // to the exact result while no rounding mode is declared (an overflow may give the
        // largest finite value): 1 ulp. bf16 adds in f32 and rounds to nearest even once: 1 ulp
        // of bf16 as well.
        "add" | "sub" | "mul" => Tol::DeviceUlps(1),
        // OpFDiv: 2.5 ulp for |y| in [2^-126, 2^126], hence within 3 ulps of the correctly
        // rounded quotient (`spacing` takes the larger gap at a power of two). Vulkan promises
        // doubles "at least" single precision; tk reads the bound in f64's own ulps.
        "div" if t == F32 || t == F64 => Tol::Device(3.0 * spacing(t, want)),
        // f16 and bf16 divide in f32 (2.5 f32 ulps) and round once: 1 ulp of the type.
        "div" => Tol::DeviceUlps(1),
        // OpFRem is "inherited from x - y * trunc(x / y)"; tk computes that in f32 (f64) with a
        // fix-up step (`spirv::math::division::float_rem`), within `8u (|x| + |y|)` of the exact
        // remainder for `u` the unit roundoff of the computing type, plus f16/bf16's final
        // rounding; near the discontinuities of trunc the other side is allowed.
        "rem" if x.is_finite() && y.is_finite() && y != 0.0 => {
            let mut bound = 8.0 * compute_unit_roundoff(t) * (x.abs() + y.abs());
            if t == F16 || t == BF16 {
                bound += spacing(t, 2.0 * y.abs() + bound);
            }
            Tol::DeviceRem(bound, y.abs())
        }
        _ => Tol::Exact,
    }
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
            if x[i] != V::F(0.0) {
                y[i] = x[i];
            }
        }
        let s = divisor_safe(t, gen(&mut rng, 1))[0];
        let col = gen(&mut rng, ROWS);
        let mut row = divisor_safe(t, gen(&mut rng, COLS));
        if col[0] != V::F(0.0) {
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
                let expected: Vec<V> = operands
                    .chunks(2)
                    .map(|p| (op.reference)(t, p[0], p[1]))
                    .collect();
                let tols = operands
                    .chunks(2)
                    .zip(&expected)
                    .map(|(p, &w)| device_tolerance(op.name, out_t, p[0], p[1], w))
                    .collect();
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
                        tols: Some(tols),
                    }],
                );
            }
        }
        batches.push(batch);
    }
    batches
}

fn pairs(a: &[V], b: &[V]) -> Vec<V> {
    a.iter().zip(b).flat_map(|(&x, &y)| [x, y]).collect()
}
