//! Casts between every pair of dtypes (`x as T`), on ordinary values and on edge values: int
//! wrap-around, float→int truncation with saturation and NaN → 0, ±inf, signed zero, float→float
//! round-to-nearest-even and overflow to inf. Every result is exact on the interpreter, and int
//! results on the device (tk saturates explicitly: Vulkan leaves out-of-range and NaN
//! float→int conversions undefined). A float result on the device may be either float next to
//! the exact value: Vulkan's "correctly rounded" conversions round in a direction of the
//! implementation's choosing while no rounding mode is declared, and may overflow to the largest
//! finite value.
use super::harness::*;

/// The reference `x as to` for a value of type `from`.
pub fn cast(from: ScalarType, to: ScalarType, v: V) -> V {
    let _ = from;
    match v {
        V::I(i) if to.is_float() => V::F(round_to(to, i as f64)),
        V::I(i) => V::I(wrap(to, i)),
        V::F(f) if to == Bool => V::I((f != 0.0) as i128),
        V::F(f) if to.is_int() => {
            let (lo, hi) = int_range(to);
            // Rust's `as` truncates toward zero, saturates, and maps NaN to 0.
            V::I((f as i128).clamp(lo, hi))
        }
        V::F(f) => V::F(round_to(to, f)),
    }
}

fn edges(t: ScalarType) -> Vec<V> {
    if t == Bool {
        return vec![V::I(0), V::I(1)];
    }
    if t.is_int() {
        let (lo, hi) = int_range(t);
        let points = [
            lo,
            hi,
            0,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            255,
            256,
            32767,
            32768,
            -32769,
            65535,
            65536,
            1 << 24,
            (1 << 24) + 1,
            (1 << 31) - 1,
            1 << 31,
            -(1 << 31) - 1,
            (1 << 53) + 1,
        ];
        return points.iter().map(|&p| V::I(wrap(t, p))).collect();
    }
    let points = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        0.5,
        -0.5,
        -0.99,
        1.5,
        -1.5,
        127.9,
        128.0,
        -128.9,
        -129.0,
        255.9,
        256.0,
        65535.0,
        65536.0,
        1e5,
        -1e5,
        2147483520.0,
        2147483648.0,
        -2147483904.0,
        4294967296.0,
        1e19,
        -1e19,
        1e30,
        -1e30,
        1e-30,
        65520.0,
        f64::from_bits(0x3FF0_0000_1000_0000), // 1 + 2^-24 + ...: ties when narrowed
        1e300,
    ];
    points.iter().map(|&p| V::F(round_to(t, p))).collect()
}

const N: usize = 64;

pub fn batches() -> Vec<Batch> {
    let mut batches = Vec::new();
    for (k, &from) in ScalarType::ALL.iter().enumerate() {
        let mut rng = Rng::new(500 + k as u64);
        let mut batch = Batch::new(format!("casts from {from}"));
        let ordinary = if from == Bool {
            (0..N).map(|_| V::I(rng.int(0, 1))).collect()
        } else if from.is_float() {
            // Fractions of both signs, some with magnitudes that overflow small ints.
            let mut v = rng.values(from, N / 2, -4.0, 4.0);
            v.extend(rng.values(from, N / 2, -400.0, 400.0));
            v
        } else {
            let mut v = rng.values(from, N / 2, 0.0, 0.0);
            v.extend((0..N / 2).map(|_| V::I(wrap(from, rng.int(-300, 300)))));
            v
        };
        let variants = [("values", ordinary), ("edges", edges(from))];
        for (variant, inputs) in variants {
            let n = inputs.len();
            let width = n.next_power_of_two();
            let p = batch.input(from, &inputs);
            for to in ScalarType::ALL {
                let (out, slot) = batch.output(to, n);
                let expected = inputs.iter().map(|&v| cast(from, to, v)).collect();
                let tol = if to.is_float() {
                    Tol::DeviceUlps(1)
                } else {
                    Tol::Exact
                };
                batch.case(
                    "casts",
                    format!("cast/{from}->{to}/{variant}"),
                    format!(
                        "let i = arange(0, {width}); let m = i < {n};\n\
                         store({out} + i, load({p} + i, mask: m) as {to}, mask: m);"
                    ),
                    vec![Check {
                        slot,
                        expected,
                        tol,
                        tols: None,
                    }],
                );
            }
        }
        batches.push(batch);
    }
    batches
}
