//! Hand-written SPIR-V baselines ("what a Vulkan user would write") against tk's own kernels
//! (vector add and row softmax in GB/s against the copy bandwidth, f32 matmul in GFLOP/s),
//! through the same runtime, on the same buffers, with the device's copy bandwidth measured in the
//! same process the same way. Run with `cargo bench --bench baseline [-- FILTER]`; needs `spirv-as`
//! (spirv-tools) on the PATH.
//!
//! Each shader in `benches/shaders/*.spvasm` starts with a header line
//! `; tk-bench: kernel=NAME elements_per_workgroup=E`: it takes the tk kernel's interface (bindings
//! in parameter order, the push-constant block of ABI.md with the linearised grid) so that the
//! runtime launches it exactly like the tk kernel, over `n / E` workgroups.
#[path = "common/mod.rs"]
mod common;
use std::path::{Path, PathBuf};
use tk::abi::Artifact;
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};
use tk::driver::{self, BuildOptions, Source};
use tk::runtime::{Device, DeviceChoice, Pipeline};

const N: usize = 1 << 24;
const WARMUP: u32 = 3;
/// Timed launches per kernel (`TK_BENCH_REPS`, default 10); the median is reported.
fn iterations() -> u32 {
    std::env::var("TK_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

struct Shader {
    path: PathBuf,
    kernel: String,
    elements_per_workgroup: u32,
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let device = Device::open(DeviceChoice::Auto).unwrap_or_else(|e| {
        eprintln!("the baseline bench needs a Vulkan device: {e}");
        std::process::exit(1);
    });
    println!("device: {}", device.info().name);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/shaders");
    let mut shaders: Vec<Shader> = std::fs::read_dir(&dir)
        .expect("benches/shaders")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "spvasm"))
        .filter(|p| {
            filter
                .as_ref()
                .is_none_or(|f| p.to_string_lossy().contains(f.as_str()))
        })
        .map(|path| parse_header(&path))
        .collect();
    shaders.sort_by(|a, b| a.path.cmp(&b.path));
    let bytes = 3 * 4 * N as u64;
    let (copy_gbps, copy_method) = common::copy_reference(&device, bytes, WARMUP, iterations());
    println!("copy reference: {copy_gbps:.2} GB/s ({copy_method})");
    println!("{:<40} {:>12} {:>8}", "kernel", "GB/s", "ratio");
    let report = |name: &str, pipeline: &Pipeline, grid: u32| {
        let mut args = vector_add_args();
        let timing = device
            .bench(pipeline, &mut args, [grid, 1, 1], WARMUP, iterations())
            .expect("bench");
        let gbps = bytes as f64 / timing.median_ns;
        println!("{name:<40} {gbps:>12.2} {:>8.3}", gbps / copy_gbps);
    };
    // tk's kernel specialised for the launch's arguments (as `tkc run` compiles it: n and every
    // buffer length divisible by 16) and without a specialisation.
    for (block, safe, specialized) in [
        (1024, true, true),
        (1024, false, true),
        (4096, false, true),
        (1024, true, false),
    ] {
        if filter.as_ref().is_some_and(|f| !"tk".contains(f.as_str())) {
            break;
        }
        let artifact = tk_vector_add(&device, block, safe, specialized);
        let pipeline = device.load(&artifact).expect("load");
        let mode = if safe { "safe" } else { "unchecked" };
        let how = if specialized { "" } else { ", general" };
        report(
            &format!("tk vector_add BLOCK={block} {mode}{how}"),
            &pipeline,
            (N as u32).div_ceil(block as u32),
        );
    }
    let interface = tk_vector_add(&device, 1024, false, false);
    for shader in shaders.iter().filter(|s| s.kernel == "vector_add") {
        let (name, pipeline) = shader.load(&device, interface.clone());
        report(
            &name,
            &pipeline,
            (N as u32).div_ceil(shader.elements_per_workgroup),
        );
    }
    softmax(&device, &shaders, filter.as_deref());
    matmul(&device, &shaders, filter.as_deref());
}

