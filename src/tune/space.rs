//! The search space of the schedule search: the scheduling knobs, the const parameters that size
//! tiles, and the enumeration of their values with pruning of whole ranges that are too big.
//!
//! - **Knobs** (`KNOBS`) are scheduling choices that a config sets beside the consts, each with
//!   its candidate values for a kernel on a target and the way it applies to a Lowered module.
//!   `threads` (the workgroup size), `stages` (buffers per staged `dot`) and `vector` (the widest
//!   memory access) are the knobs; a new knob is one more entry.
//! - **Tile consts** are the integer const parameters whose value changes the shape of some tile
//!   (they flow into `arange` bounds, `zeros`/`full` shapes, block types, reshapes): found by
//!   lowering the kernel at the const's value and at twice (or half) of it and comparing the
//!   tile shapes. Their candidates are powers of two; the other consts keep their values.
//! - **Enumeration** (`enumerate`) walks the combinations of tile-const values in increasing
//!   order and, when a combination is too big (a monotone property: larger values only make
//!   tiles larger), skips every larger value of that const.
use crate::abi::{Processor, Target};
use crate::base::{Literal, ScalarType};
use crate::driver::{self, Program};
use crate::ir::{self, InstKind};
use crate::sema::KernelParamKind;

/// A scheduling knob of the search and of `#[autotune]` configs.
pub struct Knob {
    /// The name configs use (`{threads = 64}`).
    pub name: &'static str,
    /// The values worth trying for a Lowered kernel on a target.
    pub candidates: fn(&ir::Kernel, &Target) -> Vec<u32>,
    /// Sets the knob on a Lowered kernel.
    pub apply: fn(&mut ir::Kernel, u32),
    /// The value a Scheduled kernel ended up with (what the scheduler chose when no config set
    /// the knob).
    pub chosen: fn(&ir::Kernel, &Target) -> Option<u32>,
}

/// Every knob, in the order configs list them.
pub static KNOBS: &[Knob] = &[
    Knob {
        name: "threads",
        candidates: thread_candidates,
        apply: |kernel, threads| kernel.threads = Some(threads),
        chosen: |kernel, _| kernel.schedule.as_ref().map(|s| s.threads),
    },
    Knob {
        name: "stages",
        candidates: stage_candidates,
        apply: |kernel, stages| kernel.stages = Some(stages),
        chosen: chosen_stages,
    },
    Knob {
        name: "vector",
        candidates: vector_candidates,
        apply: |kernel, vector| kernel.vector = Some(vector),
        chosen: chosen_vector,
    },
];

/// The knob called `name`.
pub fn knob(name: &str) -> Option<&'static Knob> {
    KNOBS.iter().find(|k| k.name == name)
}

/// Workgroup sizes worth trying: powers of two up to the device's limit and to the largest tile
/// (beyond it invocations only hold replicas). A CPU device tries one to four subgroups (fewer
/// invocations leave SIMD lanes idle; more add barriers between the SIMD groups, which its
/// scheduler avoids by choosing one); a GPU from 32 (a warp) to 1,024.
pub fn thread_candidates(kernel: &ir::Kernel, target: &Target) -> Vec<u32> {
    let largest = largest_tile(kernel).max(1).next_power_of_two();
    let (low, cap) = match target.processor {
        Processor::Cpu => {
            let simd = target.subgroup_size.unwrap_or(8).max(1);
            (simd, 4 * simd)
        }
        Processor::Gpu | Processor::Unknown => (32, 1024),
    };
    let high = cap
        .min(target.max_threads.max(1))
        .min(u32::try_from(largest).unwrap_or(u32::MAX))
        .max(1);
    std::iter::successors(Some(low.min(high)), |t| t.checked_mul(2))
        .take_while(|&t| t <= high)
        .collect()
}

/// Buffers per staged `dot` worth trying: one or two (double buffering) where a GPU stages a
/// `dot` in shared memory; none (the knob is left out) for kernels without `dot` and on CPU
/// devices, which keep `dot` in registers.
pub fn stage_candidates(kernel: &ir::Kernel, target: &Target) -> Vec<u32> {
    let has_dot = kernel
        .insts
        .iter()
        .any(|(_, inst)| matches!(inst.kind, InstKind::Dot { .. }));
    if has_dot && target.processor != Processor::Cpu {
        vec![1, 2]
    } else {
        Vec::new()
    }
}

