//! `tk._native`: the Python extension over tk's Rust API (`tk::api`). It turns Python values into
//! the API's arguments (numpy arrays into host buffers, Python and numpy scalars into untyped and
//! typed scalars, keywords that name consts into the consts of a specialisation) and the API's
//! errors into Python exceptions; binding, checking, compiling, launching, timing and tuning are
//! the library's. The Triton-style surface (`kernel[grid](...)`, attributes per kernel) is
//! `tk/__init__.py`, over the `Module` class here.
use numpy::PyUntypedArrayMethods;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use tk::abi::bind::Key;
use tk::api::{self, ArgValue, Const, Context};
use tk::base::{Literal, ParamKind};
use tk::sema::KernelParamKind;

mod args;
mod errors;

use args::{const_of, convert, Arg};
use errors::{
    launch_error, obj, to_py_err, CompileError, DeviceError, Diagnostic, KernelError, LaunchError,
    TkError,
};

/// The contexts opened so far, by device and cache directory: every `tk.compile` for the same
/// device shares one (opening a Vulkan device takes long).
type Contexts = Mutex<HashMap<(String, Option<PathBuf>, bool), Arc<Context>>>;

fn contexts() -> &'static Contexts {
    static CONTEXTS: OnceLock<Contexts> = OnceLock::new();
    CONTEXTS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn context(
    py: Python<'_>,
    device: &str,
    cache_dir: Option<PathBuf>,
    cache: bool,
) -> PyResult<Arc<Context>> {
    let key = (device.to_string(), cache_dir.clone(), cache);
    if let Some(ctx) = contexts()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
    {
        return Ok(ctx.clone());
    }
    let opened = match device {
        "interp" => Ok(Context::interpreter()),
        "auto" => Context::new(),
        index => match index.parse::<usize>() {
            Ok(index) => Context::device(index),
            Err(_) => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "device={index:?} is not a device: give \"auto\", \"interp\" or an index \
                     from tk.devices()"
                )))
            }
        },
    };
    let mut ctx = opened.map_err(|e| to_py_err(py, e))?;
    if !cache {
        ctx = ctx.without_cache();
    } else if let Some(dir) = cache_dir {
        if !ctx.is_interpreter() {
            ctx = ctx.with_cache_dir(dir);
        }
    }
    let ctx = Arc::new(ctx);
    contexts()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, ctx.clone());
    Ok(ctx)
}

/// A checked source file (see `tk.compile`). The Python `tk.Module` wraps it.
#[pyclass(frozen, module = "tk._native", name = "Module")]
struct NativeModule {
    inner: Arc<api::Module>,
}

/// Which parameter an argument is for, as Python gave it.
enum Slot {
    Position(usize),
    Name(String),
}

/// A launch's arguments, converted: in order, with their keys.
struct Converted<'py> {
    slots: Vec<Slot>,
    args: Vec<Arg<'py>>,
    consts: Vec<(String, Const)>,
    /// The Python values by parameter name, for a callable grid.
    given: Vec<(String, Bound<'py, PyAny>)>,
}

impl NativeModule {
    fn sig(&self, py: Python<'_>, kernel: &str) -> PyResult<&tk::sema::KernelSig> {
        self.inner.signature(kernel).ok_or_else(|| {
            let names: Vec<&str> = self
                .inner
                .kernels()
                .iter()
                .map(|k| k.name.as_str())
                .collect();
            launch_error(
                py,
                kernel,
                None,
                format!(
                    "no kernel `{kernel}` (the file defines {})",
                    names.join(", ")
                ),
            )
        })
    }