/// Rows of the softmax problem (each of `SOFTMAX_COLS` f32), the kernel suite's lavapipe size.
const SOFTMAX_ROWS: usize = 4096;
/// Columns: the hand-written softmax shaders take rows of exactly this many f32.
const SOFTMAX_COLS: usize = 1024;

/// Row softmax, `SOFTMAX_ROWS` × `SOFTMAX_COLS` f32: tk's example (specialised for the launch, as
/// `tkc run` compiles it; safe and unchecked) against the hand-written shaders, in GB/s (the row
/// read and written once) and as a ratio to the copy reference of the same bytes; every result is
/// compared with tk's safe one.
fn softmax(device: &Device, shaders: &[Shader], filter: Option<&str>) {
    let bytes = 2 * 4 * (SOFTMAX_ROWS * SOFTMAX_COLS) as u64;
    let (copy_gbps, copy_method) = common::copy_reference(device, bytes, WARMUP, iterations());
    println!(
        "\nsoftmax {SOFTMAX_ROWS}×{SOFTMAX_COLS} f32 (GB/s, median of {}); copy reference of the \
         same bytes: {copy_gbps:.2} GB/s ({copy_method})",
        iterations()
    );
    let mut reference: Option<Vec<f32>> = None;
    let mut report = |name: &str, pipeline: &Pipeline| {
        let mut args = softmax_args();
        let grid = [SOFTMAX_ROWS as u32, 1, 1];
        let (median_ns, error) =
            time_and_compare(device, pipeline, &mut args, grid, 1, &mut reference);
        let gbps = bytes as f64 / median_ns;
        println!(
            "{name:<40} {gbps:>12.2} {:>8.3}   max |y - y_tk| = {error:.2e}",
            gbps / copy_gbps
        );
    };
    for safe in [true, false] {
        if filter.is_some_and(|f| !"tk softmax".contains(f)) {
            break;
        }
        let pipeline = device.load(&tk_softmax(device, safe)).expect("load");
        let mode = if safe { "safe" } else { "unchecked" };
        report(&format!("tk softmax {mode}"), &pipeline);
    }
    let interface = tk_softmax(device, false);
    for shader in shaders.iter().filter(|s| s.kernel == "softmax") {
        assert_eq!(
            shader.elements_per_workgroup as usize,
            SOFTMAX_COLS,
            "{}: a softmax shader takes one row per workgroup",
            shader.path.display()
        );
        let (name, pipeline) = shader.load(device, interface.clone());
        report(&name, &pipeline);
    }
}

/// Rows of distinct values, with a large and a negative entry in each, so that a shader that
/// skipped the max or mixed rows up would be seen in the comparison.
fn softmax_args() -> Vec<KernelArg> {
    let x: Vec<f32> = (0..SOFTMAX_ROWS * SOFTMAX_COLS)
        .map(|i| ((i * 37) % 101) as f32 * 0.25 - 12.0 + (i / SOFTMAX_COLS % 7) as f32)
        .collect();
    let int = |v: usize| KernelArg::Scalar(Literal::Int(v as i128));
    vec![
        KernelArg::Buffer(HostBuffer::from_f32(&x, vec![SOFTMAX_ROWS, SOFTMAX_COLS])),
        KernelArg::Buffer(HostBuffer::zeros(
            ScalarType::F32,
            vec![SOFTMAX_ROWS, SOFTMAX_COLS],
        )),
        int(SOFTMAX_ROWS),
        int(SOFTMAX_COLS),
    ]
}

/// tk's row softmax (`examples/softmax.tk` at BLOCK = `SOFTMAX_COLS`) specialised for
/// `softmax_args`.
fn tk_softmax(device: &Device, safe: bool) -> Artifact {
    let block = Literal::Int(SOFTMAX_COLS as i128);
    let args = softmax_args();
    tk_kernel(
        device,
        "examples/softmax.tk",
        "softmax",
        &[("BLOCK", block)],
        Some(&args),
        safe,
    )
}

