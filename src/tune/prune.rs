//! Step 1 of the search: every combination of tile-const values, lowered and pruned where it
//! cannot be right or is too big (`search`'s module doc lists the rules).
use super::cost;
use super::search::{summary, Candidate, Context, Prune, Verdict};
use super::space::{self, TileConst, Visit};
use super::Config;
use crate::base::{KernelArg, Literal};
use crate::ir;

/// Largest tile (elements) a candidate may have.
const MAX_TILE_ELEMENTS: u64 = 1 << 20;

/// A combination of tile-const values that survived: its config (no knobs yet), its Lowered
/// module and its program count.
pub(super) struct Combo {
    pub config: Config,
    pub module: ir::Module,
    pub programs: u64,
}

/// Lowers every combination of `tile_consts` values and prunes; the survivors, and the pruned
/// candidates with their reasons. `defaults` is the kernel at its defaults, launched over `grid`.
pub(super) fn combos(
    cx: &Context,
    tile_consts: &[TileConst],
    defaults: &ir::Kernel,
    grid: [u32; 3],
) -> (Vec<Combo>, Vec<Candidate>) {
    let extent = problem_extent(cx.args);
    let needed = needed_elements(defaults, cx.args, grid);
    let values: Vec<Vec<i128>> = tile_consts
        .iter()
        .map(|_| space::powers_of_two(MAX_TILE_ELEMENTS as i128))
        .collect();
    let mut combos = Vec::new();
    let mut pruned = Vec::new();
    space::enumerate(&values, &mut |combo| {
        let config = Config {
            consts: tile_consts
                .iter()
                .zip(combo)
                .map(|(c, &v)| (c.name.clone(), Literal::Int(v)))
                .collect(),
            knobs: Vec::new(),
        };
        let (visit, prune, why) = match cx.lower(&config) {
            Err(d) => (Visit::Done, Prune::DoesNotCompile, summary(&d)),
            Ok(module) => match prune_combo(cx, &module, extent, needed) {
                Ok(programs) => {
                    combos.push(Combo {
                        config,
                        module,
                        programs,
                    });
                    return Visit::Done;
                }
                Err(pruned) => pruned,
            },
        };
        pruned.push(Candidate {
            config,
            estimate: None,
            verdict: Verdict::Pruned(prune, why),
        });
        visit
    });
    (combos, pruned)
}

/// The largest integer scalar argument rounded up to a power of two: no tile dim needs to be
/// longer (2^20 when there is none).
fn problem_extent(args: &[KernelArg]) -> u32 {
    args.iter()
        .filter_map(|a| match a {
            KernelArg::Scalar(Literal::Int(v)) if *v > 0 => Some(*v),
            _ => None,
        })
        .max()
        .map_or(MAX_TILE_ELEMENTS as u32, |v| {
            (v.min(MAX_TILE_ELEMENTS as i128) as u32).next_power_of_two()
        })
}

/// Elements a correct candidate must be able to store: what the defaults store (whole tiles),
/// or the elements of the writable buffers when fewer. `None` when a loop's trip count is
/// unknown (coverage is then not checked).
fn needed_elements(kernel: &ir::Kernel, args: &[KernelArg], grid: [u32; 3]) -> Option<f64> {
    let programs = grid.iter().map(|&g| g as u64).product();
    let stored = cost::stored_elements(kernel, args, programs)?;
    let writable: f64 = kernel
        .params
        .iter()
        .zip(args)
        .filter_map(|(p, a)| match (p.kind, a) {
            (ir::ParamKind::Pointer { mutable: true, .. }, KernelArg::Buffer(b)) => {
                Some(b.len() as f64)
            }
            _ => None,
        })
        .sum();
    Some(if writable > 0.0 {
        stored.min(writable)
    } else {
        stored
    })
}

/// Prunes a lowered tile-const combination, or gives its program count. A pruned one comes
/// with whether it is too big (larger values are too) and why.
fn prune_combo(
    cx: &Context,
    module: &ir::Module,
    extent: u32,
    needed: Option<f64>,
) -> Result<u64, (Visit, Prune, String)> {
    let (kernel, args) = (&module.kernel, cx.args);
    let largest = space::largest_tile(kernel);
    if largest > MAX_TILE_ELEMENTS {
        return Err((
            Visit::TooBig,
            Prune::TooLarge,
            format!("a tile of {largest} elements, more than 2^20"),
        ));
    }
    let longest = space::longest_dim(kernel);
    if longest > extent {
        return Err((
            Visit::TooBig,
            Prune::LongerThanProblem,
            format!("a tile dim of {longest}, longer than every size given ({extent})"),
        ));
    }
    let grid =
        (cx.grid_for)(kernel, args).map_err(|why| (Visit::Done, Prune::DoesNotCompile, why))?;
    let programs: u64 = grid.iter().map(|&g| g as u64).product();
    if let (Some(needed), Some(stored)) = (needed, cost::stored_elements(kernel, args, programs)) {
        if stored < needed * 2.0 / 3.0 {
            return Err((
                Visit::Done,
                Prune::Coverage,
                format!(
                    "its stores reach {stored} elements, fewer than the {needed} the defaults \
                     write"
                ),
            ));
        }
        if stored >= needed * 2.0 {
            return Err((
                Visit::TooBig,
                Prune::Masked,
                format!("half its stored lanes or more are masked off ({stored} for {needed})"),
            ));
        }
    }
    Ok(programs)
}
