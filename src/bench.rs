//! `tkc bench`'s measurement, shared by the CLI, the Rust API (`Launch::measure`) and the Python
//! bindings (`Kernel.bench`): the kernel timed with device timestamps beside the device's own
//! copy bandwidth measured the same way (the faster of `vkCmdCopyBuffer` and the copy shader,
//! device-local, same warm-up and repetitions), with the bytes and `dot` flops of a launch
//! counted by the interpreter on a sample of its programs unless given. One JSON rendering
//! (`Measurement::json`) is `tkc bench --json` and the Python dict alike. Never prints: a
//! kernel that outruns its copy reference is reported by `copy_warning` for the edge to show.
use crate::base::KernelArg;
use crate::ir;
use crate::runtime::{self, Device, RuntimeError};

/// Untimed launches before the timed ones, for the kernel and its copy reference alike.
pub const WARMUP: u32 = 3;

/// How far a kernel may outrun its copy reference before the measurement calls the reference into
/// question: timing noise stays well under it.
pub const COPY_SLACK: f64 = 1.10;

/// What a measurement is asked for beyond the launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchOptions {
    /// Timed launches (after `WARMUP` untimed ones), for the kernel and each copy alike.
    pub iterations: u32,
    /// Bytes one launch moves; default: counted by the interpreter, else every buffer once.
    pub bytes: Option<u64>,
    /// Floating-point operations one launch does (for GFLOP/s); default: the `dot` flops the
    /// interpreter counts.
    pub flops: Option<u64>,
}

impl Default for BenchOptions {
    fn default() -> BenchOptions {
        BenchOptions {
            iterations: 20,
            bytes: None,
            flops: None,
        }
    }
}

/// What the interpreter counted on a sample of programs, scaled to the whole grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampledTraffic {
    pub bytes: u64,
    pub flops: u64,
    pub sampled: u64,
    pub programs: u64,
}

/// Counts the bytes and dot flops of a launch by running up to three of its programs on the
/// interpreter, on a copy of the arguments: the last program (often a partial tail) counts once,
/// the first and the middle one stand for all the others. `None` when the interpreter cannot
/// run them (the launch itself then reports why) or the grid is empty.
pub fn sample_traffic(
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
        counts.push(crate::interp::measure_traffic(module, args, grid, &[at(p)]).ok()?);
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

/// One timed launch and the copy it is measured against.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub kernel: String,
    pub device: String,
    pub unchecked: bool,
    pub grid: [u32; 3],
    pub iterations: u32,
    pub median_us: f64,
    pub p20_us: f64,
    pub p80_us: f64,
    pub bytes: u64,
    /// Where `bytes` comes from, for the report.
    pub bytes_source: String,
    pub gbps: f64,
    pub gflops: Option<f64>,
    /// The copy reference: the faster of the two copies below.
    pub copy_gbps: f64,
    pub copy_method: runtime::CopyMethod,
    /// `vkCmdCopyBuffer` and the runtime's copy shader, on the same buffers.
    pub copy_buffer_gbps: f64,
    pub copy_shader_gbps: f64,
}

/// Times `pipeline` (compiled from `module`) on `device` with `args` over `grid`, then the copy
/// reference over the same bytes. `unchecked` records how the kernel was compiled.
pub fn measure(
    device: &Device,
    pipeline: &runtime::Pipeline,
    module: &ir::Module,
    args: &mut [KernelArg],
    grid: [u32; 3],
    options: &BenchOptions,
    unchecked: bool,
) -> Result<Measurement, RuntimeError> {
    let traffic = if options.bytes.is_none() || options.flops.is_none() {
        sample_traffic(module, args, grid)
    } else {
        None
    };
    measure_with(device, pipeline, args, grid, options, traffic, unchecked)
}

