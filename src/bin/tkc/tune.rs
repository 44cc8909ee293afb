//! `tkc tune` and the tuning step of `tkc run`: benchmark a kernel's `#[autotune]` configs, or
//! search a kernel without configs (`tk::tune::search`), on the device (progress on stderr), persist
//! the choice, reuse it later.
#![allow(unused_imports)]
use super::*;
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use tk::tune::{self, Autotune, Config, Search, SearchEvent, SearchOptions, TuneOptions, Tuned};

/// The kernel's `#[autotune]`, or `None` when it has none.
fn autotune_of(program: &Program, sig: &KernelSig) -> Result<Option<Autotune>> {
    match tune::autotune_attr(&program.checked, &sig.name) {
        None => Ok(None),
        Some(Ok(autotune)) => Ok(Some(autotune)),
        Some(Err(message)) => Err(Fail {
            code: 1,
            text: format!("error[E0508]: {message}\n"),
        }),
    }
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
fn progress_bar(len: u64, template: &str) -> indicatif::ProgressBar {
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::hidden()
    };
    progress.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress
}

/// The kernel cache a tuning run compiles through (none with `--no-cache`).
fn kernel_cache(launch: &LaunchArgs) -> Option<tk::cache::KernelCache> {
    if launch.no_cache {
        None
    } else {
        tk::cache::KernelCache::default_location()
    }
}

/// Benchmarks every config with a progress bar and saves the result at `path`.
#[allow(clippy::too_many_arguments)]
fn tune_now(
    command_line: &CommandLine,
    device: &Device,
    program: &Program,
    sig: &KernelSig,
    consts: &[(String, Literal)],
    autotune: &Autotune,
    args: &[KernelArg],
    launch: &LaunchArgs,
    iterations: u32,
    path: Option<&Path>,
) -> Result<Tuned> {
    let progress = progress_bar(
        autotune.configs.len() as u64,
        "autotune {bar:30} {pos}/{len} {msg}",
    );
    progress.set_message(sig.name.clone());
    let grid_for = |kernel: &ir::Kernel, args: &[KernelArg]| {
        launch_grid(command_line, kernel, args, launch.grid.as_deref())
            .map_err(|fail| fail.text.trim().to_string())
    };
    let kernel_cache = kernel_cache(launch);
    let options = TuneOptions {
        safe: !launch.unchecked,
        warmup: 2,
        iterations,
        cache: kernel_cache.as_ref(),
    };
    let tuned = tune::tune(
        device,
        program,
        &sig.name,
        consts,
        autotune,
        args,
        &grid_for,
        &options,
        &mut |_, config, _| {
            progress.set_message(config.to_string());
            progress.inc(1);
        },
    );
    progress.finish_and_clear();
    let tuned = tuned.map_err(|message| Fail {
        code: 3,
        text: format!("error[E0955]: {message}\n"),
    })?;
    if let Some(path) = path {
        // A result that cannot be saved is tuned again next time; the run goes on.
        if let Err(error) = tune::save(path, &sig.name, &autotune.configs, &tuned, false) {
            eprintln!("tkc: autotune: cannot save {}: {error}", path.display());
        }
    }
    Ok(tuned)
}

/// The key parameters and their values for this launch, and where its `#[autotune]` record
/// lives (`None` with `--no-cache`).
#[allow(clippy::too_many_arguments)]
fn record_path(
    device: &Device,
    program: &Program,
    sig: &KernelSig,
    consts: &[(String, Literal)],
    key: &[String],
    lowered: &ir::Module,
    args: &[KernelArg],
    launch: &LaunchArgs,
) -> (Vec<String>, Option<PathBuf>) {
    let keys = tune::key_values(key, &lowered.kernel, args);
    let path = if launch.no_cache {
        None
    } else {
        let name = tune::record_name(
            &device.info().name,
            &device.info().driver,
            &program.sources,
            &sig.name,
            &keys,
            consts,
            !launch.unchecked,
            false,
        );
        tune::default_dir().map(|dir| dir.join(name))
    };
    (keys, path)
}

