//! The autotuner: reads a kernel's `#[autotune(key = [...], configs = [...])]`, benchmarks every
//! config on the device (warm-up, device timestamps, median), picks the fastest, and persists the
//! choice under `$XDG_CACHE_HOME/tk/tune`, keyed by device, driver, source hash, kernel, the
//! values of the key parameters, the `-D` consts and the safety flag. Later runs reuse it.
//!
//! A config sets const parameters and, with `threads`, the workgroup size (overriding the
//! kernel's `#[threads]`), with `stages` the buffers of each staged `dot` (overriding
//! `#[stages]`). The record is a small text file:
//!
//! ```text
//! tk-tune 1
//! kernel softmax
//! config 0 {BLOCK = 1024, threads = 64} 812345.0
//! config 1 {BLOCK = 1024, threads = 256} failed: the device allows at most 128 invocations
//! choice 0
//! ```
//!
//! Reporting progress is the caller's business (a callback per config); this module never prints.
use crate::base::{Diagnostics, KernelArg, Literal, SourceMap};
use crate::cache::{self, KernelCache, StableHasher};
use crate::driver::{self, Program};
use crate::ir;
use crate::runtime::Device;
use crate::sema::Checked;
use crate::syntax::ast;
use std::fmt;
use std::path::{Path, PathBuf};

/// One candidate configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub consts: Vec<(String, Literal)>,
    pub threads: Option<u32>,
    /// The buffers each staged `dot` rotates through (overriding the kernel's `#[stages]`).
    pub stages: Option<u32>,
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .consts
            .iter()
            .map(|(name, value)| format!("{name} = {}", literal_text(value)))
            .collect();
        if let Some(threads) = self.threads {
            parts.push(format!("threads = {threads}"));
        }
        if let Some(stages) = self.stages {
            parts.push(format!("stages = {stages}"));
        }
        write!(f, "{{{}}}", parts.join(", "))
    }
}

