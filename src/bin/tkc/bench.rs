//! `tkc bench`: device timing against the copy bandwidth measured in the same process.
#![allow(unused_imports)]
use super::*;

pub(crate) fn bench(
    device: &Device,
    pipeline: &runtime::Pipeline,
    args: &mut [KernelArg],
    grid: [u32; 3],
    iterations: u32,
    kernel: &str,
    unchecked: bool,
) -> Result<()> {
    let bytes: u64 = args
        .iter()
        .map(|a| {
            if let KernelArg::Buffer(b) = a {
                b.data.len() as u64
            } else {
                0
            }
        })
        .sum();
    let timing = device
        .bench(pipeline, args, grid, 3, iterations.max(1))
        .map_err(runtime_failure)?;
    // The copy moves `bytes / 2` one way, so it reads and writes `bytes` in all, like the kernel.
    let copy = device
        .copy_bandwidth((bytes / 2).max(4), iterations.max(1))
        .map_err(runtime_failure)?;
    let kernel_gbps = bytes as f64 / timing.median_ns;
    let copy_gbps = bytes as f64 / copy.median_ns;
    println!("device:          {}", device.info().name);
    println!(
        "kernel:          {kernel} ({}, grid {:?})",
        if unchecked { "unchecked" } else { "safe mode" },
        grid
    );
    println!(
        "kernel time:     {:.3} ms (median of {iterations})",
        timing.median_ns / 1e6
    );
    println!("bytes moved:     {bytes} (every buffer once)");
    println!("kernel:          {kernel_gbps:.2} GB/s");
    println!("copy (same run): {copy_gbps:.2} GB/s (vkCmdCopyBuffer, read + write)");
    println!(
        "ratio:           {:.2} of copy bandwidth",
        kernel_gbps / copy_gbps
    );
    Ok(())
}
