//! The fuzz targets' shared steps: check source text, compile every kernel to SPIR-V and load it
//! back, run kernels on the interpreter with small arguments and a work budget, and the
//! structure-aware generator of well-typed kernels (`gen`). Any internal compiler error (a
//! diagnostic with the ICE code, invalid IR, SPIR-V that does not load) panics, so libFuzzer
//! records it as a crash.
pub mod gen;

use tk::abi::{Artifact, Target};
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};
use tk::driver::{self, BuildOptions, Program, Source, Stage};
use tk::ir::ParamKind;
use tk::sema::{FileLoader, KernelParamKind};

/// `use "file"` finds nothing while fuzzing (the stdlib is embedded and still works).
pub struct NoFiles;

impl FileLoader for NoFiles {
    fn load(&self, _path: &std::path::Path) -> Option<String> {
        None
    }
}

/// The fuzzers look at the first few kernels of a file only, to keep each execution short.
const MAX_KERNELS: usize = 3;

/// Checks source text; panics on an internal compiler error.
pub fn check(text: &str) -> Program {
    let program = driver::check_source("fuzz.tk", text, &NoFiles);
    assert_no_ice(&program.diagnostics, "check");
    program
}

fn assert_no_ice(diagnostics: &tk::base::Diagnostics, stage: &str) {
    if let Some(ice) = diagnostics.iter().find(|d| d.is_internal()) {
        panic!("internal compiler error in {stage}: {}", ice.message);
    }
}

/// Kernels whose consts all have defaults (the ones `check` elaborates), by name.
pub fn runnable_kernels(program: &Program) -> Vec<String> {
    program
        .checked
        .kernels
        .iter()
        .filter(|k| {
            k.params.iter().all(|p| match &p.kind {
                KernelParamKind::Const { default, .. } => default.is_some(),
                KernelParamKind::Runtime(_) => true,
            })
        })
        .map(|k| k.name.clone())
        .take(MAX_KERNELS)
        .collect()
}

/// Lowers, schedules and emits every runnable kernel (safe and unchecked) for the portable
/// target; every module must load back with rspirv. Returns the artifacts.
pub fn compile(text: &str) -> Vec<Artifact> {
    let program = check(text);
    let mut artifacts = Vec::new();
    if program.has_errors() {
        return artifacts;
    }
    let target = Target::portable();
    for name in runnable_kernels(&program) {
        let lowered = match driver::lower(&program, &name, &[]) {
            Ok(lowered) => lowered,
            Err(diagnostics) => {
                assert_no_ice(&diagnostics, "lower");
                continue;
            }
        };
        for safe in [true, false] {
            match driver::compile(lowered.clone(), &target, safe) {
                Ok((_, artifact)) => {
                    if let Err(e) = rspirv::dr::load_words(&artifact.words) {
                        panic!("kernel `{name}`: emitted SPIR-V does not load: {e}");
                    }
                    artifacts.push(artifact);
                }
                Err(diagnostic) => {
                    assert!(
                        !diagnostic.is_internal(),
                        "internal compiler error compiling `{name}`: {}",
                        diagnostic.message
                    );
                }
            }
        }
    }
    artifacts
}

/// Elements in each buffer the interpreter fuzzer passes.
pub const BUFFER_LEN: usize = 64;

/// Arguments for a kernel: every buffer `BUFFER_LEN` elements of `1, 2, 3, ...`, every integer
/// scalar `int`, every float scalar `float`, every bool `true`.
pub fn small_args(params: &[tk::ir::Param], int: i64, float: f64) -> Vec<KernelArg> {
    params
        .iter()
        .map(|p| match p.kind {
            ParamKind::Pointer { pointee, .. } => {
                let mut buffer = HostBuffer::zeros(pointee, vec![BUFFER_LEN]);
                let size = pointee.bytes() as usize;
                for i in 0..BUFFER_LEN {
                    let bytes = element_bytes(pointee, (i % 7) as i64 + 1);
                    buffer.data[i * size..(i + 1) * size].copy_from_slice(&bytes[..size]);
                }
                KernelArg::Buffer(buffer)
            }
            ParamKind::Scalar(ty) if ty.is_bool() => KernelArg::Scalar(Literal::Bool(true)),
            ParamKind::Scalar(ty) if ty.is_float() => KernelArg::Scalar(Literal::Float(float)),
            ParamKind::Scalar(_) => KernelArg::Scalar(Literal::Int(int as i128)),
        })
        .collect()
}

