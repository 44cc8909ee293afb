//! Hand-written SPIR-V baselines ("what a Vulkan user would write") against tk's own kernels
//! (vector add in GB/s against the copy bandwidth, f32 matmul in GFLOP/s),
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
use tk::driver::{self, DiskLoader};
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
    for shader in shaders.iter().filter(|s| s.kernel == "vector_add") {
        let mut artifact = tk_vector_add(&device, 1024, false, false);
        artifact.words = assemble(&shader.path);
        let pipeline = device.load(&artifact).expect("load");
        let name = shader
            .path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        report(
            &name,
            &pipeline,
            (N as u32).div_ceil(shader.elements_per_workgroup),
        );
    }
    matmul(&device, &shaders, filter.as_deref());
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
        let timing = device
            .bench(pipeline, &mut args, [grid, 1, 1], WARMUP, iterations())
            .expect("bench");
        device
            .launch(pipeline, &mut args, [grid, 1, 1])
            .expect("launch");
        let KernelArg::Buffer(c) = &args[2] else {
            unreachable!()
        };
        let c = c.to_f32();
        let error = match &reference {
            None => {
                reference = Some(c);
                0.0
            }
            Some(r) => r
                .iter()
                .zip(&c)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max),
        };
        println!(
            "{name:<40} {:>12.2}   max |C - C_tk| = {error:.2e}",
            flops / timing.median_ns
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
    for shader in shaders.iter().filter(|s| s.kernel == "matmul") {
        let mut artifact = tk_matmul(device, 32, 32, 16);
        artifact.words = assemble(&shader.path);
        let pipeline = device.load(&artifact).expect("load");
        let name = shader
            .path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let grid = ((n * n) as u32).div_ceil(shader.elements_per_workgroup);
        report(&name, &pipeline, grid);
    }
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
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/kernels/matmul_autotune.tk"
    );
    let source = std::fs::read_to_string(path).expect("benches/kernels/matmul_autotune.tk");
    let program = driver::check_source(path, &source, &DiskLoader);
    let consts = [
        ("BLOCK_M".to_string(), Literal::Int(bm)),
        ("BLOCK_N".to_string(), Literal::Int(bn)),
        ("BLOCK_K".to_string(), Literal::Int(bk)),
    ];
    let lowered = driver::lower(&program, "matmul", &consts).expect("lower");
    driver::compile(lowered, &device.target(), false)
        .expect("compile")
        .1
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
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/vector_add.tk");
    let source = std::fs::read_to_string(path).expect("examples/vector_add.tk");
    let program = driver::check_source(path, &source, &DiskLoader);
    let mut lowered = driver::lower(
        &program,
        "vector_add",
        &[("BLOCK".into(), Literal::Int(block))],
    )
    .expect("lower");
    if specialized {
        driver::specialize(&mut lowered, &vector_add_args());
    }
    driver::compile(lowered, &device.target(), safe)
        .expect("compile")
        .1
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