/// The widest memory access worth trying, in elements: the target's widest and half of it, for
/// kernels without `dot` (memory-bound ones, where the access width is the schedule's main
/// choice: on lavapipe 8-element `u64vec4` views against 4-element ones trade fewer lane loops
/// for more registers); none (the knob is left out) for kernels with `dot`, whose search space is
/// large already.
pub fn vector_candidates(kernel: &ir::Kernel, target: &Target) -> Vec<u32> {
    let has_dot = kernel
        .insts
        .iter()
        .any(|(_, inst)| matches!(inst.kind, InstKind::Dot { .. }));
    let widest = crate::passes::vectors::widest_vector(target);
    if has_dot || widest < 2 {
        Vec::new()
    } else {
        vec![widest / 2, widest]
    }
}

/// The widest memory access a kernel was scheduled with: its `vector`, else the target's.
fn chosen_vector(kernel: &ir::Kernel, target: &Target) -> Option<u32> {
    let widest = crate::passes::vectors::widest_vector(target);
    Some(kernel.vector.map_or(widest, |v| v.min(widest)))
}

/// The buffers the staged `dot`s of a Scheduled kernel rotate through (the most of any).
fn chosen_stages(kernel: &ir::Kernel, _: &Target) -> Option<u32> {
    let schedule = kernel.schedule.as_ref()?;
    schedule
        .plans
        .iter()
        .filter_map(|plan| match plan {
            Some(ir::schedule::Plan::Dot(ir::schedule::DotPlan::Staged(s))) => Some(s.stages),
            Some(ir::schedule::Plan::Dot(ir::schedule::DotPlan::CooperativeTiles(s))) => {
                Some(s.stages)
            }
            _ => None,
        })
        .max()
}

/// Every combination of knob values for `kernel` on `target` (the product of the knobs'
/// candidates), each in `KNOBS` order.
pub fn knob_settings(kernel: &ir::Kernel, target: &Target) -> Vec<Vec<(String, u32)>> {
    let mut settings: Vec<Vec<(String, u32)>> = vec![Vec::new()];
    for knob in KNOBS {
        let values = (knob.candidates)(kernel, target);
        if values.is_empty() {
            // Nothing to choose: the scheduler's default stands.
            continue;
        }
        settings = settings
            .into_iter()
            .flat_map(|setting| {
                values.iter().map(move |&v| {
                    let mut next = setting.clone();
                    next.push((knob.name.to_string(), v));
                    next
                })
            })
            .collect();
    }
    settings
}

/// Elements of the largest tile of a kernel (values and locals).
pub fn largest_tile(kernel: &ir::Kernel) -> u64 {
    tile_shapes(kernel)
        .iter()
        .map(|s| s.iter().map(|&d| d as u64).product::<u64>())
        .max()
        .unwrap_or(1)
}

/// The longest dim of any tile of a kernel.
pub fn longest_dim(kernel: &ir::Kernel) -> u32 {
    tile_shapes(kernel)
        .iter()
        .flat_map(|s| s.iter().copied())
        .max()
        .unwrap_or(1)
}

/// The distinct tile shapes of a kernel's values and locals, sorted.
fn tile_shapes(kernel: &ir::Kernel) -> Vec<Vec<u32>> {
    let values = kernel
        .insts
        .iter()
        .filter(|(_, inst)| !matches!(inst.kind, InstKind::Param(_)))
        .filter_map(|(_, inst)| inst.ty.as_ref());
    let locals = kernel.locals.iter().map(|(_, local)| &local.ty);
    let mut shapes: Vec<Vec<u32>> = values
        .chain(locals)
        .filter(|ty| !ty.is_scalar())
        .map(|ty| ty.shape.clone())
        .collect();
    shapes.sort();
    shapes.dedup();
    shapes
}

/// A const parameter that sizes tiles, and the value the search starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct TileConst {
    pub name: String,
    pub ty: ScalarType,
    pub value: i128,
}