/// The little-endian bytes of the small integer `v` as element type `ty` (8 bytes, padded).
fn element_bytes(ty: ScalarType, v: i64) -> [u8; 8] {
    use ScalarType::*;
    let mut out = [0u8; 8];
    let bytes: Vec<u8> = match ty {
        Bool => vec![(v & 1) as u8],
        I8 | U8 => vec![v as u8],
        I16 | U16 => (v as i16).to_le_bytes().to_vec(),
        I32 | U32 => (v as i32).to_le_bytes().to_vec(),
        I64 | U64 => v.to_le_bytes().to_vec(),
        F16 => tk_half_bits(v as f32, false).to_le_bytes().to_vec(),
        BF16 => tk_half_bits(v as f32, true).to_le_bytes().to_vec(),
        F32 => (v as f32).to_le_bytes().to_vec(),
        F64 => (v as f64).to_le_bytes().to_vec(),
    };
    out[..bytes.len()].copy_from_slice(&bytes);
    out
}

/// f16 or bf16 bits of a small integer-valued float (exact for the values used here).
fn tk_half_bits(v: f32, bf16: bool) -> u16 {
    if bf16 {
        (v.to_bits() >> 16) as u16
    } else if v == 0.0 {
        0
    } else {
        // Small positive integers: exponent and a 10-bit mantissa, exactly representable.
        let bits = v.to_bits();
        let exponent = ((bits >> 23) & 0xff) as i32 - 127 + 15;
        let mantissa = (bits >> 13) & 0x3ff;
        ((bits >> 16) & 0x8000) as u16 | ((exponent as u16) << 10) | mantissa as u16
    }
}

/// The interpreter's work budget per run in the fuzzers: loops that run long or forever stop.
pub const BUDGET: u64 = 1 << 20;

/// Checks and lowers every runnable kernel and runs it on the interpreter over a 2-program grid.
/// Out-of-bounds accesses, failed asserts and a spent budget are fine; invalid IR is a crash.
pub fn interpret(text: &str) {
    let program = check(text);
    if program.has_errors() {
        return;
    }
    for name in runnable_kernels(&program) {
        let lowered = match driver::lower(&program, &name, &[]) {
            Ok(lowered) => lowered,
            Err(diagnostics) => {
                assert_no_ice(&diagnostics, "lower");
                continue;
            }
        };
        let mut args = small_args(&lowered.kernel.params, 16, 1.5);
        match tk::interp::run_with_budget(&lowered, &mut args, [2, 1, 1], BUDGET) {
            Err(tk::interp::RunError::InvalidIr { kernel, message }) => {
                panic!("interpreter: invalid IR in `{kernel}`: {message}")
            }
            Err(tk::interp::RunError::BadArguments(message)) => {
                panic!("interpreter rejected arguments made from the kernel's params: {message}")
            }
            _ => {}
        }
    }
}

/// Runs `spirv-val --target-env vulkan1.1` on a module (through a temporary file).
pub fn spirv_val(words: &[u32]) -> Result<(), String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "tk-fuzz-{}-{}.spv",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    let output = std::process::Command::new("spirv-val")
        .args(["--target-env", "vulkan1.1"])
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    let output = output.map_err(|e| format!("cannot run spirv-val: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "spirv-val failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The Vulkan device for differential fuzzing, opened once with validation; `None` without one.
/// The environment is only read (`run-campaign.sh` sets `XDG_RUNTIME_DIR`): writing it while
/// another thread (libFuzzer's, a driver's) may read it is undefined behaviour.
pub fn shared_device() -> Option<&'static tk::runtime::Device> {
    use std::sync::OnceLock;
    static DEVICE: OnceLock<Option<tk::runtime::Device>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let options = tk::runtime::DeviceOptions {
                validation: std::env::var("TK_FUZZ_VALIDATION").map_or(true, |v| v != "0"),
                ..Default::default()
            };
            tk::runtime::Device::open_with(tk::runtime::DeviceChoice::Auto, options).ok()
        })
        .as_ref()
}

/// The arguments of a generated case, in parameter order.
pub fn case_args(case: &gen::Case) -> Vec<KernelArg> {
    vec![
        KernelArg::Buffer(HostBuffer::from_f32(&case.x, vec![case.x.len()])),
        KernelArg::Buffer(HostBuffer::from_i32(&case.y, vec![case.y.len()])),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::F32, vec![gen::LEN])),
        KernelArg::Buffer(HostBuffer::zeros(ScalarType::I32, vec![gen::LEN])),
        KernelArg::Scalar(Literal::Int(case.n as i128)),
        KernelArg::Scalar(Literal::Float(case.s as f64)),
    ]
}

