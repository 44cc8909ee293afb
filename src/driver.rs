//! The pipeline glue shared by `tkc`, the tests and the benches: source files in, a checked
//! program, a Lowered module, a Scheduled module and an `Artifact` out. No printing.
//!
//! Each stage has its function (`check_source`, `lower`, `compile`) for callers that stop between
//! them (`tkc` parses consts against the checked signature, the API and `tkc run` put the kernel
//! cache between lowering and compiling). Callers that start from source text and want a kernel
//! go through `build` (or `lower_source` for the interpreter), the one place that chains them.
use crate::abi::{Artifact, Target};
use crate::base::{diag, Diagnostic, Diagnostics, Literal, SourceMap};
use crate::ir;
use crate::sema::{self, Checked, FileLoader};
use crate::spirv::EmitOptions;
use std::path::Path;

/// Reads `use`d files from disk.
pub struct DiskLoader;

impl FileLoader for DiskLoader {
    fn load(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
}

/// A checked source file with everything it uses.
pub struct Program {
    pub sources: SourceMap,
    pub checked: Checked,
    pub diagnostics: Diagnostics,
}

impl Program {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }
}

/// Checks source text; `name` is the path shown in diagnostics and the base of relative `use`s.
pub fn check_source(name: &str, text: &str, loader: &dyn FileLoader) -> Program {
    let mut sources = SourceMap::new();
    let main = sources.add(name, text);
    let (checked, diagnostics) = sema::check(&mut sources, main, loader);
    Program {
        sources,
        checked,
        diagnostics,
    }
}

/// Elaborates one kernel for the given consts and verifies the IR.
pub fn lower(
    program: &Program,
    kernel: &str,
    consts: &[(String, Literal)],
) -> Result<ir::Module, Diagnostics> {
    let (module, diagnostics) = sema::lower(&program.checked, kernel, consts);
    match module {
        Some(module) if !diagnostics.has_errors() => {
            ir::verify::verify(&module).map_err(|e| {
                Diagnostics::from(Diagnostic::internal(format!("lowered IR is invalid: {e}")))
            })?;
            Ok(module)
        }
        _ if diagnostics.has_errors() => Err(diagnostics),
        _ => Err(
            Diagnostic::internal(format!("kernel `{kernel}` produced no IR and no error")).into(),
        ),
    }
}

/// The largest divisibility a launch promises (`specialize`): 16, as Triton's, covers the widest
/// vector access (8 elements) while giving each parameter at most five variants.
pub const MAX_PROMISED_DIVISIBILITY: u64 = 16;

/// What launch arguments `args` (in parameter order) promise: per parameter, the largest power
/// of two up to `MAX_PROMISED_DIVISIBILITY` that divides an integer scalar's value (0 is
/// divisible by anything) or a non-empty buffer's element count; 1 for other scalars and empty
/// buffers. Launches with the same
/// promises can share one compiled specialisation.
pub fn promises(args: &[crate::base::KernelArg]) -> Vec<u64> {
    use crate::base::KernelArg;
    let divisor = |v: u128| -> u64 {
        if v == 0 {
            MAX_PROMISED_DIVISIBILITY
        } else {
            (1u64 << v.trailing_zeros().min(63)).min(MAX_PROMISED_DIVISIBILITY)
        }
    };
    args.iter()
        .map(|arg| match arg {
            // An empty buffer promises nothing: it holds no whole vector to read in its place.
            KernelArg::Buffer(buffer) if buffer.is_empty() => 1,
            KernelArg::Buffer(buffer) => divisor(buffer.len() as u128),
            KernelArg::Scalar(Literal::Int(v)) => divisor(v.unsigned_abs()),
            KernelArg::Scalar(_) => 1,
        })
        .collect()
}

/// Specialises a Lowered module for launches whose arguments make the promises of `args`
/// (`promises`), as Triton specialises integer arguments divisible by 16: the scheduling passes
/// may then prove vector accesses aligned and their masks the same across each vector
/// (`ir::Kernel::divisibility`). The caller launches the result only with arguments that keep
/// the promises; the kernel cache keys on them.
pub fn specialize(module: &mut ir::Module, args: &[crate::base::KernelArg]) {
    let promised = promises(args);
    module.kernel.divisibility = if promised.iter().all(|&d| d == 1) {
        Vec::new()
    } else {
        promised
    };
}

/// Specialises a Lowered module as `specialize` would for arguments whose integers and buffer
/// lengths are all divisible by `divisor` (`tkc build --divisible`).
pub fn specialize_all(module: &mut ir::Module, divisor: u64) {
    module.kernel.divisibility = module
        .kernel
        .params
        .iter()
        .map(|p| match p.kind {
            ir::ParamKind::Pointer { .. } => divisor,
            ir::ParamKind::Scalar(t) if t.is_int() => divisor,
            ir::ParamKind::Scalar(_) => 1,
        })
        .collect();
}

