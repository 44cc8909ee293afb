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

/// What the interpreter counted on a sample of programs, scaled to the whole grid.
#[derive(Clone, Copy)]
pub(crate) struct SampledTraffic {
    pub(crate) bytes: u64,
    pub(crate) flops: u64,
    pub(crate) sampled: u64,
    pub(crate) programs: u64,
}

/// Counts the bytes and dot flops of a launch by running up to three of its programs on the
/// interpreter, on a copy of the arguments: the last program (often a partial tail) counts once,
/// the first and the middle one stand for all the others. `None` when the interpreter cannot
/// run them (the launch itself then reports why) or the grid is empty.
pub(crate) fn sample_traffic(
    module: &ir::Module,
    args: &[KernelArg],
    grid: [u32; 3],
) -> Option<SampledTraffic> {
    let programs = grid.iter().map(|&g| g as u64).product::<u64>();
    if programs == 0 {
        return None;
    }
    let mut picks: Vec<u64> = vec![0, programs / 2, programs - 1];
    picks.dedup();
    let at = |p: u64| {
        let (gx, gy) = (grid[0] as u64, grid[1] as u64);
        [
            (p % gx) as u32,
            ((p / gx) % gy) as u32,
            (p / (gx * gy)) as u32,
        ]
    };
    let mut counts = Vec::new();
    for &p in &picks {
        counts.push(tk::interp::measure_traffic(module, args, grid, &[at(p)]).ok()?);
    }
    let last = counts.pop().expect("at least one program");
    let (mut bytes, mut flops) = (last.bytes, last.flops);
    if !counts.is_empty() {
        let n = counts.len() as u64;
        let others = programs - 1;
        bytes += counts.iter().map(|t| t.bytes).sum::<u64>() * others / n;
        flops += counts.iter().map(|t| t.flops).sum::<u64>() * others / n;
    }
    Some(SampledTraffic {
        bytes,
        flops,
        sampled: picks.len() as u64,
        programs,
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn bench(
    device: &Device,
    pipeline: &runtime::Pipeline,
    args: &mut [KernelArg],
    grid: [u32; 3],
    options: &BenchOptions,
    traffic: Option<SampledTraffic>,
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
    let bytes = options
        .bytes
        .or(traffic.map(|t| t.bytes).filter(|&b| b > 0))
        .unwrap_or(buffer_bytes);
    let flops = options
        .flops
        .or(traffic.map(|t| t.flops).filter(|&f| f > 0));
    let timing = device
        .bench(pipeline, args, grid, 3, iterations)
        .map_err(runtime_failure)?;
    // The copy moves `bytes / 2` one way, so it reads and writes `bytes` in all, like the kernel.
    let copy = device
        .copy_bandwidth((bytes / 2).max(4), iterations)
        .map_err(runtime_failure)?;
    let kernel_gbps = bytes as f64 / timing.median_ns;
    let copy_gbps = bytes as f64 / copy.median_ns;
    let gflops = flops.map(|f| f as f64 / timing.median_ns);
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
    let source = match (options.bytes, traffic) {
        (Some(_), _) => "given with --bytes".to_string(),
        (None, Some(t)) if t.bytes > 0 => format!(
            "the unmasked accesses of {} of {} programs, counted by the interpreter and scaled",
            t.sampled, t.programs
        ),
        _ => "every buffer once".to_string(),
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