/// Whether a case also runs on the device: every case, or with `TK_FUZZ_DEVICE_EVERY=N` one in
/// `N` chosen by a hash of the case (so a replay makes the same choice). Long campaigns use it:
/// the device run (lavapipe's LLVM compile under the validation layer) costs ~20 ms, the rest of
/// a case ~1 ms.
pub fn on_device(case: &gen::Case) -> bool {
    use std::hash::{Hash, Hasher};
    use std::sync::OnceLock;
    static EVERY: OnceLock<u64> = OnceLock::new();
    let every = *EVERY.get_or_init(|| {
        std::env::var("TK_FUZZ_DEVICE_EVERY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
            .max(1)
    });
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    case.source.hash(&mut hasher);
    case.y.hash(&mut hasher);
    every == 1 || hasher.finish() % every == 0
}

/// Checks, lowers and compiles a generated case (for the device's target when there is one),
/// runs it on the interpreter and, when `run` is set, on the device, and compares the output
/// buffers exactly (floats with `==`, so -0 equals 0). `Ok(false)` when the case uses a builtin
/// the IR does not support yet (E0601) and was skipped.
pub fn differential(
    case: &gen::Case,
    device: Option<&tk::runtime::Device>,
    run: bool,
) -> Result<bool, String> {
    let source = Source {
        name: "fuzz.tk",
        text: &case.source,
        loader: &NoFiles,
    };
    let target = device.map_or_else(Target::portable, |device| device.target());
    let build = match driver::build(&source, "gen", &[], &target, &BuildOptions::default()) {
        Ok(build) => build,
        Err(error) => {
            return match error.stage {
                Stage::Check => {
                    assert_no_ice(&error.diagnostics, "check");
                    let mut errors = error.diagnostics.iter().filter(|d| d.is_error());
                    if errors.all(|d| d.code == "E0601") {
                        Ok(false)
                    } else {
                        Err(format!(
                            "the generator made a kernel the checker rejects:\n{}",
                            error.render(false)
                        ))
                    }
                }
                Stage::Lower => Err(error.render(false)),
                Stage::Compile => Err(format!("compile: {error}")),
            }
        }
    };
    let grid = [(case.n as u32).div_ceil(case.block).max(1), 1, 1];
    let mut expected = case_args(case);
    tk::interp::run_with_budget(&build.lowered, &mut expected, grid, BUDGET * 16)
        .map_err(|e| format!("interpreter: {e}"))?;
    let artifact = build.artifact;
    rspirv::dr::load_words(&artifact.words).map_err(|e| format!("SPIR-V does not load: {e}"))?;
    let Some(device) = device.filter(|_| run) else {
        return Ok(true);
    };
    let pipeline = device.load(&artifact).map_err(|e| format!("load: {e}"))?;
    let mut actual = case_args(case);
    device
        .launch(&pipeline, &mut actual, grid)
        .map_err(|e| format!("launch: {e}"))?;
    compare(&expected, &actual).map(|()| true)
}

fn compare(expected: &[KernelArg], actual: &[KernelArg]) -> Result<(), String> {
    let (KernelArg::Buffer(ef), KernelArg::Buffer(af)) = (&expected[2], &actual[2]) else {
        return Err("output buffers missing".into());
    };
    for (i, (e, a)) in ef.to_f32().iter().zip(af.to_f32()).enumerate() {
        if !(*e == a || (e.is_nan() && a.is_nan())) {
            return Err(format!("out[{i}]: interpreter {e}, device {a}"));
        }
    }
    let (KernelArg::Buffer(ei), KernelArg::Buffer(ai)) = (&expected[3], &actual[3]) else {
        return Err("output buffers missing".into());
    };
    for (i, (e, a)) in ei.to_i32().iter().zip(ai.to_i32()).enumerate() {
        if *e != a {
            return Err(format!("outi[{i}]: interpreter {e}, device {a}"));
        }
    }
    Ok(())
}

/// A generated case as a `.tk` file whose first line, `// tk-fuzz generated: ...`, gives the
/// launch (`tests/fuzz_corpus.rs` replays these on the interpreter and the device).
pub fn case_file(case: &gen::Case) -> String {
    let list = |v: Vec<String>| v.join(",");
    format!(
        "// tk-fuzz generated: block={} n={} s={} x={} y={}\n{}",
        case.block,
        case.n,
        case.s,
        list(case.x.iter().map(|v| v.to_string()).collect()),
        list(case.y.iter().map(|v| v.to_string()).collect()),
        case.source
    )
}
