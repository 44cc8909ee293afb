//! Pass 1: the workgroup size (invocations per program instance).
//!
//! `#[threads(N)]` wins when it is a power of two within the device limit (beyond it: E0607 at
//! the attribute). Otherwise the heuristic
//! gives every invocation about four elements of the largest tile: `elements / 4`, rounded to a
//! power of two and clamped to `[32, min(256, max_threads)]` (32 keeps small kernels cheap on every
//! subgroup size; 256 bounds register pressure on lavapipe and GPUs alike). A kernel without tiles
//! gets the lower bound. On a CPU device (`Processor::Cpu`) the workgroup is one subgroup.
use super::layouts::for_each_inst;
use crate::abi::{Processor, Target};
use crate::base::Diagnostic;
use crate::ir::{InstKind, Kernel};

pub fn choose_threads(kernel: &Kernel, target: &Target) -> Result<u32, Diagnostic> {
    let max = target.max_threads.max(1);
    if let Some(n) = kernel.threads {
        if n == 0 || !n.is_power_of_two() || n > max {
            let largest_allowed = prev_power_of_two(max);
            let message = if n > max {
                format!(
                    "`#[threads({n})]` needs {n} invocations per workgroup, more than the {max} \
                     of the device `{}`",
                    target.name
                )
            } else {
                format!("`#[threads({n})]` is not a power of two between 1 and {max}")
            };
            let mut diag = Diagnostic::error("E0607", message).with_help(format!(
                "use `#[threads({largest_allowed})]` or fewer: the device `{}` allows at most \
                 {max} invocations per workgroup (maxComputeWorkGroupInvocations)",
                target.name
            ));
            diag = match kernel.threads_span {
                Some(span) => diag.with_label(span, format!("{n} invocations asked for here")),
                // Without the attribute's place (IR built by hand), point at the kernel's first
                // instruction.
                None => match kernel.body.insts.first() {
                    Some(&first) => diag.with_label(kernel.span(first), "in this kernel"),
                    None => diag,
                },
            };
            return Err(diag);
        }
        return Ok(n);
    }
    let mut largest = 0u64;
    for_each_inst(&kernel.body, kernel, &mut |id| {
        if let Some(ty) = &kernel.insts[id].ty {
            if !matches!(kernel.insts[id].kind, InstKind::Param(_)) {
                largest = largest.max(ty.num_elements());
            }
        }
    });
    if target.processor == Processor::Cpu {
        // A CPU device runs one subgroup as one SIMD loop: a workgroup of one subgroup wastes no
        // lanes, needs no barriers, and gives each invocation many elements (docs/decisions.md, "Scheduling decisions").
        let subgroup = target.subgroup_size.unwrap_or(8).max(1);
        let wanted = (largest / 4).max(1).next_power_of_two().min(1 << 20) as u32;
        return Ok(wanted
            .min(prev_power_of_two(subgroup))
            .min(prev_power_of_two(max))
            .max(1));
    }
    let upper = 256.min(prev_power_of_two(max)).max(1);
    let lower = 32.min(upper);
    let wanted = (largest / 4).max(1).next_power_of_two().min(1 << 20) as u32;
    Ok(wanted.clamp(lower, upper))
}

fn prev_power_of_two(n: u32) -> u32 {
    if n == 0 {
        0
    } else {
        1 << (31 - n.leading_zeros())
    }
}