    fn convert<'py>(
        &self,
        py: Python<'py>,
        kernel: &str,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Converted<'py>> {
        let sig = self.sig(py, kernel)?;
        let runtime: Vec<(&str, ParamKind)> = sig
            .params
            .iter()
            .filter_map(|p| match p.kind {
                KernelParamKind::Runtime(kind) => Some((p.name.as_str(), kind)),
                KernelParamKind::Const { .. } => None,
            })
            .collect();
        let is_const = |name: &str| {
            sig.params
                .iter()
                .any(|p| p.name == name && matches!(p.kind, KernelParamKind::Const { .. }))
        };
        let param_of = |name: &str| {
            runtime
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, kind)| (*n, matches!(kind, ParamKind::Pointer { mutable: true, .. })))
        };
        let mut converted = Converted {
            slots: Vec::new(),
            args: Vec::new(),
            consts: Vec::new(),
            given: Vec::new(),
        };
        for (position, value) in args.iter().enumerate() {
            let param = runtime.get(position).and_then(|(name, _)| param_of(name));
            converted.args.push(convert(py, kernel, param, &value)?);
            converted.slots.push(Slot::Position(position));
            if let Some((name, _)) = param {
                converted.given.push((name.to_string(), value));
            }
        }
        if let Some(kwargs) = kwargs {
            for (name, value) in kwargs.iter() {
                let name: String = name.extract()?;
                if is_const(&name) {
                    converted
                        .consts
                        .push((name.clone(), const_of(py, kernel, &name, &value)?));
                    converted.given.push((name, value));
                    continue;
                }
                let param = param_of(&name).unwrap_or((&name, false));
                converted
                    .args
                    .push(convert(py, kernel, Some(param), &value)?);
                converted.given.push((name.clone(), value));
                converted.slots.push(Slot::Name(name));
            }
        }
        Ok(converted)
    }
}

/// The launch values of converted arguments (borrowing their buffers), keyed by position or name.
fn values<'a>(slots: &'a [Slot], args: &'a mut [Arg<'_>]) -> Vec<(Key<'a>, ArgValue<'a>)> {
    slots
        .iter()
        .zip(args.iter_mut())
        .map(|(slot, arg)| {
            let key = match slot {
                Slot::Position(position) => Key::Position(*position),
                Slot::Name(name) => Key::Name(name),
            };
            let value = match arg {
                Arg::Array {
                    host,
                    write_back: true,
                    ..
                } => ArgValue::Output(host),
                Arg::Array { host, .. } => ArgValue::Input(host),
                Arg::Scalar(ArgValue::Scalar(ty, v)) => ArgValue::Scalar(*ty, *v),
                Arg::Scalar(ArgValue::Untyped(v)) => ArgValue::Untyped(*v),
                Arg::Scalar(_) => unreachable!("scalars are typed or untyped"),
            };
            (key, value)
        })
        .collect()
}

/// A grid from a tuple or list of 1 to 3 non-negative integers (or one integer).
fn grid_of(py: Python<'_>, kernel: &str, grid: &Bound<'_, PyAny>) -> PyResult<[u32; 3]> {
    let bad = |why: String| launch_error(py, kernel, None, format!("bad grid: {why}"));
    let dims: Vec<Bound<'_, PyAny>> = if let Ok(n) = grid.extract::<i128>() {
        vec![n.into_pyobject(py)?.into_any()]
    } else {
        grid.try_iter()
            .map_err(|_| {
                bad("give a tuple of 1 to 3 integers, or a callable of the consts".into())
            })?
            .collect::<PyResult<_>>()?
    };
    if !(1..=3).contains(&dims.len()) {
        return Err(bad(format!("{} dimensions; give 1 to 3", dims.len())));
    }
    let mut out = [1u32; 3];
    for (axis, dim) in dims.iter().enumerate() {
        let value: i128 = dim
            .extract()
            .map_err(|_| bad(format!("dimension {axis} is not an integer")))?;
        out[axis] = u32::try_from(value).map_err(|_| {
            bad(format!(
                "dimension {axis} is {value}, outside 0..=4294967295"
            ))
        })?;
    }
    Ok(out)
}

