//! Result checks of the schedule search: a candidate must compute what the kernel computes at its
//! defaults. Tile sizes can change meaning (a softmax whose `BLOCK` is shorter than its rows
//! normalises half a row), so every candidate the search is about to time runs first on the
//! reference interpreter, then once on the device, on the same inputs, and both results are
//! compared with the interpreter's result of the defaults.
//!
//! The inputs are the launch's arguments with every float buffer filled with pseudo-random
//! values in [-1, 1) (zeros, the usual benchmark input, would hide most differences); integer
//! buffers keep their values (they may hold indices). Every buffer the kernel may write is
//! compared: integers exactly, floats within a tolerance that allows another order of summation
//! (`|a - b| <= tol * (1 + |b|)`, `tol` 1e-3 for f32 and f64, 2e-2 for f16 and bf16); NaN
//! matches NaN.
use crate::base::{HostBuffer, KernelArg, ScalarType};
use crate::ir;

/// The launch's arguments with float buffers filled with pseudo-random values.
pub fn inputs(args: &[KernelArg]) -> Vec<KernelArg> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*: plenty for test data, and the same on every run.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f64 / (1u64 << 24) as f64 * 2.0 - 1.0
    };
    args.iter()
        .map(|arg| match arg {
            KernelArg::Buffer(buffer) if buffer.elem.is_float() => {
                let mut data = Vec::with_capacity(buffer.data.len());
                for _ in 0..buffer.len() {
                    let x = next();
                    match buffer.elem {
                        ScalarType::F16 => {
                            data.extend_from_slice(&half::f16::from_f64(x).to_le_bytes())
                        }
                        ScalarType::BF16 => {
                            data.extend_from_slice(&half::bf16::from_f64(x).to_le_bytes())
                        }
                        ScalarType::F64 => data.extend_from_slice(&x.to_le_bytes()),
                        _ => data.extend_from_slice(&(x as f32).to_le_bytes()),
                    }
                }
                KernelArg::Buffer(HostBuffer {
                    elem: buffer.elem,
                    shape: buffer.shape.clone(),
                    data,
                })
            }
            other => other.clone(),
        })
        .collect()
}

/// The interpreter's result of `module` on `inputs`: the buffers after the run, within a budget
/// of work (`interp::run_with_budget`). An error is a sentence.
pub fn interpret(
    module: &ir::Module,
    inputs: &[KernelArg],
    grid: [u32; 3],
    budget: u64,
) -> Result<Vec<KernelArg>, String> {
    let mut args = inputs.to_vec();
    crate::interp::run_with_budget(module, &mut args, grid, budget).map_err(|e| e.to_string())?;
    Ok(args)
}

/// Compares the buffers of parameters the kernel may write; the first difference as a sentence.
pub fn compare(
    kernel: &ir::Kernel,
    result: &[KernelArg],
    reference: &[KernelArg],
) -> Result<(), String> {
    for ((param, got), want) in kernel.params.iter().zip(result).zip(reference) {
        let ir::ParamKind::Pointer { mutable: true, .. } = param.kind else {
            continue;
        };
        let (KernelArg::Buffer(got), KernelArg::Buffer(want)) = (got, want) else {
            continue;
        };
        if got.elem != want.elem || got.data.len() != want.data.len() {
            return Err(format!("`{}` changed its type or size", param.name));
        }
        let tolerance = match got.elem {
            ScalarType::F16 | ScalarType::BF16 => 2e-2,
            _ => 1e-3,
        };
        let size = got.elem.bytes() as usize;
        for (index, (a, b)) in got
            .data
            .chunks_exact(size)
            .zip(want.data.chunks_exact(size))
            .enumerate()
        {
            if a == b {
                continue;
            }
            let (x, y) = (float_value(got.elem, a), float_value(got.elem, b));
            let same = match (x, y) {
                (Some(x), Some(y)) => {
                    (x.is_nan() && y.is_nan()) || (x - y).abs() <= tolerance * (1.0 + y.abs())
                }
                _ => false,
            };
            if !same {
                let show = |v: Option<f64>, bytes: &[u8]| match v {
                    Some(v) => format!("{v}"),
                    None => format!("{bytes:?}"),
                };
                return Err(format!(
                    "`{}[{index}]` is {} where the defaults give {}",
                    param.name,
                    show(x, a),
                    show(y, b)
                ));
            }
        }
    }
    Ok(())
}

/// The value of one float element from its little-endian bytes; `None` for other types.
fn float_value(elem: ScalarType, bytes: &[u8]) -> Option<f64> {
    Some(match elem {
        ScalarType::F16 => half::f16::from_le_bytes(bytes.try_into().ok()?).to_f64(),
        ScalarType::BF16 => half::bf16::from_le_bytes(bytes.try_into().ok()?).to_f64(),
        ScalarType::F32 => f32::from_le_bytes(bytes.try_into().ok()?) as f64,
        ScalarType::F64 => f64::from_le_bytes(bytes.try_into().ok()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::{Literal, Param, ParamKind};

    fn floats(values: &[f32]) -> KernelArg {
        KernelArg::Buffer(HostBuffer {
            elem: ScalarType::F32,
            shape: vec![values.len()],
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        })
    }

    #[test]
    fn inputs_randomise_floats_only_and_compare_tolerates_rounding() {
        let args = vec![
            floats(&[0.0; 64]),
            KernelArg::Buffer(HostBuffer::zeros(ScalarType::I32, vec![4])),
            KernelArg::Scalar(Literal::Int(64)),
        ];
        let inputs = inputs(&args);
        let KernelArg::Buffer(x) = &inputs[0] else {
            panic!("a buffer stays a buffer")
        };
        let values: Vec<f32> = x
            .data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert!(values.iter().all(|v| (-1.0..1.0).contains(v)));
        assert!(values.windows(2).any(|w| w[0] != w[1]), "{values:?}");
        assert_eq!(inputs[1], args[1]);
        assert_eq!(inputs[2], args[2]);

        let mut kernel = ir::Kernel::new("k");
        kernel.params = vec![Param {
            name: "out".into(),
            kind: ParamKind::Pointer {
                pointee: ScalarType::F32,
                mutable: true,
            },
        }];
        let reference = [floats(&[1.0, 2.0, f32::NAN])];
        assert_eq!(
            compare(&kernel, &[floats(&[1.0, 2.0005, f32::NAN])], &reference),
            Ok(())
        );
        let wrong = compare(&kernel, &[floats(&[1.0, 2.5, f32::NAN])], &reference);
        assert_eq!(
            wrong,
            Err("`out[1]` is 2.5 where the defaults give 2".to_string())
        );
    }
}