fn literal_text(value: &Literal) -> String {
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
                    let mut config = Config {
                        consts: Vec::new(),
                        threads: None,
                        stages: None,
                    };
                    for (field, expr) in fields {
                        let Some(value) = literal_of(expr) else {
                            return Some(Err(format!(
                                "autotune config value `{}` must be a literal",
                                field.name
                            )));
                        };
                        if field.name == "stages" {
                            match value {
                                Literal::Int(n) if crate::sema::STAGES.contains(&n) => {
                                    config.stages = Some(n as u32)
                                }
                                _ => {
                                    return Some(Err(format!(
                                        "autotune `stages = {}` is not a number of buffers",
                                        literal_text(&value)
                                    )))
                                }
                            }
                        } else if field.name == "threads" {
                            match value {
                                Literal::Int(n) if (1..=1 << 16).contains(&n) => {
                                    config.threads = Some(n as u32)
                                }
                                _ => {
                                    return Some(Err(format!(
                                        "autotune `threads = {}` is not a workgroup size",
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

/// The values of the key parameters in `args` (runtime parameter order), as `name=value` text.
pub fn key_values(autotune: &Autotune, kernel: &ir::Kernel, args: &[KernelArg]) -> Vec<String> {
    autotune
        .key
        .iter()
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

/// Lowers kernel `kernel` with `base` consts overridden by `config`, and applies its `threads`
/// and `stages`.
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
    if config.threads.is_some() {
        module.kernel.threads = config.threads;
    }
    if config.stages.is_some() {
        module.kernel.stages = config.stages;
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

/// Where the tuning result for this device, program, kernel, key values and consts lives.
#[allow(clippy::too_many_arguments)]
pub fn record_path(
    device: &str,
    driver: &str,
    sources: &SourceMap,
    kernel: &str,
    key_values: &[String],
    base: &[(String, Literal)],
    safe: bool,
) -> Option<PathBuf> {
    let mut hasher = StableHasher::new();
    hasher
        .field(device)
        .field(driver)
        .field(&cache::source_hash(sources))
        .field(kernel);
    for value in key_values {
        hasher.field(value);
    }
    for (name, value) in base {
        hasher.field(name).field(&literal_text(value));
    }
    hasher.field(if safe { "safe" } else { "unchecked" });
    cache::cache_root().map(|root| root.join("tune").join(format!("{}.txt", hasher.hex())))
}

/// Reads a tuning record; `None` when absent, malformed, or made for other configs.
pub fn load(path: &Path, kernel: &str, autotune: &Autotune) -> Option<Tuned> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != "tk-tune 1" || lines.next()? != format!("kernel {kernel}") {
        return None;
    }
    let mut times = Vec::new();
    let mut choice = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("config ") {
            let (index, rest) = rest.split_once(' ')?;
            let index: usize = index.parse().ok()?;
            let config = autotune.configs.get(index)?;
            let rest = rest.strip_prefix(&config.to_string())?.trim_start();
            if index != times.len() {
                return None;
            }
            times.push(match rest.strip_prefix("failed: ") {
                Some(why) => Err(why.to_string()),
                None => Ok(rest.parse::<f64>().ok()?),
            });
        } else if let Some(index) = line.strip_prefix("choice ") {
            choice = Some(index.parse::<usize>().ok()?);
        }
    }
    let choice = choice?;
    if times.len() != autotune.configs.len() || !matches!(times.get(choice), Some(Ok(_))) {
        return None;
    }
    Some(Tuned { times, choice })
}

/// Writes a tuning record atomically.
pub fn save(path: &Path, kernel: &str, autotune: &Autotune, tuned: &Tuned) -> std::io::Result<()> {
    let mut text = format!("tk-tune 1\nkernel {kernel}\n");
    for (index, (config, time)) in autotune.configs.iter().zip(&tuned.times).enumerate() {
        let time = match time {
            Ok(ns) => format!("{ns:.1}"),
            Err(why) => format!("failed: {}", why.replace('\n', " ")),
        };
        text.push_str(&format!("config {index} {config} {time}\n"));
    }
    text.push_str(&format!("choice {}\n", tuned.choice));
    cache::write_atomic(path, text.as_bytes())
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
            let lowered = lower_config(program, kernel, base, config)
                .map_err(|d| crate::base::diag::render(&d, &program.sources, false))?;
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
    fn records_round_trip_and_reject_other_configs() {
        let autotune = Autotune {
            key: vec!["n".into()],
            configs: vec![
                Config {
                    consts: vec![("BLOCK".into(), Literal::Int(64))],
                    threads: Some(32),
                    stages: None,
                },
                Config {
                    consts: vec![("BLOCK".into(), Literal::Int(128))],
                    threads: None,
                    stages: Some(2),
                },
            ],
        };
        let tuned = Tuned {
            times: vec![Ok(1500.0), Err("too big\nsecond line".into())],
            choice: 0,
        };
        let dir = std::env::temp_dir().join(format!("tk-tune-unit-{}", std::process::id()));
        let path = dir.join("record.txt");
        save(&path, "k", &autotune, &tuned).unwrap();
        let loaded = load(&path, "k", &autotune).unwrap();
        assert_eq!(loaded.choice, 0);
        assert_eq!(loaded.times[0], Ok(1500.0));
        assert_eq!(loaded.times[1], Err("too big second line".to_string()));
        assert!(load(&path, "other", &autotune).is_none());
        let mut changed = autotune.clone();
        changed.configs[1].threads = Some(64);
        assert!(load(&path, "k", &changed).is_none());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn configs_display_like_the_attribute() {
        let config = Config {
            consts: vec![("BLOCK".into(), Literal::Int(256))],
            threads: Some(64),
            stages: Some(1),
        };
        assert_eq!(
            config.to_string(),
            "{BLOCK = 256, threads = 64, stages = 1}"
        );
    }
}
