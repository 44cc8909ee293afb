//! Shape operations × dtypes: `reshape trans permute join ravel expand_dims broadcast_to` and
//! `x[:, None]` indexing, each checked by storing the result through row-major offsets of its
//! shape and comparing with the index mapping computed on the host. Every result is exact.
use super::harness::*;

/// Row-major offsets of a tile of `shape`, as a tk expression of that shape.
fn offsets(shape: &[usize]) -> String {
    let rank = shape.len();
    let mut terms = Vec::new();
    for (d, &n) in shape.iter().enumerate() {
        let stride: usize = shape[d + 1..].iter().product();
        let index: Vec<&str> = (0..rank)
            .map(|e| if e == d { ":" } else { "None" })
            .collect();
        let range = if rank == 1 {
            format!("arange(0, {n})")
        } else {
            format!("arange(0, {n})[{}]", index.join(", "))
        };
        terms.push(format!("{range} * {stride}"));
    }
    terms.join(" + ")
}

/// A shape operation: the input shape, the expression over `x` (and `y` for join), the result
/// shape, and where each result element comes from (a flat input index; `n + i` means `y[i]`).
struct ShapeOp {
    name: &'static str,
    input: Vec<usize>,
    expr: &'static str,
    output: Vec<usize>,
    source: fn(usize) -> usize,
}

fn ops() -> Vec<ShapeOp> {
    let op = |name, input: &[usize], expr, output: &[usize], source| ShapeOp {
        name,
        input: input.to_vec(),
        expr,
        output: output.to_vec(),
        source,
    };
    vec![
        op(
            "reshape 1d->2d",
            &[64],
            "reshape(x, [8, 8])",
            &[8, 8],
            |i| i,
        ),
        op(
            "reshape 2d->2d",
            &[8, 8],
            "reshape(x, [4, 16])",
            &[4, 16],
            |i| i,
        ),
        op(
            "reshape 2d->3d",
            &[4, 16],
            "reshape(x, [2, 4, 8])",
            &[2, 4, 8],
            |i| i,
        ),
        op("ravel", &[4, 16], "ravel(x)", &[64], |i| i),
        // out[i, j] = x[j, i] for x: [16, 8].
        op("trans", &[16, 8], "trans(x)", &[8, 16], |i| {
            (i % 16) * 8 + i / 16
        }),
        // out[a, b, c] = x[b, c, a] for x: [2, 4, 8] (permute [2, 0, 1]).
        op(
            "permute",
            &[2, 4, 8],
            "permute(x, [2, 0, 1])",
            &[8, 2, 4],
            |i| {
                let (a, b, c) = (i / 8, i / 4 % 2, i % 4);
                b * 32 + c * 8 + a
            },
        ),
        op("expand_dims 0", &[16], "expand_dims(x, 0)", &[1, 16], |i| i),
        op("expand_dims 1", &[16], "expand_dims(x, 1)", &[16, 1], |i| i),
        op("index [:, None]", &[16], "x[:, None]", &[16, 1], |i| i),
        op(
            "broadcast_to rows",
            &[16],
            "broadcast_to(x[None, :], [8, 16])",
            &[8, 16],
            |i| i % 16,
        ),
        op(
            "broadcast_to cols",
            &[8],
            "broadcast_to(x[:, None], [8, 16])",
            &[8, 16],
            |i| i / 16,
        ),
        // out[i, 0] = x[i], out[i, 1] = y[i].
        op("join", &[16], "join(x, y)", &[16, 2], |i| {
            if i % 2 == 0 {
                i / 2
            } else {
                16 + i / 2
            }
        }),
        op("join 2d", &[4, 8], "join(x, y)", &[4, 8, 2], |i| {
            if i % 2 == 0 {
                i / 2
            } else {
                32 + i / 2
            }
        }),
        op(
            "trans of reshape",
            &[32],
            "trans(reshape(x, [4, 8]))",
            &[8, 4],
            |i| (i % 4) * 8 + i / 4,
        ),
    ]
}

pub fn batches() -> Vec<Batch> {
    let mut batches = Vec::new();
    for (k, &t) in [Bool, I8, I16, I32, I64, F16, BF16, F32, F64]
        .iter()
        .enumerate()
    {
        let mut rng = Rng::new(1500 + k as u64);
        let mut batch = Batch::new(format!("shapes {t}"));
        for op in ops() {
            let n: usize = op.input.iter().product();
            let gen = |rng: &mut Rng| -> Vec<V> {
                if t == Bool {
                    (0..n).map(|_| V::I(rng.int(0, 1))).collect()
                } else {
                    rng.values(t, n, -100.0, 100.0)
                }
            };
            let x = gen(&mut rng);
            let y = gen(&mut rng);
            let both: Vec<V> = x.iter().chain(&y).copied().collect();
            let px = batch.input(t, &x);
            let py = batch.input(t, &y);
            let out_n: usize = op.output.iter().product();
            let (out, slot) = batch.output(t, out_n);
            let expected = (0..out_n).map(|i| both[(op.source)(i)]).collect();
            let in_offs = offsets(&op.input);
            batch.case(
                "shapes",
                format!("{}/{t}", op.name),
                format!(
                    "let x = load({px} + {in_offs}); let y = load({py} + {in_offs});\n\
                     store({out} + {}, {});",
                    offsets(&op.output),
                    op.expr
                ),
                vec![Check {
                    slot,
                    expected,
                    tol: Tol::Exact,
                    tols: None,
                }],
            );
        }
        batches.push(batch);
    }
    batches
}
