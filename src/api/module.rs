//! `Module`: a source file checked once whose kernels compile lazily, once per set of const
//! values given at launch (Triton's `@jit`): the form the Python bindings take, where consts are
//! keywords of the call. A kernel with `#[autotune]` launched on a device without its tuned
//! consts gets the tuned config for the arguments' key values, read from the autotuning cache
//! that `tkc tune` writes (tuning first when none is stored), as `tkc run` does.
use super::{bind_args, check_program, compile_error, read_source, ArgValue, Backend};
use super::{Const, Context, Error, Kernel};
use crate::abi::bind::Key;
use crate::base::{Diagnostics, KernelArg, Literal, SourceMap};
use crate::driver;
use crate::sema::KernelSig;
use crate::tune::{self, Autotune, Config, TuneOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The specialisations compiled so far, by kernel, const values and tuned knobs (`threads`, …).
type Specialisations = HashMap<(String, Vec<(String, String)>, Vec<(String, u32)>), Arc<Kernel>>;

/// A checked source file and its kernels' specialisations for one context.
pub struct Module {
    ctx: Arc<Context>,
    program: driver::Program,
    safe: bool,
    compiled: Mutex<Specialisations>,
}

/// What `Module::tune` measured: every config of the kernel's `#[autotune]` and the one kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneReport {
    pub kernel: String,
    /// The key parameters' values this result is kept for, as `name=value`.
    pub key: Vec<String>,
    /// Each config with its median time in nanoseconds, or why it failed.
    pub configs: Vec<(Config, Result<f64, String>)>,
    /// Index into `configs` of the fastest.
    pub choice: usize,
    /// Where the result was saved (`None` without a cache directory).
    pub path: Option<PathBuf>,
}

/// A const value as a key of the specialisation table: exact, floats by their bits.
fn const_key(value: &Literal) -> String {
    match value {
        Literal::Bool(b) => format!("bool {b}"),
        Literal::Int(i) => format!("int {i}"),
        Literal::Float(f) => format!("float {:016x}", f.to_bits()),
    }
}

impl Module {
    /// Checks the file at `path` (its `use`s are read relative to it) for kernels on `ctx`.
    pub fn from_file(ctx: Arc<Context>, path: impl AsRef<Path>) -> Result<Module, Error> {
        let path = path.as_ref();
        let text = read_source(path)?;
        Module::from_source(ctx, &path.display().to_string(), &text)
    }

