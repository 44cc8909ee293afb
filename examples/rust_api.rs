//! Runs `examples/softmax.tk` from Rust through the library API (`tk::api`): opens a context,
//! compiles the kernel, launches it with arguments by name, reads the result back and times it.
//! `cargo run --example rust_api`; `tests/api.rs` runs `softmax_rows` in CI.
use tk::api::{Buffer, Context, Error, Kernel};

/// Softmax of each row of a `rows × cols` matrix, on `ctx`.
pub fn softmax_rows(ctx: &Context, x: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>, Error> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/softmax.tk");
    let block = (cols.next_power_of_two() as i32).max(1);
    let kernel = Kernel::from_file(ctx, path, "softmax", &[("BLOCK", block.into())])?;
    let input = Buffer::from_slice(x);
    let mut out = Buffer::<f32>::zeros(rows * cols);
    kernel
        .launch(ctx)
        .arg("x", &input)
        .arg("out", &mut out)
        .arg("n_rows", rows as i32)
        .arg("n_cols", cols as i32)
        .run()?;
    Ok(out.to_vec())
}

#[allow(dead_code)]
fn main() -> Result<(), Error> {
    let ctx = Context::new()?;
    let (rows, cols) = (64, 1000);
    let x: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 37 % 101) as f32) / 25.0)
        .collect();
    let out = softmax_rows(&ctx, &x, rows, cols)?;
    let row_sum: f32 = out[..cols].iter().sum();
    println!("device: {}", ctx.device_name());
    println!("row 0 sums to {row_sum:.6}; out[0..4] = {:?}", &out[..4]);
    if !ctx.is_interpreter() {
        let kernel = Kernel::from_file(
            &ctx,
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/softmax.tk"),
            "softmax",
            &[],
        )?;
        let input = Buffer::from_slice(&x);
        let mut scratch = Buffer::<f32>::zeros(rows * cols);
        let timing = kernel
            .launch(&ctx)
            .arg("x", &input)
            .arg("out", &mut scratch)
            .arg("n_rows", rows as i32)
            .arg("n_cols", cols as i32)
            .bench(3, 20)?;
        println!(
            "softmax {rows}x{cols}: {:.3} ms (median of 20)",
            timing.median_ns / 1e6
        );
    }
    Ok(())
}