/// The const parameters of `kernel` that size tiles: integer consts not fixed by `base` (the
/// user's `-D`), whose value (default) is a power of two, and whose doubling (or halving) changes
/// the set of tile shapes of the Lowered kernel. `lowered` is the kernel lowered with `base`.
pub fn tile_consts(
    program: &Program,
    kernel: &str,
    base: &[(String, Literal)],
    lowered: &ir::Kernel,
) -> Vec<TileConst> {
    let Some(sig) = program.checked.kernels.iter().find(|k| k.name == kernel) else {
        return Vec::new();
    };
    let shapes = tile_shapes(lowered);
    let mut found = Vec::new();
    for param in &sig.params {
        let KernelParamKind::Const { ty, default } = &param.kind else {
            continue;
        };
        if ty.is_float() || ty.is_bool() || base.iter().any(|(n, _)| *n == param.name) {
            continue;
        }
        let Some(Literal::Int(value)) = *default else {
            continue;
        };
        if value < 1 || value.count_ones() != 1 {
            continue;
        }
        let changes_shapes = |probe: i128| {
            let mut consts = base.to_vec();
            consts.push((param.name.clone(), Literal::Int(probe)));
            driver::lower(program, kernel, &consts)
                .ok()
                .map(|m| tile_shapes(&m.kernel) != shapes)
        };
        let sizes = changes_shapes(value * 2)
            .or_else(|| (value >= 2).then(|| changes_shapes(value / 2)).flatten())
            .unwrap_or(false);
        if sizes {
            found.push(TileConst {
                name: param.name.clone(),
                ty: *ty,
                value,
            });
        }
    }
    found
}

/// What the enumeration learns of one combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Kept or pruned for a reason that says nothing of larger values.
    Done,
    /// Too big: every combination with a larger value of any const is too.
    TooBig,
}

/// Calls `visit` on every combination of `values` (one list per const, each increasing) that is
/// not known too big, in lexicographic order. When a combination is too big, the larger values
/// of its last const are skipped, and so are the larger values of an outer const whose smallest
/// inner combination was too big.
pub fn enumerate(values: &[Vec<i128>], visit: &mut dyn FnMut(&[i128]) -> Visit) {
    fn walk(
        values: &[Vec<i128>],
        prefix: &mut Vec<i128>,
        visit: &mut dyn FnMut(&[i128]) -> Visit,
    ) -> bool {
        let level = prefix.len();
        if level == values.len() {
            return visit(prefix) == Visit::Done;
        }
        let mut smallest_fits = false;
        for (i, &value) in values[level].iter().enumerate() {
            prefix.push(value);
            let fits = walk(values, prefix, visit);
            prefix.pop();
            if i == 0 {
                smallest_fits = fits;
            }
            if !fits {
                break;
            }
        }
        smallest_fits
    }
    walk(values, &mut Vec::new(), visit);
}

