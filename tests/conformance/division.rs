//! Division and remainder at the edges where devices differ.
//!
//! - Ints of every width: both signs of each operand, zero divisors, `MIN / -1` and `MIN % -1`,
//!   large magnitudes, divisors loaded at run time and constant ones (which skip the guards).
//!   An NVIDIA H200 gave the unsigned remainder for `OpSRem` (`-68572 % 7` was 4, `100 % -7`
//!   was 100); every module the harness compiles is also checked to contain no `OpSRem` or
//!   `OpSMod`. Exact on both backends.
//! - Floats of every width: exact integer quotients `x = n y` (the H200 gave 4.195 for
//!   `4296 % 4.195` in f16, its f16 quotient truncated one below), quotients in the 1000s and
//!   beyond 2^11, f32/f64 quotients that round up onto the next integer (where the remainder
//!   computed from the rounded quotient has the wrong sign until the fix-up), large random
//!   quotients, and `fmod`'s and division's special values. The interpreter is exact; the device
//!   gets `binary::device_tolerance`, except where noted.
use super::binary::{device_tolerance, int_div, int_rem};
use super::harness::*;

/// Dividends and divisors of int type `t`: the extremes, values near them, the H200's
/// reproducers and small values of both signs (those that do not fit `t` left out).
fn int_operands(t: ScalarType) -> (Vec<i128>, Vec<i128>) {
    let (min, max) = int_range(t);
    let fits = |v: &i128| (min..=max).contains(v);
    let mut dividends: Vec<i128> = [
        min,
        min + 1,
        min / 3,
        -68572,
        -100,
        -7,
        -1,
        0,
        1,
        7,
        100,
        68572,
        max / 3,
        max - 1,
        max,
    ]
    .into_iter()
    .filter(fits)
    .collect();
    let mut divisors: Vec<i128> = [
        min,
        min / 2 + 1,
        -68572,
        -7,
        -2,
        -1,
        0,
        1,
        2,
        7,
        100,
        max / 2 + 1,
        max,
    ]
    .into_iter()
    .filter(fits)
    .collect();
    dividends.dedup();
    divisors.dedup();
    (dividends, divisors)
}

pub fn batches() -> Vec<Batch> {
    let mut batches = Vec::new();
    for t in INTS {
        batches.push(int_batch(t));
    }
    for t in FLOATS {
        batches.push(float_batch(t));
    }
    batches
}

/// One case: `expr` of `x` (and `y`) over the lanes of `values` (pairs when `y` is used),
/// stored to a fresh output slot, with a tolerance per element.
fn lanes_case(
    batch: &mut Batch,
    t: ScalarType,
    name: String,
    expr: &str,
    pairs: &[(V, V)],
    expected: Vec<V>,
    tols: Vec<Tol>,
) {
    let n = pairs.len();
    let width = n.next_power_of_two();
    let xs: Vec<V> = pairs.iter().map(|p| p.0).collect();
    let ys: Vec<V> = pairs.iter().map(|p| p.1).collect();
    let (px, py) = (batch.input(t, &xs), batch.input(t, &ys));
    let (out, slot) = batch.output(t, n);
    batch.case(
        "division",
        name,
        format!(
            "let i = arange(0, {width}); let m = i < {n};\n\
             let x = load({px} + i, mask: m); let y = load({py} + i, mask: m);\n\
             store({out} + i, {expr}, mask: m);"
        ),
        vec![Check {
            slot,
            expected,
            tol: Tol::Exact,
            tols: Some(tols),
        }],
    );
}

fn int_batch(t: ScalarType) -> Batch {
    let mut batch = Batch::new(format!("division {t}"));
    let (dividends, divisors) = int_operands(t);
    let all_pairs: Vec<(V, V)> = dividends
        .iter()
        .flat_map(|&x| divisors.iter().map(move |&y| (V::I(x), V::I(y))))
        .collect();
    type IntOp = fn(i128, i128) -> i128;
    let ops: [(&str, &str, IntOp); 2] = [("div", "/", int_div), ("rem", "%", int_rem)];
    for (name, symbol, f) in ops {
        let expected = all_pairs
            .iter()
            .map(|(x, y)| V::I(wrap(t, f(x.i(), y.i()))))
            .collect();
        lanes_case(
            &mut batch,
            t,
            format!("division/{t}/{name}/variable"),
            &format!("x {symbol} y"),
            &all_pairs,
            expected,
            vec![Tol::Exact; all_pairs.len()],
        );
        // Constant divisors: the emitter skips the guards, and 0 and -1 take their own paths.
        let constants: &[i128] = if t.is_signed_int() {
            &[7, -7, -1, 0, 1, 100]
        } else {
            &[7, 0, 1, 100]
        };
        for &c in constants {
            if !(int_range(t).0..=int_range(t).1).contains(&c) {
                continue;
            }
            let pairs: Vec<(V, V)> = dividends.iter().map(|&x| (V::I(x), V::I(c))).collect();
            let expected = pairs
                .iter()
                .map(|(x, _)| V::I(wrap(t, f(x.i(), c))))
                .collect();
            lanes_case(
                &mut batch,
                t,
                format!("division/{t}/{name}/by-{c}"),
                &format!("x {symbol} {c}"),
                &pairs,
                expected,
                vec![Tol::Exact; pairs.len()],
            );
        }
    }
    batch
}

