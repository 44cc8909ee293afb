//! Tuning: the autotuner of `#[autotune(key = [...], configs = [...])]` (here: benchmark every
//! listed config on the device, warm-up, device timestamps, median, keep the fastest) and the
//! schedule search for kernels without configs (`search`: enumerate the tile consts and the
//! scheduling knobs, prune by the device's limits and rank by the cost model of `cost`, time the
//! best few). Both persist their choice under `$XDG_CACHE_HOME/tk/tune` (`record`), keyed by
//! device, driver, source hash, kernel, the values of the key parameters, the `-D` consts and the
//! safety flag; later runs reuse it.
//!
//! A config sets const parameters and scheduling knobs (`space::KNOBS`: `threads`, the workgroup
//! size, overriding the kernel's `#[threads]`; `stages`, the buffers each staged `dot` rotates
//! through, overriding `#[stages]`).
//!
//! Reporting progress is the caller's business (callbacks); this module never prints.
mod check;
pub mod cost;
mod prune;
mod rank;
pub mod record;
pub mod search;
pub mod space;
mod stored;
mod timing;
use crate::base::{Diagnostics, KernelArg, Literal};
use crate::cache::{self, KernelCache};
use crate::driver::{self, Program};
use crate::ir;
use crate::runtime::Device;
use crate::sema::Checked;
use crate::syntax::ast;
use std::fmt;

pub use record::{default_dir, load, load_search, record_name, save};
pub use search::{
    search, Candidate, Prune, Search, SearchEvent, SearchOptions, Unmodelled, Verdict,
};
pub use stored::{
    save_search, search_key, search_or_reuse, search_record, stored_config, Searched,
};

/// One candidate configuration: const values and scheduling knob values (`space::KNOBS`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub consts: Vec<(String, Literal)>,
    /// Knob name (one of `space::KNOBS`) and value, in the order of `KNOBS`.
    pub knobs: Vec<(String, u32)>,
}

impl Config {
    /// The value of knob `name`, if the config sets it.
    pub fn knob(&self, name: &str) -> Option<u32> {
        self.knobs.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Parses the text `Display` writes (`{BLOCK = 64, threads = 32}`); names of knobs become
    /// knobs, other names consts. `None` for anything else.
    pub fn parse(text: &str) -> Option<Config> {
        let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?.trim();
        let mut config = Config::default();
        if inner.is_empty() {
            return Some(config);
        }
        for part in inner.split(", ") {
            let (name, value) = part.split_once(" = ")?;
            let name = name.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return None;
            }
            if space::knob(name).is_some() {
                config
                    .knobs
                    .push((name.to_string(), value.trim().parse().ok()?));
            } else {
                let value = match value.trim() {
                    "true" => Literal::Bool(true),
                    "false" => Literal::Bool(false),
                    v if v.contains(['.', 'e', 'i', 'N']) => Literal::Float(v.parse().ok()?),
                    v => Literal::Int(v.parse().ok()?),
                };
                config.consts.push((name.to_string(), value));
            }
        }
        Some(config)
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .consts
            .iter()
            .map(|(name, value)| format!("{name} = {}", literal_text(value)))
            .collect();
        parts.extend(self.knobs.iter().map(|(name, v)| format!("{name} = {v}")));
        write!(f, "{{{}}}", parts.join(", "))
    }
}

pub(crate) fn literal_text(value: &Literal) -> String {
    match value {
        Literal::Bool(b) => b.to_string(),
        Literal::Int(i) => i.to_string(),
        Literal::Float(x) => format!("{x:?}"),
    }
}

/// A kernel's `#[autotune]` attribute, with its config values evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Autotune {
    /// Names of runtime scalar parameters whose values select a tuning result.
    pub key: Vec<String>,
    pub configs: Vec<Config>,
}