#[pymethods]
impl NativeModule {
    #[new]
    #[pyo3(signature = (path=None, source=None, name=None, device="auto", unchecked=false, cache=true, cache_dir=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: Option<PathBuf>,
        source: Option<String>,
        name: Option<String>,
        device: &str,
        unchecked: bool,
        cache: bool,
        cache_dir: Option<PathBuf>,
    ) -> PyResult<NativeModule> {
        let ctx = context(py, device, cache_dir, cache)?;
        let module = match (path, source) {
            (Some(path), None) => api::Module::from_file(ctx, &path),
            (None, Some(source)) => {
                api::Module::from_source(ctx, name.as_deref().unwrap_or("<source>"), &source)
            }
            _ => {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "tk.compile takes a path or source=\"...\", not both",
                ))
            }
        }
        .map_err(|e| to_py_err(py, e))?;
        Ok(NativeModule {
            inner: Arc::new(if unchecked {
                module.unchecked()
            } else {
                module
            }),
        })
    }

    /// The device kernels run on ("reference interpreter" for device="interp").
    #[getter]
    fn device(&self) -> String {
        self.inner.context().device_name().to_string()
    }

    #[getter]
    fn unchecked(&self) -> bool {
        !self.inner.is_safe()
    }

    /// The file's kernels: name, doc and parameters (name, kind, type, mutability, default).
    fn signatures<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for sig in self.inner.kernels() {
            let params = PyList::empty(py);
            for p in &sig.params {
                let d = PyDict::new(py);
                d.set_item("name", &p.name)?;
                match &p.kind {
                    KernelParamKind::Runtime(ParamKind::Pointer { pointee, mutable }) => {
                        d.set_item("kind", "pointer")?;
                        d.set_item("type", pointee.to_string())?;
                        d.set_item("mutable", *mutable)?;
                    }
                    KernelParamKind::Runtime(ParamKind::Scalar(ty)) => {
                        d.set_item("kind", "scalar")?;
                        d.set_item("type", ty.to_string())?;
                    }
                    KernelParamKind::Const { ty, default } => {
                        d.set_item("kind", "const")?;
                        d.set_item("type", ty.to_string())?;
                        let default = default.map(|v| match v {
                            Literal::Bool(b) => obj(py, b),
                            Literal::Int(i) => obj(py, i),
                            Literal::Float(f) => obj(py, f),
                        });
                        d.set_item("default", default)?;
                    }
                }
                params.append(d)?;
            }
            let d = PyDict::new(py);
            d.set_item("name", &sig.name)?;
            d.set_item("doc", sig.docs.join("\n"))?;
            d.set_item("params", params)?;
            d.set_item("grid", self.inner.has_grid(&sig.name))?;
            d.set_item("autotune", sig.autotune.is_some())?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// Launches kernel `kernel`: `args` by position, `kwargs` by name (consts among them select
    /// the specialisation), `grid` None (the kernel's #[grid]), a tuple, or a callable of the
    /// named values and consts. Arrays bound to `*mut` parameters are written back.
    #[pyo3(signature = (kernel, args, kwargs=None, grid=None))]
    fn launch(
        &self,
        py: Python<'_>,
        kernel: &str,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
        grid: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let Converted {
            slots,
            mut args,
            consts,
            given,
        } = self.convert(py, kernel, args, kwargs)?;
        let consts: Vec<(&str, Const)> = consts.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        let fixed_grid = match grid {
            Some(grid) if !grid.is_callable() => Some(grid_of(py, kernel, grid)?),
            _ => None,
        };
        let compiled = {
            let values = values(&slots, &mut args);
            py.detach(|| self.inner.select(kernel, &consts, &values, fixed_grid))
                .map_err(|e| to_py_err(py, e))?
        };
        let grid = match (grid, fixed_grid) {
            (_, Some(grid)) => Some(grid),
            (Some(callable), None) => {
                let meta = PyDict::new(py);
                for (name, value) in compiled.consts() {
                    match value {
                        Literal::Bool(b) => meta.set_item(name, b)?,
                        Literal::Int(i) => meta.set_item(name, i)?,
                        Literal::Float(f) => meta.set_item(name, f)?,
                    }
                }
                for (name, value) in given.iter() {
                    if !meta.contains(name)? {
                        meta.set_item(name, value)?;
                    }
                }
                Some(grid_of(py, kernel, &callable.call1((meta,))?)?)
            }
            (None, None) => {
                if !self.inner.has_grid(kernel) {
                    return Err(launch_error(
                        py,
                        kernel,
                        None,
                        format!(
                            "the kernel has no #[grid]: launch it with a grid, \
                             mod.{kernel}[(programs,)](...)"
                        ),
                    ));
                }
                None
            }
        };
        {
            let values = values(&slots, &mut args);
            let ctx = self.inner.context();
            py.detach(|| {
                let mut launch = compiled.launch(ctx);
                for (key, value) in values {
                    launch = launch.arg(key, value);
                }
                if let Some(grid) = grid {
                    launch = launch.grid(grid);
                }
                launch.run()
            })
            .map_err(|e| to_py_err(py, e))?;
        }
        for arg in args.iter() {
            if let Arg::Array {
                array,
                host,
                write_back: true,
            } = arg
            {
                let len = host.data.len();
                if len > 0 {
                    // SAFETY: the array is C-contiguous and writeable with exactly `len` bytes
                    // (the buffer was read from it and the launch keeps lengths); GIL held.
                    unsafe {
                        let data = (*array.as_array_ptr()).fields.data as *mut u8;
                        std::ptr::copy_nonoverlapping(host.data.as_ptr(), data, len);
                    }
                }
            }
        }
        Ok(())
    }

    /// `tkc bench --json`'s measurement of one launch, as JSON text.
    #[pyo3(signature = (kernel, args, kwargs=None, grid=None, iterations=20, bytes=None, flops=None))]
    #[allow(clippy::too_many_arguments)]
    fn bench(
        &self,
        py: Python<'_>,
        kernel: &str,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
        grid: Option<&Bound<'_, PyAny>>,
        iterations: u32,
        bytes: Option<u64>,
        flops: Option<u64>,
    ) -> PyResult<String> {
        let Converted {
            slots,
            mut args,
            consts,
            ..
        } = self.convert(py, kernel, args, kwargs)?;
        let consts: Vec<(&str, Const)> = consts.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        let grid = grid.map(|g| grid_of(py, kernel, g)).transpose()?;
        let values = values(&slots, &mut args);
        let options = tk::bench::BenchOptions {
            iterations,
            bytes,
            flops,
        };
        let ctx = self.inner.context();
        let measurement = py
            .detach(|| {
                let compiled = self.inner.select(kernel, &consts, &values, grid)?;
                let mut launch = compiled.launch(ctx);
                for (key, value) in values {
                    launch = launch.arg(key, value);
                }
                if let Some(grid) = grid {
                    launch = launch.grid(grid);
                }
                launch.measure(&options)
            })
            .map_err(|e| to_py_err(py, e))?;
        Ok(measurement.json(None))
    }

    /// Runs every `#[autotune]` config of kernel `kernel` now and keeps the fastest in the
    /// cache `tkc tune` writes; returns the table.
    #[pyo3(signature = (kernel, args, kwargs=None, grid=None, iterations=10))]
    fn tune<'py>(
        &self,
        py: Python<'py>,
        kernel: &str,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
        grid: Option<&Bound<'py, PyAny>>,
        iterations: u32,
    ) -> PyResult<Bound<'py, PyDict>> {
        let Converted {
            slots,
            mut args,
            consts,
            ..
        } = self.convert(py, kernel, args, kwargs)?;
        let consts: Vec<(&str, Const)> = consts.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        let grid = grid.map(|g| grid_of(py, kernel, g)).transpose()?;
        let values = values(&slots, &mut args);
        let report = py
            .detach(|| self.inner.tune(kernel, &consts, &values, grid, iterations))
            .map_err(|e| to_py_err(py, e))?;
        let d = PyDict::new(py);
        d.set_item("kernel", &report.kernel)?;
        d.set_item("key", report.key.clone())?;
        let configs = PyList::empty(py);
        for (config, time) in &report.configs {
            let c = PyDict::new(py);
            c.set_item("config", config.to_string())?;
            match time {
                Ok(ns) => c.set_item("median_us", ns / 1e3)?,
                Err(why) => c.set_item("error", why)?,
            }
            configs.append(c)?;
        }
        d.set_item("configs", configs)?;
        d.set_item("choice", report.configs[report.choice].0.to_string())?;
        d.set_item(
            "path",
            report.path.as_ref().map(|p| p.display().to_string()),
        )?;
        Ok(d)
    }

    /// Whether compiling kernel `kernel` with these consts hit the on-disk cache: "hit",
    /// "miss" or "bypassed" (compiles it when not compiled yet).
    #[pyo3(signature = (kernel, **consts))]
    fn cache_outcome(
        &self,
        py: Python<'_>,
        kernel: &str,
        consts: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<&'static str> {
        let mut given = Vec::new();
        if let Some(consts) = consts {
            for (name, value) in consts.iter() {
                let name: String = name.extract()?;
                let value = const_of(py, kernel, &name, &value)?;
                given.push((name, value));
            }
        }
        let given: Vec<(&str, Const)> = given.iter().map(|(n, c)| (n.as_str(), *c)).collect();
        let compiled = py
            .detach(|| self.inner.kernel(kernel, &given))
            .map_err(|e| to_py_err(py, e))?;
        Ok(match compiled.cache_outcome() {
            tk::cache::CacheOutcome::Hit => "hit",
            tk::cache::CacheOutcome::Miss => "miss",
            tk::cache::CacheOutcome::Bypassed => "bypassed",
        })
    }
}