    /// Checks source text; `name` is the file name diagnostics show.
    pub fn from_source(ctx: Arc<Context>, name: &str, text: &str) -> Result<Module, Error> {
        Ok(Module {
            ctx,
            program: check_program(name, text)?,
            safe: true,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// The same module compiling its kernels without safe mode's bounds checks and asserts.
    pub fn unchecked(mut self) -> Module {
        self.safe = false;
        self
    }

    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Whether kernels are compiled with safe mode's checks.
    pub fn is_safe(&self) -> bool {
        self.safe
    }

    /// The kernels' signatures, in source order: names, doc lines, parameters (runtime and
    /// const, with types and defaults) and `#[autotune]`.
    pub fn kernels(&self) -> &[KernelSig] {
        &self.program.checked.kernels
    }

    /// The signature of kernel `name`.
    pub fn signature(&self, name: &str) -> Option<&KernelSig> {
        self.kernels().iter().find(|k| k.name == name)
    }

    /// Whether kernel `name` has a `#[grid(...)]`, so that a launch may leave out its grid.
    pub fn has_grid(&self, name: &str) -> bool {
        let checked = &self.program.checked;
        checked
            .files
            .get(checked.main as usize)
            .is_some_and(|file| {
                file.items.iter().any(|item| {
                matches!(&item.kind, crate::syntax::ast::ItemKind::Kernel(k) if k.name.name == name)
                    && item.attrs.iter().any(|a| a.name.name == "grid")
            })
            })
    }

    /// Warnings the check found (a module with errors is never made).
    pub fn warnings(&self) -> &Diagnostics {
        &self.program.diagnostics
    }

    pub fn sources(&self) -> &SourceMap {
        &self.program.sources
    }

    /// Kernel `name` compiled for `consts` (the others at their defaults): compiled on the
    /// first request for these values (through the on-disk cache), then kept.
    pub fn kernel(&self, name: &str, consts: &[(&str, Const)]) -> Result<Arc<Kernel>, Error> {
        let consts: Vec<(String, Literal)> = consts
            .iter()
            .map(|(name, value)| (name.to_string(), value.0))
            .collect();
        self.specialise(name, &consts, &[])
    }

    fn specialise(
        &self,
        name: &str,
        consts: &[(String, Literal)],
        knobs: &[(String, u32)],
    ) -> Result<Arc<Kernel>, Error> {
        let mut key_consts: Vec<(String, String)> = consts
            .iter()
            .map(|(name, value)| (name.clone(), const_key(value)))
            .collect();
        key_consts.sort();
        let key = (name.to_string(), key_consts, knobs.to_vec());
        if let Some(kernel) = self.lock().get(&key) {
            return Ok(kernel.clone());
        }
        // Compiled outside the lock: another thread asking for the same values at once compiles
        // them too, and one of the two equal kernels is kept.
        let mut lowered = driver::lower(&self.program, name, consts)
            .map_err(|d| compile_error(d, &self.program.sources))?;
        for (knob, value) in knobs {
            if let Some(knob) = tune::space::knob(knob) {
                (knob.apply)(&mut lowered.kernel, *value);
            }
        }
        let kernel = Arc::new(Kernel::from_lowered(
            &self.ctx,
            &self.program.sources,
            lowered,
            self.safe,
        )?);
        Ok(self.lock().entry(key).or_insert(kernel).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Specialisations> {
        // The table holds only finished kernels, so a panic elsewhere cannot leave it half made.
        self.compiled.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `#[autotune]` of kernel `name`, when it has one and the context is a Vulkan device.
    fn autotune(&self, name: &str) -> Result<Option<Autotune>, Error> {
        if self.ctx.is_interpreter() {
            return Ok(None);
        }
        match tune::autotune_attr(&self.program.checked, name) {
            None => Ok(None),
            Some(Ok(autotune)) => Ok(Some(autotune)),
            Some(Err(message)) => Err(Error::Arguments {
                kernel: name.to_string(),
                message,
                problem: None,
            }),
        }
    }

    /// The kernel a launch with `consts` and `args` runs: `kernel(name, consts)`, except for a
    /// kernel with `#[autotune]` on a device when `consts` set none of the tuned consts: then
    /// the config tuned for the arguments' key values (tuned now, with `grid` or the kernel's
    /// `#[grid]`, when no result is stored); and for a kernel without `#[autotune]` whose
    /// schedule search (`tkc tune`, `tune::search_or_reuse`) stored a choice for these key values
    /// on this device: that choice, for the consts `consts` leaves free (a launch never searches
    /// by itself).
    pub fn select(
        &self,
        name: &str,
        consts: &[(&str, Const)],
        args: &[(Key<'_>, ArgValue<'_>)],
        grid: Option<[u32; 3]>,
    ) -> Result<Arc<Kernel>, Error> {
        let base = self.kernel(name, consts)?;
        let Some(autotune) = self.autotune(name)? else {
            return self.searched(name, consts, args, base);
        };
        let fixed = autotune
            .configs
            .iter()
            .flat_map(|c| &c.consts)
            .any(|(tuned, _)| consts.iter().any(|(given, _)| given == tuned));
        if fixed {
            return Ok(base);
        }
        let (bound, _) = bind_args(&base.params, args)?;
        let base_consts = given_consts(consts);
        let (path, keys) = self.record_path(name, &autotune, &base, &bound, &base_consts);
        let stored = path
            .as_deref()
            .and_then(|path| tune::load(path, name, &autotune));
        let choice = match stored {
            Some(tuned) => tuned.choice,
            None => {
                self.tune_now(name, &autotune, &base_consts, &bound, grid, 10, path, keys)?
                    .choice
            }
        };
        let config = &autotune.configs[choice];
        let mut consts = base_consts;
        consts.retain(|(name, _)| !config.consts.iter().any(|(n, _)| n == name));
        consts.extend(config.consts.iter().cloned());
        self.specialise(name, &consts, &config.knobs)
    }

    /// `base`, or the config a stored search chose for `args`' key values on this device.
    fn searched(
        &self,
        name: &str,
        consts: &[(&str, Const)],
        args: &[(Key<'_>, ArgValue<'_>)],
        base: Arc<Kernel>,
    ) -> Result<Arc<Kernel>, Error> {
        let Backend::Vulkan(device) = &self.ctx.backend else {
            return Ok(base);
        };
        let Some(records) = &self.ctx.tune_dir else {
            return Ok(base);
        };
        let (bound, _) = bind_args(&base.params, args)?;
        let base_consts = given_consts(consts);
        let (_, record) = tune::search_record(
            device,
            &self.program,
            &base.lowered.kernel,
            &base_consts,
            &bound,
            self.safe,
            Some(records),
        );
        let Some(config) = record.and_then(|record| tune::stored_config(&record, name)) else {
            return Ok(base);
        };
        // Consts the caller gave keep their values; the search's fill the rest.
        let mut merged = base_consts;
        for (tuned, value) in &config.consts {
            if !merged.iter().any(|(given, _)| given == tuned) {
                merged.push((tuned.clone(), *value));
            }
        }
        self.specialise(name, &merged, &config.knobs)
    }

    fn record_path(
        &self,
        name: &str,
        autotune: &Autotune,
        base: &Kernel,
        args: &[KernelArg],
        consts: &[(String, Literal)],
    ) -> (Option<PathBuf>, Vec<String>) {
        let keys = tune::key_values(&autotune.key, &base.lowered.kernel, args);
        let path = match (&self.ctx.backend, &self.ctx.tune_dir) {
            (Backend::Vulkan(device), Some(dir)) => Some(dir.join(tune::record_name(
                &device.info().name,
                &device.info().driver,
                &self.program.sources,
                name,
                &keys,
                consts,
                self.safe,
                false,
            ))),
            _ => None,
        };
        (path, keys)
    }

    /// Benchmarks every `#[autotune]` config of kernel `name` now with these arguments (`tkc
    /// tune`), saves the fastest where `tkc tune` and `tkc run` look for it (unless the context
    /// has no cache), and reports each config's time. `grid`: the launch grid for every config,
    /// else each config's `#[grid]`.
    pub fn tune(
        &self,
        name: &str,
        consts: &[(&str, Const)],
        args: &[(Key<'_>, ArgValue<'_>)],
        grid: Option<[u32; 3]>,
        iterations: u32,
    ) -> Result<TuneReport, Error> {
        let base = self.kernel(name, consts)?;
        let fail = |message: String| Error::Arguments {
            kernel: name.to_string(),
            message,
            problem: None,
        };
        if self.ctx.is_interpreter() {
            return Err(fail(
                "tuning needs a Vulkan device, not the interpreter".into(),
            ));
        }
        let Some(autotune) = self.autotune(name)? else {
            return Err(fail(format!("kernel `{name}` has no #[autotune]")));
        };
        let (bound, _) = bind_args(&base.params, args)?;
        let base_consts = given_consts(consts);
        let (path, keys) = self.record_path(name, &autotune, &base, &bound, &base_consts);
        self.tune_now(
            name,
            &autotune,
            &base_consts,
            &bound,
            grid,
            iterations,
            path,
            keys,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn tune_now(
        &self,
        name: &str,
        autotune: &Autotune,
        consts: &[(String, Literal)],
        args: &[KernelArg],
        grid: Option<[u32; 3]>,
        iterations: u32,
        path: Option<PathBuf>,
        key: Vec<String>,
    ) -> Result<TuneReport, Error> {
        let Backend::Vulkan(device) = &self.ctx.backend else {
            return Err(Error::Arguments {
                kernel: name.to_string(),
                message: "tuning needs a Vulkan device, not the interpreter".into(),
                problem: None,
            });
        };
        let grid_for = |kernel: &crate::ir::Kernel, args: &[KernelArg]| match grid {
            Some(grid) => Ok(grid),
            None => match crate::interp::launch_grid(kernel, args) {
                Some(result) => result.map_err(|e| format!("cannot evaluate #[grid]: {e}")),
                None => Err("the kernel has no #[grid]: give the launch a grid".to_string()),
            },
        };
        let options = TuneOptions {
            safe: self.safe,
            warmup: 2,
            iterations,
            cache: self.ctx.cache.as_ref(),
        };
        let tuned = tune::tune(
            device,
            &self.program,
            name,
            consts,
            autotune,
            args,
            &grid_for,
            &options,
            &mut |_, _, _| {},
        )
        .map_err(|message| Error::Arguments {
            kernel: name.to_string(),
            message,
            problem: None,
        })?;
        if let Some(path) = &path {
            // A result that cannot be saved is tuned again next time; the launch goes on.
            let _ = tune::save(path, name, &autotune.configs, &tuned, false);
        }
        Ok(TuneReport {
            kernel: name.to_string(),
            key,
            configs: autotune.configs.iter().cloned().zip(tuned.times).collect(),
            choice: tuned.choice,
            path,
        })
    }
}

fn given_consts(consts: &[(&str, Const)]) -> Vec<(String, Literal)> {
    consts
        .iter()
        .map(|(name, value)| (name.to_string(), value.0))
        .collect()
}