/// Evaluates a config value: a literal, possibly negated.
fn literal_of(expr: &ast::Expr) -> Option<Literal> {
    match &expr.kind {
        ast::ExprKind::Int(v) => Some(Literal::Int(i128::try_from(*v).ok()?)),
        ast::ExprKind::Float(v) => Some(Literal::Float(*v)),
        ast::ExprKind::Bool(b) => Some(Literal::Bool(*b)),
        ast::ExprKind::Unary {
            op: ast::UnaryOp::Neg,
            operand,
        } => match literal_of(operand)? {
            Literal::Int(v) => Some(Literal::Int(-v)),
            Literal::Float(v) => Some(Literal::Float(-v)),
            Literal::Bool(_) => None,
        },
        _ => None,
    }
}

/// The `#[autotune]` of kernel `kernel` in the main file: `None` when it has none, an error
/// sentence when a config value is not a literal (sema has checked the attribute's shape).
pub fn autotune_attr(checked: &Checked, kernel: &str) -> Option<Result<Autotune, String>> {
    let file = checked.files.get(checked.main as usize)?;
    let item = file
        .items
        .iter()
        .find(|item| matches!(&item.kind, ast::ItemKind::Kernel(k) if k.name.name == kernel))?;
    let attr = item.attrs.iter().find(|a| a.name.name == "autotune")?;
    let mut autotune = Autotune {
        key: Vec::new(),
        configs: Vec::new(),
    };
    for arg in &attr.args {
        let ast::AttrArg::Named { name, value } = arg else {
            continue;
        };
        let ast::AttrVal::List { items, .. } = value else {
            continue;
        };
        for item in items {
            match (name.name.as_str(), item) {
                ("key", ast::AttrVal::Expr(expr)) => {
                    if let ast::ExprKind::Path(path) = &expr.kind {
                        autotune.key.extend(path.last().map(|p| p.name.clone()));
                    }
                }
                ("configs", ast::AttrVal::Record { fields, .. }) => {
                    let mut config = Config::default();
                    for (field, expr) in fields {
                        let Some(value) = literal_of(expr) else {
                            return Some(Err(format!(
                                "autotune config value `{}` must be a literal",
                                field.name
                            )));
                        };
                        if space::knob(&field.name).is_some() {
                            match value {
                                Literal::Int(n) if (1..=1 << 16).contains(&n) => {
                                    config.knobs.push((field.name.clone(), n as u32))
                                }
                                _ => {
                                    return Some(Err(format!(
                                        "autotune `{} = {}` is out of range",
                                        field.name,
                                        literal_text(&value)
                                    )))
                                }
                            }
                        } else {
                            config.consts.push((field.name.clone(), value));
                        }
                    }
                    autotune.configs.push(config);
                }
                _ => {}
            }
        }
    }
    if autotune.configs.is_empty() {
        return Some(Err("`#[autotune]` lists no configs".to_string()));
    }
    Some(Ok(autotune))
}

/// The values of the key parameters `key` in `args` (runtime parameter order), as `name=value`
/// text.
pub fn key_values(key: &[String], kernel: &ir::Kernel, args: &[KernelArg]) -> Vec<String> {
    key.iter()
        .map(|name| {
            let value = kernel
                .params
                .iter()
                .position(|p| &p.name == name)
                .and_then(|i| args.get(i));
            match value {
                Some(KernelArg::Scalar(v)) => format!("{name}={}", literal_text(v)),
                Some(KernelArg::Buffer(b)) => format!("{name}=buffer{:?}", b.shape),
                None => format!("{name}=?"),
            }
        })
        .collect()
}

/// The runtime scalar parameters of `kernel`: what a search keys its result on when the kernel
/// has no `#[autotune(key = [...])]` (docs/decisions.md, "Schedule search").
pub fn scalar_params(kernel: &ir::Kernel) -> Vec<String> {
    kernel
        .params
        .iter()
        .filter(|p| matches!(p.kind, ir::ParamKind::Scalar(_)))
        .map(|p| p.name.clone())
        .collect()
}

/// Lowers kernel `kernel` with `base` consts overridden by `config`, and applies its knobs.
pub fn lower_config(
    program: &Program,
    kernel: &str,
    base: &[(String, Literal)],
    config: &Config,
) -> Result<ir::Module, Diagnostics> {
    let mut consts: Vec<(String, Literal)> = base
        .iter()
        .filter(|(name, _)| !config.consts.iter().any(|(n, _)| n == name))
        .cloned()
        .collect();
    consts.extend(config.consts.iter().cloned());
    let mut module = driver::lower(program, kernel, &consts)?;
    for (name, value) in &config.knobs {
        if let Some(knob) = space::knob(name) {
            (knob.apply)(&mut module.kernel, *value);
        }
    }
    Ok(module)
}