/// The Vulkan devices with the facts `tkc devices` prints, one dict each.
#[pyfunction]
fn devices(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for facts in api::devices().map_err(|e| to_py_err(py, e))? {
        let info = &facts.info;
        let d = PyDict::new(py);
        d.set_item("index", info.index)?;
        d.set_item("name", &info.name)?;
        d.set_item("type", info.kind.to_string())?;
        let (major, minor, patch) = info.api_version;
        d.set_item("vulkan", format!("{major}.{minor}.{patch}"))?;
        d.set_item("driver", &info.driver)?;
        d.set_item("subgroup_size", info.subgroup_size)?;
        d.set_item("timestamps", info.timestamps)?;
        match &facts.target {
            Ok(target) => {
                d.set_item("shared_memory", target.max_shared_bytes)?;
                d.set_item("max_threads", target.max_threads)?;
                d.set_item("push_constants", target.max_push_bytes)?;
                let features = api::feature_list(target.features);
                let has: Vec<&str> = features.iter().filter(|f| f.1).map(|f| f.0).collect();
                let lacks: Vec<&str> = features.iter().filter(|f| !f.1).map(|f| f.0).collect();
                d.set_item("features", has)?;
                d.set_item("missing", lacks)?;
                d.set_item(
                    "cooperative_matrix",
                    target.cooperative_matrix.map(|s| s.to_string()),
                )?;
                d.set_item("error", py.None())?;
            }
            Err(error) => d.set_item("error", error.to_string())?,
        }
        list.append(d)?;
    }
    Ok(list)
}

/// Names the file that holds the compiler (this extension) for the kernel cache's key, so that
/// a rebuilt extension never reuses an older one's kernels (`tk/__init__.py` calls it).
#[pyfunction]
fn _identify(path: PathBuf) {
    tk::cache::set_compiler_file(path);
}

/// How many kernels this process compiled to SPIR-V (a kernel-cache hit compiles none).
#[pyfunction]
fn spirv_compiles() -> u64 {
    tk::driver::SPIRV_COMPILES.load(std::sync::atomic::Ordering::Relaxed)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("TkError", py.get_type::<TkError>())?;
    m.add("CompileError", py.get_type::<CompileError>())?;
    m.add("LaunchError", py.get_type::<LaunchError>())?;
    m.add("KernelError", py.get_type::<KernelError>())?;
    m.add("DeviceError", py.get_type::<DeviceError>())?;
    m.add_class::<Diagnostic>()?;
    m.add_class::<NativeModule>()?;
    m.add_function(wrap_pyfunction!(devices, m)?)?;
    m.add_function(wrap_pyfunction!(_identify, m)?)?;
    m.add_function(wrap_pyfunction!(spirv_compiles, m)?)?;
    Ok(())
}
