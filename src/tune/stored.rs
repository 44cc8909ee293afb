//! The schedule search with its record: what `tkc tune`, `tkc run` and the library APIs call.
//! A search's result is stored like an autotune result (`record`), keyed on the kernel's
//! `#[autotune(key = [...])]` when it has one, else on every runtime scalar parameter (the values
//! that size the problem; docs/decisions.md, "Schedule search").
use super::search::{search, OnSearch, Search, SearchOptions};
use super::{key_values, record, scalar_params, Config, GridFor, Tuned};
use crate::base::{KernelArg, Literal};
use crate::driver::{self, Program};
use crate::ir;
use crate::runtime::Device;
use std::path::{Path, PathBuf};

/// The runtime parameters a search's result is keyed on.
pub fn search_key(program: &Program, kernel: &ir::Kernel) -> Vec<String> {
    match super::autotune_attr(&program.checked, &kernel.name) {
        Some(Ok(autotune)) => autotune.key,
        _ => scalar_params(kernel),
    }
}

/// The key values of a launch and where its search record lives: in `dir`, or in
/// `$XDG_CACHE_HOME/tk/tune` (`None` when there is no cache directory).
pub fn search_record(
    device: &Device,
    program: &Program,
    kernel: &ir::Kernel,
    consts: &[(String, Literal)],
    args: &[KernelArg],
    safe: bool,
    dir: Option<&Path>,
) -> (Vec<String>, Option<PathBuf>) {
    let keys = key_values(&search_key(program, kernel), kernel, args);
    let name = record::record_name(
        &device.info().name,
        &device.info().driver,
        &program.sources,
        &kernel.name,
        &keys,
        consts,
        safe,
        true,
    );
    let dir = dir.map(Path::to_path_buf).or_else(record::default_dir);
    (keys, dir.map(|dir| dir.join(name)))
}

/// Writes a search's timed candidates and its choice as a record.
pub fn save_search(path: &Path, kernel: &str, search: &Search) -> std::io::Result<()> {
    let timed = search.timed();
    let choice = timed
        .iter()
        .position(|(config, _)| *config == search.config())
        .unwrap_or(0);
    let configs: Vec<Config> = timed.iter().map(|(c, _)| (*c).clone()).collect();
    let tuned = Tuned {
        times: timed.into_iter().map(|(_, t)| t).collect(),
        choice,
    };
    record::save(path, kernel, &configs, &tuned, true)
}

/// The config the search stored at `record` (`search_record`) chose for kernel `kernel`; `None`
/// when there is no such record.
pub fn stored_config(record: &Path, kernel: &str) -> Option<Config> {
    let (configs, tuned) = record::load_search(record, kernel)?;
    configs.into_iter().nth(tuned.choice)
}

/// What `search_or_reuse` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Searched {
    /// The config to launch with.
    pub config: Config,
    /// The search, when one ran (`None`: the stored choice was reused).
    pub search: Option<Search>,
    /// Where the result is stored (`None` when there is no cache directory or it could not be
    /// written).
    pub record: Option<PathBuf>,
}

/// Reuses the stored search result for this launch, or searches (and stores the result): the
/// one call for the library APIs. `grid_for` gives the grid of a lowered candidate; `None`
/// evaluates the kernel's `#[grid]`. `fresh` searches even when a result is stored.
#[allow(clippy::too_many_arguments)]
pub fn search_or_reuse(
    device: &Device,
    program: &Program,
    kernel: &str,
    consts: &[(String, Literal)],
    args: &[KernelArg],
    grid_for: Option<&GridFor<'_>>,
    options: &SearchOptions,
    fresh: bool,
    on_event: &mut OnSearch<'_>,
) -> Result<Searched, String> {
    let lowered = driver::lower(program, kernel, consts).map_err(|d| {
        crate::base::diag::render(&d, &program.sources, false)
            .trim()
            .to_string()
    })?;
    let dir = options.records.as_deref();
    let (_, record) = search_record(
        device,
        program,
        &lowered.kernel,
        consts,
        args,
        options.safe,
        dir,
    );
    let stored = record
        .as_deref()
        .and_then(|path| stored_config(path, kernel));
    if let Some(config) = stored.filter(|_| !fresh) {
        return Ok(Searched {
            config,
            search: None,
            record,
        });
    }
    let by_attribute =
        |kernel: &ir::Kernel, args: &[KernelArg]| match crate::interp::launch_grid(kernel, args) {
            Some(Ok(grid)) => Ok(grid),
            Some(Err(error)) => Err(error.to_string()),
            None => Err(format!(
                "kernel `{}` has no #[grid]: give the search a grid",
                kernel.name
            )),
        };
    let grid_for = grid_for.unwrap_or(&by_attribute);
    let found = search(
        device, program, kernel, consts, args, grid_for, options, on_event,
    )?;
    // A result that cannot be saved is searched again next time; the caller still gets it.
    let record = record.filter(|path| save_search(path, kernel, &found).is_ok());
    Ok(Searched {
        config: found.config().clone(),
        search: Some(found),
        record,
    })
}
