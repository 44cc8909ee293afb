//! The schedule search: tunes a kernel that lists no configs.
//!
//! 1. **Space** (`space`): the tile consts and the knobs. Every combination of tile-const values
//!    (powers of two) is lowered; it is pruned when it does not compile (a `static_assert`, a
//!    shape error), when a tile has more than 2^20 elements or a dim longer than every integer
//!    argument (rounded up to a power of two: such a tile only adds masked lanes), or when its
//!    stores cannot cover what the defaults write or are at least half masked off
//!    (`cost::stored_elements` against the defaults' stores and the writable buffers).
//! 2. **Model** (`cost`): each surviving combination with each setting of the knobs is
//!    scheduled for the device (a schedule over the device's limits, e.g. its shared memory, is
//!    pruned with the scheduler's diagnostic) and estimated; too many registers prune it too.
//!    Candidates are ranked by predicted time.
//! 3. **Time**: in that order, each candidate is checked (`check`: interpreter, then device,
//!    against the defaults' result) and timed on the device, while the model is not sure (the
//!    next candidate is predicted within `SearchOptions::confidence` of the first one timed),
//!    fewer than `max_timed` ran, and the time budget allows: a device compiles each shader
//!    (seconds on lavapipe), so the compile time of the next one is predicted from its SPIR-V
//!    size at the rate the earlier ones took, and a candidate that would pass the budget is
//!    skipped. Candidates the interpreter finds wrong cost no device time and do not count; until
//!    one candidate is timed the search goes on, for up to twice the budget.
//!
//! The fastest timed candidate is the choice. This module never prints: `on_event` hears of the
//! progress.
use super::cost::{Estimate, Machine};
use super::space::{self, TileConst};
use super::{lower_config, prune, rank, timing, Config, GridFor};
use crate::abi::Target;
use crate::base::{diag, Diagnostics, KernelArg, Literal, Severity};
use crate::cache::KernelCache;
use crate::driver::{self, Program};
use crate::ir;
use crate::runtime::Device;
use std::time::Duration;

/// How a search runs.
pub struct SearchOptions<'a> {
    /// Compile with bounds checks (safe mode), as the kernel will run.
    pub safe: bool,
    /// Wall-clock time the timing step may take, compiles included (at least one candidate is
    /// timed). With the model's 10 s, a search on lavapipe ends within a minute.
    pub budget: Duration,
    /// Wall-clock time the model may take scheduling candidates (the best by lower bound
    /// first).
    pub model_budget: Duration,
    /// At most this many candidates are timed.
    pub max_timed: usize,
    /// Candidates predicted more than this factor slower than the first one timed are not timed.
    pub confidence: f64,
    /// Timed dispatches per candidate (after one warm-up).
    pub iterations: u32,
    /// Work the interpreter may do for one result check (`interp::run_with_budget` units);
    /// past it results go unchecked.
    pub check_budget: u64,
    pub cache: Option<&'a KernelCache>,
    /// Where `search_or_reuse` keeps its records (default `$XDG_CACHE_HOME/tk/tune`).
    pub records: Option<std::path::PathBuf>,
}

impl Default for SearchOptions<'_> {
    fn default() -> Self {
        SearchOptions {
            safe: true,
            budget: Duration::from_secs(40),
            model_budget: Duration::from_secs(10),
            max_timed: 6,
            confidence: 2.0,
            iterations: 5,
            check_budget: 1 << 32,
            cache: None,
            records: None,
        }
    }
}

/// Why a candidate was pruned before timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prune {
    /// It does not lower (a `static_assert`, a shape error).
    DoesNotCompile,
    /// A tile of more than 2^20 elements.
    TooLarge,
    /// A tile dim longer than every integer argument.
    LongerThanProblem,
    /// Its stores cannot reach what the defaults write.
    Coverage,
    /// Half its stored lanes or more are masked off.
    Masked,
    /// The scheduler refused it: past the device's shared memory or invocations.
    DeviceLimits,
    /// Too many registers per invocation, or no room on a compute unit (the model).
    Registers,
}

