//! Replays the checked-in fuzz corpus and every crash reproducer (`fuzz/corpus/*`,
//! `fuzz/artifacts/*`) with ordinary `cargo test`: each file parses and checks without a panic or
//! internal error; every kernel that checks lowers, compiles to SPIR-V that passes `spirv-val`
//! (safe and unchecked), and runs on the interpreter under a work budget. The generated kernels
//! (`fuzz/corpus/generated-tk`, rendered by the `generated` target with `TK_FUZZ_DUMP_DIR`) also run on the
//! device under the validation layer and must match the interpreter exactly.
mod common;

use common::*;
use std::path::{Path, PathBuf};
use tk::abi::Target;
use tk::base::{HostBuffer, KernelArg, Literal, ScalarType};
use tk::driver::{self, BuildOptions, Source};
use tk::ir::ParamKind;
use tk::sema::{FileLoader, KernelParamKind};

struct NoFiles;

impl FileLoader for NoFiles {
    fn load(&self, _path: &Path) -> Option<String> {
        None
    }
}

fn files_under(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(dir);
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(&root) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&format!(
                "{dir}/{}",
                entry.file_name().to_string_lossy()
            )));
        } else if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn small_args(params: &[tk::ir::Param]) -> Vec<KernelArg> {
    params
        .iter()
        .map(|p| match p.kind {
            ParamKind::Pointer { pointee, .. } => {
                KernelArg::Buffer(HostBuffer::zeros(pointee, vec![64]))
            }
            ParamKind::Scalar(ty) if ty.is_bool() => KernelArg::Scalar(Literal::Bool(true)),
            ParamKind::Scalar(ty) if ty.is_float() => KernelArg::Scalar(Literal::Float(1.5)),
            ParamKind::Scalar(_) => KernelArg::Scalar(Literal::Int(16)),
        })
        .collect()
}

/// Everything the fuzz targets do to one input; an error describes the first failure.
fn replay(text: &str) -> Result<usize, String> {
    let _ = tk::syntax::parse(text, Default::default());
    let source = Source {
        name: "fuzz.tk",
        text,
        loader: &NoFiles,
    };
    let program = driver::check_source(source.name, source.text, source.loader);
    if let Some(ice) = program.diagnostics.iter().find(|d| d.is_internal()) {
        return Err(format!("check: internal error: {}", ice.message));
    }
    // Rendering must not panic either (long lines, odd spans).
    let _ = tk::base::diag::render(&program.diagnostics, &program.sources, false);
    if program.has_errors() {
        return Ok(0);
    }
    let mut modules = 0;
    let kernels = program.checked.kernels.iter().filter(|k| {
        k.params.iter().all(|p| match &p.kind {
            KernelParamKind::Const { default, .. } => default.is_some(),
            KernelParamKind::Runtime(_) => true,
        })
    });
    for sig in kernels.take(3) {
        let lowered = match driver::lower_source(&source, &sig.name, &[]) {
            Ok(lowered) => lowered,
            Err(e) if e.is_internal() => return Err(format!("lower `{}`: {e}", sig.name)),
            Err(_) => continue,
        };
        let mut args = small_args(&lowered.module.kernel.params);
        match tk::interp::run_with_budget(&lowered.module, &mut args, [2, 1, 1], 1 << 20) {
            Err(e @ tk::interp::RunError::InvalidIr { .. })
            | Err(e @ tk::interp::RunError::BadArguments(_)) => {
                return Err(format!("interp `{}`: {e}", sig.name))
            }
            _ => {}
        }
        for safe in [true, false] {
            match driver::build_lowered(&lowered, &Target::portable(), &BuildOptions { safe }) {
                Ok(build) => {
                    validate_spirv(&build.artifact.words)
                        .map_err(|e| format!("kernel `{}` (safe: {safe}): {e}", sig.name))?;
                    modules += 1;
                }
                Err(e) if e.is_internal() => return Err(format!("compile `{}`: {e}", sig.name)),
                Err(_) => {}
            }
        }
    }
    Ok(modules)
}

