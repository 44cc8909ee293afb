//! `dot` × input dtypes (f16, bf16, f32) × shapes `[M, K] × [K, N]` including 1×N, M×1, K = 1,
//! with and without `acc:`. The result is f32; products of f16/bf16 inputs are exact in f32, so
//! every element may differ from the exact sum only by f32 rounding of some summation order:
//! `(ceil(log2(K + 1)) + 2) · 2^-24 · (Σ_k |a_ik b_kj| + |c_ij|)`.
use super::harness::*;

/// (M, K, N, with `acc:`). Small shapes: every `dot` is an LLVM compile in lavapipe.
const SHAPES: [(usize, usize, usize, bool); 6] = [
    (1, 16, 8, false),
    (8, 16, 1, true),
    (8, 1, 8, false),
    (1, 1, 1, true),
    (4, 8, 2, true),
    (2, 4, 16, false),
];

pub fn batches() -> Vec<Batch> {
    let mut batches = Vec::new();
    for (k, &t) in [F16, BF16, F32].iter().enumerate() {
        let mut rng = Rng::new(1100 + k as u64);
        let mut batch = Batch::new(format!("dot {t}"));
        batch.per_kernel = 4;
        for (m, kk, n, with_acc) in SHAPES {
            {
                let a = rng.values(t, m * kk, -1.0, 1.0);
                let b = rng.values(t, kk * n, -1.0, 1.0);
                let c = if with_acc {
                    rng.values(F32, m * n, -1.0, 1.0)
                } else {
                    vec![V::F(0.0); m * n]
                };
                let pa = batch.input(t, &a);
                let pb = batch.input(t, &b);
                let (out, slot) = batch.output(F32, m * n);
                let mut expected = Vec::new();
                let mut tols = Vec::new();
                for i in 0..m {
                    for j in 0..n {
                        let mut sum = c[i * n + j].f();
                        let mut abs = sum.abs();
                        for l in 0..kk {
                            let p = a[i * kk + l].f() * b[l * n + j].f();
                            sum += p;
                            abs += p.abs();
                        }
                        let steps = ((kk + 1) as f64).log2().ceil() + 2.0;
                        expected.push(V::F(round_to(F32, sum)));
                        tols.push(Tol::Abs(steps * 2f64.powi(-24) * abs));
                    }
                }
                let rm = format!("arange(0, {m})");
                let rk = format!("arange(0, {kk})");
                let rn = format!("arange(0, {n})");
                let mut body = format!(
                    "let a = load({pa} + {rm}[:, None] * {kk} + {rk}[None, :]);\n\
                     let b = load({pb} + {rk}[:, None] * {n} + {rn}[None, :]);\n"
                );
                let call = if with_acc {
                    let pc = batch.input(F32, &c);
                    body.push_str(&format!(
                        "let c = load({pc} + {rm}[:, None] * {n} + {rn}[None, :]);\n"
                    ));
                    "dot(a, b, acc: c)"
                } else {
                    "dot(a, b)"
                };
                body.push_str(&format!(
                    "store({out} + {rm}[:, None] * {n} + {rn}[None, :], {call});"
                ));
                let variant = if with_acc { "/acc" } else { "" };
                batch.case(
                    "dot",
                    format!("dot/{t}/[{m},{kk}]x[{kk},{n}]{variant}"),
                    body,
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
