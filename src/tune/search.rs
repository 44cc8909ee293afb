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
use super::check;
use super::cost::{self, Estimate, Machine};
use super::space::{self, TileConst, Visit};
use super::{lower_config, Config, GridFor};
use crate::base::{diag, Diagnostics, KernelArg, Literal, Severity};
use crate::cache::{self, KernelCache};
use crate::driver::{self, Program};
use crate::ir;
use crate::runtime::Device;
use std::time::{Duration, Instant};

/// How a search runs.
pub struct SearchOptions<'a> {
    /// Compile with bounds checks (safe mode), as the kernel will run.
    pub safe: bool,
    /// Wall-clock time the timing step may take, compiles included (at least one candidate is
    /// timed).
    pub budget: Duration,
    /// Wall-clock time the model may take scheduling candidates (the best by lower bound
    /// first).
    pub model_budget: Duration,
    /// At most this many candidates are timed.
    pub max_timed: usize,
    /// Candidates predicted more than this factor slower than the model's best are not timed.
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
            budget: Duration::from_secs(45),
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

/// Largest tile (elements) a candidate may have.
const MAX_TILE_ELEMENTS: u64 = 1 << 20;

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
    let machine = Machine::for_target(&target);
    let defaults = driver::lower(program, kernel, base)
        .map_err(|d| diag::render(&d, &program.sources, false).trim().to_string())?;
    let tile_consts = space::tile_consts(program, kernel, base, &defaults.kernel);
    let default_grid = grid_for(&defaults.kernel, args)?;

    // 1. The space: tile-const combinations, lowered and pruned.
    let extent = problem_extent(args);
    let needed = needed_elements(&defaults.kernel, args, default_grid);
    let values: Vec<Vec<i128>> = tile_consts
        .iter()
        .map(|_| space::powers_of_two(MAX_TILE_ELEMENTS as i128))
        .collect();
    let mut combos: Vec<(Config, ir::Module, u64)> = Vec::new();
    let mut pruned: Vec<Candidate> = Vec::new();
    space::enumerate(&values, &mut |combo| {
        let config = Config {
            consts: tile_consts
                .iter()
                .zip(combo)
                .map(|(c, &v)| (c.name.clone(), Literal::Int(v)))
                .collect(),
            knobs: Vec::new(),
        };
        let (visit, prune, why) = match lower_config(program, kernel, base, &config) {
            Err(d) => (Visit::Done, Prune::DoesNotCompile, summary(&d)),
            Ok(module) => match prune_combo(&module, args, grid_for, extent, needed) {
                Ok(programs) => {
                    combos.push((config, module, programs));
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
    // Every combination with every knob setting, with the model's lower bound: cheap, so all of
    // them; the registers before scheduling bound those after, so too many prune already.
    let mut queue: Vec<(f64, usize, Config)> = Vec::new();
    for (index, (combo, module, programs)) in combos.iter().enumerate() {
        for knobs in space::knob_settings(&module.kernel, &target) {
            let config = Config {
                consts: combo.consts.clone(),
                knobs,
            };
            let mut lowered = module.clone();
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
            let bound = cost::lower_bound(&lowered.kernel, &machine, args, *programs);
            queue.push((bound, index, config));
        }
    }
    queue.sort_by(|a, b| a.0.total_cmp(&b.0));
    on_event(SearchEvent::Space {
        tile_consts: &tile_consts,
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
    let mut queue = queue.into_iter().peekable();
    let mut done = 0;
    loop {
        let mut batch = Vec::new();
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
            let (_, module, programs) = &combos[*index];
            let mut lowered = module.clone();
            apply_knobs(&mut lowered.kernel, config);
            match driver::schedule(lowered, &target) {
                Err(d) => Err((Prune::DeviceLimits, summary(&Diagnostics::from(d)))),
                Ok(scheduled) => cost::estimate(&scheduled.kernel, &machine, args, *programs)
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
    modelled.sort_by(|a, b| predicted(a).total_cmp(&predicted(b)));
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

    // 3. Time the best few, each checked first.
    let check_inputs = check::inputs(args);
    let reference = check::interpret(&defaults, &check_inputs, default_grid, options.check_budget)
        .map_err(|why| format!("the defaults cannot serve as the reference: {why}"));
    let unchecked = reference.as_ref().err().cloned();
    let start = Instant::now();
    // The prediction of the first candidate timed: later ones predicted more than
    // `confidence` times slower are not worth timing.
    let mut first_predicted = None;
    // Seconds of device compile per SPIR-V word, as measured so far.
    let mut compile_rate: Option<f64> = None;
    let (mut timed, mut attempts) = (0, 0);
    for candidate in modelled.iter_mut() {
        let elapsed = start.elapsed();
        let enough = match first_predicted {
            // Nothing timed yet: keep going, within twice the budget.
            None => elapsed >= options.budget * 2,
            Some(first) => {
                timed >= options.max_timed
                    || attempts >= 2 * options.max_timed
                    || predicted(candidate) > first * options.confidence
                    || elapsed >= options.budget
            }
        };
        if enough {
            break;
        }
        on_event(SearchEvent::Timing {
            config: &candidate.config,
            predicted_ns: predicted(candidate),
        });
        let left = options.budget.saturating_sub(elapsed);
        let run = Trial {
            device,
            program,
            kernel,
            base,
            args,
            grid_for,
            options,
            check_inputs: &check_inputs,
            reference: reference.as_ref().ok(),
        }
        .run(
            &candidate.config,
            first_predicted.is_some().then_some(left),
            &mut compile_rate,
        );
        let result = match run {
            Ok(ns) => {
                timed += 1;
                attempts += 1;
                first_predicted.get_or_insert(predicted(candidate));
                candidate.verdict = Verdict::Timed(ns);
                Ok(ns)
            }
            Err(TrialError::Rejected(why)) => {
                candidate.verdict = Verdict::Failed(why.clone());
                Err(why)
            }
            Err(TrialError::Failed(why)) => {
                attempts += 1;
                candidate.verdict = Verdict::Failed(why.clone());
                Err(why)
            }
            Err(TrialError::Skipped(why)) => {
                candidate.verdict = Verdict::Skipped(why.clone());
                Err(why)
            }
        };
        on_event(SearchEvent::Timed {
            config: &candidate.config,
            result: &result,
        });
    }
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
                    Verdict::Failed(why) => Some(format!("{}: {why}", c.config)),
                    _ => None,
                })
                .collect();
            format!("no candidate of the search ran: {}", reasons.join("; "))
        })?;
    let default_config = defaults_config(&defaults, &tile_consts, &target);
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
fn predicted(candidate: &Candidate) -> f64 {
    candidate.estimate.as_ref().map_or(f64::INFINITY, |e| e.ns)
}

/// The first error of diagnostics in one line, `error[CODE]: message` (records and tables keep
/// one line).
fn summary(diagnostics: &Diagnostics) -> String {
    let first = diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
        .or_else(|| diagnostics.iter().next());
    match first {
        Some(d) => format!("error[{}]: {}", d.code, d.message.replace('\n', " ")),
        None => "failed without a diagnostic".to_string(),
    }
}

fn apply_knobs(kernel: &mut ir::Kernel, config: &Config) {
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
            .filter_map(|k| Some((k.name.to_string(), (k.chosen)(&scheduled.kernel)?)))
            .collect(),
    })
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
    module: &ir::Module,
    args: &[KernelArg],
    grid_for: &GridFor<'_>,
    extent: u32,
    needed: Option<f64>,
) -> Result<u64, (Visit, Prune, String)> {
    let kernel = &module.kernel;
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
    let grid = grid_for(kernel, args).map_err(|why| (Visit::Done, Prune::DoesNotCompile, why))?;
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

/// Why a trial gave no time.
enum TrialError {
    /// Before the device: it does not lower or its results are wrong on the interpreter.
    Rejected(String),
    /// On the device: it does not compile, run, or give the right results there.
    Failed(String),
    /// Compiling it would pass the time budget.
    Skipped(String),
}

impl From<String> for TrialError {
    fn from(why: String) -> TrialError {
        TrialError::Rejected(why)
    }
}

/// Checking and timing one candidate on the device.
struct Trial<'a> {
    device: &'a Device,
    program: &'a Program,
    kernel: &'a str,
    base: &'a [(String, Literal)],
    args: &'a [KernelArg],
    grid_for: &'a GridFor<'a>,
    options: &'a SearchOptions<'a>,
    check_inputs: &'a [KernelArg],
    reference: Option<&'a Vec<KernelArg>>,
}

impl Trial<'_> {
    /// Checks `config` on the interpreter, compiles it, checks it on the device and times it;
    /// the median ns. With `left`, a compile predicted (at `compile_rate` seconds per word) to
    /// take longer is skipped; the rate is updated with what this compile took.
    fn run(
        &self,
        config: &Config,
        left: Option<Duration>,
        compile_rate: &mut Option<f64>,
    ) -> Result<f64, TrialError> {
        let module =
            lower_config(self.program, self.kernel, self.base, config).map_err(|d| summary(&d))?;
        let grid = (self.grid_for)(&module.kernel, self.args)?;
        if let Some(reference) = self.reference {
            let budget = self.options.check_budget;
            let result = check::interpret(&module, self.check_inputs, grid, budget)
                .map_err(|why| format!("the interpreter failed: {why}"))?;
            check::compare(&module.kernel, &result, reference)
                .map_err(|why| format!("wrong results: {why}"))?;
        }
        let target = self.device.target();
        let (artifact, _) = cache::compile(
            &self.program.sources,
            module.clone(),
            &target,
            &self.device.info().driver,
            self.options.safe,
            self.options.cache,
        )
        .map_err(|d| TrialError::Failed(summary(&Diagnostics::from(d))))?;
        let words = artifact.words.len() as f64;
        if let (Some(left), Some(rate)) = (left, *compile_rate) {
            let predicted = Duration::from_secs_f64(rate * words);
            if predicted > left {
                return Err(TrialError::Skipped(format!(
                    "compiling would take about {:.0} s, past the time budget",
                    predicted.as_secs_f64()
                )));
            }
        }
        // The device compiles at the first dispatch: the checked launch pays it.
        let compile_start = Instant::now();
        let pipeline = self
            .device
            .load(&artifact)
            .map_err(|e| TrialError::Failed(e.to_string()))?;
        let mut inputs = self.check_inputs.to_vec();
        self.device
            .launch(&pipeline, &mut inputs, grid)
            .map_err(|e| TrialError::Failed(e.to_string()))?;
        let seconds = compile_start.elapsed().as_secs_f64();
        let rate = seconds / words.max(1.0);
        *compile_rate = Some(compile_rate.map_or(rate, |r: f64| r.max(rate)));
        if let Some(reference) = self.reference {
            check::compare(&module.kernel, &inputs, reference)
                .map_err(|why| TrialError::Failed(format!("wrong results on the device: {why}")))?;
        }
        let mut args = self.args.to_vec();
        let timing = self
            .device
            .bench(
                &pipeline,
                &mut args,
                grid,
                1,
                self.options.iterations.max(1),
            )
            .map_err(|e| TrialError::Failed(e.to_string()))?;
        Ok(timing.median_ns)
    }
}