impl Prune {
    /// The reason in a few words, for tables.
    pub fn describe(self) -> &'static str {
        match self {
            Prune::DoesNotCompile => "do not compile",
            Prune::TooLarge => "have a tile over 2^20 elements",
            Prune::LongerThanProblem => "have a tile longer than the problem",
            Prune::Coverage => "store less than the defaults",
            Prune::Masked => "mask off half their stores or more",
            Prune::DeviceLimits => "pass the device's limits",
            Prune::Registers => "need too many registers",
        }
    }
}

/// What became of one candidate.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Pruned before timing: the kind of reason, and the reason.
    Pruned(Prune, String),
    /// Modelled, not timed.
    Modelled,
    /// Timed: median nanoseconds per launch.
    Timed(f64),
    /// Its check or its run failed.
    Failed(String),
    /// Not timed: compiling it would pass the time budget.
    Skipped(String),
}

/// One point of the space.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub config: Config,
    /// The model's estimate (absent when pruned before modelling).
    pub estimate: Option<Estimate>,
    pub verdict: Verdict,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub tile_consts: Vec<TileConst>,
    /// Modelled candidates by predicted time, then the pruned ones in enumeration order.
    pub candidates: Vec<Candidate>,
    /// Index into `candidates` of the fastest timed one.
    pub choice: usize,
    /// Index into `candidates` of the kernel's defaults (consts and knobs as written), when it
    /// was modelled.
    pub defaults: Option<usize>,
    /// Candidates left unscheduled: their lower bound passed the best estimates, or the
    /// modelling time ran out.
    pub unmodelled: Unmodelled,
    /// Why results were not checked, when they were not.
    pub unchecked: Option<String>,
}

/// Candidates the model did not estimate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unmodelled {
    /// Their lower bound (`cost::lower_bound`) passed the best estimates.
    pub by_bound: usize,
    /// The modelling time (`SearchOptions::model_budget`) ran out first.
    pub by_time: usize,
}

impl Search {
    /// The chosen config.
    pub fn config(&self) -> &Config {
        &self.candidates[self.choice].config
    }
    /// The timed candidates, in the order they ran, with what they measured (or why they failed)
    /// — what a record keeps.
    pub fn timed(&self) -> Vec<(&Config, Result<f64, String>)> {
        self.candidates
            .iter()
            .filter_map(|c| match &c.verdict {
                Verdict::Timed(ns) => Some((&c.config, Ok(*ns))),
                Verdict::Failed(why) => Some((&c.config, Err(why.clone()))),
                _ => None,
            })
            .collect()
    }
}

/// Progress of a search.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchEvent<'a> {
    /// The space is enumerated: `candidates` to model (in order of their lower bound),
    /// `pruned` already.
    Space {
        tile_consts: &'a [TileConst],
        candidates: usize,
        pruned: usize,
    },
    /// One more candidate modelled (or pruned by the scheduler or the model).
    Modelled { done: usize, total: usize },
    /// A candidate is about to be checked, compiled and timed.
    Timing {
        config: &'a Config,
        predicted_ns: f64,
    },
    /// It finished (median ns, or why not).
    Timed {
        config: &'a Config,
        result: &'a Result<f64, String>,
    },
}

/// Hears of the progress of a search.
pub type OnSearch<'a> = dyn FnMut(SearchEvent<'_>) + 'a;

/// What every step of a search reads.
pub(super) struct Context<'a> {
    pub device: &'a Device,
    pub program: &'a Program,
    pub kernel: &'a str,
    /// The user's `-D` consts.
    pub base: &'a [(String, Literal)],
    pub args: &'a [KernelArg],
    pub grid_for: &'a GridFor<'a>,
    pub options: &'a SearchOptions<'a>,
    pub target: Target,
    pub machine: Machine,
}

impl Context<'_> {
    /// The kernel lowered with `config`.
    pub fn lower(&self, config: &Config) -> Result<ir::Module, Diagnostics> {
        lower_config(self.program, self.kernel, self.base, config)
    }
}

