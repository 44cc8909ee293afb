//! The interpreter's `dot`, `reshape` and `permute`: plain loops over row-major data, the
//! reference the device code is compared with.
use super::value::{Data, OpResult, Value};

/// `acc[m, n]` updated by `fma(a[m, k], b[k, n], ·)` for k = 0, 1, … in order, in f32.
pub fn dot(a: &Value, b: &Value, acc: &Value) -> OpResult<Value> {
    let (Data::F32(x), Data::F32(y), Data::F32(c)) = (&a.data, &b.data, &acc.data) else {
        return Err("dot of non-f32 values".into());
    };
    let (m, k, n) = (
        a.shape[0] as usize,
        a.shape[1] as usize,
        b.shape[1] as usize,
    );
    let mut out = c.clone();
    for i in 0..m {
        for j in 0..n {
            let mut s = out[i * n + j];
            for kk in 0..k {
                s = x[i * k + kk].mul_add(y[kk * n + j], s);
            }
            out[i * n + j] = s;
        }
    }
    Ok(Value {
        shape: acc.shape.clone(),
        data: Data::F32(out),
    })
}

/// Result dim `i` is operand dim `perm[i]`.
pub fn permute(x: &Value, perm: &[u32]) -> Value {
    let shape: Vec<u32> = perm.iter().map(|&p| x.shape[p as usize]).collect();
    let rank = shape.len();
    let strides: Vec<usize> = (0..x.shape.len())
        .map(|d| x.shape[d + 1..].iter().map(|&s| s as usize).product())
        .collect();
    let total: usize = shape.iter().map(|&s| s as usize).product();
    let mut indices = Vec::with_capacity(total);
    for flat in 0..total {
        let mut rest = flat;
        let mut src = 0;
        for i in (0..rank).rev() {
            let c = rest % shape[i] as usize;
            rest /= shape[i] as usize;
            src += c * strides[perm[i] as usize];
        }
        indices.push(src);
    }
    Value {
        data: x.data.gather(&indices),
        shape,
    }
}
