//! `tkc bench`: device timing against the copy bandwidth measured in the same process, the
//! same way.
#![allow(unused_imports)]
use super::*;

/// Untimed launches before the timed ones, for the kernel and its copy reference alike.
const WARMUP: u32 = 3;

/// How far a kernel may outrun its copy reference before `tkc bench` calls the reference into
/// question: timing noise stays well under it.
const COPY_SLACK: f64 = 1.10;

/// What `tkc bench` was asked for beyond the launch.
#[derive(Clone)]
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

/// One timed launch and the copy it is measured against.
pub(crate) struct Measurement {
    pub(crate) kernel: String,
    pub(crate) device: String,
    pub(crate) unchecked: bool,
    pub(crate) grid: [u32; 3],
    pub(crate) iterations: u32,
    pub(crate) median_us: f64,
    pub(crate) p20_us: f64,
    pub(crate) p80_us: f64,
    pub(crate) bytes: u64,
    /// Where `bytes` comes from, for the report.
    pub(crate) bytes_source: String,
    pub(crate) gbps: f64,
    pub(crate) gflops: Option<f64>,
    /// The copy reference: the faster of the two copies below.
    pub(crate) copy_gbps: f64,
    pub(crate) copy_method: runtime::CopyMethod,
    /// `vkCmdCopyBuffer` and the runtime's copy shader, on the same buffers.
    pub(crate) copy_buffer_gbps: f64,
    pub(crate) copy_shader_gbps: f64,
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
) -> Result<Measurement> {
    let iterations = options.iterations.max(1);
    // The buffers as the device holds them (a bool takes 4 bytes there, 1 on the host).
    let buffer_bytes: u64 = args
        .iter()
        .map(|a| {
            if let KernelArg::Buffer(b) = a {
                b.len() as u64 * tk::abi::device_elem_bytes(b.elem) as u64
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
        .bench(pipeline, args, grid, WARMUP, iterations)
        .map_err(runtime_failure)?;
    // At least `bytes` read and written in all, counted like the kernel's, device-local, warmed
    // up and timed like the kernel.
    let copy = device
        .copy_bandwidth(bytes, WARMUP, iterations)
        .map_err(runtime_failure)?;
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
    let measurement = Measurement {
        kernel: kernel.to_string(),
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
    };
    measurement.warn_if_faster_than_copy();
    Ok(measurement)
}

impl Measurement {
    /// The kernel's GB/s as a fraction of the copy reference's.
    pub(crate) fn ratio(&self) -> f64 {
        self.gbps / self.copy_gbps
    }

    /// A warning when the kernel outran its copy reference by more than noise: no kernel moves
    /// bytes faster than the device copies them, so either the reference is wrong on this device
    /// or the kernel's byte count is too high (re-reads its caches served, or `--bytes`), and
    /// the ratio means nothing.
    pub(crate) fn warn_if_faster_than_copy(&self) {
        if self.ratio() > COPY_SLACK {
            eprintln!(
                "tkc: warning: kernel `{}` ran at {:.2} GB/s, {:.2}x its copy reference on `{}` \
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
            );
        }
    }

    fn mode(&self) -> &'static str {
        if self.unchecked {
            "unchecked"
        } else {
            "safe"
        }
    }

    /// One JSON object; `sweep` adds the swept name and value.
    pub(crate) fn json(&self, sweep: Option<(&str, u64)>) -> String {
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

    pub(crate) fn print(&self) {
        println!("device:          {}", self.device);
        println!(
            "kernel:          {} ({}, grid {:?})",
            self.kernel,
            if self.unchecked {
                "unchecked"
            } else {
                "safe mode"
            },
            self.grid
        );
        println!(
            "kernel time:     {:.3} ms (median of {}; p20 {:.3}, p80 {:.3})",
            self.median_us / 1e3,
            self.iterations,
            self.p20_us / 1e3,
            self.p80_us / 1e3
        );
        println!("bytes moved:     {} ({})", self.bytes, self.bytes_source);
        println!("kernel:          {:.2} GB/s", self.gbps);
        if let Some(g) = self.gflops {
            println!("compute:         {g:.2} GFLOP/s");
        }
        let (other, other_gbps) = match self.copy_method {
            runtime::CopyMethod::CopyBuffer => ("copy shader", self.copy_shader_gbps),
            runtime::CopyMethod::Shader => ("vkCmdCopyBuffer", self.copy_buffer_gbps),
        };
        println!(
            "copy (same run): {:.2} GB/s by {} ({other} {other_gbps:.2}; device-local, read + \
             write, timed like the kernel)",
            self.copy_gbps, self.copy_method
        );
        println!("ratio:           {:.2} of copy bandwidth", self.ratio());
    }
}

/// `--sweep NAME=A..B`: the powers of two from A to B.
pub(crate) struct Sweep {
    pub(crate) name: String,
    pub(crate) values: Vec<u64>,
}

/// Parses `NAME=A..B` (A and B powers of two, A <= B, at most 2^40).
pub(crate) fn parse_sweep(command_line: &CommandLine, spec: &str) -> Result<Sweep> {
    let bad = |why: &str| {
        command_line.fail(
            "E0919",
            format!("bad --sweep `{spec}`: {why}"),
            spec,
            "this sweep",
            "write --sweep N=1024..16777216 and use N in --arg, -D or --grid values, e.g. \
             --arg x=zeros:N --arg n=N"
                .into(),
        )
    };
    let Some((name, range)) = spec.split_once('=') else {
        return Err(bad("expected NAME=A..B"));
    };
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad("the name must be an identifier"));
    }
    let Some((a, b)) = range.split_once("..") else {
        return Err(bad("expected a range A..B"));
    };
    let parse = |t: &str| t.trim().replace('_', "").parse::<u64>().ok();
    let (Some(a), Some(b)) = (parse(a), parse(b)) else {
        return Err(bad("the bounds must be integers"));
    };
    if !a.is_power_of_two() || !b.is_power_of_two() || a > b || b > 1 << 40 {
        return Err(bad("the bounds must be powers of two with A <= B <= 2^40"));
    }
    let values = std::iter::successors(Some(a), |&v| (v < b).then(|| v * 2)).collect();
    Ok(Sweep {
        name: name.to_string(),
        values,
    })
}

/// Replaces `name` where it stands as a whole word (not inside a longer identifier).
pub(crate) fn substitute(text: &str, name: &str, value: u64) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + name.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
            out.push_str(name);
        } else {
            out.push_str(&value.to_string());
        }
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// The launch for one value of a sweep: `name` replaced in every `--arg`, `-D` and `--grid`.
pub(crate) fn swept_launch(launch: &LaunchArgs, name: &str, value: u64) -> LaunchArgs {
    let sub = |t: &String| substitute(t, name, value);
    let mut swept = launch.clone();
    swept.grid = launch.grid.as_ref().map(sub);
    swept.defines = launch.defines.iter().map(sub).collect();
    swept.args = launch.args.iter().map(sub).collect();
    swept.outs.clear();
    swept
}

