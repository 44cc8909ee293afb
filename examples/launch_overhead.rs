//! Launch overhead from Rust: a 4-element kernel launched 1,000 times through `tk::api` on the
//! default device, the figure `examples/python/launch_overhead.py` is compared with (BENCHMARKS.md).
//! `cargo run --release --example launch_overhead`.
use std::time::Instant;
use tk::api::{Buffer, Context, Error, Kernel};

pub const SOURCE: &str = "
kernel add4(x: *f32, y: *f32, out: *mut f32) {
    let offs = arange(0, 4);
    store(out + offs, load(x + offs) + load(y + offs));
}";

fn main() -> Result<(), Error> {
    let ctx = Context::new()?;
    let kernel = Kernel::from_source(&ctx, "add4.tk", SOURCE, "add4", &[])?;
    let x = Buffer::from_slice(&[1.0f32, 2.0, 3.0, 4.0]);
    let y = Buffer::from_slice(&[10.0f32, 20.0, 30.0, 40.0]);
    let mut out = Buffer::<f32>::zeros(4);
    let launches = 1000;
    let launch = |out: &mut Buffer<f32>| {
        kernel
            .launch(&ctx)
            .arg("x", &x)
            .arg("y", &y)
            .arg("out", out)
            .grid([1, 1, 1])
            .run()
    };
    for _ in 0..50 {
        launch(&mut out)?;
    }
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..launches {
            launch(&mut out)?;
        }
        rounds.push(start.elapsed().as_secs_f64() * 1e6 / launches as f64);
    }
    assert_eq!(out.to_vec(), [11.0, 22.0, 33.0, 44.0]);
    rounds.sort_by(f64::total_cmp);
    println!("device: {}", ctx.device_name());
    println!(
        "rust: {launches} launches of a 4-element kernel: median of 5 rounds {:.1} us per launch \
         (min {:.1}, max {:.1})",
        rounds[2], rounds[0], rounds[4]
    );
    Ok(())
}
