//! Vector add on the Vulkan device, as a ratio of the device's own copy bandwidth measured in the
//! same process (GPU timestamps, median of many launches). Run with `cargo bench --bench vector_add`.
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};
use tk::driver::{self, DiskLoader};
use tk::runtime::{Device, DeviceChoice};

fn main() {
    let device = match Device::open(DeviceChoice::Auto) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("vector_add bench needs a Vulkan device: {e}");
            std::process::exit(1);
        }
    };
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/vector_add.tk"
    ))
    .unwrap();
    let program = driver::check_source("examples/vector_add.tk", &source, &DiskLoader);
    let n: usize = 1 << 24;
    println!("device: {}", device.info().name);
    println!(
        "{:>8} {:>10} {:>12} {:>12} {:>8}",
        "BLOCK", "mode", "kernel GB/s", "copy GB/s", "ratio"
    );
    for block in [1024i128, 4096] {
        for safe in [true, false] {
            let lowered = driver::lower(
                &program,
                "vector_add",
                &[("BLOCK".into(), Literal::Int(block))],
            )
            .expect("lower");
            let (_, artifact) = driver::compile(lowered, &device.target(), safe).expect("compile");
            let pipeline = device.load(&artifact).expect("load");
            let mut args = vec![
                KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![n])),
                KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![n])),
                KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![n])),
                KernelArg::Scalar(Literal::Int(n as i128)),
            ];
            let grid = [(n as u32).div_ceil(block as u32), 1, 1];
            let timing = device
                .bench(&pipeline, &mut args, grid, 3, 20)
                .expect("bench");
            let bytes = 3 * 4 * n as u64;
            // The faster of vkCmdCopyBuffer and the runtime's copy shader, timed the same way.
            let (_, copy) = device.copy_bandwidth(bytes, 3, 20).expect("copy").best();
            let kernel_gbps = bytes as f64 / timing.median_ns;
            let copy_gbps = copy.gb_per_s().expect("a copy counts its bytes");
            let mode = if safe { "safe" } else { "unchecked" };
            println!(
                "{block:>8} {mode:>10} {kernel_gbps:>12.2} {copy_gbps:>12.2} {:>8.2}",
                kernel_gbps / copy_gbps
            );
        }
    }
}
