//! The pipeline glue shared by `tkc`, the tests and the benches: source files in, a checked
//! program, a Lowered module, a Scheduled module and an `Artifact` out. No printing.
use crate::abi::{Artifact, Target};
use crate::base::{Diagnostic, Diagnostics, Literal, SourceMap};
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
