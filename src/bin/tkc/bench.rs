//! `tkc bench`: device timing against the copy bandwidth measured in the same process, the
//! same way.
#![allow(unused_imports)]
use super::*;

pub(crate) use tk::bench::{sample_traffic, Measurement, SampledTraffic};

/// What `tkc bench` was asked for beyond the launch.
#[derive(Clone)]
pub(crate) struct BenchOptions {
    pub(crate) iterations: u32,
    pub(crate) json: bool,
    /// Bytes one launch moves; default every buffer once.
    pub(crate) bytes: Option<u64>,
    pub(crate) flops: Option<u64>,
}

/// The measurement of one launch (`tk::bench::measure_with`, the one the API and the Python
/// bindings take too); a kernel that outran its copy reference is warned about on stderr.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bench(
    device: &Device,
    pipeline: &runtime::Pipeline,
    args: &mut [KernelArg],
    grid: [u32; 3],
    options: &BenchOptions,
    traffic: Option<SampledTraffic>,
    _kernel: &str,
    unchecked: bool,
) -> Result<Measurement> {
    let options = tk::bench::BenchOptions {
        iterations: options.iterations,
        bytes: options.bytes,
        flops: options.flops,
    };
    let measurement =
        tk::bench::measure_with(device, pipeline, args, grid, &options, traffic, unchecked)
            .map_err(runtime_failure)?;
    if let Some(warning) = measurement.copy_warning() {
        eprintln!("tkc: warning: {warning}");
    }
    Ok(measurement)
}

/// `tkc bench`'s human-readable report of a measurement.
pub(crate) trait Report {
    fn print(&self);
}

impl Report for Measurement {
    fn print(&self) {
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