/// Searches kernel `kernel` of `program` for the fastest config on `device` for `args` (in
/// runtime-parameter order; `base` are the user's `-D` consts, which stay fixed). `grid_for`
/// gives the launch grid of a lowered candidate. Fails when the defaults do not lower or no
/// candidate runs.
#[allow(clippy::too_many_arguments)]
pub fn search(
    device: &Device,
    program: &Program,
    kernel: &str,
    base: &[(String, Literal)],
    args: &[KernelArg],
    grid_for: &GridFor<'_>,
    options: &SearchOptions,
    on_event: &mut OnSearch<'_>,
) -> Result<Search, String> {
    let target = device.target();
    let cx = Context {
        device,
        program,
        kernel,
        base,
        args,
        grid_for,
        options,
        machine: Machine::for_target(&target),
        target,
    };
    let defaults = driver::lower(program, kernel, base)
        .map_err(|d| diag::render(&d, &program.sources, false).trim().to_string())?;
    let tile_consts = space::tile_consts(program, kernel, base, &defaults.kernel);
    let grid = grid_for(&defaults.kernel, args)?;
    let (combos, mut pruned) = prune::combos(&cx, &tile_consts, &defaults.kernel, grid);
    let default_config = defaults_config(&defaults, &tile_consts, &cx.target);
    let (mut modelled, unmodelled) = rank::rank(
        &cx,
        &tile_consts,
        &combos,
        default_config.as_ref(),
        &mut pruned,
        on_event,
    )?;
    if modelled.is_empty() {
        let reasons: Vec<String> = pruned
            .iter()
            .take(3)
            .map(|c| match &c.verdict {
                Verdict::Pruned(_, why) => format!("{}: {why}", c.config),
                _ => String::new(),
            })
            .collect();
        return Err(format!(
            "the search found no candidate to time ({} pruned; {})",
            pruned.len(),
            reasons.join("; ")
        ));
    }
    let unchecked = timing::time_best(&cx, &mut modelled, &defaults, grid, on_event);
    let choice = modelled
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c.verdict {
            Verdict::Timed(ns) => Some((i, ns)),
            _ => None,
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
        .ok_or_else(|| {
            let reasons: Vec<String> = modelled
                .iter()
                .filter_map(|c| match &c.verdict {
                    Verdict::Failed(why) | Verdict::Skipped(why) => {
                        Some(format!("{}: {why}", c.config))
                    }
                    _ => None,
                })
                .collect();
            format!("no candidate of the search ran: {}", reasons.join("; "))
        })?;
    let defaults_index = modelled
        .iter()
        .position(|c| Some(&c.config) == default_config.as_ref());
    modelled.extend(pruned);
    Ok(Search {
        tile_consts,
        candidates: modelled,
        choice,
        defaults: defaults_index,
        unmodelled,
        unchecked,
    })
}

/// The predicted time of a modelled candidate.
pub(super) fn predicted(candidate: &Candidate) -> f64 {
    candidate.estimate.as_ref().map_or(f64::INFINITY, |e| e.ns)
}

/// The first error of diagnostics in one line, `error[CODE]: message` (records and tables keep
/// one line).
pub(super) fn summary(diagnostics: &Diagnostics) -> String {
    let first = diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .or_else(|| diagnostics.iter().next());
    match first {
        Some(d) => format!("error[{}]: {}", d.code, d.message.replace('\n', " ")),
        None => "failed without a diagnostic".to_string(),
    }
}

pub(super) fn apply_knobs(kernel: &mut ir::Kernel, config: &Config) {
    for (name, value) in &config.knobs {
        if let Some(knob) = space::knob(name) {
            (knob.apply)(kernel, *value);
        }
    }
}

/// The config that the kernel's defaults amount to: the tile consts at their values and each
/// knob at what the scheduler chooses for the defaults. `None` when the defaults do not
/// schedule.
fn defaults_config(
    defaults: &ir::Module,
    tile_consts: &[TileConst],
    target: &crate::abi::Target,
) -> Option<Config> {
    let scheduled = driver::schedule(defaults.clone(), target).ok()?;
    Some(Config {
        consts: tile_consts
            .iter()
            .map(|c| (c.name.clone(), Literal::Int(c.value)))
            .collect(),
        knobs: space::KNOBS
            .iter()
            // Knobs the search does not try for this kernel stay out, as in its candidates.
            .filter(|k| !(k.candidates)(&defaults.kernel, target).is_empty())
            .filter_map(|k| Some((k.name.to_string(), (k.chosen)(&scheduled.kernel, target)?)))
            .collect(),
    })
}
