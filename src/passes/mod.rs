//! The scheduling pipeline: takes Lowered IR and produces Scheduled IR (workgroup size, a layout
//! for every tile, layout conversions, shared memory). `run` lists the passes in order.
use crate::abi::Target;
use crate::base::Diagnostic;
use crate::ir;

pub fn run(module: ir::Module, target: &Target) -> Result<ir::Module, Diagnostic> {
    let _ = target;
    Ok(module)
}
