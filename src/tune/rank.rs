//! Step 2 of the search: the model. Every candidate (a surviving combination with each knob
//! setting) gets the cheap lower bound of its cost (`cost::lower_bound`); they are scheduled and
//! estimated in order of it, a batch at a time on every core, until the bound passes the
//! `keep`-th best estimate (no later candidate can beat it) or the modelling time is up. The
//! defaults' configuration is always modelled.
use super::cost;
use super::prune::Combo;
use super::search::{
    apply_knobs, predicted, summary, Candidate, Context, OnSearch, Prune, SearchEvent, Unmodelled,
    Verdict,
};
use super::space::{self, TileConst};
use super::Config;
use crate::base::Diagnostics;
use crate::driver;
use std::time::Instant;

/// Schedules and estimates the candidates of `combos`; the modelled ones by predicted time,
/// and how many were not modelled. Pruned candidates join `pruned`.
pub(super) fn rank(
    cx: &Context,
    tile_consts: &[TileConst],
    combos: &[Combo],
    defaults: Option<&Config>,
    pruned: &mut Vec<Candidate>,
    on_event: &mut OnSearch<'_>,
) -> Result<(Vec<Candidate>, Unmodelled), String> {
    let (target, machine, args, options) = (&cx.target, &cx.machine, cx.args, cx.options);
    // Every combination with every knob setting, with the model's lower bound: cheap, so all of
    // them; the registers before scheduling bound those after, so too many prune already.
    let mut queue: Vec<(f64, usize, Config)> = Vec::new();
    for (index, combo) in combos.iter().enumerate() {
        for knobs in space::knob_settings(&combo.module.kernel, target) {
            let config = Config {
                consts: combo.config.consts.clone(),
                knobs,
            };
            let mut lowered = combo.module.clone();
            apply_knobs(&mut lowered.kernel, &config);
            let at_least = cost::registers(&lowered.kernel);
            if at_least > machine.max_registers {
                let why = cost::Rejected::Registers {
                    needed: at_least,
                    limit: machine.max_registers,
                };
                pruned.push(Candidate {
                    config,
                    estimate: None,
                    verdict: Verdict::Pruned(Prune::Registers, why.to_string()),
                });
                continue;
            }
            let bound = cost::lower_bound(&lowered.kernel, machine, args, combo.programs);
            queue.push((bound, index, config));
        }
    }
    queue.sort_by(|a, b| a.0.total_cmp(&b.0));
    on_event(SearchEvent::Space {
        tile_consts,
        candidates: queue.len(),
        pruned: pruned.len(),
    });

    // 2. The model: schedule and estimate in order of the lower bound, a batch at a time on
    // every core, until the bound passes the `keep`-th best estimate (no later candidate can
    // beat it) or the modelling time is up.
    let keep = options.max_timed + 4;
    let model_start = Instant::now();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let mut modelled: Vec<Candidate> = Vec::new();
    let mut best: Vec<f64> = Vec::new();
    let total = queue.len();
    let mut unmodelled = Unmodelled::default();
    // The defaults' configuration is modelled first, whatever its bound: it computes the
    // reference result, so the search always has a candidate that passes the check even when
    // cheaper-looking ones (a tile too short for the row) fail it.
    let first = defaults
        .and_then(|d| queue.iter().position(|(_, _, c)| c == d))
        .map(|at| queue.remove(at));
    let mut queue = queue.into_iter().peekable();
    let mut done = 0;
    let mut first = first.into_iter();
    loop {
        let mut batch: Vec<_> = first.by_ref().collect();
        while batch.len() < 4 * workers {
            let Some((bound, _, _)) = queue.peek() else {
                break;
            };
            if best.len() >= keep && *bound > best[keep - 1] {
                unmodelled.by_bound = queue.len();
                queue = Vec::new().into_iter().peekable();
                break;
            }
            batch.extend(queue.next());
        }
        if batch.is_empty() {
            break;
        }
        if model_start.elapsed() > options.model_budget {
            unmodelled.by_time = batch.len() + queue.len();
            break;
        }
        let model = |(_, index, config): &(f64, usize, Config)| {
            let combo = &combos[*index];
            let mut lowered = combo.module.clone();
            apply_knobs(&mut lowered.kernel, config);
            match driver::schedule(lowered, target) {
                Err(d) => Err((Prune::DeviceLimits, summary(&Diagnostics::from(d)))),
                Ok(scheduled) => cost::estimate(&scheduled.kernel, machine, args, combo.programs)
                    .map_err(|r| (Prune::Registers, r.to_string())),
            }
        };
        let chunk = batch.len().div_ceil(workers);
        let verdicts: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(model).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        if verdicts.len() != batch.len() {
            return Err("the model's worker threads failed".to_string());
        }
        for ((_, _, config), verdict) in batch.into_iter().zip(verdicts) {
            match verdict {
                Ok(estimate) => {
                    let at = best.partition_point(|&b| b <= estimate.ns);
                    best.insert(at, estimate.ns);
                    modelled.push(Candidate {
                        config,
                        estimate: Some(estimate),
                        verdict: Verdict::Modelled,
                    });
                }
                Err((prune, why)) => pruned.push(Candidate {
                    config,
                    estimate: None,
                    verdict: Verdict::Pruned(prune, why),
                }),
            }
            done += 1;
            on_event(SearchEvent::Modelled { done, total });
        }
    }
    // The model cannot tell apart predictions within 1 %: among those, fewer registers per
    // invocation first (the shader compiles faster, and spills less).
    let rank_key = |c: &Candidate| {
        let bucket = (predicted(c).max(1.0).ln() / 1.01f64.ln()).floor() as i64;
        let registers = c.estimate.as_ref().map_or(u32::MAX, |e| e.registers);
        (bucket, registers)
    };
    modelled.sort_by_key(rank_key);
    Ok((modelled, unmodelled))
}
