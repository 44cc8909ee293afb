//! The scheduling pipeline: takes Lowered IR and produces Scheduled IR (workgroup size, a layout
//! for every tile, layout conversions, shared memory). `run` lists the passes in order.
pub mod axis;
pub mod dot;
pub mod layouts;
pub mod shared;
pub mod threads;

use crate::abi::Target;
use crate::base::Diagnostic;
use crate::ir::{self, Schedule, Stage};

/// Runs the scheduling passes in order: choose the workgroup size, assign layouts (inserting
/// layout conversions), then size the shared memory.
pub fn run(module: ir::Module, target: &Target) -> Result<ir::Module, Diagnostic> {
    let mut module = module;
    check(&module, "input")?;
    layouts::forget_local_maps();

    let threads = threads::choose_threads(&module.kernel, target)?;
    module.kernel.schedule = Some(Schedule {
        threads,
        layouts: Vec::new(),
        local_layouts: Vec::new(),
        shared_bytes: 0,
        coop: None,
    });

    // CPU devices compute `dot` in registers (no barriers); GPUs stage it in shared memory.
    let register_dot = target.processor == crate::abi::Processor::Cpu;
    layouts::assign_layouts(&mut module.kernel, threads, register_dot);
    module.kernel.stage = Stage::Scheduled;
    check(&module, "assign_layouts")?;

    shared::size_shared_memory(&mut module.kernel, target)?;
    check(&module, "size_shared_memory")?;
    Ok(module)
}

/// Runs the IR verifier after a pass in debug builds; a failure is a compiler bug.
fn check(module: &ir::Module, after: &str) -> Result<(), Diagnostic> {
    if cfg!(debug_assertions) {
        ir::verify::verify(module).map_err(|message| {
            Diagnostic::internal(format!("IR verification failed after {after}: {message}"))
        })?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