/// The powers of two from 1 to `max`.
pub fn powers_of_two(max: i128) -> Vec<i128> {
    std::iter::successors(Some(1i128), |v| v.checked_mul(2))
        .take_while(|&v| v <= max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumeration_skips_what_is_too_big() {
        // Too big when the product passes 16: a monotone property.
        let values = vec![powers_of_two(64), powers_of_two(64)];
        let mut seen = Vec::new();
        enumerate(&values, &mut |combo| {
            seen.push(combo.to_vec());
            if combo[0] * combo[1] > 16 {
                Visit::TooBig
            } else {
                Visit::Done
            }
        });
        let fitting: Vec<_> = seen.iter().filter(|c| c[0] * c[1] <= 16).collect();
        assert_eq!(fitting.len(), 15, "every fitting pair is visited");
        // Each of the rows 1 to 16 stops at its first pair too big, and the row of 32, whose
        // smallest pair is too big, ends the walk: 15 fitting pairs and 6 too big.
        assert_eq!(seen.len(), 21, "{seen:?}");
        assert_eq!(seen.last(), Some(&vec![32, 1]));
    }

    #[test]
    fn tile_consts_are_those_that_shape_tiles() {
        let source = concat!(
            include_str!("../../benches/kernels/matmul_autotune.tk"),
            "
            #[grid(cdiv(n, BLOCK))]
            kernel scaled(x: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 64,
                          const SCALE: i32 = 4, const UNROLL: i32 = 2, const EPS: f32 = 0.5) {
                static_assert(UNROLL <= 4, \"unrolled at most four times\");
                let offs = program_id(0) * BLOCK + arange(0, BLOCK);
                let mut v = load(x + offs, mask: offs < n);
                for i in static_range(0, UNROLL) { v = v * (SCALE as f32) + EPS; }
                store(out + offs, v, mask: offs < n);
            }"
        );
        let program = driver::check_source("k.tk", source, &crate::driver::DiskLoader);
        assert!(!program.has_errors(), "{:?}", program.diagnostics);
        let names = |kernel: &str, base: &[(String, Literal)]| -> Vec<String> {
            let lowered = driver::lower(&program, kernel, base).unwrap();
            tile_consts(&program, kernel, base, &lowered.kernel)
                .into_iter()
                .map(|c| c.name)
                .collect()
        };
        assert_eq!(names("matmul", &[]), ["BLOCK_M", "BLOCK_N", "BLOCK_K"]);
        // A `-D` fixes a const: the search leaves it alone.
        let fixed = [("BLOCK_N".to_string(), Literal::Int(64))];
        assert_eq!(names("matmul", &fixed), ["BLOCK_M", "BLOCK_K"]);
        // Scalars, unrolled loop counts and floats do not shape tiles.
        assert_eq!(names("scaled", &[]), ["BLOCK"]);
    }

    #[test]
    fn threads_stay_within_the_device_and_the_tile() {
        let mut kernel = ir::Kernel::new("k");
        kernel.insts.alloc(ir::Inst {
            kind: InstKind::Arange { start: 0 },
            ty: Some(ir::Type::tile(ScalarType::I32, vec![64])),
        });
        let mut cpu = Target::portable();
        cpu.processor = Processor::Cpu;
        cpu.subgroup_size = Some(8);
        cpu.max_threads = 1024;
        assert_eq!(thread_candidates(&kernel, &cpu), [8, 16, 32]);
        let mut gpu = cpu.clone();
        gpu.processor = Processor::Gpu;
        gpu.max_threads = 256;
        assert_eq!(thread_candidates(&kernel, &gpu), [32, 64]);
        kernel.insts.alloc(ir::Inst {
            kind: InstKind::Arange { start: 0 },
            ty: Some(ir::Type::tile(ScalarType::I32, vec![4096])),
        });
        assert_eq!(thread_candidates(&kernel, &gpu), [32, 64, 128, 256]);
        // Four workgroup sizes by two access widths; no `dot`, so no stages.
        let settings = knob_settings(&kernel, &gpu);
        assert_eq!(settings.len(), 8);
        assert_eq!(
            settings[0],
            vec![("threads".to_string(), 32), ("vector".to_string(), 2)]
        );
    }

    #[test]
    fn stages_and_vector_are_tried_where_they_choose_something() {
        let tile = |kernel: &mut ir::Kernel, kind: InstKind| {
            kernel.insts.alloc(ir::Inst {
                kind,
                ty: Some(ir::Type::tile(ScalarType::F32, vec![16, 16])),
            })
        };
        let mut memory_bound = ir::Kernel::new("k");
        let a = tile(&mut memory_bound, InstKind::Arange { start: 0 });
        let (mut cpu, mut gpu) = (Target::cpu(), Target::gpu());
        cpu.features.int64 = true;
        gpu.features.int64 = true;
        assert_eq!(vector_candidates(&memory_bound, &cpu), [4, 8]);
        assert_eq!(vector_candidates(&memory_bound, &gpu), [2, 4]);
        assert!(stage_candidates(&memory_bound, &gpu).is_empty());
        let mut with_dot = memory_bound.clone();
        tile(&mut with_dot, InstKind::Dot { a, b: a, acc: a });
        assert!(vector_candidates(&with_dot, &gpu).is_empty());
        assert_eq!(stage_candidates(&with_dot, &gpu), [1, 2]);
        // A CPU device keeps `dot` in registers: nothing to stage.
        assert!(stage_candidates(&with_dot, &cpu).is_empty());
        // The scheduler's choices, as the defaults' configuration names them.
        let mut capped = memory_bound.clone();
        capped.vector = Some(2);
        assert_eq!(chosen_vector(&capped, &cpu), Some(2));
        assert_eq!(chosen_vector(&memory_bound, &cpu), Some(8));
    }
}