/// How many times `compile` has run in this process (the cache tests assert that a cache hit
/// compiles nothing).
pub static SPIRV_COMPILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs the scheduling passes on a Lowered module for `target` (`passes::run`): the Scheduled
/// module that `spirv::emit` takes.
pub fn schedule(lowered: ir::Module, target: &Target) -> Result<ir::Module, Diagnostic> {
    crate::passes::run(lowered, target)
}

/// Schedules a Lowered module for `target` and emits SPIR-V.
pub fn compile(
    lowered: ir::Module,
    target: &Target,
    safe: bool,
) -> Result<(ir::Module, Artifact), Diagnostic> {
    SPIRV_COMPILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let scheduled = schedule(lowered, target)?;
    // Aliased vector views only where a real device is the target: portable SPIR-V stays
    // translatable by naga.
    let vector_views = target.processor != crate::abi::Processor::Unknown;
    let artifact = crate::spirv::emit(&scheduled, target, &EmitOptions { safe, vector_views })?;
    Ok((scheduled, artifact))
}

/// Source text to build: `name` is the path diagnostics show and the base of relative `use`s,
/// which `loader` reads.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub loader: &'a dyn FileLoader,
}

impl<'a> Source<'a> {
    /// Source text whose `use`d files are read from disk.
    pub fn new(name: &'a str, text: &'a str) -> Source<'a> {
        Source {
            name,
            text,
            loader: &DiskLoader,
        }
    }
}

/// How `build` compiles for its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Safe mode: every access bounds-checked and every `device_assert` kept (the default;
    /// `tkc --unchecked` turns it off).
    pub safe: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions { safe: true }
    }
}

/// One kernel checked and lowered from source text: what the interpreter runs.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The program's files, to render diagnostics and locate spans (a failed `device_assert`).
    pub sources: SourceMap,
    pub module: ir::Module,
}

/// One kernel built from source text for one target, with every stage kept.
#[derive(Debug, Clone)]
pub struct Build {
    /// The program's files, to render diagnostics and locate spans (a failed `device_assert`).
    pub sources: SourceMap,
    pub lowered: ir::Module,
    pub scheduled: ir::Module,
    pub artifact: Artifact,
}

/// The stage a build stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `check_source`: the program has errors.
    Check,
    /// `lower`: the kernel does not elaborate for these consts.
    Lower,
    /// `compile`: scheduling or SPIR-V emission refused the kernel for this target.
    Compile,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Check => "check",
            Stage::Lower => "lower",
            Stage::Compile => "compile",
        })
    }
}

/// Why a build stopped: the diagnostics of the failed stage (warnings included at `Check`) with
/// the program's files, so the caller can render them.
#[derive(Clone)]
pub struct BuildError {
    pub stage: Stage,
    pub diagnostics: Diagnostics,
    pub sources: SourceMap,
}

impl BuildError {
    /// The diagnostics as text, with ANSI colours when `color` is set.
    pub fn render(&self, color: bool) -> String {
        diag::render(&self.diagnostics, &self.sources, color)
    }

