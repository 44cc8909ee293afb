//! Control flow × dtypes: `if`/`else if`/`else` statements and expressions on runtime scalars,
//! `&&`/`||`, `for` loops (with steps, negative steps, `break`, `continue`, nesting and tile
//! accumulators), `while` loops, `static_range`, fns with a tail `if` and with early `return`s
//! (under runtime and compile-time `if`s, in loops, from unit fns), and early `return` from the
//! kernel. Each case walks a table of runtime inputs; every result is exact (the float
//! inputs are small integers, so float arithmetic is exact too).
use super::harness::*;

/// Inputs per case.
const N: usize = 16;

/// A construct: the body over scalar `a` (one input, as `T`) storing to `out + j`, and the
/// reference on `a` as an exact integer.
struct Construct {
    name: &'static str,
    body: &'static str,
    reference: fn(i128) -> i128,
}

fn constructs() -> Vec<Construct> {
    let c = |name, body, reference| Construct {
        name,
        body,
        reference,
    };
    vec![
        c(
            "if-else-if expression",
            "let r = if a > 3 { a * 2 } else if a < -3 { -a } else { a - 1 }; store(o, r);",
            |a| {
                if a > 3 {
                    a * 2
                } else if a < -3 {
                    -a
                } else {
                    a - 1
                }
            },
        ),
        c(
            "if statement",
            "let mut r = a; if a == 0 { r = 7; } else { r += 1; } store(o, r);",
            |a| if a == 0 { 7 } else { a + 1 },
        ),
        c(
            "and-or",
            "let r = if (a > -2 && a < 4) || a == -7 { 1 as T } else { 0 as T }; store(o, r);",
            |a| ((a > -2 && a < 4) || a == -7) as i128,
        ),
        c(
            "for sum",
            "let mut s = a; for i in range(0, 5) { s += a + i as T; } store(o, s);",
            |a| a + (0..5).map(|i| a + i).sum::<i128>(),
        ),
        c(
            "for step",
            "let mut s = a; for i in range(1, 10, 3) { s = s * 2 - i as T; } store(o, s);",
            |a| [1, 4, 7].iter().fold(a, |s, i| s * 2 - i),
        ),
        c(
            "for negative step",
            "let mut s = a; for i in range(6, 0, -2) { s = s - i as T * a; } store(o, s);",
            |a| [6, 4, 2].iter().fold(a, |s, i| s - i * a),
        ),
        c(
            "for break",
            "let mut s = 0 as T; for i in range(0, 20) { if i as T > a { break; } s += 1; } \
             store(o, s);",
            |a| (0..20).take_while(|&i| i <= a).count() as i128,
        ),
        c(
            "for continue",
            "let mut s = 0 as T; for i in range(-6, 6) { if i % 2 == 0 { continue; } \
             s += i as T * a; } store(o, s);",
            |a| (-6..6).filter(|i| i % 2 != 0).map(|i| i * a).sum(),
        ),
        c(
            "nested for",
            "let mut s = 0 as T; for i in range(0, 4) { for j in range(0, i) { s += a - j as T; } } \
             store(o, s);",
            |a| (0..4).flat_map(|i| (0..i).map(move |j| a - j)).sum(),
        ),
        c(
            "while",
            "let mut x = a; let mut steps = 0 as T; while x > 1 { x = x - 3; steps += 1; } \
             store(o, steps * 100 + x);",
            |a| {
                let (mut x, mut steps) = (a, 0);
                while x > 1 {
                    x -= 3;
                    steps += 1;
                }
                steps * 100 + x
            },
        ),
        c(
            "while break continue",
            "let mut i = 0; let mut s = 0 as T; while true { i += 1; if i > 12 { break; } \
             if i % 3 == 0 { continue; } s += a; } store(o, s);",
            |a| (1..=12).filter(|i| i % 3 != 0).map(|_| a).sum(),
        ),
        c(
            "static_range",
            "let mut s = a; for i in static_range(0, 4) { s = s + a * i as T; } store(o, s);",
            |a| a + (0..4).map(|i| a * i).sum::<i128>(),
        ),
        c(
            "fn if-expression",
            "store(o, pick(a));",
            |a| if a > 0 { a * 3 } else { a + 2 },
        ),
        c("fn early return", "store(o, pick_early(a));", |a| {
            if a > 0 {
                a * 3
            } else {
                a + 2
            }
        }),
        c("fn returns a literal first", "store(o, literal_first(a));", |a| {
            if a > 2 {
                7
            } else {
                a * 2
            }
        }),
        c("fn return in for", "store(o, climb(a));", |a| {
            let mut s = 0;
            for _ in 0..12 {
                s += 2;
                if s > a {
                    return s * 10;
                }
            }
            s - 1
        }),
        c("fn return in while", "store(o, sink(a));", |a| {
            let mut v = a;
            loop {
                v -= 3;
                if v < 0 {
                    return v;
                }
            }
        }),
        c("fn return from every branch", "store(o, sign(a));", |a| a.signum()),
        c("fn return in if-expression", "store(o, half(a));", |a| {
            if a < 0 {
                a
            } else {
                a * 2 + 1
            }
        }),
        c(
            "fn return under const if",
            "store(o, scaled(a, 3) + scaled(a, 1));",
            |a| 2 * a + a + 1,
        ),
        c(
            "unit fn early return",
            "store(o, a - a + 5); put_positive(o, a);",
            |a| if a < 0 { 5 } else { a },
        ),
        c(
            "early-returning fn in a loop",
            "store(o, pick_thrice(a));",
            |a| 3 * if a > 0 { a * 3 } else { a + 2 },
        ),
        c(
            "tile accumulator",
            "let mut acc = zeros([8], T); for i in range(0, 3) { \
             acc += full([8], a, T) + (arange(0, 8) * i) as T; } store(o, sum(acc));",
            |a| (0..3).map(|i| 8 * a + 28 * i).sum(),
        ),
    ]
}