/// f32 matmul, n × n × n: tk's kernel at a few tile sizes against the hand-written shaders, in
/// GFLOP/s; every result is compared with tk's default configuration.
fn matmul(device: &Device, shaders: &[Shader], filter: Option<&str>) {
    let n: usize = std::env::var("TK_BENCH_MATMUL_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let flops = 2.0 * (n as f64).powi(3);
    println!("\nf32 matmul {n}³ (GFLOP/s, median of {})", iterations());
    let mut reference: Option<Vec<f32>> = None;
    let mut report = |name: &str, pipeline: &Pipeline, grid: u32| {
        let mut args = matmul_args(n);
        let (median_ns, error) =
            time_and_compare(device, pipeline, &mut args, [grid, 1, 1], 2, &mut reference);
        println!(
            "{name:<40} {:>12.2}   max |C - C_tk| = {error:.2e}",
            flops / median_ns
        );
    };
    // `TK_BENCH_MATMUL_TILES=64x64x8,32x128x8` replaces the tile sizes measured.
    let tiles: Vec<(i128, i128, i128)> = match std::env::var("TK_BENCH_MATMUL_TILES") {
        Ok(list) => list
            .split(',')
            .map(|t| {
                let v: Vec<i128> = t
                    .split('x')
                    .map(|x| x.trim().parse().expect("MxNxK"))
                    .collect();
                (v[0], v[1], v[2])
            })
            .collect(),
        Err(_) => vec![(32, 32, 16), (64, 32, 8), (32, 64, 8)],
    };
    for (bm, bn, bk) in tiles {
        if filter.is_some_and(|f| !"tk matmul".contains(f)) {
            break;
        }
        let artifact = tk_matmul(device, bm, bn, bk);
        let pipeline = device.load(&artifact).expect("load");
        let grid = (n.div_ceil(bm as usize) * n.div_ceil(bn as usize)) as u32;
        report(&format!("tk matmul {bm}x{bn}x{bk}"), &pipeline, grid);
    }
    let interface = tk_matmul(device, 32, 32, 16);
    for shader in shaders.iter().filter(|s| s.kernel == "matmul") {
        let (name, pipeline) = shader.load(device, interface.clone());
        let grid = ((n * n) as u32).div_ceil(shader.elements_per_workgroup);
        report(&name, &pipeline, grid);
    }
}

/// Times `pipeline` on `args` over `grid` (the median of `iterations()` launches, in ns), then
/// launches it once more and returns that with the largest difference of its f32 output
/// `args[output]` from `reference`, the first output compared (which the first call sets).
fn time_and_compare(
    device: &Device,
    pipeline: &Pipeline,
    args: &mut [KernelArg],
    grid: [u32; 3],
    output: usize,
    reference: &mut Option<Vec<f32>>,
) -> (f64, f32) {
    let timing = device
        .bench(pipeline, args, grid, WARMUP, iterations())
        .expect("bench");
    device.launch(pipeline, args, grid).expect("launch");
    let KernelArg::Buffer(out) = &args[output] else {
        unreachable!("argument {output} is the output buffer")
    };
    let out = out.to_f32();
    let error = match reference {
        None => {
            *reference = Some(out);
            0.0
        }
        Some(r) => r
            .iter()
            .zip(&out)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max),
    };
    (timing.median_ns, error)
}

fn matmul_args(n: usize) -> Vec<KernelArg> {
    let a: Vec<f32> = (0..n * n)
        .map(|i| ((i * 7) % 13) as f32 * 0.125 - 0.75)
        .collect();
    let b: Vec<f32> = (0..n * n)
        .map(|i| ((i * 5) % 11) as f32 * 0.25 - 1.25)
        .collect();
    let mut args = vec![
        KernelArg::Buffer(HostBuffer::from_f32(&a, vec![n, n])),
        KernelArg::Buffer(HostBuffer::from_f32(&b, vec![n, n])),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![n, n])),
    ];
    args.extend(common::square_matmul_scalars(n));
    args
}