/// What tuning found: the median time of each config (or why it failed) and the fastest.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuned {
    pub times: Vec<Result<f64, String>>,
    /// Index into the configs of the fastest one.
    pub choice: usize,
}

/// How a tuning run measures each config.
pub struct TuneOptions<'a> {
    pub safe: bool,
    pub warmup: u32,
    pub iterations: u32,
    pub cache: Option<&'a KernelCache>,
}

/// Gives the launch grid of a lowered config for the arguments.
pub type GridFor<'a> = dyn Fn(&ir::Kernel, &[KernelArg]) -> Result<[u32; 3], String> + 'a;
/// Hears of each config as its benchmark finishes: index, config, median ns or why it failed.
pub type OnConfig<'a> = dyn FnMut(usize, &Config, &Result<f64, String>) + 'a;

/// Benchmarks every config of `autotune` for kernel `kernel` on `device` with `args` and picks
/// the fastest. `grid_for` gives the launch grid of a lowered config (consts change it);
/// `on_config` hears about each config as it finishes. Fails only when no config runs.
#[allow(clippy::too_many_arguments)]
pub fn tune(
    device: &Device,
    program: &Program,
    kernel: &str,
    base: &[(String, Literal)],
    autotune: &Autotune,
    args: &[KernelArg],
    grid_for: &GridFor<'_>,
    options: &TuneOptions,
    on_config: &mut OnConfig<'_>,
) -> Result<Tuned, String> {
    let target = device.target();
    let driver_text = &device.info().driver;
    let mut times = Vec::new();
    for (index, config) in autotune.configs.iter().enumerate() {
        let time = (|| -> Result<f64, String> {
            let mut lowered = lower_config(program, kernel, base, config)
                .map_err(|d| crate::base::diag::render(&d, &program.sources, false))?;
            crate::driver::specialize(&mut lowered, args);
            let grid = grid_for(&lowered.kernel, args)?;
            let (artifact, _) = cache::compile(
                &program.sources,
                lowered,
                &target,
                driver_text,
                options.safe,
                options.cache,
            )
            .map_err(|d| {
                crate::base::diag::render(&Diagnostics::from(d), &program.sources, false)
            })?;
            let pipeline = device.load(&artifact).map_err(|e| e.to_string())?;
            let mut args = args.to_vec();
            let timing = device
                .bench(
                    &pipeline,
                    &mut args,
                    grid,
                    options.warmup,
                    options.iterations,
                )
                .map_err(|e| e.to_string())?;
            Ok(timing.median_ns)
        })();
        // Diagnostics render over several lines; a record keeps one.
        let time = time.map_err(|why| why.trim().lines().next().unwrap_or("").to_string());
        on_config(index, config, &time);
        times.push(time);
    }
    let choice = times
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.as_ref().ok().map(|ns| (i, *ns)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
        .ok_or_else(|| {
            let reasons: Vec<String> = times
                .iter()
                .zip(&autotune.configs)
                .map(|(t, c)| format!("{c}: {}", t.as_ref().err().cloned().unwrap_or_default()))
                .collect();
            format!("no autotune config ran: {}", reasons.join("; "))
        })?;
    Ok(Tuned { times, choice })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_display_like_the_attribute_and_parse_back() {
        let config = Config {
            consts: vec![
                ("BLOCK".into(), Literal::Int(256)),
                ("EPS".into(), Literal::Float(1e-5)),
            ],
            knobs: vec![("threads".into(), 64)],
        };
        assert_eq!(
            config.to_string(),
            "{BLOCK = 256, EPS = 1e-5, threads = 64}"
        );
        assert_eq!(Config::parse(&config.to_string()), Some(config));
        assert_eq!(Config::parse("{}"), Some(Config::default()));
        assert_eq!(Config::parse("{BLOCK = }"), None);
        assert_eq!(Config::parse("BLOCK = 1"), None);
    }
}