/// `measure` with the interpreter's count already taken (or not wanted).
pub fn measure_with(
    device: &Device,
    pipeline: &runtime::Pipeline,
    args: &mut [KernelArg],
    grid: [u32; 3],
    options: &BenchOptions,
    traffic: Option<SampledTraffic>,
    unchecked: bool,
) -> Result<Measurement, RuntimeError> {
    let iterations = options.iterations.max(1);
    // The buffers as the device holds them (a bool takes 4 bytes there, 1 on the host).
    let buffer_bytes: u64 = args
        .iter()
        .map(|a| match a {
            KernelArg::Buffer(b) => b.len() as u64 * crate::abi::device_elem_bytes(b.elem) as u64,
            KernelArg::Scalar(_) => 0,
        })
        .sum();
    let bytes = options
        .bytes
        .or(traffic.map(|t| t.bytes).filter(|&b| b > 0))
        .unwrap_or(buffer_bytes);
    let flops = options
        .flops
        .or(traffic.map(|t| t.flops).filter(|&f| f > 0));
    let timing = device.bench(pipeline, args, grid, WARMUP, iterations)?;
    // At least `bytes` read and written in all, counted like the kernel's, device-local, warmed
    // up and timed like the kernel.
    let copy = device.copy_bandwidth(bytes, WARMUP, iterations)?;
    let (copy_method, reference) = copy.best();
    let gbps = |timing: runtime::Timing| timing.gb_per_s().unwrap_or(0.0);
    let bytes_source = match (options.bytes, traffic) {
        (Some(_), _) => "given with --bytes".to_string(),
        (None, Some(t)) if t.bytes > 0 => format!(
            "the unmasked accesses of {} of {} programs, counted by the interpreter and scaled",
            t.sampled, t.programs
        ),
        _ => "every buffer once".to_string(),
    };
    Ok(Measurement {
        kernel: pipeline.abi().kernel.clone(),
        device: device.info().name.clone(),
        unchecked,
        grid,
        iterations,
        median_us: timing.median_ns / 1e3,
        p20_us: timing.p20_ns / 1e3,
        p80_us: timing.p80_ns / 1e3,
        bytes,
        bytes_source,
        gbps: bytes as f64 / timing.median_ns,
        gflops: flops.map(|f| f as f64 / timing.median_ns),
        copy_gbps: gbps(reference),
        copy_method,
        copy_buffer_gbps: gbps(copy.copy_buffer),
        copy_shader_gbps: gbps(copy.shader),
    })
}

impl Measurement {
    /// The kernel's GB/s as a fraction of the copy reference's.
    pub fn ratio(&self) -> f64 {
        self.gbps / self.copy_gbps
    }

    /// A warning when the kernel outran its copy reference by more than noise: no kernel moves
    /// bytes faster than the device copies them, so either the reference is wrong on this device
    /// or the kernel's byte count is too high (re-reads its caches served, or `--bytes`), and
    /// the ratio means nothing.
    pub fn copy_warning(&self) -> Option<String> {
        (self.ratio() > COPY_SLACK).then(|| {
            format!(
                "kernel `{}` ran at {:.2} GB/s, {:.2}x its copy reference on `{}` \
                 (vkCmdCopyBuffer {:.2} GB/s, copy shader {:.2} GB/s): no kernel moves bytes \
                 faster than the device copies them, so the reference is wrong on this device or \
                 the byte count is too high (re-reads the caches served, or --bytes); the ratio \
                 to copy means nothing here",
                self.kernel,
                self.gbps,
                self.ratio(),
                self.device,
                self.copy_buffer_gbps,
                self.copy_shader_gbps,
            )
        })
    }

    /// "safe" or "unchecked".
    pub fn mode(&self) -> &'static str {
        if self.unchecked {
            "unchecked"
        } else {
            "safe"
        }
    }

    /// One JSON object (`tkc bench --json`); `sweep` adds the swept name and value first.
    pub fn json(&self, sweep: Option<(&str, u64)>) -> String {
        let sweep = sweep.map_or(String::new(), |(name, value)| {
            format!("\"sweep\": {}, \"value\": {value}, ", json_string(name))
        });
        format!(
            "{{{sweep}\"kernel\": {}, \"device\": {}, \"mode\": \"{}\", \"grid\": [{}, {}, {}], \
             \"iterations\": {}, \"median_us\": {:.3}, \"p20_us\": {:.3}, \
             \"p80_us\": {:.3}, \"bytes\": {}, \"gbps\": {:.4}, \"gflops\": {}, \
             \"copy_gbps\": {:.4}, \"copy_method\": {}, \"copy_buffer_gbps\": {:.4}, \
             \"copy_shader_gbps\": {:.4}, \"ratio_to_copy\": {:.4}}}",
            json_string(&self.kernel),
            json_string(&self.device),
            self.mode(),
            self.grid[0],
            self.grid[1],
            self.grid[2],
            self.iterations,
            self.median_us,
            self.p20_us,
            self.p80_us,
            self.bytes,
            self.gbps,
            self.gflops
                .map_or("null".to_string(), |g| format!("{g:.4}")),
            self.copy_gbps,
            json_string(&self.copy_method.to_string()),
            self.copy_buffer_gbps,
            self.copy_shader_gbps,
            self.ratio(),
        )
    }
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_and_controls() {
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