/// `tkc bench --sweep`: one measurement per value (a table, or one JSON object per line), and
/// the chart with `--plot`.
pub(crate) fn bench_sweep(
    command_line: &CommandLine,
    launch: &LaunchArgs,
    options: BenchOptions,
    spec: &str,
    plot: Option<&Path>,
) -> Result<()> {
    let sweep = parse_sweep(command_line, spec)?;
    let mentioned = launch
        .args
        .iter()
        .chain(&launch.defines)
        .chain(&launch.grid)
        .any(|t| substitute(t, &sweep.name, 0) != *t);
    if !mentioned {
        return Err(command_line.fail(
            "E0919",
            format!(
                "--sweep {}: no --arg, -D or --grid value uses `{}`",
                spec, sweep.name
            ),
            spec,
            "this name is not used",
            format!(
                "use the name in the values, e.g. --arg x=zeros:{0} --arg n={0}",
                sweep.name
            ),
        ));
    }
    if !options.json {
        println!(
            "{:>12}  {:>12}  {:>10}  {:>10}  {:>10}  {:>7}",
            sweep.name, "median_us", "GB/s", "GFLOP/s", "copy GB/s", "ratio"
        );
    }
    let mut points = Vec::new();
    for &value in &sweep.values {
        let swept = swept_launch(launch, &sweep.name, value);
        let Some(m) = run(command_line, &swept, Some(options.clone()))? else {
            continue;
        };
        if options.json {
            println!("{}", m.json(Some((&sweep.name, value))));
        } else {
            println!(
                "{value:>12}  {:>12.3}  {:>10.3}  {:>10}  {:>10.3}  {:>7.3}",
                m.median_us,
                m.gbps,
                m.gflops.map_or("-".to_string(), |g| format!("{g:.3}")),
                m.copy_gbps,
                m.ratio()
            );
        }
        points.push((value, m));
    }
    if let (Some(path), false) = (plot, points.is_empty()) {
        std::fs::write(path, plot_svg(&sweep.name, &points)).map_err(|e| {
            command_line.fail(
                "E0901",
                format!("cannot write {}: {e}", path.display()),
                &path.display().to_string(),
                "this file",
                "check the directory exists and is writable".into(),
            )
        })?;
        if !options.json {
            println!("plot: {}", path.display());
        }
    }
    Ok(())
}

