//! SPIR-V emission with rspirv: Scheduled IR to a compute shader plus its ABI.
use crate::abi::{Artifact, Target};
use crate::base::Diagnostic;
use crate::ir;

#[derive(Debug, Clone)]
pub struct EmitOptions {
    /// Bounds-check every access and report the first violation (the default; `--unchecked` off).
    pub safe: bool,
}

pub fn emit(
    module: &ir::Module,
    target: &Target,
    options: &EmitOptions,
) -> Result<Artifact, Diagnostic> {
    let _ = (module, target, options);
    Err(Diagnostic::internal("spirv::emit is not written yet"))
}
