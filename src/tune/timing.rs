//! Step 3 of the search: the best candidates checked against the defaults' results and timed on
//! the device, within the budget (`search`'s module doc has the rules).
use super::check;
use super::search::{predicted, summary, Candidate, Context, OnSearch, SearchEvent, Verdict};
use super::Config;
use crate::base::{Diagnostics, KernelArg};
use crate::cache;
use crate::ir;
use std::time::{Duration, Instant};

/// Checks and times the best of `modelled` (ranked by predicted time), recording each verdict;
/// why results went unchecked, if they did. `defaults` is the kernel at its defaults, launched
/// over `grid`: the reference.
pub(super) fn time_best(
    cx: &Context,
    modelled: &mut [Candidate],
    defaults: &ir::Module,
    grid: [u32; 3],
    on_event: &mut OnSearch<'_>,
) -> Option<String> {
    let options = cx.options;
    let check_inputs = check::inputs(cx.args);
    let reference = check::interpret(defaults, &check_inputs, grid, options.check_budget)
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
            // Nothing timed yet: keep going until a device attempt was made, and within twice
            // the budget.
            None => attempts > 0 && elapsed >= options.budget * 2,
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
            cx,
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
    unchecked
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
    cx: &'a Context<'a>,
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
        let cx = self.cx;
        let module = cx.lower(config).map_err(|d| summary(&d))?;
        let grid = (cx.grid_for)(&module.kernel, cx.args)?;
        if let Some(reference) = self.reference {
            let budget = cx.options.check_budget;
            let result = check::interpret(&module, self.check_inputs, grid, budget)
                .map_err(|why| format!("the interpreter failed: {why}"))?;
            check::compare(&module.kernel, &result, reference)
                .map_err(|why| format!("wrong results: {why}"))?;
        }
        let (artifact, _) = cache::compile(
            &cx.program.sources,
            module.clone(),
            &cx.target,
            &cx.device.info().driver,
            cx.options.safe,
            cx.options.cache,
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
        let pipeline = cx
            .device
            .load(&artifact)
            .map_err(|e| TrialError::Failed(e.to_string()))?;
        let mut inputs = self.check_inputs.to_vec();
        cx.device
            .launch(&pipeline, &mut inputs, grid)
            .map_err(|e| TrialError::Failed(e.to_string()))?;
        let seconds = compile_start.elapsed().as_secs_f64();
        let rate = seconds / words.max(1.0);
        *compile_rate = Some(compile_rate.map_or(rate, |r: f64| r.max(rate)));
        if let Some(reference) = self.reference {
            check::compare(&module.kernel, &inputs, reference)
                .map_err(|why| TrialError::Failed(format!("wrong results on the device: {why}")))?;
        }
        let mut args = cx.args.to_vec();
        let timing = cx
            .device
            .bench(&pipeline, &mut args, grid, 1, cx.options.iterations.max(1))
            .map_err(|e| TrialError::Failed(e.to_string()))?;
        Ok(timing.median_ns)
    }
}
