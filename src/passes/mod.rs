//! The scheduling pipeline: takes Lowered IR and produces Scheduled IR (workgroup size, a layout
//! for every tile, layout conversions, and a plan for every instruction that has a choice of how
//! to run, with the shared memory each needs: `ir::schedule`). `run` lists the passes in order.
pub mod axis;
pub mod bounds;
pub mod coop;
pub mod dot;
pub mod layouts;
pub mod pad;
pub mod shared;
pub mod streams;
pub mod threads;
pub mod vectors;

use crate::abi::Target;
use crate::base::Diagnostic;
use crate::ir::{self, Schedule, Stage};

/// Runs the scheduling passes in order: round tiles up to power-of-two dims (masking the
/// padding), choose the workgroup size, assign layouts (inserting layout conversions), plan the
/// vector width of loads and stores, prove what accesses a launch contract keeps inside their
/// buffers (safe mode checks those once per launch), plan the work across
/// invocations and size the scratch, place the staged `dot`s' buffers, keep the accumulators
/// of cooperative `dot`s in cooperative matrices where the subgroups can hold them, then (CPU
/// devices) plan the streams.
pub fn run(module: ir::Module, target: &Target) -> Result<ir::Module, Diagnostic> {
    let mut module = module;
    check(&module, "input")?;
    pad::pad_tiles(&mut module.kernel);
    check(&module, "pad_tiles")?;
    crate::ir::layout::forget_local_maps();

    let threads = threads::choose_threads(&module.kernel, target)?;
    module.kernel.schedule = Some(Schedule::new(
        threads,
        target.max_shared_bytes,
        shared::one_subgroup(threads, target),
    ));

    // CPU devices compute `dot` in registers (no barriers); GPUs stage it in shared memory.
    let register_dot = target.processor == crate::abi::Processor::Cpu;
    let widest = vectors::widest_vector(target).min(module.kernel.vector.unwrap_or(u32::MAX));
    let cooperative = dot::coop_plan(&module.kernel, threads, target)
        .map(|(_, dots)| dots)
        .unwrap_or_default();
    layouts::assign_layouts(
        &mut module.kernel,
        threads,
        register_dot,
        widest,
        &cooperative,
    );
    module.kernel.stage = Stage::LaidOut;
    check(&module, "assign_layouts")?;

    vectors::plan_accesses(&mut module.kernel, widest);
    check(&module, "plan_accesses")?;

    bounds::prove_accesses(&mut module.kernel);
    check(&module, "prove_accesses")?;

    shared::plan_shared_memory(&mut module.kernel, target)?;
    check(&module, "plan_shared_memory")?;

    dot::place_staging(&mut module.kernel, target)?;
    check(&module, "place_staging")?;

    coop::keep_in_matrices(&mut module.kernel, target)?;
    check(&module, "keep_in_matrices")?;

    streams::plan_streams(&mut module.kernel, target);
    module.kernel.stage = Stage::Scheduled;
    check(&module, "plan_streams")?;
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