/// For `tkc run`/`tkc bench`: the module and grid of the tuned config when the kernel has
/// `#[autotune]` (tuning first when no result is stored for these key values), or of the
/// stored result of a search (`tkc tune` on a kernel without configs; a run never searches by
/// itself). `None` leaves the run as it was: nothing tuned, or a `-D` that sets a tuned const
/// (the user's choice wins).
#[allow(clippy::too_many_arguments)]
pub(crate) fn autotuned(
    command_line: &CommandLine,
    device: &Device,
    program: &Program,
    sig: &KernelSig,
    consts: &[(String, Literal)],
    lowered: &ir::Module,
    args: &[KernelArg],
    launch: &LaunchArgs,
) -> Result<Option<(ir::Module, [u32; 3])>> {
    let Some(autotune) = autotune_of(program, sig)? else {
        return match searched_config(device, program, consts, lowered, args, launch) {
            Some(config) => {
                tuned_module(command_line, program, sig, consts, &config, args, launch).map(Some)
            }
            None => Ok(None),
        };
    };
    let tuned_consts = autotune.configs.iter().flat_map(|c| &c.consts);
    if let Some((name, _)) = tuned_consts
        .clone()
        .find(|(name, _)| consts.iter().any(|(n, _)| n == name))
    {
        eprintln!("tkc: autotune: skipped, `-D {name}` fixes a tuned const");
        return Ok(None);
    }
    let (keys, path) = record_path(
        device,
        program,
        sig,
        consts,
        &autotune.key,
        lowered,
        args,
        launch,
    );
    let stored = path
        .as_deref()
        .and_then(|path| tune::load(path, &sig.name, &autotune));
    let tuned = match stored {
        Some(tuned) => {
            eprintln!(
                "tkc: autotune: reused {} for {} ({})",
                autotune.configs[tuned.choice],
                keys.join(", "),
                path.as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            tuned
        }
        None => {
            let tuned = tune_now(
                command_line,
                device,
                program,
                sig,
                consts,
                &autotune,
                args,
                launch,
                10,
                path.as_deref(),
            )?;
            eprintln!(
                "tkc: autotune: tuned {} configs for {}, picked {}",
                autotune.configs.len(),
                keys.join(", "),
                autotune.configs[tuned.choice]
            );
            tuned
        }
    };
    let config = &autotune.configs[tuned.choice];
    tuned_module(command_line, program, sig, consts, config, args, launch).map(Some)
}

/// The module and grid of `config`.
fn tuned_module(
    command_line: &CommandLine,
    program: &Program,
    sig: &KernelSig,
    consts: &[(String, Literal)],
    config: &Config,
    args: &[KernelArg],
    launch: &LaunchArgs,
) -> Result<(ir::Module, [u32; 3])> {
    let module = tune::lower_config(program, &sig.name, consts, config)
        .map_err(|d| program_errors(&d, &program.sources))?;
    let grid = launch_grid(command_line, &module.kernel, args, launch.grid.as_deref())?;
    Ok((module, grid))
}

/// The config a stored search chose for these key values (and says so on stderr).
fn searched_config(
    device: &Device,
    program: &Program,
    consts: &[(String, Literal)],
    lowered: &ir::Module,
    args: &[KernelArg],
    launch: &LaunchArgs,
) -> Option<Config> {
    if launch.no_cache {
        return None;
    }
    let kernel = &lowered.kernel;
    let safe = !launch.unchecked;
    let (keys, path) = tune::search_record(device, program, kernel, consts, args, safe, None);
    let config = tune::stored_config(&path?, &kernel.name)?;
    eprintln!(
        "tkc: tune: reused the searched {config} for {}",
        keys.join(", ")
    );
    Some(config)
}

/// How `tkc tune` runs: `--search`, its budget and limits, and the timed iterations.
pub(crate) struct TuneArgs {
    pub(crate) search: bool,
    pub(crate) budget: f64,
    pub(crate) max_timed: usize,
    pub(crate) iterations: Option<u32>,
}

/// `tkc tune FILE [run args]`: benchmark every `#[autotune]` config now, or search a kernel
/// without configs (or with `--search`); save the choice and print the table.
pub(crate) fn tune_command(
    command_line: &CommandLine,
    launch: &LaunchArgs,
    tune_args: &TuneArgs,
) -> Result<()> {
    let program = load_program(command_line, &launch.file)?;
    let sig = choose_kernel(
        command_line,
        &program,
        launch.kernel.as_deref(),
        &launch.file,
    )?;
    let autotune = autotune_of(&program, sig)?;
    let consts = parse_defines(command_line, sig, &launch.defines)?;
    let lowered = driver::lower(&program, &sig.name, &consts)
        .map_err(|d| program_errors(&d, &program.sources))?;
    let args = parse_args(command_line, &lowered.kernel, &launch.args)?;
    let choice = match launch.device.as_str() {
        "auto" => DeviceChoice::Auto,
        index => match index.parse::<usize>() {
            Ok(i) => DeviceChoice::Index(i),
            Err(_) => {
                return Err(command_line.fail(
                    "E0916",
                    "`tkc tune` needs a Vulkan device".into(),
                    index,
                    "expected auto or a device index",
                    "list the devices with `tkc devices`".into(),
                ))
            }
        },
    };
    let device = Device::open(choice).map_err(runtime_failure)?;
    match autotune {
        Some(autotune) if !tune_args.search => {
            let (keys, path) = record_path(
                &device,
                &program,
                sig,
                &consts,
                &autotune.key,
                &lowered,
                &args,
                launch,
            );
            let tuned = tune_now(
                command_line,
                &device,
                &program,
                sig,
                &consts,
                &autotune,
                &args,
                launch,
                tune_args.iterations.unwrap_or(10),
                path.as_deref(),
            )?;
            println!("kernel:  {} on {}", sig.name, device.info().name);
            println!("key:     {}", keys.join(", "));
            for (index, (config, time)) in autotune.configs.iter().zip(&tuned.times).enumerate() {
                let mark = if index == tuned.choice { "*" } else { " " };
                match time {
                    Ok(ns) => println!("{mark} {:>10.3} ms  {config}", ns / 1e6),
                    Err(why) => println!("{mark} {:>13}  {config}: {why}", "failed"),
                }
            }
            if let Some(path) = path {
                println!("saved:   {}", path.display());
            }
            Ok(())
        }
        _ => {
            let safe = !launch.unchecked;
            let kernel = &lowered.kernel;
            let (keys, path) =
                tune::search_record(&device, &program, kernel, &consts, &args, safe, None);
            let path = path.filter(|_| !launch.no_cache);
            let started = Instant::now();
            let search = search_now(
                command_line,
                &device,
                &program,
                sig,
                &consts,
                &args,
                launch,
                tune_args,
            )?;
            let took = started.elapsed();
            if let Some(path) = &path {
                if let Err(error) = tune::save_search(path, &sig.name, &search) {
                    eprintln!("tkc: tune: cannot save {}: {error}", path.display());
                }
            }
            print_search(&search, sig, &device, &keys, took, path.as_deref());
            Ok(())
        }
    }
}

/// Runs the search with progress on stderr: a bar when stderr is a terminal, one line per timed
/// candidate otherwise.
#[allow(clippy::too_many_arguments)]
fn search_now(
    command_line: &CommandLine,
    device: &Device,
    program: &Program,
    sig: &KernelSig,
    consts: &[(String, Literal)],
    args: &[KernelArg],
    launch: &LaunchArgs,
    tune_args: &TuneArgs,
) -> Result<Search> {
    let grid_for = |kernel: &ir::Kernel, args: &[KernelArg]| {
        launch_grid(command_line, kernel, args, launch.grid.as_deref())
            .map_err(|fail| fail.text.trim().to_string())
    };
    let kernel_cache = kernel_cache(launch);
    let options = SearchOptions {
        safe: !launch.unchecked,
        budget: Duration::from_secs_f64(tune_args.budget.max(0.0)),
        max_timed: tune_args.max_timed.max(1),
        iterations: tune_args.iterations.unwrap_or(5),
        cache: kernel_cache.as_ref(),
        ..SearchOptions::default()
    };
    let terminal = std::io::stderr().is_terminal();
    let mut progress = progress_bar(0, "search {spinner} enumerating the space");
    progress.enable_steady_tick(Duration::from_millis(100));
    let search = tune::search(
        device,
        program,
        &sig.name,
        consts,
        args,
        &grid_for,
        &options,
        &mut |event| match event {
            SearchEvent::Space { candidates, .. } => {
                progress.finish_and_clear();
                progress = progress_bar(candidates as u64, "model  {bar:30} {pos}/{len}");
            }
            SearchEvent::Modelled { done, .. } => progress.set_position(done as u64),
            SearchEvent::Timing {
                config,
                predicted_ns,
            } => {
                if progress.length() != Some(options.max_timed as u64) {
                    progress.finish_and_clear();
                    progress = progress_bar(
                        options.max_timed as u64,
                        "time   {bar:30} {pos}/{len} {elapsed} {msg}",
                    );
                }
                progress.set_message(format!("{config} (predicted {})", ms(predicted_ns)));
            }
            SearchEvent::Timed { config, result } => {
                progress.inc(1);
                if !terminal {
                    match result {
                        Ok(ns) => eprintln!("tkc: tune: timed {config}: {}", ms(*ns)),
                        Err(why) => eprintln!("tkc: tune: {config}: {why}"),
                    }
                }
            }
        },
    );
    progress.finish_and_clear();
    search.map_err(|message| Fail {
        code: 3,
        text: format!("error[E0955]: {message}\n"),
    })
}

fn ms(ns: f64) -> String {
    format!("{:.3} ms", ns / 1e6)
}

/// The search's table: what was timed, the next few the model ranked, the defaults, and what
/// was pruned, by reason.
fn print_search(
    search: &Search,
    sig: &KernelSig,
    device: &Device,
    keys: &[String],
    took: Duration,
    path: Option<&Path>,
) {
    use tk::tune::Verdict;
    println!("kernel:  {} on {}", sig.name, device.info().name);
    println!("key:     {}", keys.join(", "));
    let names: Vec<&str> = search.tile_consts.iter().map(|c| c.name.as_str()).collect();
    let knobs: Vec<&str> = tk::tune::space::KNOBS.iter().map(|k| k.name).collect();
    let modelled = search
        .candidates
        .iter()
        .filter(|c| c.estimate.is_some())
        .count();
    println!(
        "space:   {} × {}",
        if names.is_empty() {
            "no tile consts".to_string()
        } else {
            names.join(", ")
        },
        knobs.join(", ")
    );
    let mut model = format!(
        "model:   {modelled} candidates estimated, {} pruned",
        search.candidates.len() - modelled
    );
    let unmodelled = search.unmodelled;
    if unmodelled.by_bound > 0 {
        model.push_str(&format!(
            ", {} not scheduled (their lower bound passes the best estimates)",
            unmodelled.by_bound
        ));
    }
    if unmodelled.by_time > 0 {
        model.push_str(&format!(
            ", {} not scheduled (out of modelling time)",
            unmodelled.by_time
        ));
    }
    println!("{model}");
    if let Some(why) = &search.unchecked {
        println!("checks:  off ({why})");
    }
    println!("took:    {:.1} s", took.as_secs_f64());
    let width = search
        .candidates
        .iter()
        .map(|c| c.config.to_string().len())
        .max()
        .unwrap_or(0)
        .max(6);
    println!(
        "  {:<width$}  {:>12}  {:>12}",
        "config", "predicted", "measured"
    );
    let mut untimed_shown = 0;
    for (index, candidate) in search.candidates.iter().enumerate() {
        let Some(estimate) = &candidate.estimate else {
            continue;
        };
        let is_default = search.defaults == Some(index);
        let measured = match &candidate.verdict {
            Verdict::Timed(ns) => ms(*ns),
            Verdict::Failed(_) => "failed".to_string(),
            Verdict::Skipped(_) => "skipped".to_string(),
            Verdict::Modelled => {
                if untimed_shown >= 3 && !is_default {
                    continue;
                }
                untimed_shown += 1;
                "-".to_string()
            }
            Verdict::Pruned(..) => continue,
        };
        let mark = if index == search.choice { "*" } else { " " };
        let mut notes = Vec::new();
        if index == search.choice {
            notes.push("chosen");
        }
        if is_default {
            notes.push("defaults");
        }
        println!(
            "{mark} {:<width$}  {:>12}  {:>12}  {}",
            candidate.config.to_string(),
            ms(estimate.ns),
            measured,
            notes.join(", ")
        );
    }
    let mut skipped = 0;
    for candidate in &search.candidates {
        match &candidate.verdict {
            Verdict::Failed(why) => println!("failed:  {}: {why}", candidate.config),
            Verdict::Skipped(_) => skipped += 1,
            _ => {}
        }
    }
    if skipped > 0 {
        println!("skipped: {skipped} (compiling them would pass the time budget)");
    }
    let mut reasons: Vec<(tk::tune::Prune, usize, String)> = Vec::new();
    for candidate in &search.candidates {
        if let Verdict::Pruned(prune, why) = &candidate.verdict {
            match reasons.iter_mut().find(|(p, _, _)| p == prune) {
                Some((_, n, _)) => *n += 1,
                None => reasons.push((*prune, 1, format!("{}: {why}", candidate.config))),
            }
        }
    }
    for (prune, count, example) in reasons {
        println!("pruned:  {count} {} (e.g. {example})", prune.describe());
    }
    if let Some(path) = path {
        println!("saved:   {}", path.display());
    }
}
