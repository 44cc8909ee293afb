//! `tkc bench`: device timing against the copy bandwidth measured in the same process.
#![allow(unused_imports)]
use super::*;

/// What `tkc bench` was asked for beyond the launch.
pub(crate) struct BenchOptions {
    pub(crate) iterations: u32,
    pub(crate) json: bool,
    /// Bytes one launch moves; default every buffer once.
    pub(crate) bytes: Option<u64>,
    pub(crate) flops: Option<u64>,
}

pub(crate) fn bench(
    device: &Device,
    pipeline: &runtime::Pipeline,
    args: &mut [KernelArg],
    grid: [u32; 3],
    options: &BenchOptions,
    kernel: &str,
    unchecked: bool,
) -> Result<()> {
    let iterations = options.iterations.max(1);
    let buffer_bytes: u64 = args
        .iter()
        .map(|a| {
            if let KernelArg::Buffer(b) = a {
                b.data.len() as u64
            } else {
                0
            }
        })
        .sum();
    let bytes = options.bytes.unwrap_or(buffer_bytes);
    let timing = device
        .bench(pipeline, args, grid, 3, iterations)
        .map_err(runtime_failure)?;
    // The copy moves `bytes / 2` one way, so it reads and writes `bytes` in all, like the kernel.
    let copy = device
        .copy_bandwidth((bytes / 2).max(4), iterations)
        .map_err(runtime_failure)?;
    let kernel_gbps = bytes as f64 / timing.median_ns;
    let copy_gbps = bytes as f64 / copy.median_ns;
    let gflops = options.flops.map(|f| f as f64 / timing.median_ns);
    if options.json {
        println!(
            "{{\"kernel\": {}, \"device\": {}, \"mode\": \"{}\", \"grid\": [{}, {}, {}], \
             \"iterations\": {iterations}, \"median_us\": {:.3}, \"p20_us\": {:.3}, \
             \"p80_us\": {:.3}, \"bytes\": {bytes}, \"gbps\": {:.4}, \"gflops\": {}, \
             \"copy_gbps\": {:.4}, \"ratio_to_copy\": {:.4}}}",
            json_string(kernel),
            json_string(&device.info().name),
            if unchecked { "unchecked" } else { "safe" },
            grid[0],
            grid[1],
            grid[2],
            timing.median_ns / 1e3,
            timing.p20_ns / 1e3,
            timing.p80_ns / 1e3,
            kernel_gbps,
            gflops.map_or("null".to_string(), |g| format!("{g:.4}")),
            copy_gbps,
            kernel_gbps / copy_gbps,
        );
        return Ok(());
    }
    println!("device:          {}", device.info().name);
    println!(
        "kernel:          {kernel} ({}, grid {:?})",
        if unchecked { "unchecked" } else { "safe mode" },
        grid
    );
    println!(
        "kernel time:     {:.3} ms (median of {iterations}; p20 {:.3}, p80 {:.3})",
        timing.median_ns / 1e6,
        timing.p20_ns / 1e6,
        timing.p80_ns / 1e6
    );
    let source = if options.bytes.is_some() {
        "given with --bytes"
    } else {
        "every buffer once"
    };
    println!("bytes moved:     {bytes} ({source})");
    println!("kernel:          {kernel_gbps:.2} GB/s");
    if let Some(g) = gflops {
        println!("compute:         {g:.2} GFLOP/s");
    }
    println!("copy (same run): {copy_gbps:.2} GB/s (vkCmdCopyBuffer, read + write)");
    println!(
        "ratio:           {:.2} of copy bandwidth",
        kernel_gbps / copy_gbps
    );
    Ok(())
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