#[test]
fn fuzz_corpus_and_crash_reproducers_replay_cleanly() {
    let mut files = Vec::new();
    for dir in [
        "corpus/parse",
        "corpus/check",
        "corpus/compile",
        "corpus/interp",
        "corpus/generated-tk",
        "artifacts",
    ] {
        files.extend(files_under(dir));
    }
    assert!(
        files.len() >= 100,
        "the fuzz corpus is missing: found {} files",
        files.len()
    );
    let mut failures = Vec::new();
    let mut modules = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        match replay(text) {
            Ok(n) => modules += n,
            Err(e) => failures.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        modules > 50,
        "only {modules} SPIR-V modules came out of the corpus"
    );
}

/// The launch a generated kernel expects, from its `// tk-fuzz generated:` header line.
struct Launch {
    block: u32,
    n: i32,
    s: f32,
    x: Vec<f32>,
    y: Vec<i32>,
}

fn parse_header(text: &str) -> Option<Launch> {
    let line = text.lines().next()?.strip_prefix("// tk-fuzz generated:")?;
    let field = |name: &str| -> Option<&str> {
        let at = line.find(&format!("{name}="))? + name.len() + 1;
        let rest = &line[at..];
        Some(rest[..rest.find(' ').unwrap_or(rest.len())].trim())
    };
    let list = |name: &str| -> Option<Vec<String>> {
        let text = field(name)?;
        Some(
            text.split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        )
    };
    Some(Launch {
        block: field("block")?.parse().ok()?,
        n: field("n")?.parse().ok()?,
        s: field("s")?.parse().ok()?,
        x: list("x")?
            .iter()
            .map(|v| v.parse().ok())
            .collect::<Option<_>>()?,
        y: list("y")?
            .iter()
            .map(|v| v.parse().ok())
            .collect::<Option<_>>()?,
    })
}

#[test]
fn generated_kernels_agree_on_interpreter_and_device() {
    let files = files_under("corpus/generated-tk");
    assert!(
        files.len() >= 20,
        "only {} generated kernels checked in",
        files.len()
    );
    let device = device();
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let launch = parse_header(&text)
            .unwrap_or_else(|| panic!("{}: no `// tk-fuzz generated:` header", file.display()));
        let args = vec![
            f32_buffer(&launch.x),
            i32_buffer(&launch.y),
            zeros(ScalarType::F32, launch.x.len()),
            zeros(ScalarType::I32, launch.y.len()),
            int(launch.n as i64),
            float(launch.s as f64),
        ];
        let grid = [(launch.n as u32).div_ceil(launch.block).max(1), 1, 1];
        let results: Vec<Result<Vec<KernelArg>, String>> =
            [Backend::Interp, Backend::Vulkan(&device)]
                .iter()
                .map(|backend| run_source(&text, "gen", &[], &args, grid, backend))
                .collect();
        match (&results[0], &results[1]) {
            (Ok(expected), Ok(actual)) => {
                let same_f = buffer(expected, 2)
                    .to_f32()
                    .iter()
                    .zip(buffer(actual, 2).to_f32())
                    .all(|(e, a)| *e == a || (e.is_nan() && a.is_nan()));
                if !same_f || buffer(expected, 3) != buffer(actual, 3) {
                    failures.push(format!(
                        "{}: interpreter and device differ:\n  out  {:?}\n  vs   {:?}\n  outi {:?}\n  vs   {:?}",
                        file.display(),
                        buffer(expected, 2).to_f32(),
                        buffer(actual, 2).to_f32(),
                        buffer(expected, 3).to_i32(),
                        buffer(actual, 3).to_i32()
                    ));
                }
            }
            (e, a) => failures.push(format!(
                "{}: interp {:?} / device {:?}",
                file.display(),
                e.as_ref().err(),
                a.as_ref().err()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
