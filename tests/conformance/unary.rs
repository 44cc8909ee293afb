//! Unary math × float dtypes (a random range inside each function's domain, and special values),
//! plus integer unary ops and the remaining elementwise builtins (pow, fma, clamp, where, cdiv,
//! umulhi).
//!
//! Tolerances (ulps of the result type unless said otherwise; "abs" is an absolute error that
//! also passes, used where a function crosses zero and ulps are meaningless):
//! - exact: neg, abs, floor, ceil, round (ties to even), where, clamp, int ops.
//! - sqrt 1 ulp; rsqrt 2 ulps (Vulkan: inversesqrt 2 ulps).
//! - exp, exp2: 3 + 2|x| ulps f32 (Vulkan's bound); sigmoid 4 ulps.
//! - log, log2: 4 ulps or abs 2^-21 (Vulkan: 3 ulps outside [0.5, 2], abs 2^-21 inside).
//! - sin, cos: 4 ulps or abs 2^-20 on [-pi, pi] (Vulkan allows abs 2^-11 there and bounds
//!   nothing beyond; tk reduces wider arguments into [-pi, pi] first, tested on [-1000, 1000]).
//! - tanh: 4 ulps or abs 2^-22; erf: abs 4e-7 (the device uses Abramowitz–Stegun 7.1.26, 1.5e-7,
//!   evaluated in f32).
//! - pow: 8 ulps or abs 2^-20 (exp2(b * log2(a))), negative and zero bases and C's special
//!   cases included (GLSL.std.450 leaves them undefined; tk selects C's values).
//! - fma: 1 ulp or half an ulp of the largest |a b| (Vulkan lets Fma be an unfused multiply and
//!   add); f64 fma exact.
//! - sqrt, rsqrt, log, log2 below zero (and rsqrt, log, log2 at zero), which GLSL.std.450 leaves
//!   undefined: the IEEE values (NaN, ±inf), in the special inputs.
//! - f16 and bf16: transcendental functions are computed in f32 and rounded: 1 ulp of the type.
//! - f64: transcendental functions are computed in f32 on the device (GLSL.std.450 has no f64
//!   versions): inputs are f32-representable and the result is compared in f32 ulps with the
//!   f32 tolerance + 1. sqrt, rsqrt, floor, ceil, round, fma run natively in f64.
use super::harness::*;

struct Unary {
    name: &'static str,
    /// Random range; `log` ranges are log-uniform over [10^lo, 10^hi].
    lo: f64,
    hi: f64,
    log_range: bool,
    reference: fn(f64) -> f64,
    /// Tolerance for f32 results.
    tol: Tol,
    /// Computed in f32 for f64 results.
    transcendental: bool,
}