/// Generic fns the constructs call: a tail `if` expression, and early `return`s under runtime
/// `if`s, `for` and `while` loops, compile-time `if`s, from `if`-expression branches, from every
/// branch, and from a unit fn; `pick_thrice` calls an early-returning fn inside a loop (its
/// `returned` flag must start false at every call).
const PRELUDE: &str = "\
fn pick(x) { if x > 0 { x * 3 } else { x + 2 } }
fn pick_early(x) { if x > 0 { return x * 3; } x + 2 }
fn climb(x) { let mut s = x - x; for i in range(0, 12) { s += 2; if s > x { return s * 10; } } s - 1 }
fn sink(x) { let mut v = x; while true { v = v - 3; if v < 0 { return v; } } v }
fn sign(x) { if x > 0 { return 1 + (x - x); } else if x < 0 { return (x - x) - 1; } else { return x; } }
fn half(x) { let y = if x < 0 { return x; } else { x * 2 }; y + 1 }
fn scaled(x, const K: i32) { if K > 2 { return x * 2; } x + 1 }
fn put_positive(o, x) { if x < 0 { return; } store(o, x); }
fn literal_first(x) { if x > 2 { return 7; } x * 2 }
fn pick_thrice(x) { let mut s = x - x; for i in range(0, 3) { s += pick_early(x + (x - x)); } s }
";

pub fn batches() -> Vec<Batch> {
    let mut batches = Vec::new();
    for (k, &t) in [I32, I64, I16, F32, F64].iter().enumerate() {
        let mut rng = Rng::new(1700 + k as u64);
        let mut batch = Batch::new(format!("control {t}"));
        batch.prelude = PRELUDE.to_string();
        let inputs: Vec<i128> = (0..N).map(|_| rng.int(-8, 8)).collect();
        let values: Vec<V> = inputs.iter().map(|&a| value_of(t, a as f64)).collect();
        let p = batch.input(t, &values);
        let to_v = |x: i128| value_of(t, x as f64);
        for c in constructs() {
            let (out, slot) = batch.output(t, N);
            let body = c
                .body
                .replace(" T)", &format!(" {t})"))
                .replace(" T;", &format!(" {t};"));
            let body = body.replace("as T", &format!("as {t}"));
            batch.case(
                "control",
                format!("{}/{t}", c.name),
                format!(
                    "for j in range(0, {N}) {{ let a = load({p} + j); let o = {out} + j;\n{body}\n}}"
                ),
                vec![Check {
                    slot,
                    expected: inputs.iter().map(|&a| to_v((c.reference)(a))).collect(),
                    tol: Tol::Exact,
                    tols: None,
                }],
            );
        }
        // Early return, last in the batch (it stops the whole program): the program returns
        // at the first input above 5, after storing the inputs before it.
        let (out, slot) = batch.output(t, N);
        let stop = inputs.iter().position(|&a| a > 5).unwrap_or(N);
        let expected = (0..N)
            .map(|j| {
                if j < stop {
                    to_v(inputs[j] + 1)
                } else {
                    to_v(0)
                }
            })
            .collect();
        batch.case(
            "control",
            format!("early return/{t}"),
            format!(
                "for j in range(0, {N}) {{ let a = load({p} + j); if a > 5 {{ return; }} \
                 store({out} + j, a + 1); }}"
            ),
            vec![Check {
                slot,
                expected,
                tol: Tol::Exact,
                tols: None,
            }],
        );
        batches.push(batch);
    }
    batches
}
