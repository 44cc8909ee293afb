//! Every example in `examples/` runs on the interpreter and on the Vulkan device and matches a
//! plain Rust reference, so the examples never rot.
mod common;

use common::*;
use tk::base::{Literal, ScalarType};

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn check_both(name: &str, run: impl Fn(&Backend) -> Result<(), String>) {
    let device = device();
    let mut failures = Vec::new();
    for (label, backend) in [
        ("interp", Backend::Interp),
        ("vulkan", Backend::Vulkan(&device)),
    ] {
        if let Err(e) = run(&backend) {
            failures.push(format!("{name} on {label}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn vector_add() {
    let source = example("vector_add.tk");
    // Sizes that are not multiples of BLOCK exercise the mask; 70000 > 65535 programs would need
    // BLOCK=1; keep the grid moderate here and test large grids separately.
    for (n, block) in [(1, 1024), (1000, 256), (5000, 1024), (65536, 1024)] {
        let x = random_f32(n, 1);
        let y = random_f32(n, 2);
        let expected: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a + b).collect();
        let grid = [n.div_ceil(block) as u32, 1, 1];
        check_both(&format!("vector_add n={n} BLOCK={block}"), |backend| {
            let args = [
                f32_buffer(&x),
                f32_buffer(&y),
                zeros(ScalarType::F32, n),
                int(n as i64),
            ];
            let out = run_source(
                &source,
                "vector_add",
                &[("BLOCK", Literal::Int(block as i128))],
                &args,
                grid,
                backend,
            )?;
            assert_close(&buffer(&out, 2).to_f32(), &expected, 0.0)
        });
    }
}

#[test]
fn cumsum() {
    let source = example("cumsum.tk");
    for (rows, cols, block) in [(1, 1, 16), (5, 100, 128), (3, 1000, 1024)] {
        let x = random_f32(rows * cols, 9);
        // f64 prefixes; the device may add in another order (tolerance as in the conformance
        // suite: (ceil(log2 n) + 2) · 2^-24 · Σ|x| over the prefix, here bounded by the row).
        let mut expected = vec![0.0; rows * cols];
        for r in 0..rows {
            let mut acc = 0.0f64;
            for c in 0..cols {
                acc += x[r * cols + c] as f64;
                expected[r * cols + c] = acc as f32;
            }
        }
        let tol = (f64::from(block as u32).log2() + 2.0) * 2f64.powi(-24) * cols as f64;
        check_both(&format!("cumsum {rows}x{cols} BLOCK={block}"), |backend| {
            let args = [
                f32_buffer(&x),
                zeros(ScalarType::F32, rows * cols),
                int(rows as i64),
                int(cols as i64),
            ];
            let out = run_source(
                &source,
                "cumsum_rows",
                &[("BLOCK", Literal::Int(block as i128))],
                &args,
                [rows as u32, 1, 1],
                backend,
            )?;
            let got = buffer(&out, 1).to_f32();
            for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
                if (*g as f64 - *e as f64).abs() > tol {
                    return Err(format!(
                        "element {i}: got {g}, expected {e} (tolerance {tol})"
                    ));
                }
            }
            Ok(())
        });
    }
}

fn softmax_reference(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
        for c in 0..cols {
            out[r * cols + c] = (row[c] - max).exp() / sum;
        }
    }
    out
}

#[test]
fn softmax() {
    let source = example("softmax.tk");
    for (rows, cols, block) in [(1, 1, 16), (7, 100, 128), (33, 1000, 1024), (4, 1024, 1024)] {
        let x: Vec<f32> = random_f32(rows * cols, 3)
            .iter()
            .map(|v| v * 10.0)
            .collect();
        let expected = softmax_reference(&x, rows, cols);
        check_both(&format!("softmax {rows}x{cols} BLOCK={block}"), |backend| {
            let args = [
                f32_buffer(&x),
                zeros(ScalarType::F32, rows * cols),
                int(rows as i64),
                int(cols as i64),
            ];
            let out = run_source(
                &source,
                "softmax",
                &[("BLOCK", Literal::Int(block as i128))],
                &args,
                [rows as u32, 1, 1],
                backend,
            )?;
            assert_close(&buffer(&out, 1).to_f32(), &expected, 1e-5)
        });
    }
}

#[test]
fn col_sum() {
    let source = example("col_sum.tk");
    for (rows, cols) in [(1, 1), (5, 70), (100, 130), (256, 64)] {
        let x = random_f32(rows * cols, 4);
        let expected: Vec<f32> = (0..cols)
            .map(|c| (0..rows).map(|r| x[r * cols + c]).sum())
            .collect();
        check_both(&format!("col_sum {rows}x{cols}"), |backend| {
            let args = [
                f32_buffer(&x),
                zeros(ScalarType::F32, cols),
                int(rows as i64),
                int(cols as i64),
            ];
            let grid = [cols.div_ceil(64) as u32, 1, 1];
            let out = run_source(&source, "col_sum", &[], &args, grid, backend)?;
            assert_close(&buffer(&out, 1).to_f32(), &expected, 1e-5)
        });
    }
}
