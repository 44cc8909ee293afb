//! `tkc tune` and the autotuning step of `tkc run`: benchmark a kernel's `#[autotune]` configs
//! on the device (progress on stderr when it is a terminal), persist the choice, reuse it later.
#![allow(unused_imports)]
use super::*;
use std::io::IsTerminal;
use tk::tune::{self, Autotune, TuneOptions, Tuned};

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
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(autotune.configs.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    progress.set_style(
        indicatif::ProgressStyle::with_template("autotune {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress.set_message(sig.name.clone());
    let grid_for = |kernel: &ir::Kernel, args: &[KernelArg]| {
        launch_grid(command_line, kernel, args, launch.grid.as_deref())
            .map_err(|fail| fail.text.trim().to_string())
    };
    let kernel_cache = if launch.no_cache {
        None
    } else {
        tk::cache::KernelCache::default_location()
    };
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
        if let Err(error) = tune::save(path, &sig.name, autotune, &tuned) {
            eprintln!("tkc: autotune: cannot save {}: {error}", path.display());
        }
    }
    Ok(tuned)
}

#[allow(clippy::too_many_arguments)]
fn record_path(
    device: &Device,
    program: &Program,
    sig: &KernelSig,
    consts: &[(String, Literal)],
    autotune: &Autotune,
    lowered: &ir::Module,
    args: &[KernelArg],
    launch: &LaunchArgs,
) -> (Vec<String>, Option<PathBuf>) {
    let keys = tune::key_values(autotune, &lowered.kernel, args);
    let path = if launch.no_cache {
        None
    } else {
        tune::record_path(
            &device.info().name,
            &device.info().driver,
            &program.sources,
            &sig.name,
            &keys,
            consts,
            !launch.unchecked,
        )
    };
    (keys, path)
}

/// For `tkc run`/`tkc bench`: when the kernel has `#[autotune]`, the module and grid of the tuned
/// config (tuning first when no result is stored for these key values). `None` leaves the run
/// as it was: no attribute, or a `-D` that sets a tuned const (the user's choice wins).
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
        return Ok(None);
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
        device, program, sig, consts, &autotune, lowered, args, launch,
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
    let module = tune::lower_config(program, &sig.name, consts, config)
        .map_err(|d| program_errors(&d, &program.sources))?;
    let grid = launch_grid(command_line, &module.kernel, args, launch.grid.as_deref())?;
    Ok(Some((module, grid)))
}

/// `tkc tune FILE [run args]`: benchmark every config now, save the choice, print the table.
pub(crate) fn tune_command(
    command_line: &CommandLine,
    launch: &LaunchArgs,
    iterations: u32,
) -> Result<()> {
    let program = load_program(command_line, &launch.file)?;
    let sig = choose_kernel(
        command_line,
        &program,
        launch.kernel.as_deref(),
        &launch.file,
    )?;
    let Some(autotune) = autotune_of(&program, sig)? else {
        return Err(command_line.fail(
            "E0918",
            format!("kernel `{}` has no #[autotune]", sig.name),
            &sig.name,
            "nothing to tune",
            "add e.g. #[autotune(key = [n], configs = [{BLOCK = 256}, {BLOCK = 1024}])]".into(),
        ));
    };
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
    let (keys, path) = record_path(
        &device, &program, sig, &consts, &autotune, &lowered, &args, launch,
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
        iterations,
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