fn tk_matmul(device: &Device, bm: i128, bn: i128, bk: i128) -> Artifact {
    let consts = [
        ("BLOCK_M", Literal::Int(bm)),
        ("BLOCK_N", Literal::Int(bn)),
        ("BLOCK_K", Literal::Int(bk)),
    ];
    tk_kernel(
        device,
        "benches/kernels/matmul_autotune.tk",
        "matmul",
        &consts,
        None,
        false,
    )
}

fn vector_add_args() -> Vec<KernelArg> {
    let x: Vec<f32> = (0..N).map(|i| i as f32).collect();
    vec![
        KernelArg::Buffer(HostBuffer::from_f32(&x, vec![N])),
        KernelArg::Buffer(HostBuffer::from_f32(&x, vec![N])),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![N])),
        KernelArg::Scalar(Literal::Int(N as i128)),
    ]
}

fn tk_vector_add(device: &Device, block: i128, safe: bool, specialized: bool) -> Artifact {
    let args = vector_add_args();
    tk_kernel(
        device,
        "examples/vector_add.tk",
        "vector_add",
        &[("BLOCK", Literal::Int(block))],
        specialized.then_some(args.as_slice()),
        safe,
    )
}

/// A kernel of this repository (`file`, relative to it) lowered for `consts`, specialised for
/// `args` when given (as `tkc run` compiles a launch), and built for the device; a hand-written
/// shader run in its place takes its interface (bindings, push constants).
fn tk_kernel(
    device: &Device,
    file: &str,
    kernel: &str,
    consts: &[(&str, Literal)],
    args: Option<&[KernelArg]>,
    safe: bool,
) -> Artifact {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).expect(file);
    let name = path.to_string_lossy();
    let mut lowered = driver::lower_source(&Source::new(&name, &text), kernel, consts)
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(args) = args {
        driver::specialize(&mut lowered.module, args);
    }
    driver::build_lowered(&lowered, &device.target(), &BuildOptions { safe })
        .unwrap_or_else(|e| panic!("{e}"))
        .artifact
}

impl Shader {
    /// The shader loaded in place of tk's kernel `interface` (its bindings and push constants),
    /// with its name (the file's stem).
    fn load(&self, device: &Device, mut interface: Artifact) -> (String, Pipeline) {
        interface.words = assemble(&self.path);
        let pipeline = device.load(&interface).expect("load");
        let name = self.path.file_stem().unwrap().to_string_lossy().to_string();
        (name, pipeline)
    }
}

fn parse_header(path: &Path) -> Shader {
    let text = std::fs::read_to_string(path).expect("shader");
    let header = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("; tk-bench:"))
        .unwrap_or_else(|| {
            panic!(
                "{}: the first line must be `; tk-bench: ...`",
                path.display()
            )
        });
    let mut shader = Shader {
        path: path.to_path_buf(),
        kernel: String::new(),
        elements_per_workgroup: 0,
    };
    for field in header.split_whitespace() {
        match field.split_once('=') {
            Some(("kernel", v)) => shader.kernel = v.to_string(),
            Some(("elements_per_workgroup", v)) => {
                shader.elements_per_workgroup = v.parse().expect("elements_per_workgroup")
            }
            _ => panic!("{}: unknown header field `{field}`", path.display()),
        }
    }
    shader
}

fn assemble(path: &Path) -> Vec<u32> {
    let out = std::env::temp_dir().join(format!(
        "tk-baseline-{}-{}.spv",
        std::process::id(),
        path.file_stem().unwrap().to_string_lossy()
    ));
    let status = std::process::Command::new("spirv-as")
        .args(["--target-env", "vulkan1.1"])
        .arg(path)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("spirv-as (apt-get install spirv-tools)");
    assert!(status.success(), "spirv-as failed on {}", path.display());
    let bytes = std::fs::read(&out).expect("assembled shader");
    let _ = std::fs::remove_file(&out);
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