/// erf in f64 (Maclaurin series below 2.5, continued fraction of erfc above), ~1e-15 accurate.
pub fn erf(x: f64) -> f64 {
    let t = x.abs();
    if t.is_nan() {
        return f64::NAN;
    }
    let value = if t < 2.5 {
        let mut sum = 0.0;
        let mut term = t;
        let mut k = 0.0;
        while k < 200.0 {
            sum += term / (2.0 * k + 1.0);
            k += 1.0;
            term *= -t * t / k;
            if term.abs() < 1e-18 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else if t.is_infinite() {
        1.0
    } else {
        let mut f = 0.0;
        for k in (1..80).rev() {
            f = (k as f64 / 2.0) / (t + f);
        }
        1.0 - (-t * t).exp() / std::f64::consts::PI.sqrt() / (t + f)
    };
    value.copysign(x)
}

const PI: f64 = std::f64::consts::PI;

fn unary_ops() -> Vec<Unary> {
    let u = |name, lo, hi, log_range, reference: fn(f64) -> f64, tol, transcendental| Unary {
        name,
        lo,
        hi,
        log_range,
        reference,
        tol,
        transcendental,
    };
    vec![
        u("neg", -100.0, 100.0, false, |x| -x, Tol::Exact, false),
        u("abs", -100.0, 100.0, false, f64::abs, Tol::Exact, false),
        u("floor", -100.0, 100.0, false, f64::floor, Tol::Exact, false),
        u("ceil", -100.0, 100.0, false, f64::ceil, Tol::Exact, false),
        u(
            "round",
            -100.0,
            100.0,
            false,
            f64::round_ties_even,
            Tol::Exact,
            false,
        ),
        u("sqrt", -4.0, 4.0, true, f64::sqrt, Tol::Ulps(1), false),
        u(
            "rsqrt",
            -4.0,
            4.0,
            true,
            |x| 1.0 / x.sqrt(),
            Tol::Ulps(2),
            false,
        ),
        u("exp", -20.0, 20.0, false, f64::exp, Tol::Ulps(4), true),
        u("exp2", -30.0, 30.0, false, f64::exp2, Tol::Ulps(4), true),
        u(
            "log",
            -3.0,
            3.0,
            true,
            f64::ln,
            Tol::UlpsOrAbs(4, 1.0 / (1 << 21) as f64),
            true,
        ),
        u(
            "log2",
            -3.0,
            3.0,
            true,
            f64::log2,
            Tol::UlpsOrAbs(4, 1.0 / (1 << 21) as f64),
            true,
        ),
        u(
            "sin",
            -PI,
            PI,
            false,
            f64::sin,
            Tol::UlpsOrAbs(4, 1.0 / (1 << 20) as f64),
            true,
        ),
        u(
            "cos",
            -PI,
            PI,
            false,
            f64::cos,
            Tol::UlpsOrAbs(4, 1.0 / (1 << 20) as f64),
            true,
        ),
        u(
            "tanh",
            -5.0,
            5.0,
            false,
            f64::tanh,
            Tol::UlpsOrAbs(4, 1.0 / (1 << 22) as f64),
            true,
        ),
        u("erf", -3.0, 3.0, false, erf, Tol::Abs(4e-7), true),
        u(
            "sigmoid",
            -10.0,
            10.0,
            false,
            |x| 1.0 / (1.0 + (-x).exp()),
            Tol::Ulps(4),
            true,
        ),
    ]
}

/// Special inputs: signed zeros, infinities, NaN, and a few exact points.
const SPECIALS: [f64; 12] = [
    0.0,
    -0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    1.0,
    -1.0,
    0.5,
    -0.5,
    2.5,
    -2.5,
    3.0,
];

/// The tolerance for `op` on dtype `t`.
fn tolerance(t: ScalarType, op: &Unary) -> Tol {
    match (t, op.tol) {
        (_, Tol::Exact) => Tol::Exact,
        (F16 | BF16, Tol::Abs(a)) => Tol::UlpsOrAbs(1, a),
        (F16 | BF16, _) => Tol::Ulps(1),
        (F64, Tol::Ulps(u)) if op.transcendental => Tol::F32Ulps(u + 1, 0.0),
        (F64, Tol::UlpsOrAbs(u, a)) if op.transcendental => Tol::F32Ulps(u + 1, a),
        (_, tol) => tol,
    }
}

const N: usize = 64;

pub fn batches() -> Vec<Batch> {
    let mut batches = Vec::new();
    for (k, &t) in FLOATS.iter().enumerate() {
        let mut rng = Rng::new(300 + k as u64);
        let mut batch = Batch::new(format!("unary {t}"));
        for op in unary_ops() {
            let (lo, hi) = match (t, op.name) {
                (F16, "exp") => (-10.0, 10.0),
                (F16, "exp2") => (-14.0, 15.0),
                _ => (op.lo, op.hi),
            };
            let mut random: Vec<f64> = (0..N)
                .map(|_| {
                    let x = rng.float(lo, hi);
                    let x = if op.log_range { 10f64.powf(x) } else { x };
                    // f64 transcendental inputs are f32 values (see the module docs).
                    let x = if t == F64 && op.transcendental {
                        x as f32 as f64
                    } else {
                        x
                    };
                    round_to(t, x)
                })
                .collect();
            if matches!(op.name, "floor" | "ceil" | "round") {
                // Halves, to pin the tie rule of round.
                for (i, x) in random.iter_mut().enumerate().step_by(3) {
                    *x = round_to(t, (i as f64 - 30.5).round() + 0.5);
                }
            }
            let mut variants = vec![("range", random), ("special", SPECIALS.to_vec())];
            if matches!(op.name, "sin" | "cos") {
                // Beyond [-pi, pi], where Vulkan leaves the precision open and tk reduces the
                // argument first (`spirv::math::domains::sin_cos`).
                let mut wide_rng = Rng::new(350 + k as u64);
                let wide = (0..N)
                    .map(|_| round_to(t, wide_rng.float(-1000.0, 1000.0) as f32 as f64))
                    .collect();
                variants.push(("wide", wide));
            }
            for (variant, inputs) in variants {
                let n = inputs.len();
                let values: Vec<V> = inputs.iter().map(|&x| V::F(x)).collect();
                let p = batch.input(t, &values);
                let (out, slot) = batch.output(t, n);
                let expected = inputs
                    .iter()
                    .map(|&x| V::F(round_to(t, (op.reference)(x))))
                    .collect();
                // Special values run on a 16-wide tile (12 used, the rest masked off).
                let width = n.next_power_of_two();
                batch.case(
                    "unary-math",
                    format!("unary/{}/{t}/{variant}", op.name),
                    format!(
                        "let i = arange(0, {width}); let m = i < {n};\n\
                         let x = load({p} + i, mask: m);\nstore({out} + i, {}, mask: m);",
                        if op.name == "neg" {
                            "-x".to_string()
                        } else {
                            format!("{}(x)", op.name)
                        }
                    ),
                    vec![Check {
                        slot,
                        expected,
                        tol: tolerance(t, &op),
                        tols: exp_tolerances(t, op.name, &inputs),
                    }],
                );
            }
        }
        other_float_ops(&mut batch, &mut rng, t);
        batches.push(batch);
    }
    let mut batch = Batch::new("int unary");
    let mut rng = Rng::new(400);
    for t in INTS {
        int_ops(&mut batch, &mut rng, t);
    }
    batches.push(batch);
    batches
}

/// Vulkan's exp and exp2 precision is `3 + 2 |x|` ulps (f32; f64 runs in f32): per element.
fn exp_tolerances(t: ScalarType, name: &str, inputs: &[f64]) -> Option<Vec<Tol>> {
    if !matches!(name, "exp" | "exp2") || !matches!(t, F32 | F64) {
        return None;
    }
    let ulps = |x: f64| 3 + 2 * x.abs().min(1e6).ceil() as u32;
    Some(
        inputs
            .iter()
            .map(|&x| {
                if t == F32 {
                    Tol::Ulps(ulps(x))
                } else {
                    Tol::F32Ulps(ulps(x) + 1, 0.0)
                }
            })
            .collect(),
    )
}

/// pow, fma, clamp, where on one float dtype.
fn other_float_ops(batch: &mut Batch, rng: &mut Rng, t: ScalarType) {
    // f64 inputs are f32 values: pow runs in f32 on the device (see the module docs).
    let narrow = |v: V| {
        if t == F64 {
            V::F(v.f() as f32 as f64)
        } else {
            v
        }
    };
    let a: Vec<V> = (0..N)
        .map(|_| narrow(V::F(round_to(t, 10f64.powf(rng.float(-1.0, 1.0))))))
        .collect();
    let b: Vec<V> = rng
        .values(t, N, -3.0, 3.0)
        .into_iter()
        .map(narrow)
        .collect();
    let c: Vec<V> = rng
        .values(t, N, -3.0, 3.0)
        .into_iter()
        .map(narrow)
        .collect();
    let (pa, pb, pc) = (batch.input(t, &a), batch.input(t, &b), batch.input(t, &c));
    let loads = format!(
        "let i = arange(0, {N}); let a = load({pa} + i); let b = load({pb} + i); let c = load({pc} + i);"
    );
    let pow_tol = match t {
        F16 | BF16 => Tol::Ulps(1),
        F32 => Tol::UlpsOrAbs(8, 1.0 / (1 << 20) as f64),
        _ => Tol::F32Ulps(9, 1.0 / (1 << 20) as f64),
    };
    // Vulkan's Fma may run as a rounded multiply then an add: allow the product's rounding
    // (half an ulp of the largest |a b|) on top of 1 ulp of the result.
    let largest_product = (0..N)
        .map(|i| (a[i].f() * b[i].f()).abs())
        .fold(0.0, f64::max);
    let fma_tol = match t {
        F64 => Tol::Exact,
        F16 => Tol::UlpsOrAbs(1, largest_product * 2f64.powi(-11)),
        BF16 => Tol::UlpsOrAbs(1, largest_product * 2f64.powi(-8)),
        _ => Tol::UlpsOrAbs(1, largest_product * 2f64.powi(-24)),
    };
    type F3 = fn(ScalarType, f64, f64, f64) -> f64;
    let ops: [(&str, &str, F3, Tol); 5] = [
        ("pow", "pow(a, b)", |_, a, b, _| a.powf(b), pow_tol),
        (
            "fma",
            "fma(a, b, c)",
            |t, a, b, c| if t == F64 { a.mul_add(b, c) } else { a * b + c },
            fma_tol,
        ),
        (
            "clamp",
            "clamp(b, -1.0, 1.5)",
            |_, _, b, _| b.clamp(-1.0, 1.5),
            Tol::Exact,
        ),
        (
            "where",
            "where(b > c, a, c)",
            |_, a, b, c| if b > c { a } else { c },
            Tol::Exact,
        ),
        (
            "maximum-abs",
            "maximum(abs(b), abs(c))",
            |_, _, b, c| b.abs().max(c.abs()),
            Tol::Exact,
        ),
    ];
    pow_special_values(batch, t, pow_tol);
    for (name, expr, f, tol) in ops {
        let (out, slot) = batch.output(t, N);
        let expected = (0..N)
            .map(|i| V::F(round_to(t, f(t, a[i].f(), b[i].f(), c[i].f()))))
            .collect();
        batch.case(
            "unary-math",
            format!("math/{name}/{t}"),
            format!("{loads}\nstore({out} + i, {expr});"),
            vec![Check {
                slot,
                expected,
                tol,
                tols: None,
            }],
        );
    }
}

/// `pow` where GLSL.std.450 `Pow` is undefined (a negative base; a zero base with `y <= 0`)
/// and C's special cases (`y == 0`, `x == 1`, `x == -1` with `y == ±inf` give 1).
fn pow_special_values(batch: &mut Batch, t: ScalarType, tol: Tol) {
    let inf = f64::INFINITY;
    let pairs: [(f64, f64); 20] = [
        (-2.0, 3.0),
        (-2.0, 2.0),
        (-2.0, 0.5),
        (-3.0, -1.0),
        (-0.5, -3.0),
        (-8.0, 1.0 / 3.0),
        (0.0, 2.0),
        (-0.0, 3.0),
        (0.0, -1.0),
        (-0.0, -1.0),
        (-0.0, -2.0),
        (0.0, 0.0),
        (0.0, f64::NAN),
        (f64::NAN, 0.0),
        (1.0, f64::NAN),
        (-1.0, inf),
        (-1.0, -inf),
        (2.0, -2.0),
        (-2.5, 0.0),
        (1.0, 3.5),
    ];
    let n = pairs.len();
    let xs: Vec<V> = pairs.iter().map(|p| V::F(round_to(t, p.0))).collect();
    let ys: Vec<V> = pairs.iter().map(|p| V::F(round_to(t, p.1))).collect();
    let (px, py) = (batch.input(t, &xs), batch.input(t, &ys));
    let (out, slot) = batch.output(t, n);
    let expected = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| V::F(round_to(t, x.f().powf(y.f()))))
        .collect();
    let width = n.next_power_of_two();
    batch.case(
        "unary-math",
        format!("math/pow/{t}/special"),
        format!(
            "let i = arange(0, {width}); let m = i < {n};\n\
             let x = load({px} + i, mask: m); let y = load({py} + i, mask: m);\n\
             store({out} + i, pow(x, y), mask: m);"
        ),
        vec![Check {
            slot,
            expected,
            tol,
            tols: None,
        }],
    );
}

/// neg, abs, ~, cdiv, umulhi on one int dtype.
fn int_ops(batch: &mut Batch, rng: &mut Rng, t: ScalarType) {
    let a = rng.values(t, N, 0.0, 0.0);
    // cdiv on operands where `a + b - 1` does not overflow: a in [0, MAX/2], b in [1, MAX/2].
    let half = int_range(t).1 / 2;
    let b: Vec<V> = rng
        .values(t, N, 0.0, 0.0)
        .into_iter()
        .map(|v| V::I(1 + v.i().abs() % half))
        .collect();
    let a_pos: Vec<V> = a.iter().map(|v| V::I(v.i().abs() % half)).collect();
    let (pa, pb, pp) = (
        batch.input(t, &a),
        batch.input(t, &b),
        batch.input(t, &a_pos),
    );
    let loads = format!(
        "let i = arange(0, {N}); let a = load({pa} + i); let b = load({pb} + i); let p = load({pp} + i);"
    );
    let mut ops: Vec<(&str, &str, Box<dyn Fn(usize) -> i128>)> = vec![
        ("neg", "-a", Box::new(|i| wrap(t, -a[i].i()))),
        ("abs", "abs(a)", Box::new(|i| wrap(t, a[i].i().abs()))),
        ("bitnot", "~a", Box::new(|i| wrap(t, !a[i].i()))),
        (
            "cdiv",
            "cdiv(p, b)",
            Box::new(|i| (a_pos[i].i() + b[i].i() - 1) / b[i].i()),
        ),
    ];
    if t == U32 {
        ops.push((
            "umulhi",
            "umulhi(a, b)",
            Box::new(|i| wrap(t, (a[i].i() * b[i].i()) >> 32)),
        ));
    }
    for (name, expr, f) in ops {
        let (out, slot) = batch.output(t, N);
        let expected = (0..N).map(|i| V::I(f(i))).collect();
        batch.case(
            "int-unary",
            format!("int/{name}/{t}"),
            format!("{loads}\nstore({out} + i, {expr});"),
            vec![Check {
                slot,
                expected,
                tol: Tol::Exact,
                tols: None,
            }],
        );
    }
}