/// Whether `v` is a finite value of float type `t`.
fn representable(t: ScalarType, v: f64) -> bool {
    v.is_finite() && round_to(t, v) == v
}

/// `x = ±n |y|` with the products `y (n - 1)`, `y n` and `y (n + 1)` exact in the type the
/// device computes in: then `x - y * trunc(x / y)` is exact whichever of `n - 1` and `n` the
/// quotient truncates to, and after the fix-up the remainder is exactly 0 on any device.
fn exact_quotients(t: ScalarType) -> Vec<(V, V)> {
    let divisors = [1.0, 0.5, 1.5, 0.375, 3.0, 2.5, 4.1953125, 0.1, 7.0, 1e-3];
    let quotients = [
        1.0, 2.0, 3.0, 5.0, 7.0, 12.0, 100.0, 1000.0, 1024.0, 1536.0, 2047.0, 2049.0, 3000.0,
        4096.0, 6144.0, 12288.0, 100000.0, 786432.0, 1048575.0,
    ];
    // The f64 product is exact when its fused error term is 0; below f64, the f64 product of
    // these operands is exact and must survive the rounding to f32.
    let exact_product = |y: f64, n: f64| {
        let p = y * n;
        if t == F64 {
            p.is_finite() && y.mul_add(n, -p) == 0.0
        } else {
            p as f32 as f64 == p
        }
    };
    let mut pairs = Vec::new();
    for &y in &divisors {
        let y = round_to(t, y);
        for &n in &quotients {
            let x = n * y;
            let products_exact = [n - 1.0, n, n + 1.0].iter().all(|&m| exact_product(y, m));
            if !representable(t, x) || !products_exact {
                continue;
            }
            for (sx, sy) in [(1.0, 1.0), (-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)] {
                pairs.push((V::F(sx * x), V::F(sy * y)));
            }
        }
    }
    pairs
}

/// f32/f64 dividends just below `n y`, where the correctly rounded quotient is `n` although the
/// exact one is below: `x - y * n` is then negative (with a product rounded to nearest) and
/// only the fix-up brings the remainder, `|y|` minus a little, back.
fn quotients_rounding_up(t: ScalarType, rng: &mut Rng) -> Vec<(V, V)> {
    let mut pairs = Vec::new();
    let mut tries = 0;
    while pairs.len() < 16 && tries < 100_000 {
        tries += 1;
        let y = round_to(t, rng.float(1.0, 2.0));
        let n = rng.int(1 << 10, 1 << 20) as f64;
        let x = if t == F32 {
            let p = (n * y) as f32;
            f32::from_bits(p.to_bits() - 1) as f64
        } else {
            let p = n * y;
            f64::from_bits(p.to_bits() - 1)
        };
        let q = round_to(t, x / y);
        if q == n && x % y > 0.5 * y {
            let sign = if pairs.len() % 2 == 0 { 1.0 } else { -1.0 };
            pairs.push((V::F(sign * x), V::F(y)));
        }
    }
    assert!(pairs.len() == 16, "found {} {t} dividends", pairs.len());
    pairs
}

/// Random operands with large quotients (up to about 2^25 for f16 and f32, 2^37 for f64).
fn large_quotients(t: ScalarType, rng: &mut Rng) -> Vec<(V, V)> {
    let (lo, hi) = match t {
        F16 => (1000.0, 60000.0),
        F64 => (1e6, 1e9),
        _ => (1000.0, 1e6),
    };
    (0..64)
        .map(|i| {
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            let x = round_to(t, sign * rng.float(lo, hi));
            let y = round_to(t, 10f64.powf(rng.float(-2.0, 1.0)));
            let y = if i % 4 < 2 { y } else { -y };
            (V::F(x), V::F(y))
        })
        .collect()
}

