//! Conformance: a table of small kernels, each run on the reference interpreter and on the Vulkan
//! device and compared with a plain Rust reference. Every kernel has the signature
//! `kernel k(x: *T, y: *T, out: *mut T, n: i32)` with T f32 or i32, so a case is its body, its
//! launch, and a reference function.
use super::common;

use common::*;
use tk::base::ScalarType;

/// One case: `body` is the kernel body; `reference(x, y, n)` gives the expected `out`.
struct Case<T> {
    name: &'static str,
    /// Items before the kernel (fns, attributes) and the kernel body.
    prelude: &'static str,
    body: &'static str,
    n: usize,
    /// Number of elements of `out`.
    out_len: usize,
    grid: u32,
    reference: fn(&[T], &[T], usize) -> Vec<T>,
}

const BLOCK: usize = 256;

fn f32_case(
    name: &'static str,
    body: &'static str,
    reference: fn(&[f32], &[f32], usize) -> Vec<f32>,
) -> Case<f32> {
    Case {
        name,
        prelude: "",
        body,
        n: 1000,
        out_len: 1000,
        grid: 1000u32.div_ceil(BLOCK as u32),
        reference,
    }
}

/// erf to double precision (Abramowitz–Stegun 7.1.26 is too coarse; this uses the series and
/// a continued fraction), for references.
fn erf(x: f32) -> f32 {
    let x = x as f64;
    let t = x.abs();
    let value = if t < 2.5 {
        // Maclaurin series.
        let mut sum: f64 = 0.0;
        let mut term = t;
        let mut k = 0.0;
        while term.abs() > 1e-17 * sum.abs().max(1e-300) || k < 3.0 {
            sum += term / (2.0 * k + 1.0);
            k += 1.0;
            term *= -t * t / k;
            if k > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // Continued fraction for erfc.
        let mut f = 0.0;
        for k in (1..60).rev() {
            f = (k as f64 / 2.0) / (t + f);
        }
        1.0 - (-t * t).exp() / std::f64::consts::PI.sqrt() / (t + f)
    };
    (value * x.signum()) as f32
}

macro_rules! ew {
    ($name:expr, $expr:expr, |$a:ident, $b:ident| $f:expr) => {
        f32_case(
            $name,
            concat!(
                "let offs = program_id(0) * 256 + arange(0, 256); let mask = offs < n;\n",
                "let x = load(x + offs, mask: mask); let y = load(y + offs, mask: mask);\n",
                "store(out + offs, ",
                $expr,
                ", mask: mask);"
            ),
            |x, y, _| x.iter().zip(y).map(|(&$a, &$b)| $f).collect(),
        )
    };
}

fn f32_cases() -> Vec<Case<f32>> {
    let mut cases = vec![
        ew!("add", "x + y", |a, b| a + b),
        ew!("sub_mul_literal", "(x - y) * 2.0", |a, b| (a - b) * 2.0),
        ew!("div", "x / (abs(y) + 1.0)", |a, b| a / (b.abs() + 1.0)),
        ew!("neg", "-x + 1.5", |a, _b| -a + 1.5),
        ew!("exp", "exp(x)", |a, _b| a.exp()),
        ew!("log", "log(abs(x) + 1.0)", |a, _b| (a.abs() + 1.0).ln()),
        ew!("sqrt", "sqrt(abs(x))", |a, _b| a.abs().sqrt()),
        ew!("rsqrt", "rsqrt(abs(x) + 0.5)", |a, _b| 1.0
            / (a.abs() + 0.5).sqrt()),
        ew!("sin_cos", "sin(x) * cos(y)", |a, b| a.sin() * b.cos()),
        ew!("tanh", "tanh(x * 3.0)", |a, _b| (a * 3.0).tanh()),
        ew!("erf", "erf(x * 2.0)", |a, _b| erf(a * 2.0)),
        ew!("sigmoid", "sigmoid(x * 4.0)", |a, _b| 1.0
            / (1.0 + (-(a * 4.0)).exp())),
        ew!(
            "floor_ceil_round",
            "floor(x * 3.0) + ceil(y * 3.0) + round(x * 7.0)",
            |a, b| (a * 3.0).floor() + (b * 3.0).ceil() + (a * 7.0).round_ties_even()
        ),
        ew!(
            "maximum_minimum",
            "maximum(x, y) * 2.0 - minimum(x, y)",
            |a, b| a.max(b) * 2.0 - a.min(b)
        ),
        ew!("where", "where(x > y, x, y * 2.0)", |a, b| if a > b {
            a
        } else {
            b * 2.0
        }),
        ew!("clamp", "clamp(x, -0.5, 0.5)", |a, _b| a.clamp(-0.5, 0.5)),
        ew!("fma", "fma(x, y, 1.0)", |a, b| a.mul_add(b, 1.0)),
        ew!("pow", "pow(abs(x), 1.5)", |a, _b| a.abs().powf(1.5)),
        ew!("exp2_log2", "exp2(x) + log2(abs(y) + 1.0)", |a, b| a.exp2()
            + (b.abs() + 1.0).log2()),
        ew!(
            "cast_roundtrip",
            "((x * 100.0) as i32) as f32",
            |a, _b| ((a * 100.0) as i32) as f32
        ),
        ew!(
            "bool_mask_ops",
            "where((x > 0.0) & (y < 0.0) | (x < -0.9), 1.0, 0.0)",
            |a, b| if (a > 0.0 && b < 0.0) || a < -0.9 {
                1.0
            } else {
                0.0
            }
        ),
        ew!("scalar_if", "if n > 500 { x } else { y }", |a, _b| a),
    ];
    cases.extend([
        Case {
            name: "sum_to_scalar",
            prelude: "",
            body: "let offs = program_id(0) * 256 + arange(0, 256);\nlet v = load(x + offs, mask: offs < n);\nstore(out + program_id(0), sum(v));",
            n: 1000,
            out_len: 4,
            grid: 4,
            reference: |x, _, _| x.chunks(BLOCK).map(|c| c.iter().sum()).collect(),
        },
        Case {
            name: "max_to_scalar",
            prelude: "",
            body: "let offs = program_id(0) * 256 + arange(0, 256);\nlet v = load(x + offs, mask: offs < n, other: -inf);\nstore(out + program_id(0), max(v, axis: 0));",
            n: 1000,
            out_len: 4,
            grid: 4,
            reference: |x, _, _| x.chunks(BLOCK).map(|c| c.iter().cloned().fold(f32::NEG_INFINITY, f32::max)).collect(),
        },
        Case {
            name: "min_prod",
            prelude: "",
            body: "let offs = program_id(0) * 256 + arange(0, 256);\nlet v = load(x + offs, mask: offs < n, other: 1.0);\nstore(out + program_id(0), min(v) + prod(1.0 + v * 0.01));",
            n: 1000,
            out_len: 4,
            grid: 4,
            reference: |x, _, _| {
                x.chunks(BLOCK)
                    .map(|c| {
                        // Masked lanes load 1.0: they never win the min (x < 1) and add 1.01 factors.
                        let min = c.iter().cloned().fold(f32::INFINITY, f32::min);
                        let prod: f32 = c.iter().map(|v| 1.0 + v * 0.01).product();
                        min + prod * 1.01f32.powi((BLOCK - c.len()) as i32)
                    })
                    .collect()
            },
        },
        Case {
            name: "row_sums_2d",
            prelude: "",
            body: "let rows = program_id(0) * 16 + arange(0, 16);\nlet cols = arange(0, 16);\nlet tile = load(x + rows[:, None] * 16 + cols[None, :]);\nstore(out + rows, sum(tile, axis: 1));",
            n: 1024,
            out_len: 64,
            grid: 4,
            reference: |x, _, _| x.chunks(16).map(|c| c.iter().sum()).collect(),
        },
        Case {
            name: "col_broadcast_2d",
            prelude: "",
            body: "let rows = program_id(0) * 16 + arange(0, 16);\nlet cols = arange(0, 16);\nlet p = rows[:, None] * 16 + cols[None, :];\nstore(out + p, load(x + p) + load(y + cols)[None, :]);",
            n: 1024,
            out_len: 1024,
            grid: 4,
            reference: |x, y, _| x.iter().enumerate().map(|(i, v)| v + y[i % 16]).collect(),
        },
        Case {
            name: "keep_dims_center",
            prelude: "",
            body: "let rows = program_id(0) * 8 + arange(0, 8);\nlet cols = arange(0, 32);\nlet p = rows[:, None] * 32 + cols[None, :];\nlet t = load(x + p);\nstore(out + p, t - max(t, axis: 1, keep_dims: true));",
            n: 1024,
            out_len: 1024,
            grid: 4,
            reference: |x, _, _| x.chunks(32).flat_map(|c| { let m = c.iter().cloned().fold(f32::NEG_INFINITY, f32::max); c.iter().map(move |v| v - m) }).collect(),
        },
        Case {
            name: "runtime_for_loop",
            prelude: "",
            body: "let offs = program_id(0) * 256 + arange(0, 256); let mask = offs < n;\nlet v = load(x + offs, mask: mask);\nlet mut acc = zeros([256], f32);\nfor k in range(0, 5) { acc += v * (k as f32); }\nstore(out + offs, acc, mask: mask);",
            n: 1000,
            out_len: 1000,
            grid: 4,
            reference: |x, _, _| x.iter().map(|v| (0..5).fold(0.0f32, |acc, k| acc + v * k as f32)).collect(),
        },
        Case {
            name: "negative_step_loop",
            prelude: "",
            body: "let offs = program_id(0) * 256 + arange(0, 256); let mask = offs < n;\nlet v = load(x + offs, mask: mask);\nlet mut acc = v;\nfor k in range(10, 0, -3) { acc = acc * 0.5 + (k as f32); }\nstore(out + offs, acc, mask: mask);",
            n: 1000,
            out_len: 1000,
            grid: 4,
            reference: |x, _, _| x.iter().map(|&v| [10.0f32, 7.0, 4.0, 1.0].iter().fold(v, |acc, k| acc * 0.5 + k)).collect(),
        },
        Case {
            name: "static_range_unrolled",
            prelude: "",
            body: "let offs = program_id(0) * 256 + arange(0, 256); let mask = offs < n;\nlet v = load(x + offs, mask: mask);\nlet mut acc = zeros([256], f32);\nfor k in static_range(0, 4) { acc += v * (k as f32); }\nstore(out + offs, acc, mask: mask);",
            n: 1000,
            out_len: 1000,
            grid: 4,
            reference: |x, _, _| x.iter().map(|v| v * 6.0).collect(),
        },
        Case {
            name: "while_break_continue",
            prelude: "",
            body: "let offs = program_id(0) * 256 + arange(0, 256); let mask = offs < n;\nlet v = load(x + offs, mask: mask);\nlet mut acc = v;\nlet mut i = 0;\nwhile i < 100 { i += 1; if i % 2 == 0 { continue; } if i > 7 { break; } acc = acc + 1.0; }\nstore(out + offs, acc, mask: mask);",
            n: 1000,
            out_len: 1000,
            grid: 4,
            reference: |x, _, _| x.iter().map(|v| v + 4.0).collect(),
        },
        Case {
            name: "early_return",
            prelude: "",
            body: "if program_id(0) == 1 { return; }\nlet offs = program_id(0) * 256 + arange(0, 256); let mask = offs < n;\nstore(out + offs, load(x + offs, mask: mask), mask: mask);",
            n: 1000,
            out_len: 1000,
            grid: 4,
            reference: |x, _, _| x.iter().enumerate().map(|(i, &v)| if i / 256 == 1 { 0.0 } else { v }).collect(),
        },
        Case {
            name: "inlined_fns",
            prelude: "fn axpb(a, x, b) { a * x + b }\nfn twice(v: f32) -> f32 { let r = v * 2.0; r }\n",
            body: "let offs = program_id(0) * 256 + arange(0, 256); let mask = offs < n;\nlet v = load(x + offs, mask: mask);\nstore(out + offs, twice(axpb(3.0, v, 1.0)), mask: mask);",
            n: 1000,
            out_len: 1000,
            grid: 4,
            reference: |x, _, _| x.iter().map(|v| (3.0 * v + 1.0) * 2.0).collect(),
        },
        Case {
            name: "stdlib_math_relu",
            prelude: "use math;\n",
            body: "let offs = program_id(0) * 256 + arange(0, 256); let mask = offs < n;\nstore(out + offs, math::relu(load(x + offs, mask: mask)), mask: mask);",
            n: 1000,
            out_len: 1000,
            grid: 4,
            reference: |x, _, _| x.iter().map(|v| v.max(0.0)).collect(),
        },
        Case {
            name: "tile_smaller_than_workgroup",
            prelude: "#[threads(64)]\n",
            body: "let offs = program_id(0) * 16 + arange(0, 16); let mask = offs < n;\nlet v = load(x + offs, mask: mask);\nstore(out + offs, v + 1.0, mask: mask);",
            n: 1000,
            out_len: 1000,
            grid: 63,
            reference: |x, _, _| x.iter().map(|v| v + 1.0).collect(),
        },
        Case {
            name: "tile_larger_than_workgroup",
            prelude: "#[threads(32)]\n",
            body: "let offs = program_id(0) * 2048 + arange(0, 2048); let mask = offs < n;\nlet v = load(x + offs, mask: mask);\nstore(out + offs, v * v, mask: mask);\nstore(out + n, sum(v));",
            n: 3000,
            out_len: 3001,
            grid: 1,
            reference: |x, _, n| { let mut o: Vec<f32> = x.iter().map(|v| v * v).collect(); o.truncate(2048); o.resize(n, 0.0); o.push(x[..2048].iter().sum()); o },
        },
    ]);
    cases
}

fn i32_cases() -> Vec<Case<i32>> {
    macro_rules! iew {
        ($name:expr, $expr:expr, |$a:ident, $b:ident| $f:expr) => {
            Case {
                name: $name,
                prelude: "",
                body: concat!(
                    "let offs = program_id(0) * 256 + arange(0, 256); let mask = offs < n;\n",
                    "let x = load(x + offs, mask: mask); let y = load(y + offs, mask: mask);\n",
                    "store(out + offs, ",
                    $expr,
                    ", mask: mask);"
                ),
                n: 1000,
                out_len: 1000,
                grid: 4,
                reference: |x, y, _| x.iter().zip(y).map(|(&$a, &$b)| $f).collect(),
            }
        };
    }
    vec![
        iew!("int_arith", "(x * 7 + y) - 3", |a, b| a
            .wrapping_mul(7)
            .wrapping_add(b)
            .wrapping_sub(3)),
        iew!(
            "int_div_rem_c_semantics",
            "x / where(y == 0, 1, y) + x % where(y == 0, 1, y)",
            |a, b| {
                let d = if b == 0 { 1 } else { b };
                a.wrapping_div(d) + a.wrapping_rem(d)
            }
        ),
        iew!("int_shifts_mask_count", "(x << 33) + (y >> 2)", |a, b| a
            .wrapping_shl(1)
            + (b >> 2)),
        iew!("int_bitwise", "(x & y) | (x ^ ~y)", |a, b| (a & b)
            | (a ^ !b)),
        iew!("int_overflow_wraps", "x * 1000000 * 1000", |a, _b| a
            .wrapping_mul(1000000)
            .wrapping_mul(1000)),
        iew!(
            "int_compare_cast",
            "(x < y) as i32 + (x == y) as i32 * 2",
            |a, b| (a < b) as i32 + (a == b) as i32 * 2
        ),
        iew!(
            "int_min_max_abs",
            "maximum(x, y) - minimum(x, y) + abs(x)",
            |a, b| a.max(b) - a.min(b) + a.wrapping_abs()
        ),
        iew!(
            "int_to_float_to_int",
            "((x as f32) * 0.5) as i32",
            |a, _b| (a as f32 * 0.5) as i32
        ),
        iew!("arange_values", "offs * 2 + x * 0", |_a, _b| 0),
    ]
}

#[test]
fn conformance_f32() {
    let device = device();
    let mut failures = Vec::new();
    let cases = f32_cases();
    for case in &cases {
        let source = format!(
            "{}kernel k(x: *f32, y: *f32, out: *mut f32, n: i32) {{\n{}\n}}\n",
            case.prelude, case.body
        );
        let x = random_f32(case.n, 11);
        let y = random_f32(case.n, 12);
        let expected = (case.reference)(&x, &y, case.n);
        for (label, backend) in [
            ("interp", Backend::Interp),
            ("vulkan", Backend::Vulkan(&device)),
        ] {
            let args = [
                f32_buffer(&x),
                f32_buffer(&y),
                zeros(ScalarType::F32, case.out_len),
                int(case.n as i64),
            ];
            let result = run_source(&source, "k", &[], &args, [case.grid, 1, 1], &backend)
                .and_then(|out| assert_close(&buffer(&out, 2).to_f32(), &expected, 3e-5));
            if let Err(e) = result {
                failures.push(format!("{} on {label}: {e}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
}

#[test]
fn conformance_i32() {
    let device = device();
    let mut failures = Vec::new();
    let cases = i32_cases();
    for case in &cases {
        let source = format!(
            "{}kernel k(x: *i32, y: *i32, out: *mut i32, n: i32) {{\n{}\n}}\n",
            case.prelude, case.body
        );
        let x = random_i32(case.n, 21, -100000, 100000);
        let y = random_i32(case.n, 22, -50, 50);
        let mut expected = (case.reference)(&x, &y, case.n);
        if case.name == "arange_values" {
            expected = (0..case.n as i32).map(|i| i * 2).collect();
        }
        for (label, backend) in [
            ("interp", Backend::Interp),
            ("vulkan", Backend::Vulkan(&device)),
        ] {
            let args = [
                i32_buffer(&x),
                i32_buffer(&y),
                zeros(ScalarType::I32, case.out_len),
                int(case.n as i64),
            ];
            let result = run_source(&source, "k", &[], &args, [case.grid, 1, 1], &backend)
                .and_then(|out| {
                    let actual = buffer(&out, 2).to_i32();
                    match actual.iter().zip(&expected).position(|(a, e)| a != e) {
                        None if actual.len() == expected.len() => Ok(()),
                        None => Err("length differs".into()),
                        Some(i) => Err(format!(
                            "element {i}: got {}, expected {} (x={}, y={})",
                            actual[i], expected[i], x[i], y[i]
                        )),
                    }
                });
            if let Err(e) = result {
                failures.push(format!("{} on {label}: {e}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
}