/// Throughput against the swept value as an SVG line chart (log2 x axis), like Triton's
/// `perf_report`: the kernel's GB/s (or GFLOP/s when it does `dot`s) and, for GB/s, the copy
/// bandwidth measured beside each point.
pub(crate) fn plot_svg(name: &str, points: &[(u64, Measurement)]) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 440.0, 70.0, 160.0, 40.0, 50.0);
    let flops = points.iter().all(|(_, m)| m.gflops.is_some());
    let unit = if flops { "GFLOP/s" } else { "GB/s" };
    let mut series: Vec<(&str, &str, Vec<(f64, f64)>)> = vec![(
        "tk",
        "#1f77b4",
        points
            .iter()
            .map(|(v, m)| {
                (
                    (*v as f64).log2(),
                    if flops {
                        m.gflops.unwrap_or(0.0)
                    } else {
                        m.gbps
                    },
                )
            })
            .collect(),
    )];
    if !flops {
        series.push((
            "copy",
            "#7f7f7f",
            points
                .iter()
                .map(|(v, m)| ((*v as f64).log2(), m.copy_gbps))
                .collect(),
        ));
    }
    let xs: Vec<f64> = points.iter().map(|(v, _)| (*v as f64).log2()).collect();
    let (x0, x1) = (xs[0], xs[xs.len() - 1].max(xs[0] + 1.0));
    let ymax = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let px = |x: f64| left + (x - x0) / (x1 - x0) * (w - left - right);
    let py = |y: f64| h - bottom - y / ymax * (h - top - bottom);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let title = points.first().map_or(String::new(), |(_, m)| {
        format!("{} on {} ({})", m.kernel, m.device, m.mode())
    });
    svg += &format!(
        "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        (left + w - right) / 2.0,
        xml_text(&title)
    );
    // Axes, ticks and grid lines.
    svg += &format!(
        "<path d=\"M{left},{top} V{} H{}\" stroke=\"black\" fill=\"none\"/>\n",
        h - bottom,
        w - right
    );
    for (i, &x) in xs.iter().enumerate() {
        if xs.len() > 12 && i % 2 == 1 {
            continue;
        }
        svg += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">2^{}</text>\n",
            px(x),
            h - bottom + 18.0,
            x.round()
        );
    }
    for i in 0..=5 {
        let y = ymax / 1.1 * i as f64 / 5.0;
        svg += &format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
            w - right,
            py(y),
            py(y),
            left - 6.0,
            py(y) + 4.0,
            short_number(y)
        );
    }
    svg += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n\
         <text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{unit}</text>\n",
        (left + w - right) / 2.0,
        h - 12.0,
        xml_text(name),
        (top + h - bottom) / 2.0
    );
    for (i, (label, colour, pts)) in series.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        svg += &format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>\n",
            path.join(" ")
        );
        for &(x, y) in pts {
            svg += &format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>\n",
                px(x),
                py(y)
            );
        }
        let ly = top + 20.0 * i as f64;
        svg += &format!(
            "<line x1=\"{}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{colour}\" \
             stroke-width=\"2\"/>\n<text x=\"{}\" y=\"{}\">{label}</text>\n",
            w - right + 15.0,
            w - right + 40.0,
            w - right + 46.0,
            ly + 4.0
        );
    }
    svg += "</svg>\n";
    svg
}

fn short_number(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