const SPECIAL_X: [f64; 7] = [
    3.5,
    -3.5,
    0.0,
    -0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];
const SPECIAL_Y: [f64; 6] = [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.25];

fn float_batch(t: ScalarType) -> Batch {
    let mut batch = Batch::new(format!("division {t}"));
    let mut rng = Rng::new(700 + t.bits() as u64 + (t == BF16) as u64);
    let mut groups: Vec<(&str, Vec<(V, V)>)> = vec![
        ("exact-quotient", exact_quotients(t)),
        ("large-quotient", large_quotients(t, &mut rng)),
        (
            "special",
            SPECIAL_X
                .iter()
                .flat_map(|&x| SPECIAL_Y.iter().map(move |&y| (V::F(x), V::F(y))))
                .collect(),
        ),
    ];
    if t == F32 || t == F64 {
        groups.push(("rounding-up", quotients_rounding_up(t, &mut rng)));
    }
    type FloatOp = fn(f64, f64) -> f64;
    let ops: [(&str, &str, FloatOp); 2] = [("div", "/", |x, y| x / y), ("rem", "%", |x, y| x % y)];
    for (group, pairs) in &groups {
        for (name, symbol, f) in ops {
            // Rust's `%` is C's fmod, exact; its result is a value of `t` already.
            let expected: Vec<V> = pairs
                .iter()
                .map(|(x, y)| V::F(round_to(t, f(x.f(), y.f()))))
                .collect();
            let tols = pairs
                .iter()
                .zip(&expected)
                .map(|(&(x, y), &w)| match (*group, name) {
                    // Exact by construction on any device (`exact_quotients`).
                    ("exact-quotient", "rem") => Tol::Exact,
                    // The fix-up must run: no other side of the discontinuity is allowed (this
                    // assumes products rounded to nearest, as every device tk has met rounds).
                    ("rounding-up", "rem") => match device_tolerance(name, t, x, y, w) {
                        Tol::DeviceRem(bound, _) => Tol::Device(bound),
                        tol => tol,
                    },
                    _ => device_tolerance(name, t, x, y, w),
                })
                .collect();
            lanes_case(
                &mut batch,
                t,
                format!("division/{t}/{name}/{group}"),
                &format!("x {symbol} y"),
                pairs,
                expected,
                tols,
            );
        }
    }
    batch
}

/// Modules to check for instructions Vulkan leaves undefined, without a device: every example
/// kernel (safe and unchecked, for the portable, CPU and GPU targets) and `/`, `%` of every int
/// width by a loaded divisor and by constants, each named.
pub fn compiled_modules() -> Vec<(String, Vec<u32>)> {
    use tk::abi::Target;
    use tk::driver::{self, BuildOptions, Source};
    let mut sources: Vec<(String, String)> = Vec::new();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut examples: Vec<_> = std::fs::read_dir(format!("{root}/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tk"))
        .collect();
    examples.sort();
    for path in examples {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        sources.push((name, std::fs::read_to_string(&path).unwrap()));
    }
    for t in INTS {
        let negative = if t.is_signed_int() {
            " + x % -7 + x / -1"
        } else {
            ""
        };
        sources.push((
            format!("{t} division"),
            format!(
                "kernel k(a: *{t}, b: *{t}, out: *mut {t}) {{\n\
                 let i = arange(0, 64); let x = load(a + i); let y = load(b + i);\n\
                 store(out + i, x % y + x / y + x % 7 + x / 7{negative});\n}}\n"
            ),
        ));
    }
    let mut modules = Vec::new();
    for (name, text) in sources {
        let source = Source::new(&name, &text);
        let program = driver::check_source(source.name, source.text, source.loader);
        assert!(!program.has_errors(), "{name}: {:?}", program.diagnostics);
        for kernel in &program.checked.kernels {
            let lowered = driver::lower_source(&source, &kernel.name, &[]).expect("lowers");
            for target in [Target::portable(), Target::cpu(), Target::gpu()] {
                for safe in [true, false] {
                    let artifact = driver::build_lowered(&lowered, &target, &BuildOptions { safe })
                        .unwrap_or_else(|e| panic!("{name} {}: {e:?}", kernel.name))
                        .artifact;
                    let what = format!("{name} {} for {} (safe {safe})", kernel.name, target.name);
                    modules.push((what, artifact.words));
                }
            }
        }
    }
    modules
}