    /// Whether a broken internal invariant, not the program, stopped the build.
    pub fn is_internal(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_internal)
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// The stage and the diagnostics; the sources (the embedded stdlib among them) are left out.
impl std::fmt::Debug for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildError")
            .field("stage", &self.stage)
            .field("diagnostics", &self.diagnostics)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for BuildError {}

/// Checks `source` and lowers `kernel` for `consts` (missing ones take their defaults).
pub fn lower_source(
    source: &Source,
    kernel: &str,
    consts: &[(&str, Literal)],
) -> Result<Lowered, BuildError> {
    let program = check_source(source.name, source.text, source.loader);
    if program.has_errors() {
        return Err(BuildError {
            stage: Stage::Check,
            diagnostics: program.diagnostics,
            sources: program.sources,
        });
    }
    let consts: Vec<(String, Literal)> = consts
        .iter()
        .map(|(name, value)| (name.to_string(), *value))
        .collect();
    match lower(&program, kernel, &consts) {
        Ok(module) => Ok(Lowered {
            sources: program.sources,
            module,
        }),
        Err(diagnostics) => Err(BuildError {
            stage: Stage::Lower,
            diagnostics,
            sources: program.sources,
        }),
    }
}

/// Checks `source`, lowers `kernel` for `consts`, schedules it for `target` and emits SPIR-V.
pub fn build(
    source: &Source,
    kernel: &str,
    consts: &[(&str, Literal)],
    target: &Target,
    options: &BuildOptions,
) -> Result<Build, BuildError> {
    let Lowered { sources, module } = lower_source(source, kernel, consts)?;
    finish_build(sources, module, target, options)
}

/// Schedules and emits a kernel `lower_source` gave, keeping it for more targets or modes.
pub fn build_lowered(
    lowered: &Lowered,
    target: &Target,
    options: &BuildOptions,
) -> Result<Build, BuildError> {
    finish_build(
        lowered.sources.clone(),
        lowered.module.clone(),
        target,
        options,
    )
}

fn finish_build(
    sources: SourceMap,
    lowered: ir::Module,
    target: &Target,
    options: &BuildOptions,
) -> Result<Build, BuildError> {
    match compile(lowered.clone(), target, options.safe) {
        Ok((scheduled, artifact)) => Ok(Build {
            sources,
            lowered,
            scheduled,
            artifact,
        }),
        Err(diagnostic) => Err(BuildError {
            stage: Stage::Compile,
            diagnostics: diagnostic.into(),
            sources,
        }),
    }
}

/// Parses a constant value given on the command line (`-D BLOCK=256`, `--arg n=4096`) for type `ty`.
pub fn parse_literal(text: &str, ty: crate::base::ScalarType) -> Result<Literal, String> {
    let text = text.trim();
    if ty.is_bool() {
        return match text {
            "true" | "1" => Ok(Literal::Bool(true)),
            "false" | "0" => Ok(Literal::Bool(false)),
            _ => Err(format!("`{text}` is not a bool (write true or false)")),
        };
    }
    if ty.is_float() {
        let value = match text {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            _ => text
                .replace('_', "")
                .parse::<f64>()
                .map_err(|_| format!("`{text}` is not a {ty} number"))?,
        };
        return Ok(Literal::Float(value));
    }
    let cleaned = text.replace('_', "");
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, cleaned.clone()),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16)
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i128::from_str_radix(bin, 2)
    } else {
        digits.parse::<i128>()
    }
    .map_err(|_| format!("`{text}` is not an integer"))?;
    let value = if negative { -magnitude } else { magnitude };
    let Some((min, max)) = ty.int_range() else {
        return Err(format!("`{text}` is not a {ty} value"));
    };
    if value < min || value > max {
        return Err(format!("{value} does not fit in {ty} ({min} to {max})"));
    }
    Ok(Literal::Int(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADD: &str = "kernel add(x: *mut f32, n: i32) {
    let offs = program_id(0) * 64 + arange(0, 64);
    store(x + offs, load(x + offs, mask: offs < n) + 1.0, mask: offs < n);
}
";

    fn build_add(text: &str, kernel: &str, target: &Target) -> Result<Build, BuildError> {
        let source = Source::new("add.tk", text);
        build(&source, kernel, &[], target, &BuildOptions::default())
    }

    #[test]
    fn a_build_keeps_every_stage() {
        let build = build_add(ADD, "add", &Target::portable()).unwrap();
        assert_eq!(build.lowered.kernel.name, "add");
        assert!(build.lowered.kernel.schedule.is_none());
        assert!(build.scheduled.kernel.schedule.is_some());
        assert_eq!(build.artifact.abi.kernel, "add");
        assert_eq!(build.sources.files[0].name, "add.tk");
        // The same lowering built again unchecked: the bounds checks go, the kernel stays.
        let lowered = lower_source(&Source::new("add.tk", ADD), "add", &[]).unwrap();
        let unchecked =
            build_lowered(&lowered, &Target::portable(), &BuildOptions { safe: false }).unwrap();
        assert_eq!(unchecked.lowered, build.lowered);
        assert_ne!(unchecked.artifact.words, build.artifact.words);
    }

    #[test]
    fn a_build_error_names_its_stage_and_renders_against_the_sources() {
        let error = build_add(
            "kernel add(x: *mut f32) { nope }",
            "add",
            &Target::portable(),
        )
        .unwrap_err();
        assert_eq!(error.stage, Stage::Check);
        assert!(error.render(false).contains("add.tk:1:"), "{error}");

        let error = build_add(ADD, "sub", &Target::portable()).unwrap_err();
        assert_eq!(error.stage, Stage::Lower);
        assert!(
            error.diagnostics.iter().any(|d| d.code == "E0211"),
            "{error:?}"
        );

        let mut small = Target::portable();
        small.max_threads = 32;
        let threads = format!("#[threads(64)]\n{ADD}");
        let error = build_add(&threads, "add", &small).unwrap_err();
        assert_eq!(error.stage, Stage::Compile);
        assert!(error.to_string().contains("error[E0607]"), "{error}");
        assert!(error.to_string().contains("add.tk:1:1"), "{error}");
        assert!(!error.is_internal());
    }

    use crate::base::{HostBuffer, KernelArg, Literal};

    #[test]
    fn promises_follow_the_arguments() {
        let buffer = |n: usize| KernelArg::Buffer(HostBuffer::from_f32(&vec![0.0; n], vec![n]));
        let args = [
            buffer(48),
            buffer(6),
            buffer(0),
            KernelArg::Scalar(Literal::Int(0)),
            KernelArg::Scalar(Literal::Int(-24)),
            KernelArg::Scalar(Literal::Int(7)),
            KernelArg::Scalar(Literal::Float(16.0)),
        ];
        // 48 = 16·3; 6 = 2·3; an empty buffer promises nothing (it holds no whole vector to
        // stand in for a masked one); 0 is divisible by anything; signs do not matter; floats
        // promise nothing.
        assert_eq!(promises(&args), vec![16, 2, 1, 16, 8, 1, 1]);
    }
}
